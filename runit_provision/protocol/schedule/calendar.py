"""systemd's calendar expressions (``OnCalendar=``, systemd.time(7)): parsed, validated, and
their next elapse computed as systemd 252 computes it; pure, standard library only.

The protocol room holds it because a timer's ``run`` (the runtime, which imports only the
standard library and ``protocol/``) and the schema (which validates ``schedule:``) both read
it: one reading of a schedule, never two. Cron's five fields are ``crontab.py``'s; the one
entry point for a ``schedule:`` string, which tells them apart, is ``schedule.py``.

The grammar and every form: docs/schedule.md. ::

    >>> str(parse_calendar("Mon..Fri *-*-* 02:30"))
    'Mon..Fri *-*-* 02:30:00'
    >>> str(parse_calendar("*:0/15"))
    '*-*-* *:00/15:00'
    >>> parse_calendar("*-*-* 25:00")
    Traceback (most recent call last):
    ...
    runit_provision.protocol.schedule.calendar.ScheduleError: column 7: the hour 25 is not within 0..23

Each component is a chain of ``(start, stop, repeat)`` (``1..20/3`` is ``(1, 20, 3)``, a
missing chain is ``*``); seconds are kept in microseconds. The next elapse follows systemd's
``find_next()``: fields set from the year down, each step normalised as glibc's ``mktime()``
does (``timeclock`` runs its algorithm over ``zoneinfo``, its memory of the last offset
included), so a DST change, a time in a gap or a repeated hour comes out as under systemd; the
few places where systemd's answer is not after the moment asked about, and its one failure
kept (``next_elapse`` raises), are docs/schedule.md#where-it-differs-from-systemd.
"""

from ... import errors

USEC_PER_SEC = 1000000
MIN_YEAR, MAX_YEAR = 1970, 2199
ALL_WEEKDAYS = 127
CHAIN_MAX = 240                 # systemd's CALENDARSPEC_COMPONENTS_MAX
MAX_ITERATIONS = 1000           # systemd's MAX_CALENDAR_ITERATIONS: a safety valve
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


