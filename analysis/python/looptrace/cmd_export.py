"""`looptrace export --perfetto OUT.json TRACE...`: a trace as Chrome/Perfetto trace-event JSON.

The conversion is the babeltrace2 sink `sink.looptrace.perfetto` (analysis/bt2/perfetto/perfetto.c),
run over every trace folder given; this module vets the input, runs babeltrace2 into a
temporary file, names the call sites of the blocked slices (symbolize: read from the traces'
statedump, a second pass over them, only when a blocked slice has a `where`) while copying it
to OUT.json, and turns failures into one-line errors. The file opens in https://ui.perfetto.dev (Open trace file)
and in chrome://tracing: one track per component thread, handler / blocked / idle slices,
a depth counter per channel and an arrow for every message from its send to its consumer.
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile

from . import bt, outputs
from .errors import UserError

SINK = "sink.looptrace.perfetto"

DESCRIPTION = """\
Convert recorded traces to the Chrome trace-event JSON format that ui.perfetto.dev and
chrome://tracing open: a track per component thread (named after the component), a slice per
handler (named by message kind), blocked slices named by reason (the interposer's with their
call site as `report` names it, args.site), idle slices for waits at the top of the loop,
a depth counter per channel, and a flow arrow for each message from the send to the handler
(or route dispatch, or in-handler receive) that consumed it."""

EPILOG = """\
timestamps are microseconds after the first event; pid and tid are the traced process's
(vpid/vtid). Open the file at https://ui.perfetto.dev (nothing is uploaded: the UI runs in the
browser) or chrome://tracing.

OUT.json is replaced only when the new file is complete and holds events (written beside it,
then renamed; its mode is kept). babeltrace2 runs under the limits LOOPTRACE_BT_MEMORY and
LOOPTRACE_BT_TIMEOUT (see `looptrace report --help`).

examples:
  looptrace export --perfetto out.json trace/
  looptrace export --perfetto both.json server-trace/ client-trace/
