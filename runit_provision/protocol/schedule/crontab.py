"""cron's five time fields (crontab(5), Debian's cron 3.0pl1): parsed, placed at their column,
and the next run computed as Debian's cron runs it; pure, standard library only.

    minute  hour  day-of-month  month  day-of-week
    0-59    0-23  1-31          1-12   0-7 (0 and 7: Sunday)
                                jan…   sun…

    >>> spec = parse_crontab("*/15 9-17 * * mon-fri")
    >>> sorted(spec.minutes), sorted(spec.weekdays)
    ([0, 15, 30, 45], [1, 2, 3, 4, 5])
    >>> parse_crontab("@reboot")
    Traceback (most recent call last):
    ...
    runit_provision.errors.ScheduleError: column 1: @reboot runs at boot, not on a schedule: a one-shot service is that (oneshot: true)

An item is ``*``, ``N``, ``N-M``, ``*/S`` or ``N-M/S``, joined by ``,``; months and weekdays
may be named (also as a range's ends, as Debian's parser lets them). What Debian's cron accepts
without a word but never runs as written (``N/S``, a backwards range) is refused by name, as
is ``@reboot``; a sixth word names the time zone. The day rule (day-of-month OR day-of-week
when both are restricted) and the DST rules (a fixed-time job in the skipped hour runs once
right after the change, in the repeated hour once; a wildcard job runs by the clock) are
Debian's, as docs/schedule.md#crons-five-fields says.
"""

from ...errors import ScheduleError
from .nextelapse import USEC_PER_SEC, successive
from .zones import host_zone, zone_named

MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
               "dec")
WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
FIELDS = (  # name, low, high, names (the first name is low's)
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, MONTH_NAMES),
    ("day of week", 0, 7, WEEKDAY_NAMES),
)
SHORTHANDS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# A day-of-month set that never falls in any chosen month runs never; Debian's cron keeps it
# without a word. Eight years and a day hold a Feb 29 (2096 -> 2104 skips 2100).
SEARCH_DAYS = 8 * 366 + 1


class CronSpec:
    """Five parsed fields: ``minutes`` … ``weekdays`` (frozensets; weekdays 0-6, Sunday 0),
    ``day_star``/``weekday_star`` (the field starts with ``*``: the days are both fields' AND,
    not their OR), ``wildcard`` (minute or hour starts with ``*``: cron's wildcard job), and
    ``zone`` (a tz database name, ``"UTC"``, or None: the host's)."""

    kind = "cron"

    __slots__ = ("text", "minutes", "hours", "days", "months", "weekdays", "day_star",
                 "weekday_star", "wildcard", "zone")

    def __init__(self, **fields):
        for name in self.__slots__:
            object.__setattr__(self, name, fields[name])

    def __setattr__(self, name, value):
        raise AttributeError("CronSpec is frozen")

    def __repr__(self):
        return "parse_crontab(%r)" % self.text

    def __str__(self):
        return self.text

    def day_matches(self, day, weekday):
        """cron's rule: ``weekday`` 0-6 from Sunday."""
        in_days, in_weekdays = day in self.days, weekday in self.weekdays
        if self.day_star or self.weekday_star:
            return in_days and in_weekdays
        return in_days or in_weekdays

    def next_elapse(self, after_usec, local_zone=None):
        """The first run strictly after ``after_usec`` (microseconds since the epoch), in
        microseconds, or None when the fields name no day that exists (``0 0 30 2 *``)."""
        import datetime
        tz = (None if self.zone == "UTC" else zone_named(self.zone) if self.zone
              else local_zone if local_zone is not None else host_zone())
        after = after_usec / USEC_PER_SEC
        # start a day early: a run owed to a skipped hour may fall after the wall day
        first = datetime.datetime.fromtimestamp(after, tz or datetime.timezone.utc).date() \
            - datetime.timedelta(days=1)
        for offset in range(SEARCH_DAYS):
            day = first + datetime.timedelta(days=offset)
            if day.month not in self.months or not self.day_matches(
                    day.day, (day.weekday() + 1) % 7):
                continue
            best = None
            for hour, minute in _wall_times(self.hours, self.minutes):
                instants = _instants(datetime, tz, day, hour, minute, self.wildcard)
                if best is not None and instants and min(instants) > best + 3 * 3600:
                    break   # the wall times after are later still (a change is < 3 h)
                for t in instants:
                    if t > after and (best is None or t < best):
                        best = t
            if best is not None:
                return best * USEC_PER_SEC
        return None

    def elapses(self, after_usec, count, local_zone=None):
        """The next ``count`` runs, each after the one before."""
        return successive(lambda after: self.next_elapse(after, local_zone), after_usec, count)


def _wall_times(hours, minutes):
    return ((hour, minute) for hour in sorted(hours) for minute in sorted(minutes))


