"""The HTML report: one self-contained index.html built from a schema-v1 report dict.

write_html(report, out_dir) is what `looptrace report TRACE --html DIR` calls. The page has
no external resource (styles inline, charts inline SVG from charts.py) so it can be mailed,
archived or opened offline. Every string taken from the trace (component, channel, kind and
object names, warning messages) is untrusted and goes through esc() before it reaches the
page; inside SVG it is escaped by matplotlib's XML writer.

Standalone use (for tests and ad-hoc rendering): python3 -m looptrace.html REPORT.json DIR
"""

import html as _html
import json
import os
import re
import sys

from . import chan_groups, charts
from .fmt import fmt_ns_html, fmt_num_html, fmt_pct_html, ipc_mark, num
from .symbolize import call_site_text

SCHEMA = "looptrace-report/1"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def esc(value):
    """Text safe inside HTML element content and double- or single-quoted attributes."""
    if value is None:
        return "\u2013"
    return _html.escape(_CONTROL.sub("\ufffd", str(value)), quote=True)


def _obj(entry, channels_by_id):
    """A readable name for the object a block waited on."""
    for key in ("object_name", "channel_name"):
        if entry.get(key):
            return str(entry[key])
    ch = entry.get("channel")
    if isinstance(ch, str) and ch:
        return ch
    if num(ch) and ch in channels_by_id:
        return str(channels_by_id[ch].get("name", ch))
    obj = entry.get("object")
    if num(obj) and obj:
        return "0x%x" % int(obj)
    if isinstance(obj, str) and obj:
        return obj
    return None


def _handled_none(c):
    """True when component `c` handled no message (no throughput, no utilization)."""
    m = c.get("messages")
    return not (num(m) and m > 0)


def _has_sequences(comps):
    """Whether any component runs as a sequence on a pool: the page then shows runnable
    time, where each sequence runs, awaits that released their thread and the pools."""
    return any(c.get("sequence") for c in comps)


def _comp_name(c):
    """A component's name in <code>; a task row says how many tasks it sums."""
    text = "<code>%s</code>" % esc(c.get("name"))
    if c.get("task"):
        text += " (%s tasks)" % fmt_num_html(c.get("tasks"))
    return text


def _tid(c):
    """The tid of a thread component; @pool for a sequence (it has no thread of its own)."""
    if c.get("sequence"):
        return "@" + esc(c.get("pool") or "?")
    return esc(c.get("tid"))


def _state(t, key):
    """time_ns[key]; runnable is 0 where the report predates it (a thread never is)."""
    return t.get(key, 0) if key == "runnable" else t.get(key)


def _pct(x):
    """A fraction of the report as a percentage, '?' when the report lacks it."""
    return "%.1f %%" % (100.0 * x) if num(x) else "?"


def _site_words(c, f, chans, with_call_site):
    """'reason of <object> [at <call site>]' for the blocked_by entry a finding names."""
    entries = c.get("blocked_by") or []
    i = f.get("site")
    if not (num(i) and 0 <= i < len(entries) and isinstance(entries[int(i)], dict)):
        return None, None
    e = entries[int(i)]
    what = esc(e.get("reason", "?"))
    obj = _obj(e, chans)
    if obj and obj not in ("0x0", "0"):  # no wait object (a sleep, a signal)
        what += " of <code>%s</code>" % esc(obj)
    site = call_site_text(e) if with_call_site else None
    if site:
        what += " at <code>%s</code>" % esc(site)
    return what, e


