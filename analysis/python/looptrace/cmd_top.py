"""`looptrace top [options] -- CMD [ARGS]` and `looptrace top --session NAME`: a live console.

With CMD: starts a session daemon if none answers, an lttng-relayd of its own on free
127.0.0.1 ports (writing the trace under -o DIR), a live session with the channel, contexts
and events of `record`, tracking only CMD's process; runs CMD with the probes preloaded; reads
the session with babeltrace2 (src.ctf.lttng-live -> sink.looptrace.report in snapshot mode)
and shows one snapshot per interval: full-screen (curses) on a terminal, plain text with
--batch N, JSON lines with --json. With --session NAME it attaches to an existing live
session instead and controls nothing. How it works and its limits: docs/top.md.
"""

import argparse
import curses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from . import bt, launch, live, looptop, outputs, top_view
from .errors import UserError
from .lttng import Session, Sessiond, lttng_path

INFO_FILE = "looptrace-top.json"
LOG_FILE = "looptrace-top.log"  # relayd and babeltrace2 messages
CMD_OUT = "command.out"  # CMD's stdout and stderr
FINAL_TIMEOUT = 30.0  # s to wait for the final snapshot once the session is destroyed
CMD_STOP_TIMEOUT = 15.0  # s after SIGINT before SIGTERM

EPILOG = """\
keys (full-screen view):
  1-9, 0   sort by that column (again: reverse)    c   show/hide the inbox channels
  p        pause/resume the display                q   quit (stops CMD and the session)

columns: MSGS messages handled so far; MSG/S over the last interval; BUSY IDLE BLK-H: % of
the last interval busy (in a handler), idle (waiting at the top of its loop), blocked inside a
handler; busy idle blk-h: the same over the whole run; INBOX: messages queued now in the
channels it receives from; WARNINGS: report warnings about it or its inbox. A name ending
in * is a component whose loop has returned.

threads view (--interpose, when no thread has a known loop top): TID; RUN BLOCK CPU: % of the
last interval running (or in calls the interposer does not wrap), blocked in wrapped calls,
on a CPU ("-" without CPU times); run block cpu: over the whole run; BLOCKED ON: the reason
with the largest share of the blocked time. Sorted by CPU (else RUN) unless a key says.

exit status: with CMD, CMD's exit status when it ended on its own (128+N if killed by signal
N), 0 when `top` stopped it (q, or --batch reached N); 130 when interrupted; 2 on bad input.

examples:
  looptrace top -- ./my-app --threads 4
  looptrace top -o trace/ --interval 0.5 -- build/bin/looptrace-demo --mode blocking
  looptrace top --batch 5 --channels -- ./my-app | tee top.log
  looptrace top --session my-live-session
"""


