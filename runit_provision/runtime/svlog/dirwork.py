"""runtime/svlog: a log directory's file work — what svlogd does to disk — as functions of
descriptors and plain values.

A logger of its own identity's directories calls them itself (``LocalLogIO``: svlogd, a tree's
own loggers). A user's loggers are run by root's tree (usertree.py), whose process must never
open a path in a directory the user controls: the same functions then run in the user's agent
(agent.py), root sends it the work and the descriptors, and takes the answers (agentlogs.py).
Whatever costs in proportion to what a user planted or logs — rendering every line with its
stamp, listing a directory of twenty thousand files — is done here, in the process of the
directory's owner.

Every open here is one that a planted FIFO cannot block (``O_NONBLOCK``), that a planted link
cannot redirect (``O_NOFOLLOW``: the directory itself may be a link, the names in it may not),
and whose input is a regular file read with a bound.
"""

import errno
import fcntl
import os
import stat

from ...protocol.layout import (CURRENT, NEWSTATE, STATE, SVLOGD_CONFIG, SVLOGD_LOCK,
                                UNFINISHED)
from ..unix.smallread import READ_FLAGS as _READ, read_small
from .rotated import full_disk_victim, is_old_file, prune_plan, rotated_name

_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
_TRUNC = os.O_WRONLY | os.O_TRUNC | os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK | os.O_CLOEXEC
CONFIG_MAX = 64 * 1024     # bytes of config read at most; a larger one is refused
_HIGH_FD = 10              # processor fds are moved above 0–5 before being mapped onto them
_STAMP_DIGITS = 20


class Refused(Exception):
    """A log directory svlogd cannot use: runit's ``message`` and the OSError (or None)."""

    def __init__(self, message, cause=None):
        Exception.__init__(self, message)
        self.message, self.cause = message, cause


class Opening:
    """What opening a log directory found (``open_log_dir``): its descriptor and lock (held),
    ``config``'s bytes and the warnings reading it gave (``(message, OSError or None)``) and
    whether it was read, ``current``'s ``(size, mode)`` (None: there is none), and the
    content of ``unfinished`` when asked for (None: none)."""

    __slots__ = ("dir_fd", "lock_fd", "config", "config_problems", "config_read", "current",
                 "unfinished")

    def __init__(self, dir_fd=-1, lock_fd=-1, config=b"", config_problems=(), config_read=False,
                 current=None, unfinished=None):
        self.dir_fd, self.lock_fd, self.config = dir_fd, lock_fd, config
        self.config_problems, self.config_read = list(config_problems), config_read
        self.current, self.unfinished = current, unfinished


