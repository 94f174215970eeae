#!/usr/bin/env bash
# run.sh [SECONDS] - builds the libFuzzer target of the analysis core with clang and fuzzes it
# for SECONDS (default 60; or $LT_FUZZ_SECONDS) starting from the seed corpus tests/fuzz/corpus.
# Exits non-zero on any crash or broken invariant; the input that broke it is kept under
# <build>/fuzz-artifacts/ (replay: <build>/tests/fuzz_analysis FILE, or with the gcc build:
# build/tests/fuzz_analysis_replay FILE). New inputs found go to a temporary folder; the
# committed corpus is never modified.
#
# Environment: LT_FUZZ_BUILD (build folder, default build-fuzz).
set -euo pipefail
secs=${1:-${LT_FUZZ_SECONDS:-60}}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${LT_FUZZ_BUILD:-$root/build-fuzz}

if ! command -v clang >/dev/null; then
	echo "run.sh: clang is not installed" >&2
	exit 1
fi
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DLOOPTRACE_WITH_LTTNG=OFF \
	-DLOOPTRACE_FUZZ=ON -DLOOPTRACE_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target fuzz_analysis

work=$(mktemp -d "${TMPDIR:-/tmp}/lt-fuzz-corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/fuzz-artifacts"
echo "run.sh: fuzzing the analysis core for ${secs} s"
status=0
"$build/tests/fuzz_analysis" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
	-max_len=4096 -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/" \
	"$work" "$root/tests/fuzz/corpus" || status=$?
if [ "$status" -ne 0 ]; then
	echo "run.sh: the fuzzer found a failure (status $status); inputs in $build/fuzz-artifacts/" >&2
	exit 1
fi
echo "run.sh: no failure in ${secs} s ($(ls "$work" | wc -l) new corpus inputs, discarded)"
