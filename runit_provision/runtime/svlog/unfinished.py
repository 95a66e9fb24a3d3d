"""runtime/svlog: an unfinished line kept where the next logger on the directory finds it.

A logger takes a line out of its pipe only once the line is whole (peek.py), with one
exception: a writer that stops in the middle of a line for longer than peek.py's rechecks (or
one that ends, or TERM, which reads byte by byte to finish the line). Those bytes are then the
logger's alone, and a logger killed with SIGKILL — or the tree it runs in — would take them
along. So while a logger holds such a line, the line is also in the file ``unfinished`` in its
first usable log directory::

    1700000000123456789\\n        when its first byte was read (ns since the epoch: its stamp)
    the bytes so far            no newline: the line is not finished

The file only grows while the line does (each new piece appended), and it is removed once
the line has been written whole. The next logger on that directory, holding the directory's
lock, takes the file up as its own unfinished line, stamp included: what the writer sends
next completes it. runit's svlogd never reads the file; it is this runtime's, like
``supervise/process``.

A kill in the microseconds between writing the finished line and removing the file makes the
next logger write that line's beginning again — the same trade as peek.py's (twice, never
lost).
"""

import os
import stat

from ...protocol.layout import UNFINISHED

# A directory's owner may plant anything here: no link followed, no FIFO waited on.
_READ = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
_REWRITE = _APPEND | os.O_TRUNC
_STAMP_DIGITS = 20


def encode(data, time_ns):
    """The file's content for an unfinished line.

    >>> encode(b"half a li", 42)
    b'42\\nhalf a li'
    """
    return b"%d\n" % time_ns + data


def decode(content):
    """``(bytes, time_ns)`` of a file's content, or None when it is not one of ours (no
    stamp line, or a newline in the line: a finished line is never kept).

    >>> decode(b"42\\nhalf a li"), decode(b"junk"), decode(b"42\\ntwo\\nlines"), decode(b"42\\n")
    ((b'half a li', 42), None, None, None)
    """
    stamp, newline, data = content.partition(b"\n")
    if (not newline or not data or b"\n" in data or not stamp.isdigit()
            or len(stamp) > _STAMP_DIGITS):
        return None
    return data, int(stamp)


def take_up(dir_fd, limit):
    """The unfinished line left in ``dir_fd`` by an earlier logger, ``(bytes, time_ns)``, or
    None. A file that is not one of ours, or longer than ``limit`` bytes of line (the
    logger's ``-l``: more would have been written as a cut line), is removed and ignored."""
    try:
        fd = os.open(UNFINISHED, _READ, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        content = os.read(fd, limit + _STAMP_DIGITS + 2)
    except OSError:
        return None
    finally:
        os.close(fd)
    found = decode(content)
    if found is None or len(found[0]) > limit:
        _remove(dir_fd)
        return None
    return found


class Keeper:
    """Mirrors a logger's unfinished line into its directory's ``unfinished`` file.

    ``keep(dir_fd, data, time_ns)`` after every change of the line (``data`` empty: none is
    held). A line that only grew is appended to; any other change rewrites the file. Errors
    are ignored: the file is a safeguard against a kill, and the line itself is still held.
    """

    def __init__(self, dir_fd=-1, saved=b"", time_ns=0):
        self._dir_fd = dir_fd
        self._saved_len = len(saved)
        self._time_ns = time_ns

    def keep(self, dir_fd, data, time_ns):
        if not data:
            if self._saved_len:
                self._saved_len = 0
                _remove(self._dir_fd)
            return
        if (dir_fd == self._dir_fd and time_ns == self._time_ns
                and len(data) >= self._saved_len > 0):
            if len(data) > self._saved_len:
                self._write(dir_fd, _APPEND, bytes(data[self._saved_len:]), len(data))
            return
        if self._saved_len and dir_fd != self._dir_fd:
            _remove(self._dir_fd)  # the first usable directory changed (HUP)
        self._dir_fd, self._time_ns = dir_fd, time_ns
        self._write(dir_fd, _REWRITE, encode(bytes(data), time_ns), len(data))

    def _write(self, dir_fd, flags, content, length):
        try:
            fd = os.open(UNFINISHED, flags, 0o600, dir_fd=dir_fd)
        except OSError:
            self._saved_len = 0
            return
        try:
            os.write(fd, content)
            self._saved_len = length
        except OSError:
            self._saved_len = 0
        finally:
            os.close(fd)


def _remove(dir_fd):
    try:
        os.unlink(UNFINISHED, dir_fd=dir_fd)
    except OSError:
        pass  # gone already, or a directory closed or no longer ours to write
