"""Running the babeltrace2 CLI with the looptrace sink, and vetting trace folders first.

The analysis runs as a `babeltrace2` subprocess, never in-process through the Python bt2
bindings: bt2 2.0.4 aborts the whole interpreter (SIGABRT) on a garbage metadata file, while
the CLI exits 1 with an error chain on stderr. run_report() turns every failure (missing tool,
missing plugin, unreadable or corrupt trace, crash) into errors.UserError with one line.

Sink parameters are passed in babeltrace2's INI-like `-p` syntax. Strings are double-quoted
with '\\' and '"' escaped, so paths with quotes, commas, '=' or newlines reach the sink
unchanged; trace folders themselves are passed as separate arguments (absolute, so a name
starting with '-' is never taken for an option).

A recording with per-process buffers (`record --buffering per-pid`) is one trace per process
(`ust/pid/<name>-<pid>-<date>/`). A process that ends just after loading the probes may leave
its sub-trace unreadable (no metadata, an empty one, one without a stream class), and
babeltrace2 refuses the whole set over it. vet_traces() finds such sub-traces below the
folders given, leaves them out with the reason, and gives babeltrace2 the others; every
other damage still fails the run with one line.

Used by every verb that reads traces: vet_traces()/check_trace(), find_babeltrace2(),
find_plugin(), format_params()/quote(), explain_failure(), signal_name(), show(),
skip_notices() and run_report().
"""

import json
import os
import re
import resource
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
    """'k1=v1,k2=v2' from a dict of str/bool/int values (ints as signed, like '1000') and
    lists of strings (babeltrace2 arrays: '["a", "b"]')."""
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
        elif isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value):
            v = "[" + ", ".join(quote(x) for x in value) + "]"
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


