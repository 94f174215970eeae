"""`looptrace report TRACE...`: analyse recorded traces and print or export the report.

The numbers come from the babeltrace2 sink `sink.looptrace.report` (analysis/bt2), run once
over every trace folder given (several processes are analysed together). This module only
vets the input, drives babeltrace2 (bt.py) and renders the schema-v1 JSON: a terminal table
(render_text.py), the JSON itself (--json) and CSV files (--csv).
"""

import argparse
import json
import os
import signal
import sys

from . import bt, flight, looptop, outputs, render_csv, render_text, timespec
from .cmd_record import RECORD_INFO  # written by `looptrace record` into its folder
from .errors import UserError

DESCRIPTION = """\
Analyse one or more trace folders written by `looptrace record` and report, per component,
how its time splits between busy (handling messages), idle (waiting at the top of its loop),
blocked inside a handler and blocked elsewhere; per channel, its traffic, depth and queue
wait; then the findings about components and the warnings (blocks-in-handler, saturated,
queue-growth, slow-route, lost-events, cut-short).
Several folders (e.g. one per process, or one per host: a relay daemon's output folder holds
one folder per host) are analysed together as one system; traces of several hosts are merged
on their clocks (docs/distributed.md)."""

EPILOG = """\
time formats for --begin/--end:
  1764198000.5           seconds since the Epoch (absolute trace clock)
  1764198000500000000    nanoseconds since the Epoch (integers of 13 digits or more)
  +1.5s  +200ms  +750us  relative to the first event of the trace (units ns, us, ms, s, m,
                         h; no unit means seconds)

outputs:
  default          tables on stdout (durations in ns/us/ms/s, times as % of wall time)
  --json FILE|-    the schema-v1 JSON report exactly as the analysis produced it
                   ('-' = stdout, and then no table is printed)
  --csv DIR        components.csv, channels.csv, routes.csv, flows.csv (one row per flow
                   hop), blocked.csv, warnings.csv and findings.csv
  --html DIR       DIR/index.html: one self-contained page with tables and charts

exit status: 0 on success, 2 on bad input (missing or corrupt trace, no looptrace events,
bad option), with a one-line reason on stderr; 128+N when interrupted by signal N (SIGTERM,
SIGHUP, SIGINT: babeltrace2 is stopped, outputs are left as they were). A trace damaged in a
way babeltrace2 does not notice (a stream file shorter than its index) is reported with a
`damaged-trace` warning and one line on stderr. A process of a per-PID recording whose
sub-trace babeltrace2 cannot read (no metadata, an empty one, no stream class) is left out,
with a `skipped-trace` warning and one line on stderr per folder.

outputs are replaced only by complete new files (written beside them, then renamed), keep
their mode, and are never written through another user's symbolic link.

environment:
  LOOPTRACE_BABELTRACE2  the babeltrace2 program to run (default: babeltrace2 on PATH)
  LOOPTRACE_PLUGIN_PATH  folder holding the looptrace babeltrace2 plugin (looptrace.so)
  LOOPTRACE_BT_MEMORY    babeltrace2's address-space limit, e.g. 4G (default: half the
                         memory, 2-8 GiB; 0 = none): a damaged trace can make it grow
  LOOPTRACE_BT_TIMEOUT   seconds babeltrace2 may run (default: 120 + 1 per MiB of stream
                         files; 0 = none)

examples:
  looptrace report trace/
  looptrace report trace/ --json report.json --csv report-csv/
  looptrace report server-trace/ client-trace/ --begin +2s --end +5s
  looptrace report ~/lttng-traces/ --clock-sync 200us   # a relay daemon's hosts, merged
  looptrace report trace/ --loop-top ngx_epoll_process_events   # an interposed loop's top
"""


def _time(option, text):
    """Parse a --begin/--end value; UserError with a one-line reason."""
    if text is None:
        return None
    try:
        return timespec.parse(text)
    except timespec.TimeSpecError as exc:
        raise UserError("%s: %s" % (option, exc))


