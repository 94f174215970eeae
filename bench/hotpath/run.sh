#!/usr/bin/env bash
# bench/hotpath/run.sh - what tracing costs a runtime component, and whether the report of a
# traced run still tells the truth (issue 15). Called by bench/run (which builds the tree);
# usable alone:
#
#   LOOPTRACE_BENCH_BUILD_DIR=build-bench bench/hotpath/run.sh
#
# The workload (hotpath.c): a producer thread sends N messages through a bounded channel
# (capacity 1024) to a liblooptrace-rt component whose handler spins W ns. For each W in
# BENCH_HOTPATH_WORK (default "0 1000 2000" ns) it runs BENCH_REPS (default 5) repetitions,
# each one untraced run (LD_PRELOAD cleared: no probe provider) and one traced run under
# `looptrace record --buffering per-pid` (the real session daemon), alternating which goes
# first. Then `looptrace report` analyses the last traced run of each W, timed with
# /usr/bin/time, and its figures are set beside the program's own.
#
# Foreign events: `record` may pick up other instrumented processes of the user running at the
# same time. With per-pid buffers each process has its own folder: everything but the
# benchmark's own pid folder is deleted before measuring bytes or running the report, and the
# report's message count must equal the program's (else the figure says so).
#
# Knobs: BENCH_REPS (5), BENCH_HOTPATH_WORK ("0 1000 2000"), BENCH_HOTPATH_MSGS_<W> (messages
# per run for work W: 1000000 for 0 and 1000, 200000 otherwise), BENCH_HOTPATH_RECORD_ARGS
# (extra `record` options; default "--subbuf-size 8M --num-subbuf 32"). Then the three tracing
# calls of one message alone (calls.c), untraced and traced, BENCH_REPS times each; and what a
# handler's own clock does not see of the handler (blind.c, three runs): the floor of the
# handle-mean figure against the program's clock.
set -euo pipefail

build=${LOOPTRACE_BENCH_BUILD_DIR:-$PWD/build-bench}
work=${LOOPTRACE_BENCH_WORK:-${TMPDIR:-/tmp}}
reps=${BENCH_REPS:-5}
works=${BENCH_HOTPATH_WORK:-0 1000 2000}
record_args=${BENCH_HOTPATH_RECORD_ARGS:---subbuf-size 8M --num-subbuf 32}
prog=$build/bench/hotpath/bench-hotpath
calls=$build/bench/hotpath/bench-hotpath-calls
blind=$build/bench/hotpath/bench-hotpath-blind
looptrace=$build/bin/looptrace
py=/usr/bin/python3
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
bench_require hotpath "the runtime and LTTng support must be built" "$prog" "$calls" "$blind" "$looptrace" -- lttng babeltrace2 /usr/bin/time "$py"

dir=$work/hotpath
mkdir -p "$dir"
out=$(mktemp -d "$dir/run-XXXXXX")
trap 'rm -rf "$out"' EXIT
samples=$out/samples.jsonl

msgs_for() {
	local v="BENCH_HOTPATH_MSGS_$1" def=200000
	case "$1" in 0 | 1000) def=1000000 ;; esac
	echo "${!v:-$def}"
}

# keep_own TRACE PID - delete every per-pid folder of TRACE but PID's; prints the bytes of
# PID's stream files (metadata and index excluded).
keep_own() {
	local trace=$1 pid=$2 d own=
	for d in "$trace"/ust/pid/*/; do
		case "$(basename "$d")" in
		*-"$pid"-*) own=$d ;;
		*) rm -rf "$d" ;;
		esac
	done
	rm -rf "$trace/ust/uid"
	[ -n "$own" ] || {
		echo 0
		return
	}
	find "$own" -maxdepth 1 -type f ! -name metadata -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'
}

untraced() { # W N REP
	env -u LD_PRELOAD "$prog" "$2" "$1" >"$out/prog.json"
	"$py" -c 'import json,sys; d=json.loads(open(sys.argv[1]).read()); d.update(mode="untraced", rep=int(sys.argv[2])); print(json.dumps(d))' \
		"$out/prog.json" "$3" >>"$samples"
}

traced() { # W N REP
	local trace=$out/trace-$1 t0 t1 pid bytes
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086 # record_args is a list of options
	"$looptrace" record --force -o "$trace" --buffering per-pid $record_args -- \
		"$prog" "$2" "$1" >"$out/prog.json" 2>"$out/record.err" || {
		cat "$out/record.err" >&2
		exit 1
	}
	t1=$(date +%s.%N)
	pid=$("$py" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read())["pid"])' "$out/prog.json")
	bytes=$(keep_own "$trace" "$pid")
	"$py" -c 'import json,sys; d=json.loads(open(sys.argv[1]).read()); d.update(mode="traced", rep=int(sys.argv[2]), trace_bytes=int(sys.argv[3]), record_s=float(sys.argv[5])-float(sys.argv[4])); print(json.dumps(d))' \
		"$out/prog.json" "$3" "$bytes" "$t0" "$t1" >>"$samples"
}

for w in $works; do
	n=$(msgs_for "$w")
	for i in $(seq "$reps"); do
		echo "hotpath: W=$w ns, $n messages, repetition $i/$reps" >&2
		if [ $((i % 2)) = 1 ]; then
			untraced "$w" "$n" "$i"
			traced "$w" "$n" "$i"
		else
			traced "$w" "$n" "$i"
			untraced "$w" "$n" "$i"
		fi
	done
	# The report of the last traced run (its trace is still there), timed.
	echo "hotpath: W=$w ns: looptrace report" >&2
	/usr/bin/time -f "%e %U %S %M" -o "$out/time" "$looptrace" report -q --no-progress \
		--json "$out/report-$w.json" "$out/trace-$w" 2>"$out/report.err" || {
		cat "$out/report.err" >&2
		exit 1
	}
	"$py" -c 'import json,sys; e,u,s,m=open(sys.argv[1]).read().split()[:4]; print(json.dumps({"mode":"report","work_ns":int(sys.argv[2]),"report_s":float(e),"report_cpu_s":float(u)+float(s),"report_rss_kb":int(m),"json":sys.argv[3]}))' \
		"$out/time" "$w" "$out/report-$w.json" >>"$samples"
	rm -rf "$out/trace-$w"
done

# The three tracing calls of one message alone (calls.c): untraced and traced, alternating,
# BENCH_REPS times each (each run is itself the best of 20 x 200 k).
for i in $(seq "$reps"); do
	echo "hotpath: the calls of one message, repetition $i/$reps" >&2
	env -u LD_PRELOAD "$calls" | "$py" -c 'import json,sys; d=json.loads(sys.stdin.read()); d.update(mode="calls_untraced"); print(json.dumps(d))' >>"$samples"
	"$looptrace" record --force -o "$out/trace-calls" --buffering per-pid -- "$calls" 2>"$out/record.err" |
		"$py" -c 'import json,sys; d=json.loads([l for l in sys.stdin if l.startswith("{")][-1]); d.update(mode="calls_traced"); print(json.dumps(d))' >>"$samples" || {
		cat "$out/record.err" >&2
		exit 1
	}
	rm -rf "$out/trace-calls"
done

# What a handler's own clock does not see of it (blind.c): three runs, untraced.
for i in 1 2 3; do
	"$blind" | "$py" -c 'import json,sys; d=json.loads(sys.stdin.read()); d.update(mode="blind"); print(json.dumps(d))' >>"$samples"
done

"$py" "$here/summarize.py" "$samples" "${LOOPTRACE_BENCH_DETAILS:-/dev/null}"
