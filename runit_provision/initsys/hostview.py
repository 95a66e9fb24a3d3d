"""initsys: a read-only view of the host under a root — what the room may look at, nothing more.

File contents come through the caller's ``observe(path)`` (the applier reads each file once):
bytes or None, or the applier's record of the path (an object whose ``kind`` is ``file`` and
``content`` its bytes, as ``apply.observe.Actual``); the rest — whether a path exists, is a directory or a link, where a link
points, what a directory holds — are ``lstat``/``readlink``/``listdir`` calls under the root.
Paths are the host's final absolute paths; absolute link targets are taken relative to the
root, as ``chroot`` would see them (``resolve``), so a staging root never leads out to the
machine's own files.
"""

import os
import posixpath
import stat

MAX_LINKS = 40  # as the kernel's ELOOP limit


def read_under(root):
    """The plain ``observe`` for ``root``: the bytes of a regular file, else None."""
    def observe(path):
        try:
            with open(under(root, path), "rb") as handle:
                return handle.read()
        except OSError:
            return None
    return observe


def under(root, path):
    """Where the host path ``path`` is on this machine, for the root ``root``.

    >>> under("/", "/etc/inittab"), under("/tmp/r", "/etc/inittab")
    ('/etc/inittab', '/tmp/r/etc/inittab')
    """
    return posixpath.join(root, path.lstrip("/"))


class HostView:
    """``root`` (``/`` for the running host) seen through ``observe`` and read-only calls."""

    def __init__(self, root="/", observe=None):
        self.root = root = root or "/"
        self.is_live = os.path.realpath(root) == "/"
        self._observe = observe or read_under(root)
        self._contents = {}  # path -> bytes or None: a unit file is asked for up to 3 times

    def read(self, path):
        """The bytes of the file at ``path``, or None (read once for the view's life)."""
        if path not in self._contents:
            found = self._observe(path)
            if found is not None and not isinstance(found, bytes):
                found = found.content if getattr(found, "kind", None) == "file" else None
            self._contents[path] = found
        return self._contents[path]

    def text(self, path):
        data = self.read(path)
        return None if data is None else data.decode("utf-8", "surrogateescape")

    def _lstat(self, path):
        try:
            return os.lstat(under(self.root, path))
        except OSError:
            return None

    def lexists(self, path):
        return self._lstat(path) is not None

    def is_link(self, path):
        st = self._lstat(path)
        return st is not None and stat.S_ISLNK(st.st_mode)

    def readlink(self, path):
        """The target of the link at ``path`` as written, or None when it is not a link."""
        try:
            return os.readlink(under(self.root, path))
        except OSError:
            return None

    def is_dir(self, path):
        """True if ``path`` is a directory, links followed inside the root."""
        resolved = self.resolve(path)
        st = resolved and self._lstat(resolved)
        return bool(st) and stat.S_ISDIR(st.st_mode)

    def is_file(self, path):
        resolved = self.resolve(path)
        st = resolved and self._lstat(resolved)
        return bool(st) and stat.S_ISREG(st.st_mode)

    def is_executable(self, path):
        resolved = self.resolve(path)
        st = resolved and self._lstat(resolved)
        return bool(st) and stat.S_ISREG(st.st_mode) and bool(st.st_mode & 0o111)

    def listdir(self, path):
        """The names in the directory ``path``, sorted; [] when it is not one."""
        resolved = self.resolve(path)
        try:
            return sorted(os.listdir(under(self.root, resolved))) if resolved else []
        except OSError:
            return []

    def resolve(self, path):
        """``path`` with every link followed inside the root (the last component too, when it
        exists); None for a loop. Missing components are kept as they are.

        Like ``realpath`` in a ``chroot``: ``/etc/service`` -> ``runit/runsvdir/current`` ->
        ``/etc/runit/runsvdir/default`` gives ``/etc/runit/runsvdir/default``.
        """
        pending = [part for part in path.split("/") if part]
        done = "/"
        links = 0
        while pending:
            part = pending.pop(0)
            if part == ".":
                continue
            if part == "..":
                done = posixpath.dirname(done)
                continue
            candidate = posixpath.join(done, part)
            target = self.readlink(candidate)
            if target is None:
                done = candidate
                continue
            links += 1
            if links > MAX_LINKS:
                return None
            if target.startswith("/"):
                done = "/"
            pending = [p for p in target.split("/") if p] + pending
        return done

    def same_place(self, first, second):
        """True if the two paths name the same place (equal, or equal once resolved)."""
        return first == second or self.resolve(first) == self.resolve(second)
