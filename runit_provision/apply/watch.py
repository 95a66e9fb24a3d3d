"""apply: after the steps, what the apply started or restarted — did it come up, and stay up?

runsv starts a service whether or not its ``run`` can work, so the job watches, for a bounded
moment, every side it started (a service whose link it made or waited for again; not one
declared ``down``) and every side it restarted, and reports each that is not up. ``restart``
and ``start`` (apply/drive.py) watch the service they asked sv for by the same rules
(``asked_side``; ``Start``: for a start, a run from before it counts as well).

A side **stayed up** when a run begun since the apply asked for it still runs ``STAYED_UP``
after it began: runsv shows a run that ended within its first second as ``down, want up`` for
a second (its back-off), so one look at that mark sees every early death. A side **died**
when it ended as often as ``status`` calls crash-looping (protocol/tally.CRASH_LOOP), or ended
and is not up when the watch ends — ends counted from our runtime's tally (``deaths_since``),
or, under the C runit, from the status remembered look by look (``Memory``). Otherwise it is
**stopped** (wanted down since: as wanted), **gone**, **not restarted** or **not up**. The
rules in full, and why: docs/apply.md, "Did what it started stay up?".

The watch ends once every side is decided, or after ``seconds`` (``--wait``).
``look(path) -> SideState`` reads a side (``look_side``), ``clock`` is unix time, ``sleep``
waits: the seams the unit tier drives.
"""

import enum
import time
from collections import namedtuple

from ..host.sides import side_last_run, side_marks, side_timer, tallied
from ..protocol.lastrun import DONE, FAILED, RUNNING
from ..protocol.sidestate import Condition
from ..protocol.status import State
from ..protocol.tally import CRASH_LOOP
from .steps import Action, ServiceStep, Side, WaitStep

STAYED_UP = 0.5  # seconds a run must last to count as started (the module says why)
# seconds a new runsv may take to start its run: it writes "down, want up" at its own start
# and the run's status right after forking it — a moment, unless a control/u hook runs
# first (runit-protocol §1.2, §1.4)
START_GRACE = 0.5
BACK_OFF = 1.0  # runsv's pause before restarting a run that lasted less than this
RECHECK = 0.1  # seconds between looks at a side that is not running yet
_NS = 1_000_000_000


class Outcome(enum.Enum):
    """What the watch found of one side; the value is the word ``--json`` shows."""

    UP = "up"  # stayed up
    DIED = "died"  # ended since it was started (a death, whether runsv restarted it yet)
    STOPPED = "stopped"  # wanted down since (sv down): as wanted
    DONE = "done"  # a one-shot's run asked for ended with exit 0 (docs/jobs.md)
    FAILED = "failed"  # a one-shot's run asked for ended otherwise
    NOT_DONE = "not done"  # a one-shot start/restart/once waited for still runs
    GONE = "gone"  # no runsv serves it any more
    NOT_RESTARTED = "not restarted"  # the run from before the restart still runs
    NOT_UP = "not up"  # not running
    PENDING = "pending"  # not decided yet


class Start(enum.Enum):
    """How a watched side was started, which says what run counts as the one asked for."""

    NEW = "new"  # a new runsv starts it (apply's wait): at once, with no back-off before
    RESTART = "restart"  # sv restart (apply's, or the restart verb): a run begun since
    UP = "up"  # sv start (the start verb): a run from before counts too — it is up already
    RUN = "run"  # a timer's run asked for (the once verb): waited for to its end


class Watched:
    """A side the apply (or a control verb: apply/drive.py) started: ``unit``, ``side``
    (Side), ``path`` (its directory), ``label`` (``web``, ``web/log``), ``since`` (unix time
    from which a run is one that was asked for: the apply's start for a new runsv — its link
    was made in it — the restart's or the start's start otherwise), ``asked`` (when the step
    that started it ended) and ``start`` (Start: how)."""

    __slots__ = ("unit", "side", "path", "label", "since", "asked", "start")

    def __init__(self, unit, side, path, label, since, asked, start):
        self.unit, self.side, self.path, self.label = unit, side, path, label
        self.since, self.asked, self.start = since, asked, start

    @property
    def is_new(self):
        """A new runsv starts it (a wait's)."""
        return self.start is Start.NEW

    def __repr__(self):
        return "Watched(%s)" % self.label


def log_dirs_of(not_up):
    """{side path: its log directory} of each service side (not a log side: its own output is
    not in its log) among ``not_up`` that has a logger: whose last lines a report shows."""
    return {item.watched.path: item.watched.unit.log_dir for item in not_up
            if item.watched.side is Side.MAIN and item.watched.unit.has_log}


