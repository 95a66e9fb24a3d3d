"""runtime: ``timer-run`` — a timer's ``./run`` under the C runsv (docs/jobs.md#timers).

A timer's service directory has ``run`` = ``#!/bin/sh`` + ``exec timer-run``; the C runsv
starts it in the service directory. It reads ``schedule`` (protocol/timer.py), waits for the
next run's start on CLOCK_REALTIME (a ``timerfd`` with ABSTIME and CANCEL_ON_SET: no wakeup
before it; a clock step cancels the wait and the start is computed again), then writes
``timer-stamp`` (``persistent``) and ``supervise/timer``, starts ``./job`` in a process group
of its own, hands that group the signals runsv sends, ends it at ``time_limit``, ends what the
job left in its group, and exits as the job did — its signal raised again — so that runsv's
``./finish`` gets the job's exit as ``$1 $2`` and records ``supervise/last-run``. runsv then
starts ``./run`` again, which waits for the next elapse.

While it waits: ``sv once`` (want down, seen through inotify on ``supervise/``, with no TERM
after it within ``ONCE_GRACE``) and USR1 (``sv 1``) run the job now, for no elapse; HUP reads
``schedule`` again; TERM, INT or QUIT exit 0. The hand-over between a run's end and the next
waiter loses no elapse (``HANDOVER_USEC``). ``started=`` in ``supervise/timer`` is ``0`` until
a job starts. Every signal, the hand-over and the records: docs/timer-run.md.

Exit codes: the job's (or its signal); 0 when ended while waiting; 100 on usage; 111 when
``schedule`` cannot be read or ``./job`` cannot be started (a line on stderr, ``error=`` in
the record; runsv starts it again a second later, as any ``./run`` that ends).
"""

import os
import select
import signal
import sys
import time

from ..protocol.layout import JOB, NEW_SUFFIX, SCHEDULE, STATUS_FILE, SUPERVISE_DIR, \
    TIMER_STAMP, TIMER_STATE_FILE
from ..protocol.status import status_from_bytes
from ..protocol.timer import SKIPPED_LIMIT, TIMER_MAX, TIME_LIMIT_GRACE, USEC, TimerState, \
    next_run, passed_elapses, random_fraction, stamp_bytes, stamp_from_bytes, \
    timer_spec_from_bytes, timer_state_bytes, timer_state_from_bytes
from .unix.diag import fatal, warn
from .unix.processes import become_subreaper, has_leftovers, signal_group, signal_leader
from .unix.realtimer import EXPIRED, NOTHING, RealtimeTimer
from .unix.smallread import READ_FLAGS, read_small

LABEL = "timer-run"
USAGE = b"usage: timer-run (as a timer's ./run, in its service directory)\n"
FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2, signal.SIGALRM, signal.SIGCONT)
ENDS_WAIT = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
ONCE_GRACE = 0.25          # seconds: want down without runsv's TERM after it is sv once
HANDOVER_USEC = 10 * USEC  # a next start passed less than this ago: the gap between waiters
LEFTOVER_LOOK = 0.5        # seconds: what a job left is looked at again at least this often
LEFTOVER_WAIT = 5.0        # seconds after their KILL that ending them is given up


class TimerError(Exception):
    """Why the job cannot run: the record's ``error=`` and the stderr line."""


def main(argv=None):
    argv = sys.argv if argv is None else argv
    if len(argv) != 1:
        os.write(2, USAGE)
        return 100
    signals = Signals()
    status = TimerRun(signals).run()
    if status is None:
        return 0
    if isinstance(status, TimerError):
        return 111
    if os.WIFSIGNALED(status):
        raise_signal(os.WTERMSIG(status))
        return 128 + os.WTERMSIG(status)  # a signal whose default is not to end
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 111


