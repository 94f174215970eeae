"""The flight recorder under a real lttng-sessiond (CTest labels `flight`, `lttng`).

flight_prog (tests/flight/flight_prog.c) runs a client and a server component on the runtime
(real threads, a real channel); once, at a random moment, the server's handler blocks 50 ms in
nanosleep between lt_block_begin/lt_block_end and the program prints its own measurement of it
(CLOCK_MONOTONIC). Recorded with `record --flight-recorder 8M --on 'blocked>10ms'`:

* a snapshot appears in DIR/snapshots/, its report shows that block (within 2 % of the
  program's own measurement) with its call site (function `stall`), marks the trigger
  (condition, component, value, call site) in JSON and in the terminal, and the folder stays
  within a few times SIZE;
* the same run without the block writes no snapshot;
* a ring far smaller than what the run writes (512k) still holds the whole block: the memory
  and the disk stay bounded whatever the run's length.

The issue asks for a 20 s run; the runs here are 5 s (LT_FLIGHT_SECONDS overrides it, e.g. 20
to run the issue's version by hand; bench/flight/run.sh --issue does): what a longer run
changes is only how often the ring is overwritten, and the 512k case overwrites it several
times over in 5 s. The failure cases follow:
an LTTng without triggers and a session daemon refusing the trigger (an `lttng` wrapper first
on PATH), a full disk (a small tmpfs), CMD killed (with --snapshot-at-exit), snapshots by hand
(`looptrace snapshot DIR`), `report DIR` with several snapshots, and bad conditions.

latency>DUR runs looptrace-demo in routed mode (each fetch adds a route, then net answers
after --latency-ms, with no jitter, over a pipe the router dispatches): the round trip of a
fetch is at least that latency by the program's own sleep, so `latency>10ms` must fire with a
value >= 20 ms and `latency>2s` must not.

Environment (set by CTest): LOOPTRACE, LT_FLIGHT_PROG, LOOPTRACE_DEMO. A skip is a failure when CI=true.
"""

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

LOOPTRACE = os.environ.get("LOOPTRACE", "")
PROG = os.environ.get("LT_FLIGHT_PROG", "")
DEMO = os.environ.get("LOOPTRACE_DEMO", "")
SECONDS = float(os.environ.get("LT_FLIGHT_SECONDS", "5"))
MIB = 1 << 20


def skip_or_fail(test, why):
    if os.environ.get("CI") == "true":
        test.fail("skipped in CI: " + why)
    test.skipTest(why)