class NotUp:
    """A watched side that did not stay up: ``watched``, ``outcome``, ``live`` (SideState:
    its last look), ``tally`` (our runtime's account, or None), ``deaths`` (since the apply
    began; None: unknown — no tally) and ``seconds`` (how long it had been watched when it
    was decided)."""

    __slots__ = ("watched", "outcome", "live", "tally", "deaths", "seconds")

    def __init__(self, watched, outcome, live, tally, deaths, seconds):
        self.watched, self.outcome, self.live, self.tally = watched, outcome, live, tally
        self.deaths, self.seconds = deaths, seconds

    @property
    def label(self):
        return self.watched.label

    @property
    def last_exit(self):
        """The tally's ``last_exit`` (``{"code": N}``, ``{"signal": N, "core": bool}``,
        ``{"unknown": True}``), None when it never ended, ``"unknown"`` without a tally; a
        one-shot's, from its finish's record (under the C runit too)."""
        if self.live.last_run is not None:
            return self.live.last_run.end
        return "unknown" if self.tally is None else self.tally.last_exit

    @property
    def ran(self):
        """Seconds the last run lasted (None: unknown, or it never ended)."""
        tally = self.tally
        if tally is None or not tally.died_at_ns or tally.ran_ns is None:
            return None
        return tally.ran_ns / _NS

    def __repr__(self):
        return "NotUp(%s: %s)" % (self.label, self.outcome.value)


def started_sides(step, began, started, ended):
    """The sides ``step`` started — a wait's services but those declared down, each with its
    log side; a restart's side; nothing for any other step. ``began``: when the apply began;
    ``started``, ``ended``: when the step did (unix times)."""
    if isinstance(step, WaitStep):
        found = []
        for unit in step.units:
            if unit.is_down:
                continue  # down: true — runsv serves it, nothing starts it
            found.append(Watched(unit, Side.MAIN, unit.path, unit.label, began, ended,
                                 Start.NEW))
            if unit.has_log:
                found.append(Watched(unit, Side.LOG, unit.log_path, unit.log_label, began,
                                     ended, Start.NEW))
        return found
    if isinstance(step, ServiceStep) and step.action is Action.RESTART:
        return [Watched(step.unit, step.side, step.target, step.path, started, ended,
                        Start.RESTART)]
    return []


def asked_side(unit, start, since, asked):
    """The side a control verb asked runsv to start (apply/drive.py): the service's — sv acts
    on it, not on its logger. ``start``: Start.RESTART (sv restart, try-restart) or
    Start.UP (sv start); ``since``, ``asked``: when sv was started and when it ended."""
    return Watched(unit, Side.MAIN, unit.path, unit.label, since, asked, start)


class Look(namedtuple("Look", "state since")):
    """One side's state as one look saw it: ``state`` (State), ``since`` (unix time of its
    stamp)."""

    __slots__ = ()


class Memory:
    """What earlier looks at a side saw, for the next (the C runit's status keeps no
    history): ``last``, the last Look of a run or ``down`` begun since the side was asked
    for (None: none yet); ``ends``, how many ends of runs the looks have seen (the tally's
    deaths, under our runtime); ``ended``, the stamp of the last end counted (so that one end
    is counted once); ``tally``, the last Tally seen — once there is one, the side is our
    runtime's, and a look that could not match the tally with the status (it read the two
    while runsv wrote them) counts nothing from the status alone."""

    __slots__ = ("last", "ends", "ended", "tally")

    def __init__(self, last=None, ends=0, ended=None, tally=None):
        self.last, self.ends, self.ended, self.tally = last, ends, ended, tally

    def __repr__(self):
        return "Memory(%r, ends=%d)" % (self.last, self.ends)


