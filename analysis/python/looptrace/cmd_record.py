"""`looptrace record -o DIR [options] -- CMD [ARGS]`: run a program under an LTTng session.

Locks DIR (and refuses one holding trace files it did not write), starts a session daemon if
none answers (and stops only that one afterwards), destroys sessions left by killed `record`s,
creates a session writing to DIR with one user-space channel sized for high event rates, adds
the vtid and vpid contexts, enables the `looptrace` and `looptrace_preload`
providers filtered to CMD's process tree (unless --all-processes or --pid), preloads the probes
and LTTng-UST's fork helper, runs CMD and returns its exit status (128+N when killed by signal
N). SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to `record` are passed on to CMD (unless the
terminal already sent them to it); CMD dies with `record` (PR_SET_PDEATHSIG). The trace is
stopped, flushed and left readable in every case; a full disk or an empty recording is said.
See docs/cli.md.
"""

import argparse
import ctypes
import errno
import fcntl
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from . import flight, launch, relayd
from .bt import find_metadata as bt_find_metadata
from .bt import find_babeltrace2, metadata_problem, show, stream_files
from .errors import UserError
from .lttng import (Session, Sessiond, destroy_orphan_sessions, destroy_orphan_triggers,
                    exit_status, lttng_path, pid_alive, sessiond_answers)

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
SI_KERNEL = 0x80  # si_code of a signal sent by the kernel (e.g. a terminal's Ctrl-C)
RECORD_INFO = "looptrace-record.json"


def add_parser(subparsers):
    p = subparsers.add_parser(
        "record",
        help="run a program and record its looptrace events",
        description="Run CMD under an LTTng session and write its looptrace events (a CTF "
        "trace) to DIR. Starts lttng-sessiond if none is running (and stops it afterwards), "
        "preloads the looptrace probes, returns CMD's exit status (128+N if killed by signal "
        "N). Ctrl-C, SIGTERM, SIGHUP or SIGQUIT is passed on to CMD and the trace is still "
        "written; only CMD's process tree is recorded (see --all-processes). With the "
        "default per-UID buffers the trace is in DIR/ust/uid/<uid>/64-bit/.",
        epilog="example: looptrace record -o trace/ -- ./my-app --threads 4",
    )
    p.add_argument("-o", "--output", metavar="DIR", required=True,
                   help="directory to write the trace to (created if missing)")
    p.add_argument("--relayd", metavar="URL",
                   help="stream the trace to the lttng-relayd at URL, "
                   "net://HOST[:CONTROL[:DATA]][/PATH] (ports 5342 and 5343 by default; "
                   "net6://[ADDR]... for IPv6), instead of writing it to DIR: the relay daemon "
                   "writes it to <its output folder>/<this host's name>/<PATH> (PATH defaults "
                   "to the session's name), which record prints and writes into "
                   "DIR/looptrace-record.json; DIR keeps only that file. Not with "
                   "--flight-recorder")
    p.add_argument("--force", action="store_true",
                   help="record even if DIR already holds a trace written by looptrace record "
                   "(what its looptrace-record.json lists as created is removed first, nothing "
                   "else)")
    p.add_argument("--subbuf-size", metavar="SIZE", default="4M",
                   help="size of each ring-buffer sub-buffer, with an optional k/M/G suffix "
                   "(default: %(default)s)")
    p.add_argument("--num-subbuf", metavar="N", type=int, default=8,
                   help="number of sub-buffers per CPU, a power of two (default: %(default)s)")
    p.add_argument("--buffering", choices=("per-uid", "per-pid"), default="per-uid",
                   help="one buffer set per user (default; the trace is in "
                   "DIR/ust/uid/<uid>/64-bit/) or per process (DIR/ust/pid/...)")
    p.add_argument("--no-preload", action="store_true",
                   help="do not preload %s (for programs that link the probes "
                   "statically, liblooptrace-probes.a)" % launch.PROBES_LIB)
    p.add_argument("--interpose", action="store_true",
                   help="also preload %s, the interposer that traces blocking in "
                   "pthread programs (an error if it is not installed)" % launch.INTERPOSE_LIB)
    who = p.add_mutually_exclusive_group()
    who.add_argument("--all-processes", action="store_true",
                     help="record every process of the user that loads the probes while CMD "
                     "runs (by default only CMD and its descendants are recorded)")
    who.add_argument("--pid", metavar="PID", type=int,
                     help="record the running process PID (no CMD) until it exits or "
                     "`record` is interrupted; its children are not recorded")
    fr = p.add_argument_group("flight recorder (docs/flight-recorder.md)")
    fr.add_argument("--flight-recorder", metavar="SIZE", nargs="?", const=flight.DEFAULT_SIZE,
                    help="keep only the last SIZE of events (default %s when no SIZE is "
                    "given), in memory, and write snapshots of them to "
                    "DIR/snapshots/<n>-<time>-<condition>/ when a condition matches, by hand "
                    "(looptrace snapshot DIR, or SIGUSR1 to record) or at exit; sub-buffer "
                    "sizes are derived from SIZE and the CPU count" % flight.DEFAULT_SIZE)
    fr.add_argument("--on", metavar="CONDITION", action="append", default=[],
                    help="take a snapshot when CONDITION matches in the program, checked "
                    "inside it: blocked>DUR (one block inside a handler lasted longer than "
                    "DUR), handler>DUR (one handler ran longer), depth>N (a channel's depth "
                    "after a send exceeded N), latency>DUR (a request made through a route: "
                    "from lt_route_add to the route's first dispatch by the router, its round "
                    "trip as the router sees it, took longer than DUR); repeatable")
    fr.add_argument("--max-snapshots", metavar="N", type=int, default=flight.DEFAULT_MAX,
                    help="take at most N snapshots on conditions (default: %(default)s): the "
                    "folder stays within about N x SIZE")
    fr.add_argument("--min-gap", metavar="DUR", default=flight.DEFAULT_GAP,
                    help="at least DUR between two snapshots on conditions (default: "
                    "%(default)s)")
    fr.add_argument("--snapshot-at-exit", action="store_true",
                    help="also take a snapshot when CMD ends (however it ends)")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS]",
                   help="the program to run and its arguments")
    p.set_defaults(func=run)
    return p


