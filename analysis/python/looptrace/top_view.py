"""What `looptrace top` shows, computed from two consecutive snapshots; and its text form.

A snapshot is the sink's schema-v1 report of the whole run so far plus a `snapshot` object
(seq, final, wall clock, `inboxes`: which thread receives from each channel). Time per
component (`time_ns`) and `messages` are cumulative, so the figures "over the last interval"
are differences between two snapshots divided by the difference of the component's wall
time (trace clock): no second implementation of the metrics. Everything here is a pure
function of the snapshots, unit tested without LTTng.
"""

from .fmt import fmt_ns, fmt_num_top, fmt_pct_top
from .render_text import escape, width

STATES = ("busy", "idle", "blocked_in_handler")
# Sequences on pools add `runnable` (work, no pool thread ran it): time_ns.runnable.
SEQ_STATES = STATES + ("runnable",)

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
# The loop view when a component runs as a sequence on a pool: runnable shares too.
SEQ_COLUMNS = COLUMNS[:6] + [
    ("runnable_now", "RUNBL", 5, "% runnable (work, no pool thread) over the last interval")
] + COLUMNS[6:9] + [
    ("runnable_run", "runbl", 5, "% runnable over the run")
] + COLUMNS[9:]
# The threads view: when every component is a thread of the interposer whose loop top is not
# known (`record --interpose` without loop events), busy/idle/blk-h are all zero; show what such
# a thread has instead. RUN: running or in a call the interposer does not wrap (not
# necessarily on a CPU); BLOCK: in the wrapped calls; CPU: on a CPU (the report's `cpu_ns`,
# "-" when absent); BLOCKED ON: the reason with the largest share of the blocked time.
THREAD_COLUMNS = [
    ("name", "COMPONENT", 0, "name"),
    ("tid", "TID", 7, "thread id"),
    ("running_now", "RUN", 5, "% running (or in unwrapped calls) over the last interval"),
    ("waiting_now", "BLOCK", 5, "% blocked in wrapped calls over the last interval"),
    ("cpu_now", "CPU", 5, "% on a CPU over the last interval"),
    ("running_run", "run", 5, "% running (or in unwrapped calls) over the run"),
    ("waiting_run", "block", 5, "% blocked in wrapped calls over the run"),
    ("cpu_run", "cpu", 5, "% on a CPU over the run"),
    ("reason", "BLOCKED ON", 12, "blocked time of the last interval by reason (largest)"),
]
# Where the two groups of figures sit: (title, first column, last column).
GROUPS = {id(COLUMNS): (("-- last interval --", 2, 5), ("--- whole run ---", 6, 8)),
          id(SEQ_COLUMNS): (("---- last interval ----", 2, 6), ("--- whole run ---", 7, 10)),
          id(THREAD_COLUMNS): (("- last interval -", 2, 4), ("--- whole run ---", 5, 7))}
SORT_KEYS = "1234567890"  # key i sorts by COLUMNS[i]
INTERPOSER_BIT = 0x80000000  # the interposer's component ids (docs/interposer.md)
WARN_TITLE = "WARNINGS"
# Short forms of the warning kinds, used when the full names do not fit.
WARN_SHORT = {"blocks-in-handler": "blk-hdl", "saturated": "sat", "queue-growth": "q-grow",
              "slow-route": "slow-rt", "lost-events": "lost", "holds-pool-thread": "holds-pt"}


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


def loopless(c):
    """A thread of the interposer whose loop top is unknown: it has no busy/idle/messages.
    A report that found its loop top (key `loop_top`) makes it a loop like the API's."""
    return (c.get("id") or 0) >= INTERPOSER_BIT and not c.get("loop_top")


def columns_for(items):
    """The threads view when every row is loopless, else the loop view (with runnable
    columns when a row is a sequence on a pool)."""
    if items and all(r.get("loopless") for r in items):
        return THREAD_COLUMNS
    if any(r.get("sequence") for r in items):
        return SEQ_COLUMNS
    return COLUMNS


def default_sort(columns, items=()):
    """Column index sorted by when the user chose none: names in the loop view (busy in the
    full-screen one); in the threads view the CPU share over the last interval when the
    report has CPU times, else the running share."""
    if columns is not THREAD_COLUMNS:
        return 0
    return 4 if any(r.get("cpu_now") is not None for r in items) else 2


def _blocked_by_reason(c):
    out = {}
    for b in c.get("blocked_by") or []:
        out[b.get("reason")] = out.get(b.get("reason"), 0) + (b.get("ns") or 0)
    return out


