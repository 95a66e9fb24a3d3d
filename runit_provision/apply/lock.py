"""apply: one apply at a time — a ``flock(2)`` on a lock file only the applier can open.

``apply`` takes it exclusive for its whole run (observe, plan, execute, observe again); a second
apply blocks in ``flock`` — woken by the kernel the moment the first lets go, the wait bounded
by ``--lock-timeout`` through an interval timer — and then refuses with ``LockError``. ``plan``
takes it shared, so a plan never reads a tree half-way through an apply.

**Where**: ``.runit-provision.lock`` in the directory that holds ``sv_dir``, reached through
``FsRoot``, so it moves with the data and ``--root``. A flock can be taken through any open
descriptor, so the lock is a file nobody else can open: the applier's own, mode 0600, found
without following a link or opening a FIFO or device, and anything else there refused with
``LockError`` naming it (a planted lock would be one its planter holds).

**Nothing left behind**: the file is made when the lock is taken (``O_CREAT|O_EXCL``) and
removed, under the exclusive lock, when it is let go; a waiter that gets the lock on a file
removed meanwhile (``fstat`` against ``lstat``) takes the new one. A plan by an account that
may not open the file reads without the lock. The lock goes with the process, however it
ends.
"""

import errno
import fcntl
import os
import signal
import stat
import time

from ..errors import LockError

LOCK_NAME = ".runit-provision.lock"
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class _TimedOut(Exception):
    pass


class HeldLock:
    """A lock taken: ``fd`` (flock'ed), ``dir_fd`` (its directory, to remove it at the end),
    ``name`` and ``shown`` (its path on this host, for messages)."""

    __slots__ = ("fd", "dir_fd", "name", "shown")

    def __init__(self, fd, dir_fd, name, shown):
        self.fd, self.dir_fd, self.name, self.shown = fd, dir_fd, name, shown


def lock_directory(sv_dir):
    """The directory the lock of the tree in ``sv_dir`` is in: its parent."""
    return os.path.dirname(sv_dir.rstrip("/")) or "/"


def lock_path(sv_dir):
    """The lock file of the tree in ``sv_dir`` (a final path).

    >>> lock_path("/etc/sv"), lock_path("/srv/box/etc/sv/")
    ('/etc/.runit-provision.lock', '/srv/box/etc/.runit-provision.lock')
    """
    return os.path.join(lock_directory(sv_dir), LOCK_NAME)


def take_lock(fs, sv_dir, timeout, exclusive=True):
    """The HeldLock of the tree in ``sv_dir``, flock'ed; None for a shared lock whose
    directory does not exist yet (nothing to read either) or that this account may not open.
    The directory is created, as ``mkdir -p``, for an exclusive lock. LockError after
    ``timeout`` seconds of waiting, or for a file that is not the applier's lock."""
    directory = lock_directory(sv_dir)
    if exclusive:
        make_dirs(fs, directory)
    try:
        dir_fd = os.dup(fs.dir_fd(directory))  # the cache may close its own descriptor
    except FileNotFoundError:
        if exclusive:
            raise
        return None
    shown = fs.host_path(lock_path(sv_dir))
    deadline = time.monotonic() + timeout
    operation = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    try:
        while True:
            fd = _open_lock(dir_fd, shown, exclusive)
            if fd is None:
                os.close(dir_fd)
                return None
            try:
                _flock(fd, operation, max(0.0, deadline - time.monotonic()))
            except _TimedOut:
                os.close(fd)
                raise LockError("another runit-provision apply holds the lock %s; gave up "
                                "after %gs (--lock-timeout)" % (shown, timeout)) from None
            except BaseException:
                os.close(fd)
                raise
            if _is_at_name(fd, dir_fd):
                return HeldLock(fd, dir_fd, LOCK_NAME, shown)
            os.close(fd)  # removed by the apply that held it: take the new one
    except BaseException:
        os.close(dir_fd)
        raise


def release_lock(lock):
    """Let ``lock`` go (None: nothing held), removing its file when no one else holds it."""
    if lock is None:
        return
    try:
        fcntl.flock(lock.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # no other holder?
    except OSError:
        pass  # a plan shares it, or an apply waits: the last to go removes it
    else:
        if _is_at_name(lock.fd, lock.dir_fd):
            try:
                os.unlink(lock.name, dir_fd=lock.dir_fd)
            except OSError:
                pass  # left for the next apply to take over
    finally:
        os.close(lock.fd)  # closing the last descriptor releases the flock
        os.close(lock.dir_fd)


def _open_lock(dir_fd, shown, exclusive):
    """A descriptor of the lock file in ``dir_fd``, made if missing; None when this account
    may not (only a shared lock does without: a plan). LockError for anything but a regular
    file of the applier's own that no one else may open."""
    while True:
        try:
            info = os.stat(LOCK_NAME, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            try:
                return os.open(LOCK_NAME, _OPEN_FLAGS | os.O_CREAT | os.O_EXCL, 0o600,
                               dir_fd=dir_fd)
            except FileExistsError:
                continue  # another apply made it first
            except PermissionError as exc:
                return _not_permitted(exc, shown, exclusive)
        check_lock_file(info, shown)
        try:
            fd = os.open(LOCK_NAME, _OPEN_FLAGS, dir_fd=dir_fd)
        except FileNotFoundError:
            continue  # removed by the apply that held it
        except PermissionError as exc:
            return _not_permitted(exc, shown, exclusive)
        except OSError as exc:
            raise LockError("%s: %s: not runit-provision's lock; remove it"
                            % (shown, exc.strerror)) from exc
        try:
            check_lock_file(os.fstat(fd), shown)  # the file opened is the file checked
        except BaseException:
            os.close(fd)
            raise
        return fd


def check_lock_file(info, shown):
    """LockError unless ``info`` (an ``lstat``) is a lock file an apply made: a regular file
    of root's or of the applier's own, with no access for group or others (root's, seen by
    another account, is an apply of root's that this one may not share)."""
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        what = "a symbolic link"
    elif not stat.S_ISREG(mode):
        what = "not a regular file"
    elif info.st_uid not in (0, os.geteuid()):
        what = "owned by uid %d, neither root nor the applier" % info.st_uid
    elif mode & 0o077:
        what = "mode %04o: others may open it" % stat.S_IMODE(mode)
    else:
        return
    raise LockError("%s is not runit-provision's lock (%s): planted? Remove it; apply makes "
                    "its own" % (shown, what))


def _not_permitted(exc, shown, exclusive):
    if exclusive:
        raise LockError("cannot take the lock %s: %s" % (shown, exc.strerror)) from exc
    return None  # a plan by an account that may not open it reads without it


def _is_at_name(fd, dir_fd):
    """Whether ``fd`` is still the file named LOCK_NAME in ``dir_fd``."""
    try:
        named = os.stat(LOCK_NAME, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


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
