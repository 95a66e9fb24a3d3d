"""runtime/supervision/tree: a whole tree as a process — the loop, the signals, the subreaper,
runit's status area — for ``runsvdir``'s ``main``.

Signals: TERM brings the whole tree down (every service as by ``x``, KILL after a grace period)
and exits 0; HUP does the same and exits 111, as runit's runsvdir after TERMing its runsvs;
ALRM (Debian) forces a rescan; INT has its default action.
"""

import os
import signal

from ...unix.diag import warn
from ..engine.loop import EventLoop
from .proctitle import MIN_LENGTH, ArgvInPlace, StatusArea, WholeTitle
from .servicetree import ServiceTree, become_subreaper
from ..engine.spawn import Spawner


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


def run_tree(directory, label, new_sessions=False, argv=None, log=None, environ=None,
             children_stderr=None, nest=None):
    """Supervise ``directory`` until TERM or HUP; the exit code.

    ``log``: runit's status area in ``argv``. ``environ``: what services get (default: the
    environment this process was exec'd with). ``children_stderr``: the stderr services get
    (default: ours). ``nest(supervisor, forks)``: what starts a canonical user's tree
    ``./run`` (runsvdir.py: forked, in a tree run by root).
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)

    def report_internal_error(exc):
        # One service's trouble must not take the tree (and every service) down with it.
        warn(label, "internal error, continuing: %s: %s" % (type(exc).__name__, exc))

    loop = EventLoop(handle_error=report_internal_error)
    if log is not None:
        children_stderr = open_status_area(loop, label, argv, log)
    try:
        become_subreaper()
        is_subreaper = True
    except OSError as exc:
        warn(label, "unable to become a child subreaper", exc)
        is_subreaper = False
    tree = ServiceTree(loop, directory, Spawner(stderr_fd=children_stderr, environ=environ),
                       label, new_sessions=new_sessions, on_empty=loop.stop,
                       may_fork=is_subreaper, nest=nest)
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
