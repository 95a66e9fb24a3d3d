"""apply: the runit side of a plan — waiting for runsv, restarts, HUPs, stops, commands.

``Activator.execute(step)`` does one ``wait``, ``restart``, ``hup``, ``exit`` or ``run`` step:

* ``wait``: until runsv really serves each newly linked directory — and, for one that declares
  readiness, until it said it is ready (``wait_ready``; docs/readiness.md), within the same
  ``--wait`` — a writer's non-blocking
  open of ``supervise/ok`` succeeds (the liveness probe sv uses; a FIFO that merely exists may
  be stale, Chef #166) — and its ``log/supervise/ok``. Event-driven: inotify on each directory
  and its ``supervise/`` wakes the wait when runsv creates or opens ``ok``; a re-check every
  half second covers what events cannot show. Bounded by ``--wait``; a timeout says which
  services and the likely cause (``diagnosis``): no runsvdir on that service directory, a
  wrong ``service_dir``, the user's tree not up.
* ``restart``/``hup``/``exit``/``run``: the step's argv through the runner (as the user for a
  user's services); a failure fails the apply with the command's own output. An ``exit`` whose
  runsv is gone anyway (runsvdir stops the runsv of a link that vanished) is not a failure.
  A restart or HUP of a side whose state cannot be told (``host/sides.probe_side``: its status
  made a FIFO, its ``ok`` a file) is not sent: it fails, and stays owed.
"""

import select
import time

from ..errors import ApplyError, CommandError, UnsafePathError, WaitTimeout
from ..host.sides import probe_side
from ..protocol.layout import SUPERVISE_DIR
from ..protocol.status import State
from ..shown import shown_name
from .steps import Action, ServiceStep, WaitStep

RECHECK_SECONDS = 0.5
WATCH_MASK_NAMES = ("IN_CREATE", "IN_MOVED_TO", "IN_OPEN", "IN_ATTRIB", "IN_DELETE_SELF")


class Activator:
    """Executes the runit steps of a plan: ``fs`` (FsRoot), ``runner`` (runner.py), ``waiter``
    (``wait_supervised``'s signature), ``wait_seconds`` (``--wait``) and ``desired``."""

    def __init__(self, fs, runner, desired, wait_seconds=15.0, waiter=None, probe=None):
        self.fs, self.runner, self.desired = fs, runner, desired
        self.wait_seconds = wait_seconds
        self.probe = probe or (lambda path: probe_side(fs, path))
        self.waiter = waiter or wait_supervised

    def execute(self, step):
        """Do one WaitStep, ServiceStep or CommandStep; returns the Completed of a command
        (None for a wait)."""
        if isinstance(step, WaitStep):
            self.wait(step.units)
            return None
        if isinstance(step, ServiceStep) and step.is_owed:
            self.check_state_known(step)
        timeout = self.desired.sv_timeout + 10 if step.action is not Action.RUN else None
        done = self.runner.run(step.argv, timeout=timeout, run_as=step.run_as)
        if done.returncode == 0:
            return done
        if step.action is Action.EXIT and not any(
                self.probe(path).is_supervised for path in step.argv[-2:]
                if path.startswith("/")):
            return done  # runsv went away on its own (runsvdir saw the link vanish)
        raise CommandError("%s failed (exit %s): %s" % (
            " ".join(step.argv), done.returncode, done.output.strip() or "no output"),
            step.argv, done.returncode)

    def check_state_known(self, step):
        """ApplyError, before sv, when whether the side of a restart or HUP runs cannot be
        told (planned so, or become so since): the step stays owed (host/owed.py) — a restart
        sent blind could start what was stopped by hand, and sv's ``-w`` could not see it
        done anyway."""
        unknown = self.probe(step.target).unknown
        if unknown is not None:
            raise ApplyError("%s: %s not done, owed to the next apply: whether %s runs "
                             "cannot be told (%s)" % (step.path, step.action.value,
                                                      self.fs.host_path(step.target), unknown))

    def wait(self, units):
        started = time.monotonic()
        sides = [path for unit in units for path in unit.side_paths()]
        pending = self.waiter(self.fs, sides, self.wait_seconds, self.probe)
        if pending:
            raise WaitTimeout(diagnosis(self.fs, self.desired, units, pending,
                                        self.wait_seconds, self.probe))
        ready = [unit for unit in units if unit.waits_ready and not unit.is_down]
        if ready:
            left = max(0.0, self.wait_seconds - (time.monotonic() - started))
            late = wait_ready(self.fs, ready, left, self.probe)
            if late:
                raise WaitTimeout("\n".join(
                    "%s: not ready within %gs: %s (docs/readiness.md)"
                    % (unit.label, self.wait_seconds, why) for unit, why in late))