def _sentence(c, f, chans):
    """One finding of component `c` in plain words (escaped HTML, names in <code>)."""
    name = "<code>%s</code>" % esc(c.get("name"))
    code = f.get("code")
    if code == "blocks-in-handler":
        text = "%s blocked inside its handlers for %s of its time (%s of its handler time)" % (
            name, _pct(f.get("wall_frac")), _pct(f.get("value")))
        what, e = _site_words(c, f, chans, False)
        if what:
            count = e.get("count")
            text += "; its largest site: %s (%s of that blocking, %s time%s)" % (
                what, _pct(f.get("site_share")), fmt_num_html(count), "" if count == 1 else "s")
        if num(c.get("released_ns")) and c["released_ns"] > 0:
            text += "; %s of it awaiting with its pool thread released (the sequence still " \
                    "waited, the thread ran others)" % fmt_ns_html(c["released_ns"])
        return text + "; it was busy %s of its time." % _pct(f.get("busy_frac"))
    if code == "holds-pool-thread":
        text = "%s blocked for %s of its time holding a thread of pool <code>%s</code> " \
               "(a blocking call, not an await" % (name, _pct(f.get("value")),
                                                   esc(c.get("pool")))
        what, _ = _site_words(c, f, chans, True)
        if what:
            text += "; its largest site: %s" % what
        return text + "): that thread ran no other sequence meanwhile, which starves every " \
                      "sequence on the pool."
    if code == "blocked-no-messages":
        text = "%s (pid %s, tid %s) was blocked for %s of its time" % (
            name, esc(c.get("pid")), esc(c.get("tid")), _pct(f.get("value")))
        what, _ = _site_words(c, f, chans, True)
        if what:
            text += "; its largest site: %s (%s of it)" % (what, _pct(f.get("site_share")))
        return text + ". It handled no messages: without loop events looptrace cannot tell " \
                      "idle waiting from blocking."
    if code == "blocked-outside":
        return "%s was blocked outside its handlers for %s of its time." % (
            name, _pct(f.get("value")))
    if code == "saturated":
        return "%s is saturated: it never waited for work (idle %s of its time, busy %s)." % (
            name, _pct(f["idle_frac"]), _pct(f.get("busy_frac")))
    if code == "cut-short":
        return "%s was still running when the trace ended: the program was probably killed; " \
               "its figures cover the recorded part only." % name
    return "%s: %s." % (name, esc(f.get("message")))


SEVERITY_CLASS = {"bad": "bad", "warn": "warn", "info": "info"}


def component_sentences(report):
    """The findings of every component in plain words, as the analysis decided them
    (components[].findings, see docs/reports.md): a list of (css class, code, component,
    text) with `text` already escaped HTML (names wrapped in <code>). Nothing is decided
    here: a report without `findings` has none."""
    chans = {c.get("id"): c for c in report.get("channels") or [] if isinstance(c, dict)}
    out = []
    for c in report.get("components") or []:
        if not isinstance(c, dict):
            continue
        for f in c.get("findings") or []:
            if isinstance(f, dict):
                out.append((SEVERITY_CLASS.get(f.get("severity"), "warn"), f.get("code"), c,
                            _sentence(c, f, chans)))
    return out


def _css():
    return """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1150px;padding:1em 1.5em;color:#222;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:1.6em} h3{margin-bottom:.3em}
.meta{color:#555;font-size:.9em}
.banner{padding:.6em 1em;border-radius:6px;margin:.5em 0;border:1px solid}
.bad{background:#ffebee;border-color:#e57373}
.warn{background:#fff8e1;border-color:#ffca28}
.lost{background:#fce4ec;border-color:#d81b60;font-weight:600}
.ok{background:#e8f5e9;border-color:#81c784}
.info{background:#e3f2fd;border-color:#64b5f6}
table{border-collapse:collapse;margin:.5em 0;font-size:.88em}
th,td{border:1px solid #ddd;padding:.25em .55em;text-align:right;vertical-align:top}
th{background:#f4f6f8} td.l,th.l{text-align:left}
code{background:#f1f1f1;padding:0 .25em;border-radius:3px;word-break:break-all}
.chart svg{width:100%;max-width:1100px;height:auto}
.note{color:#555;font-style:italic}
.sw{display:inline-block;width:.9em;height:.9em;margin:0 .25em 0 .8em;vertical-align:middle}
details{margin:.3em 0}
"""


def _table(headers, rows, left_cols=1):
    """rows: lists of already-escaped HTML cells."""
    h = "".join(
        '<th class="l">%s</th>' % x if i < left_cols else "<th>%s</th>" % x
        for i, x in enumerate(headers)
    )
    body = []
    for r in rows:
        body.append(
            "<tr>%s</tr>"
            % "".join(
                '<td class="l">%s</td>' % x if i < left_cols else "<td>%s</td>" % x
                for i, x in enumerate(r)
            )
        )
    return "<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (h, "".join(body))


def _pcts(d):
    d = d or {}
    return [fmt_ns_html(d.get(q)) for q in ("p50", "p90", "p99", "max")]


def _chart(svg, caption=None):
    cap = '<p class="note">%s</p>' % caption if caption else ""
    return '<div class="chart">%s%s</div>' % (svg, cap)


