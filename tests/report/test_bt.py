"""Unit tests of looptrace.bt: parameter quoting, trace vetting and babeltrace2 errors.

The error tests damage synthetic CTF traces (ctfgen) and run the real babeltrace2 CLI with a
dummy sink, so they check that today's babeltrace2 messages still map to one clear line.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import ltutil
import ctfgen
from looptrace import bt, timespec
from looptrace.errors import UserError


def sample(directory, provider="looptrace", packetized=False):
    t = ctfgen.Trace(pid=100, procname="sample")
    t.event(1000, 101, "component_begin", comp=1, name_="w")
    t.event(2000, 101, "wait_begin")
    t.event(3000, 102, "send", chan=1, msg=1, flow=0, depth=1)
    t.event(4000, 101, "wait_end", chan=1, msg=1)
    t.event(5000, 101, "handle_begin", msg=1, kind="k")
    t.event(9000, 101, "handle_end", msg=1)
    t.event(9500, 101, "component_end", comp=1)
    return t.write(directory, provider, packetized)


class ParamsTest(unittest.TestCase):
    def test_quote(self):
        self.assertEqual(bt.quote('a"b\\c,d'), '"a\\"b\\\\c,d"')

    def test_format(self):
        s = bt.format_params({"output": "/t/x.json", "begin-ns": 1764198000500000000,
                              "progress": True, "begin-offset-ns": 0})
        self.assertEqual(s, 'output="/t/x.json",begin-ns=1764198000500000000,progress=true,'
                            'begin-offset-ns=0')

    def test_bad_key(self):
        with self.assertRaises(ValueError):
            bt.format_params({"a=b": 1})


class CheckTraceTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lt-bt-")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def reason(self, path):
        with self.assertRaises(UserError) as cm:
            bt.check_trace(path)
        msg = str(cm.exception)
        self.assertNotIn("\n", msg)
        return msg

    def test_missing(self):
        self.assertIn("no such file or directory", self.reason(os.path.join(self.tmp, "no")))

    def test_file(self):
        p = os.path.join(self.tmp, "f")
        open(p, "w").close()
        self.assertIn("not a directory", self.reason(p))

    def test_no_metadata(self):
        os.mkdir(os.path.join(self.tmp, "d"))
        self.assertIn("no metadata file found", self.reason(os.path.join(self.tmp, "d")))

    def test_empty_metadata(self):
        d = sample(os.path.join(self.tmp, "t"))
        open(os.path.join(d, "metadata"), "w").close()
        self.assertIn("corrupt trace metadata", self.reason(d))

    def test_zero_length_stream(self):
        d = sample(os.path.join(self.tmp, "t"))
        open(os.path.join(d, "chan_0"), "w").close()
        self.assertIn("zero length", self.reason(d))

    def test_name_with_newline_escaped(self):
        self.assertIn("a\\x0ab", self.reason(os.path.join(self.tmp, "a\nb")))

    def test_packetized_metadata_cut_short(self):
        # babeltrace2 2.0.4 loops forever on these: they must be caught before it runs.
        d = sample(os.path.join(self.tmp, "t"), packetized=1024)
        md = os.path.join(d, "metadata")
        size = os.path.getsize(md)
        self.assertGreater(size, 2048)
        self.assertIsNone(bt.metadata_problem(md))
        with open(md, "rb") as f:
            data = f.read()
        for cut in (10, 36, 100, 1000, 1024 + 20, 2048 + 37, size - 1):
            with open(md, "wb") as f:
                f.write(data[:cut])
            self.assertIn("corrupt trace metadata: ", self.reason(d), cut)

    def test_packetized_metadata_bad_sizes(self):
        d = sample(os.path.join(self.tmp, "t"), packetized=1024)
        md = os.path.join(d, "metadata")
        with open(md, "rb") as f:
            data = bytearray(f.read())
        bad = bytearray(data)
        bad[24:28] = (2000 * 8).to_bytes(4, "little")  # content_size > packet_size
        with open(md, "wb") as f:
            f.write(bad)
        self.assertIn("bad packet size", self.reason(d))
        bad = bytearray(data)
        bad[1024:1028] = b"\0\0\0\0"  # second packet's magic
        with open(md, "wb") as f:
            f.write(bad)
        self.assertIn("bad packet magic at byte 1024", self.reason(d))

    def test_good(self):
        sample(os.path.join(self.tmp, "t", "ust", "uid", "0", "64-bit"))
        self.assertEqual(len(bt.check_trace(os.path.join(self.tmp, "t"))), 1)


def process(root, pid):
    """A synthetic per-PID sub-trace of process `pid` under `root`/ust/pid/."""
    t = ctfgen.Trace(pid=pid, procname="p%d" % pid)
    t.event(1000, pid + 1, "component_begin", comp=1, name_="c%d" % pid)
    t.event(9500, pid + 1, "component_end", comp=1)
    return t.write(os.path.join(root, "ust", "pid", "p%d-%d-20250101-120000" % (pid, pid)))


class ProcessSubtraceTest(unittest.TestCase):
    """vet_traces: a per-PID recording's unreadable process folder is left out with its
    reason; anything else unreadable is still an error."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lt-bt-pid-")
        self.rec = os.path.join(self.tmp, "rec")
        self.good = process(self.rec, 100)
        self.bad = process(self.rec, 200)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_is_process_subtrace(self):
        self.assertTrue(bt.is_process_subtrace(self.bad, self.rec))
        self.assertTrue(bt.is_process_subtrace(self.bad, os.path.join(self.rec, "ust", "pid")))
        self.assertFalse(bt.is_process_subtrace(self.bad, self.bad))  # given itself
        uid = os.path.join(self.rec, "ust", "uid", "0", "64-bit")
        self.assertFalse(bt.is_process_subtrace(uid, self.rec))
        self.assertFalse(bt.is_process_subtrace(os.path.join(self.rec, "ust", "pid", "x"),
                                                self.rec))

    def test_intact(self):
        inputs, skipped = bt.vet_traces([self.rec])
        self.assertEqual((inputs, skipped), ([os.path.abspath(self.rec)], []))

    def test_empty_metadata_left_out(self):
        open(os.path.join(self.bad, "metadata"), "w").close()
        inputs, skipped = bt.vet_traces([self.rec])
        self.assertEqual(inputs, [os.path.abspath(self.good)])
        self.assertEqual(skipped, [(self.bad, "empty metadata file")])
        with self.assertRaises(UserError) as cm:  # given itself, it is an error
            bt.vet_traces([self.bad])
        self.assertIn("corrupt trace metadata (the file is empty)", str(cm.exception))

    def test_no_stream_class_left_out(self):
        md = os.path.join(self.bad, "metadata")
        with open(md) as f:
            text = f.read()
        start = text.index("\nstream {")
        with open(md, "w") as f:  # the stream class and every event class gone
            f.write(text[:start] + "\n")
        inputs, skipped = bt.vet_traces([self.rec])
        self.assertEqual(inputs, [os.path.abspath(self.good)])
        self.assertEqual(len(skipped), 1, skipped)
        self.assertEqual(skipped[0][0], self.bad)
        self.assertIn("babeltrace2 cannot open it: No stream class", skipped[0][1])

    def test_every_process_unreadable(self):
        for d in (self.good, self.bad):
            open(os.path.join(d, "metadata"), "w").close()
        with self.assertRaises(UserError) as cm:
            bt.vet_traces([self.rec])
        self.assertIn("no readable trace: every per-process sub-trace is unreadable",
                      str(cm.exception))

    def test_per_uid_trace_not_left_out(self):
        uid = sample(os.path.join(self.tmp, "u", "ust", "uid", "0", "64-bit"))
        open(os.path.join(uid, "metadata"), "w").close()
        with self.assertRaises(UserError):
            bt.vet_traces([os.path.join(self.tmp, "u")])

    def test_report_names_what_was_left_out(self):
        report = {"trace": {}, "warnings": []}
        bt.add_skipped(report, [(self.bad, "empty metadata file")])
        self.assertEqual(report["trace"]["skipped"], [{"path": self.bad,
                                                       "reason": "empty metadata file"}])
        self.assertEqual([w["kind"] for w in report["warnings"]], ["skipped-trace"])
        self.assertEqual(bt.skip_notices(report), [
            "looptrace: warning: left out %s, a process's sub-trace of a per-PID recording "
            "that cannot be read: empty metadata file; the figures cover the other processes"
            % self.bad])