def _instants(datetime, tz, day, hour, minute, wildcard):
    """The instants (epoch seconds) at which cron runs a job due at this wall time."""
    naive = datetime.datetime(day.year, day.month, day.day, hour, minute)
    if tz is None:
        return [int(naive.replace(tzinfo=datetime.timezone.utc).timestamp())]
    first = int(naive.replace(tzinfo=tz, fold=0).timestamp())
    second = int(naive.replace(tzinfo=tz, fold=1).timestamp())
    if first == second:
        return [first]
    if datetime.datetime.fromtimestamp(first, tz).replace(tzinfo=None) == naive:
        return sorted((first, second)) if wildcard else [min(first, second)]   # repeated
    if wildcard:
        return []          # skipped: the clock never shows it
    low, high = min(first, second), max(first, second)
    while low < high:      # the change itself: the first instant whose wall time is past
        middle = (low + high) // 2
        if datetime.datetime.fromtimestamp(middle, tz).replace(tzinfo=None) > naive:
            high = middle
        else:
            low = middle + 1
    return [low]


def parse_crontab(text):
    """cron's five fields (and an optional zone), or an @-shorthand -> CronSpec; a fault
    is a ScheduleError at its column."""
    if not isinstance(text, str):
        raise ScheduleError("a schedule is a string", 1)
    words = _words(text)
    if words and words[0][1].startswith("@"):
        column, word = words[0]
        if word.lower() == "@reboot":
            raise ScheduleError("@reboot runs at boot, not on a schedule: a one-shot service "
                                "is that (oneshot: true)", column)
        expansion = SHORTHANDS.get(word.lower())
        if expansion is None:
            raise ScheduleError("unknown shorthand %r (cron's are %s and @reboot)"
                                % (word, ", ".join(sorted(SHORTHANDS))), column)
        if len(words) > 2:
            raise ScheduleError("a shorthand takes at most a time zone after it",
                                words[2][0])
        zone = _zone(words[1]) if len(words) == 2 else None
        spec = parse_crontab(expansion)
        fields = {name: getattr(spec, name) for name in CronSpec.__slots__}
        fields.update(text=text, zone=zone, wildcard=word.lower() == "@hourly")
        return CronSpec(**fields)
    if len(words) < 5:
        raise ScheduleError("cron's schedule has five fields (minute hour day-of-month "
                            "month day-of-week); found %d" % len(words),
                            len(text) + 1 if words else 1)
    if len(words) > 6:
        raise ScheduleError("after the five fields, only a time zone may follow",
                            words[6][0])
    sets = [_parse_field(column, word, *field)
            for (column, word), field in zip(words, FIELDS)]
    weekdays = frozenset(day % 7 for day in sets[4])
    return CronSpec(text=text, minutes=sets[0], hours=sets[1], days=sets[2], months=sets[3],
                    weekdays=weekdays, day_star=words[2][1].startswith("*"),
                    weekday_star=words[4][1].startswith("*"),
                    wildcard=words[0][1].startswith("*") or words[1][1].startswith("*"),
                    zone=_zone(words[5], after_fields=True) if len(words) == 6 else None)


def _words(text):
    """[(column, word)] of the words between blanks (spaces and tabs)."""
    words, start = [], None
    for index, char in enumerate(text + " "):
        if char in " \t":
            if start is not None:
                words.append((start + 1, text[start:index]))
                start = None
        elif start is None:
            start = index
    return words


def _zone(word, after_fields=False):
    column, name = word
    if name.upper() == "UTC":
        return "UTC"
    if zone_named(name) is None:
        raise ScheduleError("no time zone named %r in the tz database%s" % (
            name, " (a schedule is the five time fields and a zone; the command is the "
                  "service's own)" if after_fields else ""), column)
    return name


def _parse_field(column, word, name, low, high, names):
    values = set()
    at = 0
    for item in word.split(","):
        values |= _parse_item(column + at, item, name, low, high, names)
        at += len(item) + 1
    return frozenset(values)


def _parse_item(column, item, name, low, high, names):
    if not item:
        raise ScheduleError("an empty item in the %s field" % name, column)
    body, slash, step_text = item.partition("/")
    step = 1
    if slash:
        step = _number(column + len(body) + 1, step_text, "step", 0, 1 << 30, None)
        if step == 0:
            raise ScheduleError("a step of 0 in the %s field" % name,
                                column + len(body) + 1)
    if body == "*":
        first, last = low, high
    else:
        start_text, dash, stop_text = body.partition("-")
        first = _number(column, start_text, name, low, high, names)
        if not dash:
            if slash:
                raise ScheduleError(
                    "%s/%s: Debian's cron takes a step only after '*' or a range (write "
                    "%s-%d/%s)" % (body, step_text, body, high, step_text), column)
            return {first}
        last = _number(column + len(start_text) + 1, stop_text, name, low, high, names)
        if last < first:
            raise ScheduleError("the range %s runs backwards: Debian's cron would never run "
                                "it" % body, column)
    return set(range(first, last + 1, step))


def _number(column, text, name, low, high, names):
    """A number within low..high, or one of ``names`` (its three letters, any case)."""
    if names and text.lower() in names:
        return names.index(text.lower()) + low
    if not text.isdigit() or not text.isascii():
        raise ScheduleError("expected a number%s in the %s field, found %r" % (
            " or a name (%s…)" % ", ".join(names[:3]) if names else "", name, text), column)
    value = int(text)
    if not low <= value <= high:
        raise ScheduleError("the %s %d is not within %d..%d" % (name, value, low, high),
                            column)
    return value
