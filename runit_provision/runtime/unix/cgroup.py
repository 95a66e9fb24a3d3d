"""runtime/unix: cgroup v2 — a tree's subtree, a cgroup per service, its limits, its processes
listed and ended (docs/resources.md).

A tree's base is the cgroup it started in when that is one of its own (systemd's unit with
``Delegate=yes``, or a user's tree in the cgroup root made and handed over); a tree started
in the hierarchy's root makes ``/runit-provision/<its directory>``. The tree's own processes
live in the base's ``supervise`` leaf (the kernel's rule: a cgroup whose children have
controllers holds no processes), service NAME in ``base/NAME``. posix_spawn cannot start a
child in another cgroup, so the spawner moves itself there for the spawn and back: the child
is never outside its service's cgroup. Every write here is to cgroupfs: it never blocks.
"""

import errno
import os
import signal

from ...protocol.cgroupfs import (SUPERVISE_LEAF, cgroup2_mount, cgroup_name,
                                  cgroup_of_process, is_populated, is_under, keyed_counts,
                                  subtree_pids, unset_settings)

OWN_ROOT = "/runit-provision"  # a tree started in the hierarchy's root makes its base below
CONTROLLERS = ("cpu", "io", "memory", "pids")

# Root's bounds on a cgroup it hands to a user (``cgroup.max.depth``, ``cgroup.max.descendants``,
# both root's): room for a tree of services that each divide their own cgroup a few levels, and
# no more, so that removing what a user made is a moment's work for the tree that ends.
DELEGATED_BOUNDS = (("cgroup.max.depth", "8"), ("cgroup.max.descendants", "4096"))
# What delegation hands over (the kernel's cgroup-v2.rst, "Delegation Containment"): the bounds
# above are not among them.
DELEGATED_FILES = ("cgroup.procs", "cgroup.subtree_control", "cgroup.threads")

_WALK_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _read(path, limit=65536):
    with open(path, "rb") as handle:
        return handle.read(limit).decode("ascii", "replace")