def judge(live, tally, now, watched, began, memory, is_last=False):
    """``(Outcome, when)``: what one look at ``watched`` says — ``live`` (SideState) and
    ``tally`` (None: none, or not the status's) at unix time ``now``; the apply began at
    ``began``; ``memory`` (Memory) is what earlier looks saw, brought up to date by this one;
    ``is_last``: the watch ends with this look. ``when``: for PENDING, the unix time to look
    again.

    >>> from runit_provision.protocol.sidestate import SideState
    >>> from runit_provision.protocol.status import Status
    >>> def side(state, since, pid=7, want="u"):
    ...     return SideState(True, Status(since, 0, pid, 0, want, 0, state))
    >>> new = Watched(None, None, "/sv/web", "web", since=99, asked=100, start=Start.NEW)
    >>> judge(side(State.RUN, 100), None, 100.2, new, 99, Memory())  # up 0.2 s: look at 0.5
    (<Outcome.PENDING: 'pending'>, 100.5)
    >>> judge(side(State.RUN, 100), None, 100.5, new, 99, Memory())[0]
    <Outcome.UP: 'up'>
    >>> memory = Memory()  # down since it started, for longer than a new runsv's first status
    >>> judge(side(State.DOWN, 100, pid=0), None, 100.5, new, 99, memory), memory.ends
    ((<Outcome.PENDING: 'pending'>, 100.6), 1)
    """
    state = live.state
    if state is Condition.UNKNOWN:  # it may run: looked at again
        return _pending(now + RECHECK, is_last, memory)
    if state is Condition.NOT_SUPERVISED:
        return Outcome.GONE, None
    status = live.status
    if live.is_timer:
        return _timer_run(live, now, watched, is_last) if watched.start is Start.RUN \
            else _timer(live)
    if live.is_oneshot:
        return _oneshot(live, now, watched, is_last)
    if status.want != "u":
        return Outcome.STOPPED, None  # sv down since: by an operator
    look = Look(status.state, status.seconds + status.nanoseconds / _NS)
    is_ours = look.since >= watched.since  # begun (or ended) since it was asked for
    if tally is not None:
        memory.tally = tally
        memory.ends = deaths_since(tally, began)
    status_only = memory.tally is None
    if status_only:
        _count_ends(look, is_ours, now, watched, memory)
    if is_ours:
        memory.last = look
    if memory.ends >= CRASH_LOOP[0]:
        return Outcome.DIED, None  # crash-looping, as status says it
    if look.state == State.RUN:
        return _running(look, is_ours, now, watched, is_last, memory)
    if (is_ours and status_only and not watched.is_new and look.state == State.DOWN
            and now - look.since >= BACK_OFF + START_GRACE):
        return Outcome.NOT_UP, None  # past runsv's back-off, and not started again
    when = now + RECHECK
    if is_ours and watched.is_new and status_only and not memory.ends:
        when = look.since + START_GRACE  # a new runsv's first status, or a death: then
    return _pending(when, is_last, memory)


def _oneshot(live, now, watched, is_last):
    """A one-shot (docs/jobs.md) is judged by the run asked for — one whose end its
    ./finish recorded since (protocol/lastrun.py): ``done`` or ``failed``. While it runs: for
    apply's wait (a new runsv), running half a second is as a daemon's start; for a verb
    (start, restart, once), it is waited for to its end, ``not done`` when the watch ends
    first. Nothing recorded since: pending (runsv has not started it yet) — but for a wait's
    one-shot that ran before it and is kept down by its own end (want down: its finish's
    ``d``, which a tree started again keeps), which no runsv will run again: its last run is
    its answer, as ``status`` gives it."""
    found = live.last_run
    job = live.job
    if job in (DONE, FAILED) and found is not None and (
            found.ended_ns >= int(watched.since * _NS)
            or (watched.is_new and live.status.want == "d")):
        return (Outcome.DONE if job == DONE else Outcome.FAILED), None
    if job == RUNNING:
        since = live.status.seconds + live.status.nanoseconds / _NS
        if watched.is_new and now - since >= STAYED_UP:
            return Outcome.UP, None
        if is_last:
            return (Outcome.UP if watched.is_new else Outcome.NOT_DONE), None
        return Outcome.PENDING, now + RECHECK
    return (Outcome.NOT_UP, None) if is_last else (Outcome.PENDING, now + RECHECK)


def _timer(live):
    """A timer (docs/jobs.md#timers) runs when its schedule says, not when it was started: it is
    up once a runsv serves it wanted up and its records can be read (``unreadable``: not up);
    its runs are status's to tell (scheduled, failed…)."""
    if live.status.want != "u":
        return Outcome.STOPPED, None
    if live.timer.unreadable is not None:
        return Outcome.NOT_UP, None
    return Outcome.UP, None


def _timer_run(live, now, watched, is_last):
    """A timer's run asked for (``once``: docs/jobs.md#the-verbs) is judged by its end, as a
    one-shot's: ``done`` or ``failed`` once its end is recorded since it was asked for;
    pending while it runs or before it starts; ``not done`` (still running) or ``not up``
    (never started) when the watch ends first."""
    found = live.last_run
    if found is not None and found.ended_ns >= int(watched.since * _NS):
        doing = live.timer_doing
        if doing is None or doing.kind != RUNNING:
            return (Outcome.DONE if found.is_done else Outcome.FAILED), None
    if not is_last:
        return Outcome.PENDING, now + RECHECK
    doing = live.timer_doing
    return (Outcome.NOT_DONE if doing is not None and doing.kind == RUNNING
            else Outcome.NOT_UP), None


