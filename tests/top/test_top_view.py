"""The figures and text of `looptrace top`, computed from synthetic snapshots (no LTTng).

Checks: interval shares are differences of cumulative times over the difference of wall
time; the first snapshot's interval is the run so far; a reader restart (cumulative figures
start again) shows no negative interval; inbox depth comes from the channels whose receiving
thread is the component's; sorting; 80-column text with escaped names.

Environment: LOOPTRACE_PYDIR (the folder holding the looptrace package).
"""

import os
import sys
import unittest

sys.path.insert(0, os.environ.get("LOOPTRACE_PYDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "analysis", "python"))

from looptrace import top_view  # noqa: E402


def comp(cid, name, wall, busy, idle, blocked, msgs, tid=None, ended=False):
    return {"id": cid, "key": "7:%d" % cid, "name": name, "pid": 7, "tid": tid or 100 + cid,
            "wall_ns": wall, "messages": msgs, "ended": ended,
            "time_ns": {"busy": busy, "idle": idle, "blocked_in_handler": blocked,
                        "blocked_outside": 0, "outside": wall - busy - idle - blocked}}


def snap(seq, end_ns, comps, chans=(), inboxes=(), warnings=(), restart=0, final=False):
    return {"schema": "looptrace-report/1",
            "trace": {"events": 10 * seq, "begin_ns": 0, "end_ns": end_ns,
                      "duration_ns": end_ns, "lost_events": 0},
            "components": list(comps), "channels": list(chans), "warnings": list(warnings),
            "snapshot": {"seq": seq, "final": final, "inboxes": list(inboxes),
                         "restart": restart}}


S = 1000000000


class Rows(unittest.TestCase):
    def test_interval_is_delta_over_delta_wall(self):
        a = snap(1, S, [comp(1, "script", S, S // 2, S // 2, 0, 100)])
        b = snap(2, 2 * S, [comp(1, "script", 2 * S, S // 2 + S // 4, S // 2 + S // 4 - S // 10,
                                 S // 10, 300)])
        (r,) = top_view.rows(a, b)
        self.assertAlmostEqual(r["busy_now"], 25.0)
        self.assertAlmostEqual(r["idle_now"], 15.0)
        self.assertAlmostEqual(r["blocked_now"], 10.0)
        self.assertAlmostEqual(r["busy_run"], 37.5)
        self.assertAlmostEqual(r["rate"], 200.0)
        self.assertEqual(r["messages"], 300)

    def test_first_snapshot_interval_is_the_run(self):
        b = snap(1, 2 * S, [comp(1, "script", 2 * S, S, S, 0, 50)])
        (r,) = top_view.rows(None, b)
        self.assertAlmostEqual(r["busy_now"], 50.0)
        self.assertAlmostEqual(r["busy_run"], 50.0)
        self.assertAlmostEqual(r["rate"], 25.0)

    def test_restart_shows_no_negative_interval(self):
        a = snap(5, 5 * S, [comp(1, "script", 5 * S, 2 * S, 3 * S, 0, 500)])
        b = snap(1, S, [comp(1, "script", S, S // 2, S // 2, 0, 80)], restart=1)
        (r,) = top_view.rows(a, b)
        self.assertAlmostEqual(r["busy_now"], 50.0)
        self.assertGreaterEqual(r["rate"], 0)

    def test_new_component_and_ended(self):
        a = snap(1, S, [comp(1, "a", S, 0, S, 0, 0)])
        b = snap(2, 2 * S, [comp(1, "a", S, 0, S, 0, 0, ended=True), comp(2, "b", S, S, 0, 0, 9)])
        ra, rb = top_view.rows(a, b)
        self.assertIsNone(ra["busy_now"])  # no wall time in the interval
        self.assertTrue(ra["ended"])
        self.assertAlmostEqual(rb["busy_now"], 100.0)

    def test_inbox_and_warnings(self):
        chans = [{"id": 1, "pid": 7, "name": "script.input", "depth": 5, "capacity": 32,
                  "sends": 10, "recvs": 5, "max_depth": 6},
                 {"id": 2, "pid": 7, "name": "script.reply", "depth": 2, "capacity": 0,
                  "sends": 4, "recvs": 2, "max_depth": 2},
                 {"id": 3, "pid": 7, "name": "net.requests", "depth": 9, "capacity": 0,
                  "sends": 9, "recvs": 0, "max_depth": 9}]
        inboxes = [{"pid": 7, "chan": 1, "tid": 101}, {"pid": 7, "chan": 2, "tid": 101},
                   {"pid": 7, "chan": 3, "tid": 102}]
        warnings = [{"kind": "blocks-in-handler", "component": 1, "pid": 7},
                    {"kind": "queue-growth", "channel": 3, "pid": 7},
                    {"kind": "cut-short", "component": 1, "pid": 7},  # live: meaningless
                    {"kind": "cut-short", "component": 3, "pid": 7}]
        b = snap(1, S, [comp(1, "script", S, 0, S, 0, 0), comp(2, "net", S, 0, S, 0, 0),
                        comp(3, "router", S, 0, S, 0, 0)], chans, inboxes, warnings)
        rs = {r["name"]: r for r in top_view.rows(None, b)}
        self.assertEqual(rs["script"]["inbox"], 7)
        self.assertEqual([c["name"] for c in rs["script"]["channels"]],
                         ["script.input", "script.reply"])
        self.assertEqual(rs["net"]["inbox"], 9)
        self.assertIsNone(rs["router"]["inbox"])
        self.assertEqual(rs["script"]["warnings"], ["blocks-in-handler"])
        self.assertEqual(rs["net"]["warnings"], ["queue-growth"])
        self.assertEqual(rs["router"]["warnings"], [])

    def test_sort(self):
        b = snap(1, S, [comp(1, "b", S, S // 2, S // 2, 0, 5), comp(2, "a", S, S, 0, 0, 9),
                        comp(3, "c", 0, 0, 0, 0, 1)])
        items = top_view.rows(None, b)
        busy = top_view.sort_rows(items, 3, False)
        self.assertEqual([r["name"] for r in busy], ["a", "b", "c"])  # c: no data, last
        names = top_view.sort_rows(items, 0, False)
        self.assertEqual([r["name"] for r in names], ["a", "b", "c"])
        msgs = top_view.sort_rows(items, 1, True)
        self.assertEqual([r["name"] for r in msgs], ["c", "b", "a"])


IP = 0x80000000  # the interposer's component ids


def thread(n, name, wall, blocked, by, cpu=None, loop_top=None):
    """An interposer thread: blocked_outside `blocked` ns split as `by` {reason: ns}."""
    c = {"id": IP | n, "key": "7:%d" % (IP | n), "name": name, "pid": 7, "tid": 200 + n,
         "wall_ns": wall, "messages": 0, "ended": False,
         "time_ns": {"busy": 0, "idle": 0, "blocked_in_handler": 0, "blocked_outside": blocked,
                     "outside": wall - blocked},
         "blocked_by": [{"reason": r, "ns": ns} for r, ns in by.items()]}
    if cpu is not None:
        c["cpu_ns"] = cpu
    if loop_top is not None:
        c["loop_top"] = loop_top
    return c


class Threads(unittest.TestCase):
    """`top --interpose`: threads without a known loop top show running, blocked and CPU
    shares and the main blocking reason, not columns of zeros (issue 17, bug 4)."""

    def test_threads_view(self):
        a = snap(1, S, [thread(1, "worker", S, S // 2, {"io": S // 2}),
                        thread(2, "main", S, S, {"join": S})])
        b = snap(2, 2 * S, [thread(1, "worker", 2 * S, S // 2 + S // 10,
                                   {"io": S // 2, "mutex": S // 10}),
                            thread(2, "main", 2 * S, 2 * S, {"join": 2 * S})])
        items = top_view.rows(a, b)
        self.assertIs(top_view.columns_for(items), top_view.THREAD_COLUMNS)
        w = [r for r in items if r["name"] == "worker"][0]
        self.assertAlmostEqual(w["running_now"], 90.0)
        self.assertAlmostEqual(w["waiting_now"], 10.0)
        self.assertAlmostEqual(w["running_run"], 70.0)
        self.assertAlmostEqual(w["waiting_run"], 30.0)
        self.assertIsNone(w["cpu_now"])
        self.assertEqual(w["reason"], "mutex 100%")  # the interval's blocked time: all mutex
        self.assertIsNone(w["busy_now"])  # no loop: no busy figure, not 0
        text = top_view.render_text(a, b, total=80)
        lines = text.splitlines()
        self.assertIn("RUN", lines[2])
        self.assertIn("BLOCKED ON", lines[2])
        self.assertNotIn("IDLE", lines[2])
        # Sorted by the running share of the interval: the worker first, main (0 %) last.
        self.assertTrue(lines[3].startswith("worker"), text)
        self.assertTrue(lines[4].startswith("main"), text)
        self.assertIn("join 100%", lines[4])
        for line in lines:
            self.assertLessEqual(top_view.width(line), 80, line)
        (first,) = [r for r in top_view.rows(None, a) if r["name"] == "worker"]
        self.assertEqual(first["reason"], "io 100%")

    def test_cpu_times_sort_and_loop_top(self):
        # With the report's cpu_ns, a CPU column and the default sort by CPU share.
        b = snap(1, S, [thread(1, "spinner", S, 0, {}, cpu=S // 10),
                        thread(2, "cruncher", S, S // 2, {"io": S // 2}, cpu=S // 2)])
        items = top_view.rows(None, b)
        self.assertAlmostEqual([r for r in items if r["name"] == "cruncher"][0]["cpu_now"],
                               50.0)
        text = top_view.render_text(None, b, total=80).splitlines()
        self.assertTrue(text[3].startswith("cruncher"), text)
        # A thread whose loop top the report found is a loop: the loop view, its figures.
        lt = thread(3, "loop", S, 0, {}, loop_top={"site": "epoll_wait", "detected": True})
        lt["time_ns"].update(busy=S // 4, idle=S // 2, outside=S // 4)
        lt["messages"] = 10
        items = top_view.rows(None, snap(1, S, [lt]))
        self.assertIs(top_view.columns_for(items), top_view.COLUMNS)
        self.assertAlmostEqual(items[0]["idle_run"], 50.0)
        self.assertEqual(items[0]["messages"], 10)


class Text(unittest.TestCase):
    def test_80_columns_and_escaping(self):
        evil = "\x1b[31mred\u202e" + "x" * 60
        b = snap(1, S, [comp(1, evil, S, S // 3, S // 3, S // 3, 123456789),
                        comp(2, "net", S, 0, S, 0, 5)],
                 warnings=[{"kind": "blocks-in-handler", "component": 1, "pid": 7},
                           {"kind": "saturated", "component": 1, "pid": 7}])
        items = top_view.rows(None, b)
        name_w, show_warn, warn_w = top_view.layout(items, 79)
        lines = top_view.header_lines(name_w, warn_w, show_warn)
        lines += [top_view.row_line(r, name_w, warn_w, show_warn) for r in items]
        for line in lines:
            self.assertLessEqual(top_view.width(line), 79, line)
            self.assertNotIn("\x1b", line)
            self.assertNotIn("\u202e", line)
        self.assertTrue(lines[2].startswith("\\x1b[31mred"), lines[2])
        self.assertIn("123.5M", lines[2])
        text = top_view.render_text(None, b, "program running (pid 1)", total=80)
        self.assertIn("snapshot 1", text)
        self.assertIn("blocks-in-handler", text)
        self.assertNotIn("\x1b", text)

    def test_json_view(self):
        b = snap(3, S, [comp(1, "script", S, 0, S, 0, 4)], final=True)
        v = top_view.json_view(None, b, {"pid": 1, "running": False, "exit_status": 0})
        self.assertTrue(v["final"])
        self.assertEqual(v["seq"], 3)
        self.assertEqual(v["components"][0]["name"], "script")
        self.assertIs(v["report"], b)


def seq_comp(cid, name, wall, busy, idle, runnable, msgs, task=False, tasks=0):
    c = comp(cid, name, wall, busy, idle, 0, msgs, tid=0)
    c["time_ns"]["runnable"] = runnable
    c["time_ns"]["outside"] = wall - busy - idle - runnable
    c.update(sequence=True, pool="pool-x", task=task, tasks=tasks)
    return c


def pool(busy, idle, blocked, runnable=0, released=0):
    return {"id": 1, "pid": 7, "name": "pool-x", "threads": 2, "busy_ns": busy,
            "idle_ns": idle, "blocked_ns": blocked, "runnable_ns": runnable,
            "released_ns": released}


class Sequences(unittest.TestCase):
    """Components on a pool: a runnable column (interval and run) and a line per pool."""

    def snaps(self):
        a = snap(1, S, [seq_comp(1, "script", S, S // 2, S // 4, S // 4, 10),
                        comp(2, "router", S, 0, S, 0, 0)])
        a["pools"] = [pool(S, S // 2, S // 2, runnable=S // 4, released=S // 8)]
        b = snap(2, 2 * S, [seq_comp(1, "script", 2 * S, S // 2 + S // 10, S // 4,
                                     S // 4 + 3 * S // 5, 20),
                            seq_comp(3, "fetch", S // 2, S // 4, 0, S // 4, 6, True, 3),
                            comp(2, "router", 2 * S, 0, 2 * S, 0, 0)])
        b["pools"] = [pool(2 * S, S, S // 2, runnable=S, released=S // 8)]
        return a, b

    def test_runnable_figures(self):
        a, b = self.snaps()
        items = {r["name"]: r for r in top_view.rows(a, b)}
        self.assertAlmostEqual(items["script"]["runnable_now"], 60.0)
        self.assertAlmostEqual(items["script"]["runnable_run"], 42.5)
        self.assertAlmostEqual(items["fetch"]["runnable_now"], 50.0)  # new: the run so far
        self.assertEqual(items["router"]["runnable_run"], 0.0)
        self.assertIs(top_view.columns_for(list(items.values())), top_view.SEQ_COLUMNS)
        self.assertIs(top_view.columns_for(top_view.rows(None, snap(1, S, [
            comp(2, "router", S, 0, S, 0, 0)]))), top_view.COLUMNS)

    def test_text(self):
        a, b = self.snaps()
        text = top_view.render_text(a, b, total=100)
        lines = text.splitlines()
        head = lines[2].split()
        self.assertEqual(head[head.index("BLK-H") + 1], "RUNBL")
        self.assertEqual(head[head.index("blk-h") + 1], "runbl")
        cells = next(ln for ln in lines if ln.startswith("script ")).split()
        # MSGS MSG/S BUSY IDLE BLK-H RUNBL busy idle blk-h runbl
        self.assertEqual(cells[6], "60.0")
        self.assertEqual(cells[10], "42.5")
        self.assertTrue(any(ln.startswith("fetch (3 tasks)") for ln in lines), text)
        # the pool over the last interval: busy 1 s, idle 0.5 s, blocked 0 of 1.5 s; over the
        # run: 2 s, 1 s, 0.5 s of 3.5 s
        line = next(ln for ln in lines if ln.startswith("pool pool-x"))
        self.assertIn("BUSY 66.7 IDLE 33.3 BLOCKED 0.0", line)
        self.assertIn("run: busy 57.1 idle 28.6 blocked 14.3", line)
        self.assertIn("runnable 1.00s released 125ms", line)
        for ln in lines[1:4]:
            self.assertLessEqual(top_view.width(ln), 100, ln)
        self.assertAlmostEqual(top_view.json_view(a, b, {})["pools"][0]["busy_now"], 200 / 3)

    def test_threads_only_unchanged(self):
        b = snap(1, S, [comp(1, "script", S, S // 2, S // 2, 0, 100)])
        text = top_view.render_text(None, b, total=100)
        self.assertNotIn("RUNBL", text)
        self.assertNotIn("pool", text)


if __name__ == "__main__":
    unittest.main()
