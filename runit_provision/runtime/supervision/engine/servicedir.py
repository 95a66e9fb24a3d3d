"""runtime/supervision/engine: a service directory's files as runsv works them — its start-up's
steps, the reads it makes later, the state files it writes — as functions of descriptors and plain
values.

A supervisor calls them on directories of its own identity: a user's services are supervised by
that user's own tree (users/usertree.py), never by root's process.

Every open here is one a planted FIFO cannot block (``O_NONBLOCK``) and a planted link cannot
redirect where a link makes no sense (``O_NOFOLLOW``), and every read is bounded.
"""

import errno
import fcntl
import os
import stat

from ....errors import FatalError
from ....protocol.layout import (CONTROL, CONTROL_DIR, DOWN, FINISH, GIVE_UP, LOCK, LOG_DIR,
                                 LOG_PIPE, NEEDS_DONE, NEW_SUFFIX, OK, ONESHOT, PROCESS_RECORD,
                                 READY, RUN, SCHEDULE, STATUS, SUPERVISE_DIR)
from ....protocol.backoff import BACKOFF, BACKOFF_MAX
from ....protocol.needsdone import NEEDS_DONE_MAX  # a line each (read, not trusted: a hint)
from ....protocol.tally import TALLY, WIDTH as TALLY_WIDTH
from ...unix.diag import with_errstr
from ...unix.smallread import is_own, read_small

# O_PATH: like runit's chdir(), this needs search permission only, not read permission.
DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC
_NEW_FLAGS = os.O_WRONLY | os.O_NONBLOCK | os.O_TRUNC | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
_IN_PLACE_FLAGS = os.O_WRONLY | os.O_NONBLOCK | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
PIPE_PATH = SUPERVISE_DIR + "/" + LOG_PIPE
RECORD_MAX = 512  # bytes of a side's process record and status read back
LOG_RUN_MAX = 4096  # bytes of log/run read to decide whether the tree runs it (hostedlogger.py)
GIVE_UP_MAX = 64
READY_MAX = 256
SCHEDULE_MAX = 4096  # a timer's spec (protocol/timer.py's TIMER_MAX; not imported: the
                     # common path loads no timer code)


def _fatal(message, exc=None):
    return FatalError(with_errstr(message, exc))


def _close_all(fds):
    for fd in fds:
        if fd >= 0:
            os.close(fd)


# -- start-up (runsv.c main, docs/runit-protocol.md §1.1) ----------------------------------------
class SideFiles:
    """What opening found of one side (the service, or its log): its lock and control FIFO
    (held), want by its ``down`` file, and what a supervisor before ours left behind — tally,
    process record and status as bytes (None: none), and the pid a start under way had started
    (``adoption.started_in``; 0 when none or not asked)."""

    __slots__ = ("lock_fd", "control_fd", "is_up", "tally", "record", "status", "started")

    def __init__(self, lock_fd=-1, control_fd=-1, is_up=True, tally=None, record=None,
                 status=None, started=0):
        self.lock_fd, self.control_fd, self.is_up = lock_fd, control_fd, is_up
        self.tally, self.record, self.status, self.started = tally, record, status, started

    @property
    def fds(self):
        return [self.lock_fd, self.control_fd]


class Opened:
    """A service directory taken over, as ``open_service`` leaves it: its descriptors (the
    directory and ``log/``, ``O_PATH``; the log pipe read-write, or an anonymous pipe's two
    ends where no FIFO can be made), each side's files (``log`` None without a ``log/``
    directory), and runsv's warnings on the way."""

    __slots__ = ("dir_fd", "log_fd", "pipe_w", "pipe_r", "main", "log", "warnings")

    def __init__(self, dir_fd=-1, log_fd=-1, pipe_w=-1, pipe_r=-1, main=None, log=None,
                 warnings=()):
        self.dir_fd, self.log_fd, self.pipe_w, self.pipe_r = dir_fd, log_fd, pipe_w, pipe_r
        self.main, self.log, self.warnings = main, log, list(warnings)

    @property
    def fds(self):
        """Every descriptor held (-1 for none), in a fixed order — a side not reached yet
        (``main`` too, before the directory opened: it vanished) holds none."""
        sides = [self.main or SideFiles(), self.log or SideFiles()]
        return [self.dir_fd, self.log_fd, self.pipe_w, self.pipe_r] + sum(
            (side.fds for side in sides), [])

    def close(self):
        _close_all(self.fds)


def is_down_file(dir_fd):
    """runsv's rule for a side's start: ``stat("down") != -1`` means want down, whatever
    else made the stat fail."""
    try:
        os.stat(DOWN, dir_fd=dir_fd)
    except OSError:
        return False
    return True


