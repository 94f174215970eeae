"""What `looptrace top` shows, computed from two consecutive snapshots; and its text form.

A snapshot is the sink's schema-v1 report of the whole run so far plus a `snapshot` object
(seq, final, wall clock, `inboxes`: which thread receives from each channel). Time per
component (`time_ns`) and `messages` are cumulative, so the figures "over the last interval"
are differences between two snapshots divided by the difference of the component's wall
time (trace clock): no second implementation of the metrics. Everything here is a pure
function of the snapshots, unit tested without LTTng.
"""

from .fmt import fmt_num_top, fmt_pct_top
from .render_text import escape, width

STATES = ("busy", "idle", "blocked_in_handler")

# (key, title, width, what it sorts by); the first column (name) is sized to fit.
COLUMNS = [
    ("name", "COMPONENT", 0, "name"),
    ("messages", "MSGS", 8, "messages handled so far"),
    ("rate", "MSG/S", 7, "messages per second over the last interval"),
    ("busy_now", "BUSY", 5, "% busy over the last interval"),
    ("idle_now", "IDLE", 5, "% idle over the last interval"),
    ("blocked_now", "BLK-H", 5, "% blocked in a handler over the last interval"),
    ("busy_run", "busy", 5, "% busy over the run"),
    ("idle_run", "idle", 5, "% idle over the run"),
    ("blocked_run", "blk-h", 5, "% blocked in a handler over the run"),
    ("inbox", "INBOX", 5, "messages queued in its inbox now"),
]
SORT_KEYS = "1234567890"  # key i sorts by COLUMNS[i]
WARN_TITLE = "WARNINGS"
# Short forms of the warning kinds, used when the full names do not fit.
WARN_SHORT = {"blocks-in-handler": "blk-hdl", "saturated": "sat", "queue-growth": "q-grow",
              "slow-route": "slow-rt", "lost-events": "lost"}


def warnings_text(kinds, cols):
    text = ",".join(escape(k) for k in kinds)
    if width(text) > cols:
        text = ",".join(escape(WARN_SHORT.get(k, k)) for k in kinds)
    return text


def comp_key(c):
    return "%s:%s" % (c.get("pid"), c.get("id"))


def _ratio(part, whole):
    if not isinstance(part, (int, float)) or not whole or whole <= 0:
        return None
    return 100.0 * part / whole


def _time(c, state):
    return (c.get("time_ns") or {}).get(state) or 0


def inbox_channels(snap, comp):
    """The channels `comp` receives from (their recv events are on its thread)."""
    boxes = (snap.get("snapshot") or {}).get("inboxes") or []
    mine = {b.get("chan") for b in boxes
            if b.get("pid") == comp.get("pid") and b.get("tid") == comp.get("tid")}
    return [ch for ch in snap.get("channels") or []
            if ch.get("pid") == comp.get("pid") and ch.get("id") in mine]


# Warnings that mean nothing live: every component of a running program is "still running
# when the trace ends" (cut-short) in a snapshot.
LIVE_IGNORED = frozenset(("cut-short",))


def component_warnings(snap, comp, chans):
    kinds = []
    chan_ids = {ch.get("id") for ch in chans}
    for w in snap.get("warnings") or []:
        if w.get("pid") not in (None, comp.get("pid")) or w.get("kind") in LIVE_IGNORED:
            continue
        if w.get("component") == comp.get("id") and "component" in w:
            kinds.append(w.get("kind", "?"))
        elif "channel" in w and w.get("channel") in chan_ids:
            kinds.append(w.get("kind", "?"))
    return sorted(set(kinds))


def rows(prev, cur):
    """One dict per component of `cur`: figures over the interval since `prev` (None for
    the first snapshot, or after the reader restarted) and over the run."""
    before = {}
    if prev is not None and (prev.get("snapshot") or {}).get("restart") == (
            cur.get("snapshot") or {}).get("restart"):
        before = {comp_key(c): c for c in prev.get("components") or []}
    trace_prev = (prev or {}).get("trace") or {}
    trace_cur = cur.get("trace") or {}
    dt_trace = None
    if before and trace_prev.get("end_ns") and trace_cur.get("end_ns"):
        dt_trace = trace_cur["end_ns"] - trace_prev["end_ns"]
    out = []
    for c in cur.get("components") or []:
        wall = c.get("wall_ns") or 0
        p = before.get(comp_key(c))
        row = {
            "key": comp_key(c), "id": c.get("id"), "name": c.get("name"), "pid": c.get("pid"),
            "tid": c.get("tid"), "ended": bool(c.get("ended")),
            "messages": c.get("messages") or 0, "wall_ns": wall,
        }
        for s, col in zip(STATES, ("busy", "idle", "blocked")):
            row[col + "_run"] = _ratio(_time(c, s), wall)
            row[col + "_now"] = None
        row["rate"] = None
        if p is not None:
            dwall = wall - (p.get("wall_ns") or 0)
            if dwall > 0:
                for s, col in zip(STATES, ("busy", "idle", "blocked")):
                    row[col + "_now"] = _ratio(_time(c, s) - _time(p, s), dwall)
                row["rate"] = (row["messages"] - (p.get("messages") or 0)) * 1e9 / dwall
            elif dt_trace:
                row["rate"] = 0.0
        elif p is None:
            # first snapshot, a new component, or the reader started again: the interval is
            # the run so far
            for col in ("busy", "idle", "blocked"):
                row[col + "_now"] = row[col + "_run"]
            if wall > 0:
                row["rate"] = row["messages"] * 1e9 / wall
        chans = inbox_channels(cur, c)
        row["inbox"] = sum(ch.get("depth") or 0 for ch in chans) if chans else None
        row["channels"] = [{
            "id": ch.get("id"), "name": ch.get("name"), "depth": ch.get("depth"),
            "capacity": ch.get("capacity"), "sends": ch.get("sends"), "recvs": ch.get("recvs"),
            "max_depth": ch.get("max_depth")} for ch in chans]
        row["warnings"] = component_warnings(cur, c, chans)
        row["loop_top"] = c.get("loop_top")  # interposed threads: the wait taken as idle
        row["cpu_ns"] = c.get("cpu_ns")
        out.append(row)
    return out


