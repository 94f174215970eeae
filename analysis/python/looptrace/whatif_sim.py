"""The discrete-event replay of a recorded message graph (whatif_model.Model).

Each component is a server that runs one job at a time, taking the next message from its
channels round-robin (FIFO within a channel), as liblooptrace-rt's loop does. A job is its
recorded operations: compute for the recorded time, send (waiting while the channel is full:
back-pressure), receive inside the handler a message of its own flow (waiting until it is
delivered), blocks the model cannot explain for their recorded time. Sources send their
messages closed-loop: each send is attempted its recorded think time after the previous one
went through; a source stops at the time its recorded activity ended, and when it needs more
messages than it recorded it sends copies of the recorded ones, in order, each with a copy of
the whole tree of messages it caused. Linked messages arrive their recorded delay after the
job they answer ended; external ones when they arrived.

Changes (class Changes) are applied while replaying: --speedup divides a component's compute
and block times and the delays it answers with; --unblock turns each receive inside that
component's handlers into the end of the handler, the received message then being handled
later as its own message by the rest of the handler; --capacity sets a channel's capacity.
"""

import heapq
from collections import deque

EV_STEP, EV_START, EV_ARRIVE, EV_SOURCE, EV_GIVEUP, EV_SEND_DONE = range(6)


class Changes:
    def __init__(self, speedup=None, unblock=None, capacity=None):
        self.speedup = dict(speedup or {})    # component index -> factor
        self.unblock = set(unblock or ())     # component indexes
        self.capacity = dict(capacity or {})  # channel index -> capacity (0 = unbounded)

    def empty(self):
        return not (self.speedup or self.unblock or self.capacity)


class Spec:
    """What a job runs: a recorded job, or (unblocked) one segment of it."""

    __slots__ = ("comp", "ops", "kind", "linked", "jobt", "seg")

    def __init__(self, comp, ops, kind, linked, jobt, seg):
        self.comp, self.ops, self.kind, self.linked = comp, ops, kind, linked
        self.jobt, self.seg = jobt, seg


class Run:
    """A running job."""

    __slots__ = ("spec", "clone", "pc", "start", "arrival", "busy", "blocked", "trigger",
                 "waits", "block_t", "root", "end")

    def __init__(self, spec, clone, start, arrival, trigger, root):
        self.spec, self.clone, self.pc = spec, clone, 0
        self.start, self.arrival = start, arrival
        self.busy = 0
        self.blocked = 0
        self.trigger = trigger  # MsgT
        self.waits = []         # (t0, t1, MsgT or None, what) of its waits
        self.block_t = 0
        self.root = root
        self.end = None


class CompState:
    __slots__ = ("queues", "order", "rr", "busy", "scheduled", "done", "qwait", "busy_ns",
                 "blocked_ns", "last_end", "first_start")

    def __init__(self):
        self.queues = {}
        self.order = []
        self.rr = 0
        self.busy = False
        self.scheduled = False
        self.done = []     # (end, handle_ns, busy_ns, blocked_ns, external)
        self.qwait = []    # (receipt time, wait ns)
        self.busy_ns = 0
        self.blocked_ns = 0
        self.last_end = None
        self.first_start = None


class ChanState:
    __slots__ = ("cap", "occ", "blocked")

    def __init__(self, cap):
        self.cap = cap
        self.occ = 0
        self.blocked = deque()  # ("job", Run, MsgT inst) | ("src", SourceState, inst)


class SourceState:
    __slots__ = ("src", "k", "block_t", "done", "sent", "unsent")

    def __init__(self, src):
        self.src, self.k, self.block_t, self.done = src, 0, 0, False
        self.sent = 0
        self.unsent = 0


class Result:
    """What one replay measured."""

    def __init__(self):
        self.comps = {}     # comp index -> CompState
        self.flows = {}     # (root i, clone) -> [first, last]
        self.runs = []      # finished Run records of tree jobs: (root, clone, end, Run)
        self.drain_end = None
        self.sources = []   # SourceState
        self.unblocked_waits = 0
        self.spin_dropped_ns = 0
        self.kept_blocks = {}  # comp index -> fixed blocks left in unblocked components
        self.events = 0


