"""host: one side's live state, and the restarts an earlier apply owes — read through an
``FsReader`` (fsread.py) as sv reads them, into protocol's one ``SideState``: for ``status``,
``metrics`` and the fact (health/status.py) and for the applier (apply/observe.py, watch.py,
activate.py), which read them alike. Apart from the applier's observation, so that a view
does not import observe.py's tree of Actuals.

Every record of a side may be a user's (their tree writes its ``supervise/``): each is read
bounded, by protocol's total readers, and one that is there and cannot be read is named in
the SideState's ``unreadable`` with why — that side's row says so, the rest are read on.
"""

import os
import time

from ..errors import ProbeError, UnsafePathError
from ..protocol.layout import (BACKOFF_STATE, LAST_RUN, ONESHOT, READINESS, SCHEDULE,
                               SUPERVISE_DIR, TIMER_STATE_FILE)
from ..protocol.probe import is_normally_up, is_supervised_despite, read_status_at, unknown_of
from ..protocol.sidestate import LAST_RUN_FILE, SideState, disowned_pid
from ..protocol.status import State
from ..protocol.tally import TALLY, TALLY_FILE, account_of, tally_read_at
from .owed import owed_from_text

# How long a reader waits for the status that a tally just written announces, and how far
# a file's time (the kernel's coarse clock) may lag the clock runsv stamps a status with.
TALLY_CATCH_UP = 0.5
_FILE_CLOCK_NS = 20_000_000

READINESS_FILE = SUPERVISE_DIR + "/" + READINESS

NOT_SUPERVISED = SideState()
NEVER_SUPERVISED = SideState(was_seen=False)  # no supervise/: no runsv ever took it up


def read_owed(fs, path):
    """The restarts written down at ``path`` (owed.py); none when there is no such file (or
    no path: a staged root restarts nothing)."""
    if path is None:
        return []
    try:
        content, _ = fs.read_file(path)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [] if content is None else owed_from_text(content.decode("utf-8", "replace"))


def probe_side(fs, path):
    """A side's SideState, read as sv reads it — the ``supervise/ok`` probe, then one read of
    ``supervise/status`` (``protocol.probe.read_status_at``) — with ``supervise/`` reached
    through ``fs`` (no planted link followed on the way) and nothing in it followed, so a
    user's tree can never make the reader open something else. Never writes or blocks.

    Not supervised, as sv says: no ``supervise/``, an ``ok`` without a reader (ENXIO) or
    without a name. Anything else that fails leaves the state ``unknown`` (a side whose
    owner made ``status`` a FIFO or ``ok`` a file may run or not, or whose status names a
    process not its own: ``protocol.sidestate.disowned_pid``): a restart it needs is
    owed until it can be told (planner/services.py) — and one this process may not read
    (``status`` run by a user, on root's tree) says so, and whose it is (``not_readable``)."""
    try:
        supervise = fs.dir_fd(path + "/" + SUPERVISE_DIR)
    except FileNotFoundError:
        return NEVER_SUPERVISED  # no runsv ever took this side up
    except PermissionError:
        return SideState(unknown=not_readable(fs, path + "/" + SUPERVISE_DIR))
    except (OSError, UnsafePathError) as exc:
        return SideState(unknown="%s/ not reached safely: %s" % (SUPERVISE_DIR, _why(exc)))
    try:
        status = read_status_at(supervise)
        return SideState(True, status, unknown=disowned_pid(
            status, os.fstat(supervise).st_uid, process_uid))
    except ProbeError as exc:
        unknown = unknown_of(exc)
        if unknown is None:
            return NOT_SUPERVISED
        return SideState(is_supervised_despite(exc), error=exc, unknown=unknown)


def process_uid(pid):
    """The owner of process ``pid`` (its ``/proc`` directory's, as verify's probe reads it),
    None when there is none."""
    try:
        return os.stat("/proc/%d" % pid).st_uid
    except OSError:
        return None


def not_readable(fs, path):
    """Why this process may not open the directory ``path`` (a side's ``supervise/``, which
    runsv makes 0700): the first directory on the way it may not read, whose it is and its
    mode — ``cannot read /etc/sv/web/supervise: permission denied (supervise/ is root's,
    0700, and this is uid 1000)``. Asked only once an open failed with EACCES."""
    parts = path.strip("/").split("/")
    blocker = path
    for count in range(1, len(parts) + 1):
        above = "/" + "/".join(parts[:count])
        try:
            fs.dir_fd(above)
        except PermissionError:
            blocker = above
            break
        except (OSError, UnsafePathError):
            break
    try:
        info = fs.lstat(blocker)
    except (OSError, UnsafePathError):
        info = None
    said = "cannot read %s: permission denied" % fs.host_path(path)
    if info is None:
        return said
    return "%s (%s is %s, %04o, and this is uid %d)" % (
        said, SUPERVISE_DIR + "/" if blocker == path else fs.host_path(blocker),
        "root's" if info.st_uid == 0 else "uid %d's" % info.st_uid, info.st_mode & 0o7777,
        os.geteuid())


