"""runtime/supervision/engine: a timer's wait (docs/jobs.md#timers) — for a service directory
with a ``schedule``, what the C runsv's ``./run`` (``exec timer-run``) does, done in the
supervisor's own loop, so that between runs the timer has no process of its own.

The spec is read from ``schedule`` (protocol/timer.py); a realtime timerfd
(unix/realtimer.py) on the loop waits for the next run — no wakeup between elapses, and a
clock step cancels the wait and the next run is computed again. At a run's start the stamp
(``persistent``) and ``supervise/timer`` are written, then the side's ``./job`` starts
(side.Side.start_job), as ``./run`` would: the log pipe, ``./finish`` after it. An elapse
while something of the side runs — or what a run left in its process group is being ended
(jobgroup.py) — is counted skipped; ``time_limit`` ends a run (TERM and CONT to its group,
KILL 10 s later: jobgroup.py) and counts it timed out. Made by the supervisor only for a
directory with a ``schedule``: no other service loads this code.
"""


import signal

from ....protocol.layout import TIMER_STAMP, TIMER_STATE_FILE
from ....protocol.status import State
from ....protocol.timer import (SKIPPED_LIMIT, TIMER_MAX, TimerState,
                                next_run, passed_elapses, random_fraction, stamp_bytes,
                                stamp_from_bytes, timer_spec_from_bytes, timer_state_bytes,
                                timer_state_from_bytes)
from ...unix.realtimer import CANCELLED, EXPIRED, RealtimeTimer
from ...unix.smallread import read_small
from .servicedir import write_new
from .side import Want


