"""`looptrace record` and the probes under a real lttng-sessiond (CTest label `lttng`).

RecordModes records lt_events_prog (which prints its own event counts and field sums as JSON)
in each way the probes can be loaded and compares the trace, read back with bt2, with them:
  preload         dynamic program, liblooptrace-probes.so preloaded by record
  link            program linking liblooptrace-probes.a, record --no-preload
  not preloaded   dynamic program, record --no-preload: no looptrace events at all
  static+preload  both copies: each event exactly once and one warning on stderr
RecordCli checks exit statuses, SIGINT/SIGTERM handling, every bad-input error, and that
record starts (and stops) a session daemon when none answers.

Environment (set by CTest): LOOPTRACE, LT_EVENTS_PROG, LT_EVENTS_PROG_STATIC, LT_PROBES.
Run with Debian's /usr/bin/python3 (it has bt2). A skip is a failure when CI=true.
"""

import collections
import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

try:
    import bt2
except ImportError:  # pragma: no cover
    bt2 = None

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "common"))
from foreign_user import world_install  # noqa: E402

LOOPTRACE = os.environ.get("LOOPTRACE", "")
PROG = os.environ.get("LT_EVENTS_PROG", "")
PROG_STATIC = os.environ.get("LT_EVENTS_PROG_STATIC", "")
FORK_PROG = os.environ.get("LT_FORK_PROG", "")
ITERATIONS = 1000
WARNING = "probes are both linked into this program and preloaded"
INT_FIELDS = {
    "send": ("chan", "msg", "flow", "depth"),
    "recv": ("chan", "msg", "depth"),
    "wait_end": ("chan", "msg"),
    "handle_begin": ("msg",),
    "handle_end": ("msg",),
    "block_begin": ("reason", "object"),
    "route_add": ("chan", "owner"),
    "route_dispatch_begin": ("msg",),
    "pool_declare": ("threads",),
    "seq_begin": ("pool", "flags"),
    "seq_ready": ("comp",),
    "seq_run_begin": ("comp",),
    "seq_run_end": ("comp",),
}


def skip_or_fail(test, why):
    if os.environ.get("CI") == "true":
        test.fail("skipped in CI: " + why)
    test.skipTest(why)


def plugin_dir():
    """The babeltrace2 plugin looptrace.so next to the launcher under test."""
    return os.environ.get("LOOPTRACE_PLUGINDIR") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(LOOPTRACE))), "lib", "looptrace", "bt2")


def read_trace(path, pid=None):
    """(looptrace events as [(name, payload dict, context dict)], discarded count), only those
    of process `pid` when given: a per-UID session also records other processes of the user
    that load the probes. The events are those looptrace's one decoder (analysis/bt2/decode.c)
    feeds the analysis, whatever the trace format: per-call events (1.x) or the records of
    `looptrace:batch` events (2.0), under the per-call names and fields (docs/event-model.md);
    written by sink.looptrace.report's `events-output`."""
    tmp = tempfile.mkdtemp(prefix="lt-read-trace-")
    try:
        dump, report = os.path.join(tmp, "events.jsonl"), os.path.join(tmp, "report.json")
        subprocess.run(["babeltrace2", "--plugin-path=" + plugin_dir(), path, "-c",
                        "sink.looptrace.report", "-p",
                        'output="%s",events-output="%s"' % (report, dump)],
                       check=True, stdout=subprocess.DEVNULL)
        with open(report) as f:
            discarded = json.load(f)["trace"]["lost_events"]
        events = []
        with open(dump) as f:
            for line in f:
                ev = json.loads(line)
                if ev["provider"] != "looptrace":
                    continue
                if pid is not None and ev["vpid"] != pid:
                    continue
                events.append((ev["name"], ev["payload"],
                               {"vtid": ev["vtid"], "vpid": ev["vpid"]}))
        return events, discarded
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ust_fork():
    """LTTng-UST's fork helper as the dynamic linker's cache lists it (record preloads it)."""
    out = subprocess.run(["/sbin/ldconfig", "-p"], stdout=subprocess.PIPE,
                         check=True).stdout.decode()
    for line in out.splitlines():
        name, _, path = line.strip().partition(" => ")
        if name.startswith("liblttng-ust-fork.so.") and "64" in name:
            return path
    raise AssertionError("liblttng-ust-fork.so not in the ldconfig cache")