def sort_rows(items, column, reverse):
    """Sort by COLUMNS[column] key; missing values last. Names ascending, numbers descending
    by default (`reverse` flips)."""
    key = COLUMNS[column][0]
    if key == "name":
        return sorted(items, key=lambda r: (escape(r.get("name")), r["key"]), reverse=reverse)
    present = [r for r in items if r.get(key) is not None]
    missing = [r for r in items if r.get(key) is None]
    present.sort(key=lambda r: (r[key], r["key"]), reverse=not reverse)
    return present + missing


# ---------------------------------------------------------------------------------------------
# Text


def cell(row, key):
    v = row.get(key)
    if key in ("messages", "rate", "inbox"):
        return fmt_num_top(v)
    return fmt_pct_top(v)


def clip(text, cols):
    """`text` cut to `cols` display columns ('~' marks a cut)."""
    if width(text) <= cols:
        return text
    out = ""
    for ch in text:
        if width(out + ch) > cols - 1:
            break
        out += ch
    return out + "~"


def pad(text, cols, right=False):
    text = clip(text, cols)
    fill = " " * max(0, cols - width(text))
    return fill + text if right else text + fill


def layout(items, total):
    """(name width, show warnings column, warnings width) for a screen `total` wide."""
    fixed = sum(w + 1 for _, _, w, _ in COLUMNS[1:])
    longest = max([width(escape(r.get("name"))) + (1 if r.get("ended") else 0)
                   for r in items] + [len(COLUMNS[0][1])])
    name_w = max(9, min(longest, 24, total - fixed - 3))  # 2 left for a " !" marker
    rest = total - fixed - name_w - 1
    return name_w, rest >= 5, rest


def header_lines(name_w, warn_w, show_warn):
    top = pad("", name_w) + " " + pad("", 8) + " " + pad("-- last interval --", 25) + " " + \
        pad("--- whole run ---", 17)
    cols = [pad(COLUMNS[0][1], name_w)]
    cols += [pad(t, w, right=True) for _, t, w, _ in COLUMNS[1:]]
    line = " ".join(cols)
    if show_warn:
        line += " " + pad(WARN_TITLE, warn_w)
    return [top.rstrip(), line.rstrip()]


def row_line(row, name_w, warn_w, show_warn):
    name = escape(row.get("name"))
    if row.get("ended"):
        name += "*"
    cols = [pad(name, name_w)]
    cols += [pad(cell(row, k), w, right=True) for k, _, w, _ in COLUMNS[1:]]
    line = " ".join(cols)
    if show_warn:
        line += " " + pad(warnings_text(row["warnings"], warn_w), warn_w)
    elif row["warnings"]:
        line += " !"
    return line


def channel_line(ch, indent=2):
    cap = ch.get("capacity")
    depth = "%s/%s" % (ch.get("depth"), cap if cap else "inf")
    return "%s> %s  depth %s  max %s  sent %s  received %s" % (
        " " * indent, escape(ch.get("name")), depth, ch.get("max_depth"),
        fmt_num_top(ch.get("sends")), fmt_num_top(ch.get("recvs")))


def status_line(snap, program):
    trace = snap.get("trace") or {}
    s = snap.get("snapshot") or {}
    dur = (trace.get("duration_ns") or 0) / 1e9
    parts = ["snapshot %s" % s.get("seq", "?"), "trace %.1fs" % dur,
             "events %s" % fmt_num_top(trace.get("events") or 0)]
    lost = trace.get("lost_events") or 0
    if lost:
        parts.append("LOST %s" % fmt_num_top(lost))
    if program:
        parts.append(program)
    return "  ".join(parts)


def render_text(prev, cur, program="", channels=False, total=100, sort=0, reverse=False):
    """A snapshot as plain text (batch mode): status line, table, a blank line."""
    items = sort_rows(rows(prev, cur), sort, reverse)
    name_w, show_warn, warn_w = layout(items, total)
    # plain text may run past `total` rather than cut the warnings
    warn_w = max([warn_w, len(WARN_TITLE)] + [width(",".join(escape(k) for k in r["warnings"]))
                                              for r in items])
    lines = [status_line(cur, program)]
    lines += header_lines(name_w, warn_w, True)
    for r in items:
        lines.append(row_line(r, name_w, warn_w, True).rstrip())
        if channels:
            lines += [channel_line(ch) for ch in r["channels"]]
    if not items:
        lines.append("(no looptrace component seen yet)")
    return "\n".join(lines) + "\n\n"


def json_view(prev, cur, program):
    """The --json line of a snapshot: the derived rows, program state and the full report."""
    s = cur.get("snapshot") or {}
    trace = cur.get("trace") or {}
    return {
        "seq": s.get("seq"), "final": bool(s.get("final")),
        "realtime_ns": s.get("realtime_ns"), "program": program,
        "trace": {"events": trace.get("events"), "lost_events": trace.get("lost_events"),
                  "begin_ns": trace.get("begin_ns"), "end_ns": trace.get("end_ns")},
        "components": rows(prev, cur), "report": cur,
    }
