# bench/lib.sh - shell helpers the benchmarks' run scripts share (sourced, not run).

# bench_require NAME HINT FILE... -- TOOL...: every FILE must be an executable (else "NAME:
# FILE is missing (HINT)") and every TOOL on PATH or executable (else "NAME: TOOL is not
# installed"); exits 3 (the bench/run contract: cannot run here) at the first one missing.
bench_require() {
	local name=$1 hint=$2 f
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		if [ ! -x "$1" ]; then
			echo "$name: $1 is missing ($hint)" >&2
			exit 3
		fi
		shift
	done
	[ $# -gt 0 ] && shift
	for f in "$@"; do
		if ! command -v "$f" >/dev/null; then
			echo "$name: $f is not installed" >&2
			exit 3
		fi
	done
}