def _reason_text(now, run):
    """"io 98%": the reason with the largest blocked time of the interval (else the run's)
    and its share of the blocked time."""
    src = now if sum(now.values()) > 0 else run
    total = sum(src.values())
    if total <= 0:
        return None
    reason, ns = max(src.items(), key=lambda kv: (kv[1], str(kv[0])))
    return "%s %.0f%%" % (reason, 100.0 * ns / total)


def _thread_figures(row, c, p, wall, dwall):
    """RUN / BLOCK / CPU shares and the blocked reason of an interposer thread."""
    def waiting(x):
        return _time(x, "blocked_outside") + _time(x, "blocked_in_handler") + _time(x, "idle")

    def running(x):
        return _time(x, "outside") + _time(x, "busy")

    row["running_run"] = _ratio(running(c), wall)
    row["waiting_run"] = _ratio(waiting(c), wall)
    cpu = c.get("cpu_ns")
    row["cpu_run"] = _ratio(cpu, wall) if isinstance(cpu, (int, float)) else None
    run_reasons = _blocked_by_reason(c)
    now_reasons = {}
    if p is None:
        for k in ("running", "waiting", "cpu"):
            row[k + "_now"] = row[k + "_run"]
    elif dwall > 0:
        row["running_now"] = _ratio(running(c) - running(p), dwall)
        row["waiting_now"] = _ratio(waiting(c) - waiting(p), dwall)
        pcpu = p.get("cpu_ns")
        row["cpu_now"] = _ratio(cpu - pcpu, dwall) if isinstance(cpu, (int, float)) and \
            isinstance(pcpu, (int, float)) else None
        before = _blocked_by_reason(p)
        now_reasons = {k: v - before.get(k, 0) for k, v in run_reasons.items()}
    else:
        for k in ("running", "waiting", "cpu"):
            row[k + "_now"] = None
    row["reason"] = _reason_text(now_reasons, run_reasons)


STATE_COLS = ("busy", "idle", "blocked", "runnable")  # row keys <col>_now, <col>_run


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
            "sequence": bool(c.get("sequence")), "pool": c.get("pool"),
            "tasks": c.get("tasks") if c.get("task") else None,
        }
        for s, col in zip(SEQ_STATES, STATE_COLS):
            row[col + "_run"] = _ratio(_time(c, s), wall)
            row[col + "_now"] = None
        row["rate"] = None
        if p is not None:
            dwall = wall - (p.get("wall_ns") or 0)
            if dwall > 0:
                for s, col in zip(SEQ_STATES, STATE_COLS):
                    row[col + "_now"] = _ratio(_time(c, s) - _time(p, s), dwall)
                row["rate"] = (row["messages"] - (p.get("messages") or 0)) * 1e9 / dwall
            elif dt_trace:
                row["rate"] = 0.0
        elif p is None:
            # first snapshot, a new component, or the reader started again: the interval is
            # the run so far
            for col in STATE_COLS:
                row[col + "_now"] = row[col + "_run"]
            if wall > 0:
                row["rate"] = row["messages"] * 1e9 / wall
        row["loopless"] = loopless(c)
        if row["loopless"]:
            # no loop: no messages, busy, idle or blocked-in-handler to speak of
            for k in ("messages", "rate", "busy_now", "idle_now", "blocked_now", "busy_run",
                      "idle_run", "blocked_run", "runnable_now", "runnable_run"):
                row[k] = None
            _thread_figures(row, c, p, wall, (wall - (p.get("wall_ns") or 0)) if p else 0)
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


def sort_rows(items, column, reverse, columns=None):
    """Sort by columns[column] key (COLUMNS by default); missing values last. Names ascending,
    numbers descending by default (`reverse` flips)."""
    columns = columns or COLUMNS
    key = columns[min(column, len(columns) - 1)][0]
    if key in ("name", "reason"):
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
    if key in ("tid", "reason"):
        return "-" if v is None else str(v)
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


def row_name(row):
    """The name shown: a task row says how many tasks it sums; `*` marks an ended one."""
    name = escape(row.get("name"))
    if row.get("tasks") is not None:
        name += " (%s tasks)" % fmt_num_top(row["tasks"])
    return name + ("*" if row.get("ended") else "")


def layout(items, total, columns=None):
    """(name width, show warnings column, warnings width) for a screen `total` wide."""
    fixed = sum(w + 1 for _, _, w, _ in (columns or COLUMNS)[1:])
    longest = max([width(row_name(r)) for r in items] + [len(COLUMNS[0][1])])
    name_w = max(9, min(longest, 24, total - fixed - 3))  # 2 left for a " !" marker
    rest = total - fixed - name_w - 1
    return name_w, rest >= 5, rest


