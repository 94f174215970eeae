"""The `looptrace` command: one verb per module (record, report, compare, whatif, export, demo,
top).

Each verb module provides `add_parser(subparsers)` which registers its sub-parser and sets
`func` to a callable taking the parsed arguments and returning an exit status.
"""

import argparse
import sys

from . import (__version__, cmd_compare, cmd_demo, cmd_export, cmd_record, cmd_report, cmd_top,
               cmd_whatif)
from .errors import UserError

# In the order `looptrace --help` lists them.
VERBS = [cmd_record, cmd_report, cmd_compare, cmd_whatif, cmd_export, cmd_demo, cmd_top]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="looptrace",
        description="Record and analyse how the components of an event-loop system spend "
        "their time: busy, idle, or blocked inside handlers.",
    )
    parser.add_argument("--version", action="version", version="looptrace " + __version__)
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb in VERBS:
        verb.add_parser(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.func(args)
    except UserError as exc:
        print("looptrace: %s" % exc, file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("looptrace: interrupted", file=sys.stderr)
        return 130