def open_service(directory, find_started=None):
    """Take over the service directory ``directory`` as runsv does at start-up: an Opened, or
    FatalError with runit's message (nothing is left open then).

    ``find_started(side_fd, since, exclude)`` (adoption.started_in) is asked for a side whose
    record says a start was under way when its supervisor was killed."""
    opened = Opened()
    try:
        _open_service(directory, opened, find_started)
    except BaseException as exc:
        opened.close()
        exc.warnings = opened.warnings  # said before the fatal message, as runsv would
        raise
    return opened


def _open_service(directory, opened, find_started):
    try:
        opened.dir_fd = os.open(directory, DIR_FLAGS)
    except OSError as exc:
        raise _fatal("unable to change to directory", exc) from exc
    opened.main = SideFiles(is_up=not is_down_file(opened.dir_fd))
    _open_log_dir(opened)
    make_supervise_dir(opened.dir_fd, "")
    opened.main.lock_fd = take_lock(opened.dir_fd, "", blocking=False)
    if opened.log is not None:
        make_supervise_dir(opened.log_fd, "log/")
        opened.log.lock_fd = take_lock(opened.log_fd, "log/", blocking=True)
        _open_log_pipe(opened)
    for side, base_fd, prefix in _sides(opened):
        make_fifo(base_fd, prefix, CONTROL)
        side.control_fd = open_fifo(base_fd, prefix, CONTROL, os.O_RDWR)
    for side, base_fd, prefix in _sides(opened):
        make_fifo(base_fd, prefix, OK)
    exclude = set()
    for side, base_fd, prefix in _sides(opened):
        _read_inherited(side, base_fd)
        since, recorded = _since_if_starting(side.record), _recorded_pid(side.record)
        if find_started is not None and since >= 0:
            side.started = find_started(base_fd, since, exclude)
        exclude.add(side.started or recorded)


def _read_inherited(side, base_fd):
    """What a supervisor before us left on ``side``: its tally, process record and status —
    read only when they are this process's own, and so is ``supervise/`` (a link to it
    followed, as runsv follows one): written by no one else, as a supervisor of ours writes
    them. Anything else is no record (a fresh start): a record names a process to adopt, and
    one that another user could have written would make this process signal whatever they
    chose (docs/security.md)."""
    try:
        supervise_fd = os.open(SUPERVISE_DIR, DIR_FLAGS, dir_fd=base_fd)
    except OSError:
        return
    try:
        euid = os.geteuid()
        if not is_own(os.fstat(supervise_fd), euid):
            return
        side.tally = read_small(supervise_fd, TALLY, TALLY_WIDTH, owner=euid)
        side.record = read_small(supervise_fd, PROCESS_RECORD, RECORD_MAX, owner=euid)
        side.status = read_small(supervise_fd, STATUS, RECORD_MAX, owner=euid)
    finally:
        os.close(supervise_fd)


def _sides(opened):
    yield opened.main, opened.dir_fd, ""
    if opened.log is not None:
        yield opened.log, opened.log_fd, "log/"


def _since_if_starting(record):
    """The start time's lower bound of a record that says a start was under way (-1: it does
    not; adoption.py)."""
    from .adoption import record_from_bytes
    found = record_from_bytes(record) if record is not None else None
    return found.starttime if found is not None and found.is_starting else -1


def _recorded_pid(record):
    from .adoption import record_from_bytes
    found = record_from_bytes(record) if record is not None else None
    return found.pid if found is not None else 0


def _open_log_dir(opened):
    try:
        mode = os.stat(LOG_DIR, dir_fd=opened.dir_fd).st_mode
    except OSError:
        return
    if not stat.S_ISDIR(mode):
        opened.warnings.append("./log: not a directory.")
        return
    try:
        opened.log_fd = os.open(LOG_DIR, DIR_FLAGS, dir_fd=opened.dir_fd)
    except OSError as exc:
        raise _fatal("unable to open log", exc) from exc
    opened.log = SideFiles(is_up=not is_down_file(opened.log_fd))


def _open_log_pipe(opened):
    """The FIFO ``log/supervise/pipe``, held read-write (supervisor.py says why); where a FIFO
    cannot be made, an anonymous pipe that dies with this process, and the warning."""
    try:
        try:
            os.mkfifo(PIPE_PATH, 0o600, dir_fd=opened.log_fd)
        except FileExistsError:
            pass
        if not stat.S_ISFIFO(os.stat(PIPE_PATH, dir_fd=opened.log_fd).st_mode):
            raise FatalError("log/%s exists but is not a fifo" % PIPE_PATH)
        opened.pipe_w = os.open(PIPE_PATH, os.O_RDWR | os.O_CLOEXEC, dir_fd=opened.log_fd)
    except OSError as exc:
        opened.warnings.append(with_errstr(
            "unable to open log/%s, using a pipe that dies with this process" % PIPE_PATH, exc))
        if opened.pipe_w >= 0:
            os.close(opened.pipe_w)
        opened.pipe_r, opened.pipe_w = os.pipe2(os.O_CLOEXEC)


