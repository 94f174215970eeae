"""looptrace-demo without tracing: its options, and its ground truth in short runs of each mode.

Bad values must end the program with exit status 2 and exactly one line on stderr naming the
option. A short run of each mode must print a ground truth that adds up: every input sent was
handled, every fetch started came back, each component's message count is its handler runs
plus its ticks, and nothing was dropped at shutdown. If the looptrace launcher is built
(LOOPTRACE_BIN), `looptrace demo` must reject bad settings the same way before recording.
"""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))

DEMO = os.environ.get("LOOPTRACE_DEMO") or os.path.join(SOURCE_ROOT, "build", "bin",
                                                        "looptrace-demo")
LAUNCHER = os.environ.get("LOOPTRACE_BIN", "")

OPTIONS = ("--mode", "--duration", "--rate", "--task-us", "--fetch-share", "--latency-ms",
           "--jitter-ms", "--seed", "--reflow-share", "--reflow-us", "--response-us",
           "--paint-us", "--inbox", "--workers", "--processes", "--help")

BAD = [
    (["--mode", "fast"], "--mode"),
    (["--mode="], "--mode"),
    (["--duration", "0"], "--duration"),
    (["--duration", "-1"], "--duration"),
    (["--duration", "ten"], "--duration"),
    (["--rate", "0"], "--rate"),
    (["--rate", "abc"], "--rate"),
    (["--rate", "nan"], "--rate"),
    (["--rate", "1e9"], "--rate"),
    (["--task-us", "-1"], "--task-us"),
    (["--fetch-share", "1.5"], "--fetch-share"),
    (["--fetch-share", "-0.1"], "--fetch-share"),
    (["--latency-ms", "x"], "--latency-ms"),
    (["--jitter-ms", "-2"], "--jitter-ms"),
    (["--seed", "-3"], "--seed"),
    (["--seed", "1.5"], "--seed"),
    (["--reflow-share", "2"], "--reflow-share"),
    (["--reflow-us", "inf"], "--reflow-us"),
    (["--response-us", ""], "--response-us"),
    (["--paint-us", "20000"], "--paint-us"),
    (["--inbox", "0"], "--inbox"),
    (["--inbox", "12abc"], "--inbox"),
    (["--workers", "0"], "--workers"),
    (["--workers", "1025"], "--workers"),
    (["--workers", "two"], "--workers"),
    (["--bogus"], "--bogus"),
    (["-x"], "-x"),
    (["extra"], "extra"),
    (["--rate"], "--rate"),
]


def run(args, timeout=60):
    return subprocess.run([DEMO] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)


