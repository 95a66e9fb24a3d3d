"""importing: what a host holds of a service — read, never followed, never blocked on.

A ``Found`` is everything ``recognise`` needs of one service directory: each entry's kind,
mode, owner and (for a regular file of at most 1 MiB) bytes, keyed by its path in the
directory (``run``, ``env/PORT``, ``log/run``); the link that enables it; and, once the
logger's directory is known, that directory and its ``config``. Read through ``FsReader``
(``host/fsread.py``): a descriptor walk under ``--root``, links read as links, FIFOs and
devices stat'ed only. ``supervise/`` is runsv's and is skipped, as are svlogd's own files.
"""

import posixpath
import stat

from ..errors import ProvisionError
from ..model.acl import UNSUPPORTED
from ..protocol.layout import (LOG_DIR, RUN, SCHEDULE, SUPERVISE_DIR, SVLOGD_CONFIG,
                               path_in)

MAX_ENTRIES = 1000  # per service directory: a directory holding more is not a service
MAX_DEPTH = 3       # run, log/run, env/X, control/X: nothing we read lies deeper


class FoundEntry:
    """One entry: ``kind`` is file, dir, link or other (a FIFO, a socket, a device);
    ``content`` the bytes of a regular file (None when it is larger than FsReader reads);
    ``target`` a link's; ``unread`` why there is no ``content`` (``unread_why``); ``acl`` a
    directory's access ACL (model/acl.py; None: it holds none)."""

    __slots__ = ("path", "kind", "mode", "uid", "gid", "content", "target", "unread",
                 "dangling", "acl")

    def __init__(self, path, kind, mode, uid, gid, content=None, target=None, unread=None):
        self.path, self.kind, self.mode, self.uid, self.gid = path, kind, mode, uid, gid
        self.content, self.target = content, target
        self.unread = unread
        self.dangling = None  # a link: why it does not reach a regular file (None: it does)
        self.acl = None

    def __repr__(self):
        return "FoundEntry(%r, %r, %o)" % (self.path, self.kind, self.mode)


class Found:
    """One service directory as found: ``entries`` {relative path: FoundEntry} (the directory
    itself under ""), ``link`` (the entry in the service dir, or None), ``log_dir`` and
    ``log_entries`` (the logger's directory and its ``config``, filled in on demand)."""

    def __init__(self, name, base, entries, link):
        self.name, self.base, self.entries, self.link = name, base, entries, link
        self.tree = None  # the login whose tree it is in, None for the system's
        self.log_dir = None
        self.log_entries = {}
        self.log_unread = {}  # relative path -> why it could not be reached
        self.entered = False  # the C runsv's cgroup lines were read out (assemble.py)

    def file(self, path):
        """The bytes of regular file ``path``, or None."""
        entry = self.entries.get(path)
        return entry.content if entry is not None and entry.kind == "file" else None

    def read(self, path):
        """``bytes_of`` the entry at ``path``: its bytes, or why there are none."""
        return bytes_of(self.entries.get(path))

    def read_log(self, path):
        """``bytes_of`` the entry at ``path`` in the logger's directory (``config``)."""
        if path in self.log_unread:
            return None, self.log_unread[path]
        return bytes_of(self.log_entries.get(path))

    def names_in(self, directory):
        """The entries directly in ``directory`` (a relative path), sorted."""
        prefix = directory + "/"
        return sorted(path[len(prefix):] for path in self.entries
                      if path.startswith(prefix) and "/" not in path[len(prefix):])