# What `record` (through LTTng) writes into DIR: the only entries --force ever removes.
WRITES = ("ust", flight.SNAPSHOTS, RECORD_INFO)
# Entries that make DIR look like a trace (report would read them with ours): refused unless
# looptrace-record.json says that `record` wrote them.
TRACE_LIKE = ("ust", "kernel", "metadata", "index")
RESERVE_BYTES = 64 * 1024  # kept free for looptrace-record.json should the disk fill up


def _read_own_record(path):
    """The looptrace-record.json at `path` as a dict, or None when it is not one `record`
    wrote (unreadable, not JSON, no `command`/`session`)."""
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or "session" not in info or "command" not in info:
        return None
    return info


def _remove_entry(victim):
    if os.path.isdir(victim) and not os.path.islink(victim):
        shutil.rmtree(victim)
    elif os.path.lexists(victim):
        os.unlink(victim)


class Output:
    """The trace folder DIR, locked (flock on the folder itself) from open() to close()."""

    def __init__(self, path):
        self.path = path
        self.created = False  # this record made the folder
        self.fd = None  # the folder, flock'ed
        self.reserve = None  # fd of an unlinked file holding RESERVE_BYTES
        self.before = set()  # entries present before the recording
        self.recorded = False  # a recording ran (DIR is kept even if empty)

    def open(self, force):
        """Create or check DIR, lock it, judge what it holds. Raises UserError (one line)."""
        path = self.path
        if os.path.lexists(path) and not os.path.isdir(path):
            raise UserError("cannot write the trace to %s: not a directory" % show(path))
        if not os.path.isdir(path):
            try:
                os.makedirs(path)
                self.created = True
            except FileExistsError:
                pass  # made meanwhile (by another record?): the lock decides
            except OSError as exc:
                raise UserError("cannot create %s: %s" % (show(path), exc.strerror or exc)) \
                    from None
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            self._undo()
            raise UserError("cannot open %s: %s" % (show(path), exc.strerror or exc)) from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            self.fd = None
            raise UserError("%s is being written by another looptrace record (give another "
                            "folder)" % show(path)) from None
        try:
            self._judge(force)
            fd, probe = tempfile.mkstemp(prefix=".looptrace-", dir=path)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            self.close()
            raise UserError("cannot write to %s: %s" % (show(path), exc.strerror or exc)) \
                from None
        except UserError:
            self.close()
            raise
        self.before = set(os.listdir(path))
        self._reserve()

    def _judge(self, force):
        """Refuse a folder holding a trace or trace-like files `record` did not write; with
        `force`, remove what the previous `record` wrote there (and only that)."""
        path = self.path
        info_path = os.path.join(path, RECORD_INFO)
        own = _read_own_record(info_path) if os.path.lexists(info_path) else None
        if os.path.lexists(info_path) and own is None:
            raise UserError("%s holds a %s that looptrace record did not write (give an "
                            "empty or new folder)" % (show(path), RECORD_INFO))
        present = [e for e in TRACE_LIKE if os.path.lexists(os.path.join(path, e))]
        if own is None:
            if present:
                raise UserError("%s holds files looptrace record did not write (%s): give an "
                                "empty or new folder" % (show(path), ", ".join(present)))
            return
        if not force:
            raise UserError("%s already holds a trace (use --force to replace it)" % show(path))
        listed = own.get("created")
        if not isinstance(listed, list):
            listed = list(WRITES)  # written by an older looptrace: ust/ and the record file
        victims = [e for e in WRITES if e in listed and e != RECORD_INFO]
        if flight.SNAPSHOTS not in victims and os.path.isdir(os.path.join(path,
                                                                           flight.SNAPSHOTS)):
            raise UserError("%s holds a snapshots/ folder looptrace record did not write: not "
                            "replacing the trace there" % show(path))
        foreign = [e for e in present if e not in victims]
        if foreign:
            raise UserError("%s holds files looptrace record did not write (%s): not replacing "
                            "the trace there" % (show(path), ", ".join(foreign)))
        for entry in victims + [RECORD_INFO]:
            try:
                _remove_entry(os.path.join(path, entry))
            except OSError as exc:
                raise UserError("cannot remove the old trace in %s: %s"
                                % (show(path), exc.strerror or exc)) from None

    def _reserve(self):
        """Hold RESERVE_BYTES of DIR's file system in an unlinked file (freed when closed, also
        if `record` is killed), so that looptrace-record.json can be written on a full disk."""
        try:
            fd = os.open(self.path, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600)
        except (OSError, AttributeError):
            return
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        except OSError:
            os.close(fd)
            return
        self.reserve = fd

    def free_bytes(self):
        """Bytes an unprivileged writer may still use on DIR's file system (None: unknown)."""
        try:
            st = os.statvfs(self.path)
        except OSError:
            return None
        return st.f_bavail * st.f_frsize

    def release_reserve(self):
        if self.reserve is not None:
            os.close(self.reserve)
            self.reserve = None

    def created_entries(self):
        """The entries of WRITES this recording added to DIR."""
        try:
            now = set(os.listdir(self.path))
        except OSError:
            now = set()
        return [e for e in WRITES if e in now and e not in self.before]

    def _undo(self):
        if self.created:
            _remove_if_empty(self.path)

    def close(self, recorded=True):
        """Release the reserve and the lock; remove DIR if this call made it and nothing was
        recorded into it."""
        self.release_reserve()
        if not recorded:
            self._undo()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _remove_if_empty(path):
    try:
        os.rmdir(path)
    except OSError:
        pass