class Options(unittest.TestCase):
    def setUp(self):
        if not os.access(DEMO, os.X_OK):
            self.fail("looptrace-demo not built: %s" % DEMO)

    def test_help_documents_every_option_and_default(self):
        p = run(["--help"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        for opt in OPTIONS:
            self.assertIn(opt, p.stdout)
        for default in ("[routed]", "[10]", "[400]", "[500]", "[0.5]", "[20]", "[5]", "[1]",
                        "[32]"):
            self.assertIn(default, p.stdout)

    def test_bad_values_exit_2_with_one_line(self):
        for args, names in BAD:
            with self.subTest(args=args):
                p = run(args)
                self.assertEqual(p.returncode, 2, "%r: stderr %r" % (args, p.stderr))
                self.assertEqual(p.stdout, "")
                lines = p.stderr.splitlines()
                self.assertEqual(len(lines), 1, p.stderr)
                self.assertTrue(lines[0].startswith("looptrace-demo: "), lines[0])
                self.assertIn(names, lines[0])

    def test_bad_value_after_good_ones(self):
        p = run(["--mode", "blocking", "--rate", "100", "--fetch-share", "7"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("--fetch-share", p.stderr)


class GroundTruth(unittest.TestCase):
    """Short untraced runs: the ground truth must be internally consistent."""

    def setUp(self):
        if not os.access(DEMO, os.X_OK):
            self.fail("looptrace-demo not built: %s" % DEMO)

    def check_mode(self, mode, extra=()):
        p = run(["--mode", mode, "--duration", "1"] + list(extra), timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        gt = json.loads(p.stdout)
        self.assertIsNone(gt["interrupted"])
        return self.check_truth(gt, mode)

    def check_truth(self, gt, mode):
        self.assertEqual(gt["schema"], "looptrace-demo/1")
        self.assertEqual(gt["mode"], mode)
        self.assertIsInstance(gt["pid"], int)
        comps = gt["components"]
        names = {"script", "net", "layout", "compositor", "router"}
        if gt["settings"]["processes"]:
            names.add("net-router")
        self.assertEqual(set(comps), names)
        inputs, fetches, reflows = gt["inputs"], gt["fetches"], gt["reflows"]

        self.assertTrue(gt["shutdown"]["drained"])
        self.assertEqual(gt["shutdown"]["dropped_messages"], 0)
        self.assertEqual(gt["shutdown"]["fetches_lost"], 0)
        self.assertEqual(gt["shutdown"]["responses_never_sent"], 0)

        self.assertGreater(inputs["sent"], 0)
        self.assertEqual(inputs["sent"], inputs["handled"])
        self.assertEqual(fetches["failed"], 0)
        self.assertEqual(fetches["errors"], 0)
        self.assertEqual(fetches["attempted"], fetches["started"])
        self.assertEqual(fetches["started"], fetches["completed"])
        self.assertEqual(fetches["started"], fetches["served_by_net"])
        self.assertEqual(reflows["sent"], reflows["done"])

        for name, c in comps.items():
            self.assertEqual(c["messages"], c["handled"] + c["ticks"], name)
        responses = 0 if mode in ("blocking", "await") else fetches["completed"]
        self.assertEqual(comps["script"]["messages"], inputs["handled"] + responses)
        self.assertEqual(comps["script"]["ticks"], 0)
        self.assertEqual(comps["net"]["handled"], fetches["started"])
        self.assertGreater(comps["net"]["ticks"], 0)
        self.assertEqual(comps["layout"]["messages"], reflows["done"])
        self.assertEqual(comps["compositor"]["handled"], reflows["done"])
        self.assertEqual(comps["compositor"]["ticks"], gt["frames"])
        self.assertEqual(comps["router"]["messages"], comps["router"]["dispatches"])
        # One dispatch per response (a spurious wakeup would add one, never remove one).
        self.assertGreaterEqual(comps["router"]["dispatches"], fetches["started"])

        # the pool: always in await and spawn, with --workers in the other modes
        workers = gt["settings"]["workers"]
        if mode in ("await", "spawn"):
            self.assertGreaterEqual(workers, 1)
        if workers:
            self.assertEqual(gt["pool"]["threads"], workers)
            spawned = fetches["started"] if mode == "spawn" else 0
            self.assertEqual(gt["pool"]["tasks_spawned"], spawned)
            # spawn: a reply channel per fetch in flight at once, reused: 1..fetches
            made = gt["pool"]["reply_channels"]
            if mode == "spawn" and spawned:
                self.assertGreaterEqual(made, 1)
                self.assertLessEqual(made, spawned)
            else:
                self.assertEqual(made, 0)
        else:
            self.assertIsNone(gt["pool"])

        # cost: the process's own accounting, per message of the page and per fetch
        cost = gt["cost"]
        self.assertEqual(cost["messages"], sum(c["messages"] for c in comps.values()))
        self.assertEqual(cost["fetches"], fetches["completed"])
        self.assertGreater(cost["cpu_s"], 0)
        self.assertAlmostEqual(cost["cpu_s"], cost["user_s"] + cost["sys_s"], places=3)
        self.assertEqual(cost["ctx_switches"], cost["voluntary"] + cost["involuntary"])
        per = cost["cpu_s"] * 1e6 / cost["messages"]  # cpu_s is rounded to 0.1 ms
        self.assertAlmostEqual(cost["cpu_us_per_message"], per,
                               delta=0.01 + 100.0 / cost["messages"])
        self.assertAlmostEqual(cost["ctx_switches_per_message"],
                               cost["ctx_switches"] / cost["messages"], delta=0.002)

        for key in ("input_latency_us", "input_delay_us", "fetch_latency_us"):
            q = gt[key]
            self.assertLessEqual(q["p50"], q["p99"], key)
            self.assertLessEqual(q["p99"], q["max"], key)
        return gt

    def test_routed(self):
        gt = self.check_mode("routed")
        self.assertGreater(gt["fetches"]["started"], 0)

    def test_blocking(self):
        gt = self.check_mode("blocking")
        self.assertGreater(gt["fetches"]["started"], 0)

    def test_thread(self):
        gt = self.check_mode("thread")
        self.assertGreater(gt["fetches"]["started"], 0)

    def test_await(self):
        gt = self.check_mode("await")
        self.assertGreater(gt["fetches"]["started"], 0)
        self.assertEqual(gt["settings"]["workers"], 2)  # the default pool

    def test_spawn(self):
        gt = self.check_mode("spawn")
        self.assertGreater(gt["fetches"]["started"], 0)
        self.assertEqual(gt["settings"]["workers"], 2)

    def test_workers_every_mode(self):
        """--workers N runs every mode's components on a pool of N (one thread: all of them
        on the same one), and the ground truth still adds up."""
        for mode in ("routed", "blocking", "thread", "await", "spawn"):
            with self.subTest(mode=mode):
                gt = self.check_mode(mode, ["--workers", "1"])
                self.assertEqual(gt["settings"]["workers"], 1)
                self.assertEqual(gt["pool"]["threads"], 1)
        gt = self.check_mode("routed")
        self.assertEqual(gt["settings"]["workers"], 0)

    def test_processes(self):
        """--processes: net and its router in another process (their own pid), the counts
        add up across the boundary: every request frame reached net, every response frame
        came back, each stream ended cleanly once (one more dispatch on each side)."""
        for mode in ("routed", "blocking", "thread", "spawn"):
            with self.subTest(mode=mode):
                gt = self.check_mode(mode, ["--processes"])
                comps, fetches, net = gt["components"], gt["fetches"], gt["net_process"]
                self.assertGreater(fetches["started"], 0)
                self.assertNotEqual(net["pid"], gt["pid"])
                self.assertEqual(comps["net"]["pid"], net["pid"])
                self.assertEqual(comps["net-router"]["pid"], net["pid"])
                self.assertEqual(net["exit_status"], 0)
                self.assertTrue(net["reported"])
                self.assertEqual(net["bad_frames"], 0)
                self.assertEqual(net["response_stream_end"], "channel closed")
                self.assertEqual(net["requests"], fetches["started"])
                self.assertEqual(comps["net-router"]["dispatches"], fetches["started"] + 1)
                self.assertEqual(comps["router"]["dispatches"], fetches["started"] + 1)
        p = run(["--duration", "1"])
        self.assertIsNone(json.loads(p.stdout)["net_process"])

    def test_sigint_drains_and_reports(self):
        for mode in ("routed", "blocking"):
            with self.subTest(mode=mode):
                proc = subprocess.Popen([DEMO, "--mode", mode, "--duration", "60"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
                try:
                    # Wait for the start banner, then interrupt mid-run.
                    banner = proc.stderr.readline()
                    self.assertIn("looptrace-demo: mode %s" % mode, banner)
                    time.sleep(0.5)
                    proc.send_signal(signal.SIGINT)
                    out, err = proc.communicate(timeout=60)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
                self.assertEqual(proc.returncode, 128 + signal.SIGINT, err)
                gt = json.loads(out)
                self.assertEqual(gt["interrupted"], "SIGINT")
                self.assertLess(gt["elapsed_s"], 30)
                self.check_truth(gt, mode)

    def test_no_fetches_no_jitter(self):
        gt = self.check_mode("routed", ["--fetch-share", "0", "--reflow-share", "1",
                                        "--rate", "200", "--jitter-ms", "0"])
        self.assertEqual(gt["fetches"]["started"], 0)
        self.assertEqual(gt["reflows"]["sent"], gt["inputs"]["handled"])


class LauncherChecks(unittest.TestCase):
    """`looptrace demo` vets its settings before recording anything."""

    def setUp(self):
        if not os.access(LAUNCHER, os.X_OK):
            self.fail("looptrace launcher not built: %s" % LAUNCHER)

    def looptrace(self, args):
        return subprocess.run([LAUNCHER] + args, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=60)

    def assert_one_line(self, p, needle):
        self.assertEqual(p.returncode, 2, p.stderr)
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("looptrace: "), lines[0])
        self.assertIn(needle, lines[0])

    def test_help(self):
        p = self.looptrace(["demo", "--help"])
        self.assertEqual(p.returncode, 0)
        for opt in ("--modes", "--duration", "-o", "--rate", "--latency-ms", "--seed"):
            self.assertIn(opt, p.stdout)

    def test_bad_mode(self):
        self.assert_one_line(self.looptrace(["demo", "--modes", "routed,fast"]), "fast")

    def test_bad_duration(self):
        self.assert_one_line(self.looptrace(["demo", "--duration", "0"]), "--duration")

    def test_bad_pass_through(self):
        self.assert_one_line(self.looptrace(["demo", "--rate", "abc"]), "--rate")


if not LAUNCHER:
    # Builds without LTTng have no launcher (CMake passes LOOPTRACE_BIN only when it exists).
    del LauncherChecks


if __name__ == "__main__":
    prog = unittest.main(exit=False, verbosity=2)
    r = prog.result
    if r.failures or r.errors:
        sys.exit(1)
    if r.skipped and not r.testsRun - len(r.skipped):
        sys.exit(77)
    sys.exit(0)
