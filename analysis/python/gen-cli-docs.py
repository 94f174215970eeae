"""gen-cli-docs.py - the `looptrace` man pages and bash completion, from the CLI's own argparse
definitions, so they cannot drift from `looptrace VERB --help`.

Usage: gen-cli-docs.py PYDIR MANDIR COMPLETION [STAMP]
  PYDIR       folder holding the looptrace package (analysis/python)
  MANDIR      folder for man1/looptrace.1 and man1/looptrace-<verb>.1 (one page per verb
              the parser defines; stale looptrace*.1 pages there are removed)
  COMPLETION  the bash completion file to write (installed as
              share/bash-completion/completions/looptrace)
  STAMP       optional file touched at the end (the build's output marker)

CMake runs it at build time with LOOPTRACE_PYTHON (Debian's /usr/bin/python3, the interpreter
the launcher pins) and `-B`, so nothing is written into the source tree.

Why a generator of our own rather than argparse-manpage or help2man: help2man formats
`--help` text (it cannot tell an option from prose, nor walk the verbs), and argparse-manpage
writes one page for the whole parser, is a build dependency more, and knows nothing of bash
completion. Walking the parser objects here takes one page per verb and the completion from
the same data, with the standard library only.
"""

import argparse
import os
import re
import sys

SECTION_TITLES = {"exit status": "EXIT STATUS", "environment": "ENVIRONMENT",
                  "example": "EXAMPLES", "examples": "EXAMPLES"}

# ---------------------------------------------------------------------------------------------
# Reading the parser


def subparsers_of(parser):
    """[(verb, sub-parser, one-line help)] in the order the CLI registers them."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            return [(name, sp, helps.get(name) or "") for name, sp in action.choices.items()]
    return []


def expand_help(action, prog):
    """action.help with %(default)s, %(prog)s, %(choices)s... filled in, as argparse does."""
    params = dict(vars(action), prog=prog)
    for name in list(params):
        if params[name] is argparse.SUPPRESS:
            del params[name]
    if params.get("choices") is not None:
        params["choices"] = ", ".join(str(c) for c in params["choices"])
    return (action.help or "") % params


def metavar_of(action):
    """What argparse shows for the value of `action` ("DIR", "{per-uid,per-pid}")."""
    if action.metavar is not None:
        return action.metavar if isinstance(action.metavar, str) else " ".join(action.metavar)
    if action.choices is not None:
        return "{%s}" % ",".join(str(c) for c in action.choices)
    return action.dest.upper() if action.option_strings else action.dest


def takes_value(action):
    return action.nargs != 0


def visible_actions(parser):
    """[(group title, [actions])], hidden (SUPPRESS) help left out."""
    out = []
    for group in parser._action_groups:
        acts = [a for a in group._group_actions if a.help is not argparse.SUPPRESS]
        if acts:
            out.append((group.title or "", acts))
    return out


# ---------------------------------------------------------------------------------------------
# roff


def roff_text(text):
    """`text` safe as roff input: backslashes escaped, no line starting with a control
    character."""
    text = text.replace("\\", "\\e")
    return "\n".join("\\&" + ln if ln.startswith((".", "'")) else ln
                     for ln in text.split("\n"))


def roff_opt(opt):
    """An option name, bold, with `\\-` so it is typed as a minus wherever the page is shown."""
    return "\\fB%s\\fR" % roff_text(opt).replace("-", "\\-")


def paragraphs(text):
    """Blank-line separated blocks of `text` as lists of lines (trailing spaces removed)."""
    blocks, cur = [], []
    for ln in (text or "").splitlines():
        if ln.strip():
            cur.append(ln.rstrip())
        elif cur:
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    return blocks


def prose_block(lines):
    """Paragraphs to fill. In a block wrapped with a hanging indent (some lines indented), a
    line at column 0 starts a new paragraph; otherwise the block is one paragraph."""
    hanging = any(ln.startswith(" ") for ln in lines[1:])
    out, cur = [], []
    for ln in lines:
        if hanging and not ln.startswith(" ") and cur:
            out.append(" ".join(cur))
            cur = []
        cur.append(ln.strip())
    if cur:
        out.append(" ".join(cur))
    return [".PP\n" + roff_text(p) for p in out]


def preformatted(lines):
    # The first line's indent is the block's; keep the columns of the rest.
    strip = min(len(ln) - len(ln.lstrip()) for ln in lines)
    body = "\n".join(roff_text(ln[strip:]) for ln in lines)
    return ".PP\n.RS 4\n.nf\n%s\n.fi\n.RE" % body


# "heading: text" or "heading:" alone on its line (then a dot may be in it: "(-o, ./out):").
_HEADING = re.compile(r"^([a-z][^:.;'`]{0,60}?):(?: (.*)|)$")
_HEADING_ALONE = re.compile(r"^([a-z][^:;'`]{0,80}?):()$")


def epilog_sections(text):
    """The epilog of a verb as roff: "heading:" blocks become sections (EXIT STATUS,
    ENVIRONMENT, EXAMPLES) or subsections of NOTES; an indented body stays as typed."""
    notes, named = [], []
    for block in paragraphs(text):
        m = _HEADING.match(block[0]) or _HEADING_ALONE.match(block[0])
        if not m:
            notes.extend(prose_block(block))
            continue
        heading, rest = m.group(1), m.group(2)
        body = block[1:]
        title = SECTION_TITLES.get(heading.lower())
        if title == "EXAMPLES":
            parts = [preformatted(([rest] if rest else []) + body)]
        elif rest:
            parts = prose_block([rest] + body)
        elif body:
            parts = [preformatted(body)]
        else:
            parts = []
        if title:
            named.append((title, parts))
        else:
            notes.append(".SS %s\n%s" % (roff_text(heading[0].upper() + heading[1:]),
                                         "\n".join(parts)))
    out = []
    if notes:
        out.append(".SH NOTES\n" + "\n".join(notes))
    order = ["EXIT STATUS", "ENVIRONMENT", "EXAMPLES"]
    for title in order:
        parts = [p for t, ps in named if t == title for p in ps]
        if parts:
            out.append(".SH %s\n%s" % (title, "\n".join(parts)))
    return out


def description(text, raw):
    """A parser's description: paragraphs refilled (a RawDescription one wraps by hand)."""
    if not text:
        return []
    out = []
    for block in paragraphs(text):
        if raw and all(ln.startswith("  ") for ln in block):
            out.append(preformatted(block))
        else:
            out.append(".PP\n" + roff_text(" ".join(ln.strip() for ln in block)))
    return out


