"""`looptrace whatif TRACE... CHANGE...`: predict, from one recording, what a change would do.

One babeltrace2 pass runs sink.looptrace.report with `graph-output`: the report (the recorded
figures) and the message graph the analysis core writes while it is fed (whatif_model.py).
The graph is replayed as a discrete-event simulation (whatif_sim.py) once unchanged -- the
model's own check: its figures must match the recording, and the error is printed -- and once
with the changes. Per component: recorded, replayed and predicted throughput, time split,
handler time and queue wait; per flow: end-to-end latency; the hops of the slowest predicted
flows. docs/whatif.md says what the model assumes and when it is wrong.
"""

import argparse
import json
import os
import sys
import tempfile
import time

from . import bt, outputs
from .errors import UserError
from .fmt import fmt_ns, fmt_rate
from .render_text import escape

SCHEMA = "looptrace-whatif/1"
SLOWEST = 3  # critical paths shown

DESCRIPTION = """\
Predict what a change would do to the recorded system, from one recording, before making it.
The recorded message graph (every handler run with what it sent, received and waited for;
sends from threads outside components; routes) is replayed as a discrete-event simulation:
each component handles one message at a time with its recorded handler times, channels keep
their capacities and back-pressure, replies arrive their recorded delay after the request was
handled, sources send with their recorded think times. The unchanged replay must reproduce
the recording: its error is printed first. Then the changes are applied and the system is
replayed again."""

EPILOG = """\
changes (any number, combined):
  --speedup COMP=F    COMP's handlers run F times faster (F > 0), and so does the time
                      between a message reaching COMP and the reply on its flow (a network
                      component's latency)
  --unblock COMP      COMP's waits inside handlers become routes: the handler sends its
                      request and returns; the reply is handled later as its own message,
                      by the rest of the handler
  --capacity CHAN=N   the channel CHAN holds N messages (0 = unbounded)
  --workers POOL=N    not available yet: the model replays threads, not pools
with no change, only the unchanged replay and its error are shown.

outputs:
  default          tables on stdout: per component recorded, replayed and predicted
                   throughput, busy and blocked-in-handler shares, handler time and queue
                   wait percentiles; flow latency; the critical path of the slowest flows
  --json FILE|-    the same as JSON (schema looptrace-whatif/1, docs/whatif.md)
  --html DIR       DIR/index.html: the same tables as one page

exit status: 0 on success, 2 on bad input (missing or corrupt trace, no looptrace events,
an unknown component or channel, a bad change).

examples:
  looptrace whatif trace/ --unblock script
  looptrace whatif trace/ --speedup net=2 --json whatif.json
  looptrace whatif trace/ --capacity script.input=64 --speedup script=1.5
"""


def add_parser(subparsers):
    p = subparsers.add_parser(
        "whatif",
        help="predict from one trace what a change would do (replay of the message graph)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("traces", nargs="+", metavar="TRACE",
                   help="trace folder written by `looptrace record` (several are analysed "
                        "together)")
    p.add_argument("--speedup", action="append", default=[], metavar="COMP=F",
                   help="COMP's handlers (and the delay of the replies it gives) F times "
                        "faster")
    p.add_argument("--unblock", action="append", default=[], metavar="COMP",
                   help="COMP's waits inside handlers become routes (reply handled later)")
    p.add_argument("--capacity", action="append", default=[], metavar="CHAN=N",
                   help="channel CHAN's capacity (0 = unbounded)")
    p.add_argument("--workers", action="append", default=[], metavar="POOL=N",
                   help="not available yet: the model replays threads, not pools")
    p.add_argument("--json", metavar="FILE", dest="json_out",
                   help="write the prediction as JSON to FILE ('-' for stdout)")
    p.add_argument("--html", metavar="DIR", dest="html_dir",
                   help="write DIR/index.html with the same tables")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="do not print the tables (only write --json/--html)")
    p.set_defaults(func=run)
    return p


# ---------------------------------------------------------------------------------------------
# Changes


