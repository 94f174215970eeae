"""The moving parts of `looptrace top`: a private relay daemon, the traced program held until
its process is tracked, and the babeltrace2 reader that turns a live session into snapshots.

Data path:  CMD (probes preloaded) -> lttng-sessiond/consumerd -> lttng-relayd (this module
starts one on free 127.0.0.1 ports, writing the trace under the output folder) ->
babeltrace2 `src.ctf.lttng-live` -> `sink.looptrace.report` in snapshot mode (one JSON report
per line on its stdout, every interval of wall-clock time, and a final one when the session
ends) -> Reader (a thread here) -> the view.

Ownership: Relayd.stop() stops only the relay daemon it started, by pid; HeldChild starts CMD
through `/bin/sh` blocked on a pipe so that its pid can be tracked before it runs; Reader.stop()
ends only its own babeltrace2. Every failure is a UserError with a one-line reason.
"""

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time

from . import bt, outputs
from .errors import UserError
from .lttng import exit_status

RELAYD_START_TIMEOUT = 10.0  # s, until the three ports accept connections
RELAYD_STOP_TIMEOUT = 10.0  # s, after SIGTERM before SIGKILL
READER_RESTARTS = 5  # babeltrace2 2.0.4's lttng-live may abort on a trace still empty


def _free_ports(count):
    """`count` distinct TCP ports free on 127.0.0.1 right now (the relayd may still lose a
    race for one; Relayd.start retries)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def terminate(proc, sig=signal.SIGTERM, timeout=10.0):
    """Send `sig` to the child `proc` (a Popen), wait up to `timeout` s, then SIGKILL. Returns
    its exit code."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Relayd:
    """An `lttng-relayd` of our own, on 127.0.0.1, writing traces under `output`."""

    def __init__(self):
        self.proc = None
        self.control = self.data = self.live = None

    def start(self, output, log_path):
        """Start the daemon (foreground child in its own session, so a terminal's Ctrl-C
        does not cut the trace short) and wait until it listens. Raises UserError."""
        exe = shutil.which("lttng-relayd")
        if not exe:
            raise UserError("lttng-relayd not found on PATH (install lttng-tools)")
        last = "no output"
        for _ in range(3):
            self.control, self.data, self.live = _free_ports(3)
            cmd = [exe, "--output=" + output,
                   "--control-port=tcp://127.0.0.1:%d" % self.control,
                   "--data-port=tcp://127.0.0.1:%d" % self.data,
                   "--live-port=tcp://127.0.0.1:%d" % self.live]
            try:
                with outputs.open_stream(log_path, append=True) as log:
                    self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                                 stderr=subprocess.STDOUT,
                                                 start_new_session=True)
            except OSError as exc:
                raise UserError("cannot run %s: %s" % (exe, exc.strerror or exc)) from None
            deadline = time.monotonic() + RELAYD_START_TIMEOUT
            while self.proc.poll() is None and time.monotonic() < deadline:
                if all(_accepts(p) for p in (self.control, self.data, self.live)):
                    return
                time.sleep(0.05)
            terminate(self.proc, timeout=2.0)
            self.proc = None
            try:
                with open(log_path, encoding="utf-8", errors="replace") as f:
                    lines = [ln.strip() for ln in f if ln.strip()]
                last = lines[-1] if lines else last
            except OSError:
                pass
        raise UserError("cannot start lttng-relayd on 127.0.0.1: %s" % last)

    @property
    def session_url(self):
        """The `lttng create --set-url` destination of this daemon."""
        return "net://127.0.0.1:%d:%d" % (self.control, self.data)

    def live_url(self, hostname, session):
        return "net://127.0.0.1:%d/host/%s/%s" % (self.live, hostname, session)

    def stop(self):
        """Stop the daemon this object started (SIGTERM, then SIGKILL); idempotent."""
        proc, self.proc = self.proc, None
        if proc is not None:
            terminate(proc, timeout=RELAYD_STOP_TIMEOUT)


