"""Reliability of the whole tool under faults (CTest label `lttng`, fixture lttng_sessiond).

Each class records rel_app (rel_app.c), which prints its own counts, and checks that the
traced program is never harmed and that the report never gives a wrong number silently:

  Crash     the traced program dies (SIGSEGV, SIGABRT, SIGKILL) in the middle of its run:
            `record` returns 128+signal, the trace stays readable, `report` analyses what was
            recorded (messages == what the program handled) and shows the component as not
            ended, its open handler counted
  CutShortNotice  ... and the report says the run was cut short (a `cut-short` warning, the
            signal from looptrace-record.json); a clean run gets neither
  Sessiond  the session daemon is killed (SIGKILL) during a recording: the program finishes
            unharmed (exit 0, normal output), `record` fails with one line giving the
            program's exit status and saying the trace may be incomplete, and still writes
            looptrace-record.json (`incomplete`: true). The test starts
            its own private daemon (as the unprivileged user `nobody` when run as root, since
            a root daemon always uses /var/run/lttng) and kills only that one.
  Damaged   bad input not covered by tests/analysis-gt and tests/report: a folder of unrelated
            files, a trace without its metadata, random bytes inside a stream file, garbage
            index files (which must not matter)
  DamagedPending  two traces in one folder, one without its metadata: refused, one line
  Names     components and channels named with any bytes (UTF-8, controls, quotes, HTML,
            invalid UTF-8, 10,000 characters): stored, escaped in the terminal table, CSV,
            HTML and JSON, never cut
  EmptyNames  components and channels without a name, between named ones: each unnamed one
            keeps a name of its own (never another component's: babeltrace2 2.0 misdecodes
            an empty string, so none is recorded), and `compare` never adds two together
  Million   1,000,000 messages under tracing (4 producers, one component): the report's
            message, send and receive counts equal the program's own (label `stress` too)

Run: /usr/bin/python3 test_reliability.py [Class...]. Environment (set by CTest):
LOOPTRACE_BIN, LOOPTRACE_PLUGINDIR, LOOPTRACE_TEST_PYDIR (tests/report, for ltutil), LT_REL_APP.
A skip is a failure under CI=true.
"""

import csv
import html
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.environ.get("LOOPTRACE_TEST_PYDIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "report"))

import ltutil  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "common"))
from foreign_user import world_install  # noqa: E402
from ltutil import assert_one_line_error, run_looptrace  # noqa: E402

NOBODY = 65534


def rel_app():
    return os.environ.get("LT_REL_APP") or os.path.join(ltutil.build_dir(), "tests", "rel_app")


def prerequisites(test):
    ltutil.require(test, shutil.which("lttng") and shutil.which("lttng-sessiond"),
                   "lttng-tools not installed")
    ltutil.require(test, shutil.which("babeltrace2"), "babeltrace2 not installed")
    ltutil.require(test, os.access(ltutil.looptrace_bin(), os.X_OK),
                   "looptrace launcher not built: %s" % ltutil.looptrace_bin())
    ltutil.require(test, os.access(rel_app(), os.X_OK), "rel_app not built: %s" % rel_app())
    ltutil.require(test, ltutil.have_plugin(), "babeltrace2 plugin not built")


def record(outdir, args, timeout=600):
    return run_looptrace(["record", "-o", outdir, "--", rel_app()] + list(args),
                         timeout=timeout)


def report_json(trace, *extra):
    p = run_looptrace(["report", "--json", "-"] + list(extra) + [trace])
    if p.returncode != 0:
        raise AssertionError("report failed (%d): %s" % (p.returncode, p.stderr))
    if "Traceback" in p.stderr:
        raise AssertionError(p.stderr)
    return json.loads(p.stdout)


def record_info(trace):
    with open(os.path.join(trace, "looptrace-record.json"), encoding="utf-8") as f:
        return json.load(f)


def first_metadata(trace):
    """The first `metadata` file under `trace`."""
    for d, _, fs in sorted(os.walk(trace)):
        if "metadata" in fs:
            return os.path.join(d, "metadata")
    raise AssertionError("no metadata under %s" % trace)


