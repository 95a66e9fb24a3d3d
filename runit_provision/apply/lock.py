"""apply: one apply at a time — a ``flock(2)`` on the directory that holds ``sv_dir``.

``apply`` takes it exclusive for its whole run (observe, plan, execute, observe again); a second
apply blocks in ``flock`` — woken by the kernel the moment the first lets go, the wait bounded
by ``--lock-timeout`` through an interval timer — and then refuses with ``LockError``. ``plan``
takes it shared, so a plan never reads a tree half-way through an apply. The lock is on the
directory itself (``/etc`` for ``/etc/sv``), not on a file: nothing is created for it, so the
first apply's plan still shows ``sv_dir`` being made, and it moves with the data and with
``--root``. It goes when the process does, whatever way it ends.
"""

import errno
import fcntl
import os
import signal
import time

from ..errors import LockError


class _TimedOut(Exception):
    pass


def lock_directory(sv_dir):
    """The directory an apply of the tree in ``sv_dir`` locks: its parent."""
    return os.path.dirname(sv_dir.rstrip("/")) or "/"


def take_lock(fs, sv_dir, timeout, exclusive=True):
    """A descriptor of ``sv_dir``'s parent (a final path), flock'ed; None for a shared lock
    whose directory does not exist yet (nothing to read either). The parent is created, as
    ``mkdir -p``, for an exclusive lock. LockError after ``timeout`` seconds of waiting."""
    directory = lock_directory(sv_dir)
    if exclusive:
        make_dirs(fs, directory)
    try:
        fd = os.dup(fs.dir_fd(directory))  # the cache may close its own descriptor
    except FileNotFoundError:
        if exclusive:
            raise
        return None
    operation = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    try:
        _flock(fd, operation, timeout)
    except _TimedOut:
        os.close(fd)
        raise LockError("another runit-provision apply holds the lock on %s; gave up after "
                        "%gs (--lock-timeout)" % (fs.host_path(directory), timeout)) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def release_lock(fd):
    if fd is not None:
        os.close(fd)  # closing the last descriptor releases the flock


def make_dirs(fs, directory):
    """Create ``directory`` and any missing parent (0755), as ``mkdir -p``."""
    missing = []
    path = directory
    while path not in ("", "/") and fs.lstat(path) is None:
        missing.append(path)
        path = path.rsplit("/", 1)[0] or "/"
    for path in reversed(missing):
        try:
            fs.make_dir(path, 0o755)
        except FileExistsError:
            pass


def _flock(fd, operation, timeout):
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
        return
    except OSError as exc:
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN) or timeout <= 0:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise _TimedOut() from None
            raise
    import threading  # only when the lock is taken: not on every plan's start-up path
    if threading.current_thread() is not threading.main_thread():
        _poll(fd, operation, timeout)  # signals reach the main thread only
        return

    def expired(signum, frame):
        raise _TimedOut()

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        fcntl.flock(fd, operation)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _poll(fd, operation, timeout):
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
        if time.monotonic() >= deadline:
            raise _TimedOut()
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.1)
