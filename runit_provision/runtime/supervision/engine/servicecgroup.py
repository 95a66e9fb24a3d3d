"""runtime/supervision/engine: one service's cgroup — its run started in it, what outlives the
main process ended before the service counts as down (docs/resources.md).

The service directory's ``cgroup`` file (protocol/cgroupfs.Spec) says what a stop ends and
which limits the cgroup gets; it is read at each start, as an apply may change it. With
``stop=group`` (the default, systemd's ``KillMode=control-group``), when the main process
ends, the processes left in its cgroup and below it (a user's tree divides the cgroup it is
handed) get TERM and CONT, then KILL after ``GRACE_SECONDS``, and the side hears of the main
process's end only once that whole subtree is empty — ``./finish``,
the down status and a restart come after. ``stop=main`` is runit's: the rest live on, and
``status`` says so (a process adopted after the tree's own restart is in the cgroup too: what
is there at a start is left alone).
"""

import errno
import os
import signal

from ....errors import ProtocolError
from ...unix.cgroup import Unavailable
from ....protocol.cgroupfs import CONTROLLER_OF, DEFAULT_SPEC, RECORD, SPEC_MAX, spec_from_bytes
from ....protocol.layout import CGROUP, STATUS_FILE, SUPERVISE_DIR
from ....protocol.status import STATUS_SIZE, status_from_bytes
from .servicedir import write_new
from ...unix.smallread import read_small

GRACE_SECONDS = 7.0  # TERM to KILL, sv's default wait
GONE_SECONDS = 5.0  # after KILL: a process stuck in the kernel does not hold the service
POLL_SECONDS = 0.05  # how often an ending cgroup is looked at (only while one is ending)


class ServiceCgroup:
    """Service ``name``'s cgroup in ``cgroups`` (unix/cgroup.Cgroups) for its supervisor."""

    __slots__ = ("cgroups", "name", "host", "path", "spec", "_ending", "_recorded")

    def __init__(self, cgroups, name, host):
        self.cgroups, self.name, self.host = cgroups, name, host
        self.path = cgroups.service(name)
        self.spec = DEFAULT_SPEC
        self._ending = None  # the timer of a stop in progress
        self._recorded = None  # the path supervise/cgroup says

    def read_spec(self, dir_fd):
        """The ``cgroup`` file's spec (the default without one); a bad one is said, and the
        default taken — limits the file meant are then not applied, and the warning says so."""
        data = read_small(dir_fd, CGROUP, SPEC_MAX, regular=True)
        if data is None:
            return DEFAULT_SPEC
        try:
            return spec_from_bytes(data)
        except ValueError as exc:
            self.host.warn("%s: %s: ignored, no limits applied" % (CGROUP, exc))
            return DEFAULT_SPEC

    def prepare(self, dir_fd, owner=None):
        """The service's cgroup made for a start, with its limits — handed to ``owner``
        (``(uid, gid)``: a user's tree, which divides it further). OSError when it cannot be
        made or a limit written: the start fails, as a service whose limits cannot hold must
        not run unbounded."""
        self.spec = self.read_spec(dir_fd)
        try:
            self.path = self.cgroups.make(self.name, self.spec.settings)
            if owner is not None:
                self.cgroups.delegate(self.path, *owner)
        except OSError as exc:
            controller = CONTROLLER_OF.get(os.path.basename(exc.filename or ""))
            why = "" if exc.errno != errno.ENOENT or controller is None else \
                " (the %s controller is not enabled for this tree; enabled: %s%s)" % (
                    controller, ", ".join(self.cgroups.controllers) or "none",
                    "" if self.cgroups.note is None else "; " + self.cgroups.note)
            self.host.warn("unable to set up cgroup: %s%s" % (exc.filename, why), exc)
            raise
        if self._recorded != self.path:  # where the views find it (health/, verify)
            failed = write_new(dir_fd, SUPERVISE_DIR + "/" + RECORD, (self.path + "\n").encode())
            if failed is None:
                self._recorded = self.path
            else:
                self.host.warn(*failed)
        return self.path

    def adopt(self, dir_fd, pid):
        """``pid``, a process taken over from a killed predecessor, into the cgroup (a failure
        is said: the process runs on where it is)."""
        try:
            self.cgroups.move(self.prepare(dir_fd), pid)
        except OSError as exc:
            self.host.warn("unable to move adopted process %d into its cgroup" % pid, exc)

    def spawn(self, dir_fd, start):
        """``start()``'s pid, the process started in the service's cgroup (``prepare``)."""
        return self.cgroups.spawn_in(self.prepare(dir_fd), start)

    def main_ended(self, then, dir_fd=None):
        """The main process ended: ``then()`` once the cgroup is empty (at once with
        ``stop=main`` or nothing left). With ``dir_fd``, what a stop ends is read again from
        the ``cgroup`` file: an apply may have changed it while the service ran."""
        if dir_fd is not None:
            self.spec = self.read_spec(dir_fd)
        below = self._ends_below(dir_fd)
        if self.spec.stop != "group" or not self._holds(below):
            then()
            return
        self.cgroups.signal_all(self.path, (signal.SIGTERM, signal.SIGCONT), below=below)
        clock = self.host.monotonic
        kill_at = clock() + GRACE_SECONDS
        give_up_at = kill_at + GONE_SECONDS

        def look():
            self._ending = None
            if not self._holds(below):
                then()
                return
            now = clock()
            if now >= give_up_at:
                self.host.warn("%s: processes still in %s after KILL" % (self.name, self.path))
                then()
                return
            if now >= kill_at:
                self.cgroups.kill_all(self.path, below=below)
            self._ending = self.host.call_later(POLL_SECONDS, look)

        self._ending = self.host.call_later(POLL_SECONDS, look)

    def _holds(self, below):
        return (self.cgroups.is_populated(self.path) if below
                else bool(self.cgroups.procs(self.path)))

    def _ends_below(self, dir_fd):
        """Whether a stop ends the cgroups below the service's too: always for root's own;
        for one handed to a user (a user's tree, which divides it), when the service is
        wanted down (root's own status says so) — a tree that ended unasked (a crash) leaves
        its services to the next one, which takes them over."""
        try:
            if os.stat(self.cgroups.fs(self.path)).st_uid == 0 or dir_fd is None:
                return True
        except OSError:
            return True
        data = read_small(dir_fd, STATUS_FILE, STATUS_SIZE, regular=True)
        try:
            return status_from_bytes(data or b"").want == "d"
        except ProtocolError:
            return True

    def close(self):
        """The supervisor ends: a pending look is cancelled, the cgroup and what was made
        below it removed where empty."""
        if self._ending is not None:
            self._ending.cancel()
            self._ending = None
        self.cgroups.remove(self.path)


def open_cgroups(directory, warn):
    """The tree on ``directory``'s cgroups (unix/cgroup.Cgroups), or None — said once."""
    from ...unix.cgroup import Cgroups
    try:
        cgroups = Cgroups.for_tree(directory)
    except Unavailable as exc:
        warn("cgroups unavailable, services run without: %s" % exc)
        return None
    if cgroups.note is not None:
        warn(cgroups.note)
    return cgroups
