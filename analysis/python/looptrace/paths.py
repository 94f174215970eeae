"""Where the installed (or built) parts of looptrace are, as told by the launcher."""

import os


def bindir():
    return os.environ.get("LOOPTRACE_BINDIR", "")


def libdir():
    return os.environ.get("LOOPTRACE_LIBDIR", "")


def plugindir():
    return os.environ.get("LOOPTRACE_PLUGINDIR", "")


def lib(name):
    """Absolute path of a shared library shipped with looptrace (e.g. liblooptrace-probes.so)."""
    return os.path.join(libdir(), name)