class ScheduleError(errors.ProvisionError, ValueError):
    """A schedule string that cannot be read: ``message`` and the 1-based ``column`` within
    the string where the fault is (the schema adds it to the string's own file:line:col)."""

    def __init__(self, message, column):
        super().__init__("column %d: %s" % (column, message))
        self.message, self.column = message, column


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
        host's, ``local_zone()``)."""
        return self._next(after_usec, timeclock(self.zone, local_zone))

    def _next_from(self, after_usec, clock):
        usec = after_usec + 1
        start = list(clock.localtime(usec // USEC_PER_SEC)[:7])  # with its isdst
        found = _find_next(self, clock, start, usec % USEC_PER_SEC)
        if found is None:
            return None
        fields, frac = found
        made = clock.mktime(fields)
        if made is None:
            raise ScheduleError("%s: mktime() found no instant for %s (systemd fails there "
                                "too)" % (self, _format_fields(fields)), 1)
        elapse = made[0] * USEC_PER_SEC + frac
        if elapse <= after_usec:
            elapse = _second_pass(clock, fields, frac, after_usec)
        return elapse

    def elapses(self, after_usec, count, local_zone=None):
        """The next ``count`` elapses (fewer if it stops elapsing), each after the one
        before, as ``systemd-analyze calendar --iterations=COUNT`` lists them."""
        clock = timeclock(self.zone, local_zone)
        return successive(lambda after: self._next(after, clock), after_usec, count)

    def _next(self, after_usec, clock):
        if self.zone not in (None, "UTC"):
            # systemd computes an expression of its own zone in a forked child, which
            # starts from its parent's mktime() state every time: a new one each time
            clock.guess = 0
        return self._next_from(after_usec, clock)


def successive(next_after, after_usec, count):
    """Up to ``count`` values of ``next_after``, each from the one before (None ends)."""
    found = []
    while len(found) < count:
        after_usec = next_after(after_usec)
        if after_usec is None:
            break
        found.append(after_usec)
    return found


# --- the time zones: glibc's mktime()/localtime() over zoneinfo ---------------------------

_DAYS_BEFORE_MONTH = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


def _days_from_civil(year, month0, day):
    """Days since 1970-01-01 of a date whose month (0-based) and day may be out of range,
    carried as ``timegm()`` carries them (month 12 is January of the next year, day 0 the
    last of the month before)."""
    year += month0 // 12
    month0 %= 12
    y = year - 1
    days = y * 365 + y // 4 - y // 100 + y // 400 - 719162  # days before year's Jan 1
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return days + _DAYS_BEFORE_MONTH[month0] + (leap and month0 > 1) + day - 1


def _civil_from_days(days):
    """(year, month0, day) of the day ``days`` after 1970-01-01 — ``gmtime()``'s date, by
    the days of each 400-year era (H. Hinnant's ``civil_from_days``): no ``datetime``, whose
    import is a quarter of a MB of the tree's for a timer of a UTC host.

    >>> [_civil_from_days(d) for d in (-1, 0, 59, 11016, 19417)]
    [(1969, 11, 31), (1970, 0, 1), (1970, 2, 1), (2000, 1, 29), (2023, 2, 1)]
    """
    days += 719468                      # from 0000-03-01
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524
                   - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_from_march = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_from_march + 2) // 5 + 1
    month0 = month_from_march + 2 if month_from_march < 10 else month_from_march - 10
    return year_of_era + era * 400 + (month0 < 2), month0, day


def _wall_seconds(fields):
    year, month0, day, hour, minute, second = fields
    return (_days_from_civil(year, month0, day) * 86400 + hour * 3600 + minute * 60
            + second)


class timeclock:
    """``mktime()`` and ``localtime()`` in one zone (None or "UTC": ``timegm``/``gmtime``).

    Fields are ``[year, month0, mday, hour, minute, second, isdst]`` (``struct tm``'s, the
    year in full, isdst -1, 0 or 1); ``mktime`` returns the epoch second and ``localtime``
    of it (the fields, then the weekday, Monday 0). One timeclock is one process's glibc:
    its ``guess`` is what the last ``mktime`` left.
    """

    def __init__(self, zone, local_zone=None):
        self._known, self._local, self._made = {}, {}, {}
        self.guess = 0      # glibc's localtime_offset: the offset its last mktime() used
        if zone == "UTC":
            self.tz = None
        elif zone is not None:
            self.tz = zone_named(zone)
        else:
            self.tz = local_zone if local_zone is not None else host_zone()
        if self.tz is not None:
            import datetime
            self._datetime = datetime.datetime

    def localtime(self, t):
        """localtime(): ``(year, month0, mday, hour, minute, second, isdst, weekday)``."""
        if self.tz is None:
            days, second = divmod(t, 86400)
            year, month0, day = _civil_from_days(days)
            return (year, month0, day, second // 3600, second // 60 % 60, second % 60, 0,
                    (days + 3) % 7)  # 1970-01-01 was a Thursday
        known = self._local.get(t)
        if known is None:
            if len(self._local) > 4096:
                self._local.clear()
            d = self._datetime.fromtimestamp(t, self.tz)
            known = self._local[t] = (d.year, d.month - 1, d.day, d.hour, d.minute, d.second,
                                      int(bool(d.dst())), d.weekday())
        return known

    def mktime(self, fields):
        """mktime() of ``[year, month0, mday, hour, minute, second, isdst]``: (the epoch
        second, localtime() of it), or None where glibc's fails (EOVERFLOW: its probes
        ran out, across a change of three hours)."""
        if self.tz is None:
            t = _wall_seconds(fields[:6])
            return t, self.localtime(t)
        # a function of the fields and the guess alone: find_next asks the same again and
        # again (each unit's bounds check of one round)
        key = (tuple(fields[:7]), self.guess)
        known = self._made.get(key)
        if known is None:
            if len(self._made) > 4096:
                self._made.clear()
            t = self._glibc_mktime(_wall_seconds(fields[:6]), fields[6])
            known = self._made[key] = (t, self.guess)
        t, self.guess = known
        return None if t is None else (t, self.localtime(t))

    def offset(self, t):
        """The zone's UTC offset at instant ``t``, in seconds."""
        return 0 if self.tz is None else self._convert(t)[0] - t

    def _convert(self, t):
        """(wall seconds, isdst) of instant ``t`` in the zone."""
        known = self._known.get(t)
        if known is None:
            if len(self._known) > 4096:     # find_next converts the same few again and again
                self._known.clear()
            d = self._datetime.fromtimestamp(t, self.tz)
            known = self._known[t] = (t + int(d.utcoffset().total_seconds()),
                                      int(bool(d.dst())))
        return known

    def _glibc_mktime(self, wall, isdst):
        """The instant glibc 2.36's mktime() (__mktime_internal) gives a local wall time,
        step by step: start from the offset of the last call (``self.guess``, 0 in a new
        process — so a repeated hour's time is the instance of the offset last used, and
        a time in a spring-forward gap resolves by the order glibc's probes oscillate in),
        correct by the error until the wall time matches — or, oscillating across a gap,
        take the probe of summer time when isdst is -1 (either when both sides are of one
        kind: Casey's three hours of standard time), of the other kind when it is given —
        or fail after six probes; a requested isdst of the other
        kind takes the offset of the nearest time of that kind, probed a week at a time
        both ways, or one hour off when none is within the bound."""
        t0 = wall - self.guess
        t = t1 = t2 = t0
        dst2 = 0
        probes = 6
        while True:
            local, dst = self._convert(t)
            dt = wall - local
            if dt == 0:
                break
            if t == t1 and t != t2 and (dst2 <= dst if isdst < 0 else (isdst != 0) != dst):
                self.guess = wall - t    # oscillating across a gap: this one
                return t
            probes -= 1
            if probes == 0:
                return None     # the guess is left as it was
            t1, t2, t, dst2 = t2, t, t + dt, dst
        if isdst >= 0 and (isdst != 0) != (dst != 0):
            t = self._other_kind(t, wall, isdst, dst)
        self.guess = wall - t
        return t

    def _other_kind(self, t, wall, isdst, dst):
        for delta in range(601200, 457243200 // 2 + 601200, 601200):
            for probe in (t - delta, t + delta):
                local, probe_dst = self._convert(probe)
                if (probe_dst != 0) == (isdst != 0):
                    return wall - (local - probe)
        return t + 3600 * ((isdst == 0) - (dst == 0))


def zone_named(name):
    """The tz database's zone ``name`` (zoneinfo), or None when there is no such zone.
    zoneinfo is imported only for a word that may be a zone's name (every name has a
    letter): a schedule whose last word is a time (``*-*-* *:*:00``) is told from one that
    names a zone without it."""
    if not name or name.startswith("/") or not any(c.isalpha() for c in name) \
            or not all(c.isalnum() or c in "/-_+" for c in name):
        return None
    import zoneinfo
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


LOCALTIME = "/etc/localtime"  # the C library's (tzset(3)): the host's zone without $TZ
TZIF_UTC_MAX = 512  # bytes: a TZif file of UTC is ~114 (a zone with DST, kilobytes)


def host_zone():
    """The host's local zone, as the C library finds it: ``$TZ`` (a name, with or without
    the leading ``:``), else ``/etc/localtime``, else UTC (None). A ``/etc/localtime`` that is
    UTC at every instant (``is_utc_tzif``) is UTC too: zoneinfo (with sysconfig and datetime,
    a share of a tree's memory) is not loaded for it."""
    import os
    name = os.environ.get("TZ")
    if name:
        zone = zone_named(name.lstrip(":"))
        if zone is not None:
            return zone
    try:
        with open(LOCALTIME, "rb") as file:
            if is_utc_tzif(file.read(TZIF_UTC_MAX + 1)):
                return None
            import zoneinfo
            file.seek(0)
            return zoneinfo.ZoneInfo.from_file(file, key="localtime")
    except (OSError, ValueError):
        return None


def is_utc_tzif(data):
    """Whether ``data``, a TZif file (tzfile(5)), says UTC at every instant: each of its
    blocks (the 32-bit one, and the 64-bit one of version 2 on) has no transition, no leap
    second, one local time type of offset 0 that is not DST, and its footer (version 2 on),
    the POSIX TZ string for the times after the last transition, is empty or a name and an
    offset of 0 without a DST part (``UTC0``, ``<+00>0``). Anything else — another zone, a
    file cut short, not TZif — is False: zoneinfo reads it.

    >>> utc = open("/usr/share/zoneinfo/Etc/UTC", "rb").read()
    >>> is_utc_tzif(utc), is_utc_tzif(open("/usr/share/zoneinfo/Europe/Berlin", "rb").read())
    (True, False)
    >>> is_utc_tzif(utc.replace(b"UTC0", b"UTC0UTC,M3.5.0,M10.5.0")), is_utc_tzif(utc[:60])
    (False, False)
    >>> is_utc_tzif(open("/usr/share/zoneinfo/Etc/GMT-1", "rb").read())  # one type, +1 h
    False
    """
    if len(data) > TZIF_UTC_MAX or data[:4] != b"TZif":
        return False
    has_footer = data[4:5] >= b"2"   # version 2 on: a 64-bit block, then the footer
    start = 0
    for _ in range(2 if has_footer else 1):
        if len(data) < start + 50:
            return False
        is_ut, is_std, leaps, transitions, types, chars = (
            int.from_bytes(data[at:at + 4], "big") for at in range(start + 20, start + 44, 4))
        kind = data[start + 44:start + 50]  # the one ttinfo: utoff (4), isdst, desigidx
        if (leaps, transitions, types) != (0, 0, 1) or kind[:5] != bytes(5):
            return False
        start += 44 + 6 + chars + is_std + is_ut  # no times, no leap seconds: sized alike
    if not has_footer:
        return start == len(data)
    footer = data[start:]
    if footer[:1] != b"\n" or footer[-1:] != b"\n" or len(footer) < 2:
        return False
    rule = footer[1:-1]
    if not rule:
        return True
    if rule[:1] == b"<":
        name_end = rule.find(b">") + 1
        if name_end == 0:
            return False
    else:
        name_end = 0
        while name_end < len(rule) and rule[name_end:name_end + 1].isalpha():
            name_end += 1
        if name_end < 3:
            return False
    return rule[name_end:] in (b"0", b"+0", b"-0")


# --- parsing --------------------------------------------------------------------------------

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


# --- the next elapse: systemd's find_next() ---------------------------------------------------

def _end_of_month_day(clock, fields, back):
    """The day ``back`` days before the month's end, counting its last day as 1 (-1 when
    there is no such day in this month)."""
    year, month0 = fields[0], fields[1]
    made = clock.mktime([year, month0 + 1, 1 - back] + list(fields[3:7]))
    if made is None:
        return -1
    normal = made[1]
    return normal[2] if normal[1] == month0 % 12 and normal[0] == year + month0 // 12 \
        else -1


def _matching(spec, chain, fields, value, is_day=False, clock=None):
    """(changed, value): the earliest value of ``chain`` at or after ``value``; (None, _)
    when none is."""
    if chain is None:
        return False, value
    best = None
    for start, stop, repeat in chain:
        if is_day and spec.end_of_month:
            start = _end_of_month_day(clock, fields, start)
            stop = _end_of_month_day(clock, fields, stop)
            if stop > 0:
                start, stop = stop, start
        if start >= value:
            if best is None or start < best:
                best = start
        elif repeat > 0:
            k = start + repeat * -(-(value - start) // repeat)
            if (best is None or k < best) and (stop < 0 or k <= stop):
                best = k
    if best is None:
        return None, value
    return best != value, best


def _within_bounds(clock, fields):
    """systemd's tm_within_bounds(): 1 when ``fields`` is a real local time, 0 when it was
    carried forward (``fields`` becomes the carried time, its smaller units reset), -1 when
    past MAX_YEAR or carried backwards."""
    if fields[0] > MAX_YEAR:
        return -1
    made = clock.mktime(fields)
    if made is None:
        return -1
    normal = list(made[1][:7])   # taken whole, isdst too
    for unit in range(6):
        if normal[unit] != fields[unit]:
            if unit < 5:
                normal[unit + 1] = (0, 1, 0, 0, 0)[unit]
            if normal[unit] < fields[unit]:
                return -1
            fields[:] = normal
            return 0
    return 1


def _on_weekday(spec, clock, fields):
    """systemd's matches_weekday(): a failed mktime() matches no day."""
    made = clock.mktime(fields)
    return made is not None and spec.weekdays >> made[1][7] & 1


def _second_pass(clock, fields, frac, after_usec):
    """The instant of the local time ``fields`` after ``after_usec``, where mktime() gave one
    at or before it: an hour repeated by a change between two offsets of the same isdst
    (Ciudad Juarez's 00:00 -06 back to 23:00 -07 on 2022-11-30) has two instants for each of
    its times, and glibc picks by the offset it used last — systemd then names the first
    pass's while asked from the second. The time found is not before the one asked from,
    so its instant after it is the one at the offset of the moment asked from."""
    wall = _wall_seconds(fields[:6])
    t = wall - clock.offset(after_usec // USEC_PER_SEC + 1)
    if list(clock.localtime(t)[:6]) == list(fields[:6]) and t * USEC_PER_SEC + frac > after_usec:
        return t * USEC_PER_SEC + frac
    raise ScheduleError("no instant of %s after the moment asked from"
                        % _format_fields(fields), 1)


def _format_fields(fields):
    return "%04d-%02d-%02d %02d:%02d:%02d" % (fields[0], fields[1] + 1, *fields[2:6])


def _reset(fields, unit):
    """Every field below ``unit`` to its first value (month 0, day 1, the rest 0)."""
    for lower in range(unit + 1, 6):
        fields[lower] = 1 if lower == 2 else 0


def _find_next(spec, clock, fields, usec):
    """systemd's find_next(): the year, then month, day (and weekday), hour, minute and
    second set in turn, each to the earliest match at or after it; a unit with none left
    moves the unit above on, and a time carried by mktime() starts the round again.

    A match earlier than the start is not taken: the hour moves on and the isdst that
    mktime() gives is kept from then on (systemd 252.39's find_next, Debian 12's). That
    happens where a time is carried into a change that skips local time: 23:60 before a
    midnight change is 00:00 of the next day with summer's isdst, which glibc reads back
    as 23:00 of the day before — an hour before the start."""
    start, start_usec = fields[:6], usec
    keep_isdst = False
    for _ in range(MAX_ITERATIONS):
        # normalised with the isdst it has — the local time's, or that of a time carried
        # by _within_bounds (whose smaller units were reset: glibc then reads the result
        # with that isdst, as systemd does) — and then -1, as find_next() sets it, unless
        # a match before the start was refused (then mktime()'s own)
        made = clock.mktime(fields)   # a failed mktime() leaves the fields as they were
        normal = fields if made is None else made[1]
        fields = list(normal[:6]) + [normal[6] if keep_isdst else -1]
        changed, fields[0] = _matching(spec, spec.year, fields, fields[0])
        if changed is None:
            return None
        if changed:
            _reset(fields, 0)
            usec = 0
        if _within_bounds(clock, fields) <= 0:
            return None
        for unit, chain in ((1, spec.month), (2, spec.day), (3, spec.hour), (4, spec.minute),
                            (5, spec.second)):
            if unit == 3 and spec.weekdays is not None and not _on_weekday(spec, clock, fields):
                fields[2] += 1
                _reset(fields, 2)
                usec = 0
                break
            if unit == 5:   # the seconds' chain is in microseconds
                changed, total = _matching(spec, chain, fields,
                                           fields[5] * USEC_PER_SEC + usec)
                fields[5], usec = divmod(total, USEC_PER_SEC)
            else:           # tm_mon counts from 0, the month chain from 1
                changed, value = _matching(spec, chain, fields, fields[unit] + (unit == 1),
                                           unit == 2, clock)
                fields[unit] = value - (unit == 1)
                if changed:
                    _reset(fields, unit)
                    usec = 0
            bounds = None if changed is None else _within_bounds(clock, fields)
            if bounds is None or bounds < 0:
                fields[unit - 1] += 1
                _reset(fields, unit - 1)
                usec = 0
            if bounds != 1:
                break
        else:
            if (fields[:6], usec) >= (start, start_usec):
                return fields, usec
            fields[3] += 1      # before the start: an hour on, minutes kept, as systemd
            keep_isdst = True
    raise ScheduleError("%s: no elapse found within %d steps (systemd gives up there too)"
                        % (spec, MAX_ITERATIONS), 1)
