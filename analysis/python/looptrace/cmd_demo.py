"""`looptrace demo`: record the demo page in each mode, analyse each trace, compare them.

For every mode (routed, blocking, thread, await and spawn by default) this runs
`looptrace record -o OUT/<mode>/trace -- looptrace-demo --mode <mode> ...`, keeps the demo's
own counts (its ground truth, printed as JSON on its stdout) in OUT/<mode>/ground-truth.json,
and analyses the demo's process (per-process buffers keep other traced programs apart) with
`looptrace report` into OUT/<mode>/report.json (and OUT/<mode>/html/index.html). Then it checks that the analysis
counted exactly the messages the demo says it handled, compares the modes with `looptrace
compare` (OUT/comparison.txt, .json, OUT/compare/index.html) and prints the headline: script's
throughput, how much of its handler time it spent blocked, how much of their time the pool's
threads were blocked (await, spawn) and what the process spent per message in CPU time and
context switches (the demo's own getrusage figures) in each mode (OUT/summary.json).

The demo's settings (rate, task cost, latency, ...) are passed through unchanged; see
`looptrace-demo --help` and docs/demo.md. With --processes every mode runs `net` in a process
of its own (looptrace-demo --processes): both processes are analysed together, each component
with its own pid.
"""

import argparse
import json
import os
import subprocess
import sys

from . import cmd_compare, cmd_report, outputs, paths
from .errors import UserError

MODES = ("routed", "blocking", "thread", "await", "spawn")
DEFAULT_DURATION = "6"
DEMO_BIN = "looptrace-demo"
DEFAULT_OUT = "looptrace-demo-out"
SUMMARY_SCHEMA = "looptrace-demo-summary/1"


class RecordFailed(UserError):
    """A recording that failed for a reason worth one more try (not an interruption)."""


# (option, metavar, help) passed through to looptrace-demo as given; it checks the values.
PASS_THROUGH = (
    ("--rate", "N", "input events per second offered to script (demo default 400)"),
    ("--task-us", "US", "CPU time per input event in script (demo default 500)"),
    ("--fetch-share", "F", "share of input events that start a fetch (demo default 0.5)"),
    ("--latency-ms", "MS", "mean simulated network latency (demo default 20)"),
    ("--jitter-ms", "MS", "latency varies by +-MS (demo default 5)"),
    ("--seed", "N", "random seed (demo default 1)"),
    ("--reflow-share", "F", "share of input events that ask for a reflow (demo default 0.25)"),
    ("--reflow-us", "US", "CPU time per reflow in layout (demo default 1000)"),
    ("--response-us", "US", "CPU time for script to use a response (demo default 100)"),
    ("--paint-us", "US", "CPU time per frame in the compositor (demo default 300)"),
    ("--inbox", "N", "capacity of script's input channel (demo default 32)"),
    ("--workers", "N", "threads of the pool await and spawn run on (demo default 2); given, "
     "every mode runs its components as sequences on a pool of N"),
)

DESCRIPTION = """\
Run the demo page (looptrace-demo) once per mode under `looptrace record`, analyse each trace,
and compare the modes. The demo's `script` component handles input events; some fetch a
resource from `net`, whose response comes back through the router. In `routed` mode script
adds a route, sends the request and keeps running; in `blocking` mode it waits for the
response inside the handler; in `thread` mode a helper thread per fetch waits instead. In
`await` and `spawn` modes every component is a sequence on a pool of worker threads: `await`
waits inside the handler as `blocking` does, but the wait releases the pool thread; `spawn`
starts a task per fetch that awaits the response and posts it back. The comparison shows
what waiting inside a handler costs in throughput -- thread released or not -- and what each
way of waiting costs in CPU time and context switches per message, as measured."""

EPILOG = """\
output folder (-o, default ./%s):
  <mode>/trace/             the CTF trace (per process: the demo's is ust/pid/looptrace-demo-*)
  <mode>/ground-truth.json  the demo's own counts
  <mode>/report.json        the report of the demo's process, <mode>/html/index.html as a page
  comparison.txt, comparison.json, compare/index.html    `looptrace compare` of the modes
  summary.json              script throughput, blocked-in-handler share, pool blocked share,
                            CPU time and context switches per message, count check per mode

exit status: 0 when every mode was recorded and the analysis counted exactly the messages the
demo handled; 1 when a count differs; 2 on bad input or when recording or analysis failed.

example: looptrace demo --duration 5 --modes routed,blocking -o demo-out/""" % DEFAULT_OUT


