"""The HTML page and the terminal report show the same findings for the same JSON: the
findings the analysis decided (components[].findings), no more, no fewer. Python decides
none: a report without `findings` gets no finding from either renderer, however its
components spent their time."""

import copy
import html as _html
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ltutil  # noqa: E402,F401  (puts the looptrace package on sys.path)

from looptrace import html as lthtml  # noqa: E402
from looptrace import render_text as rt  # noqa: E402

WALL = 1000000000


def comp(cid, name, busy=0, idle=0, bih=0, bo=0, messages=10, findings=(), blocked_by=()):
    return {"id": cid, "key": "7:%d" % cid, "name": name, "pid": 7, "tid": 70 + cid,
            "wall_ns": WALL, "messages": messages,
            "time_ns": {"busy": busy, "idle": idle, "blocked_in_handler": bih,
                        "blocked_outside": bo, "outside": WALL - busy - idle - bih - bo},
            "blocked_by": list(blocked_by), "findings": list(findings)}


def finding(code, severity, warning, message, value, **extra):
    return dict(code=code, severity=severity, warning=warning, message=message, value=value,
                **extra)


def warning(kind, c, message, value):
    return {"kind": kind, "component": c["id"], "pid": c["pid"], "name": c["name"],
            "message": message, "value": value}


def report():
    """A report as the analysis writes it: every component finding that is a warning is in
    `warnings` too; one warning (queue-growth) is about a channel."""
    mutex = {"reason": "mutex", "object": "0x10", "where": "0x20", "ns": 600000000,
             "count": 3, "in_handler_ns": 600000000}
    sleep = {"reason": "sleep", "object": "0x0", "where": "0x30", "ns": 300000000, "count": 1,
             "in_handler_ns": 0}
    blocker = comp(1, "blocker", busy=100000000, bih=600000000, bo=300000000,
                   blocked_by=[mutex, sleep], findings=[
                       finding("blocks-in-handler", "bad", True,
                               "85.7% of handler time is spent blocked inside handlers",
                               0.857142857, wall_frac=0.6, busy_frac=0.1, site=0, site_share=1),
                       finding("blocked-outside", "warn", False,
                               "blocked outside its handlers for 30.0% of its wall time", 0.3,
                               wall_frac=0.3, busy_frac=0.1, site=1, site_share=1)])
    hot = comp(2, "hot", busy=990000000, idle=10000000, findings=[
        finding("saturated", "warn", True,
                "never waited for work: idle 1.0% of its wall time (busy 99.0%)", 0.99,
                busy_frac=0.99, idle_frac=0.01)])
    killed = comp(3, "killed", busy=500000000, idle=500000000, findings=[
        finding("cut-short", "warn", True, "still running when the trace ends: the program "
                "was probably killed; figures cover the recorded part only", 123456)])
    sleeper = comp(4, "sleeper", bo=900000000, messages=0, blocked_by=[sleep], findings=[
        finding("blocked-no-messages", "info", False,
                "blocked 90.0% of its wall time and handled no messages: without loop events "
                "idle waiting cannot be told from blocking", 0.9, wall_frac=0.9, busy_frac=0,
                site=0, site_share=1)])
    calm = comp(5, "calm", busy=100000000, idle=900000000)
    comps = [blocker, hot, killed, sleeper, calm]
    warnings = [warning(f["code"], c, f["message"], f["value"])
                for c in comps for f in c["findings"] if f["warning"]]
    warnings.append({"kind": "queue-growth", "channel": 1, "pid": 7, "name": "inbox",
                     "message": "depth rises by 10.0 messages/s (20 over the trace, max 20)",
                     "value": 10.0})
    return {"schema": "looptrace-report/1",
            "trace": {"path": "t", "begin_ns": 0, "end_ns": WALL, "events": 100,
                      "lost_events": 0, "lost_windows": []},
            "components": comps, "channels": [{"id": 1, "name": "inbox", "pid": 7}],
            "routes": [], "flows": {"count": 0}, "parallelism": {}, "warnings": warnings}


def json_findings(rep):
    return {(f["code"], c["name"]) for c in rep["components"] for f in c.get("findings") or []}


def html_findings(rep):
    """(code, component name) of every finding banner of the page."""
    page = lthtml.render(rep)
    names = {c["key"]: c["name"] for c in rep["components"]}
    return {(_html.unescape(code), names[_html.unescape(key)]) for code, key in re.findall(
        r'<div class="banner [a-z]+" data-finding="([^"]*)" data-component="([^"]*)">', page)}


def terminal_findings(rep):
    """(code, component name) of every finding or component warning line of the terminal."""
    text = rt.render(rep)
    return set(re.findall(r"^(?:finding|warning): \[([^\]]+)\] component (\S+):", text, re.M))


class SameFindingsTest(unittest.TestCase):
    def test_html_and_terminal_agree_with_json(self):
        rep = report()
        want = json_findings(rep)
        self.assertEqual(len(want), 5)  # every code once
        self.assertEqual(html_findings(rep), want)
        self.assertEqual(terminal_findings(rep), want)

    def test_each_finding_said_once_in_the_terminal(self):
        text = rt.render(report())
        self.assertEqual(text.count("[blocks-in-handler] component blocker"), 1)
        self.assertIn("finding: [blocked-outside] component blocker: blocked outside its "
                      "handlers for 30.0% of its wall time", text)
        self.assertIn("finding: [blocked-no-messages] component sleeper:", text)
        self.assertIn("warning: [queue-growth] channel inbox:", text)

    def test_severity_as_the_json_says(self):
        rep = report()
        page = lthtml.render(rep)
        self.assertIn('<div class="banner bad" data-finding="blocks-in-handler"', page)
        self.assertIn('<div class="banner info" data-finding="blocked-no-messages"', page)
        rep["components"][0]["findings"][0]["severity"] = "warn"
        self.assertIn('<div class="banner warn" data-finding="blocks-in-handler"',
                      lthtml.render(rep))

    def test_no_findings_in_json_none_shown(self):
        # Time splits far past any threshold, but the JSON lists no finding and no warning:
        # neither renderer makes one up.
        rep = report()
        for c in rep["components"]:
            c.pop("findings")
        rep["warnings"] = []
        self.assertEqual(html_findings(rep), set())
        self.assertEqual(terminal_findings(rep), set())
        self.assertNotIn("blocked inside its handlers", lthtml.render(rep))

    def test_a_finding_the_json_adds_is_shown(self):
        rep = report()
        calm = rep["components"][4]
        calm["findings"] = [finding("blocked-outside", "warn", False, "blocked outside its "
                                    "handlers for 20.0% of its wall time", 0.2)]
        want = json_findings(rep)
        self.assertIn(("blocked-outside", "calm"), want)
        self.assertEqual(html_findings(rep), want)
        self.assertEqual(terminal_findings(rep), want)

    def test_unknown_code_shown_with_its_message(self):
        rep = copy.deepcopy(report())
        rep["components"][4]["findings"] = [finding("new-kind", "warn", False, "<b>x</b>", 1)]
        page = lthtml.render(rep)
        self.assertIn('data-finding="new-kind"', page)
        self.assertIn("&lt;b&gt;x&lt;/b&gt;", page)
        self.assertIn("finding: [new-kind] component calm: <b>x</b>", rt.render(rep))


if __name__ == "__main__":
    unittest.main(verbosity=2)