def _streamed_to(path):
    """The `relayd` object of the looptrace-record.json in folder `path` (a recording made
    with `record --relayd`, whose trace is at the relay daemon), or None."""
    try:
        with open(os.path.join(path, "looptrace-record.json"), encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    relayd = info.get("relayd") if isinstance(info, dict) else None
    if isinstance(relayd, dict) and relayd.get("control") and relayd.get("path"):
        return relayd
    return None


# A process's folder in a per-PID recording: LTTng names it <procname>-<vpid>-<date>-<time>
# under ust/pid/.
_PID_FOLDER = re.compile(r"^.+-\d+-\d{8}-\d{6}$")


def is_process_subtrace(trace_dir, root):
    """Whether the trace folder `trace_dir`, found under the folder `root` given to a reader,
    is one process's sub-trace of a per-PID recording: a `<name>-<pid>-<date>-<time>` folder
    of `ust/pid/` strictly below `root` (a sub-trace given itself is never one)."""
    parts = os.path.abspath(trace_dir).split(os.sep)
    below = len(os.path.abspath(root).rstrip(os.sep).split(os.sep))
    for i in range(max(below, 2), len(parts)):
        if parts[i - 2] == "ust" and parts[i - 1] == "pid" and _PID_FOLDER.match(parts[i]):
            return True
    return False


def _metadata_damage(path, md):
    """(error line, short reason) when the metadata file `md` of a trace under `path` is
    unreadable, empty or cut short (found without babeltrace2); None when not."""
    try:
        with open(md, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        return ("%s: cannot read: %s" % (show(md), exc.strerror),
                "cannot read its metadata: %s" % exc.strerror)
    if not head:
        return ("%s: corrupt trace metadata (the file is empty)" % show(md),
                "empty metadata file")
    problem = metadata_problem(md)
    if problem:
        return ("%s: corrupt trace metadata: %s" % (show(path), problem),
                "corrupt metadata: %s" % problem)
    return None


def check_trace(path, skipped=None):
    """Raise UserError unless `path` is a readable folder holding at least one CTF trace.

    Catches before babeltrace2 runs what has a plain explanation: a missing path, a file, a
    folder without metadata, an empty or unreadable metadata file. Returns the metadata files.
    With a list `skipped`, a per-process sub-trace below `path` (is_process_subtrace) whose
    metadata is missing, empty, unreadable or cut short is not an error: (its folder, the
    reason) is appended to `skipped` and its metadata file is not returned.
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
    orphans = find_orphan_streams(path)
    mine = []  # this folder's skipped sub-traces
    if skipped is not None:
        for o in [o for o in orphans if is_process_subtrace(o, path)]:
            mine.append((o, "no metadata file (stream files without one)"))
            orphans.remove(o)
    if not metadata:
        streamed = _streamed_to(path)
        if streamed:
            raise UserError("%s: this recording was streamed to lttng-relayd at %s; the trace "
                            "is in %s/ under that relay daemon's output folder: report that "
                            "folder" % (show(path), streamed["control"], streamed["path"]))
        if os.path.isfile(os.path.join(path, "looptrace-record.json")) and not \
                os.path.lexists(os.path.join(path, "ust")):
            raise UserError("%s: no events were recorded here (looptrace record found none)"
                            % show(path))
        if not orphans and mine:
            raise UserError("%s: no readable trace: %s" % (show(path), _skipped_text(mine)))
        raise UserError("%s: not a CTF trace (no metadata file found under it)" % show(path))
    if orphans:
        # Analysing the other traces alone would give a part of the system's numbers as if
        # they were all of it.
        raise UserError("%s: stream files without a metadata file in %s (incomplete trace)"
                        % (show(path), show(orphans[0])))
    kept = []
    for md in metadata:
        damage = _metadata_damage(path, md)
        if damage and skipped is not None and is_process_subtrace(os.path.dirname(md), path):
            mine.append((os.path.dirname(md), damage[1]))
            continue
        if damage:
            raise UserError(damage[0])
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
        kept.append(md)
    if not kept:
        raise UserError("%s: no readable trace: %s" % (show(path), _skipped_text(mine)))
    if skipped is not None:
        skipped.extend(mine)
    return kept


def _skipped_text(skipped):
    """'every per-process sub-trace was skipped (FOLDER: reason, ...)' for a message."""
    shown = "; ".join("%s: %s" % (show(d), why) for d, why in skipped[:3])
    more = "; and %d more" % (len(skipped) - 3) if len(skipped) > 3 else ""
    return "every per-process sub-trace is unreadable (%s%s)" % (shown, more)


# babeltrace2 opens (and indexes) this many per-process sub-traces in one query; a failed
# query is repeated for each of its sub-traces to find the ones it cannot open.
PROBE_BATCH = 64
PROBE_TIMEOUT = 60.0  # s per query
_LOG_MESSAGE = re.compile(r"^\d\d-\d\d \d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+E\s+\S+\s+\S+@\S+\s+"
                          r"(?:\[[^\]]*\]\s+)?(?P<msg>.*)$")


_NO_STREAMS = "Trace has no streams"  # a trace whose metadata is sound, without stream files


def _probe(exe, dirs, memory):
    """None when babeltrace2 opens the traces `dirs` (its source.ctf.fs `trace-infos`
    query: metadata decoded into a trace class, every stream file indexed), else why not (a
    short string)."""
    cmd = [exe, "--log-level=ERROR", "query", "source.ctf.fs", "babeltrace.trace-infos",
           "-p", format_params({"inputs": list(dirs)})]
    setup = _child_setup(memory)

    def no_core():  # babeltrace2 2.0.4 aborts on some damage: no core file left behind
        setup()
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=PROBE_TIMEOUT,
                              preexec_fn=no_core, check=False)
    except subprocess.TimeoutExpired:
        return "babeltrace2 did not finish opening it in %.0f s" % PROBE_TIMEOUT
    except OSError as exc:
        raise UserError("cannot run %s: %s" % (show(exe), exc.strerror))
    if proc.returncode == 0:
        return None
    crash = " (babeltrace2 crashed: %s)" % signal_name(-proc.returncode) \
        if proc.returncode < 0 else ""
    for line in proc.stderr.decode("utf-8", "replace").splitlines():
        m = _LOG_MESSAGE.match(line)
        if m and m.group("msg").strip():
            why = _plain(m.group("msg"))
            if why.startswith(_NO_STREAMS) and len(dirs) == 1 and not crash:
                return None  # the query refuses it, a source reads it as empty: not a problem
            return "babeltrace2 cannot open it: %s%s" % (why, crash)
    return "babeltrace2 cannot open it%s" % crash


def vet_traces(traces):
    """(inputs, skipped) for the trace folders `traces` a verb was given: `inputs` are the
    absolute folders to give babeltrace2, `skipped` [(folder, reason)] the per-process
    sub-traces of per-PID recordings left out because they cannot be read (check_trace, then
    babeltrace2's own opening of each). A folder with nothing skipped is given whole; one
    with skipped sub-traces is given as its other trace folders. UserError (one line) for any
    other problem, as check_trace, and when nothing readable is left."""
    skipped, kept = [], []
    for t in traces:
        kept.append((t, [os.path.dirname(md) for md in check_trace(t, skipped)]))
    subtraces = [d for t, dirs in kept for d in dirs if is_process_subtrace(d, t)]
    if subtraces:
        exe = find_babeltrace2()
        memory = memory_limit()
        # Those without stream files one by one: the query fails on them as a whole batch.
        full = [d for d in subtraces if stream_files(d)]
        batches = [full[i:i + PROBE_BATCH] for i in range(0, len(full), PROBE_BATCH)]
        batches += [[d] for d in subtraces if not stream_files(d)]
        for batch in batches:
            if len(batch) > 1 and _probe(exe, [os.path.abspath(d) for d in batch],
                                         memory) is None:
                continue
            for d in batch:
                why = _probe(exe, [os.path.abspath(d)], memory)
                if why is not None:
                    skipped.append((d, why))
    gone = {os.path.abspath(d) for d, _ in skipped}
    inputs = []
    for t, dirs in kept:
        dirs = [os.path.abspath(d) for d in dirs]
        left = [d for d in dirs if d not in gone]
        if not left:
            raise UserError("%s: no readable trace: %s" % (show(t), _skipped_text(
                [(d, why) for d, why in skipped if _below(d, t)])))
        inputs += [os.path.abspath(t)] if len(left) == len(dirs) and not any(
            _below(d, t) for d in gone) else left
    return inputs, skipped


def _below(path, root):
    """Whether `path` is `root` or inside it."""
    path, root = os.path.abspath(path), os.path.abspath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def skip_notices(report):
    """One line for stderr per sub-trace left out of `report` (its `trace.skipped`)."""
    skipped = (report.get("trace") or {}).get("skipped") or []
    return ["looptrace: warning: left out %s, a process's sub-trace of a per-PID recording "
            "that cannot be read: %s; the figures cover the other processes"
            % (show(s["path"]), s["reason"]) for s in skipped]


def skipped_paths(report):
    """The folders of the sub-traces left out of `report` (`trace.skipped`)."""
    return [s["path"] for s in (report.get("trace") or {}).get("skipped") or []]


def add_skipped(report, skipped):
    """Record the skipped sub-traces in `report`: `trace.skipped` ([{"path", "reason"}]) and
    one `skipped-trace` warning. Nothing when none was skipped."""
    if not skipped:
        return
    report.setdefault("trace", {})["skipped"] = [{"path": d, "reason": why}
                                                 for d, why in skipped]
    first = "%s (%s)" % (skipped[0][0], skipped[0][1])
    report.setdefault("warnings", []).append({
        "kind": "skipped-trace",
        "message": "%d per-process sub-trace%s babeltrace2 cannot read left out: %s%s; "
                   "figures cover the other processes" % (
                       len(skipped), "s" if len(skipped) > 1 else "", first,
                       " and %d more" % (len(skipped) - 1) if len(skipped) > 1 else ""),
        "value": len(skipped)})


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


_IDX_MAGIC = 0xC1F1DCC1
_IDX_HEADER = 16  # bytes: magic, major, minor, entry length (big-endian uint32)
_IDX_ENTRY_MIN = 56  # bytes: offset, packet_size, content_size, ts_begin, ts_end,
#                      events_discarded, stream_id (uint64); CTF index 1.1 adds two more


def index_problem(stream):
    """Why the stream file `stream` is shorter than its LTTng index (`index/<name>.idx`,
    written by the consumer daemon as each packet reaches the disk) says, or None.

    babeltrace2 reads a stream cut at a packet boundary without a word, so a trace that lost
    its last packets would be reported as if the run had been short. An index that is
    missing, unreadable or not well formed (magic, version, packets contiguous) is ignored,
    as babeltrace2 ignores it."""
    idx = os.path.join(os.path.dirname(stream), "index", os.path.basename(stream) + ".idx")
    try:
        with open(idx, "rb") as f:
            data = f.read(64 << 20)
        size = os.path.getsize(stream)
    except OSError:
        return None
    if len(data) < _IDX_HEADER:
        return None
    magic, major, _minor, entry = struct.unpack_from(">IIII", data, 0)
    if magic != _IDX_MAGIC or major != 1 or entry < _IDX_ENTRY_MIN or entry > 4096:
        return None
    count = (len(data) - _IDX_HEADER) // entry
    expected = 0
    for i in range(count):
        offset, packet_bits, content_bits = struct.unpack_from(
            ">QQQ", data, _IDX_HEADER + i * entry)
        if offset != expected or packet_bits == 0 or packet_bits % 8 or \
                content_bits > packet_bits:
            return None  # not an index we can trust
        expected = offset + packet_bits // 8
    if size >= expected:
        return None
    whole = 0
    for i in range(count):
        offset, packet_bits = struct.unpack_from(">QQ", data, _IDX_HEADER + i * entry)
        if offset + packet_bits // 8 <= size:
            whole += 1
    return ("stream file %s is truncated: %d of the %d bytes its index lists (%d of %d "
            "packets whole)" % (show(stream), size, expected, whole, count))


def trace_damage(traces, skip=()):
    """One-line descriptions of the damage found in `traces` that babeltrace2 does not
    report: stream files shorter than their index says. [] when none. Trace folders in `skip`
    (sub-traces left out, vet_traces) are not looked at."""
    found = []
    skip = {os.path.abspath(d) for d in skip}
    for t in traces:
        for md in find_metadata(t):
            if os.path.abspath(os.path.dirname(md)) in skip:
                continue
            for stream in stream_files(os.path.dirname(md)):
                problem = index_problem(stream)
                if problem:
                    found.append(problem)
    return found


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
    # The CTF decoder's internal states ("Cannot handle state: msg-it-addr=0x...,
    # state=DSCOPE_EVENT_HEADER_BEGIN"): bytes of a stream file it cannot decode.
    (re.compile(r"Cannot handle state|Failed to get next message from CTF message iterator|"
                r"CTF message iterator"),
     "{trace}: truncated or corrupt stream file (babeltrace2 cannot decode it)"),
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
    # Unknown failure from the CTF source: its stream files or metadata are damaged.
    for who, msg in reversed(chain):
        if "source.ctf" in who or "source-ctf" in who:
            what = "trace metadata" if "META" in who or "metadata" in msg.lower() \
                else "stream file"
            return "%s: corrupt %s (babeltrace2: %s)" % (shown, what, _plain(msg))
    # Unknown failure: the innermost cause is the most specific one.
    for who, msg in reversed(chain):
        if msg and not msg.startswith("Graph failed") and "retcode=" not in msg:
            return "babeltrace2 failed on %s: %s" % (shown, _plain(msg))
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    last = lines[-1] if lines else "exit status %d" % status
    return "babeltrace2 failed on %s: %s" % (shown, _shorten(last))


def _plain(text):
    """babeltrace2's message without its internal details (addresses, states, `key=value`
    dumps): 'Cannot handle state: msg-it-addr=0x55..., state=X' -> 'Cannot handle state'."""
    text = " ".join(text.split())
    text = re.sub(r":?\s*(?:[a-z][a-z0-9-]*=\S+(?:,\s*|$))+", "", text).strip(" ,:")
    return _shorten(text or "unknown error")


def _shorten(text, limit=300):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------
# Running babeltrace2 under limits
#
# A damaged trace can make babeltrace2 loop while allocating (a one-byte edit of the metadata
# made it grow by 1.3 GB/s until the OOM killer came) or loop without end. So every run is
# bounded: its address space by RLIMIT_AS (LOOPTRACE_BT_MEMORY, default half the physical
# memory, between 2 and 8 GiB) and its time by a watchdog (LOOPTRACE_BT_TIMEOUT, default
# 120 s + 1 s per MiB of stream files: far above the seconds babeltrace2 needs). The child
# also dies with us: PR_SET_PDEATHSIG (SIGKILL) in the child, and a kill in a `finally` for
# the exceptions our SIGTERM / SIGHUP / SIGINT handlers raise (outputs.signals_raise).

MEMORY_ENV = "LOOPTRACE_BT_MEMORY"
TIMEOUT_ENV = "LOOPTRACE_BT_TIMEOUT"
TIMEOUT_BASE = 120.0  # s
TIMEOUT_PER_MIB = 1.0  # s per MiB of stream files
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 8 << 30


def memory_limit():
    """Bytes of address space babeltrace2 may use, or None for no limit; UserError on a bad
    LOOPTRACE_BT_MEMORY."""
    text = os.environ.get(MEMORY_ENV, "").strip()
    if not text:
        return min(8 << 30, max(2 << 30, _physical_memory() // 2))
    if text.lower() in ("0", "none", "unlimited"):
        return None
    m = re.match(r"^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$", text, re.I)
    if not m:
        raise UserError("%s=%s: expected a size such as 4G or 512M (0 for no limit)"
                        % (MEMORY_ENV, show(text)))
    return max(1 << 20, int(float(m.group(1)) * _UNITS[m.group(2).upper()]))


def trace_bytes(traces):
    """Total size of the stream files of `traces` (bytes)."""
    total = 0
    for t in traces:
        for md in find_metadata(t):
            for f in stream_files(os.path.dirname(md)):
                try:
                    total += os.path.getsize(f)
                except OSError:
                    pass
    return total


def time_limit(traces):
    """Seconds babeltrace2 may run over `traces`, or None; UserError on a bad
    LOOPTRACE_BT_TIMEOUT."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return TIMEOUT_BASE + TIMEOUT_PER_MIB * trace_bytes(traces) / (1 << 20)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise UserError("%s=%s: expected seconds (0 for no limit)" % (TIMEOUT_ENV, show(text)))
    return value or None


def _fmt_bytes(n):
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20)):
        if n >= scale:
            return "%g %s" % (round(n / scale, 1), unit)
    return "%d bytes" % n


