"""The relay daemon `looptrace record --relayd URL` streams a session to (docs/distributed.md).

LTTng's own network streaming: the session daemon's consumer sends the trace to an
`lttng-relayd` on another (or the same) host, which writes it under its output folder as
`<relayd output>/<hostname of the traced host>/<path>/`. This module parses the URL (LTTng's
`net://HOST[:CONTROL[:DATA]][/PATH]` form, `net6://` for IPv6), gives it a path of its own
when it has none (so that `record` knows, and says, where the trace lands) and checks, before
the session is created, that both ports accept connections and that the control port answers
the relay daemon's version command: `lttng create --set-url` does not connect, a relay daemon
that is not there would otherwise be noticed only when the consumer drops the trace, and a
peer that accepts connections but is not a relay daemon leaves LTTng's consumer daemon
waiting on it (and `record` waiting for its 60 s command timeout). Every failure is a
UserError with a one-line reason.
"""

import re
import socket
import struct
import time

from .errors import UserError

CONTROL_PORT = 5342  # LTTng's defaults (lttng-relayd --control-port / --data-port)
DATA_PORT = 5343
CONNECT_TIMEOUT = 3.0  # s, per port
HANDSHAKE_TIMEOUT = 2.0  # s: a relay daemon answers its version command at once

# The relay daemon's control protocol (lttng-tools' relayd wire format), every integer
# big-endian: a 24-byte header (circuit id u64, unused; payload size u64; command u32; command
# version u32) then the payload. The version command (5) carries the client's protocol
# version (major u32, minor u32); the relay daemon answers with its own, 8 bytes, and closes
# the connection when the majors differ. Every LTTng so far speaks major 2.
_CMD_VERSION = 5
_PROTO_MAJOR, _PROTO_MINOR = 2, 13  # LTTng 2.13's; the relay daemon adapts to the lower minor
_VERSION_REPLY = 8  # bytes

_URL = re.compile(r"^(?P<scheme>net6?)://(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:/\[\]]+))"
                  r"(?::(?P<ctrl>\d+)(?::(?P<data>\d+))?)?(?P<path>/.*)?$")
_PATH = re.compile(r"^[A-Za-z0-9._+@%=,-]+(?:/[A-Za-z0-9._+@%=,-]+)*$")
USAGE = "expected net://HOST[:CONTROL[:DATA]][/PATH] (or net6://[ADDR]...)"


class RelaydUrl:
    """A parsed `--relayd` URL: scheme, host, control and data ports, path (no slashes at
    either end; "" when none was given)."""

    def __init__(self, scheme, host, control, data, path):
        self.scheme = scheme
        self.host = host
        self.control = control
        self.data = data
        self.path = path

    def with_path(self, path):
        """A copy whose path is `path` when this one has none."""
        return RelaydUrl(self.scheme, self.host, self.control, self.data, self.path or path)

    def _host(self):
        return "[%s]" % self.host if ":" in self.host else self.host

    def lttng_url(self):
        """The `lttng create --set-url` form: every part spelled out."""
        url = "%s://%s:%d:%d" % (self.scheme, self._host(), self.control, self.data)
        return url + ("/" + self.path if self.path else "")

    def control_address(self):
        return "%s:%d" % (self._host(), self.control)

    def data_address(self):
        return "%s:%d" % (self._host(), self.data)


def parse(text):
    """The RelaydUrl of `text`; UserError (one line) when it is not a URL LTTng streams to."""
    text = text or ""
    if text.startswith("net6://") and not text.startswith("net6://["):
        raise UserError("--relayd %s: net6:// takes an IPv6 address in brackets "
                        "(net6://[ADDR]:CONTROL:DATA)" % text)
    m = _URL.match(text)
    if not m:
        raise UserError("--relayd %s: %s" % (text, USAGE))
    host = m.group("v6") or m.group("host")
    ports = []
    for name, given, default in (("control", m.group("ctrl"), CONTROL_PORT),
                                 ("data", m.group("data"), DATA_PORT)):
        port = int(given) if given else default
        if not 0 < port < 65536:
            raise UserError("--relayd %s: %s port %d is not a TCP port (1-65535)"
                            % (text, name, port))
        ports.append(port)
    if ports[0] == ports[1]:
        raise UserError("--relayd %s: the control and data ports must differ" % text)
    path = (m.group("path") or "").strip("/")
    if path and (not _PATH.match(path) or ".." in path.split("/")):
        raise UserError("--relayd %s: the path may hold only letters, digits and ._+@%%=,- "
                        "between slashes (no '..')" % text)
    return RelaydUrl(m.group("scheme"), host, ports[0], ports[1], path)


