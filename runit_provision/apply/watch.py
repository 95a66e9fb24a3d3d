"""apply: after the steps, what the apply started or restarted — did it come up, and stay up?

runsv starts a service whether or not its ``run`` can work: a new service whose ``run``
exits at once is served, linked and "applied". So the job watches, for a bounded moment,
every side it started — each side of a service whose link it made or waited for again
(not one declared ``down``: nothing starts it), and each side it restarted (``sv -w
restart``; a HUP starts nothing) — and reports each that is not up.

**Stayed up** means: running, the same run that was started, ``STAYED_UP`` (half a second)
after that run began — or when the watch ends, if ``--wait`` is shorter. It is the cheapest
look that sees a start that does not work. runsv shows a run that ended within its first
second as ``down, want up`` for a whole second after the death (its back-off: runit-protocol
§1.4), so one look at the run's half-second mark sees every death before it: an ``exec`` that
fails, a ``chpst`` that cannot find its user, a program that rejects its configuration at
once. Why not a whole second (runsv's own line between a run that started and one that did
not): the watch is paid by every apply that starts something, and the last run it started
sets the price — half a second for every apply, not a second; a run that dies later is
beyond the watch, and ``status`` tells it (crash-looping, gave up).

A side **died** when, since the apply began:

* our runtime's tally (protocol/tally.py, read only when it matches the status) counts a
  death — an end runsv was not told to bring about (a restart's own stop is not one), and
  one its runsv saw (``deaths_since``);
* or, with no tally (the C runit keeps none: the status alone), the status says it ended:
  ``finish`` (``./finish`` runs only after ``./run``) or ``down, want up`` for more than
  ``START_GRACE`` — stamped after the apply began (an older stamp is an earlier runsv's,
  not yet rewritten); a runsv that just started shows ``down`` for a moment before it starts
  ``./run``; after a death it stays so for a second — or the run shown began more than
  ``START_GRACE`` after the step that started it ended: runsv starts a new service and a
  restart's run at once, so this is a later run, started after the first ended.

Every other end is reported as it is: **stopped** (wanted down: ``sv down`` since),
**gone** (no runsv serves it any more), **not up** (still not running when the watch
ended — its state unreadable, or never written). Each report carries what the side says of
its last exit: the tally's (code or signal, and how long the run lasted), or the status
alone (``unknown``).

The watch ends once every side is decided, or after ``seconds`` (``--wait``): a healthy
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
# seconds runsv may take to start a run it was asked to start: it writes "down, want up" at
# its own start and the run's status right after forking it — a moment, unless a control/u
# hook runs first (runit-protocol §1.2, §1.4)
START_GRACE = 0.5
RECHECK = 0.1  # seconds between looks at a side not yet readable (no status written yet)
_NS = 1_000_000_000


class Outcome(enum.Enum):
    """What the watch found of one side; the value is the word ``--json`` shows."""

    UP = "up"  # stayed up
    DIED = "died"  # ended since it was started (a death, whether runsv restarted it yet)
    STOPPED = "stopped"  # wanted down since (sv down)
    GONE = "gone"  # no runsv serves it any more
    NOT_UP = "not up"  # not running when the watch ended
    PENDING = "pending"  # not decided yet


class Watched:
    """A side the apply started: ``unit``, ``side`` (Side), ``path`` (its directory),
    ``label`` (``web``, ``web/log``) and ``asked`` (unix time the step that started it
    ended)."""

    __slots__ = ("unit", "side", "path", "label", "asked")

    def __init__(self, unit, side, path, label, asked):
        self.unit, self.side, self.path, self.label, self.asked = unit, side, path, label, asked

    def __repr__(self):
        return "Watched(%s)" % self.label


class NotUp:
    """A watched side that did not stay up: ``watched``, ``outcome``, ``live`` (SideLive:
    its last look), ``tally`` (our runtime's account, or None), ``deaths`` (since the apply
    began; None: unknown — no tally) and ``seconds`` (how long the watch ran)."""

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


def started_sides(step, asked):
    """The sides ``step`` started (``asked``: when it ended): a wait's services but those
    declared down, each with its log side; a restart's side; nothing for any other step."""
    if isinstance(step, WaitStep):
        found = []
        for unit in step.units:
            if unit.is_down:
                continue  # down: true — runsv serves it, nothing starts it
            found.append(Watched(unit, Side.MAIN, unit.path, unit.label, asked))
            if unit.has_log:
                found.append(Watched(unit, Side.LOG, unit.log_path, unit.log_label, asked))
        return found
    if isinstance(step, ServiceStep) and step.action is Action.RESTART:
        return [Watched(step.unit, step.side, step.target, step.path, asked)]
    return []


