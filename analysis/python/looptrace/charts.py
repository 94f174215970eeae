"""Charts for the HTML reports, drawn with matplotlib and returned as inline SVG text.

Every function takes parts of a schema-v1 report (plain dicts) and returns one `<svg>...</svg>`
string ready to paste into a page: no XML prologue, no DOCTYPE, no metadata, element ids made
unique per chart so that several charts can live in one document. Text stays text
(svg.fonttype = none), so names are searchable; matplotlib escapes it as XML character data.
Names come from the traced program and are untrusted: label() keeps matplotlib from reading
them as mathtext ($...$) or as hidden legend entries (leading underscore).

Only the Agg/SVG backends are used and nothing is fetched: the SVG refers to generic font
families, never to a font file or URL.
"""

import io
import itertools
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
from .fmt import num  # noqa: E402

plt.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "looptrace",
        "font.family": "sans-serif",
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "figure.dpi": 96,
    }
)

# State colours, shared with the page's legend and CSS.
COLORS = {
    "busy": "#2e7d32",
    "idle": "#cfd8dc",
    "blocked_in_handler": "#c62828",
    "blocked_outside": "#ef6c00",
    "outside": "#eeeeee",
    "runnable": "#7e57c2",
}
# Shades for blocked-in-handler split by reason.
REASON_SHADES = ["#c62828", "#e53935", "#ad1457", "#d81b60", "#8e24aa", "#b71c1c", "#f06292"]
STATE_LABELS = {
    "busy": "busy",
    "idle": "idle (waiting at loop top)",
    "blocked_in_handler": "blocked in handler",
    "blocked_outside": "blocked outside handler",
    "outside": "outside the loop",
    "runnable": "runnable (work, no pool thread ran it)",
}

# Charts never draw more rows than this; the page says when some were left out.
MAX_ROWS = 40

_chart_ids = itertools.count(1)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def label(text):
    """An untrusted name made safe as matplotlib text (literal, visible in legends)."""
    text = _CONTROL.sub("\ufffd", str(text))
    text = text.replace("\\", "\\\\").replace("$", r"\$")
    if text.startswith("_"):
        text = "\u200b" + text  # matplotlib hides legend labels starting with '_'
    return text


