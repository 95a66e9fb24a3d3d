"""runtime/supervision/engine: the supervision state machine for one side of a service (the service
or its log).

runit's runsv keeps three axes apart and so does this: ``state`` (what runs: down, run,
finish), ``want`` (up, down, exit) and the control flags (paused, TERM sent). One dispatcher
maps each control byte to its transition (runsv.c ``ctrl``). Effects — spawning, signals,
status files, timers, ``control/<c>`` hooks — go through the ``host`` (a Supervisor in real use,
a fake in the unit tier), so the machine itself does no I/O.

Deliberate fixes over runit 2.1.2 (docs/compatibility.md):
- the 1 s back-off after a fast crash is a timer, never a sleep: control bytes and the other
  services keep being served (void-linux/runit#33);
- ``k`` leaves the state to the reaper instead of setting "down" behind the status file's back,
  and killing ``./finish`` does not run ``./finish`` again;
- a ``control/<c>`` hook killed by a signal does not count as "handled";
- hooks run without blocking the loop: while one runs, this side queues its other events.

Restart back-off (the service's ``backoff`` file, protocol/backoff.py; docs/restart.md): a
death nobody asked for while wanted up steps a series (``tally.waiting.restarts``; a run that
stayed up ``reset`` seconds begins a new one), and the restart waits that step's delay on the
same timer as runit's 1 s floor — after ``./finish``, if there is one. ``u`` and ``o`` during
the wait start at once (the floor kept) and begin a new series, as systemd flushes its restart
count at a start it was asked for; ``d`` and ``x`` cancel it and end the series.

A timer (the service directory's ``schedule``, docs/jobs.md#timers): the side never starts
``./run``. Wanted up, a start is the host's timer armed (``host.arm_timer``); at an elapse the
host's timer calls ``start_job``: ``./job`` runs as ``./run`` would, ``./finish`` after it,
and its end — whatever the exit — is no death. ``o`` runs the job at once; while no job runs,
``h`` re-reads the schedule and ``1`` runs the job now, keeping it (``host.timer_control``).
"""

import enum
import errno
import os
import signal

from ....protocol.backoff import DELAY_MAX, Waiting
from ....protocol.status import State, Status
from ....protocol.tai64 import runit_stamp
from ....protocol.tally import Tally

BACKOFF_SECONDS = 1.0  # runsv: a ./run that lived less than this waits this long to restart
FORK_RETRY_SECONDS = 5.0
_HOOK_ASKED = -1  # _hook_pid of a control/<c> hook the host could not start yet (NotYet)


class NotYet(Exception):
    """Not ready yet: the host cannot start the process now, because what it starts it
    through is not ready (the fork server starting, a logger host being forked), or ./run
    must wait for the one-shots it needs (the tree's start holds); it calls the side's
    ``host_ready()`` once it can. The one such exception of the
    runtime: the helpers raise it themselves (the fork server's client, the logger hosts, a
    user's tree, the supervisor), and nothing translates one into another."""


class Want(enum.Enum):
    """runsv's want, with ``value`` as the word ``supervise/`` shows.

    >>> Want.UP.value, Want.EXIT.status_byte, Want.DOWN
    ('up', 'd', Want.DOWN)
    """

    UP = "up"
    DOWN = "down"
    EXIT = "exit"

    @property
    def status_byte(self):
        return "u" if self is Want.UP else "d"  # runit writes want exit as 'd'

    def __repr__(self):
        return "Want." + self.name


_SIGNALS = {
    "h": signal.SIGHUP, "a": signal.SIGALRM, "i": signal.SIGINT, "q": signal.SIGQUIT,
    "1": signal.SIGUSR1, "2": signal.SIGUSR2,
}


def finish_arguments(wait_status):
    """``./finish`` gets run's exit code (-1 if killed) and the low byte of the wait status;
    ``-1 0`` when the status cannot be known (None: a process adopted from a supervisor that
    was killed, or one that ended while nobody supervised it — adoption.py).

    >>> finish_arguments(3 << 8), finish_arguments(9), finish_arguments(None)
    (['3', '0'], ['-1', '9'], ['-1', '0'])
    """
    if wait_status is None:
        return ["-1", "0"]
    code = "-1" if os.WIFSIGNALED(wait_status) else str(os.WEXITSTATUS(wait_status))
    return [code, str(wait_status & 0xFF)]


