"""runtime/unix: write a short line to a descriptor now, or not at all — never waiting.

A tree's loop may write a line where a child of it would (a one-shot's end in its log:
supervision/engine/supervisor.py) only if the write cannot stop the loop. The descriptor is
shared with the children that write there too, so its own flags are not ours to change
(``O_NONBLOCK`` on it would reach every service's stdout): a pipe, a FIFO or a terminal is
written through a description of its own, opened non-blocking through ``/proc/self/fd``; a
regular file is written as is (a file's write does not wait on a reader). Anything else — a
socket, no /proc — is not written: the caller does it the slow way, in a process of its own.
"""

import errno
import os
import stat

_REOPEN_FLAGS = os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def write_now(fd, data):
    """Write ``data`` (at most PIPE_BUF bytes: a pipe takes it whole or not at all) to
    ``fd``; True when it is written, False when that would have waited or cannot be done
    without waiting (nothing is written then)."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    if stat.S_ISREG(mode):
        return _written(fd, data)
    if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        return False
    try:
        own = os.open("/proc/self/fd/%d" % fd, _REOPEN_FLAGS)
    except OSError:
        return False  # no reader (ENXIO), no /proc: the slow way says it, or fails as before
    try:
        return _written(own, data)
    finally:
        os.close(own)


def _written(fd, data):
    try:
        os.write(fd, data)  # a pipe: whole (<= PIPE_BUF); a full disk's part: as echo's
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EINTR):
            return False
        # EPIPE, EIO, ENOSPC: what a child's echo would have met too -- said nowhere either way
    return True