def short(text, limit=40):
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def to_svg(fig):
    """Render and close `fig`; return the <svg> element with ids unique to this chart."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    prefix = "c%d-" % next(_chart_ids)
    svg = re.sub(r'\bid="([^"]+)"', lambda m: 'id="%s%s"' % (prefix, m.group(1)), svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: "url(#%s%s)" % (prefix, m.group(1)), svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: 'href="#%s%s"' % (prefix, m.group(1)), svg)
    return svg.strip()


def _ms(ns):
    return float(ns) / 1e6


def _pick_unit(max_ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("\u00b5s", 1e3)):
        if max_ns >= scale:
            return unit, scale
    return "ns", 1.0


def inside_handler_ns(entry):
    """ns of a blocked_by entry spent inside handlers, or None when the report cannot say.

    Uses `in_handler_ns` (ns of that site's blocking inside handlers) or `in_handler` (bool:
    the whole entry is inside, or outside, handlers) when the report has them.
    """
    if num(entry.get("in_handler_ns")):
        return entry["in_handler_ns"]
    if "in_handler" in entry:
        return entry.get("ns", 0) if entry["in_handler"] else 0
    return None


def blocked_in_handler_by_reason(comp):
    """[(reason, ns)] splitting the component's blocked-in-handler time by reason.

    When the blocked_by entries say how much of them is inside handlers (inside_handler_ns)
    that is used; otherwise the time is shared out in proportion to each reason's share of
    all blocking (an estimate). Returns [] when there is no blocked-in-handler time.
    """
    total = (comp.get("time_ns") or {}).get("blocked_in_handler") or 0
    if not total:
        return []
    entries = [e for e in comp.get("blocked_by") or [] if isinstance(e, dict) and num(e.get("ns"))]
    known = [inside_handler_ns(e) for e in entries]
    exact = entries and all(k is not None for k in known)
    by_reason = {}
    for e, k in zip(entries, known):
        r = str(e.get("reason", "?"))
        by_reason[r] = by_reason.get(r, 0) + (k if exact else e["ns"])
    s = sum(by_reason.values())
    if s <= 0:
        return [("unknown reason", total)]
    return sorted(((r, total * v / s) for r, v in by_reason.items() if v > 0),
                  key=lambda x: -x[1])


def split_is_exact(components):
    """True when every blocked_by entry says how much of it is inside handlers."""
    return all(inside_handler_ns(e) is not None for c in components
               for e in c.get("blocked_by") or [] if isinstance(e, dict))


def time_split(components):
    """Stacked horizontal bar per component: busy / idle / runnable / blocked in handler (per
    reason) / blocked outside / outside, as a percentage of the component's wall time
    (runnable: a sequence had work and no pool thread ran it; 0, so not drawn, for threads)."""
    comps = components[:MAX_ROWS]
    n = len(comps)
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.42 * max(n, 1)))
    reasons = []
    for c in comps:
        for r, _ in blocked_in_handler_by_reason(c):
            if r not in reasons:
                reasons.append(r)
    shade = {r: REASON_SHADES[i % len(REASON_SHADES)] for i, r in enumerate(reasons)}
    labelled = set()
    for row, c in enumerate(comps):
        y = n - 1 - row
        t = c.get("time_ns") or {}
        wall = float(c.get("wall_ns") or sum(v for v in t.values() if num(v)) or 1)
        segs = [("busy", t.get("busy", 0), COLORS["busy"], STATE_LABELS["busy"])]
        segs.append(("idle", t.get("idle", 0), COLORS["idle"], STATE_LABELS["idle"]))
        segs.append(("runnable", t.get("runnable", 0), COLORS["runnable"],
                     STATE_LABELS["runnable"]))
        for r, ns in blocked_in_handler_by_reason(c):
            segs.append(("bih:" + r, ns, shade[r], "blocked in handler: " + label(r)))
        segs.append(
            ("blocked_outside", t.get("blocked_outside", 0), COLORS["blocked_outside"],
             STATE_LABELS["blocked_outside"])
        )
        segs.append(("outside", t.get("outside", 0), COLORS["outside"], STATE_LABELS["outside"]))
        left = 0.0
        for key, ns, color, text in segs:
            pct = 100.0 * float(ns or 0) / wall
            if pct <= 0:
                continue
            ax.barh(
                y, pct, left=left, color=color, edgecolor="white", linewidth=0.5,
                hatch="//" if key.startswith("bih:") else None,
                label=None if key in labelled else text,
            )
            labelled.add(key)
            if pct >= 7:
                ax.text(left + pct / 2, y, "%.0f%%" % pct, ha="center", va="center", fontsize=7,
                        color="white" if key in ("busy", "runnable") or key.startswith("b")
                        else "black")
            left += pct
    ax.set_yticks(range(n))
    ax.set_yticklabels([label(short(c.get("name", "?"))) for c in reversed(comps)])
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of the component's wall time")
    ax.set_title("Where each component's time went")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / max(n, 1)), ncol=3,
              fontsize=7, frameon=False)
    return to_svg(fig)


MAX_POINTS = 150


def downsample(series, limit=MAX_POINTS):
    """At most `limit` points: consecutive intervals merged (sums of messages, busy_ns,
    blocked_ns and runnable_ns; the time of the first). Keeps charts light for long runs."""
    n = len(series)
    if n <= limit:
        return series
    k = -(-n // limit)
    out = []
    for i in range(0, n, k):
        chunk = series[i : i + k]
        out.append({
            "t_ns": chunk[0].get("t_ns", 0),
            "messages": sum(p.get("messages", 0) or 0 for p in chunk),
            "busy_ns": sum(p.get("busy_ns", 0) or 0 for p in chunk),
            "blocked_ns": sum(p.get("blocked_ns", 0) or 0 for p in chunk),
            "runnable_ns": sum(p.get("runnable_ns", 0) or 0 for p in chunk),
        })
    return out


def _series_x(series, begin_ns, end_ns=None, interval_ns=None):
    """(x in s since begin, width in s) per series point. The last point's width is the
    series interval (or the previous gap), cut at the end of the trace."""
    xs = [(p.get("t_ns", 0) - begin_ns) / 1e9 for p in series]
    widths = [xs[i + 1] - xs[i] for i in range(len(xs) - 1)]
    if interval_ns:
        last = interval_ns / 1e9
    elif widths:
        last = widths[-1]
    elif end_ns:
        last = (end_ns - begin_ns) / 1e9 - xs[-1] if xs else 0
    else:
        last = 1.0
    if xs and end_ns and end_ns > begin_ns:
        last = max(0.0, min(last, (end_ns - begin_ns) / 1e9 - xs[-1])) or last
    if xs:
        widths.append(last)
    return xs, widths


def throughput(components, begin_ns, end_ns=None):
    """Messages handled per second, per series interval, one line per component."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    drawn = 0
    for c in components[:MAX_ROWS]:
        s = downsample(c.get("series") or [])
        if not s:
            continue
        xs, widths = _series_x(s, begin_ns, end_ns)
        ys = [(p.get("messages", 0) or 0) / w if w > 0 else 0 for p, w in zip(s, widths)]
        # the last interval needs its own end point to be drawn
        ax.step(xs + [xs[-1] + widths[-1]], ys + ys[-1:], where="post",
                label=label(short(c.get("name", "?"))), linewidth=1.2)
        drawn += 1
    ax.set_xlabel("time since trace begin (s)")
    ax.set_ylabel("messages / s")
    ax.set_title("Throughput over time")
    ax.set_ylim(bottom=0)
    if drawn:
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return to_svg(fig)


