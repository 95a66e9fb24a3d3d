"""protocol/schedule: systemd's calendar expressions (``OnCalendar=``, systemd.time(7)) —
parsed, validated, each fault at its column, and normalized as systemd prints them
(``CalendarSpec``); pure, standard library only.

The protocol room holds it because a timer's ``run`` (the runtime, which imports only the
standard library and ``protocol/``) and the schema (which validates ``schedule:``) both read
it: one reading of a schedule, never two. Cron's five fields are ``crontab.py``'s; the one
entry point for a ``schedule:`` string, which tells them apart, is ``__init__.py``. A spec's
next elapse is ``nextelapse.py``'s, in a zone read by ``zoneclock.py``.

The grammar and every form: docs/schedule.md. ::

    >>> str(parse_calendar("Mon..Fri *-*-* 02:30"))
    'Mon..Fri *-*-* 02:30:00'
    >>> str(parse_calendar("*:0/15"))
    '*-*-* *:00/15:00'
    >>> parse_calendar("*-*-* 25:00")
    Traceback (most recent call last):
    ...
    runit_provision.errors.ScheduleError: column 7: the hour 25 is not within 0..23

Each component is a chain of ``(start, stop, repeat)`` (``1..20/3`` is ``(1, 20, 3)``, a
missing chain is ``*``); seconds are kept in microseconds.
"""

from ...errors import ScheduleError
from .nextelapse import MAX_YEAR, USEC_PER_SEC, elapse_after, successive
from .zoneclock import timeclock
from .zones import zone_named

MIN_YEAR = 1970
ALL_WEEKDAYS = 127
CHAIN_MAX = 240                 # systemd's CALENDARSPEC_COMPONENTS_MAX
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAY_WORDS = tuple(
    (word, number)
    for number, (long, short) in enumerate(zip(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        (name.lower() for name in WEEKDAY_NAMES)))
    for word in (long, short))
# The shorthands, as systemd spells them out (normalized form); "anually" is its old typo,
# still accepted, "bi-annually" and "biannually" its other words for semiannually.
SHORTHANDS = {
    "minutely": "*-*-* *:*:00",
    "hourly": "*-*-* *:00:00",
    "daily": "*-*-* 00:00:00",
    "weekly": "Mon *-*-* 00:00:00",
    "monthly": "*-*-01 00:00:00",
    "quarterly": "*-01,04,07,10-01 00:00:00",
    "semiannually": "*-01,07-01 00:00:00",
    "semi-annually": "*-01,07-01 00:00:00",
    "biannually": "*-01,07-01 00:00:00",
    "bi-annually": "*-01,07-01 00:00:00",
    "yearly": "*-01-01 00:00:00",
    "annually": "*-01-01 00:00:00",
    "anually": "*-01-01 00:00:00",
}


class CalendarSpec:
    """A parsed calendar expression; ``str()`` is systemd's normalized form.

    ``weekdays``: a bit set, Monday bit 0, or None for every day. ``year``…``second``: the
    chains (tuples of ``(start, stop, repeat)``, sorted, seconds in microseconds) or None for
    ``*``. ``end_of_month``: the day chain counts back from the month's end (``~``).
    ``zone``: a tz database name, ``"UTC"``, or None for the host's local time.
    """

    kind = "calendar"

    __slots__ = ("text", "weekdays", "year", "month", "day", "hour", "minute", "second",
                 "end_of_month", "zone")

    def __init__(self, text, weekdays, year, month, day, hour, minute, second, end_of_month,
                 zone):
        for name, value in zip(self.__slots__, (text, weekdays, year, month, day, hour, minute,
                                                second, end_of_month, zone)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError("CalendarSpec is frozen")

    def __eq__(self, other):
        return isinstance(other, CalendarSpec) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))

    def __repr__(self):
        return "parse_calendar(%r)" % self.text

    def __str__(self):
        text = ""
        if self.weekdays is not None:
            text = _format_weekdays(self.weekdays) + " "
        text += "%s-%s%s%s %s:%s:%s" % (
            _format_chain(self.year, 4), _format_chain(self.month, 2),
            "~" if self.end_of_month else "-", _format_chain(self.day, 2),
            _format_chain(self.hour, 2), _format_chain(self.minute, 2),
            _format_chain(self.second, 2, usec=True))
        if self.zone is not None:
            text += " " + self.zone
        return text

    def next_elapse(self, after_usec, local_zone=None):
        """The first elapse strictly after ``after_usec`` (microseconds since the epoch), in
        microseconds, or None when there is none (``2024-02-29`` once it passed). Without a
        zone of its own the expression is read in ``local_zone`` (a ``tzinfo``; None: the
        host's, ``host_zone()``)."""
        return elapse_after(self, after_usec, timeclock(self.zone, local_zone))

    def elapses(self, after_usec, count, local_zone=None):
        """The next ``count`` elapses (fewer if it stops elapsing), each after the one
        before, as ``systemd-analyze calendar --iterations=COUNT`` lists them."""
        clock = timeclock(self.zone, local_zone)
        return successive(lambda after: elapse_after(self, after, clock), after_usec, count)


