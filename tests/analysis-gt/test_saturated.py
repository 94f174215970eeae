"""Ground truth in the saturated regime, at microsecond handlers.

gt_sat (gt_sat.c) runs a liblooptrace-rt component whose 5 us (and 1 us) handlers are fed by a
producer
that keeps its bounded channel from ever emptying (the program checks it itself: `empties`
counts handler entries that found the channel empty while the producer was still sending).
Recorded under `looptrace record`, the report must say what is true:
  - the component never waited for work: idle <= 2 % of its wall time;
  - the `saturated` warning fires for it;
  - its handle time (busy / messages) is within 5 % of the program's own clock (8 % at 1 us);
  - message counts are exact (component, channel sends and receives).
And the converse: with a paced producer (the component waits for every message) it is not
saturated. Needs a session daemon (fixture lttng_sessiond).
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

MESSAGES = 40000
WORK_NS = 5000
# At 1 us issue 15's goal (5 %) is not met on a loaded machine: the program's own clock reads
# (about one clock_gettime, ~28 ns here) and the call into and out of the handler are outside
# its clock and inside the runtime's bounds, 40-70 ns of a 1030-1400 ns handler (+4-5 %;
# docs/event-model.md, "A handler's bounds"). The test holds it to 8 %: a flush, a key lookup
# or the runtime's step back inside the bounds (+10 % and more) fails it.
HANDLE_TOLERANCE_1US = 0.08
# A channel of 16384 (16 ms of work) keeps the producer ahead across its own preemptions.
MESSAGES_1US = 100000
WORK_NS_1US = 1000
CAPACITY_1US = 16384
IDLE_MAX = 0.02
HANDLE_TOLERANCE = 0.05
ATTEMPTS = 6


def gt_sat():
    return os.environ.get("LOOPTRACE_GT_SAT") or os.path.join(ltutil.build_dir(), "tests",
                                                              "gt_sat")


def prerequisites(test):
    ltutil.require(test, shutil.which("lttng"), "lttng (lttng-tools) not installed")
    ltutil.require(test, shutil.which("babeltrace2"), "babeltrace2 not installed")
    ltutil.require(test, os.access(ltutil.looptrace_bin(), os.X_OK),
                   "looptrace launcher not built: %s" % ltutil.looptrace_bin())
    ltutil.require(test, os.access(gt_sat(), os.X_OK), "gt_sat not built: %s" % gt_sat())
    ltutil.require(test, ltutil.have_plugin(),
                   "babeltrace2 plugin not built: %s" % ltutil.plugindir())


def record_and_report(tmp, args):
    """Records gt_sat ARGS; returns (its own truth, the JSON report)."""
    trace = os.path.join(tmp, "trace")
    p = run_looptrace(["record", "--force", "-o", trace, "--", gt_sat()] + args, timeout=300)
    if p.returncode != 0:
        raise AssertionError("record failed (%d): %s" % (p.returncode, p.stderr))
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise AssertionError("gt_sat printed no truth: %r / %r" % (p.stdout, p.stderr))
    truth = json.loads(lines[-1])
    r = run_looptrace(["report", "--json", "-", trace])
    if r.returncode != 0 or "Traceback" in r.stderr:
        raise AssertionError("report failed (%d): %s" % (r.returncode, r.stderr))
    return truth, json.loads(r.stdout)


def component(rep, truth):
    comps = [c for c in rep["components"] if c["pid"] == truth["pid"] and c["name"] == "sat"]
    if len(comps) != 1:
        raise AssertionError("component sat of pid %d found %d times" % (truth["pid"],
                                                                        len(comps)))
    return comps[0]


def saturated(rep, c):
    return any(w["kind"] == "saturated" and w.get("component") == c["id"] and
               w.get("pid") == c["pid"] for w in rep["warnings"])


def check_depth(test, ch, truth):
    """The channel's depths: its receivers leave them to the analysis (LT_DEPTH_UNKNOWN, the
    last depth less one; the sender's depths anchor them). The report's time-weighted mean
    depth against the program's own mean of lt_chan_depth() at each handler's entry: within 2 %
    of the capacity (a message's handler is ~all of its time here), never above capacity."""
    cap = truth["capacity"]
    print("depth: report mean %.1f, max %d; program mean %.1f (capacity %d)" % (
        ch["mean_depth"], ch["max_depth"], truth["mean_depth"], cap), file=sys.stderr)
    test.assertLessEqual(ch["max_depth"], cap)
    test.assertLessEqual(abs(ch["mean_depth"] - truth["mean_depth"]), 0.02 * cap + 1.0,
                         "mean depth %.1f, program %.1f" % (ch["mean_depth"],
                                                            truth["mean_depth"]))


class SaturatedTest(unittest.TestCase):
    def setUp(self):
        prerequisites(self)
        self.tmp = tempfile.mkdtemp(prefix="lt-gt-sat-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_saturated_component(self):
        self.check_saturated(MESSAGES, WORK_NS, [], HANDLE_TOLERANCE)

    def test_saturated_component_1us(self):
        self.check_saturated(MESSAGES_1US, WORK_NS_1US, ["capacity", str(CAPACITY_1US)],
                             HANDLE_TOLERANCE_1US)

    def check_saturated(self, messages, work_ns, extra, tolerance):
        # The truth needs the producer to keep ahead; on a loaded machine it may be
        # descheduled long enough for the channel to empty (gt_sat counts that), and other
        # programs of the user may flood the shared buffers: then record again.
        for attempt in range(ATTEMPTS):
            truth, rep = record_and_report(self.tmp, [str(messages), str(work_ns)] + extra)
            c = component(rep, truth)
            if truth["empties"] == 0 and not rep["trace"]["lost_events"]:
                break
            print("attempt %d: empties %d, lost %d: recording again" % (
                attempt, truth["empties"], rep["trace"]["lost_events"]), file=sys.stderr)
        else:
            self.fail("no run with the channel never empty and no event lost in %d attempts"
                      % ATTEMPTS)
        t, wall = c["time_ns"], c["wall_ns"]
        mean = t["busy"] / c["messages"]
        print("%d ns handlers: wall %d ns: busy %.2f %%, idle %.2f %%, outside %.2f %%; handle mean %.1f ns, "
              "program %.1f ns (%+.2f %%)" % (
                  work_ns, wall, 100.0 * t["busy"] / wall, 100.0 * t["idle"] / wall,
                  100.0 * t["outside"] / wall, mean, truth["handle_mean_ns"],
                  100.0 * (mean / truth["handle_mean_ns"] - 1)), file=sys.stderr)
        self.assertEqual(truth["handled"], messages)
        self.assertEqual(c["messages"], messages)
        chans = [ch for ch in rep["channels"] if ch["name"] == "sat-inbox" and
                 ch.get("pid", truth["pid"]) == truth["pid"]]
        self.assertEqual(len(chans), 1, [ch["name"] for ch in rep["channels"]])
        self.assertEqual(chans[0]["sends"], messages)
        self.assertEqual(chans[0]["recvs"], messages)
        self.assertEqual(sum(t.values()), wall)
        self.assertLessEqual(t["idle"], IDLE_MAX * wall,
                             "idle %d ns of %d ns wall: the loop never waited" % (t["idle"], wall))
        self.assertTrue(saturated(rep, c), rep["warnings"])
        check_depth(self, chans[0], truth)
        self.assertLessEqual(abs(mean - truth["handle_mean_ns"]),
                             tolerance * truth["handle_mean_ns"],
                             "handle mean %.1f ns, program %.1f ns" % (
                                 mean, truth["handle_mean_ns"]))

    def test_paced_component_is_not_saturated(self):
        # 200 us between sends, 5 us handlers: the component waits for nearly every message.
        truth, rep = record_and_report(self.tmp, ["2000", str(WORK_NS), "paced", "200000"])
        c = component(rep, truth)
        self.assertEqual(c["messages"], 2000)
        self.assertGreater(c["time_ns"]["idle"], 0.5 * c["wall_ns"])
        chans = [ch for ch in rep["channels"] if ch["name"] == "sat-inbox" and
                 ch.get("pid", truth["pid"]) == truth["pid"]]
        self.assertEqual(len(chans), 1)
        check_depth(self, chans[0], truth)
        self.assertFalse(saturated(rep, c), rep["warnings"])


if __name__ == "__main__":
    ltutil.main()
