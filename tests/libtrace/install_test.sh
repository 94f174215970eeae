#!/bin/sh
# install_test.sh BUILD_DIR SOURCE_DIR - install the build tree to a temporary prefix, then
# build and run a tiny consumer with `pkg-config --cflags --libs looptrace` and with
# find_package(looptrace) (target looptrace::looptrace), and with the static provider
# (pkg-config looptrace-probes, target looptrace::probes_static); then a channel send/recv
# consumer of the runtime with `pkg-config --cflags --libs looptrace-rt` and looptrace::rt.
set -eu
build=${1:?usage: install_test.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: install_test.sh BUILD_DIR SOURCE_DIR}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/looptrace-install-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 || {
	cat "$tmp/install.log" >&2
	echo "install_test: cmake --install failed" >&2
	exit 1
}
pcdir=$(dirname "$(find "$prefix" -name looptrace.pc | head -n1)")
[ -f "$pcdir/looptrace.pc" ] || {
	echo "install_test: looptrace.pc not installed" >&2
	exit 1
}
libdir=$(dirname "$pcdir")

# pkg-config
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs looptrace)
echo "pkg-config --cflags --libs looptrace: $flags"
# shellcheck disable=SC2086
${CC:-cc} -o "$tmp/consumer_pc" "$src/tests/libtrace/consumer/consumer.c" $flags
LD_LIBRARY_PATH=$libdir "$tmp/consumer_pc"

# pkg-config looptrace-rt: the runtime, with only what its .pc file says (no -I or -l added)
[ -f "$pcdir/looptrace-rt.pc" ] || {
	echo "install_test: looptrace-rt.pc not installed next to looptrace.pc" >&2
	exit 1
}
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs looptrace-rt)
echo "pkg-config --cflags --libs looptrace-rt: $flags"
# shellcheck disable=SC2086
${CC:-cc} -o "$tmp/rt_consumer_pc" "$src/tests/libtrace/consumer/rt_consumer.c" $flags
LD_LIBRARY_PATH=$libdir "$tmp/rt_consumer_pc"

# pkg-config, static provider linked in (built with LOOPTRACE_WITH_LTTNG=ON only)
if [ -f "$pcdir/looptrace-probes.pc" ]; then
	flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs looptrace looptrace-probes)
	echo "pkg-config --cflags --libs looptrace looptrace-probes: $flags"
	# shellcheck disable=SC2086
	${CC:-cc} -o "$tmp/consumer_pc_static" "$src/tests/libtrace/consumer/consumer.c" $flags
	nm "$tmp/consumer_pc_static" | grep -q lttng_ust__probe_desc___looptrace || {
		echo "install_test: pkg-config looptrace-probes did not link the provider" >&2
		exit 1
	}
	LD_LIBRARY_PATH=$libdir "$tmp/consumer_pc_static"
fi

# find_package
cmake -S "$src/tests/libtrace/consumer" -B "$tmp/consumer-build" \
	-DCMAKE_PREFIX_PATH="$prefix" >"$tmp/consumer.log" 2>&1 || {
	cat "$tmp/consumer.log" >&2
	echo "install_test: find_package(looptrace) failed" >&2
	exit 1
}
cmake --build "$tmp/consumer-build" >>"$tmp/consumer.log" 2>&1 || {
	cat "$tmp/consumer.log" >&2
	echo "install_test: building the find_package consumer failed" >&2
	exit 1
}
LD_LIBRARY_PATH=$libdir "$tmp/consumer-build/consumer"
LD_LIBRARY_PATH=$libdir "$tmp/consumer-build/rt_consumer"
if [ -x "$tmp/consumer-build/consumer_static" ]; then
	LD_LIBRARY_PATH=$libdir "$tmp/consumer-build/consumer_static"
	nm "$tmp/consumer-build/consumer_static" | grep -q lttng_ust__probe_desc___looptrace || {
		echo "install_test: looptrace::probes_static did not link the provider" >&2
		exit 1
	}
fi
echo "install_test: ok"
