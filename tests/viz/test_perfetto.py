"""`looptrace export --perfetto` on synthetic CTF traces (no session daemon needed): valid
JSON, proper nesting per track, every arrow with both ends on slices, counts as generated,
names escaped, bad input refused with one line.

Needs the babeltrace2 plugin: LOOPTRACE_PLUGIN_PATH (set by CTest) or the launcher's
LOOPTRACE_PLUGINDIR."""

import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vizcheck  # noqa: E402
import synth  # noqa: E402

from looptrace import cli  # noqa: E402


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(argv)
    return status, out.getvalue(), err.getvalue()


class PerfettoExportTest(unittest.TestCase):
    def setUp(self):
        plug = os.environ.get("LOOPTRACE_PLUGIN_PATH") or os.environ.get("LOOPTRACE_PLUGINDIR")
        if not plug or not os.path.isfile(os.path.join(plug, "looptrace.so")):
            vizcheck.skip_or_fail(self, "babeltrace2 plugin looptrace.so not built")
        if not shutil.which("babeltrace2"):
            vizcheck.skip_or_fail(self, "babeltrace2 not installed")
        self.tmp = tempfile.mkdtemp(prefix="lt-pf-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def export(self, trace, name="out.json"):
        out = os.path.join(self.tmp, name)
        status, stdout, err = run_cli(["export", "--perfetto", out, trace])
        self.assertEqual(status, 0, err)
        with open(out, encoding="utf-8") as f:
            return json.load(f), stdout + err

    def test_synthetic_system(self):
        trace, exp = synth.build(rounds=5)
        doc, said = self.export(trace.write(os.path.join(self.tmp, "t")))
        self.assertIn("25 message arrows", said)
        info = vizcheck.check_perfetto(self, doc)
        self.assertEqual(info["flows"], exp["flows"])
        names = info["thread_names"]
        self.assertEqual(names[(synth.PID, 101)], "script")
        self.assertEqual(names[(synth.PID, 102)], "net")
        tid_of = {v: k for k, v in names.items()}
        for comp, count in exp["handlers"].items():
            got = [s for s in info["slices"].get(tid_of[comp], []) if s[3] == "handler"]
            self.assertEqual(len(got), count, comp)
        blocks = [s for sl in info["slices"].values() for s in sl if s[3] == "blocked"]
        self.assertEqual(len(blocks), exp["blocks"])
        self.assertEqual(sorted(set(s[2] for s in blocks)), ["chan_recv", "io"])
        # the io block is nested in net's "fetch" handler
        net = info["slices"][(synth.PID, 102)]
        io_b = [s for s in net if s[2] == "io"][0]
        fetch = [s for s in net if s[2] == "fetch" and s[0] <= io_b[0] <= s[1]]
        self.assertTrue(fetch, "io block not inside a fetch handler")
        # channel depth counters, named after the channel
        self.assertIn((synth.PID, "net-req"), info["counters"])
        self.assertIn((synth.PID, "script-in"), info["counters"])
        # the send from main (outside any slice) is a zero-length slice carrying the arrow
        sends = [s for s in info["slices"][(synth.PID, 100)] if s[3] == "send"]
        self.assertEqual(len(sends), 5 * 2 + 1)
        self.assertEqual(sum(1 for s in sends if s[4].get("flow_out")), 10)
        self.assertEqual(doc["otherData"]["events"], len(trace.events))

    def test_handler_ends_at_its_recorded_end(self):
        # A handler switch (handle_next) is recorded after the previous handler returned: its
        # slice ends at the recorded return (end_ts), not at the next handler's begin.
        t = synth.ctfgen.Trace(pid=synth.PID, procname="synthetic")
        t.event(1_000_000, tid=101, name="component_begin", comp=1, name_="script")
        t.event(1_001_000, tid=101, name="channel_declare", chan=1, name_="in", capacity=0)
        t.event(1_010_000, tid=101, name="handle_begin", msg=1, kind="first")
        t.event(1_030_000, tid=101, name="handle_next", prev=1, begin_ts=1_010_000,
                end_ts=1_015_000, chan=1, msg=2, depth=0, kind="second")
        t.event(1_047_000, tid=101, name="handle_end", msg=2)
        doc, _ = self.export(t.write(os.path.join(self.tmp, "t")))
        info = vizcheck.check_perfetto(self, doc)
        got = {s[2]: s[1] - s[0] for s in info["slices"][(synth.PID, 101)]
               if s[3] == "handler"}
        self.assertEqual(got, {"first": 5.0, "second": 17.0})  # us: 15 - 10, 47 - 30

    UNKNOWN = 0xFFFFFFFF  # LT_DEPTH_UNKNOWN

    def depth_trace(self, capacity):
        """A synthetic trace declaring channel 1 ("in") of `capacity`; events are added."""
        t = synth.ctfgen.Trace(pid=synth.PID, procname="synthetic")
        t.event(1_000_000, tid=101, name="component_begin", comp=1, name_="script")
        t.event(1_001_000, tid=101, name="channel_declare", chan=1, name_="in",
                capacity=capacity)
        return t

    def depth_counter(self, t):
        """The exported depth counter of channel "in", in order."""
        doc, _ = self.export(t.write(os.path.join(self.tmp, "t")))
        info = vizcheck.check_perfetto(self, doc)
        return [c["args"]["depth"] for c in info["counters"][(synth.PID, "in")]]

    def test_unknown_depths_follow_the_last(self):
        # A depth of 0xffffffff (LT_DEPTH_UNKNOWN: liblooptrace-rt's receives) is drawn as the
        # channel's last depth less one (receive) or plus one (send), never below 0.
        t = self.depth_trace(0)
        t.event(1_002_000, tid=100, name="send", chan=1, msg=1, flow=0, depth=2)
        for i in range(3):
            t.event(1_003_000 + i * 1000, tid=101, name="recv", chan=1, msg=1 + i,
                    depth=self.UNKNOWN)
        t.event(1_006_000, tid=100, name="send", chan=1, msg=4, flow=0, depth=self.UNKNOWN)
        self.assertEqual(self.depth_counter(t), [2, 1, 0, 0, 1])

    def test_unknown_send_depths_stop_at_the_capacity(self):
        # liblooptrace-rt's sends read their depth at one position in 64 and leave the others
        # unknown: a derived send depth never exceeds the declared capacity (as in the report).
        t = self.depth_trace(2)
        t.event(1_002_000, tid=100, name="send", chan=1, msg=1, flow=0, depth=1)
        for i in range(3):
            t.event(1_003_000 + i * 1000, tid=100, name="send", chan=1, msg=2 + i, flow=0,
                    depth=self.UNKNOWN)
        t.event(1_007_000, tid=101, name="recv", chan=1, msg=1, depth=self.UNKNOWN)
        self.assertEqual(self.depth_counter(t), [1, 2, 2, 2, 1])

    def test_counts_match_report(self):
        # The analysis sink on the same trace: handler + route-dispatch slices per thread
        # equal each component's message count.
        from looptrace import bt

        trace, _ = synth.build(rounds=7)
        path = trace.write(os.path.join(self.tmp, "t"))
        report, _raw = bt.run_report([path], progress=False)
        doc, _ = self.export(path)
        per_track = vizcheck.handled_per_track(vizcheck.check_perfetto(self, doc))
        named = [c for c in report["components"] if c.get("tid", -1) >= 0]
        self.assertTrue(named)
        for c in named:
            # synth ends with a "fetch" handler on net that never ends: the export closes it
            # at the last event, the report counts only finished handlers.
            extra = 1 if c["name"] == "net" else 0
            self.assertEqual(per_track.get((c["pid"], c["tid"]), 0), c["messages"] + extra,
                             c["name"])
        self.assertEqual([c["messages"] for c in named if c["name"] == "router"], [7])

    def seq_tracks(self, doc, info):
        """{track name: (pid, tid)} of the sequence tracks (tids above any real one)."""
        return {name: key for key, name in info["thread_names"].items()
                if key[1] >= 0x40000000}

    def test_sequence_tracks(self):
        trace, exp = synth.build_seq(rounds=4, tasks=3)
        path = trace.write(os.path.join(self.tmp, "t"))
        doc, _ = self.export(path)
        info = vizcheck.check_perfetto(self, doc)
        tracks = self.seq_tracks(doc, info)
        self.assertEqual(sorted(tracks), ["fetch (tasks)", "layout", "script"])
        self.assertTrue(all(pid == synth.PID for pid, _ in tracks.values()))
        for comp, key in tracks.items():
            name = comp.split(" ")[0]
            sl = info["slices"][key]
            runs = [x for x in sl if x[3] == "run"]
            self.assertEqual(len(runs), exp["runs"][name], comp)
            for r in runs:  # each run names the worker that ran it
                self.assertEqual(r[4]["args"]["worker_tid"], synth.WORKER)
                self.assertEqual(r[4]["args"]["worker"], "synthetic")
                self.assertEqual(r[4]["args"]["pool"], "pool-x")
            # runnable and awaiting (thread released) intervals, outside runs
            self.assertEqual(sum(1 for x in sl if x[3] == "runnable"), exp["runnable"][name])
            self.assertEqual(sum(1 for x in sl if x[3] == "released"),
                             exp["awaits"].get(name, 0))
            for x in sl:
                if x[3] in ("runnable", "released"):
                    self.assertFalse([r for r in runs if r[0] < x[1] and x[0] < r[1]], x)
            # the handlers are drawn inside the runs (a handler that awaited: one part per run)
            handlers = [x for x in sl if x[3] == "handler"]
            self.assertEqual(sum(1 for x in handlers if not x[4].get("args", {}).get("continued")),
                             exp["handlers"][name], comp)
            for h in handlers:
                self.assertTrue([r for r in runs if r[0] <= h[0] and h[1] <= r[1]], h)
        # the worker's own track: a run slice per run, named after the sequence it ran
        worker = [x for x in info["slices"][(synth.PID, synth.WORKER)] if x[3] == "run"]
        self.assertEqual(len(worker), sum(exp["runs"].values()))
        self.assertEqual(sum(1 for x in worker if x[2] == "script"), exp["runs"]["script"])
        # the pool's busy threads as a counter: 1 in each run, 0 at the end
        busy = [c["args"]["busy"] for c in info["counters"][(synth.PID, "pool-x busy threads")]]
        self.assertEqual(busy, [1, 0] * sum(exp["runs"].values()))

    def test_sequence_runs_match_report(self):
        from looptrace import bt

        trace, _ = synth.build_seq(rounds=3, tasks=2)
        path = trace.write(os.path.join(self.tmp, "t"))
        report, _raw = bt.run_report([path], progress=False)
        doc, _ = self.export(path)
        info = vizcheck.check_perfetto(self, doc)
        tracks = self.seq_tracks(doc, info)
        seqs = [c for c in report["components"] if c.get("sequence")]
        self.assertEqual(len(seqs), 3)
        for c in seqs:
            key = tracks[c["name"] + (" (tasks)" if c["task"] else "")]
            runs = [x for x in info["slices"][key] if x[3] == "run"]
            self.assertEqual(len(runs), c["runs"], c["name"])
            handlers = [x for x in info["slices"][key]
                        if x[3] == "handler" and not x[4].get("args", {}).get("continued")]
            self.assertEqual(len(handlers), c["messages"], c["name"])

    def test_hosts_get_their_own_pids(self):
        # the same pid on two hosts: two processes, each named with its host
        root = os.path.join(self.tmp, "hosts")
        for host in ("alpha", "beta"):
            trace, _ = synth.build(rounds=2, hostname=host)
            trace.write(os.path.join(root, host))
        doc, _ = self.export(root)
        info = vizcheck.check_perfetto(self, doc)
        procs = {}
        for ev in doc["traceEvents"]:
            if ev.get("ph") == "M" and ev.get("name") == "process_name":
                procs[ev["pid"]] = ev["args"]["name"]
        self.assertEqual(sorted(procs.values()), ["synthetic @alpha", "synthetic @beta"])
        self.assertEqual(len(procs), 2)
        self.assertIn(synth.PID, procs)  # the first host keeps its pids
        pids = {ev["pid"] for ev in doc["traceEvents"] if ev.get("ph") != "i"}
        self.assertEqual(pids, set(procs))
        for pid in pids:
            self.assertLess(pid, 2**32)
        # each host's script has its own track and its own handlers
        scripts = [k for k, v in info["thread_names"].items() if v == "script"]
        self.assertEqual(sorted(k[0] for k in scripts), sorted(procs))
        self.assertEqual(len({k[1] for k in scripts}), 2)
        per_track = vizcheck.handled_per_track(info)
        self.assertEqual([per_track[k] for k in scripts], [4, 4])

    def test_names_escaped(self):
        evil = '<script>alert(1)</script> "q" \\ \x01 \u00e9'
        trace, _ = synth.build(rounds=1, script_name=evil, reply_name="r\"\n\t")
        out = os.path.join(self.tmp, "evil.json")
        status, _o, err = run_cli(["export", "--perfetto", out,
                                   trace.write(os.path.join(self.tmp, "t"))])
        self.assertEqual(status, 0, err)
        with open(out, encoding="utf-8") as f:
            doc = json.load(f)
        info = vizcheck.check_perfetto(self, doc)
        self.assertEqual(info["thread_names"][(synth.PID, 101)], evil)
        self.assertIn((synth.PID, "r\"\n\t"), info["counters"])

    def test_duplicate_channel_names(self):
        trace, _ = synth.build(rounds=1)
        trace.event(9_000_000, tid=100, name="channel_declare", chan=9, name_="net-req",
                    capacity=4)
        trace.event(9_000_100, tid=100, name="send", chan=9, msg=77, flow=0, depth=1)
        doc, _ = self.export(trace.write(os.path.join(self.tmp, "t")))
        info = vizcheck.check_perfetto(self, doc)
        self.assertIn((synth.PID, "net-req"), info["counters"])
        self.assertIn((synth.PID, "net-req #9"), info["counters"])

    def test_invalid_utf8_name(self):
        trace, _ = synth.build(rounds=1, script_name="bad\udcff\udcc3name")
        doc, _ = self.export(trace.write(os.path.join(self.tmp, "t")))
        info = vizcheck.check_perfetto(self, doc)
        self.assertEqual(info["thread_names"][(synth.PID, 101)], "bad\ufffd\ufffdname")

    def test_lost_events(self):
        trace, exp = synth.build(rounds=4, lose=True)
        doc, said = self.export(trace.write(os.path.join(self.tmp, "t")))
        vizcheck.check_perfetto(self, doc)
        self.assertEqual(doc["otherData"]["lost_events"], 7)
        self.assertIn("7 events lost", said)
        self.assertTrue(any(e.get("cat") == "lost" for e in doc["traceEvents"]))

    def test_bad_input(self):
        empty = os.path.join(self.tmp, "empty")
        os.mkdir(empty)
        garbage = os.path.join(self.tmp, "garbage")
        os.mkdir(garbage)
        with open(os.path.join(garbage, "metadata"), "wb") as f:
            f.write(os.urandom(512))
        trace, _ = synth.build(rounds=1)
        good = trace.write(os.path.join(self.tmp, "good"))
        cases = [
            (["export", "--perfetto", os.path.join(self.tmp, "o.json"),
              os.path.join(self.tmp, "missing")], "no such file"),
            (["export", "--perfetto", os.path.join(self.tmp, "o.json"), empty], "not a CTF"),
            (["export", "--perfetto", os.path.join(self.tmp, "o.json"), garbage], ""),
            (["export", "--perfetto", os.path.join(self.tmp, "nodir", "o.json"), good],
             "does not exist"),
            (["export", "--perfetto", self.tmp, good], "is a directory"),
        ]
        for argv, expect in cases:
            status, out, err = run_cli(argv)
            self.assertNotEqual(status, 0, argv)
            lines = err.strip().splitlines()
            self.assertEqual(len(lines), 1, err)
            self.assertTrue(lines[0].startswith("looptrace: "), err)
            self.assertIn(expect, lines[0])
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "o.json")))
        self.assertEqual([n for n in os.listdir(self.tmp) if n.startswith(".looptrace-")], [])


if __name__ == "__main__":
    unittest.main()
