"""Write small synthetic CTF 1.8 traces of looptrace events, laid out like LTTng-UST's.

The report tests use them to drive the real babeltrace2 + looptrace sink without a session
daemon: exact timestamps give exactly known answers, a packet whose `events_discarded`
counter jumps gives a discarded-events message (lost events), and the files are easy to
damage on purpose (metadata, stream files).

    t = Trace(pid=100, procname="gt")
    t.event(1_000, tid=101, name="component_begin", comp=1, name_="worker")
    t.write("/tmp/trace")          # /tmp/trace/metadata, /tmp/trace/chan_0
"""

import os
import struct
import zlib

CLOCK_OFFSET_S = 1764198000

# Event fields, as in docs/event-model.md (provider `looptrace`).
EVENTS = {
    "component_begin": [("comp", "u32"), ("name", "string")],
    "component_end": [("comp", "u32")],
    "channel_declare": [("chan", "u32"), ("name", "string"), ("capacity", "u32")],
    "wait_begin": [],
    "wait_end": [("chan", "u32"), ("msg", "u64")],
    "handle_begin": [("msg", "u64"), ("kind", "string")],
    "handle_end": [("msg", "u64")],
    "block_begin": [("reason", "u32"), ("object", "u64"), ("where", "u64")],
    "block_end": [],
    "send": [("chan", "u32"), ("msg", "u64"), ("flow", "u64"), ("depth", "u32")],
    "recv": [("chan", "u32"), ("msg", "u64"), ("depth", "u32")],
    "route_add": [("route", "u32"), ("chan", "u32"), ("owner", "u32")],
    "route_remove": [("route", "u32")],
    "route_dispatch_begin": [("route", "u32"), ("msg", "u64")],
    "route_dispatch_end": [("route", "u32")],
    # pools and sequences (added last: the earlier events keep their ids)
    "pool_declare": [("pool", "u32"), ("name", "string"), ("threads", "u32")],
    "pool_worker_begin": [("pool", "u32")],
    "pool_worker_end": [("pool", "u32")],
    "seq_begin": [("comp", "u32"), ("name", "string"), ("pool", "u32"), ("flags", "u32")],
    "seq_end": [("comp", "u32")],
    "seq_ready": [("comp", "u32")],
    "seq_run_begin": [("comp", "u32")],
    "seq_run_end": [("comp", "u32")],
    # format 1.1's fused handler switch (its exact bounds in trace clock cycles)
    "handle_next": [("prev", "u64"), ("begin_ts", "u64"), ("end_ts", "u64"), ("chan", "u32"),
                    ("msg", "u64"), ("depth", "u32"), ("kind", "string")],
}
EVENT_IDS = {name: i for i, name in enumerate(EVENTS)}

# Format 2.x's carrier of per-thread records (looptrace/probes/records.h): declared only in
# traces that hold one (a trace declaring it is decoded in merge mode).
BATCH = [("tid", "u32"), ("seq", "u32"), ("first", "u64"), ("clock", "u32"), ("base", "u64"),
         ("cal_tsc", "u64"), ("cal_ns", "u64"), ("epoch_tsc", "u64"), ("epoch_ns", "u64"),
         ("msg_hi", "u16"), ("bracket", "u32"), ("words", "seq_u64")]
BATCH_ID = len(EVENTS)

_TYPES = {"u16": "uint16_t", "u32": "uint32_t", "u64": "uint64_t", "string": "string"}


