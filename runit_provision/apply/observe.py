"""apply: what the host is — every path the plan will ask about, read once.

``observe(desired, fs, probe)`` returns an ``Observation``: an ``Actual`` for every path of
the desired tree (and each disabled service's link), the files found in what the applier owns
that the data no longer declares (``extras``: runit's names in a service directory — ``run``,
``finish``, ``check``, ``down``, ``control/*``, ``log/run``…, ``env/*`` only when ``env`` is
declared — and temp files an interrupted apply left), and the live state of every service
(``probe``: the ``supervise/ok`` probe and the status read). Runtime-owned paths (supervise/,
svlogd's files) are never listed as extras, so the plan can never touch them.

Each file is read once, through ``FsRoot`` (no link a user planted is followed: such a path
is observed as ``unsafe``). A regular file with other hard links is not read — it may be
someone else's file linked in — and is replaced whole.
"""

import errno
import os
import stat

from ..errors import ProtocolError, UnsafePathError
from ..protocol.layout import (
    CHECK, CONTROL_DIR, DOWN, ENV_DIR, FINISH, LOG_DIR, OK, RUN, STATUS, SUPERVISE_DIR)
from ..protocol.status import STATUS_SIZE, status_from_bytes
from .fsroot import is_temp_name

# runit's names in a service directory (and in log/) that the applier renders and so owns
OWNED_NAMES = (RUN, FINISH, CHECK, DOWN)


class Actual:
    """What is at one path: ``kind`` is ``missing``, ``file``, ``directory``, ``symlink``,
    ``other`` (a FIFO, a device…), ``unsafe`` (reached only through a link someone else owns)
    or ``error`` (``error`` says why). ``content`` is a file's bytes (None if not read),
    ``target`` a link's target — or, for a directory reached through a trusted link, that
    link's target."""

    __slots__ = ("kind", "mode", "uid", "gid", "content", "target", "error")

    def __init__(self, kind, mode=None, uid=None, gid=None, content=None, target=None,
                 error=None):
        self.kind, self.mode, self.uid, self.gid = kind, mode, uid, gid
        self.content, self.target, self.error = content, target, error

    @classmethod
    def from_stat(cls, info, **extra):
        mode = info.st_mode
        if stat.S_ISREG(mode):
            kind = "file"
        elif stat.S_ISDIR(mode):
            kind = "directory"
        elif stat.S_ISLNK(mode):
            kind = "symlink"
        else:
            kind = "other"
        return cls(kind, stat.S_IMODE(mode), info.st_uid, info.st_gid, **extra)

    @property
    def exists(self):
        return self.kind not in ("missing",)

    def __eq__(self, other):
        return isinstance(other, Actual) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __repr__(self):
        shown = ["%s=%r" % (name, getattr(self, name)) for name in self.__slots__[1:]
                 if getattr(self, name) is not None]
        return "Actual(%r%s)" % (self.kind, "".join(", " + item for item in shown))


MISSING = Actual("missing")


class SideLive:
    """One side (the service or its log) as runsv shows it: ``is_supervised`` (a runsv
    holds ``supervise/ok``) and ``status`` (the decoded ``supervise/status``, or None)."""

    __slots__ = ("is_supervised", "status")

    def __init__(self, is_supervised=False, status=None):
        self.is_supervised, self.status = is_supervised, status

    @property
    def state(self):
        """``run``, ``down``, ``finish``, or None when unknown."""
        return None if self.status is None else self.status.state.name.lower()

    @property
    def is_want_up(self):
        return self.status is not None and self.status.want == "u"

    @property
    def pid(self):
        return 0 if self.status is None else self.status.pid

    @property
    def is_running(self):
        return self.is_supervised and self.state == "run"

    def __repr__(self):
        return "SideLive(supervised=%r, state=%r, want_up=%r, pid=%r)" % (
            self.is_supervised, self.state, self.is_want_up, self.pid)


NOT_SUPERVISED = SideLive()


class Live:
    """Both sides of a service directory."""

    __slots__ = ("main", "log")

    def __init__(self, main=NOT_SUPERVISED, log=NOT_SUPERVISED):
        self.main, self.log = main, log

    def __repr__(self):
        return "Live(main=%r, log=%r)" % (self.main, self.log)


class Observation:
    """``paths``: {path: Actual}; ``extras``: {path: Actual} to purge; ``live``: {unit path:
    Live}; ``is_staging``: nothing runs (``--root``), so nothing was probed."""

    def __init__(self, paths=None, extras=None, live=None, is_staging=False):
        self.paths = paths or {}
        self.extras = extras or {}
        self.live = live or {}
        self.is_staging = is_staging

    def actual(self, path):
        return self.paths.get(path, MISSING)

    def live_of(self, unit):
        return self.live.get(unit.path, Live())


