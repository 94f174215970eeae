"""The whatif model and replay on hand-made graphs whose answers are computed by hand.

A graph (format looptrace-graph/1, as the analysis core writes it) is made here for a system
run by hand: script handles inputs a source sends 50 ms apart; each input computes 1 ms, adds
a route, sends a request to net and waits inside the handler for the reply; net handles the
request in 0.1 ms; the router's dispatch on that route comes 20 ms after net's handler ended,
runs 0.05 ms and sends the reply; script then computes 0.1 ms. So a handler takes
1 + 0.1 + 20 + 0.05 + 0.1 = 21.25 ms. The expected figures of each change follow from these
numbers, not from the code under test. A second graph has a source faster than its consumer,
for --capacity and back-pressure. Also: the command line's rejections (no trace needed).
"""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "analysis", "python"))

from looptrace import whatif_model, whatif_sim  # noqa: E402
from looptrace.cmd_whatif import pct  # noqa: E402

MS = 1000000
T0 = 10**18  # large like a real trace clock: times must stay exact integers
PID = 5


def write_graph(lines):
    fd, path = tempfile.mkstemp(suffix=".graph")
    with os.fdopen(fd, "w") as f:
        f.write("G looptrace-graph/1\n")
        for ln in lines:
            f.write(ln + "\n")
    return path


