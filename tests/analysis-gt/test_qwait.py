"""Ground truth for intervals across threads: queue wait, send on one thread, handler on another.

gt_qwait (gt_qwait.c) measures, by its own CLOCK_MONOTONIC, how long each message waited until
its handler's entry (component thread), bracketed by its clock reads just before and just after
its send (producer thread): waits of 0 to ~4 ms. The send's record lies inside that bracket, so
the true mean and max lie between the program's lower and upper figures (a few hundred ns
apart, more where the producer was preempted inside the send). Recorded under `looptrace
record` (format 2.0: per-thread records timed by the TSC and mapped to the trace clock by
calibration pairs, docs/event-model.md), the report's channel queue wait must fall inside the
bracket: the mean within 0.1 % + 5 us of it (the handler's own read comes a little after the
record's), the max within 0.1 % + 20 us, counts exact. A wrong TSC rate, offset or per-thread base would miss by far more.
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
            self.assertEqual(json.load(f)["format"], "2.2")
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
        n = truth["messages"]
        lo, hi = truth["qwait_lo_sum_ns"] / n, truth["qwait_hi_sum_ns"] / n
        lo_max, hi_max = truth["qwait_lo_max_ns"], truth["qwait_hi_max_ns"]
        print("queue wait mean %.0f ns (program %.0f-%.0f ns), max %d ns (program %d-%d ns)"
              % (q["mean"], lo, hi, q["max"], lo_max, hi_max), file=sys.stderr)
        self.assertGreater(lo, 100000, "the program's waits are too short to test")
        slack = 0.001 * hi + 5000
        self.assertGreaterEqual(q["mean"], lo - slack)
        self.assertLessEqual(q["mean"], hi + slack)
        slack_max = 0.001 * hi_max + 20000
        self.assertGreaterEqual(q["max"], lo_max - slack_max)
        self.assertLessEqual(q["max"], hi_max + slack_max)

if __name__ == "__main__":
    ltutil.main()
