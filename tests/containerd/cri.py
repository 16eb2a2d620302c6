# SPDX-License-Identifier: MIT
# A CRI client for tests/e2e/containerd.sh: one call per run, made as a kubelet makes it.
# Run with Debian's /usr/bin/python3 (python3-grpcio); the CRI messages are generated from
# k8s.io/cri-api's api.proto into the folder given by --gen (tests/containerd/fetch.sh).
#
#   cri.py --socket SOCK --gen DIR version
#   cri.py ... runp NAME --pod-config FILE [--annotation K=V]... [--cgroup-parent P] [--log-dir D]
#   cri.py ... create POD --pod-config FILE NAME IMAGE [--annotation K=V]... -- ARGS...
#   cri.py ... start|stop|rm CONTAINER
#   cri.py ... exec CONTAINER -- ARGS...
#   cri.py ... update CONTAINER --cpuset-cpus LIST
#   cri.py ... stopp|rmp POD
#   cri.py ... pods
#
# runp prints the pod's id and saves its PodSandboxConfig to FILE, which create sends
# again (CreateContainer carries the sandbox's config); create prints the container's id;
# exec prints the command's stdout and exits with its status; pods prints one pod id a
# line. A refused call prints "CODE: details" on stderr and exits 1.
import argparse
import sys


def parse_args():
    p = argparse.ArgumentParser(prog="cri.py")
    p.add_argument("--socket", required=True)
    p.add_argument("--gen", required=True)
    p.add_argument("--timeout", type=float, default=30.0)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("version")
    runp = sub.add_parser("runp")
    runp.add_argument("name")
    runp.add_argument("--pod-config", required=True)
    runp.add_argument("--annotation", action="append", default=[])
    runp.add_argument("--cgroup-parent", default="")
    runp.add_argument("--log-dir", default="")
    create = sub.add_parser("create")
    create.add_argument("pod")
    create.add_argument("--pod-config", required=True)
    create.add_argument("name")
    create.add_argument("image")
    create.add_argument("--annotation", action="append", default=[])
    create.add_argument("args", nargs="*")
    for cmd in ("start", "stop", "rm"):
        sub.add_parser(cmd).add_argument("container")
    ex = sub.add_parser("exec")
    ex.add_argument("container")
    ex.add_argument("args", nargs="+")
    up = sub.add_parser("update")
    up.add_argument("container")
    up.add_argument("--cpuset-cpus", required=True)
    for cmd in ("stopp", "rmp"):
        sub.add_parser(cmd).add_argument("pod")
    sub.add_parser("pods")
    return p.parse_args()


def annotations(pairs):
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            sys.exit("cri.py: annotation '%s' is not KEY=VALUE" % pair)
        out[key] = value
    return out


def main():
    args = parse_args()
    sys.path.insert(0, args.gen)
    import grpc
    import api_pb2 as api
    import api_pb2_grpc as api_grpc

    channel = grpc.insecure_channel("unix://" + args.socket)
    rt = api_grpc.RuntimeServiceStub(channel)
    t = args.timeout
    try:
        if args.cmd == "version":
            v = rt.Version(api.VersionRequest(version="v1"), timeout=t)
            print(v.runtime_name, v.runtime_version, v.runtime_api_version)
        elif args.cmd == "runp":
            # host networking: no CNI plugin is needed
            ns = api.NamespaceOption(network=api.NODE, pid=api.CONTAINER, ipc=api.POD)
            config = api.PodSandboxConfig(
                metadata=api.PodSandboxMetadata(name=args.name, uid="uid-" + args.name, namespace="numapin-e2e"),
                log_directory=args.log_dir,
                annotations=annotations(args.annotation),
                linux=api.LinuxPodSandboxConfig(
                    cgroup_parent=args.cgroup_parent,
                    security_context=api.LinuxSandboxSecurityContext(namespace_options=ns),
                ),
            )
            r = rt.RunPodSandbox(api.RunPodSandboxRequest(config=config), timeout=t)
            with open(args.pod_config, "wb") as f:
                f.write(config.SerializeToString())
            print(r.pod_sandbox_id)
        elif args.cmd == "create":
            pod_config = api.PodSandboxConfig()
            with open(args.pod_config, "rb") as f:
                pod_config.ParseFromString(f.read())
            config = api.ContainerConfig(
                metadata=api.ContainerMetadata(name=args.name),
                image=api.ImageSpec(image=args.image),
                command=args.args,
                annotations=annotations(args.annotation),
                log_path=args.name + ".log",
                linux=api.LinuxContainerConfig(resources=api.LinuxContainerResources()),
            )
            r = rt.CreateContainer(
                api.CreateContainerRequest(pod_sandbox_id=args.pod, config=config, sandbox_config=pod_config),
                timeout=t,
            )
            print(r.container_id)
        elif args.cmd == "start":
            rt.StartContainer(api.StartContainerRequest(container_id=args.container), timeout=t)
        elif args.cmd == "stop":
            rt.StopContainer(api.StopContainerRequest(container_id=args.container, timeout=2), timeout=t)
        elif args.cmd == "rm":
            rt.RemoveContainer(api.RemoveContainerRequest(container_id=args.container), timeout=t)
        elif args.cmd == "exec":
            r = rt.ExecSync(api.ExecSyncRequest(container_id=args.container, cmd=args.args, timeout=10), timeout=t)
            sys.stdout.buffer.write(r.stdout)
            sys.stderr.buffer.write(r.stderr)
            return r.exit_code
        elif args.cmd == "update":
            # as kubelet's CPU manager reconciler sends it: the cpuset alone
            res = api.LinuxContainerResources(cpuset_cpus=args.cpuset_cpus)
            rt.UpdateContainerResources(
                api.UpdateContainerResourcesRequest(container_id=args.container, linux=res), timeout=t
            )
        elif args.cmd == "stopp":
            rt.StopPodSandbox(api.StopPodSandboxRequest(pod_sandbox_id=args.pod), timeout=t)
        elif args.cmd == "rmp":
            rt.RemovePodSandbox(api.RemovePodSandboxRequest(pod_sandbox_id=args.pod), timeout=t)
        elif args.cmd == "pods":
            for pod in rt.ListPodSandbox(api.ListPodSandboxRequest(), timeout=t).items:
                print(pod.id)
    except grpc.RpcError as e:
        print("%s: %s" % (e.code().name, e.details()), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