def components_of(rep, pid, name=None):
    return [c for c in rep["components"]
            if c["pid"] == pid and (name is None or c["name"] == name)]


def check_time_identity(test, comp):
    test.assertEqual(sum(comp["time_ns"].values()), comp["wall_ns"], comp)
    for k, v in comp["time_ns"].items():
        test.assertGreaterEqual(v, 0, k)


class _TmpCase(unittest.TestCase):
    tmp = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lt-rel-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------


class Crash(_TmpCase):
    """The traced program crashes or is killed mid-run."""

    CRASH_AT = 500

    def crash(self, how, sig):
        prerequisites(self)
        trace = os.path.join(self.tmp, "crash-" + how)
        p = record(trace, ["crash", how, str(self.CRASH_AT)])
        # record returns the program's status: 128 + signal.
        self.assertEqual(p.returncode, 128 + sig, p.stderr)
        self.assertIn("trace written to", p.stderr)
        self.assertNotIn("Traceback", p.stderr)
        truth = json.loads([ln for ln in p.stdout.splitlines() if ln.startswith("{")][-1])
        info = record_info(trace)
        self.assertEqual(info["exit_status"], 128 + sig)
        rep = report_json(trace)
        comps = components_of(rep, info["pid"], "rel.worker")
        self.assertEqual(len(comps), 1, rep["components"])
        c = comps[0]
        self.assertEqual(truth["handled_before_crash"], self.CRASH_AT - 1)
        if sig == signal.SIGKILL:
            # SIGKILL cannot be caught: each thread's records not yet handed to LTTng (at most
            # the last ~15 ms, docs/event-model.md) are lost, never invented.
            self.assertLessEqual(c["messages"], truth["handled_before_crash"])
            self.assertGreater(c["messages"], 0)
            self.assertFalse(c["ended"])
            check_time_identity(self, c)
            t = run_looptrace(["report", trace])
            self.assertIn("up to the last 15 ms of each thread's activity may be missing",
                          t.stderr)
            return trace, rep, c
        # Everything recorded before the crash is analysed: the handled messages exactly (a
        # caught fatal signal flushes every thread's records first).
        self.assertEqual(c["messages"], truth["handled_before_crash"])
        # The component never ended: its binding and its last handler stay open to the end.
        self.assertFalse(c["ended"])
        self.assertGreaterEqual(rep["trace"]["anomalies"]["open_handlers"], 1)
        self.assertEqual(c["end_ns"], rep["trace"]["end_ns"])
        check_time_identity(self, c)
        # The terminal report and every other output work on the cut trace too.
        t = run_looptrace(["report", trace])
        self.assertEqual(t.returncode, 0, t.stderr)
        self.assertIn("rel.worker", t.stdout)
        out = os.path.join(self.tmp, "out-" + how)
        t = run_looptrace(["report", "-q", "--json", out + ".json", "--csv", out + "-csv",
                           "--html", out + "-html", trace])
        self.assertEqual(t.returncode, 0, t.stderr)
        self.assertNotIn("Traceback", t.stderr)
        t = run_looptrace(["export", "--perfetto", out + ".perfetto.json", trace])
        self.assertEqual(t.returncode, 0, t.stderr)
        with open(out + ".perfetto.json", encoding="utf-8") as f:
            self.assertTrue(json.load(f)["traceEvents"])
        return trace, rep, c

    def test_segv(self):
        self.crash("segv", signal.SIGSEGV)

    def test_abort(self):
        self.crash("abort", signal.SIGABRT)

    def test_sigkill(self):
        self.crash("kill", signal.SIGKILL)


