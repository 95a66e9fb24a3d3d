"""health: is it as wanted — the one verdict every verb judges a service by: ``status`` (its
exit code, its red rows and the logs under them), the Puppet fact (its ``verdict`` and
``not_running``), ``fleet status`` (a node's fact, judged on the node) and verify's checks of
what runs. Pure: words in, words out.

A service is judged in the words the fact carries of each side (``side_words``, derived once
by protocol.sidestate.SideState), so that a fact from PuppetDB is judged as the node judged
itself, and one from an older node, which carries no verdict, the same way (``judge``). What
is wrong, first found first: ``unreadable (WHY)`` (a record a user's tree wrote),
``gave up restarting it``, ``waiting for setup`` (its ./run waits for a one-shot it needs;
said instead of crash-looping, as the one-shot is the cause), ``crash-looping``, ``not
running``, ``not ready`` (it declares readiness and is still starting), then its logger's
state. A one-shot and a timer are judged by what their job is doing (docs/jobs.md): a failed
run or a schedule with no elapse left is never as wanted, their waits between runs are not
``not running``, and a timer ``off`` is as wanted only when the data says ``down: true``.
A failed run is stopped (``is_stopped``: the fact's ``not_running``) whatever is wanted of
it, a one-shot's and a timer's alike: its job is not done and nothing runs it now.

Nothing wrong: ``as wanted``; anything else makes ``status`` exit 3 (LSB's "not running").
What is *wanted* (``is_wanted``) is runsv's own view (up when runsv was last asked for up, or
gave up restarting it; with no runsv, unless a ``down`` file marks it normally down); verify
judges against the data instead (``verdict_of``).
"""

from collections import namedtuple

from ..protocol.lastrun import DONE, FAILED, RUNNING, UNREADABLE
from ..protocol.sidestate import Condition
from ..protocol.tally import exit_text
from ..protocol.timerwords import (KINDS as TIMER_KINDS, NO_NEXT_RUN as TIMER_NO_NEXT_RUN,
                                    OFF as TIMER_OFF, SCHEDULED as TIMER_SCHEDULED,
                                    UNREADABLE as TIMER_UNREADABLE)

UNKNOWN = "unknown"
AS_WANTED = "as wanted"
GAVE_UP = "gave up restarting it"
CRASH_LOOPING = "crash-looping"
NOT_RUNNING = "not running"
NOT_READY = "not ready"
WAITING_FOR = "waiting for %s"
LOGGER_IS = "its logger is %s"
LOGGER_CRASH_LOOPING = LOGGER_IS % CRASH_LOOPING
UNREADABLE_WORD = UNREADABLE + " (%s)"
TIMER_OFF_WANTED = "off (wanted up)"


class Verdict(namedtuple("Verdict", "words is_stopped service_words job", defaults=(None,))):
    """``words``: what is wrong, in the module's order (none: as wanted); ``is_stopped``:
    wanted up and not running, or a job whose last run failed; ``service_words``: how many
    of ``words`` are of the service itself (the rest are its logger's); ``job``: a
    one-shot's word when it is as wanted (``running``, ``done (exit 0, …)``), None for a
    daemon."""

    __slots__ = ()

    @property
    def word(self):
        """``as wanted`` (a one-shot's ``done (…)`` or ``running``), or what is wrong:
        ``crash-looping, its logger is down``, ``failed (exit 1, at …)``."""
        return ", ".join(self.words) or self.job or AS_WANTED

    @property
    def is_as_wanted(self):
        return not self.words

    @property
    def is_service_wrong(self):
        """Something is wrong with the service itself (not only its logger): what status
        marks red and explains under the row."""
        return self.service_words > 0