def simulate(model, changes=None, horizon=None):
    """Replay `model` with `changes` (None: unchanged). Returns a Result. External messages
    (timer ticks, ...) arrive when they arrived; with `horizon` (ns) past the recording's end
    they go on arriving as in the recording, repeated, until then."""
    return _Sim(model, changes or Changes(), horizon).run()


class _Sim:
    def __init__(self, model, ch, horizon=None):
        self.m = model
        self.horizon = horizon
        self.ch = ch
        self.heap = []
        self.seq = 0
        self.res = Result()
        self.comps = {}
        for ci in model.comps:
            self.comps[ci] = CompState()
        self.res.comps = self.comps
        self.chans = {}
        for chi, c in model.chans.items():
            cap = ch.capacity.get(chi, c.capacity)
            self.chans[chi] = ChanState(cap)
        # times stay integers (ns from the trace clock's origin: a double would round them)
        self.scale = {ci: 1.0 / f for ci, f in ch.speedup.items()}
        self.arrived = {}   # (msg i, clone) -> arrival time (await messages not yet taken)
        self.waiting = {}   # (msg i, clone) -> Run waiting for it
        self.arrival = {}   # (msg i, clone) -> time it reached its queue (loop messages)
        self.specs = {}     # JobT i -> Spec
        self.cont = {}      # MsgT i -> Spec of the handler rest it triggers (unblocked)
        self._build_specs()

    # -- specs --------------------------------------------------------------------------

    def _build_specs(self):
        unblock = self.ch.unblock
        for job in self.m.jobs:
            if job.comp not in unblock:
                self.specs[job.i] = Spec(job.comp, job.ops, job.kind, job.linked, job, 0)
                continue
            segs, msgs = [[]], []
            for op in job.ops:
                if op[0] == "r":
                    seg = segs[-1]
                    if len(seg) >= 2 and seg[-1][0] == "c" and seg[-2][0] == "s":
                        # between sending the request and waiting for its reply: the
                        # receive's own spin before it parked, not the handler's work
                        self.res.spin_dropped_ns += seg.pop()[1]
                    msgs.append(op[1])
                    segs.append([])
                else:
                    if op[0] == "f":
                        self.res.kept_blocks[job.comp] = \
                            self.res.kept_blocks.get(job.comp, 0) + 1
                    segs[-1].append(op)
            last = len(segs) - 1
            self.specs[job.i] = Spec(job.comp, segs[0], job.kind,
                                     job.linked if last == 0 else (), job, 0)
            for n, msg in enumerate(msgs, 1):
                self.cont[msg.i] = Spec(job.comp, segs[n], job.kind + " (reply)",
                                        job.linked if n == last else (), job, n)
                self.res.unblocked_waits += 1

    def handler(self, msg):
        """(dest, Spec) of a message: ("loop", spec), ("await", None) or (None, None)."""
        if msg.dest == "loop":
            return "loop", self.specs.get(msg.job.i)
        if msg.dest == "await":
            spec = self.cont.get(msg.i)
            if spec is not None:
                return "loop", spec
            return "await", None
        return None, None

    # -- the event queue ----------------------------------------------------------------

    def at(self, t, kind, a=None, b=None):
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, a, b))

    def run(self):
        m = self.m
        for src in m.sources:
            st = SourceState(src)
            self.res.sources.append(st)
            self.at(src.first, EV_SOURCE, st)
        for msg in m.externals:
            self.at(msg.t_send, EV_ARRIVE, msg, 0)
        if self.horizon is not None and m.externals and m.end > m.begin:
            period = m.end - m.begin
            for c in range(1, 1 + int((self.horizon - m.end) // period) + 1):
                for msg in m.externals:
                    t = msg.t_send + c * period
                    if t > self.horizon:
                        break
                    self.at(t, EV_ARRIVE, msg, c)
        heap = self.heap
        n = 0
        while heap:
            t, _, kind, a, b = heapq.heappop(heap)
            n += 1
            if kind == EV_STEP:
                self.step(a, t)
            elif kind == EV_START:
                self.start_next(a, t)
            elif kind == EV_ARRIVE:
                self.arrive(a, b, t)
            elif kind == EV_SOURCE:
                self.source_send(a, t)
            elif kind == EV_GIVEUP:
                self.source_giveup(a, b)
            elif kind == EV_SEND_DONE:
                self.deliver(b[0], b[1], t)
                if isinstance(a, Run):
                    self.step(a, t)
                else:
                    self.source_sent(a, t)
        self.res.events = n
        return self.res

    # -- messages -------------------------------------------------------------------------

    def arrive(self, msg, clone, t):
        """A linked or external message arrives (no back-pressure)."""
        if msg.chan is not None and msg.chan in self.chans and self.handler(msg)[0]:
            self.chans[msg.chan].occ += 1
        if msg.origin == "external" and _has_tree(msg):
            self.res.flows[(msg.i, clone)] = [t, t]
        self.deliver(msg, clone, t)

    def deliver(self, msg, clone, t):
        dest, spec = self.handler(msg)
        inst = (msg.i, clone)
        if dest == "loop":
            if spec is None:
                return
            cs = self.comps.get(spec.comp)
            if cs is None:
                return
            key = msg.chan if msg.chan is not None else -1
            q = cs.queues.get(key)
            if q is None:
                q = cs.queues[key] = deque()
                cs.order.append(key)
            q.append((msg, clone, spec))
            self.arrival[inst] = t
            if not cs.busy and not cs.scheduled:
                cs.scheduled = True
                self.at(t + msg.wake, EV_START, spec.comp)  # it waited for work: wakes up
        elif dest == "await":
            run = self.waiting.pop(inst, None)
            if run is not None:
                tw = t + msg.wake
                self.take(msg, t, run.spec.comp, t)
                run.waits.append((run.block_t, tw, msg, "reply"))
                run.blocked += tw - run.block_t
                self.at(tw, EV_STEP, run)
            else:
                self.arrived[inst] = t

    def take(self, msg, sent, comp, t):
        """Message msg leaves its channel at t (received by comp): frees a slot."""
        cs = self.comps.get(comp)
        if cs is not None:
            cs.qwait.append((t, t - sent))
        if msg.chan is None:
            return
        st = self.chans.get(msg.chan)
        if st is None:
            return
        st.occ -= 1
        while st.blocked and (st.cap == 0 or st.occ < st.cap):
            who, obj, inst = st.blocked.popleft()
            st.occ += 1
            tw = t + inst[0].send_wake  # the sender wakes up, then sends
            if who == "job":
                run = obj
                run.blocked += tw - run.block_t
                run.waits.append((run.block_t, tw, inst[0], "send"))
                self.at(tw, EV_SEND_DONE, run, inst)
            else:
                self.at(tw, EV_SEND_DONE, obj, inst)

    # -- components -------------------------------------------------------------------------

    def start_next(self, ci, t):
        cs = self.comps[ci]
        cs.scheduled = False
        if cs.busy:
            return
        order = cs.order
        n = len(order)
        for k in range(n):
            key = order[(cs.rr + k) % n]
            q = cs.queues[key]
            if q:
                cs.rr = (cs.rr + k + 1) % n
                msg, clone, spec = q.popleft()
                arr = self.arrival.pop((msg.i, clone), t)
                self.take(msg, arr, ci, t)
                cs.busy = True
                if cs.first_start is None:
                    cs.first_start = t
                run = Run(spec, clone, t, arr, msg, msg.root)
                self.step(run, t)
                return

    def step(self, run, t):
        spec = run.spec
        ops = spec.ops
        scale = self.scale.get(spec.comp)
        while run.pc < len(ops):
            op = ops[run.pc]
            run.pc += 1
            kind = op[0]
            if kind == "c":
                d = op[1] if scale is None else int(round(op[1] * scale))
                if d > 0:
                    run.busy += d
                    self.at(t + d, EV_STEP, run)
                    return
            elif kind == "f":
                d = op[1] if scale is None else int(round(op[1] * scale))
                if d > 0:
                    run.blocked += d
                    run.waits.append((t, t + d, None, "block"))
                    self.at(t + d, EV_STEP, run)
                    return
            elif kind == "s":
                msg = op[1]
                if self.handler(msg)[0] is None:
                    continue  # never received in the recording either
                st = self.chans.get(msg.chan) if msg.chan is not None else None
                if st is not None:
                    if st.cap and st.occ >= st.cap:
                        run.block_t = t
                        st.blocked.append(("job", run, (msg, run.clone)))
                        return
                    st.occ += 1
                self.deliver(msg, run.clone, t)
            elif kind == "r":
                msg = op[1]
                inst = (msg.i, run.clone)
                sent = self.arrived.pop(inst, None)
                if sent is None:
                    run.block_t = t
                    self.waiting[inst] = run
                    return
                self.take(msg, sent, spec.comp, t)
        self.finish(run, t)

    def finish(self, run, t):
        spec = run.spec
        cs = self.comps[spec.comp]
        cs.busy = False
        run.end = t
        root = run.root
        tree = root is not None and (root.origin == "source" or _has_tree(root))
        cs.done.append((t, t - run.start, run.busy, run.blocked, not tree))
        cs.busy_ns += run.busy
        cs.blocked_ns += run.blocked
        cs.last_end = t
        if tree:
            fl = self.res.flows.get((root.i, run.clone))
            if fl is not None and t > fl[1]:
                fl[1] = t
            self.res.runs.append((root, run.clone, t, run))
            if root.origin == "source" and (self.res.drain_end is None or
                                            t > self.res.drain_end):
                self.res.drain_end = t
        for msg in spec.linked:
            f = self.scale.get(msg.delay_comp)
            d = msg.delay if f is None else int(round(msg.delay * f))
            self.at(t + d, EV_ARRIVE, msg, run.clone)
        if not cs.scheduled:
            cs.scheduled = True
            self.at(t, EV_START, spec.comp)

    # -- sources --------------------------------------------------------------------------

    def source_send(self, st, t):
        src = st.src
        if st.done or t > src.end or not src.msgs:
            st.done = True
            return
        n = len(src.msgs)
        msg = src.msgs[st.k % n]
        clone = st.k // n
        inst = (msg, clone)
        self.res.flows[(msg.i, clone)] = [t, t]
        cst = self.chans.get(msg.chan) if msg.chan is not None else None
        if cst is not None and self.handler(msg)[0] is not None:
            if cst.cap and cst.occ >= cst.cap:
                st.block_t = t
                cst.blocked.append(("src", st, inst))
                self.at(src.end, EV_GIVEUP, st, st.k)
                return
            cst.occ += 1
        self.deliver(msg, clone, t)
        self.source_sent(st, t)

    def source_sent(self, st, t):
        src = st.src
        n = len(src.msgs)
        fl = self.res.flows.get((src.msgs[st.k % n].i, st.k // n))
        if fl is not None:
            fl[0] = t
            fl[1] = max(fl[1], t)
        st.sent += 1
        st.k += 1
        think = src.think[st.k % n] if st.k % n else (src.think[-1] if n > 1 else 0)
        self.at(t + think, EV_SOURCE, st)

    def source_giveup(self, st, k):
        if st.k != k or st.done:
            return
        src = st.src
        msg = src.msgs[k % len(src.msgs)]
        cst = self.chans.get(msg.chan)
        if cst is None:
            return
        for i, item in enumerate(cst.blocked):
            if item[0] == "src" and item[1] is st:
                del cst.blocked[i]
                st.done = True
                st.unsent += 1
                self.res.flows.pop((msg.i, k // len(src.msgs)), None)
                return


def _has_tree(root):
    """Whether an external message caused anything beyond its own job."""
    job = root.job
    return job is not None and (job.sends > 0 or bool(job.linked))