def _write_record_info(output, info):
    """Write DIR/looptrace-record.json (see run() for its keys); raises OSError."""
    path = os.path.join(output, RECORD_INFO)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def _signal(returncode):
    return -returncode if returncode < 0 else None


def _drain_signals():
    """Consume pending forwarded signals so they do not fire once unblocked."""
    while signal.sigtimedwait(FORWARDED, 0) is not None:
        pass


_LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _child_setup(old_mask, parent):
    """In CMD's process before exec: the caller's signal mask, and SIGKILL when `record`
    dies (even by SIGKILL), so CMD never runs on untraced after its recording is gone."""
    signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # `record` died before prctl took effect
        os._exit(128 + signal.SIGKILL)


def _forward(proc, info):
    """Pass the signal `info` that reached `record` on to CMD. When CMD leads a process group
    of its own (`setsid`, a shell's job control) the group gets it, whoever sent it: a
    terminal's Ctrl-C reaches only the foreground group, `record`'s. Otherwise only a signal
    sent to `record` alone (kill, a supervisor) is passed on to CMD: a terminal's (si_code
    SI_KERNEL) already reached CMD, which shares our process group."""
    try:
        group = os.getpgid(proc.pid)
    except OSError:
        return
    try:
        if group != os.getpgrp():
            os.killpg(group, info.si_signo)
        elif info.si_code != SI_KERNEL:
            proc.send_signal(info.si_signo)
    except OSError:
        pass