def _split(option, text, kind):
    name, sep, value = text.rpartition("=")
    if not sep or not name:
        raise UserError("%s %s: expected %s" % (option, escape(text), kind))
    return name, value


def parse_changes(args):
    """[(kind, name, value)] from the command line; UserError on a malformed one."""
    if args.workers:
        raise UserError("--workers: not available yet: the model replays each component on a "
                        "thread of its own, not sequences on a pool (see docs/whatif.md)")
    out = []
    for text in args.speedup:
        name, value = _split("--speedup", text, "COMP=F")
        try:
            f = float(value)
        except ValueError:
            f = float("nan")
        if not (f > 0) or f == float("inf"):
            raise UserError("--speedup %s: expected a factor > 0, got %s"
                            % (escape(text), escape(value)))
        out.append(("speedup", name, f))
    for name in args.unblock:
        if not name:
            raise UserError("--unblock: expected a component name")
        out.append(("unblock", name, None))
    for text in args.capacity:
        name, value = _split("--capacity", text, "CHAN=N")
        try:
            n = int(value)
        except ValueError:
            n = -1
        if n < 0 or n > 1 << 32:
            raise UserError("--capacity %s: expected a capacity >= 0 (0 = unbounded), got %s"
                            % (escape(text), escape(value)))
        out.append(("capacity", name, n))
    return out


def resolve_changes(model, changes):
    """whatif_sim.Changes for `changes` on `model`; UserError for an unknown name."""
    from .whatif_sim import Changes

    ch = Changes()
    comps = sorted({c.name for c in model.comps.values()})
    chans = sorted({c.name for c in model.chans.values()})
    for kind, name, value in changes:
        if kind in ("speedup", "unblock"):
            found = model.comp_by_name(name)
            if not found:
                raise UserError("--%s %s: no component of that name in the trace (components: "
                                "%s)" % (kind, escape(name), ", ".join(map(escape, comps))
                                         or "none"))
            for c in found:
                if kind == "speedup":
                    ch.speedup[c.i] = ch.speedup.get(c.i, 1.0) * value
                else:
                    ch.unblock.add(c.i)
        else:
            found = model.chan_by_name(name)
            if not found:
                raise UserError("--capacity %s: no channel of that name in the trace "
                                "(channels: %s)" % (escape(name), ", ".join(map(escape, chans))
                                                    or "none"))
            for c in found:
                ch.capacity[c.i] = value
    return ch


def change_text(changes):
    parts = []
    for kind, name, value in changes:
        if kind == "speedup":
            parts.append("--speedup %s=%g" % (name, value))
        elif kind == "unblock":
            parts.append("--unblock %s" % name)
        else:
            parts.append("--capacity %s=%d" % (name, value))
    return " ".join(escape(p) for p in parts)


# ---------------------------------------------------------------------------------------------
# Figures