def _write(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def tree_leaf_name(directory):
    """A tree directory as one cgroup name, as systemd escapes paths (``/`` -> ``-``).

    >>> tree_leaf_name("/etc/service"), tree_leaf_name("/home/a-b/service/")
    ('etc-service', 'home-a\\\\x2db-service')
    """
    parts = [part.replace("\\", "\\x5c").replace("-", "\\x2d")
             for part in directory.strip("/").split("/") if part]
    return "-".join(parts) or "-"


# A unit's own cgroup (systemd starts a unit's process there unless DelegateSubgroup= names a
# leaf, systemd 254 and later): controllers enabled for its children would make the next start
# of the unit fail (no process in a cgroup that gives controllers away), so none is.
MANAGER_PLACED = ("limits unavailable: the init system started the tree in its unit's own "
                  "cgroup (DelegateSubgroup=supervise needs systemd 254 or later); each "
                  "service still has its cgroup, and a stop ends all of it")


def is_a_units_own(path):
    """``path`` is a systemd unit's cgroup (``….service``, ``….scope``).

    >>> is_a_units_own("/system.slice/runit-provision-runsvdir.service"), is_a_units_own("/x/web")
    (True, False)
    """
    return path.rsplit("/", 1)[-1].endswith((".service", ".scope"))


def _signal_if_in(pid, path, below, signums):
    """Send ``signums`` to process ``pid`` if it is in cgroup ``path`` (or below it, with
    ``below``) now: a pid listed a moment ago may have ended and been given to a process
    elsewhere. Its cgroup is read once a pidfd holds the process, and the signals go through
    that pidfd: a process that ended since is signalled never, its pid's next owner neither."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        where = cgroup_of_process(_read("/proc/%d/cgroup" % pid))
        if where is None or not (where == path or below and is_under(where, path)):
            return False
        for signum in signums:
            signal.pidfd_send_signal(pidfd, signum)
        return True
    except OSError:  # ended meanwhile
        return False
    finally:
        os.close(pidfd)


class Unavailable(Exception):
    """No cgroup v2 this tree can use; the message says why (shown once, never fatal)."""


class Cgroups:
    """One tree's subtree: ``base`` holds a cgroup per service and the ``home`` the tree's
    own processes return to after each spawn (paths below ``mount``)."""

    __slots__ = ("mount", "base", "home", "controllers", "note")

    def __init__(self, mount, base, home, controllers=()):
        self.mount, self.base, self.home = mount, base, home
        self.controllers = tuple(controllers)
        self.note = None  # why no controller is enabled, when the tree chose so

    @classmethod
    def for_tree(cls, directory):
        """The subtree of the tree on ``directory`` (made when missing); Unavailable if none."""
        try:
            mount = cgroup2_mount(_read("/proc/self/mountinfo", 1 << 20))
            own = cgroup_of_process(_read("/proc/self/cgroup"))
        except OSError as exc:
            raise Unavailable("cannot read /proc: %s" % os.strerror(exc.errno)) from exc
        if mount is None or own is None:
            raise Unavailable("no cgroup v2 hierarchy is mounted")
        own = own.rstrip("/") or "/"
        if own.endswith("/" + SUPERVISE_LEAF):
            return cls._opened(mount, own.rsplit("/", 1)[0], own)
        if own == "/":
            if os.geteuid() != 0:
                raise Unavailable("started in the cgroup root, which only root may divide")
            return cls._opened(mount, OWN_ROOT + "/" + tree_leaf_name(directory), own)
        made = cls._opened(mount, own, own + "/" + SUPERVISE_LEAF, move_from=own,
                           controllers=not is_a_units_own(own))
        if not made.controllers and is_a_units_own(own):
            made.note = MANAGER_PLACED
        return made

    @classmethod
    def _opened(cls, mount, base, home, move_from=None, controllers=True):
        made = cls(mount, base, home)
        try:
            os.makedirs(made.fs(base), exist_ok=True)
            os.makedirs(made.fs(home), exist_ok=True)
            if move_from is not None:
                made._move_all(move_from, home)
            if controllers:
                made.controllers = made._enable_controllers()
        except OSError as exc:
            raise Unavailable("%s: %s" % (made.fs(base), os.strerror(exc.errno))) from exc
        return made

    def fs(self, path):
        """``path`` (a cgroup) as a file system path."""
        return self.mount + path if path != "/" else self.mount

    def _move_all(self, source, target):
        # The tree's processes (itself, its helpers) go to the leaf; one that forks meanwhile
        # leaves a child behind, so read again until none is left.
        for _ in range(10):
            pids = self.procs(source)
            if not pids:
                return
            for pid in pids:
                self.move(target, pid)

    def _enable_controllers(self):
        """Give the services what the base has of CONTROLLERS; the ones enabled."""
        available = _read(self.fs(self.base) + "/cgroup.controllers").split()
        wanted = [name for name in CONTROLLERS if name in available]
        if wanted:
            try:
                _write(self.fs(self.base) + "/cgroup.subtree_control",
                       " ".join("+" + name for name in wanted))
            except OSError:
                wanted = []
        return wanted

    def service(self, name):
        """Service ``name``'s cgroup path (its name escaped: ``cgroup_name``)."""
        return self.base + "/" + cgroup_name(name)

    def make(self, name, settings):
        """Service ``name``'s cgroup, made if missing, with ``settings`` (``(file, value)``)
        written and every other limit file reset (``set_limits``); OSError whose
        ``filename`` is the path that could not be made or written (a file that is missing:
        its controller is not enabled here)."""
        path = self.service(name)
        os.makedirs(self.fs(path), exist_ok=True)
        self.set_limits(path, settings)
        return path

    def set_limits(self, path, settings):
        """``settings`` written into cgroup ``path``, and the limit files they do not name
        that the cgroup has reset to no limit — a limit the data dropped is gone too."""
        for file, value in settings:
            target = self.fs(path) + "/" + file
            try:
                _write(target, value)
            except OSError as exc:
                raise OSError(exc.errno, os.strerror(exc.errno), target) from exc
        for file, value in unset_settings(settings):
            try:
                _write(self.fs(path) + "/" + file, value)
            except FileNotFoundError:
                pass  # its controller is not enabled here: nothing to reset

    def delegate(self, path, uid, gid):
        """Hand ``path`` to ``uid`` as the kernel's delegation asks: the directory and its
        DELEGATED_FILES — nothing above. Its DELEGATED_BOUNDS are written first and stay
        root's: what the user makes below stays small enough to remove when it ends."""
        for file, value in DELEGATED_BOUNDS:
            _write(self.fs(path) + "/" + file, value)
        os.chown(self.fs(path), uid, gid)
        for name in DELEGATED_FILES:
            os.chown(self.fs(path) + "/" + name, uid, gid)

    def move(self, path, pid):
        """Process ``pid`` into ``path`` (one that is gone meanwhile is not an error)."""
        try:
            _write(self.fs(path) + "/cgroup.procs", "%d" % pid)
        except ProcessLookupError:
            pass

    def spawn_in(self, path, spawn):
        """``spawn()``'s result, called while this process is in ``path``."""
        _write(self.fs(path) + "/cgroup.procs", "0")
        try:
            return spawn()
        finally:
            _write(self.fs(self.home) + "/cgroup.procs", "0")

    def procs(self, path):
        """The pids in ``path`` itself, not below (none when it is gone)."""
        try:
            return [int(word) for word in _read(self.fs(path) + "/cgroup.procs").split()]
        except FileNotFoundError:
            return []

    def subtree_procs(self, path):
        """The pids in ``path`` and every cgroup below it (protocol/cgroupfs.subtree_pids): what a
        service's stop ends, wherever the service (or the user it was handed to) put them."""
        try:
            fd = os.open(self.fs(path), _WALK_FLAGS)
        except OSError:
            return []
        try:
            return subtree_pids(fd)
        finally:
            os.close(fd)

    def is_populated(self, path):
        """Whether a process is left in ``path`` or below: the kernel's ``populated``, a walk
        where the file says nothing (False when ``path`` is gone)."""
        try:
            fd = os.open(self.fs(path), _WALK_FLAGS)
        except OSError:
            return False
        try:
            found = is_populated(fd)
            return bool(subtree_pids(fd)) if found is None else found
        finally:
            os.close(fd)

    def signal_all(self, path, signums, but=(), below=True):
        """Send each of ``signums`` to every process in ``path`` and below (``below`` False:
        in ``path`` alone) but ``but``; how many got them."""
        count = 0
        for pid in (self.subtree_procs(path) if below else self.procs(path)):
            if pid not in but and _signal_if_in(pid, path, below, signums):
                count += 1
        return count

    def kill_all(self, path, below=True):
        """KILL every process in ``path`` and below: ``cgroup.kill`` where the kernel has it
        (the whole subtree at once, a fork meanwhile too), else each process the walk finds;
        ``below`` False: those in ``path`` alone."""
        try:
            if not below:
                raise FileNotFoundError(errno.ENOENT, "not the subtree")
            _write(self.fs(path) + "/cgroup.kill", "1")
        except FileNotFoundError:
            self.signal_all(path, (signal.SIGKILL,), below=below)

    def remove(self, path):
        """Remove ``path`` and the cgroups below it (a user's tree divides its own) where no
        process is left; False when some could not be (``remove_cgroup_tree``)."""
        return remove_cgroup_tree(self.fs(path))

    def counts(self, path, name):
        """A keyed file of ``path`` (``memory.events``, ``cpu.stat``) as ``{key: int}``, or {}."""
        try:
            return keyed_counts(_read(self.fs(path) + "/" + name))
        except OSError:
            return {}


def remove_cgroup_tree(top):
    """Remove directory ``top`` and every directory below it, the deepest first; False when
    some could not be (a process still in one, a removal raced).

    A user divides what root delegates to it, as deep as the bounds allow — and a root
    service, or a tree older than the bounds, without any — so the walk keeps no frame and no
    descriptor per level: it goes down by name and back up by ``..`` with one descriptor open,
    lists each directory once, and its paths never grow past PATH_MAX. The kernel never moves
    a cgroup to another parent; were a directory moved all the same, ``..`` is checked to be
    the one the walk came from, and the walk stops there. On cgroupfs a directory's files go
    with it; elsewhere (a test's stand-in) the tree must hold directories only.
    """
    try:
        fd = os.open(top, _WALK_FLAGS)
    except OSError as exc:
        return exc.errno == errno.ENOENT
    removed_all = True
    try:
        way, pending = [], [_directories_in(fd)]  # the way down; what each level has left
        while pending:
            if pending[-1]:
                below = _open_below(fd, pending[-1].pop())
                if below is None:
                    continue
                way.append((below[1], _identity(fd)))
                os.close(fd)
                fd = below[0]
                pending.append(_directories_in(fd))
                continue
            pending.pop()
            if way:
                name, parent = way.pop()
                above = os.open("..", _WALK_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = above
                if _identity(fd) != parent:
                    raise OSError(errno.ESTALE, os.strerror(errno.ESTALE), name)
                removed_all &= _rmdir_gone(name, fd)
    except OSError:
        removed_all = False
    finally:
        os.close(fd)
    return _rmdir_gone(top) and removed_all


def _directories_in(fd):
    """The names of the directories in directory ``fd`` (none when it cannot be listed: its
    removal then fails and says so)."""
    try:
        with os.scandir(fd) as entries:
            return [entry.name for entry in entries if entry.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _open_below(fd, name):
    """``(descriptor, name)`` of directory ``name`` in ``fd``; None when it is gone or cannot
    be opened (then ``fd`` cannot be removed either, and says so)."""
    try:
        return os.open(name, _WALK_FLAGS, dir_fd=fd), name
    except OSError:
        return None


def _identity(fd):
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


def _rmdir_gone(name, dir_fd=None):
    """Remove directory ``name``: whether it is gone."""
    try:
        os.rmdir(name, dir_fd=dir_fd)
    except OSError as exc:
        return exc.errno == errno.ENOENT
    return True
