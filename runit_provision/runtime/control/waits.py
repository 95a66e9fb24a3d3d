"""runtime/control: when an sv wait is over — one pure predicate per wait letter over the
decoded Status (``WAITS``, ``is_wait_done``), a ``Baseline`` taken before the command was
sent, a lazily run ``./check``; the words sv adds for timers and one-shots (``job_doing``);
and the readiness record that decides instead of ``./check`` where it is about the process
that runs (docs/readiness.md).
"""

import os
import stat

from ...protocol import layout
from ...protocol.status import State


# Wait predicates: pure functions of the status read now and what was known before sending.

class Baseline:
    """What a wait compares against: sv's start and the status read just before sending."""

    __slots__ = ("start_ns", "before")

    def __init__(self, start_ns, before=None):
        # runsv's stamps carry microseconds (plus 500 ns); compare at that precision so an
        # event in sv's own start microsecond still counts as after the start.
        self.start_ns = start_ns - start_ns % 1000
        self.before = before  # Status, or None when nothing was sent


def stamp_ns(status):
    """The full TAI64N stamp of a status record, as unix nanoseconds."""
    return status.stamp_ns


def _newer_than_baseline(status, base):
    """Was this status written after sv started and after the status remembered at send?"""
    reference = base.start_ns
    if base.before is not None:
        reference = max(reference, stamp_ns(base.before))
    return stamp_ns(status) > reference


def is_new_process(status, base):
    """A process that started after the baseline: the old one is gone.

    runit compares whole seconds with sv's start, so a restart of a service started in the
    same second reported ``ok:`` with the old pid (runit-protocol.md §9.1). Here the pid must
    differ from the one remembered before sending, or the full stamp must be later than both
    sv's start and the remembered stamp. ``./finish`` (state finish) is not a new process.
    """
    if status.state != State.RUN or not status.pid:
        return False
    before = base.before
    if before is not None and status.pid != before.pid:
        return True
    return _newer_than_baseline(status, base)


def _up(status, base, check):
    # runit does not look at want: right after ``sv up`` it can read the status runsv wrote
    # before taking the command and confirm ``run: …, want down`` (docs/sv.md).
    return bool(status.pid) and status.state == State.RUN and status.want == "u" and check()


def _down(status, base, check):
    # Likewise want down: during runsv's 1 s back-off a service is down with want up and
    # comes back, yet runit would already have said ``ok: down``.
    return not status.pid and status.state == State.DOWN and status.want == "d"


def _restarted(status, base, check):
    # t and k: done when it stays down on purpose, or once a new process runs without a
    # pending TERM and passes ./check.
    if not status.pid and status.want == "d":
        return True
    return is_new_process(status, base) and not status.term and check()


def _once(status, base, check):
    # o: running with want down, or down again after having run since we sent.
    if status.pid:
        return status.want == "d"
    return _newer_than_baseline(status, base)


def _checked(status, base, check):
    # runit 2.3.0: ``check`` means up (with ./check) or down, whichever is wanted.
    if status.want == "d":
        return _down(status, base, check)
    return _up(status, base, check)


def _paused(status, base, check):
    return not status.pid or status.paused


def _continued(status, base, check):
    return not status.pid or not status.paused


def _runsv_gone(status, base, check):
    # x: only the liveness probe can say; a readable status means runsv is still there.
    return False


def _immediately(status, base, check):
    return True


WAITS = {
    "u": _up, "d": _down, "t": _restarted, "k": _restarted, "o": _once, "C": _checked,
    "p": _paused, "c": _continued, "x": _runsv_gone,
}


def is_wait_done(acts, status, base, check, job=None):
    """Every letter of ``acts`` is satisfied; ``check()`` runs ./check, at most once here;
    ``job``: a timer's or one-shot's doing (``job_doing``), whose own rules come first."""
    result = []

    def check_once():
        if not result:
            result.append(bool(check()))
        return result[0]

    for letter in acts:
        done = None if job is None else _job_wait(letter, status, job)
        if done is None:
            done = WAITS.get(letter, _immediately)(status, base, check_once)
        if not done:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Timers and one-shots (docs/jobs.md, docs/sv.md): what runit's sv cannot know of them — said
# after the side's part of ``status``, and judged by the waits. Under our runsv a timer that
# waits for its next run is down with want up (nothing of it runs between runs), and a
# one-shot that ran is down with want down whether its run failed or not.

TIMER, ONESHOT = "timer", "one-shot"
WAITING, NO_NEXT_RUN = "waiting", "no next run"