_PR_SET_PDEATHSIG = 1


def _prctl():
    try:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).prctl
        fn.restype = ctypes.c_int
        return fn
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()


def _child_setup(memory):
    """The preexec_fn of a babeltrace2 child: dies with its parent, address space bounded."""
    parent = os.getpid()

    def setup():
        if _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)  # the parent died before prctl: nobody waits for us
        if memory:
            _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            lim = memory if hard == resource.RLIM_INFINITY else min(memory, hard)
            resource.setrlimit(resource.RLIMIT_AS, (lim, lim))

    return setup


# babeltrace2 out of its address space: g_malloc aborts ("failed to allocate"), other code
# reports a memory error.
_OUT_OF_MEMORY = re.compile(r"(?i)failed to allocate|out of memory|cannot allocate memory|"
                            r"MEMORY_ERROR|memory error|ENOMEM|std::bad_alloc")


def run_babeltrace(cmd, traces, stdout, progress=False, sink=SINK):
    """Run the babeltrace2 command line `cmd` over `traces` (for messages and the time
    limit), its standard output into the file object `stdout`, under the memory and time
    limits. Returns babeltrace2's stderr text; raises UserError (one line) when it cannot be
    run, fails, crashes, runs out of memory or time. The child never outlives this call."""
    memory = memory_limit()
    timeout = time_limit(traces)
    shown = ", ".join(show(t) for t in traces)
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=subprocess.PIPE, preexec_fn=_child_setup(memory))
    except OSError as exc:
        raise UserError("cannot run %s: %s" % (show(cmd[0]), exc.strerror))
    err_lines = []
    timed_out = False
    try:
        pump = threading.Thread(target=_pump, args=(proc.stderr, err_lines, progress),
                                daemon=True)
        pump.start()
        try:
            status = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.kill()
            status = proc.wait()
        pump.join()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    stderr = "".join(err_lines)
    if timed_out:
        raise UserError("babeltrace2 did not finish reading %s in %.0f s: the trace is "
                        "probably corrupt (set %s to allow more time)"
                        % (shown, timeout, TIMEOUT_ENV))
    if status != 0:
        if memory and _out_of_memory(stderr, status):
            raise UserError("babeltrace2 ran out of its %s memory limit reading %s: the trace "
                            "is probably corrupt (set %s to allow more)"
                            % (_fmt_bytes(memory), shown, MEMORY_ENV))
        raise UserError(explain_failure(stderr, traces, status, sink=sink))
    return stderr