class Side:
    """One supervised process slot: ``./run`` (+ ``./finish``) or ``log/run``."""

    __slots__ = ("host", "is_log", "state", "want", "paused", "term", "pid", "stamp_ns",
                 "wait_status", "tally", "_killed", "_started_at", "_restart_at", "_backoff",
                 "_start_timer", "_deferred", "_hook_pid", "_hook_then", "_hook_letter",
                 "_queued", "_down_unwritten")

    def __init__(self, host, is_log, want):
        self.host = host
        self.is_log = is_log
        self.state = State.DOWN
        self.want = want
        self.paused = False
        self.term = False
        self.pid = 0
        self.stamp_ns = host.time_ns()  # what status shows: run start, or when it went down
        self.wait_status = 0  # of the last ./run, for ./finish's arguments
        self.tally = Tally()  # starts and deaths (protocol/tally.py); the host persists it
        self._killed = False  # runsv SIGKILLed ./run as told (k): its end is no death
        self._started_at = None  # monotonic, of the last ./run start
        self._restart_at = None  # monotonic; a start before this waits (runit's 1 s floor)
        # seconds the next restart waits (the back-off policy's step), until it is armed at
        # "down"; then the monotonic time it is due: (delay, None) or (delay, when)
        self._backoff = None
        self._start_timer = None  # a start postponed by back-off or a failed fork
        self._deferred = None  # argv of a spawn the host could not make yet (NotYet)
        self._hook_pid = 0
        self._hook_then = None
        self._hook_letter = None
        self._queued = []  # events that wait for a running hook (a few at most)
        # a death whose "down" is not written yet: the restart right after it writes "run"
        # (see child_exited)
        self._down_unwritten = False

    # -- observation --------------------------------------------------------------------
    @property
    def is_busy(self):
        """A ``control/<c>`` hook is running; this side's other events wait for it."""
        return self._hook_pid != 0

    def status(self):
        seconds, nanoseconds = runit_stamp(self.stamp_ns)
        return Status(seconds, nanoseconds, self.pid, self.paused, self.want.status_byte,
                      self.term, self.state)

    def write_status(self):
        self._down_unwritten = False
        self.host.write_status(self, self.status(), self.want.value)

    def control_readable(self):
        """The loop's reader of this side's control FIFO: the host reads it (a bound method
        made when it is registered, where a closure for each side would be kept)."""
        self.host.read_control(self)

    # -- taking over from a supervisor that was killed (adoption.py) ---------------------
    def adopt(self, pid, state, stamp_ns, paused, term):
        """A live process of our predecessor's becomes ours: it runs ``state`` since
        ``stamp_ns``. Its exit arrives as ``child_exited(pid, None)``."""
        self.pid, self.state, self.stamp_ns = pid, state, stamp_ns
        self.paused, self.term = paused, term

    def inherit_lost(self, state, stamp_ns, paused, counted=False):
        """Our predecessor's process ended unseen while it was in ``state``: go on as if its
        exit had just been seen (``./finish -1 0``, then want decides) — a death whose end and
        length nobody knows (``counted``: the predecessor's tally has it already). A side
        that starts again at once writes its status with that start, not "down" just before
        (as a death seen, ``child_exited``): the supervisor's first ``show`` writes it if no
        start came."""
        self.stamp_ns, self.paused = stamp_ns, paused
        if state in (State.RUN, State.FINISH):
            self.state = state
            self._process_exited(None, seen=False, counted=counted, deferred=True)

    def resume_backoff(self):
        """A predecessor killed during a back-off's wait left its record in the tally: the
        wait goes on to its end (at most its delay, should the clock step; the owner's file:
        never past backoff.DELAY_MAX), so a kill -9 of runsv restarts nothing early."""
        waiting = self.tally.waiting
        if (waiting is None or not waiting.due_ns or self.pid or self.state != State.DOWN
                or self.want is not Want.UP):
            return
        left = min((waiting.due_ns - self.host.time_ns()) / 1e9, waiting.delay, DELAY_MAX)
        if not left > 0:  # nan too
            waiting.due_ns = 0
            return
        self._backoff = (waiting.delay, self.host.monotonic() + left)

    def count_start(self, pid, state):
        """A start in the tally: ``./run`` counts, ``./finish`` only shows its pid (also for
        a start our predecessor made and was killed before writing down)."""
        if state == State.RUN:
            self.tally.started(pid)
        else:
            self.tally.pid = pid

    def finish_due(self, stamp_ns, paused):
        """Our predecessor saw ``./run`` end and was killed before ``./finish`` started: it
        starts now (with ``-1 0``: the exit status went with the predecessor)."""
        self.stamp_ns, self.paused = stamp_ns, paused
        self.state, self.wait_status = State.FINISH, None

    # -- events ---------------------------------------------------------------------------
    def control(self, byte):
        """One control byte from the FIFO (or SIGTERM as ``x``); unknown bytes are ignored."""
        if self.is_busy:
            self._queued.append(lambda: self.control(byte))
            return
        handler = _DISPATCH.get(byte)
        if handler is not None:
            handler(self, byte)
        self._settle()

    def child_exited(self, pid, wait_status):
        """The host reaped ``pid``: our process or our hook."""
        if pid == self._hook_pid:
            self._hook_done(wait_status)
        elif self.is_busy:
            self._queued.append(lambda: self.child_exited(pid, wait_status))
        elif pid == self.pid:
            # A ./run that is restarted at once (want up, no ./finish, no back-off) goes
            # from run to run on disk: "down" and then "run" would be six files written
            # (pid, stat, status, twice) on the path from a death to its restart, where
            # runsv's fork writes the new pid while the child execs. A start that does not
            # follow at once (a control/u hook, a failed spawn) writes "down" right after.
            self._process_exited(wait_status, deferred=True)
            self._settle()
            if self._down_unwritten:
                self.write_status()

    def start_job(self):
        """A timer's elapse: ``./job`` starts now, unless something of this side runs (the
        host counts the elapse skipped). True when it started (or failed as a start does)."""
        if self.pid or self.is_busy or self.state == State.FINISH or self._deferred:
            return False
        self._spawn(["./job"])
        self._settle()
        return True

    def evaluate(self):
        """runsv's loop head: start what should run (want up, or a ./finish to run)."""
        if self.is_busy or self.pid or self._start_timer is not None or self._deferred:
            return
        if self.want is Want.UP or self.state == State.FINISH:
            self._start()

    @property
    def is_deferred(self):
        """A spawn waits for the host (NotYet)."""
        return self._deferred is not None

    def host_ready(self):
        """The host can make the spawn it deferred (NotYet): made now, if still wanted — a
        ``control/<c>`` hook first, if one waited."""
        if self._hook_pid == _HOOK_ASKED:
            then, letter = self._hook_then, self._hook_letter
            self._hook_pid, self._hook_then = 0, None
            self._custom(letter, then)
            self._run_queued()
            return
        if self._deferred is not None and not self.pid:
            argv, self._deferred = self._deferred, None
            self._spawn(argv)
            self._settle()

    # -- transitions ----------------------------------------------------------------------
    def _up(self, _):
        self.want = Want.UP
        if self.tally.gave_up_ns:  # an operator's up ends a give-up, with a fresh window
            self.tally.gave_up_ns, self.tally.recent_ns = 0, ()
        self._skip_backoff()
        # a timer is armed before the status says want up: that status wakes sv -w start,
        # which then reads the timer's record — the next run's, not the stop's next=0
        arm_first = not self.pid and self._is_timer() and self.state != State.FINISH
        if not arm_first:
            self.write_status()
        if not self.pid:
            self._cancel_postponed_start()  # one start: not also a failed fork's retry
            self._start()
        if arm_first:
            self.write_status()

    def _down(self, _):
        self._want_stopped(Want.DOWN)

    def _once(self, _):
        self.want = Want.DOWN
        self.tally.wanted_down(self.host.time_ns())
        self._skip_backoff()
        self.write_status()
        if not self.pid:
            self._start(once=True)

    def _exit(self, _):
        if self.is_log:
            return  # runsv ignores x on the log's control FIFO
        self._want_stopped(Want.EXIT)

    def _want_stopped(self, want):
        """d and x: a new want, no pending restart, and the process stopped if it runs. The
        tally keeps when: the deaths before it make no crash loop (protocol/tally.py)."""
        self.want = want
        self.tally.wanted_down(self.host.time_ns())
        self._cancel_postponed_start()
        self._skip_backoff()
        if self.tally.waiting is not None:
            self.tally.waiting.restarts = 0  # a stop as told ends the series
        self.write_status()
        self._term(None)

    def _term(self, _):
        if self.pid and self.state != State.FINISH:
            self._stop()

    def _kill(self, letter):
        if self.pid:
            self._unless_handled(letter, self._send_kill)
        # The reaper writes the real state as soon as the process is gone.

    def _send_kill(self):
        self._killed = True
        self.host.kill(self.pid, signal.SIGKILL)

    def _pause(self, letter):
        self._signal_and_flag(letter, signal.SIGSTOP, paused=True)

    def _cont(self, letter):
        self._signal_and_flag(letter, signal.SIGCONT, paused=False)

    def _signal_and_flag(self, letter, signum, paused):
        """p / c: signal unless a hook handled it; the paused flag changes regardless."""
        def then(handled):
            if self.state == State.RUN and self.pid and not handled:
                self.host.kill(self.pid, signum)
            self.paused = paused
            self.write_status()
        if self.state == State.RUN and self.pid:
            self._custom(letter, then)
        else:
            then(True)

    def _signal(self, letter):
        # Only a running ./run is signalled (runsv.c: state == S_RUN); never ./finish.
        if self.state == State.RUN and self.pid:
            signum = _SIGNALS[letter]
            self._unless_handled(letter, lambda: self.host.kill(self.pid, signum))
        elif letter in "h1" and self._is_timer():
            self.host.timer_control(letter)  # no job runs: the timer's, not a signal

    def _stop(self):
        """runsv's stopservice: TERM unless control/t handled it, then CONT and d/x hooks."""
        def after_term_hook(handled):
            if self.pid and not handled:
                self.host.kill(self.pid, signal.SIGTERM)
                self.term = True
                self.write_status()
            if self.want is Want.UP:
                return
            if self.pid:
                self.host.kill(self.pid, signal.SIGCONT)
            self._custom("d" if self.want is Want.DOWN else "x", lambda handled: None)
        self._custom("t", after_term_hook)

    def _is_timer(self):
        """The service side of a timer (its log is a logger as any other)."""
        return not self.is_log and self.host.is_timer()

    def _start(self, once=False):
        if self.state == State.FINISH:
            self._spawn(["./finish"] + finish_arguments(self.wait_status))
            return
        if self._is_timer():
            if once:
                self._spawn(["./job"])  # sv once: the job now, then down
            else:
                self.host.arm_timer()
            return
        delay = 0.0
        now = self.host.monotonic()
        if self._restart_at is not None:
            delay = self._restart_at - now
        if self._backoff is not None and self._backoff[1] is not None:
            delay = max(delay, self._backoff[1] - now)
        if delay > 0:
            self._postpone_start(delay, once)
            return
        self._custom("u", lambda handled: self._spawn(["./run"]))

    def _postpone_start(self, delay, once):
        # One pending start at most: a `u` or `o` during the back-off replaces it (a second
        # timer would start a second ./run and orphan the first).
        self._cancel_postponed_start()

        def fire():
            self._start_timer = None
            if once or self.want is Want.UP:
                self._start(once)
            self._settle()
        self._start_timer = self.host.call_later(delay, fire)

    def abandon(self):
        """The host is shutting this service down for good: drop any postponed start."""
        self._cancel_postponed_start()

    def _skip_backoff(self):
        """``u``, ``o``, ``d``, ``x``: no back-off wait (any more), and when one was cut short
        a new series; runit's floor stays."""
        self._backoff = None
        waiting = self.tally.waiting
        if waiting is not None and waiting.due_ns:
            waiting.due_ns = waiting.restarts = 0
            self._cancel_postponed_start()  # the caller starts it now (or at the floor)

    def _cancel_postponed_start(self):
        self._deferred = None
        if self._start_timer is not None:
            self._start_timer.cancel()
            self._start_timer = None

    def _spawn(self, argv):
        is_finish = argv[0] == "./finish"
        try:
            pid = self.host.spawn(self, argv)
        except NotYet:
            self._deferred = argv  # the host calls host_ready(); status stays as it is
            return
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ENOMEM):
                self.host.warn("unable to fork, sleeping", exc)
                self._postpone_start(FORK_RETRY_SECONDS, once=False)
                return
            # runsv's child prints this and exits 111; posix_spawn tells us in the parent,
            # so say it here and go through exactly the same exit path.
            self.host.child_failed("unable to start %s%s" % ("log/" if self.is_log else "",
                                                             argv[0]), exc)
            self._mark_started(0, is_finish)
            self._process_exited(111 << 8)
            self.evaluate()  # ./finish, or the back-off timer
            return
        self._mark_started(pid, is_finish)
        self.write_status()

    def _mark_started(self, pid, is_finish):
        if not is_finish:
            now_ns = self.host.time_ns()
            self.stamp_ns = now_ns
            self._started_at = self.host.monotonic()
            self.state = State.RUN
            self._backoff = None
            if self.tally.waiting is not None:
                self.tally.waiting.due_ns = 0
        self.count_start(pid, State.FINISH if is_finish else State.RUN)
        self.pid = pid
        self.paused = False
        self.term = False

    def _process_exited(self, wait_status, seen=True, counted=False, deferred=False):
        """Our process ended (``seen``: we, or an adopted process's watch, saw it end;
        ``counted``: its end is in the tally already; ``deferred``: the caller writes the
        status after the restart that follows at once, if any — see child_exited)."""
        was_finish = self.state == State.FINISH
        asked = self.term or self._killed or self.want is not Want.UP
        # a one-shot's exit 0 is its end as planned (docs/jobs.md): the last exit, no death;
        # a timer's run, whatever its exit (docs/jobs.md#timers: the verdict tells a failed one)
        planned = asked or (not was_finish and not self.is_log and (
            (wait_status == 0 and self.host.is_oneshot()) or self.host.is_timer()))
        self.pid = 0
        self.term = self._killed = False
        self.tally.pid = 0
        if not was_finish:
            now_ns = self.host.time_ns()
            if not counted:
                self.tally.died(wait_status, now_ns, self._ran_ns() if seen else None,
                                asked=planned)
                if not planned and not self.is_log:
                    self._maybe_give_up(now_ns)
                    self._step_backoff(seen)
            self.wait_status = wait_status
            said = not self.is_log and (self.host.is_oneshot() or self.host.is_timer()) \
                and self._recorded(wait_status, now_ns)
            if not self.is_log and not said and self.host.has_finish():
                self.state = State.FINISH
                self.write_status()
                return  # _settle() starts ./finish
        self.state = State.DOWN
        self.stamp_ns = self.host.time_ns()
        now = self.host.monotonic()
        if self._started_at is not None and now - self._started_at < BACKOFF_SECONDS:
            self._restart_at = now + BACKOFF_SECONDS
        else:
            self._restart_at = None
        self._arm_backoff(now)
        if deferred and self.want is Want.UP and self._restart_at is None \
                and self._backoff is None:
            self._down_unwritten = True
            self.host.write_tally(self)  # the death on disk before the restart's record
        else:
            self.write_status()

    def _recorded(self, wait_status, now_ns):
        """A one-shot's ./run or a timer's ./job ended: recorded (a one-shot kept down) before
        ./finish, as its rendered finish does under the C runsv; True: the host said its words."""
        self.host.record_run(wait_status, self.stamp_ns, now_ns)
        if self.want is Want.UP and self.host.is_oneshot():
            self.want = Want.DOWN
            self.tally.wanted_down(now_ns)
            self._cancel_postponed_start()
            self._backoff = None
        return self.host.said_run_end(wait_status)

    def _maybe_give_up(self, now_ns):
        """The service's ``give-up`` policy (N deaths within W seconds, s6-permafailon's
        rule): met, runsv wants it down — no restart — until ``sv up``."""
        policy = self.host.give_up_policy()
        if policy is None:
            return
        deaths, within = policy
        if self.tally.deaths_within(within, now_ns) >= deaths:
            self.want = Want.DOWN
            self._cancel_postponed_start()
            self.tally.gave_up_ns = now_ns
            self.host.warn("giving up: %d deaths within %d seconds (sv up starts it again)"
                           % (deaths, within))

    def _step_backoff(self, seen):
        """A death nobody asked for: the next step of the service's back-off (None: it has
        none), its delay kept for the "down" that follows (after ./finish, if any)."""
        policy = self.host.backoff_policy()
        if policy is None:
            self._backoff = None
            self.tally.waiting = None
            return
        waiting = self.tally.waiting
        if waiting is None:
            waiting = self.tally.waiting = Waiting()
        ran_ns = self._ran_ns() if seen else None
        if ran_ns is not None and ran_ns >= policy.reset * 1e9:
            waiting.restarts = 1  # it stayed up: a new series
        else:
            waiting.restarts += 1
        restarts = waiting.restarts
        delay = policy.delay(restarts)
        if policy.jitter:
            delay += self.host.jitter(policy.jitter)
        waiting.step, waiting.steps, waiting.delay = policy.step(restarts), policy.steps, delay
        self._backoff = (delay, None) if self.want is Want.UP else None

    def _arm_backoff(self, now):
        """Down: the back-off's wait begins now (its record says until when)."""
        if self._backoff is None or self._backoff[1] is not None:
            return
        if self.want is not Want.UP:
            self._backoff = None
            return
        delay = self._backoff[0]
        self._backoff = (delay, now + delay)
        self.tally.waiting.due_ns = self.host.time_ns() + int(delay * 1e9)

    def _ran_ns(self):
        """How long the ./run that just ended ran: by the monotonic clock when we started it,
        else (adopted) since the stamp its supervisor left."""
        if self._started_at is not None:
            return max(0, int((self.host.monotonic() - self._started_at) * 1e9))
        return max(0, self.host.time_ns() - self.stamp_ns)

    # -- hooks ------------------------------------------------------------------------------
    def _custom(self, letter, then):
        """Run ``control/<letter>`` if it is executable; ``then(handled)`` afterwards. A host
        that cannot start it yet (NotYet) calls ``host_ready()`` when it can: meanwhile this
        side is busy, its events wait."""
        try:
            pid = 0 if self.is_log else self.host.start_hook(letter, self.pid)
        except NotYet:
            self._hook_pid, self._hook_then, self._hook_letter = _HOOK_ASKED, then, letter
            return
        if not pid:
            then(False)
            return
        self._hook_pid = pid
        self._hook_then = then

    def _unless_handled(self, letter, action):
        self._custom(letter, lambda handled: handled or action())

    def _hook_done(self, wait_status):
        then = self._hook_then
        self._hook_pid = 0
        self._hook_then = None
        then(os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) == 0)
        self._run_queued()

    def _run_queued(self):
        while self._queued and not self.is_busy:
            self._queued.pop(0)()
        self._settle()

    def _settle(self):
        if not self.is_busy:
            self.host.settle()


_DISPATCH = {
    "u": Side._up, "d": Side._down, "o": Side._once, "x": Side._exit, "t": Side._term,
    "k": Side._kill, "p": Side._pause, "c": Side._cont,
    **{letter: Side._signal for letter in _SIGNALS},
}
