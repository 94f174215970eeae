"""The flight recorder: `looptrace record --flight-recorder SIZE [--on COND]...`.

The session records in snapshot mode into overwrite buffers of SIZE in total: memory and disk
stay bounded whatever the run's length. Conditions (`blocked>10ms`, `handler>5ms`, `depth>64`)
are checked inside the traced process by liblooptrace (libtrace/src/flight.c), which reads its
thresholds from LOOPTRACE_FLIGHT and, on a match, emits one `looptrace:trigger` event. An LTTng
2.13 trigger (event-rule-matches on that event, filtered to this recording, action `notify`)
tells `record`, which takes the snapshot itself (`lttng snapshot record`): so it names the
folder `DIR/snapshots/<n>-<time>-<condition>/`, applies the rate limit (`--max-snapshots`,
`--min-gap`), writes what fired into `looptrace-snapshot.json` beside the trace, and never
lets a failed snapshot (a full disk) harm the program. SIGUSR1 to `record` (`looptrace
snapshot DIR`) takes one by hand. See docs/flight-recorder.md.
"""

import json
import os
import re
import shutil
import sys
import time
from decimal import Decimal

from . import bt
from .errors import UserError
from .timespec import _UNITS

SNAPSHOTS = "snapshots"  # DIR/snapshots/<n>-<time>-<condition>/
SNAPSHOT_INFO = "looptrace-snapshot.json"  # in each snapshot folder
RUNNING = ".looptrace-record.pid"  # DIR/: the running record's pid (looptrace snapshot)
DEFAULT_SIZE = "16M"
DEFAULT_MAX = 4
DEFAULT_GAP = "1s"
NUM_SUBBUF = 4  # per CPU: the ring of each CPU is SIZE / CPUs, in 4 sub-buffers
META_SUBBUF, META_NUM = 64 * 1024, 4  # the state dump's channel (call-site names)
CONDITIONS = ("blocked", "handler", "depth")  # detected in process (flight.c)
# The trigger event's fields `record` captures, in this order (probes' looptrace-tp.h).
CAPTURES = ("condition", "comp", "comp_name", "value", "begin_ts", "end_ts", "where", "object",
            "reason")
REASONS = ("chan_recv", "chan_send", "mutex", "condvar", "rwlock", "sem", "sleep", "io",
           "join", "call")


def parse_size(text):
    """'8M' -> 8388608 (k, M, G suffixes); UserError when not a size of at least 64 KiB."""
    m = re.match(r"^\s*(\d+)\s*([kKmMgG]?)(i?[bB])?\s*$", str(text))
    if not m:
        raise UserError("--flight-recorder: invalid size %r: expected e.g. 8M, 512k, 1G"
                        % str(text))
    n = int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]
    if n < 64 * 1024:
        raise UserError("--flight-recorder: %s is too small (at least 64k)" % str(text))
    return n


def parse_duration(text, what):
    """'10ms' -> 10000000 ns (ns, us, ms, s, m, h; no unit: seconds); UserError if invalid."""
    m = re.match(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-z\u00b5\u03bc]*)\s*$",
                 str(text))
    if not m or (m.group(2) or "s") not in _UNITS:
        raise UserError("%s: invalid duration %r: expected e.g. 10ms, 500us, 2s"
                        % (what, str(text)))
    return int(Decimal(m.group(1)) * _UNITS[m.group(2) or "s"])


def parse_condition(text):
    """'blocked>10ms' -> ('blocked', 10000000); 'depth>64' -> ('depth', 64). UserError."""
    m = re.match(r"^\s*([a-z]+)\s*>\s*(\S+)\s*$", str(text))
    if not m:
        raise UserError("--on: invalid condition %r: expected blocked>DUR, handler>DUR or "
                        "depth>N" % str(text))
    kind, value = m.group(1), m.group(2)
    if kind == "latency":
        raise UserError("--on latency>DUR: a flow's end-to-end latency is not known inside the "
                        "process (it spans components and is computed by the analysis): use "
                        "blocked>DUR, handler>DUR or depth>N")
    if kind not in CONDITIONS:
        raise UserError("--on: unknown condition %r: expected blocked>DUR, handler>DUR or "
                        "depth>N" % kind)
    if kind == "depth":
        if not value.isdigit() or int(value) >= 2 ** 32 - 1:
            raise UserError("--on depth>N: invalid depth %r: expected a whole number" % value)
        return kind, int(value)
    ns = parse_duration(value, "--on %s>DUR" % kind)
    if ns >= 2 ** 64 - 1:
        raise UserError("--on %s>DUR: %s is too long" % (kind, value))
    return kind, ns


