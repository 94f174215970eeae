"""Terminal rendering of a schema-v1 report: component and channel tables, warnings, losses.

Everything here is a pure function of the report dictionary (as loaded from the sink's JSON),
so it is unit tested against fixture files without babeltrace2. Names come from the traced
program and are untrusted: escape() makes them safe to print (control and invisible
characters become \\xNN / \\uNNNN, a backslash becomes \\\\) and columns widen to fit the
longest name: nothing is truncated.
"""

import unicodedata

from . import chan_groups
from .fmt import (fmt_count, fmt_depth, fmt_frac, fmt_id, fmt_ns, fmt_pct, fmt_rate, ipc_mark,
                  num)
from .symbolize import call_site_text

# ---------------------------------------------------------------------------------------------
# Escaping and display width


def _needs_escape(ch):
    cat = unicodedata.category(ch)
    # Cc: C0/C1 controls, DEL. Cf: format (bidi overrides, zero-width). Cs: lone surrogates
    # (undecodable bytes). Co/Cn: private use, unassigned. Zl/Zp: line/paragraph separators.
    return cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def escape(value):
    """`value` as a single printable line: controls as \\xNN, other invisibles as \\uNNNN."""
    if value is None:
        return "-"
    text = str(value)
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif _needs_escape(ch):
            code = ord(ch)
            if 0xDC80 <= code <= 0xDCFF:  # surrogateescape'd byte
                out.append("\\x%02x" % (code - 0xDC00))
            elif code <= 0xFF:
                out.append("\\x%02x" % code)
            elif code <= 0xFFFF:
                out.append("\\u%04x" % code)
            else:
                out.append("\\U%08x" % code)
        else:
            out.append(ch)
    return "".join(out)


def width(text):
    """Columns `text` occupies on a terminal (wide East Asian characters count twice)."""
    total = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return total


def _pad(text, cols, right):
    fill = " " * max(0, cols - width(text))
    return fill + text if right else text + fill


# ---------------------------------------------------------------------------------------------
# Tables


# A first-column cell wider than this goes on a line of its own, whole, above its numbers.
NAME_WRAP = 40


