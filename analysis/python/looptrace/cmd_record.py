"""`looptrace record -o DIR [options] -- CMD [ARGS]`: run a program under an LTTng session.

Starts a session daemon if none answers (and stops only that one afterwards), creates a session
writing to DIR with one user-space channel sized for high event rates, adds the vtid, vpid,
procname and ip contexts, enables the `looptrace` and `looptrace_preload` providers, preloads
the probes, runs CMD and returns its exit status (128+N when killed by signal N). SIGINT and
SIGTERM sent to `record` are passed on to CMD (unless the terminal already sent them to it);
the trace is stopped, flushed and left readable in every case.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile

from . import paths
from .errors import UserError
from .lttng import Session, Sessiond, exit_status, lttng_path, pid_alive, sessiond_answers

PROBES_LIB = "liblooptrace-probes.so"
INTERPOSE_LIB = "liblooptrace-preload.so"
UST_FORK_LIB = "liblttng-ust-fork.so"  # LTTng-UST's fork()/clone() wrapper
FORWARDED = (signal.SIGINT, signal.SIGTERM)
SI_KERNEL = 0x80  # si_code of a signal sent by the kernel (e.g. a terminal's Ctrl-C)
RECORD_INFO = "looptrace-record.json"
TRACE_ENTRIES = ("ust", "kernel", "metadata", "index", RECORD_INFO)


def add_parser(subparsers):
    p = subparsers.add_parser(
        "record",
        help="run a program and record its looptrace events",
        description="Run CMD under an LTTng session and write its looptrace events (a CTF "
        "trace) to DIR. Starts lttng-sessiond if none is running (and stops it afterwards), "
        "preloads the looptrace probes, returns CMD's exit status (128+N if killed by signal "
        "N). Ctrl-C or SIGTERM is passed on to CMD and the trace is still written. With the "
        "default per-UID buffers the trace is in DIR/ust/uid/<uid>/64-bit/.",
        epilog="example: looptrace record -o trace/ -- ./my-app --threads 4",
    )
    p.add_argument("-o", "--output", metavar="DIR", required=True,
                   help="directory to write the trace to (created if missing)")
    p.add_argument("--force", action="store_true",
                   help="record even if DIR already holds a trace (its ust/, kernel/ and "
                   "looptrace-record.json are removed first)")
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
                   "statically, liblooptrace-probes.a)" % PROBES_LIB)
    p.add_argument("--interpose", action="store_true",
                   help="also preload %s, the interposer that traces blocking in "
                   "pthread programs (an error if it is not installed)" % INTERPOSE_LIB)
    who = p.add_mutually_exclusive_group()
    who.add_argument("--all-processes", action="store_true",
                     help="record every process of the user that loads the probes while CMD "
                     "runs (by default only CMD and its descendants are recorded)")
    who.add_argument("--pid", metavar="PID", type=int,
                     help="record the running process PID (no CMD) until it exits or "
                     "`record` is interrupted; its children are not recorded")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS]",
                   help="the program to run and its arguments")
    p.set_defaults(func=run)
    return p


def _resolve_command(cmd):
    """Absolute path of CMD[0], or UserError."""
    name = cmd[0]
    if os.sep in name:
        if not os.path.isfile(name):
            raise UserError("command not found: %s" % name)
        if not os.access(name, os.X_OK):
            raise UserError("command is not executable: %s" % name)
        return name
    found = shutil.which(name)
    if not found:
        raise UserError("command not found: %s" % name)
    return found


def _holds_trace(path):
    return any(os.path.exists(os.path.join(path, e)) for e in TRACE_ENTRIES)


def _prepare_output(path, force):
    """Make DIR exist, be writable and hold no trace (unless force). Returns True when this
    call created it. Raises UserError."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UserError("cannot write the trace to %s: not a directory" % path)
    created = False
    if os.path.isdir(path):
        if _holds_trace(path):
            if not force:
                raise UserError("%s already holds a trace (use --force to replace it)" % path)
            for entry in TRACE_ENTRIES:
                victim = os.path.join(path, entry)
                try:
                    if os.path.isdir(victim) and not os.path.islink(victim):
                        shutil.rmtree(victim)
                    elif os.path.lexists(victim):
                        os.unlink(victim)
                except OSError as exc:
                    raise UserError("cannot remove the old trace in %s: %s"
                                    % (path, exc.strerror or exc)) from None
    else:
        try:
            os.makedirs(path)
            created = True
        except OSError as exc:
            raise UserError("cannot create %s: %s" % (path, exc.strerror or exc)) from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".looptrace-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        if created:
            _remove_if_empty(path)
        raise UserError("cannot write to %s: %s" % (path, exc.strerror or exc)) from None
    return created


