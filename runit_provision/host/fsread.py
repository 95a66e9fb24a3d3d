"""host: the host's files under one root, read — every path walked one directory at a time,
never through a link that is not trusted.

Paths are the tree's final paths (``/etc/sv/web/run``). ``FsReader(root)`` finds them under
``root`` (``/`` on a host, ``DIR`` with ``--root``) by walking from root's descriptor: each
directory is opened relative to its parent with ``O_NOFOLLOW`` (openat). A symbolic link on
the way is followed only when root or the reader itself owns it — ``/etc/service ->
/var/service``, made by the admin or a package — and its target is resolved under root too (an
absolute target from root, ``..`` never above it), so no path leaves root. A link owned by
anyone else (a user's ``~/sv -> /etc`` in their home) is refused with ``UnsafePathError``:
nothing is ever read (or, by the applier, written) through it. The last component of a path
is never followed: it is examined with ``lstat`` and read with ``O_NOFOLLOW | O_NONBLOCK`` (a
bounded read, ``READ_LIMIT``, never blocked on a FIFO); ``resolve()`` says where a path leads,
by the same rules, for a reader that asks.

The one way any room reaches a host's files under a root: ``status``, ``logs``
(``dir_opener``), ``import``, ``verify``'s init room (``initsys/hostview.py``) read through an
``FsReader``; the applier through ``apply/fsroot.py``'s ``FsRoot``, an ``FsReader`` with the
writes added — so the applier reads by these rules too, and a view does not load what only
the applier runs.

Opened directories are kept in a small LRU cache (a plan of 1000 services opens each directory
once); a descriptor handed out is used at once, before the next call. The work a home can ask
of a read is bounded: a caller reading a user's directory says so (``scan(limit=)``, or
``lookup``, which reads none of a directory's other entries), and beyond ``MAX_ENTRIES`` gets
``LimitError`` — that user's refusal — never a crash or a look that grows with the home.
"""

import errno
import os
import stat

from ..errors import ApplyError, LimitError, UnsafePathError
from ..model.acl import XATTR as ACL_XATTR, acl_from_bytes

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# The most of a file read to compare it: the files the applier writes are scripts and values;
# a larger one (a user's, planted) is not read — and so replaced whole — never read without
# an end (a file that keeps growing, a sparse terabyte).
READ_LIMIT = 1 << 20
MAX_LINKS = 40  # the kernel's own limit on links in one lookup
CACHE_SIZE = 128
# The most entries read from one directory of a user's part (their service directories,
# ``env/``, ``control/``, ``log/``), and from a whole tree removed there (a retired service,
# a dropped ``log/``). Those hold runit's names and the data's variables — tens of entries;
# thousands are planted, and each would cost an apply memory and a line of output (one planned
# removal each). Beyond it the user is refused, nothing more read.
MAX_ENTRIES = 10000


def split(path):
    """``/etc/sv/web`` -> ``("/etc/sv", "web")``; the root has no parent. UnsafePathError for
    ``.`` or ``..`` last: an entry is named, never a way up (``/..`` would be above the root).
    """
    parent, _, name = path.rstrip("/").rpartition("/")
    if name in (".", ".."):
        raise UnsafePathError("%s: a path ending in %s names no entry under the root"
                              % (path, name))
    return parent or "/", name


