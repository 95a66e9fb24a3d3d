"""runtime/unix: read the first bytes of a small file of a directory given by descriptor —
never following a link, never waiting (a FIFO there is not waited on), the descriptor closed
whatever happens. A supervisor's state files (supervision/servicedir.py) and a log directory's
``unfinished`` (svlog/dirwork.py) are read so.
"""

import os
import stat

READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC


def read_small(base_fd, path, limit, regular=False):
    """The first ``limit`` bytes of ``path``, or None: absent, unreadable, a link, or — with
    ``regular`` — not a regular file."""
    try:
        fd = os.open(path, READ_FLAGS, dir_fd=base_fd)
    except OSError:
        return None
    try:
        if regular and not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)
