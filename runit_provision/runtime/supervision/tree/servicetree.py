"""runtime/supervision/tree: runsvdir's body — every service directory of one directory, supervised
in-process.

runit's runsvdir forks one runsv per service; here one loop hosts a ``Supervisor`` per directory
(the same engine as ``runsv``), each writing exactly the ``supervise/`` files a runsv would, so
the C ``sv`` and ours work unchanged. Scanning follows runsvdir (runit-protocol.md §2): dot-names
skipped, links followed, non-directories skipped, services identified by (device, inode) so a
rename restarts nothing, a vanished directory stopped as by ``x``. Rescans are event-driven:
inotify on the directory (and on its parent, so that ``runsvchdir`` swapping a ``current`` link
is seen), SIGALRM as in Debian, and a 1 s retry only while some service could not be started.
"""

import os
import signal

from ....errors import FatalError
from ...unix.descriptors import ensure_fd_room, open_fd_count, path_identity, soft_fd_limit
from ...unix.diag import fatal as print_fatal, warn as print_warn
from ...unix.processes import ns_pids, stat_fields
from .forkclient import ForkServer
from ..loggers.loghosts import LogHosts
from ..loggers.pipekeeper import PipeKeeper
from ..engine.adoption import started_in
from ..engine.closing import close_each
from ..engine.servicedir import list_services, open_service
from ..engine.servicecgroup import ServiceCgroup, open_cgroups
from ..engine.supervisor import Supervisor, SystemClock

RETRY_SECONDS = 1.0  # runsvdir restarts a runsv that exited at its next scan, about 1 s later
POLL_SECONDS = 5.0  # runsvdir's scan interval: used only when inotify is unavailable
STOP_GRACE_SECONDS = 7.0  # TERM/HUP: how long services get before KILL (sv's default wait)
# A nested tree (a user's) gets this much longer: its own KILL after 7 s and its loggers' drain
# come first, so its services' last lines are not lost to a race between the two KILLs.
NESTED_TREE_EXTRA_SECONDS = 3.0
# After the last KILL, loggers drain what their pipes hold. A process outside our reach that
# still holds a pipe (a user can pass a descriptor to anything) would make that wait endless:
# after this long the tree ends anyway, so TERM and HUP always finish within
# STOP_GRACE_SECONDS + NESTED_TREE_EXTRA_SECONDS + DRAIN_SECONDS.
DRAIN_SECONDS = 3.0
ORPHAN_SWEEP_SECONDS = 0.25  # after the grace, how often the tree looks for newly adopted orphans

# Descriptors one service holds at most: per side its directory, lock, control and ok, plus the
# log pipe (9); a hosted logger's reading end, and its log directory, lock and current (4); the
# pidfd of each side's adopted process after a predecessor was killed (2); readiness's socket
# or pipe, and the pidfd of its MAINPID= (2). (supervise/event/ok: one reader for the tree.)
FDS_PER_SERVICE = 17
# Always kept free, so running services stay controllable and their status current: status
# writes, control hooks, a scan, a logger starting.
FD_RESERVE = 32

_DIR_EVENTS = None  # filled lazily from inotify constants (the C types are made only when needed)


class _Entry:
    __slots__ = ("name", "key", "service", "failure")

    def __init__(self, name, key, service=None):
        self.name = name
        self.key = key  # (device, inode)
        self.service = service
        self.failure = None  # the last start failure reported, so a retry does not repeat it


