"""initsys: the host under a root as the room sees it — read-only questions, nothing more.

``HostView(fs)`` answers them through ``fs``, the ``host.fsread.FsReader`` its caller opened on
the root — the applier's ``FsRoot`` is one (the room imports neither: it needs only the
reader's ``root``, ``lstat``, ``readlink``, ``read_file``, ``listdir`` and ``resolve``). So
the room sees the host as the applier does: every path walked from the root's descriptor,
absolute link targets taken inside the root as ``chroot`` would see them (a staging root never
leads out to the machine's own files), only root's links followed, reads bounded and never
blocked on a FIFO. Paths are the host's final absolute paths. What cannot be reached that way — behind a link someone else
owns, or a loop — is answered as nothing there (the applier refuses to write through it).
"""

import os
import stat

from ..errors import UnsafePathError

UNREACHABLE = (OSError, UnsafePathError)  # no such path, a loop, an untrusted link on the way


class HostView:
    """The root of ``fs`` (``/`` for the running host) seen through read-only calls."""

    def __init__(self, fs):
        self.root = fs.root
        self.is_live = os.path.realpath(fs.root) == "/"
        self._fs = fs
        self._contents = {}  # path -> bytes or None: a unit file is asked for up to 3 times

    def read(self, path):
        """The bytes of the regular file at ``path`` (not a link), or None; read once for the
        view's life."""
        if path not in self._contents:
            self._contents[path] = self._read(path)
        return self._contents[path]

    def _read(self, path):
        try:
            return self._fs.read_file(path)[0]
        except UNREACHABLE:
            return None

    def text(self, path):
        data = self.read(path)
        return None if data is None else data.decode("utf-8", "surrogateescape")

    def _lstat(self, path):
        try:
            return self._fs.lstat(path)
        except UNREACHABLE:
            return None

    def lexists(self, path):
        return self._lstat(path) is not None

    def is_link(self, path):
        info = self._lstat(path)
        return info is not None and stat.S_ISLNK(info.st_mode)

    def readlink(self, path):
        """The target of the link at ``path`` as written, or None when it is not a link."""
        try:
            return self._fs.readlink(path)
        except UNREACHABLE:
            return None

    def _followed(self, path):
        """The lstat of where ``path`` leads (links followed inside the root), or None."""
        resolved = self.resolve(path)
        return None if resolved is None else self._lstat(resolved)

    def is_dir(self, path):
        """True if ``path`` is a directory, links followed inside the root."""
        info = self._followed(path)
        return info is not None and stat.S_ISDIR(info.st_mode)

    def is_file(self, path):
        info = self._followed(path)
        return info is not None and stat.S_ISREG(info.st_mode)

    def is_executable(self, path):
        info = self._followed(path)
        return info is not None and stat.S_ISREG(info.st_mode) and bool(info.st_mode & 0o111)

    def listdir(self, path):
        """The names in the directory ``path``, sorted; [] when it is not one."""
        resolved = self.resolve(path)
        try:
            return [name for name, _ in self._fs.listdir(resolved)] if resolved else []
        except UNREACHABLE:
            return []

    def resolve(self, path):
        """``path`` with every link followed inside the root (``FsReader.resolve``: ``realpath``
        in a ``chroot``); None when that cannot be said (a loop, a link someone else owns)."""
        try:
            return self._fs.resolve(path)
        except UNREACHABLE:
            return None

    def same_place(self, first, second):
        """True if the two paths name the same place (equal, or equal once resolved)."""
        if first == second:
            return True
        resolved = self.resolve(first)
        return resolved is not None and resolved == self.resolve(second)