class TimerWait:
    """One timer's wait, on its supervisor (``host``: the Supervisor, its loop, io, main side
    and clock). ``clock_timer``: what makes the realtime timer (None: a RealtimeTimer)."""

    __slots__ = ("host", "spec", "state", "stamp_usec", "_clock", "_armed", "_limit",
                 "_job_pid", "_due", "_stamp_due")

    def __init__(self, host, data, clock_timer=None):
        self.host = host
        self.spec = None
        self.state = self._read_state()
        self.stamp_usec = None
        self._armed = None  # (elapse, start, missed) of the run the timerfd waits for
        self._limit = None  # the loop timer of the running job's time_limit
        self._job_pid = 0   # the job (of any start: an elapse, sv once, adopted) it is for
        self._due = None    # (elapse, missed) of a run that waits for ./finish to end
        self._stamp_due = None  # the stamp of the run starting now, written as ./job spawns
        self._clock = (clock_timer or RealtimeTimer)()
        host.loop.add_reader(self._clock.fileno(), self._expired)
        self._load(data)
        if self.spec is None:
            self._write_state()  # the error, for status

    # -- the files ---------------------------------------------------------------------
    def _load(self, data):
        """Take ``schedule``'s bytes (None: gone): the spec, or the error said and kept in
        the record (and no run until an ``h`` finds it readable)."""
        try:
            if data is None:
                raise ValueError("schedule: not there, or not a regular file")
            self.spec = timer_spec_from_bytes(data)
        except ValueError as exc:
            self.spec = None
            self.host.warn("./%s: no run" % exc)
            self.state = self.state._replace(next_usec=0, error=str(exc))
            return
        self.state = self.state._replace(error="")
        self.stamp_usec = self._read_stamp() if self.spec.persistent else None

    def _read_state(self):
        """The record a waiter before us left: its counts go on."""
        data = read_small(self.host.dir_fd, TIMER_STATE_FILE, TIMER_MAX, regular=True)
        try:
            found = timer_state_from_bytes(data) if data else TimerState()
        except ValueError:
            found = TimerState()
        return found._replace(next_usec=0, error="")

    def _read_stamp(self):
        data = read_small(self.host.dir_fd, TIMER_STAMP, TIMER_MAX, regular=True)
        if data is None:
            return None
        try:
            return stamp_from_bytes(data)
        except ValueError as exc:
            self.host.warn("./%s: ignored" % exc)
            return None

    def _write(self, path, data):
        failed = write_new(self.host.dir_fd, path, data)
        if failed is not None:
            self.host.warn(*failed)

    def _write_state(self):
        self._write(TIMER_STATE_FILE, timer_state_bytes(self.state))

    # -- the wait ----------------------------------------------------------------------
    def arm(self):
        """Wait for the next run (side.Side._start, wanted up): nothing when already waiting
        or the spec is unreadable, nor while a run is due (its start arms the next); next=0 in
        the record when no elapse is left."""
        if self._armed is not None or self.spec is None or self._due is not None:
            return
        now_usec = self.host.time_ns() // 1000
        found = next_run(self.spec, now_usec, self.stamp_usec, random_fraction())
        if found is None:  # said in the record: status tells "no next run", not "unknown"
            self.state = self.state._replace(next_usec=0)
            self._write_state()
            return
        self._armed = found
        self._clock.arm(found[1])
        self.state = self.state._replace(next_usec=found[1])
        self._write_state()

    def _disarm(self):
        if self._armed is not None:
            self._armed = None
            self._clock.disarm()

    def _expired(self):
        """The timerfd is readable: a run is due, or the clock was set (recompute)."""
        found = self._clock.read()
        if found == CANCELLED:
            self._armed = None
            if self.host.main.want is Want.UP:
                self.arm()
            return
        if found != EXPIRED or self._armed is None:
            return
        elapse, _, missed = self._armed
        self._armed = None
        side = self.host.main
        if side.want is not Want.UP:
            return
        if _job_under_way(side) or self.host.is_job_ending():
            # no overlap — nor with what the last run left: this elapse is skipped, counted
            self._skip(elapse)
            self.arm()  # writes the record, with the next run
            return
        if not _is_free(side):
            # only the last run's ./finish (or a control hook) holds the side: this run starts
            # when it ends (settle), as timer-run's hand-over does under the C runsv. No wait
            # is armed meanwhile (with persistent, the stamp before this elapse would make it
            # a catch-up at once): the run's start arms the next, and an elapse that passed
            # meanwhile is then a catch-up that finds the job under way — skipped, counted.
            self._due = (elapse, missed)
            self.state = self.state._replace(next_usec=elapse)
            self._write_state()
            return
        self._start(elapse, missed)

    def _skip(self, elapse):
        self.state = self.state._replace(skipped=self.state.skipped + 1)
        if self.spec.persistent:  # skipped is accounted for: never caught up later (the
            # next arm would see it missed, after the stamp, and fire at once, again and
            # again while the job runs, then run it as a catch-up)
            self.stamp_usec = elapse
            self._write(TIMER_STAMP, stamp_bytes(elapse))

    def _start(self, elapse, missed, late=False):
        """The run for ``elapse`` starts now (the side is free); ``late``: it was due and
        waited for a ./finish — the elapses that passed meanwhile are skipped, counted."""
        stamp = elapse
        if late:
            passed, stamp = passed_elapses(self.spec, elapse, self.host.time_ns() // 1000,
                                           SKIPPED_LIMIT)
            self.state = self.state._replace(skipped=self.state.skipped + passed)
        if self.spec.persistent:
            self.stamp_usec = stamp
            self._stamp_due = stamp  # on disk as the job spawns (job_starting)
        self.state = self.state._replace(elapse_usec=elapse, missed=missed)
        self.arm()  # the record, with the next run (an elapse during the job: skipped)
        self.host.main.start_job()
        self._stamp_due = None

    def run_now(self):
        """``1`` while no job runs, wanted up: ``./job`` now, for no elapse (no stamp: an
        elapse missed stays missed), the wait for the next elapse left as it was — an elapse
        during this run is skipped and counted, as for any run."""
        side = self.host.main
        if side.want is not Want.UP or self.spec is None or self._due is not None \
                or not _is_free(side):
            return
        self.state = self.state._replace(elapse_usec=self.host.time_ns() // 1000, missed=False)
        self._write_state()
        side.start_job()

    def job_starting(self):
        """``./job`` is about to spawn, its start's record written: the stamp now. A kill -9
        of the tree before this leaves the elapse missed, which the next tree runs as a
        catch-up; after it, the job it spawned is found by that record and taken over — so
        a run is lost only to a kill in the instant between this write and the spawn, and
        never run twice."""
        if self._stamp_due is not None:
            self._write(TIMER_STAMP, stamp_bytes(self._stamp_due))
            self._stamp_due = None

    # -- the supervisor's events -------------------------------------------------------
    def settle(self):
        """After every event of the supervisor: a job that started gets its time limit, one
        that ended loses it; a side no longer wanted up waits no more (next=0)."""
        side = self.host.main
        if self._due is not None and (side.want is not Want.UP or self.spec is None):
            self._due = None  # sv down (or an unreadable schedule) while it waited: no run
        if self._due is not None and _is_free(side):
            (elapse, missed), self._due = self._due, None
            self._start(elapse, missed, late=True)
        running = side.pid if side.state == State.RUN else 0
        if running != self._job_pid:
            self._job_pid = running
            self._cancel_limit()
            if running and self.spec is not None and self.spec.time_limit:
                self._limit = self.host.loop.call_later(
                    self.spec.time_limit, lambda: self._time_out(running))
        if side.want is not Want.UP and (self._armed is not None or self.state.next_usec):
            self._disarm()
            self.state = self.state._replace(next_usec=0)
            self._write_state()

    def reload(self):
        """``h`` while no job runs: ``schedule`` read again, the wait armed again."""
        self._disarm()
        self._due = None  # for the old schedule
        self._load(self.host.facts.schedule)
        self.state = self.state._replace(next_usec=0)
        if self.host.main.want is Want.UP:
            self.arm()
        if self._armed is None:
            self._write_state()

    def _time_out(self, pid):
        """``time_limit`` passed and the job still runs: TERM and CONT to its group (the
        supervisor's JobGroups sends KILL to what remains 10 s later)."""
        self._limit = None
        side = self.host.main
        if side.pid != pid or side.state != State.RUN:
            return
        self.state = self.state._replace(timed_out=self.state.timed_out + 1)
        self._write_state()
        self.host.warn("./job ran over its time limit (%gs): TERM" % self.spec.time_limit)
        self.host.kill(pid, signal.SIGTERM)
        self.host.kill(pid, signal.SIGCONT)

    def _cancel_limit(self):
        if self._limit is not None:
            self._limit.cancel()
            self._limit = None

    def close(self):
        self._cancel_limit()
        if self._clock.fileno() >= 0:
            self.host.loop.remove_reader(self._clock.fileno())
            self._clock.close()


def _job_under_way(side):
    """The side's ``./job`` runs, or its start waits for the host (a deferred spawn while
    the side is down: the job's, not ./finish's)."""
    return side.state == State.RUN or (side.is_deferred and side.state == State.DOWN)


def _is_free(side):
    """Nothing of the side runs or waits to: a run may start."""
    return not (side.pid or side.state != State.DOWN or side.is_busy or side.is_deferred)
