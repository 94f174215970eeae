"""The flight recorder: `looptrace record --flight-recorder SIZE [--on COND]...`.

The session records in snapshot mode into overwrite buffers of SIZE in total: memory and disk
stay bounded whatever the run's length. Conditions (`blocked>10ms`, `handler>5ms`, `depth>64`,
`latency>20ms`) are checked inside the traced process by liblooptrace (libtrace/src/flight.c), which reads its
thresholds from LOOPTRACE_FLIGHT and, on a match, emits one `looptrace:trigger` event. An LTTng
2.13 trigger (event-rule-matches on that event, filtered to this recording, action `notify`)
tells `record`, which takes the snapshot itself (`lttng snapshot record`): so it names the
folder `DIR/snapshots/<n>-<time>-<condition>/`, applies the rate limit (`--max-snapshots`,
`--min-gap`), writes what fired into `looptrace-snapshot.json` beside the trace, and never
lets a failed snapshot (a full disk) harm the program. SIGUSR1 to `record` (`looptrace
snapshot DIR`) takes one by hand. See docs/flight-recorder.md.
"""

import ctypes
import json
import os
import re
import shutil
import struct
import sys
import time
from decimal import Decimal

from . import bt, paths
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
STATEDUMP_CHANNEL = "looptrace-statedump"  # lttng.Session.META_CHANNEL
CONDITIONS = ("blocked", "handler", "depth", "latency")  # detected in process (flight.c)
# The trigger event's fields `record` captures, in this order (probes' looptrace-tp.h).
CAPTURES = ("condition", "comp", "comp_name", "value", "begin_ts", "end_ts", "where", "object",
            "reason", "$ctx.vpid", "$ctx.vtid")


