"""Unit tests of looptrace.timespec (--begin/--end parsing)."""

import ltutil  # noqa: F401  (sets sys.path)
import unittest

from looptrace import timespec


class ParseTest(unittest.TestCase):
    def check(self, text, ns, relative):
        t = timespec.parse(text)
        self.assertEqual((t.ns, t.relative), (ns, relative), text)

    def test_absolute_seconds(self):
        self.check("1764198000.5", 1764198000500000000, False)
        self.check("1764198000", 1764198000000000000, False)
        self.check("  1764198000.000000001 ", 1764198000000000001, False)
        self.check("1764198000.5s", 1764198000500000000, False)

    def test_absolute_ns(self):
        self.check("1764198000500000000", 1764198000500000000, False)
        self.check("1764198000500000000ns", 1764198000500000000, False)
        self.check("1764198000500ms", 1764198000500000000, False)

    def test_relative(self):
        self.check("+1.5s", 1500000000, True)
        self.check("+200ms", 200000000, True)
        self.check("+750us", 750000, True)
        self.check("+750\u00b5s", 750000, True)
        self.check("+10ns", 10, True)
        self.check("+2", 2000000000, True)
        self.check("+0", 0, True)
        self.check("+2m", 120000000000, True)
        self.check("+.5", 500000000, True)

    def test_rounding_below_ns(self):
        self.check("+1.0000000004s", 1000000000, True)

    def test_sink_param(self):
        self.assertEqual(timespec.parse("+1s").sink_param("begin"), "begin-offset-ns")
        self.assertEqual(timespec.parse("1764198000").sink_param("end"), "end-ns")

    def test_invalid(self):
        for bad in ["", "abc", "-1", "+-1s", "1.2.3", "+1x", "+1 parsec", "1e9", "nan",
                    "+inf", "++1", "1,5", "99999999999999999999999"]:
            with self.assertRaises(timespec.TimeSpecError, msg=bad):
                timespec.parse(bad)

    def test_error_is_one_line(self):
        with self.assertRaises(timespec.TimeSpecError) as cm:
            timespec.parse("yesterday\nnoon")
        self.assertNotIn("\n", str(cm.exception).replace("\\n", ""))

    def test_window(self):
        timespec.check_window(timespec.parse("+1s"), timespec.parse("+2s"))
        timespec.check_window(timespec.parse("+5s"), timespec.parse("1764198000"))  # mixed
        with self.assertRaises(timespec.TimeSpecError):
            timespec.check_window(timespec.parse("+2s"), timespec.parse("+1s"))


if __name__ == "__main__":
    ltutil.main()
