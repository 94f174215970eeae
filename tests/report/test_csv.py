"""Unit tests of the CSV export (render_csv) against fixture reports."""

import csv
import json
import os
import shutil
import tempfile
import unittest

import ltutil
from looptrace import render_csv, render_text, symbolize
from looptrace.errors import UserError


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


class CsvTest(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(ltutil.DATA, "report-v1.json")) as f:
            self.report = json.load(f)
        self.tmp = tempfile.mkdtemp(prefix="lt-csv-")
        self.out = os.path.join(self.tmp, "out", "csv")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_files_and_headers(self):
        written = render_csv.write_csv(self.report, self.out)
        names = sorted(os.path.basename(p) for p in written)
        self.assertEqual(names, ["blocked.csv", "channels.csv", "components.csv", "findings.csv",
                                 "flows.csv", "pools.csv", "routes.csv", "warnings.csv"])
        with open(os.path.join(self.out, "components.csv")) as f:
            header = f.readline().strip().split(",")
        self.assertEqual(header, render_csv.COMPONENT_COLS)

    def test_components_roundtrip(self):
        render_csv.write_csv(self.report, self.out)
        rows = read(os.path.join(self.out, "components.csv"))
        self.assertEqual(len(rows), 4)
        self.assertEqual(rows[1]["name"], self.report["components"][1]["name"])  # raw, quoted
        self.assertEqual(rows[0]["busy_ns"], "400000000")
        self.assertEqual(rows[0]["blocked_in_handler_ns"], "500000000")
        self.assertEqual(rows[0]["handle_ns_p99"], "12000000")
        self.assertEqual(rows[2]["handle_ns_p50"], "")  # null -> empty cell

    def test_blocked(self):
        render_csv.write_csv(self.report, self.out)
        rows = read(os.path.join(self.out, "blocked.csv"))
        entries = [(c["name"], b) for c in self.report["components"] for b in c["blocked_by"]]
        self.assertEqual(len(rows), len(entries))
        name, b = entries[0]
        self.assertEqual((rows[0]["component"], rows[0]["reason"], rows[0]["ns"], rows[0]["count"]),
                         (name, b["reason"], str(b["ns"]), str(b["count"])))

    def test_blocked_pid_tid(self):
        # Rows of the same component name told apart by pid and tid; the earlier columns keep
        # their places (tid is added last).
        with open(os.path.join(ltutil.DATA, "report-interposed.json")) as f:
            report = json.load(f)
        render_csv.write_csv(report, self.out)
        path = os.path.join(self.out, "blocked.csv")
        with open(path) as f:
            header = f.readline().strip().split(",")
        self.assertEqual(header[:12], ["component", "component_id", "pid", "reason", "object",
                                       "object_name", "where", "site", "ns", "count",
                                       "in_handler_ns", "call_site"])
        self.assertEqual(header[12:14], ["tid", "call"])
        rows = read(path)
        self.assertEqual(sorted((r["component"], r["pid"], r["tid"]) for r in rows),
                         [("worker", "4100", "4100"), ("worker", "4100", "4101"),
                          ("worker", "4200", "4200")])

    def test_channels_routes_flows_warnings(self):
        render_csv.write_csv(self.report, self.out)
        ch = read(os.path.join(self.out, "channels.csv"))
        self.assertEqual(ch[1]["name"], "net\tunbounded \u202eevil")
        self.assertEqual(ch[1]["capacity"], "0")
        self.assertEqual(ch[1]["littles_law_L"], "512.5")
        routes = read(os.path.join(self.out, "routes.csv"))
        self.assertEqual(routes[0]["owner_name"], "script")
        self.assertEqual(routes[0]["dispatch_ns_p99"], "3000")
        hops = read(os.path.join(self.out, "flows.csv"))
        self.assertEqual(hops[0]["from"], self.report["components"][1]["name"])
        self.assertEqual((hops[0]["to"], hops[0]["to_id"], hops[0]["to_pid"], hops[0]["count"],
                          hops[0]["queue_ns"]), ("script", "1", "4242", "100", "1500.5"))
        w = read(os.path.join(self.out, "warnings.csv"))
        self.assertEqual([r["kind"] for r in w], ["blocks-in-handler", "blocks-in-handler",
                                                  "saturated", "queue-growth", "lost-events"])
        # Component ids are per process: the pid picks the right one.
        self.assertEqual((w[0]["subject"], w[0]["pid"], w[0]["subject_name"]),
                         ("1", "9999", "peer-in-other-process"))
        self.assertEqual(w[1]["subject_name"], "script")
        self.assertEqual(w[3]["subject_type"], "channel")
        self.assertEqual(w[4]["subject_type"], "")
        # findings.csv: one row per components[].findings entry, as the JSON says
        f = read(os.path.join(self.out, "findings.csv"))
        want = [(c["name"], f["code"], f["severity"], f["message"])
                for c in self.report["components"] for f in c.get("findings") or []]
        self.assertEqual([(r["component"], r["code"], r["severity"], r["message"]) for r in f],
                         want)
        self.assertEqual((f[0]["warning"], f[0]["site"], f[0]["value"], f[0]["call_site"]),
                         ("true", "0", "0.5555555555555556",
                          "0x%x" % self.report["components"][0]["blocked_by"][0]["where"]))

    def test_formula_names_defused(self):
        # A name starting like a spreadsheet formula must reach the CSV as text: a leading
        # quote (OWASP's advice for CSV injection); other names and every number unchanged.
        evil = ["=HYPERLINK(\"http://x\",\"y\")", "+1+2", "-3", "@SUM(A1)", "\tx", "\rx"]
        rep = self.report
        for c, name in zip(rep["components"], evil):
            c["name"] = name
        rep["channels"][0]["name"] = "=cmd|' /C calc'!A0"
        rep["warnings"][-1]["message"] = "-1 events: =x"
        rep["warnings"][-1]["value"] = -1.5
        rep["warnings"][1]["name"] = "=evil()"
        rep["flows"]["hops"][0]["to"] = "-x"
        rep["components"][0]["blocked_by"][0]["site"] = "@f (a.c:1)"
        render_csv.write_csv(rep, self.out)
        rows = read(os.path.join(self.out, "components.csv"))
        got = [r["name"] for r in rows]
        self.assertEqual(got[:4], ["'" + n for n in evil[:4]])
        self.assertEqual(rows[0]["busy_ns"], "400000000")  # numbers as they were
        ch = read(os.path.join(self.out, "channels.csv"))
        self.assertEqual(ch[0]["name"], "'=cmd|' /C calc'!A0")
        self.assertEqual(ch[1]["name"], "net\tunbounded \u202eevil")  # a tab inside: kept
        w = read(os.path.join(self.out, "warnings.csv"))
        self.assertEqual((w[-1]["message"], w[-1]["value"]), ("'-1 events: =x", "-1.5"))
        self.assertEqual(w[1]["subject_name"], "'=evil()")
        b = read(os.path.join(self.out, "blocked.csv"))
        self.assertEqual(b[0]["site"], "'@f (a.c:1)")
        self.assertEqual(b[0]["call_site"], "'@f (a.c:1)")
        self.assertEqual(b[0]["component"], "'" + evil[0])
        hops = read(os.path.join(self.out, "flows.csv"))
        self.assertEqual((hops[0]["to"], hops[0]["to_id"]), ("'-x", "1"))
        for cell in [r[k] for r in rows for k in render_csv.COMPONENT_COLS if k != "name"]:
            self.assertFalse(cell.startswith("'"), cell)
        # Tab- and CR-led names too (more components than the fixture has: write them here).
        rep["components"] = [dict(rep["components"][0], name=n) for n in evil[4:]]
        render_csv.write_csv(rep, self.out)
        got = [r["name"] for r in read(os.path.join(self.out, "components.csv"))]
        self.assertEqual(got, ["'\tx", "'\rx"])

    def test_blocked_call_site(self):
        # call_site: what the terminal and HTML reports show (the symbolized `site`, else the
        # `where` address in hex), added after the existing columns, which keep their place.
        self.assertEqual(render_csv.BLOCKED_COLS[:11],
                         ["component", "component_id", "pid", "reason", "object",
                          "object_name", "where", "site", "ns", "count", "in_handler_ns"])
        render_csv.write_csv(self.report, self.out)
        b = read(os.path.join(self.out, "blocked.csv"))
        self.assertEqual((b[0]["where"], b[0]["site"], b[0]["call_site"]),
                         ("4198400", "", "0x401000"))
        entry = self.report["components"][0]["blocked_by"][0]
        entry["site"] = symbolize.format_site(
            {"where": 0x401000, "path": "/opt/demo/looptrace-demo", "offset": 0xfff,
             "function": "start_fetch", "file": "/src/demo/components.c", "line": 302,
             "caller": "script_on_input"})
        render_csv.write_csv(self.report, self.out)
        b = read(os.path.join(self.out, "blocked.csv"))
        named = "start_fetch (components.c:302) in script_on_input"
        self.assertEqual((b[0]["where"], b[0]["site"], b[0]["call_site"]),
                         ("4198400", named, named))
        # The same text as the terminal's "call site" column: one helper for both.
        row = render_text.blocked_rows(self.report)[0]
        self.assertEqual(row[render_text.BLOCKED_HEADERS.index("call site")], named)

    def test_empty(self):
        with open(os.path.join(ltutil.DATA, "report-empty.json")) as f:
            render_csv.write_csv(json.load(f), self.out)
        self.assertEqual(read(os.path.join(self.out, "components.csv")), [])

    def test_dir_is_a_file(self):
        path = os.path.join(self.tmp, "file")
        open(path, "w").close()
        with self.assertRaises(UserError):
            render_csv.write_csv(self.report, path)