def judge(service, wanted=None, running=None):
    """The Verdict of one service in the fact's words: ``wanted``, ``running``, and its
    ``main`` and ``log`` sides' ``side_words`` (a side as Facter hands it back — ``""`` for
    none — reads as none); ``wanted``, ``running``: taken instead of the service's own when
    given (fleet status takes its node's ``not_running``).

    >>> judge({"wanted": True, "running": False, "main": {"crash_looping": True},
    ...        "log": {"state": "run"}}).word
    'crash-looping'
    >>> found = judge({"wanted": True, "running": True, "main": {"crash_looping": False},
    ...                "log": {"state": "down", "want": "up", "crash_looping": "unknown"}})
    >>> found.word, found.is_stopped, found.is_service_wrong
    ('its logger is down', False, False)
    >>> judge({"wanted": False, "running": False, "main": {}, "log": ""}).word
    'as wanted'
    >>> judge({"wanted": True, "running": True, "main": {"ready": "starting"}}).word
    'not ready'
    >>> done = judge({"wanted": False, "running": False, "main": {"job": "done",
    ...               "job_word": "done (exit 0, at 2025-11-26T11:03:21Z, took 1.2s)"}})
    >>> done.word, done.is_as_wanted, done.is_stopped
    ('done (exit 0, at 2025-11-26T11:03:21Z, took 1.2s)', True, False)
    >>> failed = judge({"wanted": False, "running": False, "main": {"job": "failed",
    ...                 "job_word": "failed (exit 1, at 2025-11-26T11:03:21Z)"}})
    >>> failed.word, failed.is_as_wanted, failed.is_stopped, failed.is_service_wrong
    ('failed (exit 1, at 2025-11-26T11:03:21Z)', False, True, True)
    >>> held = judge({"wanted": True, "running": False, "main": {"waiting_for": "setup"}})
    >>> held.word, held.is_stopped, judge({"wanted": True, "running": True, "main": {
    ...     "waiting_for": "setup (failed)"}}).word
    ('waiting for setup', True, 'waiting for setup (failed)')
    >>> judge({"wanted": True, "running": True, "main": {"crash_looping": True,
    ...        "waiting_for": "setup (failed)"}}).word   # its guard's timeouts: the cause
    'waiting for setup (failed)'
    >>> bad = judge({"wanted": True, "running": True, "main": {"unreadable":
    ...              "supervise/tally: at=1e300 is not a time within 1970..9999"}})
    >>> bad.word, bad.is_as_wanted, bad.is_service_wrong
    ('unreadable (supervise/tally: at=1e300 is not a time within 1970..9999)', False, True)
    """
    main = service.get("main")
    main = main if isinstance(main, dict) else {}
    log = service.get("log")
    log = log if isinstance(log, dict) else None
    running = service.get("running") is True if running is None else running
    wanted = service.get("wanted") is True if wanted is None else wanted
    words = _unreadable_words(main)
    timer = main.get("timer")
    if timer in TIMER_KINDS:
        return _judge_timer(timer, main, log, wanted, words)
    job = main.get("job")
    if job in (DONE, FAILED):
        wanted = job == FAILED  # done: nothing more is wanted of it; failed: its run was
    stopped = wanted and not running
    waiting_for = main.get("waiting_for")
    if main.get("gave_up") is True:
        words.append(GAVE_UP)
    elif main.get("crash_looping") is True and not waiting_for:
        words.append(CRASH_LOOPING)
    if job == FAILED:
        words.append(main.get("job_word") or FAILED)
    elif job == UNREADABLE and not words:  # a fact whose side names no why
        words.append(UNREADABLE)
    elif waiting_for and not words:
        words.append(WAITING_FOR % waiting_for)
    elif stopped and not words:
        words.append(NOT_RUNNING)
    if running and not words and main.get("ready") == "starting":
        words.append(NOT_READY)
    shown = None
    if job in (DONE, RUNNING):
        shown = main.get("job_word") or job
    return _with_logger(words, log, running, stopped, shown)


def _unreadable_words(side):
    """``[unreadable (WHY)]`` of a side whose fact words name records that cannot be read
    (a fact's ``unreadable``), else ``[]``."""
    why = side.get("unreadable")
    return [UNREADABLE_WORD % why] if why and isinstance(why, str) else []


def _with_logger(words, log, running, stopped, shown):
    """The Verdict of a service whose own ``words`` are said: its logger's added."""
    mine = len(words)
    if log is not None and running and log.get("state") not in (Condition.RUN, None) \
            and log.get("want") == "up":
        words.append(LOGGER_IS % log.get("state"))
    if log is not None and log.get("crash_looping") is True:
        words.append(LOGGER_CRASH_LOOPING)
    if log is not None:
        words.extend(LOGGER_IS % word for word in _unreadable_words(log))
    return Verdict(tuple(words), stopped, mine, shown)


def _judge_timer(timer, main, log, wanted, words=()):
    """A timer's Verdict (the module says the rule): ``timer``, its kind; ``wanted``: what
    the data wants of it (up unless ``down: true``). Its logger runs while it is on.

    >>> judge({"wanted": True, "running": False, "main": {"timer": "scheduled",
    ...        "timer_word": "scheduled (next at T)"}}).word
    'scheduled (next at T)'
    >>> off = judge({"wanted": True, "running": False, "main": {"timer": "off"}})
    >>> off.word, off.is_stopped, judge({"wanted": False, "main": {"timer": "off"}}).word
    ('off (wanted up)', True, 'off')
    >>> failed = judge({"wanted": True, "main": {"timer": "failed",
    ...                 "timer_word": "failed (exit 3)"}})
    >>> failed.word, failed.is_stopped
    ('failed (exit 3)', True)
    """
    word = main.get("timer_word") or timer
    words, shown = list(words), None
    if main.get("gave_up") is True:
        words.append(GAVE_UP)
    elif main.get("crash_looping") is True:
        words.append(CRASH_LOOPING)
    if timer == TIMER_OFF:
        if wanted:
            words.append(TIMER_OFF_WANTED)
        shown = TIMER_OFF
    elif timer in (FAILED, TIMER_UNREADABLE, TIMER_NO_NEXT_RUN):
        words.append(word)
    else:
        shown = word
    stopped = timer == FAILED or (timer == TIMER_OFF and wanted)
    return _with_logger(words, log, timer != TIMER_OFF, stopped, shown)


