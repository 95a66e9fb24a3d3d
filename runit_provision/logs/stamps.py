"""logs: svlogd's line stamps — which kind a line has, and its time as one sortable number.

svlogd prefixes a line with one of three stamps and a space, each 25 characters wide::

    @400000006553f10a3ade6964 line     -t    TAI64N: "@" + 24 hex digits (runit's label)
    2023-11-14_22:13:20.98765 line     -tt   UTC, 10 µs, "_" between date and time
    2023-11-14T22:13:20.98765 line     -ttt  the same, ISO 8601's "T"

or none (svlogd without ``-t``). A line's time is kept as a **key**: ``(TAI64 seconds << 32) |
nanoseconds`` — exactly what the 24 hex digits of a TAI64N stamp read as one number, so such a
line costs one ``int()``, and keys of every kind compare with each other. Pure; the tables that
make ``-tt`` lines cheap in bulk are built once, when a file that needs them is read.
"""

import calendar

from ..protocol.tai64 import TAI_OFFSET

TAI64N, HUMAN, ISO = "tai64n", "human", "iso"
KINDS = (TAI64N, HUMAN, ISO)
WIDTH = 25   # every stamp; the line's text starts after it and one space
_HEX = frozenset(b"0123456789abcdef")
_DIGITS = frozenset(b"0123456789")
_NS = 1_000_000_000


def kind_of(line):
    """The stamp ``line`` (bytes) starts with: TAI64N, HUMAN, ISO, or None.

    >>> kind_of(b"@400000006553f10a3ade6964 x"), kind_of(b"2023-11-14_22:13:20.98765 x")
    ('tai64n', 'human')
    >>> kind_of(b"2023-11-14T22:13:20.98765 x"), kind_of(b"hello"), kind_of(b"@4000 x")
    ('iso', None, None)
    """
    if len(line) <= WIDTH or line[WIDTH] != 32:
        return None
    if line[0] == 64:  # @
        return TAI64N if _HEX.issuperset(line[1:WIDTH]) else None
    if line[10] in (95, 84) and line[4] == line[7] == 45 and line[13] == line[16] == 58 \
            and line[19] == 46 and _DIGITS.issuperset(line[0:4] + line[5:7] + line[8:10]
                                                     + line[11:13] + line[14:16]
                                                     + line[17:19] + line[20:25]):
        return HUMAN if line[10] == 95 else ISO
    return None


def key_of(kind, line):
    """The key of a line stamped ``kind`` (None when it is not so stamped).

    >>> key_of(TAI64N, b"@400000006553f10a3ade6964 x") == key_of(
    ...     HUMAN, b"2023-11-14_22:13:20.98765 x") - 98765 * 10000 + 0x3ade6964
    True
    """
    if kind_of(line) != kind:
        return None
    if kind == TAI64N:
        return int(line[1:WIDTH], 16)
    return _human_key(line)


def _human_key(line):
    try:
        seconds = calendar.timegm((int(line[0:4]), int(line[5:7]), int(line[8:10]),
                                   int(line[11:13]), int(line[14:16]), int(line[17:19])))
    except ValueError:  # digits in place, but no date (a month 13)
        return None
    return ((seconds + TAI_OFFSET) << 32) | (int(line[20:25]) * 10000)


def key_from_ns(time_ns):
    """The key of a unix time in nanoseconds.

    >>> ns_from_key(key_from_ns(1_700_000_000_987_650_000))
    1700000000987650000
    """
    seconds, nanos = divmod(time_ns, _NS)
    return ((seconds + TAI_OFFSET) << 32) | nanos


def ns_from_key(key):
    """The unix time in nanoseconds of a key."""
    return ((key >> 32) - TAI_OFFSET) * _NS + (key & 0xFFFFFFFF)


def label_key(name):
    """The key of a rotated file's name (``@`` + 24 hex digits + ``.s``/``.u``), or None.

    >>> label_key("@400000006553f10a3ade6964.s") == int("400000006553f10a3ade6964", 16)
    True
    >>> label_key("current") is None
    True
    """
    if len(name) != 27 or name[0] != "@" or name[25] != "." or name[26] not in "su":
        return None
    try:
        return int(name[1:25], 16)
    except ValueError:
        return None


class BulkKeys:
    """Keys of many lines of one kind, fast: ``keys(lines)`` → a list (None for a line that is
    not so stamped). ``-tt`` and ``-ttt`` lines go through tables of days, seconds of the day
    and fractions, built on first use (a few tens of ms, worth it past a few thousand lines)."""

    def __init__(self, kind):
        self.kind = kind
        self._days = {}
        self._clock = None
        self._fractions = None

    def keys(self, lines):
        """The keys of ``lines``. In bulk a ``-tt`` line counts as stamped when a date, a
        clock time and five digits stand where a stamp has them (the separators between are
        not looked at)."""
        if self.kind == TAI64N:
            try:
                return [int(line[1:WIDTH], 16) for line in lines]
            except ValueError:
                return [key_of(TAI64N, line) for line in lines]
        if len(lines) < 2000:
            return [key_of(self.kind, line) for line in lines]
        if self._clock is None:
            self._build()
        days, clock, fractions = self._days.get, self._clock, self._fractions
        day = self._day
        try:  # one pass in C-speed steps; any line that is not a clean stamp: line by line
            return [(days(line[:10]) or day(line)) + clock[line[11:19]] + fractions[line[20:25]]
                    for line in lines]
        except (KeyError, TypeError):
            pass
        separator = 95 if self.kind == HUMAN else 84
        found = []
        for line in lines:
            if len(line) > WIDTH and line[10] == separator and line[19] == 46 \
                    and line[WIDTH] == 32 and line[11:19] in clock and line[20:25] in fractions \
                    and (days(line[:10]) or day(line)):
                found.append((days(line[:10]) or day(line)) + clock[line[11:19]]
                             + fractions[line[20:25]])
            else:
                found.append(None)
        return found

    def _day(self, line):
        """The key of the start of the line's day (None: not a date)."""
        day = line[:10]
        start = None
        if len(day) == 10 and day[4] == day[7] == 45 and _DIGITS.issuperset(
                day[0:4] + day[5:7] + day[8:10]):
            try:
                start = (calendar.timegm((int(day[0:4]), int(day[5:7]), int(day[8:10]),
                                          0, 0, 0)) + TAI_OFFSET) << 32
            except ValueError:
                start = None
        self._days[day] = start
        return start

    def _build(self):
        clock = {}
        for hour in range(24):
            for minute in range(60):
                prefix = b"%02d:%02d:" % (hour, minute)
                base = hour * 3600 + minute * 60
                for second in range(61):  # 60: a leap second, as gmtime would never show
                    clock[prefix + b"%02d" % second] = (base + second) << 32
        self._clock = clock
        self._fractions = {b"%05d" % value: value * 10000 for value in range(100000)}
