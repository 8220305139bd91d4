#!/bin/sh
# `make bench-v2`: the runtime scenarios on pure cgroup v2, run inside the v2 VM
# (tests/v2vm/run.sh with V2VM_SCRIPT). The guest cannot write to the host, so the results
# come back on the console between two marker lines.
# Usage: bench/v2-vm.sh BRIG ROOTFS [bench.py options]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
brig=$1 rootfs=$2
shift 2
rc=0
python3 "$here/bench.py" --brig "$brig" --rootfs "$rootfs" --out /tmp/brig-it/bench-v2.json \
	--groups runtime "$@" || rc=$?
echo "BENCH-V2-JSON-BEGIN"
cat /tmp/brig-it/bench-v2.json
echo
echo "BENCH-V2-JSON-END"
exit $rc
