#!/bin/bash
# SPDX-License-Identifier: MIT
# usage: tests/containerd/fetch.sh DIR
# Fetches what tests/e2e/containerd.sh runs, once, into DIR (build/containerd):
#   DIR/1.7      containerd 1.7.24~ds1-6+deb13u1 from Debian trixie, unpacked with dpkg -x
#   DIR/2.1      containerd 2.1.9+ds1-5 from Debian sid
#   DIR/cri-api  golang-k8s-cri-api-dev 0.36.4-1 from sid (k8s.io/cri-api's api.proto)
#   DIR/cri-py   the CRI client generated from that api.proto (python3-grpc-tools)
# Each folder holds a VERSION file, and one that is present is reused. The machine's apt
# sources are left alone: a private sources list reuses the URI of the machine's own Debian
# entry with suites trixie and sid, and apt-get reads and writes only private folders. A
# pinned version that the archive no longer lists is replaced by the newest one the suite
# lists, and a "# " line says so. Every failure is a "not ok - " line naming the package;
# the script then goes on with the others and exits 1.
set -u
dir=$1
mkdir -p "$dir" || exit 1
dir=$(cd "$dir" && pwd)
# one fetch at a time into DIR
exec 9>"$dir/.lock"
flock -w 600 9 || { echo "not ok - containerd fetch: $dir/.lock is held by another fetch"; exit 1; }

# slot package pinned-version suite
SLOTS="1.7 containerd 1.7.24~ds1-6+deb13u1 trixie
2.1 containerd 2.1.9+ds1-5 sid
cri-api golang-k8s-cri-api-dev 0.36.4-1 sid"

present() { [ -s "$dir/$1/VERSION" ]; }
newest() {
        local v best=""
        for v in "$@"; do
                if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
        done
        echo "$best"
}

