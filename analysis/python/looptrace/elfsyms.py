"""Function symbols of ELF objects, with their sizes, and their separate debug files.

The call-site symbolizer (symbolize.py) must never give a wrong function name. addr2line,
when an address has no debug information, names it after the nearest preceding symbol it has
(in a stripped object only `.dynsym`), whatever that symbol's size: a call inside a static
function is then labelled with an unrelated exported function that ends long before it. This
module reads the symbol tables itself so that a name is given only for an address inside
[st_value, st_value + st_size) of a function symbol:

  elf = ElfObject(path)                 # None-safe: ElfObject.open(path) returns None if unreadable
  elf.function_at(vaddr)                # "name" or None (sizes honoured, .symtab and .dynsym)
  elf.build_id, elf.debuglink           # "hex" / ("name.debug", crc32) or None
  elf.has_dwarf                         # a .debug_info section with contents
  find_debug_file(path, root="/")       # the separate debug file, verified, or None

Separate debug files are looked up as GDB does: by build-id,
ROOT/usr/lib/debug/.build-id/xx/yyyy.debug (its own build-id must match), then by
`.gnu_debuglink`: DIR/name, DIR/.debug/name, ROOT/usr/lib/debug/DIR/name (its CRC32 must match
the one in the link). Pure Python (struct), ELF32/ELF64, either byte order; nothing is
executed.
"""

import os
import struct
import zlib

SHT_SYMTAB, SHT_NOTE, SHT_NOBITS, SHT_DYNSYM = 2, 7, 8, 11
STT_FUNC, STT_GNU_IFUNC = 2, 10
STB_LOCAL = 0
NT_GNU_BUILD_ID = 3


class ElfError(Exception):
    """Not an ELF file, or a truncated one."""


