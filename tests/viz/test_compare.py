"""`looptrace compare`: ratios on two fixture reports, N-way text, JSON and HTML outputs, and
bad input turned into one-line errors."""

import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vizcheck  # noqa: E402

from looptrace import cli, cmd_compare, fmt  # noqa: E402
from looptrace.errors import UserError  # noqa: E402

A = os.path.join(vizcheck.DATA, "report-basic.json")
B = os.path.join(vizcheck.DATA, "report-routed.json")


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(argv)
    return status, out.getvalue(), err.getvalue()


class CompareRowsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = vizcheck.load("report-basic.json")
        cls.b = vizcheck.load("report-routed.json")
        cls.rows = cmd_compare.compare_reports([("A", cls.a), ("B", cls.b)])
        cls.by = {(r["section"], r["name"], r["metric"]): r for r in cls.rows}

    def row(self, section, name, metric):
        return self.by[(section, name, metric)]

    def test_ratio_b_over_a(self):
        r = self.row("component", "script", "blocked_in_handler")
        self.assertEqual(r["values"], [1_240_000_000, 0])
        self.assertEqual(r["ratios"], [None, 0.0])
        r = self.row("component", "script", "busy")
        self.assertAlmostEqual(r["ratios"][1], 2.0)
        r = self.row("component", "script", "idle")
        self.assertAlmostEqual(r["ratios"][1], 960 / 230)
        r = self.row("component", "net", "throughput_per_s")
        self.assertAlmostEqual(r["ratios"][1], 2.0)
        r = self.row("flows", "", "latency_p99")
        self.assertAlmostEqual(r["ratios"][1], 7.0 / 14.0)
        r = self.row("channel", "net-req", "send_blocked_ns")
        self.assertEqual(r["ratios"][1], 0.0)

    def test_matched_by_name_not_pid(self):
        # pids differ (4242 vs 5151); components still pair up by name.
        r = self.row("component", "router", "messages")
        self.assertEqual(r["values"], [1600, 3200])

    def test_missing_and_zero(self):
        r = self.row("component", "layout", "busy")  # only in A
        self.assertEqual(r["values"][1], None)
        self.assertIsNone(r["ratios"][1])
        r = self.row("component", "fetch-worker", "busy")  # only in B
        self.assertIsNone(r["values"][0])
        r = self.row("component", "net", "blocked_in_handler")  # 0 and 0
        self.assertEqual(r["ratios"][1], 1.0)
        self.assertEqual(fmt.fmt_ratio(r["ratios"][1], 0, 0), "=")
        r = self.row("trace", "", "lost_events")
        self.assertEqual(r["values"], [120, 0])
        self.assertEqual(cmd_compare.ratio(0, 5), float("inf"))
        self.assertEqual(fmt.fmt_ratio(float("inf")), "new")

    def test_duplicate_names_kept_apart(self):
        # Two components of one run sharing a name are two rows, never one sum: the second
        # (in order of start) is "net #2", matched with the second "net" of the other run.
        b = json.loads(json.dumps(self.b))
        extra = json.loads(json.dumps(b["components"][1]))  # a second "net" thread
        self.assertEqual(extra["name"], "net")
        extra["tid"] += 100
        extra["id"] += 100
        extra["messages"] = 7
        b["components"].append(extra)
        rows = cmd_compare.compare_reports([("A", self.a), ("B", b)])
        by = {(r["section"], r["name"], r["metric"]): r for r in rows}
        self.assertEqual(by[("component", "net", "messages")]["values"], [1600, 3200])
        self.assertEqual(by[("component", "net #2", "messages")]["values"], [None, 7])
        self.assertFalse(any(by[("component", "net", "handle_p50")]["approx"]))
        self.assertNotIn(("component", "net", "instances"), by)
        # Channels too.
        ch = json.loads(json.dumps(b["channels"][0]))
        ch["id"] += 100
        ch["sends"] = 5
        b["channels"].append(ch)
        rows = cmd_compare.compare_reports([("A", self.a), ("B", b)])
        by = {(r["section"], r["name"], r["metric"]): r for r in rows}
        name = ch["name"]
        self.assertEqual(by[("channel", name + " #2", "sends")]["values"], [None, 5])
        self.assertEqual(by[("channel", name, "sends")]["values"][1], b["channels"][0]["sends"])

    def test_three_way_text(self):
        c = json.loads(json.dumps(self.b))
        c["components"][0]["messages"] = 400
        rows = cmd_compare.compare_reports([("blocking", self.a), ("routed", self.b),
                                            ("thread", c)])
        text = cmd_compare.render_text(["blocking", "routed", "thread"], rows)
        self.assertIn("routed/blocking", text)
        self.assertIn("thread/blocking", text)
        line = [ln for ln in text.splitlines() if ln.strip().startswith("messages")][0]
        self.assertEqual(line.split()[1:], ["800", "1600", "x2.00", "400", "x0.50"])

    def test_needs_two(self):
        with self.assertRaises(ValueError):
            cmd_compare.compare_reports([("A", self.a)])


