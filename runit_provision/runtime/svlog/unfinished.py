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

from .dirwork import keep_unfinished, remove_unfinished

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


def take_up(content, limit):
    """The unfinished line an earlier logger left in ``content`` (the file's bytes, None when
    there is none), ``(bytes, time_ns)``, or None: none, not one of ours, or longer than
    ``limit`` bytes of line (the logger's ``-l``: more would have been written as a cut line)
    — such a file the caller removes.

    >>> take_up(b"42\\nhalf", 10), take_up(b"42\\nhalf", 3), take_up(None, 10)
    ((b'half', 42), None, None)
    """
    found = None if content is None else decode(content)
    if found is None or len(found[0]) > limit:
        return None
    return found


class Keeper:
    """Mirrors a logger's unfinished line into its directory's ``unfinished`` file.

    ``keep(dir_fd, data, time_ns)`` after every change of the line (``data`` empty: none is
    held). A line that only grew is appended to; any other change rewrites the file. Errors
    are ignored: the file is a safeguard against a kill, and the line itself is still held.
    """

    __slots__ = ("_dir_fd", "_saved_len", "_time_ns")

    def __init__(self, dir_fd=-1, saved=b"", time_ns=0):
        self._dir_fd = dir_fd
        self._saved_len = len(saved)
        self._time_ns = time_ns

    def keep(self, dir_fd, data, time_ns):
        if not data:
            if self._saved_len:
                self._saved_len = 0
                remove_unfinished(self._dir_fd)
            return
        if (dir_fd == self._dir_fd and time_ns == self._time_ns
                and len(data) >= self._saved_len > 0):
            if len(data) > self._saved_len:
                self._write(dir_fd, False, bytes(data[self._saved_len:]), len(data))
            return
        if self._saved_len and dir_fd != self._dir_fd:
            remove_unfinished(self._dir_fd)  # the first usable one changed (HUP)
        self._dir_fd, self._time_ns = dir_fd, time_ns
        self._write(dir_fd, True, encode(bytes(data), time_ns), len(data))

    def _write(self, dir_fd, rewrite, content, length):
        if dir_fd < 0:
            self._saved_len = 0
            return
        try:
            keep_unfinished(dir_fd, rewrite, content)
            self._saved_len = length
        except OSError:
            self._saved_len = 0
