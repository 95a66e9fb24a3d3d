"""cli: the ``runit-provision`` command; the only room that prints and picks exit codes."""

import argparse
import sys

from .. import __version__
from .lookup import add_lookup_parser


def build_parser():
    parser = argparse.ArgumentParser(
        prog="runit-provision",
        description="runit services from hiera data, and a pure-Python runit runtime.")
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="supervise the bundled example service in a sandbox")
    demo.add_argument("--keep", action="store_true", help="leave the sandbox directory behind")
    from .render import add_parser as add_render_parser
    add_render_parser(sub)
    add_lookup_parser(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo
        return run_demo(keep=args.keep)
    if args.command == "render":
        from .render import run as run_render
        return run_render(args)
    if args.command == "lookup":
        from .lookup import run_lookup
        return run_lookup(args)
    parser.print_help(sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