SEQ = os.path.join(vizcheck.ROOT, "tests", "report", "data", "report-seq.json")


class CompareSequencesTest(unittest.TestCase):
    """Sequences on pools: runnable, released, held and runs per component, and a pool
    section, compared when either report has them; absent when neither has."""

    @classmethod
    def setUpClass(cls):
        with open(SEQ, encoding="utf-8") as f:
            cls.a = json.load(f)
        cls.b = json.loads(json.dumps(cls.a))
        script = next(c for c in cls.b["components"] if c["name"] == "script")
        script["time_ns"]["runnable"] = 300000
        script["released_ns"] = 100000
        cls.b["pools"][0].update(busy_ns=980000, blocked_ns=0, runnable_ns=390000)

    def test_component_rows(self):
        rows = cmd_compare.compare_reports([("A", self.a), ("B", self.b)])
        by = {(r["section"], r["name"], r["metric"]): r for r in rows}
        r = by[("component", "script", "runnable")]
        self.assertEqual(r["values"], [100000, 300000])
        self.assertAlmostEqual(r["ratios"][1], 3.0)
        self.assertEqual(by[("component", "script", "released_ns")]["values"], [400000, 100000])
        self.assertEqual(by[("component", "layout", "held_ns")]["values"], [100000, 100000])
        self.assertEqual(by[("component", "fetch", "runs")]["values"], [3, 3])
        self.assertEqual(by[("component", "router", "runnable")]["values"], [0, 0])
        # runnable sits with the other states, before the message figures
        metrics = [x["metric"] for x in rows if x["section"] == "component"
                   and x["name"] == "script"]
        self.assertEqual(metrics.index("runnable"), metrics.index("outside") + 1)

    def test_pool_rows(self):
        rows = cmd_compare.compare_reports([("A", self.a), ("B", self.b)])
        by = {(r["metric"]): r for r in rows if r["section"] == "pool" and r["name"] == "pool-x"}
        p = self.a["pools"][0]
        for key in ("threads", "busy_ns", "idle_ns", "blocked_ns", "utilization", "runs",
                    "runnable_ns", "released_ns"):
            self.assertEqual(by[key]["values"][0], p[key], key)
        self.assertAlmostEqual(by["busy_ns"]["ratios"][1], 2.0)
        self.assertEqual(by["blocked_ns"]["values"], [100000, 0])
        text = cmd_compare.render_text(["A", "B"], rows)
        self.assertIn("pool pool-x", text)
        line = next(ln for ln in text.splitlines() if "runnable" in ln and "us" in ln
                    and "x3.00" in ln)
        self.assertIn(fmt.fmt_ns(300000), line)

    def test_with_a_thread_report(self):
        # one report with sequences is enough: the other's runnable is 0, its pools missing
        rows = cmd_compare.compare_reports([("A", vizcheck.load("report-basic.json")),
                                            ("B", self.a)])
        by = {(r["section"], r["name"], r["metric"]): r for r in rows}
        self.assertEqual(by[("component", "script", "runnable")]["values"][1], 100000)
        self.assertEqual(by[("pool", "pool-x", "busy_ns")]["values"], [None, 490000])

    def test_threads_only_unchanged(self):
        rows = cmd_compare.compare_reports([("A", vizcheck.load("report-basic.json")),
                                            ("B", vizcheck.load("report-routed.json"))])
        self.assertFalse([r for r in rows if r["metric"] in ("runnable", "runs")
                          or r["section"] == "pool"])