def _connect(url, port):
    """(connected socket, None) when HOST:port accepts a TCP connection, else (None, the
    reason: a short string). The caller closes the socket."""
    family = socket.AF_INET6 if url.scheme == "net6" else socket.AF_INET
    try:
        infos = socket.getaddrinfo(url.host, port, family, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return None, "cannot resolve %s: %s" % (url.host, exc.strerror or exc)
    reason = "no address"
    for fam, kind, proto, _, addr in infos:
        s = socket.socket(fam, kind, proto)
        s.settimeout(CONNECT_TIMEOUT)
        try:
            s.connect(addr)
            return s, None
        except socket.timeout:
            reason = "no answer within %g s" % CONNECT_TIMEOUT
        except OSError as exc:
            reason = exc.strerror or str(exc)
        s.close()
    return None, reason


def version_command():
    """The bytes of the relay daemon's version command, as a session daemon sends it first."""
    return struct.pack(">QQII", 0, 8, _CMD_VERSION, 0) + struct.pack(">II", _PROTO_MAJOR,
                                                                      _PROTO_MINOR)


def _handshake(sock):
    """None when the peer on `sock` answers the version command as a relay daemon of
    protocol major 2, else why not (a short string). Waits at most HANDSHAKE_TIMEOUT s."""
    deadline = time.monotonic() + HANDSHAKE_TIMEOUT
    reply = b""
    try:
        sock.settimeout(HANDSHAKE_TIMEOUT)
        sock.sendall(version_command())
        while len(reply) < _VERSION_REPLY:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            sock.settimeout(left)
            chunk = sock.recv(_VERSION_REPLY - len(reply))
            if not chunk:
                break
            reply += chunk
    except socket.timeout:
        if reply:
            return ("only %d of the %d bytes of an answer to the version command within %g s"
                    % (len(reply), _VERSION_REPLY, HANDSHAKE_TIMEOUT))
        return "no answer to the version command within %g s" % HANDSHAKE_TIMEOUT
    except OSError as exc:
        return "the connection failed during the version command: %s" % (exc.strerror or exc)
    if not reply:
        return "it closed the connection without answering the version command"
    if len(reply) < _VERSION_REPLY:
        return ("it closed the connection after %d of the %d bytes of an answer to the version "
                "command" % (len(reply), _VERSION_REPLY))
    major, minor = struct.unpack(">II", reply)
    if major != _PROTO_MAJOR:
        if 0 < major < 100 and minor < 1000:
            return ("it answers relay daemon protocol %d.%d, which LTTng %d.x cannot stream "
                    "to" % (major, minor, _PROTO_MAJOR))
        shown = '"%s"' % reply.decode() if all(32 <= b < 127 for b in reply) \
            else reply.hex(" ")
        return "it answered the version command with %s, not a relay daemon's version" % shown
    return None


def check_reachable(url):
    """UserError unless the relay daemon's control and data ports accept connections (from
    this host, whose network the session daemon shares) and the control port answers the
    version command as an lttng-relayd does, within HANDSHAKE_TIMEOUT s. The data port
    never answers by design: a connection is all that is checked there."""
    for what, port, address in (("control", url.control, url.control_address()),
                                ("data", url.data, url.data_address())):
        sock, reason = _connect(url, port)
        if reason is not None:
            raise UserError("lttng-relayd unreachable at %s (its %s port): %s; is "
                            "lttng-relayd running there and listening on that address?"
                            % (address, what, reason))
        try:
            if what == "control":
                reason = _handshake(sock)
        finally:
            sock.close()
        if reason is not None:
            raise UserError("record: %s does not answer as an lttng-relayd (%s); is that its "
                            "control port (lttng-relayd -C)?" % (address, reason))