def is_as_wanted_word(word, main):
    """Whether ``word``, a verdict's word as a node's fact carries it, says as wanted:
    ``as wanted``, or a one-shot's ``running`` or ``done (…)`` (its fact words ``main``).

    >>> is_as_wanted_word("done (exit 0, at T, took 1s)", {"job": "done",
    ...                   "job_word": "done (exit 0, at T, took 1s)"})
    True
    >>> is_as_wanted_word("failed (exit 1, at T)", {"job": "failed",
    ...                   "job_word": "failed (exit 1, at T)"}), is_as_wanted_word("x", {})
    (False, False)
    """
    if word == AS_WANTED:
        return True
    timer = main.get("timer")
    if timer in (TIMER_SCHEDULED, RUNNING):  # a timer's words (protocol/timerwords.py)
        return word == (main.get("timer_word") or timer)
    if timer == TIMER_OFF:
        return word == TIMER_OFF
    return main.get("job") in (DONE, RUNNING) and word == (main.get("job_word")
                                                           or main.get("job"))


def verdict_of(wanted, main, log=None, timed=True):
    """The Verdict of a service whose sides are read (protocol.sidestate.SideState; ``log``
    None: no logger), wanted up or not (``wanted``): ``judge`` of their words — a timer's
    with their times (``timed``: status's), or without (the fact's)."""
    return judge({"wanted": wanted, "running": main.is_running,
                  "main": side_words(main, timed),
                  "log": None if log is None else side_words(log)})


def is_wanted(main, declared=True, enabled=True):
    """Whether a service whose service side is ``main`` (a SideState) is wanted up, as runsv
    sees it (the module says the rule); ``declared``: the data declares it; ``enabled``: it
    does not say ``enabled: false``."""
    if main.is_timer:  # the data's (a timer's rule, in the module): sv once leaves it down
        return enabled and main.is_normally_up
    if not declared:  # runsv's rule: up unless a down file says otherwise
        return main.is_normally_up
    if not enabled:
        return False
    if main.has_given_up:
        return True  # runsv wants it down only because it gave up restarting it
    if main.want is not None:
        return main.want == "up"
    return main.is_normally_up


def side_words(side, timed=False):
    """What the Puppet fact carries of one side (a SideState), and what the verdict judges:
    only words that stay the same between two agent runs while nothing happens — no pid, no
    uptime, no time; the deaths in buckets (``fact_deaths``), the last exit as the fact words
    it (protocol.tally.exit_text, not named); ``unknown`` where our runtime keeps no account
    (the C runit); ``ready`` only for a side that declares readiness; a timer's ``timer``
    (its kind) and ``timer_word`` — with its times when ``timed`` (status's verdict), else
    without (the fact's: the clock alone moves them); ``waiting_for`` while its ./run waits
    for one-shots it needs (their names: fixed while it waits)."""
    tally = side.tally
    found = {"state": side.state, "want": side.want, "normally": side.normally,
             "paused": is_paused(side),
             "crash_looping": UNKNOWN if tally is None else side.is_crash_looping,
             "gave_up": UNKNOWN if tally is None else side.has_given_up,
             "last_exit": UNKNOWN if tally is None else exit_text(tally.last_exit, named=False),
             "deaths": UNKNOWN if tally is None else fact_deaths(tally.deaths)}
    if side.readiness is not None:
        found["ready"] = side.readiness.state  # starting, ready, reloading, stopping
    doing = side.timer_doing
    if doing is not None:
        found["timer"] = doing.kind
        found["timer_word"] = doing.word if timed else doing.fact_word
    if side.waiting_for:
        from ..protocol.needsdone import waiting_words

        found["waiting_for"] = waiting_words(side.waiting_for)
    if side.unreadable:  # only then: every other side's words are as they were
        found["unreadable"] = side.unreadable_text
    job = side.job
    if side.is_oneshot:  # its last run's end is fixed once it ended: stable between runs
        from ..protocol.lastrun import job_words

        found["job"] = UNKNOWN if job is None else job
        found["job_word"] = UNKNOWN if job is None else job_words(
            job, side.last_run, lambda last: exit_text(last, named=False))
    return found


def is_paused(side):
    """``sv pause``d, as its status says (False where nothing was read)."""
    return bool(side.status.paused) if side.state.is_runsv_state else False


DEATH_BUCKETS = ((0, "0"), (1, "1"), (9, "2-9"), (99, "10-99"), (999, "100-999"))


def fact_deaths(count):
    """A death count as a bucket a fact can keep while a service dies now and then, and a
    PQL query can match: ``0``, ``1``, ``2-9``, ``10-99``, ``100-999``, ``1000+``.

    >>> [fact_deaths(count) for count in (0, 1, 2, 9, 10, 150, 5000)]
    ['0', '1', '2-9', '2-9', '10-99', '100-999', '1000+']
    """
    for top, word in DEATH_BUCKETS:
        if count <= top:
            return word
    return "1000+"
