"""runtime: ``runsv-cgroup enter PID [USER]`` / ``runsv-cgroup end`` — a service's cgroup under
the C runsv, which knows none (docs/resources.md).

Our runsv does this itself (supervision/engine/servicecgroup.py); with ``runtime: system`` the
generator renders it into the scripts the C runsv runs, in the service directory:

- ``./run`` begins ``runsv-cgroup enter $$ || exit 1``: the service's cgroup is made below
  the tree's, with the limits of the directory's ``cgroup`` file, what the last run left
  and ``PID`` (the shell, which becomes the daemon by ``exec``) moves in — with ``USER``
  (a user's tree, ``runsvdir-LOGIN``), the cgroup is handed to that user, who divides it;
- ``./finish`` begins ``runsv-cgroup end``: with ``stop=group`` (the default), what is left
  in the cgroup after the main process gets TERM and CONT, then KILL after 7 s; it returns
  once the cgroup is empty, so the C runsv says "down" only then, as ours does.

The tree's cgroup is found as our tree finds its own (unix/cgroup.py), named after the
directory that holds the service directory. Where the host has no cgroup v2 to use, both exit
0 at once: the service runs as it would without (``status`` and ``verify`` say why, once).

Exit codes: 0; 100 on usage; 111 when the cgroup cannot be made, a limit not written, or
``PID`` not moved.
"""

import os
import sys

from ..errors import FatalError
from .supervision.engine.loop import EventLoop
from .supervision.engine.servicecgroup import ServiceCgroup
from .unix.cgroup import Cgroups, Unavailable
from .unix.diag import fatal, warn

LABEL = "runsv-cgroup"
USAGE = b"usage: runsv-cgroup enter pid [user] | runsv-cgroup end\n"
_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC


class _Host:
    """What a ServiceCgroup asks of its supervisor: a clock, timers, a voice."""

    def __init__(self, loop):
        self.loop = loop
        self.monotonic = loop.monotonic
        self.call_later = loop.call_later

    @staticmethod
    def warn(message, exc=None):
        warn(LABEL, message, exc)


def main(argv=None):
    argv = sys.argv if argv is None else argv
    verb = argv[1] if len(argv) > 1 else None
    if not (verb == "enter" and len(argv) in (3, 4) and argv[2].isdigit()
            or verb == "end" and len(argv) == 2):
        os.write(2, USAGE)
        return 100
    here = os.getcwd()
    try:
        cgroups = Cgroups.for_tree(os.path.dirname(here))
    except Unavailable:
        return 0  # status and verify say so, once; the service runs as it would without
    loop = EventLoop()
    service = ServiceCgroup(cgroups, os.path.basename(here), _Host(loop))
    dir_fd = os.open(".", _DIR_FLAGS)
    try:
        if verb == "enter":
            owner = None
            if len(argv) == 4:
                from .unix.userspec import resolve_user
                uid, gids = resolve_user(argv[3], False)
                owner = (uid, gids[0])
            cgroups.move(service.prepare(dir_fd, owner), int(argv[2]))
            return 0
        service.spec = service.read_spec(dir_fd)
        ended = []
        service.main_ended(lambda: ended.append(loop.stop()))
        if not ended:
            loop.run()
        return 0
    except OSError as exc:
        fatal(LABEL, "unable to %s the service's cgroup" % verb, exc)
        return 111
    except FatalError as exc:  # an unknown user
        fatal(LABEL, str(exc))
        return 111
    finally:
        os.close(dir_fd)
