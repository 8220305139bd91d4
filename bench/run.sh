#!/usr/bin/env bash
# Run bench/bench.py in a private mount namespace without the cgroup2 mount of this hybrid
# host, so crun 1.8 (which refuses hybrid hosts) runs, and brig and runc see the same host.
# Usage: bench/run.sh BRIG ROOTFS OUT.json [bench.py options]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec unshare --mount --propagation private sh -c '
	if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
	b=$1 r=$2 o=$3; shift 3
	exec python3 "$0" --brig "$b" --rootfs "$r" --out "$o" "$@"' \
	"$here/bench.py" "$@"
