"""apply: what every declared service is doing — ``runit-provision status``'s rows.

For each ServiceUnit of the data (system services, each ``runsvdir-<login>``, the users'
services) both sides are read from their ``supervise/`` files the way sv reads them (the
``supervise/ok`` probe, then ``supervise/status``; ``observe.probe_side``), through ``FsRoot``,
and the ``down`` files say whether a side is normally up. A service is *wanted* when it is
enabled and runsv wants it up — or, with no runsv, when nothing marks it down; a wanted
service that is not running is what makes ``status`` exit 3 (LSB's "not running").
"""

from ..errors import UnsafePathError
from ..protocol.probe import is_normally_up
from .observe import probe_side


class SideStatus:
    """One side: ``state`` (``run``, ``down``, ``finish``, ``not supervised``), ``pid``,
    ``uptime`` (seconds in that state, or None), ``want`` (``up``, ``down`` or None),
    ``is_normally_up`` (no ``down`` file), ``is_paused``."""

    __slots__ = ("state", "pid", "uptime", "want", "is_normally_up", "is_paused")

    def __init__(self, state, pid=0, uptime=None, want=None, is_normally_up=True,
                 is_paused=False):
        self.state, self.pid, self.uptime, self.want = state, pid, uptime, want
        self.is_normally_up, self.is_paused = is_normally_up, is_paused

    def as_json(self):
        return {"state": self.state, "pid": self.pid or None, "uptime": self.uptime,
                "want": self.want, "normally": "up" if self.is_normally_up else "down",
                "paused": self.is_paused}


class ServiceStatus:
    """A declared service: ``label``, ``path`` (its directory), ``tree`` (login or None),
    ``enabled``, ``main`` and ``log`` (SideStatus; ``log`` None without a logger)."""

    __slots__ = ("label", "path", "tree", "enabled", "main", "log")

    def __init__(self, label, path, tree, enabled, main, log):
        self.label, self.path, self.tree, self.enabled = label, path, tree, enabled
        self.main, self.log = main, log

    @property
    def is_wanted(self):
        if not self.enabled:
            return False
        if self.main.want is not None:
            return self.main.want == "up"
        return self.main.is_normally_up

    @property
    def is_running(self):
        return self.main.state == "run"

    def as_json(self):
        return {"service": self.label, "path": self.path, "tree": self.tree,
                "enabled": self.enabled, "wanted": self.is_wanted,
                "running": self.is_running, "main": self.main.as_json(),
                "log": self.log.as_json() if self.log is not None else None}


def service_statuses(desired, fs, now, probe=None):
    """A ServiceStatus for each present unit of ``desired``, in its order; ``now``: unix
    seconds; ``probe``: ``probe_side``'s signature (tests give a fake)."""
    probe = probe or (lambda path: probe_side(fs, path))
    rows = []
    for unit in desired.units:
        if unit.is_absent:
            continue
        main = side_status(fs, unit.path, now, probe)
        log = side_status(fs, unit.path + "/log", now, probe) if unit.has_log else None
        rows.append(ServiceStatus(unit.label, unit.path, unit.login or unit.for_login,
                                  unit.is_enabled, main, log))
    return rows


def side_status(fs, path, now, probe):
    normally_up = side_is_normally_up(fs, path)
    live = probe(path)
    if not live.is_supervised:
        return SideStatus("not supervised", is_normally_up=normally_up)
    status = live.status
    if status is None:
        return SideStatus("unknown", is_normally_up=normally_up)
    return SideStatus(live.state, status.pid, max(0, now - status.seconds),
                      "up" if status.want == "u" else "down", normally_up,
                      bool(status.paused))


def side_is_normally_up(fs, path):
    """runsv's rule (``protocol.probe.is_normally_up``: ``stat``, so a ``down`` link counts by
    what it points at and a dangling one does not), with the side's directory reached through
    ``fs``; a side that cannot be reached has nothing marking it down."""
    try:
        return is_normally_up(".", dir_fd=fs.dir_fd(path))
    except (OSError, UnsafePathError):
        return True
