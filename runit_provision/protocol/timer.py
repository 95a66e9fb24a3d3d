"""protocol: timers (docs/jobs.md#timers): the ``schedule`` file of a timer's service directory, its
``supervise/timer`` record, its ``timer-stamp``, and the pure decisions both waiters share
(our runsv's engine and ``timer-run`` under the C runsv): when the next run starts, and how
many elapses a run that lasted so long skipped.

The files (docs/jobs.md#timers): ``schedule`` (rendered, 0644; its presence marks a timer):
``timer 1`` then ``when=``, ``persistent=``, ``jitter=``, ``time_limit=`` lines, unknown keys
ignored; ``supervise/timer`` (the waiter's, ``.new`` + rename): ``timer-state 1 next=
elapse= skipped= timed_out= missed=`` and an optional last ``error=`` that holds the rest of
the line; ``timer-stamp`` (``persistent`` only): ``stamp 1 elapse=SECONDS``, the last elapse a
run was started for, written before the job starts, so that a ``kill -9`` of the tree while
the job runs never runs that elapse twice.

Times are microseconds since the epoch (the calendar's unit) in the code, seconds with six
decimals in the files. A user's tree writes both records: they are read within bounds
(protocol/bounds.py), anything else a ValueError naming the field.
"""

import os
from collections import namedtuple

from .backoff import seconds_text
from .layout import JOB, SCHEDULE, TIMER_STAMP, TIMER_STATE  # noqa: F401 (layout's names)

TIMER_MAX = 4096        # bytes read of any of the three (a schedule line is < 1 KiB)
TIME_LIMIT_GRACE = 10   # seconds between the TERM that ends a job's group and its KILL
USEC = 1_000_000


class TimerSpec:
    """A timer's ``schedule`` file: ``when`` (the text), ``persistent`` (bool), ``jitter``
    (seconds, float, 0 = none), ``time_limit`` (seconds, float, or None); ``schedule`` is
    ``when`` parsed (``.next_elapse``, ``.elapses``; ScheduleError, a ValueError, when it
    does not parse)."""

    __slots__ = ("when", "persistent", "jitter", "time_limit", "schedule")

    def __init__(self, when, persistent=False, jitter=0.0, time_limit=None):
        from .schedule import parse_schedule

        self.when, self.persistent = when, bool(persistent)
        self.jitter = float(jitter)
        self.time_limit = None if not time_limit else float(time_limit)
        self.schedule = parse_schedule(when)

    def __eq__(self, other):
        return isinstance(other, TimerSpec) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def _key(self):
        return self.when, self.persistent, self.jitter, self.time_limit

    def __repr__(self):
        return "TimerSpec(when=%r, persistent=%r, jitter=%r, time_limit=%r)" % self._key()


def timer_spec_bytes(spec):
    """The ``schedule`` file of ``spec``.

    >>> print(timer_spec_bytes(TimerSpec("*:0/15", True, 30, 600)).decode(), end="")
    timer 1
    when=*:0/15
    persistent=1
    jitter=30
    time_limit=600
    >>> timer_spec_bytes(TimerSpec("daily")).endswith(b"jitter=0\\ntime_limit=0\\n")
    True
    """
    return b"timer 1\nwhen=%s\npersistent=%d\njitter=%s\ntime_limit=%s\n" % (
        spec.when.encode(), spec.persistent, seconds_text(spec.jitter).encode(),
        seconds_text(spec.time_limit or 0).encode())


def timer_spec_from_bytes(data):
    """The TimerSpec of a ``schedule`` file; ValueError (its message says what) when it is
    not one. Unknown keys are ignored.

    >>> timer_spec_from_bytes(b"timer 1\\nwhen=30 2 * * 1-5\\njitter=1.5\\nnew=thing\\n")
    TimerSpec(when='30 2 * * 1-5', persistent=False, jitter=1.5, time_limit=None)
    >>> timer_spec_from_bytes(b"timer 1\\nwhen=*-*-* 25:00\\n")
    Traceback (most recent call last):
    ...
    ValueError: schedule: when=*-*-* 25:00: column 7: the hour 25 is not within 0..23
    >>> timer_spec_from_bytes(b"garbage")
    Traceback (most recent call last):
    ...
    ValueError: schedule: not a timer file (its first line is not "timer 1")
    """
    when, persistent, jitter, time_limit = timer_spec_words(data)
    try:
        return TimerSpec(when, persistent, jitter, time_limit)
    except ValueError as exc:
        raise ValueError("schedule: when=%s: %s" % (when, exc)) from None


