"""Run looptrace as another user (tests that drop to `nobody` with setpriv).

The build tree may sit below a folder only its owner can enter (a clone in /root, a mktemp -d
folder), so another user could not run build/bin/looptrace or the test programs there. This
installs the build (`cmake --install`: the installed launcher finds everything relative to
itself) and copies the test programs into a fresh world-readable folder under /tmp.
"""

import glob
import os
import shutil
import subprocess
import tempfile


def world_install(build_dir, programs=()):
    """(prefix, looptrace path, {program: copied path}, env additions). The caller removes
    `prefix` (shutil.rmtree) when done."""
    prefix = tempfile.mkdtemp(prefix="lt-world-", dir="/tmp")
    os.chmod(prefix, 0o755)
    subprocess.run(["cmake", "--install", build_dir, "--prefix", prefix], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    bindir = os.path.join(prefix, "bin")
    copies = {}
    for prog in programs:
        copies[prog] = shutil.copy2(prog, os.path.join(bindir, os.path.basename(prog)))
    libdirs = sorted({os.path.dirname(p) for p in
                      glob.glob(os.path.join(prefix, "lib*", "**", "liblooptrace.so"),
                                recursive=True)})
    for root, dirs, files in os.walk(prefix):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
    env = {"LD_LIBRARY_PATH": ":".join(libdirs)}
    return prefix, os.path.join(bindir, "looptrace"), copies, env