class TimerRun:
    """One waiter: its record, its plan, its run."""

    def __init__(self, signals):
        self.signals = signals
        self.state = _old_state()

    def run(self):
        """The job's wait status, None (ended while waiting) or a TimerError (reported)."""
        self.status = _status_watch()  # before the first record: sv once may follow it at once
        once = _want() == "d"
        first = True
        while True:
            try:
                spec = _read_spec()
                _check_job()
            except TimerError as exc:
                return self._failed(exc)
            if once:
                return self._run(spec, None, False)
            plan = self._plan(spec, first)
            first = False
            self._record(next_usec=plan[1] if plan else 0, started=0)
            outcome = self._wait(None if plan is None else plan[1])
            if outcome == "elapsed":
                return self._run(spec, plan[0], plan[2])
            if outcome == "now":
                return self._run(spec, None, False)
            if outcome == "now, kept":
                return self._run(spec, None, False, kept=True)
            if outcome == "ended":
                if _want() == "d":
                    self._record(next_usec=0, started=0)
                return None
            # "again": SIGHUP (read schedule again) or a clock step (compute again)

    def _plan(self, spec, first):
        """``(elapse, start, missed)`` of the next run, or None: none left."""
        now = _now_usec()
        handed = self.state.next_usec
        if first and handed and not self.state.error and handed <= now <= handed + HANDOVER_USEC:
            # the run the last waiter said would start next; its start passed between waiters
            elapse = spec.schedule.next_elapse(handed - int(spec.jitter * USEC) - 1)
            return (handed if elapse is None or elapse > handed else elapse), now, False
        stamp = _read_stamp() if spec.persistent else None
        return next_run(spec, now, stamp, random_fraction())

    def _wait(self, start_usec):
        """``elapsed``, ``now`` (``sv once``), ``now, kept`` (USR1: run now, the schedule
        kept), ``again`` (SIGHUP, a clock step) or ``ended`` (TERM, INT, QUIT)."""
        alarm = RealtimeTimer() if start_usec is not None else None
        status = self.status
        try:
            if alarm is not None:
                alarm.arm(start_usec)
            if status is not None and _want() == "d":  # since the watch began
                return self._once_or_down()
            while True:
                fds = [self.signals.fd] + [w.fd for w in (alarm, status) if w is not None]
                ready = _select(fds, None)
                for signum in self.signals.drain() if self.signals.fd in ready else ():
                    if signum in ENDS_WAIT:
                        return "ended"
                    if signum == signal.SIGHUP:
                        return "again"
                    if signum == signal.SIGUSR1:
                        return "now, kept"
                if status is not None and status.fd in ready and status.read_events() \
                        and _want() == "d":
                    return self._once_or_down()
                if alarm is not None and alarm.fd in ready:
                    found = alarm.read()
                    if found != NOTHING:  # CANCELLED: the clock was set, compute again
                        return "elapsed" if found == EXPIRED else "again"
        finally:
            if alarm is not None:
                alarm.close()

    def _once_or_down(self):
        """Want went down while waiting: ``sv down`` (runsv's TERM follows its status at once)
        or ``sv once`` (no signal: run the job now). runsv.c writes the status, then signals:
        a TERM not here within ONCE_GRACE is none."""
        deadline = time.monotonic() + ONCE_GRACE
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not _select([self.signals.fd], left):
                return "now"
            if any(signum in ENDS_WAIT for signum in self.signals.drain()):
                return "ended"

    def _run(self, spec, elapse, missed, kept=False):
        """Run the job once for ``elapse`` (None: now, for ``sv once`` — or, ``kept``, for
        USR1, the schedule kept); its wait status."""
        started = _now_usec()
        once = elapse is None and not kept
        if spec.persistent and elapse is not None:
            _write(TIMER_STAMP, stamp_bytes(elapse))
        upcoming = 0 if once else (spec.schedule.next_elapse(started) or 0)
        self.state = self.state._replace(elapse_usec=started if elapse is None else elapse,
                                         missed=missed, error="")
        self._record(next_usec=upcoming, started=started)
        if self.status is not None:
            self.status.close()  # the job has no use for it
            self.status = None
        try:
            become_subreaper()  # what the job leaves is re-parented to us: its ends wake us
        except OSError as exc:
            warn(LABEL, "unable to become a subreaper: what a job leaves is looked for", exc)
        try:
            pid = _spawn_job()
        except OSError as exc:
            return self._failed(TimerError("unable to start ./%s: %s" % (
                JOB, os.strerror(exc.errno))), started)
        status, timed_out = self._supervise(pid, spec.time_limit)
        ended = _now_usec()
        skipped = 0
        if not once:
            after = started if missed or elapse is None else elapse
            skipped, last = passed_elapses(spec, after, ended, SKIPPED_LIMIT)
            if spec.persistent and skipped:
                _write(TIMER_STAMP, stamp_bytes(last))
        upcoming = 0
        if not once and _want() != "d":
            plan = next_run(spec, ended, None, random_fraction())
            upcoming = plan[1] if plan else 0
        self.state = self.state._replace(skipped=self.state.skipped + skipped,
                                         timed_out=self.state.timed_out + timed_out)
        self._record(next_usec=upcoming, started=started)
        return status

    def _supervise(self, pid, time_limit):
        """Hand the job's group the signals runsv sends until the job ends, ending it at
        ``time_limit``, then end what it left in its group: ``(wait status, 1 if it was timed
        out else 0)``. A TERM (the limit's or runsv's) is followed by KILL ``GRACE`` later."""
        deadline = None if not time_limit else time.monotonic() + time_limit
        kill_at = None
        timed_out = 0
        while True:
            status = _reap(pid)
            if status is not None:
                self._end_leftovers(pid, kill_at)
                return status, timed_out
            now = time.monotonic()
            if deadline is not None and now >= deadline:  # TERM (and CONT, as runsv does)
                signal_leader(pid, signal.SIGTERM)
                signal_leader(pid, signal.SIGCONT)
                timed_out, deadline = 1, None
                kill_at = kill_at or now + TIME_LIMIT_GRACE
            if kill_at is not None and now >= kill_at:
                signal_leader(pid, signal.SIGKILL)
                kill_at = None
            timeout = _until(now, deadline, kill_at)
            for signum in self.signals.drain() if _select([self.signals.fd], timeout) else ():
                if signum in FORWARDED:
                    signal_leader(pid, signum)
                if signum == signal.SIGTERM:
                    kill_at = kill_at or time.monotonic() + TIME_LIMIT_GRACE

    def _end_leftovers(self, pgid, kill_at):
        """The job ended: what it left in its group gets TERM and CONT, KILL once ``kill_at``
        (a TERM's) or the grace from now has passed; we wait for them to end, as the next
        run must not start beside them."""
        if not has_leftovers(pgid):
            return
        warn(LABEL, "./%s ended, its process group did not: TERM" % JOB)
        signal_group(pgid, signal.SIGTERM)
        signal_group(pgid, signal.SIGCONT)
        now = time.monotonic()
        kill_at = min(kill_at or now + TIME_LIMIT_GRACE, now + TIME_LIMIT_GRACE)
        give_up = kill_at + LEFTOVER_WAIT
        while has_leftovers(pgid):
            now = time.monotonic()
            if now >= give_up:
                warn(LABEL, "./%s's process group outlived its KILL: left" % JOB)
                return
            if kill_at is not None and now >= kill_at:
                signal_group(pgid, signal.SIGKILL)
                kill_at = None
            _select([self.signals.fd], min(LEFTOVER_LOOK, _until(now, kill_at, give_up)))
            self.signals.drain()  # runsv's signals: the job is over, its rest being ended
            _reap(0)

    def _failed(self, exc, started=0):
        fatal(LABEL, str(exc))
        self.state = self.state._replace(error=str(exc))
        self._record(next_usec=0, started=started)
        return exc

    def _record(self, next_usec, started):
        self.state = self.state._replace(next_usec=next_usec)
        try:
            _write(TIMER_STATE_FILE, timer_state_bytes(self.state._replace(
                started_usec=started)))
        except OSError as exc:
            warn(LABEL, "unable to write " + TIMER_STATE_FILE, exc)


