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
# Between a handler's traced bounds and the program's own first and last clock reads lie the
# program's own clock reads (about one clock_gettime, ~30 ns here), the call and return and what
# the tracer's reads cost; the decoder takes the tracer's bracket off (BRACKET, measured per
# process) and the begin read waits for the runtime's loads (an lfence): 30-45 ns of a ~1030 ns
# handler, +3-4.5 % (docs/event-model.md, "A handler's bounds"). Some runs fall in a phase where
# the runtime's step before each handler is slower for a long run of handlers and the gap is
# 90-150 ns (+9-15 %; the program's own clock reads cost the same then): every run is held to
# HANDLE_SPREAD, one of ATTEMPTS runs to the goal, 5 %. A flush, a key lookup or the runtime's
# step back inside the bounds (+10 % in every run) fails it, as does the bracket not taken off
# (+5.3-7.4 % in every run, measured).
HANDLE_TOLERANCE_1US = 0.05
HANDLE_SPREAD = 0.20
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


def record_and_report(tmp, args, raw=False):
    """Records gt_sat ARGS; returns (its own truth, the JSON report). raw: the report of the
    handlers' bounds as read (LOOPTRACE_RAW_BOUNDS), too: (truth, report, raw report)."""
    trace = os.path.join(tmp, "trace")
    p = run_looptrace(["record", "--force", "-o", trace, "--", gt_sat()] + args, timeout=300)
    if p.returncode != 0:
        raise AssertionError("record failed (%d): %s" % (p.returncode, p.stderr))
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise AssertionError("gt_sat printed no truth: %r / %r" % (p.stdout, p.stderr))
    truth = json.loads(lines[-1])
    reps = []
    for env in ([{}, {"LOOPTRACE_RAW_BOUNDS": "1"}] if raw else [{}]):
        r = run_looptrace(["report", "--json", "-", trace], env=env)
        if r.returncode != 0 or "Traceback" in r.stderr:
            raise AssertionError("report failed (%d): %s" % (r.returncode, r.stderr))
        reps.append(json.loads(r.stdout))
    return (truth,) + tuple(reps) if raw else (truth, reps[0])


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


def check_bracket(test, rep, raw, truth):
    """The tracer's bracket (its clock reads, the begin record's stores, the calls around an
    empty handler: measured by liblooptrace, a BRACKET record per thread) is taken off each
    handler: the same trace read with LOOPTRACE_RAW_BOUNDS has each handler longer by the
    bracket (less where a handler would end before its begin or its last record: never
    more), the time moved to `outside`; the wall time is the same."""
    b = rep["trace"]["handler_bracket_ns"]
    test.assertGreater(b, 0, "no BRACKET record decoded")
    test.assertEqual(raw["trace"]["handler_bracket_ns"], b)
    c, r = component(rep, truth), component(raw, truth)
    moved = r["time_ns"]["busy"] - c["time_ns"]["busy"]
    n = c["messages"]
    print("bracket %d ns: %d ns moved from busy to outside over %d handlers" % (b, moved, n),
          file=sys.stderr)
    test.assertEqual(r["wall_ns"], c["wall_ns"])
    test.assertEqual(c["time_ns"]["outside"] - r["time_ns"]["outside"], moved)
    test.assertLessEqual(moved, n * (b + 1))
    test.assertGreaterEqual(moved, n * (b - 1) * 0.9)


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
        # programs of the user may flood the shared buffers: then record again. A run can also
        # fall in a phase where the runtime's step before each handler is slower (HANDLE_SPREAD,
        # above): every run must hold every check and the handle mean within HANDLE_SPREAD, one
        # of them within `tolerance`.
        errors = []
        for attempt in range(ATTEMPTS):
            truth, rep, raw = record_and_report(self.tmp, [str(messages), str(work_ns)] + extra,
                                                raw=True)
            c = component(rep, truth)
            if truth["empties"] or rep["trace"]["lost_events"]:
                print("attempt %d: empties %d, lost %d: recording again" % (
                    attempt, truth["empties"], rep["trace"]["lost_events"]), file=sys.stderr)
                continue
            err = self.check_run(truth, rep, raw, c, messages, work_ns)
            errors.append(err)
            if abs(err) <= tolerance:
                return
        if not errors:
            self.fail("no run with the channel never empty and no event lost in %d attempts"
                      % ATTEMPTS)
        self.fail("handle mean off the program's own clock by %s in %d runs: never within "
                  "%.0f %%" % (", ".join("%+.2f %%" % (100 * e) for e in errors), len(errors),
                               100 * tolerance))

    def check_run(self, truth, rep, raw, c, messages, work_ns):
        """Every check of one saturated run; returns the handle mean's relative error."""
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
        check_bracket(self, rep, raw, truth)
        self.assertLessEqual(abs(mean - truth["handle_mean_ns"]),
                             HANDLE_SPREAD * truth["handle_mean_ns"],
                             "handle mean %.1f ns, program %.1f ns" % (
                                 mean, truth["handle_mean_ns"]))
        return mean / truth["handle_mean_ns"] - 1

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