class CompareCliTest(unittest.TestCase):
    def test_table_json_html(self):
        with tempfile.TemporaryDirectory(prefix="lt-cmp-") as tmp:
            jpath = os.path.join(tmp, "cmp.json")
            status, out, err = run_cli(["compare", A, B, "--json", jpath, "--html",
                                        os.path.join(tmp, "html")])
            self.assertEqual(status, 0, err)
            self.assertIn("report-routed/report-basic", out)
            with open(jpath, encoding="utf-8") as f:
                doc = json.load(f)
            self.assertEqual(doc["schema"], "looptrace-compare/1")
            self.assertEqual(doc["labels"], ["report-basic", "report-routed"])
            page_path = os.path.join(tmp, "html", "index.html")
            with open(page_path, encoding="utf-8") as f:
                page = f.read()
            parsed = vizcheck.parse_page(page)
            self.assertIn("<svg", page)
            self.assertEqual(vizcheck.external_refs(page, parsed), [])
            self.assertIn("x2.00", "".join(parsed.text))
            self.assertIn("written to", err)

    def test_json_to_stdout_only(self):
        status, out, err = run_cli(["compare", A, B, "--json", "-"])
        self.assertEqual(status, 0, err)
        doc = json.loads(out)
        self.assertEqual(len(doc["labels"]), 2)

    def test_hostile_names_in_html(self):
        with tempfile.TemporaryDirectory(prefix="lt-cmp-") as tmp:
            h = os.path.join(vizcheck.DATA, "report-hostile.json")
            status, out, err = run_cli(["compare", A, h, "--html", tmp])
            self.assertEqual(status, 0, err)
            with open(os.path.join(tmp, "index.html"), encoding="utf-8") as f:
                page = f.read()
            self.assertNotIn("<script", page.lower())
            self.assertIn("<script>alert(1)</script>", "".join(vizcheck.parse_page(page).text))

    def test_bad_inputs(self):
        with tempfile.TemporaryDirectory(prefix="lt-cmp-") as tmp:
            garbage = os.path.join(tmp, "garbage.json")
            with open(garbage, "w") as f:
                f.write("{not json")
            other = os.path.join(tmp, "other.json")
            with open(other, "w") as f:
                json.dump({"schema": "something-else/3"}, f)
            newer = os.path.join(tmp, "newer.json")
            with open(newer, "w") as f:
                json.dump({"schema": "looptrace-report/2"}, f)
            empty_dir = os.path.join(tmp, "empty")
            os.mkdir(empty_dir)
            cases = [
                ([A, os.path.join(tmp, "missing.json")], "no such file"),
                ([A, garbage], "invalid JSON"),
                ([A, other], "not a looptrace JSON report"),
                ([A, newer], "unsupported report schema"),
                ([A], "at least two"),
                ([A, B, "--label", "x"], "--label"),
            ]
            for argv, expect in cases:
                status, out, err = run_cli(["compare"] + argv)
                self.assertNotEqual(status, 0, argv)
                lines = err.strip().splitlines()
                self.assertEqual(len(lines), 1, err)
                self.assertTrue(lines[0].startswith("looptrace: "), err)
                self.assertIn(expect, lines[0])
            # A folder is a trace: one without CTF metadata is refused with one line too.
            status, out, err = run_cli(["compare", A, empty_dir])
            self.assertNotEqual(status, 0)
            self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_user_error_type(self):
        with self.assertRaises(UserError):
            cmd_compare.load_input("/nonexistent/x.json")


if __name__ == "__main__":
    unittest.main()
