#!/bin/bash
# SPDX-License-Identifier: MIT
# Boots a stock Debian kernel under qemu (TCG) as an emulated NUMA machine, with an
# initramfs holding numapin, runc, crun and busybox; tests/vm/init.sh runs the checks in
# the guest and this script turns its "NUMAPIN-VM ..." console lines into ok/not ok lines.
set -u
NP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VMDIR=$NP_ROOT/build/vm
KDIR=$VMDIR/kernel
TIMEOUT=${NUMAPIN_VM_TIMEOUT:-300}
QEMU=${NUMAPIN_VM_QEMU:-qemu-system-x86_64}
USAGE="usage: $0 [2node|4node|all] [SCENARIO...|none]"
WHICH=${1:-all}
[ $# -gt 0 ] && shift

die() { echo "not ok - vm: $*"; echo "numapin-vm: FAILED: $*" >&2; exit 1; }
log() { echo "# $*" >&2; }

case $WHICH in 2node | 4node | all) ;; *) echo "$USAGE" >&2; exit 2 ;; esac
# the scenarios are init.sh's sc_NAME functions; numapin.only= tells the guest which to run
SCENARIOS=$(sed -n 's/^sc_\([a-z0-9_]*\)() {$/\1/p' "$NP_ROOT/tests/vm/init.sh" | tr '\n' ' ')
ONLY=""
for s in "$@"; do
        case " $SCENARIOS none " in *" $s "*) ONLY=${ONLY:+$ONLY,}$s ;;
        *) echo "$0: unknown scenario '$s'; the scenarios are: $SCENARIOS" >&2; exit 2 ;; esac
done

command -v "$QEMU" >/dev/null ||
        die "$QEMU is missing (apt-get install --no-install-recommends qemu-system-x86 qemu-utils)"
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || die "needs a static /bin/busybox (apt-get install busybox-static)"
for b in runc jq cc; do command -v $b >/dev/null || die "$b is missing (apt-get install $b)"; done
[ -x "$NP_ROOT/build/numapin-hook" ] && [ -x "$NP_ROOT/build/numapinctl" ] || die "build numapin first: make all"

# --- the kernel: the stock Debian one that linux-image-amd64 points at, cached --------
# the modules the 4node guest loads (in this order) for the disk behind its NUMA node 2
# PCI root bus; the kernel has virtio and virtio_blk as modules only
VM_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk"
fetch_kernel() {
        local pkg deb m
        [ -f "$KDIR/vmlinuz" ] && [ -f "$KDIR/config" ] && [ -f "$KDIR/modules/virtio_blk.ko" ] && return 0
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
        [ -n "$pkg" ] || { log "apt-cache knows no linux-image-amd64: running apt-get update"; apt-get update -qq >&2; \
                pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1); }
        [ -n "$pkg" ] || return 1
        mkdir -p "$KDIR/dl" || return 1
        deb=$(ls "$KDIR"/dl/"$pkg"_*.deb 2>/dev/null | head -n1)
        if [ -z "$deb" ]; then
                log "downloading $pkg"
                (cd "$KDIR/dl" && apt-get download "$pkg" >&2) || return 1
                deb=$(ls "$KDIR"/dl/"$pkg"_*.deb | head -n1)
        fi
        # only vmlinuz, its config (the locality monitor reads CONFIG_NODES_SHIFT from
        # /boot/config-<release>) and the few modules above are kept; the rest of the
        # modules, 400 MiB, stay in the cached .deb
        rm -rf "$KDIR/x" "$KDIR/modules" && mkdir -p "$KDIR/x" "$KDIR/modules" || return 1
        dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$KDIR/x" --wildcards './boot/*' \
                './lib/modules/*/kernel/drivers/virtio/*.ko' './lib/modules/*/kernel/drivers/block/virtio_blk.ko' || return 1
        for m in $VM_MODULES; do
                cp "$(find "$KDIR/x/lib/modules" -name "$m.ko" | head -n1)" "$KDIR/modules/" || return 1
        done
        cp "$KDIR"/x/boot/config-* "$KDIR/config" &&
                cp "$KDIR"/x/boot/vmlinuz-* "$KDIR/vmlinuz.new" && mv "$KDIR/vmlinuz.new" "$KDIR/vmlinuz" &&
                echo "$pkg" >"$KDIR/version" && rm -rf "$KDIR/x"
}
fetch_kernel || die "could not fetch the Debian kernel into $KDIR"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/numapin-vm.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$TMP"' EXIT
[ -n "${NUMAPIN_VM_KEEP:-}" ] && trap 'echo "# kept $TMP" >&2' EXIT

