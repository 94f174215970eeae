"""sink.looptrace.report run by the babeltrace2 CLI on stored inputs (no LTTng session needed).

data/pingpong-30 is an LTTng trace of data/pingpong.c run with 30 messages: a producer component
sends 30 messages on channel work-queue to a consumer component, which blocks on a mutex in one
handler out of 8. data/dmesg.txt has no looptrace event at all.

Environment: LT_BABELTRACE2 (the babeltrace2 CLI), LT_PLUGIN_DIR (folder of looptrace.so),
LT_DATA (this folder's data/).
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

BT = os.environ.get("LT_BABELTRACE2") or shutil.which("babeltrace2")
PLUGIN_DIR = os.environ.get("LT_PLUGIN_DIR", "")
DATA = os.environ.get("LT_DATA", os.path.join(os.path.dirname(__file__), "data"))


def run_sink(inputs, params):
    """Runs the sink; returns (exit status, report dict or None, stderr)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "report.json")
        p = 'output="%s"' % out
        if params:
            p += "," + params
        cmd = [BT, "--plugin-path=" + PLUGIN_DIR] + inputs + ["-c", "sink.looptrace.report", "-p", p]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        report = None
        if proc.returncode == 0:
            with open(out, encoding="utf-8") as f:
                report = json.load(f)
        return proc.returncode, report, proc.stderr


class SinkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not BT or not os.path.exists(os.path.join(PLUGIN_DIR, "looptrace.so")):
            if os.environ.get("CI") == "true":
                raise RuntimeError("babeltrace2 or looptrace.so missing under CI")
            raise unittest.SkipTest("babeltrace2 or the plugin is missing")

    def test_pingpong(self):
        rc, r, err = run_sink([os.path.join(DATA, "pingpong-30")], 'trace-path="pp"')
        self.assertEqual(rc, 0, err)
        self.assertEqual(r["schema"], "looptrace-report/1")
        t = r["trace"]
        self.assertEqual(t["path"], "pp")
        self.assertEqual(t["events"], 253)
        self.assertEqual(t["lost_events"], 0)
        self.assertEqual(t["anomalies"]["events_without_vtid"], 0)
        comps = {c["name"]: c for c in r["components"]}
        self.assertEqual(set(comps), {"producer", "consumer"})
        for c in comps.values():
            self.assertEqual(c["messages"], 30)
            self.assertEqual(sum(c["time_ns"].values()), c["wall_ns"])
            self.assertTrue(c["ended"])
        self.assertEqual(comps["producer"]["pid"], comps["consumer"]["pid"])
        self.assertNotEqual(comps["producer"]["tid"], comps["consumer"]["tid"])
        mutex = [b for b in comps["consumer"]["blocked_by"] if b["reason"] == "mutex"]
        self.assertEqual(len(mutex), 1)
        self.assertEqual(mutex[0]["count"], 4)  # handlers 0, 8, 16, 24
        self.assertEqual(comps["consumer"]["queue_wait_ns"]["count"], 30)
        (ch,) = r["channels"]
        self.assertEqual((ch["name"], ch["capacity"], ch["sends"], ch["recvs"]),
                         ("work-queue", 1024, 30, 30))
        self.assertEqual(r["flows"]["count"], 30)
        (hop,) = r["flows"]["hops"]
        self.assertEqual((hop["from"], hop["to"], hop["count"]), ("producer", "consumer", 30))

    def test_window_params_signed_and_unsigned(self):
        rc, full, err = run_sink([os.path.join(DATA, "pingpong-30")], "")
        self.assertEqual(rc, 0, err)
        b = full["trace"]["begin_ns"]
        rc, r, err = run_sink([os.path.join(DATA, "pingpong-30")],
                              "begin-ns=+%d,end-ns=%d" % (b, b + 10**9))
        self.assertEqual(rc, 0, err)
        self.assertEqual(r["trace"]["events"], 253)
        rc, r, err = run_sink([os.path.join(DATA, "pingpong-30")], "begin-offset-ns=+1000000000")
        self.assertEqual(rc, 0, err)
        self.assertEqual(r["trace"]["events"], 0)
        rc, r, err = run_sink([os.path.join(DATA, "pingpong-30")],
                              "end-offset-ns=0,progress=true,series-interval-ns=1000")
        self.assertEqual(rc, 0, err)
        self.assertGreaterEqual(r["trace"]["events"], 1)
        self.assertEqual(r["trace"]["series_interval_ns"], 1000)

    def test_no_looptrace_events(self):
        rc, r, err = run_sink(["-c", "src.text.dmesg", "-p",
                               'path="%s"' % os.path.join(DATA, "dmesg.txt")], "")
        self.assertEqual(rc, 0, err)
        self.assertEqual(r["trace"]["events"], 0)
        self.assertEqual(r["trace"]["other_events"], 3)
        self.assertEqual(r["components"], [])

    def test_bad_parameters(self):
        trace = os.path.join(DATA, "pingpong-30")
        for params in ['begin-ns="x"', "no-such-param=1", "series-interval-ns=0",
                       "progress=1"]:
            rc, _, err = run_sink([trace], params)
            self.assertNotEqual(rc, 0, params)
        cmd = [BT, "--plugin-path=" + PLUGIN_DIR, trace, "-c", "sink.looptrace.report"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("output", proc.stderr)
        cmd += ["-p", 'output="/nonexistent-dir/x.json"']
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("cannot open", proc.stderr)


if __name__ == "__main__":
    import sys
    result = unittest.main(exit=False).result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.skipped and result.testsRun <= len(result.skipped):
        sys.exit(77)  # nothing ran: reported as skipped (a failure under CI=true, see above)