def metadata(provider="looptrace", uuid="2a6422d0-6cee-11e0-8c08-cb07d7b3a564",
             hostname="synthetic", batch=False):
    """TSDL text of a one-stream trace holding every looptrace event class."""
    lines = [
        "/* CTF 1.8 */",
        "",
        "typealias integer { size = 8; align = 8; signed = false; } := uint8_t;",
        "typealias integer { size = 16; align = 8; signed = false; } := uint16_t;",
        "typealias integer { size = 32; align = 8; signed = false; } := uint32_t;",
        "typealias integer { size = 64; align = 8; signed = false; } := uint64_t;",
        "typealias integer { size = 32; align = 8; signed = true; } := int32_t;",
        "",
        "trace {",
        "\tmajor = 1;",
        "\tminor = 8;",
        '\tuuid = "%s";' % uuid,
        "\tbyte_order = le;",
        "\tpacket.header := struct {",
        "\t\tuint32_t magic;",
        "\t\tuint8_t  uuid[16];",
        "\t\tuint32_t stream_id;",
        "\t\tuint64_t stream_instance_id;",
        "\t};",
        "};",
        "",
        "env {",
        '\tdomain = "ust";',
        '\ttracer_name = "lttng-ust";',
        "\ttracer_major = 2;",
        "\ttracer_minor = 13;",
        '\ttrace_buffering_scheme = "uid";',
        '\thostname = "%s";' % hostname,
        "};",
        "",
        "clock {",
        "\tname = \"monotonic\";",
        '\tuuid = "5b5e1e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";',
        "\tfreq = 1000000000;",
        "\tprecision = 0;",
        "\toffset_s = %d;" % CLOCK_OFFSET_S,
        "\toffset = 0;",
        "\tabsolute = FALSE;",
        "};",
        "",
        "typealias integer { size = 64; align = 8; signed = false; "
        "map = clock.monotonic.value; } := uint64_clock_monotonic_t;",
        "",
        "stream {",
        "\tid = 0;",
        "\tpacket.context := struct {",
        "\t\tuint64_clock_monotonic_t timestamp_begin;",
        "\t\tuint64_clock_monotonic_t timestamp_end;",
        "\t\tuint64_t content_size;",
        "\t\tuint64_t packet_size;",
        "\t\tuint64_t packet_seq_num;",
        "\t\tuint64_t events_discarded;",
        "\t\tuint32_t cpu_id;",
        "\t};",
        "\tevent.header := struct {",
        "\t\tuint32_t id;",
        "\t\tuint64_clock_monotonic_t timestamp;",
        "\t};",
        "\tevent.context := struct {",
        "\t\tint32_t _vpid;",
        "\t\tint32_t _vtid;",
        "\t\tstring _procname;",
        "\t};",
        "};",
        "",
    ]
    classes = list(EVENTS.items()) + ([("batch", BATCH)] if batch else [])
    for name, fields in classes:
        lines.append("event {")
        lines.append('\tname = "%s:%s";' % (provider, name))
        lines.append("\tid = %d;" % (EVENT_IDS[name] if name in EVENT_IDS else BATCH_ID))
        lines.append("\tstream_id = 0;")
        lines.append("\tloglevel = 13;")
        lines.append("\tfields := struct {")
        for fname, ftype in fields:
            if ftype == "seq_u64":
                lines.append("\t\tuint32_t __%s_length;" % fname)
                lines.append("\t\tuint64_t _%s[ __%s_length ];" % (fname, fname))
                continue
            lines.append("\t\t%s _%s;" % (_TYPES[ftype], fname))
        lines.append("\t};")
        lines.append("};")
        lines.append("")
    return "\n".join(lines)


MAGIC = 0xC1FC1FC1


METADATA_MAGIC = 0x75D11D57
METADATA_HEADER = 37


def packetize(text, uuid, packet_size=4096):
    """TSDL `text` framed in metadata packets of `packet_size` bytes (the last one padded)."""
    data = text.encode()
    room = packet_size - METADATA_HEADER
    out = b""
    for i in range(0, len(data), room):
        chunk = data[i:i + room]
        content = METADATA_HEADER + len(chunk)
        out += struct.pack("<I16sIIIBBBBB", METADATA_MAGIC, bytes.fromhex(uuid.replace("-", "")),
                           0, content * 8, packet_size * 8, 0, 0, 0, 1, 8)
        out += chunk + b"\0" * (packet_size - content)
    return out