def _remove_if_empty(path):
    try:
        os.rmdir(path)
    except OSError:
        pass


def find_ust_fork():
    """Path of LTTng-UST's fork helper (liblttng-ust-fork.so.N) as the dynamic linker's cache
    lists it (`ldconfig -p`), else from the usual library folders; None when absent."""
    found = []
    ldconfig = shutil.which("ldconfig") or next(
        (p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if os.access(p, os.X_OK)), None)
    if ldconfig:
        try:
            out = subprocess.run([ldconfig, "-p"], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 timeout=20, check=False).stdout.decode("utf-8", "replace")
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        for line in out.splitlines():
            name, _, path = line.strip().partition(" => ")
            if name.startswith(UST_FORK_LIB + ".") and "64" in name.split("(", 1)[-1]:
                found.append(path.strip())
    for d in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64",
              "/usr/local/lib", "/usr/lib"):
        found.append(os.path.join(d, UST_FORK_LIB + ".1"))
    return next((p for p in found if os.path.isfile(p)), None)


def _preload_env(args):
    env = dict(os.environ)
    libs = []
    if not args.no_preload:
        probes = paths.lib(PROBES_LIB)
        if not os.path.isfile(probes):
            raise UserError("the looptrace probes are not built: %s is missing (build the "
                            "project, or use --no-preload for a program that links "
                            "liblooptrace-probes.a)" % probes)
        libs.append(probes)
    if args.interpose:
        interposer = paths.lib(INTERPOSE_LIB)
        if not os.path.isfile(interposer):
            raise UserError("--interpose: the interposer %s is not available" % interposer)
        libs.append(interposer)
    fork_helper = find_ust_fork()
    if fork_helper:
        libs.append(fork_helper)
    else:
        print("looptrace: warning: %s not found (LTTng-UST's fork helper): events of a child "
              "made by fork() without exec would carry its parent's pid" % UST_FORK_LIB,
              file=sys.stderr)
    if libs:
        old = env.get("LD_PRELOAD", "").strip()
        env["LD_PRELOAD"] = ":".join(([old] if old else []) + libs)
    return env