def _job_wait(letter, status, job):
    """Whether the wait for ``letter`` is over for a timer or a one-shot (``job``: kind and
    word), or None: runit's rule for it.

    - a timer wanted up: ``u`` (start, up) is done once runsv took it — armed, or a run
      under way (our runsv runs nothing while it waits); ``C`` (check) while it runs or has
      a next run; ``t`` (restart) once it waits (a run under way ended by the TERM; the C
      runsv: a new waiter);
    - a one-shot: ``C`` is done when its last run is done, or it never ran and is wanted down
      — a failed run is not as wanted, nor one still going.
    """
    kind, word = job
    if kind == TIMER and status.want == "u":
        if letter == "u":
            return True
        if letter == "C":
            return word in (WAITING, "running")
        if letter == "t" and not status.pid:
            return True
    if kind == ONESHOT and letter == "C":
        return word == "done" or (word == "never run" and status.want == "d")
    return None


def job_kind():
    """TIMER when the service directory (the cwd) has ``schedule``, ONESHOT when it has
    ``oneshot``, else None."""
    for name, kind in ((layout.SCHEDULE, TIMER), (layout.ONESHOT, ONESHOT)):
        try:
            os.stat(name)
        except OSError:
            continue
        return kind
    return None


def job_doing(kind, status):
    """``(word, text)`` of what the timer or one-shot (``kind``) whose status is ``status``
    does, read from its records (cwd: its directory) as status reads them — the word
    ``waiting``, ``no next run``, ``running``, ``off``, ``unreadable`` (a timer), ``done``,
    ``failed``, ``running``, ``never run`` (a one-shot); the text sv prints, e.g. ``waiting,
    next at 2026-11-26T03:00:00Z`` or ``failed (exit 3)``."""
    from ...protocol.lastrun import last_run_read
    from ...protocol.tally import exit_text

    state = ("down", "run", "finish")[status.state]
    raw = _read_record(layout.SUPERVISE_DIR + "/" + layout.LAST_RUN)
    last, why = (None, None) if raw is None else last_run_read(raw)
    if kind == ONESHOT:
        from ...protocol.bounds import printable
        from ...protocol.lastrun import job_of

        word = job_of(state, last)
        if why is not None and word != "running":  # a record that is not one: no verdict
            return "unreadable", "unreadable (supervise/last-run: %s)" % printable(why)
        return word, word if word in ("running", "never run") else "%s (%s)" % (
            word, exit_text(last.end, named=False))
    from ...protocol.timerwords import (FAILED, OFF, RUNNING, UNREADABLE, next_text,
                                       timer_doing, timer_read_from_bytes)

    read = timer_read_from_bytes(_read_record(layout.SCHEDULE),
                                 _read_record(layout.TIMER_STATE_FILE), raw)
    ours = read.record is None or read.record.started_usec is None  # timer-run writes it
    doing = timer_doing(state, "up" if status.want == "u" else "down", status.seconds, ours,
                        read, last, exit_text, exit_text)
    if doing.kind in (OFF, UNREADABLE):
        return doing.kind, doing.word
    if doing.kind == RUNNING:
        return RUNNING, "running, " + ("then off" if status.want == "d"
                                       else next_text(doing.next_ns))
    word = NO_NEXT_RUN if doing.next_ns == 0 else WAITING
    failed = ", last run failed (%s)" % exit_text(last.end, named=False) \
        if doing.kind == FAILED else ""
    return word, "waiting, %s%s" % (next_text(doing.next_ns), failed)


def _read_record(path):
    """A record's bytes (at most 4 KiB; never followed, never waited on), None when it is
    not there or not a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW
                     | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)


def readiness_verdict(status):
    """Whether the ``./run`` that ``status`` shows said ``READY=1``, from
    ``supervise/readiness`` (cwd: the service). With no record about that process: not yet
    (False) when the service declares readiness (``./ready``: runsv writes the record just
    after the status that names the pid), else None (``./check`` decides, as in runit).
    Never followed, never waited on, at most 4 KiB."""
    if not status.pid:
        return None
    record = _readiness_record()
    if record is None or record.pid != status.pid or record.state == "down":
        return False if os.path.lexists(layout.READY) else None
    return record.state == "ready"


def _readiness_record():
    try:
        fd = os.open(layout.SUPERVISE_DIR + "/" + layout.READINESS,
                     os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    from ...protocol.readiness import readiness_from_bytes
    return readiness_from_bytes(data)