def add_parser(subparsers):
    p = subparsers.add_parser(
        "top",
        help="live console: components' busy/idle/blocked figures while the program runs",
        description="Run CMD under a live LTTng session (or attach to one with --session) and "
        "show, refreshed every interval, per component its throughput, busy / idle / "
        "blocked-in-handler share over the last interval and over the run, its inbox depth "
        "and warnings. The trace is kept on disk for `looptrace report`.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", metavar="DIR",
                   help="folder for the trace (the relay daemon writes it under "
                   "DIR/<hostname>/); default ./looptrace-top-<date>-<time>")
    p.add_argument("--force", action="store_true",
                   help="use DIR even if it already holds a trace (the DIR/<hostname>/ folder "
                   "an earlier `top` wrote is removed first)")
    p.add_argument("--session", metavar="NAME",
                   help="attach to the existing live session NAME instead of running CMD "
                   "(nothing is started or stopped)")
    p.add_argument("--relayd", metavar="URL", default="net://127.0.0.1",
                   help="with --session: the relay daemon's live URL, net://HOST[:PORT] "
                   "(default %(default)s, port 5344)")
    p.add_argument("--host", metavar="NAME", default=None,
                   help="with --session: the traced host's name as the relay daemon knows "
                   "it (default: this host's name)")
    p.add_argument("--interval", metavar="SECONDS", type=float, default=1.0,
                   help="refresh interval (default %(default)s s)")
    p.add_argument("--live-timer", metavar="US", type=int, default=1000000,
                   help="live timer of the session: how often buffers are flushed to the "
                   "relay daemon, in microseconds (default %(default)s)")
    p.add_argument("--batch", metavar="N", type=int,
                   help="print N snapshots as plain text (no full-screen view) and exit; the "
                   "last one is the final figures of the run (CMD is stopped when still "
                   "running)")
    p.add_argument("--json", action="store_true",
                   help="print snapshots as JSON, one object per line (no full-screen view)")
    p.add_argument("--channels", action="store_true",
                   help="text output: list each component's inbox channels under it")
    p.add_argument("--width", metavar="COLS", type=int, default=None,
                   help="text output: line width (default: the terminal's, else 100)")
    p.add_argument("--subbuf-size", metavar="SIZE", default="4M",
                   help="ring-buffer sub-buffer size (default %(default)s)")
    p.add_argument("--num-subbuf", metavar="N", type=int, default=8,
                   help="sub-buffers per CPU, a power of two (default %(default)s)")
    p.add_argument("--no-preload", action="store_true",
                   help="do not preload the probes (CMD links liblooptrace-probes.a)")
    p.add_argument("--loop-top", metavar="SITE", action="append", dest="loop_top",
                   help="for threads seen only by the interposer: the wait at the top of "
                        "their loop, a function name (looked up in CMD and the libraries ldd "
                        "lists) or OBJECT+0xOFFSET (repeatable; default: detected)")
    p.add_argument("--interpose", action="store_true",
                   help="also preload the blocking interposer (liblooptrace-preload.so)")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS]",
                   help="the program to run and its arguments")
    p.set_defaults(func=run)
    return p


# ---------------------------------------------------------------------------------------------
# The run: what is started, and stopping it in order


