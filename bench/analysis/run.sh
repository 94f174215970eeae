#!/usr/bin/env bash
# bench/analysis/run.sh - how fast `looptrace report` analyses a large trace, against
# babeltrace2 reading the same trace into its dummy sink (the floor: decoding alone).
#
# Records (once; kept in $LOOPTRACE_BENCH_WORK/analysis/ and reused while its stamp matches)
# a loss-free trace of bench-analysis-gen (gen.c: a source and two workers, ~8.25 events per
# message; default 1.3 M messages, ~10.7 M events) with `looptrace record --subbuf-size 8M
# --num-subbuf 16`, checks with `looptrace report` that no event was lost and that the
# generator's own counts are in the report, then times, alternating which goes first,
#   babeltrace2 -o dummy TRACE
#   looptrace report --json OUT TRACE
# BENCH_REPS times each (default 3) with /usr/bin/time (wall time, user+system CPU, peak
# RSS). Figures are the best run of each.
#
# Contract of bench/run: run from the source root; LOOPTRACE_BENCH_BUILD_DIR (default
# ./build-bench), LOOPTRACE_BENCH_WORK (scratch), LOOPTRACE_BENCH_DETAILS (extra markdown);
# prints `figure` lines on stdout, progress on stderr; exit 3 when it cannot run here.
# Knobs: BENCH_REPS (3), BENCH_ANALYSIS_MESSAGES (1300000), BENCH_ANALYSIS_RATE (events/s the
# generator is paced to, 1500000; halved on each retry when events were lost),
# BENCH_ANALYSIS_RERECORD=1 (record again even if a trace is kept).
set -euo pipefail

build=${LOOPTRACE_BENCH_BUILD_DIR:-$PWD/build-bench}
work=${LOOPTRACE_BENCH_WORK:-${TMPDIR:-/tmp}}
reps=${BENCH_REPS:-3}
msgs=${BENCH_ANALYSIS_MESSAGES:-1300000}
rate=${BENCH_ANALYSIS_RATE:-1500000}
gen=$build/bench/analysis/bench-analysis-gen
looptrace=$build/bin/looptrace
py=/usr/bin/python3

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
bench_require analysis "build with LOOPTRACE_WITH_LTTNG=ON" "$gen" "$looptrace" -- lttng babeltrace2 /usr/bin/time "$py"

dir=$work/analysis
trace=$dir/trace
stamp=$dir/stamp.json # the generator's counts and the check, for this message count
mkdir -p "$dir"
out=$(mktemp -d "$dir/run-XXXXXX")
trap 'rm -rf "$out"' EXIT

# check REPORT GEN_JSON - "events lost" if the report is not exact, else empty.
check() {
	"$py" - "$1" "$2" <<'EOF'
import json, sys
rep = json.load(open(sys.argv[1]))
gen = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
t = rep["trace"]
problems = []
if t["lost_events"]:
    problems.append("%d events lost" % t["lost_events"])
mine = [c for c in rep["components"] if c["pid"] == gen["pid"]]
handled = sum(c["messages"] for c in mine if c["name"].startswith("worker-"))
if handled != gen["handled"]:
    problems.append("workers handled %d in the report, %d by their own count"
                    % (handled, gen["handled"]))
if t["events"] < gen["events"]:
    problems.append("%d events in the report, the generator emitted %d"
                    % (t["events"], gen["events"]))
print("; ".join(problems))
EOF
}

reuse=0
if [ "${BENCH_ANALYSIS_RERECORD:-0}" != 1 ] && [ -f "$stamp" ] && [ -d "$trace/ust" ] &&
	"$py" -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["messages"] != int(sys.argv[2]))' \
		"$stamp" "$msgs" 2>/dev/null; then
	reuse=1
	echo "analysis: reusing the trace in $trace ($(cat "$stamp"))" >&2
fi
if [ $reuse = 0 ]; then
	rm -f "$stamp"
	for attempt in 1 2 3; do
		echo "analysis: recording $msgs messages at $rate events/s into $trace" \
			"(attempt $attempt)" >&2
		"$looptrace" record --force -o "$trace" --subbuf-size 8M --num-subbuf 16 -- \
			"$gen" "$msgs" "$rate" >"$out/gen.json" 2>"$out/record.err" || {
			cat "$out/record.err" >&2
			exit 1
		}
		"$looptrace" report -q --no-progress --json "$out/check.json" "$trace" 2>/dev/null
		problem=$(check "$out/check.json" "$out/gen.json")
		if [ -z "$problem" ]; then
			"$py" - "$out/gen.json" "$out/check.json" "$rate" >"$stamp" <<'EOF'
