# SPDX-License-Identifier: MIT
# The BPF object is the same wherever the source is checked out: its hash names
# the pin directory (/sys/fs/bpf/numapin/<hash>), so an object that carried its
# folder's path would load a second set of programs beside the first, both run
# at every context switch, for a clone of the same source in another folder.
source "$(dirname "$0")/../lib.sh"

command -v clang >/dev/null || skip_suite "clang is not installed"
command -v bpftool >/dev/null || skip_suite "bpftool is not installed"
[ -f "$NP_BUILD/bpf/locality.hash.h" ] || skip_suite "build/bpf/locality.hash.h is not built (make)"

# object_hash DIR: the pin directory name a build of a copy of the source at DIR takes
object_hash() {
        mkdir -p "$1"
        cp -r "$NP_ROOT/Makefile" "$NP_ROOT/bpf" "$1/"
        make --no-print-directory -C "$1" build/bpf/locality.hash.h >"$1/make.log" 2>&1 || {
                echo "make failed: $(tail -1 "$1/make.log")"
                return
        }
        sed -n 's/^#define NP_MONITOR_OBJECT_HASH "\([0-9a-f]*\)"$/\1/p' "$1/build/bpf/locality.hash.h"
}

own=$(sed -n 's/^#define NP_MONITOR_OBJECT_HASH "\([0-9a-f]*\)"$/\1/p' "$NP_BUILD/bpf/locality.hash.h")
short=$(object_hash "$NP_TMP/a")
long=$(object_hash "$NP_TMP/a-checkout/in/a/longer/folder")
hex16() { [[ $1 =~ ^[0-9a-f]{16}$ ]] || why "'$1'"; }
check "the build's object hash is 16 hex digits" hex16 "$own"
expect_eq "two checkouts in other folders build the same BPF object" "$short" "$long"
expect_eq "a checkout elsewhere builds the object this build pins" "$own" "$short"
