#!/bin/sh
# The systemd driver's bench scenarios, run inside the systemd VM by `make bench`
# (tests/v2vm/run.sh with V2VM_SYSTEMD and V2VM_SCRIPT): the guest cannot write to the
# host, so the results come back on the console between two marker lines.
# Usage: bench/systemd-vm.sh BRIG ROOTFS [bench.py options]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
brig=$1 rootfs=$2
shift 2
# Address-space randomisation off unless BENCH_ASLR=1: why, in bench/v2-vm.sh.
[ "${BENCH_ASLR:-0}" = 1 ] || echo 0 >/proc/sys/kernel/randomize_va_space
python3 "$here/bench.py" --systemd --brig "$brig" --rootfs "$rootfs" --out /tmp/brig-it/bench-systemd.json "$@"
rc=$?
echo "BENCH-SYSTEMD-JSON-BEGIN"
cat /tmp/brig-it/bench-systemd.json
echo
echo "BENCH-SYSTEMD-JSON-END"
exit $rc
