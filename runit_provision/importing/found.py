"""importing: what a host holds of a service — read, never followed, never blocked on.

A ``Found`` is everything ``recognise`` needs of one service directory: each entry's kind,
mode, owner and (for a regular file of at most 1 MiB) bytes, keyed by its path in the
directory (``run``, ``env/PORT``, ``log/run``); the link that enables it; and, once the
logger's directory is known, that directory and its ``config``. Read through ``FsRoot``
(``apply/fsroot.py``): a descriptor walk under ``--root``, links read as links, FIFOs and
devices stat'ed only. ``supervise/`` is runsv's and is skipped, as are svlogd's own files.
"""

import stat

from ..protocol.layout import LOG_DIR, SUPERVISE_DIR, SVLOGD_CONFIG, path_in

MAX_ENTRIES = 1000  # per service directory: a directory holding more is not a service
MAX_DEPTH = 3       # run, log/run, env/X, control/X: nothing we read lies deeper


class FoundEntry:
    """One entry: ``kind`` is file, dir, link or other (a FIFO, a socket, a device);
    ``content`` the bytes of a regular file (None when it is larger than FsRoot reads);
    ``target`` a link's."""

    __slots__ = ("path", "kind", "mode", "uid", "gid", "content", "target")

    def __init__(self, path, kind, mode, uid, gid, content=None, target=None):
        self.path, self.kind, self.mode, self.uid, self.gid = path, kind, mode, uid, gid
        self.content, self.target = content, target

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

    def file(self, path):
        """The bytes of regular file ``path``, or None."""
        entry = self.entries.get(path)
        return entry.content if entry is not None and entry.kind == "file" else None

    def names_in(self, directory):
        """The entries directly in ``directory`` (a relative path), sorted."""
        prefix = directory + "/"
        return sorted(path[len(prefix):] for path in self.entries
                      if path.startswith(prefix) and "/" not in path[len(prefix):])


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
    kind = _kind(info)
    content = target = None
    if kind == "file":
        content, info = root.read_file(path)
    elif kind == "link":
        target = root.readlink(path)
    return FoundEntry(relative, kind, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid,
                      content, target)


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
    """Fill in ``found``'s logger directory and its ``config`` (absent ones stay absent)."""
    found.log_dir = directory
    for relative, path in (("", directory), (SVLOGD_CONFIG, path_in(directory, SVLOGD_CONFIG))):
        try:
            entry = read_entry(root, path, relative)
        except OSError:
            entry = None
        if entry is not None:
            found.log_entries[relative] = entry
