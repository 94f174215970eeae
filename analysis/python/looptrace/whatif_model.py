"""The recorded message graph of `looptrace whatif`, read from the core's graph file.

The analysis core writes the graph (format looptrace-graph/1, analysis/core/src/graph.c) while
babeltrace2 feeds it: jobs (handler runs and route dispatches) with their exact bounds, what
each sent, received and waited for, sends outside jobs, routes added. `load` turns it into the
model the simulation replays (whatif_sim.py):

  * a message (MsgT) is a send, or the trigger of a job nothing traced sent (a timer tick, a
    route dispatch on a file descriptor); it either starts a job of its receiver's loop
    (dest "loop") or is received inside a running job (dest "await");
  * a job (JobT) is the work one message caused on its component: a list of operations,
    ("c", ns) compute, ("f", ns) a block the model cannot resolve (a mutex, a sleep, ...),
    ("s", msg) a send, ("r", msg) a receive inside the handler of a message sent elsewhere;
  * each message says how it comes to exist: sent by an operation of a job ("op"), sent by
    a thread outside any job that starts its own flow ("source": replayed as a closed loop
    with its recorded think times and back-pressure), continuing a flow without a traced
    send from a job ("linked": it arrives a recorded delay after the job it answers ended,
    e.g. a network response after its request), or none of these ("external": it arrives
    when it arrived).

The messages that descend from one source or external message form its tree (`root`): the
simulation clones whole trees when a source runs past its recorded messages. See
docs/whatif.md for the assumptions.
"""

import bisect
import json

FORMAT = "looptrace-graph/1"
CHAN_SEND = 1  # enum lt_block_reason: LT_BLOCK_CHAN_SEND


class GraphError(Exception):
    """The graph file is missing, of another format, or damaged."""


class Comp:
    __slots__ = ("i", "vpid", "key", "name", "spans")

    def __init__(self, i, vpid, key, name):
        self.i, self.vpid, self.key, self.name = i, vpid, key, name
        self.spans = []  # [begin, end or None] of its bindings


class Chan:
    __slots__ = ("i", "vpid", "capacity", "name")

    def __init__(self, i, vpid, capacity, name):
        self.i, self.vpid, self.capacity, self.name = i, vpid, capacity, name


class MsgT:
    """A recorded message (or job trigger) as a template the simulation instantiates."""

    __slots__ = ("i", "key", "chan", "flow", "dest", "job", "waiter", "origin", "parent",
                 "delay", "delay_comp", "root", "t_send", "t_attempt", "thread", "src",
                 "linked_by", "wake", "send_wake")

    def __init__(self, i, key, chan, flow, t_send, t_attempt, thread):
        self.i = i
        self.key = key            # (vpid, id); None for a synthetic trigger
        self.chan = chan          # channel index, or None (no channel)
        self.flow = flow          # (vpid, flow id) or None
        self.dest = None          # "loop" | "await" | None (never received)
        self.job = None           # JobT it starts (loop)
        self.waiter = None        # JobT that receives it inside its handler (await)
        self.origin = "external"  # "op" | "source" | "linked" | "external"
        self.parent = None        # JobT: sender (op) or the job it answers (linked)
        self.delay = 0            # ns after parent's end (linked)
        self.delay_comp = None    # component the delay belongs to (linked)
        self.root = None          # MsgT at the root of its tree
        self.t_send = t_send      # ns, recorded arrival in its channel (or at its receiver)
        self.t_attempt = t_attempt  # ns, recorded start of the send (back-pressure before)
        self.thread = thread      # sending thread index
        self.src = None           # (Source, seq) for a source message
        self.linked_by = ""       # how a linked message found its parent
        self.wake = 0             # ns its receiver took to wake up when it waited for it
        self.send_wake = 0        # ns its sender took to go on once its full channel had room


class JobT:
    __slots__ = ("i", "comp", "kind", "trigger", "ops", "begin", "end", "thread", "route",
                 "linked", "sends", "leaf", "raw", "msgkey", "rchan", "rts", "wait_ns",
                 "fixed_ns")

    def __init__(self, i, comp, kind, thread, begin, msgkey, route, rchan, rts):
        self.i = i
        self.comp = comp        # component index
        self.kind = kind
        self.thread = thread
        self.begin = begin      # ns (exact bound when recorded)
        self.end = None
        self.msgkey = msgkey
        self.route = route
        self.rchan = rchan
        self.rts = rts
        self.trigger = None     # MsgT
        self.ops = []           # [("c", ns) | ("f", ns) | ("s", MsgT) | ("r", MsgT)]
        self.linked = []        # MsgT linked to this job (arrive after its end)
        self.sends = 0
        self.leaf = True        # sent nothing
        self.raw = []           # raw operations while parsing
        self.wait_ns = 0        # recorded resolved waits
        self.fixed_ns = 0       # recorded other blocks