def pct(values):
    """The report's percentile object of a list of ns (nearest rank)."""
    n = len(values)
    if not n:
        return {"p50": 0, "p90": 0, "p99": 0, "max": 0, "count": 0, "mean": 0}
    v = sorted(values)

    def q(x):
        return int(round(v[min(n - 1, max(0, int(-(-x * n // 1)) - 1))]))

    return {"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": int(round(v[-1])),
            "count": n, "mean": round(sum(v) / n, 1)}


def _report_comps(report):
    return {c.get("key"): c for c in report.get("components") or [] if isinstance(c, dict)}


def recorded_figures(comp, rc):
    """A component's recorded figures, from the report (rc) when it has it."""
    if rc is None:
        return None
    t = rc.get("time_ns") or {}
    return {
        "messages": rc.get("messages"),
        "wall_ns": rc.get("wall_ns"),
        "throughput_per_s": rc.get("throughput_per_s"),
        "time_ns": {k: t.get(k) for k in ("busy", "idle", "blocked_in_handler",
                                          "blocked_outside", "outside")},
        "utilization": rc.get("utilization"),
        "handle_ns": rc.get("handle_ns"),
        "queue_wait_ns": rc.get("queue_wait_ns"),
    }


def recorded_drain(model):
    ends = [j.end for j in model.jobs if j.trigger.root is not None
            and j.trigger.root.origin == "source"]
    return max(ends) if ends else None


def sim_figures(model, res, comp, rc, shift):
    """A component's figures in one replay (see docs/whatif.md for its wall time)."""
    cs = res.comps[comp.i]
    spans = comp.spans or [[model.begin or 0, model.end]]
    rec_end = spans[-1][1]
    rec_wall = sum(e - b for b, e in spans)
    end = rec_end + shift
    tree_ends = [d[0] for d in cs.done if not d[4]]
    if tree_ends:
        end = max(end, max(tree_ends))
    done = [d for d in cs.done if d[0] <= end]
    wall = max(1, rec_wall + (end - rec_end))
    busy = int(sum(d[2] for d in done))
    bih = int(sum(d[3] for d in done))
    t = (rc or {}).get("time_ns") or {}
    outside = int(t.get("outside") or 0)
    bo = int(t.get("blocked_outside") or 0)
    idle = max(0, wall - busy - bih - outside - bo)
    return {
        "messages": len(done),
        "wall_ns": int(wall),
        "throughput_per_s": round(len(done) * 1e9 / wall, 7),
        "time_ns": {"busy": busy, "idle": int(idle), "blocked_in_handler": bih,
                    "blocked_outside": bo, "outside": outside},
        "utilization": round(busy / wall, 9),
        "handle_ns": pct([d[1] for d in done]),
        "queue_wait_ns": pct([w for tq, w in cs.qwait if tq <= end]),
    }


def recorded_flows(model):
    first, last = {}, {}
    for msg in model.msgs:
        r = msg.root
        if r is None or r is not msg:
            continue
        if r.origin == "source" or (r.origin == "external" and r.job is not None and
                                    (r.job.sends or r.job.linked)):
            first[r.i] = r.t_send
    for job in model.jobs:
        r = job.trigger.root
        if r is not None and r.i in first:
            last[r.i] = max(last.get(r.i, 0), job.end)
    return pct([last[k] - first[k] for k in last])


def sim_flows(res):
    return pct([f[1] - f[0] for f in res.flows.values() if f[1] > f[0]])


def _err(a, b):
    """a / b - 1, or None."""
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return None
    return round(a / b - 1, 6)


# ---------------------------------------------------------------------------------------------
# Critical paths


def critical_paths(model, res, changes=None, count=SLOWEST):
    """The hops of the `count` slowest flows of a replay, in time order."""
    flows = sorted(res.flows.items(), key=lambda kv: kv[1][1] - kv[1][0], reverse=True)
    want, roots = {}, set()
    for k, v in flows:
        if len(want) >= count or v[1] <= v[0]:
            break
        if k[0] not in roots:  # one per recorded flow, not its repeats
            roots.add(k[0])
            want[k] = v
    runs = {}
    for root, clone, _, run in res.runs:
        key = (root.i, clone)
        if key in want:
            runs.setdefault(key, []).append(run)
    out = []
    for key, (t0, t1) in sorted(want.items(), key=lambda kv: kv[1][0] - kv[1][1]):
        rs = runs.get(key) or []
        if not rs:
            continue
        root = model.msgs[key[0]]
        by_trigger = {}
        for r in rs:
            by_trigger.setdefault(r.trigger.i, r)
        last = max(rs, key=lambda r: r.end)
        hops = _chain(model, last, by_trigger, set(), 0, t0)
        for h in hops:
            if h["what"] == "delay" and changes is not None:
                h["speedup"] = changes.speedup.get(h.pop("comp_i"), 1.0)
            h.pop("comp_i", None)
        out.append({"root": _origin_text(model, root), "start_ns": int(t0),
                    "latency_ns": int(t1 - t0), "copy": key[1], "hops": hops})
    return out


def _sender_run(msg, by_trigger):
    if msg.parent is None or msg.parent.trigger is None:
        return None
    return by_trigger.get(msg.parent.trigger.i)


def _chain(model, run, by_trigger, seen, depth, t0):
    out = []
    cur = run
    while cur is not None and id(cur) not in seen and len(seen) < 256:
        seen.add(id(cur))
        trig = cur.trigger
        prev = _sender_run(trig, by_trigger) if trig.origin in ("op", "linked") else None
        seg = []
        if trig.origin == "linked":
            delay = cur.arrival - prev.end if prev is not None and prev.end is not None \
                else None
            seg.append({"depth": depth, "what": "delay", "at_ns": int(cur.arrival - t0),
                        "component": _cname(model, trig.delay_comp),
                        "comp_i": trig.delay_comp,
                        "ns": None if delay is None else int(max(0, delay))})
        seg.append(_hop(model, cur, depth, t0))
        waits = [w for w in cur.waits if w[3] == "reply" and w[2] is not None]
        if waits:
            w = max(waits, key=lambda x: x[1] - x[0])
            if w[1] > w[0]:
                seg[-1]["waited_for"] = _chan_name(model, w[2].chan)
                seg[-1]["waited_ns"] = int(w[1] - w[0])
                seg.extend(_chain(model, _sender_run(w[2], by_trigger), by_trigger, seen,
                                  depth + 1, t0))
        out = seg + out
        if trig.origin not in ("op", "linked"):
            out.insert(0, {"depth": depth, "what": "start", "at_ns": int(cur.arrival - t0),
                           "from": _origin_text(model, trig)})
        cur = prev
    return out


def _hop(model, run, depth, t0):
    spec = run.spec
    return {"depth": depth, "what": "handler", "at_ns": int(run.start - t0),
            "component": _cname(model, spec.comp), "kind": spec.kind,
            "channel": _chan_name(model, run.trigger.chan),
            "queue_ns": int(run.start - run.arrival), "handle_ns": int(run.end - run.start),
            "busy_ns": int(run.busy), "blocked_ns": int(run.blocked)}


def _cname(model, ci):
    c = model.comps.get(ci)
    return c.name if c else "comp-%s" % ci


def _chan_name(model, chi):
    if chi is None:
        return None
    c = model.chans.get(chi)
    return c.name if c else "chan-%s" % chi


def _origin_text(model, msg):
    if msg.origin == "source" and msg.src is not None:
        return "%s -> %s" % (msg.src[0].name, _chan_name(model, msg.chan) or "?")
    if msg.job is not None:
        return "%s %s" % (_cname(model, msg.job.comp), msg.job.kind)
    return msg.origin


# ---------------------------------------------------------------------------------------------
# The run


def build(traces, changes, progress=False):
    """(result dict, model) for `traces` with `changes` (parse_changes)."""
    from . import whatif_model, whatif_sim

    fd, gpath = tempfile.mkstemp(prefix="looptrace-graph-", suffix=".txt")
    os.close(fd)
    try:
        report, _raw = bt.run_report(list(traces), progress=progress,
                                     extra_params={"graph-output": gpath})
        for line in bt.skip_notices(report):
            print(line, file=sys.stderr)
        try:
            model = whatif_model.load(gpath)
        except whatif_model.GraphError as exc:
            raise UserError("the looptrace sink wrote an unusable graph: %s" % exc)
    finally:
        try:
            os.unlink(gpath)
        except OSError:
            pass
    if not model.jobs:
        raise UserError("no handler ran in %s: nothing to replay"
                        % ", ".join(bt.show(t) for t in traces))
    sim_ch = resolve_changes(model, changes)
    rec_drain = recorded_drain(model)

    def replay(ch):
        res = whatif_sim.simulate(model, ch)
        if rec_drain is not None and res.drain_end is not None and res.drain_end > rec_drain:
            # the system works longer than recorded: its timers tick on meanwhile
            res = whatif_sim.simulate(model, ch, horizon=model.end + res.drain_end - rec_drain)
        return res

    t = time.monotonic()
    base = replay(None)
    t_base = time.monotonic() - t
    t = time.monotonic()
    pred = replay(sim_ch) if not sim_ch.empty() else base
    t_pred = time.monotonic() - t
    return assemble(model, report, changes, sim_ch, base, pred, t_base, t_pred, traces), model


def assemble(model, report, changes, sim_ch, base, pred, t_base, t_pred, traces):
    rcs = _report_comps(report)
    rec_drain = recorded_drain(model)

    def shift(res):
        if rec_drain is None or res.drain_end is None:
            return 0
        return res.drain_end - rec_drain

    sb, sp = shift(base), shift(pred)
    comps = []
    worst = None
    for ci in sorted(model.comps):
        comp = model.comps[ci]
        rc = rcs.get(comp.key)
        rec = recorded_figures(comp, rc)
        rep = sim_figures(model, base, comp, rc, sb)
        prd = sim_figures(model, pred, comp, rc, sp)
        err = _err(rep["throughput_per_s"], (rec or {}).get("throughput_per_s"))
        entry = {"name": comp.name, "key": comp.key, "pid": comp.vpid,
                 "recorded": rec, "replayed": rep, "predicted": prd,
                 "replay_error": {"throughput": err,
                                  "busy": _err(rep["time_ns"]["busy"],
                                               ((rec or {}).get("time_ns") or {}).get("busy"))}}
        comps.append(entry)
        if err is not None and (rec or {}).get("messages", 0) >= 20:
            if worst is None or abs(err) > abs(worst[0]):
                worst = (err, comp.name)
    notes = _notes(model, base, pred)
    lost = (report.get("trace") or {}).get("lost_events")
    if lost:
        notes.insert(0, "the trace lost %d events: the graph misses what they said, and the "
                     "replay's error shows how much that matters" % lost)
    return {
        "schema": SCHEMA,
        "trace": {"path": ", ".join(traces),
                  "begin_ns": (report.get("trace") or {}).get("begin_ns"),
                  "duration_ns": (report.get("trace") or {}).get("duration_ns"),
                  "events": (report.get("trace") or {}).get("events"),
                  "lost_events": (report.get("trace") or {}).get("lost_events")},
        "changes": [{"kind": k, "name": n, "value": v} for k, n, v in changes],
        "model": {
            "jobs": len(model.jobs), "messages": len(model.msgs),
            "sources": [{"name": s.name, "messages": len(s.msgs),
                         "think_ns": pct(s.think[1:])} for s in model.sources],
            "linked": sum(1 for m in model.msgs if m.origin == "linked"),
            "external": len(model.externals),
            "cut_jobs": model.cut_jobs,
            "replay_seconds": round(t_base, 3), "predict_seconds": round(t_pred, 3),
            "replay_events": base.events, "predict_events": pred.events,
            "replay_error": {"max_throughput_error": worst[0] if worst else None,
                             "component": worst[1] if worst else None},
        },
        "components": comps,
        "flows": {"recorded": recorded_flows(model), "replayed": sim_flows(base),
                  "predicted": sim_flows(pred)},
        "critical_paths": critical_paths(model, pred, sim_ch),
        "notes": notes,
    }


def _notes(model, base, pred):
    notes = []
    for st in pred.sources:
        n = len(st.src.msgs)
        if st.sent > n:
            notes.append("%s sent %d messages in the prediction, %d in the recording: the "
                         "model repeated recorded ones (with everything they caused)"
                         % (st.src.name, st.sent, n))
        if st.unsent:
            notes.append("%s gave up %d send(s) still held up by back-pressure when its "
                         "recorded activity ended" % (st.src.name, st.unsent))
    if pred.unblocked_waits:
        notes.append("%d receive(s) inside handlers became messages handled later%s"
                     % (pred.unblocked_waits,
                        "; %s of the receive's spin before it parked left the handlers"
                        % fmt_ns(pred.spin_dropped_ns) if pred.spin_dropped_ns else ""))
    for ci, n in sorted(pred.kept_blocks.items()):
        notes.append("%s keeps %d block(s) inside handlers that are not a receive of a reply "
                     "(mutex, sleep, I/O, ...): they still block" % (_cname(model, ci), n))
    if model.cut_jobs:
        notes.append("%d handler run(s) had no end in the trace and are left out"
                     % model.cut_jobs)
    return notes


# ---------------------------------------------------------------------------------------------
# Text


def _share(part, whole):
    if not whole:
        return "-"
    return "%.1f%%" % (100.0 * part / whole)


def _sig(err):
    return "-" if err is None else "%+.1f%%" % (100.0 * err)


def _table(head, rows):
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                       for i, (h, w) in enumerate(zip(head, widths))),
             "  ".join("-" * w for w in widths)]
    for r in rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))))
    return lines


def render_text(res):
    out = []
    ch = res["changes"]
    model = res["model"]
    out.append("looptrace whatif: %s" % escape(res["trace"]["path"]))
    out.append("changes: %s" % (change_text([(c["kind"], c["name"], c["value"]) for c in ch])
                                or "none (unchanged replay only)"))
    err = model["replay_error"]
    if err["max_throughput_error"] is not None:
        out.append("model check: the unchanged replay matches the recorded throughput within "
                   "%.1f %% for every component with 20 messages or more (worst: %s %s)"
                   % (100.0 * abs(err["max_throughput_error"]), escape(err["component"]),
                      _sig(err["max_throughput_error"])))
    out.append("")
    rows = []
    for c in res["components"]:
        rec, rep, prd = c["recorded"] or {}, c["replayed"], c["predicted"]
        rt = rec.get("time_ns") or {}
        ratio = "-"
        if rec.get("throughput_per_s"):
            ratio = "x%.2f" % (prd["throughput_per_s"] / rec["throughput_per_s"])
        rows.append((
            escape(c["name"]),
            fmt_rate(rec.get("throughput_per_s")),
            "%s (%s)" % (fmt_rate(rep["throughput_per_s"]), _sig(c["replay_error"]["throughput"])),
            fmt_rate(prd["throughput_per_s"]), ratio,
            "%s -> %s" % (_share(rt.get("busy"), rec.get("wall_ns")),
                          _share(prd["time_ns"]["busy"], prd["wall_ns"])),
            "%s -> %s" % (_share(rt.get("blocked_in_handler"), rec.get("wall_ns")),
                          _share(prd["time_ns"]["blocked_in_handler"], prd["wall_ns"]))))
    out += _table(("component", "msg/s recorded", "replayed (error)", "predicted", "change",
                   "busy rec -> pred", "blocked in handler rec -> pred"), rows)
    out.append("")
    out.append("handler time and queue wait, p50 / p99, recorded -> predicted:")
    rows = []
    for c in res["components"]:
        rec, prd = c["recorded"] or {}, c["predicted"]
        rows.append((escape(c["name"]), _pp(rec.get("handle_ns")), _pp(prd["handle_ns"]),
                     _pp(rec.get("queue_wait_ns")), _pp(prd["queue_wait_ns"])))
    out += _table(("component", "handler rec", "handler pred", "queue wait rec",
                   "queue wait pred"), rows)
    out.append("")
    fl = res["flows"]
    out.append("flows, first send to last handler end: recorded %s (%d), replayed %s, "
               "predicted %s (%d)   [p50 / p90 / p99]"
               % (_ppp(fl["recorded"]), fl["recorded"]["count"], _ppp(fl["replayed"]),
                  _ppp(fl["predicted"]), fl["predicted"]["count"]))
    paths = res["critical_paths"]
    if paths:
        out.append("")
        out.append("critical path of the slowest %s flows:" % ("predicted" if ch else
                                                              "replayed"))
        for n, p in enumerate(paths, 1):
            out.append("  %d. %s, %s end to end%s" % (
                n, escape(p["root"]), fmt_ns(p["latency_ns"]),
                " (a repeat of a recorded flow)" if p["copy"] else ""))
            for h in p["hops"]:
                out.append("     " + "  " * h["depth"] + _hop_text(h))
    if res["notes"]:
        out.append("")
        for n in res["notes"]:
            out.append("note: " + n)
    m = res["model"]
    out.append("")
    out.append("model: %d handler runs, %d messages (%d linked replies, %d external), %d "
               "source(s); replayed in %.2f s, predicted in %.2f s"
               % (m["jobs"], m["messages"], m["linked"], m["external"], len(m["sources"]),
                  m["replay_seconds"], m["predict_seconds"]))
    return "\n".join(out) + "\n"


def _pp(p):
    if not p or not p.get("count"):
        return "-"
    return "%s / %s" % (fmt_ns(p.get("p50")), fmt_ns(p.get("p99")))


def _ppp(p):
    if not p or not p.get("count"):
        return "-"
    return "%s / %s / %s" % (fmt_ns(p["p50"]), fmt_ns(p["p90"]), fmt_ns(p["p99"]))


def _hop_text(h):
    at = "+%s" % fmt_ns(h.get("at_ns"))
    if h["what"] == "start":
        return "%-9s sent: %s" % (at, escape(h["from"]))
    if h["what"] == "delay":
        f = h.get("speedup") or 1.0
        return "%-9s %s answered after %s (%s)" % (
            at, escape(h["component"]), fmt_ns(h.get("ns")),
            "its recorded delay" if f == 1.0 else "its recorded delay / %g" % f)
    text = "%-9s %s \"%s\"" % (at, escape(h["component"]), escape(h["kind"]))
    if h.get("channel"):
        text += " from %s" % escape(h["channel"])
    text += ": queued %s, ran %s (busy %s" % (fmt_ns(h["queue_ns"]), fmt_ns(h["handle_ns"]),
                                             fmt_ns(h["busy_ns"]))
    if h.get("waited_ns"):
        text += ", waited %s for a reply on %s" % (fmt_ns(h["waited_ns"]),
                                                   escape(h.get("waited_for") or "?"))
    elif h["blocked_ns"]:
        text += ", blocked %s" % fmt_ns(h["blocked_ns"])
    return text + ")"


# ---------------------------------------------------------------------------------------------
# HTML


def render_html(res):
    import html as h

    text = render_text(res)
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>looptrace whatif"
            "</title><style>body{font-family:sans-serif;margin:2em}pre{font-size:13px;"
            "line-height:1.35}</style></head><body><h1>looptrace whatif</h1><pre>%s</pre>"
            "</body></html>\n" % h.escape(text))


