#!/usr/bin/env bash
# bench/channel/run.sh - the channel benchmark: liblooptrace-rt vs Go's buffered channel vs a
# mutex + condvar queue. Called by bench/run (which builds bench-channel first); usable alone:
#
#   LOOPTRACE_BENCH_BUILD_DIR=build-bench bench/channel/run.sh
#
# Environment:
#   LOOPTRACE_BENCH_BUILD_DIR  CMake build dir holding bench/channel/bench-channel (required)
#   LOOPTRACE_BENCH_WORK       scratch dir for Go's cache (default bench/.work)
#   LOOPTRACE_BENCH_DETAILS    if set, a markdown file to write the detailed tables into
#   BENCH_REPS                 repetitions (default 5); BENCH_MSGS (default 1e7),
#   BENCH_TRIPS (1e6), BENCH_CONDVAR_MSGS (2e6), BENCH_CONDVAR_TRIPS (2e4)
#
# Each repetition runs the C program once (rt then condvar) and the Go program once, in
# alternating order, so all three see the same machine load. Every figure is the best
# repetition (highest msg/s, lowest ns); the tables also give the median and the CPU time
# spent per message. Prints `figure <name> <value> <unit>` lines on stdout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${LOOPTRACE_BENCH_BUILD_DIR:?LOOPTRACE_BENCH_BUILD_DIR must name the build directory}
build=$(cd "$build" && pwd)
work=${LOOPTRACE_BENCH_WORK:-$src/bench/.work}
reps=${BENCH_REPS:-5}
msgs=${BENCH_MSGS:-1e7}
trips=${BENCH_TRIPS:-1e6}
cv_msgs=${BENCH_CONDVAR_MSGS:-2e6}
cv_trips=${BENCH_CONDVAR_TRIPS:-2e4}

cbench=$build/bench/channel/bench-channel
if [ ! -x "$cbench" ]; then
	echo "channel: $cbench is missing: the runtime (CMake target looptrace_rt) is not in this" \
		"build yet, or the build failed" >&2
	exit 3
fi
if ! command -v go >/dev/null; then
	echo "channel: 'go' not found: install Debian's golang-go (scripts/install-deps --bench)" >&2
	exit 3
fi

# The Go side: no modules, no network, caches under bench/.work.
gobench=$build/bench/channel/chanbench-go
mkdir -p "$work/go-cache" "$work/gopath"
(cd "$here/go" && env GO111MODULE=off GOFLAGS= GOPROXY=off GOCACHE="$work/go-cache" \
	GOPATH="$work/gopath" go build -o "$gobench" .)

# Measured as shipped: never with the probe provider preloaded.
run_c() {
	env -u LD_PRELOAD "$cbench" --msgs "$msgs" --trips "$trips" \
		--condvar-msgs "$cv_msgs" --condvar-trips "$cv_trips" --reps 1
}
run_go() {
	env -u LD_PRELOAD "$gobench" -msgs "$msgs" -trips "$trips" -reps 1
}
# Go's flag package wants integers: expand 1e7-style counts.
msgs=$(awk -v x="$msgs" 'BEGIN { printf "%d", x }')
trips=$(awk -v x="$trips" 'BEGIN { printf "%d", x }')

samples=$(mktemp)
trap 'rm -f "$samples"' EXIT
for ((r = 1; r <= reps; r++)); do
	echo "channel: repetition $r/$reps" >&2
	if ((r % 2)); then
		run_c >>"$samples"
		run_go >>"$samples"
	else
		run_go >>"$samples"
		run_c >>"$samples"
	fi
done
grep '^info ' "$samples" | sort -u | sed 's/^/channel: /' >&2 || true
if grep -q '^info probes_loaded 1' "$samples"; then
	echo "channel: warning: a looptrace probe provider was loaded: these are not the figures" \
		"of the runtime as shipped" >&2
fi

# Aggregate: best and median per sample name, then the ratios.
awk -v details="${LOOPTRACE_BENCH_DETAILS:-}" -v reps="$reps" \
	-v msgs="$msgs" -v trips="$trips" -v cvm="$cv_msgs" -v cvt="$cv_trips" '
