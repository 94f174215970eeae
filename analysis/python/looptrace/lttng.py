"""Session control for `looptrace record`: the session daemon and one recording session.

Drives the `lttng` command-line client (lttng-tools 2.13) rather than liblttng-ctl, so that
nothing beyond lttng-tools is needed. Every failure is raised as errors.UserError with a one-line
reason. The caller owns what it starts: Sessiond.stop() stops only a daemon this process started
(by its pid), and Session.destroy() is idempotent.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid

from .errors import UserError

SESSIOND_START_TIMEOUT = 15.0  # s, until `lttng list` answers
SESSIOND_STOP_TIMEOUT = 10.0  # s, after SIGTERM before SIGKILL


def exit_status(returncode):
    """A child's Popen returncode as a shell exit status: 128+N when it was killed by signal N
    (returncode -N), else the returncode itself."""
    return 128 - returncode if returncode < 0 else returncode


def _tool(name):
    path = shutil.which(name)
    if not path:
        raise UserError("LTTng is not installed: '%s' not found on PATH "
                        "(install lttng-tools and liblttng-ust)" % name)
    return path


def lttng_path():
    """Absolute path of the `lttng` client, or UserError if LTTng is not installed."""
    return _tool("lttng")


def _run(args, timeout=60):
    """Run `lttng --no-sessiond ARGS`; return (status, combined output)."""
    cmd = [lttng_path(), "--no-sessiond"] + list(args)
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return 124, "timed out after %d s" % timeout
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def _last_error(output):
    """The most useful line of an lttng client's output for a one-line message."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    line = (errors or lines or ["no output"])[-1]
    return line[len("Error:"):].strip() if line.startswith("Error:") else line


def sessiond_answers():
    """True when a session daemon of this user (or root's, for root) answers `lttng list`."""
    status, _ = _run(["list"], timeout=20)
    return status == 0


def _session_names():
    """Names of the recording sessions the daemon holds (empty if it does not answer)."""
    status, out = _run(["--mi=xml", "list"], timeout=20)
    if status != 0:
        return []
    return re.findall(r"<session>\s*<name>([^<]*)</name>", out)


SESSION_PREFIX = "looptrace-"
_OWNED = re.compile(r"^looptrace-(\d+)-[0-9a-f]{8}$")  # Session names: prefix, owner pid, random


def destroy_orphan_sessions():
    """Destroy the sessions a `looptrace record`/`top` created and could not destroy because
    it was killed (SIGKILL): their name carries the owner's pid, which is no longer alive.
    Left active, such a session would keep recording the user's instrumented programs into
    its old folder. Prints one line per session destroyed; never raises."""
    for name in _session_names():
        m = _OWNED.match(name)
        if not m or pid_alive(int(m.group(1))):
            continue
        status, _ = _run(["destroy", name])
        if status == 0:
            print("looptrace: destroyed session %s, left by a looptrace process (pid %s) that "
                  "was killed" % (name, m.group(1)), file=sys.stderr)


def lttng_version():
    """The `lttng` client's version as a tuple of ints ((2, 13, 9)), or None if unknown."""
    try:
        out = subprocess.run([lttng_path(), "--version"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20,
                             check=False).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"\b(\d+)\.(\d+)(?:\.(\d+))?", out)
    return tuple(int(g) for g in m.groups() if g is not None) if m else None


def destroy_orphan_triggers():
    """Remove the flight-recorder triggers (`<session>-flight`, `<session>-flight-notify`) of
    `record`s killed before they could: their owner's pid is no longer alive. Never raises."""
    status, out = _run(["list-triggers"], timeout=20)
    if status != 0:
        return
    for name in re.findall(r"^- name: (looptrace-\d+-[0-9a-f]{8}-flight(?:-notify)?)$", out,
                           re.M):
        m = re.match(r"^looptrace-(\d+)-", name)
        if m and not pid_alive(int(m.group(1))):
            _run(["remove-trigger", name])


def _pidfile():
    if os.geteuid() == 0:
        return "/var/run/lttng/lttng-sessiond.pid"
    home = os.environ.get("LTTNG_HOME") or os.path.expanduser("~")
    return os.path.join(home, ".lttng", "lttng-sessiond.pid")