def add_parser(subparsers):
    p = subparsers.add_parser(
        "report",
        help="analyse recorded traces: per-component and per-channel tables, warnings",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("traces", nargs="+", metavar="TRACE",
                   help="trace folder written by `looptrace record` (or any folder holding "
                        "CTF traces); several are analysed together")
    p.add_argument("--json", metavar="FILE", dest="json_out",
                   help="write the schema-v1 JSON report to FILE ('-' for stdout)")
    p.add_argument("--csv", metavar="DIR", dest="csv_dir",
                   help="write components/channels/routes/flows/blocked/warnings/findings .csv into DIR "
                        "(created if missing)")
    p.add_argument("--html", metavar="DIR", dest="html_dir",
                   help="write a self-contained HTML report (DIR/index.html, charts inline)")
    p.add_argument("--begin", metavar="TIME",
                   help="ignore events before TIME (absolute, or '+offset' from the trace "
                        "start)")
    p.add_argument("--end", metavar="TIME",
                   help="ignore events after TIME (absolute, or '+offset' from the trace "
                        "start)")
    p.add_argument("--loop-top", metavar="SITE", action="append", dest="loop_top",
                   help="for threads seen only by the interposer (--interpose): the wait at "
                        "the top of their loop, a function name or OBJECT+0xOFFSET as the "
                        "report prints call sites (repeatable; default: detected, see "
                        "docs/interposer.md)")
    p.add_argument("--clock-sync", metavar="DUR",
                   help="traces of several machines: how far apart their clocks may be "
                        "(their NTP or PTP sync; default 1ms); the report states the clock "
                        "uncertainty it assumed and flags queue waits across hosts shorter than "
                        "it (docs/distributed.md)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="do not print the tables (only write --json/--csv/--html outputs)")
    p.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show progress on stderr for long analyses (default: when stderr "
                        "is a terminal)")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="never show progress")
    p.set_defaults(func=run)
    return p


def check_json_dest(dest):
    """UserError unless a file can be created at `dest` (its folder exists)."""
    if os.path.isdir(dest):
        raise UserError("--json %s: is a directory" % bt.show(dest))
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        raise UserError("--json %s: folder %s does not exist" % (bt.show(dest), bt.show(parent)))


def check_outputs(args):
    """Catch unusable output paths before a possibly long analysis; UserError."""
    if args.json_out and args.json_out != "-":
        check_json_dest(args.json_out)
    for flag, d in (("--csv", args.csv_dir), ("--html", getattr(args, "html_dir", None))):
        if d and os.path.exists(d) and not os.path.isdir(d):
            raise UserError("%s %s: exists and is not a directory" % (flag, bt.show(d)))


def json_chunks(report):
    """The bytes of `json.dumps(report, indent=1)` and a newline, in pieces of about 1 MB.

    json.dumps with an indent runs Python's pure-Python encoder and joins every small piece
    it makes into one string: for a report of 100,000 components (172 MB of JSON) that took
    1.3 GiB above the report itself. Writing the pieces as they come keeps a megabyte."""
    buf, size = [], 0
    for chunk in json.JSONEncoder(indent=1).iterencode(report):
        buf.append(chunk)
        size += len(chunk)
        if size >= 1 << 20:
            yield "".join(buf).encode()
            buf, size = [], 0
    buf.append("\n")
    yield "".join(buf).encode()


def write_json(raw, dest, report=None):
    """Write the JSON report to `dest` ('-' = stdout); UserError on failure. `raw` is the
    sink's JSON bytes, or None when `report` was changed after the sink wrote it: `report` is
    then encoded as json.dumps(report, indent=1) would, piece by piece (json_chunks).

    Through outputs.replacing: a regular file (or a new one) is replaced atomically, keeping
    its mode, through a symbolic link of ours if `dest` is one; anything else that exists
    (/dev/null, a FIFO, a terminal) is simply written to.
    """
    if raw is None:
        chunks = json_chunks(report)
    else:
        chunks = [raw if raw.endswith(b"\n") else raw + b"\n"]
    if dest == "-":
        for c in chunks:
            sys.stdout.buffer.write(c)
        sys.stdout.flush()
        return
    check_json_dest(dest)
    with outputs.replacing(dest, "--json") as p:
        for c in chunks:
            p.file.write(c)


def write_html(report, directory):
    """DIR/index.html via looptrace.html; UserError when matplotlib or the folder fails."""
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise UserError("--html %s: exists and is not a directory" % bt.show(directory))
    try:
        from . import html
    except ImportError as exc:
        raise UserError("--html needs matplotlib (python3-matplotlib): %s" % exc)
    try:
        return html.write_html(report, directory)
    except OSError as exc:
        raise UserError("--html %s: %s" % (bt.show(directory), exc.strerror or exc))


def emit(report, raw, args):
    """Write every output `args` asks for. Returns the exit status."""
    notes = []
    if args.json_out:
        write_json(raw, args.json_out, report)
        if args.json_out != "-":
            notes.append("looptrace: JSON report written to %s" % bt.show(args.json_out))
    if getattr(args, "html_dir", None):
        path = write_html(report, args.html_dir)
        notes.append("looptrace: HTML report written to %s" % bt.show(path))
    if args.csv_dir:
        render_csv.write_csv(report, args.csv_dir)
        notes.append("looptrace: CSV files (components, channels, routes, flows, blocked, warnings, "
                     "findings) written to %s" % bt.show(args.csv_dir))
    if not args.quiet and args.json_out != "-":
        sys.stdout.write(flight.render_trigger(report))
        sys.stdout.write(render_text.render(report))
        sys.stdout.flush()
    for n in notes:
        print(n, file=sys.stderr)
    return 0


def analyse(traces, begin=None, end=None, progress=False, loop_tops=None, clock_sync_ns=None):
    """(report dict, raw JSON bytes) for `traces` analysed together; `begin`/`end` are
    time strings as on the command line; `loop_tops` the --loop-top SITEs. A SITE that names
    a function is looked up in the objects the traced processes loaded, which the first
    analysis lists: the trace is then read twice. Raises UserError with a one-line reason."""
    b = _time("--begin", begin) if isinstance(begin, str) else begin
    e = _time("--end", end) if isinstance(end, str) else end
    try:
        timespec.check_window(b, e)
    except timespec.TimeSpecError as exc:
        raise UserError(str(exc))
    specs = list(loop_tops or [])
    direct = [s for s in specs if looptop.is_address(s.strip())]
    extra = {"loop-top": direct} if direct else {}
    if clock_sync_ns:
        extra["clock-sync-ns"] = int(clock_sync_ns)
    report, raw = bt.run_report(list(traces), begin=b, end=e, progress=progress,
                                extra_params=extra)
    if looptop.needs_names(specs):
        sites = looptop.resolve(specs, looptop.report_paths(report))
        extra["loop-top"] = sites
        report, raw = bt.run_report(list(traces), begin=b, end=e, progress=progress,
                                    extra_params=extra)
    return report, raw


def name_call_sites(report):
    """Symbolize the top blocked call sites (`where`) of `report` in place (adds `site`), from
    the loaded objects the sink lists in `objects` (the LTTng-UST statedump that `looptrace
    record` enables). Returns how many entries were named; with no statedump in the trace, or
    when addr2line fails, none are and the report keeps the raw addresses: not an error."""
    from . import symbolize

    try:
        objects = symbolize.objects_from_report(report)
        return symbolize.annotate_report(report, objects=objects) if objects else 0
    except (symbolize.SymbolizeError, OSError, ValueError, KeyError) as exc:
        print("looptrace: call sites not symbolized: %s" % exc, file=sys.stderr)
        return 0


RECORD_UP = 5  # trace/ust/uid/<uid>/64-bit/ is 4 levels below the folder `record` wrote


def _read_record_info(path):
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def record_infos(traces):
    """[(path, info)] of the looptrace-record.json files `looptrace record` wrote for
    `traces`: in a trace folder or below it (a folder of recordings), else in the folder a
    trace folder given inside a recording (trace/ust/uid/0/64-bit/) belongs to."""
    found = []
    for t in traces:
        root = os.path.abspath(t)
        below = []
        base = root.rstrip(os.sep).count(os.sep)
        for dirpath, dirs, files in os.walk(root):
            if RECORD_INFO in files:
                below.append(os.path.join(dirpath, RECORD_INFO))
            if dirpath.rstrip(os.sep).count(os.sep) - base >= bt.MAX_DEPTH:
                dirs[:] = []
            dirs[:] = sorted(d for d in dirs if d not in ("ust", "kernel", "index"))
        if not below:
            up = root
            for _ in range(RECORD_UP):
                parent = os.path.dirname(up)
                if parent == up:
                    break
                up = parent
                if os.path.isfile(os.path.join(up, RECORD_INFO)):
                    below.append(os.path.join(up, RECORD_INFO))
                    break
        for path in below:
            info = _read_record_info(path)
            if info is not None:
                found.append((path, info))
    return found


# The bound on what SIGKILL loses of a format-2.0 recording: liblooptrace's flusher hands every
# thread's records to LTTng once they are LT_BATCH_FLUSH_MS (10 ms) old, checking every 5 ms.
RECORD_FLUSH_BOUND_MS = 15


def _killed_by(info):
    """The signal number that killed the recorded program, or None."""
    sig = info.get("signal")
    if isinstance(sig, int) and not isinstance(sig, bool) and sig > 0:
        return sig
    if "signal" in info:
        return None  # recorded with the field: null means it exited by itself
    status = info.get("exit_status")
    if isinstance(status, int) and not isinstance(status, bool) and 128 < status <= 128 + 64:
        return status - 128  # `record` returns 128+N when the program dies by signal N
    return None


def foreign_notices(report, infos):
    """One line per recording made without the per-process filter (`record --all-processes`,
    or a looptrace without `processes` in looptrace-record.json) whose report holds
    components of processes other than the recorded commands: they may be other programs
    of the user that ran meanwhile (or the command's children)."""
    roots = {i.get("pid") for _, i in infos}
    others = sorted({c.get("pid") for c in report.get("components") or []
                     if isinstance(c, dict) and c.get("pid") not in roots},
                    key=lambda p: (not isinstance(p, int), p if isinstance(p, int) else 0))
    if not others:
        return []
    notices = []
    for path, info in infos:
        if info.get("processes") in ("tree", "pid"):
            continue
        notices.append("looptrace: %s was recorded with --all-processes (or by an older "
                       "looptrace): it may hold other processes' events; components of "
                       "pid(s) %s are not the recorded command's (pid %s)"
                       % (bt.show(os.path.dirname(path)),
                          ", ".join(str(p) for p in others[:8]) +
                          (", ..." if len(others) > 8 else ""), info.get("pid")))
    return notices


def recording_notices(report, traces):
    """Add what `looptrace record` knows about the run to report["trace"] (`cut_short`,
    `exit_status`, `signal`, `incomplete`) and return the one-line notices for stderr: a
    program killed by a signal (the run was cut short) or a recording whose session daemon
    died. Returns None (and adds nothing) when no looptrace-record.json is found."""
    infos = record_infos(traces)
    if not infos:
        return None
    trace = report.setdefault("trace", {})
    notices = []
    killed = [(p, i, _killed_by(i)) for p, i in infos if _killed_by(i)]
    first = killed[0][1] if killed else infos[0][1]
    trace["cut_short"] = bool(killed)
    trace["exit_status"] = first.get("exit_status")
    trace["signal"] = bt.signal_name(killed[0][2]) if killed else None
    for _, info, sig in killed:
        notices.append("looptrace: the recorded program was killed by %s (exit status %s): "
                       "the run was cut short; figures cover the recorded part only"
                       % (bt.signal_name(sig), info.get("exit_status")))
        if sig == signal.SIGKILL and str(info.get("format", "1")) >= "2":
            # Format 2.0 keeps records per thread and hands them to LTTng in batches; a
            # caught signal flushes them, SIGKILL cannot be caught (docs/event-model.md).
            notices.append("looptrace: SIGKILL gave no time to hand over the last records: "
                           "up to the last %d ms of each thread's activity may be missing"
                           % RECORD_FLUSH_BOUND_MS)
    notices += foreign_notices(report, infos)
    incomplete = [p for p, i in infos if i.get("incomplete")]
    trace["incomplete"] = bool(incomplete)
    for p in incomplete:
        notices.append("looptrace: the session daemon stopped during the recording in %s: "
                       "the trace may be incomplete" % bt.show(os.path.dirname(p)))
    return notices


def damage_line(traces, damage):
    """The one line saying that `traces` are damaged (`damage`: bt.trace_damage())."""
    more = " (and %d more stream files)" % (len(damage) - 1) if len(damage) > 1 else ""
    return ("looptrace: %s: the trace is damaged: %s%s; figures cover only what is left"
            % (", ".join(bt.show(t) for t in traces), damage[0], more))


def damage_notices(report, traces):
    """Check `traces` for damage babeltrace2 reads past in silence (a stream file shorter
    than its index: packets lost at a packet boundary). When found, add `trace.damaged`,
    `trace.damage` (one text per stream file) and a `damaged-trace` warning to `report`, and
    return the one line for stderr; else return [] and add nothing. The figures are still
    reported: they are exact for what is left, and every output says that it is not all."""
    damage = bt.trace_damage(traces, skip=bt.skipped_paths(report))
    if not damage:
        return []
    trace = report.setdefault("trace", {})
    trace["damaged"] = True
    trace["damage"] = damage
    report.setdefault("warnings", []).append({
        "kind": "damaged-trace",
        "message": "the trace is damaged (%s%s): figures cover only what is left" % (
            damage[0], " and %d more" % (len(damage) - 1) if len(damage) > 1 else ""),
        "value": len(damage)})
    return [damage_line(traces, damage)]


def run(args):
    # SIGTERM / SIGHUP / SIGINT become an exception: babeltrace2 is killed and temporary
    # files removed on the way out (exit status 128 + the signal).
    with outputs.signals_raise():
        return _run(args)


def _run(args):
    check_outputs(args)
    args.traces = flight.resolve_traces(args.traces)  # a flight recording: one snapshot
    begin = args.begin
    complete = flight.snapshot_window(args.traces) if begin is None else None
    if complete is not None:
        begin = timespec.parse(str(complete))  # where every CPU's ring reaches back to
    sync = getattr(args, "clock_sync", None)
    if sync is not None:
        sync = flight.parse_duration(sync, "--clock-sync")
        if sync <= 0:
            raise UserError("--clock-sync must be above 0")
    report, raw = analyse(args.traces, begin, args.end, args.progress,
                          getattr(args, "loop_top", None), sync)
    if complete is not None:
        report.setdefault("trace", {})["snapshot_complete_from_ns"] = complete
    named = name_call_sites(report)
    notices = recording_notices(report, args.traces)
    damage = damage_notices(report, args.traces)
    snapshot = flight.snapshot_notices(report, args.traces)
    if named or notices is not None or damage or snapshot:
        raw = None  # the sink's bytes no longer say all: --json encodes `report` itself
    for n in bt.skip_notices(report) + (notices or []) + damage:
        print(n, file=sys.stderr)
    try:
        return emit(report, raw, args)
    except BrokenPipeError:
        # `looptrace report ... | head`: the reader left; not an error, and no traceback at
        # interpreter exit when Python flushes stdout again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