function sortn(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
}
function fmt(v) { return sprintf("%.4g", v) }
$1 == "sample" {
	name = $2; unit[name] = $4; n[name]++; v[name, n[name]] = $3 + 0
}
END {
	for (name in n) {
		k = n[name]
		for (i = 1; i <= k; i++) s[i] = v[name, i]
		sortn(s, k)
		best[name] = unit[name] == "msg/s" ? s[k] : s[1]
		med[name] = k % 2 ? s[(k + 1) / 2] : (s[k / 2] + s[k / 2 + 1]) / 2
	}
	split("spsc_throughput mpsc_throughput pingpong_rtt", wl, " ")
	split("rt go condvar", im, " ")
	for (w = 1; w <= 3; w++) for (i = 1; i <= 3; i++) {
		name = im[i] "_" wl[w]
		if (name in best) printf "figure %s %s %s\n", name, fmt(best[name]), unit[name]
	}
	nr = 0
	if (("rt_spsc_throughput" in best) && ("go_spsc_throughput" in best))
		ratio[++nr] = "spsc_throughput_vs_go " fmt(best["rt_spsc_throughput"] / best["go_spsc_throughput"])
	if (("rt_mpsc_throughput" in best) && ("go_mpsc_throughput" in best))
		ratio[++nr] = "mpsc_throughput_vs_go " fmt(best["rt_mpsc_throughput"] / best["go_mpsc_throughput"])
	if (("rt_mpsc_throughput" in best) && ("condvar_mpsc_throughput" in best))
		ratio[++nr] = "mpsc_throughput_vs_condvar " fmt(best["rt_mpsc_throughput"] / best["condvar_mpsc_throughput"])
	if (("rt_pingpong_rtt" in best) && ("go_pingpong_rtt" in best))
		ratio[++nr] = "pingpong_vs_go " fmt(best["rt_pingpong_rtt"] / best["go_pingpong_rtt"])
	if (("rt_pingpong_rtt" in best) && ("condvar_pingpong_rtt" in best))
		ratio[++nr] = "pingpong_vs_condvar " fmt(best["rt_pingpong_rtt"] / best["condvar_pingpong_rtt"])
	for (i = 1; i <= nr; i++) printf "figure %s x\n", ratio[i]
	if (details == "") exit 0

	print "### Channel workloads (best of " reps " repetitions; median in parentheses)\n" > details
	print "| workload | liblooptrace-rt | Go buffered chan | mutex+condvar | rt / Go | rt / condvar |" > details
	print "|---|---|---|---|---|---|" > details
	for (w = 1; w <= 3; w++) {
		line = "| " wl[w] " (" (wl[w] == "pingpong_rtt" ? "ns per round trip" : "msg/s") ")"
		for (i = 1; i <= 3; i++) {
			name = im[i] "_" wl[w]
			line = line " | " ((name in best) ? fmt(best[name]) " (" fmt(med[name]) ")" : "n/a")
		}
		a = "rt_" wl[w]; g = "go_" wl[w]; c = "condvar_" wl[w]
		line = line " | " (((a in best) && (g in best)) ? fmt(best[a] / best[g]) : "n/a")
		line = line " | " (((a in best) && (c in best)) ? fmt(best[a] / best[c]) : "n/a") " |"
		print line > details
	}
	print "\n### CPU time per message / round trip (median; whole process, user + system)\n" > details
	print "Spinning shows here: a queue can win on wall time by burning a second CPU.\n" > details
	print "| workload | liblooptrace-rt | Go buffered chan | mutex+condvar |" > details
	print "|---|---|---|---|" > details
	split("spsc_cpu mpsc_cpu pingpong_cpu", cw, " ")
	for (w = 1; w <= 3; w++) {
		line = "| " wl[w] " (" (w == 3 ? "cpu-ns/trip" : "cpu-ns/msg") ")"
		for (i = 1; i <= 3; i++) {
			name = im[i] "_" cw[w]
			line = line " | " ((name in med) ? fmt(med[name]) : "n/a")
		}
		print line " |" > details
	}
	print "\nCounts per repetition: " msgs " messages per throughput run, " trips \
		" round trips per ping-pong run (condvar: " cvm " and " cvt "). Capacity 1024." > details
}' "$samples"
