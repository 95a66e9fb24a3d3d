"""runtime/unix: read the first bytes of a small file of a directory given by descriptor —
never following a link, never waiting (a FIFO there is not waited on), the descriptor closed
whatever happens. A supervisor's state files (supervision/engine/servicedir.py) and a log
directory's ``unfinished`` (svlog/dirwork.py) are read so.
"""

import os
import stat

READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC


def read_small(base_fd, path, limit, regular=False, owner=None, executable=False):
    """The first ``limit`` bytes of ``path``, or None: absent, unreadable, a link, or — with
    ``regular`` — not a regular file. With ``owner`` (a uid), also None unless it is a
    regular file of that owner's alone: one link (no hard link to a file someone else may
    write), writable by no group or other (``is_own``). With ``executable``, None unless it
    is a regular file its owner may execute (a script runsv's exec would run)."""
    try:
        fd = os.open(path, READ_FLAGS, dir_fd=base_fd)
    except OSError:
        return None
    try:
        if regular or owner is not None or executable:
            found = os.fstat(fd)
            if not stat.S_ISREG(found.st_mode) or not (owner is None or is_own(found, owner)) \
                    or (executable and not found.st_mode & stat.S_IXUSR):
                return None
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def is_own(found, owner):
    """``found`` (an ``os.stat_result``) is ``owner``'s to write alone: theirs, writable by no
    group or other, and — a file — of one link."""
    return (found.st_uid == owner and not found.st_mode & 0o022
            and (stat.S_ISDIR(found.st_mode) or found.st_nlink == 1))
