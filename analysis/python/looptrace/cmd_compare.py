"""`looptrace compare A B [C...]`: the same numbers for two or more runs, side by side.

Each input is a trace folder (analysed as `looptrace report` would) or a schema-v1 JSON report
file. Components are matched by name (pids and ids differ between runs), channels by name;
items sharing a name in one run are never added together: the k-th of that name (in order of
start) is matched with the k-th of the other run and shown as "NAME #k". Every figure of the
second and later runs comes with its ratio to the first run (the baseline).

Library use (the demo compares its modes): compare_reports([(label, report), ...]) -> rows,
render_text(labels, rows) -> str, to_json(labels, rows) -> dict, write_html(...) -> path.
"""

import argparse
import json
import os
import sys

from . import bt, cmd_report, outputs
from .errors import UserError
from .fmt import fmt_compare_value, fmt_ratio, num
from .render_text import escape

SCHEMA_PREFIX = "looptrace-report/"
COMPARE_SCHEMA = "looptrace-compare/1"

DESCRIPTION = """\
Compare two or more runs: per component (matched by name) and per channel (matched by name),
each figure of every run after the first with its ratio to the first (B/A). An input is a
trace folder written by `looptrace record` or a JSON report (`looptrace report --json`)."""

EPILOG = """\
ratios: 'x1.50' means B is 1.5 times A; '=' both are 0; 'new' A is 0 and B is not;
  '-' the item is missing from one run.
components or channels sharing a name within one run are never summed: the k-th of a name
  (in order of start) is shown as 'NAME #k' and compared with the k-th of the other run.

examples:
  looptrace compare blocking.json routed.json
  looptrace compare trace-blocking/ trace-routed/ --html cmp/ --json cmp.json
"""

# (key, label, kind) where kind tells how to format and how to merge duplicates.
COMPONENT_METRICS = [
    ("wall_ns", "wall", "ns"),
    ("busy", "busy", "ns"),
    ("idle", "idle", "ns"),
    ("blocked_in_handler", "blocked in handler", "ns"),
    ("blocked_outside", "blocked outside", "ns"),
    ("outside", "outside", "ns"),
    ("messages", "messages", "count"),
    ("throughput_per_s", "throughput (msg/s)", "rate"),
    ("utilization", "utilization", "frac"),
    ("handle_p50", "handle p50", "pct_ns"),
    ("handle_p99", "handle p99", "pct_ns"),
    ("queue_wait_p50", "queue wait p50", "pct_ns"),
    ("queue_wait_p99", "queue wait p99", "pct_ns"),
]
# Added when either report has sequences on pools (docs/analysis.md, "Sequences and pools"):
# runnable after the other states, then what awaits released and blocking held, and runs.
SEQ_COMPONENT_METRICS = [
    ("runnable", "runnable", "ns"),
    ("released_ns", "released (awaits)", "ns"),
    ("held_ns", "held a pool thread", "ns"),
    ("runs", "runs", "count"),
]
POOL_METRICS = [
    ("threads", "threads", "count"),
    ("busy_ns", "busy", "ns"),
    ("idle_ns", "idle", "ns"),
    ("blocked_ns", "blocked (held)", "ns"),
    ("utilization", "utilization", "frac"),
    ("runs", "runs", "count"),
    ("runnable_ns", "runnable", "ns"),
    ("released_ns", "released (awaits)", "ns"),
]
CHANNEL_METRICS = [
    ("sends", "sends", "count"),
    ("recvs", "recvs", "count"),
    ("max_depth", "max depth", "count"),
    ("mean_depth", "mean depth", "rate"),
    ("queue_wait_p50", "queue wait p50", "pct_ns"),
    ("queue_wait_p99", "queue wait p99", "pct_ns"),
    ("send_blocked_ns", "send blocked", "ns"),
]


# ---------------------------------------------------------------------------------------------
# Loading inputs