class ServiceTree:
    __slots__ = ("loop", "directory", "spawner", "label", "new_sessions", "clock", "on_empty",
                 "entries", "_retiring", "_identity", "_retry_timer", "_kill_timer",
                 "_sweep_timer", "_stopping", "_finished", "_grace_over", "_orphans",
                 "_waiting_for_fds", "_begun", "_scanning", "_inotify", "_watches",
                 "stderr_fd", "forks", "log_host", "pipe_keeper", "nest", "_holds",
                 "cgroups")

    def __init__(self, loop, directory, spawner, label, new_sessions=False, clock=SystemClock(),
                 on_empty=None, may_fork=False, stderr_fd=2,
                 nest=None):
        self.loop = loop
        self.directory = os.path.abspath(directory)
        self.spawner = spawner
        self.label = label
        self.new_sessions = new_sessions
        self.clock = clock
        self.on_empty = on_empty  # called once the tree is down after stop()
        self.entries = {}  # (dev, ino) -> _Entry
        self._retiring = set()  # Supervisors told to exit whose processes are not gone yet
        self._identity = None  # (dev, ino) of the directory itself at the last scan
        self._retry_timer = None
        self._kill_timer = None
        self._sweep_timer = None
        self._stopping = False
        self._finished = False  # stopped: on_empty called
        self._grace_over = False
        self._orphans = set()  # adopted pids being ended during stop()
        self._waiting_for_fds = False  # a service waits for descriptors to be freed
        self._begun = []
        self._scanning = False  # inside a scan's loop over the entries
        self._inotify = None
        self._watches = {}
        self.stderr_fd = stderr_fd  # where the tree's own messages go
        # Root's tree forks users' trees and logger hosts through a fork server; it must be
        # their subreaper (``may_fork``) to reap them. Any other tree execs those instead.
        self.forks = None
        # What each supervisor is handed to start a canonical user's tree ./run (the engine's
        # ``nest``): ``nest(supervisor, forks)`` given by the caller (runsvdir.py:
        # users/usertree.UserTree), used where there is a fork server to fork it with.
        self.nest = None
        self._holds = None  # startholds.StartHolds, made when a service first needs one-shots
        self.cgroups = None  # unix/cgroup.Cgroups once started, where the host has cgroup v2
        if may_fork and os.geteuid() == 0:
            forks = self.forks = ForkServer(loop, spawner, label)
            self.forks.on_reaped = self._end_orphans  # a stopping tree waits for it
            if nest is not None:
                self.nest = lambda supervisor: nest(supervisor, forks)
        self.log_host = LogHosts(loop, spawner, label, self.forks)
        self.log_host.on_reaped = self._end_orphans  # a stopping tree waits for its hosts
        self.pipe_keeper = PipeKeeper(loop, spawner, label, self.directory)
        self.pipe_keeper.on_reaped = self._end_orphans  # and for its keeper

    # -- scanning -----------------------------------------------------------------------------
    def start(self):
        self.cgroups = open_cgroups(self.directory, self.warn)
        self._open_inotify()
        # The watch comes before the first look: added after it, an entry made between the
        # look and the watch would be seen by neither (a link applied right after runsvdir
        # started, then never supervised — no poll runs while inotify does).
        self._identity = path_identity(self.directory)  # as a listing gives it
        if self._identity is not None:  # (when missing, the first look says so, then watches)
            self._watch_directory()
        self.scan()

    def scan(self):
        """One pass over the directory: start new services, retire vanished ones."""
        if self._stopping:
            return
        try:
            listing = list_services(self.directory)
        except OSError as exc:
            identity = getattr(exc, "identity", None)
            if identity is not None:
                self._identified(identity)
            what = "unable to stat " if identity is None else "unable to read directory "
            self.warn(what + self.directory, exc)
            self._schedule_retry()
            return
        self._identified(listing.identity)
        seen = set()
        needs_retry = False
        self._waiting_for_fds = False
        self._scanning = True
        self._begun = []  # services begun in this scan, shown once it is done
        for name, found in listing.entries:
            if isinstance(found, OSError):
                self.warn("unable to stat " + name, found)
                continue
            key = found
            seen.add(key)
            entry = self.entries.get(key)
            if entry is None:
                entry = self.entries[key] = _Entry(name, key)
            entry.name = name  # a rename keeps the service, only its label changes
            if entry.service is None \
                    and not self._start_guarded(entry, os.path.join(self.directory, name)):
                needs_retry = True
        self._scanning = False
        if self._holds is not None:
            self._holds.recheck()  # what a start held for "further down the listing" was not
        begun, self._begun = self._begun, []
        for service in begun:
            service.show()
        for key in [key for key in self.entries if key not in seen]:
            self._retire(self.entries.pop(key))
        if needs_retry:
            self._schedule_retry()
        elif self._inotify is None:
            self._schedule_retry(POLL_SECONDS)

    def _identified(self, identity):
        if identity != self._identity:
            self._identity = identity
            self._watch_directory()
            if self._inotify is not None:
                # What changed between that look and this watch was seen by neither.
                self.loop.call_later(0, self.scan)

    def _start_guarded(self, entry, path):
        """``_start_service``, where a bug of ours in one service's start is said and that
        service tried again in a second: raised out of the scan, it would leave the scan
        half done (``_scanning`` set, services begun but not shown) with no retry — the other
        services of the directory never started."""
        try:
            return self._start_service(entry, path)
        except Exception as exc:  # noqa: BLE001 — said; the scan goes on
            self.warn("internal error starting %s, tried again in a second: %s: %s"
                      % (entry.name, type(exc).__name__, exc))
            return False

    def _start_service(self, entry, path):
        """Supervise ``path`` (begun now, shown once the scan is done); False when it must be
        tried again in a second."""
        if not self._has_fd_room():
            # Said once; tried again when descriptors are freed (a service retired or
            # exited) or at a rescan, never on a timer: waiting costs nothing.
            self._waiting_for_fds = True
            message = ("not enough file descriptors to supervise it now (limit %d): it "
                       "starts when some are freed" % soft_fd_limit())
            if message != entry.failure:
                entry.failure = message
                print_warn("runsv " + entry.name, message, None, self.stderr_fd)
            return True
        service = self._new_supervisor(path, entry.name)
        try:
            opened = open_service(path, find_started=started_in)
        except FatalError as failure:
            message = str(failure)
            if message != entry.failure:  # retried every second: say it once, not each time
                entry.failure = message
                for warning in getattr(failure, "warnings", ()):
                    service.warn(warning)
                print_fatal(service.label, message, None, self.stderr_fd)
            return False
        try:
            service.take_over(opened)
            entry.service = service
            entry.failure = None
            service.begin()
        except Exception:
            # a bug of ours after the open: its descriptors (its lock among them) go, or every
            # retry would find the lock taken by the service it is
            entry.service = None
            service.close()
            raise
        self._begun.append(service)
        return True

    def _new_supervisor(self, path, name):
        service = Supervisor(self.loop, path, self.spawner, clock=self.clock,
                             label="runsv " + name,
                             on_exit=self._service_exited, new_session=self.new_sessions,
                             log_host=self.log_host, pipe_keeper=self.pipe_keeper,
                             nest=self.nest)
        service.stderr_fd = self.stderr_fd
        service.peers = self
        if self.cgroups is not None:
            service.cgroup = ServiceCgroup(self.cgroups, name, service)
        return service

    # -- a service's ./run held until the one-shots it needs are done (startholds.py) -------
    def holds_start(self, supervisor):
        holds = self._holds
        if holds is None:
            if not supervisor.facts.needs_done:
                return False  # (the common case: one failed open)
            from .startholds import StartHolds
            holds = self._holds = StartHolds(self.loop, self._service_at, self._is_scanning)
        return holds.holds_start(supervisor)

    def status_changed(self, supervisor):
        if self._holds is not None:
            self._holds.status_changed(supervisor)

    def _service_at(self, key):
        from .startholds import UNKNOWN
        entry = self.entries.get(key)
        if entry is None or entry.service is None:
            return UNKNOWN
        return entry.service

    def _is_scanning(self):
        return self._scanning

    def _has_fd_room(self):
        """Room for one more service beside the reserve: the soft limit is raised (never past
        the hard one) for an estimate first; only near the hard limit are fds counted."""
        estimate = FDS_PER_SERVICE * (len(self.entries) + len(self._retiring) + 1) + FD_RESERVE
        if ensure_fd_room(estimate):
            return True
        # A service begun in this scan opens the ok FIFOs it has not opened yet (a side that
        # started has: just before its start) once the scan is done.
        pending = sum(service.unopened_oks for service in self._begun)
        return open_fd_count() + pending + FDS_PER_SERVICE + FD_RESERVE <= soft_fd_limit()

    def _retire(self, entry):
        service = entry.service
        if service is not None:
            self._retiring.add(service)
            service.terminate()

    def _service_exited(self, service):
        if self._holds is not None:
            self._holds.forget(service)
        if self._waiting_for_fds and not self._stopping:
            self._schedule_retry(0)  # its descriptors are free: room for another
        if service in self._retiring:
            self._retiring.discard(service)
        else:
            for entry in self.entries.values():
                if entry.service is service:
                    entry.service = None
                    # runsvdir starts a runsv again at its next scan while the directory exists
                    self._schedule_retry()
        self._check_empty()

    def _schedule_retry(self, delay=RETRY_SECONDS):
        if self._retry_timer is not None and self._retry_timer.when > self.loop.monotonic() + delay:
            self._retry_timer.cancel()  # a poll is due later than this retry: retry first
            self._retry_timer = None
        if self._retry_timer is None and not self._stopping:
            def retry():
                self._retry_timer = None
                self.scan()
            self._retry_timer = self.loop.call_later(delay, retry)

    def forced_rescan(self):
        """SIGALRM (Debian): write a TAI64N label to ``DIR/.forced-rescan`` and rescan."""
        from ....protocol.tai64 import runit_stamp, tai64n_label
        label = tai64n_label(*runit_stamp(self.clock.time_ns()))
        try:
            with open(os.path.join(self.directory, ".forced-rescan"), "w") as handle:
                handle.write(label)
        except OSError as exc:
            self.warn("unable to write .forced-rescan", exc)
        self.scan()

    # -- inotify ---------------------------------------------------------------------------------
    def _open_inotify(self):
        from ...unix import inotify
        global _DIR_EVENTS
        _DIR_EVENTS = (inotify.IN_CREATE | inotify.IN_DELETE | inotify.IN_MOVED_FROM
                       | inotify.IN_MOVED_TO | inotify.IN_DELETE_SELF | inotify.IN_MOVE_SELF
                       | inotify.IN_ATTRIB)
        try:
            self._inotify = inotify.Inotify()
        except OSError as exc:
            self.warn("unable to initialize inotify instance, polling every %d seconds"
                      % POLL_SECONDS, exc)
            return
        self.loop.add_reader(self._inotify.fileno(), self._on_inotify)

    def _watch_directory(self):
        if self._inotify is None:
            return
        for wd in list(self._watches):
            try:
                self._inotify.rm_watch(wd)
            except OSError:
                pass
        self._watches.clear()
        parent, base = os.path.split(self.directory)
        for path, only_name in ((self.directory, None), (parent or "/", base)):
            try:
                self._watches[self._inotify.add_watch(path, _DIR_EVENTS)] = only_name
            except OSError as exc:
                self.warn("unable to add watch to inotify instance", exc)

    def _on_inotify(self):
        relevant = False
        for wd, _mask, _cookie, name in self._inotify.read_events():
            if wd not in self._watches:
                relevant = True  # an overflow (wd -1) or a watch just replaced: rescan to be safe
            elif self._watches[wd] is None or name == self._watches[wd]:
                relevant = True  # an entry of the tree, or the tree's own name in its parent
        if relevant:
            self.scan()

    # -- stopping ----------------------------------------------------------------------------------
    def stop(self):
        """Bring every service down as ``x`` would; KILL what is left after a grace period."""
        if self._stopping:
            return
        self._stopping = True
        if self._retry_timer is not None:
            self._retry_timer.cancel()
            self._retry_timer = None
        # Every service counts as retiring before the first is told to exit: one that is down
        # exits at once, and the tree must not look "empty" while the others still run.
        retiring = [entry for entry in self.entries.values() if entry.service is not None]
        self.entries.clear()
        self._retiring.update(entry.service for entry in retiring)
        self._kill_timer = self.loop.call_later(STOP_GRACE_SECONDS, self._kill_remaining)
        for entry in retiring:
            entry.service.terminate()
        self._check_empty()

    def _kill_remaining(self):
        """The grace is over: KILL every service but nested trees, which get a little longer
        to end their own; then whatever anyone left behind."""
        self._grace_over = True
        nested = [service for service in self._retiring if service.runs_a_tree]
        for service in list(self._retiring):
            if service not in nested:
                service.kill_all()
        for pid in self.log_host.pids | self.pipe_keeper.pids | {self.forks and self.forks.pid}:
            if pid:
                self.spawner.kill(pid, signal.SIGKILL)
        if nested:
            self._kill_timer = self.loop.call_later(NESTED_TREE_EXTRA_SECONDS,
                                                    self._kill_nested)
        else:
            self._kill_timer = self.loop.call_later(DRAIN_SECONDS, self._give_up_draining)
        self._sweep_orphans()

    def _kill_nested(self):
        for service in list(self._retiring):
            service.kill_all()
        self._kill_timer = self.loop.call_later(DRAIN_SECONDS, self._give_up_draining)
        self._end_orphans()

    def _sweep_orphans(self):
        """After the grace, look for orphans now and then: a KILLed nested tree's services and
        a KILLed orphan's children are re-parented to us without any exit of ours to say so,
        and one of them holding a logger's pipe would keep that logger from its EOF."""
        self._sweep_timer = None
        self._end_orphans()
        if self._stopping and not self._finished:
            self._sweep_timer = self.loop.call_later(ORPHAN_SWEEP_SECONDS, self._sweep_orphans)

    def _give_up_draining(self):
        """Something beyond our reach holds a pipe: KILL what is left and end the tree now
        (what a successor finds, it takes over, as after a crash)."""
        self._kill_timer = None
        self.warn("ending with %d service(s) not down after the kill" % len(self._retiring)
                  if self._retiring else "ending with orphans left behind")
        for service in list(self._retiring):
            service.kill_all()
        self._end_orphans()
        self._finish_stop()

    def _check_empty(self):
        if self._stopping and not self._retiring:
            # every logger has ended: the host exits; nothing is left to keep, nor to fork
            steps = [self.log_host.close, self.pipe_keeper.close]
            if self.forks is not None:
                steps.append(self.forks.close)
            close_each(steps + [self._end_orphans], self.warn)

    def _end_orphans(self):
        """End whatever else is still our child, then finish once everything is down.

        As a subreaper the tree adopts what its services leave behind: a daemon that forked
        away from its ``run``, or the services of a nested tree whose runsvdir had to be
        KILLed — a user's processes among them. Once every service is down they get TERM and
        CONT, and KILL once the grace period is over; after the grace they are KILLed at once,
        whether the services are down or not (one may hold a logger's pipe, and that logger's
        drain is what the tree waits for). Each one's exit looks again, since its own orphans
        are adopted in turn.
        """
        if not self._stopping or (self._retiring and not self._grace_over):
            return
        for pid in children_of_self():
            if self.loop.is_watched(pid) and pid not in self._orphans:
                continue  # someone's process (a service, a hosted logger's helper): its owner's
            is_new = pid not in self._orphans
            if is_new:
                self._orphans.add(pid)
                self.loop.watch_child(pid, self._orphan_exited)
            if self._grace_over:
                self.spawner.kill(pid, signal.SIGKILL)
            elif is_new:
                self.spawner.kill(pid, signal.SIGTERM)
                self.spawner.kill(pid, signal.SIGCONT)
        forking = self.forks is not None and self.forks.pid
        if (not self._retiring and not self._orphans and not self.log_host.pids
                and not self.pipe_keeper.pids and not forking):
            self._finish_stop()

    def _orphan_exited(self, pid, _wait_status):
        self._orphans.discard(pid)
        self._end_orphans()

    def _finish_stop(self):
        self._finished = True
        close_each([self._remove_cgroups, self._cancel_timers, self._tell_empty], self.warn)

    def _remove_cgroups(self):
        if self.cgroups is not None:
            self.cgroups.remove(self.cgroups.base)  # (not while the tree's own are in it)

    def _cancel_timers(self):
        for name in ("_kill_timer", "_sweep_timer"):
            timer = getattr(self, name)
            if timer is not None:
                timer.cancel()
                setattr(self, name, None)

    def _tell_empty(self):
        if self.on_empty is not None:
            callback, self.on_empty = self.on_empty, None
            callback()

    def warn(self, message, exc=None):
        print_warn(self.label, message, exc, self.stderr_fd)