import json, sys
gen = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
t = json.load(open(sys.argv[2]))["trace"]
gen.update(report_events=t["events"], other_events=t["other_events"],
           lost_events=t["lost_events"], rate=float(sys.argv[3]))
print(json.dumps(gen))
EOF
			break
		fi
		echo "analysis: $problem; recording again more slowly" >&2
		rate=$((rate / 2))
	done
	if [ ! -f "$stamp" ]; then
		echo "analysis: could not record a loss-free trace" >&2
		exit 1
	fi
fi
events=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["report_events"])' "$stamp")
size_mb=$(du -sm "$trace/ust" | cut -f1)

# measure NAME CMD... - one timed run; appends "wall cpu rss_kb" to $out/NAME.
measure() {
	local name=$1
	shift
	/usr/bin/time -f "%e %U %S %M" -o "$out/time" "$@" >/dev/null 2>"$out/$name.err" || {
		echo "analysis: $name failed:" >&2
		cat "$out/$name.err" >&2
		exit 1
	}
	awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$out/time" >>"$out/$name"
}

for i in $(seq "$reps"); do
	echo "analysis: run $i/$reps" >&2
	if [ $((i % 2)) = 1 ]; then
		measure dummy babeltrace2 -o dummy "$trace"
		measure report "$looptrace" report --no-progress --json "$out/report.json" "$trace"
	else
		measure report "$looptrace" report --no-progress --json "$out/report.json" "$trace"
		measure dummy babeltrace2 -o dummy "$trace"
	fi
done

best() { sort -n -k"$2" "$out/$1" | head -1 | awk -v c="$2" '{ print $c }'; }
dw=$(best dummy 1) rw=$(best report 1) dc=$(best dummy 2) rc=$(best report 2)
d_rss=$(best dummy 3) r_rss=$(best report 3)
awk -v dw="$dw" -v rw="$rw" -v dc="$dc" -v rc="$rc" -v dm="$d_rss" -v rm="$r_rss" -v e="$events" \
	-v mb="$size_mb" 'BEGIN {
	printf "figure analysis_events %d count\n", e
	printf "figure analysis_trace_size %d MB\n", mb
	printf "figure analysis_dummy_s %.2f s\n", dw
	printf "figure analysis_report_s %.2f s\n", rw
	printf "figure analysis_vs_dummy %.3f x\n", rw / dw
	printf "figure analysis_dummy_cpu_s %.2f s\n", dc
	printf "figure analysis_report_cpu_s %.2f s\n", rc
	printf "figure analysis_vs_dummy_cpu %.3f x\n", rc / dc
	printf "figure analysis_events_per_s %.3g events/s\n", e / rw
	printf "figure analysis_peak_rss_mb %.1f MB\n", rm / 1024
	printf "figure dummy_peak_rss_mb %.1f MB\n", dm / 1024
}'

if [ -n "${LOOPTRACE_BENCH_DETAILS:-}" ]; then
	{
		echo
		echo "Trace: \`bench-analysis-gen $msgs\` recorded with \`looptrace record --subbuf-size 8M"
		echo "--num-subbuf 16\` ($events events, $size_mb MB of stream files, no event lost;"
		echo "generator: $(cat "$stamp"))."
		echo
		echo "| run | babeltrace2 -o dummy: wall s, cpu s, peak RSS KiB | looptrace report --json: wall s, cpu s, peak RSS KiB |"
		echo "|---|---|---|"
		paste -d'|' "$out/dummy" "$out/report" | awk -F'|' '{ printf "| %d | %s | %s |\n", NR, $1, $2 }'
		echo
		echo "Best of $reps each, alternating which runs first. Peak RSS is /usr/bin/time's: the"
		echo "largest process of the run (\`looptrace report\` is Python driving babeltrace2 with"
		echo "the looptrace sink, then symbolizing the top call sites with addr2line)."
	} >>"$LOOPTRACE_BENCH_DETAILS"
fi
