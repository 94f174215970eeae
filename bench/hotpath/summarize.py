"""Summarize bench/hotpath's samples: figures on stdout, tables into the details file.

Usage: summarize.py SAMPLES.jsonl DETAILS.md

SAMPLES holds one JSON object per line: the program's own line (hotpath.c) with "mode"
"untraced" or "traced" (traced ones also "trace_bytes", "record_s") and "rep", and one
"report" line per work W (report_s, report_cpu_s, report_rss_kb, json: the report's path),
"calls_untraced"/"calls_traced" lines (calls.c) and "blind" lines (blind.c: blind_ns, what a
handler's own clock does not see of it; null without a TSC).
"""

import json
import statistics
import sys


def label(w):
    return "w0" if w == 0 else ("w%gus" % (w / 1000.0)).replace(".", "_")


def main():
    rows = [json.loads(ln) for ln in open(sys.argv[1]) if ln.strip()]
    details = open(sys.argv[2], "a")
    calls = {m: [r["calls_ns"] for r in rows if r.get("mode") == m]
             for m in ("calls_untraced", "calls_traced")}
    blind = [r["blind_ns"] for r in rows if r.get("mode") == "blind" and r["blind_ns"] is not None]
    blind_ns = statistics.median(blind) if blind else None
    rows = [r for r in rows if r.get("mode") not in calls and r.get("mode") != "blind"]
    works = []
    for r in rows:
        if r["work_ns"] not in works:
            works.append(r["work_ns"])
    figs = []
    table = []
    truth = []
    for w in works:
        L = label(w)
        un = [r for r in rows if r["work_ns"] == w and r["mode"] == "untraced"]
        tr = [r for r in rows if r["work_ns"] == w and r["mode"] == "traced"]
        rep = [r for r in rows if r["work_ns"] == w and r["mode"] == "report"]
        n = tr[-1]["messages"]
        uw = [r["wall_ns"] / 1e9 for r in un]
        tw = [r["wall_ns"] / 1e9 for r in tr]
        best_u, best_t = min(uw), min(tw)
        med_u, med_t = statistics.median(uw), statistics.median(tw)
        # CPU added per message: per repetition (the pair ran back to back), then the median.
        by_rep = {}
        for r in un + tr:
            by_rep.setdefault(r["rep"], {})[r["mode"]] = r
        cpu_added = statistics.median(
            (p["traced"]["cpu_ns"] - p["untraced"]["cpu_ns"]) / n
            for p in by_rep.values() if "traced" in p and "untraced" in p)
        # Of which LTTng-UST's own listener threads (buffers: a cost per session, not per
        # message); 0 from a program built before it said so.
        cpu_lttng = statistics.median(r.get("cpu_lttng_ns", 0) / n for r in tr)
        bytes_msg = statistics.median(r["trace_bytes"] / n for r in tr)
        figs += [
            ("hotpath_%s_untraced_s" % L, best_u, "s"),
            ("hotpath_%s_traced_s" % L, best_t, "s"),
            ("hotpath_%s_ratio_best" % L, best_t / best_u, "x"),
            ("hotpath_%s_ratio_median" % L, med_t / med_u, "x"),
            ("hotpath_%s_cpu_added_per_msg" % L, cpu_added, "ns"),
            ("hotpath_%s_cpu_lttng_threads_per_msg" % L, cpu_lttng, "ns"),
            ("hotpath_%s_trace_bytes_per_msg" % L, bytes_msg, "B"),
        ]
        table.append("| %d | %d | %.3f (%.3f) | %.3f (%.3f) | %.2f | %.2f | %.0f (%.0f) | %.0f |" % (
            w, n, best_u, med_u, best_t, med_t, best_t / best_u, med_t / med_u, cpu_added,
            cpu_lttng, bytes_msg))
        if not rep:
            continue
        rp = rep[-1]
        last = tr[-1]
        rj = json.load(open(rp["json"]))
        comps = [c for c in rj["components"] if c["pid"] == last["pid"] and c["name"] == "worker"]
        if len(comps) != 1:
            print("hotpath: W=%d: the report has %d worker components of pid %d" %
                  (w, len(comps), last["pid"]), file=sys.stderr)
            continue
        c = comps[0]
        wall = c["wall_ns"] or 1
        t = c["time_ns"]
        sat = any(x["kind"] == "saturated" and x.get("component") == c["id"] and
                  x.get("pid") == c["pid"] for x in rj["warnings"])
        handle_mean = t["busy"] / c["messages"] if c["messages"] else 0.0
        own = last["handle_mean_ns"]
        err = (handle_mean / own - 1.0) * 100.0 if own else float("nan")
        events = rj["trace"]["events"]
        figs += [
            ("hotpath_%s_events_per_msg" % L, events / n, "events"),
            ("hotpath_%s_lost_events" % L, rj["trace"]["lost_events"], "count"),
            ("hotpath_%s_messages_exact" % L, int(c["messages"] == last["handled"]), "bool"),
            ("hotpath_%s_idle_pct" % L, 100.0 * t["idle"] / wall, "%"),
            ("hotpath_%s_busy_pct" % L, 100.0 * t["busy"] / wall, "%"),
            ("hotpath_%s_saturated_warning" % L, int(sat), "bool"),
            ("hotpath_%s_program_empties" % L, last.get("empties", -1), "count"),
            ("hotpath_%s_handle_mean_err" % L, err, "%"),
        ]
        if blind_ns is not None and own:
            # the part of that error a tracer reading exactly at the call would still show
            figs.append(("hotpath_%s_handle_mean_err_floor" % L, 100.0 * blind_ns / own, "%"))
        figs += [
            ("hotpath_%s_report_s" % L, rp["report_s"], "s"),
            ("hotpath_%s_report_vs_run" % L, rp["report_s"] / (last["wall_ns"] / 1e9), "x"),
            ("hotpath_%s_report_cpu_s" % L, rp["report_cpu_s"], "s"),
            ("hotpath_%s_report_cpu_vs_run" % L, rp["report_cpu_s"] / (last["wall_ns"] / 1e9),
             "x"),
            ("hotpath_%s_report_msgs_per_s" % L, n / rp["report_s"], "msg/s"),
            ("hotpath_%s_report_peak_rss_mb" % L, rp["report_rss_kb"] / 1024.0, "MB"),
        ]
        truth.append(
            "| %d | %d / %d | %d | %.1f | %.1f | %.1f | %.1f | %s | %.0f / %.0f (%+.1f %%) | "
            "%.0f, %d | %.2f s / %.2f s (%.2fx) | %.2f | %.0f |" % (
                w, c["messages"], last["handled"], rj["trace"]["lost_events"],
                100.0 * t["busy"] / wall, 100.0 * t["idle"] / wall, 100.0 * t["outside"] / wall,
                100.0 * (t["blocked_in_handler"] + t["blocked_outside"]) / wall,
                "yes" if sat else "no", handle_mean, own, err, last["mean_depth"], last.get("empties", -1),
                rp["report_s"], last["wall_ns"] / 1e9, rp["report_s"] / (last["wall_ns"] / 1e9),
                rp["report_cpu_s"], rp["report_rss_kb"] / 1024.0))
    if calls["calls_untraced"] and calls["calls_traced"]:
        cu, ct = min(calls["calls_untraced"]), min(calls["calls_traced"])
        figs += [
            ("hotpath_calls_untraced_ns", cu, "ns"),
            ("hotpath_calls_traced_ns", ct, "ns"),
            ("hotpath_calls_added_per_msg", ct - cu, "ns"),
        ]
    if blind_ns is not None:
        figs.append(("hotpath_clock_blind_ns", blind_ns, "ns"))
    for name, value, unit in figs:
        print("figure %s %.4g %s" % (name, value, unit))
    reps = max(r.get("rep", 0) for r in rows)
    details.write(
        "\n#### Tracing cost (best of %d alternating repetitions; median in parentheses)\n\n"
        "| W ns | messages | untraced s | traced s | traced/untraced best | median "
        "| CPU ns added per message, median of pairs (of which LTTng-UST's threads) "
        "| trace bytes per message |\n"
        "|---|---|---|---|---|---|---|---|\n%s\n" % (reps, "\n".join(table)))
    if truth:
        details.write(
            "\n#### Truth: the last traced run's report against the program's own clock\n\n"
            "| W ns | messages report / program | lost | busy %% | idle %% | outside %% "
            "| blocked %% | saturated | handle mean ns report / program | program's mean depth, empties "
            "| report time / traced run | report CPU s | report peak RSS MB |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n%s\n" % "\n".join(truth))
    details.close()


if __name__ == "__main__":
    main()