_TYPE_NAMES = ((stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link"),
               (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def unread_why(info, limit):
    """Why import has no bytes of the file whose stat is ``info``: another type of file, or
    more than the ``limit`` bytes the root reads (``FsReader.read_limit``).

    >>> import os
    >>> unread_why(os.stat_result((0o100644,) + (0,) * 5 + (2000000, 0, 0, 0)), 1 << 20)
    'larger than 1 MiB (2000000 bytes)'
    >>> unread_why(os.stat_result((0o010644,) + (0,) * 9), 1 << 20)
    'not a regular file (a FIFO)'
    """
    if stat.S_ISREG(info.st_mode):
        return "larger than %s (%d bytes)" % (_size(limit), info.st_size)
    names = [name for is_type, name in _TYPE_NAMES if is_type(info.st_mode)]
    return "not a regular file (%s)" % (names[0] if names else "of an unknown type")


def _size(count):
    return "%d MiB" % (count >> 20) if count % (1 << 20) == 0 else "%d bytes" % count


def bytes_of(entry):
    """``(content, None)`` of a FoundEntry that is a regular file read whole, or ``(None,
    why)`` there is nothing to read: ``missing`` (``entry`` is None), not a regular file, or
    too large — the one place that says which (docs/import.md)."""
    if entry is None:
        return None, "missing"
    if entry.content is None:
        return None, entry.unread or "not a regular file"
    return entry.content, None


def _kind(info):
    if stat.S_ISREG(info.st_mode):
        return "file"
    if stat.S_ISDIR(info.st_mode):
        return "dir"
    if stat.S_ISLNK(info.st_mode):
        return "link"
    return "other"


def read_entry(root, path, relative):
    """The FoundEntry of ``path`` (absolute, under ``root``), or None when it is absent."""
    info = root.lstat(path)
    if info is None:
        return None
    content = target = None
    if _kind(info) == "file":
        content, info = root.read_file(path)  # its fstat (or, swapped to a link, its lstat)
    kind = _kind(info)
    if kind == "link":
        target = root.readlink(path)
    unread = None if content is not None else unread_why(info, root.read_limit)
    entry = FoundEntry(relative, kind, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid,
                       content, target, unread)
    if kind == "link":
        entry.dangling = _dangling(root, path, target)
    elif kind == "dir":
        entry.acl = _access_acl(root, path)
    return entry


def _access_acl(root, path):
    """A directory's access ACL; None where its file system keeps none (it holds none)."""
    try:
        return root.access_acl(path)
    except OSError as exc:
        if exc.errno in UNSUPPORTED:
            return None
        raise


def _dangling(root, path, target):
    """Why the link at ``path`` reaches no regular file (runsv would exec nothing), or None.
    Followed as the applier follows links: only root's, at most a few."""
    try:
        final = root.resolve(path)
        info = root.lstat(final)
    except (OSError, ProvisionError) as exc:
        return "a link to %s, which does not resolve: %s" % (
            target, getattr(exc, "strerror", None) or exc)
    if info is None:
        return "a link to %s, which does not resolve: no such file" % target
    if not stat.S_ISREG(info.st_mode):
        return "a link to %s, %s" % (target, unread_why(info, root.read_limit))
    return None


def read_service(root, base, link_path):
    """The Found of service directory ``base``; ``link_path`` is where its enabling link
    would be. ValueError when ``base`` is not a directory, or holds too much to be one."""
    name = base.rstrip("/").rsplit("/", 1)[-1]
    top = read_entry(root, base, "")
    if top is None or top.kind != "dir":
        raise ValueError("%s: not a directory" % base)
    entries = {"": top}
    todo = [("", 0)]
    while todo:
        relative, depth = todo.pop()
        directory = base + ("/" + relative if relative else "")
        for entry_name, info in root.listdir(directory):
            path = (relative + "/" if relative else "") + entry_name
            if entry_name == SUPERVISE_DIR and relative in ("", LOG_DIR):
                continue  # runsv's own (often a link to /run/runit/supervise/…)
            if len(entries) >= MAX_ENTRIES:
                raise ValueError("%s: more than %d entries: not a service directory"
                                 % (base, MAX_ENTRIES))
            entry = read_entry(root, base + "/" + path, path)
            if entry is None:
                continue  # gone since the listing
            entries[path] = entry
            if entry.kind == "dir" and depth + 1 < MAX_DEPTH:
                todo.append((path, depth + 1))
    return Found(name, base.rstrip("/"), entries, read_entry(root, link_path, link_path))


def read_log_dir(root, found, directory):
    """Fill in ``found``'s logger directory and its ``config`` (absent ones stay absent; one
    that cannot be reached — a path through a file, a link not followed — is said why)."""
    found.log_dir = directory
    for relative, path in (("", directory), (SVLOGD_CONFIG, path_in(directory, SVLOGD_CONFIG))):
        try:
            entry = read_entry(root, path, relative)
        except (OSError, ProvisionError) as exc:
            found.log_unread[relative] = "cannot be read: %s" % (
                getattr(exc, "strerror", None) or exc)
            continue
        if entry is not None:
            found.log_entries[relative] = entry


def is_service_dir(root, path):
    """A directory runsv serves: one with ``run``, or a timer's (``schedule``: our runsv
    starts its ``job`` and needs no ``run``; assemble says when the C runsv's is missing)."""
    return any(root.lstat(posixpath.join(path, name)) is not None for name in (RUN, SCHEDULE))
