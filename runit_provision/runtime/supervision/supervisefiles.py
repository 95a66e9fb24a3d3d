"""runtime: a service's ``supervise/`` directory as runsv owns it — lock, FIFOs, state files.

Everything here is what runsv does to disk (docs/runit-protocol.md §1.1–1.2), for one side:
the service's ``supervise/`` or its log's ``log/supervise/``. State files are written ``*.new``
then renamed, so a reader never sees a torn record.
"""

import errno
import fcntl
import os
import stat

from ...errors import FatalError, ProtocolError
from ...protocol.layout import (CONTROL, LOCK, NEW_SUFFIX, OK, PID, PROCESS_RECORD, STAT,
                                STATUS, SUPERVISE_DIR)
from ...protocol.status import State, Status, stat_text, status_from_bytes, status_to_bytes
from ...protocol.tally import TALLY, WIDTH as TALLY_WIDTH, tally_bytes, tally_from_bytes
from ..unix.diag import with_errstr
from .adoption import (Record, boot_id, boot_ticks, record_bytes, record_from_bytes,
                       starting_record, starttime_of)

_NEW_FLAGS = os.O_WRONLY | os.O_NONBLOCK | os.O_TRUNC | os.O_CREAT | os.O_NOFOLLOW
_IN_PLACE_FLAGS = os.O_WRONLY | os.O_NONBLOCK | os.O_CREAT | os.O_NOFOLLOW


def _fatal(message, exc=None):
    return FatalError(with_errstr(message, exc))


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
    if not os.path.isabs(target):
        target = "/proc/self/fd/%d/%s" % (base_fd, target)
    try:
        os.mkdir(target, 0o700)
    except OSError:
        pass  # runit ignores this too; the lock open below reports a real problem


