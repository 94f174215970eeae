"""The HTML report from hand-written schema-v1 fixtures: structure, figures, charts, no
external resources, and names from the trace shown as text, never as markup."""

import html.parser
import json
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vizcheck  # noqa: E402

from looptrace import charts  # noqa: E402
from looptrace import fmt  # noqa: E402
from looptrace import html as lthtml  # noqa: E402


def norm(text):
    """Whitespace (including the thin spaces between digit groups) as single spaces."""
    return " ".join(text.split())


class HtmlReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="lt-viz-")
        cls.report = vizcheck.load("report-basic.json")
        cls.path = lthtml.write_html(cls.report, os.path.join(cls.tmp.name, "out"))
        with open(cls.path, encoding="utf-8") as f:
            cls.page = f.read()
        cls.parsed = vizcheck.parse_page(cls.page)
        cls.text = norm("".join(cls.parsed.text))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_writes_index_html(self):
        self.assertEqual(os.path.basename(self.path), "index.html")
        self.assertTrue(self.page.startswith("<!DOCTYPE html>"))
        self.assertIn("html", self.parsed.tags)

    def test_every_component_and_channel_named(self):
        for c in self.report["components"]:
            self.assertIn(c["name"], self.text)
        for c in self.report["channels"]:
            self.assertIn(c["name"], self.text)

    def test_figures_as_in_json(self):
        # busy share, message counts and handler p50 for each component, as the JSON says.
        for c in self.report["components"]:
            pct = "%.1f %%" % (100.0 * c["time_ns"]["busy"] / c["wall_ns"])
            self.assertIn(pct, self.text, c["name"])
            self.assertIn(norm(fmt.fmt_num_html(c["messages"])), self.text)
            self.assertIn(fmt.fmt_ns_html(c["handle_ns"]["p50"]), self.text)
        for c in self.report["channels"]:
            self.assertIn(fmt.fmt_ns_html(c["queue_wait_ns"]["p99"]), self.text)
        self.assertIn(fmt.fmt_ns_html(self.report["flows"]["latency_ns"]["p99"]), self.text)

    def test_banners_in_plain_words(self):
        self.assertIn("120 events were lost in 1 window", self.text)
        # the finding of the JSON (components[].findings), in words
        self.assertIn("script blocked inside its handlers for 62.0 % of its time (71.3 % of its "
                      "handler time); its largest site: chan_recv of net-reply (88.7 % of that "
                      "blocking, 780 times); it was busy 25.0 % of its time.", self.text)
        for w in self.report["warnings"]:
            self.assertIn(w["message"], self.text)

    def test_inline_charts(self):
        n = self.page.count("<svg")
        # time split, timeline, throughput, channel depth, queue wait, backpressure,
        # flow latency, hops
        self.assertGreaterEqual(n, 8)
        self.assertIn("script", " ".join(self.parsed.svg_text))
        ids = re.findall(r'\bid="([^"]+)"', self.page)
        self.assertEqual(len(ids), len(set(ids)), "duplicate element ids across charts")

    def test_channels_without_series_noted(self):
        self.assertIn("No depth-over-time series in the report for net-reply, layout-in", self.text)

    def test_no_external_resources(self):
        self.assertEqual(vizcheck.external_refs(self.page, self.parsed), [])
        self.assertNotRegex(self.page, r"(?i)(src|href)\s*=\s*['\"]?\s*(https?:)?//")
        self.assertEqual(self.parsed.scripts, 0)
        self.assertNotIn("<!DOCTYPE svg", self.page)

    def test_unwritable_dir(self):
        from looptrace.errors import UserError

        blocker = os.path.join(self.tmp.name, "a-file")
        with open(blocker, "w") as f:
            f.write("x")
        with self.assertRaises(UserError):
            lthtml.write_html(self.report, blocker)
        with self.assertRaises(UserError):
            lthtml.write_html(self.report, os.path.join(blocker, "sub"))

    def test_empty_report(self):
        page = lthtml.render({"schema": "looptrace-report/1", "trace": {"events": 0},
                              "components": [], "channels": []})
        self.assertIn("The trace has no components", page)
        vizcheck.parse_page(page)


