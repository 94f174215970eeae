"""Unit tests of the terminal rendering (render_text) against fixture reports."""

import html as _html
import json
import os
import re
import unittest

import ltutil
from looptrace import fmt
from looptrace import html as lthtml
from looptrace import render_text as rt
from looptrace import symbolize


def load(name):
    with open(os.path.join(ltutil.DATA, name)) as f:
        return json.load(f)


class EscapeTest(unittest.TestCase):
    def test_controls(self):
        self.assertEqual(rt.escape("a\x1b[31mb"), "a\\x1b[31mb")
        self.assertEqual(rt.escape("a\nb\tc\rd\x00e\x7f"), "a\\x0ab\\x09c\\x0dd\\x00e\\x7f")
        self.assertEqual(rt.escape("c1\x9b"), "c1\\x9b")
        self.assertEqual(rt.escape("back\\slash"), "back\\\\slash")

    def test_invisible_unicode(self):
        self.assertEqual(rt.escape("x\u202ey"), "x\\u202ey")
        self.assertEqual(rt.escape("zero\u200bwidth"), "zero\\u200bwidth")
        self.assertEqual(rt.escape("sep\u2028"), "sep\\u2028")

    def test_undecodable_bytes(self):
        raw = b"bad\xff\xfename".decode("utf-8", "surrogateescape")
        self.assertEqual(rt.escape(raw), "bad\\xff\\xfename")

    def test_printable_kept(self):
        for s in ["script", "r\u00e9seau", "\u6e32\u67d3", "a,b \"c\" 'd'"]:
            self.assertEqual(rt.escape(s), s)

    def test_none_and_numbers(self):
        self.assertEqual(rt.escape(None), "-")
        self.assertEqual(rt.escape(12), "12")

    def test_width(self):
        self.assertEqual(rt.width("abc"), 3)
        self.assertEqual(rt.width("\u6e32\u67d3"), 4)
        self.assertEqual(rt.width("e\u0301"), 1)


class UnitsTest(unittest.TestCase):
    def test_ns(self):
        cases = [(0, "0ns"), (999, "999ns"), (1000, "1.00us"), (12345, "12.3us"),
                 (123456, "123us"), (4560000, "4.56ms"), (1230000000, "1.23s"),
                 (3600e9, "3600s"), (None, "-"), ("x", "-"), (-1500, "-1.50us")]
        for ns, text in cases:
            self.assertEqual(fmt.fmt_ns(ns), text, ns)

    def test_rate_pct(self):
        self.assertEqual(fmt.fmt_rate(0.5), "0.50")
        self.assertEqual(fmt.fmt_rate(50.0), "50.0")
        self.assertEqual(fmt.fmt_rate(1234), "1234")
        self.assertEqual(fmt.fmt_rate(12345), "12.3k")
        self.assertEqual(fmt.fmt_rate(4560000), "4.56M")
        self.assertEqual(fmt.fmt_pct(1, 4), "25.0%")
        self.assertEqual(fmt.fmt_pct(1, 0), "-")
        self.assertEqual(fmt.fmt_frac(0.955), "95.5%")
        self.assertEqual(fmt.fmt_frac(None), "-")