def header_lines(name_w, warn_w, show_warn, columns=None):
    columns = columns or COLUMNS
    top = pad("", name_w)
    at = 1
    for title, first, last in GROUPS[id(columns)]:
        for _, _, w, _ in columns[at:first]:
            top += " " + pad("", w)
        top += " " + pad(title, sum(w + 1 for _, _, w, _ in columns[first:last + 1]) - 1)
        at = last + 1
    cols = [pad(columns[0][1], name_w)]
    cols += [pad(t, w, right=True) for _, t, w, _ in columns[1:]]
    line = " ".join(cols)
    if show_warn:
        line += " " + pad(WARN_TITLE, warn_w)
    return [top.rstrip(), line.rstrip()]


def row_line(row, name_w, warn_w, show_warn, columns=None):
    cols = [pad(row_name(row), name_w)]
    cols += [pad(cell(row, k), w, right=k != "reason") for k, _, w, _ in
             (columns or COLUMNS)[1:]]
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


def pool_rows(prev, cur):
    """One dict per pool of `cur`: its threads' busy / idle / blocked shares over the last
    interval (differences since `prev`, or the run so far) and over the run, and the time its
    sequences spent runnable and awaiting with their thread released (run, ns)."""
    keys = ("busy_ns", "idle_ns", "blocked_ns")
    before = {}
    if prev is not None and (prev.get("snapshot") or {}).get("restart") == (
            cur.get("snapshot") or {}).get("restart"):
        before = {(p.get("pid"), p.get("id")): p for p in prev.get("pools") or []
                  if isinstance(p, dict)}
    out = []
    for p in cur.get("pools") or []:
        if not isinstance(p, dict):
            continue
        run = [p.get(k) or 0 for k in keys]
        q = before.get((p.get("pid"), p.get("id")))
        # first snapshot, a new pool, or the reader started again: the interval is the run
        now = [a - (q.get(k) or 0) for a, k in zip(run, keys)] if q else run
        row = {"name": p.get("name"), "pid": p.get("pid"), "threads": p.get("threads"),
               "runnable_ns": p.get("runnable_ns"), "released_ns": p.get("released_ns")}
        for part, k in zip(("busy", "idle", "blocked"), range(3)):
            row[part + "_now"] = _ratio(now[k], sum(now))
            row[part + "_run"] = _ratio(run[k], sum(run))
        out.append(row)
    return out


def pool_line(row):
    """A pool in one line: its threads' shares (last interval, then run) and its sequences'
    runnable and released time over the run."""
    return ("pool %s  %s thr  BUSY %s IDLE %s BLOCKED %s  run: busy %s idle %s blocked %s  "
            "runnable %s released %s" % (
                escape(row.get("name")), fmt_num_top(row.get("threads")),
                fmt_pct_top(row.get("busy_now")), fmt_pct_top(row.get("idle_now")),
                fmt_pct_top(row.get("blocked_now")), fmt_pct_top(row.get("busy_run")),
                fmt_pct_top(row.get("idle_run")), fmt_pct_top(row.get("blocked_run")),
                fmt_ns(row.get("runnable_ns")), fmt_ns(row.get("released_ns"))))


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


def render_text(prev, cur, program="", channels=False, total=100, sort=None, reverse=False):
    """A snapshot as plain text (batch mode): status line, table, a blank line. `sort`: a
    column index, None for the view's default (default_sort)."""
    items = rows(prev, cur)
    columns = columns_for(items)
    if sort is None:
        sort = default_sort(columns, items)
    items = sort_rows(items, sort, reverse, columns)
    name_w, show_warn, warn_w = layout(items, total, columns)
    # plain text may run past `total` rather than cut the warnings
    warn_w = max([warn_w, len(WARN_TITLE)] + [width(",".join(escape(k) for k in r["warnings"]))
                                              for r in items])
    lines = [status_line(cur, program)]
    lines += header_lines(name_w, warn_w, True, columns)
    for r in items:
        lines.append(row_line(r, name_w, warn_w, True, columns).rstrip())
        if channels:
            lines += [channel_line(ch) for ch in r["channels"]]
    if not items:
        lines.append("(no looptrace component seen yet)")
    lines += [pool_line(p) for p in pool_rows(prev, cur)]
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
        "components": rows(prev, cur), "pools": pool_rows(prev, cur), "report": cur,
    }