def table(headers, rows, right=None, wrap=NAME_WRAP):
    """Lines of an aligned table; `right[i]` right-aligns column i (numbers).

    A first cell wider than `wrap` columns is printed whole on its own line and its numbers
    on the next line, so one long name neither gets truncated nor widens the whole table.
    """
    headers = [escape(h) for h in headers]
    if right is None:
        right = [False] * len(headers)
    cols = [width(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            if i == 0 and width(cell) > wrap:
                continue
            cols[i] = max(cols[i], width(cell))
    lines = ["  ".join(_pad(h, cols[i], right[i]) for i, h in enumerate(headers)).rstrip()]
    lines.append("  ".join("-" * c for c in cols))
    for row in rows:
        if width(row[0]) > wrap:
            lines.append(row[0])
            row = [""] + list(row[1:])
        lines.append("  ".join(_pad(c, cols[i], right[i]) for i, c in enumerate(row)).rstrip())
    return lines


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict):
            return None
        if d.get("count") == 0:  # an empty distribution: its 0 percentiles mean "no data"
            return None
        d = d.get(k)
    return d


def handled_none(c):
    """True when component `c` handled no message (e.g. a thread seen only by the
    interposer): its throughput and utilization are not figures but "no data"."""
    return not (num(c.get("messages")) and c["messages"] > 0)


def multi_host(report):
    """True when the report merges traces of several hosts (pids repeat across them)."""
    return len((report.get("trace") or {}).get("hosts") or []) > 1


def host_prefix(report, entity):
    """'HOST:' before a pid or name when the report holds several hosts, else ''."""
    return escape(entity.get("host")) + ":" if multi_host(report) else ""


def has_sequences(report):
    """Whether any component runs as a sequence on a pool (the report then shows `runnable`,
    pools and awaits that released their thread)."""
    return any(isinstance(c, dict) and c.get("sequence") for c in report.get("components") or [])


def comp_name(c):
    """A component's name; a task row says how many tasks it sums."""
    if c.get("task"):
        return "%s (%s tasks)" % (escape(c.get("name")), fmt_count(c.get("tasks")))
    return escape(c.get("name"))


def comp_where(c):
    """pid/tid of a thread component; pid/@pool of a sequence (it has no thread of its own)."""
    if c.get("sequence"):
        return "%s/@%s" % (fmt_id(c.get("pid")), escape(c.get("pool") or "?"))
    return "%s/%s" % (fmt_id(c.get("pid")), fmt_id(c.get("tid")))


def time_rows(report):
    """Per component: the shares of its wall time (busy, idle, blocked in a handler, blocked
    outside, [runnable,] outside: they add up to 100 %), then running (busy + outside) and
    CPU time as shares of it too."""
    rows = []
    seqs = has_sequences(report)
    for c in report.get("components") or []:
        t = c.get("time_ns") or {}
        wall = c.get("wall_ns")
        rows.append(
            [comp_name(c), host_prefix(report, c) + comp_where(c)]
            + [fmt_pct(t.get(k), wall) for k in ("busy", "idle", "blocked_in_handler",
                                                  "blocked_outside")]
            + ([fmt_pct(t.get("runnable") or 0, wall)] if seqs else [])
            + [fmt_pct(t.get("outside"), wall),
               fmt_pct(running_ns(c), wall),
               fmt_pct(c.get("cpu_ns"), wall) if num(c.get("cpu_ns")) else "-"]
        )
    return rows


def message_rows(report):
    """Per component: messages handled, throughput, utilization, handler and queue-wait
    percentiles."""
    rows = []
    for c in report.get("components") or []:
        none = handled_none(c)
        rows.append(
            [
                comp_name(c),
                host_prefix(report, c) + comp_where(c),
                fmt_count(c.get("messages")),
                "-" if none else fmt_rate(c.get("throughput_per_s")),
                "-" if none else fmt_frac(c.get("utilization")),
                fmt_ns(_get(c, "handle_ns", "p50")),
                fmt_ns(_get(c, "handle_ns", "p99")),
                fmt_ns(_get(c, "queue_wait_ns", "p50")),
                fmt_ns(_get(c, "queue_wait_ns", "p99")),
            ]
        )
    return rows


def running_ns(c):
    """Time component `c`'s thread was not in a traced wait: busy + outside (on a CPU,
    waiting for one, or in a call the interposer does not wrap); None without time_ns."""
    t = c.get("time_ns") or {}
    if not (num(t.get("busy")) and num(t.get("outside"))):
        return None
    return t["busy"] + t["outside"]


CPU_GAP_MIN_NS = 1_000_000  # a smaller difference between running and CPU time is noise
CPU_GAP_MIN_FRAC = 0.05


def cpu_gap_lines(report):
    """One note per component whose running time exceeds its CPU time (cpu_ns): the rest was
    spent waiting for a CPU or in calls the interposer does not wrap."""
    lines = []
    for c in report.get("components") or []:
        run, cpu = running_ns(c), c.get("cpu_ns")
        if run is None or not num(cpu):
            continue
        gap = run - cpu
        if gap > CPU_GAP_MIN_NS and gap > CPU_GAP_MIN_FRAC * run:
            lines.append("note: %s %s/%s: running %s but on a CPU %s: %s (%s of its wall time) "
                         "waiting for a CPU or in calls the interposer does not wrap"
                         % (escape(c.get("name")), fmt_id(c.get("pid")), fmt_id(c.get("tid")),
                            fmt_ns(run), fmt_ns(cpu), fmt_ns(gap),
                            fmt_pct(gap, c.get("wall_ns"))))
    return lines


LOOP_HEADERS = ["component", "pid/tid", "loop top (idle wait)", "call", "how", "waits"]


def loop_rows(report):
    """Per interposed thread with a loop top: the call site taken and whether it was
    detected or given (--loop-top)."""
    rows = []
    for c in report.get("components") or []:
        lt = c.get("loop_top")
        if not isinstance(lt, dict):
            continue
        rows.append([escape(c.get("name")),
                     "%s/%s" % (fmt_id(c.get("pid")), fmt_id(c.get("tid"))),
                     escape(call_site_text(lt)), escape(lt.get("call")),
                     escape(lt.get("how")), fmt_count(lt.get("waits"))])
    return rows


# The components in two tables, each readable in 100-120 columns: where their time went (the
# shares add up to the wall time, as time_ns does in the JSON), and what they handled.
TIME_HEADERS = ["component", "pid/tid", "busy", "idle", "blk-in-hdl", "blk-outside", "outside",
                "running", "cpu"]
TIME_RUNNABLE = "runnable"  # before outside, when the report has sequences on pools
MESSAGE_HEADERS = ["component", "pid/tid", "msgs", "msgs/s", "util", "handle p50",
                   "handle p99", "qwait p50", "qwait p99"]


def time_headers(report):
    """TIME_HEADERS, with `runnable` before `outside` when the report has sequences."""
    if not has_sequences(report):
        return list(TIME_HEADERS)
    i = TIME_HEADERS.index("outside")
    return TIME_HEADERS[:i] + [TIME_RUNNABLE] + TIME_HEADERS[i:]


CHANNEL_HEADERS = [
    "channel",
    "capacity",
    "sends",
    "recvs",
    "max depth",
    "mean depth",
    "qwait p50",
    "qwait p99",
    "send-blocked",
]


def channel_rows(report):
    """One row per channel, channels of one name made per request or task folded into one
    (`NAME xN`, chan_groups.folded: counts summed, queue waits merged from all their
    messages, max depth the largest, mean depth that of one channel)."""
    rows = []
    for ch in chan_groups.folded(report):
        cap = ch.get("capacity")
        rows.append(
            [
                host_prefix(report, ch) + escape(ch.get("name")) + chan_groups.label(ch)
                + ipc_mark(ch),
                "unbounded" if cap == 0 else fmt_count(cap),
                fmt_count(ch.get("sends")),
                fmt_count(ch.get("recvs")),
                fmt_depth(ch.get("max_depth")),
                fmt_depth(ch.get("mean_depth")),
                fmt_ns(_get(ch, "queue_wait_ns", "p50")),
                fmt_ns(_get(ch, "queue_wait_ns", "p99")),
                fmt_ns(ch.get("send_blocked_ns")),
            ]
        )
    return rows


BLOCKED_HEADERS = ["component", "pid/tid", "reason", "call", "object", "call site", "in handler",
                   "time", "count"]
BLOCKED_RELEASED = "released"  # a column when the report has sequences: awaits that freed a thread

POOL_HEADERS = ["pool", "pid", "threads", "busy", "idle", "blocked", "runs", "components", "tasks",
                "runnable", "released"]


def pool_rows(report):
    """Each pool: its threads' time split (as % of their time), runs, and the time its
    sequences spent runnable (work, no thread) and awaiting with their thread released."""
    rows = []
    for p in report.get("pools") or []:
        if not isinstance(p, dict):
            continue
        parts = [p.get(k) for k in ("busy_ns", "idle_ns", "blocked_ns")]
        whole = sum(x for x in parts if num(x)) or None
        rows.append([escape(p.get("name")), fmt_id(p.get("pid")), fmt_count(p.get("threads"))]
                    + [fmt_pct(x, whole) for x in parts]
                    + [fmt_count(p.get("runs")), fmt_count(p.get("components")),
                       fmt_count(p.get("tasks")), fmt_ns(p.get("runnable_ns")),
                       fmt_ns(p.get("released_ns"))])
    return rows
BLOCKED_TOP = 5  # entries per component in the terminal; every entry is in --json / --csv


def blocked_rows(report, top=BLOCKED_TOP):
    """Where each component blocked: its `top` largest blocked_by entries (by reason, wait
    object and call site), the call site symbolized when the report carries `site`."""
    rows = []
    seqs = has_sequences(report)
    for c in report.get("components") or []:
        entries = [b for b in c.get("blocked_by") or [] if isinstance(b, dict) and num(b.get("ns"))]
        entries.sort(key=lambda b: -b["ns"])
        for b in entries[:top]:
            rows.append(
                [
                    comp_name(c),
                    comp_where(c),
                    escape(b.get("reason")),
                    escape(b.get("call")),
                    escape(b.get("object_name") or b.get("object")),
                    escape(call_site_text(b)),
                    fmt_ns(b.get("in_handler_ns")),
                    fmt_ns(b.get("ns")),
                    fmt_count(b.get("count")),
                ]
                + ([fmt_ns(b.get("released_ns") or 0)] if seqs else [])
            )
    return rows


def find_item(report, section, ref, pid=None):
    """The entry of report[section] with id `ref` (and `pid` when given: ids are per process)."""
    for item in report.get(section) or []:
        if item.get("id") == ref and (pid is None or item.get("pid") in (None, pid)):
            return item
    return None


def subject_name(report, warning):
    """'component NAME' / 'channel NAME' / 'route N' for a warning, or '' for a trace one."""
    for kind, section in (("component", "components"), ("channel", "channels"),
                          ("route", "routes")):
        if kind not in warning or warning[kind] is None:
            continue
        ref = warning[kind]
        if isinstance(ref, str):
            return "%s %s" % (kind, escape(ref))
        if warning.get("name") is not None:
            return "%s %s" % (kind, escape(warning["name"]))
        item = find_item(report, section, ref, warning.get("pid"))
        if item is not None and item.get("name") is not None:
            return "%s %s" % (kind, escape(item["name"]))
        return "%s #%s" % (kind, escape(ref))
    return ""


def warning_lines(report):
    lines = []
    for w in report.get("warnings") or []:
        subject = subject_name(report, w)
        head = "warning: [%s]" % escape(w.get("kind", "?"))
        if subject:
            head += " " + subject + ":"
        lines.append("%s %s" % (head, escape(w.get("message", ""))))
    return lines


def finding_lines(report):
    """The component findings that are not also warnings (components[].findings entries with
    `warning` false; the others are printed by warning_lines), one line each."""
    lines = []
    for c in report.get("components") or []:
        if not isinstance(c, dict):
            continue
        for f in c.get("findings") or []:
            if isinstance(f, dict) and not f.get("warning"):
                lines.append("finding: [%s] component %s: %s" % (
                    escape(f.get("code", "?")), escape(c.get("name")), escape(f.get("message", ""))))
    return lines


def lost_banner(report):
    """Lines of the lost-events banner, or [] when nothing was lost."""
    trace = report.get("trace") or {}
    lost = trace.get("lost_events") or 0
    if not num(lost) or lost <= 0:
        return []
    windows = trace.get("lost_windows") or []
    begin = trace.get("begin_ns")
    text = "LOST EVENTS: %d event%s lost" % (lost, "" if lost == 1 else "s")
    if windows:
        text += " in %d window%s" % (len(windows), "" if len(windows) == 1 else "s")
    bar = "!" * min(78, max(40, len(text) + 6))
    lines = [bar, "!! " + text]
    for w in windows[:5]:
        if isinstance(w, (list, tuple)) and len(w) == 2 and num(begin):
            lines.append("!!   from +%s to +%s" % (fmt_ns(w[0] - begin), fmt_ns(w[1] - begin)))
    if len(windows) > 5:
        lines.append("!!   ... and %d more" % (len(windows) - 5))
    hit = [("component", c) for c in report.get("components") or [] if c.get("lost_overlap")]
    hit += [("channel", c) for c in chan_groups.folded(report) if c.get("lost_overlap")]
    if hit:
        names = ", ".join("%s %s%s" % (k, escape(c.get("name")), chan_groups.label(c))
                          for k, c in hit[:8])
        if len(hit) > 8:
            names += ", ... (%d in all)" % len(hit)
        lines.append("!! Not exact (overlap a window): " + names)
    lines.append("!! Numbers near those windows are not exact; record again with larger")
    lines.append("!! buffers (see `looptrace record --help`).")
    lines.append(bar)
    return lines


def header_lines(report):
    trace = report.get("trace") or {}
    b, e = trace.get("begin_ns"), trace.get("end_ns")
    dur = fmt_ns(e - b) if num(b) and num(e) else "-"
    lines = [
        "trace: %s" % escape(trace.get("path", "")),
        "events: %s, duration: %s, lost events: %s"
        % (fmt_count(trace.get("events")), dur, fmt_count(trace.get("lost_events", 0))),
    ]
    return lines + clock_lines(report)


CLOCK_BASIS = {
    "one-clock": "one clock",
    "one-machine": "one machine's clock, read by %d sessions: the spread of their offsets",
    "assumed-sync": "clocks of different machines: %s assumed between them (--clock-sync), "
                    "plus the spread of each machine's offsets",
}


def clock_lines(report):
    """The hosts and the clock uncertainty assumed, when the report merges several traces'
    clocks (docs/distributed.md)."""
    trace = report.get("trace") or {}
    clock = trace.get("clock") or {}
    clocks = clock.get("clocks") or []
    if not multi_host(report) and len(clocks) < 2:
        return []
    basis = CLOCK_BASIS.get(clock.get("basis"), escape(clock.get("basis")))
    if "%d" in basis:
        basis = basis % len(clocks)
    elif "%s" in basis:
        basis = basis % fmt_ns(clock.get("assumed_sync_ns"))
    return ["hosts: %s; clock uncertainty %s (%s)"
            % (", ".join(escape(h) for h in trace.get("hosts") or []) or "-",
               fmt_ns(clock.get("uncertainty_ns")), basis)]


def summary_lines(report):
    """Flow latency and parallelism, when the report has them."""
    lines = []
    flows = report.get("flows") or {}
    if num(flows.get("count")) and flows["count"] > 0:
        lat = flows.get("latency_ns") or {}
        lines.append("flows: %s, end-to-end latency p50 %s, p99 %s, max %s"
                     % (fmt_count(flows["count"]), fmt_ns(lat.get("p50")),
                        fmt_ns(lat.get("p99")), fmt_ns(lat.get("max"))))
    par = report.get("parallelism") or {}
    comps = report.get("components") or []
    if par and comps and all(handled_none(c) for c in comps):
        lines.append("parallelism: - (no component handled a message)")
    elif num(par.get("mean_busy_components")):
        lines.append("parallelism: %.2f components busy on average, %s at most"
                     % (par["mean_busy_components"], fmt_count(par.get("max_busy_components"))))
    return [""] + lines if lines else []


def render(report):
    """The whole terminal report as a string ending with a newline."""
    right_h = [False] + [True] * (len(CHANNEL_HEADERS) - 1)
    out = header_lines(report)
    out.append("")
    seqs = has_sequences(report)
    if report.get("components"):
        out.append("Components: time (as % of each component's wall time)")
        headers = time_headers(report)
        out += table(headers, time_rows(report), [False, False] + [True] * (len(headers) - 2))
        out.append("  busy through outside add up to 100%; outside: loop code between waits and "
                   "handlers, tracing cost")
        if seqs:
            out.append("  pid/@pool: a sequence on that pool's threads; runnable: it had work "
                       "and no pool thread ran it")
        out.append("  running: busy + outside (on a CPU, waiting for one, or in an unwrapped "
                   "call); cpu: on a CPU")
        out.append("")
        out.append("Components: messages")
        out += table(MESSAGE_HEADERS, message_rows(report),
                     [False, False] + [True] * (len(MESSAGE_HEADERS) - 2))
    else:
        out.append("Components")
        out.append("  (none)")
    loops = loop_rows(report)
    if loops:
        out.append("")
        out.append("Loop tops (interposed threads: idle in this wait, an iteration from its "
                   "return to the next)")
        out += table(LOOP_HEADERS, loops, [False] * 5 + [True])
    out.append("")
    out.append("Channels")
    if report.get("channels"):
        out += table(CHANNEL_HEADERS, channel_rows(report), right_h)
    else:
        out.append("  (none)")
    blocked = blocked_rows(report)
    if blocked:
        out.append("")
        out.append("Blocked (largest %d per component, by reason, object and call site)" % BLOCKED_TOP)
        headers = BLOCKED_HEADERS + ([BLOCKED_RELEASED] if seqs else [])
        out += table(headers, blocked, [False] * 6 + [True] * (len(headers) - 6))
        if seqs:
            out.append("  released: awaited with the pool thread released to other sequences "
                       "(the handler still waited)")
    pools = pool_rows(report)
    if pools:
        out.append("")
        out.append("Pools (their threads' time: busy running sequences, idle, blocked: held by "
                   "a blocking call that is not an await)")
        out += table(POOL_HEADERS, pools, [False, False] + [True] * (len(POOL_HEADERS) - 2))
    out += summary_lines(report)
    notes = cpu_gap_lines(report)
    if notes:
        out.append("")
        out += notes
    warnings = finding_lines(report) + warning_lines(report)
    if warnings:
        out.append("")
        out += warnings
    banner = lost_banner(report)
    if banner:
        out.append("")
        out += banner
    return "\n".join(out) + "\n"
