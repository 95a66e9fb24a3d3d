"""protocol: what a timer is doing (``schedule:``, docs/jobs.md#timers), as every
view says it — ``status``, ``--json``, the Puppet fact, ``fleet status``, ``metrics`` and
verify judge a timer by these words (health/verdict.py).

A side whose directory has a ``schedule`` file is a timer. Three records tell what it does —
``schedule`` (its spec, protocol/timer.py), ``supervise/timer`` (the waiter's record) and
``supervise/last-run`` (each run's end, protocol/lastrun.py) — none trusted blindly: a user's
tree writes them, and garbage in any is told as ``unreadable (…)``, never as health. The words
(``scheduled (next at T)``, ``failed (exit N, at T; next at T)``, ``running (since T; next at
T)``, ``no next run (…)``, ``off``) are docs/jobs.md#what-a-timers-status-says; the fact
carries them without their times, so that it stays the same while only the clock moves.

Running or waiting: under our runtime nothing of the timer's runs between its runs, so a
status that says run (or finish) is a run. Under the C runit ``./run`` is the waiter
(``timer-run``) and runs the whole time; there a run is going when the record's elapse —
written as the run starts — is later than the last run's end, and the last run started at
the later of last-run's ``started`` and that elapse.

Loaded only for a side that is a timer: status of a name with no timer never imports it.
"""

from collections import namedtuple

from .lastrun import (DONE, FAILED, NEVER_RUN, RUNNING,  # noqa: F401 — the words shared
                      duration_text, last_run_read, utc_text)

SCHEDULED = "scheduled"
OFF = "off"
UNREADABLE = "unreadable"
NO_NEXT_RUN = "no next run"
KINDS = (SCHEDULED, RUNNING, FAILED, OFF, UNREADABLE, NO_NEXT_RUN)

_NS = 1_000_000_000


class TimerRead(namedtuple("TimerRead", "spec record unreadable", defaults=(None, None, None))):
    """What was read of a timer's records: ``spec`` (SpecWords, None when not read),
    ``record`` (protocol/timer.TimerState; None: none written yet), ``unreadable``: why what
    it does cannot be told (None: it can)."""

    __slots__ = ()


class SpecWords(namedtuple("SpecWords", "when persistent jitter time_limit")):
    """A timer's ``schedule`` file as shown (protocol/timer.timer_spec_words): ``when`` as the
    data wrote it, not parsed here — its waiter parses it, and says ``error=`` in its record
    when it cannot (a view that parsed it would load the calendar's zoneinfo and os)."""

    __slots__ = ()


class TimerDoing(namedtuple("TimerDoing", "kind word fact_word since_ns next_ns last_start_ns")):
    """What a timer is doing: ``kind`` (one of KINDS), ``word`` (the verdict's, with times),
    ``fact_word`` (without), ``since_ns`` (a run going: when it started; else 0),
    ``next_ns`` (the next run, 0: none, None: unknown), ``last_start_ns`` (when the last
    ended run started; 0: none)."""

    __slots__ = ()


def timer_read_from_bytes(schedule, record, last_run):
    """The TimerRead of the three files' bytes (None: the file is absent, or not a regular
    file — ``schedule`` then is unreadable: it marked the timer), each read at most
    protocol/timer.TIMER_MAX bytes; what is wrong said as protocol/timer.py says it.

    >>> timer_read_from_bytes(b"timer 1\\nwhen=daily\\n", None, None).unreadable is None
    True
    >>> timer_read_from_bytes(b"garbage", None, None).unreadable
    'schedule: not a timer file (its first line is not "timer 1")'
    >>> timer_read_from_bytes(b"timer 1\\nwhen=daily\\n", b"timer-state 1 next=x", None
    ...                       ).unreadable
    'supervise/timer: next=x is not a time within 1970..9999'
    >>> timer_read_from_bytes(b"timer 1\\nwhen=daily\\n", None, b"last-run 2").unreadable
    'supervise/last-run: not a record of a run'
    >>> timer_read_from_bytes(b"timer 1\\nwhen=daily\\n", None, b"last-run 1 exit=0 "
    ...                       b"signal=0 ended=1e300").unreadable
    'supervise/last-run: ended=1e300 is not a time within 1970..9999'
    """
    from .timer import TIMER_MAX, timer_spec_words, timer_state_from_bytes

    if schedule is None:
        return TimerRead(unreadable="schedule: not a regular file")
    words, why = _parsed(timer_spec_words, schedule[:TIMER_MAX])
    if words is None:
        return TimerRead(unreadable=why)
    spec = SpecWords(*words)
    found = None
    if record is not None:
        found, why = _parsed(timer_state_from_bytes, record[:TIMER_MAX])
        if found is None:
            return TimerRead(spec, unreadable=why)
        if found.error:
            return TimerRead(spec, found, "its waiter cannot read its schedule: %s"
                             % _printable(found.error))
    if last_run is not None:
        _, why = last_run_read(last_run[:TIMER_MAX])
        if why is not None:
            return TimerRead(spec, found, "supervise/last-run: " + why)
    return TimerRead(spec, found)


