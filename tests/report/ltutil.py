"""Helpers shared by the Python report and ground-truth tests.

* Skips: a test lacking a prerequisite calls require(); outside CI it is skipped, under
  CI=true it fails (CI must never silently skip). main() exits 77 when tests were skipped and
  none failed, which CTest reports as skipped (SKIP_RETURN_CODE 77).
* Paths: the looptrace launcher and the babeltrace2 plugin folder come from the environment
  the CMake test registration sets (LOOPTRACE_BIN, LOOPTRACE_PLUGINDIR), else from build/.
"""

import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(HERE, "data")

sys.path.insert(0, os.path.join(SOURCE_ROOT, "analysis", "python"))
sys.path.insert(0, HERE)


def in_ci():
    return os.environ.get("CI") == "true"


def require(test, condition, why):
    """Skip `test` (a TestCase) unless `condition`; a failure instead under CI=true."""
    if condition:
        return
    if in_ci():
        test.fail("prerequisite missing under CI: %s" % why)
    test.skipTest(why)


def looptrace_bin():
    return os.environ.get("LOOPTRACE_BIN") or os.path.join(SOURCE_ROOT, "build", "bin",
                                                           "looptrace")


def build_dir():
    """The build tree the launcher belongs to (…/build from …/build/bin/looptrace)."""
    return os.path.dirname(os.path.dirname(os.path.realpath(looptrace_bin())))


def plugindir():
    return os.environ.get("LOOPTRACE_PLUGINDIR") or os.path.join(build_dir(), "lib",
                                                                 "looptrace", "bt2")


def have_plugin():
    return os.path.isfile(os.path.join(plugindir(), "looptrace.so"))


def run_looptrace(args, **kw):
    """Run the looptrace launcher; returns CompletedProcess with text stdout/stderr."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("timeout", 300)
    env = dict(os.environ)
    env.update(kw.pop("env", {}) or {})
    return subprocess.run([looptrace_bin()] + list(args), env=env,
                          universal_newlines=True, errors="replace", **kw)


def assert_one_line_error(test, proc, *needles):
    """`proc` failed cleanly: non-zero exit, one 'looptrace: ...' line, no traceback."""
    err = proc.stderr
    test.assertNotEqual(proc.returncode, 0, "expected failure, stderr: %r" % err)
    test.assertGreater(proc.returncode, 0, "killed by a signal: %r" % err)
    test.assertNotIn("Traceback", err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    test.assertEqual(len(lines), 1, "expected one line on stderr, got %r" % err)
    test.assertTrue(lines[0].startswith("looptrace: "), lines[0])
    for n in needles:
        test.assertIn(n, lines[0])
    return lines[0]


class _Result(unittest.TextTestResult):
    pass


def main():
    """unittest.main() with exit status 77 when something was skipped and nothing failed."""
    prog = unittest.main(exit=False, verbosity=2, testRunner=unittest.TextTestRunner(
        resultclass=_Result, verbosity=2))
    res = prog.result
    if res.failures or res.errors or getattr(res, "unexpectedSuccesses", None):
        sys.exit(1)
    if res.skipped:
        sys.exit(77)
    sys.exit(0)
