"""End to end on a real recording: `looptrace record` a small instrumented program
(viz_prog), then the HTML page from its report and the Perfetto export, checked against the
report (handler slices per component = the report's message counts) and against the
program's own counts. Needs a session daemon (label lttng, fixture lttng_sessiond)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vizcheck  # noqa: E402

from looptrace import fmt  # noqa: E402
from looptrace import html as lthtml  # noqa: E402

N = 40


class RecordedTraceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lt-viz-rec-")
        cls.bin = os.environ.get("LOOPTRACE_BIN", "")
        cls.prog = os.environ.get("LOOPTRACE_VIZ_PROG", "")
        cls.problem = None
        if not os.access(cls.bin, os.X_OK) or not os.access(cls.prog, os.X_OK):
            cls.problem = "looptrace launcher or viz_prog not built"
            return
        cls.trace = os.path.join(cls.tmp, "trace")
        rec = subprocess.run([cls.bin, "record", "-o", cls.trace, "--", cls.prog, str(N)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
        cls.rec = rec
        if rec.returncode != 0:
            cls.problem = "looptrace record failed: %s" % rec.stderr.decode(errors="replace")
            return
        m = re.search(rb"handled script=(\d+) net=(\d+) pid=(\d+)", rec.stdout)
        cls.truth = {"script": int(m.group(1)), "net": int(m.group(2))} if m else None
        # Other programs of the same user traced at the same time land in the same per-user
        # buffers: look only at this program's process.
        cls.pid = int(m.group(3)) if m else None
        cls.json_path = os.path.join(cls.tmp, "report.json")
        rep = subprocess.run([cls.bin, "report", "-q", "--json", cls.json_path, cls.trace],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
        if rep.returncode != 0:
            cls.problem = "looptrace report failed: %s" % rep.stderr.decode(errors="replace")
            return
        with open(cls.json_path, encoding="utf-8") as f:
            cls.report = json.load(f)
        cls.mine = [c for c in cls.report["components"] if c.get("pid") == cls.pid]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        if self.problem:
            if "record failed" in self.problem or "report failed" in self.problem:
                self.fail(self.problem)
            vizcheck.skip_or_fail(self, self.problem)

    def test_program_ran(self):
        self.assertEqual(self.truth, {"script": N, "net": N})

    def test_html_from_recorded_report(self):
        path = lthtml.write_html(self.report, os.path.join(self.tmp, "html"))
        with open(path, encoding="utf-8") as f:
            page = f.read()
        parsed = vizcheck.parse_page(page)
        text = " ".join("".join(parsed.text).split())
        self.assertEqual(sorted(c["name"] for c in self.mine), ["net", "script"])
        for c in self.mine:
            self.assertIn(c["name"], text)
            self.assertIn(" ".join(fmt.fmt_num_html(c["messages"]).split()), text)
        self.assertGreaterEqual(page.count("<svg"), 3)
        self.assertEqual(vizcheck.external_refs(page, parsed), [])
        # script blocks on chan_recv inside every handler: the page says so in words
        self.assertRegex(text, r"script blocked inside its handlers for [\d.]+ % of its time")

    def test_report_html_flag(self):
        out = os.path.join(self.tmp, "html-cli")
        p = subprocess.run([self.bin, "report", "-q", "--html", out, self.trace],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        self.assertIn(b"index.html", p.stderr)
        with open(os.path.join(out, "index.html"), encoding="utf-8") as f:
            page = f.read()
        parsed = vizcheck.parse_page(page)
        self.assertIn("script", "".join(parsed.text))
        self.assertEqual(vizcheck.external_refs(page, parsed), [])

    def test_perfetto_matches_report(self):
        out = os.path.join(self.tmp, "trace.json")
        p = subprocess.run([self.bin, "export", "--perfetto", out, self.trace],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        with open(out, encoding="utf-8") as f:
            doc = json.load(f)
        info = vizcheck.check_perfetto(self, doc)
        for c in self.mine:
            key = (c["pid"], c["tid"])
            self.assertEqual(info["thread_names"].get(key), c["name"])
            self.assertEqual(vizcheck.handled_per_track(info).get(key, 0), c["messages"],
                             c["name"])
        # every load/fetch is consumed by a handler, every reply by script's in-handler recv
        flows = [s for key, sl in info["slices"].items() if key[0] == self.pid for s in sl
                 if s[4].get("flow_in")]
        self.assertEqual(len(flows), 3 * N)
        blocked = [s for key, sl in info["slices"].items() if key[0] == self.pid for s in sl
                   if s[3] == "blocked" and s[2] == "chan_recv"]
        self.assertGreaterEqual(len(blocked), N)


if __name__ == "__main__":
    unittest.main()