def check_report(report, where):
    """Raise UserError unless `report` looks like a schema-v1 report."""
    if not isinstance(report, dict):
        raise UserError("%s: not a looptrace JSON report (not a JSON object)" % where)
    schema = str(report.get("schema", ""))
    if not schema.startswith(SCHEMA_PREFIX):
        raise UserError("%s: not a looptrace JSON report (schema %r, expected %s1)"
                        % (where, report.get("schema"), SCHEMA_PREFIX))
    if schema != SCHEMA_PREFIX + "1":
        raise UserError("%s: unsupported report schema %s (this looptrace reads %s1)"
                        % (where, schema, SCHEMA_PREFIX))
    for key in ("components", "channels"):
        if not isinstance(report.get(key, []), list):
            raise UserError("%s: malformed report (%s is not a list)" % (where, key))
    return report


def load_json_report(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise UserError("%s: %s" % (escape(path), exc.strerror))
    try:
        report = json.loads(raw.decode("utf-8", "surrogateescape"))
    except ValueError as exc:
        raise UserError("%s: not a looptrace JSON report (invalid JSON: %s)" % (escape(path), exc))
    return check_report(report, escape(path))


def analyse_trace(path):
    """The schema-v1 report of the trace folder `path`, computed as `looptrace report` does."""
    report, _raw = cmd_report.analyse([path])
    for line in bt.skip_notices(report) + cmd_report.damage_notices(report, [path]):
        print(line, file=sys.stderr)
    return report


def load_input(path):
    """A report dict from `path`: a trace folder or a JSON report file ('-' = stdin)."""
    if path == "-":
        try:
            report = json.loads(sys.stdin.buffer.read().decode("utf-8", "surrogateescape"))
        except ValueError as exc:
            raise UserError("stdin: not a looptrace JSON report (invalid JSON: %s)" % exc)
        return check_report(report, "stdin")
    if not os.path.lexists(path):
        raise UserError("%s: no such file or directory" % escape(path))
    if os.path.isdir(path):
        return check_report(analyse_trace(path), escape(path))
    return load_json_report(path)


# ---------------------------------------------------------------------------------------------
# Comparing


def _instance_names(items, order_key):
    """[(row name, item)] for one report's components or channels, never merging two of them.

    Items sharing a name are told apart by their order within the run (order_key): the first
    keeps the name, the next are "NAME #2", "NAME #3", ... So the k-th "worker" of one run is
    compared with the k-th "worker" of the other, and two different components that happen
    to share a name (or whose names a decoder confused) are never added together.
    """
    items = [x for x in items if isinstance(x, dict)]
    seen = {}
    out = []
    for x in sorted(items, key=order_key):
        name = str(x.get("name", ""))
        k = seen.get(name, 0) + 1
        seen[name] = k
        out.append((name if k == 1 else "%s #%d" % (name, k), x))
    return out


def _sort_num(v):
    return v if num(v) else 0


def _component_order(c):
    return (_sort_num(c.get("begin_ns")), _sort_num(c.get("pid")), _sort_num(c.get("id")),
            _sort_num(c.get("tid")))


def _channel_order(ch):
    return (_sort_num(ch.get("pid")), _sort_num(ch.get("id")))


def _component_values(comps):
    """row name -> {metric: value} for one report (see _instance_names)."""
    out = {}
    for name, c in _instance_names(comps, _component_order):
        t = c.get("time_ns") or {}
        v = {"wall_ns": c.get("wall_ns")}
        for k in ("busy", "idle", "blocked_in_handler", "blocked_outside", "outside"):
            v[k] = t.get(k)
        v["runnable"] = t.get("runnable", 0)  # 0 for a thread, and in reports before pools
        for k in ("released_ns", "held_ns", "runs"):
            v[k] = c.get(k, 0)
        v["messages"] = c.get("messages")
        v["throughput_per_s"] = c.get("throughput_per_s")
        v["utilization"] = c.get("utilization")
        for src, dst in (("handle_ns", "handle"), ("queue_wait_ns", "queue_wait")):
            for q in ("p50", "p99"):
                v["%s_%s" % (dst, q)] = (c.get(src) or {}).get(q)
        v["_approx"] = False
        out[name] = v
    return out


def _sum(values):
    values = [x for x in values if num(x)]
    return sum(values) if values else None


def _channel_values(chans):
    """row name -> {metric: value} for one report (see _instance_names)."""
    out = {}
    for name, ch in _instance_names(chans, _channel_order):
        out[name] = {
            "sends": ch.get("sends"),
            "recvs": ch.get("recvs"),
            "max_depth": ch.get("max_depth"),
            "mean_depth": ch.get("mean_depth"),
            "queue_wait_p50": (ch.get("queue_wait_ns") or {}).get("p50"),
            "queue_wait_p99": (ch.get("queue_wait_ns") or {}).get("p99"),
            "send_blocked_ns": ch.get("send_blocked_ns"),
            "_approx": False,
        }
    return out


def ratio(a, b):
    """b / a, or None when undefined (missing value); 0/0 gives 1.0, x/0 gives inf."""
    if not num(a) or not num(b):
        return None
    if a == 0:
        return 1.0 if b == 0 else float("inf")
    return float(b) / float(a)


def _ordered_union(lists):
    seen, out = set(), []
    for lst in lists:
        for x in lst:
            if x not in seen:
                seen.add(x)
                out.append(x)
    return out


def compare_reports(reports):
    """Rows comparing reports [(label, report dict), ...] (N >= 2; the first is the baseline).

    Each row is a dict: section ('trace', 'component', 'channel', 'pool', 'flows',
    'parallelism'; components get runnable, released, held and runs rows, and pools rows
    exist, only when a report has sequences on pools),
    name (component/channel name, or '' for whole-run rows), metric (key), label (words),
    kind ('ns', 'count', 'rate', 'frac', 'pct_ns'), values (one per report, None when the
    item or figure is missing there), ratios (one per report: None for the baseline, else
    value / baseline value as ratio() defines it), approx (one bool per report: an
    approximated figure; always false since items sharing a name are no longer merged).
    """
    if len(reports) < 2:
        raise ValueError("compare_reports needs at least two reports")
    rows = []

    def add(section, name, metric, label, kind, values, approx=None):
        base = values[0]
        rows.append({
            "section": section, "name": name, "metric": metric, "label": label, "kind": kind,
            "values": values,
            "ratios": [None] + [ratio(base, v) for v in values[1:]],
            "approx": approx or [False] * len(values),
        })

    reps = [r for _, r in reports]
    trs = [r.get("trace") or {} for r in reps]
    add("trace", "", "duration_ns", "duration", "ns",
        [(t.get("end_ns") - t.get("begin_ns")) if num(t.get("end_ns")) and num(t.get("begin_ns"))
         else None for t in trs])
    add("trace", "", "events", "events", "count", [t.get("events") for t in trs])
    add("trace", "", "lost_events", "lost events", "count", [t.get("lost_events") for t in trs])

    seqs = any(isinstance(c, dict) and c.get("sequence")
               for r in reps for c in r.get("components") or [])
    metrics = COMPONENT_METRICS
    if seqs:
        metrics = COMPONENT_METRICS[:6] + SEQ_COMPONENT_METRICS[:1] + COMPONENT_METRICS[6:] \
            + SEQ_COMPONENT_METRICS[1:]
    comp_vals = [_component_values(r.get("components") or []) for r in reps]
    for name in _ordered_union([list(cv.keys()) for cv in comp_vals]):
        per = [cv.get(name) for cv in comp_vals]
        for key, lab, kind in metrics:
            approx = [bool(p and p["_approx"] and kind == "pct_ns") for p in per]
            add("component", name, key, lab, kind, [p.get(key) if p else None for p in per],
                approx)

    chan_vals = [_channel_values(r.get("channels") or []) for r in reps]
    for name in _ordered_union([list(cv.keys()) for cv in chan_vals]):
        per = [cv.get(name) for cv in chan_vals]
        for key, lab, kind in CHANNEL_METRICS:
            approx = [bool(p and p["_approx"] and kind == "pct_ns") for p in per]
            add("channel", name, key, lab, kind, [p.get(key) if p else None for p in per], approx)

    pool_vals = [dict(_instance_names(r.get("pools") or [], _channel_order)) for r in reps]
    for name in _ordered_union([list(pv.keys()) for pv in pool_vals]):
        per = [pv.get(name) for pv in pool_vals]
        for key, lab, kind in POOL_METRICS:
            add("pool", name, key, lab, kind, [p.get(key) if p else None for p in per])

    fl = [r.get("flows") or {} for r in reps]
    add("flows", "", "count", "flows", "count", [f.get("count") for f in fl])
    for q in ("p50", "p90", "p99", "max"):
        add("flows", "", "latency_" + q, "latency " + q, "ns",
            [(f.get("latency_ns") or {}).get(q) for f in fl])
    par = [r.get("parallelism") or {} for r in reps]
    add("parallelism", "", "mean_busy_components", "mean busy components", "rate",
        [p.get("mean_busy_components") for p in par])
    return rows


# ---------------------------------------------------------------------------------------------
# Rendering


def render_text(labels, rows):
    """A terminal table: one column per report plus a ratio column for each non-baseline."""
    head = ["", "metric"]
    for i, lab in enumerate(labels):
        head.append(escape(lab))
        if i:
            head.append("%s/%s" % (escape(lab), escape(labels[0])))
    lines = []
    table = []
    last_group = None
    for r in rows:
        group = (r["section"], r["name"])
        title = ""
        if group != last_group:
            title = r["section"] + (" " + escape(r["name"]) if r["name"] else "")
            if last_group is not None:
                table.append(None)
            last_group = group
        cells = [title, r["label"]]
        for i, v in enumerate(r["values"]):
            cell = fmt_compare_value(v, r["kind"])
            if r["approx"][i] and v is not None:
                cell = "~" + cell
            cells.append(cell)
            if i:
                cells.append(fmt_ratio(r["ratios"][i], r["values"][0], v))
        table.append(cells)
    widths = [len(h) for h in head]
    for cells in table:
        if cells:
            widths = [max(w, len(c)) for w, c in zip(widths, cells)]

    def line(cells):
        out = []
        for i, (c, w) in enumerate(zip(cells, widths)):
            out.append(c.ljust(w) if i < 2 else c.rjust(w))
        return "  ".join(out).rstrip()

    lines.append(line(head))
    lines.append("  ".join("-" * w for w in widths))
    for cells in table:
        lines.append("" if cells is None else line(cells))
    return "\n".join(lines) + "\n"


def to_json(labels, rows):
    """The comparison as a JSON-ready dict (infinite ratios become the string 'inf')."""
    def clean(r):
        r = dict(r)
        r["ratios"] = [("inf" if x == float("inf") else x) for x in r["ratios"]]
        return r
    return {"schema": COMPARE_SCHEMA, "labels": list(labels), "baseline": labels[0],
            "rows": [clean(r) for r in rows]}


def write_html(labels, rows, reports, out_dir):
    """out_dir/index.html with the comparison table and charts; returns its path."""
    from . import charts
    from .html import esc, _css

    os.makedirs(out_dir, exist_ok=True)
    p = ["<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
         "<title>looptrace compare</title><style>%s</style></head><body>" % _css(),
         "<h1>looptrace compare</h1>",
         '<p class="meta">Baseline: <code>%s</code>; ratios are each run divided by the '
         "baseline.</p>" % esc(labels[0])]
    # Charts: time split per component, and throughput, one bar per run.
    comp_names = _ordered_union([[n for n, _ in _instance_names(r.get("components") or [],
                                                                 _component_order)]
                                 for _, r in reports])
    if comp_names:
        by = {(r["name"], r["metric"]): r for r in rows if r["section"] == "component"}

        def series(metric, scale=1.0):
            return [[(by[(n, metric)]["values"][i] or 0) / scale if (n, metric) in by else 0
                     for n in comp_names] for i in range(len(labels))]

        for metric, title, xl, scale in (
                ("busy", "Busy time per component", "ms", 1e6),
                ("blocked_in_handler", "Blocked inside handlers per component", "ms", 1e6),
                ("throughput_per_s", "Throughput per component", "messages / s", 1.0)):
            p.append('<div class="chart">%s</div>' % charts.compare_bars(
                labels, comp_names, series(metric, scale), title, xl))
    head = ["section", "name", "metric"]
    for i, lab in enumerate(labels):
        head.append(esc(lab))
        if i:
            head.append("%s / %s" % (esc(lab), esc(labels[0])))
    body = []
    for r in rows:
        cells = [esc(r["section"]), "<code>%s</code>" % esc(r["name"]) if r["name"] else "",
                 esc(r["label"])]
        for i, v in enumerate(r["values"]):
            cell = esc(fmt_compare_value(v, r["kind"]))
            cells.append(("~" if r["approx"][i] and v is not None else "") + cell)
            if i:
                rt = r["ratios"][i]
                cls = ""
                if rt is not None and rt != 1.0 and rt == rt:
                    cls = ' style="background:%s"' % ("#e8f5e9" if rt < 1 else "#fff3e0")
                cells.append('<td%s>%s</td>' % (cls, esc(fmt_ratio(rt, r["values"][0], v))))
        row = []
        for i, c in enumerate(cells):
            if c.startswith("<td"):
                row.append(c)
            elif i < 3:
                row.append('<td class="l">%s</td>' % c)
            else:
                row.append("<td>%s</td>" % c)
        body.append("<tr>%s</tr>" % "".join(row))
    p.append("<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (
        "".join('<th class="l">%s</th>' % h if i < 3 else "<th>%s</th>" % h
                for i, h in enumerate(head)), "".join(body)))
    p.append("</body></html>\n")
    path = os.path.join(out_dir, "index.html")
    outputs.write_file(path, "\n".join(p))
    return path


