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
import sys

from .unix.descriptors import close_inherited_on_exec
from .unix.procname import show_program
from .supervision.tree.treeprocess import run_tree


def _user_tree(supervisor, forks):
    """What starts a user's canonical tree ``./run`` in a tree run by root: the user's own
    runsvdir, forked through ``forks`` (users/usertree.py); None while ``./run`` is not one
    (users/runfile.py) — the room is imported when the first is made."""
    from .supervision.users.runfile import tree_run
    if tree_run(supervisor.dir_fd) is None:
        return None
    from .supervision.users.usertree import UserTree
    return UserTree(supervisor, forks)


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


def main(argv=None):
    if argv is None:
        argv = sys.argv
        show_program(argv, "runsvdir")
    parsed = parse_args(argv[1:])
    if parsed is None:
        os.write(2, b"usage: runsvdir [-P] dir\n\n")  # strerr_die4x adds a newline to USAGE's
        return 1
    new_sessions, directory, log = parsed
    close_inherited_on_exec()  # chpst -L's lock of a user's tree is the tree's, not its services'
    return run_tree(directory, "runsvdir " + directory, new_sessions=new_sessions, argv=argv,
                    log=log, nest=_user_tree)


if __name__ == "__main__":
    sys.exit(main())
