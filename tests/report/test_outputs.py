"""Output files and babeltrace2 runs under attack: the real CLI, the real babeltrace2 and the
real looptrace plugin, on synthetic (ctfgen) and recorded (tests/analysis/data) traces.

* Atomic      an output is replaced only by a complete new one; a failed export keeps the old
              file; no writer goes through a pre-placed symbolic link; modes (and, as root,
              owners) of replaced files are kept
* Limits      a one-byte metadata edit that makes babeltrace2 loop and grow: bounded by the
              memory limit and by the watchdog, one line each; limits set and overridable
* Kill        SIGTERM / SIGHUP / SIGINT / SIGKILL to report or export while babeltrace2 runs:
              the child dies, temporary files go (a SIGKILL's are removed by the next run)
* Damage      a stream file cut at a packet boundary (shorter than its index) is said to be
              damaged, in one line, in the JSON and in the warnings
* ErrorText   babeltrace2's internal decoder states become a plain reason
See docs/reliability.md, section "Adversarial pass: outputs and reading traces".
"""

import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

import ltutil
import ctfgen
from ltutil import assert_one_line_error, looptrace_bin, run_looptrace

RECORDED = os.path.join(ltutil.SOURCE_ROOT, "tests", "analysis", "data", "pingpong-30")
STREAMS = os.path.join("ust", "uid", "0", "64-bit")


def sample(directory, provider="looptrace", sends=50):
    t = ctfgen.Trace(pid=100, procname="sample")
    t.event(500, 101, "component_begin", comp=1, name_="w")
    for i in range(sends):
        t.event(1000 + i * 100, 102, "send", chan=1, msg=i + 1, flow=0, depth=1)
    return t.write(directory, provider)


def looping(directory):
    """A trace whose metadata differs from a good one by one byte (the uint64_t alias made
    14 bits wide: `size = 64` -> `size = 14`), on which babeltrace2 2.0.4 never ends and keeps
    allocating (about 20 MB/s here)."""
    d = sample(directory)
    md = os.path.join(d, "metadata")
    with open(md, "rb") as f:
        data = f.read()
    line = b"typealias integer { size = 64; align = 8; signed = false; } := uint64_t;"
    i = data.index(line) + line.index(b"64")
    with open(md, "wb") as f:
        f.write(data[:i] + b"1" + data[i + 1:])
    return d


def recorded_copy(directory):
    shutil.copytree(RECORDED, directory)
    return directory


def children(pid):
    """Pids of the direct children of `pid`."""
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def alive(pid):
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Base(unittest.TestCase):
    def setUp(self):
        ltutil.require(self, shutil.which("babeltrace2"), "babeltrace2 not installed")
        ltutil.require(self, ltutil.have_plugin(), "looptrace plugin not built")
        self.tmp = tempfile.mkdtemp(prefix="lt-out-")
        self.out = os.path.join(self.tmp, "out")
        os.mkdir(self.out)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def put(self, path, data=b"precious\n", mode=None):
        with open(path, "wb") as f:
            f.write(data)
        if mode is not None:
            os.chmod(path, mode)
        return path

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()


