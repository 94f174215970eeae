"""Time arguments of the analysis verbs (`--begin`, `--end`).

Two forms, chosen by a leading '+':

* absolute: seconds since the Epoch, with an optional fraction ("1764198000.5"), or an integer
  count of nanoseconds ("1764198000500000000"); an explicit unit suffix is also accepted
  ("1764198000500ms"). A bare integer of 13 digits or more is taken as nanoseconds, a shorter
  one as seconds (no trace is from before 2001 or a millisecond count in 1970).
* relative: '+' then a duration from the first event of the trace, with an optional unit
  ("+1.5s", "+200ms", "+750us", "+10ns", "+2m"); no unit means seconds.

parse() returns a TimeSpec; its `sink_param(edge)` names the babeltrace2 sink parameter that
carries it (`begin-ns`/`end-ns` or `begin-offset-ns`/`end-offset-ns`).
"""

import re
from decimal import Decimal, InvalidOperation

_UNITS = {
    "ns": Decimal(1),
    "us": Decimal(1000),
    "\u00b5s": Decimal(1000),
    "\u03bcs": Decimal(1000),
    "ms": Decimal(1000000),
    "s": Decimal(1000000000),
    "m": Decimal(60000000000),
    "min": Decimal(60000000000),
    "h": Decimal(3600000000000),
}

_SYNTAX = re.compile(r"^(\+?)\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-z\u00b5\u03bc]*)$")

# A bare integer at least this long is a nanosecond count (1e12 ns is 16 minutes after 1970).
_NS_DIGITS = 13

_INT64_MAX = (1 << 63) - 1


class TimeSpecError(ValueError):
    """The text is not a valid time; str() is a one-line reason."""


class TimeSpec:
    """A point in time: `relative` (offset from the trace's first event) or absolute ns."""

    __slots__ = ("ns", "relative", "text")

    def __init__(self, ns, relative, text):
        self.ns = ns  # int, nanoseconds (since the Epoch, or since the first event)
        self.relative = relative
        self.text = text

    def sink_param(self, edge):
        """The sink parameter name for `edge` ("begin" or "end")."""
        return "%s-offset-ns" % edge if self.relative else "%s-ns" % edge

    def __repr__(self):
        return "TimeSpec(%d, relative=%r)" % (self.ns, self.relative)


def parse(text):
    """Parse `text` into a TimeSpec; raises TimeSpecError with a one-line reason."""
    if not isinstance(text, str):
        raise TimeSpecError("not a time: %r" % (text,))
    raw = text.strip()
    m = _SYNTAX.match(raw.lower())
    if not m:
        raise TimeSpecError(
            "invalid time %r: expected seconds since the Epoch (1764198000.5), "
            "nanoseconds (1764198000500000000) or '+' and a duration from the trace start "
            "(+1.5s, +200ms)" % text
        )
    relative = m.group(1) == "+"
    number, unit = m.group(2), m.group(3)
    if unit and unit not in _UNITS:
        raise TimeSpecError(
            "invalid time %r: unknown unit %r (use ns, us, ms, s, m or h)" % (text, unit)
        )
    try:
        value = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the regular expression already checked it
        raise TimeSpecError("invalid time %r" % text) from None
    if unit:
        scale = _UNITS[unit]
    elif relative:
        scale = _UNITS["s"]
    elif "." not in number and len(number.lstrip("0")) >= _NS_DIGITS:
        scale = _UNITS["ns"]
    else:
        scale = _UNITS["s"]
    ns = value * scale
    if ns != ns.to_integral_value():
        ns = ns.to_integral_value()  # below a nanosecond: round to the nearest
    ns = int(ns)
    if ns > _INT64_MAX:
        raise TimeSpecError("invalid time %r: out of range" % text)
    return TimeSpec(ns, relative, text)


def check_window(begin, end):
    """Raise TimeSpecError when `begin` is not before `end` (both of the same kind)."""
    if begin is None or end is None or begin.relative != end.relative:
        return
    if begin.ns >= end.ns:
        raise TimeSpecError(
            "--begin %s is not before --end %s" % (begin.text.strip(), end.text.strip())
        )