def read_side(fs, path, now, probe=None, with_tally=True):
    """The whole SideState of the side at ``path`` — what ``status``, ``metrics`` and the
    fact show: ``probe`` (``probe_side``'s signature; None: ``probe_side`` on ``fs``), whether
    a ``down`` file marks it normally down, and with ``with_tally`` our runtime's tally and
    readiness record of what the status shows; ``now``: unix seconds it is read at."""
    probe = probe or (lambda where: probe_side(fs, where))
    side = probe(path)
    readiness = waiting = None
    if with_tally and side.unknown is None and side.status is not None:
        side = tallied(fs, path, side)
        readiness, why = side_readiness_read(fs, path, side.status)
        side = with_unreadable(side, READINESS_FILE, why)
        waiting, why = side_waiting_read(fs, path, side)
        side = with_unreadable(side, BACKOFF_STATE, why)
    oneshot, timer = side_marks(fs, path)
    last_run = None
    if oneshot or timer:
        last_run, why = side_last_run_read(fs, path)
        if not timer:  # a timer's records are its TimerRead's to judge (side_timer)
            side = with_unreadable(side, LAST_RUN_FILE, why)
    side = side.replaced(is_normally_up=side_is_normally_up(fs, path), readiness=readiness,
                         now_ns=now * 1_000_000_000, waiting=waiting, is_oneshot=oneshot,
                         last_run=last_run, timer=side_timer(fs, path) if timer else None)
    if with_tally and side.is_want_up and side.state.value in ("run", "down"):
        side = side.replaced(waiting_for=side_waiting_for(fs, path, side, probe))
    return side


def side_waiting_for(fs, path, side, probe):
    """The one-shots the side's ``./run`` waits for now (protocol/needsdone.py), read from
    its ``needs-done``, its guard's ``needs-passed`` and each one's ``supervise/``: ``(name,
    job)`` each. Both files are the service owner's: its directories are only looked at,
    each as status reads a side, and the record only compared with the status's pid."""
    from ..protocol.layout import NEEDS_DONE, NEEDS_PASSED

    try:
        content, _ = fs.read_file(path + "/" + NEEDS_DONE)
    except (OSError, UnsafePathError):
        return ()
    if not content:
        return ()
    from ..protocol.needsdone import needed_dirs, waited_for

    needed = []
    for directory in needed_dirs(content):
        last, why = side_last_run_read(fs, directory)
        needed.append((directory.rstrip("/").rsplit("/", 1)[-1], with_unreadable(
            probe(directory).replaced(is_oneshot=True, last_run=last,
                                      is_normally_up=side_is_normally_up(fs, directory)),
            LAST_RUN_FILE, why)))
    from ..protocol.layout import boot_id

    word = None
    if side.state.value == "run":  # its guard's word counts for a run alone
        try:
            word, _ = fs.read_file(path + "/" + NEEDS_PASSED)
        except (OSError, UnsafePathError):
            pass
    return tuple(waited_for(side, needed, word, boot_id()))


def side_waiting(fs, path, side):
    """The restart that waits out the side's back-off (protocol/backoff.py), or None:
    ``side_waiting_read``'s."""
    return side_waiting_read(fs, path, side)[0]


def side_waiting_read(fs, path, side):
    """``(Waiting, None)``: the restart that waits out the side's back-off
    (protocol/backoff.py); ``(None, None)`` when none does; ``(None, why)`` when its record
    cannot be read. Our runsv's is in its tally (read, and bounded, with it); under the C
    runit, the record the rendered ``./finish`` that runs now wrote (``backoff-state``, its
    pid the status's) — the service owner's file, only shown."""
    tally, status = side.tally, side.status
    if tally is not None:
        found = tally.waiting
        return (found if found is not None and found.due_ns else None), None
    if status.state != State.FINISH or not status.pid:
        return None, None
    from ..protocol.backoff import BACKOFF_MAX, waiting_read

    try:
        content, _ = fs.read_file(path + "/" + BACKOFF_STATE)
    except (OSError, UnsafePathError):
        return None, None
    if content is None:
        return None, None
    found, why = waiting_read(content[:BACKOFF_MAX])
    if found is None or found.pid != status.pid or not found.due_ns:
        return None, why
    return found, None


def side_marks(fs, path):
    """``(oneshot, timer)``: whether the side's directory has the ``oneshot`` file
    (docs/jobs.md), and whether it has ``schedule`` (a timer: docs/jobs.md#timers) — each a regular
    file (not followed), reached through ``fs`` as ``down`` is."""
    try:
        dir_fd = fs.dir_fd(path)
    except (OSError, UnsafePathError):
        return False, False
    return _is_file(dir_fd, ONESHOT), _is_file(dir_fd, SCHEDULE)