def make_supervise_dir(base_fd, prefix):
    """``mkdir supervise 0700``; if that fails and it is a symlink, create the link's target.

    The target is resolved relative to the side's directory, as runsv does from its cwd, so
    ``supervise -> /run/runit/supervise.svc`` works on a fresh tmpfs. Existing entries are
    never chmod'ed; anything else wrong (a plain file) surfaces when the lock is opened.
    """
    try:
        os.mkdir(SUPERVISE_DIR, 0o700, dir_fd=base_fd)
        return
    except OSError:
        pass
    try:
        target = os.readlink(SUPERVISE_DIR, dir_fd=base_fd)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.EINVAL):
            return
        raise _fatal("unable to readlink ./%ssupervise" % prefix, exc) from exc
    if not target.startswith("/"):
        target = "/proc/self/fd/%d/%s" % (base_fd, target)
    try:
        os.mkdir(target, 0o700)
    except OSError:
        pass  # runit ignores this too; the lock open below reports a real problem


def take_lock(base_fd, prefix, blocking):
    """flock ``supervise/lock``; runsv takes the service's non-blocking, the log's blocking."""
    try:
        fd = os.open(SUPERVISE_DIR + "/" + LOCK,
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW
                     | os.O_CLOEXEC, 0o600, dir_fd=base_fd)
    except OSError as exc:
        raise _fatal("unable to open %ssupervise/lock" % prefix, exc) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except OSError as exc:
        os.close(fd)
        raise _fatal("unable to lock %ssupervise/lock" % prefix, exc) from exc
    return fd


def make_fifo(base_fd, prefix, name):
    path = SUPERVISE_DIR + "/" + name
    try:
        os.mkfifo(path, 0o600, dir_fd=base_fd)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise _fatal("unable to mkfifo %s%s" % (prefix, path), exc) from exc
    try:
        mode = os.stat(path, dir_fd=base_fd).st_mode
    except OSError as exc:
        raise _fatal("unable to stat %s%s" % (prefix, path), exc) from exc
    if not stat.S_ISFIFO(mode):
        # runit 2.1.2 checked the service's path for the log too (g-pape/runit#12).
        raise _fatal("%s%s exists but is not a fifo" % (prefix, path))


def open_fifo(base_fd, prefix, name, flags):
    """``supervise/NAME`` opened non-blocking: ``control`` read-write (a reader that is its own
    writer never sees EOF), ``ok`` read-only (clients' proof that runsv runs)."""
    path = SUPERVISE_DIR + "/" + name
    try:
        return os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=base_fd)
    except OSError as exc:
        raise _fatal("unable to open %s%s" % (prefix, path), exc) from exc


