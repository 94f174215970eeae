"""End-to-end tests of `looptrace report` on synthetic CTF traces (no session daemon needed).

ctfgen writes traces whose answer is known to the nanosecond, so the real babeltrace2 +
sink.looptrace.report + CLI chain is checked exactly; damaged copies check that every bad
input ends in one line on stderr and a non-zero exit.
"""

import csv
import json
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import unittest

import ctfgen
import ltutil
from ltutil import assert_one_line_error, run_looptrace

N = 5  # messages in the known scenario
ORIGIN_NS = ctfgen.CLOCK_OFFSET_S * 1000000000


def known_trace(directory, pid=100, name="worker", lose=0, provider="looptrace"):
    """A component with an exactly known time budget (see EXPECTED)."""
    t = ctfgen.Trace(pid=pid, procname="known")
    tid, prod = pid + 1, pid + 2
    t.event(500, prod, "channel_declare", chan=1, name_=name + ".in", capacity=8)
    t.event(1000, tid, "component_begin", comp=1, name_=name)
    for i in range(N):
        base = 10000 + i * 100000
        msg = i + 1
        t.event(base, tid, "wait_begin")
        t.event(base + 20000, prod, "send", chan=1, msg=msg, flow=0, depth=1)
        t.event(base + 30000, tid, "recv", chan=1, msg=msg, depth=0)
        t.event(base + 30000, tid, "wait_end", chan=1, msg=msg)
        t.event(base + 31000, tid, "handle_begin", msg=msg, kind="tick")
        t.event(base + 51000, tid, "block_begin", reason=3, object=0x1000, where=0x2000)
        t.event(base + 81000, tid, "block_end")
        t.event(base + 91000, tid, "handle_end", msg=msg)
        t.event(base + 92000, tid, "block_begin", reason=6, object=0, where=0x3000)
        t.event(base + 95000, tid, "block_end")
        if lose and i == 1:
            t.lose(lose)
    end = 10000 + N * 100000
    t.event(end, tid, "wait_begin")
    t.event(end + 5000, tid, "wait_end", chan=0, msg=0)
    t.event(end + 6000, tid, "component_end", comp=1)
    return t.write(directory, provider)


EXPECTED = {
    "wall_ns": 515000,
    "busy": N * 30000,
    "idle": N * 30000 + 5000,
    "blocked_in_handler": N * 30000,
    "blocked_outside": N * 3000,
    "outside": 9000 + N * (1000 + 9000 - 3000) + 1000,
}


