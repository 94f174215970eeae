"""Call sites of a program rebuilt since its recording (CTest reliability_rebuilt, label
`lttng`, fixture lttng_sessiond).

A tiny instrumented program blocks in `waits_here()`; it is recorded, then rebuilt with an
extra function placed before it (new build id, and the recorded call site's offset now falls
inside `padding_function`). `report` must not name that function: the call site is shown as
`prog+0xoffset (binary changed since recording)`, from the build ids that the LTTng-UST
statedump recorded (objects[].build_id). Before the rebuild the site is `waits_here`.

Environment (set by CTest): LOOPTRACE_BIN, LOOPTRACE_PLUGINDIR, LOOPTRACE_TEST_PYDIR,
LT_INCLUDE (libtrace headers), LT_LIBDIR (liblooptrace.so). A skip is a failure under CI=true.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.environ.get("LOOPTRACE_TEST_PYDIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "report"))

import ltutil  # noqa: E402
from ltutil import run_looptrace  # noqa: E402

PROG = r"""
#include <looptrace/trace.h>
#include <time.h>
#ifdef VARIANT
static volatile int pad;
__attribute__((noinline)) void padding_function(void)
{
	for (int i = 0; i < 100; i++)
		pad += i * 3;
	pad ^= 0x55;
	pad += pad >> 2;
}
#endif
__attribute__((noinline)) void waits_here(void)
{
	struct timespec ts = {0, 2000000};
	lt_block_begin(LT_BLOCK_SLEEP, &ts);
	nanosleep(&ts, NULL);
	lt_block_end();
}
int main(void)
{
	lt_component_begin("rebuilt-worker");
	for (int i = 0; i < 5; i++) {
		uint64_t m = lt_message_new();
		lt_handle_begin(m, "tick");
		waits_here();
		lt_handle_end(m);
	}
	lt_component_end();
#ifdef VARIANT
	padding_function();
#endif
	return 0;
}
"""


def include_dir():
    return os.environ.get("LT_INCLUDE") or os.path.join(ltutil.SOURCE_ROOT, "libtrace",
                                                        "include")


def lib_dir():
    return os.environ.get("LT_LIBDIR") or os.path.join(ltutil.build_dir(), "lib")


class Rebuilt(unittest.TestCase):
    def setUp(self):
        ltutil.require(self, shutil.which("lttng") and shutil.which("lttng-sessiond"),
                       "lttng-tools not installed")
        ltutil.require(self, shutil.which("babeltrace2"), "babeltrace2 not installed")
        ltutil.require(self, shutil.which("cc") and shutil.which("addr2line"),
                       "cc / addr2line not installed")
        ltutil.require(self, ltutil.have_plugin(), "babeltrace2 plugin not built")
        self.tmp = tempfile.mkdtemp(prefix="lt-rebuilt-")
        self.src = os.path.join(self.tmp, "prog.c")
        with open(self.src, "w") as f:
            f.write(PROG)
        self.prog = os.path.join(self.tmp, "prog")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def build(self, *defs):
        subprocess.run(["cc", "-g", "-O1", "-Wl,--build-id", "-I", include_dir()] + list(defs) +
                       [self.src, "-o", self.prog, "-L", lib_dir(), "-llooptrace",
                        "-Wl,-rpath," + lib_dir()], check=True)
        return subprocess.run(["readelf", "-n", self.prog], stdout=subprocess.PIPE,
                              universal_newlines=True, check=True).stdout

    def sites(self, trace):
        p = run_looptrace(["report", "--json", "-", trace])
        self.assertEqual(p.returncode, 0, p.stderr)
        rep = json.loads(p.stdout)
        pids = {o["pid"] for o in rep.get("objects", []) if o["path"] == self.prog}
        self.assertEqual(len(pids), 1, "the statedump lists %s once" % self.prog)
        prog_obj = [o for o in rep["objects"] if o["path"] == self.prog][0]
        self.assertTrue(prog_obj.get("build_id"), prog_obj)
        comps = [c for c in rep["components"] if c["name"] == "rebuilt-worker" and
                 c["pid"] in pids]
        self.assertEqual(len(comps), 1, rep["components"])
        return [b.get("site") for b in comps[0]["blocked_by"] if b["reason"] == "sleep"], p

    def test_rebuilt_binary_is_not_named(self):
        first = self.build()
        trace = os.path.join(self.tmp, "trace")
        p = run_looptrace(["record", "-o", trace, "--", self.prog], timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        sites, _ = self.sites(trace)
        self.assertEqual(len(sites), 1, sites)
        self.assertTrue(sites[0].startswith("waits_here ("), sites)

        second = self.build("-DVARIANT")
        self.assertNotEqual(first, second, "the rebuild must change the build id")
        sites, p = self.sites(trace)
        self.assertEqual(len(sites), 1, sites)
        self.assertRegex(sites[0], r"^prog\+0x[0-9a-f]+ \(binary changed since recording\)$")
        self.assertNotIn("padding_function", p.stdout)
        self.assertNotIn("waits_here", sites[0])
        table = run_looptrace(["report", trace]).stdout
        self.assertIn("binary changed since recording", table)
        self.assertNotIn("padding_function", table)


if __name__ == "__main__":
    ltutil.main()
