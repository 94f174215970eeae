#!/usr/bin/env python3
"""gen_corpus.py - writes the seed corpus of fuzz_analysis (tests/fuzz/corpus/).

Each seed is a small, meaningful event sequence in the input format described at the top of
fuzz_analysis.c: a component's whole life, request/reply flows, blocks inside and outside
handlers, routes, lost events, windows, time going backwards. libFuzzer mutates from there.
Run it again after changing the format: python3 tests/fuzz/gen_corpus.py
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = ["unknown", "component_begin", "component_end", "channel_declare", "wait_begin",
         "wait_end", "handle_begin", "handle_end", "block_begin", "block_end", "send", "recv",
         "route_add", "route_remove", "route_dispatch_begin", "route_dispatch_end", "other"]
OP = {k: i for i, k in enumerate(KINDS)}
OP.update(snapshot=17, lost=18, tick=19)


def rec(kind, thr=0, dt=10, id_=0, arg=0, x=0, step=0):
    """One 6-byte record; step: 0 ns, 1 us, 2 ms, 3 backwards."""
    return struct.pack("6B", OP[kind] | (step << 5), thr, dt, id_, arg, x)


def cfg(flags=0, a=0, b=0, c=0):
    return struct.pack("4B", flags, a, b, c)


def loop(thr, comp, chan, msgs, name=2):
    """A component on thread thr handling msgs from chan."""
    out = [rec("component_begin", thr, 1, comp, 0, name),
           rec("channel_declare", thr, 1, chan | (1 << 4), 0, 3)]
    for m in msgs:
        out += [rec("wait_begin", thr, 5), rec("wait_end", thr, 50, chan, m, 0, 1),
                rec("recv", thr, 1, chan, m), rec("handle_begin", thr, 1, 0, m, 2),
                rec("handle_end", thr, 30, 0, m, 0, 1)]
    return out


def seeds():
    s = {}
    s["empty"] = cfg()
    s["one-component"] = cfg() + b"".join(loop(0, 1, 1, [1, 2, 3]) +
                                          [rec("component_end", 0, 5, 1), rec("snapshot")])
    # Producer on thread 1 sends, consumer on thread 0 handles: queue waits, flows.
    seq = [rec("component_begin", 1, 1, 2, 0, 5), rec("component_begin", 0, 1, 1, 0, 2),
           rec("channel_declare", 0, 1, 1 | (2 << 4), 0, 3)]
    for m in range(1, 6):
        seq += [rec("send", 1, 20, 1, m | (1 << 5)), rec("wait_begin", 0, 1),
                rec("wait_end", 0, 40, 1, m, 0, 1), rec("recv", 0, 1, 1, m),
                rec("handle_begin", 0, 1, 0, m, 2),
                rec("send", 0, 3, 2, ((m + 1) & 7) | (m & 3) << 3),
                rec("handle_end", 0, 9, 0, m, 0, 1)]
    seq += [rec("snapshot"), rec("component_end", 0, 1, 1), rec("component_end", 1, 1, 2)]
    s["request-reply"] = cfg(4, 0, 0, 9) + b"".join(seq)
    # Blocks inside and outside handlers, nested blocks, all reasons, invalid reason.
    seq = [rec("component_begin", 0, 1, 1, 0, 4)]
    for reason in range(12):
        seq += [rec("block_begin", 0, 2, 0, reason, 0x50 | reason), rec("block_end", 0, 7, 0, 0, 0, 1),
                rec("handle_begin", 0, 1, 0, 1), rec("block_begin", 0, 1, 0, reason, 0x90),
                rec("block_begin", 0, 1, 0, 2), rec("block_end", 0, 3), rec("block_end", 0, 9, 0, 0, 0, 1),
                rec("handle_end", 0, 1, 0, 1), rec("snapshot")]
    s["blocks"] = cfg() + b"".join(seq)
    # The router: routes added, dispatched, removed while dispatching, re-added.
    seq = [rec("component_begin", 2, 1, 3, 0, 7), rec("channel_declare", 2, 1, 2, 0, 6)]
    for r in range(4):
        seq += [rec("route_add", 1, 3, r | (1 << 2)), rec("send", 1, 2, 2, 4 + r),
                rec("wait_begin", 2, 1), rec("wait_end", 2, 5, 2, 4 + r),
                rec("route_dispatch_begin", 2, 1, r, 4 + r), rec("route_remove", 1, 1, r),
                rec("route_dispatch_end", 2, 6, r, 0, 0, 1)]
    seq += [rec("route_dispatch_end", 2, 1, 0), rec("snapshot")]
    s["routes"] = cfg() + b"".join(seq)
    # Lost events with and without windows, in the middle of handlers.
    seq = loop(0, 1, 1, [1, 2]) + [rec("lost", 0, 10, 3, 200, 1), rec("lost", 0, 10, 0, 7, 0)]
    seq += loop(0, 1, 1, [3, 4])[2:] + [rec("snapshot")]
    s["lost"] = cfg() + b"".join(seq)
    # Time going backwards, events without vtid, two processes with the same ids.
    seq = loop(0, 1, 1, [1]) + [rec("wait_begin", 0, 100, 0, 0, 0, 3), rec("handle_end", 8, 5, 0, 1)]
    seq += loop(4, 1, 1, [1, 2]) + [rec("other", 0, 1), rec("unknown", 1, 1), rec("snapshot")]
    s["backwards-two-pids"] = cfg() + b"".join(seq)
    # Trace started mid-run (first events handle_end / wait_end), and windows.
    seq = [rec("handle_end", 0, 1, 0, 3), rec("wait_end", 1, 1, 1, 4), rec("recv", 1, 1, 1, 4)]
    seq += loop(0, 1, 1, [5, 6, 7]) + [rec("snapshot")]
    s["mid-run"] = cfg() + b"".join(seq)
    s["window-offsets"] = cfg(1 | 2, 20, 3) + b"".join(loop(0, 1, 1, list(range(1, 8))))
    s["window-absolute"] = cfg(8 | 16, 10, 2) + b"".join(loop(0, 1, 1, list(range(1, 8))))
    # Hostile names on components and channels, and the 2,000-byte one.
    seq = []
    for n in range(9):
        seq += [rec("component_begin", n & 3, 1, n & 3, 0, n), rec("channel_declare", 0, 1, n & 3, 0, n),
                rec("handle_begin", n & 3, 1, 0, n & 7, n), rec("handle_end", n & 3, 1, 0, n & 7)]
    s["names"] = cfg() + b"".join(seq + [rec("snapshot")])
    # Nesting oddities: handle in handle, wait in handler, component_begin while bound.
    seq = [rec("component_begin", 0, 1, 1), rec("handle_begin", 0, 1, 0, 1), rec("handle_begin", 0, 1, 0, 2),
           rec("wait_begin", 0, 1), rec("wait_end", 0, 4, 1, 3), rec("component_begin", 0, 1, 2),
           rec("handle_end", 0, 1, 0, 5), rec("component_end", 0, 1, 3), rec("component_end", 0, 1, 2),
           rec("component_begin", 1, 1, 1), rec("snapshot")]
    s["nesting"] = cfg() + b"".join(seq)
    # Out of global time order: a message handled on thread 0 "before" thread 1 sent it
    # (thread 0's own clock still moves forward). Outside the core's input contract: the core
    # clamps it to the latest time, so the queue wait is 0, never negative
    # (docs/reliability.md F4).
    seq = [rec("component_begin", 1, 1, 2, 0, 5), rec("component_begin", 0, 1, 1, 0, 2),
           rec("send", 1, 200, 1, 4), rec("handle_begin", 0, 100, 0, 4, 2, 3),
           rec("handle_end", 0, 50, 0, 4), rec("snapshot")]
    s["cross-thread-backwards"] = cfg() + b"".join(seq)
    return s


def main():
    out = os.path.join(HERE, "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("gen_corpus: %d seeds in %s" % (len(seeds()), out))


if __name__ == "__main__":
    main()