# -- signals ---------------------------------------------------------------------------------
class Signals:
    """FORWARDED and SIGCHLD caught onto a pipe (``set_wakeup_fd``): one descriptor to wait on
    beside the alarm, no handler doing anything in between."""

    def __init__(self):
        self.fd, self._write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        for signum in FORWARDED + (signal.SIGCHLD,):
            signal.signal(signum, _noted)

    def drain(self):
        """The signals caught since the last call, in order (a repeated one once each time)."""
        found = b""
        while True:
            try:
                chunk = os.read(self.fd, 512)
            except BlockingIOError:
                return list(found)
            if not chunk:
                return list(found)
            found += chunk


def _noted(signum, frame):
    """The handler: the byte on the wakeup pipe is what counts."""


def raise_signal(signum):
    """End this process by ``signum`` as the job ended, at its default disposition."""
    signal.set_wakeup_fd(-1)
    if signum not in (signal.SIGKILL, signal.SIGSTOP):  # theirs is the default already
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
    os.kill(os.getpid(), signum)


def _reap(pid):
    """Reap every child that ended (a subreaper's orphans among them): ``pid``'s wait status
    if it was one of them, else None."""
    found = None
    while True:
        try:
            child, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return found
        if not child:
            return found
        if child == pid:
            found = status