def sessions_of(pid):
    """Names of recording sessions created by the `record` process `pid`."""
    out = subprocess.run(["lttng", "--no-sessiond", "list"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, check=False).stdout.decode()
    return [line for line in out.splitlines() if "looptrace-%d-" % pid in line]


class Base(unittest.TestCase):
    def setUp(self):
        if not LOOPTRACE or not os.path.exists(LOOPTRACE):
            skip_or_fail(self, "LOOPTRACE not set (run through ctest)")
        if shutil.which("lttng") is None:
            skip_or_fail(self, "lttng not installed")
        self.tmp = tempfile.mkdtemp(prefix="lt-record-test-")
        self.last_pid = None

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def record(self, *args, env=None):
        """Run `looptrace record ARGS` to completion; remembers its pid."""
        run_env = dict(os.environ)
        run_env.update(env or {})
        proc = subprocess.Popen([LOOPTRACE, "record"] + list(args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=run_env)
        self.last_pid = proc.pid
        out, err = proc.communicate(timeout=240)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def assert_nothing_left(self, pid=None):
        """No session of the last `record` remains."""
        self.assertEqual(sessions_of(pid or self.last_pid), [])


class RecordModes(Base):
    def setUp(self):
        super().setUp()
        if bt2 is None:
            skip_or_fail(self, "python3-bt2 not importable (use /usr/bin/python3)")

    def check_trace(self, proc, trace):
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        expect = json.loads(proc.stdout.decode())
        events, discarded = read_trace(trace, expect["pid"])
        self.assertEqual(discarded, 0)
        counts = collections.Counter(name for name, _, _ in events)
        self.assertEqual(dict(counts), expect["counts"])
        sums = collections.Counter()
        for name, payload, context in events:
            for f in INT_FIELDS.get(name, ()):
                sums["%s.%s" % (name, f)] += payload[f]
            for key in ("vtid", "vpid"):
                self.assertIn(key, context, name)
            # Leaner records: no per-event thread name or instruction pointer.
            for key in ("procname", "ip"):
                self.assertNotIn(key, context, name)
            if name == "block_begin":
                self.assertEqual(payload["object"], expect["object"])
                self.assertNotEqual(payload["where"], 0)
        for key, value in expect["sums"].items():
            if key.startswith("channel_declare."):
                continue
            # the program sums in uint64_t: message ids (tagged, docs/event-model.md) wrap it
            self.assertEqual(sums[key] % 2**64, value, key)
        for name, wanted in expect["names"].items():
            field = "kind" if name == "handle_begin" else "name"
            got = sorted({p[field] for n, p, _ in events if n == name})
            self.assertEqual(got, sorted(wanted), name)
        chans = [p for n, p, _ in events if n == "channel_declare"]
        self.assertEqual(sorted((p["name"], p["capacity"]) for p in chans),
                         [("chan-a", 16), ("chan-b", 0)])
        # component_end carries the id component_begin returned, on the same thread.
        begun = {c["vtid"]: p["comp"] for n, p, c in events if n == "component_begin"}
        ended = {c["vtid"]: p["comp"] for n, p, c in events if n == "component_end"}
        self.assertEqual(begun, ended)
        self.assertEqual(len(set(begun.values())), 2)
        return expect, events

    def test_preload(self):
        trace = os.path.join(self.tmp, "trace")
        proc = self.record("-o", trace, "--", PROG, str(ITERATIONS))
        expect, _ = self.check_trace(proc, trace)
        self.assertEqual(expect["tracing_available"], 1)
        self.assertIn("trace written to " + trace, proc.stderr.decode())
        self.assertTrue(os.path.isdir(os.path.join(trace, "ust", "uid", str(os.getuid()),
                                                   "64-bit")))
        with open(os.path.join(trace, "looptrace-record.json"), encoding="utf-8") as f:
            info = json.load(f)
        self.assertEqual(info["pid"], expect["pid"])
        self.assertEqual(info["exit_status"], 0)
        self.assertEqual(info["command"], [PROG, str(ITERATIONS)])
        self.assert_nothing_left()

    def test_link(self):
        trace = os.path.join(self.tmp, "trace")
        proc = self.record("-o", trace, "--no-preload", "--", PROG_STATIC, str(ITERATIONS))
        expect, _ = self.check_trace(proc, trace)
        self.assertEqual(expect["tracing_available"], 1)
        self.assertNotIn(WARNING, proc.stderr.decode())

    def test_linked_not_preloaded(self):
        trace = os.path.join(self.tmp, "trace")
        proc = self.record("-o", trace, "--no-preload", "--", PROG, str(ITERATIONS))
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        expect = json.loads(proc.stdout.decode())
        self.assertEqual(expect["tracing_available"], 0)
        self.assertGreater(expect["counts"]["send"], 0)
        try:
            events, _ = read_trace(trace, expect["pid"])
        except RuntimeError:  # no trace at all: bt2 finds no source
            events = []
        self.assertEqual(events, [])

    def test_static_and_preload(self):
        trace = os.path.join(self.tmp, "trace")
        proc = self.record("-o", trace, "--", PROG_STATIC, str(ITERATIONS))
        self.check_trace(proc, trace)
        self.assertEqual(proc.stderr.decode().count(WARNING), 1, proc.stderr.decode())

    def test_static_and_preload_without_guard(self):
        # What the guard prevents: two registered copies of the provider record each event
        # twice (LTTng-UST keys events by provider descriptor, not by name).
        trace = os.path.join(self.tmp, "trace")
        proc = self.record("-o", trace, "--", PROG_STATIC, "10",
                           env={"LOOPTRACE_PROBES_ALLOW_DUPLICATES": "1"})
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        expect = json.loads(proc.stdout.decode())
        events, _ = read_trace(trace, expect["pid"])
        counts = collections.Counter(name for name, _, _ in events)
        self.assertEqual(dict(counts), {k: 2 * v for k, v in expect["counts"].items()})

    def test_per_pid_buffers(self):
        trace = os.path.join(self.tmp, "trace")
        proc = self.record("-o", trace, "--buffering", "per-pid", "--subbuf-size", "1M",
                           "--num-subbuf", "4", "--", PROG, "100")
        self.check_trace(proc, trace)
        self.assertTrue(os.path.isdir(os.path.join(trace, "ust", "pid")))


class RecordProcesses(Base):
    """Whose events a recording holds: CMD's process tree by default, not other processes of
    the user that load the probes meanwhile (another `record`, an app started by hand)."""

    def setUp(self):
        super().setUp()
        if bt2 is None:
            skip_or_fail(self, "python3-bt2 not importable (use /usr/bin/python3)")

    def start_record(self, trace, *args, cmd):
        return subprocess.Popen([LOOPTRACE, "record", "-o", trace] + list(args) + ["--"] + cmd,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def finish(self, proc):
        out, err = proc.communicate(timeout=240)
        self.assertEqual(proc.returncode, 0, err.decode())
        return [json.loads(line) for line in out.decode().splitlines() if line.strip()]

    def vpids(self, trace):
        events, _ = read_trace(trace)
        return collections.Counter(c["vpid"] for _, _, c in events)

    def test_only_the_process_tree(self):
        # A foreign instrumented process runs throughout; two recordings overlap, each of a
        # shell with two instrumented children; a third records with --all-processes.
        foreign = subprocess.Popen([PROG, "100000"], stdout=subprocess.DEVNULL,
                                   env=dict(os.environ, LD_PRELOAD=os.environ["LT_PROBES"],
                                            LT_EVENTS_PROG_SLEEP_MS="1"))
        self.addCleanup(foreign.wait)
        self.addCleanup(foreign.kill)
        time.sleep(0.5)
        cmd = ["sh", "-c", '"$0" 10 & "$0" 20; wait; sleep 1', PROG]
        traces = [os.path.join(self.tmp, n) for n in ("a", "b", "all")]
        procs = [self.start_record(traces[0], cmd=cmd), self.start_record(traces[1], cmd=cmd),
                 self.start_record(traces[2], "--all-processes", cmd=cmd)]
        outs = [self.finish(p) for p in procs]
        self.assertIsNone(foreign.poll())  # it ran during every recording
        for trace, out in zip(traces[:2], outs):
            expect = {o["pid"]: sum(o["counts"].values()) for o in out}
            self.assertEqual(len(expect), 2)
            self.assertEqual(dict(self.vpids(trace)), expect)
            with open(os.path.join(trace, "looptrace-record.json"), encoding="utf-8") as f:
                self.assertEqual(json.load(f)["processes"], "tree")
        # Without the filter the foreign process's events are in the trace.
        self.assertIn(foreign.pid, self.vpids(traces[2]))
        # The two overlapping recordings reported together count each message once.
        report = subprocess.run([LOOPTRACE, "report", traces[0], traces[1], "--json", "-",
                                 "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                check=False)
        self.assertEqual(report.returncode, 0, report.stderr.decode())
        sends = sum(c["sends"] for c in json.loads(report.stdout.decode())["channels"])
        self.assertEqual(sends, sum(o["counts"]["send"] for out in outs[:2] for o in out))
        # --all-processes: report warns that the trace may hold other programs' events.
        report = subprocess.run([LOOPTRACE, "report", traces[2], "--quiet"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        self.assertEqual(report.returncode, 0, report.stderr.decode())
        self.assertIn("other processes", report.stderr.decode())

    def test_fork_without_exec(self):
        # Plain `record` (probes preloaded, no interposer): the child's events carry its own
        # pid, parent and child are separate components, and no id is taken on both sides.
        trace = os.path.join(self.tmp, "t")
        proc = self.record("-o", trace, "--", FORK_PROG, "3000")
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        sides = {o["side"]: o for o in map(json.loads, proc.stdout.decode().splitlines())}
        parent, child = sides["parent"], sides["child"]
        self.assertNotEqual(parent["pid"], child["pid"])
        self.assertNotEqual(parent["comp"], child["comp"])
        self.assertNotEqual(parent["chan"], child["chan"])
        self.assertEqual(set(parent["msgs"]) & set(child["msgs"]), set())
        events, _ = read_trace(trace)
        for o in (parent, child):
            sent = [p["msg"] for n, p, c in events
                    if n == "send" and c["vpid"] == o["pid"] and p["chan"] == o["chan"]]
            self.assertEqual(sent, o["msgs"], o["side"])
            begun = {p["name"] for n, p, c in events
                     if n == "component_begin" and c["vpid"] == o["pid"]}
            self.assertIn(o["side"], begun)
        report = subprocess.run([LOOPTRACE, "report", trace, "--json", "-", "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        self.assertEqual(report.returncode, 0, report.stderr.decode())
        data = json.loads(report.stdout.decode())
        comps = {c["name"]: c for c in data["components"]}
        chans = {c["name"]: c for c in data["channels"]}
        for o in (parent, child):
            self.assertEqual(comps[o["side"]]["pid"], o["pid"])
            self.assertEqual((chans[o["side"]]["sends"], chans[o["side"]]["recvs"]), (3000, 3000))
        # The parent's second thread lived across the fork: nothing of its ring is written
        # again by the child (a batch of a dead thread's ring, flushed at the child's exit
        # before the child's last batch, would look like records lost from the child's
        # thread: 3000 messages make the child flush before, `child-tail` at its exit).
        self.assertEqual(comps["helper"]["pid"], parent["pid"])
        self.assertEqual((chans["helper"]["sends"], chans["helper"]["recvs"]), (10, 10))
        self.assertEqual(chans["child-tail"]["sends"], 5)
        self.assertEqual(data["trace"]["lost_events"], 0)

    def test_pid(self):
        # --pid records a process that is already running, until it exits.
        app = subprocess.Popen([PROG, "300"], stdout=subprocess.PIPE,
                               env=dict(os.environ, LD_PRELOAD=os.environ["LT_PROBES"],
                                        LT_EVENTS_PROG_SLEEP_MS="10"))
        self.addCleanup(app.wait)
        self.addCleanup(app.kill)
        trace = os.path.join(self.tmp, "t")
        proc = self.record("-o", trace, "--pid", str(app.pid))
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        self.assertIsNotNone(app.poll())  # record returned once the process had ended
        self.assertEqual(set(self.vpids(trace)), {app.pid})
        self.assert_user_error_line(self.record("-o", os.path.join(self.tmp, "u"), "--pid",
                                                str(app.pid)), "no such process")
        self.assert_user_error_line(self.record("-o", os.path.join(self.tmp, "u"), "--pid",
                                                "1", "--", "true"), "not both")

    def assert_user_error_line(self, proc, text):
        lines = proc.stderr.decode().strip().splitlines()
        self.assertNotEqual(proc.returncode, 0)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(text, lines[0])


def children_of(pid):
    """Pids of the children of process `pid`."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid), encoding="ascii") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def running_prog(pid):
    """The child of `pid` running PROG (after exec), or None."""
    for k in children_of(pid):
        try:
            if os.readlink("/proc/%d/exe" % k) == os.path.realpath(PROG):
                return k
        except OSError:
            pass
    return None


def wait_gone(pid, timeout=20):
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def metadata_text(path):
    """The CTF metadata text of the file `path`: packetized (LTTng's) or plain."""
    with open(path, "rb") as f:
        data = f.read()
    for order in ("<", ">"):
        if len(data) >= 4 and struct.unpack(order + "I", data[:4])[0] == 0x75D11D57:
            break
    else:
        return data.decode()
    text, off = b"", 0
    while off < len(data):
        content, size = struct.unpack_from(order + "20xII", data, off + 4)
        text += data[off + 37:off + content // 8]
        off += size // 8
    return text.decode()


def without_blocks(text, kinds):
    """CTF metadata `text` without its top-level declarations that start with one of `kinds`
    ("stream", "event"): what a process's metadata holds when it ended before the session
    daemon wrote its stream class."""
    out, stmt, depth = [], "", 0
    for ch in text:
        stmt += ch
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ";" and depth == 0:
            words = re.sub(r"/\*.*?\*/", " ", stmt, flags=re.S).split()
            if not words or words[0] not in kinds:
                out.append(stmt)
            stmt = ""
    return "".join(out) + stmt


class PerPidUnreadable(Base):
    """A per-PID recording (`--buffering per-pid`) of a program and its forked child, where the
    child's sub-trace is made unreadable as a process that ends just after loading the probes
    may leave it: `report` and `export` leave that sub-trace out with a warning naming it and
    why, and report the parent exactly; a sub-trace given on its own is not left out."""

    def setUp(self):
        super().setUp()
        trace = os.path.join(self.tmp, "t")
        proc = self.record("-o", trace, "--buffering", "per-pid", "--", FORK_PROG, "50")
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        self.sides = {o["side"]: o for o in map(json.loads, proc.stdout.decode().splitlines())}
        self.trace = trace
        pid_dir = os.path.join(trace, "ust", "pid")
        self.folders = {}
        for side, o in self.sides.items():
            mine = [n for n in os.listdir(pid_dir)
                    if re.match(r"^.+-%d-\d{8}-\d{6}$" % o["pid"], n)]
            self.assertEqual(len(mine), 1, (side, os.listdir(pid_dir)))
            self.folders[side] = os.path.join("ust", "pid", mine[0])

    def damaged(self, name, damage):
        """A copy of the recording whose child's sub-trace went through `damage(folder)`."""
        copy = os.path.join(self.tmp, name)
        shutil.copytree(self.trace, copy, symlinks=True)
        damage(os.path.join(copy, self.folders["child"]))
        return copy

    def report(self, *args):
        return subprocess.run([LOOPTRACE, "report"] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=False, timeout=240)

    def check_parent_only(self, data):
        parent, child = self.sides["parent"], self.sides["child"]
        comps = {c["name"]: c for c in data["components"]}
        chans = {c["name"]: c for c in data["channels"]}
        self.assertEqual(sorted(comps), ["before-fork", "helper", "parent"])
        self.assertEqual(comps["parent"]["pid"], parent["pid"])
        self.assertEqual((chans["parent"]["sends"], chans["parent"]["recvs"]), (50, 50))
        self.assertNotIn(child["pid"], {c["pid"] for c in data["components"]})

    def check_skipped(self, copy, why):
        folder = os.path.join(copy, self.folders["child"])
        p = self.report(copy, "--json", "-", "--quiet")
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("looptrace: warning: left out %s, a process's sub-trace of a per-PID "
                      "recording that cannot be read: " % folder, err)
        self.assertIn(why, err)
        data = json.loads(p.stdout.decode())
        # Other instrumented programs running meanwhile have folders in a per-PID recording
        # too (with none of their events: record keeps CMD's tree), and may be left out.
        skipped = data["trace"]["skipped"]
        mine = [s for s in skipped if s["path"] == folder]
        self.assertEqual(len(mine), 1, skipped)
        self.assertIn(why, mine[0]["reason"])
        parent_folder = os.path.join(copy, self.folders["parent"])
        self.assertNotIn(parent_folder, [s["path"] for s in skipped])
        warn = [w for w in data["warnings"] if w["kind"] == "skipped-trace"]
        self.assertEqual(len(warn), 1, data["warnings"])
        self.assertEqual(warn[0]["value"], len(skipped))
        self.check_parent_only(data)
        # The terminal report lists the warning too.
        p = self.report(copy)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertRegex(p.stdout.decode(), r"warning: \[skipped-trace\] %d per-process "
                         r"sub-traces? babeltrace2 cannot read left out: " % len(skipped))
        # The sub-trace given on its own is not left out: it is all there is to read.
        p = self.report(folder)
        self.assertEqual(p.returncode, 2, p.stderr.decode())
        self.assertNotIn("left out", p.stderr.decode())

    def test_intact_recording_has_both(self):
        p = self.report(self.trace, "--json", "-", "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        data = json.loads(p.stdout.decode())
        skipped = [s["path"] for s in data["trace"].get("skipped", [])]
        for side in ("parent", "child"):
            self.assertNotIn(os.path.join(self.trace, self.folders[side]), skipped)
        comps = {c["name"]: c for c in data["components"]}
        self.assertEqual(comps["child"]["pid"], self.sides["child"]["pid"])

    def test_empty_metadata(self):
        def damage(folder):
            open(os.path.join(folder, "metadata"), "w").close()
        self.check_skipped(self.damaged("empty", damage), "empty metadata file")

    def test_metadata_without_stream_class(self):
        def damage(folder):
            md = os.path.join(folder, "metadata")
            text = without_blocks(metadata_text(md), ("stream", "event"))
            self.assertIn("trace {", text)
            self.assertNotIn("stream {", text)
            with open(md, "w") as f:
                f.write(text)
        copy = self.damaged("nostream", damage)
        self.check_skipped(copy, "babeltrace2 cannot open it: No stream class")
        # export --perfetto reads the same way.
        out = os.path.join(self.tmp, "out.json")
        p = subprocess.run([LOOPTRACE, "export", "--perfetto", out, copy],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                           timeout=240)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertIn("looptrace: warning: left out %s" % os.path.join(
            copy, self.folders["child"]), p.stderr.decode())
        with open(out, encoding="utf-8") as f:
            pids = {e.get("pid") for e in json.load(f)["traceEvents"]}
        self.assertIn(self.sides["parent"]["pid"], pids)
        self.assertNotIn(self.sides["child"]["pid"], pids)

    def test_no_metadata_file(self):
        def damage(folder):
            os.unlink(os.path.join(folder, "metadata"))
        self.check_skipped(self.damaged("nometa", damage), "no metadata file")


class RecordFaults(Base):
    """Adversarial cases for `record`: the output folder, the disk, signals, empty traces."""

    def one_line(self, proc, text):
        err = proc.stderr.decode()
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertTrue(lines[0].startswith("looptrace: "), err)
        self.assertIn(text, lines[0])

    @staticmethod
    def tree(path):
        out = []
        for dirpath, dirs, files in os.walk(path):
            dirs.sort()
            out += [os.path.relpath(os.path.join(dirpath, f), path) for f in files]
        return sorted(out)

    def test_force_removes_only_what_record_wrote(self):
        site = os.path.join(self.tmp, "site")
        os.makedirs(os.path.join(site, "index"))
        for name in ("index/page.html", "metadata"):
            with open(os.path.join(site, name), "w", encoding="ascii") as f:
                f.write("mine\n")
        for extra in ((), ("--force",)):
            proc = self.record("-o", site, *extra, "--", PROG, "10")
            self.assertNotEqual(proc.returncode, 0)
            self.one_line(proc, "did not write")
            self.assertEqual(self.tree(site), ["index/page.html", "metadata"])
        kern = os.path.join(self.tmp, "kern")
        os.makedirs(os.path.join(kern, "kernel"))
        proc = self.record("-o", kern, "--force", "--", PROG, "10")
        self.one_line(proc, "did not write (kernel)")
        self.assertTrue(os.path.isdir(os.path.join(kern, "kernel")))
        # A previous recording with the user's notes beside it; even a record file that
        # claims the notes is not obeyed: only ust/ and the record file are replaced.
        trace = os.path.join(self.tmp, "trace")
        self.assertEqual(self.record("-o", trace, "--", PROG, "10").returncode, 0)
        notes = os.path.join(trace, "notes.txt")
        with open(notes, "w", encoding="ascii") as f:
            f.write("keep me\n")
        info_path = os.path.join(trace, "looptrace-record.json")
        with open(info_path, encoding="utf-8") as f:
            info = json.load(f)
        self.assertEqual(info["created"], ["looptrace-record.json", "ust"])
        info["created"].append("notes.txt")
        with open(info_path, "w", encoding="utf-8") as f:
            json.dump(info, f)
        proc = self.record("-o", trace, "--force", "--", PROG, "10")
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        with open(notes, encoding="ascii") as f:
            self.assertEqual(f.read(), "keep me\n")
        self.assertTrue(os.path.isdir(os.path.join(trace, "ust")))

    def test_disk_full(self):
        if os.geteuid() != 0 or not shutil.which("mount"):
            skip_or_fail(self, "needs root to mount a tmpfs")
        disk = os.path.join(self.tmp, "disk")
        os.mkdir(disk)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", disk], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", disk], check=False)
        trace = os.path.join(disk, "t")
        proc = self.record("-o", trace, "--", PROG, "100000")
        err = proc.stderr.decode()
        self.assertEqual(proc.returncode, 2, err)
        self.assertNotIn("trace written", err)
        self.assertIn("is full", err.strip().splitlines()[-1])
        self.assertIn("the trace is cut short", err)
        # The program ran to its end, unharmed.
        expect = json.loads(proc.stdout.decode())
        self.assertEqual(expect["counts"]["send"], 2 * 100000)
        with open(os.path.join(trace, "looptrace-record.json"), encoding="utf-8") as f:
            info = json.load(f)
        self.assertTrue(info["disk_full"])
        self.assertEqual(info["exit_status"], 0)

    def test_hup_and_quit(self):
        for signo in (signal.SIGHUP, signal.SIGQUIT):
            with self.subTest(signal=signo.name):
                RecordCli.check_signal(self, signo)

    def test_sigkill_takes_the_program_and_session_along(self):
        trace = os.path.join(self.tmp, "trace")
        env = dict(os.environ, LT_EVENTS_PROG_SLEEP_MS="2")
        rec = subprocess.Popen([LOOPTRACE, "record", "-o", trace, "--", PROG, "1000000"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 60
        kids = []
        while not kids and time.monotonic() < deadline:
            time.sleep(0.05)
            kids = [k for k in [running_prog(rec.pid)] if k]
        self.assertEqual(len(kids), 1, children_of(rec.pid))
        self.addCleanup(lambda: alive(kids[0]) and os.kill(kids[0], signal.SIGKILL))
        time.sleep(1)
        rec.kill()
        rec.wait()
        self.assertTrue(wait_gone(kids[0]), "the program outlived record")
        # The next recording destroys the orphaned session (unless another user's record,
        # on this shared machine, already did).
        orphaned = sessions_of(rec.pid)
        proc = self.record("-o", os.path.join(self.tmp, "next"), "--", PROG, "10")
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        if orphaned:
            self.assertIn("destroyed session looptrace-%d-" % rec.pid, proc.stderr.decode())
        self.assertEqual(sessions_of(rec.pid), [])

    def test_ctrl_c_reaches_a_program_in_its_own_group(self):
        setsid = shutil.which("setsid")
        if not setsid:
            skip_or_fail(self, "setsid not installed")
        trace = os.path.join(self.tmp, "trace")
        env = dict(os.environ, LT_EVENTS_PROG_SLEEP_MS="2")
        pid, master = pty.fork()
        if pid == 0:  # a terminal session whose foreground group is `record`'s
            try:
                os.execve(LOOPTRACE, [LOOPTRACE, "record", "-o", trace, "--", setsid, PROG,
                                      "1000000"], env)
            finally:
                os._exit(127)
        self.addCleanup(os.close, master)
        output = b""
        deadline = time.monotonic() + 60
        sent = False
        status = None
        while time.monotonic() < deadline:
            if not sent and running_prog(pid):
                time.sleep(0.5)
                os.write(master, b"\x03")  # Ctrl-C: SIGINT to the foreground group
                sent = True
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    output += os.read(master, 4096)
                except OSError:
                    pass
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
                break
        if status is None:
            for k in children_of(pid):
                os.kill(k, signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            self.fail("record did not end after Ctrl-C: %r" % output)
        self.assertEqual(os.waitstatus_to_exitcode(status), 128 + signal.SIGINT, output)
        self.assertIn(b"trace written to", output)

    def test_two_records_into_one_new_folder(self):
        trace = os.path.join(self.tmp, "trace")
        procs = [subprocess.Popen([LOOPTRACE, "record", "-o", trace, "--", PROG, "10"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(2)]
        results = [(p.wait(timeout=240), p.stdout.read(), p.stderr.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        self.assertEqual(sorted(r[0] for r in results), [0, 2], results)
        ok = [r for r in results if r[0] == 0][0]
        failed = [r for r in results if r[0] == 2][0]
        self.assertEqual(len(failed[2].decode().strip().splitlines()), 1, failed[2])
        self.assertIn("being written by another looptrace record", failed[2].decode())
        with open(os.path.join(trace, "looptrace-record.json"), encoding="utf-8") as f:
            self.assertEqual(json.load(f)["pid"], json.loads(ok[1].decode())["pid"])

    def test_no_events(self):
        trace = os.path.join(self.tmp, "t")
        proc = self.record("-o", trace, "--no-preload", "--", "/bin/true")
        self.assertEqual(proc.returncode, 0)
        self.one_line(proc, "no looptrace events were recorded in " + trace)
        report = subprocess.run([LOOPTRACE, "report", trace], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, check=False)
        self.assertNotEqual(report.returncode, 0)
        self.assertNotIn("not a CTF trace", report.stderr.decode())
        self.assertIn("no looptrace events", report.stderr.decode())
        # The exit status stays the program's.
        proc = self.record("-o", os.path.join(self.tmp, "u"), "--no-preload", "--", "sh", "-c",
                           "exit 3")
        self.assertEqual(proc.returncode, 3)
        self.one_line(proc, "no looptrace events were recorded")

    def test_register_timeout(self):
        # LTTng-UST's 3 s default let a short program run before its session was set up on a
        # loaded machine (all its events lost): record waits longer, unless the user chose.
        show = ["sh", "-c", 'echo "$LTTNG_UST_REGISTER_TIMEOUT"']
        proc = self.record("-o", os.path.join(self.tmp, "a"), "--", *show)
        self.assertEqual(proc.stdout.decode().strip(), "30000")
        proc = self.record("-o", os.path.join(self.tmp, "b"), "--", *show,
                           env={"LTTNG_UST_REGISTER_TIMEOUT": "500"})
        self.assertEqual(proc.stdout.decode().strip(), "500")

    def test_path_with_newline(self):
        trace = os.path.join(self.tmp, "a\nb")
        proc = self.record("-o", trace, "--", PROG, "10")
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        self.one_line(proc, "trace written to " + os.path.join(self.tmp, "a\\x0ab"))
        proc = self.record("-o", trace, "--", PROG, "10")
        self.one_line(proc, os.path.join(self.tmp, "a\\x0ab") + " already holds a trace")


class RecordCli(Base):
    def assert_user_error(self, proc, text):
        err = proc.stderr.decode()
        self.assertNotEqual(proc.returncode, 0)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertTrue(lines[0].startswith("looptrace: "), err)
        self.assertIn(text, lines[0])
        self.assert_nothing_left()

    def test_exit_status(self):
        trace = os.path.join(self.tmp, "t1")
        self.assertEqual(self.record("-o", trace, "--", "sh", "-c", "exit 7").returncode, 7)
        trace = os.path.join(self.tmp, "t2")
        proc = self.record("-o", trace, "--", "sh", "-c", "kill -TERM $$")
        self.assertEqual(proc.returncode, 128 + signal.SIGTERM)
        self.assert_nothing_left()

    def test_ld_preload_appended(self):
        trace = os.path.join(self.tmp, "t")
        proc = self.record("-o", trace, "--", "sh", "-c", 'echo "$LD_PRELOAD"',
                           env={"LD_PRELOAD": "libm.so.6"})
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        self.assertEqual(proc.stdout.decode().strip(),
                         "libm.so.6:" + os.environ.get("LT_PROBES", "") + ":" + ust_fork())

    def test_signal_leaves_a_trace(self):
        if bt2 is None:
            skip_or_fail(self, "python3-bt2 not importable")
        for signo in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=signo.name):
                self.check_signal(signo)

    def check_signal(self, signo):
        """SIGNO sent to `record` alone mid-run reaches CMD; the trace is still readable."""
        trace = os.path.join(self.tmp, "trace-" + signo.name)
        env = dict(os.environ, LT_EVENTS_PROG_SLEEP_MS="2")
        proc = subprocess.Popen([LOOPTRACE, "record", "-o", trace, "--", PROG, "100000"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 60
        while running_prog(proc.pid) is None and time.monotonic() < deadline:
            time.sleep(0.05)  # the program runs: the session is started
        time.sleep(1)
        proc.send_signal(signo)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            self.fail("record did not stop after %s" % signo.name)
        self.assertEqual(proc.returncode, 128 + signo, err.decode())
        self.assertIn("trace written to", err.decode())
        self.assert_nothing_left(proc.pid)
        with open(os.path.join(trace, "looptrace-record.json")) as f:
            child = json.load(f)["pid"]
        events, _ = read_trace(trace, child)
        self.assertGreater(len(events), 0)
        self.assertIn("wait_begin", {name for name, _, _ in events})
        result = subprocess.run(["babeltrace2", trace], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, check=False)
        self.assertEqual(result.returncode, 0, result.stderr.decode())

    def test_starts_and_stops_its_own_sessiond(self):
        # As an unprivileged user with no session daemon of its own, `record` starts one,
        # records through it and stops it (the root daemon of the fixture is not used).
        setpriv = shutil.which("setpriv")
        if os.geteuid() != 0 or not setpriv:
            skip_or_fail(self, "needs root and setpriv to run as another user")
        uid = 65534
        home = os.path.join(self.tmp, "home")
        os.mkdir(home)
        os.chown(home, uid, uid)
        os.chmod(self.tmp, 0o755)
        trace = os.path.join(home, "trace")
        env = dict(os.environ, HOME=home, LTTNG_HOME=home)
        # That user may not be able to enter the build tree: run an installed copy.
        prefix, looptrace, copies, extra = world_install(
            os.path.dirname(os.path.dirname(os.path.abspath(LOOPTRACE))), [PROG])
        self.addCleanup(shutil.rmtree, prefix, True)
        env.update(extra)
        proc = subprocess.run([setpriv, "--reuid=%d" % uid, "--regid=%d" % uid,
                               "--clear-groups", looptrace, "record", "-o", trace, "--",
                               copies[PROG], "10"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env, timeout=120, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        expect = json.loads(proc.stdout.decode())
        self.assertTrue(os.path.isdir(os.path.join(trace, "ust", "uid", str(uid))))
        if bt2 is not None:
            events, _ = read_trace(trace, expect["pid"])
            self.assertEqual(len(events), sum(expect["counts"].values()))
        # No live session daemon of that user is left.
        live = []
        for pid in os.listdir("/proc"):
            try:
                with open("/proc/%s/stat" % pid, encoding="ascii", errors="replace") as f:
                    stat = f.read()
                if os.stat("/proc/" + pid).st_uid != uid:
                    continue
            except OSError:
                continue
            name = stat.split("(", 1)[1].rsplit(")", 1)[0]
            state = stat.rsplit(")", 1)[1].split()[0]
            if name.startswith("lttng-") and state != "Z":
                live.append((pid, name))
        self.assertEqual(live, [])

    def test_no_command(self):
        self.assert_user_error(self.record("-o", os.path.join(self.tmp, "t")), "no command")
        self.assert_user_error(self.record("-o", os.path.join(self.tmp, "t"), "--"),
                               "no command")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "t")))

    def test_command_not_found(self):
        self.assert_user_error(self.record("-o", os.path.join(self.tmp, "t"), "--",
                                           "no-such-command-xyz"), "command not found")

    def test_unwritable_output(self):
        blocker = os.path.join(self.tmp, "file")
        with open(blocker, "w", encoding="ascii") as f:
            f.write("x")
        self.assert_user_error(self.record("-o", os.path.join(blocker, "t"), "--", "true"),
                               "cannot create")
        self.assert_user_error(self.record("-o", blocker, "--", "true"), "not a directory")

    def test_existing_trace(self):
        trace = os.path.join(self.tmp, "t")
        self.assertEqual(self.record("-o", trace, "--", PROG, "10").returncode, 0)
        self.assert_user_error(self.record("-o", trace, "--", PROG, "10"), "--force")
        proc = self.record("-o", trace, "--force", "--", PROG, "10")
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())

    def test_lttng_not_installed(self):
        self.assert_user_error(self.record("-o", os.path.join(self.tmp, "t"), "--",
                                           "/bin/true", env={"PATH": "/nonexistent"}),
                               "LTTng is not installed")

    def test_sessiond_cannot_start(self):
        # A client that finds no daemon and a daemon that fails to start.
        fake = os.path.join(self.tmp, "fakebin")
        os.mkdir(fake)
        for name, body in (("lttng", "echo 'Error: No session daemon is available' >&2\n"
                                     "exit 1\n"),
                           ("lttng-sessiond", "echo 'Error: cannot start' >&2\nexit 1\n")):
            path = os.path.join(fake, name)
            with open(path, "w", encoding="ascii") as f:
                f.write("#!/bin/sh\n" + body)
            os.chmod(path, 0o755)
        env = {"PATH": fake + ":" + os.environ.get("PATH", "")}
        self.assert_user_error(self.record("-o", os.path.join(self.tmp, "t"), "--",
                                           "/bin/true", env=env),
                               "cannot start the LTTng session daemon")

    def test_interpose(self):
        lib = os.path.join(os.path.dirname(os.environ.get("LT_PROBES", "")),
                           "liblooptrace-preload.so")
        if os.path.exists(lib):
            # Built: --interpose preloads it after the probes.
            proc = self.record("-o", os.path.join(self.tmp, "t"), "--interpose", "--", "sh",
                               "-c", 'echo "$LD_PRELOAD"')
            self.assertEqual(proc.returncode, 0, proc.stderr.decode())
            self.assertEqual(proc.stdout.decode().strip(),
                             os.environ.get("LT_PROBES", "") + ":" + lib + ":" + ust_fork())
            return
        self.assert_user_error(self.record("-o", os.path.join(self.tmp, "t"), "--interpose",
                                           "--", "/bin/true"), "interposer")

    def test_help_documents_options(self):
        proc = subprocess.run([LOOPTRACE, "record", "--help"], stdout=subprocess.PIPE,
                              check=False)
        self.assertEqual(proc.returncode, 0)
        out = proc.stdout.decode()
        for opt in ("--output", "--force", "--subbuf-size", "--num-subbuf", "--buffering",
                    "--no-preload", "--interpose"):
            self.assertIn(opt, out)


if __name__ == "__main__":
    unittest.main()
