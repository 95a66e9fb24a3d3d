"""logs: the last few lines a service wrote, read cheaply and boundedly — what a report puts
under a service that did not stay up (``apply``'s watch, ``restart``/``start``'s).

Only ``current`` is read (the lines of a run that just ended are there; a rotated file may
be a processor's compressed output, which cannot be read from its end), and of it at most
``TAIL_BYTES`` from its end: whatever the file holds, the read is one ``pread``. The file is
opened as every log file is (``files.open_log``: non-blocking, no link followed, a regular
file only) and not read when it has other hard links — in a user's log directory it may be
someone else's file linked in, which root must not print. Each line is shown as ``logs``
shows it (``short``: local time, then the text; a line without a stamp as it is), not
escaped: the caller escapes for its output (``shown.shown_line``, or JSON's).
"""

import errno
import os

from ..protocol.layout import CURRENT
from .files import open_log
from .formats import Formatter
from .stamps import WIDTH, key_of, kind_of

TAIL_BYTES = 16 * 1024  # svlogd's lines are at most 1000 bytes (-l): ten lines fit
REPORT_LINES = 10  # under a started service that did not stay up, as status shows them


def last_lines(dir_fd, count, limit=TAIL_BYTES):
    """The last ``count`` whole lines (bytes, no newline) of ``current`` in the log directory
    open as ``dir_fd``, within its last ``limit`` bytes; [] when there is no ``current``.
    OSError when it cannot be read (a link, not a regular file, other hard links)."""
    if count <= 0:
        return []
    try:
        fd, reader = open_log(dir_fd, CURRENT)
    except FileNotFoundError:
        return []
    try:
        if not reader.seekable:
            raise OSError(errno.EINVAL, "compressed, not svlogd's current", CURRENT)
        info = os.fstat(fd)
        if info.st_nlink > 1:
            raise OSError(errno.EPERM, "has %d hard links: not read" % info.st_nlink,
                          CURRENT)
        start = max(0, info.st_size - limit)
        data = os.pread(fd, info.st_size - start, start)
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()
        os.close(fd)
    return shown_short(tail_of(data, count, cut=start > 0))


def last_lines_under(log_dirs, root, count=REPORT_LINES):
    """{side path: [the last ``count`` lines of its log, bytes]} for ``log_dirs`` ({side path:
    log directory}, ``apply.watch.log_dirs_of``) on the host under ``root``; a log that cannot
    be read says why in its place. Read through an FsReader — a link in a user's tree is
    followed only when root or the user owns it — and ``last_lines`` (bounded, no link, no
    other hard links)."""
    if not log_dirs:
        return {}
    from ..errors import UnsafePathError
    from ..host.fsread import FsReader

    found = {}
    with FsReader(root) as fs:
        for path, log_dir in log_dirs.items():
            try:
                lines = last_lines(fs.dir_fd(log_dir), count)
            except (OSError, UnsafePathError) as exc:
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                lines = [("(%s/current unreadable: %s)" % (log_dir, why)).encode()]
            found[path] = lines or [("(%s: nothing logged)" % log_dir).encode()]
    return found


def tail_of(data, count, cut=False):
    """The last ``count`` lines of ``data``; ``cut``: it begins inside a line (dropped).

    >>> tail_of(b"a\\nb\\nc\\n", 2), tail_of(b"rt of a\\nb\\nc", 5, cut=True)
    ([b'b', b'c'], [b'b', b'c'])
    """
    lines = data.split(b"\n")
    if cut:
        lines = lines[1:]
    if lines and lines[-1] == b"":
        lines.pop()
    return lines[-count:]


def shown_short(lines):
    """Each stamped line with its time as ``logs`` shows it (``Nov 23 10:05:15.398270
    text``), each other line as it is."""
    formatter = Formatter("short", labels=False)
    shown = []
    for line in lines:
        kind = kind_of(line)
        key = None if kind is None else key_of(kind, line)
        shown.append(line if key is None else formatter.clock(key) + b" " + line[WIDTH + 1:])
    return shown
