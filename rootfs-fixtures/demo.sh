#!/usr/bin/env bash
# Run one demo container with brig: a bundle made by `brig spec` around the fixture rootfs.
# Usage: demo.sh BRIG ROOTFS
set -euo pipefail
brig=$1 rootfs=$2
work=$(mktemp -d /tmp/brig-demo.XXXXXX)
id="demo-$$"
cleanup() { "$brig" --root "$work/state" delete --force "$id" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/bundle"
"$brig" spec --bundle "$work/bundle"
python3 - "$work/bundle/config.json" "$rootfs" "$id" <<'PY'
import json, sys
path, rootfs, cid = sys.argv[1:]
c = json.load(open(path))
c["root"]["path"] = rootfs
c["process"]["terminal"] = False
c["linux"]["cgroupsPath"] = "/brig-" + cid
c["process"]["args"] = ["sh", "-c",
    "echo \"hostname: $(hostname)\"; echo; ps; echo; echo 'container namespaces:'; "
    "for ns in cgroup ipc mnt net pid user uts; do echo \"  $ns: $(readlink /proc/self/ns/$ns)\"; done"]
json.dump(c, open(path, "w"), indent=2)
PY
echo "\$ brig run $id"
"$brig" --root "$work/state" run --bundle "$work/bundle" "$id"
echo
echo "host namespaces for comparison:"
for ns in cgroup ipc mnt net pid user uts; do echo "  $ns: $(readlink /proc/self/ns/$ns)"; done