def judge(live, tally, now, began, asked, is_last=False):
    """``(Outcome, when)``: what one look at a side says — ``live`` (SideLive) and ``tally``
    (None: none, or not the status's) at unix time ``now``; the apply began at ``began``, the
    step that started the side ended at ``asked``; ``is_last``: the watch ends with this
    look. ``when``: for PENDING, the unix time a look could decide (else None).

    >>> from runit_provision.protocol.status import Status
    >>> def side(state, since, pid=7, want="u"):
    ...     return SideLive(True, Status(since, 0, pid, 0, want, 0, state))
    >>> judge(side(State.RUN, 100), None, 100.2, 99, 100)  # up 0.2 s: look again at 0.5 s
    (<Outcome.PENDING: 'pending'>, 100.5)
    >>> judge(side(State.RUN, 100), None, 100.5, 99, 100)[0]
    <Outcome.UP: 'up'>
    >>> judge(side(State.RUN, 101.5), None, 102, 99, 100)[0]  # begun 1.5 s after: a rerun
    <Outcome.DIED: 'died'>
    >>> down = side(State.DOWN, 100, pid=0)
    >>> judge(down, None, 100.1, 99, 100)  # runsv's first status, or a death: wait and see
    (<Outcome.PENDING: 'pending'>, 100.5)
    >>> judge(down, None, 100.5, 99, 100)[0], judge(down, None, 100.5, 101, 101)[0]
    (<Outcome.DIED: 'died'>, <Outcome.PENDING: 'pending'>)
    """
    if live.unknown is not None or (live.is_supervised and live.status is None):
        return _undecided(now, is_last)
    if not live.is_supervised:
        return Outcome.GONE, None
    if tally is not None and deaths_since(tally, began):
        return Outcome.DIED, None
    status = live.status
    since = status.seconds + status.nanoseconds / _NS
    if status.state == State.RUN:
        if tally is None and since > asked + START_GRACE:
            return Outcome.DIED, None  # the run started ended, and runsv started another
        if is_last or now - since >= STAYED_UP:
            return Outcome.UP, None
        return Outcome.PENDING, since + STAYED_UP
    if status.want != "u":
        return Outcome.STOPPED, None
    if since < began or tally is not None:
        # a status from before the apply (an earlier runsv's, or a restart's old run in
        # ./finish), or not running without a death: starting, or cannot start — wait
        return _undecided(now, is_last)
    if status.state == State.FINISH:
        return Outcome.DIED, None  # ./finish runs only after ./run ended
    # down, want up, since the apply began: runsv's own first status, written at its start
    # before it starts ./run (a moment), or ./run ended and runsv waits out its back-off
    # (a second after the death: longer than START_GRACE) or restarts it at once
    if now - since >= START_GRACE:
        return Outcome.DIED, None
    return (Outcome.NOT_UP, None) if is_last else (Outcome.PENDING, since + START_GRACE)


def _undecided(now, is_last):
    return (Outcome.NOT_UP, None) if is_last else (Outcome.PENDING, now + RECHECK)


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
    decided = {}
    while pending:
        now = clock()
        is_last = now >= deadline
        for index, when in sorted(pending.items()):
            if when > now and not is_last:
                continue
            watched = sides[index]
            live, tally = look(watched.path)
            outcome, later = judge(live, tally, clock(), began, watched.asked, is_last)
            if outcome is Outcome.PENDING:
                pending[index] = later
                continue
            del pending[index]
            if outcome is not Outcome.UP:
                decided[index] = NotUp(watched, outcome, live, tally,
                                       None if tally is None else deaths_since(tally, began),
                                       0.0)
        if pending:
            sleep(max(0.0, min(min(pending.values()), deadline) - clock()))
    ended = clock() - start
    for item in decided.values():
        item.seconds = ended
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
