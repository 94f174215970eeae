"""`looptrace snapshot DIR`: take a flight-recorder snapshot of a running `record` by hand.

`looptrace record --flight-recorder -o DIR -- CMD` writes its pid to DIR/.looptrace-record.pid
while it runs; this verb checks that this process is that `record` (it holds DIR's lock),
sends it SIGUSR1 and waits until the new snapshot folder appears in DIR/snapshots/. See
docs/flight-recorder.md.
"""

import fcntl
import os
import signal
import sys
import time

from . import flight
from .bt import show
from .errors import UserError
from .lttng import pid_alive

WAIT_S = 60.0  # a snapshot of a large buffer on a loaded machine takes seconds


def add_parser(subparsers):
    p = subparsers.add_parser(
        "snapshot",
        help="take a flight-recorder snapshot of a running record by hand",
        description="Take a snapshot of the buffers of a running `looptrace record "
        "--flight-recorder -o DIR` (the same as sending it SIGUSR1), wait until it is written "
        "and print its folder, DIR/snapshots/<n>-<time>-manual/. Manual snapshots are not "
        "counted against --max-snapshots.",
        epilog="example: looptrace snapshot trace/")
    p.add_argument("dir", metavar="DIR", help="the folder the running record writes to (-o)")
    p.set_defaults(func=run)
    return p


def _record_pid(path):
    """The pid of the `record --flight-recorder` writing to `path`; UserError if none."""
    if not os.path.isdir(path):
        raise UserError("%s: no such directory" % show(path))
    try:
        with open(os.path.join(path, flight.RUNNING), encoding="ascii") as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        raise UserError("%s: no looptrace record --flight-recorder is running there"
                        % show(path)) from None
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        locked = False  # nobody holds it: that record is gone
        fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError:
        locked = True
    finally:
        os.close(fd)
    if not locked or not pid_alive(pid):
        raise UserError("%s: the looptrace record that wrote it (pid %d) is no longer running"
                        % (show(path), pid))
    return pid


def run(args):
    path = os.path.abspath(args.dir)
    pid = _record_pid(path)
    before = set(flight.snapshot_folders(path))
    try:
        os.kill(pid, signal.SIGUSR1)
    except OSError as exc:
        raise UserError("cannot signal looptrace record (pid %d): %s"
                        % (pid, exc.strerror or exc)) from None
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        new = [s for s in flight.snapshot_folders(path) if s not in before]
        if new:
            print(new[-1])
            print("looptrace: snapshot written to %s" % show(new[-1]), file=sys.stderr)
            return 0
        if not pid_alive(pid):
            break
        time.sleep(0.1)
    raise UserError("no snapshot appeared in %s (see the messages of looptrace record, "
                    "pid %d)" % (show(os.path.join(path, flight.SNAPSHOTS)), pid))
