"""runtime: ``runsvdir [-P] dir [log]`` — supervise every service of a directory, in one process.

Unlike runit's runsvdir, which forks a runsv per service, the whole tree runs on one event loop
(``supervision.servicetree.ServiceTree``), each service writing the ``supervise/`` files a runsv would. Signals:

- TERM: the whole tree comes down — every service as by ``x`` (TERM, CONT, finish, loggers
  drained), KILL after a grace period — then exit 0. (runit's runsvdir exits at once and leaves
  every runsv running; in a one-process tree that would orphan the services.)
- HUP: the same, then exit 111, as runit's runsvdir after TERMing its runsvs.
- ALRM (Debian): a forced rescan.

Exit codes: 1 usage, 100 fatal, 0 after TERM, 111 after HUP.
The ``log`` argument is runit's status area in argv (``proctitle.StatusArea``): the tree's own
diagnostics scroll through it; services keep runsvdir's original stderr.
"""

import os
import signal
import sys

from .unix.diag import warn
from .unix.fdinherit import close_inherited_on_exec
from .unix.procname import show_program
from .supervision.loop import EventLoop
from .supervision.proctitle import MIN_LENGTH, ArgvInPlace, StatusArea, WholeTitle
from .supervision.spawn import Spawner
from .supervision.servicetree import ServiceTree, become_subreaper


def parse_args(args):
    """runit's own parsing: ``-P`` (any ``-P…``) and ``--`` consumed, any other ``-x`` is the
    directory. Returns (new_sessions, directory, log) or None for a usage error."""
    new_sessions = False
    if args and args[0][:1] == "-":
        flag = args[0][1:2]
        if flag == "P":
            new_sessions = True
        if flag in ("P", "-"):
            args = args[1:]
    if not args:
        return None
    return new_sessions, args[0], (args[1] if len(args) > 1 else None)


def open_status_area(loop, label, argv, log):
    """Make ``log`` runit's status area; return the stderr children get, or None if disabled."""
    encoded = os.fsencode(log)
    if len(encoded) < MIN_LENGTH:
        warn(label, "log must have at least seven characters.")
        display = None
    else:
        display = ArgvInPlace.for_last_argument(encoded) or WholeTitle.for_argv(argv)
        if display is None:
            warn(label, "unable to find the log argument in argv, and setproctitle is not "
                        "installed")
    if display is None:
        warn(label, "log service disabled.")
        return None
    return StatusArea(loop, encoded, display).open()


def main(argv=None):
    if argv is None:
        argv = sys.argv
        show_program(argv, "runsvdir")
    parsed = parse_args(argv[1:])
    if parsed is None:
        os.write(2, b"usage: runsvdir [-P] dir\n\n")  # strerr_die4x adds a newline to USAGE's
        return 1
    new_sessions, directory, log = parsed
    label = "runsvdir " + directory
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    close_inherited_on_exec()  # chpst -L's lock of a user's tree is the tree's, not its services'

    def report_internal_error(exc):
        # One service's trouble must not take the tree (and every service) down with it.
        warn(label, "internal error, continuing: %s: %s" % (type(exc).__name__, exc))

    loop = EventLoop(handle_error=report_internal_error)
    children_stderr = None if log is None else open_status_area(loop, label, argv, log)
    try:
        become_subreaper()
    except OSError as exc:
        warn(label, "unable to become a child subreaper", exc)
    tree = ServiceTree(loop, directory, Spawner(stderr_fd=children_stderr), label,
                new_sessions=new_sessions, on_empty=loop.stop)
    exit_code = [0]

    def stop_with(code):
        def handler():
            exit_code[0] = code
            tree.stop()
        return handler

    loop.add_signal_handler(signal.SIGTERM, stop_with(0))
    loop.add_signal_handler(signal.SIGHUP, stop_with(111))
    loop.add_signal_handler(signal.SIGALRM, tree.forced_rescan)
    tree.start()
    loop.run()
    return exit_code[0]


if __name__ == "__main__":
    sys.exit(main())
