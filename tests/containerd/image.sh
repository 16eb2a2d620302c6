#!/bin/bash
# SPDX-License-Identifier: MIT
# usage: tests/containerd/image.sh OUT.tar NAME:TAG ROOTFS-DIR ENTRYPOINT...
# Writes ROOTFS-DIR as a docker-archive image (one uncompressed layer, its config named by
# its sha256, a manifest.json tagged localhost/NAME:TAG) that `ctr images import` takes
# without a registry.
set -eu
out=$1 tag=$2 rootfs=$3
shift 3
work=$(mktemp -d "${TMPDIR:-/tmp}/numapin-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir "$work/$diff_id"
mv "$work/layer.tar" "$work/$diff_id/layer.tar"
echo 1.0 >"$work/$diff_id/VERSION"
echo "{\"id\":\"$diff_id\"}" >"$work/$diff_id/json"
entrypoint=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
jq -nc --argjson ep "$entrypoint" --arg diff "sha256:$diff_id" --arg arch "$(dpkg --print-architecture)" '{
        architecture: $arch, os: "linux",
        config: {Entrypoint: $ep, Env: ["PATH=/bin"], WorkingDir: "/"},
        rootfs: {type: "layers", diff_ids: [$diff]}}' >"$work/config.json"
config_id=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/$config_id.json"
jq -nc --arg c "$config_id.json" --arg t "localhost/$tag" --arg l "$diff_id/layer.tar" \
        '[{Config: $c, RepoTags: [$t], Layers: [$l]}]' >"$work/manifest.json"
tar -C "$work" -cf "$out" manifest.json "$config_id.json" "$diff_id"
