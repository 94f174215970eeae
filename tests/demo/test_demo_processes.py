"""`looptrace demo --processes`: the essay's result across a process boundary.

Records routed and blocking with `net` in a process of its own (looptrace-demo --processes,
requests and responses over the runtime's IPC routes) under a real LTTng session, then checks
from the reports and the demo's own ground truth -- counts only, never a timing:
  - both processes appear: script, layout, compositor and router with the page's pid, net and
    net-router with the net process's (another pid); the IPC channels `net.ipc` and
    `script.ipc` are declared in both processes, sent in one and received in the other, as
    many frames as fetches started;
  - every component's message count and the routers' dispatches equal the ground truth;
  - routed vs blocking, as counts over the same input: routed script handles every input
    offered plus every response, blocking handles fewer inputs than were offered, and
    blocking script waits inside its handler exactly once per fetch (chan_recv blocks counted
    by the analysis == fetches), routed never does.
Needs a session daemon (fixture lttng_sessiond).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

LAUNCHER = os.environ.get("LOOPTRACE_BIN") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "build",
    "bin", "looptrace")
DURATION = os.environ.get("LOOPTRACE_DEMO_TEST_DURATION", "3")
MODES = ("routed", "blocking")
PAGE = ("script", "layout", "compositor", "router")
NET = ("net", "net-router")


class ProcessesDemo(unittest.TestCase):
    out = None
    proc = None

    @classmethod
    def setUpClass(cls):
        missing = [t for t in ("lttng", "babeltrace2") if not shutil.which(t)]
        if not os.access(LAUNCHER, os.X_OK):
            missing.append("looptrace launcher (%s)" % LAUNCHER)
        if missing:
            why = "missing: %s" % ", ".join(missing)
            if os.environ.get("CI") == "true":
                raise AssertionError("prerequisite missing under CI: " + why)
            raise unittest.SkipTest(why)
        cls.tmp = tempfile.mkdtemp(prefix="looptrace-demo-proc-test-")
        cls.out = os.path.join(cls.tmp, "out")
        cls.proc = subprocess.run(
            [LAUNCHER, "demo", "--processes", "--modes", ",".join(MODES), "--duration",
             DURATION, "-o", cls.out, "--no-html"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=500)

    @classmethod
    def tearDownClass(cls):
        if not cls.out:
            return
        if cls.proc.returncode != 0 or os.environ.get("LOOPTRACE_KEEP_TEST_OUTPUT") == "1":
            print("demo output kept in %s" % cls.tmp, file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def load(self, *parts):
        with open(os.path.join(self.out, *parts), encoding="utf-8") as f:
            return json.load(f)

    def comps(self, mode):
        by = {}
        for c in self.load(mode, "report.json")["components"]:
            by.setdefault(c["name"], []).append(c)
        return by

    def test_0_command_succeeded(self):
        self.assertEqual(self.proc.returncode, 0,
                         "stdout:\n%s\nstderr:\n%s" % (self.proc.stdout, self.proc.stderr))
        self.assertIn("routed / blocking", self.proc.stdout)
        self.assertIn("net ran in a process of its own", self.proc.stdout)

    def test_both_processes_with_their_pids(self):
        for mode in MODES:
            gt = self.load(mode, "ground-truth.json")
            by = self.comps(mode)
            with self.subTest(mode=mode):
                self.assertTrue(gt["settings"]["processes"])
                net_pid = gt["net_process"]["pid"]
                self.assertNotEqual(net_pid, gt["pid"])
                self.assertEqual(set(by), set(PAGE) | set(NET))
                for name in PAGE:
                    self.assertEqual([c["pid"] for c in by[name]], [gt["pid"]], name)
                for name in NET:
                    self.assertEqual([c["pid"] for c in by[name]], [net_pid], name)

    def test_ipc_channels_have_both_ends(self):
        for mode in MODES:
            gt = self.load(mode, "ground-truth.json")
            started = gt["fetches"]["started"]
            page, net = gt["pid"], gt["net_process"]["pid"]
            chans = {c["name"]: c for c in self.load(mode, "report.json")["channels"]}
            with self.subTest(mode=mode):
                # requests: sent by the page, received by the net process; responses back.
                # Each name is one IPC channel (its ends joined by the messages that crossed)
                for name, sender, receiver in (("net.ipc", page, net),
                                               ("script.ipc", net, page)):
                    ch = chans[name]
                    self.assertTrue(ch["ipc"], name)
                    self.assertEqual(sorted(ch["pids"]), sorted([page, net]), name)
                    self.assertEqual((ch["sends"], ch["recvs"]), (started, started), name)
                    ends = {e["pid"]: e for e in ch["ends"]}
                    self.assertEqual((ends[sender]["sends"], ends[sender]["recvs"]),
                                     (started, 0), name)
                    self.assertEqual((ends[receiver]["sends"], ends[receiver]["recvs"]),
                                     (0, started), name)

    def test_counts_equal_ground_truth(self):
        for mode in MODES:
            gt = self.load(mode, "ground-truth.json")
            rep = self.load(mode, "report.json")
            by = self.comps(mode)
            with self.subTest(mode=mode):
                self.assertEqual(rep["trace"]["lost_events"], 0)
                self.assertTrue(gt["shutdown"]["drained"])
                self.assertEqual(gt["fetches"]["started"], gt["fetches"]["completed"])
                self.assertEqual(gt["fetches"]["served_by_net"], gt["fetches"]["started"])
                for name, truth in gt["components"].items():
                    self.assertEqual(sum(c["messages"] for c in by[name]), truth["messages"],
                                     "%s/%s" % (mode, name))
                self.assertEqual(sum(r["dispatches"] for r in rep["routes"]),
                                 gt["components"]["router"]["dispatches"]
                                 + gt["components"]["net-router"]["dispatches"])

    def test_routed_beats_blocking_by_count(self):
        routed = self.load("routed", "ground-truth.json")
        blocking = self.load("blocking", "ground-truth.json")
        r_script = self.comps("routed")["script"][0]
        b_script = self.comps("blocking")["script"][0]
        # routed keeps up: every input offered was handled, plus every response
        self.assertEqual(routed["inputs"]["unsent"], 0)
        self.assertEqual(r_script["messages"],
                         routed["inputs"]["sent"] + routed["fetches"]["completed"])
        # blocking: script is held by each round trip; it handles far fewer messages
        self.assertGreaterEqual(r_script["messages"], 2 * b_script["messages"],
                                "script messages: routed %d, blocking %d"
                                % (r_script["messages"], b_script["messages"]))
        # ... because it waits inside its handler for its fetches (at most once per fetch: a
        # reply already there when the handler asks is taken without waiting); routed never
        b_waits = sum(b["count"] for b in b_script["blocked_by"] if b["reason"] == "chan_recv")
        r_waits = sum(b["count"] for b in r_script["blocked_by"] if b["reason"] == "chan_recv")
        self.assertLessEqual(b_waits, blocking["fetches"]["started"])
        self.assertGreater(2 * b_waits, blocking["fetches"]["started"])
        self.assertEqual(r_waits, 0)


if __name__ == "__main__":
    prog = unittest.main(exit=False, verbosity=2)
    r = prog.result
    if r.failures or r.errors:
        sys.exit(1)
    if r.skipped and not r.testsRun - len(r.skipped):
        sys.exit(77)
    sys.exit(0)
