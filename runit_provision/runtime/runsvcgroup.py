"""runtime: ``runsv-cgroup enter PID [USER]`` / ``runsv-cgroup end`` — a service's cgroup under
the C runsv, which knows none — and ``runsv-cgroup limits DIR``: a changed ``cgroup`` file's
limits written into the running service's cgroup, under either runsv (docs/resources.md).

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

``limits DIR`` is what ``apply`` runs when only the ``cgroup`` file changed (apply/effects.py),
as the tree's owner — a user's service's cgroup is the user's. The cgroup is the one its
supervisor recorded (``supervise/cgroup``), taken only when the service's main process
(``supervise/pid``) runs in it or below: a record that names another cgroup is refused. Each
limit the file sets is written, each it does not is reset. Nothing running: exit 0, the next
start writes them.

Exit codes: 0; 100 on usage; 111 when the cgroup cannot be made, a limit not written, ``PID``
not moved, or the record does not name the running service's cgroup.
"""

import os
import sys

from ..errors import FatalError
from .supervision.engine.loop import EventLoop
from .supervision.engine.servicecgroup import ServiceCgroup
from .unix.cgroup import Cgroups, Unavailable
from .unix.diag import fatal, warn

LABEL = "runsv-cgroup"
USAGE = b"usage: runsv-cgroup enter pid [user] | runsv-cgroup end | runsv-cgroup limits dir\n"
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
            or verb == "end" and len(argv) == 2 or verb == "limits" and len(argv) == 3):
        os.write(2, USAGE)
        return 100
    if verb == "limits":
        return set_limits_in_place(argv[2])
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
        service.main_ended(lambda: ended.append(loop.stop()), dir_fd)
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


PID_MAX = 32  # bytes of supervise/pid read
PROC_CGROUP_MAX = 65536
MOUNTINFO_MAX = 1 << 20


def set_limits_in_place(directory):
    """``runsv-cgroup limits DIRECTORY``: its ``cgroup`` file's limits into the cgroup its
    running service is in; an exit code."""
    from ..protocol.cgroupfs import (DEFAULT_SPEC, RECORD, RECORD_MAX, SPEC_MAX, cgroup2_mount,
                                     is_within, path_from_record, spec_from_bytes)
    from ..protocol.layout import CGROUP, PID_FILE, SUPERVISE_DIR
    from .unix.smallread import read_small

    try:
        dir_fd = os.open(directory, _DIR_FLAGS)
    except OSError as exc:
        fatal(LABEL, "unable to open %s" % directory, exc)
        return 111
    try:
        mount = cgroup2_mount(_read_proc("/proc/self/mountinfo", MOUNTINFO_MAX))
        if mount is None:
            return 0  # no cgroup v2: the service runs without (status and verify say so)
        data = read_small(dir_fd, CGROUP, SPEC_MAX, regular=True)
        try:
            spec = DEFAULT_SPEC if data is None else spec_from_bytes(data)
        except ValueError as exc:
            fatal(LABEL, "%s/%s: %s" % (directory, CGROUP, exc))
            return 111
        pid = (read_small(dir_fd, PID_FILE, PID_MAX, regular=True) or b"").strip()
        if not pid.isdigit():
            return 0  # nothing runs: its next start writes them
        record = read_small(dir_fd, SUPERVISE_DIR + "/" + RECORD, RECORD_MAX, regular=True)
        path = path_from_record(record or b"")
        running = _cgroup_of(int(pid))
        if running is None:
            return 0  # it ended meanwhile
        if path is None or not is_within(running, path):
            fatal(LABEL, "supervise/cgroup names %r, not the cgroup %s runs in (%s)" % (
                (record or b"").decode("ascii", "replace").strip(), pid.decode(), running))
            return 111
        Cgroups(mount, path, path).set_limits(path, spec.settings)
        return 0
    except OSError as exc:
        fatal(LABEL, "unable to set the service's limits", exc)
        return 111
    finally:
        os.close(dir_fd)


def _cgroup_of(pid):
    """The cgroup v2 path process ``pid`` is in, or None when it is gone."""
    from ..protocol.cgroupfs import cgroup_of_process
    try:
        return cgroup_of_process(_read_proc("/proc/%d/cgroup" % pid, PROC_CGROUP_MAX))
    except (FileNotFoundError, ProcessLookupError):
        return None


def _read_proc(path, limit):
    with open(path, "rb") as handle:
        return handle.read(limit).decode("ascii", "replace")
