#!/usr/bin/env bash
# Build brig's fuzz targets with libFuzzer's coverage instrumentation on stable Rust, run
# each for FUZZ_SECS seconds, and print the executions per target. Exits non-zero if any
# target crashed (a panic, a hang past -timeout, or memory past -rss_limit_mb); the input
# is then in fuzz/target/artifacts/<target>/.
#
#   fuzz/run.sh [target...]      FUZZ_SECS=12 by default; FUZZ_ARGS adds libFuzzer flags
set -uo pipefail
cd "$(dirname "$0")"

secs=${FUZZ_SECS:-12}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(spec argv mountopts seccomp state)

# What cargo-fuzz would pass, minus the sanitizer (-Zsanitizer needs nightly): the sancov
# pass with libFuzzer's counters, PC table and comparison tracing. An explicit --target
# keeps these flags off build scripts, which have no libFuzzer runtime to link.
host=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
--cfg fuzzing"
export CARGO_TARGET_DIR="$PWD/target"
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
cargo build --release --locked --target "$host" "${bins[@]}" || exit 1

status=0
summary=""
for t in "${targets[@]}"; do
	corpus=target/corpus/$t
	artifacts=target/artifacts/$t
	log=target/logs/$t.log
	mkdir -p "$corpus" "$artifacts" target/logs
	echo "fuzz $t: ${secs}s"
	# The generated corpus comes first (new inputs are written there); the seeds are
	# read only. -timeout makes a hang a crash; -rss_limit_mb an unbounded allocation.
	# shellcheck disable=SC2086
	"target/$host/release/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=16384 -print_final_stats=1 -artifact_prefix="$artifacts/" \
		${FUZZ_ARGS:-} "$corpus" "seeds/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
	if [ $rc -eq 0 ]; then
		result=ok
	else
		result="CRASH (exit $rc)"
		status=1
		grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -n 20
	fi
	line=$(printf '%-10s %12s executions  %-22s %s' "$t" "${execs:-?}" "${cov:-}" "$result")
	echo "$line"
	summary+="$line"$'\n'
done
echo "fuzz summary (${secs}s per target; logs in fuzz/target/logs):"
printf '%s' "$summary"
exit $status
