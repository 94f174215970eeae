"""`looptrace export --perfetto OUT.json TRACE...`: a trace as Chrome/Perfetto trace-event JSON.

The conversion is the babeltrace2 sink `sink.looptrace.perfetto` (analysis/bt2/perfetto.c),
run over every trace folder given; this module vets the input, runs babeltrace2 and turns
failures into one-line errors. The file opens in https://ui.perfetto.dev (Open trace file)
and in chrome://tracing: one track per component thread, handler / blocked / idle slices,
a depth counter per channel and an arrow for every message from its send to its consumer.
"""

import argparse
import json
import os
import subprocess
import tempfile

from . import bt
from .errors import UserError

SINK = "sink.looptrace.perfetto"

DESCRIPTION = """\
Convert recorded traces to the Chrome trace-event JSON format that ui.perfetto.dev and
chrome://tracing open: a track per component thread (named after the component), a slice per
handler (named by message kind), blocked slices named by reason, idle slices for waits at the
top of the loop, a depth counter per channel, and a flow arrow for each message from the
send to the handler (or route dispatch, or in-handler receive) that consumed it."""

EPILOG = """\
timestamps are microseconds after the first event; pid and tid are the traced process's
(vpid/vtid). Open the file at https://ui.perfetto.dev (nothing is uploaded: the UI runs in the
browser) or chrome://tracing.

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
    """Run the sink over `traces` into `out_path` (written atomically). Returns the
    otherData summary of the file ({events, flows, lost_events, ...}). UserError on failure."""
    abs_traces = []
    for t in traces:
        bt.check_trace(t)
        abs_traces.append(os.path.abspath(t))
    if os.path.isdir(out_path):
        raise UserError("--perfetto %s: is a directory" % bt.show(out_path))
    parent = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(parent):
        raise UserError("--perfetto %s: folder %s does not exist" % (bt.show(out_path),
                                                                    bt.show(parent)))
    exe = bt.find_babeltrace2()
    plugdir = bt.find_plugin()
    try:
        fd, tmp = tempfile.mkstemp(prefix=".looptrace-", suffix=".json", dir=parent)
        os.close(fd)
    except OSError as exc:
        raise UserError("--perfetto %s: %s" % (bt.show(out_path), exc.strerror))
    try:
        cmd = [exe, "--log-level=NONE", "--plugin-path=" + plugdir] + abs_traces
        cmd += ["-c", SINK, "-p", bt.format_params({"output": tmp})]
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        except OSError as exc:
            raise UserError("cannot run %s: %s" % (bt.show(exe), exc.strerror))
        stderr = proc.stderr.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise UserError(bt.explain_failure(stderr, traces, proc.returncode, sink=SINK))
        summary = _summary(tmp)
        os.replace(tmp, out_path)
        tmp = None
    finally:
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return summary


def _summary(path):
    """The otherData object at the end of the sink's file (without parsing the whole file)."""
    try:
        with open(path, "rb") as f:
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
    summary = export_perfetto(args.traces, args.perfetto)
    if not summary.get("events"):
        try:
            os.unlink(args.perfetto)
        except OSError:
            pass
        raise UserError("no looptrace events in %s" % ", ".join(bt.show(t) for t in args.traces))
    print("looptrace: wrote %s (%d events, %d message arrows%s); open it at "
          "https://ui.perfetto.dev" % (
              bt.show(args.perfetto), summary.get("events", 0), summary.get("flows", 0),
              ", %d events lost" % summary["lost_events"] if summary.get("lost_events") else ""))
    return 0
