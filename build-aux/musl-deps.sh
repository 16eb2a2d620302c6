#!/bin/bash
# SPDX-License-Identifier: MIT
# usage: build-aux/musl-deps.sh DIR
# Builds the libraries numapin-hook links statically (zlib, libelf, libbpf,
# json-c, libseccomp) against musl, Debian's musl-dev, from Debian's own source
# packages (bookworm's versions, those of the -dev packages the other binaries
# link) into DIR (build/musl): DIR/include, DIR/lib/lib*.a, and DIR/kernel with
# the kernel's UAPI headers (linux-libc-dev's), which musl-gcc does not look in.
#
# Why the hook has its own C library: it runs once per container, for about a
# millisecond. glibc's start-up measures the CPU with dozens of CPUID instructions
# before main (cache sizes, features for its string functions), and each one
# exits to the hypervisor on a virtual machine (3.9 us apiece measured on this
# project's Firecracker VM): a third of a millisecond before the hook's first
# line. musl's start-up asks nothing of the CPU.
#
# The files come from the pool folder of the machine's own Debian mirror, are
# checked against the SHA-256 sums below (those of Debian's .dsc files) and get
# Debian's patches where the package has any (zlib's two touch only minizip and
# the shared library, so its original tarball is taken alone). A DIR without
# DIR/.done (an interrupted build) is built anew.
set -euo pipefail
dir=$1

if [ -e "$dir/.done" ]; then
        exit 0
fi
if ! command -v musl-gcc >/dev/null; then
        echo "error: musl-deps: musl-gcc not found (Debian's musl-tools)" >&2
        exit 1
fi
rm -rf "$dir"
mkdir -p "$dir/include" "$dir/lib" "$dir/kernel"
dir=$(cd "$dir" && pwd)
work=$dir/src
mkdir -p "$work"

# the mirror: where apt would take libelf-dev from, up to its pool folder
uri=$(apt-get download --print-uris libelf-dev 2>/dev/null | awk -F"'" 'NR == 1 { print $2 }')
if [ -z "$uri" ]; then
        echo "error: musl-deps: apt knows no libelf-dev to find Debian's mirror (run apt-get update)" >&2
        exit 1
