"""cli: the ``runit-provision`` command; the only room that prints and picks exit codes.

One module per subcommand (``cli/<verb>.py``, with ``add_parser(sub)`` and ``run(args)``), one
table of them here; ``cli/inputs.py`` is what the data-driven ones share.
"""

import argparse
import sys

from .. import __version__
from . import demo, install_runtime, lookup, render, verify

COMMANDS = {"demo": demo, "render": render, "lookup": lookup, "verify": verify,
            "install-runtime": install_runtime}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="runit-provision",
        description="runit services from hiera data, and a pure-Python runit runtime.")
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    command = COMMANDS.get(args.command)
    if command is None:
        parser.print_help(sys.stderr)
        return 1
    return command.run(args)


if __name__ == "__main__":
    sys.exit(main())