class _Reader:
    """The string and a position in it; every fault names its column."""

    def __init__(self, text, end):
        self.text, self.pos, self.end = text, 0, end

    def peek(self, ahead=0):
        at = self.pos + ahead
        return self.text[at] if at < self.end else ""

    def at_end(self):
        return self.pos >= self.end

    def fail(self, message, pos=None):
        raise ScheduleError(message, (self.pos if pos is None else pos) + 1)

    def skip_spaces(self):
        while self.peek() == " ":
            self.pos += 1

    def what(self):
        return repr(self.peek()) if not self.at_end() else "the end"


def parse_calendar(text):
    """``text`` -> CalendarSpec, or ScheduleError at its column (systemd's grammar)."""
    if not isinstance(text, str):
        raise ScheduleError("a calendar expression is a string", 1)
    if text != text.strip(" "):
        at_start = text.startswith(" ")
        raise ScheduleError("a space at the %s of the expression" % (
            "start" if at_start else "end"), 1 if at_start else len(text))
    end, zone = _split_zone(text)
    shorthand = SHORTHANDS.get(text[:end].lower())
    if shorthand is not None:
        spec = parse_calendar(shorthand)
        return _spec(text, spec.weekdays, spec.year, spec.month, spec.day, spec.hour,
                     spec.minute, spec.second, False, zone)
    reader = _Reader(text, end)
    if reader.at_end():
        reader.fail("empty calendar expression" if not text else
                    "a time zone alone is no calendar expression")
    try:
        return _parse_body(reader, text, zone)
    except ScheduleError as exc:
        _blame_unknown_zone(text, end, exc)
        raise


def _split_zone(text):
    """(where the expression ends, its zone or None): a last word ``UTC`` (any case), or a
    last word that names a zone of the tz database."""
    if text[-4:].upper() == " UTC":
        return len(text) - 4, "UTC"
    space = text.rfind(" ")
    if space >= 0 and zone_named(text[space + 1:]) is not None:
        name = text[space + 1:]
        return space, "UTC" if name == "UTC" else name
    return len(text), None


def _blame_unknown_zone(text, end, exc):
    """A last word that failed to parse and looks like a zone's name is named as one."""
    space = text.rfind(" ", 0, end)
    word = text[space + 1:end]
    if space >= 0 and exc.column > space and any(c.isalpha() for c in word) \
            and not any(c in word for c in "*:~.,"):
        raise ScheduleError("no time zone named %r in the tz database" % word,
                            space + 2) from None


def _parse_body(reader, text, zone):
    weekdays = _parse_weekdays(reader)
    fields = {"year": None, "month": None, "day": None, "end_of_month": False}
    if reader.peek() == "@":
        year, month, day, hour, minute, second = _epoch_chains(reader)
        zone = "UTC"
        if not reader.at_end():
            reader.fail("nothing may follow @SECONDS, found %s" % reader.what())
        return _finish(reader, text, weekdays, year, month, day, False, hour, minute, second,
                       zone)
    _parse_date(reader, fields)
    hour, minute, second = _parse_time(reader)
    return _finish(reader, text, weekdays, fields["year"], fields["month"], fields["day"],
                   fields["end_of_month"], hour, minute, second, zone)