fi
pool=${uri%%/pool/*}/pool/main

# fetch FOLDER FILE SHA256: one file of a source package into $work, checked
fetch() {
        local folder=$1 name=$2 sum=$3
        if ! curl -fsS --retry 2 -o "$work/$name" "$pool/$folder/$name"; then
                echo "error: musl-deps: cannot download $pool/$folder/$name" >&2
                exit 1
        fi
        if ! echo "$sum  $work/$name" | sha256sum -c --quiet - >/dev/null 2>&1; then
                echo "error: musl-deps: $name does not have the SHA-256 of Debian's .dsc" >&2
                exit 1
        fi
}

# unpack SRC-DIR ORIG [DEBIAN]: the original tarball, then Debian's patches
unpack() {
        local src=$work/$1 orig=$2 debian=${3:-} patch
        mkdir -p "$src"
        tar -xf "$work/$orig" -C "$src" --strip-components=1
        [ -n "$debian" ] || return 0
        tar -xf "$work/$debian" -C "$src"
        [ -f "$src/debian/patches/series" ] || return 0
        while read -r patch _; do
                case $patch in '' | '#'*) continue ;; esac
                patch -s -p1 -d "$src" <"$src/debian/patches/$patch"
        done <"$src/debian/patches/series"
}

fetch z/zlib zlib_1.2.13.dfsg.orig.tar.bz2 71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1
fetch e/elfutils elfutils_0.188.orig.tar.bz2 fb8b0e8d0802005b9a309c60c1d8de32dd2951b56f0c3a3cb56d21ce01595dff
fetch e/elfutils elfutils_0.188-2.1.debian.tar.xz dac77dc13f8f3bb2c541d631faf75216fc6640a359143a4545129ee096bc35ff
fetch libb/libbpf libbpf_1.1.2.orig.tar.gz b50ab60637fb713db78aa98e6ca911ddf13c0799d498a1f6ec03ebffc7dca588
fetch j/json-c json-c_0.16.orig.tar.gz 3ecaeedffd99a60b1262819f9e60d7d983844073abc74e495cb822b251904185
fetch j/json-c json-c_0.16-2.debian.tar.xz 64e4334da662d62b735a876567620121f9f07cac9ad01f989034cbcf45c8ac84
fetch libs/libseccomp libseccomp_2.5.4.orig.tar.gz d82902400405cf0068574ef3dc1fe5f5926207543ba1ae6f8e7a1576351dcbdb
fetch libs/libseccomp libseccomp_2.5.4-1+deb12u1.debian.tar.xz \
        665fc6ad1b9887207b0af1a293a2d7975e2df503a2618d1808b970081f9672f6
unpack zlib zlib_1.2.13.dfsg.orig.tar.bz2
unpack elfutils elfutils_0.188.orig.tar.bz2 elfutils_0.188-2.1.debian.tar.xz
unpack libbpf libbpf_1.1.2.orig.tar.gz
unpack json-c json-c_0.16.orig.tar.gz json-c_0.16-2.debian.tar.xz
unpack libseccomp libseccomp_2.5.4.orig.tar.gz libseccomp_2.5.4-1+deb12u1.debian.tar.xz

# the kernel's headers as the C library's build sees them
for d in linux asm-generic; do ln -s "/usr/include/$d" "$dir/kernel/$d"; done
ln -s "/usr/include/$(gcc -dumpmachine)/asm" "$dir/kernel/asm"

export CC=musl-gcc
cflags="-O2 -g -fPIE -fstack-protector-strong -isystem $dir/kernel -isystem $dir/include"
jobs=$(nproc)
(
        # their own makes, not a part of the caller's jobserver
        unset MAKEFLAGS MFLAGS MAKELEVEL
        set -e

        cd "$work/zlib"
        CFLAGS=$cflags ./configure --static --prefix="$dir" >/dev/null
        make -s -j"$jobs" libz.a >/dev/null
        cp libz.a "$dir/lib/"
        cp zlib.h zconf.h "$dir/include/"

        # libelf alone, from its source list, with the few answers of elfutils'
        # configure it reads (the rest of elfutils needs glibc's argp and fts)
        cd "$work/elfutils/libelf"
        cat >config.h <<'EOF'
#define HAVE_ERR_H 1
#define HAVE_DECL_MEMPCPY 1
#define HAVE_DECL_MEMRCHR 1
#define HAVE_DECL_RAWMEMCHR 0
#define HAVE_DECL_POWEROF2 1
#define HAVE_DECL_REALLOCARRAY 1
#define HAVE_FALLTHROUGH 1
#define HAVE_GCC_STRUCT 1
#define HAVE_VISIBILITY 1
#define PACKAGE_NAME "elfutils"
#define PACKAGE_VERSION "0.188"
#define PACKAGE_URL "http://elfutils.org/"
#define LOCALEDIR "/usr/share/locale"
#include <eu-config.h>
EOF
        sources=$(sed -n '/^libelf_a_SOURCES/,/[^\\]$/p' Makefile.am | sed 's/libelf_a_SOURCES =//; s/\\//g')
        for s in $sources; do
                echo "${s%.c}.o: $s"
                printf '\t$(CC) -std=gnu99 -D_GNU_SOURCE -DHAVE_CONFIG_H %s -I. -I.. -I../lib -c -o $@ $<\n' "$cflags"
        done >objects.mk
        printf 'libelf.a: %s\n\tar rcs $@ $^\n' "$(echo "$sources" | sed 's/\.c\b/.o/g' | tr '\n' ' ')" >>objects.mk
        make -s -j"$jobs" -f objects.mk libelf.a >/dev/null
        cp libelf.a "$dir/lib/"
        cp libelf.h gelf.h nlist.h "$dir/include/"

        cd "$work/libbpf/src"
        mkdir -p "$work/libbpf-obj"
        make -s -j"$jobs" BUILD_STATIC_ONLY=1 OBJDIR="$work/libbpf-obj" PKG_CONFIG=false \
                EXTRA_CFLAGS="$cflags" >/dev/null
        make -s install_headers DESTDIR="$dir" PREFIX= INCLUDEDIR=/include OBJDIR="$work/libbpf-obj" >/dev/null
        cp "$work/libbpf-obj/libbpf.a" "$dir/lib/"

        mkdir -p "$work/json-c-obj"
        cd "$work/json-c-obj"
        cmake -S "$work/json-c" -B . -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON \
                -DDISABLE_WERROR=ON -DBUILD_TESTING=OFF -DBUILD_APPS=OFF -DCMAKE_C_FLAGS="$cflags" \
                -DCMAKE_INSTALL_PREFIX="$dir" -DCMAKE_INSTALL_LIBDIR=lib -Wno-dev >/dev/null 2>&1
        make -s -j"$jobs" >/dev/null
        make -s install >/dev/null

        cd "$work/libseccomp"
        CFLAGS=$cflags ./configure -q --prefix="$dir" --disable-shared --enable-static --disable-python >/dev/null
        make -s -j"$jobs" -C src >/dev/null 2>&1
        make -s -C src install >/dev/null
        make -s -C include install >/dev/null
) || {
        echo "error: musl-deps: the build failed in $work" >&2
        exit 1
}
rm -rf "$work" "$dir/lib/cmake" "$dir/lib/pkgconfig" "$dir/lib/"*.la
touch "$dir/.done"
