"""protocol: ``supervise/event/`` — the FIFO directory through which our runsv wakes whoever
waits on a side, as s6's fifodir (s6-supervise's ``event/``) does. Both ends live here:
``EventPoster`` (runsv's) and ``subscribe`` (a waiter's: our ``sv``).

Why: a wait woken by inotify ends with the kernel's teardown of an instance that had a watch,
which waits for an SRCU grace period: a delay at the end of every ``sv -w`` that waited
(bench/RESULTS.md, row 66; the wait since: row 43). A FIFO costs its close nothing.

The directory (mode 01733, ours: the C runsv and sv never look in it) holds ``ok``, a FIFO
runsv holds a reader on while it posts (a waiter that can open it write-only knows its events
will come; ENXIO: no runsv of ours, wait as before), and each waiter's ``w.PID.HEX`` FIFO,
made as ``.w.PID.HEX``, opened, then renamed, so that a ``w.`` FIFO always has its reader
(one without is a killed waiter's: removed). docs/sv.md says who may wait and what a waiter
cannot do.

The bytes: ``s`` a new ``status``, ``r`` a new ``readiness`` record, ``x`` runsv is leaving
(written after it closed ``supervise/ok``). A woken waiter reads the files again; the byte only
wakes it. runsv never blocks and never follows: each ``w.`` FIFO is opened write-only,
non-blocking, without following a link, and checked again; a full one is skipped; at most
``WAKE_MAX`` entries are looked at per change.
"""

import errno
import os
from stat import S_ISFIFO

from .layout import OK_FIFO, SUPERVISE_DIR

EVENT_DIR = SUPERVISE_DIR + "/event"  # relative to a side's directory
LISTENER = "ok"
WAITER_PREFIX = "w."
MAKING_PREFIX = ".w."
DIR_MODE = 0o1733
WAITER_MODE = 0o600
WAKE_MAX = 256  # entries looked at per change: waiters past that see it on their safety look
MAKING_STALE_SECONDS = 60  # a ``.w.`` left that long: its waiter was killed while making it

STATUS, READINESS, EXIT = b"s", b"r", b"x"

_CLOEXEC = os.O_CLOEXEC | os.O_NOFOLLOW
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC
_PATH_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | _CLOEXEC
_POST_FLAGS = os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | _CLOEXEC


def _is_fifo(fd):
    return S_ISFIFO(os.fstat(fd).st_mode)


def _close(fd):
    if fd >= 0:
        os.close(fd)


# -- runsv's end ---------------------------------------------------------------------------

class _Listener:
    """A reader held on an ``event/ok`` FIFO, and how many sides' ``event/ok`` name it."""

    __slots__ = ("fd", "ident", "users")

    def __init__(self, fd):
        found = os.fstat(fd)
        self.fd, self.ident, self.users = fd, (found.st_dev, found.st_ino), 0

    def is_held(self):
        """Still the FIFO it was (a descriptor number is reused once closed)."""
        try:
            found = os.fstat(self.fd)
        except OSError:
            return False
        return (found.st_dev, found.st_ino) == self.ident


# One reader for every side this process serves on a file system: each side's ``event/ok`` is
# a hard link to the first one's FIFO, so that a tree holds one descriptor for its event
# directories, not one a side. Keyed by the pid too: a child forked from a supervisor does not
# serve its parent's directories.
_LISTENERS = {}  # (pid, st_dev) -> _Listener


