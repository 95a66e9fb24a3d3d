"""apply: the host's file system as the applier writes it — ``FsRoot``, host/fsread.py's
``FsReader`` (every path under one root walked one directory at a time from root's descriptor,
only root's links followed, the last component never followed, reads bounded) with the
applier's writes added. The reader is the host room's, for every room that reads; the writer
is the applier's alone: ``status``, ``logs`` and the init room never load it, ``import`` only
to write the file it is asked for (``write_atomic``).

Paths are the tree's final paths, reached by the reader's walk; nothing is ever written through
a link the walk refuses, and the last component is replaced by ``rename`` and removed with
``unlinkat``, never followed.

Writes are atomic: a file is written to a temp name in its own directory (``O_EXCL``,
``O_NOFOLLOW``), given its mode and owner through its descriptor, and renamed into place only
after ``sync()``; a link is made under a temp name and renamed over the old one. ``sync()`` is
one ``syncfs(2)`` per file system written to — every temp file's data is on disk before any of
them is renamed, as a per-file fsync would guarantee, for the price of one barrier. A write or
a removal drops the reader's cached descriptors it makes stale (``_forget``).

``write_atomic`` is the same write for one file a command names itself (render's ``--out``,
import's ``--out``/``--into``, metrics' textfile and mixin files), outside any root's walk:
its temp name is the process's own and it is fsync'd before the rename.

The work a home can ask of a removal is bounded (``MAX_DEPTH`` below, ``remove_tree(
max_entries=)`` with fsread's ``MAX_ENTRIES``): beyond a bound the caller gets ``LimitError`` —
that user's refusal — never a crash or an apply that grows with the home. No walk recurses: a
tree is removed by an iterative walk down, by descriptor.
"""

import os
import stat
import subprocess
import sys

from ..errors import ApplyError, LimitError
from ..host.fsread import DIR_FLAGS, FsReader, split
from ..model.acl import XATTR as ACL_XATTR, acl_to_bytes

TEMP_SUFFIX = ".runit-provision.tmp"
# The deepest tree removed, the top directory counted: each level holds a descriptor (two,
# with its listing's) until everything below it is gone — a walk that never climbs back
# through "..", which a user could have moved elsewhere meanwhile. A service directory is
# three deep (log/supervise/status); 1500 levels are planted, and would exhaust the
# process's descriptors (1024 by default) where they once exhausted Python's recursion.
MAX_DEPTH = 64


_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def temp_name(name):
    """The name a write of ``name`` goes through (a dot-name: runsvdir skips those)."""
    return "." + name + TEMP_SUFFIX


def is_temp_name(name):
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def write_atomic(path, data, mode=None):
    """Replace the file ``path`` whole with ``data``: written to a temp name of this process's
    in the same directory (created afresh, never through a link), given ``mode`` (None: what
    ``open()`` creates, 0o666 less the umask), fsync'd, renamed over ``path``. On any failure
    the temp file is removed and ``path`` is as it was. An OSError names ``path``, or its
    directory when no file can be made there: never the temp name, which nobody sees."""
    directory, name = os.path.split(os.fspath(path))
    temp = os.path.join(directory, "." + name + ".%d" % os.getpid() + TEMP_SUFFIX)
    try:
        fd = _create(temp, 0o600)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, directory or ".") from exc
    try:
        try:
            os.fchmod(fd, 0o666 & ~_umask() if mode is None else mode)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temp, path)
    except BaseException as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc
        raise


def _create(name, mode, dir_fd=None):
    """A descriptor on ``name`` created afresh (``O_EXCL``, ``O_NOFOLLOW``): one a writer that
    died left there is removed first (unlink never follows a link)."""
    try:
        return os.open(name, _TEMP_FLAGS, mode, dir_fd=dir_fd)
    except FileExistsError:
        os.unlink(name, dir_fd=dir_fd)
        return os.open(name, _TEMP_FLAGS, mode, dir_fd=dir_fd)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _umask():
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