def reason_name(reason):
    """The block reason's name as liblooptrace spells it (lt_block_reason_name: one table,
    looptrace/reasons.h), or None when `reason` is not an int or the library cannot be
    loaded."""
    if not isinstance(reason, int) or reason < 0:
        return None
    try:
        fn = ctypes.CDLL(paths.lib("liblooptrace.so")).lt_block_reason_name
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_char_p
    fn.argtypes = [ctypes.c_int]
    name = fn(reason).decode()
    return None if name == "unknown" else name


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
        raise UserError("--on: invalid condition %r: expected blocked>DUR, handler>DUR, "
                        "depth>N or latency>DUR" % str(text))
    kind, value = m.group(1), m.group(2)
    if kind not in CONDITIONS:
        raise UserError("--on: unknown condition %r: expected blocked>DUR, handler>DUR, "
                        "depth>N or latency>DUR" % kind)
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
        self.armed = None  # the trigger: None (none), True (snapshot + notify), False (notify)
        self.notifications = None
        self.taken = []  # folder names, in order
        self.taken_on_conditions = []  # those the trigger took
        self.skipped = 0  # rate-limited or failed
        self.disk_full = False  # a snapshot was refused or failed for want of space
        self.no_space = 0  # how many
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
        self._set_trigger(snapshot=True)
        self.notifications = lttng_notify.Notifications(self.trigger)

    def _trigger_args(self, snapshot):
        args = ["add-trigger", "--name", self.trigger, "--condition=event-rule-matches",
                "--type=user", "--name=looptrace:trigger"]
        if self.record_id is not None:
            args.append("--filter=record == %d" % self.record_id)
        args += ["--capture=%s" % c for c in CAPTURES]
        if snapshot:
            # LTTng's session daemon takes the snapshot itself, at once (tens of ms sooner than
            # `record` could: the ring may wrap meanwhile), then notifies `record`: actions run
            # in order, so the snapshot is complete when the notification arrives.
            args += ["--action=snapshot-session", self.session.name]
        args.append("--action=notify")
        return args

    def _set_trigger(self, snapshot):
        """Arm the trigger with the snapshot action (`<session>-flight`) or, while snapshots on
        conditions are suspended (limit reached, disk full), one that only notifies
        (`<session>-flight-notify`: matches are still counted). The new one is added before
        the old one is removed, so no match falls between them (one in the overlap is
        notified twice); the subscription is to the condition, the same for both."""
        if self.armed is snapshot:
            return
        old = self.trigger
        self.trigger = self.session.name + ("-flight" if snapshot else "-flight-notify")
        self.session.add_trigger(self.trigger, self._trigger_args(snapshot))
        self.armed = snapshot
        if old is not None:
            self.session.remove_trigger(old)

    def _need(self):
        return self.size + META_SUBBUF * META_NUM * (os.cpu_count() or 1) + (1 << 20)

    def poll(self):
        """Handle the triggers notified since the last call (each found its snapshot written
        by LTTng: name it, or remove it when over the limit), and suspend snapshots on
        conditions while the disk lacks room for one."""
        if self.notifications is None:
            return
        for values in self.notifications.poll():
            fired = dict(zip(CAPTURES, values + [None] * (len(CAPTURES) - len(values))))
            if os.environ.get("LOOPTRACE_FLIGHT_DEBUG") and isinstance(fired.get("end_ts"), int):
                print("looptrace: debug: notified %.1f ms after the trigger"
                      % ((time.monotonic_ns() - fired["end_ts"]) / 1e6), file=sys.stderr)
            self._claim(fired.get("condition") or "trigger", fired)
        free = _free(self.dir)
        try:
            if free is not None and free < self._need() and self.armed:
                self.disk_full = True
                self._say("not enough space on the disk holding %s (%d KiB free, a snapshot "
                          "needs up to %d KiB): snapshots on conditions suspended; the program "
                          "runs on" % (bt.show(self.dir), free // 1024, self._need() // 1024))
                self._set_trigger(snapshot=False)
            elif (free is None or free >= self._need()) and self.armed is False and \
                    len(self.taken_on_conditions) < self.max:
                self._set_trigger(snapshot=True)
        except UserError as exc:
            self._say("cannot change the flight recorder's trigger: %s" % exc)

    def _lttng_snapshots(self):
        """The folders LTTng's snapshot action wrote in DIR/snapshots, oldest first."""
        try:
            names = [e for e in os.listdir(self.dir) if e.startswith("snapshot-")]
        except OSError:
            return []
        return sorted(names, key=lambda e: (int(e.rsplit("-", 1)[-1]) if
                                            e.rsplit("-", 1)[-1].isdigit() else 0, e))

    def _claim(self, condition, fired):
        now = time.monotonic_ns()
        # The gap is judged by when the process fired (the trigger's end_ts, the same clock),
        # not by when the notification came: the session daemon's delays vary.
        when = fired.get("end_ts") if fired else None
        when = when if isinstance(when, int) and 0 < when <= now else now
        written = self._lttng_snapshots()
        src = os.path.join(self.dir, written[0]) if written else None
        reason = None
        if src is None:
            if self.armed is not False:
                reason = "LTTng wrote no snapshot"
            elif len(self.taken_on_conditions) >= self.max:
                reason = "not snapshotted: --max-snapshots %d reached" % self.max
            else:
                reason = "not snapshotted: snapshots suspended for want of disk space"
            if self.disk_full:
                self.no_space += 1
        elif len(self.taken_on_conditions) >= self.max:
            reason = "not kept: --max-snapshots %d reached" % self.max
        elif self.last_ns is not None and abs(when - self.last_ns) < self.gap_ns:
            reason = "not kept: within --min-gap of the previous snapshot"
        elif (_free(self.dir) or 0) < 64 * 1024:
            self.disk_full = True
            self.no_space += 1
            reason = "not kept: the disk filled while it was written"
        if reason is not None:
            if src is not None:
                shutil.rmtree(src, ignore_errors=True)
            self.skipped += 1
            self._say("%s %s" % (condition, reason))
            if len(self.taken_on_conditions) >= self.max:
                self._set_trigger_quietly(False)
            return None
        final = self._final(condition)
        try:
            os.rename(src, final)
            self._write_info(final, len(self.taken) + 1, condition, fired, now)
        except OSError as exc:
            shutil.rmtree(src, ignore_errors=True)
            shutil.rmtree(final, ignore_errors=True)
            self.skipped += 1
            self._say("snapshot of %s failed: %s" % (condition, exc.strerror or exc))
            return None
        self.taken_on_conditions.append(os.path.basename(final))
        self.last_ns = when
        self._taken(final, condition, fired)
        if len(self.taken_on_conditions) >= self.max:
            self._set_trigger_quietly(False)  # later matches are counted, not snapshotted
        return final

    def _set_trigger_quietly(self, snapshot):
        try:
            self._set_trigger(snapshot)
        except UserError as exc:
            self._say("cannot change the flight recorder's trigger: %s" % exc)

    def _final(self, condition):
        n = len(self.taken) + 1
        return os.path.join(self.dir, "%d-%s-%s" % (n, time.strftime("%Y%m%d-%H%M%S"),
                                                    _slug(condition)))

    def _taken(self, final, condition, fired):
        n = len(self.taken) + 1
        if os.environ.get("LOOPTRACE_FLIGHT_DEBUG") and fired and \
                isinstance(fired.get("end_ts"), int):
            print("looptrace: debug: snapshot named %.1f ms after the trigger"
                  % ((time.monotonic_ns() - fired["end_ts"]) / 1e6), file=sys.stderr)
        self.taken.append(os.path.basename(final))
        what = condition
        if fired and fired.get("value") is not None:
            what = "%s %s in %s" % (condition, fmt_value(condition, fired["value"]),
                                    fired.get("comp_name") or "component %s" % fired.get("comp"))
        print("looptrace: snapshot %d (%s) written to %s" % (n, what, bt.show(final)),
              file=sys.stderr)

    def take(self, condition):
        """A snapshot by hand (SIGUSR1, `looptrace snapshot`) or at exit, taken with `lttng
        snapshot record` into DIR/snapshots/<n>-<time>-<condition>/; returns its path, or None
        when it failed (said on stderr; the program runs on)."""
        free = _free(self.dir)
        if free is not None and free < self._need():
            self.disk_full = True
            self.no_space += 1
            self.skipped += 1
            self._say("not enough space on the disk holding %s (%d KiB free, a snapshot needs "
                      "up to %d KiB): %s not snapshotted; the program runs on"
                      % (bt.show(self.dir), free // 1024, self._need() // 1024, condition))
            return None
        final = self._final(condition)
        tmp = os.path.join(self.dir, ".taking-%d" % (len(self.taken) + 1))
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            self.session.snapshot(tmp)
            inner = [e for e in os.listdir(tmp) if os.path.isdir(os.path.join(tmp, e))]
            if len(inner) != 1:
                raise UserError("lttng snapshot record wrote %d folders" % len(inner))
            os.rename(os.path.join(tmp, inner[0]), final)
            os.rmdir(tmp)
            self._write_info(final, len(self.taken) + 1, condition, None, time.monotonic_ns())
        except (UserError, OSError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(final, ignore_errors=True)
            self.skipped += 1
            self._say("snapshot %s failed: %s; the program runs on" % (
                condition, exc.strerror if isinstance(exc, OSError) and exc.strerror else exc))
            return None
        self._taken(final, condition, None)
        return final

    def _say(self, line):
        if line not in self.failures:
            self.failures.append(line)
            print("looptrace: %s" % line, file=sys.stderr)

    def _write_info(self, folder, n, condition, fired, now):
        threshold = dict(self.conditions).get(condition)
        info = {"snapshot": n, "condition": condition, "threshold": threshold,
                "taken_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "after_start_ns": now - self.start_ns, "trigger": None}
        if fired:
            trig = {k: fired.get(k) for k in CAPTURES}
            reason = trig.pop("reason", None)
            trig["reason"] = reason_name(reason) if condition == "blocked" else None
            trig["component"] = trig.pop("comp")
            trig["component_name"] = trig.pop("comp_name")
            trig["pid"] = trig.pop("$ctx.vpid")
            trig["tid"] = trig.pop("$ctx.vtid")
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
        # A snapshot LTTng wrote whose notification never came (dropped, or `record`
        # interrupted meanwhile): kept and named like the others, without what fired it.
        for _ in self._lttng_snapshots():
            self._claim("trigger", None)

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


_PACKET_MAGIC = 0xC1FC1FC1


def _overwritten_since(path):
    """For an LTTng-UST stream file of a snapshot: the trace clock's value (cycles) where its
    first retained packet begins when older packets of this CPU's ring were overwritten (its
    `packet_seq_num` is not 0), else None (the stream reaches back to the session's start, or
    is not such a file). Packet context after the 32-byte header: timestamp_begin,
    timestamp_end, content_size, packet_size, packet_seq_num (little-endian u64s)."""
    try:
        with open(path, "rb") as f:
            head = f.read(72)
    except OSError:
        return None
    if len(head) < 72:
        return None
    magic, = struct.unpack_from("<I", head, 0)
    begin, _end, _content, _size, seq = struct.unpack_from("<QQQQQ", head, 32)
    if magic != _PACKET_MAGIC or seq == 0:
        return None
    return begin


def complete_begin_ns(trace):
    """Where a snapshot becomes complete (report time, ns since the Epoch): the latest start
    among its streams whose ring was overwritten, or None when none was (or it is unknown).

    Each CPU has its own ring, and a busy CPU's ring reaches back less far than a quiet one's:
    before that point the snapshot holds only some CPUs' events, so a thread's block_begin or
    handle_begin may be there without what followed it on another CPU (or the reverse). The
    state dump's channel, written at start-up, is left out."""
    offset = clock_offset_ns(trace)
    if offset is None:
        return None
    latest = None
    for md in bt.find_metadata(trace):
        for stream in bt.stream_files(os.path.dirname(md)):
            if os.path.basename(stream).startswith(STATEDUMP_CHANNEL):
                continue
            first = _overwritten_since(stream)
            if first is not None and (latest is None or first > latest):
                latest = first
    return None if latest is None else latest + offset


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


def _component_name(report, trig):
    """The name of the trigger's component from the report (latency>DUR names the route's
    owner, whose name the dispatching thread does not know); None if not there."""
    for comp in report.get("components") or []:
        if comp.get("id") == trig.get("component") and \
                comp.get("pid") in (None, trig.get("pid")):
            return comp.get("name")
    return None


def snapshot_window(traces):
    """For one snapshot folder: where it becomes complete (complete_begin_ns), else None."""
    if len(traces) != 1 or read_snapshot_info(traces[0]) is None:
        return None
    return complete_begin_ns(traces[0])


def snapshot_notices(report, traces):
    """Add `trace.snapshot` (what fired the snapshot: condition, component, value, call site,
    when) to `report` for a snapshot folder; returns True when added."""
    infos = [read_snapshot_info(t) for t in traces]
    infos = [i for i in infos if i]
    if not infos:
        return False
    info = infos[0]
    trig = dict(info.get("trigger") or {})
    trace = report.setdefault("trace", {})
    snap = {"number": info.get("snapshot"), "condition": info.get("condition"),
            "threshold": info.get("threshold"), "taken_at": info.get("taken_at"),
            "complete_from_ns": trace.pop("snapshot_complete_from_ns", None),
            "trigger": None}
    if trig:
        begin_ns = report.get("trace", {}).get("begin_ns")
        offset = clock_offset_ns(traces[0])
        trig["call_site"] = _call_site(report, trig)
        if not trig.get("component_name"):
            trig["component_name"] = _component_name(report, trig)
        for k in ("begin_ts", "end_ts"):
            v = trig.get(k)
            ok = isinstance(v, int) and isinstance(begin_ns, int) and offset is not None
            trig[k.replace("_ts", "_offset_ns")] = v + offset - begin_ns if ok else None
        if isinstance(trig.get("where"), int):
            trig["where"] = "0x%x" % trig["where"]
        if isinstance(trig.get("object"), int):
            trig["object"] = "0x%x" % trig["object"]
        snap["trigger"] = trig
    trace["snapshot"] = snap
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
        how = {"manual": "by hand", "exit": "when the program ended"}.get(
            snap.get("condition"), "on a trigger whose details did not reach record")
        return "SNAPSHOT %s: taken %s (%s)\n\n" % (snap.get("number"), how,
                                                   snap.get("taken_at"))
    cond = snap.get("condition")
    thr = snap.get("threshold")
    lines = ["SNAPSHOT %s: taken on %s%s" % (
        snap.get("number"), cond, ">" + fmt_value(cond, thr) if thr is not None else "")]
    comp = trig.get("component_name") or "component %s" % trig.get("component")
    what = "  %s %s in %s (component %s, pid/tid %s/%s)" % (
        cond, fmt_value(cond, trig.get("value") or 0), esc(comp), trig.get("component"),
        trig.get("pid"), trig.get("tid"))
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
    if snap.get("complete_from_ns") is not None:
        dropped = (report.get("trace") or {}).get("filtered_events") or 0
        if dropped:
            lines.append("  window: from where every CPU's buffer reaches back; %d older events "
                         "of some CPUs left out" % dropped)
    return "\n".join(lines) + "\n\n"