class CallSiteTest(unittest.TestCase):
    """The blocked-on call site reads the same in the terminal and the HTML report (and in
    blocked.csv's call_site, test_csv.py): the symbolized name when `looptrace report` named
    the `where` address, else that address in hex."""

    NAMED = "start_fetch (components.c:302) in script_on_input"

    def setUp(self):
        self.report = load("report-v1.json")
        self.entry = self.report["components"][0]["blocked_by"][0]
        self.assertEqual(self.entry["where"], 0x401000)  # the fixture's address

    def name_it(self):
        # What symbolize.annotate_report() stores for an inlined call found by addr2line.
        detail = {"where": 0x401000, "path": "/opt/demo/looptrace-demo", "offset": 0xfff,
                  "function": "start_fetch", "file": "/src/demo/components.c", "line": 302,
                  "caller": "script_on_input"}
        self.entry["site"] = symbolize.format_site(detail)
        self.entry["site_detail"] = detail

    def terminal_site(self):
        rows = rt.blocked_rows(self.report)
        self.assertEqual(len(rows), 1)
        return rows[0][rt.BLOCKED_HEADERS.index("call site")]

    def html_site(self):
        page = lthtml.render(self.report)
        table = page.split("<h3>What components blocked on</h3>", 1)[1].split("</table>", 1)[0]
        headers = [_html.unescape(re.sub("<[^>]*>", "", h))
                   for h in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)]
        rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
        cells = [[_html.unescape(re.sub("<[^>]*>", "", c))
                  for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows]
        cells = [c for c in cells if c]
        self.assertEqual(len(cells), 1, table)
        return cells[0][headers.index("call site")]

    def test_named_site_in_terminal_and_html(self):
        self.name_it()
        self.assertEqual(self.terminal_site(), self.NAMED)
        self.assertEqual(self.html_site(), self.NAMED)

    def test_unnamed_site_is_the_hex_address(self):
        self.assertEqual(self.terminal_site(), "0x401000")
        self.assertEqual(self.html_site(), "0x401000")

    def test_name_is_escaped_in_html(self):
        self.entry["site"] = "f<script>x</script> (a.c:1)"
        page = lthtml.render(self.report)
        self.assertNotIn("<script>x", page)
        self.assertEqual(self.html_site(), "f<script>x</script> (a.c:1)")


class NoMessagesTest(unittest.TestCase):
    """Threads without looptrace loop events (recorded with --interpose): several rows of the
    same name, told apart by pid/tid; no throughput, utilization or parallelism figures ("-"
    where the docs promise it), no contradicting banners, no empty throughput chart."""

    def setUp(self):
        self.report = load("report-interposed.json")

    def test_terminal_dashes(self):
        rows = rt.message_rows(self.report)
        self.assertEqual(len(rows), 3)
        for row in rows:
            self.assertEqual(row[rt.MESSAGE_HEADERS.index("msgs")], "0")
            self.assertEqual(row[rt.MESSAGE_HEADERS.index("msgs/s")], "-")
            self.assertEqual(row[rt.MESSAGE_HEADERS.index("util")], "-")
        text = rt.render(self.report)
        self.assertIn("parallelism: - (no component handled a message)", text)
        self.assertNotIn("0.00", text)
        # A component that handled messages keeps its figures.
        v1 = rt.message_rows(load("report-v1.json"))
        self.assertEqual(v1[0][rt.MESSAGE_HEADERS.index("msgs/s")], "50.0")
        self.assertEqual(v1[0][rt.MESSAGE_HEADERS.index("util")], "20.0%")
        self.assertIn("parallelism: 1.15", rt.render(load("report-v1.json")))

    def test_terminal_blocked_pid_tid(self):
        rows = rt.blocked_rows(self.report)
        col = rt.BLOCKED_HEADERS.index("pid/tid")
        self.assertEqual([r[0] for r in rows], ["worker"] * 3)
        self.assertEqual([r[col] for r in rows], ["4100/4100", "4100/4101", "4200/4200"])
        header = [ln for ln in rt.render(self.report).splitlines()
                  if ln.startswith("component  pid/tid    reason")]
        self.assertEqual(len(header), 1)

    def html_table(self, page, title):
        table = page.split(title, 1)[1].split("</table>", 1)[0]
        headers = [_html.unescape(re.sub("<[^>]*>", "", h))
                   for h in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)]
        rows = [[_html.unescape(re.sub("<[^>]*>", "", c))
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
                for r in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
        return [dict(zip(headers, r)) for r in rows if r]

    def test_html(self):
        page = lthtml.render(self.report)
        blocked = self.html_table(page, "<h3>What components blocked on</h3>")
        self.assertEqual(sorted((r["component"], r["pid"], r["tid"]) for r in blocked),
                         [("worker", "4100", "4100"), ("worker", "4100", "4101"),
                          ("worker", "4200", "4200")])
        comps = self.html_table(page, "<h2>Components</h2>")
        self.assertEqual([r["msg/s"] for r in comps], ["\u2013"] * 3)
        times = self.html_table(page, "<h3>Handler and queue-wait times</h3>")
        self.assertEqual([r["utilization"] for r in times], ["\u2013"] * 3)
        # Findings say what the threads waited on, not "outside its handlers", and no
        # "No warnings." banner follows them.
        self.assertNotIn("outside its handlers", page)
        self.assertNotIn("No warnings.", page)
        self.assertEqual(page.count('<div class="banner info" data-finding="blocked-no-messages"'),
                         3)
        self.assertIn("(pid 4100, tid 4100) was blocked for 99.0 % of its time; its largest "
                      "site: io of <code>0x7</code> at <code>0x401111</code> (100.0 % of it)",
                      page)
        self.assertIn("(pid 4100, tid 4101) was blocked for 98.0 %", page)
        # No empty throughput chart: a note instead; no parallelism figure.
        self.assertNotIn("Throughput over time", page)
        self.assertIn("No messages: no component handled one", page)
        self.assertIn("No component handled a message: no parallelism figure.", page)
        self.assertNotIn("On average 0 components", page)

    def test_html_with_messages_unchanged(self):
        page = lthtml.render(load("report-v1.json"))
        self.assertIn("Throughput over time", page)
        self.assertIn("On average", page)


def reply(cid, pid, sends, wait, group=None):
    """A channels[] entry of a per-request reply channel (what the analysis writes)."""
    ch = {"id": cid, "name": "reply", "pid": pid, "declared": True, "capacity": 1,
          "sends": sends, "recvs": sends, "depth": 0, "max_depth": 1, "mean_depth": 0.01,
          "queue_wait_ns": {"p50": wait, "p90": wait, "p99": wait, "max": wait,
                            "count": sends, "mean": wait},
          "send_blocked_ns": 0, "send_blocked_count": 0, "ipc": False}
    if group is not None:
        ch["group"] = group
    return ch


class ChannelGroupTest(unittest.TestCase):
    """Channels of one name made per request (report-v1.json plus three `reply` channels of
    pid 4242 in one group, as the analysis writes them, and a `reply` of another process):
    one row `reply x3` with the group's figures in the terminal and CSV (the HTML page:
    tests/viz/test_html.py); the other process's `reply` keeps its own row; without
    channel_groups, one row per channel."""

    GROUP = {"id": 11, "name": "reply", "pid": 4242, "instances": 3, "ipc": False,
             "declared": True, "capacity": 1, "sends": 12, "recvs": 12, "depth": 0,
             "max_depth": 1, "mean_depth": 0.01,
             "queue_wait_ns": {"p50": 2000, "p90": 5000, "p99": 7000, "max": 7000,
                               "count": 12, "mean": 3000},
             "send_blocked_ns": 0, "send_blocked_count": 0,
             "littles_law": {"L": 0.03, "lambda": 6.0, "W": 3e-06, "ratio": 1.0},
             "lost_overlap": False}

    def setUp(self):
        self.report = load("report-v1.json")
        self.report["channels"] += [reply(11, 4242, 2, 1000, 11), reply(12, 4242, 3, 2000, 11),
                                    reply(11, 9999, 5, 9000), reply(13, 4242, 7, 7000, 11)]
        self.report["channel_groups"] = [dict(self.GROUP)]

    def rows(self, report):
        return [r for r in rt.channel_rows(report) if r[0].startswith("reply")]

    def test_terminal_one_row(self):
        rows = self.rows(self.report)
        self.assertEqual(rows, [
            ["reply x3", "1", "12", "12", "1", "0.01", "2.00us", "7.00us", "0ns"],
            ["reply", "1", "5", "5", "1", "0.01", "9.00us", "9.00us", "0ns"]])
        text = rt.render(self.report)
        self.assertEqual(sum(ln.startswith("reply x3 ") for ln in text.splitlines()), 1)
        # where the first of them was: after the fixture's two channels
        names = [r[0] for r in rt.channel_rows(self.report)]
        self.assertEqual(names[2:], ["reply x3", "reply"])

    def test_without_groups_one_row_per_channel(self):
        del self.report["channel_groups"]
        self.assertEqual([r[0] for r in self.rows(self.report)], ["reply"] * 4)

    def test_group_of_another_process_not_used(self):
        # The group names pid 4242: a member claiming it from pid 9999 is not folded in.
        self.report["channels"][4]["group"] = 11
        self.assertEqual([r[0] for r in self.rows(self.report)], ["reply x3", "reply"])

    def test_csv_one_row(self):
        import csv
        import shutil
        import tempfile

        from looptrace import render_csv

        tmp = tempfile.mkdtemp(prefix="lt-csv-")
        try:
            render_csv.write_csv(self.report, tmp)
            with open(os.path.join(tmp, "channels.csv"), newline="") as f:
                rows = [r for r in csv.DictReader(f) if r["name"] == "reply"]
        finally:
            shutil.rmtree(tmp)
        self.assertEqual([(r["id"], r["sends"], r["recvs"], r["queue_wait_ns_p50"],
                           r["littles_law_ratio"], r["instances"]) for r in rows],
                         [("11", "12", "12", "2000", "1.0", "3"),
                          ("11", "5", "5", "9000", "", "1")])


class RenderTest(unittest.TestCase):
    def setUp(self):
        self.report = load("report-v1.json")
        self.text = rt.render(self.report)
        self.lines = self.text.splitlines()

    def test_no_raw_controls(self):
        for ch in self.text:
            if ch != "\n":
                self.assertTrue(ch.isprintable(), "unprintable %r in output" % ch)
        self.assertNotIn("\x1b", self.text)
        self.assertNotIn("\u202e", self.text)

    def test_escaped_names_present(self):
        self.assertIn('evil\\x1b[31mred\\x07,"quoted"\\x0anewline', self.text)
        self.assertIn("net\\x09unbounded \\u202eevil", self.text)

    def test_long_name_whole(self):
        name = self.report["components"][2]["name"]
        self.assertIn(name, self.lines)  # on a line of its own, not truncated
        i = self.lines.index(name)
        self.assertIn("5000/5000", self.lines[i + 1])

    def section(self, title):
        """The lines of the table under the line `title`, up to the next empty line."""
        i = self.lines.index(title)
        j = self.lines.index("", i)
        return self.lines[i + 1:j]

    def test_component_numbers(self):
        times = self.section("Components: time (as % of each component's wall time)")
        row = next(ln for ln in times if ln.startswith("script "))
        self.assertEqual(row.split(), ["script", "4242/4243", "20.0%", "50.0%", "25.0%", "2.5%",
                                       "2.5%", "22.5%", "-"])
        msgs = self.section("Components: messages")
        row = next(ln for ln in msgs if ln.startswith("script "))
        self.assertEqual(row.split(), ["script", "4242/4243", "100", "50.0", "20.0%", "9.00ms",
                                       "12.0ms", "1.50us", "350us"])

    def test_time_shares_add_up_to_wall(self):
        """The time table's shares, outside included, are time_ns: they add up to 100 %."""
        times = self.section("Components: time (as % of each component's wall time)")
        header = times[0].split()
        self.assertEqual(header[2:7], ["busy", "idle", "blk-in-hdl", "blk-outside", "outside"])
        for c in self.report["components"]:
            if not c.get("wall_ns"):
                continue
            self.assertEqual(sum(c["time_ns"].values()), c["wall_ns"], c["name"])
            row = next(r for r in rt.time_rows(self.report) if r[0] == rt.comp_name(c))
            shares = [float(x.rstrip("%")) for x in row[2:7]]
            self.assertAlmostEqual(sum(shares), 100.0, delta=0.25, msg=row)
            self.assertEqual(row[rt.TIME_HEADERS.index("outside")],
                             fmt.fmt_pct(c["time_ns"]["outside"], c["wall_ns"]))

    def test_tables_fit_in_120_columns(self):
        for title in ("Components: time (as % of each component's wall time)",
                      "Components: messages", "Channels"):
            for ln in self.section(title):
                if ln != self.report["components"][2]["name"]:  # a long name on its own line
                    self.assertLessEqual(rt.width(ln), 120, ln)
        for ln in self.lines:
            if ln.startswith("  ") and ln[2:3] != " ":  # the notes under the tables
                self.assertLessEqual(rt.width(ln), 100, ln)

    def test_channel_numbers(self):
        row = next(ln for ln in self.lines if ln.startswith("net\\x09"))
        for cell in ["unbounded", "2500000", "2499990", "1024", "512.5", "120ns", "900ns",
                     "1.23ms"]:
            self.assertIn(cell, row.split())

    def test_ipc_channel_names_its_ends(self):
        # One IPC channel (ends in pids 10 and 20, messages sent in 10, received in 20)
        report = load("report-v1.json")
        ch = dict(report["channels"][0], name="rpc", ipc=True, pids=[10, 20],
                  ends=[{"id": 1, "pid": 10, "sends": 7, "recvs": 0},
                        {"id": 1, "pid": 20, "sends": 0, "recvs": 7}])
        report["channels"] = [ch] + report["channels"][1:]
        text = rt.render(report)
        self.assertTrue(any(ln.startswith("rpc (ipc 10>20) ") for ln in text.splitlines()))
        page = lthtml.render(report)
        self.assertIn("<code>rpc</code> (ipc 10&gt;20)", page)
        self.assertNotIn("(ipc", self.text)  # channels of one process are not marked

    def test_columns_aligned(self):
        i = self.lines.index("Channels")
        header, rule = self.lines[i + 1], self.lines[i + 2]
        rows = self.lines[i + 3:i + 5]
        ends = [j + 1 for j, ch in enumerate(rule) if ch == "-" and
                (j + 1 == len(rule) or rule[j + 1] == " ")]
        for ln in rows + [header]:
            self.assertEqual(rt.width(ln), ends[-1], ln)

    def test_order_warnings_then_banner(self):
        w = self.text.index("warning: [blocks-in-handler] component script:")
        b = self.text.index("LOST EVENTS: 42 events lost in 1 window")
        c = self.text.index("Channels")
        self.assertLess(c, w)
        self.assertLess(w, b)
        self.assertIn("warning: [queue-growth] channel net\\x09unbounded", self.text)
        self.assertIn("from +500ms to +600ms", self.text)

    def test_ids_are_per_process(self):
        self.assertIn("warning: [blocks-in-handler] component peer-in-other-process: other "
                      "process, same id", self.text)
        self.assertIn("warning: [blocks-in-handler] component script:", self.text)
        row = next(ln for ln in self.lines if ln.startswith("peer-in-other-process"))
        self.assertIn("9999/-", row.split())

    def test_banner_names_what_overlaps_a_loss(self):
        self.report["components"][0]["lost_overlap"] = True
        self.report["channels"][1]["lost_overlap"] = True
        text = rt.render(self.report)
        self.assertIn("!! Not exact (overlap a window): component script, channel "
                      "net\\x09unbounded \\u202eevil", text)

    def test_empty_distribution_shown_as_dash(self):
        c = self.report["components"][0]
        c["handle_ns"] = {"p50": 0, "p90": 0, "p99": 0, "max": 0, "count": 0, "mean": 0}
        row = rt.message_rows(self.report)[0]
        i = rt.MESSAGE_HEADERS.index("handle p50")
        self.assertEqual(row[i:i + 2], ["-", "-"])
        self.assertNotEqual(row[i + 2:i + 4], ["-", "-"])

    def test_empty_report(self):
        text = rt.render(load("report-empty.json"))
        self.assertIn("(none)", text)
        self.assertNotIn("LOST", text)
        self.assertNotIn("warning", text)

    def test_missing_keys_tolerated(self):
        text = rt.render({"schema": "looptrace-report/1", "trace": {},
                          "components": [{"name": "x"}], "channels": [{}],
                          "warnings": [{"kind": "new-kind", "component": 99}]})
        self.assertIn("x", text)
        self.assertIn("warning: [new-kind] component #99", text)

    def test_newer_keys_ignored(self):
        self.report["components"][0]["future_key"] = {"a": 1}
        self.report["future_section"] = [1, 2]
        self.assertEqual(rt.render(self.report), self.text)


class LoopTopTest(unittest.TestCase):
    """Interposed threads: the loop top each took (site, call, detected or given), the call
    that blocked, running and CPU time, and the note when running exceeds CPU time."""

    def comp(self, name, busy, idle, outside, cpu, loop_top=None):
        wall = busy + idle + outside
        return {"name": name, "pid": 7, "tid": 8, "wall_ns": wall, "messages": 3,
                "time_ns": {"busy": busy, "idle": idle, "blocked_in_handler": 0,
                            "blocked_outside": 0, "outside": outside},
                "cpu_ns": cpu, "loop_top": loop_top, "interposed": True,
                "blocked_by": [{"reason": "mutex", "call": "pthread_mutex_lock",
                                "object": "0x1", "where": "0x2", "ns": 5, "count": 1,
                                "in_handler_ns": 5}]}

    def test_loop_top_rows_and_columns(self):
        lt = {"how": "given", "call": "epoll_wait", "where": "0x55", "site": "f (a.c:3)",
              "waits": 4}
        rep = {"components": [self.comp("loop", 600, 300, 100, 650, lt),
                              self.comp("plain", 0, 0, 1000, None)]}
        self.assertEqual(rt.loop_rows(rep), [["loop", "7/8", "f (a.c:3)", "epoll_wait", "given",
                                              "4"]])
        rows = rt.time_rows(rep)
        self.assertEqual(rows[0][rt.TIME_HEADERS.index("outside")], "10.0%")
        self.assertEqual(rows[0][rt.TIME_HEADERS.index("running")], "70.0%")
        self.assertEqual(rows[0][rt.TIME_HEADERS.index("cpu")], "65.0%")
        self.assertEqual(rows[1][rt.TIME_HEADERS.index("cpu")], "-")
        blocked = rt.blocked_rows(rep)
        self.assertEqual(blocked[0][rt.BLOCKED_HEADERS.index("call")], "pthread_mutex_lock")
        text = rt.render(rep)
        self.assertIn("Loop tops", text)
        self.assertRegex(text, r"loop +7/8 +f \(a\.c:3\) +epoll_wait +given +4")

    def test_cpu_gap_note(self):
        rep = {"components": [self.comp("slow", 900, 0, 100, 400),
                              self.comp("fine", 900, 0, 100, 990)]}
        notes = rt.cpu_gap_lines(rep)
        self.assertEqual(len(notes), 0)  # below 1 ms: noise
        rep = {"components": [self.comp("slow", 9_000_000, 0, 1_000_000, 4_000_000),
                              self.comp("fine", 9_000_000, 0, 1_000_000, 9_900_000)]}
        notes = rt.cpu_gap_lines(rep)
        self.assertEqual(len(notes), 1)
        self.assertIn("slow 7/8: running 10.0ms but on a CPU 4.00ms: 6.00ms", notes[0])
        self.assertIn("waiting for a CPU or in calls the interposer does not wrap", notes[0])


class SequenceRenderTest(unittest.TestCase):
    """report-seq.json (sequences on a one-thread pool, from the analysis core): the terminal
    shows runnable, where each sequence runs, the pool's split and awaits that released."""

    def setUp(self):
        self.report = load("report-seq.json")
        self.text = rt.render(self.report)
        self.lines = self.text.splitlines()

    def test_runnable_column(self):
        header = next(ln for ln in self.lines if ln.startswith("component "))
        self.assertEqual(header.split()[2:8], ["busy", "idle", "blk-in-hdl", "blk-outside",
                                               "runnable", "outside"])
        row = next(ln for ln in self.lines if ln.startswith("script "))
        c = next(c for c in self.report["components"] if c["name"] == "script")
        self.assertIn("100/@pool-x", row.split())
        self.assertEqual(row.split()[6], fmt.fmt_pct(c["time_ns"]["runnable"], c["wall_ns"]))
        self.assertEqual(row.split()[6], "10.0%")
        # with runnable, the shares still add up to the wall time
        for c in self.report["components"]:
            row = next(r for r in rt.time_rows(self.report) if r[0] == rt.comp_name(c))
            self.assertAlmostEqual(sum(float(x.rstrip("%")) for x in row[2:8]), 100.0,
                                   delta=0.3, msg=row)
        self.assertTrue(any(ln.startswith("fetch (3 tasks)") for ln in self.lines))

    def test_pools(self):
        i = next(k for k, ln in enumerate(self.lines) if ln.startswith("Pools"))
        row = next(ln for ln in self.lines[i:] if ln.startswith("pool-x "))
        p = self.report["pools"][0]
        whole = p["busy_ns"] + p["idle_ns"] + p["blocked_ns"]
        cells = row.split()
        for k in ("busy_ns", "idle_ns", "blocked_ns"):
            self.assertIn(fmt.fmt_pct(p[k], whole), cells)
        self.assertIn(fmt.fmt_ns(p["runnable_ns"]), cells)
        self.assertIn(fmt.fmt_ns(p["released_ns"]), cells)
        self.assertEqual(fmt.fmt_pct(p["blocked_ns"], whole), "10.0%")

    def test_released_and_findings(self):
        row = next(ln for ln in self.lines if ln.startswith("script ") and "chan_recv" in ln)
        self.assertEqual(row.split()[-1], fmt.fmt_ns(400000))
        self.assertIn("holds-pool-thread", self.text)
        self.assertIn("holding a thread of pool-x", self.text)

    def test_thread_report_unchanged(self):
        text = rt.render(load("report-v1.json"))
        self.assertNotIn("runnable", text)
        self.assertNotIn("Pools", text)


if __name__ == "__main__":
    ltutil.main()
