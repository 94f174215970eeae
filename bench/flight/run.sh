#!/usr/bin/env bash
# bench/flight/run.sh - what the flight recorder's in-process checks cost per handler when they
# are armed and nothing fires. Contract of bench/run: run from the source root;
# LOOPTRACE_BENCH_BUILD_DIR (default ./build), LOOPTRACE_BENCH_WORK (scratch); prints `figure`
# lines on stdout, progress on stderr; exit 3 when it cannot run here.
#
# bench-flight (bench_flight.c) runs under `looptrace record --flight-recorder 16M` (every event
# enabled, a snapshot session) and measures, in one process with the settings interleaved, ns
# per handler unarmed, armed (handler>1h, depth>N: a compare per handler end and send) and
# armed_blocked (also blocked>1h: two clock reads per block), and the differences.
#
# `bench/flight/run.sh --issue` runs the issue's 20 s case by hand instead (flight_prog under
# --flight-recorder 8M --on 'blocked>10ms'; LT_FLIGHT_SECONDS changes the length) and prints
# its snapshot's report and the folder's size.
set -euo pipefail

build=${LOOPTRACE_BENCH_BUILD_DIR:-$PWD/build}
work=${LOOPTRACE_BENCH_WORK:-${TMPDIR:-/tmp}}
looptrace=$build/bin/looptrace
prog=$build/bench/flight/bench-flight

mkdir -p "$work"
if [ "${1:-}" = --issue ]; then
	fp=$build/tests/flight_prog
	[ -x "$fp" ] || { echo "flight: $fp is missing (build the tests)" >&2; exit 3; }
	out=$(mktemp -d "$work/flight-issue-XXXXXX")
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
scratch=$(mktemp -d "$work/flight-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
"$looptrace" record --flight-recorder 16M -o "$scratch/t" -- "$prog" "${N:-100000}" \
	"${ROUNDS:-15}"