# ---------------------------------------------------------------------------------------------
# CLI


def add_parser(subparsers):
    p = subparsers.add_parser(
        "compare",
        help="compare two or more runs side by side, with ratios to the first",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="TRACE_OR_JSON",
                   help="trace folder or JSON report; the first is the baseline")
    p.add_argument("--html", metavar="DIR", dest="html_dir",
                   help="also write DIR/index.html with the table and charts")
    p.add_argument("--json", metavar="FILE", dest="json_out",
                   help="write the comparison as JSON to FILE ('-' = stdout, no table)")
    p.add_argument("--label", action="append", metavar="NAME", dest="labels",
                   help="name of each input in the table (repeat, in order; default: the "
                        "input's file or folder name)")
    p.set_defaults(func=run)
    return p


def _default_label(path, taken):
    base = os.path.basename(os.path.normpath(path)) or path
    if base.endswith(".json"):
        base = base[:-5]
    label, n = base, 2
    while label in taken:
        label = "%s (%d)" % (base, n)
        n += 1
    return label


def run(args):
    # SIGTERM / SIGHUP / SIGINT become an exception: babeltrace2 is killed and temporary
    # files removed on the way out (exit status 128 + the signal).
    with outputs.signals_raise():
        return _run(args)


def _run(args):
    if len(args.inputs) < 2:
        raise UserError("compare needs at least two inputs (trace folders or JSON reports)")
    if args.labels and len(args.labels) != len(args.inputs):
        raise UserError("--label given %d times for %d inputs" % (len(args.labels),
                                                                  len(args.inputs)))
    labels = []
    for i, path in enumerate(args.inputs):
        labels.append(args.labels[i] if args.labels else _default_label(path, labels))
    reports = [(lab, load_input(path)) for lab, path in zip(labels, args.inputs)]
    rows = compare_reports(reports)
    if args.json_out:
        data = json.dumps(to_json(labels, rows), indent=1, allow_nan=False)
        if args.json_out == "-":
            sys.stdout.write(data + "\n")
        else:
            outputs.write_file(args.json_out, data + "\n", "--json")
            print("looptrace: comparison JSON written to %s" % escape(args.json_out),
                  file=sys.stderr)
    if args.json_out != "-":
        sys.stdout.write(render_text(labels, rows))
    if args.html_dir:
        try:
            path = write_html(labels, rows, reports, args.html_dir)
        except OSError as exc:
            raise UserError("cannot write %s: %s" % (escape(args.html_dir), exc.strerror))
        print("looptrace: comparison page written to %s" % escape(path), file=sys.stderr)
    return 0