def _until(now, *moments):
    """Seconds from ``now`` to the first of ``moments`` (None: none), or None."""
    due = [moment for moment in moments if moment is not None]
    return max(0.0, min(due) - now) if due else None


def _select(fds, timeout):
    return select.select(fds, [], [], timeout)[0]


# -- the service directory's files ---------------------------------------------------------------
def _read_spec():
    try:
        fd = os.open(SCHEDULE, READ_FLAGS)
    except OSError as exc:
        raise TimerError("unable to read %s: %s" % (SCHEDULE, os.strerror(exc.errno))) from exc
    try:
        data = os.read(fd, TIMER_MAX)
    except OSError as exc:
        raise TimerError("unable to read %s: %s" % (SCHEDULE, os.strerror(exc.errno))) from exc
    finally:
        os.close(fd)
    try:
        return timer_spec_from_bytes(data)
    except ValueError as exc:
        raise TimerError(str(exc)) from exc


def _check_job():
    if not os.access(JOB, os.X_OK):
        raise TimerError("unable to start ./%s: %s" % (
            JOB, "file does not exist" if not os.path.lexists(JOB) else "not executable"))


def _spawn_job():
    """``./job`` started with every signal at its default, in a process group of its own —
    started as runsv starts a process (engine/spawn.py's Spawner), with this environment."""
    from .supervision.engine.spawn import Spawner

    return Spawner(environ=dict(os.environ)).spawn(["./" + JOB], new_group=True)


def _status_watch():
    """An inotify watch on supervise/ for ``status`` renamed into place (runsv writes it on a
    control byte, never while it only waits), or None when inotify cannot be had."""
    from .unix.inotify import IN_MOVED_TO, IN_ONLYDIR, Inotify

    try:
        watch = Inotify()
    except OSError as exc:
        warn(LABEL, "unable to watch supervise/status: sv once waits for the next elapse", exc)
        return None
    try:
        watch.add_watch(SUPERVISE_DIR, IN_MOVED_TO | IN_ONLYDIR)
    except OSError as exc:
        watch.close()
        warn(LABEL, "unable to watch supervise/status: sv once waits for the next elapse", exc)
        return None
    return watch


def _want():
    raw = read_small(None, STATUS_FILE, 20)
    try:
        return status_from_bytes(raw).want if raw else "u"
    except ValueError:
        return "u"


def _old_state():
    """The last waiter's record (its counts go on), or a new one."""
    raw = read_small(None, TIMER_STATE_FILE, TIMER_MAX)
    try:
        return timer_state_from_bytes(raw) if raw else TimerState()
    except ValueError:
        return TimerState()


def _read_stamp():
    raw = read_small(None, TIMER_STAMP, TIMER_MAX)
    try:
        return stamp_from_bytes(raw) if raw else None
    except ValueError:
        return None


def _write(path, data):
    """``path`` written as ``path.new``, then renamed into place (runit's way)."""
    new = path + NEW_SUFFIX
    fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.rename(new, path)


def _now_usec():
    return time.time_ns() // 1000


if __name__ == "__main__":
    sys.exit(main())