def _parse_weekdays(reader):
    """``Mon``, ``Mon,Wed``, ``Mon..Fri`` (or ``Mon-Fri``), full names, any case."""
    bits, range_from, first = 0, -1, True
    while True:
        rest = reader.text[reader.pos:reader.end].lower()
        for word, number in _WEEKDAY_WORDS:
            if rest.startswith(word):
                break
        else:
            if first:
                return None
            reader.fail("expected a weekday (Mon … Sun), found %s" % reader.what())
        start = reader.pos
        reader.pos += len(word)
        if reader.peek() not in ("", "-", ".", ",", " "):
            reader.fail("a weekday is followed by '..', ',' or a space, not %s"
                        % reader.what())
        bits |= 1 << number
        if range_from >= 0:
            if range_from > number:
                reader.fail("a range of weekdays runs forward (Mon..Fri)", start)
            for between in range(range_from + 1, number):
                bits |= 1 << between
        if reader.at_end():
            return bits
        if reader.peek() == " ":
            reader.skip_spaces()
            return bits
        if reader.peek() == ".":
            if range_from >= 0 or reader.peek(1) != ".":
                reader.fail("expected '..' between two weekdays")
            range_from = number
            reader.pos += 2
        elif reader.peek() == "-":
            if range_from >= 0:
                reader.fail("a range of weekdays has two ends")
            range_from = number
            reader.pos += 1
        elif reader.peek() == ",":
            range_from = -1
            reader.pos += 1
        if reader.at_end() or reader.peek() == " ":
            if range_from >= 0:
                reader.fail("the range of weekdays has no end")
            reader.skip_spaces()
            return bits
        first = False


def _epoch_chains(reader):
    import time
    reader.pos += 1
    start = reader.pos
    while reader.peek().isdigit():
        reader.pos += 1
    if reader.pos == start:
        reader.fail("expected seconds since the epoch after '@'")
    seconds = int(reader.text[start:reader.pos])
    if seconds > 253402300799:
        reader.fail("@%d is past the year 9999" % seconds, start)
    tm = time.gmtime(seconds)
    return tuple(((value, -1, 0, start),) for value in (
        tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min,
        tm.tm_sec * USEC_PER_SEC))


def _parse_date(reader, fields):
    """``[YEAR-]MONTH-DAY`` or ``[YEAR-]MONTH~DAY``; a first chain followed by ':' was the
    time (the position goes back)."""
    if reader.at_end():
        return
    start = reader.pos
    first = _parse_chain(reader, False)
    if reader.at_end() or reader.peek() == ":":
        reader.pos = start
        return
    if reader.peek() == "~":
        fields["end_of_month"] = True
    elif reader.peek() != "-":
        reader.fail("expected '-', '~' or ':' after %r, found %s"
                    % (reader.text[start:reader.pos], reader.what()))
    reader.pos += 1
    second = _parse_chain(reader, False)
    if reader.at_end() or reader.peek() == " ":
        reader.skip_spaces()
        fields["month"], fields["day"] = first, second
        return
    if fields["end_of_month"]:
        reader.fail("MONTH~DAY ends the date; found %s" % reader.what())
    if reader.peek() == "~":
        fields["end_of_month"] = True
    elif reader.peek() != "-":
        reader.fail("expected '-' or '~' in the date, found %s" % reader.what())
    reader.pos += 1
    third = _parse_chain(reader, False)
    if not (reader.at_end() or reader.peek() == " "):
        reader.fail("expected a space after the date, found %s" % reader.what())
    reader.skip_spaces()
    fields["year"], fields["month"], fields["day"] = first, second, third


def _parse_time(reader):
    """``HOUR:MINUTE[:SECOND]``; none at all is 00:00:00, no seconds are :00."""
    zero = ((0, -1, 0, reader.pos + 1),)
    if reader.at_end():
        return zero, zero, zero
    hour = _parse_chain(reader, False)
    if reader.peek() != ":":
        reader.fail("expected ':' after the hour, found %s" % reader.what())
    reader.pos += 1
    minute = _parse_chain(reader, False)
    if reader.at_end():
        return hour, minute, zero
    if reader.peek() != ":":
        reader.fail("expected ':' or the end after the minute, found %s" % reader.what())
    reader.pos += 1
    second = _parse_chain(reader, True)
    if not reader.at_end():
        reader.fail("expected the end after the seconds, found %s" % reader.what())
    return hour, minute, second