def add_parser(subparsers):
    p = subparsers.add_parser(
        "demo",
        help="record the demo in each mode, analyse and compare the traces",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--modes", default=",".join(MODES), metavar="LIST",
                   help="comma-separated modes to run, in order; the first is the baseline "
                   "of the comparison (default: %(default)s)")
    p.add_argument("--duration", default=DEFAULT_DURATION, metavar="SECONDS",
                   help="seconds of input events per mode (default: %(default)s)")
    p.add_argument("-o", "--output", default=DEFAULT_OUT, metavar="DIR",
                   help="folder for traces, reports and the comparison (default: "
                   "./%(default)s; existing demo results in it are replaced)")
    p.add_argument("--full", action="store_true",
                   help="print the whole comparison (every component and channel), not "
                   "only script's rows")
    p.add_argument("--no-html", dest="html", action="store_false",
                   help="do not write the HTML pages")
    p.add_argument("--processes", action="store_true",
                   help="run net in a process of its own in every mode (looptrace-demo "
                   "--processes: requests and responses cross Unix sockets through the "
                   "runtime's IPC routes); both processes are analysed")
    g = p.add_argument_group("demo settings (passed to looptrace-demo)")
    for opt, metavar, text in PASS_THROUGH:
        g.add_argument(opt, metavar=metavar, dest="demo_" + opt[2:].replace("-", "_"),
                       help=text)
    p.set_defaults(func=run)
    return p


# ---------------------------------------------------------------------------------------------
# Running the pieces


def _looptrace(verb_args, **kw):
    """Run `looptrace VERB ...` in a child interpreter with this package and environment."""
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = pkg_parent + (os.pathsep + env["PYTHONPATH"]
                                      if env.get("PYTHONPATH") else "")
    code = "import sys; from looptrace.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code] + list(verb_args), env=env, **kw)


def _demo_binary():
    path = os.path.join(paths.bindir(), DEMO_BIN) if paths.bindir() else ""
    if not path or not os.path.isfile(path):
        raise UserError("the demo program is not built: %s is missing (build the project "
                        "first)" % (path or DEMO_BIN))
    return path


def _parse_modes(text):
    modes = [m.strip() for m in text.split(",") if m.strip()]
    if not modes:
        raise UserError("--modes: no mode given (choose from %s)" % ", ".join(MODES))
    for m in modes:
        if m not in MODES:
            raise UserError("--modes: unknown mode %r (choose from %s)" % (m, ", ".join(MODES)))
    if len(set(modes)) != len(modes):
        raise UserError("--modes: a mode is listed twice")
    return modes


def _demo_args(args):
    out = ["--duration", args.duration] + (["--processes"] if args.processes else [])
    for opt, _, _ in PASS_THROUGH:
        v = getattr(args, "demo_" + opt[2:].replace("-", "_"))
        if v is not None:
            out += [opt, v]
    return out