class RecordedShapeTest(unittest.TestCase):
    """A report as the analysis writes it for a recorded run (viz_prog): extra keys, ids per
    process, hops from outside any component, critical path as hop objects."""

    def test_renders(self):
        report = vizcheck.load("report-recorded.json")
        page = lthtml.render(report)
        parsed = vizcheck.parse_page(page)
        text = norm("".join(parsed.text))
        self.assertIn("outside any component", text)
        self.assertIn("Slowest flow", text)
        self.assertIn("blocks-in-handler component script", text)
        self.assertIn("split by reason in proportion to all blocking (an estimate)", text)
        self.assertRegex(text, r"script blocked inside its handlers for 59.2 % of its time "
                               r"\(60.3 % of its handler time\); its largest site: chan_recv of "
                               r"0x[0-9a-f]+")
        for c in report["components"]:
            self.assertIn(norm(fmt.fmt_num_html(c["messages"])), text)
        self.assertEqual(vizcheck.external_refs(page, parsed), [])

    def test_in_handler_ns_split(self):
        report = vizcheck.load("report-recorded.json")
        script = [c for c in report["components"] if c["name"] == "script"][0]
        script["blocked_by"] = [
            {"reason": "chan_recv", "ns": 100, "count": 1, "in_handler_ns": 25},
            {"reason": "mutex", "ns": 300, "count": 3, "in_handler_ns": 75}]
        split = dict(charts.blocked_in_handler_by_reason(script))
        total = script["time_ns"]["blocked_in_handler"]
        self.assertAlmostEqual(split["mutex"], total * 0.75)
        self.assertAlmostEqual(split["chan_recv"], total * 0.25)
        text = norm("".join(vizcheck.parse_page(lthtml.render(report)).text))
        self.assertNotIn("(an estimate)", text)
        # the sentence names the entry the finding points at (the analysis chose it)
        finding = script["findings"][0]
        finding.update(site=1, site_share=0.75)
        text = norm("".join(vizcheck.parse_page(lthtml.render(report)).text))
        self.assertIn("its largest site: mutex (75.0 % of that blocking, 3 times)", text)
        finding.update(site=0, site_share=0.25)
        text = norm("".join(vizcheck.parse_page(lthtml.render(report)).text))
        self.assertIn("its largest site: chan_recv (25.0 % of that blocking, 1 time)", text)


class HostileNamesTest(unittest.TestCase):
    def test_script_name_is_text(self):
        report = vizcheck.load("report-hostile.json")
        with tempfile.TemporaryDirectory(prefix="lt-viz-") as tmp:
            with open(lthtml.write_html(report, tmp), encoding="utf-8") as f:
                page = f.read()
        parsed = vizcheck.parse_page(page)  # raises on any on*= attribute
        self.assertEqual(parsed.scripts, 0, "a <script> element reached the page")
        self.assertNotIn("<script", page.lower())
        self.assertNotIn("<img", page.lower())
        text = " ".join(parsed.text)
        self.assertIn("<script>alert(1)</script>", text)
        self.assertIn("<img src=x onerror=alert(2)>", text)
        self.assertIn('net & "quotes" \'x\' $5$ _under', text)
        svg_text = " ".join(parsed.svg_text)
        self.assertIn("<script>alert(1)</script>", svg_text, "name missing from chart labels")
        self.assertIn("$5$", svg_text, "a $ in a name was read as mathtext")
        self.assertEqual(vizcheck.external_refs(page, parsed), [])

    def test_control_characters(self):
        report = vizcheck.load("report-basic.json")
        report["components"][0]["name"] = "bad\x01name\x7f\ud800"
        page = lthtml.render(report)
        self.assertNotIn("\x01", page)
        self.assertNotIn("\x7f", page)
        page.encode("utf-8")  # no lone surrogate left


