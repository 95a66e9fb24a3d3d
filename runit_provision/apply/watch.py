"""apply: after the steps, what the apply started or restarted — did it come up, and stay up?

runsv starts a service whether or not its ``run`` can work: a new service whose ``run``
exits at once is served, linked and "applied". So the job watches, for a bounded moment,
every side it started — each side of a service whose link it made or waited for again (a
new runsv starts it; not one declared ``down``: nothing starts it), and each side it
restarted (``sv -w restart``; a HUP starts nothing) — and reports each that is not up.

**Stayed up** means: running — a run begun since the apply asked for it — ``STAYED_UP``
(half a second) after that run began, or when the watch ends if ``--wait`` is shorter. It is
the cheapest look that sees a start that does not work: runsv shows a run that ended within
its first second as ``down, want up`` for a whole second after the death (its back-off,
runit-protocol §1.4), so one look at the run's half-second mark sees every death before it —
an ``exec`` that fails, a ``chpst`` that cannot find its user, a program that rejects its
configuration at once. Not a whole second (runsv's own line between a run that started and
one that did not): every apply that starts something pays for the watch, and the last run
it starts sets the price — half a second, not a second. A run that dies later is beyond the
watch; ``status`` tells it (crash-looping, gave up).

A side **died** when, since the apply began:

* our runtime's tally (protocol/tally.py, read only when it matches the status) counts a
  death that its runsv saw (``deaths_since``) — an end runsv was not told to bring about (a
  restart's own stop is not one);
* or, with no tally (the C runit keeps none: the status alone, remembered look by look),
  the status shows an end: ``finish`` of a run begun since it was asked for (``./finish``
  runs only after ``./run``); a run seen, then any other stamp; a ``down`` seen, then a
  later ``down`` (a run began and ended between the looks); for a new runsv — which starts
  its run at once and has no back-off before it — ``down, want up`` stamped since the apply
  began for longer than ``START_GRACE`` (longer than the moment between runsv's first status
  and its start), or a run begun more than ``START_GRACE`` after the wait for it ended (the
  first run ended, and runsv started another). A restarted side may rightly show ``down``
  for up to a second (runsv's back-off after stopping a run younger than that) and the C
  ``sv -w restart`` may say ok before runsv acted (it accepts the old run): so a restarted
  side is looked at every ``RECHECK`` until a run begun since the restart is up.

Every other end is reported as it is: **stopped** (wanted down: ``sv down`` since),
**gone** (no runsv serves it any more), **not restarted** (the run from before the restart
still runs when the watch ends — one that ignores TERM), **not up** (not running: its state
unreadable, never written, or ``down`` past runsv's back-off). Each report carries what the
side says of its last exit: the tally's (code or signal, and how long the run lasted), or
the status alone (``unknown``).

The watch ends once every side is decided, or after ``seconds`` (``--wait``): a healthy new
side costs two looks — one at once, one when its run is ``STAYED_UP`` old — and the apply
waits at most until the last run it started is that old. ``look(path) -> (SideLive, Tally
or None)`` reads a side (``look_side``), ``clock`` is unix time, ``sleep`` waits: the seams
the unit tier drives.
"""

import enum
import time

from ..protocol.status import State
from .observe import SideLive
from .status import side_tally
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
    STOPPED = "stopped"  # wanted down since (sv down)
    GONE = "gone"  # no runsv serves it any more
    NOT_RESTARTED = "not restarted"  # the run from before the restart still runs
    NOT_UP = "not up"  # not running
    PENDING = "pending"  # not decided yet


class Watched:
    """A side the apply started: ``unit``, ``side`` (Side), ``path`` (its directory),
    ``label`` (``web``, ``web/log``), ``since`` (unix time from which a run is one the apply
    asked for: the apply's start for a new runsv — its link was made in it — the restart's
    start for a restart), ``asked`` (when the step that started it ended) and ``is_new``
    (a new runsv starts it: a wait's)."""

    __slots__ = ("unit", "side", "path", "label", "since", "asked", "is_new")

    def __init__(self, unit, side, path, label, since, asked, is_new):
        self.unit, self.side, self.path, self.label = unit, side, path, label
        self.since, self.asked, self.is_new = since, asked, is_new

    def __repr__(self):
        return "Watched(%s)" % self.label


class NotUp:
    """A watched side that did not stay up: ``watched``, ``outcome``, ``live`` (SideLive:
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
        ``{"unknown": True}``), None when it never ended, ``"unknown"`` without a tally."""
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
            found.append(Watched(unit, Side.MAIN, unit.path, unit.label, began, ended, True))
            if unit.has_log:
                found.append(Watched(unit, Side.LOG, unit.log_path, unit.log_label, began,
                                     ended, True))
        return found
    if isinstance(step, ServiceStep) and step.action is Action.RESTART:
        return [Watched(step.unit, step.side, step.target, step.path, started, ended, False)]
    return []


class Look:
    """One side's state as one look saw it: ``state`` (State), ``since`` (unix time of its
    stamp). ``seen``, the last look of a run or ``down`` begun since the side was asked for,
    is what the next look compares with (the C runit's status keeps no history)."""

    __slots__ = ("state", "since")

    def __init__(self, state, since):
        self.state, self.since = state, since

    def __eq__(self, other):
        return isinstance(other, Look) and (self.state, self.since) == (other.state,
                                                                         other.since)

    def __repr__(self):
        return "Look(%s, %.3f)" % (self.state.name, self.since)