def du(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def snapshots(out):
    d = os.path.join(out, "snapshots")
    if not os.path.isdir(d):
        return []
    return sorted((os.path.join(d, e) for e in os.listdir(d) if not e.startswith(".")),
                  key=lambda p: int(os.path.basename(p).split("-")[0]))


def trigger_of(snap):
    """What fired snapshot folder `snap` (its looptrace-snapshot.json's `trigger`)."""
    return read_json(os.path.join(snap, "looptrace-snapshot.json"))["trigger"]


SHORT_OK_NS = 5 * 1000 * 1000  # the short blocks (200 us) stayed under 10 ms by this much


def split_snapshots(test, snaps, prog):
    """(the snapshot of the 50 ms sleep, the others). Others are allowed only when the
    program's own clock says a short block (reason io) was stretched near the 10 ms threshold
    (preemption on a loaded machine), and then each must be such a block."""
    block = [s for s in snaps if (trigger_of(s) or {}).get("reason") == "sleep"]
    others = [s for s in snaps if s not in block]
    if others:
        test.assertGreater(prog["max_short_ns"], SHORT_OK_NS, (others, prog))
        for s in others:
            test.assertEqual(trigger_of(s)["reason"], "io", s)
    return block, others


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class Base(unittest.TestCase):
    def setUp(self):
        if not LOOPTRACE or not os.path.exists(LOOPTRACE) or not PROG:
            skip_or_fail(self, "LOOPTRACE / LT_FLIGHT_PROG not set (run through ctest)")
        if shutil.which("lttng") is None:
            skip_or_fail(self, "lttng not installed")
        self.tmp = tempfile.mkdtemp(prefix="lt-flight-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def record(self, out, flight_args, prog_args, env=None, timeout=120, prog=None):
        """Run record; (exit status, program's JSON line or None, stderr)."""
        cmd = [LOOPTRACE, "record"] + flight_args + ["-o", out, "--", prog or PROG] + prog_args
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, env=env, check=False)
        if prog is not None:  # looptrace-demo: one JSON object over several lines
            return proc.returncode, json.loads(proc.stdout or b"null"), proc.stderr.decode()
        line = None
        for text in proc.stdout.decode().splitlines():
            if text.startswith("{"):
                line = json.loads(text)
        return proc.returncode, line, proc.stderr.decode()

    def report_json(self, trace):
        proc = subprocess.run([LOOPTRACE, "report", "--json", "-", trace],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        return json.loads(proc.stdout)

    def check_block(self, snap, measured_ns, named=True):
        """The snapshot's report shows the program's block in the server's thread at `stall`,
        to 2 %; with `named`, the component is named `server` (its component_begin is still in
        the ring), else it may be the implicit `thread-<tid>` of a snapshot that begins
        mid-run."""
        report = self.report_json(snap)
        blocked = [c for c in report["components"]
                   if any(b["reason"] == "sleep" for b in c["blocked_by"])]
        self.assertEqual(len(blocked), 1, ([(c["name"], c["blocked_by"])
                                            for c in report["components"]],
                                           report["trace"]["snapshot"]))
        if named:
            self.assertEqual(blocked[0]["name"], "server")
        trig = report["trace"]["snapshot"]["trigger"]
        self.assertEqual(blocked[0]["tid"], trig["tid"], trig)
        blocks = [b for b in blocked[0]["blocked_by"] if b["reason"] == "sleep"]
        self.assertEqual(len(blocks), 1, blocked[0]["blocked_by"])
        b = blocks[0]
        self.assertEqual(b["count"], 1)
        self.assertLess(abs(b["in_handler_ns"] - measured_ns), 0.02 * measured_ns,
                        (b, measured_ns))
        self.assertIn("stall", b.get("site") or "", b)
        self.assertEqual(report["trace"]["snapshot"]["condition"], "blocked")
        self.assertEqual(trig["condition"], "blocked")
        self.assertEqual(trig["component_name"], "server")
        self.assertEqual(trig["reason"], "sleep")
        self.assertIn("stall", trig["call_site"])
        self.assertLess(abs(trig["value"] - measured_ns), 0.02 * measured_ns)
        self.assertEqual(report["trace"]["snapshot"]["threshold"], 10 * 1000 * 1000)
        # The offending interval lies inside the snapshot. Its end is read just after the
        # block_end record, so the snapshot may end (at that record) up to a few us before it.
        self.assertGreaterEqual(trig["begin_offset_ns"], 0, trig)
        self.assertLessEqual(trig["end_offset_ns"], report["trace"]["duration_ns"] + 1000000,
                             trig)
        self.assertNotIn("cut-short", [w["kind"] for w in report["warnings"]])
        return report


class FlightRecorder(Base):
    def test_block_snapshot(self):
        out = os.path.join(self.tmp, "t")
        status, prog, err = self.record(out, ["--flight-recorder", "8M", "--on", "blocked>10ms"],
                                        [str(SECONDS), "50"])
        self.assertEqual(status, 0, err)
        self.assertGreater(prog["blocked_ns"], 45 * 1000 * 1000, prog)
        snaps = snapshots(out)
        block, others = split_snapshots(self, snaps, prog)
        self.assertEqual(len(block), 1, (snaps, err))
        self.assertRegex(os.path.basename(block[0]), r"^\d-\d{8}-\d{6}-blocked$")
        # The one-line notice names the block's length, as the program's own clock saw it
        # (its sleep of 50 ms may overrun on a loaded machine: compare, do not assume).
        m = re.search(r"\(blocked ([0-9.]+)ms in server\)", err)
        self.assertIsNotNone(m, err)
        self.assertLess(abs(float(m.group(1)) * 1e6 - prog["blocked_ns"]),
                        0.02 * prog["blocked_ns"] + 1e6, (err, prog))
        self.check_block(block[0], prog["blocked_ns"])
        # Bounded: each snapshot holds at most SIZE (plus the state dump and metadata).
        self.assertLess(du(out), (2 + len(snaps)) * 8 * MIB, du(out))
        info = read_json(os.path.join(out, "looptrace-record.json"))
        self.assertEqual(info["flight_recorder"]["snapshots"],
                         [os.path.basename(p) for p in snaps])
        if others:
            return  # `report DIR` below needs a single snapshot
        # `report DIR` on the recording's folder reports its only snapshot, the trigger first.
        proc = subprocess.run([LOOPTRACE, "report", out], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        text = proc.stdout.decode()
        self.assertTrue(text.startswith("SNAPSHOT 1: taken on blocked>10"), text[:300])
        self.assertIn("in server", text.splitlines()[1])
        self.assertIn("call site: stall", text)
        self.assertIn("reporting its only snapshot", proc.stderr.decode())

    def test_no_block_no_snapshot(self):
        out = os.path.join(self.tmp, "t")
        status, prog, err = self.record(out, ["--flight-recorder", "8M", "--on", "blocked>10ms"],
                                        [str(SECONDS), "0"])
        self.assertEqual(status, 0, err)
        self.assertEqual(prog["blocked_ns"], 0)
        self.assertGreater(prog["handled"], 1000, prog)
        if prog["max_short_ns"] > SHORT_OK_NS:  # a loaded machine stretched a short block
            split_snapshots(self, snapshots(out), prog)
            return
        self.assertEqual(snapshots(out), [], err)
        self.assertIn("no snapshot taken (no condition matched)", err)
        proc = subprocess.run([LOOPTRACE, "report", out], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("flight recording with no snapshot", proc.stderr.decode())

    def test_small_ring_keeps_the_block(self):
        # 2M in all (1M per CPU here) while the program writes 0.5-1 MB/s for 8 s: the ring is
        # overwritten, memory and disk stay bounded, and the snapshot (taken on the trigger)
        # holds the whole 50 ms block if LTTng took it before the ring wrapped past it. On
        # this 2-core machine under load LTTng took up to 2.4 s (docs/flight-recorder.md);
        # then the report must say that the snapshot begins after the block started.
        out = os.path.join(self.tmp, "t")
        status, prog, err = self.record(out, ["--flight-recorder", "2M", "--on",
                                              "blocked>10ms"], ["8", "50"])
        self.assertEqual(status, 0, err)
        block, _ = split_snapshots(self, snapshots(out), prog)
        self.assertEqual(len(block), 1, err)
        report = self.report_json(block[0])
        trig = report["trace"]["snapshot"]["trigger"]
        if trig["begin_offset_ns"] >= 0:
            self.check_block(block[0], prog["blocked_ns"], named=False)
        else:
            text = subprocess.run([LOOPTRACE, "report", block[0]], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, check=False).stdout.decode()
            self.assertIn("the snapshot begins after it started", text)
            self.assertFalse(any(b["reason"] == "sleep" for c in report["components"]
                                 for b in c["blocked_by"]))
        # The ring was overwritten: the snapshot lacks much of what the program handled.
        handled = sum(c["messages"] for c in report["components"]
                      if any(b["reason"] == "io" for b in c["blocked_by"]))
        self.assertLess(handled, 0.8 * prog["handled"], (handled, prog))
        ust = du(os.path.join(block[0], "ust"))
        self.assertLess(ust, 2 * MIB + 512 * 1024 + 256 * 1024, ust)  # ring + state dump

    def test_handler_condition(self):
        # handler>DUR: the 50 ms block makes its handler run > 40 ms.
        out = os.path.join(self.tmp, "t")
        status, prog, err = self.record(out, ["--flight-recorder", "2M", "--on", "handler>40ms"],
                                        ["3", "50"])
        self.assertEqual(status, 0, err)
        snaps = snapshots(out)
        self.assertTrue(snaps and all(s.endswith("-handler") for s in snaps), (snaps, err))
        trigs = [self.report_json(s)["trace"]["snapshot"]["trigger"] for s in snaps]
        self.assertTrue(all(t["component_name"] == "server" for t in trigs), trigs)
        # The stall's handler: longer than the program's own measure of the block in it.
        self.assertTrue(any(t["value"] > prog["blocked_ns"] for t in trigs), (trigs, prog))

    def test_depth_condition(self):
        # depth>N: the main thread sends 8 requests before the server starts (depths 1..8 at
        # the channel's positions 0..7). liblooptrace-rt reads a send's depth at one position
        # in 64 only, unless the flight recorder watches depths: the spike is between two
        # such positions, so this fires only if every send's depth was read.
        out = os.path.join(self.tmp, "t")
        env = dict(os.environ, FLIGHT_PROG_BURST="8")
        status, prog, err = self.record(out, ["--flight-recorder", "2M", "--on", "depth>3",
                                              "--max-snapshots", "1"], ["1", "0"], env=env)
        self.assertEqual(status, 0, err)
        self.assertGreaterEqual(prog["sent"], 8, prog)
        snaps = snapshots(out)
        self.assertEqual(len(snaps), 1, (snaps, err))
        self.assertTrue(snaps[0].endswith("-depth"), snaps)
        trig = self.report_json(snaps[0])["trace"]["snapshot"]["trigger"]
        self.assertEqual(trig["value"], 4, trig)  # the first send past 3: the burst's 4th

    DEMO_ARGS = ["--mode", "routed", "--duration", "2", "--rate", "100", "--latency-ms", "20",
                 "--jitter-ms", "0"]

    def test_latency_condition(self):
        # latency>DUR: a fetch's route, from lt_route_add to its dispatch by the router.
        if not DEMO:
            skip_or_fail(self, "LOOPTRACE_DEMO not set (run through ctest)")
        out = os.path.join(self.tmp, "t")
        status, demo, err = self.record(out, ["--flight-recorder", "8M", "--on", "latency>10ms"],
                                        self.DEMO_ARGS, prog=DEMO)
        self.assertEqual(status, 0, err)
        self.assertGreater(demo["fetches"]["completed"], 0, demo)
        snaps = snapshots(out)
        self.assertTrue(snaps and all(s.endswith("-latency") for s in snaps), (snaps, err))
        report = self.report_json(snaps[0])
        snap = report["trace"]["snapshot"]
        self.assertEqual(snap["condition"], "latency")
        trig = snap["trigger"]
        # At least net's sleep (the route exists before the request leaves).
        self.assertGreaterEqual(trig["value"], 20 * 1000 * 1000, trig)
        # At most the slowest fetch as script measured it (from just after the route's add to
        # the response used, which follows the dispatch), give or take a preemption.
        self.assertLessEqual(trig["value"], demo["fetch_latency_us"]["max"] * 1000 + 5e6,
                             (trig, demo["fetch_latency_us"]))
        self.assertEqual(trig["end_ts"] - trig["begin_ts"], trig["value"], trig)
        # The route's owner: script (whose fetch it is), not the router that dispatched it.
        self.assertEqual(trig["component_name"], "script", trig)
        proc = subprocess.run([LOOPTRACE, "report", snaps[0]], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        self.assertRegex(proc.stdout.decode(), r"SNAPSHOT 1: taken on latency>10(\.0+)? ?ms")

        out2 = os.path.join(self.tmp, "t2")
        status, demo, err = self.record(out2, ["--flight-recorder", "8M", "--on", "latency>2s"],
                                        self.DEMO_ARGS, prog=DEMO)
        self.assertEqual(status, 0, err)
        self.assertGreater(demo["fetches"]["completed"], 0, demo)
        self.assertEqual(snapshots(out2), [], err)


class FlightFaults(Base):
    def test_killed_with_snapshot_at_exit(self):
        out = os.path.join(self.tmp, "t")
        proc = subprocess.Popen([LOOPTRACE, "record", "--flight-recorder", "2M",
                                 "--snapshot-at-exit", "-o", out, "--", PROG, "30", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        pid = None
        while time.monotonic() < deadline and pid is None:
            time.sleep(0.2)
            kids = subprocess.run(["pgrep", "-P", str(proc.pid), "-x", "flight_prog"],
                                  stdout=subprocess.PIPE,
                                  check=False).stdout.split()
            pid = int(kids[0]) if kids else None
        self.assertIsNotNone(pid)
        time.sleep(1.5)
        os.kill(pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 128 + 9, err)
        snaps = snapshots(out)
        self.assertEqual([os.path.basename(s).split("-")[-1] for s in snaps], ["exit"], err)
        report = self.report_json(snaps[0])
        self.assertGreater(sum(c["messages"] for c in report["components"]), 100)
        info = read_json(os.path.join(out, "looptrace-record.json"))
        self.assertEqual(info["signal"], 9)

    def test_snapshot_by_hand_and_report_of_several(self):
        out = os.path.join(self.tmp, "t")
        proc = subprocess.Popen([LOOPTRACE, "record", "--flight-recorder", "2M", "-o", out,
                                 "--", PROG, "6", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(out, ".looptrace-record.pid")):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)
        time.sleep(1.5)
        taken = []
        for _ in range(2):
            snap = subprocess.run([LOOPTRACE, "snapshot", out], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=90, check=False)
            self.assertEqual(snap.returncode, 0, snap.stderr.decode())
            taken.append(snap.stdout.decode().strip())
        _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(taken, snapshots(out))
        self.assertTrue(all(t.endswith("-manual") for t in taken), taken)
        self.assertGreater(sum(c["messages"] for c in self.report_json(taken[1])["components"]),
                           100)
        rep = subprocess.run([LOOPTRACE, "report", out], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, check=False)
        self.assertEqual(rep.returncode, 2)
        line = rep.stderr.decode().strip()
        self.assertEqual(len(line.splitlines()), 1, line)
        self.assertIn("holds 2 snapshots of a flight recording: report one of them", line)
        # After the recording: nobody to ask.
        gone = subprocess.run([LOOPTRACE, "snapshot", out], stderr=subprocess.PIPE, check=False)
        self.assertEqual(gone.returncode, 2)
        self.assertIn("no looptrace record --flight-recorder is running", gone.stderr.decode())

    def test_rate_limit(self):
        # depth>0 matches on nearly every send: each process fires at most --max-snapshots
        # triggers, --min-gap apart; two processes in a row fire twice as many, and `record`
        # keeps --max-snapshots, then only counts the later ones.
        out = os.path.join(self.tmp, "t")
        cmd = [LOOPTRACE, "record", "--flight-recorder", "1M", "--on", "depth>0",
               "--max-snapshots", "2", "--min-gap", "300ms", "-o", out, "--", "sh", "-c",
               '"$0" 2 0 && "$0" 2 0', PROG]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                              check=False)
        err = proc.stderr.decode()
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(len(snapshots(out)), 2, err)
        fr = read_json(os.path.join(out, "looptrace-record.json"))["flight_recorder"]
        self.assertGreaterEqual(fr["not_taken"], 1, fr)
        self.assertIn("not snapshotted: --max-snapshots 2 reached", err)
        self.assertLess(du(out), 4 * MIB)

    def fake_lttng(self, script):
        """A folder holding an `lttng` that runs `script` for add-trigger/help, else the real
        one; returns the environment putting it first on PATH."""
        real = shutil.which("lttng")
        d = os.path.join(self.tmp, "bin")
        os.mkdir(d)
        path = os.path.join(d, "lttng")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n%s\nexec %s \"$@\"\n" % (script, real))
        os.chmod(path, stat.S_IRWXU)
        return dict(os.environ, PATH=d + os.pathsep + os.environ.get("PATH", ""))

    def no_sessions_left(self):
        """(sessions, triggers) left by `record`s that are gone (other helpers' running
        recordings may hold some of their own)."""
        def dead(line):
            m = re.search(r"looptrace-(\d+)-[0-9a-f]{8}", line)
            return m and not os.path.exists("/proc/%s" % m.group(1))
        out = subprocess.run(["lttng", "list"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             check=False).stdout.decode()
        trig = subprocess.run(["lttng", "list-triggers"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, check=False).stdout.decode()
        return ([ln for ln in out.splitlines() if dead(ln)],
                [ln for ln in trig.splitlines() if dead(ln)])

    def test_lttng_without_triggers(self):
        # An lttng-tools 2.12 (no triggers): its client says so and has no add-trigger.
        env = self.fake_lttng(
            'for a; do case $a in --version) echo "lttng (LTTng Trace Control) 2.12.3"; '
            'exit 0;; add-trigger) echo "Error: Unknown command" >&2; exit 1;; esac; done')
        out = os.path.join(self.tmp, "t")
        status, prog, err = self.record(out, ["--flight-recorder", "--on", "blocked>10ms"],
                                        ["1", "0"], env=env)
        self.assertEqual(status, 2, err)
        self.assertIsNone(prog)  # never started
        self.assertEqual(err.strip(), "looptrace: --flight-recorder --on needs LTTng 2.13 or "
                         "later (triggers): this is lttng 2.12.3")
        self.assertEqual(self.no_sessions_left(), ([], []))

    def test_trigger_refused(self):
        env = self.fake_lttng(
            'for a; do case $a in add-trigger) echo "Error: Failed to register trigger: '
            'Permission denied" >&2; exit 1;; esac; done')
        out = os.path.join(self.tmp, "t")
        status, prog, err = self.record(out, ["--flight-recorder", "--on", "blocked>10ms"],
                                        ["1", "0"], env=env)
        self.assertEqual(status, 2, err)
        self.assertIsNone(prog)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("the session daemon refused the flight recorder's trigger: Failed to "
                      "register trigger: Permission denied", err)
        self.assertEqual(self.no_sessions_left(), ([], []))

    def test_disk_full(self):
        if os.geteuid() != 0 or not shutil.which("mount"):
            skip_or_fail(self, "needs root to mount a tmpfs")
        disk = os.path.join(self.tmp, "disk")
        os.mkdir(disk)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", disk], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", disk], check=False)
        out = os.path.join(disk, "t")
        status, prog, err = self.record(out, ["--flight-recorder", "8M", "--on", "blocked>10ms"],
                                        ["3", "50"])
        self.assertEqual(status, 2, err)
        # The program ran to its end, unharmed.
        self.assertGreater(prog["blocked_ns"], 45 * 1000 * 1000)
        self.assertGreater(prog["handled"], 1000)
        self.assertIn("not enough space on the disk holding", err)
        last = err.strip().splitlines()[-1]
        self.assertRegex(last, r"^looptrace: the disk holding .* is full \(.* free; program "
                         r"exited with status 0\): 0 snapshot\(s\) written, [1-9]\d* not taken")
        self.assertEqual(snapshots(out), [])
        info = read_json(os.path.join(out, "looptrace-record.json"))
        self.assertTrue(info["disk_full"])

    def test_bad_conditions(self):
        out = os.path.join(self.tmp, "t")
        for args, msg in (
                (["--flight-recorder", "--on", "latency>later"],
                 "looptrace: --on latency>DUR: invalid duration 'later'"),
                (["--flight-recorder", "--on", "blocked>soon"],
                 "looptrace: --on blocked>DUR: invalid duration 'soon'"),
                (["--flight-recorder", "--on", "queue>3"], "looptrace: --on: unknown condition"),
                (["--flight-recorder", "10"], "looptrace: --flight-recorder: 10 is too small"),
                (["--on", "blocked>1ms"], "looptrace: --on, --max-snapshots, --min-gap and "
                 "--snapshot-at-exit go with --flight-recorder")):
            status, _, err = self.record(out, args, ["1", "0"])
            self.assertEqual(status, 2, (args, err))
            self.assertTrue(err.startswith(msg), (args, err))
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertFalse(os.path.exists(out), args)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[1:])