class BabeltraceErrorTest(unittest.TestCase):
    """Damaged traces through the real babeltrace2 CLI (dummy sink) -> one line."""

    def setUp(self):
        ltutil.require(self, shutil.which("babeltrace2"), "babeltrace2 not installed")
        self.tmp = tempfile.mkdtemp(prefix="lt-bt-")
        self.trace = sample(os.path.join(self.tmp, "trace"))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def explain(self):
        p = subprocess.run(["babeltrace2", "--log-level=NONE", self.trace, "-c",
                            "sink.utils.dummy"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, universal_newlines=True)
        self.assertNotEqual(p.returncode, 0, "babeltrace2 accepted the damaged trace")
        msg = bt.explain_failure(p.stderr, [self.trace], p.returncode)
        self.assertNotIn("\n", msg)
        return msg

    def test_good_trace_passes(self):
        for packetized in (False, True):
            trace = sample(os.path.join(self.tmp, "p%d" % packetized),
                           packetized=1024 if packetized else False)
            p = subprocess.run(["babeltrace2", trace], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, universal_newlines=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("looptrace:handle_end", p.stdout)

    def test_garbage_metadata(self):
        with open(os.path.join(self.trace, "metadata"), "wb") as f:
            f.write(bytes(range(256)) * 3)
        self.assertIn("corrupt trace metadata", self.explain())

    def test_bad_tsdl(self):
        path = os.path.join(self.trace, "metadata")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("stream {", "stream { nonsense"))
        self.assertIn("corrupt trace metadata", self.explain())

    def test_truncated_stream(self):
        path = os.path.join(self.trace, "chan_0")
        with open(path, "rb") as f:
            data = f.read()
        for cut in (20, 150, len(data) - 10):
            with open(path, "wb") as f:
                f.write(data[:cut])
            msg = self.explain()
            self.assertIn("truncated or corrupt stream file", msg, cut)
            self.assertIn("chan_0", msg)

    def test_crash(self):
        self.assertIn("crashed (SIGABRT)", bt.explain_failure("", ["t"], -6))

    def test_time_backwards(self):
        err = ("ERROR:    [Babeltrace CLI] (babeltrace2.c:2480)\n  Graph failed\n"
               "CAUSED BY [muxer: 'filter.utils.muxer'] (muxer.c:1)\n"
               "  Youngest upstream message iterator wrapper's timestamp is less than "
               "muxer's\n  message iterator's last returned time\n")
        self.assertEqual(bt.explain_failure(err, ["t"], 1),
                         "t: corrupt stream file (event timestamps go backwards)")

    def test_unknown_error(self):
        msg = bt.explain_failure("ERROR:    [X] (a.c:1)\n  Something odd\n  happened\n",
                                 ["t"], 1)
        self.assertEqual(msg, "babeltrace2 failed on t: Something odd happened")

    def test_missing_babeltrace2(self):
        os.environ["LOOPTRACE_BABELTRACE2"] = os.path.join(self.tmp, "nope")
        try:
            with self.assertRaises(UserError) as cm:
                bt.run_report([self.trace])
            self.assertIn("babeltrace2 not found", str(cm.exception))
        finally:
            del os.environ["LOOPTRACE_BABELTRACE2"]

    def test_missing_plugin(self):
        os.environ["LOOPTRACE_PLUGIN_PATH"] = self.tmp
        try:
            with self.assertRaises(UserError) as cm:
                bt.run_report([self.trace])
            self.assertIn("plugin looptrace.so not found", str(cm.exception))
        finally:
            del os.environ["LOOPTRACE_PLUGIN_PATH"]


class StubSinkTest(unittest.TestCase):
    """run_report through the real babeltrace2 CLI with a stub looptrace plugin (stub/) that
    echoes its parameters: quoting, time parameters, several traces, the no-events error."""

    def setUp(self):
        ltutil.require(self, shutil.which("babeltrace2"), "babeltrace2 not installed")
        self.tmp = tempfile.mkdtemp(prefix="lt-stub-")
        plug = os.path.join(self.tmp, "plugins")
        os.mkdir(plug)
        shutil.copy(os.path.join(ltutil.HERE, "stub", "bt_plugin_looptrace_stub.py"), plug)
        open(os.path.join(plug, "looptrace.so"), "w").close()  # what find_plugin() looks for
        self.env = {"LOOPTRACE_PLUGIN_PATH": plug}
        self.old_env = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        self.old_tempdir = tempfile.tempdir

    def tearDown(self):
        tempfile.tempdir = self.old_tempdir
        for k, v in self.old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(self.tmp)

    def run_stub(self, traces, **kw):
        report, raw = bt.run_report(traces, progress=False, **kw)
        self.assertEqual(json.loads(raw.decode()), report)
        return report

    def test_strange_paths_reach_the_sink(self):
        odd = os.path.join(self.tmp, 'a "quoted", =path\\with\nnewline \u00e9')
        sample(odd)
        weird_tmp = os.path.join(self.tmp, 'tmp "x",y=z')
        os.mkdir(weird_tmp)
        tempfile.tempdir = weird_tmp
        rep = self.run_stub([odd])
        self.assertEqual(rep["trace"]["path"], odd)
        self.assertEqual(rep["trace"]["events"], 7)
        self.assertEqual(rep["params"]["output"], "-")  # the report comes on its stdout
        self.assertEqual(os.listdir(weird_tmp), [], "nothing named left in the temp folder")
        self.assertFalse(rep["params"]["progress"] if "progress" in rep["params"] else False)

    def test_time_params(self):
        d = sample(os.path.join(self.tmp, "t"))
        rep = self.run_stub([d], begin=timespec.parse("+1.5ms"),
                            end=timespec.parse("1764198000.25"))
        self.assertEqual(rep["params"]["begin-offset-ns"], 1500000)
        self.assertEqual(rep["params"]["end-ns"], 1764198000250000000)
        rep = self.run_stub([d], begin=timespec.parse("1764198000100000000"),
                            end=timespec.parse("+3s"))
        self.assertEqual(rep["params"]["begin-ns"], 1764198000100000000)
        self.assertEqual(rep["params"]["end-offset-ns"], 3000000000)

    def test_several_traces_one_run(self):
        a = sample(os.path.join(self.tmp, "a"))
        t = ctfgen.Trace(pid=200)
        t.event(1000, 201, "wait_begin")
        b = t.write(os.path.join(self.tmp, "b"))
        rep = self.run_stub([a, b])
        self.assertEqual(rep["trace"]["events"], 8)
        self.assertEqual(rep["trace"]["path"], "%s, %s" % (a, b))

    def test_no_looptrace_events(self):
        d = sample(os.path.join(self.tmp, "foreign"), provider="other")
        with self.assertRaises(UserError) as cm:
            bt.run_report([d], progress=False)
        self.assertEqual(str(cm.exception), "no looptrace events in %s" % d)



# Format 2.x records (looptrace/probes/records.h) for RecordsTest.
REC_HNEXT, REC_HNEXT0, REC_SEND, REC_SEND_LONG, REC_RECV = 7, 8, 3, 4, 5
REC_DEF_KEY, REC_COMP_BEGIN, REC_CHAN_DECLARE = 2, 16, 18
DEPTH_UNKNOWN_SHORT = (1 << 20) - 1


def w0(kind, delta, a):
    return kind | delta << 8 | a << 32


def strwords(s):
    b = s.encode() + b"\0" * (-len(s) % 8 or 8)
    b = s.encode().ljust((len(s) + 7) // 8 * 8, b"\0")
    return [int.from_bytes(b[i:i + 8], "little") for i in range(0, len(b), 8)]


class Records:
    """Records of one thread, clock values in the trace's ns; .words for ctfgen's batch."""

    def __init__(self, base):
        self.base = self.last = base
        self.words = []

    def rec(self, t, kind, a, *rest):
        self.words += [w0(kind, t - self.last, a)] + list(rest)
        self.last = t


class RecordsTest(unittest.TestCase):
    """The decoder on format 2.2 batches written by hand (no session daemon): the bracket
    taken off each handler's end (and not with LOOPTRACE_RAW_BOUNDS), its floors, and the
    short forms' unknown-depth marker against a known depth of the same value."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lt-rec-")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def trace(self, bracket, body):
        t = ctfgen.Trace(pid=300, procname="rec")
        r = Records(1_000_000)
        r.rec(1_000_000, REC_COMP_BEGIN, 1, 7, 0, *strwords("w"))
        r.rec(1_000_000, REC_CHAN_DECLARE, 1, 3 | 64 << 32, 0, *strwords("q"))
        r.rec(1_000_000, REC_DEF_KEY, 0 | 1 << 12, 3, *strwords("k"))
        body(r)
        t.batch(2_000_000, 301, r.words, base=r.base, bracket=bracket)
        return t.write(os.path.join(self.tmp, "t%d" % len(os.listdir(self.tmp))))

    def report(self, path, raw=False):
        env = {"LOOPTRACE_RAW_BOUNDS": "1"} if raw else {}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            report, _ = bt.run_report([path], progress=False)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
        comp = [c for c in report["components"] if c["name"] == "w"][0]
        chan = [c for c in report["channels"] if c["name"] == "q"][0]
        return report, comp, chan

    def test_bracket_and_floors(self):
        def body(r):
            # handler 1: 1_001_000 .. end read at 1_003_000 (ed 500 before the next begin)
            r.rec(1_001_000, REC_HNEXT0, 0 | 1 << 12, 1)
            # handler 2: 1_003_500 .. end read at 1_006_000, a send inside it at 1_005_980
            r.rec(1_003_500, REC_HNEXT, 0 | 0 << 12, 2 | 500 << 48)
            r.rec(1_005_980, REC_SEND, 3 | 1 << 12, 99)
            # handler 3: 1_006_500 .. end read at 1_008_000; a key definition written at
            # 1_008_400, between the kept end and the next begin
            r.rec(1_006_500, REC_HNEXT, 0 | 0 << 12, 3 | 500 << 48)
            r.rec(1_008_400, REC_DEF_KEY, 1 | 1 << 12, 3, *strwords("x"))
            r.rec(1_008_500, REC_HNEXT, 1 | 0 << 12, 4 | 500 << 48)
            r.rec(1_010_000, REC_HNEXT, 1 | 0 << 12, 5 | 500 << 48)
        path = self.trace(100, body)
        rep, comp, _ = self.report(path)
        _, raw, _ = self.report(path, raw=True)
        self.assertEqual(rep["trace"]["handler_bracket_ns"], 100)
        self.assertEqual(raw["messages"], 4)
        # raw ends: 1_003_000, 1_006_000, 1_008_000, 1_009_500 -> 2000, 2500, 1500, 1000
        self.assertEqual(raw["time_ns"]["busy"], 2000 + 2500 + 1500 + 1000)
        # bracketed: -100 each, but handler 2 not before its send (1_005_980: -20)
        self.assertEqual(comp["time_ns"]["busy"], 1900 + 2480 + 1400 + 900)
        self.assertEqual(comp["time_ns"]["outside"] - raw["time_ns"]["outside"], 220 + 100)
        self.assertEqual(comp["wall_ns"], raw["wall_ns"])

    def test_unknown_depth_marker(self):
        def body(r):
            r.rec(1_001_000, REC_SEND, 3 | 5 << 12, 11)
            r.rec(1_002_000, REC_RECV, 3 | DEPTH_UNKNOWN_SHORT << 12, 11)  # unknown: 4
            # a known depth of exactly 0xfffff takes the long form
            r.rec(1_003_000, REC_SEND_LONG, DEPTH_UNKNOWN_SHORT, 3, 12, 0)
            r.rec(1_004_000, REC_RECV, 3 | DEPTH_UNKNOWN_SHORT << 12, 12)  # unknown: 0xffffe
        rep, _, chan = self.report(self.trace(0, body))
        self.assertEqual(chan["max_depth"], DEPTH_UNKNOWN_SHORT)
        self.assertEqual(chan["depth"], DEPTH_UNKNOWN_SHORT - 1)
        self.assertEqual((chan["sends"], chan["recvs"]), (2, 2))

if __name__ == "__main__":
    ltutil.main()
