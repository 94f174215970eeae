"""Numbers and durations as text, for every output of the CLI.

Three styles, each kept exactly as its output has always been:
- terminal and CSV (fmt_ns, fmt_pct, fmt_rate, ...): compact, '850ns', '12.3%', '-' when
  unknown;
- the HTML page (fmt_*_html): a space before the unit, '850 ns', '12.3 %', an en dash when
  unknown, thin spaces between thousands;
- `looptrace top`'s columns (fmt_*_top): a percentage without its sign, counts as '1.2M';
- `looptrace compare`'s table (fmt_compare_value, fmt_ratio): '12.3us', 'x1.23'.
"""


def num(v):
    """True for a real number (int or float, not bool): what the formatters accept."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ---------------------------------------------------------------------------------------------
# Terminal and CSV


def fmt_ns(ns):
    """A duration in ns as '850ns', '12.3us', '4.56ms', '1.23s' ('-' when unknown)."""
    if not num(ns):
        return "-"
    ns = float(ns)
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1000:
        return "%s%.0fns" % (sign, ns)
    for unit, scale in (("us", 1e3), ("ms", 1e6), ("s", 1e9)):
        v = ns / scale
        if v < 1000 or unit == "s":
            if v >= 100:
                return "%s%.0f%s" % (sign, v, unit)
            if v >= 10:
                return "%s%.1f%s" % (sign, v, unit)
            return "%s%.2f%s" % (sign, v, unit)
    raise AssertionError("unreachable")


def fmt_rate(x):
    """A rate per second: '0.5', '12.3', '1234', '12.3k', '4.56M'."""
    if not num(x):
        return "-"
    x = float(x)
    if x >= 1e6:
        return "%.3gM" % (x / 1e6)
    if x >= 1e4:
        return "%.3gk" % (x / 1e3)
    if x >= 100:
        return "%.0f" % x
    if x >= 10:
        return "%.1f" % x
    return "%.2f" % x


def fmt_pct(part, whole):
    """part/whole as '12.3%' ('-' when whole is 0 or unknown)."""
    if not num(part) or not num(whole) or whole <= 0:
        return "-"
    return "%.1f%%" % (100.0 * part / whole)


def fmt_frac(x):
    """A fraction (0..1) as a percentage."""
    if not num(x):
        return "-"
    return "%.1f%%" % (100.0 * x)


def fmt_count(n):
    if not num(n):
        return "-"
    if isinstance(n, float) and not n.is_integer():
        return "%.2f" % n
    return "%d" % n


def fmt_id(n):
    """A pid/tid; negative (unknown) as '-'."""
    if not num(n) or n < 0:
        return "-"
    return "%d" % n


def fmt_depth(x):
    if not num(x):
        return "-"
    if isinstance(x, float) and not x.is_integer():
        return "%.2f" % x if x < 10 else "%.1f" % x
    return "%d" % x


# ---------------------------------------------------------------------------------------------
# HTML page


def fmt_ns_html(ns):
    """A duration in ns in a human unit: '850 ns', '12.3 µs', '4.56 ms', '1.23 s'."""
    if not num(ns):
        return "\u2013"
    ns = float(ns)
    a = abs(ns)
    if a < 1e3:
        return "%.0f ns" % ns
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("\u00b5s", 1e3)):
        if a >= scale:
            v = ns / scale
            return ("%.3g %s" % (v, unit)) if abs(v) < 100 else ("%.0f %s" % (v, unit))
    return "%.0f ns" % ns


def fmt_num_html(v, digits=3):
    if not num(v):
        return "\u2013"
    if isinstance(v, int):
        return "{:,}".format(v).replace(",", "\u202f")
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return "{:,.0f}".format(v).replace(",", "\u202f")
    return "%.*g" % (digits, v)


def fmt_pct_html(part, whole):
    if not num(part) or not num(whole) or whole <= 0:
        return "\u2013"
    return "%.1f %%" % (100.0 * part / whole)


# ---------------------------------------------------------------------------------------------
# `looptrace top`


def fmt_pct_top(x):
    """A percentage (0..100) without its sign: '12.3', '100' from 99.95 up, '-' for None."""
    if x is None:
        return "-"
    if x >= 99.95:
        return "100"
    return "%.1f" % x


def fmt_num_top(x):
    """A count or rate in at most 5 columns: '87.5', '1234', '123k', '1.2M', '3.4G'."""
    if x is None:
        return "-"
    if x >= 1e9:
        return "%.1fG" % (x / 1e9)
    if x >= 1e6:
        return "%.1fM" % (x / 1e6)
    if x >= 1e5:
        return "%.0fk" % (x / 1e3)
    if isinstance(x, float) and x < 100:
        return "%.1f" % x
    return "%d" % round(x)


# ---------------------------------------------------------------------------------------------
# `looptrace compare`


def fmt_compare_value(v, kind):
    """A value of `looptrace compare`'s table by its kind (ns, pct_ns, frac, count, rate):
    '850ns', '12.3us', '45.6%', '1234', '0.5' ('-' for None)."""
    if v is None:
        return "-"
    if kind in ("ns", "pct_ns"):
        a = abs(float(v))
        if a < 1e3:
            return "%.0fns" % v
        for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
            if a >= scale:
                x = v / scale
                return ("%.3g%s" % (x, unit)) if abs(x) < 100 else ("%.0f%s" % (x, unit))
    if kind == "frac":
        return "%.1f%%" % (100.0 * v)
    if kind == "count" and float(v).is_integer():
        return "%d" % v
    return "%.3g" % v if abs(v) < 1000 else "%.0f" % v


def fmt_ratio(r, a=None, b=None):
    """A ratio to the baseline as 'x1.23'; 'new' when the baseline is 0, '=' when both a and b
    are 0, '-' for None."""
    if r is None:
        return "-"
    if r == float("inf"):
        return "new"
    if r == 1.0 and a == 0 and b == 0:
        return "="
    return "x%.2f" % r


def ipc_mark(ch):
    """' (ipc pid>pid)' after an IPC channel's name: its ends are channels of the same name in
    several processes, joined by the messages that crossed (senders' pids, then receivers')."""
    if not ch.get("ipc"):
        return ""
    ends = ch.get("ends") or []
    # dict.fromkeys: each pid once, in order (a group of IPC channels repeats them)
    src = list(dict.fromkeys(str(e.get("pid")) for e in ends if e.get("sends")))
    dst = list(dict.fromkeys(str(e.get("pid")) for e in ends if e.get("recvs")))
    return " (ipc %s>%s)" % (",".join(src) or "?", ",".join(dst) or "?")
