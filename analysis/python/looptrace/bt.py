"""Running the babeltrace2 CLI with the looptrace sink, and vetting trace folders first.

The analysis runs as a `babeltrace2` subprocess, never in-process through the Python bt2
bindings: bt2 2.0.4 aborts the whole interpreter (SIGABRT) on a garbage metadata file, while
the CLI exits 1 with an error chain on stderr. run_report() turns every failure (missing tool,
missing plugin, unreadable or corrupt trace, crash) into errors.UserError with one line.

Sink parameters are passed in babeltrace2's INI-like `-p` syntax. Strings are double-quoted
with '\\' and '"' escaped, so paths with quotes, commas, '=' or newlines reach the sink
unchanged; trace folders themselves are passed as separate arguments (absolute, so a name
starting with '-' is never taken for an option).

Used by every verb that reads traces: check_trace(), find_babeltrace2(), find_plugin(),
format_params()/quote(), explain_failure(), signal_name(), show() and run_report().
"""

import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading

from . import paths
from .errors import UserError

PLUGIN_FILE = "looptrace.so"
SINK = "sink.looptrace.report"
SCHEMA_PREFIX = "looptrace-report/"

# ---------------------------------------------------------------------------------------------
# Parameters


def quote(text):
    """`text` as a babeltrace2 parameter string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_params(params):
    """'k1=v1,k2=v2' from a dict of str/bool/int values (ints as signed, like '1000')."""
    parts = []
    for key, value in params.items():
        if not re.match(r"^[A-Za-z][A-Za-z0-9_-]*$", key):
            raise ValueError("bad parameter name %r" % key)
        if isinstance(value, bool):
            v = "true" if value else "false"
        elif isinstance(value, int):
            v = "%d" % value
        elif isinstance(value, str):
            v = quote(value)
        else:
            raise TypeError("unsupported parameter value %r" % (value,))
        parts.append("%s=%s" % (key, v))
    return ",".join(parts)


# ---------------------------------------------------------------------------------------------
# Trace folders


def show(path):
    """A path for a one-line message: controls escaped, never spanning lines."""
    from .render_text import escape

    return escape(path)


# LTTng nests a trace at most 5 levels below the session folder (ust/uid/0/64-bit/); looking
# a little deeper costs nothing, walking a whole file system by mistake would.
MAX_DEPTH = 8


def find_metadata(root):
    """Paths of every CTF `metadata` file under `root` (a trace or a folder of traces),
    at most MAX_DEPTH folders down, not following symbolic links."""
    found = []
    base = root.rstrip(os.sep).count(os.sep)
    for dirpath, dirs, files in os.walk(root):
        if "metadata" in files and os.path.isfile(os.path.join(dirpath, "metadata")):
            found.append(os.path.join(dirpath, "metadata"))
        if dirpath.rstrip(os.sep).count(os.sep) - base >= MAX_DEPTH:
            dirs[:] = []
        dirs.sort()
    return found


def find_orphan_streams(root):
    """Folders under `root` that look like one trace's stream folder (a stream file with its
    `index/<name>.idx`, as LTTng writes them) but hold no `metadata` file: a trace that lost
    its metadata, which babeltrace2 would skip silently when another trace sits beside it."""
    found = []
    base = root.rstrip(os.sep).count(os.sep)
    for dirpath, dirs, files in os.walk(root):
        if "metadata" not in files and "index" in dirs and any(
                not f.startswith(".") and
                os.path.isfile(os.path.join(dirpath, "index", f + ".idx")) for f in files):
            found.append(dirpath)
        if dirpath.rstrip(os.sep).count(os.sep) - base >= MAX_DEPTH:
            dirs[:] = []
        dirs.sort()
    return found


def check_trace(path):
    """Raise UserError unless `path` is a readable folder holding at least one CTF trace.

    Catches before babeltrace2 runs what has a plain explanation: a missing path, a file, a
    folder without metadata, an empty or unreadable metadata file. Returns the metadata files.
    """
    if not os.path.lexists(path):
        raise UserError("%s: no such file or directory" % show(path))
    if not os.path.exists(path):
        raise UserError("%s: broken symbolic link" % show(path))
    if not os.path.isdir(path):
        raise UserError("%s: not a directory (give the folder `looptrace record` wrote)"
                        % show(path))
    if not os.access(path, os.R_OK | os.X_OK):
        raise UserError("%s: permission denied" % show(path))
    metadata = find_metadata(path)
    if not metadata:
        if os.path.isfile(os.path.join(path, "looptrace-record.json")) and not \
                os.path.lexists(os.path.join(path, "ust")):
            raise UserError("%s: no events were recorded here (looptrace record found none)"
                            % show(path))
        raise UserError("%s: not a CTF trace (no metadata file found under it)" % show(path))
    orphans = find_orphan_streams(path)
    if orphans:
        # Analysing the other traces alone would give a part of the system's numbers as if
        # they were all of it.
        raise UserError("%s: stream files without a metadata file in %s (incomplete trace)"
                        % (show(path), show(orphans[0])))
    for md in metadata:
        try:
            with open(md, "rb") as f:
                head = f.read(4)
        except OSError as exc:
            raise UserError("%s: cannot read: %s" % (show(md), exc.strerror))
        if not head:
            raise UserError("%s: corrupt trace metadata (the file is empty)" % show(md))
        problem = metadata_problem(md)
        if problem:
            raise UserError("%s: corrupt trace metadata: %s" % (show(path), problem))
        # babeltrace2 silently skips an empty stream file; a recorded stream always holds at
        # least one packet (the session's final flush), so empty means damaged.
        for stream in stream_files(os.path.dirname(md)):
            try:
                size = os.path.getsize(stream)
            except OSError as exc:
                raise UserError("%s: cannot read: %s" % (show(stream), exc.strerror))
            if size == 0:
                raise UserError("%s: truncated stream file %s (zero length)"
                                % (show(path), show(stream)))
    return metadata


_MD_MAGIC = 0x75D11D57
_MD_HEADER = 37  # bytes: magic, uuid[16], checksum, content_size, packet_size, 5 x uint8


def metadata_problem(md):
    """Why the packetized metadata file `md` is damaged, or None (also for text metadata).

    babeltrace2 2.0.4 loops forever on a metadata packet cut short, so the packet framing is
    checked here first: every packet header complete, sizes sane, the last packet whole.
    """
    try:
        with open(md, "rb") as f:
            data = f.read()
    except OSError as exc:
        return "cannot read %s: %s" % (show(md), exc.strerror)
    if len(data) < 4:
        return "%d-byte metadata file" % len(data)
    for order in ("<", ">"):
        if struct.unpack(order + "I", data[:4])[0] == _MD_MAGIC:
            break
    else:
        return None  # plain-text metadata: babeltrace2 reports its errors itself
    offset = 0
    while offset < len(data):
        if len(data) - offset < _MD_HEADER:
            return "packet header at byte %d cut short (truncated file)" % offset
        magic, content, size = struct.unpack_from(order + "I20xII", data, offset)
        if magic != _MD_MAGIC:
            return "bad packet magic at byte %d" % offset
        if size % 8 or content % 8 or size < _MD_HEADER * 8 or not \
                _MD_HEADER * 8 <= content <= size:
            return "bad packet size at byte %d" % offset
        if offset + size // 8 > len(data):
            return "packet at byte %d cut short (truncated file)" % offset
        offset += size // 8
    return None


def stream_files(trace_dir):
    """The CTF stream files next to a metadata file (not hidden files, not index/)."""
    out = []
    try:
        names = sorted(os.listdir(trace_dir))
    except OSError:
        return out
    for name in names:
        full = os.path.join(trace_dir, name)
        if name == "metadata" or name.startswith(".") or not os.path.isfile(full):
            continue
        out.append(full)
    return out


def find_babeltrace2():
    """Path of the babeltrace2 program ($LOOPTRACE_BABELTRACE2 or PATH), or UserError."""
    exe = os.environ.get("LOOPTRACE_BABELTRACE2") or shutil.which("babeltrace2")
    if not exe or not os.access(exe, os.X_OK):
        raise UserError("babeltrace2 not found: install the babeltrace2 package "
                        "(or set LOOPTRACE_BABELTRACE2)")
    return exe


def find_plugin():
    """The folder holding the looptrace babeltrace2 plugin, or UserError."""
    d = os.environ.get("LOOPTRACE_PLUGIN_PATH") or paths.plugindir()
    if not d or not os.path.isfile(os.path.join(d, PLUGIN_FILE)):
        raise UserError("babeltrace2 plugin %s not found in %s (is looptrace built and "
                        "installed?)" % (PLUGIN_FILE, show(d or "<unset plugin dir>")))
    return d


# ---------------------------------------------------------------------------------------------
# Errors from babeltrace2

_CAUSE = re.compile(r"^(?:ERROR|CAUSED BY)\s*:?\s*\[(?P<who>[^\]]*)\]")
_LOG_LINE = re.compile(r"^\d\d-\d\d \d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+[TDIWEFN] ")


def error_chain(stderr):
    """[(who, message)] from babeltrace2's 'ERROR: ... CAUSED BY ...' block, outermost first."""
    chain = []
    cur = None
    for line in stderr.splitlines():
        m = _CAUSE.match(line)
        if m:
            cur = [m.group("who"), []]
            chain.append(cur)
        elif cur is not None and line.startswith("  "):
            cur[1].append(line.strip())
        elif cur is not None and line.strip():
            cur = None
    return [(who, " ".join(msg)) for who, msg in chain]