def _warning_target(w, comps_by_id, chans_by_id):
    for key, table in (("component", comps_by_id), ("channel", chans_by_id), ("route", None)):
        if key in w and w[key] is not None:
            v = w[key]
            if w.get("name") is not None:
                v = w["name"]
            elif table is not None and num(v):
                hit = table.get((w.get("pid"), v)) or table.get(v)
                if hit:
                    v = hit.get("name", v)
            return " %s <code>%s</code>" % (key, esc(v))
    return ""


def _who(name):
    """A hop end: a component name, or a note when the sender was outside any component."""
    if name is None or name == "":
        return '<span class="note">outside any component</span>'
    return "<code>%s</code>" % esc(name)


POOL_HEADERS = ["pool", "pid", "threads", "utilization", "busy", "idle", "blocked", "runs",
                "components", "tasks", "runnable", "released"]


def _pool_row(x):
    """A pools[] entry as escaped cells: its threads' time split (share and ns), its runs and
    the time its sequences spent runnable and awaiting with their thread released."""
    parts = [x.get(k) for k in ("busy_ns", "idle_ns", "blocked_ns")]
    whole = sum(v for v in parts if num(v)) or None
    return ([esc(x.get("name")), esc(x.get("pid")), fmt_num_html(x.get("threads")),
             fmt_pct_html(x.get("utilization"), 1)]
            + ["%s<br><small>%s</small>" % (fmt_pct_html(v, whole), fmt_ns_html(v))
               for v in parts]
            + [fmt_num_html(x.get(k)) for k in ("runs", "components", "tasks")]
            + [fmt_ns_html(x.get(k)) for k in ("runnable_ns", "released_ns")])


