"""nginx from Debian under load, recorded with `looptrace record --interpose` (CTest label
`nginx`, run by the full suite: scripts/test and CI).

nginx (Debian's nginx-light) runs from a temporary prefix with its own configuration on
127.0.0.1 and a free port, `worker_processes auto` as in Debian's own configuration (workers
as `nobody` when run as root), `wrk` loads it for a few seconds, then `nginx -s quit`. Checks,
against ground truth taken outside looptrace:
  - every worker process (the master's children seen in /proc during the load) is a component
    of the report, named `nginx`;
  - time waited by reason where nginx must wait: each worker in `io` (its epoll_wait), the
    master in `call` (sigsuspend), as blocked time or, when the report found that wait to be
    the top of the thread's loop, as idle time;
  - no call site has a wrong function name: every site the report names with a function lies
    inside that function's symbol, [st_value, st_value + st_size) as `nm -S` lists it for the
    object (or its debug file);
  - each worker's loop top is found (its epoll_wait; idle > 0), its cpu_ns is within 5 % (+ 20
    ms) of the kernel's on-CPU time, and busy and CPU agree: cpu_ns <= busy + outside <= on-CPU
    + run-queue time, each within 5 % (+ 20 ms) (/proc/PID/schedstat, read when the load
    ends).

Environment (set by CTest): LOOPTRACE, LT_PRELOAD_LIB, LT_IP_TRUTH, LT_IP_SEMANTICS,
LT_PYTHONPATH (those of test_interpose.py). Run with /usr/bin/python3. A skip is a failure
when CI=true.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_interpose as ti  # noqa: E402

LOAD_SECONDS = 3
CPU_TOLERANCE = 0.05  # cpu_ns vs the kernel's on-CPU time (/proc/PID/schedstat)
RUN_TOLERANCE = 0.05  # cpu_ns <= busy + outside <= on-CPU + run-queue wait (/proc)
WRK = ["-t2", "-c16", "-d%ds" % LOAD_SECONDS]

CONF = """\
worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {prefix}/www;
    }}
}}
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def children(ppid):
    """{pid: command line} of the processes whose parent is `ppid`."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) != ppid:
                continue
            with open("/proc/%s/cmdline" % name, "rb") as f:
                out[int(name)] = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except (OSError, IndexError, ValueError):
            continue
    return out


def schedstat(pid):
    """(ns on a CPU, ns waiting on a run queue) of process `pid` from /proc/PID/schedstat."""
    with open("/proc/%d/schedstat" % pid, encoding="ascii") as f:
        fields = f.read().split()
    return int(fields[0]), int(fields[1])


def symbols(path):
    """{name: [(start, size)]} of the function symbols of the ELF file `path` (.symtab and
    .dynsym), from binutils' nm: the ground truth for call-site names."""
    out = {}
    for extra in ([], ["-D"]):
        proc = subprocess.run(["nm", "-S", "--defined-only"] + extra + [path],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=60,
                              check=False)
        for line in proc.stdout.decode("utf-8", "replace").splitlines():
            f = line.split()
            if len(f) == 4 and f[2] in "TtWwiI":
                name = re.sub(r"@.*", "", f[3])
                out.setdefault(name, set()).add((int(f[0], 16), int(f[1], 16)))
    return out