class Run:
    """Everything one `top` invocation started; finish() stops it, in order, once."""

    def __init__(self, args):
        self.args = args
        self.sessiond = Sessiond()
        self.relayd = live.Relayd()
        self.session = None
        self.child = None
        self.reader = None
        self.output = None
        self.command = None
        self.status = None  # CMD's exit status once it ended
        self.stopped_by_us = False
        self.session_ended = False
        self.finished = False
        self.out_file = None
        self.ran = False  # CMD was let run
        self.created_output = False
        self.attach_log = None  # --session: babeltrace2's messages, kept only on failure
        self.loop_tops = []  # --loop-top, as the sink's `loop-top` call sites

    # -- start -------------------------------------------------------------------------------

    def start_command(self):
        args = self.args
        command = launch.command_of(args)
        if not command:
            raise UserError("top: no command given (usage: looptrace top [options] -- CMD "
                            "[ARGS], or looptrace top --session NAME)")
        if args.num_subbuf < 1:
            raise UserError("--num-subbuf must be a positive power of two")
        lttng_path()
        command[0] = launch.resolve_command(command)
        self.command = command
        self.loop_tops = looptop.resolve(args.loop_top, looptop.program_paths(command[0])
                                         if looptop.needs_names(args.loop_top) else [])
        env = launch.preload_env(args)
        preload = env.get("LD_PRELOAD", "")
        self.output, self.created_output = prepare_output(args.output, args.force)
        log = os.path.join(self.output, LOG_FILE)
        self.sessiond.ensure()
        self.relayd.start(self.output, log)
        self.session = Session(self.output, url=self.relayd.session_url,
                               live_us=args.live_timer)
        # Per-user buffers always: they hold only CMD's events (its pid is tracked), and the
        # live view of per-process buffers can miss the last packets of a process that exits.
        self.session.create(args.subbuf_size, args.num_subbuf, "per-uid")
        try:
            self.out_file = outputs.open_stream(os.path.join(self.output, CMD_OUT))
        except OSError as exc:
            raise UserError("cannot write %s: %s" % (bt.show(os.path.join(self.output, CMD_OUT)),
                                                     exc.strerror)) from None
        stdin = None if (args.batch or args.json) else subprocess.DEVNULL
        self.child = live.HeldChild(command, env, preload, stdin, self.out_file)
        try:
            self.session.track_vpid(self.child.pid)
            self.session.start()
        except BaseException:
            self.child.cancel()
            raise
        url = self.relayd.live_url(socket.gethostname(), self.session.name)
        self.reader = live.Reader(url, args.interval * 1000, self.output, log,
                                  loop_tops=self.loop_tops)
        self.reader.start()
        self.child.release()
        self.ran = True

    def start_attach(self):
        args = self.args
        base = args.relayd.rstrip("/")
        if not base.startswith(("net://", "net4://", "net6://")):
            raise UserError("--relayd %s: expected net://HOST[:PORT]" % bt.show(args.relayd))
        host = args.host or socket.gethostname()
        url = "%s/host/%s/%s" % (base, host, args.session)
        fd, log = tempfile.mkstemp(prefix="looptrace-top-", suffix=".log")
        os.close(fd)
        self.attach_log = log
        if looptop.needs_names(args.loop_top):
            raise UserError("--loop-top with --session: give OBJECT+0xOFFSET (a function name "
                            "is looked up in CMD's objects)")
        self.reader = live.Reader(url, args.interval * 1000, args.session, log,
                                  loop_tops=looptop.resolve(args.loop_top, []))
        self.reader.start()

    # -- while running -----------------------------------------------------------------------

    def poll(self):
        """Notice CMD's end: then stop and destroy the session so the reader gets the rest
        and its final snapshot."""
        if self.child is not None and self.status is None:
            self.status = self.child.poll()
        if self.status is not None and not self.session_ended:
            self.end_session()

    def program_state(self):
        if self.child is None:
            return {"session": self.args.session}
        st = {"pid": self.child.pid, "running": self.status is None}
        if self.status is not None:
            st["exit_status"] = self.status
            st["stopped_by_top"] = self.stopped_by_us
        return st

    def program_text(self):
        if self.child is None:
            return "session %s" % bt.show(self.args.session)
        if self.status is None:
            return "program running (pid %d)" % self.child.pid
        how = "stopped by top, " if self.stopped_by_us else ""
        return "program exited (%sstatus %d)" % (how, self.status)

    def stop_command(self):
        """SIGINT to CMD, wait; SIGTERM, SIGKILL if it does not end."""
        if self.child is None or self.status is not None:
            return
        self.stopped_by_us = True
        proc = self.child.proc
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGINT)
                proc.wait(CMD_STOP_TIMEOUT)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                live.terminate(proc, signal.SIGTERM, timeout=5.0)
        self.status = self.child.poll()

    def end_session(self):
        """Stop (flush) and destroy our session: the reader then reads what is left and
        writes its final snapshot."""
        if self.session_ended:
            return
        self.session_ended = True
        if self.reader is not None:
            self.reader.ending = True
        if self.session is not None:
            try:
                self.session.stop()
            except UserError as exc:
                print("looptrace: %s" % exc, file=sys.stderr)
            self.session.destroy()

    # -- end ---------------------------------------------------------------------------------

    def finish(self):
        """Stop everything we started, in order; idempotent. Returns the final snapshot (or
        None)."""
        if self.finished:
            return self.reader.final if self.reader else None
        self.finished = True
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            if self.child is not None:
                self.stop_command()
                self.end_session()
                if self.reader is not None:
                    self.reader.wait_final(FINAL_TIMEOUT)
            if self.reader is not None:
                self.reader.stop()
            if self.child is not None and self.child.proc.poll() is None:
                self.child.cancel()
            self.relayd.stop()
            if self.session is not None:
                self.session.destroy()
            self.sessiond.stop()
            if self.out_file is not None:
                self.out_file.close()
            if self.output and self.ran:
                self.write_info()
            elif self.output and self.created_output:
                shutil.rmtree(self.output, ignore_errors=True)  # ours, and nothing ran
            if self.attach_log and not (self.reader and self.reader.error):
                try:
                    os.unlink(self.attach_log)
                except OSError:
                    pass
        finally:
            signal.signal(signal.SIGINT, old)
        return self.reader.final if self.reader else None

    def write_info(self):
        info = {"command": self.command, "pid": self.child.pid if self.child else None,
                "exit_status": self.status, "stopped_by_top": self.stopped_by_us,
                "session": self.session.name if self.session else None,
                "live_timer_us": self.args.live_timer, "uid": os.getuid(),
                "hostname": socket.gethostname()}
        try:
            outputs.write_file(os.path.join(self.output, INFO_FILE),
                               json.dumps(info, indent=2) + "\n")
        except UserError as exc:
            print("looptrace: %s" % exc, file=sys.stderr)

    def exit_status(self, interrupted=False):
        if interrupted:
            return 130
        if self.child is None or self.stopped_by_us or self.status is None:
            return 0
        return self.status