# the URI and keyring of the machine's own Debian entry (deb822 .sources first, then
# sources.list): a "deb" entry with component main whose suites are not -security ones
debian_entry() {
        local f
        for f in /etc/apt/sources.list.d/*.sources; do
                [ -f "$f" ] || continue
                awk '
                function flush() {
                        if (types ~ /(^| )deb( |$)/ && comps ~ /(^| )main( |$)/ && suites !~ /-security/ && uri != "")
                                { print uri, (key != "" ? key : "-"); found = 1; exit }
                        types = ""; uri = ""; suites = ""; comps = ""; key = ""
                }
                /^[ \t]*$/ { flush(); next }
                /^[ \t]*#/ { next }
                tolower($1) == "types:" { $1 = ""; types = $0 }
                tolower($1) == "uris:" { uri = $2 }
                tolower($1) == "suites:" { $1 = ""; suites = $0 }
                tolower($1) == "components:" { $1 = ""; comps = $0 }
                tolower($1) == "signed-by:" && NF == 2 && $2 ~ /^\// { key = $2 }
                END { if (!found) flush() }' "$f" | head -n1
        done
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
                [ -f "$f" ] || continue
                # deb [OPTIONS] URI SUITE COMPONENT...
                awk '$1 == "deb" { sub(/^deb +(\[[^]]*\] +)?/, ""); if ($2 !~ /-security/ && / main( |$)/) { print $1, "-"; exit } }' "$f"
        done
}

missing=""
while read -r slot pkg version suite; do
        present "$slot" || missing+="$slot "
done <<<"$SLOTS"

if [ -n "$missing" ]; then
        read -r uri key < <(debian_entry | head -n1)
        if [ -z "${uri:-}" ]; then
                echo "not ok - containerd fetch: no Debian entry (deb ... main) in /etc/apt/sources.list{,.d} to take the archive's URI from"
                exit 1
        fi
        [ "$key" = - ] && key=/usr/share/keyrings/debian-archive-keyring.gpg
        apt_dir=$(mktemp -d "$dir/.apt.XXXXXX") || exit 1
        trap 'rm -rf "$apt_dir"' EXIT
        mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
        for suite in trixie sid; do
                echo "deb [signed-by=$key] $uri $suite main"
        done >"$apt_dir/sources.list"
        APT=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
                -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root
                -o Acquire::Retries=3)
        echo "# fetching ${missing% } from $uri (trixie, sid) into $dir"
        if ! update_out=$(apt-get "${APT[@]}" update 2>&1); then
                while read -r slot pkg version suite; do
                        [[ " $missing" == *" $slot "* ]] &&
                                echo "not ok - containerd fetch: $pkg=$version: apt-get update of $uri trixie and sid failed: $(tail -n2 <<<"$update_out" | tr '\n' ' ')"
                done <<<"$SLOTS"
                exit 1
        fi
fi

failed=0
while read -r slot pkg version suite; do
        [[ " $missing" == *" $slot "* ]] || continue
        # the pinned version if the suite still lists it, else the newest one it lists
        listed=$(apt-cache "${APT[@]}" madison "$pkg" 2>/dev/null | awk -F' *[|] *' -v s=" $suite/" 'index($3, s) { print $2 }')
        get=$version
        if ! grep -qxF "$version" <<<"$listed"; then
                get=$(newest $listed)
                if [ -z "$get" ] && ! compgen -G "$apt_dir/lists/*_dists_${suite}_*Packages*" >/dev/null; then
                        # apt-get update exits 0 when it could not fetch a list
                        echo "not ok - containerd fetch: $pkg=$version: no package list of $suite from $uri: $( { grep -E "^[WE]: .*/dists/$suite/" <<<"$update_out" || grep -E '^[WE]: ' <<<"$update_out"; } | head -n1 | head -c 300)"
                        failed=1
                        continue
                elif [ -z "$get" ]; then
                        echo "not ok - containerd fetch: $pkg=$version: $suite at $uri lists no $pkg"
                        failed=1
                        continue
                fi
                echo "# $pkg $version is no longer in $suite: fetching $get, the newest $suite lists"
        fi
        rm -f "$apt_dir"/debs/*.deb
        if ! out=$(cd "$apt_dir/debs" && apt-get "${APT[@]}" download "$pkg=$get" 2>&1); then
                echo "not ok - containerd fetch: $pkg=$get: apt-get download failed: $(tail -n2 <<<"$out" | tr '\n' ' ')"
                failed=1
                continue
        fi
        rm -rf "${dir:?}/$slot.new" "${dir:?}/$slot"
        if ! dpkg -x "$apt_dir"/debs/*.deb "$dir/$slot.new" || ! echo "$get $suite" >"$dir/$slot.new/VERSION"; then
                echo "not ok - containerd fetch: $pkg=$get: dpkg -x into $dir/$slot failed"
                failed=1
                continue
        fi
        mv "$dir/$slot.new" "$dir/$slot"
        echo "# fetched $pkg $get ($suite) into $dir/$slot"
done <<<"$SLOTS"

# the CRI client, from the proto of whichever cri-api is there
proto=$dir/cri-api/usr/share/gocode/src/k8s.io/cri-api/pkg/apis/runtime/v1/api.proto
if [ ! -s "$dir/cri-py/api_pb2_grpc.py" ] && [ -f "$proto" ]; then
        rm -rf "$dir/cri-py.new" && mkdir -p "$dir/cri-py.new" || exit 1
        # Debian 12's protoc does not know the debug_redact field option
        sed 's/ *\[debug_redact = true\]//' "$proto" >"$dir/cri-py.new/api.proto"
        if out=$(cd "$dir/cri-py.new" && /usr/bin/python3 -m grpc_tools.protoc -I. --python_out=. --grpc_python_out=. api.proto 2>&1); then
                cp "$dir/cri-api/VERSION" "$dir/cri-py.new/VERSION"
                rm -rf "$dir/cri-py" && mv "$dir/cri-py.new" "$dir/cri-py"
        else
                echo "not ok - containerd fetch: the CRI client from golang-k8s-cri-api-dev's api.proto: $(tr '\n' ' ' <<<"$out" | head -c 300)"
                failed=1
        fi
fi
exit "$failed"