class CliTest(unittest.TestCase):
    def setUp(self):
        ltutil.require(self, shutil.which("babeltrace2"), "babeltrace2 not installed")
        ltutil.require(self, os.access(ltutil.looptrace_bin(), os.X_OK),
                       "looptrace launcher not built: %s" % ltutil.looptrace_bin())
        ltutil.require(self, ltutil.have_plugin(),
                       "babeltrace2 plugin not built: %s" % ltutil.plugindir())
        self.tmp = tempfile.mkdtemp(prefix="lt-cli-")
        self.trace = known_trace(os.path.join(self.tmp, "trace"))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def report_json(self, *args):
        p = run_looptrace(["report", "--json", "-"] + list(args))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("Traceback", p.stderr)
        return json.loads(p.stdout)

    def component(self, rep, name):
        comps = [c for c in rep["components"] if c["name"] == name]
        self.assertEqual(len(comps), 1, rep["components"])
        return comps[0]

    # -- numbers ------------------------------------------------------------------------------

    def test_known_numbers_exact(self):
        rep = self.report_json(self.trace)
        self.assertEqual(rep["schema"], "looptrace-report/1")
        self.assertEqual(rep["trace"]["lost_events"], 0)
        self.assertEqual(rep["trace"]["path"], self.trace)
        c = self.component(rep, "worker")
        self.assertEqual((c["pid"], c["tid"]), (100, 101))
        self.assertEqual(c["messages"], N)
        self.assertEqual(c["wall_ns"], EXPECTED["wall_ns"])
        for key in ("busy", "idle", "blocked_in_handler", "blocked_outside", "outside"):
            self.assertEqual(c["time_ns"][key], EXPECTED[key], key)
        self.assertEqual(sum(c["time_ns"].values()), c["wall_ns"])
        ch = [x for x in rep["channels"] if x["name"] == "worker.in"][0]
        self.assertEqual((ch["capacity"], ch["sends"], ch["recvs"], ch["max_depth"]),
                         (8, N, N, 1))
        self.assertEqual(ch["queue_wait_ns"]["p50"], 10000)
        kinds = [w["kind"] for w in rep["warnings"]]
        self.assertIn("blocks-in-handler", kinds)

    def test_table(self):
        p = run_looptrace(["report", self.trace])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("worker", p.stdout)
        self.assertIn("worker.in", p.stdout)
        self.assertIn("warning: [blocks-in-handler] component worker", p.stdout)
        self.assertNotIn("LOST EVENTS", p.stdout)

    def test_outputs(self):
        out = os.path.join(self.tmp, "out.json")
        csvdir = os.path.join(self.tmp, "csv")
        p = run_looptrace(["report", self.trace, "--json", out, "--csv", csvdir])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("looptrace: JSON report written to %s" % out, p.stderr)
        self.assertIn("written to %s" % csvdir, p.stderr)
        with open(out) as f:
            rep = json.load(f)
        self.assertEqual(self.component(rep, "worker")["messages"], N)
        for name in ("components", "channels", "routes", "flows", "warnings"):
            with open(os.path.join(csvdir, name + ".csv"), newline="") as f:
                rows = list(csv.DictReader(f))
            if name == "components":
                self.assertEqual(rows[0]["busy_ns"], str(EXPECTED["busy"]))
        self.assertIn("worker", p.stdout)  # the table is still printed

    def test_html_and_quiet(self):
        out = os.path.join(self.tmp, "html")
        p = run_looptrace(["report", "-q", self.trace, "--html", out])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertTrue(os.path.isfile(os.path.join(out, "index.html")))
        self.assertIn("HTML report written to", p.stderr)

    def test_reader_leaves_early(self):
        proc = subprocess.Popen([ltutil.looptrace_bin(), "report", self.trace],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.close()
        err = proc.stderr.read().decode()
        self.assertEqual(proc.wait(), 0, err)
        self.assertNotIn("Traceback", err)

    def test_json_passthrough_stdout_only_json(self):
        p = run_looptrace(["report", "--json", "-", self.trace])
        self.assertEqual(p.returncode, 0, p.stderr)
        json.loads(p.stdout)  # nothing but JSON on stdout

    def test_recorded_json_encoded_as_the_sink_writes_it(self):
        # With a looptrace-record.json the CLI adds fields to `trace` and encodes the report
        # itself (cmd_report.json_chunks, json.dumps' layout with indent 1), to a file or
        # stdout: the same bytes, the sink's figures plus the added fields.
        rec = os.path.join(self.tmp, "rec")
        known_trace(os.path.join(rec, "ust", "uid", "0", "64-bit"))
        p = run_looptrace(["report", "-q", "--json", "-", rec])
        self.assertEqual(p.returncode, 0, p.stderr)
        sink_bytes = p.stdout
        with open(os.path.join(rec, "looptrace-record.json"), "w") as f:
            json.dump({"pid": 100, "processes": "tree", "exit_status": 3, "signal": None,
                       "incomplete": False}, f)
        out = os.path.join(self.tmp, "rec.json")
        p = run_looptrace(["report", "-q", "--json", out, rec])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            in_file = f.read()
        p = run_looptrace(["report", "-q", "--json", "-", rec])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, in_file)
        rep = json.loads(in_file)
        self.assertEqual(in_file, json.dumps(rep, indent=1) + "\n")
        self.assertEqual((rep["trace"]["exit_status"], rep["trace"]["cut_short"],
                          rep["trace"]["incomplete"]), (3, False, False))
        for key in ("exit_status", "cut_short", "signal", "incomplete"):
            del rep["trace"][key]
        self.assertEqual(rep, json.loads(sink_bytes))

    def test_json_chunks_small_pieces(self):
        from looptrace import cmd_report

        rep = {"schema": "looptrace-report/1", "trace": {"events": 1},
               "components": [{"name": "comp-%d" % i, "series": [{"t_ns": i, "busy_ns": 7}] * 4}
                              for i in range(20000)]}
        pieces = list(cmd_report.json_chunks(rep))
        self.assertEqual(b"".join(pieces), json.dumps(rep, indent=1).encode() + b"\n")
        self.assertGreater(len(pieces), 3)
        self.assertLess(max(len(x) for x in pieces), 2 << 20)

    # -- channels of one name, made per request ---------------------------------------------

    def test_same_named_channels_folded(self):
        """A program making a reply channel per request (four `reply` channels of capacity 1,
        the k-th carrying k messages that each wait 10*k ns, and one `reply` of capacity 4):
        channels[] keeps each object; channel_groups and every table show the four as one row
        `reply x4` with summed counts and percentiles over their ten messages."""
        t = ctfgen.Trace(pid=300, procname="replies")
        tid, prod = 301, 302
        t.event(100, tid, "component_begin", comp=1, name_="client")
        for k in range(1, 5):
            t.event(200 + k, prod, "channel_declare", chan=k, name_="reply", capacity=1)
        t.event(300, prod, "channel_declare", chan=9, name_="reply", capacity=4)
        ts, msg = 1000, 0
        for k in [1, 2, 3, 4, 9]:
            for _ in range(k if k < 9 else 1):
                msg += 1
                wait = 10 * k if k < 9 else 500
                t.event(ts, tid, "wait_begin")
                t.event(ts + 100, prod, "send", chan=k, msg=msg, flow=0, depth=1)
                t.event(ts + 100 + wait, tid, "recv", chan=k, msg=msg, depth=0)
                t.event(ts + 100 + wait, tid, "wait_end", chan=k, msg=msg)
                t.event(ts + 200 + wait, tid, "handle_begin", msg=msg, kind="reply")
                t.event(ts + 300 + wait, tid, "handle_end", msg=msg)
                ts += 1000
        t.event(ts, tid, "component_end", comp=1)
        trace = t.write(os.path.join(self.tmp, "replies"))

        rep = self.report_json(trace)
        objs = [c for c in rep["channels"] if c["name"] == "reply"]
        self.assertEqual([(c["id"], c["sends"], c.get("group")) for c in objs],
                         [(1, 1, 1), (2, 2, 1), (3, 3, 1), (4, 4, 1), (9, 1, None)])
        self.assertEqual(len(rep["channel_groups"]), 1)
        g = rep["channel_groups"][0]
        self.assertEqual((g["id"], g["name"], g["pid"], g["instances"], g["capacity"],
                          g["sends"], g["recvs"], g["max_depth"]),
                         (1, "reply", 300, 4, 1, 10, 10, 1))
        # waits 10 (x1), 20 (x2), 30 (x3), 40 (x4): merged from every message, not from the
        # channels' own percentiles (whose largest p50 is 40)
        self.assertEqual({k: g["queue_wait_ns"][k] for k in ("p50", "p99", "max", "count")},
                         {"p50": 30, "p99": 40, "max": 40, "count": 10})
        self.assertEqual(g["queue_wait_ns"]["mean"], 30)
        # mean depth of one channel over its life: areas 10 + 40 + 90 + 160 ns over lives of
        # 11799 + 11798 + 11797 + 11796 ns (declared at 201-204, the trace ends at 12000)
        self.assertAlmostEqual(g["mean_depth"], 300 / 47190, places=8)

        csvdir, htmldir = os.path.join(self.tmp, "csv"), os.path.join(self.tmp, "html")
        p = run_looptrace(["report", trace, "--csv", csvdir, "--html", htmldir])
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [ln.split() for ln in p.stdout.splitlines() if ln.startswith("reply")]
        self.assertEqual(rows, [["reply", "x4", "1", "10", "10", "1", "0.01", "30ns", "40ns",
                                 "0ns"],
                                ["reply", "4", "1", "1", "1", "0.04", "500ns", "500ns", "0ns"]])
        with open(os.path.join(csvdir, "channels.csv"), newline="") as f:
            got = [(r["id"], r["capacity"], r["sends"], r["queue_wait_ns_p50"], r["instances"])
                   for r in csv.DictReader(f) if r["name"] == "reply"]
        self.assertEqual(got, [("1", "1", "10", "30", "4"), ("9", "4", "1", "500", "1")])
        with open(os.path.join(htmldir, "index.html"), encoding="utf-8") as f:
            page = f.read()
        self.assertEqual(page.count("<code>reply</code> \u00d74</td>"), 1)
        self.assertEqual(page.count("<code>reply</code></td>"), 1)

    # -- losses, windows, several traces ------------------------------------------------------

    def test_lost_events(self):
        lossy = known_trace(os.path.join(self.tmp, "lossy"), lose=7)
        rep = self.report_json(lossy)
        self.assertEqual(rep["trace"]["lost_events"], 7)
        self.assertGreaterEqual(len(rep["trace"]["lost_windows"]), 1)
        self.assertIn("lost-events", [w["kind"] for w in rep["warnings"]])
        p = run_looptrace(["report", lossy])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("LOST EVENTS: 7 events lost", p.stdout)

    def by_tid(self, rep, tid):
        comps = [c for c in rep["components"] if c["tid"] == tid]
        self.assertEqual(len(comps), 1, rep["components"])
        return comps[0]

    def test_window_relative_and_absolute(self):
        # component_begin falls before the window: the component is known by its thread.
        whole = self.by_tid(self.report_json(self.trace), 101)["messages"]
        rel = self.report_json(self.trace, "--begin", "+200us", "--end", "+400us")
        part = self.by_tid(rel, 101)["messages"]
        self.assertEqual(self.by_tid(rel, 101)["wall_ns"], 200000)
        self.assertLess(part, whole)
        self.assertGreater(part, 0)
        first = 500  # first event of the trace
        b = "%d" % (ORIGIN_NS + first + 200000)
        e = "%d.%09d" % (ctfgen.CLOCK_OFFSET_S, first + 400000)
        ab = self.report_json(self.trace, "--begin", b, "--end", e)
        self.assertEqual(self.by_tid(ab, 101)["messages"], part)
        self.assertEqual(ab["components"], rel["components"])

    def test_several_traces(self):
        other = known_trace(os.path.join(self.tmp, "other"), pid=200, name="peer")
        rep = self.report_json(self.trace, other)
        self.assertEqual(self.component(rep, "worker")["pid"], 100)
        self.assertEqual(self.component(rep, "peer")["pid"], 200)

    def test_strange_path(self):
        odd = os.path.join(self.tmp, 'we"ird, =\\path\nwith newline')
        shutil.copytree(self.trace, odd)
        rep = self.report_json(odd)
        self.assertEqual(rep["trace"]["path"], odd)
        out = os.path.join(self.tmp, 'out "x", y.json')
        p = run_looptrace(["report", "-q", odd, "--json", out])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(out))

    def test_hostile_names_escaped(self):
        t = ctfgen.Trace(pid=300)
        t.event(1000, 301, "component_begin", comp=1, name_="evil\x1b[2J\x07")
        t.event(2000, 301, "wait_begin")
        t.event(3000, 301, "wait_end", chan=0, msg=0)
        t.event(4000, 301, "component_end", comp=1)
        d = t.write(os.path.join(self.tmp, "evil"))
        p = run_looptrace(["report", d])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("\x1b", p.stdout)
        self.assertIn("evil\\x1b[2J\\x07", p.stdout)

    # -- bad input ----------------------------------------------------------------------------

    def fails(self, args, *needles):
        p = run_looptrace(["report"] + list(args))
        return assert_one_line_error(self, p, *needles)

    def test_missing_path(self):
        self.fails([os.path.join(self.tmp, "nope")], "no such file or directory")

    def test_not_a_directory(self):
        self.fails([os.path.join(self.trace, "metadata")], "not a directory")

    def test_not_a_trace(self):
        os.mkdir(os.path.join(self.tmp, "empty"))
        self.fails([os.path.join(self.tmp, "empty")], "not a CTF trace")

    def test_no_looptrace_events(self):
        d = known_trace(os.path.join(self.tmp, "foreign"), provider="other")
        self.fails([d], "no looptrace events in %s" % d)

    def test_corrupt_metadata(self):
        with open(os.path.join(self.trace, "metadata"), "wb") as f:
            f.write(os.urandom(512))
        self.fails([self.trace], "corrupt trace metadata")

    def test_zero_length_metadata(self):
        open(os.path.join(self.trace, "metadata"), "w").close()
        self.fails([self.trace], "corrupt trace metadata")

    def test_truncated_stream(self):
        path = os.path.join(self.trace, "chan_0")
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[:len(data) // 2])
        self.fails([self.trace], "truncated or corrupt stream file")

    def test_zero_length_stream(self):
        open(os.path.join(self.trace, "chan_0"), "w").close()
        self.fails([self.trace], "truncated stream file", "zero length")

    def test_one_bad_among_good(self):
        self.fails([self.trace, os.path.join(self.tmp, "nope")], "no such file")

    def test_bad_time(self):
        self.fails([self.trace, "--begin", "soon"], "--begin", "invalid time")

    def test_missing_babeltrace2(self):
        p = run_looptrace(["report", self.trace],
                          env={"LOOPTRACE_BABELTRACE2": os.path.join(self.tmp, "none")})
        assert_one_line_error(self, p, "babeltrace2 not found")

    def test_json_to_missing_folder(self):
        self.fails([self.trace, "--json", os.path.join(self.tmp, "no", "x.json")],
                   "does not exist")

    def test_csv_into_a_file(self):
        self.fails([self.trace, "--csv", os.path.join(self.trace, "metadata")],
                   "--csv", "not a directory")

    def test_json_file_mode(self):
        out = os.path.join(self.tmp, "mode.json")
        old = os.umask(0o022)
        try:
            p = run_looptrace(["report", "-q", self.trace, "--json", out])
        finally:
            os.umask(old)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o644)

    def test_json_to_a_fifo_keeps_it(self):
        # Like --json /dev/null: write into a special file, never replace it.
        fifo = os.path.join(self.tmp, "fifo")
        os.mkfifo(fifo)
        got = []
        reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
        reader.start()
        p = run_looptrace(["report", "-q", self.trace, "--json", fifo])
        reader.join(60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(stat.S_ISFIFO(os.stat(fifo).st_mode))
        self.assertEqual(json.loads(got[0].decode())["schema"], "looptrace-report/1")

    def test_json_through_symlink(self):
        real = os.path.join(self.tmp, "real.json")
        open(real, "w").close()
        link = os.path.join(self.tmp, "link.json")
        os.symlink(real, link)
        p = run_looptrace(["report", "-q", self.trace, "--json", link])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.islink(link))
        with open(real) as f:
            self.assertEqual(json.load(f)["schema"], "looptrace-report/1")

    def test_help(self):
        p = run_looptrace(["report", "--help"])
        self.assertEqual(p.returncode, 0)
        for flag in ("--json", "--csv", "--begin", "--end", "--quiet", "--progress",
                     "+1.5s", "TRACE"):
            self.assertIn(flag, p.stdout)


if __name__ == "__main__":
    ltutil.main()