def _parse_chain(reader, usec):
    """``*``, or ``A[..B][/R]`` items separated by ','; each item as (start, stop, repeat,
    column). ``*`` is None, except for the seconds, where it is every whole second."""
    if reader.peek() == "*":
        reader.pos += 1
        if reader.peek() == "/":
            reader.fail("'*/N' is cron's; a calendar expression says '0/N' (from 0, every N)")
        return ((0, -1, USEC_PER_SEC, reader.pos),) if usec else None
    items = []
    while True:
        column = reader.pos + 1
        start = _parse_decimal(reader, usec)
        stop, repeat = -1, 0
        if reader.peek() == "." and reader.peek(1) == ".":
            reader.pos += 2
            stop = _parse_decimal(reader, usec)
            repeat = USEC_PER_SEC if usec else 1
        if reader.peek() == "/":
            reader.pos += 1
            repeat_at = reader.pos
            repeat = _parse_decimal(reader, usec)
            if repeat == 0:
                reader.fail("a repetition of 0 never moves on", repeat_at)
        elif usec and stop >= 0 and start + repeat > stop:
            reader.fail("a range of seconds must span at least one second", column - 1)
        if reader.peek() not in ("", " ", ",", "-", "~", ":"):
            reader.fail("unexpected %s in a number" % reader.what())
        items.append((start, stop, repeat, column))
        if len(items) > CHAIN_MAX:
            reader.fail("more than %d items in one list" % CHAIN_MAX, column - 1)
        if reader.peek() != ",":
            return tuple(items)
        reader.pos += 1


def _parse_decimal(reader, usec):
    start = reader.pos
    while reader.peek().isdigit() and reader.peek().isascii():
        reader.pos += 1
    if reader.pos == start:
        reader.fail("expected a number or '*', found %s" % reader.what())
    value = int(reader.text[start:reader.pos])
    if usec:
        value *= USEC_PER_SEC
        if reader.peek() == "." and reader.peek(1) != ".":
            reader.pos += 1
            value += _parse_fraction(reader)
    if value > 2147483647:
        reader.fail("%s is too large" % reader.text[start:reader.pos], start)
    return value


def _parse_fraction(reader):
    """Six decimals of a second; a seventh of 5 or more rounds up, more are dropped
    (systemd's parse_fractional_part_u)."""
    digits = ""
    while reader.peek().isdigit() and reader.peek().isascii():
        digits += reader.peek()
        reader.pos += 1
    if not digits:
        reader.fail("expected decimals after '.'")
    value = int(digits[:6].ljust(6, "0"))
    return value + (len(digits) > 6 and digits[6] >= "5")


_BOUNDS = {"year": (MIN_YEAR, MAX_YEAR), "month": (1, 12), "day": (1, 31), "hour": (0, 23),
           "minute": (0, 59), "second": (0, 60 * USEC_PER_SEC - 1)}


def _finish(reader, text, weekdays, year, month, day, end_of_month, hour, minute, second,
            zone):
    """systemd's calendar_spec_normalize() then calendar_spec_valid(), the faults placed."""
    if weekdays is not None and weekdays >= ALL_WEEKDAYS:
        weekdays = None
    if end_of_month and day is None:
        end_of_month = False
    if year is not None:
        year = tuple((_full_year(a), _full_year(b), r, col) for a, b, r, col in year)
    chains = {}
    for name, chain in (("year", year), ("month", month), ("day", day), ("hour", hour),
                        ("minute", minute), ("second", second)):
        if chain is None:
            chains[name] = None
            continue
        trimmed = sorted({_trimmed(a, b, r): col for a, b, r, col in reversed(chain)}.items())
        _check_chain(reader, name, trimmed, end_of_month and name == "day")
        chains[name] = tuple(item for item, _ in trimmed)
    return _spec(text, weekdays, end_of_month=end_of_month, zone=zone, **chains)


