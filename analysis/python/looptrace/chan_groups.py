"""Channels as the reports list them: channels of one name folded into one row.

A program that makes a channel per request or per task (a free list of reply channels, each
created with the same name) has one channels[] entry per channel object in the JSON report.
The analysis also writes `channel_groups`: one entry per set of two or more channels[]
entries of one process with the same name and kind (IPC or not, declared or not, capacity),
with their figures summed and their queue waits merged from the members' histograms, so a
group's percentiles are those of all its messages (docs/report-schema.md). Each member names
its group (`group`: the id of the group's first channel).

folded(report) is the list the terminal, HTML and CSV outputs show: channels[] in order, the
members of a group replaced by the group's entry (with `instances`) where its first member
was. A report without `channel_groups` (written before it existed) is shown per channel, as
its percentiles could not be merged honestly from per-channel percentiles.
"""


def _key(entry, ref):
    """How a group is found: its process (host and pid) and the id of its first channel."""
    return (entry.get("host"), entry.get("pid"), ref)


def folded(report):
    """The channels to show, as dicts: plain channels[] entries (instances 1) and group
    entries (instances N, the members' IPC ends gathered in `ends`)."""
    chans = [c for c in report.get("channels") or [] if isinstance(c, dict)]
    groups = {}
    for g in report.get("channel_groups") or []:
        if isinstance(g, dict) and isinstance(g.get("instances"), int):
            groups[_key(g, g.get("id"))] = g
    members = {}
    for c in chans:
        k = _key(c, c.get("group"))
        if c.get("group") is not None and k in groups:
            members.setdefault(k, []).append(c)
    out, done = [], set()
    for c in chans:
        k = _key(c, c.get("group"))
        if k not in members:
            out.append(dict(c, instances=1))
            continue
        if k in done:
            continue
        done.add(k)
        row = dict(groups[k])
        ends = [e for m in members[k] for e in m.get("ends") or [] if isinstance(e, dict)]
        if ends:
            row["ends"] = ends
        out.append(row)
    return out


def label(entry, times="x"):
    """' x12' after the name of a group of 12 channels, '' for one channel."""
    n = entry.get("instances")
    return " %s%d" % (times, n) if isinstance(n, int) and n > 1 else ""
