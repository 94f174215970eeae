"""A small synthetic looptrace system written as a CTF trace (with tests/report/ctfgen.py),
for the Perfetto export tests: exact, known numbers of handlers, blocks and message flows.

    script (tid 101)  handles "load": sends "fetch" to net, blocks on chan_recv, receives the
                      reply inside the handler (a blocking call), then handles "paint"
    net    (tid 102)  handles "fetch": sends the reply on net-reply
    router (tid 103)  dispatches route 1 for "event" messages (sent from main, tid 100,
                      outside any slice) and forwards them to script as "paint"
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "report"))
import ctfgen  # noqa: E402

PID = 100
CHAN_SCRIPT, CHAN_NET, CHAN_REPLY, CHAN_ROUTER = 1, 2, 3, 4


def build(rounds=5, script_name="script", reply_name="net-reply", lose=False,
          hostname="synthetic"):
    """Returns (Trace, expected) with expected counts: handlers per component name, flows,
    blocks. `hostname`: the trace's host (several hosts' traces are read together)."""
    t = ctfgen.Trace(pid=PID, procname="synthetic", hostname=hostname)
    ts = [1_000_000]

    def ev(tid, name, dt=1_000, **fields):
        ts[0] += dt
        t.event(ts[0], tid=tid, name=name, **fields)

    ev(101, "component_begin", comp=1, name_=script_name)
    ev(102, "component_begin", comp=2, name_="net")
    ev(103, "component_begin", comp=3, name_="router")
    ev(100, "channel_declare", chan=CHAN_SCRIPT, name_="script-in", capacity=16)
    ev(100, "channel_declare", chan=CHAN_NET, name_="net-req", capacity=16)
    ev(100, "channel_declare", chan=CHAN_REPLY, name_=reply_name, capacity=0)
    ev(100, "channel_declare", chan=CHAN_ROUTER, name_="router-in", capacity=0)
    ev(103, "route_add", route=1, chan=CHAN_ROUTER, owner=1)
    msg = 1000
    handlers = {script_name: 0, "net": 0, "router": 0}
    flows = 0
    blocks = 0
    for r in range(rounds):
        load, fetch, reply, event, paint = msg + 1, msg + 2, msg + 3, msg + 4, msg + 5
        msg += 10
        # main thread: a "load" for script, sent outside any slice
        ev(100, "send", chan=CHAN_SCRIPT, msg=load, flow=0, depth=1)
        ev(101, "wait_begin")
        ev(101, "recv", chan=CHAN_SCRIPT, msg=load, depth=0)
        ev(101, "wait_end", chan=CHAN_SCRIPT, msg=load)
        ev(101, "handle_begin", msg=load, kind="load")
        handlers[script_name] += 1
        flows += 1
        ev(101, "send", chan=CHAN_NET, msg=fetch, flow=load, depth=1)
        ev(101, "block_begin", reason=0, object=0x7f0000001000, where=0x401000)
        blocks += 1
        ev(102, "wait_begin", dt=10)
        ev(102, "recv", chan=CHAN_NET, msg=fetch, depth=0)
        ev(102, "wait_end", chan=CHAN_NET, msg=fetch)
        ev(102, "handle_begin", msg=fetch, kind="fetch")
        handlers["net"] += 1
        flows += 1
        ev(102, "block_begin", reason=7, object=3, where=0x402000, dt=50_000)  # io, nested
        blocks += 1
        ev(102, "block_end", dt=200_000)
        ev(102, "send", chan=CHAN_REPLY, msg=reply, flow=load, depth=1)
        ev(102, "handle_end", msg=fetch)
        ev(101, "recv", chan=CHAN_REPLY, msg=reply, depth=0)  # inside script's handler
        flows += 1
        ev(101, "block_end")
        ev(101, "handle_end", msg=load, dt=30_000)
        # an "event" through the router
        ev(100, "send", chan=CHAN_ROUTER, msg=event, flow=0, depth=1)
        ev(103, "recv", chan=CHAN_ROUTER, msg=event, depth=0)
        ev(103, "route_dispatch_begin", route=1, msg=event)
        flows += 1
        ev(103, "send", chan=CHAN_SCRIPT, msg=paint, flow=event, depth=1)
        ev(103, "route_dispatch_end", route=1)
        ev(101, "recv", chan=CHAN_SCRIPT, msg=paint, depth=0)
        ev(101, "wait_end", chan=CHAN_SCRIPT, msg=paint)
        ev(101, "handle_begin", msg=paint, kind="paint")
        handlers[script_name] += 1
        flows += 1
        ev(101, "handle_end", msg=paint, dt=80_000)
        if lose and r == rounds // 2:
            t.lose(7)
    # a message never consumed, an end without a begin, and a handler still open at the end
    ev(100, "send", chan=CHAN_NET, msg=msg + 1, flow=0, depth=1)
    ev(102, "handle_end", msg=424242)
    ev(102, "handle_begin", msg=msg + 2, kind="fetch")
    handlers["net"] += 1
    ev(101, "component_end", comp=1)
    expected = {"handlers": handlers, "flows": flows, "blocks": blocks, "unconsumed": 1}
    return t, expected


WORKER = 201  # the one thread of pool-x
SCRIPT, LAYOUT, TASK = 11, 12, 30


def build_seq(rounds=4, tasks=2):
    """Sequences on a one-thread pool (pool-x, worker tid 201). Per round: script (comp 11)
    handles "load" in two runs, awaiting layout's reply between them (its thread released);
    layout (comp 12) is made ready during script's first run, so runnable until its own run,
    where it blocks on a mutex holding the worker. Then `tasks` one-shot tasks "fetch", one
    after the other (they share one track). Returns (Trace, expected)."""
    t = ctfgen.Trace(pid=PID, procname="synthetic")
    ts = [1_000_000]

    def ev(tid, name, dt=1_000, **fields):
        ts[0] += dt
        t.event(ts[0], tid=tid, name=name, **fields)

    ev(100, "pool_declare", pool=1, name_="pool-x", threads=1)
    ev(WORKER, "pool_worker_begin", pool=1)
    ev(100, "seq_begin", comp=SCRIPT, name_="script", pool=1, flags=0)
    ev(100, "seq_begin", comp=LAYOUT, name_="layout", pool=1, flags=0)
    ev(100, "channel_declare", chan=CHAN_SCRIPT, name_="script-in", capacity=16)
    ev(100, "channel_declare", chan=CHAN_NET, name_="layout-in", capacity=16)
    ev(100, "channel_declare", chan=CHAN_REPLY, name_="reply", capacity=0)
    msg = 2000
    for _ in range(rounds):
        load, req, reply = msg + 1, msg + 2, msg + 3
        msg += 10
        ev(100, "send", chan=CHAN_SCRIPT, msg=load, flow=0, depth=1)
        ev(100, "seq_ready", comp=SCRIPT)
        ev(WORKER, "seq_run_begin", comp=SCRIPT, dt=5_000)
        ev(WORKER, "recv", chan=CHAN_SCRIPT, msg=load, depth=0)
        ev(WORKER, "handle_begin", msg=load, kind="load")
        ev(WORKER, "send", chan=CHAN_NET, msg=req, flow=load, depth=1, dt=20_000)
        ev(WORKER, "seq_ready", comp=LAYOUT)
        ev(WORKER, "block_begin", reason=0, object=0x7f0000002000, where=0x401100)
        ev(WORKER, "seq_run_end", comp=SCRIPT)
        ev(WORKER, "seq_run_begin", comp=LAYOUT, dt=3_000)
        ev(WORKER, "recv", chan=CHAN_NET, msg=req, depth=0)
        ev(WORKER, "handle_begin", msg=req, kind="layout")
        ev(WORKER, "block_begin", reason=2, object=0x7f0000003000, where=0x401200)
        ev(WORKER, "block_end", dt=40_000)
        ev(WORKER, "send", chan=CHAN_REPLY, msg=reply, flow=load, depth=1)
        ev(WORKER, "seq_ready", comp=SCRIPT)
        ev(WORKER, "handle_end", msg=req, dt=10_000)
        ev(WORKER, "seq_run_end", comp=LAYOUT)
        ev(WORKER, "seq_run_begin", comp=SCRIPT, dt=2_000)
        ev(WORKER, "block_end")
        ev(WORKER, "recv", chan=CHAN_REPLY, msg=reply, depth=0)
        ev(WORKER, "handle_end", msg=load, dt=15_000)
        ev(WORKER, "seq_run_end", comp=SCRIPT)
    for k in range(tasks):
        comp = TASK + k
        ev(100, "seq_begin", comp=comp, name_="fetch", pool=1, flags=1)
        ev(100, "seq_ready", comp=comp)
        ev(WORKER, "seq_run_begin", comp=comp, dt=4_000)
        ev(WORKER, "handle_begin", msg=0, kind="fetch")
        ev(WORKER, "handle_end", msg=0, dt=25_000)
        ev(WORKER, "seq_end", comp=comp)
        ev(WORKER, "seq_run_end", comp=comp)
    ev(100, "seq_end", comp=SCRIPT, dt=50_000)
    ev(100, "seq_end", comp=LAYOUT)
    ev(WORKER, "pool_worker_end", pool=1)
    expected = {"runs": {"script": 2 * rounds, "layout": rounds, "fetch": tasks},
                # script: ready for its load, then again when the reply ends its await
                "runnable": {"script": 2 * rounds, "layout": rounds, "fetch": tasks},
                "awaits": {"script": rounds, "layout": 0},
                "handlers": {"script": rounds, "layout": rounds, "fetch": tasks}}
    return t, expected


if __name__ == "__main__":
    trace, exp = build()
    print(trace.write(sys.argv[1]), exp)