def _write_record_info(output, command, pid, status, args, env, session, sig=None,
                       incomplete=False, processes="tree", record_id=None):
    """DIR/looptrace-record.json: what was recorded. `pid` is CMD's process (or the one
    given with --pid); `processes` says whose events were recorded: "tree" (CMD and its
    descendants: the processes whose LOOPTRACE_RECORD_ID is `record_id`), "all" (every
    process of the user, --all-processes) or "pid" (--pid). `signal` is the number of the
    signal that killed CMD (null when it exited by itself), and `incomplete` is true when the
    session could not be stopped cleanly (its daemon died): events may be missing."""
    info = {
        "command": command,
        "pid": pid,
        "processes": processes,
        "record_id": record_id,
        "exit_status": status,
        "signal": sig,
        "incomplete": incomplete,
        "uid": os.getuid(),
        "session": session,
        "buffering": args.buffering,
        "subbuf_size": args.subbuf_size,
        "num_subbuf": args.num_subbuf,
        "ld_preload": env.get("LD_PRELOAD", ""),
    }
    try:
        with open(os.path.join(output, RECORD_INFO), "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2)
            f.write("\n")
    except OSError as exc:
        print("looptrace: warning: cannot write %s: %s" % (RECORD_INFO, exc.strerror or exc),
              file=sys.stderr)


def _signal(returncode):
    return -returncode if returncode < 0 else None


def _drain_signals():
    """Consume pending forwarded signals so they do not fire once unblocked."""
    while signal.sigtimedwait(FORWARDED, 0) is not None:
        pass


def _run_child(argv, env, old_mask):
    """Start CMD with the caller's signal mask, pass on signals; return (exit status, pid)."""

    def restore_mask():
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)

    try:
        proc = subprocess.Popen(argv, env=env, preexec_fn=restore_mask)  # noqa: PLW1509
    except OSError as exc:
        raise UserError("cannot run %s: %s" % (argv[0], exc.strerror or exc)) from None
    waitset = FORWARDED + (signal.SIGCHLD,)
    while True:
        info = signal.sigtimedwait(waitset, 0.2)
        if info is not None and info.si_signo in FORWARDED and info.si_code != SI_KERNEL:
            # Sent to `record` alone (kill, a supervisor): pass it on. A terminal's Ctrl-C
            # (si_code SI_KERNEL) already reached CMD, which shares our process group.
            try:
                proc.send_signal(info.si_signo)
            except ProcessLookupError:
                pass
        if proc.poll() is not None:
            return exit_status(proc.returncode), proc.pid, _signal(proc.returncode)


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


def _wait_pid(pid):
    """Wait until process `pid` (not our child) is gone or a forwarded signal reaches
    `record`; returns that signal's number, or None when the process ended."""
    while True:
        info = signal.sigtimedwait(FORWARDED, 0.2)
        if info is not None:
            return info.si_signo
        if not pid_alive(pid):
            return None


def run(args):
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
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
    lttng_path()  # LTTng installed?
    if args.pid is not None:
        processes, record_id, env = "pid", None, {}
        command = _cmdline(args.pid)
    else:
        command[0] = _resolve_command(command)
        env = _preload_env(args)
        processes, record_id = "tree", None
        if args.all_processes:
            processes = "all"
        else:
            record_id = _new_record_id()
            env["LOOPTRACE_RECORD_ID"] = str(record_id)
    output = os.path.abspath(args.output)
    created = _prepare_output(output, args.force)

    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED + (signal.SIGCHLD,))
    sessiond = Sessiond()
    session = Session(output)
    status = None
    stop_error = None
    sig = None
    try:
        sessiond.ensure()
        session.create(args.subbuf_size, args.num_subbuf, args.buffering, record_id=record_id)
        if args.pid is not None:
            session.track_vpid(args.pid)
        session.start()
        if set(FORWARDED) & signal.sigpending():
            raise UserError("interrupted", status=130)
        if args.pid is not None:
            pid = args.pid
            _wait_pid(pid)
            status = 0  # not our child: its exit status is unknown
        else:
            status, pid, sig = _run_child(command, env, old_mask)
        try:
            session.stop()
        except UserError as exc:
            stop_error = exc  # the program ran: still say what it did, and where the trace is
    finally:
        session.destroy()
        sessiond.stop()
        _drain_signals()
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        if status is None and created:
            _remove_if_empty(output)

    _write_record_info(output, command, pid, status, args, env, session.name, sig=sig,
                       incomplete=stop_error is not None, processes=processes,
                       record_id=record_id)
    if stop_error is not None:
        if not sessiond_answers():
            raise UserError("the session daemon stopped during the recording (program exited "
                            "with status %d); the trace in %s may be incomplete"
                            % (status, output))
        raise UserError("%s (program exited with status %d); the trace in %s may be "
                        "incomplete" % (stop_error, status, output))
    if not os.path.isdir(os.path.join(output, "ust")):
        print("looptrace: no events were recorded (does the program call liblooptrace, with "
              "the probes preloaded or linked?)", file=sys.stderr)
    print("looptrace: trace written to %s" % output, file=sys.stderr)
    return status