class Trace:
    """Events of one process, written as one stream (file `chan_0`)."""

    def __init__(self, pid=100, procname="synthetic", hostname="synthetic"):
        self.pid = pid
        self.procname = procname
        self.hostname = hostname
        # One trace per process: babeltrace2 merges inputs whose traces share a UUID.
        # (another host: another trace, even for the same pid)
        host = 0 if hostname == "synthetic" else zlib.crc32(hostname.encode()) & 0xffff
        self.uuid = "2a6422d0-6cee-11e0-8c08-%012x" % (pid + host * 2**24)
        self.events = []  # (ts_ns, tid, name, fields)
        self.discard_after = {}  # event index -> events discarded before the next packet

    def event(self, ts_ns, tid, name, **fields):
        """Add event `name` at `ts_ns` (ns after the clock offset). A field that clashes with
        a keyword is passed with a trailing underscore (name_="...")."""
        fields = {k.rstrip("_"): v for k, v in fields.items()}
        self.events.append((ts_ns, tid, name, fields))

    def lose(self, count):
        """Pretend `count` events were discarded after the last added event (a new packet
        starts there and its events_discarded counter grows by `count`)."""
        self.discard_after[len(self.events) - 1] = count

    def batch(self, ts_ns, tid, words, base=0, bracket=0, first=0, seq=0):
        """Add a `batch` event of thread `tid`: records `words` (ints, records.h), their clock
        CLOCK_MONOTONIC ns (clock 1) in this trace's time base, `base` the clock value before
        the first record, `bracket` the process's bracket in ns."""
        self.events.append((ts_ns, tid, "batch",
                            {"tid": tid, "seq": seq, "first": first, "clock": 1, "base": base,
                             "bracket": bracket, "words": list(words)}))

    def _encode(self, ev):
        ts, tid, name, fields = ev
        out = struct.pack("<IQ", EVENT_IDS[name] if name in EVENT_IDS else BATCH_ID, ts)
        out += struct.pack("<ii", self.pid, tid) + self.procname.encode() + b"\0"
        for fname, ftype in (BATCH if name == "batch" else EVENTS[name]):
            v = fields.get(fname, 0 if ftype != "string" else "")
            if ftype == "seq_u64":
                out += struct.pack("<I", len(v)) + b"".join(struct.pack("<Q", w) for w in v)
                continue
            if ftype == "u16":
                out += struct.pack("<H", v)
                continue
            if ftype == "u32":
                out += struct.pack("<I", v)
            elif ftype == "u64":
                out += struct.pack("<Q", v)
            else:
                out += v.encode("utf-8", "surrogateescape") + b"\0"
        return out

    def packets(self):
        evs = sorted(enumerate(self.events), key=lambda p: p[1][0])
        groups, cur = [], []
        for idx, ev in evs:
            cur.append(ev)
            if idx in self.discard_after:
                groups.append((cur, self.discard_after[idx]))
                cur = []
        groups.append((cur, 0))
        discarded = 0
        seq = 0
        last_end = evs[0][1][0] if evs else 0
        for group, lost_after in groups:
            if not group:
                continue
            body = b"".join(self._encode(ev) for ev in group)
            begin = min(last_end, group[0][0])
            end = group[-1][0]
            header_len = 4 + 16 + 4 + 8 + 8 * 6 + 4
            size_bits = (header_len + len(body)) * 8
            head = struct.pack("<I16sIQ", MAGIC, bytes.fromhex(self.uuid.replace("-", "")),
                               0, 0)
            head += struct.pack("<QQQQQQI", begin, end, size_bits, size_bits, seq, discarded, 0)
            yield head + body
            discarded += lost_after
            seq += 1
            last_end = end

    def write(self, directory, provider="looptrace", packetized=False):
        """Write `directory`/metadata and `directory`/chan_0. With `packetized`, the
        metadata is framed in packets as LTTng writes it (else plain TSDL text); an integer
        `packetized` is the packet size in bytes (True: 4096)."""
        os.makedirs(directory, exist_ok=True)
        text = metadata(provider, self.uuid, self.hostname,
                        batch=any(e[2] == "batch" for e in self.events))
        with open(os.path.join(directory, "metadata"), "wb") as f:
            if packetized:
                size = 4096 if packetized is True else packetized
                f.write(packetize(text, self.uuid, size))
            else:
                f.write(text.encode())
        with open(os.path.join(directory, "chan_0"), "wb") as f:
            for p in self.packets():
                f.write(p)
        return directory