class Signals(_TmpCase):
    """liblooptrace's fatal-signal handlers (libtrace/src/batch.c, "Fatal signals"): they are
    installed only on signals left at their default action, never on one the program ignores
    or handles, none under LOOPTRACE_SIGNAL_HANDLERS=0; a program killed by such a signal
    still dies by it (a fault with a core dump), after every record was flushed."""

    SENT = 3000
    FATAL = ["SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT", "SIGTERM", "SIGINT",
             "SIGHUP", "SIGQUIT"]

    def sig_app(self):
        return os.environ.get("LT_SIG_APP") or os.path.join(ltutil.build_dir(), "tests",
                                                            "sig_app")

    def dispositions(self, env=None):
        prerequisites(self)
        trace = os.path.join(self.tmp, "disp-%d" % len(os.listdir(self.tmp)))
        p = run_looptrace(["record", "-o", trace, "--", self.sig_app(), "dispositions"],
                          env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads([ln for ln in p.stdout.splitlines() if ln.startswith("{")][-1])

    def test_installed_only_where_default(self):
        d = self.dispositions()
        self.assertEqual(d["SIGHUP"], "ignore")  # the program's SIG_IGN is kept
        self.assertEqual(d["SIGQUIT"], "program")  # so is its own handler
        for name in self.FATAL:
            if name not in ("SIGHUP", "SIGQUIT"):
                self.assertEqual(d[name], "other", name)  # looptrace's handler

    def test_turned_off_by_environment(self):
        d = self.dispositions({"LOOPTRACE_SIGNAL_HANDLERS": "0"})
        for name in self.FATAL:
            want = {"SIGHUP": "ignore", "SIGQUIT": "program"}.get(name, "default")
            self.assertEqual(d[name], want, name)

    def fate(self, how, env=None):
        """Records `sig_app run DIR HOW N`; returns (the child's fate, its sends recorded)."""
        prerequisites(self)
        d = os.path.join(self.tmp, "run-" + how)
        os.mkdir(d)
        trace = os.path.join(d, "trace")
        p = run_looptrace(["record", "-o", trace, "--", self.sig_app(), "run", d, how,
                           str(self.SENT)], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = [json.loads(ln) for ln in p.stdout.splitlines() if ln.startswith("{")]
        self.assertEqual(lines[0], {"sent": self.SENT}, p.stdout)
        fate = lines[-1]
        rep = report_json(trace)
        sends = sum(c["sends"] for c in rep["channels"] if c.get("pid") == fate["pid"])
        return fate, sends, d

    def dies_by(self, how, sig, core):
        fate, sends, d = self.fate(how)
        self.assertEqual((fate["exited"], fate["signal"]), (0, sig), fate)
        self.assertEqual(fate["core"], core, fate)
        if core:
            self.assertTrue([f for f in os.listdir(d) if f.startswith("core")], os.listdir(d))
        # every record written before the signal reached the trace
        self.assertEqual(sends, self.SENT)

    def test_fault_dies_by_it_with_core(self):
        self.dies_by("segv", signal.SIGSEGV, 1)

    def test_fpe_dies_by_it_with_core(self):
        self.dies_by("fpe", signal.SIGFPE, 1)

    def test_abort_dies_by_it_with_core(self):
        self.dies_by("abort", signal.SIGABRT, 1)

    def test_sigterm_dies_by_it(self):
        self.dies_by("term", signal.SIGTERM, 0)

    def test_ignored_signal_is_not_handled(self):
        fate, sends, _ = self.fate("hup-ignored")
        self.assertEqual((fate["exited"], fate["status"]), (1, 0), fate)
        self.assertEqual(sends, self.SENT)


class CutShortNotice(Crash):
    """After a crash the report says that the run was cut short (a `cut-short` warning per
    component still running, and the program's fate from looptrace-record.json); after a
    clean run it does not. See docs/reliability.md, finding F2."""

    def test_report_says_cut_short(self):
        trace, rep, c = self.crash("segv", signal.SIGSEGV)
        kinds = [w["kind"] for w in rep["warnings"]]
        self.assertIn("cut-short", kinds, rep["warnings"])
        t = run_looptrace(["report", trace])
        self.assertIn("cut short", t.stdout + t.stderr)
        # The analysis' warning names the component that never ended ...
        w = [w for w in rep["warnings"] if w["kind"] == "cut-short"]
        self.assertIn((c["id"], c["pid"]), [(x.get("component"), x.get("pid")) for x in w])
        self.assertIn("warning: [cut-short] component rel.worker: still running when the "
                      "trace ends", t.stdout)
        # ... and `report` says how the program ended, from looptrace-record.json.
        self.assertIn("looptrace: the recorded program was killed by SIGSEGV (exit status "
                      "139): the run was cut short; figures cover the recorded part only",
                      t.stderr.splitlines())
        self.assertIs(rep["trace"]["cut_short"], True)
        self.assertEqual((rep["trace"]["exit_status"], rep["trace"]["signal"]),
                         (139, "SIGSEGV"))
        # Given the stream folder inside the recording, it finds the recording's file too.
        inner = os.path.dirname(first_metadata(trace))
        self.assertIs(report_json(inner)["trace"]["cut_short"], True)

    def test_clean_run_not_cut_short(self):
        # A program that ends its components and exits: no notice, no warning.
        prerequisites(self)
        trace = os.path.join(self.tmp, "clean")
        p = record(trace, ["steady", "300"])
        self.assertEqual(p.returncode, 0, p.stderr)
        rep = report_json(trace)
        self.assertNotIn("cut-short", [w["kind"] for w in rep["warnings"]], rep["warnings"])
        self.assertIs(rep["trace"]["cut_short"], False)
        self.assertEqual(rep["trace"]["exit_status"], 0)
        t = run_looptrace(["report", trace])
        self.assertEqual(t.returncode, 0, t.stderr)
        self.assertNotIn("cut short", t.stdout + t.stderr)
        self.assertNotIn("cut-short", t.stdout)

    test_segv = test_abort = test_sigkill = None


# ---------------------------------------------------------------------------------------------


def _proc_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _proc_environ(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def _pids_mentioning(text):
    """Pids of processes whose command line contains `text` (a unique temporary path)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and text in _proc_cmdline(int(d)):
            out.append(int(d))
    return out


def _ours(pid, home):
    """True when process `pid` runs with LTTNG_HOME=`home` (a daemon this test started)."""
    return ("LTTNG_HOME=" + home).encode() in _proc_environ(pid)


class Sessiond(_TmpCase):
    """The session daemon dies during a recording."""

    def private_env(self, home):
        env = {"HOME": home, "LTTNG_HOME": home}
        if os.geteuid() == 0:
            # A root session daemon always uses /var/run/lttng (shared with the system's
            # daemon); an unprivileged user's daemon lives in $LTTNG_HOME/.lttng.
            os.chown(home, NOBODY, NOBODY)
            prefix = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                      "--clear-groups"]
            ltutil.require(self, shutil.which("setpriv"), "setpriv (util-linux) missing")
        else:
            prefix = []
        return prefix, env

    def test_sessiond_killed_during_record(self):
        prerequisites(self)
        home = tempfile.mkdtemp(prefix="lt-rel-home-", dir="/tmp")
        os.chmod(home, 0o755)
        prefix, env = self.private_env(home)
        full_env = dict(os.environ, **env)
        full_env.pop("LD_PRELOAD", None)
        looptrace, app = ltutil.looptrace_bin(), rel_app()
        if prefix:  # another user may not be able to enter the build tree: an installed copy
            world, looptrace, copies, extra = world_install(ltutil.build_dir(), [app])
            self.addCleanup(shutil.rmtree, world, True)
            app = copies[app]
            full_env.update(extra)
        pidfile = os.path.join(home, ".lttng", "lttng-sessiond.pid")
        daemon = None
        try:
            # Our own daemon; `record` uses it (and leaves it to us).
            subprocess.run(prefix + ["lttng-sessiond", "--daemonize"], env=full_env,
                           check=True, timeout=60, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while not os.path.exists(pidfile) and time.monotonic() < deadline:
                time.sleep(0.05)
            with open(pidfile, encoding="ascii") as f:
                daemon = int(f.read().strip())
            self.assertTrue(_ours(daemon, home), "pid %d is not the daemon we started" % daemon)
            trace = os.path.join(home, "trace")
            rec = subprocess.Popen(prefix + [looptrace, "record", "-o", trace,
                                             "--", app, "steady", "4000"],
                                   env=full_env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, universal_newlines=True)
            # Kill the daemon once the program runs traced (its consumer writes the trace).
            deadline = time.monotonic() + 30
            # (The program itself, not `record`, whose command line mentions it too.)
            while time.monotonic() < deadline and not any(
                    _proc_cmdline(p).startswith(app + " steady ")
                    for p in _pids_mentioning("steady")):
                time.sleep(0.05)
            time.sleep(1.0)
            os.kill(daemon, signal.SIGKILL)
            daemon = None
            out, err = rec.communicate(timeout=120)
            # The program is unharmed: normal output, and it ran to its end.
            self.assertRegex(out, r"rel_app: handled \d+", (out, err))
            self.assertNotIn("Traceback", err)
            # record fails clearly: non-zero, one line.
            self.assertNotEqual(rec.returncode, 0, err)
            lines = [ln for ln in err.splitlines() if ln.strip()]
            self.assertEqual(len(lines), 1, err)
            self.assertTrue(lines[0].startswith("looptrace: "), lines[0])
            print("record said: %s" % lines[0], file=sys.stderr)
            # ... saying what happened, the program's own exit status and where the trace is
            self.assertEqual(
                lines[0], "looptrace: the session daemon stopped during the recording (program "
                "exited with status 0); the trace in %s may be incomplete" % trace)
            info = record_info(trace)
            self.assertEqual(info["exit_status"], 0)
            self.assertIsNone(info["signal"])
            self.assertIs(info["incomplete"], True)
            self.assertEqual(info["command"][0], app)
            # Whatever reached the disk: report either analyses it or fails with one line.
            if os.path.isdir(trace):
                p = run_looptrace(["report", trace], timeout=300)
                if p.returncode != 0:
                    assert_one_line_error(self, p)
                print("report on the partial trace: status %d %s" % (
                    p.returncode, p.stderr.strip()), file=sys.stderr)
        finally:
            # Only what this test started: our daemon, and processes naming our private home
            # (its consumer daemons).
            mine = _pids_mentioning(home)
            if daemon and _ours(daemon, home):
                mine.append(daemon)
            for pid in mine:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            shutil.rmtree(home, ignore_errors=True)


# ---------------------------------------------------------------------------------------------


class Damaged(_TmpCase):
    """Bad input beyond tests/analysis-gt's DamagedTraceTest and tests/report."""

    trace = None

    def recorded(self):
        prerequisites(self)
        cls = type(self)
        if cls.trace is None:
            t = os.path.join(self.tmp, "good")
            p = record(t, ["steady", "300"])
            self.assertEqual(p.returncode, 0, p.stderr)
            cls.trace = t
        return cls.trace

    def copy(self):
        dst = tempfile.mkdtemp(prefix="damaged-", dir=self.tmp)
        shutil.rmtree(dst)
        shutil.copytree(self.recorded(), dst)
        return dst

    @staticmethod
    def files(trace, pred):
        return [os.path.join(d, f) for d, _, fs in os.walk(trace) for f in fs
                if pred(d, f)]

    @staticmethod
    def is_stream(d, f):
        return f != "metadata" and not f.startswith(".") and os.path.basename(d) != "index" \
            and "ust" in d

    def test_unrelated_files(self):
        prerequisites(self)
        d = tempfile.mkdtemp(dir=self.tmp)
        with open(os.path.join(d, "notes.txt"), "w") as f:
            f.write("not a trace\n")
        with open(os.path.join(d, "data.bin"), "wb") as f:
            f.write(os.urandom(10000))
        os.makedirs(os.path.join(d, "sub", "deeper"))
        with open(os.path.join(d, "sub", "deeper", "channel0_0"), "wb") as f:
            f.write(os.urandom(4096))
        assert_one_line_error(self, run_looptrace(["report", d]), "not a CTF trace")

    def test_missing_metadata(self):
        t = self.copy()
        for md in self.files(t, lambda d, f: f == "metadata"):
            os.unlink(md)
        assert_one_line_error(self, run_looptrace(["report", t]), "not a CTF trace")

    def test_random_bytes_in_stream(self):
        # Same size, garbage in the middle of the largest stream file: babeltrace2 cannot
        # decode it; the report must fail with one line, never print numbers.
        t = self.copy()
        biggest = max(self.files(t, self.is_stream), key=os.path.getsize)
        size = os.path.getsize(biggest)
        with open(biggest, "r+b") as f:
            f.seek(size // 3)
            f.write(os.urandom(min(65536, size // 3)))
        p = run_looptrace(["report", t], timeout=300)
        self.assertNotIn("Traceback", p.stderr)
        assert_one_line_error(self, p)

    def test_garbage_index_is_ignored(self):
        good = report_json(self.recorded())
        t = self.copy()
        idx = self.files(t, lambda d, f: os.path.basename(d) == "index")
        self.assertTrue(idx)
        for f in idx:
            with open(f, "wb") as out:
                out.write(os.urandom(64))
        rep = report_json(t)
        self.assertEqual(rep["trace"]["events"], good["trace"]["events"])


class DamagedPending(Damaged):
    """A trace folder holding two traces, one of which lost its metadata, is refused with one
    line instead of being analysed as if the other were all (finding F3)."""

    def test_one_of_two_traces_without_metadata(self):
        prerequisites(self)
        both = tempfile.mkdtemp(dir=self.tmp)
        shutil.copytree(self.recorded(), os.path.join(both, "a"))
        shutil.copytree(self.recorded(), os.path.join(both, "b"))
        for md in self.files(os.path.join(both, "b"), lambda d, f: f == "metadata"):
            os.unlink(md)
        assert_one_line_error(self, run_looptrace(["report", both]), "metadata")

    test_unrelated_files = test_missing_metadata = test_random_bytes_in_stream = None
    test_garbage_index_is_ignored = None


# ---------------------------------------------------------------------------------------------

LONG = "L" + "0123456789" * 1000 + "END"  # 10,004 characters

NAMES = [
    "plain",
    "κόμβος-😀-名前",                      # UTF-8, wide characters
    "ctl\x01\x1b[31mred\x7f\ttab\nnewline\rcr",  # control characters, an ANSI escape
    'q"uote\\back,comma;semi',             # CSV/JSON specials
    "<script>alert('x')</script>&amp;",     # HTML
    "=HYPERLINK(\"http://x\")",             # a spreadsheet formula
    LONG,
]
BAD_UTF8 = b"bad\xff\xfe-\x80-utf8"          # invalid UTF-8: each bad byte -> U+FFFD


def _expected(raw):
    return raw.decode("utf-8", "replace")


class Names(_TmpCase):
    """Components and channels named with any bytes."""

    rep = None
    trace = None

    def recorded(self):
        prerequisites(self)
        cls = type(self)
        if cls.trace is None:
            raws = [n.encode("utf-8") for n in NAMES] + [BAD_UTF8]
            t = os.path.join(self.tmp, "names")
            p = record(t, ["names"] + [r.hex() for r in raws])
            self.assertEqual(p.returncode, 0, p.stderr)
            cls.trace = t
            cls.pid = record_info(t)["pid"]
            cls.rep = report_json(t)
            cls.raws = raws
        return cls.trace

    def expected(self):
        return [_expected(r) for r in self.raws]

    def test_json_names_exact(self):
        self.recorded()
        comps = {c["name"] for c in components_of(self.rep, self.pid)}
        chans = {c["name"] for c in self.rep["channels"] if c.get("pid") == self.pid}
        for name in self.expected():
            self.assertIn(name, comps, "component name lost or altered: %r" % name[:80])
            self.assertIn(name, chans, "channel name lost or altered: %r" % name[:80])
        self.assertIn(len(LONG), {len(n) for n in comps})
        for c in components_of(self.rep, self.pid):
            self.assertEqual(c["messages"], 3, c["name"][:80])

    def test_terminal_escaped_not_cut(self):
        trace = self.recorded()
        p = run_looptrace(["report", trace])
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        for ch in ("\x01", "\x1b", "\x7f", "\r"):
            self.assertNotIn(ch, out, "raw control character %r in the table" % ch)
        self.assertIn(r"ctl\x01\x1b[31mred\x7f\x09tab\x0anewline\x0dcr", out)
        self.assertIn(LONG, out, "the 10,004-character name is cut in the table")
        self.assertIn("κόμβος-😀-名前", out)
        self.assertIn("bad\ufffd\ufffd-\ufffd-utf8", out)

    def test_csv_round_trip(self):
        trace = self.recorded()
        d = os.path.join(self.tmp, "csv")
        p = run_looptrace(["report", "-q", "--csv", d, trace])
        self.assertEqual(p.returncode, 0, p.stderr)
        for fname in ("components.csv", "channels.csv"):
            with open(os.path.join(d, fname), newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            # channels.csv has no pid column: other programs' channels may show up too.
            names = {r["name"] for r in rows if r.get("pid", str(self.pid)) == str(self.pid)}
            for name in self.expected():
                # A name starting like a formula gets a leading ' (never run by a
                # spreadsheet); every other name is exact.
                if name.startswith(("=", "+", "-", "@", "\t", "\r")):
                    name = "'" + name
                self.assertIn(name, names, "%s: %r lost or altered" % (fname, name[:80]))
            self.assertIn("'=HYPERLINK(", "".join(names))

    def test_perfetto_export(self):
        trace = self.recorded()
        out = os.path.join(self.tmp, "names.perfetto.json")
        p = run_looptrace(["export", "--perfetto", out, trace])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out, "rb") as f:
            raw = f.read()
        text = raw.decode("utf-8")  # valid UTF-8 whatever the names
        self.assertNotIn("\x1b", text)  # controls escaped by the JSON writer
        strings = set()

        def walk(v):
            if isinstance(v, str):
                strings.add(v)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(json.loads(text))
        for name in self.expected():
            self.assertTrue(any(name in x for x in strings),
                            "perfetto export lost or altered %r" % name[:80])

    def test_html_escaped(self):
        trace = self.recorded()
        d = os.path.join(self.tmp, "html")
        p = run_looptrace(["report", "-q", "--html", d, trace])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(d, "index.html"), encoding="utf-8") as f:
            page = f.read()
        self.assertNotIn("<script>alert('x')</script>", page)
        self.assertIn(html.escape("<script>alert("), page.replace("&#x27;", "'")
                      .replace("&#39;", "'"))
        self.assertNotIn("\x1b", page)
        self.assertIn(LONG, page, "the 10,004-character name is cut in the HTML report")


# ---------------------------------------------------------------------------------------------


class EmptyNames(_TmpCase):
    """Unnamed components and channels (empty names) between named ones."""

    NAMED = ["name%d" % i for i in range(1, 11)]

    def test_unnamed_keep_their_own_name(self):
        prerequisites(self)
        # name1, "", name2, "", ...: each "" is one component and one channel without a name.
        args = []
        for n in self.NAMED:
            args += [n.encode().hex(), ""]
        t = os.path.join(self.tmp, "empty")
        p = record(t, ["names"] + args)
        self.assertEqual(p.returncode, 0, p.stderr)
        pid = record_info(t)["pid"]
        rep = report_json(t)
        comps = components_of(rep, pid)
        chans = [c for c in rep["channels"] if c.get("pid") == pid]
        self.assertEqual(len(comps), 2 * len(self.NAMED), [c["name"] for c in comps])
        self.assertEqual(len(chans), 2 * len(self.NAMED), [c["name"] for c in chans])
        for items in (comps, chans):
            names = [c["name"] for c in items]
            # Every named one once, the unnamed ones under names of their own (comp-<id>,
            # chan-<id>), never under another one's name.
            self.assertEqual(len(set(names)), len(names), names)
            for n in self.NAMED:
                self.assertEqual(names.count(n), 1, names)
        by_id = {c["id"]: c["name"] for c in comps}
        for i, n in enumerate(self.NAMED):
            self.assertEqual(by_id[2 * i + 1], n)
            self.assertEqual(by_id[2 * i + 2], "comp-%d" % (2 * i + 2))
        for c in comps:
            self.assertEqual(c["messages"], 3, c["name"])
        # compare: one row per component, each with its own 3 messages, never a sum.
        p = run_looptrace(["compare", "--json", "-", t, t])
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [r for r in json.loads(p.stdout)["rows"]
                if r["section"] == "component" and r["metric"] == "messages"
                and r["name"] in set(by_id.values())]
        self.assertEqual(len(rows), len(comps))
        for r in rows:
            self.assertEqual(r["values"], [3, 3], r)


# ---------------------------------------------------------------------------------------------


class Million(_TmpCase):
    """1 M messages under tracing: the report agrees with the program's own counts."""

    def test_million_messages(self):
        prerequisites(self)
        total = 1000000
        scale = float(os.environ.get("LT_STRESS_SCALE") or 1)
        per = max(1000, int(total * scale) // 4)
        for attempt in range(2):
            trace = os.path.join(self.tmp, "million-%d" % attempt)
            args = ["flood", "4", str(per), "1024"]
            p = record(trace, args, timeout=900)
            self.assertEqual(p.returncode, 0, p.stderr)
            truth = json.loads([ln for ln in p.stdout.splitlines() if ln.startswith("{")][-1])
            self.assertEqual(truth["sent"], 4 * per)
            self.assertEqual(truth["handled"], 4 * per)
            rep = report_json(trace)
            if rep["trace"]["lost_events"] == 0:
                break
            # Losses must be flagged, never silent; then try once more.
            self.assertIn("lost-events", [w["kind"] for w in rep["warnings"]])
            print("attempt %d: %d events lost (flagged); recording again" % (
                attempt, rep["trace"]["lost_events"]), file=sys.stderr)
        else:
            self.fail("events lost twice in a row")
        comps = components_of(rep, truth["pid"], truth["component"])
        self.assertEqual(len(comps), 1)
        c = comps[0]
        self.assertEqual(c["messages"], truth["handled"])
        check_time_identity(self, c)
        chans = [ch for ch in rep["channels"]
                 if ch["name"] == truth["channel"] and ch.get("pid") == truth["pid"]]
        self.assertEqual(len(chans), 1)
        self.assertEqual(chans[0]["sends"], truth["sent"])
        self.assertEqual(chans[0]["recvs"], truth["handled"])
        self.assertLessEqual(chans[0]["max_depth"], 1024)
        print("traced %d messages: report messages %d, sends %d, recvs %d, events %d" % (
            truth["sent"], c["messages"], chans[0]["sends"], chans[0]["recvs"],
            rep["trace"]["events"]), file=sys.stderr)

    def test_overload_flags_what_it_cannot_count(self):
        # Tiny buffers under a flood: events are lost. Every figure that is short of the
        # program's own count must be flagged (lost_overlap) and a lost-events warning given.
        prerequisites(self)
        trace = os.path.join(self.tmp, "overload")
        p = run_looptrace(["record", "-o", trace, "--subbuf-size", "4096", "--num-subbuf", "2",
                           "--", rel_app(), "flood", "2", "100000", "64"], timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr)
        truth = json.loads([ln for ln in p.stdout.splitlines() if ln.startswith("{")][-1])
        rep = report_json(trace)
        lost = rep["trace"]["lost_events"]
        self.assertGreater(lost, 0, "no loss with 2 x 4 KiB buffers")
        self.assertTrue(rep["trace"]["lost_windows"])
        self.assertIn("lost-events", [w["kind"] for w in rep["warnings"]])
        c = components_of(rep, truth["pid"], truth["component"])
        self.assertEqual(len(c), 1)
        c = c[0]
        self.assertLessEqual(c["messages"], truth["handled"])
        if c["messages"] != truth["handled"]:
            self.assertTrue(c.get("lost_overlap"), "messages %d of %d, not flagged" % (
                c["messages"], truth["handled"]))
        chan = [ch for ch in rep["channels"]
                if ch["name"] == truth["channel"] and ch.get("pid") == truth["pid"]][0]
        self.assertLessEqual(chan["sends"], truth["sent"])
        if chan["sends"] != truth["sent"] or chan["recvs"] != truth["handled"]:
            self.assertTrue(chan.get("lost_overlap"), "channel counts short, not flagged")
        check_time_identity(self, c)
        t = run_looptrace(["report", trace])
        self.assertEqual(t.returncode, 0, t.stderr)
        self.assertIn("LOST EVENTS", t.stdout)
        print("overload: %d events lost in %d windows; component messages %d of %d "
              "(lost_overlap %s)" % (lost, len(rep["trace"]["lost_windows"]), c["messages"],
                                     truth["handled"], c.get("lost_overlap")), file=sys.stderr)


if __name__ == "__main__":
    ltutil.main()