def prepare_output(path, force):
    """(absolute trace folder, True if this call created it); UserError if it holds a
    trace."""
    if not path:
        path = time.strftime("looptrace-top-%Y%m%d-%H%M%S")
    path = os.path.abspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise UserError("cannot write the trace to %s: not a directory" % bt.show(path))
    if os.path.isdir(path) and bt.find_metadata(path):
        if not force:
            raise UserError("%s already holds a trace (use --force to replace it)"
                            % bt.show(path))
        victim = os.path.join(path, socket.gethostname())
        try:
            if os.path.isdir(victim):
                shutil.rmtree(victim)
        except OSError as exc:
            raise UserError("cannot remove the old trace in %s: %s"
                            % (bt.show(path), exc.strerror or exc)) from None
        if bt.find_metadata(path):
            raise UserError("%s holds a trace `top` did not write: choose another folder"
                            % bt.show(path))
    created = not os.path.isdir(path)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise UserError("cannot create %s: %s" % (bt.show(path), exc.strerror or exc)) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError("cannot write to %s: permission denied" % bt.show(path))
    return path, created


# ---------------------------------------------------------------------------------------------
# Plain outputs: --batch N, --json


def text_width(args):
    if args.width:
        return max(40, args.width)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((100, 24)).columns
    return 100


def no_components_hint(args):
    """What to tell the user when no looptrace component has shown up: the likely cause and
    the fix (stderr, once)."""
    if args.session:
        return ("looptrace: no looptrace component in session %s yet (still waiting; Ctrl-C "
                "to stop)" % args.session)
    if args.interpose:
        return ("looptrace: no looptrace component from the program yet: the interposer saw "
                "no thread (a static or setuid program ignores LD_PRELOAD; still waiting, "
                "Ctrl-C to stop)")
    return ("looptrace: no looptrace events from the program yet: it does not seem to call "
            "liblooptrace. For an unmodified program, run `looptrace top --interpose -- CMD` "
            "(each thread becomes a component, with its blocked time). Still waiting; Ctrl-C "
            "to stop.")


def no_components_delay(args):
    """Seconds without any component before no_components_hint() is printed: two intervals
    and a live-timer period after the start, and at least 3 s."""
    return max(3.0, 2 * args.interval + args.live_timer / 1e6 + 1.0)


def run_plain(r, args):
    """Print snapshots (text or JSON lines). In --batch N mode the N-th is the final one.
    Returns when the final snapshot was printed (or the reader gave up). When no component
    has shown up after no_components_delay() s, says so on stderr (once)."""
    limit = args.batch
    printed = 0
    prev = None
    cols = text_width(args)
    hint_at = time.monotonic() + no_components_delay(args)
    seen_component = False

    def emit(snap):
        nonlocal printed, prev
        if args.json:
            line = json.dumps(top_view.json_view(prev, snap, r.program_state()),
                              separators=(",", ":"))
            sys.stdout.write(line + "\n")
        else:
            final = (snap.get("snapshot") or {}).get("final")
            prog = r.program_text() + (" -- final figures" if final else "")
            sys.stdout.write(top_view.render_text(prev, snap, prog, args.channels, cols))
        sys.stdout.flush()
        printed += 1
        prev = snap

    while True:
        snap = r.reader.get(0.2)
        r.poll()
        if snap is not None:
            s = snap.get("snapshot") or {}
            seen_component = seen_component or bool(snap.get("components"))
            if s.get("final"):
                emit(snap)
                return
            has_data = (snap.get("trace") or {}).get("events")
            if has_data and not r.session_ended:
                if limit is None or printed < limit - 1:
                    emit(snap)
                elif r.child is None:  # attached: the N-th is the latest snapshot
                    emit(snap)
                    return
                elif r.status is None:
                    # the N-th is due: end CMD, then print the final figures of the run
                    r.stop_command()
                    r.poll()
        if not seen_component and hint_at is not None and time.monotonic() >= hint_at:
            print(no_components_hint(args), file=sys.stderr)
            sys.stderr.flush()
            hint_at = None
        if r.reader.done.is_set() and r.reader.queue.empty():
            if r.reader.final is None and r.reader.error:
                raise UserError(r.reader.error)
            return