def option_entry(action, prog):
    if action.option_strings:
        names = ", ".join(roff_opt(o) for o in action.option_strings)
        if takes_value(action):
            names += " \\fI%s\\fR" % roff_text(metavar_of(action)).replace("-", "\\-")
    else:
        names = "\\fI%s\\fR" % roff_text(metavar_of(action)).replace("-", "\\-")
        if action.nargs in ("+", "*"):
            names += " ..."
    return ".TP\n%s\n%s" % (names, roff_text(expand_help(action, prog)))


def synopsis(parser):
    usage = " ".join(parser.format_usage().split())
    usage = re.sub(r"^usage:\s*", "", usage)
    prog = parser.prog
    rest = usage[len(prog):].strip() if usage.startswith(prog) else usage
    return ".SH SYNOPSIS\n\\fB%s\\fR %s" % (roff_text(prog), roff_text(rest).replace("-", "\\-"))


def header(name, version, summary):
    return "\n".join([
        '.\\" Generated by analysis/python/gen-cli-docs.py from the CLI\'s argparse parsers.',
        '.\\" Do not edit: change the parser (analysis/python/looptrace/cmd_*.py) instead.',
        '.TH "%s" 1 "" "looptrace %s" "looptrace manual"' % (name.upper(), version),
        ".nh",
        ".ad l",
        ".SH NAME",
        "%s \\- %s" % (roff_text(name).replace("-", "\\-"), roff_text(summary)),
    ])


def verb_page(verb, parser, summary, version):
    raw = parser.formatter_class is not argparse.HelpFormatter
    parts = [header("looptrace-" + verb, version, summary), synopsis(parser)]
    desc = description(parser.description, raw)
    if desc:
        parts.append(".SH DESCRIPTION\n" + "\n".join(desc))
    groups = visible_actions(parser)
    positional = [a for _, acts in groups for a in acts if not a.option_strings]
    if positional:
        parts.append(".SH ARGUMENTS\n" + "\n".join(option_entry(a, parser.prog)
                                                   for a in positional))
    opt_parts = []
    for title, acts in groups:
        acts = [a for a in acts if a.option_strings]
        if not acts:
            continue
        if title not in ("options", "optional arguments"):
            opt_parts.append(".SS %s" % roff_text(title[0].upper() + title[1:]))
        opt_parts.extend(option_entry(a, parser.prog) for a in acts)
    if opt_parts:
        parts.append(".SH OPTIONS\n" + "\n".join(opt_parts))
    parts.extend(epilog_sections(parser.epilog))
    parts.append(".SH SEE ALSO\n\\fBlooptrace\\fR(1)")
    return "\n".join(parts) + "\n"