def _run_child(argv, env, old_mask, recorder=None):
    """Start CMD, pass on signals; return (exit status, pid, killing signal or None). With the
    flight recorder `recorder`, its notifications are polled and SIGUSR1 takes a snapshot."""
    parent = os.getpid()
    try:
        proc = subprocess.Popen(argv, env=env,  # noqa: PLW1509
                                preexec_fn=lambda: _child_setup(old_mask, parent))
    except OSError as exc:
        raise UserError("cannot run %s: %s" % (show(argv[0]), exc.strerror or exc)) from None
    waitset = FORWARDED + (signal.SIGCHLD, signal.SIGUSR1)
    while True:
        info = signal.sigtimedwait(waitset, 0.05 if recorder else 0.2)
        if info is not None and info.si_signo in FORWARDED:
            _forward(proc, info)
        if recorder is not None:
            if info is not None and info.si_signo == signal.SIGUSR1:
                recorder.take("manual")
            recorder.poll()
        if proc.poll() is not None:
            return exit_status(proc.returncode), proc.pid, _signal(proc.returncode)


# The trace format liblooptrace writes under `record` (docs/event-model.md, "Format versions").
TRACE_FORMAT = "2.2"


def _size_bytes(text):
    """'4M' -> 4194304 (k, M, G suffixes, as lttng takes them); None when unparsable."""
    m = re.match(r"^\s*(\d+)\s*([kKmMgG]?)\s*$", str(text))
    if not m:
        return None
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]


def _trace_state(output):
    """(stream bytes kept, readable) of the trace under DIR/ust: `readable` is False when a
    metadata file is empty or damaged (as a full disk leaves it)."""
    kept, readable = 0, True
    for md in bt_find_metadata(os.path.join(output, "ust")):
        try:
            empty = os.path.getsize(md) == 0
        except OSError:
            empty = True
        if empty or metadata_problem(md):
            readable = False
        for stream in stream_files(os.path.dirname(md)):
            try:
                kept += os.path.getsize(stream)
            except OSError:
                pass
    return kept, readable


