#!/bin/sh
# uninstalled_test.sh BUILD_DIR SOURCE_DIR - build and run the tiny consumers against the build
# tree, before any install, with nothing but `pkg-config --cflags --libs` and
# PKG_CONFIG_PATH=BUILD_DIR/lib/pkgconfig: pkg-config must pick looptrace-uninstalled.pc (and
# looptrace-rt-, looptrace-probes-uninstalled.pc), whose flags name the build tree's libraries
# and the source tree's headers; the programs run without LD_LIBRARY_PATH (the rpath those
# files add) and load the build tree's libraries. The installed looptrace.pc beside the build
# tree's libtrace/ is checked to be the relocatable one, unchanged.
set -eu
build=$(cd "${1:?usage: uninstalled_test.sh BUILD_DIR SOURCE_DIR}" && pwd -P)
src=$(cd "${2:?usage: uninstalled_test.sh BUILD_DIR SOURCE_DIR}" && pwd -P)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/looptrace-uninstalled-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pcdir=$build/lib/pkgconfig
fail() {
	echo "uninstalled_test: $*" >&2
	exit 1
}
unset LD_LIBRARY_PATH PKG_CONFIG_DISABLE_UNINSTALLED
export PKG_CONFIG_PATH="$pcdir"

for name in looptrace looptrace-rt; do
	[ -f "$pcdir/$name-uninstalled.pc" ] || fail "$pcdir/$name-uninstalled.pc missing"
	# pkg-config itself says which file it read
	path=$(pkg-config --path "$name")
	[ "$path" = "$pcdir/$name-uninstalled.pc" ] || fail "pkg-config $name reads $path"
done

# loaded_from PROGRAM LIB - the path the dynamic loader maps LIB from for PROGRAM (no
# LD_LIBRARY_PATH: the rpath alone)
loaded_from() {
	ldd "$1" | awk -v lib="$2" '$1 == lib { print $3 }'
}

flags=$(pkg-config --cflags --libs looptrace)
echo "pkg-config --cflags --libs looptrace: $flags"
case " $flags " in
*" -I$src/libtrace/include "*) ;;
*) fail "looptrace: no -I$src/libtrace/include in: $flags" ;;
esac
case " $flags " in
*" -L$build/lib "*) ;;
*) fail "looptrace: no -L$build/lib in: $flags" ;;
esac
# shellcheck disable=SC2086
${CC:-cc} -o "$tmp/consumer" "$src/tests/libtrace/consumer/consumer.c" $flags
"$tmp/consumer"
lib=$(loaded_from "$tmp/consumer" liblooptrace.so.0)
[ "$lib" = "$build/lib/liblooptrace.so.0" ] || fail "consumer loads liblooptrace from '$lib'"

flags=$(pkg-config --cflags --libs looptrace-rt)
echo "pkg-config --cflags --libs looptrace-rt: $flags"
case " $flags " in
*" -I$src/demo-system/include "*" -I$src/libtrace/include "* | \
	*" -I$src/libtrace/include "*" -I$src/demo-system/include "*) ;;
*) fail "looptrace-rt: the runtime's and liblooptrace's headers are not both in: $flags" ;;
esac
# shellcheck disable=SC2086
${CC:-cc} -o "$tmp/rt_consumer" "$src/tests/libtrace/consumer/rt_consumer.c" $flags
"$tmp/rt_consumer"
lib=$(loaded_from "$tmp/rt_consumer" liblooptrace-rt.so.0)
[ "$lib" = "$build/lib/liblooptrace-rt.so.0" ] || fail "rt_consumer loads liblooptrace-rt from '$lib'"

# the static provider (built with LOOPTRACE_WITH_LTTNG=ON only)
if [ -f "$build/lib/liblooptrace-probes.a" ]; then
	flags=$(pkg-config --cflags --libs looptrace looptrace-probes)
	echo "pkg-config --cflags --libs looptrace looptrace-probes: $flags"
	# shellcheck disable=SC2086
	${CC:-cc} -o "$tmp/consumer_static" "$src/tests/libtrace/consumer/consumer.c" $flags
	nm "$tmp/consumer_static" | grep -q lttng_ust__probe_desc___looptrace ||
		fail "pkg-config looptrace-probes did not link the provider"
	"$tmp/consumer_static"
fi

# The file that gets installed stays the relocatable one.
# shellcheck disable=SC2016 # a literal ${pcfiledir}
grep -qx 'prefix=${pcfiledir}/.*' "$build/libtrace/looptrace.pc" ||
	fail "$build/libtrace/looptrace.pc is not the relocatable (installed) file"
echo "uninstalled_test: ok"
