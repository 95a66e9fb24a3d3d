"""runtime/supervision/engine: a service's ``supervise/`` directory as runsv owns it — lock, FIFOs,
state files.

Everything here is what runsv does to disk (docs/runit-protocol.md §1.1–1.2), for one side:
the service's ``supervise/`` or its log's ``log/supervise/``. State files are written ``*.new``
then renamed, so a reader never sees a torn record. The files themselves are worked by
``servicedir``'s functions.
"""

import os

from ....errors import ProtocolError
from ....protocol.layout import OK, PID, PROCESS_RECORD, STAT, STATUS, SUPERVISE_DIR
from ....protocol.status import State, Status, stat_text, status_from_bytes, status_to_bytes
from ....protocol.tally import TALLY, tally_bytes, tally_from_bytes
from .adoption import (Record, boot_id, boot_ticks, record_bytes, record_from_bytes,
                       starting_record, starttime_of)
from .servicedir import SideFiles, open_fifo, remove, write_in_place, write_new


class SuperviseFiles:
    """The open lock and FIFOs of one side, and the writer of its state files.

    ``prefix`` is ``""`` for the service and ``"log/"`` for its logger: it appears in runit's
    messages (``unable to lock log/supervise/lock``). ``side``: what opening the side found
    (servicedir.SideFiles: its lock and control FIFO, held from now on, and what a supervisor
    before us left).
    """

    __slots__ = ("base_fd", "prefix", "_warn", "lock_fd", "control_fd", "_found",
                 "_ok_fd", "_closed", "_last_pid_written", "found_down",
                 "_tally_written", "_tally_due", "_starting_ticks", "_spawned")

    def __init__(self, base_fd, prefix, warn, side=None):
        side = side if side is not None else SideFiles()
        self.base_fd = base_fd
        self.prefix = prefix
        self._warn = warn
        self.lock_fd = side.lock_fd
        self.control_fd = side.control_fd
        self._found = side
        self._ok_fd = -1
        self._closed = False
        self._last_pid_written = None
        self.found_down = False  # the status a predecessor left said down (takeover.inherit)
        self._tally_written = None  # _tally_files' mark of the tally last written
        self._tally_due = None  # a tally to write with the next record (write_tally)
        self._starting_ticks = -1  # boot_ticks() when the last spawn began
        self._spawned = None  # (pid, its start time) of that spawn, when known without /proc

    @property
    def has_written(self):
        """The status files were written at least once (pid is written first, on every
        first write)."""
        return self._last_pid_written is not None

    def _path(self, name):
        return SUPERVISE_DIR + "/" + name

    def open_ok(self):
        """Hold a reader on ``ok`` for life: clients' proof that we run. FatalError when it
        could not be opened (a shortage of descriptors: the caller retries)."""
        if self._ok_fd < 0 and not self._closed:
            self._ok_fd = open_fifo(self.base_fd, self.prefix, OK, os.O_RDONLY)

    @property
    def is_ok_open(self):
        return self._ok_fd >= 0

    def write_tally(self, tally):
        """The ``tally`` of a death whose "down" is not written (a restart follows at once):
        it is written with the restart's ``starting`` record, just before it — or, when the
        restart spawns no ``./run`` of ours (a hosted logger, a user's tree forked), with the
        next ``write``, before its process record."""
        self._tally_due = tally

    def _tally_files(self, tally):
        """``[(in place, name, data)]`` for ``tally`` when it changed since last written."""
        self._tally_due = None
        # a stop (down) or an up after a give-up changes no count, and is written all the same
        waiting = tally.waiting
        mark = (tally.pid, tally.starts, tally.deaths, tally.gave_up_ns, tally.down_ns,
                None if waiting is None else (waiting.restarts, waiting.due_ns))
        if mark == self._tally_written:
            return []
        self._tally_written = mark
        return [(True, TALLY, tally_bytes(tally))]

    def write_status_only(self, status):
        """``status`` alone (what ``sv`` reads), before ``ok`` opens at a side's first start."""
        self._write_new(STATUS, status_to_bytes(status))

    def close(self):
        """Release everything; clients see ``runsv not running`` from here on."""
        self._closed = True
        for name in ("_ok_fd", "control_fd", "lock_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)

    # -- what a predecessor left (adoption.py) ----------------------------------------------
    def read_inherited(self):
        """``(record, status)`` as the last supervisor left them (None where absent or bad)."""
        return self.their_record(), _parsed(self._found.status, _status_or_none)

    def their_record(self):
        """The record in the side's own ``supervise/process`` (None: none, or bad)."""
        return _parsed(self._found.record, record_from_bytes)

    def read_tally(self):
        """The Tally a supervisor before us left (None: none, or not a whole one)."""
        return _parsed(self._found.tally, tally_from_bytes)

    @property
    def started(self):
        """The pid a start under way had started when our predecessor was killed (0: none)."""
        return self._found.started

    def remove_record(self):
        """A clean exit: no successor must take anything over from us."""
        remove(self.base_fd, self._path(PROCESS_RECORD))

    def write_named(self, name, data):
        """One of our own files beside runit's (``readiness``), the ``.new`` way."""
        self._write_new(name, data)

    def remove_named(self, name):
        """One of our own files, no longer wanted."""
        remove(self.base_fd, self._path(name))

    def _write_new(self, name, data):
        self._write_files([(False, name, data)])

    def write_starting(self, what):
        """Just before ``what`` ("run" or "finish") is spawned: a record that says so, with
        a lower bound for its start time — a successor can then find the process if this
        supervisor is killed before its pid is written (adoption.py). The next ``write``
        writes the record again, whatever the pid."""
        self._starting_ticks = boot_ticks()
        files = self._tally_files(self._tally_due) if self._tally_due is not None else []
        record = starting_record(what, self._starting_ticks, boot_id())
        files.append((True, PROCESS_RECORD, record_bytes(record)))
        self._write_files(files)
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
        files between: the ``tally``, then the ``process`` record of the new pid (a successor
        adopts by the record, never by ``pid``; until it is written, the ``starting`` record
        written before the spawn lets it find the process). The pid goes first: it is what a
        waiting ``sv`` and a restart's latency look for. The tally goes before the record so
        that a successor can tell what it counted: a record that names a pid the tally does
        not is a death counted already (the tally's pid is 0 after a death), and a tally that
        names the recorded pid has counted its start — written the other way round, a kill
        between the two made a new process's later death look counted (a death lost)."""
        files = []  # (in place, name, data), in their order
        new_pid = status.pid != self._last_pid_written
        if new_pid:
            files.append((False, PID, b"%d\n" % status.pid if status.pid else b""))
        tally = tally if tally is not None else self._tally_due
        if tally is not None:
            files.extend(self._tally_files(tally))
        if new_pid:
            what = "finish" if status.state == State.FINISH else "run"
            starttime = self._starttime(status.pid) if status.pid else 0
            record = Record(status.pid, starttime, boot_id(), what)
            files.append((True, PROCESS_RECORD, record_bytes(record)))
            self._last_pid_written = status.pid
        files.append((False, STAT, stat_text(status.state, status.paused, status.term,
                                             want_word).encode("ascii")))
        files.append((False, STATUS, status_to_bytes(status)))
        self._write_files(files)

    def _write_files(self, files):
        """``files`` — ``(in place, name in supervise/, data)`` — in their order: in place
        (servicedir.write_in_place) or the ``.new`` way (servicedir.write_new); each failure
        said through ``warn``."""
        for in_place, name, data in files:
            write = write_in_place if in_place else write_new
            failed = write(self.base_fd, self._path(name), data, self.prefix)
            if failed is not None:
                self._warn(*failed)


def _parsed(data, parse):
    return None if data is None else parse(data)


def _status_or_none(data):
    try:
        return status_from_bytes(data)
    except ProtocolError:  # a bad format is as good as no status here
        return None


__all__ = ["SuperviseFiles", "Status"]
