"""Ground truth for sequences on a one-thread pool, by the program's own clock.

gt_pool (gt_pool.c) runs two components, seq-a and seq-b, as sequences on a pool of ONE
worker thread and measures, with clock_gettime in its handlers, what the report must find.
Recorded under `looptrace record` (a real LTTng session):

  - saturated: both inboxes full before start, handlers of 1 ms and of 20 us. Each sequence's
    busy is the sum of its handler durations by its own clock (1 % at 1 ms, 5 % at 20 us: the
    tolerances of the other ground-truth tests at those scales); each is runnable about half
    its wall time, and its runnable agrees with what the program saw: from its start to its
    last handler's exit it always had a message queued, so it was running its handlers or
    runnable (span - own busy). (A sequence yields its worker at the end of a turn only with
    work left: it is never made ready with nothing to do.)
  - await: seq-a's handler awaits a reply (lt_chan_recv inside the handler) that comes 20 ms
    later by the program's clock, just as one of seq-b's 3 ms handlers begins on the same
    worker: seq-b's own handler entries fall inside seq-a's awaits; the report shows the
    await as blocked in handler (chan_recv on gt-reply) and released until the reply came
    (the program notes when), then seq-a runnable until seq-b's handler let the worker go;
    the pool's threads almost never blocked; one worker tid for both (program's gettid
    against the Perfetto export's worker tids).
  - mutex: a mutex held 20 ms inside seq-a's handler (not an await) holds the worker: the
    pool's blocked_ns is the program's own measured wait, holds-pool-thread is raised, and
    seq-b is runnable meanwhile.
Every component: messages exact, busy + idle + runnable + blocked_in_handler + blocked_outside
+ outside == wall_ns to the ns. Needs a session daemon (fixture lttng_sessiond).
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

# Handler time against the program's clock: 1 % at 1 ms handlers (gt_prog's), 5 % at tens of
# microseconds (gt_sat's at 5 us).
BUSY_TOLERANCE_MS = 0.01
BUSY_TOLERANCE_US = 0.05
# Runnable against the program's: what the runtime does between handlers (outside) and the
# instants the program's clock and the trace's differ on, per sequence, as a share of wall.
RUNNABLE_TOLERANCE = 0.02
AWAIT_NS = 20000000
AWAITS = 5
# seq-b: 3 ms handlers every 4 ms; each reply comes as one of them begins
B_WORK_NS = 3000000
B_PACE_NS = 4000000
AWAIT_TOLERANCE = 0.02
HOLD_NS = 20000000
HOLDS = 5
HOLD_TOLERANCE = 0.01
ATTEMPTS = 4


def gt_pool():
    return os.environ.get("LOOPTRACE_GT_POOL") or os.path.join(ltutil.build_dir(), "tests",
                                                               "gt_pool")


def prerequisites(test):
    ltutil.require(test, shutil.which("lttng"), "lttng (lttng-tools) not installed")
    ltutil.require(test, shutil.which("babeltrace2"), "babeltrace2 not installed")
    ltutil.require(test, os.access(ltutil.looptrace_bin(), os.X_OK),
                   "looptrace launcher not built: %s" % ltutil.looptrace_bin())
    ltutil.require(test, os.access(gt_pool(), os.X_OK), "gt_pool not built: %s" % gt_pool())
    ltutil.require(test, ltutil.have_plugin(),
                   "babeltrace2 plugin not built: %s" % ltutil.plugindir())


def record(tmp, args):
    """Records gt_pool ARGS; returns (its own truth, the JSON report, the trace)."""
    trace = os.path.join(tmp, "trace")
    p = run_looptrace(["record", "--force", "-o", trace, "--", gt_pool()] + args, timeout=300)
    if p.returncode != 0:
        raise AssertionError("record failed (%d): %s" % (p.returncode, p.stderr))
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise AssertionError("gt_pool printed no truth: %r / %r" % (p.stdout, p.stderr))
    r = run_looptrace(["report", "--json", "-", trace])
    if r.returncode != 0 or "Traceback" in r.stderr:
        raise AssertionError("report failed (%d): %s" % (r.returncode, r.stderr))
    return json.loads(lines[-1]), json.loads(r.stdout), trace


def record_clean(test, args):
    """record(), again while the run lost events (other programs flooding shared buffers)."""
    for attempt in range(ATTEMPTS):
        truth, rep, trace = record(test.tmp, args)
        if not rep["trace"]["lost_events"]:
            return truth, rep, trace
        print("attempt %d: lost %d events: recording again" % (
            attempt, rep["trace"]["lost_events"]), file=sys.stderr)
    test.fail("no run without lost events in %d attempts" % ATTEMPTS)


def sequence(rep, truth, name):
    comps = [c for c in rep["components"] if c["pid"] == truth["pid"] and c["name"] == name]
    if len(comps) != 1:
        raise AssertionError("component %s of pid %d found %d times" % (name, truth["pid"],
                                                                       len(comps)))
    return comps[0]


def pool(rep, truth):
    pools = [p for p in rep["pools"] if p["pid"] == truth["pid"] and p["name"] == "gt-pool"]
    if len(pools) != 1:
        raise AssertionError("pool gt-pool found %d times: %r" % (len(pools), rep["pools"]))
    return pools[0]


def worker_tids(tmp, trace, pid):
    """The worker tids the Perfetto export says ran each sequence's slices, by sequence."""
    out = os.path.join(tmp, "perfetto.json")
    p = run_looptrace(["export", "--perfetto", out, trace])
    if p.returncode != 0:
        raise AssertionError("export failed (%d): %s" % (p.returncode, p.stderr))
    with open(out) as f:
        doc = json.load(f)
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    names = {e["tid"]: e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name" and e.get("pid") == pid}
    tids = {}
    for e in events:
        if e.get("cat") == "run" and e.get("pid") == pid and "worker_tid" in e.get("args", {}):
            tids.setdefault(names.get(e["tid"]), set()).add(e["args"]["worker_tid"])
    return tids


class PoolGroundTruthTest(unittest.TestCase):
    def setUp(self):
        prerequisites(self)
        self.tmp = tempfile.mkdtemp(prefix="lt-gt-pool-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check_common(self, c, own):
        """Messages exact, the identity exact, busy by the program's handler clock."""
        t = c["time_ns"]
        self.assertEqual(c["pool"], "gt-pool")
        self.assertTrue(c["sequence"])
        self.assertEqual(c["messages"], own["handled"])
        self.assertEqual(sum(t.values()), c["wall_ns"], t)

    def test_saturated_sequences_1ms(self):
        self.check_saturated(400, 1000000, BUSY_TOLERANCE_MS)

    def test_saturated_sequences_20us(self):
        self.check_saturated(20000, 20000, BUSY_TOLERANCE_US)

    def check_saturated(self, messages, work_ns, busy_tolerance):
        truth, rep, _ = record_clean(self, ["sat", str(messages), str(work_ns)])
        for name in ("seq-a", "seq-b"):
            own, c = truth[name], sequence(rep, truth, name)
            t, wall = c["time_ns"], c["wall_ns"]
            own_runnable = own["span_ns"] - own["handle_ns"]
            print("%s %d ns handlers: wall %d ns, busy %d (program %d, %+.2f %%), runnable %d "
                  "(program %d, %+.2f %% of wall), idle %d, outside %d" % (
                      name, work_ns, wall, t["busy"], own["handle_ns"],
                      100.0 * (t["busy"] / own["handle_ns"] - 1), t["runnable"], own_runnable,
                      100.0 * (t["runnable"] - own_runnable) / wall, t["idle"], t["outside"]),
                  file=sys.stderr)
            self.check_common(c, own)
            self.assertEqual(own["handled"], messages)
            self.assertLessEqual(abs(t["busy"] - own["handle_ns"]),
                                 busy_tolerance * own["handle_ns"],
                                 "%s busy %d ns, program %d ns" % (name, t["busy"],
                                                                   own["handle_ns"]))
            self.assertGreaterEqual(t["runnable"], own_runnable - RUNNABLE_TOLERANCE * wall,
                                    "%s runnable %d ns, program %d ns" % (
                                        name, t["runnable"], own_runnable))
            self.assertLessEqual(t["runnable"],
                                 own_runnable + RUNNABLE_TOLERANCE * wall,
                                 "%s runnable %d ns, program %d ns" % (
                                     name, t["runnable"], own_runnable))
            self.assertGreater(t["runnable"], 0.4 * wall)
            self.assertLess(t["runnable"], 0.6 * wall)
        # one worker, both sequences on it
        self.assertEqual(truth["seq-a"]["tids"], truth["seq-b"]["tids"])
        self.assertEqual(len(truth["seq-a"]["tids"]), 1)
        p = pool(rep, truth)
        self.assertEqual(p["threads"], 1)
        self.assertLessEqual(p["blocked_ns"], 0.001 * (p["busy_ns"] + p["idle_ns"]))

    def test_await_releases_the_worker(self):
        truth, rep, trace = record_clean(self, ["await", str(AWAITS), str(AWAIT_NS),
                                                str(B_WORK_NS), str(B_PACE_NS)])
        a, b = truth["seq-a"], truth["seq-b"]
        awaited, replied = sum(truth["awaits"]), sum(truth["replied"])
        # from each reply to the await's end seq-a had its message and no thread
        no_thread = awaited - replied
        ca, cb = sequence(rep, truth, "seq-a"), sequence(rep, truth, "seq-b")
        self.check_common(ca, a)
        self.check_common(cb, b)
        self.assertEqual(a["handled"], AWAITS)
        self.assertEqual(len(truth["awaits"]), AWAITS)
        self.assertEqual(b["handled"], truth["b_sent"])
        # seq-b ran on the worker while seq-a awaited, by seq-b's own clock
        self.assertGreater(b["b_during_await"], 0)
        # one worker thread ran both, by the program's gettid and by the trace
        self.assertEqual(a["tids"], b["tids"])
        self.assertEqual(len(a["tids"]), 1)
        tids = worker_tids(self.tmp, trace, truth["pid"])
        self.assertEqual(tids.get("seq-a"), set(a["tids"]), tids)
        self.assertEqual(tids.get("seq-b"), set(a["tids"]), tids)
        sites = [s for s in ca["blocked_by"] if s["reason"] == "chan_recv" and
                 s.get("object_name") == "gt-reply"]
        self.assertEqual(len(sites), 1, ca["blocked_by"])
        s = sites[0]
        p = pool(rep, truth)
        t = ca["time_ns"]
        print("await: program %d ns over %d awaits, %d ns of it before the reply; report "
              "blocked in handler %d ns, released %d ns (%+.2f %%), seq-a runnable %d ns "
              "(program: at least %d ns); seq-b %d messages, %d during awaits; pool blocked "
              "%d ns of %d" % (
                  awaited, AWAITS, replied, t["blocked_in_handler"], s["released_ns"],
                  100.0 * (s["released_ns"] / replied - 1), t["runnable"], no_thread,
                  cb["messages"], b["b_during_await"], p["blocked_ns"],
                  p["busy_ns"] + p["idle_ns"] + p["blocked_ns"]), file=sys.stderr)
        self.assertEqual(s["count"], AWAITS)
        # awaiting until the reply (released), runnable from the reply to the resume
        self.assertLessEqual(abs(s["released_ns"] - replied), AWAIT_TOLERANCE * replied)
        self.assertLessEqual(abs(s["in_handler_ns"] - replied), AWAIT_TOLERANCE * replied)
        self.assertEqual(ca["released_ns"], s["released_ns"])
        self.assertEqual(t["blocked_in_handler"], s["ns"])
        self.assertGreaterEqual(t["runnable"], no_thread - AWAIT_TOLERANCE * replied)
        # also runnable when seq-a's message came during one of seq-b's handlers
        self.assertLessEqual(t["runnable"],
                             no_thread + AWAIT_TOLERANCE * replied + AWAITS * B_WORK_NS)
        # a block that began and ended inside one run (the instants before the fiber
        # suspends) holds the worker: a few hundred ns, never the await
        self.assertLessEqual(ca["held_ns"], 0.001 * awaited)
        # the await released the thread: the pool was (almost) never blocked
        self.assertLessEqual(p["blocked_ns"], 0.001 * (p["busy_ns"] + p["idle_ns"]))
        self.assertFalse(any(w["kind"] == "holds-pool-thread" and
                             w.get("pid") == truth["pid"] for w in rep["warnings"]))

    def test_mutex_holds_the_worker(self):
        truth, rep, _ = record_clean(self, ["mutex", str(HOLDS), str(HOLD_NS)])
        a, b = truth["seq-a"], truth["seq-b"]
        ca, cb = sequence(rep, truth, "seq-a"), sequence(rep, truth, "seq-b")
        self.check_common(ca, a)
        self.check_common(cb, b)
        self.assertEqual(a["handled"], HOLDS)
        self.assertEqual(b["handled"], HOLDS)
        p = pool(rep, truth)
        print("mutex: program held %d ns; pool blocked %d ns (%+.2f %%), seq-a held %d ns, "
              "seq-b runnable %d ns" % (
                  a["blocked_ns"], p["blocked_ns"],
                  100.0 * (p["blocked_ns"] / a["blocked_ns"] - 1), ca["held_ns"],
                  cb["time_ns"]["runnable"]), file=sys.stderr)
        self.assertLessEqual(abs(p["blocked_ns"] - a["blocked_ns"]),
                             HOLD_TOLERANCE * a["blocked_ns"])
        self.assertEqual(ca["held_ns"], p["blocked_ns"])
        self.assertEqual(ca["released_ns"], 0)
        # seq-b had its message and no thread while the worker was held
        self.assertGreaterEqual(cb["time_ns"]["runnable"], (1 - HOLD_TOLERANCE) * a["blocked_ns"])
        self.assertTrue(any(w["kind"] == "holds-pool-thread" and w.get("pid") == truth["pid"]
                            and w.get("component") == ca["id"] for w in rep["warnings"]),
                        rep["warnings"])


if __name__ == "__main__":
    ltutil.main()
