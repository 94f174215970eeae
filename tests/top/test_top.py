"""`looptrace top` end to end under a real session daemon (CTest label `lttng`).

TopBatch   --batch 3 on the demo: three snapshots naming every component, the last one (the
           final figures) equal to `looptrace report` on the kept trace; the same with --json;
           Ctrl-C (SIGINT to the process group) leaves a readable trace; bad input; the
           sink's snapshot mode on the kept trace: one JSON line per snapshot, the final one
           equal to the report the sink writes to `output`.
TopScreen  the full-screen view in a real terminal (tmux, 80x24): the components are shown, a
           sort key sorts, `q` stops the program, the session and the relay daemon; Ctrl-C
           does too and leaves a readable trace; a program that exits by itself leaves its
           final figures on screen.
TopInterpose  --interpose --batch on tests/interpose/ip_truth: the threads view, against the
           program's own measurement of where each thread blocked.
After every run: no demo, no relay daemon of ours, no session of ours left (`lttng list`).

Environment (set by CTest): LOOPTRACE_BIN, LOOPTRACE_DEMO. A skip is a failure when CI=true.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

LOOPTRACE = os.environ.get("LOOPTRACE_BIN", "")
DEMO = os.environ.get("LOOPTRACE_DEMO", "")
PLUGINDIR = os.environ.get("LOOPTRACE_PLUGINDIR", "")
COMPONENTS = ("script", "net", "layout", "compositor", "router")


def skip_or_fail(test, why):
    if os.environ.get("CI") == "true":
        test.fail("skipped in CI: " + why)
    test.skipTest(why)


def check_tools(test):
    missing = [t for t in ("lttng", "lttng-relayd", "babeltrace2") if not shutil.which(t)]
    if not os.access(LOOPTRACE, os.X_OK):
        missing.append("looptrace (%s)" % LOOPTRACE)
    if not os.access(DEMO, os.X_OK):
        missing.append("looptrace-demo (%s)" % DEMO)
    if missing:
        skip_or_fail(test, "missing: " + ", ".join(missing))


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def processes_mentioning(text):
    """pids whose command line contains `text`."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmdline and int(name) != os.getpid():
            found.append(int(name))
    return found


def report(trace):
    proc = subprocess.run([LOOPTRACE, "report", "--no-progress", "--json", "-", trace],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                          check=False)
    if proc.returncode != 0:
        raise AssertionError("looptrace report failed: %s" % proc.stderr.decode())
    return json.loads(proc.stdout)


def messages_by_name(components):
    out = {}
    for c in components:
        out[c["name"]] = out.get(c["name"], 0) + c["messages"]
    return out


