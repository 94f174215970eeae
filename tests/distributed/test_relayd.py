#!/usr/bin/python3
"""Several hosts on one machine: `looptrace record --relayd` and `looptrace report` merging.

Two "hosts" are two network namespaces joined by a veth pair with addresses of the test's own
(10.231.7.1/30 and 10.231.7.2/30, made and deleted here): nothing leaves the pair. Each host
also has its own hostname (UTS namespace), pid namespace and mount namespace, with private
tmpfs mounts on /var/run/lttng and /dev/shm, so its lttng-sessiond (started here, and killed
with its pid namespace) never meets the machine's own daemon or the other host's. One
lttng-relayd (a child of the test) runs in host A, listening only on 10.231.7.1. Each host
runs `looptrace record --relayd net://10.231.7.1 -- looptrace-demo`; host B's trace crosses
the veth. Both demos are given the same pid (ns_last_pid), so the report must keep the
hosts apart by (host, pid). Then `looptrace report` of the relay daemon's folder (one folder
per host) must show both hosts' components with the demos' own message counts.

Needs root (network, pid and mount namespaces): as another user it fails, saying so.

NotARelayd (no root, no session daemon): `--relayd` pointed at a peer that accepts TCP but is
not a relay daemon (silent, answering garbage, hanging up, answering another protocol major)
fails within seconds, before DIR or a session is made, saying so; the peer got the relay
daemon's version command. LocalRelayd: a real lttng-relayd on 127.0.0.1 passes the same check
and gets the trace. BadUrl: URLs LTTng cannot stream to.

Environment (set by CTest): LOOPTRACE, LOOPTRACE_DEMO.
"""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

LOOPTRACE = os.environ.get("LOOPTRACE", "")
DEMO = os.environ.get("LOOPTRACE_DEMO", "")
TAG = "%d" % (os.getpid() % 100000)
NS = {"hostA": "lt-relayd-a-" + TAG, "hostB": "lt-relayd-b-" + TAG}
VETH = {"hostA": "ltra" + TAG, "hostB": "ltrb" + TAG}
ADDR = {"hostA": "10.231.7.1", "hostB": "10.231.7.2"}
RELAYD_URL = "net://10.231.7.1"
DEMO_PID = 10000  # both demos get this pid in their host's pid namespace
DEMO_ARGS = ["--duration", "1", "--seed", "3"]

# Run as pid 1 of a host's pid namespace: private LTTng run folder and shm, own hostname and
# session daemon, then `looptrace record`. Everything it started dies with it.
HOST_SCRIPT = r"""
set -eu
host=$1 home=$2 out=$3 url=$4 lastpid=$5; shift 5
mkdir -p /var/run/lttng
mount -t tmpfs looptrace-test /var/run/lttng
mount -t tmpfs looptrace-test /dev/shm
hostname "$host"
export HOME="$home" LTTNG_HOME="$home"
mkdir -p "$home"
lttng-sessiond --daemonize --no-kernel
set +e
"$LOOPTRACE" record --relayd "$url" -o "$out" -- sh -c \
    'echo '"$lastpid"' > /proc/sys/kernel/ns_last_pid && { "$0" "$@" & wait $!; }' "$@"
exit $?
"""


def in_ns(host, *cmd):
    """cmd in host's network namespace. nsenter joins only the network namespace: `ip netns
    exec` and `ip -n` also make / a slave mount, which fails inside a chroot (where / is not
    a mount point: the pristine roots CI runs in)."""
    return ["nsenter", "--net=/run/netns/" + NS[host]] + list(cmd)


def root_is_mount_point():
    """Whether / is a mount point of this mount namespace (not so in a chroot)."""
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == "/" for line in f)


def run(cmd, **kw):
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=kw.pop("timeout", 60), check=False,
                          **kw)


def must(cmd):
    p = run(cmd)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(cmd), p.returncode,
                                                    p.stderr.decode(errors="replace")))
    return p