class FsRoot(FsReader):
    """The file system under ``root``, reached as host/fsread.py describes, read (FsReader's
    reads) and written. Use as a context manager (or call ``close()``): it holds directory
    descriptors."""

    def __init__(self, root="/", trusted_uids=None):
        super().__init__(root, trusted_uids)
        self._devices = {}  # st_dev -> a descriptor on that file system, for sync()
        self._noted = {}  # directory -> (uid, gid) a new entry there gets
        self._euid, self._egid = os.geteuid(), os.getegid()
        self._umask = _umask()

    # -- writing -------------------------------------------------------------------------
    def make_dir(self, path, mode, uid=None, gid=None):
        """Create directory ``path`` (its parent exists) with ``mode`` and owner."""
        parent, name = split(path)
        parent_fd = self.dir_fd(parent)
        new_owner = self._note_device(parent, parent_fd)
        try:
            os.mkdir(name, mode & 0o777, dir_fd=parent_fd)
        except FileExistsError:
            info = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):  # planted since the plan looked
                self.check_link_owner(path, info)
            raise
        if self._needs_owner(new_owner, uid, gid) or self._needs_mode(mode):
            self.set_dir_attributes(path, mode, uid, gid)

    def set_dir_attributes(self, path, mode, uid=None, gid=None):
        """chmod/chown directory ``path`` through its own descriptor (never a link's target)."""
        fd = self.dir_fd(path)
        if uid is not None or gid is not None:
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
        if mode is not None:
            os.fchmod(fd, mode)

    def set_access_acl(self, path, acl):
        """Give directory ``path`` the access ACL ``acl`` through its own descriptor. Set
        after the mode: a chmod rewrites an ACL's mask, owner and other entries."""
        os.setxattr(self.dir_fd(path), ACL_XATTR, acl_to_bytes(acl))

    def write_temp(self, path, content, mode, uid=None, gid=None):
        """Write ``content`` to the temp name beside ``path`` with ``mode`` and owner set;
        ``rename_temp(path)`` (after ``sync()``) puts it in place."""
        parent, name = split(path)
        parent_fd = self.dir_fd(parent)
        new_owner = self._note_device(parent, parent_fd)
        fd = _create(temp_name(name), mode & 0o777, parent_fd)  # one an apply that died left
        try:
            if self._needs_owner(new_owner, uid, gid):
                os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
                os.fchmod(fd, mode)  # chown clears set-id bits
            elif self._needs_mode(mode):
                os.fchmod(fd, mode)
            _write_all(fd, content)
        except BaseException:
            os.close(fd)
            self.discard_temp(path)
            raise
        os.close(fd)

    def discard_temp(self, path):
        parent, name = split(path)
        try:
            os.unlink(temp_name(name), dir_fd=self.dir_fd(parent))
        except OSError:
            pass

    def rename_temp(self, path):
        parent, name = split(path)
        parent_fd = self.dir_fd(parent)
        os.rename(temp_name(name), name, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)

    def make_symlink(self, path, target, uid=None, gid=None):
        """Point ``path`` at ``target``: a link made under the temp name, renamed over
        whatever link or file was there (never over a directory)."""
        parent, name = split(path)
        parent_fd = self.dir_fd(parent)
        new_owner = self._note_device(parent, parent_fd)
        temp = temp_name(name)
        try:
            os.symlink(target, temp, dir_fd=parent_fd)
        except FileExistsError:  # left by an apply that died mid-way
            os.unlink(temp, dir_fd=parent_fd)
            os.symlink(target, temp, dir_fd=parent_fd)
        if self._needs_owner(new_owner, uid, gid):
            os.chown(temp, -1 if uid is None else uid, -1 if gid is None else gid,
                     dir_fd=parent_fd, follow_symlinks=False)
        os.rename(temp, name, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
        self._forget(path)  # a cached walk through the old link leads elsewhere now

    def remove(self, path):
        """Remove the file, link or empty directory ``path`` (never what a link points to)."""
        parent, name = split(path)
        parent_fd = self.dir_fd(parent)
        self._note_device(parent, parent_fd)
        info = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
        self._forget(path)  # a directory, or a link a cached walk went through
        if stat.S_ISDIR(info.st_mode):
            os.rmdir(name, dir_fd=parent_fd)
        else:
            os.unlink(name, dir_fd=parent_fd)

    def remove_tree(self, path, max_entries=None):
        """Remove ``path`` and everything below it, links removed and never followed: a walk
        down by descriptor, at most ``MAX_DEPTH`` directories deep, reading at most
        ``max_entries`` entries in all (None: no bound). LimitError beyond either: what was
        removed is gone, the rest is left."""
        parent, name = split(path)
        self._forget(path)
        parent_fd = self.dir_fd(parent)
        self._note_device(parent, parent_fd)
        _remove_below(parent_fd, name, self.host_path(path), max_entries)

    def compile(self, sources):
        """Have the standard library's ``compileall`` write the unchecked hash-based ``.pyc``
        of each module of ``sources`` (final paths) beside it, in an interpreter of its own
        (``-I -S``: nothing of this process's environment, no site), under umask 022 (a
        ``.pyc`` takes its module's mode) and named by its final path. Each module's
        directory is walked first as a write's is: a link the walk refuses stops it."""
        for parent in sorted({split(path)[0] for path in sources}):
            self._note_device(parent, self.dir_fd(parent))
        argv = [sys.executable, "-I", "-S", "-m", "compileall", "-q", "-f",
                "--invalidation-mode", "unchecked-hash"]
        if self.root != "/":
            argv += ["-s", self.root, "-p", "/"]
        listed = "".join(self.host_path(path) + "\n" for path in sources)
        done = subprocess.run(argv + ["-i", "-"], input=listed.encode(), umask=0o022,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            said = done.stdout.decode("utf-8", "replace").strip()
            raise ApplyError("cannot compile the modules (%s -m compileall, exit %d)%s"
                             % (sys.executable, done.returncode, ": " + said if said else ""))

    def sync(self):
        """Make every write so far durable: one syncfs(2) per file system written to."""
        devices, self._devices = self._devices, {}
        self._noted = {}
        for device_fd in devices.values():
            _syncfs(device_fd)
            os.close(device_fd)

    def _note_device(self, directory, fd):
        """Remember a descriptor on the file system of ``directory`` (open as ``fd``), for
        ``sync()``, and return ``(uid, gid)`` a new entry there gets (ours; the directory's
        group when it is set-group-id). Each directory is looked at once."""
        found = self._noted.get(directory)
        if found is not None:
            return found
        info = os.fstat(fd)
        if info.st_dev not in self._devices:
            self._devices[info.st_dev] = os.dup(fd)
        found = self._noted[directory] = (
            self._euid, info.st_gid if info.st_mode & stat.S_ISGID else self._egid)
        return found

    @staticmethod
    def _needs_owner(new_owner, uid, gid):
        return (uid is not None and uid != new_owner[0]) or (
            gid is not None and gid != new_owner[1])

    def _needs_mode(self, mode):
        """Whether creating with ``mode`` under our umask falls short of it."""
        return mode & ~self._umask & 0o7777 != mode

    # -- lifetime ------------------------------------------------------------------------
    def close(self):
        for fd in self._devices.values():
            os.close(fd)
        self._devices = {}
        super().close()


def _remove_below(parent_fd, name, shown, max_entries):
    """Remove ``name`` in ``parent_fd`` (``shown``: its path, for messages) and everything
    below it, depth first without recursion: a stack of the directories being emptied, each
    opened relative to the one above it (``O_NOFOLLOW``), read while its entries go. An entry
    gone between the listing and its removal is done (a runsv's last step may remove its
    ``supervise/event/ok`` as the walk goes: ``sv exit`` returned before it)."""
    try:
        info = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(name, dir_fd=parent_fd)
        return
    stack = [_Emptied(parent_fd, name)]
    read = 0
    try:
        while stack:
            level = stack[-1]
            entry = next(level.entries, None)
            if entry is None:
                stack.pop().close()
                _gone_already(os.rmdir, level.name, level.parent_fd)
                continue
            read += 1
            if max_entries is not None and read > max_entries:
                raise LimitError("cannot remove %s: more than %d entries in it (the most the "
                                 "applier removes of a user's); the rest is left"
                                 % (shown, max_entries))
            if not entry.is_dir(follow_symlinks=False):
                _gone_already(os.unlink, entry.name, level.fd)
            elif len(stack) < MAX_DEPTH:
                try:
                    stack.append(_Emptied(level.fd, entry.name))
                except FileNotFoundError:
                    continue
            else:
                raise LimitError("cannot remove %s: more than %d directories deep (the "
                                 "deepest tree the applier removes); the rest is left"
                                 % (shown, MAX_DEPTH))
    finally:
        for level in stack:
            level.close()


def _gone_already(remove, name, dir_fd):
    try:
        remove(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass


class _Emptied:
    """One directory of a tree being removed: its descriptor, opened relative to its
    parent's, and the listing being read."""

    __slots__ = ("parent_fd", "name", "fd", "entries")

    def __init__(self, parent_fd, name):
        self.parent_fd, self.name = parent_fd, name
        self.fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
        try:
            self.entries = os.scandir(self.fd)
        except BaseException:
            os.close(self.fd)
            raise

    def close(self):
        if self.fd >= 0:
            self.entries.close()
            os.close(self.fd)
            self.fd = -1


def _syncfs(fd):
    """syncfs(2) on the file system of ``fd``; os.sync() where libc lacks it."""
    from ..runtime.unix.libc import libc

    try:
        call = libc()["syncfs"]
    except AttributeError:
        os.sync()
        return
    if call(fd) != 0:
        os.sync()