class Nginx(unittest.TestCase):
    def setUp(self):
        ti.need(self, "lttng", "babeltrace2", "nginx", "wrk", "nm")
        self.tmp = tempfile.mkdtemp(prefix="lt-nginx-")
        os.chmod(self.tmp, 0o755)  # the workers run as nobody
        self.master = None
        self.rec = None

    def tearDown(self):
        if self.master is not None and ti_alive(self.master):
            os.kill(self.master, signal.SIGTERM)
        if self.rec is not None and self.rec.poll() is None:
            self.rec.kill()
            self.rec.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, port):
        prefix = self.tmp
        for d in ("www", "tmp", "logs"):
            os.makedirs(os.path.join(prefix, d), mode=0o755)
        with open(os.path.join(prefix, "www", "index.html"), "w", encoding="ascii") as f:
            f.write("looptrace nginx test\n" * 128)  # 2.7 KiB
        os.chmod(os.path.join(prefix, "www", "index.html"), 0o644)
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w", encoding="ascii") as f:
            f.write(CONF.format(prefix=prefix, port=port))
        trace = os.path.join(prefix, "trace")
        self.rec_log = open(os.path.join(prefix, "record.log"), "wb")  # noqa: SIM115
        self.addCleanup(self.rec_log.close)
        self.rec = subprocess.Popen(
            [ti.LOOPTRACE, "record", "--interpose", "-o", trace, "--", "nginx", "-p", prefix,
             "-c", conf, "-g", "daemon off;"], stdin=subprocess.DEVNULL, stdout=self.rec_log,
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        pidfile = os.path.join(prefix, "nginx.pid")
        while time.monotonic() < deadline:
            if self.rec.poll() is not None:
                self.fail("record ended early: %s" % self.log())
            if os.path.exists(pidfile) and listening(port):
                with open(pidfile, encoding="ascii") as f:
                    self.master = int(f.read().strip())
                return conf, trace
            time.sleep(0.1)
        self.fail("nginx did not listen on 127.0.0.1:%d within 60 s: %s" % (port, self.log()))

    def log(self):
        self.rec_log.flush()
        with open(os.path.join(self.tmp, "record.log"), encoding="utf-8",
                  errors="replace") as f:
            text = f.read()
        try:
            with open(os.path.join(self.tmp, "error.log"), encoding="utf-8",
                      errors="replace") as f:
                text += "\nerror.log:\n" + f.read()
        except OSError:
            pass
        return text[-3000:]

    def test_nginx_under_wrk(self):
        port = free_port()
        conf, trace = self.start(port)
        # `worker_processes auto`: one per online CPU; wait until all have started.
        want = os.sysconf("SC_NPROCESSORS_ONLN")
        deadline = time.monotonic() + 30
        while True:
            workers = {p for p, cmd in children(self.master).items()
                       if cmd.startswith("nginx: worker process")}
            if len(workers) >= want or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(len(workers), want, "workers under master %d: %r (%s)"
                         % (self.master, workers, self.log()))
        # LTTng-UST registers a forked worker with the session daemon in the background (it
        # does not wait as at program start): on a busy daemon that can take seconds, and a
        # worker still unregistered when the load ends records nothing. Load only once the
        # daemon lists every worker.
        deadline = time.monotonic() + 60
        while True:
            listing = subprocess.run(["lttng", "list", "--userspace"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, timeout=60, check=False)
            registered = {int(m) for m in re.findall(rb"^PID: (\d+) ", listing.stdout, re.M)}
            if workers <= registered or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertLessEqual(workers, registered, "workers not registered with LTTng in 60 s")
        load = subprocess.run(["wrk"] + WRK + ["http://127.0.0.1:%d/index.html" % port],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=LOAD_SECONDS + 60, check=False)
        out = load.stdout.decode("utf-8", "replace")
        self.assertEqual(load.returncode, 0, out)
        self.assertNotIn("Non-2xx", out)
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        self.assertGreater(requests, 0, out)
        self.sched = {p: schedstat(p) for p in workers}  # the kernel's figures, at the end
        self.assertEqual(workers, {p for p, cmd in children(self.master).items()
                                   if cmd.startswith("nginx: worker process")})
        subprocess.run(["nginx", "-p", self.tmp, "-c", conf, "-s", "quit"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30,
                       check=False)
        self.assertEqual(self.rec.wait(timeout=120), 0, self.log())
        js = os.path.join(self.tmp, "report.json")
        rep = subprocess.run([ti.LOOPTRACE, "report", trace, "-q", "--json", js],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300,
                             check=False)
        self.assertEqual(rep.returncode, 0, rep.stderr.decode(errors="replace"))
        with open(js, encoding="utf-8") as f:
            report = json.load(f)
        self.assertEqual(report["trace"]["lost_events"], 0)
        comps = {c["pid"]: c for c in report["components"] if c["pid"] == c["tid"]}
        print("nginx: %d requests, master %d, workers %s" % (requests, self.master,
                                                           sorted(workers)), file=sys.stderr)

        # Every worker is a component, named after the program; so is the master.
        for pid in sorted(workers) + [self.master]:
            self.assertTrue(pid in comps, "process %d has no component: %r" % (pid, [
                (c["pid"], c["tid"], c["name"]) for c in report["components"]]))
            self.assertEqual(comps[pid]["name"], "nginx")

        def waited(c, reason):
            """ns `c` waited for `reason`: its blocks, and its idle time when the report took
            a wait of that reason as the top of its loop (key loop_top)."""
            ns = sum(b["ns"] for b in c["blocked_by"] if b["reason"] == reason)
            if (c.get("loop_top") or {}).get("reason") == reason:
                ns += c["time_ns"]["idle"]
            return ns

        # Waiting where nginx must wait: the workers in epoll_wait, the master in sigsuspend.
        for pid in workers:
            self.assertGreater(waited(comps[pid], "io"), 0, comps[pid])
        self.assertGreater(waited(comps[self.master], "call"), 0, comps[self.master])

        # No call site has a wrong function name.
        named = checked = 0
        syms = {}
        for c in report["components"]:
            # the call sites of its blocks, and of the wait taken as its loop top
            for b in c["blocked_by"] + ([c["loop_top"]] if c.get("loop_top") else []):
                d = b.get("site_detail")
                if not d:
                    continue
                checked += 1
                if not d.get("function") or d.get("changed"):
                    continue
                named += 1
                path = d.get("debug_file") or d["path"]
                if path not in syms:
                    syms[path] = symbols(path)
                ranges = syms[path].get(d["function"], ())
                self.assertTrue(any(s <= d["offset"] < s + n for s, n in ranges),
                                "%s: %s at %s+0x%x is outside every symbol of that name %r"
                                % (c["name"], b["site"], path, d["offset"], sorted(ranges)))
        self.assertGreater(checked, 0, "no call site was symbolized")
        print("nginx: %d call sites symbolized, %d named with a function (all inside it)"
              % (checked, named), file=sys.stderr)

        # Loop tops (analysis/core/src/looptop.c): each worker's epoll_wait is the top of its
        # loop, so it has idle time; its CPU time is the kernel's; and busy and CPU agree: the
        # running time (busy + outside) holds the CPU time, and what it has beyond that is at
        # most the time the kernel kept the worker waiting for a CPU (schedstat's run-queue
        # time; part of it is spent before epoll_wait returns, in idle time).
        for pid in sorted(workers):
            c = comps[pid]
            top = c.get("loop_top")
            self.assertTrue(top, "worker %d: no loop top" % pid)
            self.assertEqual(top.get("call"), "epoll_wait", top)
            self.assertGreater(c["time_ns"]["idle"], 0, c["time_ns"])
            on_cpu, queued = self.sched[pid]
            got = c.get("cpu_ns")
            self.assertIsNotNone(got, "worker %d: no cpu_ns" % pid)
            # CPU_TOLERANCE: 5 % (issue 17) plus 20 ms for what runs outside the component's
            # window (the worker's start-up before its first event, its exit after `quit`).
            self.assertLessEqual(abs(got - on_cpu), CPU_TOLERANCE * on_cpu + 20_000_000,
                                 "worker %d: cpu_ns %d vs /proc on-CPU %d" % (pid, got, on_cpu))
            running = c["time_ns"]["busy"] + c["time_ns"]["outside"]
            self.assertLessEqual(got, (1 + RUN_TOLERANCE) * running + 20_000_000,
                                 "worker %d: cpu_ns %d beyond busy+outside %d" % (pid, got,
                                                                                  running))
            self.assertLessEqual(running, (1 + RUN_TOLERANCE) * (on_cpu + queued) + 20_000_000,
                                 "worker %d: busy+outside %d beyond /proc on-CPU %d + run "
                                 "queue %d" % (pid, running, on_cpu, queued))
            print("nginx: worker %d: idle %.3fs busy %.3fs cpu_ns %.3fs (/proc %.3fs, run "
                  "queue %.3fs)" % (pid, c["time_ns"]["idle"] / 1e9, c["time_ns"]["busy"] / 1e9,
                                    got / 1e9, on_cpu / 1e9, queued / 1e9), file=sys.stderr)


def ti_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
