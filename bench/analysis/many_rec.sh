#!/usr/bin/env bash
# bench/analysis/many_rec.sh - what `looptrace report` costs on a recorded trace of many
# components: records bench-analysis-many-rec N M (many_rec.c: N components one after the
# other on one thread, M messages each, 4 + 6 M events per component) with `looptrace record
# --subbuf-size 8M --num-subbuf 16`, then runs once
#   looptrace report --no-progress TRACE --json OUT      (the terminal report to a file)
# with babeltrace2 wrapped in /usr/bin/time (LOOPTRACE_BABELTRACE2), and once
#   babeltrace2 -o dummy TRACE                            (decoding alone)
# Prints `figure` lines: wall time and peak RSS of the whole command (its largest process:
# the Python CLI), of babeltrace2 running the looptrace sink and analysis core, of babeltrace2
# decoding alone, and the sink + core's peak RSS above decoding alone per component.
#
#   bench/analysis/many_rec.sh [N [M]]      (default 100000 10; run from the source root)
#
# Knobs: LOOPTRACE_BUILD_DIR (default ./build), BENCH_WORK (scratch, default $TMPDIR or /tmp;
# the trace, ~175 MB for 100,000 components, is left in $BENCH_WORK/many-rec/trace).
set -euo pipefail

n=${1:-100000}
m=${2:-10}
build=${LOOPTRACE_BUILD_DIR:-$PWD/build}
work=${BENCH_WORK:-${TMPDIR:-/tmp}}/many-rec
gen=$build/bench/analysis/bench-analysis-many-rec
looptrace=$build/bin/looptrace
py=/usr/bin/python3

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
bench_require many_rec "build with LOOPTRACE_WITH_LTTNG=ON" "$gen" "$looptrace" -- lttng babeltrace2 /usr/bin/time "$py"
bt2=$(command -v babeltrace2)
mkdir -p "$work"
trace=$work/trace

echo "many_rec: recording $n components x $m messages into $trace" >&2
"$looptrace" record --force -o "$trace" --subbuf-size 8M --num-subbuf 16 -- \
	"$gen" "$n" "$m" >"$work/gen.json"

cat >"$work/bt2" <<EOF
#!/bin/sh
exec /usr/bin/time -a -o "$work/bt2.time" -f "%e %M" "$bt2" "\$@"
EOF
chmod +x "$work/bt2"
rm -f "$work/bt2.time"

echo "many_rec: looptrace report" >&2
LOOPTRACE_BABELTRACE2=$work/bt2 /usr/bin/time -o "$work/report.time" -f "%e %M" \
	"$looptrace" report --no-progress "$trace" --json "$work/report.json" >"$work/report.txt"
echo "many_rec: babeltrace2 -o dummy" >&2
/usr/bin/time -o "$work/dummy.time" -f "%e %M" "$bt2" -o dummy "$trace" >/dev/null

"$py" - "$work" "$n" <<'EOF'
import json, os, sys
work, n = sys.argv[1], int(sys.argv[2])
def last(name):
    wall, rss = open(os.path.join(work, name)).read().split()[-2:]
    return float(wall), int(rss)
rep = json.load(open(os.path.join(work, "report.json")))
t = rep["trace"]
if t["lost_events"] or len(rep["components"]) != n:
    sys.exit("many_rec: %d events lost, %d components in the report (expected %d)"
             % (t["lost_events"], len(rep["components"]), n))
rw, rr = last("report.time")
sw, sr = last("bt2.time")
dw, dr = last("dummy.time")
print("figure components %d count" % n)
print("figure events %d count" % t["events"])
print("figure json_size %.1f MB" % (os.path.getsize(os.path.join(work, "report.json")) / 1e6))
print("figure report_wall %.2f s" % rw)
print("figure report_peak_rss %.1f MiB" % (rr / 1024))
print("figure sink_wall %.2f s" % sw)
print("figure sink_peak_rss %.1f MiB" % (sr / 1024))
print("figure dummy_wall %.2f s" % dw)
print("figure dummy_peak_rss %.1f MiB" % (dr / 1024))
print("figure sink_rss_per_component %.2f KiB" % ((sr - dr) / n))
print("figure report_rss_per_component %.2f KiB" % (rr / n))
EOF
