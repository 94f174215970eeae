#!/usr/bin/env bash
# bench/interpose/run.sh - what the interposer (liblooptrace-preload.so) costs a mutex- and
# condvar-heavy program (ip_bench.c): its own elapsed time plain, preloaded with no session,
# and under `looptrace record --interpose`; the median of BENCH_REPS runs (default 9) each,
# the three kinds of run interleaved (the machine may be shared: medians, not means).
# Contract of bench/run: run from the source root; LOOPTRACE_BENCH_BUILD_DIR (default ./build),
# LOOPTRACE_BENCH_WORK (scratch), LOOPTRACE_BENCH_DETAILS (extra markdown); prints `figure`
# lines on stdout, progress on stderr; exit 3 when it cannot run here.
# Knobs: BENCH_REPS, IP_BENCH_ARGS (round trips, lock iterations, threads; default
# "20000 200000 2").
set -euo pipefail

build=${LOOPTRACE_BENCH_BUILD_DIR:-$PWD/build}
work=${LOOPTRACE_BENCH_WORK:-${TMPDIR:-/tmp}}
reps=${BENCH_REPS:-9}
read -r -a args <<<"${IP_BENCH_ARGS:-20000 200000 2}"
prog=$build/bench/interpose/bench-interpose
preload=$build/lib/liblooptrace-preload.so
looptrace=$build/bin/looptrace

for f in "$prog" "$preload" "$looptrace"; do
	if [ ! -e "$f" ]; then
		echo "interpose: $f is missing (build with LOOPTRACE_WITH_LTTNG=ON)" >&2
		exit 3
	fi
done
if ! command -v lttng >/dev/null; then
	echo "interpose: LTTng is not installed" >&2
	exit 3
fi

mkdir -p "$work"
trace=$(mktemp -d "$work/interpose-trace-XXXXXX")
trap 'rm -rf "$trace"' EXIT

# One run's output -> "elapsed_ns lock_ns".
fields() { awk '$1 == "elapsed_ns" { e = $2 } $1 == "lock_ns" { l = $2 } END { print e, l }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

plain=() untraced=() traced=()
for i in $(seq "$reps"); do
	echo "interpose: run $i/$reps" >&2
	plain+=("$("$prog" "${args[@]}" | fields)")
	untraced+=("$(LD_PRELOAD=$preload "$prog" "${args[@]}" | fields)")
	traced+=("$("$looptrace" record --interpose --force -o "$trace" -- "$prog" "${args[@]}" \
		2>/dev/null | fields)")
done
col() { printf '%s\n' "${@:2}" | awk -v c="$1" '{ print $c }' | median; }
p=$(col 1 "${plain[@]}") u=$(col 1 "${untraced[@]}") t=$(col 1 "${traced[@]}")
lp=$(col 2 "${plain[@]}") lu=$(col 2 "${untraced[@]}") lt=$(col 2 "${traced[@]}")

events=0
if command -v babeltrace2 >/dev/null; then
	events=$({ babeltrace2 "$trace" 2>/dev/null || true; } | grep -c 'looptrace_preload:block_' || true)
fi

awk -v p="$p" -v u="$u" -v t="$t" -v e="$events" -v lp="$lp" -v lu="$lu" -v lt="$lt" 'BEGIN {
	printf "figure interpose_plain_ms %.1f ms\n", p / 1e6
	printf "figure interpose_untraced_ms %.1f ms\n", u / 1e6
	printf "figure interpose_traced_ms %.1f ms\n", t / 1e6
	printf "figure interpose_overhead_untraced %.3f x\n", u / p
	printf "figure interpose_overhead_traced %.3f x\n", t / p
	printf "figure interpose_block_events %d count\n", e
	printf "figure interpose_lock_ns_plain %.2f ns\n", lp
	printf "figure interpose_lock_ns_untraced %.2f ns\n", lu
	printf "figure interpose_lock_ns_traced %.2f ns\n", lt
}'

if [ -n "${LOOPTRACE_BENCH_DETAILS:-}" ]; then
	{
		echo
		echo "Interposer: \`bench-interpose ${args[*]}\` (ping-pong round trips, contended lock"
		echo "iterations, threads), median of $reps runs of the program's own elapsed time."
		echo "Untraced = liblooptrace-preload.so preloaded, no session; traced = under"
		echo "\`looptrace record --interpose\` ($events block events in the last traced run)."
	} >>"$LOOPTRACE_BENCH_DETAILS"
fi