def state_timeline(components, begin_ns, end_ns):
    """One row per component across the run: per series interval, the share of time busy
    (green, from the bottom of the row), blocked (red, stacked on top) and runnable (purple,
    on top of that: a sequence had work and no pool thread ran it; absent for threads and in
    reports that predate the key)."""
    comps = components[:MAX_ROWS]
    n = len(comps)
    fig, ax = plt.subplots(figsize=(9, 0.8 + 0.38 * max(n, 1)))
    span = max((end_ns - begin_ns) / 1e9, 0)
    for row, c in enumerate(comps):
        y0 = n - 1 - row - 0.4
        ax.broken_barh([(0, span)], (y0, 0.8), facecolors="#f5f5f5", edgecolors="none")
        s = downsample(c.get("series") or [])
        if not s:
            continue
        xs, widths = _series_x(s, begin_ns, end_ns)
        busy, blocked, runnable = [], [], []
        for p, w in zip(s, widths):
            b = min(1.0, float(p.get("busy_ns", 0) or 0) / (w * 1e9)) if w > 0 else 0.0
            k = min(1.0 - b, float(p.get("blocked_ns", 0) or 0) / (w * 1e9)) if w > 0 else 0.0
            busy.append(b)
            blocked.append(k)
            runnable.append(min(1.0 - b - k, float(p.get("runnable_ns", 0) or 0) / (w * 1e9))
                            if w > 0 else 0.0)
        # One step-shaped area per state and component (light SVG even for long runs).
        edges = xs + [xs[-1] + widths[-1]]
        low = [y0] * len(edges)
        mid = [y0 + 0.8 * b for b in busy + busy[-1:]]
        top = [m + 0.8 * r for m, r in zip(mid, blocked + blocked[-1:])]
        ax.fill_between(edges, low, mid, step="post", color=COLORS["busy"], linewidth=0)
        ax.fill_between(edges, mid, top, step="post", color=COLORS["blocked_in_handler"],
                        linewidth=0)
        if any(runnable):
            high = [t + 0.8 * r for t, r in zip(top, runnable + runnable[-1:])]
            ax.fill_between(edges, top, high, step="post", color=COLORS["runnable"],
                            linewidth=0)
    ax.set_yticks(range(n))
    ax.set_yticklabels([label(short(c.get("name", "?"))) for c in reversed(comps)])
    ax.set_xlim(0, max((end_ns - begin_ns) / 1e9, 1e-9))
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlabel("time since trace begin (s)")
    title = "State over time (green: busy share, red: blocked share"
    if any(p.get("runnable_ns") for c in comps for p in c.get("series") or []):
        title += ", purple: runnable share"
    ax.set_title(title + " of each interval)")
    return to_svg(fig)