def observe(desired, fs, probe=None):
    """The Observation of everything ``desired`` covers; ``probe(path) -> SideLive`` reads a
    side's live state (``probe_side`` on ``fs``; None: nothing is probed, as under
    ``--root``)."""
    paths = {}
    tree = desired.tree
    for entry in tree:
        paths[entry.path] = observe_path(fs, entry.path, entry.kind)
    for entry in tree:
        _observe_parents(fs, tree, paths, entry.path)
    extras = {}
    live = {}
    for unit in desired.units:
        if not unit.is_enabled and not unit.is_absent and unit.link not in paths:
            paths[unit.link] = observe_path(fs, unit.link, "symlink")
        base = paths.get(unit.path) or observe_path(fs, unit.path, "directory")
        if base.kind != "directory":
            continue
        if probe is not None:
            live[unit.path] = _live(probe, unit)
        if unit.is_absent:
            continue
        if not unit.has_log:
            paths[unit.path + "/" + LOG_DIR] = observe_path(fs, unit.path + "/" + LOG_DIR,
                                                            "directory")
        extras.update(_undeclared(fs, desired, unit))
    return Observation(paths, extras, live, is_staging=probe is None)


def _observe_parents(fs, tree, paths, path):
    """The directories above ``path`` that the tree does not declare, up to the first that
    exists (the plan creates the missing ones)."""
    parent = path.rsplit("/", 1)[0] or "/"
    while parent != "/" and parent not in tree and parent not in paths:
        actual = paths[parent] = observe_path(fs, parent, "directory")
        if actual.kind != "missing":
            break
        parent = parent.rsplit("/", 1)[0] or "/"


def observe_path(fs, path, kind):
    """The Actual at ``path``, read as an entry of ``kind`` needs (a file's content, a link's
    target, a directory through a trusted link)."""
    try:
        if kind == "file":
            return _observe_file(fs, path)
        info = fs.lstat(path)
        if info is None:
            return MISSING
        if stat.S_ISLNK(info.st_mode):
            if kind == "directory":
                return _observe_linked_dir(fs, path, info)
            return Actual.from_stat(info, target=fs.readlink(path))
        return Actual.from_stat(info)
    except UnsafePathError as exc:
        return Actual("unsafe", error=str(exc))
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            return Actual("error", error="%s: a file is where a directory should be"
                          % fs.host_path(path))
        return Actual("error", error="%s: %s" % (fs.host_path(path), exc.strerror))


def _observe_file(fs, path):
    try:
        content, info = fs.read_file(path)
    except FileNotFoundError:
        return MISSING
    if content is None:
        target = fs.readlink(path) if stat.S_ISLNK(info.st_mode) else None
        return Actual.from_stat(info, target=target)
    if info.st_nlink > 1:
        return Actual.from_stat(info, error="has %d hard links" % info.st_nlink)
    return Actual.from_stat(info, content=content)


def _observe_linked_dir(fs, path, info):
    """A link where a directory is wanted: fine when it is trusted and leads to one."""
    target = fs.readlink(path)
    fs.check_link_owner(path, info)
    resolved = fs.dir_stat(path)
    if resolved is None:
        return Actual.from_stat(info, target=target)  # dangling: replace it
    return Actual.from_stat(resolved, target=target)


def _undeclared(fs, desired, unit):
    """runit's names under ``unit``'s directory that the tree does not declare."""
    found = {}
    tree = desired.tree

    def scan(directory, owned_only, whole=False):
        for name, info in fs.listdir(directory):
            path = directory + "/" + name
            if path in tree:
                continue
            if is_temp_name(name) or whole or name in owned_only:
                found[path] = Actual.from_stat(info)

    scan(unit.path, OWNED_NAMES)
    for sub, purge in ((CONTROL_DIR, True), (ENV_DIR, unit.has_env)):
        directory = unit.path + "/" + sub
        if not purge:
            continue
        scan(directory, (), whole=True)
        if directory not in tree and (unit.path + "/" + sub) not in found:
            info = _lstat_quiet(fs, directory)
            if info is not None and stat.S_ISDIR(info.st_mode):
                found[directory] = Actual.from_stat(info)
    log = unit.path + "/" + LOG_DIR
    info = _lstat_quiet(fs, log) if unit.has_log else None
    if info is not None and stat.S_ISDIR(info.st_mode):
        scan(log, OWNED_NAMES)
        scan(log + "/" + CONTROL_DIR, (), whole=True)
    return found


def _lstat_quiet(fs, path):
    try:
        return fs.lstat(path)
    except OSError:
        return None


def _live(probe, unit):
    main = probe(unit.path)
    log = probe(unit.path + "/" + LOG_DIR) if unit.has_log or main.is_supervised else \
        NOT_SUPERVISED
    return Live(main, log)


def probe_side(fs, path):
    """A side's SideLive, read as sv reads it — the ``supervise/ok`` probe (a writer's
    non-blocking open: ENXIO = no runsv), then one read of ``supervise/status`` — but reached
    through ``fs`` (no planted link followed) with ``O_NOFOLLOW`` on the FIFO and the file, so
    a user's tree can never make the applier open something else. Never writes or blocks."""
    try:
        supervise = fs.dir_fd(path + "/" + SUPERVISE_DIR)
        fd = os.open(OK, os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC,
                     dir_fd=supervise)
    except (OSError, UnsafePathError):
        return NOT_SUPERVISED  # ENXIO: no runsv; ENOENT: none ever ran here
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return NOT_SUPERVISED
    finally:
        os.close(fd)
    try:
        fd = os.open(STATUS, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC,
                     dir_fd=supervise)
        try:
            status = status_from_bytes(os.read(fd, STATUS_SIZE))
        finally:
            os.close(fd)
    except (OSError, ProtocolError):
        return SideLive(True)  # supervised, state unreadable
    return SideLive(True, status)