def render(report):
    """The complete page for `report` (a schema-v1 dict) as a string."""
    if not isinstance(report, dict):
        raise ValueError("report must be a JSON object")
    tr = report.get("trace") or {}
    comps = [c for c in report.get("components") or [] if isinstance(c, dict)]
    chans = [c for c in report.get("channels") or [] if isinstance(c, dict)]
    routes = [r for r in report.get("routes") or [] if isinstance(r, dict)]
    flows = report.get("flows") or {}
    # Ids are per process: index by (pid, id), and by id alone for single-process reports.
    comps_by_id = {(c.get("pid"), c.get("id")): c for c in comps}
    chans_by_id = {(c.get("pid"), c.get("id")): c for c in chans}
    if len({c.get("pid") for c in comps + chans}) <= 1:
        comps_by_id.update({c.get("id"): c for c in comps})
        chans_by_id.update({c.get("id"): c for c in chans})
    begin = tr.get("begin_ns") or 0
    end = tr.get("end_ns") or begin
    p = []
    p.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
    p.append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    p.append("<title>looptrace report: %s</title>" % esc(tr.get("path") or "trace"))
    p.append("<style>%s</style></head><body>" % _css())
    p.append("<h1>looptrace report</h1>")
    p.append(
        '<p class="meta">Trace <code>%s</code> &middot; %s &middot; %s events &middot; '
        "%d components, %d channels, %d routes &middot; schema %s</p>"
        % (esc(tr.get("path")), fmt_ns_html(end - begin), fmt_num_html(tr.get("events")),
           len(comps), len(chans), len(routes), esc(report.get("schema")))
    )

    # Banners: losses first, then findings in plain words, then the analysis' warnings.
    lost = tr.get("lost_events") or 0
    windows = tr.get("lost_windows") or []
    if lost:
        span = sum((w[1] - w[0]) for w in windows if isinstance(w, list) and len(w) == 2)
        p.append(
            '<div class="banner lost">%s events were lost in %d window%s (%s in total). '
            "Numbers for time near those windows are not exact.</div>"
            % (fmt_num_html(lost), len(windows), "" if len(windows) == 1 else "s",
               fmt_ns_html(span))
        )
    findings = component_sentences(report)
    for sev, code, comp, text in findings:
        p.append('<div class="banner %s" data-finding="%s" data-component="%s">%s</div>'
                 % (sev, esc(code), esc(comp.get("key", comp.get("name"))), text))
    warnings = [w for w in report.get("warnings") or [] if isinstance(w, dict)]
    if warnings:
        items = "".join(
            "<li><b>%s</b>%s: %s</li>"
            % (esc(w.get("kind")), _warning_target(w, comps_by_id, chans_by_id),
               esc(w.get("message")))
            for w in warnings
        )
        p.append('<div class="banner warn"><b>Warnings</b><ul>%s</ul></div>' % items)
    elif not lost and not findings:
        p.append('<div class="banner ok">No warnings.</div>')
    elif not lost:
        p.append('<p class="note">The analysis raised no warnings.</p>')

    # Components
    p.append("<h2>Components</h2>")
    if not comps:
        p.append('<p class="note">The trace has no components.</p>')
    else:
        if len(comps) > charts.MAX_ROWS:
            p.append('<p class="note">Charts show the first %d of %d components.</p>'
                     % (charts.MAX_ROWS, len(comps)))
        p.append(_chart(charts.time_split(comps),
                         "Hatched: time blocked inside handlers, one shade per reason."
                         + ("" if charts.split_is_exact(comps)
                            else " The report does not say which blocking happened inside "
                                 "handlers: blocked-in-handler time is split by reason in "
                                 "proportion to all blocking (an estimate).")))
        if any(c.get("series") for c in comps):
            p.append(_chart(charts.state_timeline(comps, begin, end)))
            if all(_handled_none(c) for c in comps):
                p.append('<p class="note">No messages: no component handled one, so there is '
                         "no throughput over time to chart.</p>")
            else:
                p.append(_chart(charts.throughput(comps, begin, end)))
        else:
            p.append('<p class="note">The report has no time series: no timeline or '
                     "throughput-over-time chart.</p>")
        seqs = _has_sequences(comps)
        states = ("busy", "idle") + (("runnable",) if seqs else ()) \
            + ("blocked_in_handler", "blocked_outside", "outside")
        rows = []
        for c in comps:
            t = c.get("time_ns") or {}
            w = c.get("wall_ns")
            implicit = ' <small class="note">(thread, no component_begin)</small>' \
                if c.get("implicit") else ""
            rows.append(
                [_comp_name(c) + implicit, esc(c.get("pid")), _tid(c), fmt_ns_html(w)]
                + ["%s<br><small>%s</small>" % (fmt_pct_html(_state(t, k), w),
                                                fmt_ns_html(_state(t, k)))
                   for k in states]
                + [fmt_num_html(c.get("messages")),
                   "\u2013" if _handled_none(c) else fmt_num_html(c.get("throughput_per_s"))]
            )
        p.append(_table(["component", "pid", "tid / @pool" if seqs else "tid", "wall", "busy",
                         "idle"] + (["runnable"] if seqs else [])
                        + ["blocked in handler", "blocked outside", "outside", "messages",
                           "msg/s"], rows))
        if seqs:
            p.append('<p class="note">@pool: a sequence, run by that pool\'s threads; runnable: '
                     "it had work and no pool thread ran it.</p>")
        p.append("<h3>Handler and queue-wait times</h3>")
        p.append(_table(
            ["component", "handle p50", "p90", "p99", "max", "queue wait p50", "p90", "p99",
             "max", "utilization"],
            [[_comp_name(c)] + _pcts(c.get("handle_ns"))
             + _pcts(c.get("queue_wait_ns"))
             + ["\u2013" if _handled_none(c) else fmt_pct_html(c.get("utilization"), 1)]
             for c in comps]))
        blocked = [(c, e) for c in comps for e in c.get("blocked_by") or [] if isinstance(e, dict)]
        if blocked:
            p.append("<h3>What components blocked on</h3>")
            rows = []
            for c, e in sorted(blocked, key=lambda ce: -(ce[1].get("ns") or 0)):
                inside = charts.inside_handler_ns(e)
                if inside is not None and "in_handler" not in e:
                    inside = fmt_ns_html(inside)
                elif inside is not None:
                    inside = "yes" if e["in_handler"] else "no"
                call = e.get("call")
                rows.append([_comp_name(c), esc(c.get("pid")), _tid(c), esc(e.get("reason")),
                             "<code>%s</code>" % esc(call) if call else "\u2013",
                             "<code>%s</code>" % esc(_obj(e, chans_by_id)),
                             esc(call_site_text(e) or "\u2013"),
                             "\u2013" if inside is None else inside,
                             fmt_ns_html(e.get("ns")), fmt_num_html(e.get("count"))]
                            + ([fmt_ns_html(e.get("released_ns") or 0)] if seqs else []))
            p.append(_table(["component", "pid", "tid / @pool" if seqs else "tid", "reason",
                             "call", "object", "call site", "in handler", "time", "count"]
                            + (["released"] if seqs else []), rows, left_cols=8))
            p.append('<p class="note">call: the wrapped call that blocked (<code>epoll_wait</code>, '
                     "<code>pthread_cond_wait</code>, ...; \u2013 for the program's own "
                     "<code>lt_block_*</code>).</p>")
            if seqs:
                p.append('<p class="note">released: awaited with the pool thread released to '
                         "other sequences (the handler still waited).</p>")
        loops = [c for c in comps if isinstance(c.get("loop_top"), dict)]
        if loops:
            # interposed threads: the wait taken as the top of their loop (its time is idle)
            p.append("<h3>Loop tops (interposed threads: idle in this wait)</h3>")
            p.append(_table(
                ["component", "pid", "tid", "loop top", "call", "how", "waits"],
                [["<code>%s</code>" % esc(c.get("name")), esc(c.get("pid")), esc(c.get("tid")),
                  esc(call_site_text(c["loop_top"]) or "\u2013"),
                  esc(c["loop_top"].get("call") or "\u2013"), esc(c["loop_top"].get("how")),
                  fmt_num_html(c["loop_top"].get("waits"))] for c in loops], left_cols=6))

    pools = [x for x in report.get("pools") or [] if isinstance(x, dict)]
    if pools:
        p.append("<h2>Pools</h2>")
        p.append(_table(POOL_HEADERS, [_pool_row(x) for x in pools]))
        p.append('<p class="note">Busy, idle and blocked: the pool threads\' time (summed over '
                 "its threads); blocked: a thread held by a blocking call that is not an await, "
                 "running no sequence. Runnable: its sequences had work and no thread ran them; "
                 "released: they awaited and freed their thread.</p>")

    # Channels: those of one name made per request or task folded into one row
    p.append("<h2>Channels</h2>")
    if not chans:
        p.append('<p class="note">The trace declares no channels.</p>')
    else:
        shown = chan_groups.folded(report)
        # in the charts a group's name carries its count (matplotlib escapes the text)
        chans = [dict(c, name="%s%s" % (c.get("name"), chan_groups.label(c, "\u00d7")))
                 if chan_groups.label(c) else c for c in shown]
        with_series = [c for c in chans if c.get("series")]
        if with_series:
            p.append(_chart(charts.channel_depth(with_series, begin)))
        missing = [c for c in shown if not c.get("series")]
        if missing:
            p.append('<p class="note">No depth-over-time series in the report for %s; '
                     "their mean and max depth are in the table.</p>"
                     % ", ".join("<code>%s</code>%s" % (esc(c.get("name")),
                                                        chan_groups.label(c, "\u00d7"))
                                 for c in missing[:20])
                     + ("" if len(missing) <= 20 else " and %d more" % (len(missing) - 20)))
        p.append(_chart(charts.percentiles(chans, "queue_wait_ns", "Queue wait per channel")))
        if any((c.get("send_blocked_ns") or 0) > 0 for c in chans):
            p.append(_chart(charts.backpressure(chans)))
        else:
            p.append('<p class="note">No sender ever blocked on a full channel (no '
                     "backpressure).</p>")
        rows = []
        for c in shown:
            ll = c.get("littles_law") or {}
            cap = c.get("capacity")
            rows.append(["<code>%s</code>%s%s" % (esc(c.get("name")),
                                                  chan_groups.label(c, "\u00d7"),
                                                  esc(ipc_mark(c))),
                         "unbounded" if cap == 0 else fmt_num_html(cap),
                         fmt_num_html(c.get("sends")),
                         fmt_num_html(c.get("recvs")), fmt_num_html(c.get("max_depth")),
                         fmt_num_html(c.get("mean_depth"))] + _pcts(c.get("queue_wait_ns"))
                        + [fmt_ns_html(c.get("send_blocked_ns")), fmt_num_html(ll.get("ratio"))])
        p.append(_table(["channel", "capacity", "sends", "recvs", "max depth", "mean depth",
                         "wait p50", "p90", "p99", "max", "send blocked", "Little L/(\u03bbW)"],
                        rows))
        if any(chan_groups.label(c) for c in shown):
            p.append('<p class="note">NAME \u00d7N: N channels of that name in one process '
                     "(made per request or task), one row: sends, receipts and send-blocked "
                     "time summed, queue-wait percentiles over all their messages, max depth "
                     "the largest of one channel, mean depth that of one channel over its "
                     "life; Little's law for them together.</p>")

    # Routes
    if routes:
        p.append("<h2>Routes</h2>")
        rows = []
        for r in routes:
            owner = r.get("owner_name", r.get("owner"))
            hit = comps_by_id.get((r.get("pid"), owner)) or comps_by_id.get(owner)
            if "owner_name" not in r and hit:
                owner = hit.get("name")
            rows.append([esc(r.get("id")), "<code>%s</code>" % esc(owner),
                         fmt_num_html(r.get("dispatches"))] + _pcts(r.get("dispatch_ns")))
        p.append(_table(["route", "owner", "dispatches", "dispatch p50", "p90", "p99", "max"],
                        rows, left_cols=2))

    # Flows
    p.append("<h2>Flows</h2>")
    if not flows or not flows.get("count"):
        p.append('<p class="note">No request/reply flows in the trace.</p>')
    else:
        p.append("<p>%s flows (a request and the messages sent on its behalf).</p>"
                 % fmt_num_html(flows.get("count")))
        lat = flows.get("latency_ns") or {}
        if any(num(lat.get(q)) for q in ("p50", "p90", "p99", "max")):
            p.append(_chart(charts.flow_latency(lat)))
            p.append(_table(["", "p50", "p90", "p99", "max"],
                            [["end-to-end latency"] + _pcts(lat)]))
        hop_list = [h for h in flows.get("hops") or [] if isinstance(h, dict)]
        if hop_list:
            named = []
            for h in hop_list:
                h = dict(h)
                for k in ("from", "to"):
                    if num(h.get(k)) and h[k] in comps_by_id:
                        h[k] = comps_by_id[h[k]].get("name")
                named.append(h)
            chart_hops = [dict(h, **{k: h.get(k) or "(outside)" for k in ("from", "to")})
                          for h in named]
            p.append(_chart(charts.hops(chart_hops),
                            "Mean time per hop: queued before the handler started, then in "
                            "the handler."))
            p.append(_table(["from", "to", "hops", "queued (mean)", "in handler (mean)"],
                            [[_who(h.get("from")), _who(h.get("to")), fmt_num_html(h.get("count")),
                              fmt_ns_html(h.get("queue_ns")), fmt_ns_html(h.get("handle_ns"))]
                             for h in named], left_cols=2))
        cp = flows.get("critical_path")
        if cp and all(isinstance(x, dict) for x in cp):
            crit = flows.get("critical_flow") or {}
            p.append("<h3>Slowest flow%s</h3>" % (
                " (%s end to end)" % fmt_ns_html(crit.get("latency_ns"))
                if num(crit.get("latency_ns")) else ""))
            p.append(_table(["message", "from", "to", "queued", "in handler"],
                            [[esc(x.get("msg")), _who(x.get("from")), _who(x.get("to")),
                              fmt_ns_html(x.get("queue_ns")), fmt_ns_html(x.get("handle_ns"))]
                             for x in cp], left_cols=3))
        elif cp:
            parts = []
            for x in cp:
                if num(x) and x in comps_by_id:
                    x = comps_by_id[x].get("name")
                parts.append("<code>%s</code>" % esc(x))
            p.append("<p>Critical path: %s</p>" % " \u2192 ".join(parts))

    par = report.get("parallelism") or {}
    if par and comps and all(_handled_none(c) for c in comps):
        p.append("<h2>Parallelism</h2><p>No component handled a message: no parallelism "
                 "figure.</p>")
    elif par:
        p.append("<h2>Parallelism</h2><p>On average %s components were busy at once (at most %s)."
                 "</p>" % (fmt_num_html(par.get("mean_busy_components")),
                           fmt_num_html(par.get("max_busy_components"))))
    p.append('<p class="meta">Generated by looptrace from the schema-v1 report; charts are inline '
             "SVG, the page loads nothing from elsewhere.</p></body></html>\n")
    return "\n".join(p)


def write_html(report, out_dir):
    """Write out_dir/index.html for `report` (schema-v1 dict), creating out_dir if needed, and
    return the path of index.html. Raises errors.UserError (one line) when the folder or the
    file cannot be written."""
    from .errors import UserError

    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise UserError("--html %s: %s" % (_show(out_dir), exc.strerror or exc))
    from . import outputs

    page = render(report)
    path = os.path.join(out_dir, "index.html")
    outputs.write_file(path, page)
    return path


def _show(path):
    return _CONTROL.sub("?", str(path))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python3 -m looptrace.html REPORT.json OUT_DIR", file=sys.stderr)
        return 2
    from .errors import UserError

    try:
        with open(argv[0], encoding="utf-8") as f:
            report = json.load(f)
        print(write_html(report, argv[1]))
    except (OSError, ValueError, UserError) as exc:
        print("looptrace: %s" % exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