class TableParser(html.parser.HTMLParser):
    """Every <table> of a page as a list of rows, each a list of its cells' text (the SVG
    text excluded: charts come before the tables they illustrate)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self.cell, self.svg = [], None, 0

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self.svg += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append(" ")

    def handle_endtag(self, tag):
        if tag == "svg":
            self.svg -= 1
        elif tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append(norm("".join(self.cell)))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None and not self.svg:
            self.cell.append(data)


def tables(page):
    """The tables of `page`, each [header row, rows...]."""
    p = TableParser()
    p.feed(page)
    return [t for t in p.tables if t and t[0]]


def table_with(tabs, *headers):
    """The one table whose header row has all of `headers`."""
    hits = [t for t in tabs if all(h in t[0] for h in headers)]
    assert len(hits) == 1, (headers, [t[0] for t in tabs])
    return hits[0]


def column(table, header):
    """{first cell of each row: the cell under `header`}."""
    i = table[0].index(header)
    return {r[0]: r[i] for r in table[1:]}


class SequenceHtmlTest(unittest.TestCase):
    """report-seq.json (the analysis core's sequences on a one-thread pool, shared with the
    terminal tests): runnable, where each sequence runs, tasks, pools, released awaits and
    the holds-pool-thread finding appear on the page with the JSON's figures."""

    @classmethod
    def setUpClass(cls):
        path = os.path.join(vizcheck.ROOT, "tests", "report", "data", "report-seq.json")
        with open(path, encoding="utf-8") as f:
            cls.report = json.load(f)
        cls.page = lthtml.render(cls.report)
        cls.parsed = vizcheck.parse_page(cls.page)
        cls.text = norm("".join(cls.parsed.text))
        cls.tables = tables(cls.page)
        cls.comps = {c["name"]: c for c in cls.report["components"]}

    def cell_pct_ns(self, part, whole):
        return norm("%s %s" % (fmt.fmt_pct_html(part, whole), fmt.fmt_ns_html(part)))

    def test_runnable_column(self):
        t = table_with(self.tables, "component", "wall", "runnable")
        runnable = column(t, "runnable")
        where = column(t, "tid / @pool")
        for name, c in self.comps.items():
            row = name + (" (%d tasks)" % c["tasks"] if c["task"] else "")
            self.assertEqual(runnable[row], self.cell_pct_ns(c["time_ns"]["runnable"],
                                                             c["wall_ns"]), name)
            self.assertEqual(where[row], "@pool-x" if c["sequence"] else str(c["tid"]))
        self.assertEqual(runnable["script"], norm("10.0 % 100 \u00b5s"))
        self.assertIn("fetch (3 tasks)", column(t, "wall"))

    def test_time_split_draws_runnable(self):
        svg = self.page[self.page.index("<svg"):self.page.index("</svg>")]
        self.assertIn(charts.STATE_LABELS["runnable"], svg)
        # script, fetch: one runnable bar each
        self.assertEqual(svg.count("fill: %s" % charts.COLORS["runnable"]), 2 + 1)  # + legend

    def test_pools_table(self):
        t = table_with(self.tables, "pool", "runnable")
        self.assertEqual(len(t), 1 + len(self.report["pools"]))
        row = dict(zip(t[0], t[1]))
        p = self.report["pools"][0]
        whole = p["busy_ns"] + p["idle_ns"] + p["blocked_ns"]
        self.assertEqual(row["pool"], p["name"])
        self.assertEqual(row["threads"], str(p["threads"]))
        self.assertEqual(row["utilization"], fmt.fmt_pct_html(p["utilization"], 1))
        for k in ("busy", "idle", "blocked"):
            self.assertEqual(row[k], self.cell_pct_ns(p[k + "_ns"], whole))
        for k in ("runs", "components", "tasks"):
            self.assertEqual(row[k], norm(fmt.fmt_num_html(p[k])))
        for k in ("runnable", "released"):
            self.assertEqual(row[k], fmt.fmt_ns_html(p[k + "_ns"]))
        self.assertEqual(row["blocked"], norm("10.0 % 100 \u00b5s"))

    def test_released_in_blocked_table(self):
        t = table_with(self.tables, "component", "reason", "released")
        rows = {(r[0], r[3]): dict(zip(t[0], r)) for r in t[1:]}
        for c in self.report["components"]:
            for e in c["blocked_by"]:
                self.assertEqual(rows[(c["name"], e["reason"])]["released"],
                                 fmt.fmt_ns_html(e["released_ns"]))
        self.assertEqual(rows[("script", "chan_recv")]["released"], fmt.fmt_ns_html(400000))
        self.assertEqual(rows[("layout", "mutex")]["tid / @pool"], "@pool-x")

    def test_holds_pool_thread_finding(self):
        self.assertIn('data-finding="holds-pool-thread"', self.page)
        self.assertIn("layout blocked for 10.0 % of its time holding a thread of pool pool-x "
                      "(a blocking call, not an await; its largest site: mutex of 0xa0 at 0x7)",
                      self.text)
        self.assertIn("400 \u00b5s of it awaiting with its pool thread released", self.text)

    def test_thread_report_unchanged(self):
        page = lthtml.render(vizcheck.load("report-basic.json"))
        self.assertNotIn("runnable", page)
        self.assertNotIn("<h2>Pools</h2>", page)
        self.assertNotIn("released", page)