def _check_demo_args(binary, demo_args):
    """Let the demo vet its settings before anything is recorded: it parses options in order
    and stops at --help, so a bad value fails first (exit 2, one line)."""
    proc = subprocess.run([binary] + demo_args + ["--help"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        line = (proc.stderr.strip().splitlines() or ["bad demo setting"])[-1]
        if line.startswith(DEMO_BIN + ": "):
            line = line[len(DEMO_BIN) + 2:]
        raise UserError("demo setting: %s" % line)


def _record(binary, mode, demo_args, trace_dir):
    """Record one mode; returns the demo's ground truth (dict) and its exit status."""
    # Per-process buffers: every traced program running meanwhile gets its own folder, so the
    # demo's events can be analysed alone (see demo_trace_folder).
    cmd = ["record", "-o", trace_dir, "--force", "--buffering", "per-pid", "--", binary,
           "--mode", mode] + demo_args
    proc = _looptrace(cmd, stdout=subprocess.PIPE)
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode >= 128:
        raise UserError("recording mode %s was interrupted" % mode, status=proc.returncode)
    if proc.returncode not in (0, 1):
        raise RecordFailed("recording mode %s failed (exit status %d)"
                           % (mode, proc.returncode))
    try:
        truth = json.loads(out)
    except ValueError:
        raise RecordFailed("mode %s: the demo printed no ground truth (exit status %d)"
                           % (mode, proc.returncode)) from None
    return truth, proc.returncode


def demo_trace_folder(trace_dir, pid):
    """The folder of process `pid` in a per-process trace (trace_dir/ust/pid/NAME-PID-DATE),
    or trace_dir itself when there is none (then other processes' events may be in it)."""
    base = os.path.join(trace_dir, "ust", "pid")
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return trace_dir
    mine = [n for n in names if pid is not None and "-%d-" % pid in n
            and n.rsplit("-", 3)[-3:-2] == [str(pid)]]
    return os.path.join(base, mine[0]) if len(mine) == 1 else trace_dir


def _analyse(trace_dir, json_path):
    proc = _looptrace(["report", trace_dir, "--json", json_path, "-q", "--no-progress"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UserError("analysing %s failed: %s" % (trace_dir, msg[-1] if msg else
                                                     "exit status %d" % proc.returncode))
    with open(json_path, encoding="utf-8") as f:
        return json.load(f)


def only_process(report, pid, others=()):
    """The report restricted to process `pid` (and the demo's other processes, `others`):
    components, channels, routes and warnings of other processes (other traced programs
    running at the same time) are left out. Whole-run figures (trace, flows, parallelism)
    are kept as they are."""
    keep = {None, pid, *others}
    out = dict(report)
    for key in ("components", "channels", "routes", "warnings", "pools"):
        items = report.get(key)
        if isinstance(items, list):
            out[key] = [x for x in items if not isinstance(x, dict) or x.get("pid") in keep]
    out["process_filter"] = {"pid": pid}
    if others:
        out["process_filter"]["others"] = list(others)
    return out


def demo_pids(truth):
    """The demo's processes: its own pid and, with --processes, the net process's."""
    net = truth.get("net_process")
    return truth.get("pid"), ([net["pid"]] if isinstance(net, dict) and "pid" in net else [])


# ---------------------------------------------------------------------------------------------
# Checks and headline numbers


def count_check(truth, report):
    """Compare the demo's own message counts with the analysis'. Returns (ok, lines)."""
    lines = []
    ok = True
    comps = {}
    for c in report.get("components") or []:
        comps.setdefault(c.get("name"), []).append(c)
    for name, gt in sorted((truth.get("components") or {}).items()):
        got = sum(c.get("messages", 0) for c in comps.get(name, []))
        want = gt.get("messages")
        same = got == want and (name in comps or want == 0)
        ok &= same
        lines.append("%-11s messages: demo %s, analysis %s%s" % (
            name, want, got if name in comps else "(missing)", "" if same else "  MISMATCH"))
    # Every router's dispatches (the net process has its own router with --processes).
    routers = [gt.get("dispatches") for gt in (truth.get("components") or {}).values()
               if gt.get("dispatches") is not None]
    want = sum(routers) if routers else None
    if want is not None:
        got = sum(r.get("dispatches", 0) for r in report.get("routes") or [])
        ok &= got == want
        lines.append("%-11s dispatches: demo %s, analysis %s%s" % (
            "router", want, got, "" if got == want else "  MISMATCH"))
    lost = (report.get("trace") or {}).get("lost_events") or 0
    if lost:
        lines.append("the trace lost %d events: counts near the loss are not exact" % lost)
    return ok, lines


def _component(report, name):
    for c in report.get("components") or []:
        if c.get("name") == name:
            return c
    return None


def pool_figures(truth, report):
    """The demo's pool as the analysis reports it (pools[] of the demo's process), or None:
    (threads, busy_ns, idle_ns, blocked_ns, blocked share of the threads' time)."""
    if not truth.get("pool"):
        return None
    name = truth["pool"].get("name")
    pools = [p for p in report.get("pools") or []
             if p.get("name") == name and p.get("pid") == truth.get("pid")]
    if len(pools) != 1:
        return None
    p = pools[0]
    total = (p.get("busy_ns") or 0) + (p.get("idle_ns") or 0) + (p.get("blocked_ns") or 0)
    return {"threads": p.get("threads"), "busy_ns": p.get("busy_ns"),
            "idle_ns": p.get("idle_ns"), "blocked_ns": p.get("blocked_ns"),
            "blocked_share": (p.get("blocked_ns") or 0) / total if total else 0.0}


def headline(mode, truth, report, counts_ok):
    """script's figures for one mode, as the analysis reports them (plus the demo's latency
    and its cost: the process's CPU time and context switches per message)."""
    c = _component(report, "script") or {}
    t = c.get("time_ns") or {}
    busy = t.get("busy") or 0
    bih = t.get("blocked_in_handler") or 0
    lat = truth.get("input_latency_us") or {}
    cost = truth.get("cost") or {}
    pool = pool_figures(truth, report)
    return {
        "mode": mode,
        "processes": bool((truth.get("settings") or {}).get("processes")),
        "script_messages": c.get("messages"),
        "script_throughput_per_s": c.get("throughput_per_s"),
        "script_busy_ns": busy,
        "script_blocked_in_handler_ns": bih,
        "script_blocked_in_handler_share": (bih / (busy + bih)) if busy + bih else 0.0,
        "script_utilization": c.get("utilization"),
        "script_released_ns": c.get("released_ns") or 0,
        "workers": (truth.get("settings") or {}).get("workers") or 0,
        "pool": pool,
        "pool_blocked_share": pool["blocked_share"] if pool else None,
        "cpu_us_per_message": cost.get("cpu_us_per_message"),
        "ctx_switches_per_message": cost.get("ctx_switches_per_message"),
        "cpu_us_per_fetch": cost.get("cpu_us_per_fetch"),
        "ctx_switches_per_fetch": cost.get("ctx_switches_per_fetch"),
        "input_latency_p50_us": lat.get("p50"),
        "input_latency_p99_us": lat.get("p99"),
        "fetches_started": (truth.get("fetches") or {}).get("started"),
        "fetches_completed": (truth.get("fetches") or {}).get("completed"),
        "drained": (truth.get("shutdown") or {}).get("drained"),
        "counts_match": counts_ok,
        "lost_events": (report.get("trace") or {}).get("lost_events"),
    }


def _ms(us):
    return "-" if us is None else "%.1f" % (us / 1000.0)


def _pct(x):
    return "-" if x is None else "%.1f%%" % (100.0 * x)


def _num(x, fmt):
    return "-" if x is None else fmt % x


def _ratio(by, a, b):
    """script throughput of mode a / mode b, or None."""
    if a in by and b in by and by[b]["script_throughput_per_s"]:
        return (by[a]["script_throughput_per_s"] or 0) / by[b]["script_throughput_per_s"]
    return None


def render_headline(rows):
    head = ("mode", "script msg/s", "blocked in handler", "pool blocked", "CPU/msg",
            "ctx sw/msg", "input latency p50/p99", "fetches", "counts")
    table = []
    for r in rows:
        table.append((
            r["mode"],
            "%.1f" % (r["script_throughput_per_s"] or 0),
            "%.1f%%" % (100.0 * r["script_blocked_in_handler_share"]),
            _pct(r.get("pool_blocked_share")),
            _num(r.get("cpu_us_per_message"), "%.0f us"),
            _num(r.get("ctx_switches_per_message"), "%.2f"),
            "%s / %s ms" % (_ms(r["input_latency_p50_us"]), _ms(r["input_latency_p99_us"])),
            "%s/%s" % (r["fetches_completed"], r["fetches_started"]),
            "exact" if r["counts_match"] else "MISMATCH"))
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                       for i, (h, w) in enumerate(zip(head, widths))),
             "  ".join("-" * w for w in widths)]
    for t in table:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(t, widths))))
    by = {r["mode"]: r for r in rows}
    ratios = [(a, b, _ratio(by, a, b)) for a, b in (("routed", "blocking"), ("spawn", "await"))]
    if any(x is not None for _, _, x in ratios):
        lines.append("")
    for a, b, x in ratios:
        if x is not None:
            lines.append("script throughput, %s / %s: x%.2f" % (a, b, x))
    if "await" in by and by["await"].get("pool_blocked_share") is not None:
        w = by["await"]
        text = ("await: the pool's threads were blocked %.1f %% of their time (script's "
                "waits released them)" % (100.0 * w["pool_blocked_share"]))
        if "spawn" in by and _ratio(by, "spawn", "await"):
            text += ", yet script handled x%.2f fewer messages than spawn" % _ratio(
                by, "spawn", "await")
        lines.append(text + ": awaiting is not ensuring throughput")
    lines.append("blocked in handler = blocked_in_handler / (busy + blocked_in_handler) of "
                 "script; pool blocked = blocked_ns / (busy + idle + blocked) of the pool's "
                 "threads; latency from the demo's own clock")
    lines.append("CPU/msg, ctx sw/msg: the demo process's CPU time and context switches "
                 "(getrusage, every thread) per message its components handled")
    if any(r.get("processes") for r in rows):
        lines.append("net ran in a process of its own (looptrace-demo --processes): requests "
                     "and responses crossed Unix sockets; its CPU time is not counted")
    return "\n".join(lines) + "\n"