class FsReader:
    """The file system under ``root``, reached as the module describes, read. Use as a context
    manager (or call ``close()``): it holds directory descriptors."""

    read_limit = READ_LIMIT  # the most ``read_file`` reads (import says so of a larger file)

    def __init__(self, root="/", trusted_uids=None):
        self.root = os.path.abspath(root)
        self.trusted_uids = frozenset({0, os.geteuid()} if trusted_uids is None
                                      else trusted_uids)
        try:
            root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise ApplyError("cannot open the root %s: %s" % (self.root, exc.strerror)) from exc
        self._root = (root_fd, ())
        self._cache = {}  # path -> (fd, real path), least recently used first

    # -- names ---------------------------------------------------------------------------
    def host_path(self, path):
        """Where a final path is on this host: ``DIR/etc/sv`` with ``--root DIR``."""
        if self.root == "/":
            return path
        return self.root + path if path != "/" else self.root

    # -- walking -------------------------------------------------------------------------
    def dir_fd(self, path):
        """The descriptor of directory ``path``; FileNotFoundError, NotADirectoryError or
        UnsafePathError on the way. Use it at once: a later call may close it."""
        return self._dir(path)[0]

    def _dir(self, path):
        found = self._cached(path)  # keys are clean paths, as callers mostly give them
        if found is not None:
            return found
        path = "/" + path.strip("/") if path.strip("/") else "/"
        if path == "/":
            return self._root
        # One step at a time from the nearest directory open, without a frame per level: a
        # path a user's record names may have thousands.
        found, below = self._nearest_open(path)
        for here in below:  # a step, ".." too: _step keeps it under root
            found = self._step(found[0], found[1], here.rpartition("/")[2], [MAX_LINKS], here)
            self._cache[here] = found
            while len(self._cache) > CACHE_SIZE:
                fd, _ = self._cache.pop(next(iter(self._cache)))
                os.close(fd)
        return found

    def _nearest_open(self, path):
        """The open directory nearest ``path`` or above it (the root at worst), and the paths
        from there down to ``path``, each one step below the one before."""
        below = []
        while path != "/":
            found = self._cached(path)
            if found is not None:
                return found, below[::-1]
            below.append(path)
            path = path.rpartition("/")[0] or "/"
        return self._root, below[::-1]

    def _cached(self, path):
        found = self._cache.get(path)
        if found is not None:
            self._cache[path] = self._cache.pop(path)  # the most recently used, last
        return found

    def _step(self, fd, real, name, hops, wanted):
        """A new descriptor for directory ``name`` in ``fd`` (real path ``real``), following
        a trusted link; ``(fd, real parts)``. ``..`` never goes above the root."""
        if name in (".", ".."):
            real = real if name == "." else real[:-1]
            return self._open_real(real), real
        try:
            return os.open(name, DIR_FLAGS, dir_fd=fd), real + (name,)
        except FileNotFoundError as exc:  # nothing there (a side never supervised)
            raise FileNotFoundError(exc.errno, exc.strerror, self.host_path(wanted)) from None
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise type(exc)(exc.errno, exc.strerror, self.host_path(wanted)) from None
        return self._through_link(fd, real, name, hops, wanted)

    def _through_link(self, fd, real, name, hops, wanted):
        """``_step`` where ``name`` is no directory to open: a trusted link is followed, as
        ``_step`` describes; anything else is NotADirectoryError."""
        here = "/" + "/".join(real + (name,))
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if not stat.S_ISLNK(info.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR),
                                     self.host_path(here))
        self.check_link_owner(here, info)
        hops[0] -= 1
        if hops[0] < 0:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), self.host_path(wanted))
        target = os.readlink(name, dir_fd=fd)
        start, current = (self._root[0], ()) if target.startswith("/") else (fd, real)
        current_fd = os.dup(start)  # ours to close, whatever the walk below does
        for part in target.split("/"):
            if not part:
                continue
            try:
                next_fd, current = self._step(current_fd, current, part, hops, wanted)
            finally:
                os.close(current_fd)
            current_fd = next_fd
        return current_fd, current

    def _open_real(self, parts):
        """A new descriptor for a real path (no links in it), walked from root."""
        fd = os.dup(self._root[0])
        for part in parts:
            next_fd = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = next_fd
        return fd

    def check_link_owner(self, path, info):
        """UnsafePathError unless the link at ``path`` (its lstat ``info``) is trusted."""
        if info.st_uid not in self.trusted_uids:
            raise UnsafePathError(
                "%s is a symbolic link owned by uid %d, not by root: not followed (a link "
                "planted in a tree the applier writes to)" % (self.host_path(path),
                                                               info.st_uid))

    def _forget(self, path):
        """Drop cached descriptors of ``path`` and below (it was removed or replaced)."""
        prefix = path.rstrip("/") + "/"
        for key in [key for key in self._cache if key.startswith(prefix) or key == path]:
            os.close(self._cache.pop(key)[0])

    # -- reading -------------------------------------------------------------------------
    def lstat(self, path):
        """``os.stat_result`` of ``path`` itself (a link is not followed), or None when it
        or a directory above it does not exist."""
        parent, name = split(path)
        try:
            return os.stat(name, dir_fd=self.dir_fd(parent), follow_symlinks=False)
        except FileNotFoundError:
            return None

    def dir_stat(self, path):
        """``os.stat_result`` of directory ``path`` reached through trusted links, or None if
        it does not exist; NotADirectoryError when it is something else."""
        try:
            return os.fstat(self.dir_fd(path))
        except FileNotFoundError:
            return None

    def access_acl(self, path):
        """The access ACL directory ``path`` holds (model/acl.py), read through its own
        descriptor; None when it holds none (its mode says all). OSError ENOTSUP when its file
        system keeps no ACL; ProtocolError for bytes that are not one."""
        try:
            return acl_from_bytes(os.getxattr(self.dir_fd(path), ACL_XATTR))
        except OSError as exc:
            if exc.errno == errno.ENODATA:
                return None
            raise

    def read_file(self, path):
        """``(bytes, stat)`` of the regular file ``path``; ``(None, stat)`` when it is not a
        regular file (never blocks on a FIFO, never follows a link)."""
        parent, name = split(path)
        try:
            fd = os.open(name, READ_FLAGS, dir_fd=self.dir_fd(parent))
        except FileNotFoundError:
            raise
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            return None, os.stat(name, dir_fd=self.dir_fd(parent), follow_symlinks=False)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > READ_LIMIT:
                return None, info
            return _read_all(fd, info.st_size), info
        finally:
            os.close(fd)

    def readlink(self, path):
        parent, name = split(path)
        return os.readlink(name, dir_fd=self.dir_fd(parent))

    def resolve(self, path):
        """``path`` with every link on it followed, the last component's too: ``realpath`` as
        a ``chroot`` into root sees it — an absolute target starts again at root, ``..`` stops
        there. What does not exist is kept as written. Links are followed as the walk follows
        them: only trusted ones (UnsafePathError), at most ``MAX_LINKS`` (OSError ELOOP).

        Debian's ``/etc/service`` -> ``runit/runsvdir/current`` ->
        ``/etc/runit/runsvdir/default`` resolves to ``/etc/runit/runsvdir/default``.
        """
        pending = path.split("/")[::-1]  # a stack: a link's target goes on top
        done = "/"  # no link in it: each component was looked at
        hops = MAX_LINKS
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                done = split(done)[0]
                continue
            candidate = done.rstrip("/") + "/" + part
            try:
                info = self.lstat(candidate)
            except NotADirectoryError:  # below a file: no such entry
                info = None
            if info is None or not stat.S_ISLNK(info.st_mode):
                done = candidate
                continue
            self.check_link_owner(candidate, info)
            hops -= 1
            if hops < 0:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), self.host_path(path))
            target = self.readlink(candidate)
            if target.startswith("/"):
                done = "/"
            pending += target.split("/")[::-1]
        return done

    def scan(self, path, wanted, read=(), limit=None):
        """``{name: (lstat, content)}`` of the entries of directory ``path`` that
        ``wanted(name)`` accepts: one listing, each stat relative to the directory's descriptor
        (opened once). ``content`` is the bytes of the names in ``read`` that are regular files
        with no other hard link, read there too; None for the rest. FileNotFoundError when
        ``path`` does not exist; LimitError once the listing has more than ``limit`` entries,
        wanted or not (None: no bound)."""
        fd = self.dir_fd(path)
        found = {}
        with os.scandir(fd) as scan:
            entries = scan
            if limit is not None:  # counted before any is looked at: nothing spent on a crowd
                from itertools import islice  # here: status NAME lists no directory

                entries = list(islice(scan, limit + 1))
                if len(entries) > limit:
                    raise LimitError("%s holds more than %d entries: not read further (the "
                                     "most the applier reads of a directory of a user's)"
                                     % (self.host_path(path), limit))
            for entry in entries:
                name = entry.name
                if not wanted(name):
                    continue
                if name in read and entry.is_file(follow_symlinks=False):  # d_type: no stat
                    found[name] = _read_regular(name, fd)
                    if found[name] is not None:
                        continue
                try:
                    found[name] = (entry.stat(follow_symlinks=False), None)
                except FileNotFoundError:
                    found.pop(name, None)
        return found

    def lookup(self, path, names, read=()):
        """What ``scan`` gives for ``names`` in directory ``path``, each looked up by name:
        none of the directory's other entries is read, however many it holds (a user's
        home, their log directory). FileNotFoundError when ``path`` does not exist."""
        fd = self.dir_fd(path)
        found = {}
        for name in names:
            try:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            item = _read_regular(name, fd) if name in read and stat.S_ISREG(info.st_mode) \
                else None
            found[name] = (info, None) if item is None else item
        return found

    def listdir(self, path):
        """``[(name, lstat)]`` of directory ``path``, sorted; [] when it does not exist."""
        try:
            found = self.scan(path, lambda name: True)
        except FileNotFoundError:
            return []
        return sorted((name, info) for name, (info, _) in found.items())

    # -- lifetime ------------------------------------------------------------------------
    def close(self):
        for fd, _ in self._cache.values():
            os.close(fd)
        self._cache.clear()
        if self._root[0] >= 0:
            os.close(self._root[0])
            self._root = (-1, ())

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def dir_opener(root):
    """``path -> a descriptor of its own`` of a directory under ``root``, opened one component
    at a time as FsReader opens it: a link is followed only when root or the reader owns it, so
    root reading a user's logs never follows a link the user planted out of their home. For
    readers that take any opener (logs/view.Source): an unsafe path is an OSError there."""
    fs = FsReader(root or "/")

    def opener(path):
        try:
            return os.dup(fs.dir_fd(path))
        except UnsafePathError as exc:
            raise OSError(0, str(exc)) from exc
    return opener


def _read_regular(name, dir_fd):
    """``(fstat, content)`` of regular file ``name`` in ``dir_fd`` — its fstat standing for
    its lstat (``O_NOFOLLOW``: it is no link) — or ``(fstat, None)`` when it has other hard
    links; None when it is no longer a regular file (swapped since the listing)."""
    try:
        fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if info.st_nlink != 1 or info.st_size > READ_LIMIT:
            return info, None
        return info, _read_all(fd, info.st_size)
    finally:
        os.close(fd)


def _read_all(fd, size):
    """Everything in ``fd`` (one read says "all of it" by coming back short), or None once it
    has grown past ``READ_LIMIT`` since the stat."""
    want = size + 1
    first = os.read(fd, want)
    if len(first) < want:
        return first
    chunks, total = [first], len(first)
    while len(chunks[-1]) == want:  # it grew since the stat
        if total > READ_LIMIT:
            return None
        chunks.append(os.read(fd, 65536))
        total += len(chunks[-1])
        want = 65536
    return b"".join(chunks)