def children_of_self():
    """Our children's pids, zombies included (``/proc/self/task/TID/children``, or a /proc walk
    on kernels built without it), as this PID namespace numbers them. /proc may be an outer
    namespace's (``unshare --pid`` without a /proc of its own): its numbers are not ours — a
    signal sent to one would reach whoever holds that number here — and each child's own is
    then taken from its ``NSpid``."""
    seen_as = int(os.readlink("/proc/self"))  # our pid as /proc numbers it
    try:
        with open("/proc/self/task/%d/children" % seen_as) as handle:  # the loop is one thread
            children = [int(child) for child in handle.read().split()]
    except FileNotFoundError:
        children = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if int(stat_fields(entry)[4 - 3]) == seen_as:  # field 4: the parent
                        children.append(int(entry))
                except (OSError, IndexError, ValueError):
                    continue
    if seen_as == os.getpid():
        return children
    depth = len(ns_pids()) - 1  # ours is the last of our NSpid; a child's, at the same place
    found = []
    for child in children:
        try:
            found.append(ns_pids(child)[depth])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return found


def become_subreaper():
    """prctl(PR_SET_CHILD_SUBREAPER): orphans of our services are re-parented to us and reaped."""
    from ...unix.processes import become_subreaper as prctl_subreaper

    prctl_subreaper()