# (pattern in the error chain, message), most specific first; {trace} is the trace(s) given,
# {file} the file the chain names, {sink} the sink component class that was run.
_KNOWN = [
    (re.compile(r"Failed to index CTF stream file '(?P<file>[^']*)'"),
     "{trace}: truncated or corrupt stream file {file}"),
    (re.compile(r"Cannot add stream file `(?P<file>[^`]*)`"),
     "{trace}: truncated or corrupt stream file {file}"),
    (re.compile(r"support-info query failed"),
     "{trace}: corrupt trace metadata"),
    (re.compile(r"Cannot create trace for `(?P<file>[^`]*)`"),
     "{trace}: corrupt trace metadata in {file}"),
    (re.compile(r"(?i)metadata.*(?:pars|decod|lex|syntax|invalid)|(?:pars|decod).*metadata"
                r"|Cannot (?:create|append to) metadata|Invalid metadata"),
     "{trace}: corrupt trace metadata"),
    (re.compile(r"(?i)packet.*(?:header|context)|(?:header|context).*packet|"
                r"Failed to (?:decode|read|create) (?:packet|stream)|truncated|"
                r"premature end|unexpected end|unexpected state|No event class"),
     "{trace}: truncated or corrupt stream file"),
    (re.compile(r"timestamp is less than muxer|Clock snapshot.*(?:less|before)|"
                r"time.*goes? backwards?"),
     "{trace}: corrupt stream file (event timestamps go backwards)"),
    (re.compile(r"No trace was found based on input|No source component"),
     "{trace}: not a CTF trace babeltrace2 can read"),
    (re.compile(r"(?i)cannot find component class|no such component class|"
                r"Cannot find plugin|plugin.*not found"),
     "babeltrace2 cannot load the looptrace plugin ({sink}); is it built?"),
]