class Base(unittest.TestCase):
    def setUp(self):
        check_tools(self)
        self.tmp = tempfile.mkdtemp(prefix="looptrace-top-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assert_clean(self, trace, top_pid=None):
        """Nothing `top` started is left running."""
        with open(os.path.join(trace, "looptrace-top.json"), encoding="utf-8") as f:
            info = json.load(f)
        deadline = time.monotonic() + 10
        while alive(info["pid"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertFalse(alive(info["pid"]), "the program (pid %d) is still running"
                         % info["pid"])
        self.assertEqual(processes_mentioning("--output=" + trace), [],
                         "lttng-relayd of the run still running")
        listing = subprocess.run(["lttng", "list"], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=60, check=False)
        self.assertNotIn(info["session"], listing.stdout.decode("utf-8", "replace"))
        if top_pid is not None:
            self.assertNotIn("looptrace-%d-" % top_pid, listing.stdout.decode())
        return info


def parse_text(out):
    """[(status line, {name: messages})] from --batch text output."""
    snaps = []
    lines = out.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("snapshot "):
            status = lines[i]
            comps = {}
            i += 1
            while i < len(lines) and not lines[i].startswith("COMPONENT"):
                i += 1
            i += 1
            while i < len(lines) and lines[i].strip():
                fields = lines[i].split()
                if not lines[i].startswith(" ") and len(fields) >= 2:
                    comps[fields[0].rstrip("*")] = int(fields[1])
                i += 1
            snaps.append((status, comps))
        i += 1
    return snaps


def parse_threads(out):
    """The last snapshot of --batch text in the threads view: (header, [row fields])."""
    lines = out.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("snapshot ")]
    if not starts:
        return "", []
    i = starts[-1] + 2
    header, body = lines[i], []
    for line in lines[i + 1:]:
        if not line.strip():
            break
        body.append(line)
    return header, body


class TopInterpose(Base):
    """`top --interpose --batch` on an unmodified program (tests/interpose/ip_truth): its
    threads with their running and blocked shares and the reason they blocked for, checked
    against what the program measured itself; not columns of zeros (issue 17, bug 4)."""

    def test_threads_view(self):
        truth_prog = os.environ.get("LT_IP_TRUTH", "")
        self.assertTrue(os.access(truth_prog, os.X_OK), "LT_IP_TRUTH: %r" % truth_prog)
        trace = os.path.join(self.tmp, "trace")
        # --batch 30: the program ends long before (about 1 s), top then prints the final
        # figures; it must not be stopped early, or it prints no truth.
        proc = subprocess.run([LOOPTRACE, "top", "-o", trace, "--interpose", "--batch", "30",
                               "--json", "--", truth_prog, "3"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=180, check=False)
        out = proc.stdout.decode()
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        final = json.loads(out.splitlines()[-1])
        self.assertTrue(final["final"])
        rows = {r["tid"]: r for r in final["components"]}
        # ip_truth's own measurement: per thread, the reason it spent most time blocked in.
        truth = {}
        with open(os.path.join(trace, "command.out"), encoding="utf-8") as f:
            for line in f:
                fl = line.split()
                if fl and fl[0] == "truth":
                    truth.setdefault(int(fl[1]), {})[fl[3]] = int(fl[4])
        self.assertTrue(truth, "no truth lines in command.out")
        for tid, by in truth.items():
            self.assertIn(tid, rows, "thread %d missing" % tid)
            r = rows[tid]
            if r["loopless"]:
                # the threads view's figures: blocked most of its life, on the truth's reason
                ranked = sorted(by.items(), key=lambda kv: kv[1], reverse=True)
                if len(ranked) == 1 or ranked[0][1] >= 1.5 * ranked[1][1]:
                    self.assertEqual(r["reason"].split()[0], ranked[0][0], (r, by))
                self.assertGreater(r["waiting_run"], 50.0, r)
                self.assertIsNone(r["busy_run"], r)  # "-", not 0.0
            else:
                # a loop top found: its waits there are idle time, shown as a loop's
                self.assertTrue(r["loop_top"], r)
                self.assertGreater(r["idle_run"] + r["blocked_run"], 0, r)
        # The text view of the same run: the threads view exactly when no thread has a loop
        # top, sorted by CPU (or RUN) share; else the loop view.
        text = subprocess.run([LOOPTRACE, "top", "-o", trace + "2", "--interpose", "--batch",
                               "30", "--width", "100", "--", truth_prog, "3"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=180, check=False)
        self.assertEqual(text.returncode, 0, text.stderr.decode())
        header, body = parse_threads(text.stdout.decode())
        if all(r["loopless"] for r in rows.values()):
            self.assertEqual(header.split()[:5], ["COMPONENT", "TID", "RUN", "BLOCK", "CPU"])
        else:
            self.assertEqual(header.split()[:4], ["COMPONENT", "MSGS", "MSG/S", "BUSY"])
        self.assertTrue(body)
        self.assert_clean(trace)


class TopBatch(Base):
    def run_top(self, *args, timeout=180):
        trace = os.path.join(self.tmp, "trace")
        proc = subprocess.run([LOOPTRACE, "top", "-o", trace] + list(args),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, check=False)
        return trace, proc

    def test_batch_text(self):
        # The demo would run 5 s; top ends it when the third snapshot is due, after about
        # 1 s (live timer) + 2 x 0.5 s, which leaves room on a loaded machine.
        trace, proc = self.run_top("--batch", "3", "--interval", "0.5", "--", DEMO, "--mode",
                                   "routed", "--duration", "5")
        err = proc.stderr.decode()
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("trace kept in " + trace, err)
        snaps = parse_text(proc.stdout.decode())
        self.assertEqual(len(snaps), 3, proc.stdout.decode())
        for status, comps in snaps:
            for name in COMPONENTS:
                self.assertIn(name, comps, status)
        self.assertIn("final figures", snaps[-1][0])
        rep = report(trace)
        self.assertEqual(snaps[-1][1], messages_by_name(rep["components"]))
        self.assert_clean(trace)

    def test_batch_json(self):
        trace, proc = self.run_top("--json", "--batch", "3", "--interval", "0.5", "--", DEMO,
                                   "--mode", "blocking", "--duration", "30")
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        lines = proc.stdout.decode().splitlines()
        self.assertEqual(len(lines), 3)
        snaps = [json.loads(line) for line in lines]
        self.assertEqual([s["final"] for s in snaps], [False, False, True])
        for s in snaps:
            self.assertEqual(s["report"]["schema"], "looptrace-report/1")
            self.assertTrue(set(COMPONENTS) <= {c["name"] for c in s["components"]})
            for c in s["components"]:
                for key in ("busy_now", "idle_now", "blocked_now", "busy_run", "rate"):
                    self.assertIn(key, c)
        last = snaps[-1]
        rep = report(trace)
        self.assertEqual(last["trace"]["events"], rep["trace"]["events"])
        self.assertEqual(messages_by_name(last["components"]),
                         messages_by_name(rep["components"]))
        # blocking mode: script waits for fetch replies inside its handler
        script = [c for c in last["components"] if c["name"] == "script"][0]
        self.assertGreater(script["blocked_run"], 10.0)
        self.assertFalse(last["program"]["running"])
        self.assert_clean(trace)
        self.check_sink_snapshots(trace)

    def check_sink_snapshots(self, trace):
        out = os.path.join(self.tmp, "report.json")
        bt = ["babeltrace2", "--plugin-path=" + PLUGINDIR, trace, "-c",
              "sink.looptrace.report", "-p"]
        proc = subprocess.run(bt + ['snapshot-interval-ms=1000,snapshot-output="-",'
                                    'output="%s"' % out], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=120, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        lines = proc.stdout.decode().splitlines()
        self.assertGreaterEqual(len(lines), 2)  # one at once, the final one at the end
        snaps = [json.loads(line) for line in lines]
        self.assertEqual([s["snapshot"]["seq"] for s in snaps], list(range(1, len(lines) + 1)))
        self.assertTrue(snaps[-1]["snapshot"]["final"])
        self.assertFalse(any(s["snapshot"]["final"] for s in snaps[:-1]))
        final = snaps[-1]
        inboxes = final.pop("snapshot")["inboxes"]
        with open(out, encoding="utf-8") as f:
            self.assertEqual(final, json.load(f))
        chans = {(c["pid"], c["id"]) for c in final["channels"]}
        self.assertTrue(inboxes)
        for box in inboxes:
            self.assertIn((box["pid"], box["chan"]), chans)
            self.assertIn(box["tid"], {c["tid"] for c in final["components"]})
        proc = subprocess.run(bt + ["snapshot-interval-ms=1000"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60, check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("go together", proc.stderr.decode())

    def test_program_exits(self):
        """Without --batch, --json prints until CMD ends by itself; the exit status is CMD's
        and the final figures are the whole trace's."""
        trace, proc = self.run_top("--json", "--", DEMO, "--mode", "thread", "--duration", "2")
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        snaps = [json.loads(line) for line in proc.stdout.decode().splitlines()]
        self.assertTrue(snaps[-1]["final"])
        self.assertEqual(snaps[-1]["program"]["exit_status"], 0)
        self.assertFalse(snaps[-1]["program"]["stopped_by_top"])
        rep = report(trace)
        self.assertEqual(snaps[-1]["trace"]["events"], rep["trace"]["events"])
        self.assertEqual(messages_by_name(snaps[-1]["components"]),
                         messages_by_name(rep["components"]))
        self.assert_clean(trace)
        # CMD's own exit status comes back
        trace2 = os.path.join(self.tmp, "trace2")
        proc = subprocess.run([LOOPTRACE, "top", "--batch", "1", "-o", trace2, "--", "sh",
                               "-c", "exit 3"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                              check=False)
        self.assertEqual(proc.returncode, 3, proc.stderr.decode())
        self.assertIn("no looptrace events were recorded", proc.stderr.decode())

    def test_ctrl_c(self):
        trace = os.path.join(self.tmp, "trace")
        proc = subprocess.Popen([LOOPTRACE, "top", "--batch", "1000", "-o", trace, "--", DEMO,
                                 "--duration", "60"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            line = b""
            while not line.startswith(b"snapshot ") and time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
            self.assertTrue(line.startswith(b"snapshot "), "no snapshot printed")
            os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 130, err.decode())
        self.assertIn("interrupted", err.decode())
        rep = report(trace)
        self.assertGreater(rep["trace"]["events"], 0)
        self.assertTrue(set(COMPONENTS) <= {c["name"] for c in rep["components"]})
        self.assert_clean(trace, proc.pid)

    def test_no_events_hint(self):
        """A program without looptrace events (no --interpose): top says so on stderr within
        seconds and suggests --interpose, instead of printing nothing until killed."""
        trace = os.path.join(self.tmp, "trace")
        proc = subprocess.Popen([LOOPTRACE, "top", "--batch", "2", "--interval", "0.5", "-o",
                                 trace, "--", "sleep", "60"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        lines = []
        try:
            deadline = time.monotonic() + 60  # a hang guard, not a timing assertion
            while time.monotonic() < deadline:
                line = proc.stderr.readline()
                if not line:
                    break
                lines.append(line.decode("utf-8", "replace"))
                if "no looptrace events" in lines[-1]:
                    break
            os.killpg(proc.pid, signal.SIGINT)
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        hint = [ln for ln in lines if "no looptrace events from the program" in ln]
        self.assertTrue(hint, "no hint on stderr: %r" % lines)
        self.assertIn("looptrace top --interpose -- CMD", hint[0])
        self.assertEqual(proc.returncode, 130, err.decode())
        self.assert_clean(trace, proc.pid)

    def test_bad_input(self):
        for args, text in ((["--batch", "1"], "no command given"),
                           (["--batch", "0", "--", DEMO], "at least 1"),
                           (["--", DEMO], "needs a terminal"),
                           (["--interval", "0", "--batch", "1", "--", DEMO], "--interval"),
                           (["--batch", "1", "--", "/nonexistent/x"], "command not found")):
            proc = subprocess.run([LOOPTRACE, "top"] + args, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=60, check=False, cwd=self.tmp)
            self.assertEqual(proc.returncode, 2, args)
            err = proc.stderr.decode()
            self.assertIn(text, err)
            self.assertTrue(err.startswith("looptrace: "), err)
            self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertEqual(os.listdir(self.tmp), [], "no trace folder for a run that failed")


class TopScreen(Base):
    def setUp(self):
        super().setUp()
        if not shutil.which("tmux"):
            skip_or_fail(self, "tmux not installed (scripts/install-deps)")
        self.sock = "looptrace-top-test-%d" % os.getpid()
        self.env = dict(os.environ, TERM="xterm")

    def tearDown(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        super().tearDown()

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=self.env, timeout=30, check=True
                              ).stdout.decode("utf-8", "replace")

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "top")

    def wait_for(self, pred, what, timeout=60):
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if pred(text):
                return text
            time.sleep(0.3)
        self.fail("timed out waiting for %s; screen:\n%s" % (what, text))

    def start(self, *demo_args):
        trace = os.path.join(self.tmp, "trace")
        cmd = " ".join("'%s'" % a for a in [LOOPTRACE, "top", "-o", trace, "--", DEMO]
                       + list(demo_args))
        self.tmux("new-session", "-d", "-s", "top", "-x", "80", "-y", "24",
                  "%s; echo EXIT=$?; sleep 600" % cmd)
        pane = int(self.tmux("display-message", "-p", "-t", "top", "#{pane_pid}").strip())
        top_pid = None
        deadline = time.monotonic() + 10
        while top_pid is None and time.monotonic() < deadline:
            try:
                with open("/proc/%d/task/%d/children" % (pane, pane), encoding="ascii") as f:
                    kids = f.read().split()
                top_pid = int(kids[0]) if kids else None
            except OSError:
                pass
            time.sleep(0.05)
        return trace, top_pid

    def test_sort_and_quit(self):
        trace, top_pid = self.start("--mode", "routed", "--duration", "60")
        text = self.wait_for(lambda s: all(re.search(r"^%s\*? " % n, s, re.M)
                                           for n in COMPONENTS), "the components")
        for line in text.splitlines():
            self.assertLessEqual(len(line), 80)
        self.assertIn("q quit", text)
        self.tmux("send-keys", "-t", "top", "2")  # sort by MSGS
        text = self.wait_for(lambda s: "now: 2 MSGS" in s, "sorting by MSGS")
        counts = []
        for line in text.splitlines():
            m = re.match(r"^(%s)\*?\s+(\d+)\s" % "|".join(COMPONENTS), line)
            if m:
                counts.append(int(m.group(2)))
        self.assertEqual(len(counts), len(COMPONENTS), text)
        self.assertEqual(counts, sorted(counts, reverse=True), text)
        self.tmux("send-keys", "-t", "top", "q")
        text = self.wait_for(lambda s: "EXIT=" in s, "top to exit", timeout=90)
        self.assertIn("EXIT=0", text)
        self.assertIn("trace kept in", text)
        self.assert_clean(trace, top_pid)
        rep = report(trace)
        self.assertTrue(set(COMPONENTS) <= {c["name"] for c in rep["components"]})

    def test_ctrl_c(self):
        trace, top_pid = self.start("--mode", "routed", "--duration", "60")
        self.wait_for(lambda s: all(re.search(r"^%s\*? " % n, s, re.M) for n in COMPONENTS),
                      "the components")
        self.tmux("send-keys", "-t", "top", "C-c")
        text = self.wait_for(lambda s: "EXIT=" in s, "top to exit", timeout=90)
        self.assertIn("EXIT=130", text)
        self.assert_clean(trace, top_pid)
        rep = report(trace)
        self.assertTrue(set(COMPONENTS) <= {c["name"] for c in rep["components"]})

    def test_program_exits(self):
        trace, top_pid = self.start("--mode", "thread", "--duration", "2")
        text = self.wait_for(lambda s: "program exited with status 0" in s,
                             "the final figures", timeout=90)
        self.assertIn("final figures; q to quit", text)
        for name in COMPONENTS:
            self.assertRegex(text, r"(?m)^%s\*? " % name)
        self.tmux("send-keys", "-t", "top", "q")
        text = self.wait_for(lambda s: "EXIT=" in s, "top to exit", timeout=60)
        self.assertIn("EXIT=0", text)
        self.assert_clean(trace, top_pid)


if __name__ == "__main__":
    unittest.main()