def timer_spec_words(data):
    """``(when, persistent, jitter, time_limit)`` of a ``schedule`` file, ``when`` not
    parsed — what the views show, without the calendar's cost (parsing a schedule loads
    the calendar, and one that names a zone zoneinfo and os: not on a daily view's path);
    ValueError as
    ``timer_spec_from_bytes``'s for anything else.

    >>> timer_spec_words(b"timer 1\\nwhen=*-*-* 25:00\\npersistent=1\\n")
    ('*-*-* 25:00', True, 0.0, None)
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("schedule: not UTF-8") from None
    lines = text.split("\n")
    if lines[0].strip() != "timer 1":
        raise ValueError('schedule: not a timer file (its first line is not "timer 1")')
    values = {}
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals:
            raise ValueError("schedule: line %d has no =: %r" % (number, line[:80]))
        values[name.strip()] = value.strip()
    if not values.get("when"):
        raise ValueError("schedule: no when=")
    persistent = values.get("persistent", "0")
    if persistent not in ("0", "1"):
        raise ValueError("schedule: persistent=%s is not 0 or 1" % persistent)
    jitter = _seconds(values, "jitter")
    time_limit = _seconds(values, "time_limit")
    return values["when"], persistent == "1", jitter, time_limit or None


def _seconds(values, name):
    text = values.get(name, "0") or "0"
    try:
        number = float(text)
    except ValueError:
        raise ValueError("schedule: %s=%s is not a number of seconds" % (name, text)) from None
    if not 0 <= number <= 10 ** 9:  # NaN fails both
        raise ValueError("schedule: %s=%s is out of range" % (name, text))
    return number


class TimerState(namedtuple(
        "TimerState", "next_usec elapse_usec skipped timed_out missed error started_usec",
        defaults=(0, 0, 0, 0, False, "", None))):
    """``supervise/timer``: ``next_usec`` (0: none), ``elapse_usec`` (0: none yet),
    ``skipped``, ``timed_out`` (counts), ``missed`` (bool), ``error`` ("" when none), and
    ``started_usec``: the job's start as ``timer-run`` writes it under the C runsv, whose
    ``supervise/status`` stamps the waiter's start, not the job's — 0 while no job of this
    waiter ran (its finish then records nothing), None where no ``started=`` is written (our
    runsv: its status stamps the job's start)."""

    __slots__ = ()


def timer_state_bytes(state):
    """The ``supervise/timer`` line of ``state``.

    >>> timer_state_bytes(TimerState(1764155700_000000, 1764154800_000000, 2))
    b'timer-state 1 next=1764155700.000000 elapse=1764154800.000000 skipped=2 timed_out=0 missed=0\\n'
    >>> timer_state_bytes(TimerState(error="schedule: no when="))[-34:]
    b'missed=0 error=schedule: no when=\\n'
    >>> timer_state_bytes(TimerState(2 * USEC, USEC, 1, started_usec=1500000))[-26:]
    b'missed=0 started=1.500000\\n'
    """
    line = b"timer-state 1 next=%s elapse=%s skipped=%d timed_out=%d missed=%d" % (
        _seconds_bytes(state.next_usec), _seconds_bytes(state.elapse_usec), state.skipped,
        state.timed_out, bool(state.missed))
    if state.started_usec is not None:
        line += b" started=" + (_seconds_bytes(state.started_usec) if state.started_usec
                                else b"0")
    if state.error:  # last: it holds the rest of the line
        line += b" error=" + " ".join(state.error.split()).encode("utf-8", "replace")
    return line + b"\n"


def timer_state_from_bytes(data):
    """The TimerState of a ``supervise/timer`` file; ValueError when it is not one. Unknown
    words are ignored.

    >>> timer_state_from_bytes(b"timer-state 1 next=10.5 elapse=9 skipped=2 timed_out=1 "
    ...                        b"missed=1 future=yes error=bad when\\n")
    TimerState(next_usec=10500000, elapse_usec=9000000, skipped=2, timed_out=1, missed=True, error='bad when', started_usec=None)
    >>> timer_state_from_bytes(b"timer-state 1 skipped=x")
    Traceback (most recent call last):
    ...
    ValueError: supervise/timer: skipped=x is not a number
    """
    line = data[:TIMER_MAX].split(b"\n", 1)[0]
    line, _, error = line.partition(b" error=")
    words = line.split()
    if words[:2] != [b"timer-state", b"1"]:
        raise ValueError("supervise/timer: not a timer record")
    fields = dict(word.split(b"=", 1) for word in words[2:] if b"=" in word)
    return TimerState(
        _field(fields, b"next", _usec), _field(fields, b"elapse", _usec),
        _field(fields, b"skipped", _count), _field(fields, b"timed_out", _count),
        fields.get(b"missed", b"0") == b"1", error.decode("utf-8", "replace"),
        _field(fields, b"started", _usec) if b"started" in fields else None)


def _field(fields, name, number):
    text = fields.get(name, b"0")
    try:
        return number(text)
    except ValueError:
        from .bounds import printable

        raise ValueError("supervise/timer: %s=%s is not %s" % (
            name.decode(), printable(text, 40), "a time within 1970..9999"
            if number is _usec else "a number")) from None


def _count(text):
    from .bounds import whole

    return whole(text, "")


def stamp_bytes(elapse_usec):
    """The ``timer-stamp`` line for the elapse ``elapse_usec``.

    >>> stamp_bytes(1764154800_250000)
    b'stamp 1 elapse=1764154800.250000\\n'
    """
    return b"stamp 1 elapse=%s\n" % _seconds_bytes(elapse_usec)


def stamp_from_bytes(data):
    """The elapse (microseconds) a ``timer-stamp`` holds; ValueError when it is not one.

    >>> stamp_from_bytes(b"stamp 1 elapse=1764154800.25 later=1\\n")
    1764154800250000
    >>> stamp_from_bytes(b"stamp 1\\n")
    Traceback (most recent call last):
    ...
    ValueError: timer-stamp: no elapse=
    """
    words = data[:TIMER_MAX].split(b"\n", 1)[0].split()
    if words[:2] != [b"stamp", b"1"]:
        raise ValueError("timer-stamp: not a stamp")
    fields = dict(word.split(b"=", 1) for word in words[2:] if b"=" in word)
    if b"elapse" not in fields:
        raise ValueError("timer-stamp: no elapse=")
    try:
        return _usec(fields[b"elapse"])
    except ValueError:
        from .bounds import printable

        raise ValueError("timer-stamp: elapse=%s is not a time" % printable(
            fields[b"elapse"], 40)) from None


def random_fraction():
    """A uniform fraction in [0, 1) from the kernel's randomness — the draw of a run's jitter
    for both waiters."""
    return int.from_bytes(os.urandom(7), "little") / (1 << 56)


def next_run(spec, now_usec, stamp_usec=None, random_fraction=0.0, local_zone=None):
    """``(elapse_usec, start_usec, missed)`` of the next run, or None when no elapse is left.

    The next elapse strictly after ``now_usec``, started ``random_fraction`` (0 <= f < 1) of
    ``spec.jitter`` after it; or — ``spec.persistent``, a ``stamp_usec`` (the elapse of the
    last run started), and an elapse after the stamp that is <= now — the latest such missed
    elapse, at once (``start = now``, not delayed, ``missed=True``): however many were missed,
    one run; and once its stamp is written, none again. ``local_zone`` (a tzinfo; None: the
    host's) reads a schedule without a zone of its own.

    >>> spec = TimerSpec("*-*-* 00:00:00 UTC", persistent=True, jitter=60)
    >>> day = 86400 * USEC
    >>> next_run(spec, 10 * day + 5, None, 0.5)     # the next midnight, 30 s later
    (950400000000, 950430000000, False)
    >>> next_run(spec, 10 * day + 5, 7 * day, 0.5)  # missed 8, 9 and 10: one run, 10's, now
    (864000000000, 864000000005, True)
    >>> next_run(spec, 10 * day + 5, 10 * day, 0.5)[2]   # that one's stamp: not again
    False
    """
    schedule = spec.schedule
    # a stamp after now (the clock set back, or the owner's word) names no elapse missed: the
    # calendar is not asked about it (near the year 9999 it cannot count)
    if spec.persistent and stamp_usec and stamp_usec <= now_usec:
        missed = _last_elapse_until(schedule, stamp_usec, now_usec, local_zone)
        if missed is not None:
            return missed, now_usec, True
    elapse = schedule.next_elapse(now_usec, local_zone)
    if elapse is None:
        return None
    fraction = min(max(random_fraction, 0.0), 1.0)
    return elapse, elapse + int(fraction * spec.jitter * USEC), False


def _last_elapse_until(schedule, after_usec, until_usec, local_zone):
    """The latest elapse in (after, until], or None: a bisection on "the next elapse after x
    is <= until" (true below the answer, false from it on), ~40 computations of an elapse
    whatever the number missed (a timer of every second down for a week)."""
    first = schedule.next_elapse(after_usec, local_zone)
    if first is None or first > until_usec:
        return None
    low, high = first, until_usec   # next after low: <= until unless low is the answer
    found = schedule.next_elapse(low, local_zone)
    if found is None or found > until_usec:
        return first
    while high - low > 1:
        middle = (low + high) // 2
        after = schedule.next_elapse(middle, local_zone)
        if after is not None and after <= until_usec:
            low = middle
        else:
            high = middle
    return schedule.next_elapse(low, local_zone)


# elapses counted at most for one run: each is a computation of the next elapse in the
# supervisor's loop (a seconds' timer whose run took an hour counts 1000)
SKIPPED_LIMIT = 1000


def elapses_between(spec, after_usec, until_usec, limit=1000, local_zone=None):
    """How many elapses fall in (after, until] — at most ``limit``: the elapses skipped by a
    run that started at the elapse ``after`` and ended at ``until``.

    >>> every_minute = TimerSpec("*:*:00 UTC")
    >>> elapses_between(every_minute, 60 * USEC, 300 * USEC), elapses_between(
    ...     every_minute, 60 * USEC, 119 * USEC), elapses_between(every_minute, 0, 10 ** 12, 5)
    (4, 0, 5)
    """
    return passed_elapses(spec, after_usec, until_usec, limit, local_zone)[0]


def passed_elapses(spec, after_usec, until_usec, limit=1000, local_zone=None):
    """``(count, the last)`` of the elapses in (after, until]: the count at most ``limit``,
    the last the latest of them however many there are (``after_usec`` when none fell
    there). The work is bounded whatever the span: ``limit`` elapses walked, then the last
    found by bisection.

    >>> passed_elapses(TimerSpec("*:*:00 UTC"), 60 * USEC, 300 * USEC)
    (4, 300000000)
    >>> passed_elapses(TimerSpec("*:*:00 UTC"), 60 * USEC, 86400 * USEC, limit=3)
    (3, 86400000000)
    """
    count, last = 0, after_usec
    while count < limit:
        at = spec.schedule.next_elapse(last, local_zone)
        # one not after the last breaks the calendar's promise (its DST sweep holds it): the
        # count ends there rather than walk in place in the supervisor's loop
        if at is None or at > until_usec or at <= last:
            return count, last
        count, last = count + 1, at
    latest = _last_elapse_until(spec.schedule, last, until_usec, local_zone)
    return count, last if latest is None else latest


def _seconds_bytes(usec):
    return b"%d.%06d" % divmod(int(usec), USEC)


def _usec(text):
    """Microseconds of ``SECONDS[.FRACTION]`` within 1970..9999 (protocol/bounds.py);
    ValueError otherwise."""
    from .bounds import moment_ns

    return moment_ns(text, "") // 1000
