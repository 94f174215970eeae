"""CSV export of a schema-v1 report: one file per table, written with the csv module.

Files (all with a header row, numbers in their JSON units, ns for durations, empty cells for
unknown values): components.csv, channels.csv, routes.csv, flows.csv (one row per flow hop),
blocked.csv, warnings.csv and findings.csv (one row per component finding). Names are written as recorded (the csv module quotes commas, quotes and
newlines), so a spreadsheet shows exactly what the traced program named things, with one
exception: a text cell (a name, a message) that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return gets a leading `'`, so that a spreadsheet shows it as text instead of running
it as a formula (a component named `=HYPERLINK(...)`). Numbers are never altered.
"""

import csv
import io
import os

from . import chan_groups, outputs
from .errors import UserError
from .render_text import escape as show  # a path on one line, controls escaped
from .symbolize import call_site_text

STATS = ("p50", "p90", "p99", "max")
TIME_KEYS = ("busy", "idle", "blocked_in_handler", "blocked_outside", "outside")


# Text columns: what the traced program named, and messages built from those names.
TEXT_COLS = frozenset(("name", "pool", "owner_name", "from", "to", "component", "reason", "object",
                       "object_name", "where", "site", "call_site", "kind", "subject_type", "subject_name",
                       "message", "code", "severity"))
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value):
    """A text value made safe for spreadsheets: `'` before a leading formula character."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value, separators=(",", ":"))
    return value


def _stats(d, prefix):
    d = d if isinstance(d, dict) else {}
    return {"%s_%s" % (prefix, s): d.get(s) for s in STATS}


def _stat_cols(prefix):
    return ["%s_%s" % (prefix, s) for s in STATS]


COMPONENT_COLS = (
    ["id", "name", "pid", "tid", "wall_ns"]
    + ["%s_ns" % k for k in TIME_KEYS]
    + ["messages", "throughput_per_s", "utilization"]
    + _stat_cols("handle_ns")
    + _stat_cols("queue_wait_ns")
    # added last, the earlier columns keep their places: CPU time, and the loop top of an
    # interposed thread (its call site, call, and "detected" or "given")
    + ["cpu_ns", "loop_top_site", "loop_top_call", "loop_top_how"]
    # sequences on pools (docs/analysis.md, "Sequences and pools"); runnable_ns is 0 and pool
    # empty for a thread component
    + ["runnable_ns", "pool", "sequence", "task", "tasks", "runs", "released_ns", "held_ns"]
)

# One row per pool: its worker threads' time and what its sequences spent runnable / awaiting.
POOL_COLS = ["id", "pid", "name", "threads", "workers", "busy_ns", "idle_ns", "blocked_ns",
             "utilization", "blocked_frac", "runs", "components", "tasks", "runnable_ns",
             "released_ns"]

# One row per channel, channels of one name made per request or task folded into one (as in
# the terminal and HTML reports, chan_groups.folded): `instances` (added last) is how many
# channels the row sums, its `id` the first one's.
CHANNEL_COLS = (
    ["id", "name", "capacity", "sends", "recvs", "max_depth", "mean_depth"]
    + _stat_cols("queue_wait_ns")
    + ["send_blocked_ns", "littles_law_L", "littles_law_lambda", "littles_law_W",
       "littles_law_ratio", "instances"]
)

ROUTE_COLS = ["id", "pid", "owner", "owner_name", "chan", "dispatches"] + \
    _stat_cols("dispatch_ns")

# A hop's from/to are as the analysis wrote them (component names; ids and pids beside them).
HOP_COLS = ["hop", "from", "from_id", "from_pid", "to", "to_id", "to_pid", "count",
            "queue_ns", "handle_ns", "max_queue_ns", "max_handle_ns"]

# One row per component and blocked_by entry (reason, wait object, call site). `where` is the
# raw address, `site` the symbolized name (empty when the trace has no statedump), `call_site`
# what the terminal and HTML reports show: `site`, else `where` in hex; `tid` the component's
# thread and `call` the interposer's wrapped call that blocked (added last: the earlier
# columns keep their places).
BLOCKED_COLS = ["component", "component_id", "pid", "reason", "object", "object_name", "where",
                "site", "ns", "count", "in_handler_ns", "call_site", "tid", "call", "released_ns"]

WARNING_COLS = ["kind", "subject_type", "subject", "pid", "subject_name", "message", "value"]

# One row per component finding (components[].findings): `warning` says it is also a row of
# warnings.csv; `site` indexes the component's blocked_by, `call_site` names that entry.
FINDING_COLS = ["component", "component_id", "pid", "tid", "code", "severity", "warning",
                "message", "value", "wall_frac", "busy_frac", "idle_frac", "site", "site_share",
                "call_site"]


def _name_of(report, section, ref, pid=None):
    from .render_text import find_item

    item = find_item(report, section, ref, pid)
    return item.get("name") if item else None


def component_records(report):
    for c in report.get("components") or []:
        t = c.get("time_ns") or {}
        rec = {k: c.get(k) for k in ("id", "name", "pid", "tid", "wall_ns", "messages",
                                     "throughput_per_s", "utilization")}
        rec.update({"%s_ns" % k: t.get(k) for k in TIME_KEYS})
        rec.update(_stats(c.get("handle_ns"), "handle_ns"))
        rec.update(_stats(c.get("queue_wait_ns"), "queue_wait_ns"))
        rec["cpu_ns"] = c.get("cpu_ns")
        rec["runnable_ns"] = t.get("runnable", 0)
        rec.update({k: c.get(k) for k in ("pool", "sequence", "task", "tasks", "runs",
                                          "released_ns", "held_ns")})
        lt = c.get("loop_top")
        if isinstance(lt, dict):
            rec.update(loop_top_site=call_site_text(lt), loop_top_call=lt.get("call"),
                       loop_top_how=lt.get("how"))
        yield rec


def channel_records(report):
    for ch in chan_groups.folded(report):
        rec = {k: ch.get(k) for k in ("id", "name", "capacity", "sends", "recvs", "max_depth",
                                      "mean_depth", "send_blocked_ns", "instances")}
        rec.update(_stats(ch.get("queue_wait_ns"), "queue_wait_ns"))
        ll = ch.get("littles_law") or {}
        for k in ("L", "lambda", "W", "ratio"):
            rec["littles_law_" + k] = ll.get(k)
        yield rec


def route_records(report):
    for r in report.get("routes") or []:
        rec = {k: r.get(k) for k in ("id", "pid", "owner", "chan", "dispatches")}
        rec["owner_name"] = _name_of(report, "components", r.get("owner"), r.get("pid"))
        rec.update(_stats(r.get("dispatch_ns"), "dispatch_ns"))
        yield rec


def hop_records(report):
    flows = report.get("flows") or {}
    for i, h in enumerate(flows.get("hops") or []):
        rec = {k: h.get(k) for k in HOP_COLS}
        rec["hop"] = i
        yield rec


def blocked_records(report):
    for c in report.get("components") or []:
        for b in c.get("blocked_by") or []:
            rec = {k: b.get(k) for k in BLOCKED_COLS}
            rec.update(component=c.get("name"), component_id=c.get("id"), pid=c.get("pid"),
                       tid=c.get("tid"), call_site=call_site_text(b))
            yield rec


def pool_records(report):
    for p in report.get("pools") or []:
        if isinstance(p, dict):
            yield {k: p.get(k) for k in POOL_COLS}


def warning_records(report):
    sections = {"component": "components", "channel": "channels", "route": "routes"}
    for w in report.get("warnings") or []:
        rec = {"kind": w.get("kind"), "message": w.get("message"), "value": w.get("value"),
               "pid": w.get("pid")}
        for kind, section in sections.items():
            if w.get(kind) is not None:
                rec["subject_type"] = kind
                rec["subject"] = w[kind]
                rec["subject_name"] = w.get("name")
                if rec["subject_name"] is None:
                    rec["subject_name"] = _name_of(report, section, w[kind], w.get("pid"))
                break
        yield rec


def finding_records(report):
    for c in report.get("components") or []:
        entries = c.get("blocked_by") or []
        for f in c.get("findings") or []:
            rec = {k: f.get(k) for k in FINDING_COLS}
            rec.update(component=c.get("name"), component_id=c.get("id"), pid=c.get("pid"),
                       tid=c.get("tid"))
            i = f.get("site")
            if isinstance(i, int) and 0 <= i < len(entries) and isinstance(entries[i], dict):
                rec["call_site"] = call_site_text(entries[i])
            yield rec


TABLES = (
    ("components.csv", COMPONENT_COLS, component_records),
    ("channels.csv", CHANNEL_COLS, channel_records),
    ("routes.csv", ROUTE_COLS, route_records),
    ("flows.csv", HOP_COLS, hop_records),
    ("blocked.csv", BLOCKED_COLS, blocked_records),
    ("warnings.csv", WARNING_COLS, warning_records),
    ("findings.csv", FINDING_COLS, finding_records),
    ("pools.csv", POOL_COLS, pool_records),
)


def write_csv(report, directory):
    """Write the eight CSV files into `directory` (created if missing); returns their paths.

    Raises UserError when the directory cannot be created or a file cannot be written.
    """
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise UserError("--csv %s: exists and is not a directory" % show(directory))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise UserError("--csv %s: cannot create directory: %s" % (show(directory),
                                                                   exc.strerror))
    written = []
    for filename, cols, records in TABLES:
        path = os.path.join(directory, filename)
        buf = io.StringIO(newline="")
        w = csv.writer(buf)
        w.writerow(cols)
        for rec in records(report):
            w.writerow([text_cell(_cell(rec.get(c))) if c in TEXT_COLS
                        else _cell(rec.get(c)) for c in cols])
        outputs.write_file(path, buf.getvalue())
        written.append(path)
    return written