def _count_ends(look, is_ours, now, watched, memory):
    """Count in ``memory`` the end of a run that ``look`` shows, from the status alone (the
    module's list), each once."""
    last = memory.last
    ended = None
    if last is not None and look != last and (last.state == State.RUN
                                              or look.state != State.RUN):
        ended = look.since  # the run seen ended; or one began and ended between the looks
    elif is_ours and look.state == State.FINISH:
        ended = look.since  # ./finish runs only after ./run ended
    elif (is_ours and watched.is_new and look.state == State.DOWN
          and now - look.since >= START_GRACE):
        ended = look.since  # longer than a new runsv's first status: a run ended
    elif (watched.is_new and look.state == State.RUN and not memory.ends
          and look.since > watched.asked + START_GRACE):
        ended = look.since  # a new runsv's first run ended; this is a rerun
    if ended is not None and ended != memory.ended:
        memory.ends += 1
        memory.ended = ended


def _running(look, is_ours, now, watched, is_last, memory):
    if not is_ours and watched.start is Start.RESTART:
        # the run from before the restart: runsv has not acted on it yet (the C sv says
        # ok on the old run), or the run ignored TERM
        return (Outcome.NOT_RESTARTED, None) if is_last else (Outcome.PENDING, now + RECHECK)
    if now - look.since >= STAYED_UP:
        return Outcome.UP, None  # after ends, too: runsv's way to wait for what it needs
    if is_last:
        return (Outcome.DIED if memory.ends else Outcome.UP), None
    return Outcome.PENDING, look.since + STAYED_UP


def _pending(when, is_last, memory):
    if not is_last:
        return Outcome.PENDING, when
    return (Outcome.DIED if memory.ends else Outcome.NOT_UP), None


def deaths_since(tally, began):
    """The deaths the tally remembers since unix time ``began`` (protocol/tally.RECENT) — but
    for a last death nobody saw (its run's length unknown): a runsv that starts finds its
    predecessor's run ended unseen and counts that death then (supervision/engine/side.py,
    ``inherit_lost``), after a tree was killed — a death before this apply's start, not of a
    run it started, whose runsv sees it end."""
    since = int(began * _NS)
    found = sum(1 for moment in tally.recent_ns if moment >= since)
    if found and tally.ran_ns is None and tally.died_at_ns >= since:
        found -= 1
    return found


def watch(sides, look, seconds, began, clock=time.time, sleep=time.sleep):
    """``[NotUp]``: the ``sides`` (Watched) that did not stay up, in their order — each looked
    at through ``look`` until decided, or until ``seconds`` have passed (then once more, the
    last look). A side stopped since (want down) is as wanted: not one of them."""
    if not sides:
        return []
    start = clock()
    deadline = start + seconds
    pending = {index: start for index in range(len(sides))}  # index -> when to look next
    memories = [Memory() for _ in sides]
    decided = {}
    while pending:
        now = clock()
        is_last = now >= deadline
        for index, when in sorted(pending.items()):
            if when > now and not is_last:
                continue
            watched, memory = sides[index], memories[index]
            live = look(watched.path)
            outcome, later = judge(live, live.tally, clock(), watched, began, memory, is_last)
            tally = memory.tally  # the last one seen, if this look could not match it
            if outcome is Outcome.PENDING:
                pending[index] = later
                continue
            del pending[index]
            if outcome not in (Outcome.UP, Outcome.STOPPED, Outcome.DONE):
                decided[index] = NotUp(watched, outcome, live, tally,
                                       None if tally is None else memory.ends,
                                       clock() - start)
        if pending:
            sleep(max(0.0, min(min(pending.values()), deadline) - clock()))
    return [decided[index] for index in sorted(decided)]


def look_side(fs, path, probe, with_tally=True):
    """The SideState of the side at ``path``: ``probe`` (host/sides.probe_side's signature), and
    our runtime's tally when it is the account of the status read (host/sides.tallied reads
    the status again when they differ)."""
    live = probe(path)
    live = tallied(fs, path, live) if with_tally else live
    oneshot, timer = side_marks(fs, path)
    if oneshot or timer:  # its end is its finish's record (docs/jobs.md, docs/jobs.md#timers)
        live = live.replaced(is_oneshot=oneshot, last_run=side_last_run(fs, path),
                             timer=side_timer(fs, path) if timer else None)
    return live
