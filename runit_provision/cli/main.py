"""cli: the ``runit-provision`` command; the only room that prints and picks exit codes.

One module per subcommand (``cli/<verb>.py``, with ``add_parser(sub)`` and ``run(args)``; one
module may own a family of verbs, as ``control.py`` does restart, start and stop), one table of
them here; ``cli/inputs.py`` is what the data-driven ones share, and the data they read when
the command line names none is filled in here, by one rule (``cli/default_data.py``). A
subcommand's module is imported only when it is asked for (``runit-provision apply`` never
loads the demo's or lookup's imports); ``--help`` and a missing or unknown command load them
all.

One rule for a closed standard output, for every verb (``status | head``): when its reader
has gone, the command stops at its next write, as a C program SIGPIPE ends would, prints
nothing more and exits 141 (128 + SIGPIPE, what a shell shows for such a program), never 0:
what was cut may have been the bad news. ``apply`` prints its plan before it changes anything,
so one whose plan cannot be shown changes nothing.

One rule for Ctrl-C (a ``KeyboardInterrupt``), for every verb: one line on stderr —
``runit-provision VERB: interrupted`` — and exit 130 (128 + SIGINT), never a traceback. A verb
with something to say about where it stopped says it first: ``apply`` prints what it had done
and what it owes (cli/apply.py), ``demo`` takes its sandbox down (cli/demo.py).
"""

import gc
import importlib
import os
import sys

from .. import __version__
from ..errors import raised_while

COMMANDS = {"demo": "demo", "render": "render", "lookup": "lookup", "plan": "plan",
            "apply": "apply", "status": "status", "logs": "logs", "metrics": "metrics",
            "mixin": "metrics", "fleet": "fleet", "verify": "verify", "import": "importing",
            "install-runtime": "install_runtime", "restart": "control", "start": "control",
            "stop": "control", "once": "control", "hup": "control", "term": "control"}
# Long conversations — a runtime started and waited on, ssh sessions to hosts — whose garbage
# the cyclic collector should go on freeing (see main).
COLLECTING = ("demo", "verify", "logs")
EXIT_OUTPUT_CLOSED = 141  # 128 + SIGPIPE (docs/exit-codes.md)
EXIT_INTERRUPTED = 130  # 128 + SIGINT


def command_module(name):
    return _module(COMMANDS[name])


def _module(name):
    """The module ``cli/<name>.py``."""
    return importlib.import_module(__package__ + "." + name)


def build_parser(only=None):
    """The parser of every subcommand, or of ``only`` (a name in COMMANDS)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="runit-provision",
        description="runit services from hiera data, and a pure-Python runit runtime.")
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # a module may own several commands (restart, start, stop): it adds them all, once
    for module in dict.fromkeys(COMMANDS[name] for name in ([only] if only else COMMANDS)):
        _module(module).add_parser(sub)
    parser.commands = sub.choices  # each command's parser: a usage error prints its usage
    return parser


def main(argv=None):
    """The ``runit-provision`` command; ``argv`` None: this process's arguments — main is the
    program (the console script, ``python -m``), not a call from tests or other code."""
    is_program = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    # A run builds its data, tree, observation and plan once and keeps them to the end:
    # the cyclic collector has nothing to free, yet its passes over that growing heap are a
    # share of a large apply. Reference counting still frees everything else. After a call
    # the collector is on again as it was; after the program, everything the run built is
    # frozen instead, so that the interpreter's last collection at exit does not walk it.
    was_enabled = gc.isenabled()
    gc.disable()
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    args = None
    try:
        from .default_data import fill_in_data

        if chosen is not None:
            # a command whose values may start with "-" (logs --since -1h) joins them first
            argv = getattr(command_module(chosen), "prepare_argv", list)(argv)
        parser = build_parser(chosen)
        args = parse_command_line(parser, argv, chosen)
        if args.command is None:
            parser.print_help(sys.stderr)
            return 1
        problem = fill_in_data(args)  # no --data/--hiera: the default (cli/default_data.py)
        if problem is not None:
            parser.commands[args.command].error(problem)  # its usage line, exit 2
        if args.command in COLLECTING and was_enabled:
            gc.enable()
        code = command_module(args.command).run(args)
        sys.stdout.flush()  # what is still buffered meets a closed pipe here, not at exit
        return code
    except BrokenPipeError:
        if not is_output_closed():
            raise  # another pipe (a child's): a fault of ours, not the reader's choice
        if is_program:
            discard_output()
        return EXIT_OUTPUT_CLOSED
    except BaseException as exc:  # Ctrl-C, also where the code it cut short failed after it
        if not raised_while(exc, KeyboardInterrupt):
            raise
        return interrupted(getattr(args, "command", None) or chosen, is_program)
    finally:
        if is_program:
            gc.freeze()
        elif was_enabled:
            gc.enable()


def interrupted(command, is_program=False):
    """Ctrl-C's one line (``command``: the verb, None before one is known), and its exit code.
    What the verb had written is flushed first, so that the line comes after it; a standard
    output whose reader has gone meanwhile is let go as the closed output's rule does."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        if is_program and is_output_closed():
            discard_output()
    try:
        sys.stderr.write("runit-provision%s: interrupted\n" % (" " + command if command else ""))
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return EXIT_INTERRUPTED


def parse_command_line(parser, argv, chosen):
    """The arguments of ``argv``; a command's names may come before and after its options
    (``logs web -n 5 db``, as journalctl and systemctl take them), which argparse's plain
    parse refuses once an option has ended the positionals."""
    import argparse

    if chosen is None:
        return parser.parse_args(argv)
    command = parser.commands[chosen]
    try:
        return command.parse_intermixed_args(argv[1:], argparse.Namespace(command=chosen))
    except TypeError:  # a command of commands (fleet status): argparse cannot intermix those
        return parser.parse_args(argv)


def is_output_closed():
    """Whether standard output's reader has gone: poll(2) reports POLLERR on a pipe without
    readers (POLLHUP on a socket shut down)."""
    import select  # here: needed only once the output has failed

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError):  # no file descriptor (a test's captured output)
        return False


def discard_output():
    """Standard output to /dev/null: what the interpreter still holds for it is flushed there
    at exit, instead of failing again with "Exception ignored … BrokenPipeError"."""
    null = os.open("/dev/null", os.O_WRONLY)
    try:
        os.dup2(null, sys.stdout.fileno())
    finally:
        os.close(null)


if __name__ == "__main__":
    sys.exit(main())