class BlockedCallTest(unittest.TestCase):
    """The Blocked table ("What components blocked on") has the terminal's `call` column: the
    wrapped call that blocked, an en dash for the program's own lt_block_* (no `call`)."""

    def blocked(self, report):
        t = table_with(tables(lthtml.render(report)), "component", "reason", "call site")
        return t[0], [dict(zip(t[0], r)) for r in t[1:]]

    def test_call_column(self):
        report = vizcheck.load("report-basic.json")
        script = report["components"][0]
        script["blocked_by"][1]["call"] = "pthread_mutex_lock"
        headers, rows = self.blocked(report)
        self.assertEqual(headers[headers.index("reason") + 1], "call")
        calls = {(r["component"], r["reason"]): r["call"] for r in rows}
        self.assertEqual(calls, {("script", "chan_recv"): "\u2013",
                                 ("script", "mutex"): "pthread_mutex_lock",
                                 ("script", "sleep"): "\u2013",
                                 ("router", "io"): "\u2013"})
        # the same cell as the terminal's
        from looptrace import render_text as rt
        term = {(r[0], r[2]): r[rt.BLOCKED_HEADERS.index("call")] for r in rt.blocked_rows(report)}
        self.assertEqual(term[("script", "mutex")], "pthread_mutex_lock")

    def test_call_is_text(self):
        report = vizcheck.load("report-basic.json")
        report["components"][0]["blocked_by"][0]["call"] = "<b>epoll_wait</b>"
        page = lthtml.render(report)
        self.assertNotIn("<b>epoll_wait</b>", page)
        _, rows = self.blocked(report)
        self.assertIn("<b>epoll_wait</b>", [r["call"] for r in rows])


def reply(cid, pid, sends, wait, group=None):
    """A channels[] entry of a per-request reply channel, as the analysis writes it."""
    ch = {"id": cid, "name": "reply", "pid": pid, "declared": True, "capacity": 1,
          "sends": sends, "recvs": sends, "depth": 0, "max_depth": 1, "mean_depth": 0.01,
          "queue_wait_ns": {"p50": wait, "p90": wait, "p99": wait, "max": wait,
                            "count": sends, "mean": wait},
          "send_blocked_ns": 0, "send_blocked_count": 0, "ipc": False,
          "littles_law": {"L": 0.01, "lambda": 1.0, "W": wait / 1e9, "ratio": 2.0}}
    if group is not None:
        ch["group"] = group
    return ch


class ChannelGroupHtmlTest(unittest.TestCase):
    """Channels of one name made per request: the three `reply` channels of pid 7 that the
    analysis put in one group are one row `reply ×3` with the group's figures (channel_groups),
    where the first of them was; `reply` of pid 8 keeps its own row; the charts name the
    group once."""

    GROUP = {"id": 11, "name": "reply", "pid": 7, "instances": 3, "ipc": False,
             "declared": True, "capacity": 1, "sends": 12, "recvs": 12, "depth": 0,
             "max_depth": 1, "mean_depth": 0.01,
             "queue_wait_ns": {"p50": 2000, "p90": 5000, "p99": 7000, "max": 7000,
                               "count": 12, "mean": 3000},
             "send_blocked_ns": 0, "send_blocked_count": 0,
             "littles_law": {"L": 0.03, "lambda": 6.0, "W": 3e-06, "ratio": 1.0},
             "lost_overlap": False}

    def setUp(self):
        self.report = vizcheck.load("report-basic.json")
        for c in self.report["channels"]:
            c["pid"] = 7
        self.report["channels"][1:1] = [reply(11, 7, 2, 1000, 11), reply(12, 7, 3, 2000, 11),
                                        reply(11, 8, 5, 9000)]
        self.report["channels"].append(reply(13, 7, 7, 7000, 11))
        self.report["channel_groups"] = [dict(self.GROUP)]

    def channel_rows(self, report):
        page = lthtml.render(report)
        t = table_with(tables(page), "channel", "sends", "send blocked")
        return page, [dict(zip(t[0], r)) for r in t[1:]]

    def test_one_row(self):
        page, rows = self.channel_rows(self.report)
        self.assertEqual([r["channel"] for r in rows],
                         ["script-in", "reply \u00d73", "reply", "net-req", "net-reply",
                          "layout-in"])
        g = rows[1]
        self.assertEqual((g["capacity"], g["sends"], g["recvs"], g["wait p50"], g["p99"],
                          g["max"], g["Little L/(\u03bbW)"]),
                         ("1", "12", "12", "2 \u00b5s", "7 \u00b5s", "7 \u00b5s", "1"))
        self.assertEqual((rows[2]["sends"], rows[2]["wait p50"]), ("5", "9 \u00b5s"))
        text = norm("".join(vizcheck.parse_page(page).text))
        self.assertIn("NAME \u00d7N: N channels of that name in one process", text)
        # the queue-wait and backpressure charts: a bar for the group and one for pid 8's
        # reply in each, none per member
        words = " ".join(vizcheck.parse_page(page).svg_text).split()
        self.assertEqual(words.count("\u00d73"), 2, words)
        self.assertEqual(words.count("reply"), 4, words)

    def test_without_groups_one_row_per_channel(self):
        del self.report["channel_groups"]
        _, rows = self.channel_rows(self.report)
        self.assertEqual([r["channel"] for r in rows].count("reply"), 4)
        self.assertNotIn("NAME \u00d7N", lthtml.render(self.report))


if __name__ == "__main__":
    unittest.main()