class ElfObject:
    """The parts of one ELF file the symbolizer needs. Raises ElfError / OSError."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self._data = f.read()
        d = self._data
        if len(d) < 52 or d[:4] != b"\x7fELF":
            raise ElfError("%s: not an ELF file" % path)
        self._is64 = d[4] == 2
        self._end = "<" if d[5] == 1 else ">"
        e = self._end
        try:
            if self._is64:
                shoff, = struct.unpack_from(e + "Q", d, 0x28)
                shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", d, 0x3A)
            else:
                shoff, = struct.unpack_from(e + "I", d, 0x20)
                shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", d, 0x2E)
            self.sections = []  # (name, type, offset, size, link, entsize)
            raw = []
            for i in range(shnum):
                o = shoff + i * shentsize
                if self._is64:
                    name, typ, _, _, off, size, link, _, _, entsize = struct.unpack_from(
                        e + "IIQQQQIIQQ", d, o)
                else:
                    name, typ, _, _, off, size, link, _, _, entsize = struct.unpack_from(
                        e + "IIIIIIIIII", d, o)
                raw.append((name, typ, off, size, link, entsize))
        except struct.error:
            raise ElfError("%s: truncated ELF headers" % path) from None
        strtab = raw[shstrndx] if 0 <= shstrndx < len(raw) else None
        for name, typ, off, size, link, entsize in raw:
            self.sections.append((self._str(strtab, name) if strtab else "", typ, off, size,
                                  link, entsize))
        self._functions = None

    @classmethod
    def open(cls, path):
        """An ElfObject for `path`, or None when it is missing or not ELF."""
        try:
            return cls(path)
        except (OSError, ElfError):
            return None

    def _str(self, sec, index):
        off = sec[2] + index
        end = self._data.find(b"\0", off, sec[2] + sec[3])
        if off >= len(self._data) or end < 0:
            return ""
        return self._data[off:end].decode("utf-8", "replace")

    def _section(self, name):
        for s in self.sections:
            if s[0] == name:
                return s
        return None

    @property
    def has_dwarf(self):
        """True when the file carries DWARF (a .debug_info section with contents)."""
        s = self._section(".debug_info") or self._section(".zdebug_info")
        return bool(s and s[1] != SHT_NOBITS and s[3] > 0)

    @property
    def build_id(self):
        """The GNU build-id as lower-case hex, or None."""
        e = self._end
        for name, typ, off, size, _, _ in self.sections:
            if typ != SHT_NOTE:
                continue
            p, end = off, off + size
            while p + 12 <= end:
                namesz, descsz, ntype = struct.unpack_from(e + "III", self._data, p)
                nstart = p + 12
                dstart = nstart + ((namesz + 3) & ~3)
                if ntype == NT_GNU_BUILD_ID and self._data[nstart:nstart + namesz] == b"GNU\0":
                    return self._data[dstart:dstart + descsz].hex()
                p = dstart + ((descsz + 3) & ~3)
        return None

    @property
    def debuglink(self):
        """(file name, CRC32) of .gnu_debuglink, or None."""
        s = self._section(".gnu_debuglink")
        if not s or s[1] == SHT_NOBITS:
            return None
        blob = self._data[s[2]:s[2] + s[3]]
        nul = blob.find(b"\0")
        if nul <= 0:
            return None
        crc_at = (nul + 4) & ~3
        if crc_at + 4 > len(blob):
            return None
        crc, = struct.unpack_from(self._end + "I", blob, crc_at)
        return blob[:nul].decode("utf-8", "replace"), crc

    def functions(self):
        """[(start, end, name, is_global)] of every defined function symbol with a size, from
        .symtab and .dynsym (duplicates kept; sorted by start)."""
        if self._functions is not None:
            return self._functions
        e = self._end
        out = set()
        for _, typ, off, size, link, entsize in self.sections:
            if typ not in (SHT_SYMTAB, SHT_DYNSYM) or not entsize or \
                    not 0 <= link < len(self.sections):
                continue
            strtab = self.sections[link]
            for i in range(1, size // entsize):
                o = off + i * entsize
                try:
                    if self._is64:
                        name, info, _, shndx, value, sz = struct.unpack_from(
                            e + "IBBHQQ", self._data, o)
                    else:
                        name, value, sz, info, _, shndx = struct.unpack_from(
                            e + "IIIBBH", self._data, o)
                except struct.error:
                    break
                if (info & 0xF) not in (STT_FUNC, STT_GNU_IFUNC) or shndx == 0 or sz == 0:
                    continue
                sym = self._str(strtab, name)
                if sym:
                    out.add((value, value + sz, sym.split("@")[0], (info >> 4) != STB_LOCAL))
        self._functions = sorted(out)
        return self._functions

    def function_at(self, vaddr):
        """The name of the function symbol whose [value, value + size) holds `vaddr`, or None.
        Among aliases (same range) a global name without leading underscores is preferred;
        among nested ranges the smallest."""
        best = None
        for start, end, name, is_global in self.functions():
            if start > vaddr:
                break
            if vaddr < end:
                key = (end - start, not is_global, len(name) - len(name.lstrip("_")), name)
                if best is None or key < best[0]:
                    best = (key, name)
        return best[1] if best else None


def gnu_debuglink_crc(path):
    """The CRC32 .gnu_debuglink uses (zlib's), of the whole file at `path`."""
    crc = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            crc = zlib.crc32(chunk, crc)
    return crc & 0xFFFFFFFF


def _under(root, path):
    return os.path.join(root, path.lstrip("/")) if root and root != "/" else path


def find_debug_file(path, root="/", elf=None):
    """The separate debug file of the object at `path`, or None. `root` prefixes the system
    debug directory (/usr/lib/debug), for tests or a sysroot. A candidate is taken only when
    it matches: same build-id (by build-id, and by debuglink when both carry one) and the
    CRC32 recorded in .gnu_debuglink."""
    elf = elf or ElfObject.open(path)
    if elf is None:
        return None
    debug_dir = _under(root, "/usr/lib/debug")
    bid = elf.build_id
    if bid and len(bid) > 2:
        cand = os.path.join(debug_dir, ".build-id", bid[:2], bid[2:] + ".debug")
        dbg = ElfObject.open(cand)
        if dbg is not None and dbg.build_id == bid:
            return cand
    link = elf.debuglink
    if link:
        name, crc = link
        d = os.path.dirname(os.path.abspath(path))
        for cand in (os.path.join(d, name), os.path.join(d, ".debug", name),
                     os.path.join(debug_dir, d.lstrip("/"), name)):
            if os.path.abspath(cand) == os.path.abspath(path) or not os.path.isfile(cand):
                continue
            try:
                if gnu_debuglink_crc(cand) != crc:
                    continue
            except OSError:
                continue
            dbg = ElfObject.open(cand)
            if dbg is None or (bid and dbg.build_id and dbg.build_id != bid):
                continue
            return cand
    return None
