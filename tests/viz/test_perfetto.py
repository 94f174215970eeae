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
