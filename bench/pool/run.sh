#!/usr/bin/env bash
# bench/pool/run.sh - what a sequence switch costs (issue 18): the raw fiber switch and a
# request/reply ping-pong between two components, on a one-thread pool and on two threads.
# Called by bench/run; alone: LOOPTRACE_BENCH_BUILD_DIR=build-bench bench/pool/run.sh
# Knobs: BENCH_POOL_SWITCHES (10000000), BENCH_POOL_ROUNDS (200000).
set -euo pipefail
build=${LOOPTRACE_BENCH_BUILD_DIR:-$PWD/build-bench}
prog=$build/bench/pool/bench-pool
[ -x "$prog" ] || { echo "bench/pool: $prog not built" >&2; exit 3; }
"$prog" "${BENCH_POOL_SWITCHES:-10000000}" "${BENCH_POOL_ROUNDS:-200000}"
