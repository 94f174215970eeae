"""`--loop-top SITE` of `report` and `top`: the wait at the top of an interposed thread's loop,
named by the user when the analysis's guess is wrong (docs/interposer.md, "Loop tops").

SITE is a call site as the report prints it, OBJECT+0xOFFSET (OFFSET: the return address - 1
- the object's load address, inside the call instruction), passed to the sink as it is; or a
function name: every call site inside that function's range [start, end) in the objects the
traced processes loaded (their symbol tables, .symtab, .dynsym and separate debug files, as
the symbolizer reads them: elfsyms.py), passed as OBJECT+0xSTART-0xEND. The analysis core
matches the return addresses it sees against these ranges through the loaded objects of each
process (the statedump), so names never reach it.
"""

import os
import re
import shutil
import subprocess

from . import elfsyms
from .errors import UserError

_ADDR = re.compile(r"^(?P<obj>.+)\+0x(?P<lo>[0-9a-fA-F]+)(?:-0x(?P<hi>[0-9a-fA-F]+))?$")


def is_address(spec):
    """Whether `spec` is OBJECT+0xOFFSET (or OBJECT+0xLO-0xHI), not a function name."""
    return bool(_ADDR.match(spec))


def _function_name(spec):
    """The function a SITE names: "nap (ip_loop.c:51) in looper" and "nap (prog)" -> "nap"."""
    return spec.split(" (")[0].strip()


def _base(name):
    return name.split(".")[0] if name and not name.startswith(".") else name


def function_ranges(path, name):
    """[(start, end)] of the functions called `name` (GCC clone suffixes ignored) in the ELF
    object at `path` and its separate debug file; [] when none or unreadable."""
    elf = elfsyms.ElfObject.open(path)
    if elf is None:
        return []
    tables = [elf]
    dbg_path = elfsyms.find_debug_file(path, os.environ.get("LOOPTRACE_DEBUG_ROOT") or "/",
                                       elf)
    dbg = elfsyms.ElfObject.open(dbg_path) if dbg_path else None
    if dbg is not None:
        tables.append(dbg)
    out = set()
    for table in tables:
        for start, end, fname, _ in table.functions():
            if _base(fname) == name and end > start:
                out.add((start, end))
    return sorted(out)


def resolve(specs, paths):
    """The sink's `loop-top` strings for the SITEs `specs`: addresses as given, function names
    as one OBJECT+0xSTART-0xEND per function range found in the object files `paths`.
    UserError when a name is found in none of them."""
    out = []
    for spec in specs or []:
        spec = spec.strip()
        if not spec:
            raise UserError("--loop-top: empty SITE")
        if is_address(spec):
            out.append(spec)
            continue
        name = _function_name(spec)
        found = []
        for path in paths:
            for lo, hi in function_ranges(path, name):
                found.append("%s+0x%x-0x%x" % (path, lo, hi))
        if not found:
            raise UserError("--loop-top %s: no function of that name in the traced program's "
                            "objects (give OBJECT+0xOFFSET as the report prints call sites)"
                            % spec)
        out += found
    return out


def report_paths(report):
    """The object files the report's processes loaded (its `objects` key) that are still
    the files they ran: existing, and with the recorded build id when one was recorded (a
    file rebuilt since would give another function's range)."""
    from .symbolize import elf_build_id

    seen = []
    for o in report.get("objects") or []:
        p = o.get("path") if isinstance(o, dict) else None
        if not p or p in seen or not os.path.isfile(p):
            continue
        if o.get("build_id") and elf_build_id(p) not in (None, o["build_id"]):
            continue
        seen.append(p)
    return seen


def program_paths(program):
    """The executable `program` and the shared libraries `ldd` lists for it (for `top`, which
    names functions before the program runs)."""
    paths = [program]
    ldd = shutil.which("ldd")
    if not ldd:
        return paths
    try:
        out = subprocess.run([ldd, program], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=30, check=False).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return paths
    for line in out.splitlines():
        m = re.search(r"(/\S+) \(0x[0-9a-f]+\)", line)
        if m and os.path.isfile(m.group(1)) and m.group(1) not in paths:
            paths.append(m.group(1))
    return paths


def needs_names(specs):
    """Whether some SITE of `specs` is a function name (resolved against loaded objects)."""
    return any(not is_address(s.strip()) for s in specs or [])