class SuperviseFiles:
    """The open lock and FIFOs of one side, and the writer of its state files.

    ``prefix`` is ``""`` for the service and ``"log/"`` for its logger: it appears in runit's
    messages (``unable to lock log/supervise/lock``).
    """

    def __init__(self, base_fd, prefix, warn):
        self.base_fd = base_fd
        self.prefix = prefix
        self._warn = warn
        self.lock_fd = -1
        self.control_fd = -1
        self._ok_fd = -1
        self._last_pid_written = None
        self.found_down = False  # the status a predecessor left said down (supervisor._inherit)
        self._tally_written = None  # (pid, starts, deaths) of the tally last written
        self._starting_ticks = -1  # boot_ticks() when the last spawn began
        self._spawned = None  # (pid, its start time) of that spawn, when known without /proc

    @property
    def has_written(self):
        """The status files were written at least once (pid is written first, on every
        first write)."""
        return self._last_pid_written is not None

    def _path(self, name):
        return SUPERVISE_DIR + "/" + name

    def take_lock(self, blocking):
        """flock ``supervise/lock``; runsv takes the service's non-blocking, the log's blocking."""
        try:
            self.lock_fd = os.open(self._path(LOCK),
                                   os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK
                                   | os.O_NOFOLLOW,
                                   0o600, dir_fd=self.base_fd)
        except OSError as exc:
            raise _fatal("unable to open %ssupervise/lock" % self.prefix, exc) from exc
        try:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except OSError as exc:
            raise _fatal("unable to lock %ssupervise/lock" % self.prefix, exc) from exc

    def _make_fifo(self, name):
        try:
            os.mkfifo(self._path(name), 0o600, dir_fd=self.base_fd)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise _fatal("unable to mkfifo %ssupervise/%s" % (self.prefix, name),
                             exc) from exc
        try:
            mode = os.stat(self._path(name), dir_fd=self.base_fd).st_mode
        except OSError as exc:
            raise _fatal("unable to stat %ssupervise/%s" % (self.prefix, name), exc) from exc
        if not stat.S_ISFIFO(mode):
            # runit 2.1.2 checked the service's path for the log too (g-pape/runit#12).
            raise _fatal("%ssupervise/%s exists but is not a fifo" % (self.prefix, name))

    def _open(self, name, flags):
        try:
            return os.open(self._path(name), flags | os.O_NONBLOCK, dir_fd=self.base_fd)
        except OSError as exc:
            raise _fatal("unable to open %ssupervise/%s" % (self.prefix, name), exc) from exc

    def open_control(self):
        """Create and open ``control`` read-write: a reader that is its own writer, so it never
        sees EOF when a client closes. (runsv holds a reader and a spare writer: two
        descriptors where one does, and a tree holds these for every service.)"""
        self._make_fifo(CONTROL)
        self.control_fd = self._open(CONTROL, os.O_RDWR)

    def make_ok(self):
        """Create ``ok`` (runit's fatal errors come here, before anything is started)."""
        self._make_fifo(OK)

    def open_ok(self):
        """Hold a reader on ``ok`` for life: clients' proof that we run."""
        self._ok_fd = self._open(OK, os.O_RDONLY)

    @property
    def is_ok_open(self):
        return self._ok_fd >= 0

    def write_status_only(self, status):
        """``status`` alone (what ``sv`` reads), before ``ok`` opens at a side's first start."""
        self._write_new(STATUS, status_to_bytes(status))

    def close(self):
        """Release everything; clients see ``runsv not running`` from here on."""
        for name in ("_ok_fd", "control_fd", "lock_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)

    # -- what a predecessor left (adoption.py) ----------------------------------------------
    def read_inherited(self):
        """``(record, status)`` as the last supervisor left them (None where absent or bad)."""
        return (_parsed(self._read(PROCESS_RECORD), record_from_bytes),
                _parsed(self._read(STATUS), _status_or_none))

    def read_tally(self):
        """The Tally a supervisor before us left (None: none, or not a whole one)."""
        return _parsed(self._read(TALLY, TALLY_WIDTH), tally_from_bytes)

    def write_tally(self, tally):
        """Write ``supervise/tally`` in place when a start or a death changed it."""
        mark = (tally.pid, tally.starts, tally.deaths)
        if mark != self._tally_written:
            self._write_in_place(TALLY, tally_bytes(tally))
            self._tally_written = mark

    def remove_record(self):
        """A clean exit: no successor must take anything over from us."""
        try:
            os.unlink(self._path(PROCESS_RECORD), dir_fd=self.base_fd)
        except OSError:
            pass

    def _read(self, name, size=512):
        try:
            fd = os.open(self._path(name), os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW
                         | os.O_CLOEXEC,
                         dir_fd=self.base_fd)
        except OSError:
            return None
        try:
            return os.read(fd, size)
        except OSError:
            return None
        finally:
            os.close(fd)

    def write_named(self, name, data):
        """One of our own files beside runit's (``readiness``), the ``.new`` way."""
        self._write_new(name, data)

    def remove_named(self, name):
        """One of our own files, no longer wanted."""
        try:
            os.unlink(self._path(name), dir_fd=self.base_fd)
        except OSError:
            pass

    def _write_new(self, name, data):
        new = self._path(name + NEW_SUFFIX)
        try:
            fd = os.open(new, _NEW_FLAGS, 0o644, dir_fd=self.base_fd)
        except OSError as exc:
            self._warn("unable to open %s%s" % (self.prefix, new), exc)
            return
        try:
            os.write(fd, data)
        except OSError as exc:
            self._warn("unable to write %s%s" % (self.prefix, new), exc)
            return
        finally:
            os.close(fd)
        try:
            os.rename(new, self._path(name), src_dir_fd=self.base_fd, dst_dir_fd=self.base_fd)
        except OSError as exc:
            self._warn("unable to rename %s%s to %s" % (self.prefix, new, name), exc)

    def _write_in_place(self, name, data):
        """Overwrite ``name`` from its start (no truncation: ``data`` is as long as what it
        replaces) — one open, one write, no rename. Whatever is not a plain file of ours
        there (a link, a directory) is replaced the ``.new`` way instead."""
        try:
            fd = os.open(self._path(name), _IN_PLACE_FLAGS, 0o644, dir_fd=self.base_fd)
        except OSError:
            self._write_new(name, data)
            return
        try:
            os.write(fd, data)
        except OSError as exc:
            self._warn("unable to write %s%s" % (self.prefix, self._path(name)), exc)
        finally:
            os.close(fd)

    def write_starting(self, what):
        """Just before ``what`` ("run" or "finish") is spawned: a record that says so, with
        a lower bound for its start time — a successor can then find the process if this
        supervisor is killed before its pid is written (adoption.py). The next ``write``
        writes the record again, whatever the pid."""
        self._starting_ticks = boot_ticks()
        self._write_in_place(PROCESS_RECORD, record_bytes(starting_record(
            what, self._starting_ticks, boot_id())))
        self._last_pid_written = -1

    def spawned(self, pid):
        """``pid`` was spawned since ``write_starting``: its start time is known when the
        clock did not tick in between."""
        after = boot_ticks()
        self._spawned = (pid, after) if after == self._starting_ticks else None

    def _starttime(self, pid):
        if self._spawned is not None and self._spawned[0] == pid:
            return self._spawned[1]
        return starttime_of(pid) or 0

    def write(self, status, want_word, tally=None):
        """Write pid (when it changed), stat, then status — runsv's order — with our own
        files between: the ``process`` record of the new pid (a successor adopts by the
        record, never by ``pid``; until it is written, the ``starting`` record written before
        the spawn lets it find the process), and the ``tally`` before status, so that who
        sees the new status sees its count. The pid goes first: it is what a waiting ``sv``
        and a restart's latency look for."""
        if status.pid != self._last_pid_written:
            what = "finish" if status.state == State.FINISH else "run"
            self._write_new(PID, b"%d\n" % status.pid if status.pid else b"")
            starttime = self._starttime(status.pid) if status.pid else 0
            self._write_in_place(PROCESS_RECORD, record_bytes(Record(status.pid, starttime,
                                                              boot_id(), what)))
            self._last_pid_written = status.pid
        if tally is not None:
            self.write_tally(tally)
        self._write_new(STAT, stat_text(status.state, status.paused, status.term,
                                          want_word).encode("ascii"))
        self._write_new(STATUS, status_to_bytes(status))


def _parsed(data, parse):
    return None if data is None else parse(data)


def _status_or_none(data):
    try:
        return status_from_bytes(data)
    except ProtocolError:  # a bad format is as good as no status here
        return None


__all__ = ["SuperviseFiles", "make_supervise_dir", "Status"]