# ---------------------------------------------------------------------------------------------


def run(args):
    changes = parse_changes(args)
    if args.json_out and args.json_out != "-":
        from .cmd_report import check_json_dest

        check_json_dest(args.json_out)
    if args.html_dir and os.path.exists(args.html_dir) and not os.path.isdir(args.html_dir):
        raise UserError("--html %s: exists and is not a directory" % bt.show(args.html_dir))
    res, _model = build(args.traces, changes, progress=sys.stderr.isatty())
    text = json.dumps(res, indent=1, allow_nan=False) + "\n"
    if args.json_out == "-":
        sys.stdout.write(text)
    elif args.json_out:
        outputs.write_file(args.json_out, text)
        print("looptrace: JSON written to %s" % bt.show(args.json_out), file=sys.stderr)
    if args.html_dir:
        try:
            os.makedirs(args.html_dir, exist_ok=True)
        except OSError as exc:
            raise UserError("--html %s: %s" % (bt.show(args.html_dir), exc.strerror))
        page = os.path.join(args.html_dir, "index.html")
        outputs.write_file(page, render_html(res))
        print("looptrace: HTML written to %s" % bt.show(page), file=sys.stderr)
    if not args.quiet and args.json_out != "-":
        sys.stdout.write(render_text(res))
    return 0