def _has_looptrace_events(output):
    """Whether the trace under DIR/ust holds at least one looptrace event: True, False, or
    None when babeltrace2 cannot tell. Reads the trace as text with the babeltrace2 CLI and
    stops at the first one (an empty trace is short; the metadata alone does not tell, as a
    per-UID trace declares the events of every instrumented process of the user)."""
    ust = os.path.join(output, "ust")
    if not bt_find_metadata(ust):
        return False
    try:
        exe = find_babeltrace2()
        proc = subprocess.Popen([exe, ust], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
    except (UserError, OSError):
        return None
    found = False
    with proc.stdout:
        for line in proc.stdout:
            if b" looptrace:" in line or b" looptrace_preload:" in line:
                found = True
                break
    if found:
        proc.kill()
    proc.wait()
    return True if found else (False if proc.returncode == 0 else None)


def _mib(n):
    return "%.1f MiB" % (n / 1048576.0)


def _new_record_id():
    """A positive number naming this recording for the probes' filter (probes/src/recording.c):
    random, so two recordings at once never match each other's processes."""
    return random.SystemRandom().randrange(1, 2 ** 62)


def _cmdline(pid):
    """The command line of process `pid` as a list (empty if unreadable)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [a.decode("utf-8", "surrogateescape") for a in raw.split(b"\0") if a]


def _wait_pid(pid, recorder=None):
    """Wait until process `pid` (not our child) is gone or a forwarded signal reaches
    `record`; returns that signal's number, or None when the process ended. SIGUSR1 takes a
    flight-recorder snapshot."""
    while True:
        info = signal.sigtimedwait(FORWARDED + (signal.SIGUSR1,), 0.2)
        if info is not None and info.si_signo == signal.SIGUSR1:
            if recorder is not None:
                recorder.take("manual")
            continue
        if info is not None:
            return info.si_signo
        if not pid_alive(pid):
            return None


def _flight_args(args):
    """The flight recorder's settings from the command line (None without it); UserError."""
    given = args.on or args.snapshot_at_exit or args.max_snapshots != flight.DEFAULT_MAX or \
        args.min_gap != flight.DEFAULT_GAP
    if args.flight_recorder is None:
        if given:
            raise UserError("--on, --max-snapshots, --min-gap and --snapshot-at-exit go with "
                            "--flight-recorder [SIZE]")
        return None
    size = flight.parse_size(args.flight_recorder)
    conditions = [flight.parse_condition(c) for c in args.on]
    if conditions and args.pid is not None:
        raise UserError("--on: conditions are armed in a program that record starts; with "
                        "--pid take snapshots by hand (looptrace snapshot DIR)")
    if args.max_snapshots < 1:
        raise UserError("--max-snapshots must be at least 1")
    cpus = os.cpu_count() or 1
    return {"size": size, "conditions": conditions, "max": args.max_snapshots,
            "gap": flight.parse_duration(args.min_gap, "--min-gap"),
            "subbuf": flight.subbuf_size(size, cpus), "num_subbuf": flight.NUM_SUBBUF}


def _flight_end(recorder, args):
    """When CMD has ended: the notifications of its last moments, then --snapshot-at-exit."""
    if recorder.conditions:
        time.sleep(0.3)  # a trigger emitted just before exit is notified within this
    recorder.poll()
    if args.snapshot_at_exit:
        recorder.take("exit")


def _write_running(output):
    """DIR/.looptrace-record.pid: this record's pid, for `looptrace snapshot DIR`."""
    with open(os.path.join(output, flight.RUNNING), "w", encoding="ascii") as f:
        f.write("%d\n" % os.getpid())


def _remove_running(output):
    try:
        os.unlink(os.path.join(output, flight.RUNNING))
    except OSError:
        pass


def _streamed(args, command, env, processes, record_id, out, session, remote, outcome):
    """The end of a recording streamed to a relay daemon (--relayd): DIR gets only
    looptrace-record.json, with where the trace landed; returns the exit status."""
    status, pid, sig, stop_error = outcome
    hostname = socket.gethostname()
    where = "%s/%s" % (hostname, remote.path)
    out.release_reserve()
    info = {
        "command": command, "format": TRACE_FORMAT, "pid": pid, "processes": processes,
        "record_id": record_id, "exit_status": status, "signal": sig,
        "incomplete": stop_error is not None, "disk_full": False, "uid": os.getuid(),
        "session": session.name, "buffering": args.buffering,
        "subbuf_size": args.subbuf_size, "num_subbuf": args.num_subbuf,
        "ld_preload": env.get("LD_PRELOAD", ""),
        "relayd": {"url": remote.lttng_url(), "control": remote.control_address(),
                   "data": remote.data_address(), "hostname": hostname,
                   "path": where},
        "created": [RECORD_INFO],
    }
    try:
        _write_record_info(out.path, info)
    except OSError as exc:
        raise UserError("cannot write %s in %s: %s (program exited with status %d; the trace "
                        "is at lttng-relayd %s in %s/)" % (
                            RECORD_INFO, show(out.path), exc.strerror or exc, status,
                            remote.control_address(), where)) from None
    if stop_error is not None:
        raise UserError("%s (program exited with status %d); the trace streamed to "
                        "lttng-relayd %s (%s/) may be incomplete"
                        % (stop_error, status, remote.control_address(), where))
    print("looptrace: trace streamed to lttng-relayd at %s: it is in %s/ under the relay "
          "daemon's output folder (lttng-relayd --output); details in %s"
          % (remote.control_address(), where, show(os.path.join(out.path, RECORD_INFO))),
          file=sys.stderr)
    return status


def run(args):
    command = launch.command_of(args)
    if args.pid is not None:
        if command:
            raise UserError("record: give either --pid PID or a command, not both")
        if args.pid <= 0 or not pid_alive(args.pid):
            raise UserError("--pid %d: no such process" % args.pid)
    elif not command:
        raise UserError("record: no command given (usage: looptrace record -o DIR -- CMD "
                        "[ARGS])")
    if args.num_subbuf < 1:
        raise UserError("--num-subbuf must be a positive power of two")
    fl = _flight_args(args)
    if args.relayd is not None:
        if fl is not None:
            raise UserError("--relayd does not go with --flight-recorder (snapshots are "
                            "written to DIR)")
        args.relayd_url = relayd.parse(args.relayd)
    lttng_path()  # LTTng installed?
    if args.pid is not None:
        processes, record_id, env = "pid", None, {}
        command = _cmdline(args.pid)
    else:
        command[0] = launch.resolve_command(command)
        env = launch.preload_env(args)
        processes, record_id = "tree", None
        if args.all_processes:
            processes = "all"
        else:
            record_id = _new_record_id()
            env["LOOPTRACE_RECORD_ID"] = str(record_id)
        if fl is not None and fl["conditions"]:
            env["LOOPTRACE_FLIGHT"] = flight.environment(fl["conditions"], fl["gap"],
                                                         fl["max"])
    if args.relayd is not None:
        # Before DIR, the session daemon and the session: a relay daemon that is not there,
        # or a peer that is not one, fails here within seconds.
        relayd.check_reachable(args.relayd_url)
    output = os.path.abspath(args.output)
    out = Output(output)
    out.open(args.force)
    try:
        return _record(args, command, env, processes, record_id, out, fl)
    finally:
        out.close(recorded=out.recorded)


def _record(args, command, env, processes, record_id, out, fl=None):
    """The recording proper, into the locked folder `out`; returns the exit status."""
    output = out.path
    out.recorded = False
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED + (signal.SIGCHLD,
                                                                     signal.SIGUSR1))
    sessiond = Sessiond()
    remote = getattr(args, "relayd_url", None)
    session = Session(output)
    if remote is not None:
        # A path of our own when the URL has none: LTTng's default names the folder after the
        # session's creation time, which the client is never told.
        remote = remote.with_path(session.name)
        session.url, session.live = remote.lttng_url(), False
    status = None
    stop_error = None
    sig = None
    recorder = None
    if fl is not None:
        args.subbuf_size, args.num_subbuf = str(fl["subbuf"]), fl["num_subbuf"]
    try:
        sessiond.ensure()
        destroy_orphan_sessions()
        if fl is not None:
            destroy_orphan_triggers()
        session.create(args.subbuf_size, args.num_subbuf, args.buffering, record_id=record_id,
                       snapshot=fl is not None)
        if fl is not None:
            recorder = flight.Recorder(output, session, fl["size"], fl["conditions"],
                                       fl["max"], fl["gap"], record_id)
            out.recorded = True  # DIR/snapshots exists from here on
            recorder.arm()
            _write_running(output)
        if args.pid is not None:
            session.track_vpid(args.pid)
        session.start()
        if set(FORWARDED) & signal.sigpending():
            raise UserError("interrupted", status=130)
        if args.pid is not None:
            pid = args.pid
            _wait_pid(pid, recorder)
            status = 0  # not our child: its exit status is unknown
        else:
            status, pid, sig = _run_child(command, env, old_mask, recorder)
        if recorder is not None:
            _flight_end(recorder, args)
        try:
            session.stop()
        except UserError as exc:
            stop_error = exc  # the program ran: still say what it did, and where the trace is
    finally:
        if recorder is not None:
            recorder.close()
            _remove_running(output)
        session.destroy()
        sessiond.stop()
        _drain_signals()
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    out.recorded = True
    if remote is not None:
        return _streamed(args, command, env, processes, record_id, out, session, remote,
                         (status, pid, sig, stop_error))

    # A full disk: LTTng's consumer cannot write a packet and says nothing to its clients.
    # Less than one sub-buffer left means a packet may not have fitted.
    free = out.free_bytes()
    subbuf = _size_bytes(args.subbuf_size) or (1 << 20)
    disk_full = free is not None and free < subbuf
    if recorder is not None:  # nothing is written but snapshots: was one refused for space?
        disk_full = recorder.disk_full
    kept, readable = _trace_state(output)
    out.release_reserve()  # room for looptrace-record.json
    info = {
        "command": command,
        "format": TRACE_FORMAT,
        "pid": pid,
        "processes": processes,
        "record_id": record_id,
        "exit_status": status,
        "signal": sig,
        "incomplete": stop_error is not None or disk_full,
        "disk_full": disk_full,
        "uid": os.getuid(),
        "session": session.name,
        "buffering": args.buffering,
        "subbuf_size": args.subbuf_size,
        "num_subbuf": args.num_subbuf,
        "ld_preload": env.get("LD_PRELOAD", ""),
        "created": sorted(set(out.created_entries() + [RECORD_INFO])),
    }
    if recorder is not None:
        info["flight_recorder"] = recorder.summary()
    info_error = None
    try:
        _write_record_info(output, info)
    except OSError as exc:
        info_error = exc
        if exc.errno == errno.ENOSPC:
            disk_full = True
    if disk_full and recorder is not None:
        raise UserError("the disk holding %s is full (%s free; program exited with status %d):"
                        " %d snapshot(s) written, %d not taken for want of space%s" % (
                            show(output), "%d KiB" % (free // 1024) if free is not None
                            else "no space", status, len(recorder.taken), recorder.no_space,
                            "; %s not written" % RECORD_INFO if info_error else ""))
    if disk_full:
        what = ("kept %s of events, unreadable: its metadata could not be written" % _mib(kept)
                if not readable else "kept %s of events, readable up to where the disk filled"
                % _mib(kept))
        raise UserError("the disk holding %s is full (%s free; program exited with status %d):"
                        " the trace is cut short; %s%s" % (
                            show(output), "%d KiB" % (free // 1024) if free is not None
                            else "no space", status, what,
                            "; %s not written" % RECORD_INFO if info_error else ""))
    if info_error is not None:
        raise UserError("cannot write %s in %s: %s (program exited with status %d)"
                        % (RECORD_INFO, show(output), info_error.strerror or info_error,
                           status))
    if stop_error is not None:
        if not sessiond_answers():
            raise UserError("the session daemon stopped during the recording (program exited "
                            "with status %d); the trace in %s may be incomplete"
                            % (status, show(output)))
        raise UserError("%s (program exited with status %d); the trace in %s may be "
                        "incomplete" % (stop_error, status, show(output)))
    if recorder is not None:
        snaps = os.path.join(output, flight.SNAPSHOTS)
        if recorder.taken:
            print("looptrace: %d snapshot(s) written to %s%s" % (
                len(recorder.taken), show(snaps), " (%d more matched, not kept)"
                % recorder.skipped if recorder.skipped else ""), file=sys.stderr)
        elif recorder.skipped:
            print("looptrace: no snapshot kept (%d taken or matched, none kept: see above); "
                  "nothing was written to %s" % (recorder.skipped, show(snaps)),
                  file=sys.stderr)
        else:
            print("looptrace: no snapshot taken (%s); nothing was written to %s"
                  % ("no condition matched" if fl["conditions"] else "no condition given, "
                     "none taken by hand", show(snaps)), file=sys.stderr)
        return status
    if not disk_full and readable and _has_looptrace_events(output) is False:
        # Nothing to report: say so now rather than `report` failing later. The exit status
        # stays CMD's (a program that is not instrumented is not a failed recording).
        print("looptrace: no looptrace events were recorded in %s (does the program call "
              "liblooptrace, with the probes preloaded or linked?)" % show(output),
              file=sys.stderr)
        return status
    print("looptrace: trace written to %s" % show(output), file=sys.stderr)
    return status
