"""runtime/supervision/engine: taking over from a supervisor that was killed — which processes are
ours.

runit's runsv survives ``kill -9 runsvdir``; in our runtime the supervisor of a whole tree is
one process, so its death must not cost the services: a supervisor that starts over finds what
its predecessor left and takes the live processes back (docs/runsvdir.md "Faults").

The record. Next to runit's files, each side's ``supervise/`` holds our own ``process``, one
line padded to ``RECORD_WIDTH`` and written in place (it is written at every start, and only a
successor reads it)::

    4321 987654 5b1c…-boot-id run      PID, start time, boot, what runs (run or finish)
    0 987650 5b1c…-boot-id starting-run   about to start ./run (or ./finish): no pid yet,
                                       the start time is a lower bound for the one to come
    0 0 5b1c…-boot-id finish           ./run ended and ./finish is due, not yet started

The start time (``/proc/PID/stat``'s field 22) and the kernel's boot id name one process for
good. A supervisor that exits cleanly removes the file. What a new one does with it
(``inheritance``, pure): a fresh start when there is none or it is from another boot; the
recorded process **adopted** when alive (state and flags from ``supervise/status``, its exit
seen through a pidfd); gone, or ``./finish`` due, the exit path with ``-1 0`` (the one pair a
real exit never gives: its exit status is nobody's to know); a start under way looked for
(``started_in``) and adopted, else done again. The rules in full: docs/runsvdir.md "Faults".
"""

import os
import signal
import time

from ....protocol.status import State
from ....protocol.layout import boot_id  # noqa: F401 — this room's readers take it here
from ...unix.procstat import real_uid, stat_fields

UNKNOWN_EXIT = None  # a wait status nobody can know (Side and finish_arguments accept it)

_STARTING = "starting-"
_WHATS = ("run", "finish", _STARTING + "run", _STARTING + "finish")


class Record:
    """One line of ``supervise/process``: ``pid`` (0: nothing runs), ``starttime``, ``boot_id``
    and ``what`` ("run" or "finish", "starting-run" or "starting-finish")."""

    __slots__ = ("pid", "starttime", "boot_id", "what")

    def __init__(self, pid, starttime=0, boot_id="", what="run"):
        self.pid, self.starttime, self.boot_id, self.what = pid, starttime, boot_id, what

    def __repr__(self):
        return "Record(%d, %d, %r, %r)" % (self.pid, self.starttime, self.boot_id, self.what)

    @property
    def is_starting(self):
        return self.what.startswith(_STARTING)

    @property
    def state(self):
        """What runs, or was being started: State.RUN or State.FINISH."""
        return State.FINISH if self.what.endswith("finish") else State.RUN


def starting_record(what, starttime, boot):
    """The record written just before ``what`` ("run" or "finish") is spawned."""
    return Record(0, starttime, boot, _STARTING + what)


RECORD_WIDTH = 96  # bytes: pid, start time (20 digits at most), a 36-byte boot id, what


def record_bytes(record):
    """The file's content for ``record``: always ``RECORD_WIDTH`` bytes, so that writing it
    over a longer one leaves nothing of that behind.

    >>> record_bytes(Record(42, 1234, "b00t", "finish")).rstrip()
    b'42 1234 b00t finish'
    >>> len(record_bytes(Record(0, boot_id="b00t"))), record_bytes(Record(0))[-1:]
    (96, b'\\n')
    """
    line = b"%d %d %s %s" % (record.pid, record.starttime, record.boot_id.encode("ascii"),
                            record.what.encode("ascii"))
    return line[:RECORD_WIDTH - 1].ljust(RECORD_WIDTH - 1) + b"\n"


def record_from_bytes(data):
    """The Record of a file's bytes; None for anything malformed (treated as no record).

    >>> record_from_bytes(b"42 1234 b00t run\\n")
    Record(42, 1234, 'b00t', 'run')
    >>> record_from_bytes(b"garbage\\n") is None
    True
    """
    fields = data.split()
    if len(fields) != 4 or not fields[0].isdigit() or not fields[1].isdigit():
        return None
    what = fields[3].decode("ascii", "replace")
    if what not in _WHATS:
        return None
    return Record(int(fields[0]), int(fields[1]), fields[2].decode("ascii", "replace"), what)


