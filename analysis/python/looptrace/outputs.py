"""Writing output files safely: the one helper behind every file looptrace writes.

report (--json, --csv, --html), export (--perfetto), compare (--json, --html), top's info file
and demo's files all go through replacing() / write_file(). The rules:

* An existing output is replaced only by a complete new one. The data goes to a temporary
  file created in the destination's folder by tempfile.mkstemp (O_CREAT|O_EXCL: a file or a
  link already at that name is never opened, so a pre-placed symbolic link cannot redirect
  the write), is flushed to disk, then renamed over the destination. On any failure
  (including SIGTERM, SIGHUP and SIGINT, see signals_raise()) only the temporary is removed.
* Replacing a file keeps its permission bits (and, when running as root, its owner and
  group); a new file gets 0666 & ~umask, as open() would give it.
* A destination that is a symbolic link is followed (the file it points to is replaced, the
  link stays) only when the link belongs to us or to root; any other link is refused: in a
  folder someone else can write to, a link they placed must not choose what we overwrite.
* A destination that exists and is not a regular file (/dev/null, a FIFO, a terminal) is
  written to in place, never replaced.
* Temporary files are named `.<name>.looptrace-<pid>-<random>.tmp`. One left behind by a
  process killed with SIGKILL is removed by the next write into the same folder once that
  pid no longer runs (only regular files of ours).
"""

import contextlib
import os
import re
import signal
import stat
import tempfile

from .errors import UserError

_TMP_RE = re.compile(r"^\..*\.looptrace-(\d+)-[A-Za-z0-9_]+\.tmp$")


def _show(path):
    from .render_text import escape

    return escape(str(path))


def umask():
    """The process umask (read without changing it for long)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, not ours
    return True


def clean_stale(folder):
    """Remove the temporaries that a killed looptrace left in `folder` (see the module
    comment); returns their names. Never raises."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    me = os.geteuid()
    for name in names:
        m = _TMP_RE.match(name)
        if not m:
            continue
        pid = int(m.group(1))
        if pid == os.getpid() or _pid_alive(pid):
            continue
        path = os.path.join(folder, name)
        try:
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and st.st_uid == me:
                os.unlink(path)
                removed.append(name)
        except OSError:
            pass
    return removed


def resolve(dest, flag=None):
    """The path to replace for `dest` (the target of a link we may follow, else `dest`).
    UserError for a link we must not follow, or a folder."""
    label = "%s %s" % (flag, _show(dest)) if flag else _show(dest)
    path = dest
    for _ in range(40):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return path
        except OSError as exc:
            raise UserError("%s: %s" % (label, exc.strerror))
        if stat.S_ISDIR(st.st_mode):
            raise UserError("%s: is a directory" % label)
        if not stat.S_ISLNK(st.st_mode):
            return path
        if st.st_uid not in (os.geteuid(), 0):
            raise UserError("%s: is a symbolic link owned by another user (uid %d); not "
                            "writing through it" % (label, st.st_uid))
        target = os.readlink(path)
        path = os.path.join(os.path.dirname(path), target)
    raise UserError("%s: too many levels of symbolic links" % label)


class Pending:
    """The temporary file of one replacing() block: `file` (binary, open for writing) and
    `path`. Write the data into `file` (or its fileno(), e.g. as a child's stdout)."""

    def __init__(self, file, path, dest, special=False):
        self.file = file
        self.path = path
        self.dest = dest
        self.special = special  # True: writing in place into a FIFO, device...

    def fileno(self):
        return self.file.fileno()


def _write_special(path, label):
    """Open an existing non-regular file for writing in place, or None if `path` is (now) a
    regular file or absent."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UserError("cannot write %s: %s" % (label, exc.strerror))
    if stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "wb")


@contextlib.contextmanager
def replacing(dest, flag=None):
    """Context manager: yields a Pending whose file becomes `dest` when the block ends
    without an exception; on an exception the temporary is removed and `dest` untouched.

    `flag` ('--json') names the option in error messages. An existing non-regular
    destination (FIFO, device) is written in place (the Pending's `special` is then True).
    Raises UserError (one line) when the file cannot be written.
    """
    label = "%s %s" % (flag, _show(dest)) if flag else _show(dest)
    target = resolve(dest, flag)
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise UserError("%s: folder %s does not exist" % (label, _show(folder)))
    if os.path.exists(target) and not os.path.isfile(target):
        f = _write_special(target, label)
        if f is not None:
            with f:
                yield Pending(f, target, dest, special=True)
            return
    clean_stale(folder)
    base = os.path.basename(target)[:64]
    try:
        fd, tmp = tempfile.mkstemp(prefix=".%s.looptrace-%d-" % (base, os.getpid()),
                                   suffix=".tmp", dir=folder)
    except OSError as exc:
        raise UserError("cannot write %s: %s" % (label, exc.strerror))
    f = None
    try:
        f = os.fdopen(fd, "w+b")
        pending = Pending(f, tmp, dest)
        yield pending
        f.flush()
        _copy_attributes(f.fileno(), target)
        os.fsync(f.fileno())
        f.close()
        os.rename(tmp, target)
        tmp = None
    except OSError as exc:
        raise UserError("cannot write %s: %s" % (label, exc.strerror or exc))
    finally:
        if f is not None and not f.closed:
            try:
                f.close()
            except OSError:
                pass
        elif f is None:
            os.close(fd)
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _copy_attributes(fd, target):
    """Give the temporary `fd` the mode (and, as root, owner) of the file it replaces, or
    0666 & ~umask for a new file."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        os.fchmod(fd, 0o666 & ~umask())
        return
    if os.geteuid() == 0:
        os.fchown(fd, st.st_uid, st.st_gid)
    os.fchmod(fd, stat.S_IMODE(st.st_mode))


def write_file(dest, data, flag=None):
    """Write `data` (bytes, or str as UTF-8 with surrogateescape) to `dest` by replacing()."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with replacing(dest, flag) as p:
        p.file.write(data)


def open_stream(path, append=False):
    """A binary file for a log or a program's output written as it comes (not replaced
    atomically): created 0666 & ~umask if missing, never through a symbolic link (O_NOFOLLOW).
    Raises OSError."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    flags |= os.O_APPEND if append else os.O_TRUNC
    fd = os.open(path, flags, 0o666)
    return os.fdopen(fd, "ab" if append else "wb")


# ---------------------------------------------------------------------------------------------
# Signals: a verb that writes outputs runs with SIGTERM, SIGHUP (and SIGINT) turned into an
# exception, so that its `finally` blocks run: the babeltrace2 child is killed and the
# temporaries are removed.


class Interrupted(UserError):
    """Raised in the main thread by a SIGTERM / SIGHUP / SIGINT handler."""

    def __init__(self, signum):
        name = signal.Signals(signum).name
        super().__init__("interrupted by %s" % name, status=128 + signum)
        self.signum = signum


_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


@contextlib.contextmanager
def signals_raise():
    """Within the block, SIGTERM, SIGHUP and SIGINT raise Interrupted (once; a second one
    while cleaning up is ignored). The old handlers come back at the end."""
    fired = []

    def handler(signum, frame):
        if fired:
            return
        fired.append(signum)
        raise Interrupted(signum)

    old = {}
    for s in _SIGNALS:
        try:
            old[s] = signal.signal(s, handler)
        except (ValueError, OSError):  # not the main thread
            pass
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