def blocking_graph(n=6, gap=50 * MS):
    head = [
        "T 0 %d 10" % PID, "T 1 %d 11" % PID, "T 2 %d 12" % PID, "T 3 %d 13" % PID,
        'N 0 %d 4 "in"' % PID, 'N 1 %d 0 "req"' % PID, 'N 2 %d 0 "reply"' % PID,
        'C 0 %d %d:1 "script"' % (PID, PID), 'C 1 %d %d:2 "net"' % (PID, PID),
        'C 2 %d %d:3 "router"' % (PID, PID),
        "K 0 0 %d" % T0, "K 1 1 %d" % T0, "K 2 2 %d" % T0,
    ]
    ev = []
    end = T0
    for i in range(n):
        a = T0 + MS + i * gap
        inp, req, disp, rep = 100 + i, 200 + i, 300 + i, 400 + i
        ev.append((a, "s 3 %d %d 0 %d 0" % (a, a, inp)))
        ev.append((a, "B 0 0 %d %d 0 0 %d \"input\"" % (a, inp, a)))
        ev.append((a + MS, "a 0 %d %d 0 1" % (a + MS, 50 + i)))
        ev.append((a + MS, "s 0 %d %d 1 %d %d" % (a + MS, a + MS, req, inp)))
        ev.append((a + MS, "B 1 1 %d %d 0 1 %d \"fetch\"" % (a + MS, req, a + MS)))
        ev.append((a + MS + MS // 10, "E 1 %d 0 0" % (a + MS + MS // 10)))
        d0 = a + MS + MS // 10 + 20 * MS
        ev.append((d0, "B 2 2 %d %d %d -1 0 \"(route)\"" % (d0, disp, 50 + i)))
        d1 = d0 + MS // 20
        ev.append((d1, "s 2 %d %d 2 %d %d" % (d1, d1, rep, inp)))
        ev.append((d1, "E 2 %d 0 0" % d1))
        ev.append((d1, "w 0 %d %d 0" % (a + MS, d1)))
        ev.append((d1, "r 0 %d 2 %d" % (d1, rep)))
        e = d1 + MS // 10
        ev.append((e, "E 0 %d 0 0" % e))
        end = e
    ev.sort(key=lambda x: x[0])
    tail = ["k 0 %d" % (end + MS), "k 1 %d" % (end + MS), "k 2 %d" % (end + MS)]
    return write_graph(head + [x[1] for x in ev] + tail)


def fast_source_graph(n=6):
    """A source sending every 1 ms into an unbounded channel; the consumer takes 10 ms each."""
    head = ["T 0 %d 20" % PID, "T 1 %d 21" % PID, 'N 0 %d 0 "in"' % PID,
            'C 0 %d %d:1 "slow"' % (PID, PID), "K 0 0 %d" % T0]
    ev = []
    for i in range(n):
        ev.append((T0 + i * MS, "s 1 %d %d 0 %d 0" % (T0 + i * MS, T0 + i * MS, 100 + i)))
        b = T0 + i * 10 * MS
        ev.append((b, "B 0 0 %d %d 0 0 %d \"work\"" % (b, 100 + i, b)))
        ev.append((b + 10 * MS, "E 0 %d 0 0" % (b + 10 * MS)))
    ev.sort(key=lambda x: x[0])
    return write_graph(head + [x[1] for x in ev] + ["k 0 %d" % (T0 + n * 10 * MS)])


def helper_graph(n=4, gap=50 * MS):
    """Thread mode: script's input (1 ms) starts a helper thread; 0.5 ms later the helper adds
    a route and sends the request; net handles it in 0.1 ms; 20 ms after, the router's dispatch
    (0.05 ms) only wakes the helper, which posts the response 0.2 ms later; script uses it in
    0.1 ms. A flow: 1 + 0.5 + 0.1 + 20 + 0.05 + 0.2 + 0.1 = 21.95 ms."""
    head = ["T 0 %d 10" % PID, "T 1 %d 11" % PID, "T 2 %d 12" % PID, "T 3 %d 13" % PID,
            'N 0 %d 0 "in"' % PID, 'N 1 %d 0 "req"' % PID, 'N 2 %d 0 "responses"' % PID,
            'C 0 %d %d:1 "script"' % (PID, PID), 'C 1 %d %d:2 "net"' % (PID, PID),
            'C 2 %d %d:3 "router"' % (PID, PID),
            "K 0 0 %d" % T0, "K 1 1 %d" % T0, "K 2 2 %d" % T0]
    ev = []
    end = T0
    for i in range(n):
        a = T0 + MS + i * gap
        inp, req, disp, rep = 100 + i, 200 + i, 300 + i, 400 + i
        helper = 20 + i
        ev.append((a, "s 3 %d %d 0 %d 0" % (a, a, inp)))
        ev.append((a, "B 0 0 %d %d 0 0 %d \"input\"" % (a, inp, a)))
        ev.append((a + MS, "E 0 %d 0 0" % (a + MS)))
        h = a + MS + MS // 2
        ev.append((h, "T %d %d %d" % (helper, PID, 50 + i)))
        ev.append((h, "a %d %d %d 0 1" % (helper, h, 70 + i)))
        ev.append((h, "s %d %d %d 1 %d %d" % (helper, h, h, req, inp)))
        ev.append((h, "B 1 1 %d %d 0 1 %d \"fetch\"" % (h, req, h)))
        ev.append((h + MS // 10, "E 1 %d 0 0" % (h + MS // 10)))
        d0 = h + MS // 10 + 20 * MS
        ev.append((d0, "B 2 2 %d %d %d -1 0 \"(route)\"" % (d0, disp, 70 + i)))
        ev.append((d0 + MS // 20, "E 2 %d 0 0" % (d0 + MS // 20)))
        p = d0 + MS // 20 + MS // 5
        ev.append((p, "s %d %d %d 2 %d %d" % (helper, p, p, rep, inp)))
        ev.append((p, "B 0 0 %d %d 0 2 %d \"fetch-response\"" % (p, rep, p)))
        ev.append((p + MS // 10, "E 0 %d 0 0" % (p + MS // 10)))
        end = p + MS // 10
    ev.sort(key=lambda x: x[0])
    tail = ["k 0 %d" % (end + MS), "k 1 %d" % (end + MS), "k 2 %d" % (end + MS)]
    return write_graph(head + [x[1] for x in ev] + tail)


def durations(res, model, name):
    ci = model.comp_by_name(name)[0].i
    return [d[1] for d in res.comps[ci].done]


class Blocking(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = blocking_graph()
        cls.m = whatif_model.load(cls.path)

    @classmethod
    def tearDownClass(cls):
        os.unlink(cls.path)

    def comp(self, name):
        return self.m.comp_by_name(name)[0].i

    def test_model(self):
        m = self.m
        self.assertEqual(len(m.jobs), 18)
        self.assertEqual(len(m.sources), 1)
        self.assertEqual(len(m.sources[0].msgs), 6)
        linked = [x for x in m.msgs if x.origin == "linked"]
        self.assertEqual(len(linked), 6)
        for x in linked:
            self.assertEqual(x.linked_by, "route")
            self.assertEqual(x.delay, 20 * MS)
            self.assertEqual(m.comps[x.delay_comp].name, "net")
        awaited = [x for x in m.msgs if x.dest == "await"]
        self.assertEqual(len(awaited), 6)
        self.assertEqual(m.sources[0].think[1:], [50 * MS - 0] * 5)

    def test_unchanged_replay_is_the_recording(self):
        res = whatif_sim.simulate(self.m)
        self.assertEqual(durations(res, self.m, "script"), [21250000] * 6)
        self.assertEqual(durations(res, self.m, "net"), [100000] * 6)
        self.assertEqual(sorted(f[1] - f[0] for f in res.flows.values()), [21250000] * 6)

    def test_speedup_net_halves_its_handler_and_its_delay(self):
        res = whatif_sim.simulate(self.m, whatif_sim.Changes(speedup={self.comp("net"): 2.0}))
        # 1 + 0.05 + 10 + 0.05 + 0.1 ms
        self.assertEqual(durations(res, self.m, "script"), [11200000] * 6)
        self.assertEqual(durations(res, self.m, "net"), [50000] * 6)

    def test_speedup_script(self):
        res = whatif_sim.simulate(self.m,
                                  whatif_sim.Changes(speedup={self.comp("script"): 2.0}))
        # 0.5 + 0.1 + 20 + 0.05 + 0.05 ms
        self.assertEqual(durations(res, self.m, "script"), [20700000] * 6)

    def test_unblock_script(self):
        res = whatif_sim.simulate(self.m, whatif_sim.Changes(unblock={self.comp("script")}))
        # each input now ends after its 1 ms; the reply is its own 0.1 ms message
        self.assertEqual(sorted(durations(res, self.m, "script")), [100000] * 6 + [MS] * 6)
        ci = self.comp("script")
        self.assertEqual(res.comps[ci].blocked_ns, 0)
        self.assertEqual(res.unblocked_waits, 6)
        # the flow still ends with the reply: 21.25 ms
        self.assertEqual(sorted(f[1] - f[0] for f in res.flows.values()), [21250000] * 6)


class HelperThread(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = helper_graph()
        cls.m = whatif_model.load(cls.path)

    @classmethod
    def tearDownClass(cls):
        os.unlink(cls.path)

    def test_links(self):
        m = self.m
        hows = sorted((x.linked_by, m.comps[x.delay_comp].name, x.delay)
                      for x in m.msgs if x.origin == "linked")
        self.assertEqual(hows, [("helper", "router", MS // 5)] * 4 +
                         [("leaf", "script", MS // 2)] * 4 +
                         [("route", "net", 20 * MS)] * 4)

    def test_speedup_net(self):
        base = whatif_sim.simulate(self.m)
        self.assertEqual(sorted(f[1] - f[0] for f in base.flows.values()), [21950000] * 4)
        net = self.m.comp_by_name("net")[0].i
        res = whatif_sim.simulate(self.m, whatif_sim.Changes(speedup={net: 2.0}))
        # 1 + 0.5 + 0.05 + 10 + 0.05 + 0.2 + 0.1 ms: only net's handler and delay change
        self.assertEqual(sorted(f[1] - f[0] for f in res.flows.values()), [11900000] * 4)


class Backpressure(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = fast_source_graph()
        cls.m = whatif_model.load(cls.path)

    @classmethod
    def tearDownClass(cls):
        os.unlink(cls.path)

    def test_unchanged(self):
        res = whatif_sim.simulate(self.m)
        ci = self.m.comp_by_name("slow")[0].i
        waits = [w for _, w in res.comps[ci].qwait]
        self.assertEqual(waits, [i * 9 * MS for i in range(6)])  # taken at 10i, sent at i
        self.assertEqual(res.sources[0].sent, 6)

    def test_capacity_one_holds_the_source_until_it_stops(self):
        chi = self.m.chan_by_name("in")[0].i
        res = whatif_sim.simulate(self.m, whatif_sim.Changes(capacity={chi: 1}))
        # sent at 0 (taken at once) and 1 (waits in the channel); the third waits for room
        # from 2 ms, there is none before 10 ms, and the source's recorded activity ended at
        # 5 ms: it gives up
        st = res.sources[0]
        self.assertEqual((st.sent, st.unsent), (2, 1))
        ci = self.m.comp_by_name("slow")[0].i
        self.assertEqual([w for _, w in res.comps[ci].qwait], [0, 9 * MS])


class Percentiles(unittest.TestCase):
    def test_nearest_rank(self):
        p = pct(list(range(1, 101)))
        self.assertEqual((p["p50"], p["p90"], p["p99"], p["max"], p["count"]),
                         (50, 90, 99, 100, 100))
        self.assertEqual(pct([])["count"], 0)


class CommandLine(unittest.TestCase):
    def run_cli(self, *args):
        env = dict(os.environ, PYTHONPATH=os.path.join(SRC, "analysis", "python"))
        return subprocess.run([sys.executable, "-c",
                               "import sys; from looptrace.cli import main; sys.exit(main())",
                               "whatif"] + list(args), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)

    def test_workers_is_rejected(self):
        p = self.run_cli("/nonexistent", "--workers", "pool=4")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--workers", p.stderr)
        self.assertIn("not sequences on a pool", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)

    def test_bad_changes(self):
        for args, word in ((["--speedup", "net"], "COMP=F"), (["--speedup", "net=0"], "> 0"),
                           (["--speedup", "net=x"], "> 0"), (["--capacity", "in=-1"], ">= 0"),
                           (["--capacity", "=3"], "CHAN=N")):
            with self.subTest(args=args):
                p = self.run_cli("/nonexistent", *args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(word, p.stderr)

    def test_help_names_every_change(self):
        p = self.run_cli("--help")
        self.assertEqual(p.returncode, 0)
        for flag in ("--speedup", "--unblock", "--capacity", "--workers", "--json", "--html"):
            self.assertIn(flag, p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
