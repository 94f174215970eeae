#!/usr/bin/env bash
# bench/flight/run.sh - what the flight recorder's in-process checks cost per handler when they
# are armed and nothing fires. Contract of bench/run: run from the source root;
# LOOPTRACE_BENCH_BUILD_DIR (default ./build), LOOPTRACE_BENCH_WORK (scratch); prints `figure`
# lines on stdout, progress on stderr; exit 3 when it cannot run here.
#
# bench-flight runs ROUNDS times (default 5) under `looptrace record --flight-recorder 16M` in
# three settings, interleaved (A B C A B C ...) so that the machine's load drifts over all:
#   unarmed          no --on: LOOPTRACE_FLIGHT unset, thresholds at their maximum
#   armed            --on handler>1h --on depth>4000000000: one compare per handler end and send
#   armed_blocked    also --on blocked>1h: two clock reads per block
# and prints, per setting, the median of its rounds' ns per handler (a handler = handle_begin,
# send, one block, handle_end, all recorded), and the differences to `unarmed`.
#
# Also: LT_FLIGHT_SECONDS=20 bench/flight/run.sh --issue runs the issue's 20 s case by hand
# (tests/flight: flight_prog under --flight-recorder 8M --on 'blocked>10ms') and prints its
# snapshot's report.
set -euo pipefail

build=${LOOPTRACE_BENCH_BUILD_DIR:-$PWD/build}
work=${LOOPTRACE_BENCH_WORK:-${TMPDIR:-/tmp}}
looptrace=$build/bin/looptrace
prog=$build/bench/flight/bench-flight
rounds=${ROUNDS:-5}

if [ "${1:-}" = --issue ]; then
	fp=$build/tests/flight_prog
	[ -x "$fp" ] || { echo "flight: $fp is missing (build the tests)" >&2; exit 3; }
	out=$(mktemp -d "${work:-/tmp}/flight-issue-XXXXXX")
	"$looptrace" record --flight-recorder 8M --on 'blocked>10ms' -o "$out/rec" -- \
		"$fp" "${LT_FLIGHT_SECONDS:-20}" 50
	"$looptrace" report "$out/rec"
	du -sh "$out/rec"
	echo "flight: kept in $out" >&2
	exit 0
fi

for f in "$prog" "$looptrace"; do
	if [ ! -e "$f" ]; then
		echo "flight: $f is missing (build with LOOPTRACE_WITH_LTTNG=ON)" >&2
		exit 3
	fi
done
command -v lttng >/dev/null || { echo "flight: LTTng is not installed" >&2; exit 3; }
mkdir -p "$work"
scratch=$(mktemp -d "$work/flight-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

declare -A runs=([unarmed]="" [armed]="" [armed_blocked]="")
one() { # one SETTING ARGS...: ns per handler of one recorded run
	local setting=$1
	shift
	rm -rf "$scratch/t"
	"$looptrace" record --flight-recorder 16M "$@" -o "$scratch/t" -- "$prog" 2>/dev/null |
		awk '/^figure handler_ns/ { print $3 }'
}
for ((i = 0; i < rounds; i++)); do
	runs[unarmed]+=" $(one unarmed)"
	runs[armed]+=" $(one armed --on 'handler>1h' --on 'depth>4000000000')"
	runs[armed_blocked]+=" $(one armed_blocked --on 'handler>1h' --on 'depth>4000000000' \
		--on 'blocked>1h')"
	echo "flight: round $((i + 1))/$rounds" >&2
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
u=$(echo "${runs[unarmed]}" | median)
a=$(echo "${runs[armed]}" | median)
b=$(echo "${runs[armed_blocked]}" | median)
echo "figure handler_ns_unarmed $u ns"
echo "figure handler_ns_armed $a ns"
echo "figure handler_ns_armed_blocked $b ns"
echo "figure armed_minus_unarmed $(awk -v a="$a" -v u="$u" 'BEGIN { printf "%.1f", a - u }') ns"
echo "figure armed_blocked_minus_unarmed $(awk -v b="$b" -v u="$u" 'BEGIN { printf "%.1f", b - u }') ns"
if [ -n "${LOOPTRACE_BENCH_DETAILS:-}" ]; then
	{
		echo "Rounds (ns per handler): unarmed${runs[unarmed]}; armed${runs[armed]};"
		echo "armed_blocked${runs[armed_blocked]}."
	} >>"$LOOPTRACE_BENCH_DETAILS"
fi