# ---------------------------------------------------------------------------------------------
# Full-screen view


class Screen:
    """The curses view: state (sort, pause, channels) and drawing."""

    def __init__(self, win, r):
        self.win = win
        self.r = r
        self.sort = None  # the view's default: busy over the last interval (RUN for threads)
        self.reverse = False
        self.paused = False
        self.channels = False
        self.prev = None
        self.cur = None
        self.shown = None  # (prev, cur) on screen (frozen while paused)
        self.message = ""
        self.created = time.monotonic()  # s, for the no-component hint
        self.columns = top_view.COLUMNS  # the view's columns (the threads view: THREAD_COLUMNS)
        self.items = []  # the rows on screen

    def sort_column(self):
        if self.sort is not None and self.sort < len(self.columns):
            return self.sort
        if self.columns is top_view.THREAD_COLUMNS:
            return top_view.default_sort(self.columns, self.items)
        return 3

    def add(self, snap):
        if self.cur is not None and (self.cur.get("trace") or {}).get("events"):
            self.prev = self.cur
        self.cur = snap
        if not self.paused:
            self.shown = (self.prev, self.cur)

    def key(self, ch):
        """Handle one key; False to quit."""
        if ch in (ord("q"), ord("Q")):
            return False
        if ch in (ord("p"), ord("P"), ord(" ")):
            self.paused = not self.paused
            if not self.paused:
                self.shown = (self.prev, self.cur)
        elif ch in (ord("c"), ord("C")):
            self.channels = not self.channels
        elif 0 <= ch < 256 and chr(ch) in top_view.SORT_KEYS:
            col = top_view.SORT_KEYS.index(chr(ch))
            if col >= len(self.columns):
                return True
            if col == self.sort:
                self.reverse = not self.reverse
            else:
                self.sort, self.reverse = col, False
        return True

    def put(self, y, text, attr=0):
        h, w = self.win.getmaxyx()
        if y >= h or w < 2:
            return
        try:
            self.win.addnstr(y, 0, top_view.clip(text, w - 1), w - 1, attr)
        except curses.error:
            pass

    def draw(self):
        win = self.win
        win.erase()
        h, w = win.getmaxyx()
        r = self.r
        title = "looptrace top"
        if r.command:
            title += " -- " + " ".join(top_view.escape(a) for a in r.command)
        self.put(0, title, curses.A_BOLD)
        prev, cur = self.shown if self.shown else (None, None)
        y = 1
        if cur is None:
            self.put(2, "waiting for the first snapshot...")
        else:
            final = (cur.get("snapshot") or {}).get("final")
            prog = r.program_text()
            self.put(y, ("PAUSED  " if self.paused else "") + top_view.status_line(cur, prog),
                     curses.A_BOLD if self.paused else 0)
            y += 1
            items = top_view.rows(prev, cur)
            self.columns = top_view.columns_for(items)
            self.items = items
            items = top_view.sort_rows(items, self.sort_column(), self.reverse, self.columns)
            name_w, show_warn, warn_w = top_view.layout(items, w - 1, self.columns)
            head = top_view.header_lines(name_w, warn_w, show_warn, self.columns)
            self.put(y, head[0], curses.A_DIM)
            y += 1
            self.put(y, head[1], curses.A_REVERSE)
            y += 1
            body_end = h - 2
            for row in items:
                if y >= body_end:
                    break
                self.put(y, top_view.row_line(row, name_w, warn_w, show_warn, self.columns))
                y += 1
                if self.channels:
                    for ch in row["channels"]:
                        if y >= body_end:
                            break
                        self.put(y, top_view.channel_line(ch, 4), curses.A_DIM)
                        y += 1
            for pool in top_view.pool_rows(prev, cur):
                if y >= body_end:
                    break
                self.put(y, top_view.pool_line(pool), curses.A_DIM)
                y += 1
            if not items:
                self.put(y, "(no looptrace component seen yet)")
                if time.monotonic() - self.created >= no_components_delay(r.args):
                    self.put(y + 1, no_components_hint(r.args)[len("looptrace: "):])
            if final and r.child is not None and r.status is not None:
                self.message = "program exited with status %d -- final figures; q to quit" % (
                    r.status)
            elif final:
                self.message = "session ended -- final figures; q to quit"
            elif r.reader.done.is_set() and r.reader.error:
                self.message = "reader stopped: %s" % r.reader.error
        sort = self.sort_column()
        foot = "q quit  p %s  c channels %s  sort 1-%d (now: %d %s%s)" % (
            "resume" if self.paused else "pause", "off" if self.channels else "on",
            len(self.columns), (sort + 1) % 10, self.columns[sort][1],
            " rev" if self.reverse else "")
        if self.message:
            self.put(h - 2, self.message, curses.A_BOLD)
        self.put(h - 1, foot, curses.A_REVERSE)
        win.noutrefresh()
        curses.doupdate()