def terminate(proc):
    """Stops a daemon this test started: SIGTERM (it closes its trace files), then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

class TwoHosts(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.fail("this test needs root: it makes network, pid and mount namespaces and a "
                      "veth pair (CI runs it as root; run `ctest -R distributed` as root)")
        missing = [t for t in ("ip", "nsenter", "unshare", "lttng", "lttng-sessiond", "lttng-relayd",
                               "babeltrace2") if not shutil.which(t)]
        missing += [p for p in (LOOPTRACE, DEMO) if not os.access(p, os.X_OK)]
        if missing:
            self.fail("missing: " + ", ".join(missing))
        self.tmp = tempfile.mkdtemp(prefix="looptrace-relayd-")
        self.relay_out = os.path.join(self.tmp, "relayd")
        self.relayd = None
        self.nets = []
        self.addCleanup(self.cleanup)
        for host in ("hostA", "hostB"):
            must(["ip", "netns", "add", NS[host]])
            self.nets.append(NS[host])
        must(["ip", "link", "add", VETH["hostA"], "type", "veth", "peer", "name",
              VETH["hostB"]])
        for host in ("hostA", "hostB"):
            must(["ip", "link", "set", VETH[host], "netns", NS[host]])
            must(in_ns(host, "ip", "addr", "add", ADDR[host] + "/30", "dev", VETH[host]))
            must(in_ns(host, "ip", "link", "set", VETH[host], "up"))
            must(in_ns(host, "ip", "link", "set", "lo", "up"))
        self.start_relayd()

    def start_relayd(self):
        a = ADDR["hostA"]
        self.relayd_log = open(os.path.join(self.tmp, "relayd.log"), "wb")
        self.relayd = subprocess.Popen(
            in_ns("hostA", "lttng-relayd", "--output=" + self.relay_out,
                  "--control-port=tcp://%s:5342" % a, "--data-port=tcp://%s:5343" % a,
                  "--live-port=tcp://%s:5344" % a), stdin=subprocess.DEVNULL,
            stdout=self.relayd_log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            out = run(in_ns("hostA", "ss", "-ltnH")).stdout.decode()
            if "%s:5342" % a in out and "%s:5343" % a in out:
                return
            self.assertIsNone(self.relayd.poll(), "lttng-relayd exited")
            time.sleep(0.1)
        self.fail("lttng-relayd does not listen on %s" % a)

    def stop_relayd(self):
        """SIGTERM (it closes its trace files), then SIGKILL; only the daemon we started."""
        proc, self.relayd = self.relayd, None
        if proc is None:
            return
        terminate(proc)
        self.relayd_log.close()

    def cleanup(self):
        self.stop_relayd()
        for ns in self.nets:  # deleting a namespace deletes its end of the veth pair
            run(["ip", "netns", "del", ns])
        shutil.rmtree(self.tmp, ignore_errors=True)

    def host_record(self, host, url=RELAYD_URL):
        """Run `looptrace record --relayd url` of the demo on `host`; (status, stdout,
        stderr, record folder)."""
        out = os.path.join(self.tmp, "record-" + host)
        # unshare makes the new mount namespace private (its tmpfs mounts never reach ours);
        # in a chroot / is not a mount point and cannot be made private: there the namespace
        # we run in is private already (the pristine roots are made with unshare --mount)
        prop = [] if root_is_mount_point() else ["--propagation", "unchanged"]
        cmd = in_ns(host, "unshare", "--mount", *prop, "--uts", "--pid", "--fork",
                    "--kill-child", "--mount-proc", "sh", "-c", HOST_SCRIPT, "sh", host,
                    os.path.join(self.tmp, "home-" + host), out, url, str(DEMO_PID - 1), DEMO)
        cmd += DEMO_ARGS
        env = dict(os.environ, LOOPTRACE=LOOPTRACE)
        p = run(cmd, env=env, timeout=120)
        return p.returncode, p.stdout.decode(errors="replace"), \
            p.stderr.decode(errors="replace"), out

    def report(self, *paths):
        dest = os.path.join(self.tmp, "report.json")
        p = run([LOOPTRACE, "report", "--json", dest] + list(paths), timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        with open(dest, encoding="utf-8") as f:
            return json.load(f), p.stdout.decode()

    def test_two_hosts_merged(self):
        # An unreachable relay daemon is said before anything runs (host B, over the veth).
        status, _, err, _ = self.host_record("hostB", url="net://10.231.7.1:5999")
        self.assertEqual(status, 2, err)
        self.assertIn("lttng-relayd unreachable at 10.231.7.1:5999", err)

        truth, infos = {}, {}
        for host in ("hostA", "hostB"):
            status, out, err, folder = self.host_record(host)
            self.assertEqual(status, 0, err)
            self.assertIn("trace streamed to lttng-relayd at 10.231.7.1:5342", err)
            truth[host] = json.loads(out)
            with open(os.path.join(folder, "looptrace-record.json"), encoding="utf-8") as f:
                infos[host] = json.load(f)
            rel = infos[host]["relayd"]
            self.assertEqual(rel["hostname"], host)
            self.assertEqual(rel["control"], "10.231.7.1:5342")
            self.assertTrue(rel["path"].startswith(host + "/"), rel)
            self.assertIn(rel["path"], err)
            # The recording's folder points at the relay daemon's copy.
            p = run([LOOPTRACE, "report", folder])
            self.assertEqual(p.returncode, 2)
            self.assertIn(rel["path"], p.stderr.decode())
        self.assertEqual(truth["hostA"]["pid"], truth["hostB"]["pid"],
                         "both demos were meant to get pid %d" % DEMO_PID)
        self.stop_relayd()  # its trace files complete
        for host in ("hostA", "hostB"):
            self.assertTrue(os.path.isdir(os.path.join(self.relay_out,
                                                       infos[host]["relayd"]["path"], "ust")))

        report, text = self.report(self.relay_out)
        trace = report["trace"]
        self.assertEqual(sorted(trace["hosts"]), ["hostA", "hostB"])
        clock = trace["clock"]
        self.assertEqual(clock["basis"], "one-machine")  # one boot: both clocks share a uuid
        self.assertEqual(len(clock["clocks"]), 2)
        offsets = [c["offset_ns"] for c in clock["clocks"]]
        self.assertEqual(clock["uncertainty_ns"], max(offsets) - min(offsets))
        self.assertIn("hosts: ", text)
        self.assertIn("clock uncertainty", text)
        for host in ("hostA", "hostB"):
            comps = [c for c in report["components"] if c.get("host") == host]
            got = {c["name"]: c["messages"] for c in comps}
            want = {n: v["messages"] for n, v in truth[host]["components"].items()}
            self.assertEqual(got, want, host)
            for c in comps:
                self.assertEqual(c["pid"], truth[host]["pid"])
                self.assertTrue(c["key"].startswith("%s/%d:" % (host, c["pid"])), c["key"])
            self.assertTrue(all(ch["host"] in ("hostA", "hostB") for ch in report["channels"]))
        self.assertEqual(len(report["channels"]),
                         2 * len({ch["name"] for ch in report["channels"]}))


class FakePeer:
    """A TCP peer on 127.0.0.1 that accepts connections on a control and a data port but is not
    a relay daemon. `answer` is what it sends once it has read the client's first bytes:
    None (stays silent, connection open), b"" (hangs up) or bytes. `received` holds the first
    bytes each control connection sent."""

    def __init__(self, answer):
        self.answer = answer
        self.received = []
        self.conns = []
        self.control = socket.create_server(("127.0.0.1", 0))
        self.data = socket.create_server(("127.0.0.1", 0))
        self.stopping = False
        for sock, record in ((self.control, True), (self.data, False)):
            threading.Thread(target=self._serve, args=(sock, record), daemon=True).start()

    def ports(self):
        return self.control.getsockname()[1], self.data.getsockname()[1]

    def _serve(self, sock, record):
        while not self.stopping:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if not record:
                continue  # a data port never answers, a relay daemon's neither
            conn.settimeout(10)
            data = b""
            try:
                while len(data) < 32:
                    chunk = conn.recv(32 - len(data))
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            self.received.append(data)
            if self.answer == b"":
                conn.close()
            elif self.answer is not None:
                conn.sendall(self.answer)

    def close(self):
        self.stopping = True
        for s in [self.control, self.data] + self.conns:
            s.close()


class NotARelayd(unittest.TestCase):
    """A peer that accepts connections but is not a relay daemon is refused before anything
    runs (the check happens before the session daemon is even needed)."""

    def setUp(self):
        if not os.access(LOOPTRACE, os.X_OK):
            self.fail("LOOPTRACE=%s is not executable" % LOOPTRACE)
        self.tmp = tempfile.mkdtemp(prefix="looptrace-notrelayd-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def refused(self, answer, why):
        peer = FakePeer(answer)
        self.addCleanup(peer.close)
        control, data = peer.ports()
        out = os.path.join(self.tmp, "t")
        # Without the check, LTTng's consumer would wait on the peer and `record` would fail
        # only at its 60 s command timeout, with another message.
        p = run([LOOPTRACE, "record", "--relayd", "net://127.0.0.1:%d:%d" % (control, data),
                 "-o", out, "--", "true"], timeout=120)
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 2, err)
        self.assertIn("looptrace: record: 127.0.0.1:%d does not answer as an lttng-relayd ("
                      % control, err)
        self.assertIn(why, err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertFalse(os.path.exists(out), "DIR made before the check")
        # What the peer got is the relay daemon's version command: a 24-byte header (circuit
        # id, payload size 8, command 5, command version 0), then protocol version 2.x.
        self.assertEqual(len(peer.received), 1, peer.received)
        self.assertEqual(len(peer.received[0]), 32, peer.received[0].hex())
        circuit, size, cmd, cmd_version, major, _minor = struct.unpack(">QQIIII",
                                                                       peer.received[0])
        self.assertEqual((circuit, size, cmd, cmd_version, major), (0, 8, 5, 0, 2))

    def test_silent_peer(self):
        self.refused(None, "no answer to the version command within 2 s")

    def test_garbage_answer(self):
        self.refused(b"HTTP/1.0 400 Bad Request\r\n\r\n",
                     'it answered the version command with "HTTP/1.0", not a relay daemon\'s')

    def test_hang_up(self):
        self.refused(b"", "it closed the connection without answering the version command")

    def test_short_answer(self):
        self.refused(b"\x00\x00", "only 2 of the 8 bytes of an answer to the version command "
                     "within 2 s")

    def test_other_protocol_major(self):
        self.refused(struct.pack(">II", 3, 0), "it answers relay daemon protocol 3.0")


def free_ports(count):
    """`count` TCP ports free on 127.0.0.1 right now."""
    socks = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class LocalRelayd(unittest.TestCase):
    """A real lttng-relayd on 127.0.0.1 answers the check, and gets the trace."""

    def setUp(self):
        missing = [t for t in ("lttng", "lttng-sessiond", "lttng-relayd") if not shutil.which(t)]
        missing += [p for p in (LOOPTRACE, DEMO) if not os.access(p, os.X_OK)]
        if missing:
            self.fail("missing: " + ", ".join(missing))
        self.tmp = tempfile.mkdtemp(prefix="looptrace-localrelayd-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.relay_out = os.path.join(self.tmp, "relayd")
        self.relayd = None
        self.addCleanup(self.stop_relayd)
        for _ in range(5):  # a port taken meanwhile: take others
            self.ports = free_ports(3)
            log = open(os.path.join(self.tmp, "relayd.log"), "wb")
            self.addCleanup(log.close)
            self.relayd = subprocess.Popen(
                ["lttng-relayd", "--output=" + self.relay_out] +
                ["--%s-port=tcp://127.0.0.1:%d" % (k, p)
                 for k, p in zip(("control", "data", "live"), self.ports)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self.relayd.poll() is None:
                out = run(["ss", "-ltnH"]).stdout.decode()
                if all("127.0.0.1:%d" % p in out for p in self.ports[:2]):
                    return
                time.sleep(0.1)
            self.stop_relayd()
        self.fail("lttng-relayd does not listen on 127.0.0.1")

    def stop_relayd(self):
        proc, self.relayd = self.relayd, None
        if proc is not None:
            terminate(proc)

    def test_real_relayd_passes(self):
        control, data, _ = self.ports
        out = os.path.join(self.tmp, "rec")
        p = run([LOOPTRACE, "record", "--relayd", "net://127.0.0.1:%d:%d" % (control, data),
                 "-o", out, "--", DEMO] + DEMO_ARGS, timeout=120)
        err = p.stderr.decode(errors="replace")
        self.assertEqual(p.returncode, 0, err)
        self.assertNotIn("does not answer", err)
        self.assertIn("trace streamed to lttng-relayd at 127.0.0.1:%d" % control, err)
        with open(os.path.join(out, "looptrace-record.json"), encoding="utf-8") as f:
            path = json.load(f)["relayd"]["path"]
        self.stop_relayd()  # its trace files complete
        self.assertTrue(os.path.isdir(os.path.join(self.relay_out, path, "ust")))


class BadUrl(unittest.TestCase):
    """No root, no daemon: a URL LTTng cannot stream to is refused before anything runs."""

    def test_bad_urls(self):
        if not os.access(LOOPTRACE, os.X_OK):
            self.fail("LOOPTRACE=%s is not executable" % LOOPTRACE)
        tmp = tempfile.mkdtemp(prefix="looptrace-relayd-url-")
        self.addCleanup(shutil.rmtree, tmp, True)
        for url, why in (("ftp://host", "expected net://HOST[:CONTROL[:DATA]][/PATH]"),
                         ("net://host:70000", "control port 70000 is not a TCP port"),
                         ("net://host:5342:5342", "control and data ports must differ"),
                         ("net://host/../x", "no '..'"),
                         ("net6://::1", "IPv6 address in brackets")):
            p = run([LOOPTRACE, "record", "--relayd", url, "-o", os.path.join(tmp, "t"),
                     "--", "true"])
            self.assertEqual(p.returncode, 2, url)
            self.assertIn(why, p.stderr.decode(), url)
            self.assertFalse(os.path.exists(os.path.join(tmp, "t")), url)
        p = run([LOOPTRACE, "record", "--relayd", "net://host", "--flight-recorder", "-o",
                 os.path.join(tmp, "t"), "--", "true"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("--relayd does not go with --flight-recorder", p.stderr.decode())


if __name__ == "__main__":
    unittest.main(argv=sys.argv)