def side_timer(fs, path):
    """What a timer's records say (protocol/timerwords.py ``TimerRead``): its ``schedule``,
    ``supervise/timer`` and ``supervise/last-run``, each read bounded, never followed — and
    only shown: a user's tree writes them, and garbage in any is told as unreadable."""
    from ..protocol.timerwords import timer_read_from_bytes  # only for a timer

    def read(name):
        try:
            return fs.read_file(path + "/" + name)[0]
        except (OSError, UnsafePathError):
            return None
    return timer_read_from_bytes(read(SCHEDULE), read(TIMER_STATE_FILE),
                                 read(SUPERVISE_DIR + "/" + LAST_RUN))


def side_last_run(fs, path):
    """A one-shot's ``supervise/last-run`` (protocol/lastrun.py), or None: none, or not one.
    Shown only: a user's finish writes it, and nothing here acts on it."""
    return side_last_run_read(fs, path)[0]


def side_last_run_read(fs, path):
    """``(LastRun, None)`` of the side's ``supervise/last-run``, ``(None, None)`` when there
    is none, ``(None, why)`` when it cannot be read (protocol/lastrun.py ``last_run_read``)."""
    from ..protocol.lastrun import last_run_read_at  # only for a one-shot

    try:
        supervise = fs.dir_fd(path + "/" + SUPERVISE_DIR)
    except (OSError, UnsafePathError):
        return None, None
    return last_run_read_at(supervise)


def with_unreadable(side, record, why):
    """``side`` with ``record`` (its name: ``supervise/tally``) among its ``unreadable``,
    for ``why``; ``side`` itself when ``why`` is None."""
    if why is None:
        return side
    return side.replaced(unreadable=side.unreadable + ((record, why),))


def _is_file(dir_fd, name):
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return False
    return info.st_mode & 0o170000 == 0o100000


def tallied(fs, path, side):
    """``side`` (probe_side's) with our runtime's tally when it is the account of the status
    read (``side_tally`` reads the status again when they differ) — or, when the tally is
    there and cannot be read, with it among its ``unreadable``."""
    if side.status is None or side.unknown is not None:
        return side
    status, tally, why = side_tally(fs, path, side.status)
    return with_unreadable(side.replaced(status=status, tally=tally), TALLY_FILE, why)


def side_tally(fs, path, status, catch_up=TALLY_CATCH_UP):
    """``(status, tally, why)``: the side's Tally when it is our runtime's account of what
    ``status`` shows (protocol/tally.account_of: verify's rule too), else None — no file (C
    runit), one another runsv left, or one that cannot be read (``why``: what is wrong with
    it; else None).

    runsv writes the tally before the status. A tally that names another pid and was written
    after the status's stamp is one whose status is still to come (a busy host may hold runsv
    between the two writes): the status is read again until it catches up, for at most
    ``catch_up`` seconds. One written before the status is another runsv's, left behind."""
    try:
        supervise = fs.dir_fd(path + "/" + SUPERVISE_DIR)
    except (OSError, UnsafePathError):
        return status, None, None
    deadline = time.monotonic() + catch_up
    pause = 0.001
    while True:
        found, why = tally_read_at(supervise)
        tally = account_of(found, status)
        if found is None or tally is not None:
            return status, tally, why
        if not _written_since(supervise, status) or time.monotonic() > deadline:
            return status, None, None
        time.sleep(pause)
        pause = min(pause * 2, 0.02)
        try:
            status = read_status_at(supervise)
        except ProbeError:
            return status, None, None


def _written_since(supervise, status):
    """Whether the tally in ``supervise`` was written at or after ``status``'s stamp (within
    the kernel's coarse clock, which stamps files)."""
    try:
        written = os.stat(TALLY, dir_fd=supervise, follow_symlinks=False).st_mtime_ns
    except OSError:
        return False
    return written >= status.stamp_ns - _FILE_CLOCK_NS


def side_readiness_read(fs, path, status):
    """``(Readiness, None)``: what the process ``status`` shows said of its readiness
    (supervise/readiness, written by our runsv or by notify-relay under the C one);
    ``(None, None)``: no record, or one about another process (an earlier run, or this one
    before the record caught up); ``(None, why)``: one that cannot be read."""
    if not status.pid or status.state != State.RUN:
        return None, None
    # here: only a side that runs has a readiness to read (status of one that does not, or
    # of an unsupervised one, never loads the record's module)
    from ..protocol.readiness import readiness_read_at

    try:
        supervise = fs.dir_fd(path + "/" + SUPERVISE_DIR)
    except (OSError, UnsafePathError):
        return None, None
    found, why = readiness_read_at(supervise)
    if found is None or found.pid != status.pid or found.state == "down":
        return None, why
    return found, None


def side_is_normally_up(fs, path):
    """runsv's rule (``protocol.probe.is_normally_up``: ``stat``, so a ``down`` link counts by
    what it points at and a dangling one does not), with the side's directory reached through
    ``fs``; a side that cannot be reached has nothing marking it down."""
    try:
        return is_normally_up(".", dir_fd=fs.dir_fd(path))
    except (OSError, UnsafePathError):
        return True


def _why(exc):
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