def run_screen(r):
    """The full-screen loop; returns when the user quits."""

    def loop(win):
        try:
            curses.curs_set(0)
        except curses.error:
            pass
        win.timeout(100)
        screen = Screen(win, r)
        dirty = True
        while True:
            snap = r.reader.get(0)
            while snap is not None:
                screen.add(snap)
                dirty = True
                snap = r.reader.get(0)
            before = r.status
            r.poll()
            if r.status != before:
                dirty = True
            if dirty:
                screen.draw()
                dirty = False
            ch = win.getch()
            if ch == curses.KEY_RESIZE:
                dirty = True
            elif ch != -1:
                if not screen.key(ch):
                    return
                dirty = True

    curses.wrapper(loop)


# ---------------------------------------------------------------------------------------------


def run(args):
    if args.interval <= 0 or args.interval > 3600:
        raise UserError("--interval must be in (0, 3600] seconds")
    if args.batch is not None and args.batch < 1:
        raise UserError("--batch N: N must be at least 1")
    if args.live_timer < 1000:
        raise UserError("--live-timer must be at least 1000 us")
    if args.session and args.command and [a for a in args.command if a != "--"]:
        raise UserError("top: give either --session NAME or a command, not both")
    plain = args.batch is not None or args.json
    if not plain and not (sys.stdout.isatty() and sys.stdin.isatty()):
        raise UserError("top: the full-screen view needs a terminal; use --batch N or --json")
    bt.find_babeltrace2()
    bt.find_plugin()
    r = Run(args)
    interrupted = False

    def stop_on_signal(signum, frame):
        # SIGTERM, or SIGHUP when the terminal (an ssh connection) goes away: end as on
        # Ctrl-C, so that the session, the relay daemon and CMD are stopped.
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop_on_signal)
    try:
        if args.session:
            r.start_attach()
        else:
            r.start_command()
        if plain:
            run_plain(r, args)
        else:
            run_screen(r)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        final = r.finish()
        if r.output and r.ran:
            print("looptrace: trace kept in %s (looptrace report %s); program output in %s"
                  % (bt.show(r.output), bt.show(r.output),
                     bt.show(os.path.join(r.output, CMD_OUT))), file=sys.stderr)
    if r.ran and final is not None and not (final.get("trace") or {}).get("events"):
        print("looptrace: no looptrace events were recorded (does the program call "
              "liblooptrace, with the probes preloaded or linked?)", file=sys.stderr)
    if interrupted:
        print("looptrace: interrupted", file=sys.stderr)
    if final is None and r.reader is not None and r.reader.error:
        print("looptrace: %s" % r.reader.error, file=sys.stderr)
    return r.exit_status(interrupted)
