#!/usr/bin/env bash
# bench/tracepoint/run.sh - measure lt_send: probes not loaded, event enabled, and a bare
# tracepoint with the same fields (see README.md). Contract of bench/run: run from the source
# root; LOOPTRACE_BENCH_BUILD_DIR (default ./build), LOOPTRACE_BENCH_WORK (scratch folder);
# prints `figure` lines on stdout, progress on stderr; exit 3 when it cannot run here.
set -euo pipefail

build=${LOOPTRACE_BENCH_BUILD_DIR:-$PWD/build}
work=${LOOPTRACE_BENCH_WORK:-${TMPDIR:-/tmp}}
prog=$build/bench/tracepoint/bench-tracepoint
probes=$build/lib/liblooptrace-probes.so
looptrace=$build/bin/looptrace

for f in "$prog" "$probes" "$looptrace"; do
	if [ ! -e "$f" ]; then
		echo "tracepoint: $f is missing (build with LOOPTRACE_WITH_LTTNG=ON)" >&2
		exit 3
	fi
done
if ! command -v lttng >/dev/null; then
	echo "tracepoint: LTTng is not installed" >&2
	exit 3
fi

mkdir -p "$work"
trace=$(mktemp -d "$work/tracepoint-trace-XXXXXX")
trap 'rm -rf "$trace"' EXIT

# One run: phase 1 before the probes are loaded, then the program dlopens them and measures the
# enabled event and the bare tracepoint under the session `looptrace record` set up.
"$looptrace" record --force -o "$trace" --no-preload -- "$prog" --dlopen "$probes"

# Events the tracer had to discard would make the enabled figures too low: report them.
if command -v babeltrace2 >/dev/null; then
	discarded=$({ babeltrace2 "$trace" -c sink.utils.counter 2>/dev/null || true; } |
		awk '/Discarded event messages/ { n = $1 } END { print n + 0 }')
	echo "figure discarded_event_messages ${discarded:-0} count"
fi
