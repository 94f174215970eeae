"""Call sites as function and file:line: symbolizing the `where` of block events.

The interposer (liblooptrace-preload.so) and lt_block_begin() record in `where` the return
address of the blocking call, an absolute address in the traced process. To name it we need
which object (executable or shared library) was mapped where in that process: LTTng-UST's
statedump gives it, as events `lttng_ust_statedump:bin_info {baddr, memsz, path, is_pic}` (one
per object loaded when the application registered; `looptrace record --interpose` enables
`lttng_ust_statedump:*`) and `lttng_ust_dl:dlopen {baddr, memsz, path}` (later dlopen()s, only
when liblttng-ust-dl.so is preloaded too).

  objects = load_objects(trace_dir)               # {pid: [LoadedObject, ...]}
  site = symbolize(where, objects, pid)           # {"function", "file", "line", "path", ...}
  format_site(site)                               # "consumer (ip_truth.c:126)"
  call_site_text(blocked_by_entry)                # its `site`, else "0x..." (renderers)
  annotate_report(report_dict, trace_dir)         # adds "site" to components[].blocked_by[]

load_objects() reads only those few events, through the babeltrace2 CLI's text output (so it
works whatever Python runs it); symbolize_many() runs `addr2line -a -i -f -C -e PATH` once per
object for all its addresses (an inlined call is named by the inlined function and line, plus
the function it was inlined into). Offsets are computed as `where - 1 - baddr` for position-independent
objects (`where - 1` for others): the address inside the call instruction, so the line is the
call's, not the next statement's. A function name is given only when it is certain
(elfsyms.py): a function symbol of .symtab or .dynsym whose size covers the address, or DWARF;
a separate debug file is used when installed (found by build-id under
/usr/lib/debug/.build-id/, or by .gnu_debuglink, CRC checked; the root is $LOOPTRACE_DEBUG_ROOT
or /). Without debug information the symbol's name is still given; without a symbol covering
the address, `path+0xoffset` — never the nearest preceding symbol of another function.

Command line: python3 -m looptrace.symbolize TRACE_DIR [REPORT.json]
prints, per component of the report (or per `where` given on stdin when no report), the top
blocked call sites.
"""

import collections
import json
import os
import re
import shutil
import subprocess
import sys

from . import elfsyms

# build_id: the GNU build id (hex) the traced process had for the object (statedump
# `build_id` events, the report's objects[].build_id), or None when not recorded.
LoadedObject = collections.namedtuple("LoadedObject", "baddr memsz path is_pic build_id",
                                      defaults=(None,))

CHANGED = "binary changed since recording"

_EVENT_RE = re.compile(r"(lttng_ust_statedump:bin_info|lttng_ust_dl:dlopen):")
_VPID_RE = re.compile(r"\bvpid = (\d+)")
_BADDR_RE = re.compile(r"\bbaddr = (0x[0-9A-Fa-f]+|\d+)")
_MEMSZ_RE = re.compile(r"\bmemsz = (\d+)")
_PATH_RE = re.compile(r'\bpath = "((?:[^"\\]|\\.)*)"')
_PIC_RE = re.compile(r"\bis_pic = (\d+)")


class SymbolizeError(Exception):
    """babeltrace2 or the trace cannot be read."""


def _int(v):
    """An address given as an integer or a string ("0x7f...", "123")."""
    if isinstance(v, int):
        return v
    return int(str(v), 0)


def parse_statedump_line(line):
    """(pid or None, LoadedObject) for a bin_info/dlopen line of babeltrace2's text output,
    else None."""
    if not _EVENT_RE.search(line):
        return None
    b, m, p = _BADDR_RE.search(line), _MEMSZ_RE.search(line), _PATH_RE.search(line)
    if not (b and m and p):
        return None
    pid = _VPID_RE.search(line)
    pic = _PIC_RE.search(line)
    path = p.group(1).replace('\\"', '"').replace("\\\\", "\\")
    return (int(pid.group(1)) if pid else None,
            LoadedObject(int(b.group(1), 0), int(m.group(1)), path,
                         bool(int(pic.group(1))) if pic else True))


