#!/usr/bin/python3
"""many_ctf.py - writes the load of bench-analysis-many (many_components.c) as a CTF trace, for
babeltrace2 + the looptrace sink: N components, each on its own thread with its own channel,
M messages each over 10 s of trace time (6 M + 3 events per component).

    /usr/bin/python3 bench/analysis/many_ctf.py N M DIR
    babeltrace2 --plugin-path=build/lib/looptrace/bt2 DIR -c sink.looptrace.report \\
        -p 'output="/dev/null"'

The trace is written by tests/report/ctfgen.py, which holds every event in memory first: for
N = 100,000, M = 10 (6.3 M events, 224 MB) about 4 GiB and 40 s. Every component's series
spans the whole trace (about 500 intervals), so its report is 35 KB of JSON a component: run
the sink directly rather than `looptrace report`, whose Python holds the report as objects
(about 4.4 times the JSON's size).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "report"))
import ctfgen  # noqa: E402


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: many_ctf.py N M DIR")
    n, m, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    t0, span = 1000000000, 10000000000
    t = ctfgen.Trace(pid=42, procname="many")
    for c in range(n):
        tid = 1000 + c
        t.event(t0 + c, tid, "component_begin", comp=c + 1, name_="comp-%d" % c)
        t.event(t0 + c, tid, "channel_declare", chan=c + 1, name_="chan-%d" % c, capacity=64)
        t.event(t0 + c, tid, "wait_begin")
    # Round r: component c gets a message (sent by component c - 1) at
    # t0 + n + r * span / m + c * step and handles it for 1-100 us.
    msg = 1
    step = span // m // n
    for r in range(m):
        base = t0 + n + r * (span // m)
        for c in range(n):
            ts = base + c * step
            busy = 1000 + ((c * 7919 + r) % 100) * 1000
            t.event(ts, 1000 + (c + n - 1) % n, "send", chan=c + 1, msg=msg, flow=0, depth=1)
            t.event(ts + 100, 1000 + c, "recv", chan=c + 1, msg=msg, depth=0)
            t.event(ts + 100, 1000 + c, "wait_end", chan=c + 1, msg=msg)
            t.event(ts + 200, 1000 + c, "handle_begin", msg=msg, kind="work")
            t.event(ts + 200 + busy, 1000 + c, "handle_end", msg=msg)
            t.event(ts + 200 + busy, 1000 + c, "wait_begin")
            msg += 1
    t.write(out)


if __name__ == "__main__":
    main()