def judge(live, tally, now, watched, began, seen=None, is_last=False):
    """``(Outcome, when, seen)``: what one look at ``watched`` says — ``live`` (SideLive)
    and ``tally`` (None: none, or not the status's) at unix time ``now``; the apply began at
    ``began``; ``seen``: the Look earlier looks remembered (None: none yet); ``is_last``: the
    watch ends with this look. ``when``: for PENDING, the unix time to look again.

    >>> from runit_provision.protocol.status import Status
    >>> def side(state, since, pid=7, want="u"):
    ...     return SideLive(True, Status(since, 0, pid, 0, want, 0, state))
    >>> new = Watched(None, None, "/sv/web", "web", since=99, asked=100, is_new=True)
    >>> judge(side(State.RUN, 100), None, 100.2, new, 99)[:2]  # up 0.2 s: look again at 0.5
    (<Outcome.PENDING: 'pending'>, 100.5)
    >>> judge(side(State.RUN, 100), None, 100.5, new, 99)[0]
    <Outcome.UP: 'up'>
    >>> judge(side(State.RUN, 101.5), None, 102, new, 99)[0]  # begun 1.5 s after: a rerun
    <Outcome.DIED: 'died'>
    >>> judge(side(State.DOWN, 100, pid=0), None, 100.5, new, 99)[0]  # down since it started
    <Outcome.DIED: 'died'>
    """
    if live.unknown is not None or (live.is_supervised and live.status is None):
        return _undecided(now, is_last, seen)
    if not live.is_supervised:
        return Outcome.GONE, None, seen
    if tally is not None and deaths_since(tally, began):
        return Outcome.DIED, None, seen
    status = live.status
    look = Look(status.state, status.seconds + status.nanoseconds / _NS)
    if status.want != "u":
        return Outcome.STOPPED, None, seen
    is_ours = look.since >= watched.since  # begun (or ended) since it was asked for
    if tally is None and seen is not None and look != seen and (
            seen.state == State.RUN or look.state != State.RUN):
        return Outcome.DIED, None, seen  # the run seen ended; or one began and ended
    if is_ours:
        seen = look
    if look.state == State.RUN:
        return _running(look, is_ours, tally, now, watched, is_last, seen)
    if not is_ours or tally is not None:
        # a status from before (an earlier runsv's; the old run's, in ./finish, while a
        # restart goes on), or not running without a death (starting; runsv's back-off
        # after stopping a young run): look again
        return _undecided(now, is_last, seen)
    if look.state == State.FINISH:
        return Outcome.DIED, None, seen  # ./finish runs only after ./run ended
    age = now - look.since
    if watched.is_new:
        # down, want up, since the apply began: a new runsv's own first status (a moment
        # before it starts ./run), or ./run ended and runsv waits out its back-off
        if age >= START_GRACE:
            return Outcome.DIED, None, seen
        return _pending(look.since + START_GRACE, is_last, seen)
    if age >= BACK_OFF + START_GRACE:  # past runsv's back-off, and not started again
        return Outcome.NOT_UP, None, seen
    return _pending(now + RECHECK, is_last, seen)


def _running(look, is_ours, tally, now, watched, is_last, seen):
    if not is_ours and not watched.is_new:
        # the run from before the restart: runsv has not acted on it yet (the C sv says
        # ok on the old run), or the run ignored TERM
        return (Outcome.NOT_RESTARTED, None, seen) if is_last else (
            Outcome.PENDING, now + RECHECK, seen)
    if tally is None and watched.is_new and look.since > watched.asked + START_GRACE:
        return Outcome.DIED, None, seen  # a new runsv's first run ended; this is a rerun
    if is_last or now - look.since >= STAYED_UP:
        return Outcome.UP, None, seen
    return Outcome.PENDING, look.since + STAYED_UP, seen


def _pending(when, is_last, seen):
    return (Outcome.NOT_UP, None, seen) if is_last else (Outcome.PENDING, when, seen)


def _undecided(now, is_last, seen):
    return _pending(now + RECHECK, is_last, seen)


def deaths_since(tally, began):
    """The deaths the tally remembers since unix time ``began`` (protocol/tally.RECENT) — but
    for a last death nobody saw (its run's length unknown): a runsv that starts finds its
    predecessor's run ended unseen and counts that death then (supervision/side.py,
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
    last look)."""
    if not sides:
        return []
    start = clock()
    deadline = start + seconds
    pending = {index: start for index in range(len(sides))}  # index -> when to look next
    seen = {}
    decided = {}
    while pending:
        now = clock()
        is_last = now >= deadline
        for index, when in sorted(pending.items()):
            if when > now and not is_last:
                continue
            watched = sides[index]
            live, tally = look(watched.path)
            outcome, later, seen[index] = judge(live, tally, clock(), watched, began,
                                                seen.get(index), is_last)
            if outcome is Outcome.PENDING:
                pending[index] = later
                continue
            del pending[index]
            if outcome is not Outcome.UP:
                decided[index] = NotUp(watched, outcome, live, tally,
                                       None if tally is None else deaths_since(tally, began),
                                       clock() - start)
        if pending:
            sleep(max(0.0, min(min(pending.values()), deadline) - clock()))
    return [decided[index] for index in sorted(decided)]


def look_side(fs, path, probe, with_tally=True):
    """``(SideLive, Tally or None)`` of the side at ``path``: ``probe`` (observe.probe_side's
    signature), and our runtime's tally when it is the account of the status read
    (apply/status.side_tally reads the status again when they differ)."""
    live = probe(path)
    if not with_tally or live.status is None or live.unknown is not None:
        return live, None
    status, tally = side_tally(fs, path, live.status)
    return (live if status is live.status else SideLive(True, status)), tally