def timer_doing(state, want, stamp_s, is_ours, read, last, exit_words, fact_exit_words):
    """What the timer does, from its side: ``state`` (protocol.sidestate.Condition's word),
    ``want`` (``up``/``down``/None), ``stamp_s`` (its status's stamp, unix seconds),
    ``is_ours`` (our runtime's tally accounts for the status: then a run is what runs),
    ``read`` (TimerRead), ``last`` (protocol/lastrun.LastRun or None); ``exit_words``,
    ``fact_exit_words``: protocol.tally.exit_text, named and not. None when its state cannot
    be told, or no runsv serves it (judged as any service then: health/verdict.py)."""
    if state not in ("run", "finish", "down"):
        return None
    if read.unreadable is not None:
        word = "%s (%s)" % (UNREADABLE, read.unreadable)
        return TimerDoing(UNREADABLE, word, word, 0, None, 0)
    record = read.record
    next_ns = None if record is None else _next_ns(record)
    elapse_ns = 0 if record is None else _elapse_ns(record)
    ended_ns = 0 if last is None else last.ended_ns
    started_ns = run_start_ns(last, elapse_ns)
    # timer-run (the C runsv's waiter) says whether its job runs: started= 0 while it waits;
    # a record without the word (ours, an older waiter) is judged by its elapse and last-run
    job_ns = None if record is None or record.started_usec is None \
        else record.started_usec * 1000
    going = state == "finish" or (state == "run" and (
        is_ours or (_job_runs(job_ns, stamp_s, last) if job_ns is not None
                    else elapse_ns > ended_ns)))
    if going:
        since = job_ns or max(int(stamp_s * _NS), elapse_ns if elapse_ns > ended_ns else 0)
        return TimerDoing(RUNNING, "%s (since %s; %s)" % (RUNNING, utc_text(since),
                                                          next_text(next_ns)),
                          RUNNING, since, next_ns, started_ns)
    if want == "down":
        return TimerDoing(OFF, OFF, OFF, 0, 0, started_ns)  # off: no next run
    if next_ns == 0 and (last is None or last.is_done):
        word = "%s (its schedule has no elapse left)" % NO_NEXT_RUN
        return TimerDoing(NO_NEXT_RUN, word, NO_NEXT_RUN, 0, 0, started_ns)
    if last is None:
        return TimerDoing(SCHEDULED, "%s (%s)" % (SCHEDULED, next_text(next_ns)), SCHEDULED,
                          0, next_ns, 0)
    at = "at " + utc_text(started_ns) if started_ns else "at an unknown time"
    if last.is_done:
        took = run_took(last, started_ns)
        word = "%s (%s; last done %s %s%s)" % (
            SCHEDULED, next_text(next_ns), exit_words(last.end), at,
            "" if took is None else ", took " + duration_text(took))
        return TimerDoing(SCHEDULED, word, SCHEDULED, 0, next_ns, started_ns)
    word = "%s (%s, %s; %s)" % (FAILED, exit_words(last.end), at, next_text(next_ns))
    return TimerDoing(FAILED, word, "%s (%s)" % (FAILED, fact_exit_words(last.end)), 0,
                      next_ns, started_ns)


def _job_runs(job_ns, stamp_s, last):
    """Whether the job timer-run's record names (``started=``, ns; 0: none) runs now, under
    the C runsv in state ``run`` since ``stamp_s``. The record outlives its waiter: between
    the finish and the next waiter's first record it still names the run that ended — which
    last-run has recorded (its ``started`` is the record's, to the microsecond), and which
    started before this waiter did (runsv starts a waiter after the last one's job ended)."""
    if not job_ns or job_ns < stamp_s * _NS:
        return False
    return last is None or last.started_ns < job_ns


def run_start_ns(last, elapse_ns):
    """When the run ``last`` recorded started: the later of its ``started`` and the elapse
    it ran for (``elapse_ns``, when that is not after its end); 0 when none ran.

    >>> from .lastrun import LastRun
    >>> run_start_ns(LastRun(0, 0, 100 * _NS, 130 * _NS), 120 * _NS) // _NS  # C: waiter's
    120
    >>> run_start_ns(LastRun(0, 0, 121 * _NS, 130 * _NS), 120 * _NS) // _NS  # ours: the job's
    121
    >>> run_start_ns(LastRun(0, 0, 100 * _NS, 130 * _NS), 200 * _NS) // _NS  # the next run's
    100
    """
    if last is None:
        return 0
    if elapse_ns and (not last.ended_ns or elapse_ns <= last.ended_ns):
        return max(last.started_ns, elapse_ns)
    return last.started_ns


def run_took(last, started_ns):
    """Seconds the last run took (from ``started_ns``, run_start_ns's); None: unknown."""
    if last is None or not started_ns or not last.ended_ns:
        return None
    return max(0, last.ended_ns - started_ns) / _NS


def next_text(next_ns):
    """``next at T``, ``no next run`` (0), ``next at unknown`` (None: no record yet)."""
    if next_ns is None:
        return "next at unknown"
    return "next at " + utc_text(next_ns) if next_ns else "no next run"


def _parsed(reader, data):
    """``(what reader read, None)``, or ``(None, why)`` — its ValueError's words, printable
    (they may quote the file: a user's bytes)."""
    try:
        return reader(data), None
    except ValueError as exc:
        return None, _printable(str(exc))


def _printable(text):
    from .bounds import printable

    return printable(str(text))


def _next_ns(record):
    return record.next_usec * 1000


def _elapse_ns(record):
    return record.elapse_usec * 1000


def skipped_of(record):
    return 0 if record is None else record.skipped


def timed_out_of(record):
    return 0 if record is None else record.timed_out


def missed_of(record):
    return False if record is None else bool(record.missed)


def spec_json(spec):
    """A timer's spec as ``--json`` shows it: ``schedule`` (as written in the data),
    ``persistent``, ``jitter`` and ``time_limit`` (seconds; None: none) — all None when it
    was not read."""
    if spec is None:
        return {"schedule": None, "persistent": None, "jitter": None, "time_limit": None}
    return {"schedule": spec.when, "persistent": bool(spec.persistent),
            "jitter": spec.jitter or 0, "time_limit": spec.time_limit or None}