"""


def add_parser(subparsers):
    p = subparsers.add_parser(
        "export",
        help="convert traces for other tools (--perfetto: Chrome/Perfetto JSON)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--perfetto", metavar="OUT.json", required=True,
                   help="write Chrome/Perfetto trace-event JSON to OUT.json")
    p.add_argument("traces", nargs="+", metavar="TRACE",
                   help="trace folder written by `looptrace record`; several are merged")
    p.set_defaults(func=run)
    return p


def export_perfetto(traces, out_path):
    """Run the sink over `traces` into `out_path`. Returns (the otherData summary of the file
    ({events, flows, lost_events, ...}), the per-process sub-traces left out as unreadable:
    [(folder, reason)], bt.vet_traces). UserError on failure, and when the traces hold no
    looptrace events; `out_path` is then left as it was.

    The sink writes to its standard output, which is a temporary file in `out_path`'s folder
    (outputs.replacing): it replaces `out_path` only once complete and holding events."""
    abs_traces, skipped = bt.vet_traces(traces)
    if os.path.isdir(out_path):
        raise UserError("--perfetto %s: is a directory" % bt.show(out_path))
    parent = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(parent):
        raise UserError("--perfetto %s: folder %s does not exist" % (bt.show(out_path),
                                                                    bt.show(parent)))
    exe = bt.find_babeltrace2()
    plugdir = bt.find_plugin()
    cmd = [exe, "--log-level=NONE", "--plugin-path=" + plugdir] + abs_traces
    cmd += ["-c", SINK, "-p", bt.format_params({"output": "-"})]
    with outputs.replacing(out_path, "--perfetto") as pending:
        if pending.special:
            bt.run_babeltrace(cmd, traces, pending.file, sink=SINK)
            return {}, skipped  # a FIFO or a device: nothing to read back
        with tempfile.TemporaryFile(dir=parent) as raw:
            bt.run_babeltrace(cmd, traces, raw, sink=SINK)
            summary = _summary(raw)
            if not summary.get("events"):
                raise UserError("no looptrace events in %s"
                                % ", ".join(bt.show(t) for t in traces))
            sites = _blocked_sites(raw, abs_traces)
            raw.seek(0)
            if sites:
                _copy_with_sites(raw, pending.file, sites)
            else:
                shutil.copyfileobj(raw, pending.file)
    return summary, skipped


# A blocked slice as the sink writes it, one per line: its pid and call site (`where`).
_BLOCKED_RE = re.compile(rb'^\{"ph":"B","pid":(-?\d+),"tid":-?\d+,"ts":[^,]*,"cat":"blocked",'
                         rb'.*,"where":"(0x[0-9a-f]+)"\}\},?$')


def _blocked_sites(f, traces):
    """{(pid, where): call-site text} for the blocked slices of the sink's file `f` whose
    `where` is known (the interposer's), named as `looptrace report` names them
    (symbolize.format_site: a function only when certain, else object+0xoffset). Empty when
    there are none or the traces have no statedump; a failure to symbolize is said on
    stderr and leaves the addresses."""
    f.seek(0)
    wanted = set()
    for line in f:
        if b'"cat":"blocked"' not in line:
            continue
        m = _BLOCKED_RE.match(line.rstrip(b"\n"))
        if m and int(m.group(2), 16):
            wanted.add((int(m.group(1)), int(m.group(2), 16)))
    if not wanted:
        return {}
    from . import symbolize

    try:
        objects = {}
        for t in traces:
            for pid, objs in symbolize.load_objects(t).items():
                objects.setdefault(pid, []).extend(objs)
        if not objects:
            return {}
        named = symbolize.symbolize_many([(w, p) for p, w in wanted], objects)
    except (symbolize.SymbolizeError, OSError, ValueError) as exc:
        print("looptrace: call sites not symbolized: %s" % exc, file=sys.stderr)
        return {}
    return {(p, w): symbolize.format_site(named[w, p]) for p, w in wanted}


def _copy_with_sites(src, dst, sites):
    """Copy the sink's file `src` to `dst`, adding `"site"` to the args of every blocked slice
    whose (pid, where) `sites` names."""
    for line in src:
        if b'"cat":"blocked"' in line:
            body = line.rstrip(b"\n")
            m = _BLOCKED_RE.match(body)
            text = sites.get((int(m.group(1)), int(m.group(2), 16))) if m else None
            if text:
                comma = body.endswith(b",")
                body = body[:-1] if comma else body
                site = json.dumps(text, ensure_ascii=True).encode("ascii")
                line = body[:-2] + b',"site":' + site + b"}}" + (b"," if comma else b"") + \
                    line[len(line.rstrip(b"\n")):]
        dst.write(line)


def _summary(f):
    """The otherData object at the end of the sink's file `f` (a binary file object), without
    parsing the whole file."""
    try:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 4096))
        tail = f.read().decode("utf-8", "replace")
    except OSError as exc:
        raise UserError("cannot read the exported file: %s" % exc.strerror)
    key = '"otherData":'
    i = tail.rfind(key)
    if i < 0:
        raise UserError("the perfetto sink wrote an incomplete file")
    try:
        return json.loads(tail[i + len(key):].rstrip().rstrip("}").rstrip() + "}")
    except ValueError:
        raise UserError("the perfetto sink wrote an incomplete file")


def run(args):
    with outputs.signals_raise():
        summary, skipped = export_perfetto(args.traces, args.perfetto)
    report = {}
    bt.add_skipped(report, skipped)
    for line in bt.skip_notices(report):
        print(line, file=sys.stderr)
    damage = bt.trace_damage(args.traces, skip=[d for d, _ in skipped])
    if damage:
        from .cmd_report import damage_line

        print(damage_line(args.traces, damage), file=sys.stderr)
    if not summary:  # written into a FIFO or a device: nothing to count
        print("looptrace: wrote %s" % bt.show(args.perfetto))
        return 0
    print("looptrace: wrote %s (%d events, %d message arrows%s); open it at "
          "https://ui.perfetto.dev" % (
              bt.show(args.perfetto), summary.get("events", 0), summary.get("flows", 0),
              ", %d events lost" % summary["lost_events"] if summary.get("lost_events") else ""))
    return 0