def load_objects(trace_path, babeltrace2=None):
    """{pid: [LoadedObject]} from the statedump events of the trace at `trace_path` (pid None
    when the events lack the vpid context). Empty when the statedump was not recorded. Raises
    SymbolizeError when babeltrace2 is missing or fails."""
    exe = babeltrace2 or shutil.which("babeltrace2")
    if not exe:
        raise SymbolizeError("babeltrace2 is not installed")
    objects = collections.defaultdict(list)
    from . import bt  # the same memory bound and death-with-parent as report's runs

    try:
        proc = subprocess.Popen([exe, trace_path], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                preexec_fn=bt._child_setup(bt.memory_limit()))
    except OSError as exc:
        raise SymbolizeError("cannot run %s: %s" % (exe, exc)) from None
    try:
        for raw in proc.stdout:
            if b"lttng_ust_statedump:bin_info" not in raw and \
                    b"lttng_ust_dl:dlopen" not in raw:
                continue
            got = parse_statedump_line(raw.decode("utf-8", "replace"))
            if got and got[1] not in objects[got[0]]:
                objects[got[0]].append(got[1])
        err = proc.stderr.read().decode("utf-8", "replace")
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if proc.wait() != 0:
        raise SymbolizeError("babeltrace2 cannot read %s: %s"
                             % (trace_path, (err.strip().splitlines() or ["?"])[-1]))
    return dict(objects)


def find_object(where, objects, pid=None):
    """(LoadedObject, offset for addr2line) containing address `where` in process `pid`
    (any process when pid is None or unknown), or (None, None)."""
    where = _int(where)
    candidates = objects.get(pid) if pid in objects else \
        [o for objs in objects.values() for o in objs]
    for obj in candidates or ():
        if obj.baddr <= where < obj.baddr + max(obj.memsz, 1):
            addr = max(where - 1, obj.baddr)  # inside the call instruction
            return obj, (addr - obj.baddr if obj.is_pic else addr)
    return None, None


def elf_build_id(path):
    """The GNU build id (lowercase hex) of the ELF file at `path`, "" when it has none, or
    None when it cannot be read (missing, not ELF)."""
    import struct

    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 52 or head[:4] != b"\x7fELF":
                return None
            is64 = head[4] == 2
            e = "<" if head[5] == 1 else ">"
            if is64:
                phoff, = struct.unpack_from(e + "Q", head, 32)
                phentsize, phnum = struct.unpack_from(e + "HH", head, 54)
            else:
                phoff, = struct.unpack_from(e + "I", head, 28)
                phentsize, phnum = struct.unpack_from(e + "HH", head, 42)
            for i in range(min(phnum, 256)):
                f.seek(phoff + i * phentsize)
                ph = f.read(phentsize)
                if len(ph) < (56 if is64 else 32):
                    return None
                p_type, = struct.unpack_from(e + "I", ph, 0)
                if p_type != 4:  # PT_NOTE
                    continue
                if is64:
                    off, = struct.unpack_from(e + "Q", ph, 8)
                    size, = struct.unpack_from(e + "Q", ph, 32)
                else:
                    off, = struct.unpack_from(e + "I", ph, 4)
                    size, = struct.unpack_from(e + "I", ph, 16)
                f.seek(off)
                notes = f.read(min(size, 1 << 16))
                k = 0
                while k + 12 <= len(notes):
                    namesz, descsz, ntype = struct.unpack_from(e + "III", notes, k)
                    name_end = k + 12 + ((namesz + 3) & ~3)
                    desc = notes[name_end:name_end + descsz]
                    if ntype == 3 and notes[k + 12:k + 12 + namesz].rstrip(b"\0") == b"GNU":
                        return desc.hex()
                    k = name_end + ((descsz + 3) & ~3)
    except (OSError, struct.error):
        return None
    return ""


def _frame(func, loc):
    """(function or None, file or None, line or 0) from a pair of addr2line output lines."""
    file, _, line = loc.split(" (discriminator")[0].rpartition(":")
    try:
        lineno = int(line)
    except ValueError:
        lineno = 0
    return (None if func in ("??", "") else func, None if file in ("??", "") else file,
            lineno)


