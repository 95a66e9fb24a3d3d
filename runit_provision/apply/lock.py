"""apply: one apply at a time — a ``flock(2)`` on ``<sv_dir>/.runit-provision.lock``.

``apply`` takes it exclusive for its whole run (observe, plan, execute, observe again); a second
apply blocks in ``flock`` — woken by the kernel the moment the first lets go, the wait bounded
by ``--lock-timeout`` through an interval timer — and then refuses with ``LockError``. ``plan``
takes it shared when the file exists, so a plan never reads a tree half-way through an apply,
and never creates anything. The file lives in ``sv_dir`` (a dot-name, which nothing scans), so
it moves with the data and with ``--root``. The lock goes when the process does, whatever way
it ends.
"""

import errno
import fcntl
import os
import signal
import threading
import time

from ..errors import LockError

LOCK_NAME = ".runit-provision.lock"


class _TimedOut(Exception):
    pass


def take_lock(fs, directory, timeout, exclusive=True):
    """The lock file's descriptor, locked; None for a shared lock whose file does not exist.
    ``directory`` (a final path) and the directories above it are created for an exclusive
    lock. LockError after ``timeout`` seconds of waiting."""
    if exclusive:
        make_dirs(fs, directory)
    try:
        parent = fs.dir_fd(directory)
        flags = os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW | (os.O_CREAT if exclusive else 0)
        fd = os.open(LOCK_NAME, flags, 0o600, dir_fd=parent)
    except FileNotFoundError:
        if exclusive:
            raise
        return None
    operation = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    try:
        _flock(fd, operation, timeout)
    except _TimedOut:
        os.close(fd)
        raise LockError("another runit-provision apply holds %s/%s; gave up after %gs "
                        "(--lock-timeout)" % (fs.host_path(directory), LOCK_NAME,
                                              timeout)) from None
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
