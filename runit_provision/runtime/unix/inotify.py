"""runtime/unix: a minimal Linux inotify wrapper (the C library through ``ctypes``) for
event-driven waits.

sv's ``-w`` loop watches each service's ``supervise/`` directory instead of polling it. Only
what that needs is here: ``inotify_init1``, ``inotify_add_watch``, ``inotify_rm_watch`` and
decoding ``struct inotify_event`` records. The C types are made only when an ``Inotify`` is
created, and sv imports this module only when it has to wait: ``sv status`` pays for neither.

``Inotify()`` raises OSError when the kernel or libc cannot provide inotify (ENOSYS, EMFILE,
a libc without the symbol); callers fall back to a short poll.
"""

import errno
import os
import struct

from .libc import errno_error, libc

# <sys/inotify.h>
IN_ACCESS = 0x00000001
IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_CLOSE_NOWRITE = 0x00000010
IN_OPEN = 0x00000020
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_UNMOUNT = 0x00002000
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_CLOEXEC = os.O_CLOEXEC  # <sys/inotify.h> defines them so
IN_NONBLOCK = os.O_NONBLOCK

# struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }
_HEADER = struct.Struct("iIII")
_READ_SIZE = 64 * 1024


def events_from_bytes(data):
    """Decode a ``read()`` of an inotify descriptor into ``(wd, mask, cookie, name)`` tuples.

    ``name`` is ``str`` (surrogate-escaped), ``""`` for events on the watched directory itself.
    """
    events = []
    offset = 0
    while offset + _HEADER.size <= len(data):
        wd, mask, cookie, length = _HEADER.unpack_from(data, offset)
        offset += _HEADER.size
        raw_name = data[offset:offset + length].split(b"\0", 1)[0]
        offset += length
        events.append((wd, mask, cookie, os.fsdecode(raw_name)))
    return events


_functions = None


def _calls():
    """The C library's inotify functions, with their argument types: our own function objects
    (see libc()), made once — a process forked after they were (a user's tree) makes none."""
    global _functions
    if _functions is None:
        import ctypes  # deferred: what only waiting commands should pay

        handle = libc()
        try:
            made = (handle["inotify_init1"], handle["inotify_add_watch"],
                    handle["inotify_rm_watch"])
        except AttributeError as exc:
            raise OSError(errno.ENOSYS, "inotify is not available in this libc") from exc
        made[0].argtypes = [ctypes.c_int]
        made[1].argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        made[2].argtypes = [ctypes.c_int, ctypes.c_int]
        for function in made:
            function.restype = ctypes.c_int
        _functions = made
    return _functions


class Inotify:
    """One non-blocking, close-on-exec inotify descriptor."""

    def __init__(self):
        self._init1, self._add_watch, self._rm_watch = _calls()
        fd = self._init1(IN_CLOEXEC | IN_NONBLOCK)
        if fd < 0:
            raise self._last_oserror()
        self.fd = fd

    def fileno(self):
        return self.fd

    def add_watch(self, path, mask):
        """Watch ``path`` (relative paths resolve against the current directory); returns wd."""
        wd = self._add_watch(self.fd, os.fsencode(path), mask)
        if wd < 0:
            raise self._last_oserror(path)
        return wd

    def rm_watch(self, wd):
        if self._rm_watch(self.fd, wd) < 0:
            raise self._last_oserror()

    def read_events(self):
        """Every queued event, or ``[]`` if none are queued (the descriptor is non-blocking)."""
        try:
            data = os.read(self.fd, _READ_SIZE)
        except BlockingIOError:
            return []
        return events_from_bytes(data)

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _last_oserror(self, path=None):
        return errno_error() if path is None else errno_error(path)