def _addr2line(path, offsets, addr2line):
    """For each offset in `path`, its frames innermost first: [(function, file, line)] (one
    frame unless the call was inlined). Unknown parts are None / 0."""
    unknown = [[(None, None, 0)] for _ in offsets]
    if not offsets or not addr2line or not os.path.exists(path):
        return unknown
    try:
        proc = subprocess.run([addr2line, "-a", "-i", "-f", "-C", "-e", path] +
                              ["0x%x" % o for o in offsets], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return unknown
    # -a: each address is echoed ("0x0000000000001a88") before its frames (pairs of lines).
    records, cur = [], None
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("0x") and len(records) < len(offsets) and \
                (cur is None or len(cur) % 2 == 0):
            cur = []
            records.append(cur)
        elif cur is not None:
            cur.append(lines[i])
        i += 1
    out = []
    for k in range(len(offsets)):
        rec = records[k] if k < len(records) else []
        frames = [_frame(rec[j], rec[j + 1]) for j in range(0, len(rec) - 1, 2)]
        out.append(frames or [(None, None, 0)])
    return out


def _demangle(names):
    """{name: demangled} for C++ names (via c++filt when installed); others map to
    themselves."""
    out = {n: n for n in names}
    mangled = sorted(n for n in names if n.startswith("_Z"))
    exe = shutil.which("c++filt")
    if mangled and exe:
        try:
            proc = subprocess.run([exe], input="\n".join(mangled).encode(),
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  timeout=60, check=False)
            got = proc.stdout.decode("utf-8", "replace").splitlines()
            if len(got) == len(mangled):
                out.update(zip(mangled, got))
        except (OSError, subprocess.TimeoutExpired):
            pass
    return out


def _base(name):
    """A symbol name without GCC's clone suffixes (foo.part.0, foo.cold -> foo)."""
    return name.split(".")[0] if name and not name.startswith(".") else name


def _name_object(path, offsets, addr2line, debug_root):
    """For each offset (a virtual address of the object at `path`): (function, file, line,
    caller, debug file). The function is a name only when it is certain: a function symbol
    (of the object's .symtab or .dynsym, or of its separate debug file) whose range holds the
    offset, or DWARF's answer when no symbol says otherwise; never the nearest preceding
    symbol of another function. file/line (and an inlining caller) come from DWARF only."""
    unknown = [(None, None, 0, None, None)] * len(offsets)
    elf = elfsyms.ElfObject.open(path)
    if elf is None:
        return unknown
    dbg_path = elfsyms.find_debug_file(path, debug_root, elf)
    dbg = elfsyms.ElfObject.open(dbg_path) if dbg_path else None
    dwarf = dbg_path if dbg is not None and dbg.has_dwarf else (path if elf.has_dwarf else None)
    frames = _addr2line(dwarf, offsets, addr2line) if dwarf else \
        [[(None, None, 0)] for _ in offsets]
    syms = [(dbg.function_at(o) if dbg is not None else None) or elf.function_at(o)
            for o in offsets]
    demangled = _demangle({n for n in syms if n})
    # Every function name the symbol tables know: addr2line's answer for an address outside
    # all of that name's ranges is its nearest-symbol guess, not DWARF's.
    known = {}
    for table in (elf, dbg):
        for start, end, name, _ in (table.functions() if table is not None else ()):
            known.setdefault(_base(name), []).append((start, end))
    out = []
    for off, sym, fr in zip(offsets, syms, frames):
        func, file, line = fr[0]
        outer = fr[-1][0]
        caller = outer if outer and outer != func else None
        if not file:  # no DWARF for it: addr2line's name, if any, is a symbol guess
            func, caller, line, outer = None, None, 0, None
        if sym:
            name = demangled.get(sym, sym)
            if not outer or _base(outer.split("(")[0]) not in (_base(sym),
                                                               _base(name.split("(")[0])):
                # DWARF's function (if any) disagrees with the symbol that holds the address
                func, caller = name, None
        elif outer:
            ranges = known.get(_base(outer.split("(")[0]))
            if ranges and not any(a <= off < b for a, b in ranges):
                func, caller = None, None
        out.append((func, file, line, caller, dbg_path))
    return out


def symbolize_many(items, objects, addr2line=None, debug_root=None):
    """{(where, pid): site} for an iterable of (where, pid); see symbolize() for a site.
    debug_root: where /usr/lib/debug is looked for (default $LOOPTRACE_DEBUG_ROOT or /)."""
    exe = addr2line or shutil.which("addr2line")
    root = debug_root or os.environ.get("LOOPTRACE_DEBUG_ROOT") or "/"
    sites, batches = {}, collections.defaultdict(list)
    on_disk = {}  # path -> build id of the file there now
    for where, pid in items:
        key = (_int(where), pid)
        if key in sites:
            continue
        obj, off = find_object(key[0], objects, pid)
        sites[key] = {"where": key[0], "path": obj.path if obj else None, "offset": off,
                      "function": None, "file": None, "line": 0, "caller": None,
                      "debug_file": None}
        if obj and obj.build_id:
            # The traced process ran the file with this build id: another file at the same
            # path (rebuilt since) would name the wrong function.
            if obj.path not in on_disk:
                on_disk[obj.path] = elf_build_id(obj.path)
            if on_disk[obj.path] is not None and on_disk[obj.path] != obj.build_id:
                sites[key]["changed"] = True
                continue
        if obj:
            batches[obj.path].append(key)
    for path, keys in batches.items():
        for key, (func, file, line, caller, dbg) in zip(keys, _name_object(
                path, [sites[k]["offset"] for k in keys], exe, root)):
            sites[key].update(function=func, file=file, line=line, caller=caller,
                              debug_file=dbg)
    return sites


def symbolize(where, objects, pid=None, addr2line=None, debug_root=None):
    """The call site at address `where` of process `pid`: a dict with `where` (int), `path`
    and `offset` (the object and the offset given to addr2line; None outside every object),
    `function` (None unless certain: see _name_object), `file` (None without debug info),
    `line` (0), `caller` (the function it was inlined into, else None) and `debug_file` (the
    separate debug file used, else None)."""
    return symbolize_many([(where, pid)], objects, addr2line, debug_root)[_int(where), pid]


def format_site(site):
    """"func (file.c:12)", "func (file.c:12) in caller" (inlined), "func (libfoo.so)",
    "libfoo.so+0x1a2b", "prog+0x1a2b (binary changed since recording)" (the file at that
    path is not the one the process ran: never named from it) or "0x7f...": the best a site
    allows, short enough for a table."""
    if site.get("changed"):
        return "%s+0x%x (%s)" % (os.path.basename(site["path"]), site["offset"], CHANGED)
    if site.get("function") and site.get("file") and site.get("line"):
        text = "%s (%s:%d)" % (site["function"], os.path.basename(site["file"]), site["line"])
        return text + (" in %s" % site["caller"] if site.get("caller") else "")
    if site.get("function"):
        return "%s (%s)" % (site["function"], os.path.basename(site["path"] or "?"))
    if site.get("path"):
        return "%s+0x%x" % (os.path.basename(site["path"]), site["offset"])
    return "0x%x" % site["where"]


def call_site_text(entry):
    """The call site of a report's blocked_by `entry`, as every renderer shows it (terminal,
    HTML, CSV `call_site`): the symbolized `site` that annotate_report() added, e.g.
    "start_fetch (components.c:302) in script_on_input"; else the raw `where` address in hex
    ("0x401000"), or as given when it is not a number; None when the entry has neither."""
    site = entry.get("site")
    if site:
        return site
    where = entry.get("where")
    if isinstance(where, int) and not isinstance(where, bool):
        return "0x%x" % where
    return where if where not in (None, "") else None


def objects_from_report(report):
    """{pid: [LoadedObject]} from a report's optional `objects` key ([{pid, baddr, memsz,
    path, is_pic}]), or None when the report has none."""
    rows = report.get("objects")
    if not rows:
        return None
    objects = collections.defaultdict(list)
    for r in rows:
        objects[r.get("pid")].append(LoadedObject(_int(r["baddr"]), int(r["memsz"]),
                                                  r["path"], bool(r.get("is_pic", True)),
                                                  r.get("build_id") or None))
    return dict(objects)


def annotate_report(report, trace_path=None, limit=20, objects=None):
    """Add `site` (format_site text) and `site_detail` (the symbolize() dict) to the first
    `limit` blocked_by entries and to the `loop_top` of each component of `report` (a
    schema-v1 dict), in place.
    The loaded objects come from `objects`, the report's `objects` key, or the trace's
    statedump. Returns the number of entries named; 0 when no statedump is available."""
    if objects is None:
        objects = objects_from_report(report)
    if objects is None and trace_path:
        objects = load_objects(trace_path)
    if not objects:
        return 0
    todo = []
    for comp in report.get("components", []):
        entries = list(comp.get("blocked_by", [])[:limit])
        if isinstance(comp.get("loop_top"), dict):
            entries.append(comp["loop_top"])  # the loop top's call site, named alike
        for b in entries:
            if b.get("where") not in (None, 0, "0x0", "0"):
                todo.append((b, _int(b["where"]), comp.get("pid")))
    sites = symbolize_many([(w, p) for _, w, p in todo], objects)
    named = 0
    for b, w, p in todo:
        site = sites[w, p]
        b["site"] = format_site(site)
        b["site_detail"] = site
        named += site["function"] is not None
    return named


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or len(argv) > 2:
        print("usage: python3 -m looptrace.symbolize TRACE_DIR [REPORT.json]\n"
              "  with a report: the top blocked call sites of each component;\n"
              "  without: reads `where [pid]` lines on stdin, prints their sites",
              file=sys.stderr)
        return 2
    try:
        objects = load_objects(argv[0])
    except SymbolizeError as exc:
        print("looptrace: %s" % exc, file=sys.stderr)
        return 1
    if not objects:
        print("looptrace: no statedump in %s (record with lttng_ust_statedump:* enabled)"
              % argv[0], file=sys.stderr)
        return 1
    if len(argv) == 1:
        for line in sys.stdin:
            f = line.split()
            if f:
                pid = int(f[1]) if len(f) > 1 else None
                print("%s %s" % (f[0], format_site(symbolize(f[0], objects, pid))))
        return 0
    with open(argv[1], encoding="utf-8") as f:
        report = json.load(f)
    annotate_report(report, objects=objects)
    for comp in report.get("components", []):
        rows = [b for b in comp.get("blocked_by", []) if "site" in b]
        if not rows:
            continue
        print("%s (tid %s)" % (comp.get("name"), comp.get("tid")))
        for b in rows:
            print("  %12.3f ms  %6d x  %-8s %s" % (b["ns"] / 1e6, b["count"], b["reason"],
                                                   b["site"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