def main_page(parser, verbs, version):
    parts = [header("looptrace", version, "record and analyse component event loops traced "
                    "with LTTng"),
             ".SH SYNOPSIS\n\\fBlooptrace\\fR [\\fB\\-h\\fR] [\\fB\\-\\-version\\fR] "
             "\\fIVERB\\fR [\\fIoptions\\fR]"]
    parts.append(".SH DESCRIPTION\n" + "\n".join(description(parser.description, False)))
    parts.append(".PP\nEach verb has its own page, \\fBlooptrace\\-\\fIVERB\\fR(1), and "
                 "\\fBlooptrace \\fIVERB\\fB \\-\\-help\\fR.")
    parts.append(".SH COMMANDS\n" + "\n".join(
        ".TP\n\\fBlooptrace %s\\fR\n%s See \\fBlooptrace\\-%s\\fR(1)." %
        (roff_text(v), roff_text(h[0].upper() + h[1:] + "."), roff_text(v))
        for v, _, h in verbs))
    opts = [a for _, acts in visible_actions(parser) for a in acts if a.option_strings]
    parts.append(".SH OPTIONS\n" + "\n".join(option_entry(a, parser.prog) for a in opts))
    parts.append(".SH FILES\n.TP\n\\fIshare/bash\\-completion/completions/looptrace\\fR\n"
                 "Bash completion of the verbs and their options (loaded on demand by the "
                 "bash-completion package).")
    parts.append(".SH SEE ALSO\n" + ",\n".join("\\fBlooptrace\\-%s\\fR(1)" % roff_text(v)
                                               for v, _, _ in verbs) +
                 ",\n\\fBlttng\\fR(1), \\fBbabeltrace2\\fR(1)")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------
# bash completion

_WORD = re.compile(r"^[A-Za-z0-9_.,:+=/@%-]+$")


def value_kind(action):
    """How to complete the value of `action`: "dir", "file", "command", "words:<w w>" or
    "none" (a number, a time, a name: nothing to offer)."""
    if action.nargs == argparse.REMAINDER:
        return "command"
    if action.choices is not None:
        words = [str(c) for c in action.choices]
        if all(_WORD.match(w) for w in words):
            return "words:" + " ".join(words)
        return "none"
    mv = metavar_of(action)
    if mv in ("DIR", "TRACE") or mv.endswith("_DIR"):
        return "dir"
    if mv in ("FILE", "TRACE_OR_JSON") or mv.endswith((".json", "FILE")):
        return "file"
    return "none"


def _sh_words(words):
    for w in words:
        if not _WORD.match(w):
            raise ValueError("cannot put %r in the completion script" % w)
    return " ".join(words)


