#!/usr/bin/env bash
# Write build/hot-functions.txt: the functions a release brig runs during the everyday
# commands (run, create, start, exec, state, list, delete; the init's set-up included),
# one symbol a line with its hash: a name without the hash matches every instance of a
# generic function (1.6 MB of the 5.6 MB of text, most of it never run, counted hot that
# way). Two perf recordings of the same loop: one with call graphs (DWARF unwinding), where
# every brig function on a sampled stack counts, so a function that runs briefly but calls
# into the kernel is found through its callees' samples; and one flat at a high rate for
# the leaf functions. The legacy mangling's hash stays while the crate and the instance do;
# a new rustc, dependency version or feature set changes it, and the list wants sampling
# again. build/link-order.sh puts them first in the binary: packed together, they fill
# fewer of the 64 KiB windows the kernel maps around each code fault (in the parent, and
# again in the forked init, which does not inherit the parent's mapped code pages), which
# is most of brig's resident memory and a part of its page faults. A stale list costs
# memory and time, never correctness.
#
# Usage: build/hot-functions.sh BRIG ROOTFS   (BRIG: a release binary with its symbols;
# needs perf, Debian's linux-perf). `make hot-functions` runs it.
set -euo pipefail
brig=$(realpath "$1")
rootfs=$(realpath "$2")
out=$(cd "$(dirname "$0")" && pwd)/hot-functions.txt
work=$(mktemp -d /tmp/brig-hot.XXXXXX)
trap '"$brig" --root "$work/state" delete --force hot-c >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
command -v perf >/dev/null || { echo "hot-functions: perf not found (apt-get install linux-perf)" >&2; exit 1; }

bundle() { # DIR ARGS...: a bundle of runc's default spec running ARGS
    local dir=$1; shift
    mkdir -p "$dir"
    "$brig" spec --bundle "$dir"
    python3 - "$dir/config.json" "$rootfs" "$(basename "$dir")" "$@" <<'PY'
import json, sys
path, rootfs, name, *args = sys.argv[1:]
c = json.load(open(path))
c["root"]["path"] = rootfs
c["process"]["terminal"] = False
c["process"]["args"] = args
c["linux"]["cgroupsPath"] = "/brig-hot-" + name
json.dump(c, open(path, "w"))
PY
}
bundle "$work/run" true
bundle "$work/sleep" sleep 30
loop() { # N: a script that runs the everyday commands N times
    cat >"$work/loop.sh" <<EOF2
#!/bin/sh
b="$brig --root $work/state"
for i in \$(seq $1); do
    \$b run --bundle $work/run hot-r
    \$b state nothing 2>/dev/null
    \$b create --bundle $work/sleep hot-c </dev/null >/dev/null 2>&1
    \$b start hot-c
    \$b exec hot-c true
    \$b state hot-c >/dev/null
    \$b list >/dev/null
    \$b kill hot-c KILL
    \$b delete --force hot-c
done
EOF2
    chmod +x "$work/loop.sh"
}
name=$(basename "$brig")
# Every brig frame of every stack, most frequent first (inlined frames have no symbol);
# first what the forked init runs (a stack through brig::init::main), then the rest. The
# init maps the code it runs anew (fork does not copy the page tables of file-backed
# code), so its code packed together costs it fewer faults.
loop 150
perf record -q -F 4000 -e cpu-clock --call-graph dwarf,16384 -o "$work/graph.data" -- "$work/loop.sh"
perf script -i "$work/graph.data" -F ip,sym,dso --no-demangle 2>/dev/null |
    awk -v dso="/$name)" '
        function flush(   i) {
            for (i = 1; i <= k; i++) n[(init ? 0 : 1) " " f[i]]++
            k = 0; init = 0
        }
        NF == 0 { flush(); next }
        substr($NF, length($NF) - length(dso) + 1) == dso && $2 != "[unknown]" {
            sub(/\+0x[0-9a-f]+$/, "", $2); f[++k] = $2; if ($2 ~ /^_ZN4brig4init4main17h/) init = 1 }
        END { flush(); for (s in n) print n[s], s }' |
    sort -k2,2n -k1,1nr -k3 | cut -d' ' -f3 | awk '!seen[$0]++' >"$work/graph.txt"
rm -f "$work/graph.data"
# The leaf functions at a high rate.
loop 450
perf record -q -F 25000 -e cpu-clock -o "$work/perf.data" -- "$work/loop.sh"
perf report -i "$work/perf.data" --stdio --dsos "$name" --sort sym --no-demangle 2>/dev/null |
    sed -n 's/.*\[\.\] \([^ ]*\) *$/\1/p' >"$work/flat.txt"
cat "$work/graph.txt" "$work/flat.txt" | awk '!seen[$0]++' >"$out"
echo "hot-functions: $(wc -l <"$out") functions in $out ($(wc -l <"$work/graph.txt") on sampled stacks)"
