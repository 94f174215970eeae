"""test_cli_docs.py BUILD_DIR SOURCE_DIR - installs the build tree to a temporary prefix and
checks what a user gets from it:

* `man looptrace` and `man looptrace-VERB` find the installed pages (MANPATH=<prefix>/share/man),
  and each page, rendered by man(1), names every flag that VERB's argparse parser defines
  (read here from the CLI in the source tree, not from the generator);
* the installed bash completion, sourced in bash, completes `looptrace re<TAB>` to record and
  report, each verb's `-<TAB>` to exactly its parser's flags, and option values by kind.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD, SRC = (os.path.abspath(a) for a in sys.argv[1:3])
sys.path.insert(0, os.path.join(SRC, "analysis", "python"))
from looptrace.cli import build_parser  # noqa: E402


def verbs():
    """{verb: sub-parser} as the CLI defines them."""
    for a in build_parser()._actions:
        if isinstance(a, argparse._SubParsersAction):
            return dict(a.choices)
    return {}


def flags(parser):
    return {o for a in parser._actions for o in a.option_strings}


class InstalledCliDocs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lt-cli-docs-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        subprocess.run(["cmake", "--install", BUILD, "--prefix", cls.prefix], check=True,
                       stdout=subprocess.DEVNULL)
        cls.mandir = os.path.join(cls.prefix, "share", "man")
        cls.completion = os.path.join(cls.prefix, "share", "bash-completion", "completions",
                                      "looptrace")
        cls.verbs = verbs()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    # -- man pages -------------------------------------------------------------------------

    def man(self, *args):
        env = dict(os.environ, MANPATH=self.mandir, MANPAGER="cat", PAGER="cat",
                   MANWIDTH="250", MAN_KEEP_FORMATTING="", LC_ALL="C.UTF-8")
        proc = subprocess.run(["man"] + list(args), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        return proc.stdout.decode()

    def rendered(self, page):
        """The page `man` finds for `page` (it must be the installed one), rendered."""
        where = self.man("-w", page).strip()
        self.assertEqual(where, os.path.join(self.mandir, "man1", page + ".1"))
        text = self.man("-l", where)
        # Plain text: no overstrike, and any typographic hyphen/minus read as '-'.
        while "\b" in text:
            i = text.index("\b")
            text = text[:i - 1] + text[i + 1:]
        return text.replace("\u2010", "-").replace("\u2212", "-")

    def tokens(self, text):
        return {t.strip(",;()[]") for t in text.split()}

    def section(self, text, name):
        """The lines of section `name` of a rendered page (up to the next heading)."""
        out, inside = [], False
        for ln in text.splitlines():
            if ln and not ln[0].isspace():  # a heading (or the page's header/footer)
                inside = ln.strip() == name
            elif inside:
                out.append(ln)
        self.assertTrue(out, "no %s section" % name)
        return "\n".join(out)

    def option_tags(self, text):
        """The flags the OPTIONS section describes: the words of its entries' first lines
        (`-o, --output DIR`), not flags merely mentioned in the text."""
        sect = self.section(text, "OPTIONS").splitlines()
        first = next(ln for ln in sect if ln.strip())
        indent = len(first) - len(first.lstrip())  # entries' (subsection titles are less)
        tags = set()
        for ln in sect:
            if ln.strip() and len(ln) - len(ln.lstrip()) == indent:
                tags |= {t.strip(",") for t in ln.split() if t.startswith("-")}
        return tags

    def test_verbs_are_the_expected_ones(self):
        # Not only what the parser says: the documented verbs must all be there.
        self.assertLessEqual({"record", "report", "compare", "export", "top", "demo"},
                             set(self.verbs))

    def test_main_page_lists_every_verb(self):
        text = self.rendered("looptrace")
        self.assertEqual(self.option_tags(text), {"-h", "--help", "--version"})
        for verb in self.verbs:
            self.assertIn("looptrace %s" % verb, text)
            self.assertIn("looptrace-%s(1)" % verb, text)

    def test_each_verb_page_has_every_flag(self):
        for verb, parser in self.verbs.items():
            with self.subTest(verb=verb):
                text = self.rendered("looptrace-" + verb)
                self.assertIn("looptrace-%s - " % verb, text)  # NAME line
                missing = flags(parser) - self.option_tags(text)
                self.assertEqual(missing, set(), "looptrace-%s(1) lacks flags" % verb)

    def test_flags_known_by_name(self):
        # A few flags named here, not read from the parser, with their value names.
        for verb, flag in [("record", "--output DIR"), ("report", "--json FILE"),
                           ("report", "--html DIR"), ("top", "--interval SECONDS"),
                           ("export", "--perfetto OUT.json"), ("compare", "--label NAME"),
                           ("demo", "--modes LIST")]:
            self.assertIn(flag, self.rendered("looptrace-" + verb), verb)

    # -- bash completion -------------------------------------------------------------------

    def complete(self, *words):
        """COMPREPLY for the command line `words` (the last is the word being completed)."""
        script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); '
                  'COMP_LINE="$*"; _looptrace; printf "%s\\n" "${COMPREPLY[@]}"')
        proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "bash",
                               self.completion] + list(words), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=self.tmp, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        return set(proc.stdout.decode().split())

    def test_completion_file_registers_looptrace(self):
        proc = subprocess.run(["bash", "--norc", "-c", 'source "$1"; complete -p looptrace',
                               "bash", self.completion], stdout=subprocess.PIPE, check=True)
        self.assertIn(b"-F _looptrace looptrace", proc.stdout)

    def test_verbs(self):
        self.assertEqual(self.complete("looptrace", "re"), {"record", "report"})
        self.assertEqual(self.complete("looptrace", "t"), {"top"})
        self.assertEqual(self.complete("looptrace", ""), set(self.verbs))

    def test_each_verbs_flags(self):
        for verb, parser in self.verbs.items():
            with self.subTest(verb=verb):
                self.assertEqual(self.complete("looptrace", verb, "-"), flags(parser))
        self.assertEqual(self.complete("looptrace", "report", "--h"), {"--help", "--html"})

    def test_option_values(self):
        os.makedirs(os.path.join(self.tmp, "tracedir"), exist_ok=True)
        open(os.path.join(self.tmp, "tracefile"), "w").close()
        self.assertEqual(self.complete("looptrace", "record", "--buffering", ""),
                         {"per-uid", "per-pid"})
        # A folder option offers folders, a file option files too.
        self.assertEqual(self.complete("looptrace", "report", "--html", "trace"), {"tracedir"})
        self.assertEqual(self.complete("looptrace", "report", "--json", "trace"),
                         {"tracedir", "tracefile"})
        # Trace arguments of report are folders.
        self.assertEqual(self.complete("looptrace", "report", "trace"), {"tracedir"})
        # After `--` in record: a command first.
        self.assertIn("bash", self.complete("looptrace", "record", "-o", "t", "--", "bas"))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
