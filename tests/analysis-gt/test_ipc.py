"""Ground truth across processes: a forked client/server pair, both instrumented with lt_* only.

gt_ipc (gt_ipc.c) names its "client" component, forks a "server" process (with --exec the
child execs gt_ipc again first) and sends it REQUESTS requests over a socketpair, the message
and flow ids in each frame; the server handles each request (a foreign msg) and replies (a
foreign flow); the client handles each reply. The client times every request by its own clock
and writes the figures to a file. Recorded with plain `looptrace record`, the report must show:

* both components, each with its own pid and name (the client named before the fork);
* every flow linked exactly once: flows.count == REQUESTS, none in flight, hops client->server
  and server->client REQUESTS each, both components REQUESTS messages;
* one IPC channel "rpc" with both processes as its ends, senders and receivers;
* `export --perfetto`: 2 x REQUESTS message arrows, each from one process to the other;
* flow latency: the mean within 1 % of the client's own (the report's mean is exact), p50,
  p90, p99 and max within 3 % (the histograms' resolution is 1.6 %).

Needs a session daemon (fixture lttng_sessiond).
"""

import json
import math
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.environ.get("LOOPTRACE_TEST_PYDIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "report"))

import ltutil  # noqa: E402
from ltutil import run_looptrace  # noqa: E402

REQUESTS = 200


def gt_ipc():
    return os.environ.get("LOOPTRACE_GT_IPC") or os.path.join(ltutil.build_dir(), "tests",
                                                              "gt_ipc")


def nearest_rank(sorted_values, q):
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


class IpcGroundTruth(unittest.TestCase):
    def setUp(self):
        ltutil.require(self, shutil.which("lttng"), "lttng (lttng-tools) not installed")
        ltutil.require(self, shutil.which("babeltrace2"), "babeltrace2 not installed")
        ltutil.require(self, os.access(gt_ipc(), os.X_OK), "gt_ipc not built")
        ltutil.require(self, ltutil.have_plugin(), "babeltrace2 plugin not built")
        self.tmp = tempfile.mkdtemp(prefix="lt-gt-ipc-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_pair(self, *extra):
        trace = os.path.join(self.tmp, "trace")
        figures = os.path.join(self.tmp, "figures.json")
        p = run_looptrace(["record", "--force", "-o", trace, "--", gt_ipc(), str(REQUESTS),
                           figures, *extra], timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(figures) as f:
            truth = json.load(f)
        r = run_looptrace(["report", "--json", "-", trace])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.check_arrows(trace)
        return truth, json.loads(r.stdout)

    def check_arrows(self, trace):
        """The Perfetto export draws each message's arrow from one process to the other."""
        out = os.path.join(self.tmp, "perfetto.json")
        p = run_looptrace(["export", "--perfetto", out, trace])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            events = json.load(f)
        events = events["traceEvents"] if isinstance(events, dict) else events
        outs = {e["bind_id"]: e["pid"] for e in events if e.get("flow_out")}
        ins = {e["bind_id"]: e["pid"] for e in events if e.get("flow_in")}
        self.assertEqual(len(outs), 2 * REQUESTS)
        self.assertEqual(sorted(outs), sorted(ins))
        self.assertTrue(all(ins[b] != pid for b, pid in outs.items()))

    def check(self, truth, rep):
        cpid, spid = truth["client_pid"], truth["server_pid"]
        self.assertNotEqual(cpid, spid)
        self.assertEqual(truth["requests"], REQUESTS)
        self.assertEqual(rep["trace"]["lost_events"], 0)
        comps = {(c["pid"], c["name"]): c for c in rep["components"] if c["messages"]}
        self.assertEqual(sorted(comps), sorted([(cpid, "client"), (spid, "server")]),
                         [(c["pid"], c["name"], c["messages"]) for c in rep["components"]])
        for c in comps.values():
            self.assertEqual(c["messages"], REQUESTS, c["name"])
        flows = rep["flows"]
        self.assertEqual(flows["count"], REQUESTS)
        self.assertEqual(flows["in_flight"], 0)
        hops = {(h["from_pid"], h["to_pid"]): h["count"] for h in flows["hops"]}
        self.assertEqual(hops, {(cpid, spid): REQUESTS, (spid, cpid): REQUESTS})
        rpc = [ch for ch in rep["channels"] if ch["name"] == "rpc"]
        self.assertEqual(len(rpc), 1, rep["channels"])
        ch = rpc[0]
        self.assertTrue(ch["ipc"])
        self.assertEqual(sorted(ch["pids"]), sorted([cpid, spid]))
        self.assertEqual((ch["sends"], ch["recvs"]), (2 * REQUESTS, 2 * REQUESTS))
        for side in ("senders", "receivers"):
            self.assertEqual(sorted((s["pid"], s["name"]) for s in ch[side]),
                             sorted([(cpid, "client"), (spid, "server")]), side)
        # latency: the report's flows against the client's own clock
        lat = sorted(truth["latency_ns"])
        got = flows["latency_ns"]
        mine = {"p50": nearest_rank(lat, 0.50), "p90": nearest_rank(lat, 0.90),
                "p99": nearest_rank(lat, 0.99), "max": lat[-1]}
        print("flow latency mean %.0f ns (client %.0f); p50/p90/p99/max %s (client %s)"
              % (got["mean"], truth["mean_ns"],
                 "/".join(str(got[k]) for k in mine), "/".join(str(v) for v in mine.values())),
              file=sys.stderr)
        self.assertGreater(lat[0], 150000, "the client's latencies are too short to test")
        self.assertLessEqual(abs(got["mean"] - truth["mean_ns"]), 0.01 * truth["mean_ns"])
        for k, v in mine.items():
            self.assertLessEqual(abs(got[k] - v), 0.03 * v, k)

    def test_fork(self):
        self.check(*self.run_pair())

    def test_fork_exec(self):
        self.check(*self.run_pair("--exec"))


if __name__ == "__main__":
    ltutil.main()