def wait_supervised(fs, sides, timeout, probe):
    """Wait until a runsv serves every side directory (final paths) or ``timeout`` seconds
    pass; returns the sides still not served ([] when all are)."""
    pending = [side for side in sides if not probe(side).is_supervised]
    if not pending:
        return []
    deadline = time.monotonic() + timeout
    try:
        from ..runtime.unix import inotify
        watcher = inotify.Inotify()
        mask = 0
        for name in WATCH_MASK_NAMES:
            mask |= getattr(inotify, name)
    except OSError:
        watcher = None  # no inotify: the re-check below, at a shorter interval
    watched = set()
    try:
        while True:
            if watcher is not None:
                for side in pending:
                    for directory in (side, side + "/" + SUPERVISE_DIR):
                        if directory not in watched:
                            try:
                                watcher.add_watch(fs.host_path(directory), mask)
                                watched.add(directory)
                            except OSError:
                                pass  # not there yet: its parent's IN_CREATE wakes us
            pending = [side for side in pending if not probe(side).is_supervised]
            remaining = deadline - time.monotonic()
            if not pending or remaining <= 0:
                return pending
            if watcher is None:
                time.sleep(min(remaining, 0.05))
                continue
            select.select([watcher.fd], [], [], min(remaining, RECHECK_SECONDS))
            watcher.read_events()
    finally:
        if watcher is not None:
            watcher.close()


def wait_ready(fs, units, timeout, probe):
    """Wait until every unit (each declares readiness) runs and said it is ready
    (``supervise/readiness`` about the pid that runs: docs/readiness.md), or ``timeout``
    seconds pass; ``(unit, why)`` of each that did not ([] when all did). Woken by the record's
    rename in ``supervise/``; a look every half second covers what events cannot show."""
    deadline = time.monotonic() + timeout
    try:
        from ..runtime.unix import inotify
        watcher = inotify.Inotify()
    except OSError:
        watcher = None
    watched = set()
    try:
        while True:
            late = [(unit, why) for unit, why in ((unit, not_ready(fs, unit, probe))
                                                   for unit in units) if why]
            remaining = deadline - time.monotonic()
            if not late or remaining <= 0:
                return late
            units = [unit for unit, _ in late]
            if watcher is None:
                time.sleep(min(remaining, 0.05))
                continue
            for unit in units:
                if unit.path not in watched:
                    try:
                        watcher.add_watch(fs.host_path(unit.path + "/" + SUPERVISE_DIR),
                                          inotify.IN_MOVED_TO)
                        watched.add(unit.path)
                    except OSError:
                        pass
            select.select([watcher.fd], [], [], min(remaining, RECHECK_SECONDS))
            watcher.read_events()
    finally:
        if watcher is not None:
            watcher.close()


def not_ready(fs, unit, probe):
    """Why ``unit`` is not ready yet (None: it is)."""
    from ..protocol.readiness import read_readiness_at
    status = probe(unit.path).status
    if status is None or status.state != State.RUN or not status.pid:
        return "not running"
    try:
        found = read_readiness_at(fs.dir_fd(unit.path + "/" + SUPERVISE_DIR))
    except (OSError, UnsafePathError):
        found = None
    if found is None or found.pid != status.pid:
        return "nothing recorded for pid %d yet" % status.pid
    if found.state == "ready":
        return None
    return found.state + (": " + shown_name(found.status) if found.status else "")  # theirs


def diagnosis(fs, desired, units, pending, seconds, probe):
    """Why ``pending`` sides are not served after ``seconds``: the likely cause, per tree."""
    lines = []
    for unit in units:
        missing = [side for side in pending if side in unit.side_paths()]
        if not missing:
            continue
        if unit.path not in missing:
            lines.append("%s: runsv serves it, but its log side did not start within %gs "
                         "(is log/run executable? sv status %s)" % (unit.label, seconds,
                                                                   unit.path))
            continue
        tree = unit.link.rsplit("/", 1)[0]
        if unit.login is not None:
            runsvdir = next((other for other in desired.units
                             if other.for_login == unit.login), None)
            if runsvdir is not None and not probe(runsvdir.path).is_running:
                lines.append("%s: %s's tree is not up: %s is not running (sv status %s)"
                             % (unit.label, unit.login, runsvdir.name, runsvdir.path))
            else:
                lines.append("%s: no runsv took up %s within %gs, although %s's tree runs: "
                             "is %s's service_dir right?" % (unit.label, unit.link, seconds,
                                                            unit.login, unit.login))
            continue
        if any_supervised(fs, tree, probe, exclude=unit.name):
            lines.append("%s: no runsv took up %s within %gs, although a runsvdir serves %s "
                         "(a C runsvdir rescans every 5 s: give --wait more time)"
                         % (unit.label, unit.link, seconds, tree))
        else:
            lines.append("%s: no runsv took up %s within %gs: no runsvdir seems to run on %s "
                         "(start it — install-runtime links it into init — or check "
                         "service_dir)" % (unit.label, unit.link, seconds, tree))
    return "\n".join(lines) or "timed out waiting for %s" % ", ".join(pending)


def any_supervised(fs, directory, probe, exclude=None):
    """Whether any service in ``directory`` (a runsvdir's) has a live runsv."""
    for name, _ in fs.listdir(directory):
        if name.startswith(".") or name == exclude:
            continue
        if probe(directory + "/" + name).is_supervised:
            return True
    return False