def _out_of_memory(stderr, status):
    return bool(_OUT_OF_MEMORY.search(stderr))


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
    Per-process sub-traces babeltrace2 cannot read are left out (vet_traces): the report then
    says so (`trace.skipped`, a `skipped-trace` warning; skip_notices() gives the lines for
    stderr) and raw is None. Raises UserError on any problem, with a one-line reason. The
    sink writes the report to its standard output, which is an anonymous temporary file:
    nothing named is left behind, whatever happens to this process.
    """
    if not traces:
        raise UserError("no trace given")
    abs_traces, skipped = vet_traces(traces)
    exe = find_babeltrace2()
    plugdir = find_plugin()
    if progress is None:
        progress = sys.stderr.isatty()

    params = {"output": "-", "trace-path": ", ".join(traces)}
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
    with tempfile.TemporaryFile(prefix="looptrace-report-") as out:
        stderr = run_babeltrace(cmd, traces, out, progress)
        out.seek(0)
        raw = out.read()
    if not raw:
        raise UserError("babeltrace2 wrote no report for %s: %s" % (
            ", ".join(show(t) for t in traces), _shorten(stderr) or "no error message"))
    try:
        report = json.loads(raw.decode("utf-8", "surrogateescape"))
    except ValueError as exc:
        raise UserError("the looptrace sink wrote invalid JSON (%s)" % exc)
    check_report(report, traces)
    if skipped:
        add_skipped(report, skipped)
        raw = None  # the sink's bytes no longer say all: --json encodes `report` itself
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