def _trimmed(start, stop, repeat):
    """systemd's normalize_chain() of one item: a range ends on its last repetition
    (``1..10/4`` is ``1..9/4``), and one that holds a single value is that value
    (``21..22/5`` is ``21``)."""
    if stop > start and repeat > 0:
        stop -= (stop - start) % repeat
    if (stop > start and repeat > 0 and start + repeat > stop) or start == stop:
        return start, -1, 0
    return start, stop, repeat


def _spec(text, weekdays, year, month, day, hour, minute, second, end_of_month, zone):
    return CalendarSpec(text, weekdays, year, month, day, hour, minute, second, end_of_month,
                        zone)


def _full_year(value):
    """12 -> 2012, 89 -> 1989 (systemd's fix_year)."""
    if 0 <= value < 70:
        return value + 2000
    if 70 <= value < 100:
        return value + 1900
    return value


def _check_chain(reader, name, chain, end_of_month):
    low, high = _BOUNDS[name]
    scale = USEC_PER_SEC if name == "second" else 1
    what = "the %s" % name if not end_of_month else "the day counted from the month's end"

    def shown(value):
        return ("%d" % (value // scale) if value % scale == 0
                else "%d.%06d" % (value // scale, value % scale))

    for (start, stop, repeat), column in chain:
        place = column - 1
        if end_of_month:
            # systemd: no more than 28 days back from the end of a month — and its
            # chain_valid() takes 3 off again for each item after the first, in sorted
            # order (~1,28 and ~7,16,23 are refused, ~16,23 is not): kept, so that what
            # one accepts the other does
            high -= 3
        if not low <= start <= high:
            reader.fail("%s %s is not within %s..%s" % (what, shown(start), shown(low),
                                                        shown(high)), place)
        if repeat > high - low:
            reader.fail("the repetition /%s is longer than %s's whole range"
                        % (shown(repeat), name), place)
        if stop >= 0:
            if not low <= stop <= high:
                reader.fail("%s %s is not within %s..%s" % (what, shown(stop), shown(low),
                                                            shown(high)), place)
            if start + repeat > stop:
                reader.fail("the range %s..%s is empty or backwards" % (shown(start),
                                                                       shown(stop)), place)
        elif end_of_month and start - repeat < low:
            reader.fail("the repetition /%s runs past the month's start" % shown(repeat),
                        place)
        elif not end_of_month and start + repeat > high:
            reader.fail("%s/%s never repeats within %s..%s (systemd refuses it)"
                        % (shown(start), shown(repeat), shown(low), shown(high)), place)


def _format_weekdays(bits):
    parts, run_start = [], -1
    for day in range(8):
        if day < 7 and bits & (1 << day):
            if run_start < 0:
                run_start = day
            continue
        if run_start >= 0:
            last = day - 1
            if last == run_start:
                parts.append(WEEKDAY_NAMES[run_start])
            elif last == run_start + 1:
                parts.append(WEEKDAY_NAMES[run_start] + "," + WEEKDAY_NAMES[last])
            else:
                parts.append(WEEKDAY_NAMES[run_start] + ".." + WEEKDAY_NAMES[last])
            run_start = -1
    return ",".join(parts)


def _format_chain(chain, width, usec=False):
    """systemd's format_chain(): ``*``, ``05``, ``01..05``, ``00/15``, ``01.500000``."""
    unit = USEC_PER_SEC if usec else 1
    if chain is None or (usec and chain == ((0, -1, USEC_PER_SEC),)):
        return "*"
    items = []
    for start, stop, repeat in chain:
        text = "%0*d" % (width, start // unit)
        if start % unit:
            text += ".%06d" % (start % unit)
        if stop > 0:
            text += "..%0*d" % (width, stop // unit)
            if stop % unit:
                text += ".%06d" % (stop % unit)
        if repeat > 0 and not (stop > 0 and repeat == unit):
            text += "/%d" % (repeat // unit)
        if repeat % unit:
            text += ".%06d" % (repeat % unit)
        items.append(text)
    return ",".join(items)