def signal_name(n):
    """The name of signal number `n` ('SIGABRT'), or 'signal N' when it has none."""
    try:
        return signal.Signals(n).name
    except ValueError:
        return "signal %d" % n


def explain_failure(stderr, traces, status, sink=SINK):
    """One line saying why babeltrace2 (exit `status`) failed on `traces`; `sink` is the sink
    component class it ran (named when the plugin cannot be loaded)."""
    shown = ", ".join(show(t) for t in traces)
    if status < 0:
        return "babeltrace2 crashed (%s) reading %s: the trace is probably corrupt" % (
            signal_name(-status), shown)
    chain = error_chain(stderr)
    text = " ".join(msg for _, msg in chain)
    for pattern, message in _KNOWN:
        m = pattern.search(text)
        if m:
            file = m.groupdict().get("file") or ""
            return message.format(trace=shown, file=show(file), sink=sink).rstrip()
    # Unknown failure: the innermost cause is the most specific one.
    for who, msg in reversed(chain):
        if msg and not msg.startswith("Graph failed") and "retcode=" not in msg:
            return "babeltrace2 failed on %s: %s" % (shown, _shorten(msg))
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    last = lines[-1] if lines else "exit status %d" % status
    return "babeltrace2 failed on %s: %s" % (shown, _shorten(last))


