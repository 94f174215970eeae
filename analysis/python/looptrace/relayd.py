"""The relay daemon `looptrace record --relayd URL` streams a session to (docs/distributed.md).

LTTng's own network streaming: the session daemon's consumer sends the trace to an
`lttng-relayd` on another (or the same) host, which writes it under its output folder as
`<relayd output>/<hostname of the traced host>/<path>/`. This module parses the URL (LTTng's
`net://HOST[:CONTROL[:DATA]][/PATH]` form, `net6://` for IPv6), gives it a path of its own
when it has none (so that `record` knows, and says, where the trace lands) and checks that
both ports accept connections before the session is created: `lttng create --set-url` does
not connect, and a relay daemon that is not there would otherwise be noticed only when the
consumer drops the trace. Every failure is a UserError with a one-line reason.
"""

import re
import socket

from .errors import UserError

CONTROL_PORT = 5342  # LTTng's defaults (lttng-relayd --control-port / --data-port)
DATA_PORT = 5343
CONNECT_TIMEOUT = 3.0  # s, per port

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
    """None when HOST:port accepts a TCP connection, else the reason (a short string)."""
    family = socket.AF_INET6 if url.scheme == "net6" else socket.AF_INET
    try:
        infos = socket.getaddrinfo(url.host, port, family, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return "cannot resolve %s: %s" % (url.host, exc.strerror or exc)
    reason = "no address"
    for fam, kind, proto, _, addr in infos:
        s = socket.socket(fam, kind, proto)
        s.settimeout(CONNECT_TIMEOUT)
        try:
            s.connect(addr)
            return None
        except socket.timeout:
            reason = "no answer within %g s" % CONNECT_TIMEOUT
        except OSError as exc:
            reason = exc.strerror or str(exc)
        finally:
            s.close()
    return reason


def check_reachable(url):
    """UserError unless the relay daemon's control and data ports accept connections (from
    this host, whose network the session daemon shares)."""
    for what, port, address in (("control", url.control, url.control_address()),
                                ("data", url.data, url.data_address())):
        reason = _connect(url, port)
        if reason is not None:
            raise UserError("lttng-relayd unreachable at %s (its %s port): %s; is "
                            "lttng-relayd running there and listening on that address?"
                            % (address, what, reason))
