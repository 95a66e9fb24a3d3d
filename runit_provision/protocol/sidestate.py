"""protocol: one side — a service or its ``log/`` — as a client reads it: ``SideState``, the
one side type of the project, whose words (``state``, ``want``, ``is_running``,
``is_crash_looping``…) are derived here once and read by status, metrics, the fact, verify
and the applier alike; its ``state`` is a ``Condition`` (run, down, finish, not supervised,
unknown), an enum of those words. Filled by the readers (host/sides.py, checks/snapshot.py)
from what protocol/probe.py reads; ``sv``, which shows a status line and nothing of this,
never imports it.
"""

import enum

from .bounds import PID_MAX
from .layout import LAST_RUN, SUPERVISE_DIR

_NS = 1_000_000_000


class Condition(str, enum.Enum):
    """What a side is doing, as a client reads it (``SideState.state``): ``RUN``, ``DOWN``,
    ``FINISH`` — runsv's own states, as its status says —, ``NOT_SUPERVISED`` (no runsv: sv's
    ``runsv not running``) or ``UNKNOWN`` (it cannot be told).

    A member is its word, too — equal to it, printed and written to JSON as it — so
    ``status --json``, the Puppet fact, ``apply --json`` and the metrics carry the word, and
    the fact's words read back (``fleet status``, health/verdict.judge) compare with the
    members.
    """

    DOWN = "down"
    RUN = "run"
    FINISH = "finish"
    NOT_SUPERVISED = "not supervised"
    UNKNOWN = "unknown"

    def __str__(self):
        return self.value

    @property
    def is_runsv_state(self):
        """``RUN``, ``DOWN`` or ``FINISH``: runsv's own, its status read."""
        return self in _OF_STATE


_OF_STATE = (Condition.DOWN, Condition.RUN, Condition.FINISH)  # protocol.status.State's order
LAST_RUN_FILE = SUPERVISE_DIR + "/" + LAST_RUN  # a one-shot's record, as ``unreadable`` names it



def disowned_pid(status, supervise_uid, uid_of):
    """Why the pid ``status`` shows is not believed to be the side's (None: it is) — the one
    rule ``status``, ``metrics``, the fact and ``verify`` take, so a status a user writes
    never shows another's process as their service running: a pid beyond the kernel's limit;
    and on a side whose ``supervise/`` is ``supervise_uid``'s, a user's (whose tree writes
    its own status, and runs as them), a pid that is no process of theirs — root's, another
    user's, none. ``uid_of(pid)``: the owner of that process, None when there is none.

    >>> from .status import Status, State
    >>> running = Status(0, 0, 4294967295, False, "u", False, State.RUN)
    >>> disowned_pid(running, 0, lambda pid: 0)
    "supervise/status: pid 4294967295 is beyond the kernel's limit (4194304): not believed"
    >>> mine = running._replace(pid=4242)
    >>> disowned_pid(mine, 1001, lambda pid: 0)
    "supervise/status: pid 4242 is uid 0's, not uid 1001's (its supervise/'s owner): not believed"
    >>> disowned_pid(mine, 1001, lambda pid: 1001)
    >>> disowned_pid(mine, 0, lambda pid: 1001)  # root's tree runs services as anyone
    """
    if status is None or not status.pid:
        return None
    if status.pid > PID_MAX:
        return "%s/status: pid %d is beyond the kernel's limit (%d): not believed" % (
            SUPERVISE_DIR, status.pid, PID_MAX)
    if supervise_uid in (None, 0) or status.state == 0:
        return None
    owner = uid_of(status.pid)
    if owner == supervise_uid:
        return None
    return "%s/status: pid %d is %s, not uid %d's (its %s/'s owner): not believed" % (
        SUPERVISE_DIR, status.pid, "no process" if owner is None else "uid %d's" % owner,
        supervise_uid, SUPERVISE_DIR)