# -- the decision (pure) ------------------------------------------------------------------------
class Fresh:
    """Start as runit does: no process, want from the ``down`` file."""

    kind = "fresh"


class Adopt:
    """Take over the live ``pid``: it runs ``state`` (RUN or FINISH) since ``stamp``."""

    kind = "adopt"

    def __init__(self, pid, state, status):
        self.pid, self.state, self.status = pid, state, status


class Lost:
    """The recorded process ended while nobody supervised it (``state`` it was in)."""

    kind = "lost"

    def __init__(self, state, status):
        self.state, self.status = state, status


class FinishDue:
    """``./run`` ended and ``./finish`` was not started: start it."""

    kind = "finish-due"

    def __init__(self, status):
        self.status = status


def inheritance(record, status, boot_id, starttime_of, started_since=lambda since: 0):
    """What a starting supervisor inherits: Fresh, Adopt, Lost or FinishDue.

    ``record``: the Record found (None: no file), ``status``: the decoded ``supervise/status``
    (None: none or malformed), ``starttime_of(pid)``: the live process's start time, or None
    when it is gone (or a zombie); ``started_since(starttime)``: the pid of the process a
    start under way had started (``started_in``), or 0.

    >>> from runit_provision.protocol.status import Status
    >>> running = Status(1700000000, 0, 42, False, "u", False, State.RUN)
    >>> inheritance(None, running, "b", lambda pid: 7).kind
    'fresh'
    >>> inheritance(Record(42, 7, "b"), running, "b", lambda pid: 7).kind
    'adopt'
    >>> inheritance(Record(42, 7, "b"), running, "b", lambda pid: 8).kind   # pid recycled
    'lost'
    >>> inheritance(Record(42, 7, "old boot"), running, "b", lambda pid: 7).kind
    'fresh'
    >>> inheritance(Record(0, 0, "b"), running, "b", lambda pid: None).kind  # nothing ran
    'lost'
    >>> inheritance(Record(0, 0, "b", "finish"), running, "b", lambda pid: None).kind
    'finish-due'
    >>> starting = starting_record("run", 7, "b")
    >>> found = inheritance(starting, running, "b", lambda pid: 8, lambda since: 43)
    >>> found.kind, found.pid, found.state
    ('adopt', 43, <State.RUN: 1>)
    >>> found = inheritance(starting, running, "b", lambda pid: None, lambda since: 0)
    >>> found.kind, found.state                 # never started, or gone: start again
    ('lost', <State.DOWN: 0>)
    >>> inheritance(starting_record("finish", 7, "b"), running, "b", lambda pid: None).kind
    'finish-due'
    """
    if record is None or record.boot_id != boot_id:
        return Fresh()
    state = record.state
    if record.is_starting:
        pid = started_since(record.starttime)
        if pid:
            return Adopt(pid, state, status)
        return FinishDue(status) if state == State.FINISH else Lost(State.DOWN, status)
    if record.pid and starttime_of(record.pid) == record.starttime:
        return Adopt(record.pid, state, status)
    if record.pid == 0:
        # Supervised with nothing running: down, or between a crash and its restart (keep
        # the want it had), or with ./finish due.
        return FinishDue(status) if state == State.FINISH else Lost(State.DOWN, status)
    return Lost(state, status)


# -- taking the process a record names --------------------------------------------------------
class Refused(Exception):
    """A record names a live process that is not its to hand over; the message says why."""


