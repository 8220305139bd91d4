#!/bin/sh
# `make bench-v2`: the runtime scenarios on pure cgroup v2, run inside the v2 VM
# (tests/v2vm/run.sh with V2VM_SCRIPT). The guest cannot write to the host, so the results
# come back on the console between two marker lines.
# Usage: bench/v2-vm.sh BRIG ROOTFS [bench.py options]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
brig=$1 rootfs=$2
shift 2
# Address-space randomisation off in this throwaway guest, unless BENCH_ASLR=1. QEMU
# 7.2's TCG keys a translated block by its virtual address, so code loaded at a fresh
# random address is translated again by every process: with randomisation, most of a
# runtime's CPU here is the emulator's translation, which real CPUs and KVM do not have
# (brig's `run` of `true`: 331 ms of CPU with it, 169 without, 9 interleaved rounds).
# Every runtime runs the same way; bench/report.py says which way it was.
[ "${BENCH_ASLR:-0}" = 1 ] || echo 0 >/proc/sys/kernel/randomize_va_space
rc=0
python3 "$here/bench.py" --brig "$brig" --rootfs "$rootfs" --out /tmp/brig-it/bench-v2.json \
	--groups runtime "$@" || rc=$?
echo "BENCH-V2-JSON-BEGIN"
cat /tmp/brig-it/bench-v2.json
echo
echo "BENCH-V2-JSON-END"
exit $rc
