"""Launching a program to be recorded, as `looptrace record` and `looptrace top` both do: its
command line, its absolute path, and the environment that preloads the looptrace probes (and,
with --interpose, the interposer) and LTTng-UST's fork helper.
"""

import os
import re
import shutil
import subprocess
import sys

from . import paths
from .bt import show
from .errors import UserError

PROBES_LIB = "liblooptrace-probes.so"
INTERPOSE_LIB = "liblooptrace-preload.so"
UST_FORK_LIB = "liblttng-ust-fork.so"  # LTTng-UST's fork()/clone() wrapper
REGISTER_TIMEOUT_MS = 30000  # LTTNG_UST_REGISTER_TIMEOUT for CMD (LTTng-UST's default: 3000)


def command_of(args):
    """CMD [ARGS] from the parsed arguments, without the `--` that may separate it."""
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    return command


def resolve_command(cmd):
    """Absolute path of CMD[0], or UserError."""
    name = cmd[0]
    if os.sep in name:
        if not os.path.isfile(name):
            raise UserError("command not found: %s" % show(name))
        if not os.access(name, os.X_OK):
            raise UserError("command is not executable: %s" % show(name))
        return name
    found = shutil.which(name)
    if not found:
        raise UserError("command not found: %s" % show(name))
    return found


def find_ust_fork():
    """Path of LTTng-UST's fork helper (liblttng-ust-fork.so.N) as the dynamic linker's cache
    lists it (`ldconfig -p`), else from the usual library folders; None when absent."""
    found = []
    ldconfig = shutil.which("ldconfig") or next(
        (p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if os.access(p, os.X_OK)), None)
    if ldconfig:
        try:
            out = subprocess.run([ldconfig, "-p"], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 timeout=20, check=False).stdout.decode("utf-8", "replace")
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        for line in out.splitlines():
            name, _, path = line.strip().partition(" => ")
            if name.startswith(UST_FORK_LIB + ".") and "64" in name.split("(", 1)[-1]:
                found.append(path.strip())
    for d in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64",
              "/usr/local/lib", "/usr/lib"):
        found.append(os.path.join(d, UST_FORK_LIB + ".1"))
    return next((p for p in found if os.path.isfile(p)), None)


def preload_env(args):
    """The environment to run CMD in: os.environ plus LD_PRELOAD (the probes unless
    args.no_preload, the interposer with args.interpose, LTTng-UST's fork helper) and a longer
    LTTNG_UST_REGISTER_TIMEOUT; UserError when a library asked for is missing."""
    env = dict(os.environ)
    libs = []
    if not args.no_preload:
        probes = paths.lib(PROBES_LIB)
        if not os.path.isfile(probes):
            raise UserError("the looptrace probes are not built: %s is missing (build the "
                            "project, or use --no-preload for a program that links "
                            "liblooptrace-probes.a)" % probes)
        libs.append(probes)
    if args.interpose:
        interposer = paths.lib(INTERPOSE_LIB)
        if not os.path.isfile(interposer):
            raise UserError("--interpose: the interposer %s is not available" % interposer)
        libs.append(interposer)
    fork_helper = find_ust_fork()
    if fork_helper:
        libs.append(fork_helper)
    else:
        print("looptrace: warning: %s not found (LTTng-UST's fork helper): events of a child "
              "made by fork() without exec would carry its parent's pid" % UST_FORK_LIB,
              file=sys.stderr)
    # LTTng-UST lets a program run on untraced when the session daemon has not set it up
    # within 3 s (a loaded machine, several sessions): a short program then loses all its
    # events. Wait longer, unless the user chose.
    env.setdefault("LTTNG_UST_REGISTER_TIMEOUT", str(REGISTER_TIMEOUT_MS))
    # liblooptrace hands its per-thread records to LTTng in batch events: tell it the
    # sub-buffer size, so a batch stays well under it (docs/event-model.md).
    subbuf = _size_bytes(getattr(args, "subbuf_size", None))
    if subbuf:
        env.setdefault("LOOPTRACE_SUBBUF_SIZE", str(subbuf))
    if libs:
        old = env.get("LD_PRELOAD", "").strip()
        env["LD_PRELOAD"] = ":".join(([old] if old else []) + libs)
    return env


def _size_bytes(text):
    """'4M' -> 4194304 (k, M, G suffixes, as lttng takes them); None when unparsable."""
    m = re.match(r"^\s*(\d+)\s*([kKmMgG]?)\s*$", str(text)) if text is not None else None
    if not m:
        return None
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]
