"""Shared checks for the report tests: page structure, external resources, escaping, and
the Perfetto trace-event JSON invariants. Imported by the test_*.py files of tests/viz."""

import html.parser
import json
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "analysis", "python"))


def skip_or_fail(test, reason):
    """Skip the test, except under CI=true where a missing prerequisite is a failure."""
    if os.environ.get("CI") == "true":
        test.fail("prerequisite missing under CI: " + reason)
    raise unittest.SkipTest(reason)


def load(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        return json.load(f)


class PageParser(html.parser.HTMLParser):
    """Collects what the tests look at: tags, text, attribute URLs, script elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.text = []
        self.svg_text = []
        self.urls = []
        self.scripts = 0
        self.depth_svg = 0
        self.in_text = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "script":
            self.scripts += 1
        if tag == "svg":
            self.depth_svg += 1
        if tag == "text" and self.depth_svg:
            self.in_text += 1
        for k, v in attrs:
            if k in ("src", "href", "xlink:href", "action", "data", "poster") and v:
                self.urls.append(v)
            if k == "style" and v and "url(" in v:
                self.urls.extend(re.findall(r"url\(([^)]*)\)", v))
            if k.startswith("on"):
                raise AssertionError("event handler attribute %s in page" % k)

    def handle_endtag(self, tag):
        if tag == "svg":
            self.depth_svg -= 1
        if tag == "text" and self.in_text:
            self.in_text -= 1

    def handle_data(self, data):
        self.text.append(data)
        if self.in_text:
            self.svg_text.append(data)


def parse_page(page):
    p = PageParser()
    p.feed(page)
    p.close()
    return p


def external_refs(page, parser):
    """URLs the page would fetch: src/href attributes and CSS url() not pointing inside."""
    bad = [u for u in parser.urls if not u.startswith("#")]
    for m in re.finditer(r"url\(\s*['\"]?([^'\")]+)", page):
        if not m.group(1).startswith("#"):
            bad.append(m.group(1))
    bad += re.findall(r"@import", page)
    return bad


# ---------------------------------------------------------------------------------------------
# Perfetto JSON


def check_perfetto(test, doc):
    """Assert the trace-event invariants; returns a summary dict for further checks."""
    test.assertIsInstance(doc, dict)
    events = doc.get("traceEvents")
    test.assertIsInstance(events, list)
    thread_names = {}
    slices = {}  # (pid, tid) -> [(ts, end, name, cat, ev)]
    stacks = {}
    flows_out, flows_in = {}, {}
    counters = {}
    for ev in events:
        ph = ev.get("ph")
        test.assertIn(ph, ("M", "B", "E", "X", "C", "i", "I"), ev)
        key = (ev.get("pid"), ev.get("tid"))
        if ph == "M":
            if ev["name"] == "thread_name":
                thread_names[key] = ev["args"]["name"]
            continue
        test.assertIsInstance(ev.get("ts"), (int, float), ev)
        test.assertGreaterEqual(ev["ts"], 0, ev)
        if ph == "C":
            counters.setdefault((ev["pid"], ev["name"]), []).append(ev)
            continue
        if ph in ("i", "I"):
            continue
        if ph == "B":
            stacks.setdefault(key, []).append(ev)
        elif ph == "E":
            st = stacks.get(key)
            test.assertTrue(st, "E without B on %r: %r" % (key, ev))
            b = st.pop()
            test.assertGreaterEqual(ev["ts"], b["ts"], (b, ev))
            slices.setdefault(key, []).append((b["ts"], ev["ts"], b["name"], b.get("cat"), b))
            b = dict(b)
        else:
            test.assertGreaterEqual(ev["dur"], 0, ev)
            slices.setdefault(key, []).append((ev["ts"], ev["ts"] + ev["dur"], ev["name"],
                                               ev.get("cat"), ev))
        if "bind_id" in ev and ph in ("B", "X"):
            if ev.get("flow_out"):
                test.assertNotIn(ev["bind_id"], flows_out, "flow started twice")
                flows_out[ev["bind_id"]] = ev
            if ev.get("flow_in"):
                test.assertNotIn(ev["bind_id"], flows_in, "flow ended twice")
                flows_in[ev["bind_id"]] = ev
    for key, st in stacks.items():
        test.assertFalse(st, "unclosed slices on %r" % (key,))
    # Nesting: on each track, slices either nest or are disjoint.
    for key, sl in slices.items():
        sl.sort(key=lambda s: (s[0], -(s[1] - s[0])))
        open_ends = []
        for b, e, name, cat, ev in sl:
            while open_ends and open_ends[-1] <= b and not (open_ends[-1] == b and e == b):
                open_ends.pop()
            if open_ends:
                test.assertLessEqual(e, open_ends[-1] + 1e-6,
                                     "slice %r [%f, %f] overlaps its parent on %r"
                                     % (name, b, e, key))
            open_ends.append(e)
    # Flows: every start has an end and both are slices.
    test.assertEqual(sorted(flows_out), sorted(flows_in), "flows without both ends")
    for fid, out in flows_out.items():
        test.assertLessEqual(out["ts"], flows_in[fid]["ts"] + 1e-6, "flow goes back in time")
    return {"thread_names": thread_names, "slices": slices, "flows": len(flows_out),
            "counters": counters}


def handled_per_track(info):
    """(pid, tid) -> number of handler and route-dispatch slices: what the report counts as
    a component's messages."""
    out = {}
    for key, sl in info["slices"].items():
        out[key] = sum(1 for s in sl if s[3] in ("handler", "route"))
    return out