def completion(parser, verbs):
    top_opts = [o for a in parser._actions if a.option_strings for o in a.option_strings]
    lines = [
        "# bash completion for looptrace -*- shell-script -*-",
        "# Generated by analysis/python/gen-cli-docs.py from the CLI's argparse parsers; do not",
        "# edit. Completes the verbs, each verb's options, option values (folders, files,",
        "# choices) and, after `--` in record/top, the command to run.",
        "",
        "_looptrace()",
        "{",
        "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev= verb= i j opts= pos=",
        "\t((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}",
        "\tCOMPREPLY=()",
        "\tfor ((i = 1; i < COMP_CWORD; i++)); do",
        "\t\tcase ${COMP_WORDS[i]} in",
        "\t\t-*) ;;",
        "\t\t*) verb=${COMP_WORDS[i]}; break ;;",
        "\t\tesac",
        "\tdone",
        "\tif [[ -z $verb ]]; then",
        "\t\tif [[ $cur == -* ]]; then",
        "\t\t\tCOMPREPLY=($(compgen -W \"%s\" -- \"$cur\"))" % _sh_words(top_opts),
        "\t\telse",
        "\t\t\tCOMPREPLY=($(compgen -W \"%s\" -- \"$cur\"))"
        % _sh_words([v for v, _, _ in verbs]),
        "\t\tfi",
        "\t\treturn 0",
        "\tfi",
    ]
    runs_command = [v for v, sp, _ in verbs
                    if any(a.nargs == argparse.REMAINDER for a in sp._actions)]
    if runs_command:
        lines += [
            "\t# After `--`: the command to run, then whatever it takes (files).",
            "\tcase $verb in",
            "\t%s)" % "|".join(runs_command),
            "\t\tfor ((j = i + 1; j < COMP_CWORD; j++)); do",
            "\t\t\tif [[ ${COMP_WORDS[j]} == -- ]]; then",
            "\t\t\t\tif ((j + 1 == COMP_CWORD)); then",
            "\t\t\t\t\tCOMPREPLY=($(compgen -c -- \"$cur\"))",
            "\t\t\t\telse",
            "\t\t\t\t\tcompopt -o filenames 2>/dev/null",
            "\t\t\t\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))",
            "\t\t\t\tfi",
            "\t\t\t\treturn 0",
            "\t\t\tfi",
            "\t\tdone",
            "\t\t;;",
            "\tesac",
        ]
    # Values of the previous option, per verb.
    lines += ["\tcase \"$verb $prev\" in"]
    by_kind = {}
    for v, sp, _ in verbs:
        for a in sp._actions:
            if a.option_strings and takes_value(a):
                by_kind.setdefault(value_kind(a), []).extend(
                    "\"%s %s\"" % (v, o) for o in a.option_strings)
    for kind in sorted(by_kind):
        if kind == "dir":
            action = "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\"))"
        elif kind == "file":
            action = "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\"))"
        elif kind.startswith("words:"):
            action = "COMPREPLY=($(compgen -W \"%s\" -- \"$cur\"))" % kind[6:]
        else:
            action = ":"  # a free value (number, size, time, name)
        lines += ["\t%s)" % "|".join(by_kind[kind]), "\t\t%s" % action, "\t\treturn 0", "\t\t;;"]
    lines += ["\tesac"]
    # The verb's options, and what its positional arguments are.
    lines += ["\tcase $verb in"]
    for v, sp, _ in verbs:
        opts = [o for a in sp._actions if a.option_strings for o in a.option_strings]
        kinds = {value_kind(a) for a in sp._actions if not a.option_strings}
        pos = "dir" if "dir" in kinds else "file" if "file" in kinds else \
            "command" if "command" in kinds else "none"
        lines += ["\t%s)" % v, "\t\topts=\"%s\"" % _sh_words(opts), "\t\tpos=%s" % pos, "\t\t;;"]
    lines += [
        "\t*) return 0 ;;",
        "\tesac",
        "\tif [[ $cur == -* ]]; then",
        "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))",
        "\t\treturn 0",
        "\tfi",
        "\tcase $pos in",
        "\tdir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\")) ;;",
        "\tfile) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")) ;;",
        "\tcommand) COMPREPLY=($(compgen -W \"--\" -- \"$cur\")) ;;",
        "\tesac",
        "\treturn 0",
        "}",
        "complete -F _looptrace looptrace",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    pydir, mandir, comp_path = argv[:3]
    sys.path.insert(0, os.path.abspath(pydir))
    from looptrace import __version__
    from looptrace.cli import build_parser

    parser = build_parser()
    verbs = subparsers_of(parser)
    if not verbs:
        print("gen-cli-docs: the parser defines no verbs", file=sys.stderr)
        return 1
    man1 = os.path.join(mandir, "man1")
    os.makedirs(man1, exist_ok=True)
    pages = {"looptrace.1": main_page(parser, verbs, __version__)}
    for verb, sp, summary in verbs:
        pages["looptrace-%s.1" % verb] = verb_page(verb, sp, summary, __version__)
    for name in os.listdir(man1):
        if re.match(r"^looptrace(-.*)?\.1$", name) and name not in pages:
            os.unlink(os.path.join(man1, name))  # a verb that is gone
    for name, text in pages.items():
        write(os.path.join(man1, name), text)
    os.makedirs(os.path.dirname(os.path.abspath(comp_path)), exist_ok=True)
    write(comp_path, completion(parser, verbs))
    if len(argv) == 4:
        with open(argv[3], "w", encoding="utf-8") as f:
            f.write("%d pages\n" % len(pages))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