def open_log_dir(base_fd, name, unfinished_limit=None):
    """runit's ``logdir_open``, the file part: the directory opened and locked, ``config``
    read, ``current`` looked at (and ``unfinished`` read, when ``unfinished_limit`` is given:
    at most that many bytes of line). Refused with runit's message."""
    try:
        dir_fd = os.open(name, _DIR, dir_fd=base_fd)
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:  # runit's chdir() fails there
            raise Refused("unable to change directory: " + name, exc) from exc
        raise Refused("unable to open log directory: " + name, exc) from exc
    try:
        lock_fd = os.open(SVLOGD_LOCK, _APPEND, 0o600, dir_fd=dir_fd)
    except OSError as exc:
        os.close(dir_fd)
        raise Refused("unable to lock directory: " + name, exc) from exc
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(lock_fd)
        os.close(dir_fd)
        raise Refused("unable to lock directory: " + name, exc) from exc
    opening = Opening(dir_fd, lock_fd)
    opening.config, opening.config_read = _read_config(dir_fd, name, opening.config_problems)
    try:
        found = os.stat(CURRENT, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        found = None
    except OSError as exc:
        os.close(lock_fd)
        os.close(dir_fd)
        raise Refused("unable to stat current: " + name, exc) from exc
    opening.current = None if found is None else (found.st_size, found.st_mode)
    if unfinished_limit is not None:
        opening.unfinished = read_small(dir_fd, UNFINISHED,
                                        unfinished_limit + _STAMP_DIGITS + 2, regular=True)
    return opening


def _read_config(dir_fd, name, problems):
    """``config``'s bytes (b"" when there is none) and whether it was read: a regular file of
    at most ``CONFIG_MAX`` bytes, or a problem said and b"" — never a read that blocks or has
    no end."""
    try:
        fd = os.open(SVLOGD_CONFIG, _READ & ~os.O_NOFOLLOW, dir_fd=dir_fd)
    except FileNotFoundError:
        return b"", False
    except OSError as exc:
        problems.append(("unable to read config: " + name, exc))
        return b"", False
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")  # runit's read() says so
        if not stat.S_ISREG(mode):
            problems.append(("unable to read config: %s: not a regular file" % name, None))
            return b"", False
        return read_bounded(fd, CONFIG_MAX), True
    except OSError as exc:
        problems.append(("unable to read config: " + name, exc))
        return b"", False
    finally:
        os.close(fd)


def read_bounded(fd, limit):
    """All of ``fd``'s bytes, if there are at most ``limit``; OSError(EFBIG) otherwise."""
    chunks, size = [], 0
    while True:
        chunk = os.read(fd, limit + 1 - size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise OSError(errno.EFBIG, "larger than %d bytes" % limit)


# -- current --------------------------------------------------------------------------------------
def open_current(dir_fd):
    return os.open(CURRENT, _APPEND, 0o600, dir_fd=dir_fd)


def set_mode(fd, mode):
    os.fchmod(fd, mode)


def sync(fd):
    os.fsync(fd)


def write_current(dir_fd, fd, data, size_before=None, resumed=False):
    """Write ``data`` (bytes, or a list of buffers: one ``writev``) to ``current``:
    ``(written, new_fd)`` — ``new_fd`` -1, or a new ``current``'s (0644) when someone removed
    the old one (written there instead of into the void; the caller closes the old).

    ``resumed``: an agent that was asked this same write died before it answered, when
    ``current`` was ``size_before`` bytes long — what it wrote of ``data`` (``current`` now
    longer by at most ``data``'s length) counts as written and is not written again."""
    new_fd = -1
    info = os.fstat(fd)
    if resumed and info.st_nlink:
        data = b"".join(data) if type(data) is list else data
        already = info.st_size - size_before
        if 0 < already <= len(data):
            rest = data[already:]
            return already + (os.write(fd, rest) if rest else 0), new_fd
    if info.st_nlink == 0:
        new_fd = fd = open_current(dir_fd)
        try:
            os.fchmod(fd, 0o644)
        except OSError:
            os.close(new_fd)
            raise
    try:
        if type(data) is list:
            return os.writev(fd, data), new_fd
        return os.write(fd, data), new_fd
    except OSError:
        if new_fd >= 0:
            os.close(new_fd)
        raise


def rendered(head, block):
    """``block`` (whole lines, or the start of one) with ``head`` (a stamp, a prefix) before
    each line, as svlogd writes them.

    >>> rendered(b"T ", b"a\\nb\\n"), rendered(b"T ", b"half"), rendered(b"", b"x\\n")
    (b'T a\\nT b\\n', b'T half', b'x\\n')
    """
    if not head or not block:
        return block
    out = head + block.replace(b"\n", b"\n" + head)
    return out[:-len(head)] if block.endswith(b"\n") else out


def write_rendered(dir_fd, fd, head, block, size_before=None, resumed=False):
    """``write_current`` of ``rendered(head, block)``, written whole (a short write is
    continued): ``(written, new_fd, unwritten, errno, last)`` — what an error left unwritten
    (rendered) and its errno (b"" and 0 when none), and the last byte written (None: none).
    ``size_before`` and ``resumed``: as ``write_current``'s (the rendering is the same)."""
    data = rendered(head, block)
    done, new_fd = 0, -1
    while done < len(data):
        try:
            count, replaced = write_current(dir_fd, fd if new_fd < 0 else new_fd,
                                            data[done:] if done else data,
                                            size_before, resumed and not done)
        except OSError as exc:
            return done, new_fd, data[done:], exc.errno or errno.EIO, _last(data, done)
        if replaced >= 0:
            if new_fd >= 0:
                os.close(new_fd)
            new_fd = replaced
        done += count
        if not count:
            return done, new_fd, data[done:], errno.EIO, _last(data, done)
    return done, new_fd, b"", 0, _last(data, done)


def _last(data, count):
    return data[count - 1] if count else None


# -- the directory ---------------------------------------------------------------------------------
def fresh_name(dir_fd, stamp, suffix):
    """A fresh, unused ``@…`` name from ``stamp`` (ns) on (runit re-reads the clock until the
    name is free): ``(name, stamp)``."""
    while True:
        name = rotated_name(stamp, suffix)
        try:
            os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return name, stamp
        stamp += 1000


def rename(dir_fd, old, new):
    os.rename(old, new, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def unlink(dir_fd, name):
    os.unlink(name, dir_fd=dir_fd)


def chmod(dir_fd, name, mode):
    os.chmod(name, mode, dir_fd=dir_fd)


def prune(dir_fd, keep_max, protected):
    """runit's rmoldest after a rotation: processor leftovers deleted, and the oldest old file
    when more than ``keep_max`` are kept. ``(leftovers, oldest)``: each ``(name, OSError or
    None)`` — what was deleted, or the error deleting it gave; ``oldest`` None when none
    went."""
    leftovers, oldest = prune_plan(os.listdir(dir_fd), keep_max, set(protected))
    done = [(name, _unlinked(dir_fd, name)) for name in leftovers]
    return done, None if oldest is None else (oldest, _unlinked(dir_fd, oldest))


def free_space(dir_fd, keep_min, protected):
    """A full disk: the oldest old file deleted when more than ``keep_min`` exist — ``(name,
    OSError or None)``, or None when there is none to delete."""
    victim = full_disk_victim(os.listdir(dir_fd), keep_min, set(protected))
    return None if victim is None else (victim, _unlinked(dir_fd, victim))


def _unlinked(dir_fd, name):
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError as exc:
        return exc
    return None


def unprocessed(dir_fd, busy=None, limit=None):
    """The rotated files still due for the processor (``@….u``, crash leftovers), by base
    name, sorted (at most ``limit``); ``busy``: the one being processed."""
    found = sorted(name[:25] for name in os.listdir(dir_fd)
                   if is_old_file(name) and name.endswith(".u") and name[:25] != busy)
    return found if limit is None else found[:limit]


def processor_files(dir_fd, base):
    """The processor's descriptors, above 5: ``@base.u`` to read (a regular file only: a FIFO
    or a device planted there is not its to read), ``@base.t`` to write, ``state`` to read
    (made empty when there is none) and ``newstate`` to write. OSError, with ``opened`` (how
    many were) as an attribute."""
    opened = []
    try:
        opened.append(_open_high(base + ".u", _READ, dir_fd, regular=True))
        opened.append(_open_high(base + ".t", _TRUNC, dir_fd))
        try:
            opened.append(_open_high(STATE, _READ, dir_fd, regular=True))
        except FileNotFoundError:
            os.close(os.open(STATE, _TRUNC, 0o644, dir_fd=dir_fd))
            opened.append(_open_high(STATE, _READ, dir_fd, regular=True))
        opened.append(_open_high(NEWSTATE, _TRUNC, dir_fd))
    except OSError as exc:
        for fd in opened:
            os.close(fd)
        exc.opened = len(opened)
        raise
    return opened


def _open_high(name, flags, dir_fd, regular=False):
    fd = os.open(name, flags, 0o644, dir_fd=dir_fd)
    try:
        if regular and not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file: " + name)
        return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _HIGH_FD)
    finally:
        os.close(fd)


# -- unfinished (unfinished.py) ---------------------------------------------------------------------
def keep_unfinished(dir_fd, rewrite, content):
    """Append ``content`` to ``unfinished`` (``rewrite``: replace it); OSError when not."""
    fd = os.open(UNFINISHED, _APPEND | (os.O_TRUNC if rewrite else 0), 0o600, dir_fd=dir_fd)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)


def remove_unfinished(dir_fd):
    try:
        os.unlink(UNFINISHED, dir_fd=dir_fd)
    except OSError:
        pass  # gone already, or a directory closed or no longer ours to write


# -- where the work is done ------------------------------------------------------------------------
class Blocked(Exception):
    """A step cannot be done yet (an agent has not answered, a processor is still working);
    the directory's queue waits for it."""


class LocalLogIO:
    """A log directory's file work done in this process, at once.

    A step of a log directory's work may make several calls; through an agent each is
    answered later, and the step is tried again from its start once it is (``attempt``
    before each try, ``done`` after the last): the answers already given are given again, in
    their order, and the first call not yet answered goes out (Blocked)."""

    is_remote = False

    @staticmethod
    def attempt(key):
        """A try of ``key``'s step begins (its calls are answered from the first on)."""

    @staticmethod
    def done(key):
        """``key``'s step is over: its answers are forgotten."""

    @staticmethod
    def call(key, wake, work, *args):
        """``work(*args)`` (one of this module's functions): its result, or its OSError;
        through an agent, Blocked until it answered (``wake()`` then)."""
        return work(*args)

    @staticmethod
    def send(work, *args, done=None):
        """``work(*args)`` whose result nobody waits for (errors ignored); ``done(outcome)``
        after it, when given: True done, False failed (None, through an agent: it went
        first)."""
        try:
            work(*args)
            outcome = True
        except OSError:
            outcome = False
        if done is not None:
            done(outcome)

    @staticmethod
    def spawn(spawner, argv, done, **options):
        try:
            done(spawner.spawn(argv, **options))
        except OSError as exc:
            done(exc)

    @staticmethod
    def watch(loop, pid, callback):
        loop.watch_child(pid, callback)


LOCAL_LOGS = LocalLogIO()