def _unblock_signals():
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def pid_alive(pid):
    """True when process `pid` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Sessiond:
    """A session daemon: the one already answering, or one this object started."""

    def __init__(self):
        self.pid = None  # pid of the daemon we started; None if we use an existing one

    def ensure(self):
        """Use the running session daemon, or start one (`lttng-sessiond --daemonize`) and
        wait until it answers. Raises UserError when LTTng is missing or it cannot start."""
        lttng_path()
        if sessiond_answers():
            return
        sessiond = _tool("lttng-sessiond")
        try:
            # The daemon must not inherit signals blocked by `record` (it is stopped by
            # SIGTERM).
            proc = subprocess.run([sessiond, "--daemonize"], stdin=subprocess.DEVNULL,
                                  preexec_fn=_unblock_signals,  # noqa: PLW1509
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=SESSIOND_START_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UserError("cannot start the LTTng session daemon (%s): %s"
                            % (sessiond, exc)) from None
        if proc.returncode != 0:
            # Another daemon may have started meanwhile: use it, never stop it.
            if sessiond_answers():
                return
            raise UserError("cannot start the LTTng session daemon: %s exited with status "
                            "%d: %s" % (sessiond, proc.returncode,
                                        _last_error(proc.stdout.decode("utf-8", "replace"))))
        pid_deadline = time.monotonic() + 3.0
        self.pid = self._read_pid()
        while self.pid is None and time.monotonic() < pid_deadline:
            time.sleep(0.05)  # the pid file may lag behind --daemonize's return
            self.pid = self._read_pid()
        deadline = time.monotonic() + SESSIOND_START_TIMEOUT
        while not sessiond_answers():
            if time.monotonic() > deadline:
                self.stop()
                raise UserError("the LTTng session daemon started but does not answer "
                                "`lttng list`")
            time.sleep(0.1)

    @staticmethod
    def _read_pid():
        try:
            with open(_pidfile(), encoding="ascii") as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def stop(self):
        """Stop the daemon this object started (SIGTERM, then SIGKILL); idempotent. A daemon
        that meanwhile serves recording sessions of other clients is left running (with a
        note on stderr) rather than cutting their traces short."""
        pid, self.pid = self.pid, None
        if not pid:
            return
        others = _session_names()
        if others:
            print("looptrace: leaving lttng-sessiond (pid %d) running: %d other recording "
                  "session(s) use it" % (pid, len(others)), file=sys.stderr)
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + SESSIOND_STOP_TIMEOUT
        while pid_alive(pid):
            if time.monotonic() > deadline:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                break
            time.sleep(0.05)


class Session:
    """One recording session writing a CTF trace to `output`, or, given `url`
    (net://HOST:CONTROL:DATA), a live session streaming to a relay daemon (`looptrace top`)."""

    CHANNEL = "looptrace"
    META_CHANNEL = "looptrace-statedump"  # flight recorder: the state dump, kept apart
    META_SUBBUF, META_NUM = 64 * 1024, 4
    # Only what pairs events and keys ids: the thread's name travels once (component_begin),
    # the process's once (the statedump's procname event), call sites as `where` fields.
    CONTEXTS = ("vtid", "vpid")
    EVENTS = "looptrace:*,looptrace_preload:*"
    # Never filtered: LTTng-UST writes a process's state dump (the loaded objects, used to
    # symbolize addresses) when it registers, before the probes' constructor has run.
    STATEDUMP = "lttng_ust_statedump:*"
    RECORD_CONTEXT = "$app.looptrace:record"  # probes/src/recording.c

    def __init__(self, output, url=None, live_us=None, live=True):
        self.output = output
        self.url = url
        self.live_us = live_us
        self.live = live  # with `url`: a live session (top), else streaming only (record)
        # The owner's pid in the name: destroy_orphan_sessions() recognises it once dead.
        self.name = "%s%d-%s" % (SESSION_PREFIX, os.getpid(), uuid.uuid4().hex[:8])
        self.created = False
        self.started = False
        self.snapshot_mode = False
        self.triggers = []  # names of the LTTng triggers this session added

    def _check(self, args, what):
        status, out = _run(args)
        if status != 0:
            raise UserError("%s failed: %s" % (what, _last_error(out)))

    def create(self, subbuf_size, num_subbuf, buffering, record_id=None, snapshot=False):
        """Create the session with one UST channel sized for high event rates, the contexts,
        and the looptrace events enabled. With `record_id` (a positive int), only processes
        whose LOOPTRACE_RECORD_ID is that number record looptrace events (the filter on the
        probes' application context). With `snapshot` (the flight recorder), a snapshot-mode
        session: overwrite buffers, nothing written until snapshot(), and the state dump in a
        small channel of its own (META_CHANNEL) so that newer events never overwrite it.
        Raises UserError; destroy() cleans up after it."""
        self.snapshot_mode = snapshot
        if snapshot:
            self._check(["create", self.name, "--snapshot",
                         "--output=" + os.path.join(self.output, "snapshots")], "lttng create")
        elif self.url and self.live:
            self._check(["create", self.name, "--live=%d" % (self.live_us or 1000000),
                         "--set-url=" + self.url], "lttng create")
        elif self.url:
            self._check(["create", self.name, "--set-url=" + self.url], "lttng create")
        else:
            self._check(["create", self.name, "--output=" + self.output], "lttng create")
        self.created = True
        buffers = "--buffers-uid" if buffering == "per-uid" else "--buffers-pid"
        overwrite = ["--overwrite"] if snapshot else []
        self._check(["enable-channel", "--userspace", "--session=" + self.name, buffers,
                     "--subbuf-size=" + subbuf_size, "--num-subbuf=" + str(num_subbuf),
                     self.CHANNEL] + overwrite, "lttng enable-channel")
        statedump_channel = self.CHANNEL
        if snapshot:
            statedump_channel = self.META_CHANNEL
            self._check(["enable-channel", "--userspace", "--session=" + self.name, buffers,
                         "--subbuf-size=%d" % self.META_SUBBUF,
                         "--num-subbuf=%d" % self.META_NUM, self.META_CHANNEL] + overwrite,
                        "lttng enable-channel")
        ctx = []
        for c in self.CONTEXTS:
            ctx += ["--type=" + c]
        for chan in sorted({self.CHANNEL, statedump_channel}):
            self._check(["add-context", "--userspace", "--session=" + self.name,
                         "--channel=" + chan] + ctx, "lttng add-context")
        flt = []
        if record_id is not None:
            flt = ["--filter=%s == %d" % (self.RECORD_CONTEXT, record_id)]
        self._check(["enable-event", "--userspace", "--session=" + self.name,
                     "--channel=" + self.CHANNEL, self.EVENTS] + flt, "lttng enable-event")
        self._check(["enable-event", "--userspace", "--session=" + self.name,
                     "--channel=" + statedump_channel, self.STATEDUMP], "lttng enable-event")

    def add_trigger(self, name, args):
        """Add the LTTng trigger `name` (`lttng ARGS`), removed by destroy(). UserError (one
        line) when this LTTng has no triggers (before 2.13) or the session daemon refuses."""
        version = lttng_version()
        if version is not None and version < (2, 13):
            raise UserError("--flight-recorder --on needs LTTng 2.13 or later (triggers): this "
                            "is lttng %s" % ".".join(str(v) for v in version))
        status, out = _run(args)
        if status != 0:
            raise UserError("the session daemon refused the flight recorder's trigger: %s"
                            % _last_error(out))
        if name not in self.triggers:
            self.triggers.append(name)

    def remove_trigger(self, name):
        """Remove the trigger `name` that add_trigger() added; UserError when lttng fails."""
        if name in self.triggers:
            self.triggers.remove(name)
        self._check(["remove-trigger", name], "lttng remove-trigger")

    def snapshot(self, path):
        """Write a snapshot of the session's buffers under folder `path` (LTTng makes one
        folder in it); UserError when lttng fails."""
        self._check(["snapshot", "record", "--session=" + self.name, path],
                    "lttng snapshot record")

    def track_vpid(self, pid):
        """Record only the events of process `pid` (before or after start)."""
        self._check(["track", "--userspace", "--session=" + self.name, "--vpid=%d" % pid],
                    "lttng track")

    def start(self):
        self._check(["start", self.name], "lttng start")
        self.started = True

    def stop(self):
        """Stop recording and wait until the buffers are flushed to disk."""
        if self.started:
            self.started = False
            self._check(["stop", self.name], "lttng stop")

    def destroy(self):
        """Destroy the session (its trace files stay) and remove its triggers; idempotent,
        never raises."""
        while self.triggers:
            _run(["remove-trigger", self.triggers.pop()])
        if not self.created:
            return
        self.created = False
        _run(["destroy", self.name])