class SequenceCsvTest(unittest.TestCase):
    """report-seq.json: the analysis core's report of sequences on a one-thread pool (an
    await, a held worker, three tasks): the CSV carries the same figures as the JSON."""

    def setUp(self):
        with open(os.path.join(ltutil.DATA, "report-seq.json")) as f:
            self.report = json.load(f)
        self.tmp = tempfile.mkdtemp(prefix="lt-csv-")
        self.out = os.path.join(self.tmp, "csv")
        render_csv.write_csv(self.report, self.out)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_components(self):
        rows = {r["name"]: r for r in read(os.path.join(self.out, "components.csv"))}
        for c in self.report["components"]:
            r = rows[c["name"]]
            self.assertEqual(int(r["runnable_ns"]), c["time_ns"]["runnable"])
            self.assertEqual(r["pool"], c["pool"] or "")
            for k in ("tasks", "runs", "released_ns", "held_ns"):
                self.assertEqual(int(r[k]), c[k], k)
        self.assertEqual(rows["script"]["runnable_ns"], "100000")
        self.assertEqual(rows["fetch"]["tasks"], "3")
        self.assertEqual(rows["fetch"]["task"], "true")
        self.assertEqual(rows["router"]["pool"], "")
        self.assertEqual(rows["router"]["runnable_ns"], "0")

    def test_pools_and_released(self):
        (p,) = read(os.path.join(self.out, "pools.csv"))
        want = self.report["pools"][0]
        for k in ("threads", "busy_ns", "idle_ns", "blocked_ns", "runs", "runnable_ns",
                  "released_ns"):
            self.assertEqual(int(p[k]), want[k], k)
        self.assertEqual(p["name"], "pool-x")
        self.assertEqual(p["blocked_ns"], "100000")
        b = [r for r in read(os.path.join(self.out, "blocked.csv")) if r["component"] == "script"]
        self.assertEqual(b[0]["released_ns"], "400000")


if __name__ == "__main__":
    ltutil.main()