class SideState:
    """One side — a service or its ``log/`` — as a client reads it: the one type every reader
    of a side fills and every verb that shows or judges one reads, as s6's
    ``s6_svstatus_t`` is (docs/design.md, "One home per concept"). The host room's reader
    through an ``FsReader`` (host/sides.py: ``probe_side``, ``read_side``; the applier's and
    status's alike) and verify's reading of a host (checks/snapshot.py) fill it; ``status``,
    ``metrics``, the Puppet fact and ``fleet status`` (health/), verify's checks, and apply's
    plan and watch read it.

    What was read:

    * ``is_supervised``: a runsv holds ``supervise/ok`` — True, False, or None when it could
      not be told (verify's sh probe on a host without sv);
    * ``status``: the decoded ``supervise/status`` (protocol.status.Status), or None;
    * ``error``: why there is no status, in sv's words (a ProbeError, or its text), or None;
    * ``unknown``: why it cannot be told whether the side runs (None: it can) — a status that
      cannot be read, an ``ok`` that is not a FIFO, a ``supervise/`` not reached safely: it
      may run or not (``unknown_of``);
    * ``is_normally_up``: no ``down`` file, as runsv decides at its start;
    * ``was_seen``: a ``supervise/`` exists — some runsv took this side up, now or before;
    * ``tally``: our runtime's account of its starts and deaths (protocol/tally.py), when it
      is the account of what ``status`` shows; None: none (the C runit keeps none), or not
      read;
    * ``readiness``: what the running process said of its readiness
      (protocol/readiness.py); None: it declares none, or nothing runs;
    * ``now_ns``: when it was read (unix ns; 0: not said) — uptimes and the crash-loop
      window count from it;
    * ``waiting``: a restart that waits out the service's back-off (protocol/backoff.py
      ``Waiting``: our runsv's tally, or the C runit's finish's record), None: none;
    * ``is_oneshot``: its service directory marks it a one-shot (``oneshot``, docs/jobs.md);
    * ``last_run``: a one-shot's or a timer's last end (protocol/lastrun.py ``LastRun``), or
      None;
    * ``timer``: what was read of a timer's records (its directory has ``schedule``;
      protocol/timerwords.py ``TimerRead``), None for a side that is no timer;
    * ``waiting_for``: the one-shots its ``./run`` waits for now, ``(name, job)`` each
      (protocol/needsdone.py ``waited_for``); empty: none;
    * ``unreadable``: the records of the side that are there and could not be read (a
      user's tree writes them: protocol/bounds.py), ``(record, why)`` each — its tally,
      readiness, back-off record, a one-shot's last run; a timer's are its ``timer``'s to
      say. What they hold is then not read (None), and the verdict says they are unreadable.

    What it means — each word derived here, once: ``state``, ``want``, ``is_want_up``,
    ``pid``, ``is_running``, ``uptime``, ``normally``, ``is_ready``, ``ready_latency``,
    ``deaths_in_window``, ``has_given_up``, ``is_crash_looping``, ``job``, ``timer_doing``,
    ``unreadable_text``.
    """

    __slots__ = ("is_supervised", "status", "error", "is_normally_up", "unknown", "was_seen",
                 "tally", "readiness", "now_ns", "waiting", "is_oneshot", "last_run",
                 "timer", "waiting_for", "unreadable")

    def __init__(self, is_supervised=False, status=None, error=None, is_normally_up=True,
                 unknown=None, was_seen=True, tally=None, readiness=None, now_ns=0,
                 waiting=None, is_oneshot=False, last_run=None, timer=None, waiting_for=(),
                 unreadable=()):
        self.is_supervised, self.status, self.error = is_supervised, status, error
        self.is_normally_up, self.unknown, self.was_seen = is_normally_up, unknown, was_seen
        self.tally, self.readiness, self.now_ns = tally, readiness, now_ns
        self.waiting, self.is_oneshot, self.last_run = waiting, is_oneshot, last_run
        self.timer, self.waiting_for, self.unreadable = timer, waiting_for, tuple(unreadable)

    def replaced(self, **changes):
        """A copy with ``changes`` (the same fields as the constructor's)."""
        fields = {name: getattr(self, name) for name in SideState.__slots__}
        fields.update(changes)
        return SideState(**fields)

    @property
    def state(self):
        """A Condition: ``RUN``, ``DOWN``, ``FINISH`` as its status says; ``NOT_SUPERVISED``
        (no runsv: sv's ``runsv not running``); ``UNKNOWN`` (it cannot be told)."""
        if self.unknown is None:
            if self.status is not None and self.is_supervised:
                return _OF_STATE[self.status.state]
            if self.is_supervised is False:
                return Condition.NOT_SUPERVISED
        return Condition.UNKNOWN

    @property
    def want(self):
        """``up`` or ``down`` (what runsv was last asked for), None without a status."""
        if self.status is None:
            return None
        return "up" if self.status.want == "u" else "down"

    @property
    def is_want_up(self):
        return self.status is not None and self.status.want == "u"

    @property
    def pid(self):
        """The pid ``status`` shows (``run``'s, or ``finish``'s), 0 for none."""
        return 0 if self.status is None else self.status.pid

    @property
    def is_running(self):
        return self.state is Condition.RUN

    @property
    def normally(self):
        return "up" if self.is_normally_up else "down"

    @property
    def uptime(self):
        """Seconds in its state when it was read (sv's ``12s``), None when unknown."""
        if self.status is None or not self.now_ns or self.state is Condition.UNKNOWN:
            return None
        return max(0, self.now_ns // _NS - self.status.seconds)

    @property
    def is_ready(self):
        """None when it declares no readiness (or nothing runs), else whether it said
        ``READY=1`` (and is not reloading or stopping)."""
        return None if self.readiness is None else self.readiness.state == "ready"

    @property
    def ready_latency(self):
        """Seconds from ``./run``'s start to its ``READY=1``; None until then."""
        found = self.readiness
        if found is None or not found.ready_ns:
            return None
        return max(0, found.ready_ns - found.started_ns) / 1e9

    @property
    def deaths_in_window(self):
        """Deaths within the crash-loop window (tally.CRASH_LOOP's seconds) since the side
        was last wanted down (``Tally.deaths_within``); None: unknown (no tally). A side
        wanted down now — as told, not by a give-up — has none: deaths are counted only while
        it is wanted up, so every one came before (a tally written before the tally kept
        ``down`` says the same)."""
        tally = self.tally
        if tally is None:
            return None
        if self.status is not None and self.status.want != "u" and not tally.gave_up_ns:
            return 0
        from .tally import CRASH_LOOP  # not on sv's path: sv shows no tally
        return tally.deaths_within(CRASH_LOOP[1], self.now_ns)

    @property
    def restart_text(self):
        """``restarting in 4 s (step 2 of 6)`` while a restart waits out the back-off; None
        when none does."""
        found = self.waiting
        return None if found is None else found.text(self.now_ns)

    @property
    def has_given_up(self):
        """runsv stopped restarting it under its give-up policy (until ``sv up``)."""
        return self.tally is not None and bool(self.tally.gave_up_ns)

    @property
    def is_crash_looping(self):
        """Whether it died tally.CRASH_LOOP's deaths within its window; None: unknown."""
        found = self.deaths_in_window
        if found is None:
            return None
        from .tally import CRASH_LOOP
        return found >= CRASH_LOOP[0]

    @property
    def unreadable_text(self):
        """``supervise/tally: at=… is not a time within 1970..9999`` — every record of the
        side that could not be read, and why; None when none."""
        if not self.unreadable:
            return None
        return "; ".join("%s: %s" % pair for pair in self.unreadable)

    @property
    def job(self):
        """A one-shot's doing (protocol/lastrun.py): ``running``, ``done``, ``failed``,
        ``never run``, ``unreadable`` (its last run's record is there and cannot be read);
        None for a daemon, or when its state cannot be told."""
        if not self.is_oneshot:
            return None
        from .lastrun import RUNNING, UNREADABLE, job_of  # only for a one-shot
        found = job_of(self.state.value, self.last_run)
        if found not in (None, RUNNING) and any(
                record == LAST_RUN_FILE for record, _ in self.unreadable):
            return UNREADABLE
        return found

    @property
    def is_timer(self):
        """Its service directory has ``schedule``: a timer (docs/jobs.md#timers)."""
        return self.timer is not None

    @property
    def timer_doing(self):
        """A timer's doing (protocol/timerwords.py ``TimerDoing``: scheduled, running,
        failed, off, unreadable, with its words); None for a side that is no timer, or one
        whose state cannot be told or that no runsv serves."""
        if self.timer is None:
            return None
        from .tally import exit_text  # only for a timer
        from .timerwords import timer_doing

        status = self.status
        return timer_doing(self.state.value, self.want, 0 if status is None else status.seconds,
                           self.tally is not None, self.timer, self.last_run, exit_text,
                           lambda last: exit_text(last, named=False))

    def __repr__(self):
        return "SideState(supervised=%r, state=%r, want=%r, pid=%r%s)" % (
            self.is_supervised, self.state.value, self.want, self.pid,
            "" if self.unknown is None else ", unknown=%r" % self.unknown)


