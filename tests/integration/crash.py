#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Crash consistency: SIGKILLs numapin-hook (createRuntime, poststop) and
`numapinctl plan --commit` / `release` at random moments of their runs, on the
2socket-smt fixture with a fake v1 cgroup tree and three shared containers that
every exclusive placement re-pins. After each kill: the ledger loads, every
record parses, config.json is the old or the new complete file. After the next
run (the killed one run again, or another one first): no shared container runs
on an exclusive CPU, no CPU is held twice, every cgroup says what its record
says, and no temporary file is left. Reports in the tests' dialect.

usage: crash.py HOOK NUMAPINCTL SYSFS WORKDIR KILLS"""
import json
import os
import random
import subprocess
import sys
import time

HOOK, CTL, SYSFS, WORK, KILLS = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
STATE = os.path.join(WORK, "state")
CGROUP = os.path.join(WORK, "cgroup")
CONFIG = os.path.join(WORK, "config.json")
SHARED = {"s0": "0", "s1": "1", "s2": "0-1"}  # id: nodes.numapin.io/pod
MAX_HELD = 5  # exclusive holders at once: 2 CPUs each of 32, room for the shared ones
VIOLATIONS_SHOWN = 5


def expand(text):
    cpus = set()
    for part in text.strip().split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus


def cgroup_dir(cid):
    return os.path.join(CGROUP, "cpuset", cid)


def cgroup_cpus(cid):
    with open(os.path.join(cgroup_dir(cid), "cpuset.cpus")) as f:
        return expand(f.read())


def bundle(cid):
    return os.path.join(WORK, "bundles", cid)


def make_container(cid, annotations):
    os.makedirs(cgroup_dir(cid), exist_ok=True)
    for name, value in (("cpuset.cpus", "0-31"), ("cpuset.mems", "0-1"), ("cpuset.memory_migrate", "0")):
        with open(os.path.join(cgroup_dir(cid), name), "w") as f:
            f.write(value + "\n")
    os.makedirs(bundle(cid), exist_ok=True)
    spec = {"ociVersion": "1.0.2", "process": {"args": ["true"]}, "annotations": annotations,
            "linux": {"cgroupsPath": "/" + cid, "resources": {"cpu": {"shares": 1024}}}}
    with open(os.path.join(bundle(cid), "config.json"), "w") as f:
        json.dump(spec, f, indent=1)
    state = {"ociVersion": "1.0.2", "id": cid, "status": "creating", "pid": 999999, "bundle": bundle(cid)}
    with open(os.path.join(WORK, cid + ".state"), "w") as f:
        json.dump(state, f)


def command(op, cid):
    common = ["--config", CONFIG, "--state-dir", STATE, "--sysfs-root", SYSFS]
    if op in ("createRuntime", "poststop"):
        return [HOOK] + common + ["--cgroup-root", CGROUP, op], os.path.join(WORK, cid + ".state")
    if op == "plan":
        return [CTL] + common + ["plan", "--commit", "--id", cid, "--annotation", "cpus.numapin.io/pod=2"], None
    return [CTL] + common + ["release", cid], None


def run(op, cid, kill_after=None):
    """Runs one operation; with `kill_after` (seconds), SIGKILLs it then unless
    it has ended. Returns (killed, exit status, stderr)."""
    argv, stdin_path = command(op, cid)
    stdin = open(stdin_path) if stdin_path else subprocess.DEVNULL
    env = None
    if kill_after is not None and "ASAN_OPTIONS" in os.environ:
        # a sanitizer build (make test-asan): a kill that lands in LeakSanitizer's
        # check at exit leaves a half report that is not numapin's; the runs that
        # end normally keep the check
        env = dict(os.environ, ASAN_OPTIONS=os.environ["ASAN_OPTIONS"] + ":detect_leaks=0")
    proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if kill_after is not None:
        time.sleep(kill_after)
        # poll() reaps an ended process: only a live one is killed
        if proc.poll() is None:
            proc.kill()
    _, err = proc.communicate()
    if stdin_path:
        stdin.close()
    return proc.returncode == -9, proc.returncode, err.decode(errors="replace").strip()


def ledger():
    """The records as numapinctl lists them; raises with its error when the ledger does not load."""
    out = subprocess.run([CTL, "--config", CONFIG, "--state-dir", STATE, "list", "--json"], capture_output=True)
    if out.returncode != 0:
        raise RuntimeError("numapinctl list: " + out.stderr.decode(errors="replace").strip())
    return {c["id"]: c for c in json.loads(out.stdout)["containers"]}


def temporaries():
    found = []
    for top in (STATE, os.path.join(WORK, "bundles")):
        for folder, _, files in os.walk(top):
            found += [os.path.join(folder, f) for f in files if f.startswith(".") and f.endswith(".tmp")]
    return found


class Checks:
    def __init__(self):
        self.violations = {}

    def add(self, what, detail):
        self.violations.setdefault(what, []).append(detail)

    def report(self, what, name):
        found = self.violations.get(what, [])
        if found:
            shown = "; ".join(found[:VIOLATIONS_SHOWN])
            print(f"not ok - {name}: {len(found)} violations, first: {shown}")
        else:
            print(f"ok - {name}")


def after_kill(checks, op, cid, before):
    """What must hold the moment a run is killed."""
    try:
        ledger()
    except (RuntimeError, ValueError) as e:
        checks.add("ledger", f"after killing {op} {cid}: {e}")
    if op != "createRuntime":
        return
    with open(os.path.join(bundle(cid), "config.json"), "rb") as f:
        now = f.read()
    if now == before:
        return
    try:
        spec = json.loads(now)
        complete = "cpus" in spec["linux"]["resources"]["cpu"] and spec["process"]["args"] == ["true"]
    except (ValueError, KeyError, TypeError):
        complete = False
    if not complete:
        checks.add("spec", f"after killing createRuntime {cid}: config.json is neither the old nor a whole new one")


def converged(checks, placed, label, pending_bundle=None):
    """What must hold once a run has ended normally."""
    try:
        records = ledger()
    except (RuntimeError, ValueError) as e:
        checks.add("ledger", f"{label}: {e}")
        return
    held = {}
    for cid, rec in records.items():
        for cpu in expand(rec.get("exclusive_cpus", "")):
            if cpu in held:
                checks.add("twice", f"{label}: CPU {cpu} held by {held[cpu]} and {cid}")
            held[cpu] = cid
    for cid in SHARED:
        now = cgroup_cpus(cid)
        on = sorted(now & set(held))
        if on:
            checks.add("shared", f"{label}: shared {cid} on exclusive CPUs {on} (of {held[on[0]]})")
            if os.environ.get("NUMAPIN_CRASH_DEBUG"):
                print("# " + json.dumps({k: (v["cpus"], v.get("exclusive_cpus")) for k, v in records.items()}))
        if now != expand(records[cid]["cpus"]):
            checks.add("cgroup", f"{label}: {cid}'s cgroup {sorted(now)} is not its record {records[cid]['cpus']}")
    for cid in placed:
        if cid in records and cgroup_cpus(cid) != expand(records[cid]["cpus"]):
            checks.add("cgroup", f"{label}: {cid}'s cgroup is not its record {records[cid]['cpus']}")
    for path in temporaries():
        if pending_bundle and path.startswith(bundle(pending_bundle) + "/"):
            continue  # the killed hook's, which its next run reuses
        checks.add("temporary", f"{label}: {os.path.relpath(path, WORK)} left behind")
        os.unlink(path)  # counted once


def main():
    random.seed(os.environ.get("NUMAPIN_CRASH_SEED", str(os.getpid())))
    with open(CONFIG, "w") as f:
        f.write("{}\n")
    os.makedirs(os.path.join(CGROUP, "cpuset"), exist_ok=True)
    with open(os.path.join(CGROUP, "cpuset", "cpuset.cpus"), "w") as f:
        f.write("0-31\n")
    for cid, nodes in SHARED.items():
        make_container(cid, {"policy.numapin.io/pod": "bind", "nodes.numapin.io/pod": nodes})
        killed, status, err = run("createRuntime", cid)
        if status != 0:
            print(f"not ok - crash: shared container {cid} not placed: {err}")
            return 1

    # how long a run takes: the kills land anywhere in it
    started = time.monotonic()
    make_container("probe", {"cpus.numapin.io/pod": "2"})
    for _ in range(5):
        run("createRuntime", "probe")
        run("poststop", "probe")
    span = (time.monotonic() - started) / 10

    checks = Checks()
    holders = {}  # id: "hook" or "plan", the live exclusive holders
    placed = set()  # hook containers whose createRuntime ended normally
    kills = {"createRuntime": 0, "poststop": 0, "plan": 0, "release": 0}
    runs = serial = 0
    while sum(kills.values()) < KILLS and runs < KILLS * 8:
        runs += 1
        if len(holders) < MAX_HELD and (not holders or random.random() < 0.5):
            serial += 1
            kind = random.choice(("hook", "plan"))
            cid = f"{'e' if kind == 'hook' else 'p'}{serial}"
            op = "createRuntime" if kind == "hook" else "plan"
            if kind == "hook":
                make_container(cid, {"cpus.numapin.io/pod": "2", "example.com/other": "kept"})
        else:
            cid = random.choice(sorted(holders))
            op = "poststop" if holders[cid] == "hook" else "release"
        before = b""
        if op == "createRuntime":
            with open(os.path.join(bundle(cid), "config.json"), "rb") as f:
                before = f.read()
        killed, status, err = run(op, cid, kill_after=random.uniform(0, span * 1.3))
        if killed:
            kills[op] += 1
            after_kill(checks, op, cid, before)
            if random.random() < 0.5:
                # another run first: it repairs what the killed one left
                other = next((h for h in sorted(holders) if h != cid and holders[h] == "plan"), None)
                if other:
                    run("release", other)
                    holders.pop(other)
                    converged(checks, placed, f"release {other} after a killed {op} {cid}", cid)
            _, status, err = run(op, cid)  # the runtime (or the user) tries again
            # numapinctl says when the killed run had got as far as its record
            if (op == "release" and "no record" in err) or (op == "plan" and "already holds a record" in err):
                status = 0
        if status != 0:
            checks.add("run", f"{op} {cid} exited {status}: {err}")
        elif op in ("createRuntime", "plan"):
            holders[cid] = "hook" if op == "createRuntime" else "plan"
            if op == "createRuntime":
                placed.add(cid)
        else:
            holders.pop(cid, None)
            placed.discard(cid)
        converged(checks, placed, f"{op} {cid}{' after a kill' if killed else ''}")
        if status != 0:
            break  # what it holds is not known any more

    landed = sum(kills.values())
    print(f"# {runs} runs, {landed} killed mid-run: " + ", ".join(f"{n} {op}" for op, n in kills.items()) +
          f"; a run takes about {span * 1000:.1f} ms here")
    if landed >= KILLS:
        print(f"ok - crash: {landed} SIGKILLs landed mid-run")
    else:
        print(f"not ok - crash: only {landed} of {KILLS} SIGKILLs landed mid-run in {runs} runs")
    checks.report("run", "crash: every run after a kill ended normally")
    checks.report("ledger", "crash: the ledger loaded and every record parsed after every kill")
    checks.report("spec", "crash: config.json was the old or a whole new file after every kill")
    checks.report("twice", "crash: no CPU was held exclusively twice")
    checks.report("shared", "crash: after each next run no shared container was on an exclusive CPU")
    checks.report("cgroup", "crash: after each next run every cgroup said what its record says")
    checks.report("temporary", "crash: no temporary file was left in the state dir or a bundle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
