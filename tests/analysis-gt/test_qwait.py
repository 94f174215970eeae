"""Ground truth for intervals across threads: queue wait, send on one thread, handler on another.

gt_qwait (gt_qwait.c) measures, by its own CLOCK_MONOTONIC, how long each message waited between
the read just before its send (producer thread) and its handler's entry (component thread):
waits of 0 to ~4 ms. Recorded under `looptrace record` (format 2.0: per-thread records timed by
the TSC and mapped to the trace clock by calibration pairs, docs/event-model.md), the report's
channel queue wait must agree: the mean within 0.1 % + 5 us (a record's time is read inside the
send and before the handler, ~0.2-2 us from the program's reads on a loaded machine), the max within
0.1 % + 20 us, counts exact. A wrong TSC rate, offset or per-thread base would miss by far more.
Needs a session daemon (fixture lttng_sessiond).
"""

import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.environ.get("LOOPTRACE_TEST_PYDIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "report"))

import ltutil  # noqa: E402
from ltutil import run_looptrace  # noqa: E402

MESSAGES = 300


def gt_qwait():
    return os.environ.get("LOOPTRACE_GT_QWAIT") or os.path.join(ltutil.build_dir(), "tests",
                                                                "gt_qwait")


class QueueWaitTest(unittest.TestCase):
    def setUp(self):
        ltutil.require(self, shutil.which("lttng"), "lttng (lttng-tools) not installed")
        ltutil.require(self, shutil.which("babeltrace2"), "babeltrace2 not installed")
        ltutil.require(self, os.access(gt_qwait(), os.X_OK), "gt_qwait not built")
        ltutil.require(self, ltutil.have_plugin(), "babeltrace2 plugin not built")
        self.tmp = tempfile.mkdtemp(prefix="lt-gt-qwait-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_queue_wait_across_threads(self):
        trace = os.path.join(self.tmp, "trace")
        p = run_looptrace(["record", "--force", "-o", trace, "--", gt_qwait(), str(MESSAGES)],
                          timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        truth = json.loads([ln for ln in p.stdout.splitlines() if ln.startswith("{")][-1])
        with open(os.path.join(trace, "looptrace-record.json")) as f:
            self.assertEqual(json.load(f)["format"], "2.0")
        r = run_looptrace(["report", "--json", "-", trace])
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertEqual(rep["trace"]["lost_events"], 0)
        chans = [ch for ch in rep["channels"]
                 if ch["name"] == "qwait" and ch.get("pid", truth["pid"]) == truth["pid"]]
        self.assertEqual(len(chans), 1, [ch["name"] for ch in rep["channels"]])
        q = chans[0]["queue_wait_ns"]
        self.assertEqual(truth["messages"], MESSAGES)
        self.assertEqual(q["count"], MESSAGES)
        own_mean = truth["qwait_sum_ns"] / truth["messages"]
        print("queue wait mean %.0f ns (program %.0f ns, %+.0f ns), max %d ns (program %d ns, "
              "%+d ns)" % (q["mean"], own_mean, q["mean"] - own_mean, q["max"],
                           truth["qwait_max_ns"], q["max"] - truth["qwait_max_ns"]),
              file=sys.stderr)
        self.assertGreater(own_mean, 100000, "the program's waits are too short to test")
        self.assertLessEqual(abs(q["mean"] - own_mean), 0.001 * own_mean + 5000)
        self.assertLessEqual(abs(q["max"] - truth["qwait_max_ns"]),
                             0.001 * truth["qwait_max_ns"] + 20000)


if __name__ == "__main__":
    ltutil.main()