class Atomic(Base):
    def test_export_without_events_keeps_the_file(self):
        foreign = sample(os.path.join(self.tmp, "foreign"), provider="other")
        keep = self.put(os.path.join(self.out, "keep.json"))
        p = run_looptrace(["export", "--perfetto", keep, foreign])
        assert_one_line_error(self, p, "no looptrace events")
        self.assertEqual(self.read(keep), b"precious\n")
        self.assertEqual(os.listdir(self.out), ["keep.json"])

    def test_failed_export_keeps_the_file(self):
        bad = sample(os.path.join(self.tmp, "bad"))
        with open(os.path.join(bad, "metadata"), "wb") as f:
            f.write(os.urandom(300))
        keep = self.put(os.path.join(self.out, "keep.json"))
        p = run_looptrace(["export", "--perfetto", keep, bad])
        assert_one_line_error(self, p, "corrupt trace metadata")
        self.assertEqual(self.read(keep), b"precious\n")
        self.assertEqual(os.listdir(self.out), ["keep.json"])

    def all_outputs(self, trace):
        """Run every writer into self.out; returns {option: written paths}."""
        j = os.path.join(self.out, "r.json")
        runs = {
            "report": (["report", "-q", trace, "--json", j, "--csv", os.path.join(self.out, "csv"),
                        "--html", os.path.join(self.out, "html")],
                       [j] + [os.path.join(self.out, "csv", n) for n in (
                           "components.csv", "channels.csv", "routes.csv", "flows.csv",
                           "blocked.csv", "warnings.csv")] +
                       [os.path.join(self.out, "html", "index.html")]),
            "export": (["export", "--perfetto", os.path.join(self.out, "p.json"), trace],
                       [os.path.join(self.out, "p.json")]),
            "compare": (["compare", trace, trace, "--json", os.path.join(self.out, "c.json"),
                         "--html", os.path.join(self.out, "chtml")],
                        [os.path.join(self.out, "c.json"),
                         os.path.join(self.out, "chtml", "index.html")]),
        }
        for verb, (args, paths) in runs.items():
            p = run_looptrace(args)
            self.assertEqual(p.returncode, 0, "%s: %s" % (verb, p.stderr))
        return [p for _, paths in runs.values() for p in paths]

    def test_no_writer_follows_a_planted_link(self):
        # Links at every predictable temporary name next to every output (index.html.tmp is
        # the name `report --html` used), all pointing at a file that must survive.
        trace = recorded_copy(os.path.join(self.tmp, "trace"))
        victim = self.put(os.path.join(self.tmp, "victim"), b"victim\n", 0o644)
        for sub in ("csv", "html", "chtml"):
            os.mkdir(os.path.join(self.out, sub))
        planted = []
        names = ["r.json", "p.json", "c.json", "csv/components.csv", "csv/warnings.csv",
                 "html/index.html", "chtml/index.html"]
        for n in names:
            d, b = os.path.split(os.path.join(self.out, n))
            for link in (b + ".tmp", "." + b + ".tmp", b + "~", b + ".new"):
                os.symlink(victim, os.path.join(d, link))
                planted.append(os.path.join(d, link))
        written = self.all_outputs(trace)
        self.assertEqual(self.read(victim), b"victim\n")
        for path in written:
            self.assertTrue(stat.S_ISREG(os.lstat(path).st_mode), path)
        for link in planted:
            self.assertTrue(os.path.islink(link), link)

    def test_link_of_another_user_is_refused(self):
        ltutil.require(self, os.geteuid() == 0, "needs root (a link owned by another user)")
        trace = recorded_copy(os.path.join(self.tmp, "trace"))
        victim = self.put(os.path.join(self.tmp, "victim"), b"victim\n")
        link = os.path.join(self.out, "r.json")
        os.symlink(victim, link)
        os.lchown(link, 65534, 65534)
        p = run_looptrace(["report", "-q", trace, "--json", link])
        assert_one_line_error(self, p, "symbolic link owned by another user")
        self.assertEqual(self.read(victim), b"victim\n")

    def test_modes_are_kept(self):
        trace = recorded_copy(os.path.join(self.tmp, "trace"))
        first = self.all_outputs(trace)
        modes = {}
        for i, path in enumerate(first):
            modes[path] = (0o600, 0o640, 0o604)[i % 3]
            os.chmod(path, modes[path])
        second = self.all_outputs(trace)
        self.assertEqual(first, second)
        for path in second:
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), modes[path], path)

    def test_new_files_get_the_umask(self):
        trace = recorded_copy(os.path.join(self.tmp, "trace"))
        old = os.umask(0o027)
        try:
            written = self.all_outputs(trace)
        finally:
            os.umask(old)
        for path in written:
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o640, path)

    def test_owner_is_kept_as_root(self):
        ltutil.require(self, os.geteuid() == 0, "needs root (files of another owner)")
        trace = recorded_copy(os.path.join(self.tmp, "trace"))
        written = self.all_outputs(trace)
        for path in written:
            os.chown(path, 65534, 65534)
        self.all_outputs(trace)
        for path in written:
            st = os.stat(path)
            self.assertEqual((st.st_uid, st.st_gid), (65534, 65534), path)