class EventPoster:
    """One side's ``supervise/event/``, as its runsv keeps it.

    ``base_fd``: the side's directory (a service directory or its ``log/``). ``open()`` makes
    the directory and its ``ok`` — a link to the FIFO this process holds a reader on for every
    side on that file system (its own FIFO where no link can be made) — ``post(byte)`` wakes
    every waiter; ``close()`` posts ``x`` and lets ``ok`` go (removed while the reader serves
    other sides: the directory must not look served). Nothing here raises: a side whose
    events cannot be kept (a read-only file system, a directory someone else owns) just has
    none, and its waiters wait as they did before (inotify).
    """

    __slots__ = ("base_fd", "_listener")

    def __init__(self, base_fd):
        self.base_fd = base_fd
        self._listener = None

    @property
    def is_open(self):
        return self._listener is not None

    def open(self):
        """Make or take over the directory and ``ok``; True when it posts from now on."""
        try:
            os.mkdir(EVENT_DIR, 0o700, dir_fd=self.base_fd)
        except OSError:
            pass  # there already (a runsv before us), or it cannot be: the open says which
        try:
            dfd = os.open(EVENT_DIR, _DIR_FLAGS, dir_fd=self.base_fd)
        except OSError:
            return False
        try:
            found = os.fstat(dfd)
            if found.st_uid != os.geteuid():
                return False  # not ours to serve (nor to chmod)
            if found.st_mode & 0o7777 != DIR_MODE:
                os.fchmod(dfd, DIR_MODE)  # mkdir's mode went through the umask
            self._listener = self._listen(dfd, (os.getpid(), found.st_dev))
            self._listener.users += 1
            self._sweep(dfd, startup=True)
        except OSError:
            self.close(post=False)
            return False
        finally:
            os.close(dfd)
        return True

    def _listen(self, dfd, key):
        """The listener ``ok`` names: the process's on this file system, linked; else a FIFO
        of its own (then the process's, if it had none)."""
        shared = _LISTENERS.get(key)
        if shared is not None and not shared.is_held():
            shared = _LISTENERS.pop(key)  # (closed by a close we did not see: not ours now)
        if shared is not None and _link(dfd, shared):
            return shared
        listener = _Listener(self._make_listener(dfd))
        if shared is None or os.fstat(shared.fd).st_nlink == 0:
            _LISTENERS[key] = listener  # the first, or the old one's names are all gone
        return listener

    def _make_listener(self, dfd):
        """``ok`` with a reader held — a predecessor's FIFO of ours is taken over (a new one
        costs an inode: a file system's slowest step here), anything else replaced — with
        ``supervise/ok``'s mode and group, less any read bit but the owner's (no one else
        may hold a reader: it would pass for ours once we are gone)."""
        try:
            found = os.stat(LISTENER, dir_fd=dfd, follow_symlinks=False)
            if not S_ISFIFO(found.st_mode) or found.st_uid != os.geteuid():
                os.unlink(LISTENER, dir_fd=dfd)
                raise FileNotFoundError
        except FileNotFoundError:
            os.mkfifo(LISTENER, 0o600, dir_fd=dfd)
        fd = os.open(LISTENER, os.O_RDONLY | os.O_NONBLOCK | _CLOEXEC, dir_fd=dfd)
        try:
            if not _is_fifo(fd):
                raise OSError(errno.EEXIST, "not a fifo")
            try:
                ok = os.stat(OK_FIFO, dir_fd=self.base_fd, follow_symlinks=False)
            except OSError:
                return fd
            os.fchmod(fd, ok.st_mode & 0o622)
            if ok.st_gid != os.fstat(fd).st_gid:
                try:
                    os.fchown(fd, -1, ok.st_gid)
                except OSError:
                    pass  # not a group of ours: the mode alone says
        except OSError:
            os.close(fd)
            raise
        return fd

    def post(self, byte):
        """One byte into every waiter's FIFO: something changed (``STATUS``, ``READINESS``)."""
        if self._listener is not None:
            self._post(byte)

    def _post(self, byte):
        try:
            dfd = os.open(EVENT_DIR, _DIR_FLAGS, dir_fd=self.base_fd)
        except OSError:
            return
        try:
            self._sweep(dfd, byte)
        finally:
            os.close(dfd)

    def _sweep(self, dfd, byte=b"", startup=False):
        """Each waiter gets ``byte``; a killed waiter's FIFO (no reader) is removed, and at
        start-up a ``.w.`` name left long ago too."""
        try:
            entries = os.scandir(dfd)
        except OSError:
            return
        with entries:
            for count, entry in enumerate(entries):
                if count >= WAKE_MAX:
                    break
                name = entry.name
                try:
                    if name.startswith(WAITER_PREFIX):
                        if S_ISFIFO(entry.stat(follow_symlinks=False).st_mode):
                            self._wake(dfd, name, byte)
                    elif startup and name.startswith(MAKING_PREFIX):
                        _remove_if_stale(dfd, entry)
                except OSError:
                    continue

    @staticmethod
    def _wake(dfd, name, byte):
        try:
            fd = os.open(name, _POST_FLAGS, dir_fd=dfd)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no reader under a w. name: its waiter is gone
                os.unlink(name, dir_fd=dfd)
            return
        try:
            if byte and _is_fifo(fd):  # a name swapped since the listing is left alone
                os.write(fd, byte)  # EAGAIN: full, so it is awake already
        finally:
            os.close(fd)

    def close(self, post=True):
        """runsv is leaving this side (``supervise/ok`` closed already): ``x`` to every
        waiter, and ``ok`` without its reader — a waiter that holds it open sees that too
        (POLLERR) — or, while the reader serves other sides, without its link."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        if post:
            self._post(EXIT)
        listener.users -= 1
        if listener.users > 0:
            try:
                os.unlink(EVENT_DIR + "/" + LISTENER, dir_fd=self.base_fd)
            except OSError:
                pass
            return
        for key, found in list(_LISTENERS.items()):
            if found is listener:
                del _LISTENERS[key]
        if listener.is_held():
            os.close(listener.fd)


def _link(dfd, listener):
    """``ok`` in ``dfd`` as a link to ``listener``'s FIFO (already one: kept); False when
    it cannot be (no /proc, another file system)."""
    try:
        try:
            found = os.stat(LISTENER, dir_fd=dfd, follow_symlinks=False)
            if (found.st_dev, found.st_ino) == listener.ident:
                return True
            os.unlink(LISTENER, dir_fd=dfd)
        except FileNotFoundError:
            pass
        os.link("/proc/self/fd/%d" % listener.fd, LISTENER, dst_dir_fd=dfd,
                follow_symlinks=True)
    except OSError:
        return False
    return True


def _remove_if_stale(dfd, entry):
    import time  # only at runsv's start

    if entry.stat(follow_symlinks=False).st_mtime < time.time() - MAKING_STALE_SECONDS:
        os.unlink(entry.name, dir_fd=dfd)


# -- a waiter's end ------------------------------------------------------------------------

class Waiter:
    """A waiter's FIFO in one side's ``supervise/event/``: ``fd`` is readable when runsv
    posted (``drain()`` it), ``listener`` (``ok``, held write-only) reports POLLERR when that
    runsv is gone. ``close()`` removes the FIFO."""

    __slots__ = ("dir_fd", "name", "fd", "listener")

    def __init__(self, dir_fd, name, fd, listener):
        self.dir_fd, self.name, self.fd, self.listener = dir_fd, name, fd, listener

    def drain(self):
        """Read what was posted (the bytes only woke us)."""
        while True:
            try:
                if len(os.read(self.fd, 256)) < 256:
                    return
            except OSError:
                return

    def close(self):
        if self.dir_fd < 0:
            return
        try:
            os.unlink(self.name, dir_fd=self.dir_fd)  # before the close: no ENXIO window
        except OSError:
            pass
        for fd in (self.fd, self.listener, self.dir_fd):
            _close(fd)
        self.dir_fd = self.fd = self.listener = -1


def subscribe(side_dir=""):
    """A Waiter on the side at ``side_dir`` (relative to the working directory; ``""``: it is
    the working directory), or None when no runsv of ours posts there — the caller waits as
    before. Any failure is a None: the events are a shortcut, never a new way to fail.

    The waiter's FIFO is made ``.w.PID.HEX``, opened read-write (never EOF, never blocking;
    runsv's open finds a reader), checked (a FIFO, ours, one link: nothing swapped in), made
    writable by runsv (0600; by root, given to the directory's owner when that is another
    user's runsv), then renamed ``w.PID.HEX``. A waiter who is neither the directory's owner
    nor root, in a directory not root's, gets None: runsv could not write to its FIFO.
    """
    prefix = side_dir + "/" if side_dir and not side_dir.endswith("/") else side_dir
    try:
        dfd = os.open(prefix + EVENT_DIR, _PATH_FLAGS)
    except OSError:
        return None
    listener = fd = -1
    making = None
    try:
        owner = os.fstat(dfd).st_uid
        euid = os.geteuid()
        if owner not in (euid, 0) and euid != 0:
            raise OSError(errno.EACCES, "runsv could not write to our fifo")
        # ENXIO: no runsv of ours holds it. Its owner must be the directory's: a FIFO
        # someone else planted (with a reader of theirs) proves nothing.
        listener = os.open(LISTENER, _POST_FLAGS, dir_fd=dfd)
        found = os.fstat(listener)
        if not S_ISFIFO(found.st_mode) or found.st_uid != owner:
            raise OSError(errno.EPERM, "not runsv's")
        token = "%d.%s" % (os.getpid(), os.urandom(6).hex())
        making = MAKING_PREFIX + token
        os.mkfifo(making, WAITER_MODE, dir_fd=dfd)
        fd = os.open(making, os.O_RDWR | os.O_NONBLOCK | _CLOEXEC, dir_fd=dfd)
        made = os.fstat(fd)
        if not S_ISFIFO(made.st_mode) or made.st_uid != euid or made.st_nlink != 1:
            raise OSError(errno.EPERM, "not the fifo we made")
        os.fchmod(fd, WAITER_MODE)  # the umask may have taken runsv's write bit
        if owner != euid and owner != 0:
            os.fchown(fd, owner, -1)  # root waiting on a user's runsv
        name = WAITER_PREFIX + token
        os.rename(making, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    except OSError:
        if making is not None:
            try:
                os.unlink(making, dir_fd=dfd)
            except OSError:
                pass
        for opened in (fd, listener, dfd):
            _close(opened)
        return None
    return Waiter(dfd, name, fd, listener)