class HeldChild:
    """CMD started through /bin/sh, which waits on a pipe before exec'ing it: the pid (the
    same after exec) is known, and can be tracked, before CMD runs its first instruction.
    `preload` is the LD_PRELOAD CMD gets (the shell itself runs without the probes)."""

    SCRIPT = ('read _ <&{fd} || exit 127; exec {fd}<&-; '
              'LD_PRELOAD=$LOOPTRACE_TOP_PRELOAD; unset LOOPTRACE_TOP_PRELOAD; '
              'if [ -n "$LD_PRELOAD" ]; then export LD_PRELOAD; else unset LD_PRELOAD; fi; '
              'exec "$@"')

    def __init__(self, argv, env, preload, stdin, output):
        r, w = os.pipe()
        env = dict(env)
        env["LOOPTRACE_TOP_PRELOAD"] = preload or ""
        if os.environ.get("LD_PRELOAD"):
            env["LD_PRELOAD"] = os.environ["LD_PRELOAD"]
        else:
            env.pop("LD_PRELOAD", None)
        try:
            self.proc = subprocess.Popen(["/bin/sh", "-c", self.SCRIPT.format(fd=r), "sh"]
                                         + list(argv), env=env, stdin=stdin, stdout=output,
                                         stderr=output, pass_fds=(r,))
        except OSError as exc:
            os.close(r)
            os.close(w)
            raise UserError("cannot run %s: %s" % (argv[0], exc.strerror or exc)) from None
        os.close(r)
        self._go = w
        self.pid = self.proc.pid

    def release(self):
        """Let CMD run."""
        if self._go is not None:
            try:
                os.write(self._go, b"go\n")
            except OSError:
                pass
            os.close(self._go)
            self._go = None

    def cancel(self):
        """Never run CMD (the shell exits 127); or end it when already released."""
        if self._go is not None:
            os.close(self._go)
            self._go = None
        self.proc.wait()

    def poll(self):
        """None while running, else its exit status (128+N when killed by signal N)."""
        rc = self.proc.poll()
        return None if rc is None else exit_status(rc)


class Reader:
    """babeltrace2 reading a live session into snapshots, on a thread.

    get(timeout) returns the next snapshot (the report dict, with its `snapshot` object) or
    None. `done` is set when the final snapshot arrived or babeltrace2 gave up; `error` then
    holds a one-line reason when it failed. babeltrace2 2.0.4's lttng-live source can abort on
    a live trace whose metadata is not there yet: the reader then starts it again (the viewer
    reads the session from its beginning, so the cumulative figures stay right).
    """

    def __init__(self, url, interval_ms, trace_path, log_path, loop_tops=None):
        self.url = url
        self.loop_tops = list(loop_tops or [])  # the sink's `loop-top` call sites
        self.interval_ms = interval_ms
        self.trace_path = trace_path
        self.log_path = log_path
        self.queue = queue.Queue()
        self.done = threading.Event()
        self.error = None
        self.final = None
        self.restarts = 0
        self.ending = False  # set by the owner once the session was destroyed
        self._stop = False
        self._proc = None
        self._lock = threading.Lock()
        self._thread = None

    def command(self):
        exe = bt.find_babeltrace2()
        plugdir = bt.find_plugin()
        params = {"snapshot-interval-ms": int(self.interval_ms), "snapshot-output": "-",
                  "trace-path": self.trace_path}
        if self.loop_tops:
            params["loop-top"] = self.loop_tops
        params = bt.format_params(params)
        return [exe, "--log-level=NONE", "--plugin-path=" + plugdir, "-i", "lttng-live",
                self.url, "--params", 'session-not-found-action="continue"',
                "-c", bt.SINK, "-p", params]

    def start(self):
        cmd = self.command()  # UserError now, not on the thread
        self._thread = threading.Thread(target=self._run, args=(cmd,), daemon=True)
        self._thread.start()

    def _spawn(self, cmd):
        with outputs.open_stream(self.log_path, append=True) as log:
            return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=log, start_new_session=True)

    def _run(self, cmd):
        try:
            while True:
                with self._lock:
                    if self._stop:
                        return
                    self._proc = self._spawn(cmd)
                proc = self._proc
                for raw in iter(proc.stdout.readline, b""):
                    try:
                        snap = json.loads(raw.decode("utf-8", "surrogateescape"))
                    except ValueError:
                        continue
                    if not isinstance(snap, dict):
                        continue
                    snap.setdefault("snapshot", {})["restart"] = self.restarts
                    if snap["snapshot"].get("final"):
                        self.final = snap
                    self.queue.put(snap)
                proc.stdout.close()
                status = proc.wait()
                if self.final is not None or self._stop:
                    return
                if status < 0 and not self.ending and self.restarts < READER_RESTARTS:
                    self.restarts += 1
                    time.sleep(0.5)
                    continue
                self.error = "babeltrace2 stopped reading %s (%s); its messages are in %s" % (
                    bt.show(self.url), "signal %d" % -status if status < 0
                    else "exit status %d" % status, bt.show(self.log_path))
                return
        except OSError as exc:
            self.error = "cannot run babeltrace2: %s" % (exc.strerror or exc)
        finally:
            self.done.set()

    def get(self, timeout):
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def wait_final(self, timeout):
        """Wait until babeltrace2 ends (the final snapshot) or `timeout` s passed."""
        return self.done.wait(timeout)

    def stop(self):
        """End babeltrace2 (SIGINT, then SIGKILL) and the thread; idempotent."""
        with self._lock:
            self._stop = True
            proc = self._proc
        if proc is not None:
            terminate(proc, signal.SIGINT, timeout=5.0)
        if self._thread is not None:
            self._thread.join(5.0)