class Limits(Base):
    def test_memory_limit(self):
        loop = looping(os.path.join(self.tmp, "loop"))
        p = run_looptrace(["report", loop], env={"LOOPTRACE_BT_MEMORY": "150M"}, timeout=300)
        assert_one_line_error(self, p, "ran out of its 150 MiB memory limit",
                              "LOOPTRACE_BT_MEMORY")

    def test_watchdog(self):
        loop = looping(os.path.join(self.tmp, "loop"))
        keep = self.put(os.path.join(self.out, "keep.json"))
        for args in (["report", loop], ["export", "--perfetto", keep, loop]):
            p = run_looptrace(args, env={"LOOPTRACE_BT_TIMEOUT": "2"}, timeout=300)
            assert_one_line_error(self, p, "did not finish reading", "in 2 s",
                                  "LOOPTRACE_BT_TIMEOUT")
        self.assertEqual(self.read(keep), b"precious\n")
        self.assertEqual(os.listdir(self.out), ["keep.json"])

    def limits_seen(self, env):
        """The RLIMIT_AS babeltrace2 runs under (a wrapper records /proc/self/limits)."""
        wrapper = os.path.join(self.tmp, "bt-wrapper")
        seen = os.path.join(self.tmp, "limits")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\ncat /proc/self/limits > %s\nexec %s \"$@\"\n"
                    % (seen, shutil.which("babeltrace2")))
        os.chmod(wrapper, 0o755)
        env = dict(env, LOOPTRACE_BABELTRACE2=wrapper)
        p = run_looptrace(["report", "-q", recorded_copy(os.path.join(self.tmp, "t%d" % len(
            os.listdir(self.tmp))))], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(seen) as f:
            line = [ln for ln in f if ln.startswith("Max address space")][0]
        return line.split()[3]

    def test_limits_applied_and_overridable(self):
        default = self.limits_seen({})
        self.assertNotEqual(default, "unlimited")
        self.assertGreaterEqual(int(default), 2 << 30)
        self.assertLessEqual(int(default), 8 << 30)
        self.assertEqual(self.limits_seen({"LOOPTRACE_BT_MEMORY": "3G"}), str(3 << 30))
        self.assertEqual(self.limits_seen({"LOOPTRACE_BT_MEMORY": "0"}), "unlimited")

    def test_bad_limit_values(self):
        trace = recorded_copy(os.path.join(self.tmp, "trace"))
        for env, needle in (({"LOOPTRACE_BT_MEMORY": "lots"}, "LOOPTRACE_BT_MEMORY=lots"),
                            ({"LOOPTRACE_BT_TIMEOUT": "-3"}, "LOOPTRACE_BT_TIMEOUT=-3")):
            assert_one_line_error(self, run_looptrace(["report", trace], env=env), needle)


class Kill(Base):
    def start(self, args, env=None):
        """Start looptrace; return (Popen, babeltrace2 pid) once babeltrace2 runs."""
        full_env = dict(os.environ, **(env or {}))
        proc = subprocess.Popen([looptrace_bin()] + args, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=full_env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            kids = [k for k in children(proc.pid) if comm(k) == "babeltrace2"]
            if kids:
                time.sleep(0.3)  # well into the run
                return proc, kids[0]
            if proc.poll() is not None:
                self.fail("looptrace ended first: %r" % proc.communicate()[1])
            time.sleep(0.05)
        proc.kill()
        self.fail("babeltrace2 never started")

    def wait_gone(self, pid):
        deadline = time.monotonic() + 20
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
            self.fail("babeltrace2 (pid %d) outlived looptrace" % pid)

    def test_signals_kill_babeltrace2_and_clean_up(self):
        loop = looping(os.path.join(self.tmp, "loop"))
        tmpdir = os.path.join(self.tmp, "tmpdir")
        os.mkdir(tmpdir)
        keep = self.put(os.path.join(self.out, "keep.json"))
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            for args in (["report", loop, "--json", os.path.join(self.out, "r.json"),
                          "--csv", os.path.join(self.out, "csv")],
                         ["export", "--perfetto", keep, loop]):
                proc, child = self.start(args, env={"TMPDIR": tmpdir})
                proc.send_signal(sig)
                _, err = proc.communicate(timeout=60)
                err = err.decode()
                self.assertEqual(proc.returncode, 128 + sig, err)
                lines = [ln for ln in err.splitlines() if ln.strip()]
                self.assertEqual(lines, ["looptrace: interrupted by %s" % sig.name])
                self.wait_gone(child)
                self.assertEqual(os.listdir(self.out), ["keep.json"], (sig, args))
                self.assertEqual(self.read(keep), b"precious\n")
                self.assertEqual(os.listdir(tmpdir), [])

    def test_sigkill(self):
        loop = looping(os.path.join(self.tmp, "loop"))
        tmpdir = os.path.join(self.tmp, "tmpdir")
        os.mkdir(tmpdir)
        keep = self.put(os.path.join(self.out, "keep.json"))
        proc, child = self.start(["report", loop], env={"TMPDIR": tmpdir})
        proc.kill()
        proc.communicate(timeout=60)
        self.wait_gone(child)
        self.assertEqual(os.listdir(tmpdir), [], "the report's temporary has no name")
        proc, child = self.start(["export", "--perfetto", keep, loop])
        proc.kill()
        proc.communicate(timeout=60)
        self.wait_gone(child)
        self.assertEqual(self.read(keep), b"precious\n")
        stale = [n for n in os.listdir(self.out) if n != "keep.json"]
        self.assertEqual(len(stale), 1, stale)
        self.assertTrue(stale[0].startswith(".keep.json.looptrace-%d-" % proc.pid), stale)
        # The next write into the folder removes what the killed run left.
        good = recorded_copy(os.path.join(self.tmp, "good"))
        p = run_looptrace(["export", "--perfetto", os.path.join(self.out, "other.json"), good])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(os.listdir(self.out)), ["keep.json", "other.json"])


class Damage(Base):
    def test_cut_at_a_packet_boundary(self):
        trace = recorded_copy(os.path.join(self.tmp, "trace"))
        ch0 = os.path.join(trace, STREAMS, "ch_0")
        self.assertEqual(os.path.getsize(ch0), 3 * 4096)
        os.truncate(ch0, 4096)
        j = os.path.join(self.out, "r.json")
        p = run_looptrace(["report", trace, "--json", j])
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = [ln for ln in p.stderr.splitlines() if "damaged" in ln]
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertIn("ch_0 is truncated: 4096 of the 12288 bytes its index lists "
                      "(1 of 3 packets whole)", lines[0])
        self.assertIn("[damaged-trace]", p.stdout)
        with open(j) as f:
            rep = json.load(f)
        self.assertTrue(rep["trace"]["damaged"])
        self.assertEqual(len(rep["trace"]["damage"]), 1)
        self.assertIn("damaged-trace", [w["kind"] for w in rep["warnings"]])
        p = run_looptrace(["export", "--perfetto", os.path.join(self.out, "p.json"), trace])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("the trace is damaged", p.stderr)

    def test_intact_trace_is_not_damaged(self):
        trace = recorded_copy(os.path.join(self.tmp, "trace"))
        j = os.path.join(self.out, "r.json")
        p = run_looptrace(["report", "-q", trace, "--json", j])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("damaged", p.stderr)
        with open(j) as f:
            self.assertNotIn("damaged", json.load(f)["trace"])


class ErrorText(Base):
    # 13 bytes of a recorded stream file, changed as random damage changed them: babeltrace2
    # then stops in an internal state of its decoder ("Cannot handle state:
    # msg-it-addr=0x..., state=DSCOPE_EVENT_HEADER_BEGIN") and says nothing else.
    DAMAGE = {3955: 0x10, 3957: 0x08, 3964: 0x02, 3965: 0x80, 3968: 0x08, 3969: 0x80,
              4009: 0x20, 4010: 0x02, 4012: 0x40, 4019: 0x80, 4020: 0x80, 4023: 0x02,
              4024: 0x40}

    def test_decoder_state_becomes_a_reason(self):
        trace = recorded_copy(os.path.join(self.tmp, "trace"))
        ch0 = os.path.join(trace, STREAMS, "ch_0")
        data = bytearray(self.read(ch0))
        for off, value in self.DAMAGE.items():
            data[off] = value
        with open(ch0, "wb") as f:
            f.write(data)
        for args in (["report", trace],
                     ["export", "--perfetto", os.path.join(self.out, "p.json"), trace]):
            p = run_looptrace(args)
            line = assert_one_line_error(self, p, "truncated or corrupt stream file")
            self.assertNotIn("addr=", line)
            self.assertNotIn("state", line)


class SinkOutput(Base):
    """sink.looptrace.report run by hand (babeltrace2 CLI) with `output` naming a file that
    exists: a failed run leaves it as it was (it used to be deleted: /dev/null included,
    when run as root), a good run replaces its whole content."""

    def run_sink(self, trace, output):
        return subprocess.run(
            ["babeltrace2", "--log-level=NONE", "--plugin-path=" + ltutil.plugindir(), trace,
             "-c", "sink.looptrace.report", "-p", 'output="%s"' % output],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def test_failed_run_keeps_the_output(self):
        trace = recorded_copy(os.path.join(self.tmp, "trace"))
        ch0 = os.path.join(trace, STREAMS, "ch_0")
        data = bytearray(self.read(ch0))
        for off, value in ErrorText.DAMAGE.items():
            data[off] = value
        with open(ch0, "wb") as f:
            f.write(data)
        keep = self.put(os.path.join(self.out, "keep.json"))
        p = self.run_sink(trace, keep)
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(self.read(keep), b"precious\n")
        fifo = os.path.join(self.out, "fifo")
        os.mkfifo(fifo)
        p = subprocess.Popen(["sh", "-c", "cat %s > /dev/null" % fifo])
        self.run_sink(trace, fifo)
        p.wait(60)
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO is still there")
        new = os.path.join(self.out, "new.json")
        self.run_sink(trace, new)
        self.assertFalse(os.path.exists(new), "a file the failed run created is removed")

    def test_good_run_replaces_the_content(self):
        trace = recorded_copy(os.path.join(self.tmp, "trace"))
        old = self.put(os.path.join(self.out, "r.json"), b"x" * 200000)
        p = self.run_sink(trace, old)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(old) as f:
            self.assertEqual(json.load(f)["schema"], "looptrace-report/1")


class Streams(Base):
    """outputs.open_stream, for top's command.out and logs: never through a link."""

    def test_open_stream_refuses_a_link(self):
        from looptrace import outputs

        victim = self.put(os.path.join(self.tmp, "victim"), b"victim\n")
        link = os.path.join(self.out, "command.out")
        os.symlink(victim, link)
        for append in (False, True):
            with self.assertRaises(OSError):
                outputs.open_stream(link, append)
        self.assertEqual(self.read(victim), b"victim\n")
        with outputs.open_stream(os.path.join(self.out, "log"), True) as f:
            f.write(b"a")
        with outputs.open_stream(os.path.join(self.out, "log"), True) as f:
            f.write(b"b")
        self.assertEqual(self.read(os.path.join(self.out, "log")), b"ab")


if __name__ == "__main__":
    ltutil.main()
