"""runtime/svlog: a log directory's file work — what svlogd does to disk — as functions of
descriptors and plain values.

A logger calls them on directories of its own identity (svlogd, a tree's loggers, an identity's
logger host): root's process never works a directory a user controls.

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


def write_current(dir_fd, fd, data):
    """Write ``data`` (bytes, or a list of buffers: one ``writev``) to ``current``:
    ``(written, new_fd)`` — ``new_fd`` -1, or a new ``current``'s (0644) when someone removed
    the old one (written there instead of into the void; the caller closes the old)."""
    new_fd = -1
    if os.fstat(fd).st_nlink == 0:
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


def unprocessed(dir_fd, busy=None):
    """The rotated files still due for the processor (``@….u``, crash leftovers), by base
    name, sorted; ``busy``: the one being processed."""
    return sorted(name[:25] for name in os.listdir(dir_fd)
                  if is_old_file(name) and name.endswith(".u") and name[:25] != busy)


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
