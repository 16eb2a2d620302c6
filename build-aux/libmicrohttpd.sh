#!/bin/bash
# SPDX-License-Identifier: MIT
# usage: build-aux/libmicrohttpd.sh DIR
# Builds GNU libmicrohttpd, the HTTP server of numapin's /metrics endpoint, from
# Debian's own source package (0.9.75-6, bookworm's) into DIR (build/libmicrohttpd):
# DIR/include/microhttpd.h and DIR/lib/libmicrohttpd.a.
#
# Why not Debian's libmicrohttpd-dev: its static library is built with HTTPS
# through GnuTLS, and GnuTLS cannot be linked statically on Debian (p11-kit
# ships no static library), while numapin-nri and numapin-exporter are static
# binaries (the image is FROM scratch). The endpoint serves plain HTTP, as
# node-exporter does by default, so this build leaves HTTPS out.
#
# The files come from the pool folder of the machine's own Debian mirror (the one
# apt-get would download libmicrohttpd-dev from), are checked against the SHA-256
# sums below (those of Debian's .dsc), and Debian's patches are applied. A DIR that
# holds the library already is left as it is.
set -euo pipefail
dir=$1
version=0.9.75
revision=6
orig=libmicrohttpd_$version.orig.tar.xz
orig_sha256=796e7e217a4802679fcac667a4e98501c53185dcf50ca0583870e84192620131
debian=libmicrohttpd_$version-$revision.debian.tar.xz
debian_sha256=566c247bfbf67e20858705ae695f58db747d50ed8512f2bc46a28bef9086e5af

if [ -s "$dir/lib/libmicrohttpd.a" ] && [ -s "$dir/include/microhttpd.h" ]; then
        exit 0
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
work=$dir/src
rm -rf "$work"
mkdir -p "$work"

# the pool folder: where apt would take the binary package from
uri=$(apt-get download --print-uris libmicrohttpd-dev 2>/dev/null | awk -F"'" 'NR == 1 { print $2 }')
if [ -z "$uri" ]; then
        echo "error: libmicrohttpd: apt knows no libmicrohttpd-dev to find Debian's pool folder (run apt-get update)" >&2
        exit 1
fi
pool=${uri%/*}
for f in "$orig:$orig_sha256" "$debian:$debian_sha256"; do
        name=${f%%:*} sum=${f#*:}
        if ! curl -fsS --retry 2 -o "$work/$name" "$pool/$name"; then
                echo "error: libmicrohttpd: cannot download $pool/$name" >&2
                exit 1
        fi
        if ! echo "$sum  $work/$name" | sha256sum -c --quiet - >/dev/null 2>&1; then
                echo "error: libmicrohttpd: $name does not have the SHA-256 of Debian's $version-$revision" >&2
                exit 1
        fi
done
tar -xf "$work/$orig" -C "$work"
src=$work/libmicrohttpd-$version
tar -xf "$work/$debian" -C "$src"
while read -r patch; do
        case $patch in '' | '#'*) continue ;; esac
        patch -s -p1 -d "$src" <"$src/debian/patches/$patch"
done <"$src/debian/patches/series"

(
        # its own make, not a part of the caller's jobserver
        unset MAKEFLAGS MFLAGS MAKELEVEL
        cd "$src"
        ./configure -q --prefix="$dir" --disable-shared --enable-static --with-pic --disable-https \
                --without-gnutls --disable-curl --disable-doc --disable-examples \
                CFLAGS="-O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2" >/dev/null
        make -s -j"$(nproc)" -C src/microhttpd >/dev/null
        make -s -C src/microhttpd install >/dev/null
        make -s -C src/include install >/dev/null
) || { echo "error: libmicrohttpd: the build failed in $src" >&2; exit 1; }
rm -rf "$work"