def channel_depth(channels, begin_ns):
    """Queue depth over time for the channels that carry a `series` (mean and max)."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    for ch in channels[:MAX_ROWS]:
        s = ch.get("series") or []
        if not s:
            continue
        xs, _ = _series_x(s, begin_ns)
        line = ax.step(xs, [p.get("mean_depth", p.get("depth", 0)) for p in s], where="post",
                       label=label(short(ch.get("name", "?"))), linewidth=1.2)
        if any("max_depth" in p for p in s):
            ax.step(xs, [p.get("max_depth", 0) for p in s], where="post", linestyle=":",
                    color=line[0].get_color(), linewidth=0.9)
    ax.set_xlabel("time since trace begin (s)")
    ax.set_ylabel("messages queued (solid: mean, dotted: max)")
    ax.set_title("Channel depth over time")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return to_svg(fig)


def percentiles(items, key, title):
    """Grouped bars p50/p90/p99/max of items[i][key] (a percentile dict in ns), log scale."""
    items = [it for it in items if isinstance(it.get(key), dict)][:MAX_ROWS]
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.5 * max(len(items), 1)))
    qs = [("p50", "#90caf9"), ("p90", "#42a5f5"), ("p99", "#1565c0"), ("max", "#0d2b5e")]
    n = len(items)
    h = 0.8 / len(qs)
    for qi, (q, color) in enumerate(qs):
        ys, vs = [], []
        for row, it in enumerate(items):
            v = it[key].get(q)
            if num(v) and v > 0:
                ys.append(n - 1 - row - 0.4 + h * (len(qs) - 1 - qi) + h / 2)
                vs.append(v)
        ax.barh(ys, vs, height=h, color=color, label=q)
    if any(ax.patches):
        ax.set_xscale("log")
    ax.set_yticks(range(n))
    ax.set_yticklabels([label(short(it.get("name", it.get("label", "?")))) for it in reversed(items)])
    ax.xaxis.set_major_formatter(
        matplotlib.ticker.FuncFormatter(lambda v, _p: _fmt_axis_ns(v))
    )
    ax.set_xlabel("duration (log scale)")
    ax.set_title(title)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return to_svg(fig)


def _fmt_axis_ns(v):
    if v <= 0:
        return "0"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("\u00b5s", 1e3)):
        if v >= scale:
            return "%g%s" % (round(v / scale, 3), unit)
    return "%gns" % v


def backpressure(channels):
    """Time senders spent blocked because each channel was full (send_blocked_ns)."""
    chans = [c for c in channels if num(c.get("send_blocked_ns"))][:MAX_ROWS]
    n = len(chans)
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.32 * max(n, 1)))
    ax.barh(range(n), [_ms(c["send_blocked_ns"]) for c in reversed(chans)], color="#ef6c00")
    ax.set_yticks(range(n))
    ax.set_yticklabels([label(short(c.get("name", "?"))) for c in reversed(chans)])
    ax.set_xlabel("ms senders were blocked on a full channel")
    ax.set_title("Backpressure per channel")
    return to_svg(fig)


def flow_latency(latency):
    """End-to-end flow latency: p50 / p90 / p99 / max bars."""
    qs = [q for q in ("p50", "p90", "p99", "max") if num(latency.get(q))]
    fig, ax = plt.subplots(figsize=(6, 2.6))
    vmax = max([latency[q] for q in qs] + [1])
    unit, scale = _pick_unit(vmax)
    ax.bar(qs, [latency[q] / scale for q in qs], color=["#90caf9", "#42a5f5", "#1565c0", "#0d2b5e"][: len(qs)])
    for i, q in enumerate(qs):
        ax.text(i, latency[q] / scale, "%.3g" % (latency[q] / scale), ha="center", va="bottom",
                fontsize=7)
    ax.set_ylabel(unit)
    ax.set_title("End-to-end flow latency")
    return to_svg(fig)


def hops(hop_list):
    """Per-hop breakdown of a flow: time queued vs time in the handler, stacked."""
    hs = hop_list[:MAX_ROWS]
    n = len(hs)
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.38 * max(n, 1)))
    vmax = max([float(h.get("queue_ns", 0) or 0) + float(h.get("handle_ns", 0) or 0) for h in hs] + [1])
    unit, scale = _pick_unit(vmax)
    ys = list(range(n - 1, -1, -1))
    q = [float(h.get("queue_ns", 0) or 0) / scale for h in hs]
    hd = [float(h.get("handle_ns", 0) or 0) / scale for h in hs]
    ax.barh(ys, q, color="#90caf9", label="queued")
    ax.barh(ys, hd, left=q, color=COLORS["busy"], label="in handler")
    ax.set_yticks(ys)
    ax.set_yticklabels(
        [label(short("%s \u2192 %s" % (h.get("from", "?"), h.get("to", "?")), 60)) for h in hs]
    )
    ax.set_xlabel(unit)
    ax.set_title("Per-hop breakdown of a flow")
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return to_svg(fig)


def compare_bars(labels, names, values, title, xlabel):
    """Grouped horizontal bars: one group per name, one bar per report (labels)."""
    names = names[:MAX_ROWS]
    n = len(names)
    k = max(len(labels), 1)
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.22 * k * max(n, 1)))
    h = 0.8 / k
    for ri, lab in enumerate(labels):
        ys = [n - 1 - row - 0.4 + h * (k - 1 - ri) + h / 2 for row in range(n)]
        ax.barh(ys, [values[ri][i] or 0 for i in range(n)], height=h, label=label(short(lab)))
    ax.set_yticks(range(n))
    ax.set_yticklabels([label(short(x)) for x in reversed(names)])
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return to_svg(fig)