# -- reads ------------------------------------------------------------------------------------------
def read_executable(name, dir_fd, limit):
    """The first ``limit`` bytes of a user-executable regular file, or b"" (runsv would exec
    it). Never blocks: a FIFO planted there is not read, only exec'd (and fails). Links are
    followed, as runsv's exec follows them."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return b""
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode) or not mode & stat.S_IXUSR:
            return b""
        return os.read(fd, limit)
    except OSError:
        return b""
    finally:
        os.close(fd)


def is_finish_readable(dir_fd):
    """runsv checks that ./finish can be opened for reading, not that it is executable; never
    waiting for a writer (a FIFO there, in a user's tree, must not stall it)."""
    try:
        fd = os.open(FINISH, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return False
    os.close(fd)
    return True


def finish_begins(dir_fd, head):
    """./finish is a regular file, executable by its owner (runsv's exec would run it), not a
    link, whose first bytes are ``head`` (never waiting: a FIFO there is no file)."""
    return read_small(dir_fd, FINISH, len(head), executable=True) == head


def is_oneshot(dir_fd):
    """The ``oneshot`` file marks a one-shot (docs/jobs.md): a regular file, not followed.
    Its clean exit is no death in the tally."""
    try:
        return stat.S_ISREG(os.stat(ONESHOT, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def hook_mode(dir_fd, letter):
    """``control/<letter>``'s mode (links followed, as runsv's stat), or the OSError."""
    try:
        return os.stat(CONTROL_DIR + "/" + letter, dir_fd=dir_fd).st_mode
    except OSError as exc:
        return exc


class Facts:
    """What a supervisor reads of its service directory while it runs, each read when it is
    needed (an apply may change any of them at any time): whether ``./finish`` can be opened,
    the mode of each ``control/<c>`` (or the OSError stat gave), ``give-up``, ``backoff`` and
    ``ready`` (bytes, None when absent or not a regular file), ``log/run`` (what
    ``read_executable`` gives) and whether ``oneshot`` marks a one-shot."""

    __slots__ = ("dir_fd", "log_fd")

    def __init__(self, dir_fd, log_fd):
        self.dir_fd, self.log_fd = dir_fd, log_fd

    @property
    def finish(self):
        return is_finish_readable(self.dir_fd)

    def hook(self, letter):
        return hook_mode(self.dir_fd, letter)

    @property
    def give_up(self):
        return read_small(self.dir_fd, GIVE_UP, GIVE_UP_MAX, regular=True)

    @property
    def backoff(self):
        return read_small(self.dir_fd, BACKOFF, BACKOFF_MAX, regular=True)

    @property
    def ready(self):
        return read_small(self.dir_fd, READY, READY_MAX, regular=True)

    @property
    def log_run(self):
        return read_executable(RUN, self.log_fd, LOG_RUN_MAX)

    @property
    def oneshot(self):
        return is_oneshot(self.dir_fd)

    @property
    def schedule(self):
        """A timer's ``schedule`` file (its presence marks one: a regular file, not
        followed), or None."""
        return read_small(self.dir_fd, SCHEDULE, SCHEDULE_MAX, regular=True)

    @property
    def needs_done(self):
        """The service directories of the one-shots ``./run`` waits for (the ``needs-done``
        file, a line each), or None: read at each start of ./run (an apply may change it)."""
        return read_small(self.dir_fd, NEEDS_DONE, NEEDS_DONE_MAX, regular=True)

    def finish_begins(self, head):
        """./finish begins with ``head`` (read when asked: an apply may change it)."""
        return finish_begins(self.dir_fd, head)


# -- writes -----------------------------------------------------------------------------------------
def write_new(base_fd, path, data, prefix=""):
    """Write ``path`` the runit way: ``path.new``, then renamed over it. None, or the
    warning runsv would give (``unable to open PREFIXpath.new``) and its OSError."""
    new = path + NEW_SUFFIX
    try:
        fd = os.open(new, _NEW_FLAGS, 0o644, dir_fd=base_fd)
    except OSError as exc:
        return "unable to open %s%s" % (prefix, new), exc
    try:
        os.write(fd, data)
    except OSError as exc:
        return "unable to write %s%s" % (prefix, new), exc
    finally:
        os.close(fd)
    try:
        os.rename(new, path, src_dir_fd=base_fd, dst_dir_fd=base_fd)
    except OSError as exc:
        return "unable to rename %s%s to %s" % (prefix, new, path.rsplit("/", 1)[-1]), exc
    return None


def write_in_place(base_fd, path, data, prefix=""):
    """Overwrite ``path`` from its start (no truncation: ``data`` is as long as what it
    replaces) — one open, one write, no rename. Whatever is not a plain file of ours there (a
    link, a directory) is replaced the ``.new`` way instead. None, or a warning and its
    OSError."""
    try:
        fd = os.open(path, _IN_PLACE_FLAGS, 0o644, dir_fd=base_fd)
    except OSError:
        return write_new(base_fd, path, data, prefix)
    try:
        os.write(fd, data)
    except OSError as exc:
        return "unable to write %s%s" % (prefix, path), exc
    finally:
        os.close(fd)
    return None


def remove(base_fd, path):
    """Remove ``path``; absent already (or not ours to remove) is no error."""
    try:
        os.unlink(path, dir_fd=base_fd)
    except OSError:
        pass


# -- a tree's directory --------------------------------------------------------------------------
class Listing:
    """One look at a tree's directory (runsvdir's scan): its (device, inode), and each entry
    that is not a dot-name — ``(name, (device, inode))`` for a directory (links followed),
    ``(name, OSError)`` for one stat could not look at; other files are left out."""

    __slots__ = ("identity", "entries")

    def __init__(self, identity, entries):
        self.identity, self.entries = identity, entries


def list_services(directory):
    """The Listing of ``directory``; OSError when it cannot be looked at — with the
    directory's ``identity`` as an attribute when the stat passed and the read failed."""
    info = os.stat(directory)
    try:
        names = os.listdir(directory)
    except OSError as exc:
        exc.identity = (info.st_dev, info.st_ino)  # known: the read failed, not the stat
        raise
    entries = []
    for name in names:
        if name.startswith("."):
            continue
        try:
            found = os.stat(os.path.join(directory, name))
        except OSError as exc:
            entries.append((name, exc))
            continue
        if stat.S_ISDIR(found.st_mode):
            entries.append((name, (found.st_dev, found.st_ino)))
    return Listing((info.st_dev, info.st_ino), entries)