def subbuf_size(size, cpus):
    """The sub-buffer size for SIZE bytes in total over `cpus` CPUs, NUM_SUBBUF sub-buffers
    each: the largest power of two that fits, at least one page (4 KiB)."""
    per = max(4096, size // max(1, cpus) // NUM_SUBBUF)
    return 1 << (per.bit_length() - 1)


def environment(conditions, min_gap_ns, max_snapshots):
    """LOOPTRACE_FLIGHT's value for the traced process (flight.c parses it once at load)."""
    parts = ["%s=%d" % (k, v) for k, v in conditions]
    parts += ["gap=%d" % min_gap_ns, "max=%d" % max_snapshots]
    return ",".join(parts)


def fmt_value(condition, value):
    if condition == "depth":
        return str(value)
    from .fmt import fmt_ns
    return fmt_ns(value)


class Recorder:
    """The flight recorder of one `record`: its trigger, notifications and snapshots."""

    def __init__(self, output, session, size, conditions, max_snapshots, min_gap_ns,
                 record_id):
        self.output = output
        self.dir = os.path.join(output, SNAPSHOTS)
        self.session = session
        self.size = size
        self.conditions = conditions
        self.max = max_snapshots
        self.gap_ns = min_gap_ns
        self.record_id = record_id
        self.trigger = None  # its name, once added
        self.notifications = None
        self.taken = []  # folder names, in order
        self.skipped = 0  # rate-limited or failed
        self.failures = []  # one-line reasons
        self.last_ns = None
        self.start_ns = time.monotonic_ns()

    def arm(self):
        """Add the LTTng trigger and subscribe to its notifications (when conditions are
        given). UserError (one line) when LTTng has no triggers or refuses this one."""
        os.makedirs(self.dir, exist_ok=True)
        if not self.conditions:
            return
        from . import lttng_notify
        name = self.session.name + "-flight"
        args = ["add-trigger", "--name", name, "--condition=event-rule-matches",
                "--type=user", "--name=looptrace:trigger"]
        if self.record_id is not None:
            args.append("--filter=record == %d" % self.record_id)
        args += ["--capture=%s" % c for c in CAPTURES]
        args.append("--action=notify")
        self.session.add_trigger(name, args)
        self.trigger = name
        self.notifications = lttng_notify.Notifications(name)

    def poll(self):
        """Take a snapshot for each trigger notified since the last call."""
        if self.notifications is None:
            return
        for values in self.notifications.poll():
            fired = dict(zip(CAPTURES, values + [None] * (len(CAPTURES) - len(values))))
            self.take(fired.get("condition") or "trigger", fired)

    def take(self, condition, fired=None, manual=False):
        """Take snapshot number n into DIR/snapshots/<n>-<time>-<condition>/; returns its path,
        or None when rate-limited or when it failed (said on stderr; the program runs on)."""
        now = time.monotonic_ns()
        if not manual:
            if len(self.taken) >= self.max:
                self._skip("--max-snapshots %d reached: %s not snapshotted"
                           % (self.max, condition))
                return None
            if self.last_ns is not None and now - self.last_ns < self.gap_ns:
                self._skip("%s within --min-gap of the previous snapshot: not snapshotted"
                           % condition, quiet=True)
                return None
        free = _free(self.dir)
        if free is not None and free < self.size + (1 << 20):
            self._skip("the disk holding %s is full (%d KiB free, a snapshot needs up to %d "
                       "KiB): %s not snapshotted; the program runs on"
                       % (bt.show(self.dir), free // 1024, self.size // 1024, condition))
            return None
        n = len(self.taken) + 1
        stamp = time.strftime("%Y%m%d-%H%M%S")
        final = os.path.join(self.dir, "%d-%s-%s" % (n, stamp, _slug(condition)))
        tmp = os.path.join(self.dir, ".taking-%d" % n)
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            self.session.snapshot(tmp)
            inner = [e for e in os.listdir(tmp) if os.path.isdir(os.path.join(tmp, e))]
            if len(inner) != 1:
                raise UserError("lttng snapshot record wrote %d folders" % len(inner))
            os.rename(os.path.join(tmp, inner[0]), final)
            os.rmdir(tmp)
            self._write_info(final, n, condition, fired, now)
        except (UserError, OSError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(final, ignore_errors=True)
            full = isinstance(exc, OSError) and exc.errno == 28 or (
                (_free(self.dir) or 0) < self.size)
            self._skip("snapshot of %s failed%s: %s; the program runs on" % (
                condition, " (the disk is full)" if full else "",
                exc.strerror if isinstance(exc, OSError) and exc.strerror else exc))
            return None
        self.taken.append(os.path.basename(final))
        self.last_ns = now
        what = condition
        if fired and fired.get("value") is not None:
            what = "%s %s in %s" % (condition, fmt_value(condition, fired["value"]),
                                    fired.get("comp_name") or "component %s" % fired.get("comp"))
        print("looptrace: snapshot %d (%s) written to %s" % (n, what, bt.show(final)),
              file=sys.stderr)
        return final

    def _skip(self, line, quiet=False):
        self.skipped += 1
        if line not in self.failures:
            self.failures.append(line)
            if not quiet:
                print("looptrace: %s" % line, file=sys.stderr)

    def _write_info(self, folder, n, condition, fired, now):
        threshold = dict(self.conditions).get(condition)
        info = {"snapshot": n, "condition": condition, "threshold": threshold,
                "taken_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "after_start_ns": now - self.start_ns, "trigger": None}
        if fired:
            trig = {k: fired.get(k) for k in CAPTURES}
            reason = trig.pop("reason", None)
            trig["reason"] = (REASONS[reason] if isinstance(reason, int) and
                              0 <= reason < len(REASONS) and condition == "blocked" else None)
            trig["component"] = trig.pop("comp")
            trig["component_name"] = trig.pop("comp_name")
            trig["threshold"] = threshold
            info["trigger"] = trig
        with open(os.path.join(folder, SNAPSHOT_INFO), "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2)
            f.write("\n")

    def close(self):
        if self.notifications is not None:
            try:
                self.poll()  # a trigger of the program's last moments
            finally:
                self.notifications.close()
                self.notifications = None

    def summary(self):
        """The `flight_recorder` entry of looptrace-record.json."""
        return {"size": self.size, "conditions": ["%s>%d" % c for c in self.conditions],
                "max_snapshots": self.max, "min_gap_ns": self.gap_ns,
                "snapshots": list(self.taken), "not_taken": self.skipped,
                "problems": list(self.failures)}


def _slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text))[:40] or "snapshot"


def _free(path):
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


# ---------------------------------------------------------------- report side

def snapshot_folders(root):
    """The snapshot folders `record --flight-recorder` wrote under `root` (a recording's
    folder), oldest first; [] when it is not one."""
    d = os.path.join(root, SNAPSHOTS)
    if not os.path.isdir(d):
        return []
    found = [e for e in os.listdir(d) if re.match(r"^\d+-", e) and
             os.path.isdir(os.path.join(d, e))]
    return [os.path.join(d, e) for e in sorted(found, key=lambda e: int(e.split("-")[0]))]


def resolve_traces(traces):
    """`report DIR` on a flight recording's folder: its only snapshot; several: UserError
    naming them (pick one); none: UserError. Other paths are returned unchanged."""
    out = []
    for t in traces:
        if not os.path.isdir(os.path.join(t, SNAPSHOTS)) or \
                os.path.isdir(os.path.join(t, "ust")):
            out.append(t)
            continue
        snaps = snapshot_folders(t)
        if not snaps:
            raise UserError("%s is a flight recording with no snapshot (no condition matched "
                            "and none was taken by hand)" % bt.show(t))
        if len(snaps) > 1:
            names = ", ".join(os.path.basename(s) for s in snaps[:6])
            raise UserError("%s holds %d snapshots of a flight recording: report one of them, "
                            "e.g. looptrace report %s (%s%s)"
                            % (bt.show(t), len(snaps), bt.show(snaps[0]), names,
                               ", ..." if len(snaps) > 6 else ""))
        print("looptrace: %s: reporting its only snapshot, %s"
              % (bt.show(t), bt.show(os.path.basename(snaps[0]))), file=sys.stderr)
        out.append(snaps[0])
    return out


def read_snapshot_info(trace):
    """The looptrace-snapshot.json of a snapshot folder (or of the snapshot a folder inside
    it belongs to), or None."""
    p = os.path.abspath(trace)
    for _ in range(5):
        f = os.path.join(p, SNAPSHOT_INFO)
        if os.path.isfile(f):
            try:
                with open(f, encoding="utf-8") as fh:
                    info = json.load(fh)
            except (OSError, ValueError):
                return None
            return info if isinstance(info, dict) else None
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    return None


def clock_offset_ns(trace):
    """The offset from LTTng's monotonic clock (the trace clock, which the trigger's begin_ts
    and end_ts read) to the Epoch-based times of the report, from the trace's CTF metadata
    (`clock { freq = 1000000000; offset = N; offset_s = S; }`); None when not found."""
    for md in bt.find_metadata(trace):
        try:
            with open(md, "rb") as f:
                text = f.read(1 << 20)
        except OSError:
            continue
        m = re.search(rb"clock\s*\{(.*?)\};", text, re.S)
        if not m:
            continue
        body = m.group(1)
        freq = re.search(rb"freq\s*=\s*(\d+)\s*;", body)
        if freq and int(freq.group(1)) != 1000000000:
            continue
        off = re.search(rb"\boffset\s*=\s*(\d+)\s*;", body)
        off_s = re.search(rb"\boffset_s\s*=\s*(\d+)\s*;", body)
        return (int(off.group(1)) if off else 0) + \
            (int(off_s.group(1)) * 1000000000 if off_s else 0)
    return None


def _call_site(report, trig):
    """The symbolized name of the trigger's call site, from the report's blocked_by entry at
    the same address (symbolize.py named it), else the address in hex; None if none."""
    where = trig.get("where")
    if not isinstance(where, int) or where == 0:
        return None
    for comp in report.get("components") or []:
        for b in comp.get("blocked_by") or []:
            w = b.get("where")
            if isinstance(w, str):
                try:
                    w = int(w, 0)
                except ValueError:
                    continue
            if w == where and b.get("site"):
                return b["site"]
    return "0x%x" % where


def snapshot_notices(report, traces):
    """Add `trace.snapshot` (what fired the snapshot: condition, component, value, call site,
    when) to `report` for a snapshot folder; returns True when added."""
    infos = [read_snapshot_info(t) for t in traces]
    infos = [i for i in infos if i]
    if not infos:
        return False
    info = infos[0]
    trig = dict(info.get("trigger") or {})
    snap = {"number": info.get("snapshot"), "condition": info.get("condition"),
            "threshold": info.get("threshold"), "taken_at": info.get("taken_at"),
            "trigger": None}
    if trig:
        begin_ns = report.get("trace", {}).get("begin_ns")
        offset = clock_offset_ns(traces[0])
        trig["call_site"] = _call_site(report, trig)
        for k in ("begin_ts", "end_ts"):
            v = trig.get(k)
            ok = isinstance(v, int) and isinstance(begin_ns, int) and offset is not None
            trig[k.replace("_ts", "_offset_ns")] = v + offset - begin_ns if ok else None
        if isinstance(trig.get("where"), int):
            trig["where"] = "0x%x" % trig["where"]
        if isinstance(trig.get("object"), int):
            trig["object"] = "0x%x" % trig["object"]
        snap["trigger"] = trig
    report.setdefault("trace", {})["snapshot"] = snap
    # A snapshot always ends with the program running: `cut-short` says nothing there.
    warnings = report.get("warnings")
    if isinstance(warnings, list):
        report["warnings"] = [w for w in warnings
                              if not (isinstance(w, dict) and w.get("kind") == "cut-short")]
    return True


def render_trigger(report):
    """The terminal lines marking what fired a snapshot ('' for other traces)."""
    snap = (report.get("trace") or {}).get("snapshot")
    if not snap:
        return ""
    trig = snap.get("trigger")
    esc = bt.show
    if not trig:
        return "SNAPSHOT %s: taken %s (%s)\n\n" % (snap.get("number"), snap.get("condition"),
                                                   snap.get("taken_at"))
    cond = snap.get("condition")
    thr = snap.get("threshold")
    lines = ["SNAPSHOT %s: taken on %s%s" % (
        snap.get("number"), cond, ">" + fmt_value(cond, thr) if thr is not None else "")]
    comp = trig.get("component_name") or "component %s" % trig.get("component")
    what = "  %s %s in %s (component %s)" % (
        cond, fmt_value(cond, trig.get("value") or 0), esc(comp), trig.get("component"))
    if trig.get("reason"):
        what += ", reason %s" % trig["reason"]
    lines.append(what)
    if trig.get("call_site"):
        lines.append("  call site: %s" % esc(trig["call_site"]))
    from .fmt import fmt_ns
    b, e = trig.get("begin_offset_ns"), trig.get("end_offset_ns")
    if isinstance(e, int):
        when = "  when: ended %s after the snapshot's first event" % fmt_ns(e)
        if isinstance(b, int) and cond != "depth":
            when += " (began at %s%s)" % ("-" if b < 0 else "+", fmt_ns(abs(b)))
        lines.append(when)
        if isinstance(b, int) and b < 0:
            lines.append("  (the snapshot begins after it started: see docs/flight-recorder.md)")
    return "\n".join(lines) + "\n\n"
