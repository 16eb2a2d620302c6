#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: examples/image/build.sh [--check] [--no-save]        (make image runs it)
# Builds the image localhost/numapin:latest with podman from examples/image/Containerfile,
# the repository root as its context, without network, then saves it as an OCI archive,
# build/numapin-image.tar, for the nodes' runtimes:
#   ctr -n k8s.io images import build/numapin-image.tar       (containerd, for Kubernetes)
#   podman load -i build/numapin-image.tar                    (podman, CRI-O)
# Each binary the image holds must be in build/ and static (no ELF program interpreter,
# no shared library needed): the image is FROM scratch, with no libc. Otherwise the
# script stops with one line naming the binary, before podman runs.
#   --check    only check the binaries
#   --no-save  build the image, but do not write build/numapin-image.tar
set -euo pipefail

# numapin-nri (-static-pie) and numapin-exporter. numapin-hook and numapinctl are not in
# the image: they are linked against glibc dynamically, and they run on the host.
binaries=(numapin-nri numapin-exporter)
image=localhost/numapin:latest
archive=build/numapin-image.tar

check_only=false save=true
for arg in "$@"; do
        case $arg in
        --check) check_only=true ;;
        --no-save) save=false ;;
        *) echo "usage: examples/image/build.sh [--check] [--no-save]" >&2; exit 2 ;;
        esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
die() { echo "error: $*" >&2; exit 1; }

# static FILE: no INTERP program header and no NEEDED entry (a static-pie binary has a
# dynamic section, but needs nothing); prints why not, and fails, otherwise.
static() {
        local headers
        if command -v readelf >/dev/null; then
                headers=$(LC_ALL=C readelf -lW "$1" 2>/dev/null) || { echo "not an ELF file"; return 1; }
                ! grep -q '^ *INTERP ' <<<"$headers" || { echo "dynamically linked (it has a program interpreter)"; return 1; }
                ! LC_ALL=C readelf -dW "$1" 2>/dev/null | grep -q '(NEEDED)' || { echo "it needs shared libraries"; return 1; }
        elif command -v file >/dev/null; then
                headers=$(LC_ALL=C file -b "$1")
                [[ $headers == ELF* ]] || { echo "not an ELF file"; return 1; }
                [[ $headers == *"statically linked"* || $headers == *"static-pie linked"* ]] ||
                        { echo "dynamically linked"; return 1; }
        else
                echo "neither readelf (binutils) nor file is installed to check it"
                return 1
        fi
}

for bin in "${binaries[@]}"; do
        [ -f "build/$bin" ] || die "build/$bin is missing (make all builds it)"
        [ -x "build/$bin" ] || die "build/$bin is not executable"
        why=$(static "build/$bin") || die "build/$bin is not static ($why): an image FROM scratch has no libc"
done
$check_only && exit 0

command -v podman >/dev/null || die "podman is not installed (apt-get install podman)"
version=$(git describe --always --dirty 2>/dev/null || echo unknown)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
podman build --network=none -f examples/image/Containerfile -t "$image" \
        --build-arg VERSION="$version" --build-arg REVISION="$revision" .
if $save; then
        rm -f "$archive"
        podman save --format oci-archive -o "$archive" "$image"
        echo "$image saved as $archive: ctr -n k8s.io images import $archive"
fi