def claim(pid, starttime_ok, uid=None, owned=None):
    """A pidfd of the live process ``pid`` that a record names, once it is found to be the one
    the record means; None when that one is gone (a zombie, or a process started at another
    time: the pid was taken since). ``Refused`` when it is not the record's to hand over:

    - pid 1 and this supervisor are nobody's to adopt;
    - ``owned(pid)``: a process some side supervises already (its child, or one it adopted): a
      second record naming it is refused, and never takes it from the side that has it;
    - ``uid``: whose it must be, by its real uid (a set-uid program a user started is still
      theirs, as the kernel judges who may signal it): a user's tree adopts its user's alone.
      None for root's tree, whose services' ``./run`` may become anyone (``chpst -u``).

    ``starttime_ok(starttime)``: it started when the record says. Every check is made on the
    process the pidfd holds: the pidfd is opened first, the facts read from ``/proc``, then the
    process is found alive through it — a pid is reused only once its process is reaped, so
    the facts read were that process's.

    >>> claim(os.getpid(), lambda starttime: True)
    Traceback (most recent call last):
    ...
    runit_provision.runtime.supervision.engine.adoption.Refused: pid ... is this supervisor
    """
    if pid <= 1 or pid == os.getpid():
        raise Refused("pid %d is %s" % (pid, "init" if pid == 1 else "this supervisor"))
    if owned is not None and owned(pid):
        raise Refused("pid %d is supervised already" % pid)
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return None
    refusal = None
    try:
        fields = stat_fields(pid)
        if fields[0] in (b"Z", b"X") or not starttime_ok(int(fields[22 - 3])):
            os.close(pidfd)
            return None
        if uid is not None:
            theirs = real_uid(pid)
            if theirs != uid:
                refusal = "pid %d is uid %d's, not uid %d's" % (pid, theirs, uid)
        if refusal is None:
            signal.pidfd_send_signal(pidfd, 0)  # still the process whose facts were read
    except (OSError, ValueError, IndexError):
        os.close(pidfd)
        return None
    if refusal is not None:
        os.close(pidfd)
        raise Refused(refusal)
    return pidfd


def exactly(starttime):
    """``claim``'s ``starttime_ok`` for a record that names its process's start time."""
    return starttime.__eq__


def started_between(since, until):
    """``claim``'s ``starttime_ok`` for a start under way: at or after ``since``, at or
    before ``until`` (clock ticks after boot)."""
    return lambda starttime: since <= starttime <= until


# -- the facts, from /proc ------------------------------------------------------------------------
def starttime_of(pid):
    """Field 22 of ``/proc/PID/stat``, or None when ``pid`` is gone or a zombie."""
    try:
        fields = stat_fields(pid)
        state, starttime = fields[3 - 3], int(fields[22 - 3])
    except (OSError, ValueError, IndexError):
        return None
    return None if state in (b"Z", b"X") else starttime  # Z, X: exited, not yet reaped


_tick_ns = None


def boot_ticks():
    """Clock ticks since boot now, as ``/proc/PID/stat``'s start time counts them (the
    boot-time clock, rounded down): read before and after a spawn, they bound the child's start
    time — equal, they are it, without a read of ``/proc``, slow for a process that has just
    exec'd."""
    global _tick_ns
    if _tick_ns is None:
        _tick_ns = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME) // _tick_ns


def started_in(directory_fd, since, exclude=()):
    """The pid of the process a killed supervisor had just started in the directory
    ``directory_fd``: started at or after ``since`` (clock ticks after boot) and before this
    process, with that directory as its cwd, and whose parent is not such a process too (the
    earliest if several); 0 if there is none. Processes whose cwd we may not read (another
    user's, for a tree that is not root) are not ours to find.

    A cwd is compared by the path the kernel names for it (``readlink``), never by a ``stat``
    through ``/proc/PID/cwd``: that asks the file system the process is in — a user's FUSE
    mount, whose daemon may never answer, would hold root's tree there."""
    try:
        here = os.readlink("/proc/self/fd/%d" % directory_fd)
    except OSError:
        return 0
    me = os.getpid()
    before = starttime_of(me) or float("inf")
    found = {}
    # The cwd first: one readlink a process, which fails at once for another user's (a
    # user's tree's scan), where its stat line is three calls and a parse — after a kill -9
    # at a busy start, each unrecorded start is looked for among every process.
    # A pid reused between the two is a process started after this one: outside the window.
    readlink = os.readlink
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        if pid in exclude or pid == me:
            continue
        try:
            if readlink("/proc/%d/cwd" % pid) != here:
                continue
            fields = stat_fields(pid)
            state, parent, starttime = fields[0], int(fields[1]), int(fields[22 - 3])
        except (OSError, ValueError, IndexError):
            continue
        if state not in (b"Z", b"X") and since <= starttime <= before:
            found[pid] = (starttime, parent)
    tops = sorted((starttime, pid) for pid, (starttime, parent) in found.items()
                  if parent not in found)
    return tops[0][1] if tops else 0