def _shorten(text, limit=300):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------
# Running the sink


def _pump(stream, sink, forward):
    """Copy babeltrace2's stderr into `sink` (a list); lines before an error block go to
    our stderr too when `forward` (the sink's progress lines)."""
    in_error = False
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "surrogateescape")
        sink.append(line)
        if _CAUSE.match(line):
            in_error = True
        if forward and not in_error and not _LOG_LINE.match(line):
            sys.stderr.write(line)
            sys.stderr.flush()


def run_report(traces, begin=None, end=None, progress=None, extra_params=None):
    """Run sink.looptrace.report over `traces` (folders, analysed together).

    Returns (report dict, raw JSON text). `begin`/`end` are timespec.TimeSpec or None.
    Raises UserError on any problem, with a one-line reason.
    """
    if not traces:
        raise UserError("no trace given")
    abs_traces = []
    for t in traces:
        check_trace(t)
        abs_traces.append(os.path.abspath(t))
    exe = find_babeltrace2()
    plugdir = find_plugin()
    if progress is None:
        progress = sys.stderr.isatty()

    with tempfile.TemporaryDirectory(prefix="looptrace-report-") as tmp:
        out = os.path.join(tmp, "report.json")
        params = {"output": out, "trace-path": ", ".join(traces)}
        if begin is not None:
            params[begin.sink_param("begin")] = begin.ns
        if end is not None:
            params[end.sink_param("end")] = end.ns
        if progress:
            params["progress"] = True
        if extra_params:
            params.update(extra_params)
        cmd = [exe, "--log-level=NONE", "--plugin-path=" + plugdir]
        cmd += abs_traces
        cmd += ["-c", SINK, "-p", format_params(params)]
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        except OSError as exc:
            raise UserError("cannot run %s: %s" % (show(exe), exc.strerror))
        err_lines = []
        pump = threading.Thread(target=_pump, args=(proc.stderr, err_lines, progress),
                                daemon=True)
        pump.start()
        try:
            status = proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait()
            raise
        pump.join()
        proc.stderr.close()
        stderr = "".join(err_lines)
        if status != 0:
            raise UserError(explain_failure(stderr, traces, status))
        try:
            with open(out, "rb") as f:
                raw = f.read()
        except OSError:
            raise UserError("babeltrace2 wrote no report for %s: %s" % (
                ", ".join(show(t) for t in traces),
                _shorten(stderr) or "no error message"))
    try:
        report = json.loads(raw.decode("utf-8", "surrogateescape"))
    except ValueError as exc:
        raise UserError("the looptrace sink wrote invalid JSON (%s)" % exc)
    check_report(report, traces)
    return report, raw


def check_report(report, traces):
    """Raise UserError when `report` is not a schema-v1 report with looptrace events."""
    if not isinstance(report, dict) or not str(report.get("schema", "")).startswith(
            SCHEMA_PREFIX):
        raise UserError("the looptrace sink wrote an unexpected report (schema %r)"
                        % (report.get("schema") if isinstance(report, dict) else None))
    trace = report.get("trace") or {}
    if not trace.get("events"):
        raise UserError("no looptrace events in %s" % ", ".join(show(t) for t in traces))