class Source:
    """A thread that sent messages outside any job, each starting its own flow."""

    __slots__ = ("thread", "msgs", "think", "first", "end", "name")

    def __init__(self, thread):
        self.thread = thread
        self.msgs = []   # MsgT in send order
        self.think = []  # ns before each send's attempt (think[0] unused)
        self.first = 0   # ns, first attempt
        self.end = 0     # ns, its last recorded activity
        self.name = ""


class Model:
    def __init__(self):
        self.comps = {}      # index -> Comp
        self.chans = {}      # index -> Chan
        self.threads = {}    # index -> (vpid, vtid)
        self.msgs = []       # MsgT
        self.jobs = []       # JobT (completed)
        self.sources = []    # Source
        self.externals = []  # MsgT roots arriving at recorded times
        self.begin = None    # ns, first time in the graph
        self.end = 0         # ns, last time in the graph
        self.cut_jobs = 0
        self.notes = []
        self.jobs_by_adder = {}

    def comp_by_name(self, name):
        return [c for c in self.comps.values() if c.name == name]

    def chan_by_name(self, name):
        return [c for c in self.chans.values() if c.name == name]


def _name(rest):
    try:
        return json.loads(rest)
    except ValueError:
        return rest


def load(path):
    """The Model of the graph file at `path`; GraphError when it cannot be read."""
    try:
        f = open(path, encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise GraphError("cannot read the graph %s: %s" % (path, exc.strerror))
    with f:
        return _parse(f)


def _parse(lines):
    m = Model()
    cur = {}        # thread -> open JobT
    sends = {}      # (vpid, id) -> (thread, job or None, t, attempt, chan, flow)
    send_order = []  # keys in order
    outside = {}    # thread -> [("s", key) | ("a", route key)] outside jobs, in order
    last_act = {}   # thread -> ns of its last send or block outside jobs
    route_add = {}  # (vpid, route) -> (job or None, thread, position)
    bound = {}      # thread -> component index it runs
    first = True
    for ln in lines:
        if first:
            if not ln.startswith("G ") or ln.split()[1] != FORMAT:
                raise GraphError("not a %s file" % FORMAT)
            first = False
            continue
        p = ln.split(" ", 8)
        k = p[0]
        try:
            if k == "s":
                ti = int(p[1])
                t, att, chan, msg, flow = int(p[2]), int(p[3]), int(p[4]), int(p[5]), int(p[6])
                vpid = m.threads[ti][0]
                key = (vpid, msg)
                job = cur.get(ti)
                if msg and key not in sends:
                    sends[key] = (ti, job, t, att, chan if chan >= 0 else None,
                                  (vpid, flow or msg))
                    send_order.append(key)
                if job is not None:
                    job.raw.append(("s", t, att, key))
                else:
                    outside.setdefault(ti, []).append(("s", key))
                    last_act[ti] = max(last_act.get(ti, 0), t)
            elif k == "B":
                ti, ci, t = int(p[1]), int(p[2]), int(p[3])
                msg, route, rchan, rts = int(p[4]), int(p[5]), int(p[6]), int(p[7])
                vpid = m.threads[ti][0]
                if ti in cur:
                    m.cut_jobs += 1
                rest = p[8].rstrip("\n") if len(p) > 8 else '""'
                cur[ti] = JobT(len(m.jobs), ci, _name(rest), ti, t,
                               (vpid, msg) if msg else None, route, rchan, rts)
                if m.begin is None:
                    m.begin = t
            elif k == "E":
                ti, t, b, e = int(p[1]), int(p[2]), int(p[3]), int(p[4])
                job = cur.pop(ti, None)
                if job is not None:
                    if b and e and job.begin <= b <= e:
                        job.begin, job.end = b, e
                    else:
                        job.end = t
                    job.i = len(m.jobs)
                    m.jobs.append(job)
                    m.end = max(m.end, t)
            elif k == "w":
                ti, t0, t1, reason = int(p[1]), int(p[2]), int(p[3]), int(p[4])
                job = cur.get(ti)
                if job is not None:
                    job.raw.append(("w", t0, t1, reason))
            elif k == "r":
                ti, t, chan, msg = int(p[1]), int(p[2]), int(p[3]), int(p[4])
                job = cur.get(ti)
                if job is not None and msg:
                    job.raw.append(("r", t, (m.threads[ti][0], msg)))
            elif k == "b":
                ti, t1 = int(p[1]), int(p[3])
                last_act[ti] = max(last_act.get(ti, 0), t1)
                m.end = max(m.end, t1)
            elif k == "a":
                ti, t, route = int(p[1]), int(p[2]), int(p[3])
                rk = (m.threads[ti][0], route)
                job = cur.get(ti)
                if job is not None:
                    job.raw.append(("a", t, rk))
                    route_add[rk] = (job, ti, len(job.raw))
                else:
                    lst = outside.setdefault(ti, [])
                    route_add[rk] = (None, ti, len(lst))
                    lst.append(("a", rk))
            elif k == "X":
                if cur.pop(int(p[1]), None) is not None:
                    m.cut_jobs += 1
            elif k == "T":
                m.threads[int(p[1])] = (int(p[2]), int(p[3]))
            elif k == "C":
                ci = int(p[1])
                rest = " ".join(p[4:]).rstrip("\n")
                c = m.comps.get(ci)
                if c is None:
                    m.comps[ci] = Comp(ci, int(p[2]), p[3], _name(rest))
                else:
                    c.name = _name(rest)
            elif k == "N":
                chi = int(p[1])
                rest = " ".join(p[4:]).rstrip("\n")
                m.chans[chi] = Chan(chi, int(p[2]), int(p[3]), _name(rest))
            elif k == "K":
                ti, ci, t = int(p[1]), int(p[2]), int(p[3])
                if ci in m.comps:
                    m.comps[ci].spans.append([t, None])
                    bound[ti] = ci
                if m.begin is None:
                    m.begin = t
            elif k == "k":
                ti, t = int(p[1]), int(p[2])
                c = m.comps.get(bound.pop(ti, -1))
                if c is not None and c.spans and c.spans[-1][1] is None:
                    c.spans[-1][1] = t
                m.end = max(m.end, t)
        except (IndexError, ValueError, KeyError) as exc:
            raise GraphError("damaged graph line %r (%s)" % (ln[:80], exc))
    if first:
        raise GraphError("empty graph file")
    m.cut_jobs += len(cur)
    _bind_threads(m)
    _build(m, sends, send_order, outside, last_act, route_add)
    return m


def _bind_threads(m):
    """Components' open spans end at the end of the graph."""
    for c in m.comps.values():
        for s in c.spans:
            if s[1] is None:
                s[1] = m.end


def _build(m, sends, send_order, outside, last_act, route_add):
    # 1. messages from sends
    by_key = {}
    for key in send_order:
        ti, job, t, att, chan, flow = sends[key]
        msg = MsgT(len(m.msgs), key, chan, flow, t, min(att, t), ti)
        m.msgs.append(msg)
        by_key[key] = msg
        if job is not None:
            msg.origin = "op"
            msg.parent = job
    # 2. each job's trigger
    for job in m.jobs:
        msg = by_key.get(job.msgkey) if job.msgkey else None
        if msg is not None and msg.dest is None:
            msg.dest = "loop"
            msg.job = job
            job.trigger = msg
            if msg.chan is None and job.rchan >= 0:
                msg.chan = job.rchan
            continue
        arrival = job.rts if job.rts and job.rts <= job.begin else job.begin
        t = MsgT(len(m.msgs), None, None, None, arrival, arrival, job.thread)
        t.dest = "loop"
        t.job = job
        job.trigger = t
        m.msgs.append(t)
    # 3. operations
    for job in m.jobs:
        _ops(job, by_key)
    _wakes(m)
    m.jobs_by_adder = {}  # thread outside components -> dispatch jobs of the routes it added
    for job in m.jobs:
        if job.route:
            entry = route_add.get((m.threads[job.thread][0], job.route))
            if entry is not None and entry[0] is None:
                m.jobs_by_adder.setdefault(entry[1], []).append(job)
    # 4. sends outside jobs: sources, or linked to the flow they continue
    flows = {}  # flow -> [JobT] of that flow, by end
    for job in m.jobs:
        f = job.trigger.flow
        if f is not None:
            flows.setdefault(f, []).append(job)
    pending = []  # (time, kind, object) to link in time order
    src_by_thread = {}
    for ti, items in outside.items():
        for kind, key in items:
            if kind != "s" or key not in by_key:
                continue
            msg = by_key[key]
            fid = msg.flow
            continues = fid is not None and fid[1] != key[1] and _flow_started(by_key, fid,
                                                                               msg.t_attempt)
            if continues:
                pending.append((msg.t_attempt, 0, msg))
            else:
                msg.origin = "source"
                _add_lone_source(m, src_by_thread, msg, ti)
    for job in m.jobs:
        if job.trigger.key is None:
            f = _first_send_flow(job)
            if f is None and job.route:
                # a dispatch that sends nothing (it wakes a helper thread): the flow of the
                # request sent after its route was added
                req = _route_request(m, job, route_add, by_key, outside)
                f = req.flow if req is not None else None
            if f is not None and _flow_started(by_key, f, job.trigger.t_send):
                job.trigger.flow = f
                pending.append((job.trigger.t_send, 1, job.trigger))
    pending.sort(key=lambda x: (x[0], x[1]))
    for _, synthetic, msg in pending:
        parent, how = _link_parent(m, msg, flows, route_add, by_key, outside)
        if parent is None or parent.end is None:
            if synthetic:
                msg.origin = "external"
            else:
                msg.origin = "source"
                _add_lone_source(m, src_by_thread, msg)
            continue
        msg.origin = "linked"
        msg.parent = parent
        msg.delay = max(0, msg.t_attempt - parent.end)
        msg.delay_comp = parent.comp
        msg.linked_by = how
        parent.linked.append(msg)
        if synthetic:
            flows.setdefault(msg.flow, []).append(msg.job)
    for fl in flows.values():
        fl.sort(key=lambda j: j.end)
    # 5. sources: think times and end
    for src in m.sources:
        src.msgs.sort(key=lambda x: x.t_send)
        for i, msg in enumerate(src.msgs):
            msg.src = (src, i)
        src.first = src.msgs[0].t_attempt
        src.think = [0] + [max(0, src.msgs[i].t_attempt - src.msgs[i - 1].t_send)
                           for i in range(1, len(src.msgs))]
        src.end = max(last_act.get(src.thread, 0), src.msgs[-1].t_send)
        vp, tid = m.threads.get(src.thread, (0, src.thread))
        src.name = "thread %d" % tid
        for c in m.comps.values():
            if getattr(c, "key", "") == "%d:t%d" % (vp, tid):
                src.name = c.name
    # 6. roots (in time order: a message's parent came before it)
    for msg in sorted(m.msgs, key=lambda x: x.t_send):
        _root(msg)
    for msg in m.msgs:
        if msg.origin == "external" and msg.job is not None:
            m.externals.append(msg)
    # 7. waits on a message of another tree cannot be replayed as such: fixed blocks
    for job in m.jobs:
        for i, op in enumerate(job.ops):
            if op[0] == "r" and (op[1].root is not job.trigger.root or op[1].dest != "await"):
                job.ops[i] = ("f", op[2])
                op[1].dest = None
                op[1].waiter = None
    m.externals.sort(key=lambda x: x.t_send)
    del by_key


def _wakes(m):
    """Recorded wake-up times: how long a component that waited for work took to start a
    message that arrived (msg.wake), and how long a sender held up by a full channel took to
    go on once a receiver made room (msg.send_wake)."""
    by_comp = {}
    taken = {}  # channel -> receipt times
    for job in m.jobs:
        by_comp.setdefault(job.comp, []).append(job)
        trig = job.trigger
        if trig.chan is not None:
            taken.setdefault(trig.chan, []).append(job.rts or job.begin)
    for jobs in by_comp.values():
        jobs.sort(key=lambda j: j.begin)
        prev_end = None
        for job in jobs:
            trig = job.trigger
            if trig.key is not None and (prev_end is None or trig.t_send >= prev_end):
                trig.wake = max(0, job.begin - trig.t_send)
            prev_end = job.end if prev_end is None else max(prev_end, job.end)
    for lst in taken.values():
        lst.sort()
    for msg in m.msgs:
        if msg.t_attempt < msg.t_send and msg.chan in taken:
            lst = taken[msg.chan]
            i = bisect.bisect_right(lst, msg.t_send) - 1
            if i >= 0 and lst[i] > msg.t_attempt:
                msg.send_wake = msg.t_send - lst[i]


def _add_lone_source(m, src_by_thread, msg, ti=None):
    """Appends msg to the source of thread ti (default: the thread that sent it)."""
    if ti is None:
        ti = msg.thread
    src = src_by_thread.get(ti)
    if src is None:
        src = src_by_thread[ti] = Source(ti)
        m.sources.append(src)
    msg.src = (src, len(src.msgs))
    src.msgs.append(msg)


def _root(msg):
    chain = []
    x = msg
    while x.root is None:
        chain.append(x)
        if x.origin in ("op", "linked") and x.parent is not None and x.parent.trigger is not None \
                and x.parent.trigger not in chain:
            x = x.parent.trigger
        else:
            x.root = x
            break
    r = x.root
    for y in chain:
        y.root = r
    return r


def _flow_started(by_key, fid, t):
    """Whether flow `fid` has a message sent before t (its first message is its id)."""
    first = by_key.get(fid)
    return first is not None and first.t_send <= t


def _route_request(m, job, route_add, by_key, outside):
    """The request sent right after the route a dispatch job runs was added, or None."""
    entry = route_add.get((m.threads[job.thread][0], job.route))
    if entry is None:
        return None
    added_in, ti, pos = entry
    if added_in is not None:
        for op in added_in.raw[pos:]:
            if op[0] == "s":
                return by_key.get(op[3])
        return None
    for kind, key in outside.get(ti, [])[pos:]:  # added by a thread outside components
        if kind == "s":
            return by_key.get(key)
    return None


def _first_send_flow(job):
    for op in job.ops:
        if op[0] == "s" and op[1].flow is not None:
            return op[1].flow
    return None


def _link_parent(m, msg, flows, route_add, by_key, outside):
    """The job a message without a traced sender in the flow answers: (JobT, how)."""
    t = msg.t_attempt
    job = msg.job
    if job is not None and job.route and job.trigger.key is None:
        # a route dispatch: the route was added just before a request went out; the
        # dispatch answers that request (Servo's ROUTER.add_route, then the request)
        req = _route_request(m, job, route_add, by_key, outside)
        if req is not None and req.job is not None and req.job.end is not None \
                and req.job.end <= t:
            return req.job, "route"
    if msg.key is not None and msg.parent is None:
        # sent by a thread outside components that added a route and waited for its
        # dispatch (a helper thread): it answers that dispatch
        best = None
        for d in m.jobs_by_adder.get(msg.thread, ()):
            if d.end is not None and d.end <= t and (best is None or d.end > best.end):
                best = d
        if best is not None:
            return best, "helper"
    cands = [j for j in flows.get(msg.flow, ()) if j.end is not None and j.end <= t
             and j is not job]
    if cands:
        leaves = [j for j in cands if j.leaf]
        pick = max(leaves or cands, key=lambda j: j.end)
        return pick, "leaf" if leaves else "flow"
    started = [j for j in flows.get(msg.flow, ()) if j.begin <= t and j is not job]
    if started:
        return max(started, key=lambda j: j.begin), "running"
    return None, ""


def _ops(job, by_key):
    """Turn the job's raw operations into the simulation's (compute between them)."""
    ops = []
    cur = job.begin
    pend = None  # (t0, t1) of a block inside the handler not yet explained
    own = job.msgkey

    def compute(upto):
        nonlocal cur
        if upto > cur:
            ops.append(("c", upto - cur))
            cur = upto

    def flush_block():
        nonlocal pend, cur
        if pend is not None:
            t0, t1 = pend
            compute(t0)
            d = max(0, t1 - max(t0, cur))
            ops.append(("f", d))
            job.fixed_ns += d
            cur = max(cur, t1)
            pend = None

    for op in job.raw:
        kind = op[0]
        if kind == "w":
            flush_block()
            if op[3] != CHAN_SEND:
                pend = (op[1], op[2])
            continue
        if kind == "r":
            msg = by_key.get(op[2])
            if msg is None or op[2] == own or msg.dest is not None:
                continue
            t = min(op[1], job.end)
            if pend is not None:
                t0 = pend[0]
                pend = None
            else:
                t0 = t
            if t0 < msg.t_send <= t:
                msg.wake = t - msg.t_send  # it came while the handler waited
            compute(t0)
            waited = max(0, t - max(t0, cur))
            msg.dest = "await"
            msg.waiter = job
            ops.append(("r", msg, waited))
            job.wait_ns += waited
            cur = max(cur, t)
            continue
        flush_block()
        if kind == "s":
            _, t, att, key = op
            msg = by_key.get(key)
            if msg is None or msg.parent is not job:
                continue
            compute(min(att, job.end))
            ops.append(("s", msg))
            job.sends += 1
            job.leaf = False
            cur = max(cur, min(t, job.end))
    flush_block()
    compute(job.end)
    merged = []
    for op in ops:
        if op[0] == "c" and merged and merged[-1][0] == "c":
            merged[-1] = ("c", merged[-1][1] + op[1])
        elif op[0] in ("c", "f") and op[1] <= 0:
            continue
        else:
            merged.append(op)
    job.ops = merged