# --- the initramfs ----------------------------------------------------------------------
R=$TMP/root
# add_bin SRC DEST: a binary and every shared library ldd finds, at the same paths
add_bin() {
        mkdir -p "$R$(dirname "$2")" && cp -L "$1" "$R$2" || return 1
        local lib
        for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*'); do
                [ -e "$R$lib" ] && continue
                mkdir -p "$R$(dirname "$lib")" && cp -L "$lib" "$R$lib" || return 1
        done
}
build_initramfs() {
        mkdir -p "$R"/{bin,sbin,etc,proc,sys,dev,run,tmp,newroot,usr/bin,usr/sbin} || return 1
        cp /bin/busybox "$R/bin/busybox" && ln -s busybox "$R/bin/sh" || return 1
        cp "$NP_ROOT/tests/vm/init.sh" "$R/init" && chmod 755 "$R/init" || return 1
        add_bin "$(command -v runc)" /usr/sbin/runc || return 1
        if command -v crun >/dev/null; then add_bin "$(command -v crun)" /usr/bin/crun || return 1; fi
        add_bin "$(command -v jq)" /usr/bin/jq || return 1
        add_bin "$NP_ROOT/build/numapin-hook" /usr/bin/numapin-hook || return 1
        add_bin "$NP_ROOT/build/numapinctl" /usr/bin/numapinctl || return 1
        # the containers' rootfs: a busybox bundle
        mkdir -p "$R/bundle/rootfs/bin" "$R/bundle/rootfs/proc" "$R/bundle/rootfs/dev" "$R/bundle/rootfs/sys" &&
                cp /bin/busybox "$R/bundle/rootfs/bin/" || return 1
        # the workload the containers run: touches N MiB and prints its pages per node
        cc -static -O2 -o "$R/bundle/rootfs/bin/workload" "$NP_ROOT/tests/vm/workload.c" || return 1
        local a
        for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bundle/rootfs/bin/$a"; done
        echo '{}' >"$R/etc/numapin.json"
        # the same at log level info, for the hooks whose placement reason a scenario reads
        echo '{"log_level": "info"}' >"$R/etc/numapin-info.json"
        mkdir -p "$R/lib/modules/vm" && for m in $VM_MODULES; do cp "$KDIR/modules/$m.ko" "$R/lib/modules/vm/" || return 1; done &&
                echo "$VM_MODULES" >"$R/lib/modules/vm/order" || return 1
        mkdir -p "$R/boot" && cp "$KDIR/config" "$R/boot/config-$(sed 's/^linux-image-//' "$KDIR/version")" || return 1
        (cd "$R" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$TMP/initramfs.cpio.gz"
}
build_initramfs || die "could not build the initramfs"
log "initramfs: $(du -h "$TMP/initramfs.cpio.gz" | cut -f1), kernel $(cat "$KDIR/version" 2>/dev/null)"

# --- boot -----------------------------------------------------------------------------
# boot MACHINE: runs the guest; its console goes to $TMP/MACHINE.console
boot() {
        local m=$1 numa
        case $m in
        2node)
                numa=(-smp 4,sockets=2 -m 2G
                        -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G
                        -numa node,nodeid=0,cpus=0-1,memdev=m0 -numa node,nodeid=1,cpus=2-3,memdev=m1
                        -numa dist,src=0,dst=1,val=20) ;;
        4node)
                # one CPU per node; 0-1 and 2-3 are close pairs (20), every other pair is 30
                numa=(-smp 4,sockets=4 -m 2G)
                local n
                for n in 0 1 2 3; do
                        numa+=(-object memory-backend-ram,id=m$n,size=512M -numa node,nodeid=$n,cpus=$n,memdev=m$n)
                done
                numa+=(-numa dist,src=0,dst=1,val=20 -numa dist,src=2,dst=3,val=20
                        -numa dist,src=0,dst=2,val=30 -numa dist,src=0,dst=3,val=30
                        -numa dist,src=1,dst=2,val=30 -numa dist,src=1,dst=3,val=30)
                # a disk on node 2: a PCIe expander bridge with its own root bus 0x40, which
                # ACPI gives _PXM 2, a root port on it and a virtio disk behind that (the
                # guest's /dev/vda; 1 MiB, empty, this run's own file)
                truncate -s 1M "$TMP/4node-disk.img" || return 1
                numa+=(-drive "file=$TMP/4node-disk.img,if=none,id=disk2,format=raw"
                        -device pxb-pcie,id=pxb2,bus_nr=64,numa_node=2,bus=pcie.0
                        -device pcie-root-port,id=rp2,bus=pxb2,chassis=1
                        -device virtio-blk-pci,drive=disk2,bus=rp2) ;;
        esac
        local t0=$SECONDS st
        local qemu=("$QEMU" -machine q35 -accel tcg,thread=multi -cpu qemu64 "${numa[@]}"
                -kernel "$KDIR/vmlinuz" -initrd "$TMP/initramfs.cpio.gz" -nographic -no-reboot -nodefaults)
        local append="console=ttyS0 panic=-1 quiet loglevel=4 numapin.machine=$m${ONLY:+ numapin.only=$ONLY}"
        if [ -n "${NUMAPIN_VM_SHELL:-}" ]; then
                # interactive: the console is this terminal, with no time limit
                "${qemu[@]}" -serial mon:stdio -append "$append numapin.shell=1"
                return
        fi
        local attempt
        for attempt in 1 2; do
                timeout --kill-after=10 "$TIMEOUT" "${qemu[@]}" -serial "file:$TMP/$m.console" -monitor none \
                        -append "$append" </dev/null >"$TMP/$m.qemu" 2>&1
                st=$?
                log "$m: qemu exited with $st after $((SECONDS - t0)) s"
                # TCG on a busy 2-CPU host now and then leaves a guest CPU spinning
                # (the guest kernel mostly reports a soft lockup, not always: a guest
                # once stopped printing without one, and its scenarios passed in the
                # next 5 boots): the machine boots once more, saying where the first
                # boot stopped; a second hang fails
                if [ "$attempt" -eq 1 ] && { [ "$st" -eq 124 ] || [ "$st" -eq 137 ]; }; then
                        log "$m: the guest did not power off within $TIMEOUT s; booting $m once more"
                        log "$m: $(tr -d '\r' <"$TMP/$m.console" | grep -m1 'soft lockup - CPU' ||
                                echo "no soft lockup reported"); the last result line: $(
                                tr -d '\r' <"$TMP/$m.console" | grep 'NUMAPIN-VM ' | tail -n1)"
                        log "$m: the last heartbeat: $(tr -d '\r' <"$TMP/$m.console" | grep 'NUMAPIN-HB [0-9]' |
                                tail -n1 || true) (one every 30 s while the guest runs)"
                        t0=$SECONDS
                        continue
                fi
                break
        done
        if [ -n "${NUMAPIN_VM_CONSOLE:-}" ] || [ "$st" -ne 0 ]; then
                { tr -d '\r' <"$TMP/$m.console"; echo; } | sed 's/^/# console: /' >&2
        fi
        if [ "$st" -eq 124 ] || [ "$st" -eq 137 ]; then
                echo "not ok - $m: guest did not power off within $TIMEOUT s (killed)"
                return 1
        fi
        if [ "$st" -ne 0 ]; then
                echo "not ok - $m: QEMU COULD NOT RUN (exit $st): $(tr '\n' ' ' <"$TMP/$m.qemu" | head -c 400)"
                echo "numapin-vm: QEMU COULD NOT RUN, see above" >&2
                return 1
        fi
        local lines
        lines=$(tr -d '\r' <"$TMP/$m.console" | grep -o 'NUMAPIN-VM .*' | sed 's/^NUMAPIN-VM //')
        if [ -z "$lines" ]; then
                echo "not ok - $m: no result line on the console"
                return 1
        fi
        sed "s/^\(ok\|not ok\|skip\) - /\1 - $m: /" <<<"$lines"
        grep -q '^DONE' <<<"$lines" || { echo "not ok - $m: init did not finish"; return 1; }
        ! grep -q '^not ok' <<<"$lines"
}

rc=0
for m in 2node 4node; do
        [ "$WHICH" = all ] || [ "$WHICH" = "$m" ] || continue
        if [ -n "${NUMAPIN_VM_SHELL:-}" ]; then
                boot "$m"
                break
        fi
        boot "$m" | grep -v '^DONE'
        [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
done
exit $rc