def _compare(labels, reports, out, html, full):
    """Write comparison.txt/.json (+ compare/index.html); return the text to print."""
    rows = cmd_compare.compare_reports(reports)
    text = cmd_compare.render_text(labels, rows)
    _write(os.path.join(out, "comparison.txt"), text)
    _write(os.path.join(out, "comparison.json"),
           json.dumps(cmd_compare.to_json(labels, rows), indent=1, allow_nan=False) + "\n")
    page = None
    if html:
        try:
            page = cmd_compare.write_html(labels, rows, reports, os.path.join(out, "compare"))
        except (ImportError, OSError) as exc:
            print("looptrace: demo: no comparison page (%s)" % exc, file=sys.stderr)
    if not full:
        rows = [r for r in rows if r["section"] == "trace" or
                (r["section"] == "component" and r["name"] == "script")]
        text = cmd_compare.render_text(labels, rows)
    return text, page


def predict_routed(blocking_trace, out):
    """`looptrace whatif BLOCKING --unblock script`: script's predicted throughput in routed
    mode from the blocking trace alone (OUT/whatif-routed.json), or None with a notice."""
    dest = os.path.join(out, "whatif-routed.json")
    proc = _looptrace(["whatif", blocking_trace, "--unblock", "script", "--json", dest, "-q"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        print("looptrace: demo: no prediction (%s)" % (msg[-1] if msg else "exit status %d"
                                                      % proc.returncode), file=sys.stderr)
        return None
    try:
        with open(dest, encoding="utf-8") as f:
            res = json.load(f)
        script = [c for c in res["components"] if c["name"] == "script"][0]
        return {"predicted_per_s": script["predicted"]["throughput_per_s"],
                "replay_error": script["replay_error"]["throughput"],
                "blocking_per_s": (script["recorded"] or {}).get("throughput_per_s")}
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        print("looptrace: demo: no prediction (%s)" % exc, file=sys.stderr)
        return None


def render_prediction(pred, measured):
    if pred is None:
        return ""
    text = ("from the blocking trace alone, looptrace predicted routed at %.1f msg/s; "
            "measured %s" % (pred["predicted_per_s"],
                             "%.1f" % measured if measured is not None else "-"))
    if measured:
        text += " (%+.1f %%)" % (100.0 * (pred["predicted_per_s"] / measured - 1))
    return text + "\n(looptrace whatif <blocking trace> --unblock script: whatif-routed.json)\n"


def _write(path, text):
    outputs.write_file(path, text)


def _html_report(report, directory):
    try:
        return cmd_report.write_html(report, directory)
    except (UserError, OSError) as exc:
        print("looptrace: demo: no HTML report in %s (%s)" % (directory, exc), file=sys.stderr)
        return None


# ---------------------------------------------------------------------------------------------


def run(args):
    modes = _parse_modes(args.modes)
    try:
        if not float(args.duration) > 0:
            raise ValueError
    except ValueError:
        raise UserError("--duration: expected seconds > 0, got %r" % args.duration) from None
    binary = _demo_binary()
    demo_args = _demo_args(args)
    _check_demo_args(binary, demo_args)
    out = os.path.abspath(args.output)
    if os.path.exists(out) and not os.path.isdir(out):
        raise UserError("-o %s: exists and is not a directory" % out)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise UserError("cannot create %s: %s" % (out, exc.strerror or exc)) from None

    reports, summary, checks, traces = [], [], [], {}
    for i, mode in enumerate(modes):
        mdir = os.path.join(out, mode)
        os.makedirs(mdir, exist_ok=True)
        print("looptrace: demo: [%d/%d] recording mode %s for %s s"
              % (i + 1, len(modes), mode, args.duration), file=sys.stderr)
        try:
            truth, status = _record(binary, mode, demo_args, os.path.join(mdir, "trace"))
        except RecordFailed as exc:
            # A session can vanish under us (another user of the session daemon stopped it):
            # one more try before giving up.
            print("looptrace: demo: %s; trying once more" % exc, file=sys.stderr)
            truth, status = _record(binary, mode, demo_args, os.path.join(mdir, "trace"))
        _write(os.path.join(mdir, "ground-truth.json"), json.dumps(truth, indent=1) + "\n")
        if status:
            print("looptrace: demo: mode %s: the demo could not drain everything at exit "
                  "(see %s)" % (mode, os.path.join(mdir, "ground-truth.json")), file=sys.stderr)
        print("looptrace: demo: [%d/%d] analysing mode %s" % (i + 1, len(modes), mode),
              file=sys.stderr)
        pid, others = demo_pids(truth)
        trace = os.path.join(mdir, "trace")
        # With --processes both processes' folders are analysed together (the whole trace,
        # then only the demo's processes are kept).
        folder = trace if others else demo_trace_folder(trace, pid)
        if folder != trace and len(os.listdir(os.path.dirname(folder))) > 1:
            print("looptrace: demo: mode %s: other traced programs ran meanwhile; only the "
                  "demo's own trace (%s) is analysed" % (mode, os.path.relpath(folder, out)),
                  file=sys.stderr)
        traces[mode] = folder
        report = _analyse(folder, os.path.join(mdir, "report.json"))
        if pid is not None:
            mine = only_process(report, pid, others)
            if len(mine.get("components") or []) != len(report.get("components") or []):
                print("looptrace: demo: mode %s: the trace also holds other processes; the "
                      "report keeps process %s only" % (mode, pid), file=sys.stderr)
                report = mine
                _write(os.path.join(mdir, "report.json"), json.dumps(mine, indent=1) + "\n")
        if args.html:
            _html_report(report, os.path.join(mdir, "html"))
        ok, lines = count_check(truth, report)
        checks.append((mode, ok, lines))
        summary.append(headline(mode, truth, report, ok))
        reports.append((mode, report))

    print()
    print("looptrace demo: %s s per mode" % args.duration)
    print()
    sys.stdout.write(render_headline(summary))
    prediction = None
    if args.processes and "blocking" in traces and "routed" in traces:
        # The report links flows across processes, but whatif's message graph does not replay
        # a message whose send and receipt are in different processes (its unchanged replay
        # of such a trace misses the recorded throughput by up to 95 %): no prediction.
        print("looptrace: demo: no prediction of routed with --processes (looptrace whatif "
              "does not replay messages that cross processes yet)", file=sys.stderr)
    elif "blocking" in traces and "routed" in traces:
        print("looptrace: demo: predicting routed from the blocking trace (looptrace whatif)",
              file=sys.stderr)
        prediction = predict_routed(traces["blocking"], out)
        if prediction is not None:
            prediction["measured_per_s"] = [r for r in summary if r["mode"] == "routed"][0][
                "script_throughput_per_s"]
            print()
            sys.stdout.write(render_prediction(prediction, prediction["measured_per_s"]))
    for mode, ok, lines in checks:
        if not ok:
            print()
            print("count check, mode %s (demo's ground truth vs analysis):" % mode)
            for line in lines:
                print("  " + line)
    page = None
    if len(reports) >= 2:
        text, page = _compare(modes, reports, out, args.html, args.full)
        print()
        print("comparison (baseline %s%s):" % (modes[0], "" if args.full else
                                                 "; script only, --full for everything"))
        sys.stdout.write(text)
    _write(os.path.join(out, "summary.json"), json.dumps(
        {"schema": SUMMARY_SCHEMA, "duration_s": float(args.duration), "modes": summary,
         "routed_predicted_from_blocking": prediction,
         "count_checks": {m: {"ok": ok, "lines": lines} for m, ok, lines in checks}},
        indent=1) + "\n")
    sys.stdout.flush()
    per_mode = ["<mode>/report.json"] + (["<mode>/html/"] if args.html else []) + \
        ["<mode>/ground-truth.json", "<mode>/trace/"]
    overall = ["summary.json"] + (["comparison.txt", "comparison.json"] if len(reports) >= 2
                                  else []) + (["compare/index.html"] if page else []) + \
        (["whatif-routed.json"] if prediction is not None else [])
    print("looptrace: demo: results in %s (per mode: %s; %s)"
          % (out, ", ".join(per_mode), ", ".join(overall)), file=sys.stderr)
    return 0 if all(ok for _, ok, _ in checks) else 1
