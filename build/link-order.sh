#!/usr/bin/env bash
# The release binary's link order: first the functions of build/hot-functions.txt (what
# the everyday commands run, sampled), then every other symbol of BRIG in its address
# order, except the code only the systemd cgroup driver runs (its D-Bus client, zbus and
# the crates only zbus uses) and the code only checkpoint and restore run (brig's CRIU
# driver and plan, rust-criu, protobuf), which goes last. build.rs hands the list to the linker
# (lld's --symbol-ordering-file), which lays out the listed sections first, in this order.
# Why: the kernel maps a 64 KiB window of the binary around each page fault (fault-around),
# so code that does not run costs resident memory wherever it sits between code that does
# (figures in BENCHMARKS.md and ARCHITECTURE.md's crate table).
#
# Usage: build/link-order.sh BRIG OUT   (OUT is rewritten only when the list changes, so
# that cargo relinks only then; a list from the ordered binary is the same list.)
set -euo pipefail
brig=$1 out=$2
cold='zbus|zbus_names|zvariant|zvariant_utils|zcheapstr|endi|async_broadcast|async_channel|async_executor|async_io|async_lock|async_process|async_signal|async_task|atomic_waker|blocking|concurrent_queue|crossbeam_utils|enumflags2|event_listener|event_listener_strategy|fastrand|futures_core|futures_io|futures_lite|ordered_stream|parking|piper|polling|rustix|linux_raw_sys|signal_hook_registry|slab|tracing|tracing_core|uuid|hex|serde_repr|rust_criu|protobuf|protobuf_support'
# Only lld takes the option (rust-lld is the default linker from Rust 1.90 on): with
# another linker the list stays empty and build.rs passes nothing.
if ! readelf -p .comment "$brig" 2>/dev/null | grep -q 'Linker: LLD'; then
    : >"$out.tmp" && { cmp -s "$out.tmp" "$out" || mv "$out.tmp" "$out"; }
    rm -f "$out.tmp"
    exit 0
fi
hot=$(dirname "$0")/hot-functions.txt
tmp=$(mktemp) all=$(mktemp)
trap 'rm -f "$tmp" "$all"' EXIT
nm -n --defined-only "$brig" | awk 'NF == 3 {print $3}' |
    grep -v -E "(^|[0-9\$.])($cold)([0-9]|\.\.)|4brig7cgroups7systemd|4brig7support4criu|4brig9lifecycle(10checkpoint|7restore|9criu_plan)|4brig8commands10checkpoint" >"$all"
# A hot list name with its hash is that one symbol; without it, every symbol of that name.
{
    [ -f "$hot" ] && awk 'NR == FNR {rank[$0] = NR; next}
        {key = $0; if (!(key in rank)) sub(/17h[0-9a-f]{16}E$/, "", key); if (key in rank) print rank[key], $0}' "$hot" "$all" |
        sort -s -n -k1,1 | cut -d' ' -f2-
    cat "$all"
} | awk '!seen[$0]++' >"$tmp"
[ -s "$tmp" ] || { echo "link-order: no symbols in $brig (built stripped?)" >&2; exit 1; }
cmp -s "$tmp" "$out" 2>/dev/null || cp "$tmp" "$out"
