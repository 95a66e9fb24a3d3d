"""logs: svlogd's line stamps — which kind a line has, and its time as one sortable number.

svlogd prefixes a line with one of three stamps and a space, each 25 characters wide::

    @400000006553f10a3ade6964 line     -t    TAI64N: "@" + 24 hex digits (runit's label)
    2023-11-14_22:13:20.98765 line     -tt   UTC, 10 µs, "_" between date and time
    2023-11-14T22:13:20.98765 line     -ttt  the same, ISO 8601's "T"

or none (svlogd without ``-t``). A line's time is kept as a **key**: ``(TAI64 seconds << 32) |
nanoseconds`` — exactly what the 24 hex digits of a TAI64N stamp read as one number, so such a
line costs one ``int()``, and keys of every kind compare with each other. Pure.
"""

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
        seconds = unix_seconds(int(line[0:4]), int(line[5:7]), int(line[8:10]),
                               int(line[11:13]), int(line[14:16]), int(line[17:19]))
    except ValueError:  # digits in place, but no date (a month 13)
        return None
    return ((seconds + TAI_OFFSET) << 32) | (int(line[20:25]) * 10000)


def unix_seconds(year, month, day, hour, minute, second):
    """``calendar.timegm`` of a UTC date and time, as arithmetic: calendar imports datetime,
    a tenth of a small view's start. The same numbers and the same refusals — ValueError for
    a month outside 1–12 or a year outside 1–9999; a day, hour, minute or second past its
    range counts on, as timegm's does (a second 60, a leap second, is the next minute's 0).

    >>> unix_seconds(2023, 11, 14, 22, 13, 20), unix_seconds(1970, 1, 1, 0, 0, 0)
    (1700000000, 0)
    >>> unix_seconds(2024, 3, 0, 23, 59, 60) == unix_seconds(2024, 3, 1, 0, 0, 0)  # 02-29 +1 s
    True
    >>> unix_seconds(2023, 13, 1, 0, 0, 0)
    Traceback (most recent call last):
    ...
    ValueError: month 13 must be in 1..12
    """
    if not 1 <= month <= 12:
        raise ValueError("month %d must be in 1..12" % month)
    if not 1 <= year <= 9999:
        raise ValueError("year %d is out of range" % year)
    before = year - 1  # days before the year, from 0001-01-01 (datetime's ordinal 1)
    days = (before * 365 + before // 4 - before // 100 + before // 400
            + _DAYS_BEFORE_MONTH[month]
            + (month > 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0))
            + day - _EPOCH_DAY)
    return ((days * 24 + hour) * 60 + minute) * 60 + second


_DAYS_BEFORE_MONTH = (0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)
_EPOCH_DAY = 719163  # 1970-01-01 counted as above (datetime.date(1970, 1, 1).toordinal())


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
    """Keys of many lines of one kind, fast: ``keys(lines)`` → a list, equal to ``key_of``'s
    line by line (None for a line that is not so stamped); ``all_keys(lines)``: the same in
    one pass when every line reads so, else None (what a log usually is: the caller then
    knows without looking that no line lacks its stamp).

    A ``-tt``/``-ttt`` line is read through small tables: the key of its minute (cached per
    ``YYYY-MM-DD_HH:MM``, a few thousand a week), its seconds and its fraction's digits —
    tables that stay in the processor's cache, where one of every time of day would not. The tables' entries carry the separators (``:SS``,
    ``.FF``, ``FFF `` with the space after the stamp), so a line they read is one ``kind_of``
    takes; any other goes through ``key_of``."""

    def __init__(self, kind):
        self.kind = kind
        self._minutes = {}
        # the tables of -tt/-ttt stamps, made once a process reads many such lines at once
        # (not for a -t log, nor for a tail's few lines: _FEW_LINES)
        self._tables = None

    def keys(self, lines):
        """The keys of ``lines``."""
        found = self.all_keys(lines)
        return found if found is not None else self.line_keys(lines)

    def line_keys(self, lines):
        """The keys of ``lines``, each read alone (``key_of``)."""
        return [key_of(self.kind, line) for line in lines]

    def all_keys(self, lines):
        """The keys of ``lines`` read in one pass, or None when one line does not read so
        (``keys`` then reads each alone). A ``-t`` line reads when the 24 characters after
        its first are hexadecimal digits (``int``'s reading) and every key's label is of
        1970–2106 (``4000000`` + 8 digits, as every label svlogd writes). ``int`` also reads
        ``0x``, ``_``, a sign or blanks, which ``kind_of`` refuses; each of those leaves fewer
        than 24 digits, so a key below that range, and the batch is read line by line.
        (Uppercase digits still read here, at their true time.)"""
        if self.kind == TAI64N:
            try:
                keys = [int(line[1:WIDTH], 16) for line in lines]
            except ValueError:
                return None
            if keys and not min(keys) >> 64 == _LABEL_TOP == max(keys) >> 64:
                return None
            return keys
        if len(lines) <= _FEW_LINES:  # a tail's: each read alone costs less than the tables
            keys = self.line_keys(lines)
            return None if None in keys else keys
        if self._tables is None:
            self._tables = _clock_tables()
        minutes, minute = self._minutes.get, self._minute
        seconds, cents, mills = self._tables
        try:  # one pass of small-table lookups; any line that is not a clean stamp: None
            return [(minutes(line[:16]) or minute(line)) + seconds[line[16:19]]
                    + cents[line[19:22]] + mills[line[22:26]] for line in lines]
        except (KeyError, TypeError):
            return None

    def stamped(self, lines):
        """Which of ``lines`` ``keys`` would read a key from, without reading them: None when
        all would (the common case, checked in C over the stamps joined), else a list.

        A stamp's shape is checked as one string (its digits turned to ``0``); the dates
        timegm refuses — a month outside 1–12, the year 0 — by columns of the joined stamps,
        as bits of big integers."""
        from operator import itemgetter  # here: a view that shows times never asks

        stamps = b"".join(map(itemgetter(slice(0, _STAMPED)), lines))
        if len(stamps) == _STAMPED * len(lines):
            if self.kind == TAI64N:
                if stamps.translate(_HEX_TO_ZERO) == _TAI64N_SHAPE * len(lines):
                    return None
            elif stamps.translate(_DIGIT_TO_ZERO) == _SHAPES[self.kind] * len(lines) \
                    and _dates_are_real(stamps):
                return None
        return [key_of(self.kind, line) is not None for line in lines]

    def _minute(self, line):
        """The key of the start of the line's minute (None: not a date and time of day)."""
        prefix = line[:16]
        found = None
        if _is_minute(prefix, 95 if self.kind == HUMAN else 84):
            try:
                found = (unix_seconds(int(prefix[0:4]), int(prefix[5:7]), int(prefix[8:10]),
                                      int(prefix[11:13]), int(prefix[14:16]), 0)
                         + TAI_OFFSET) << 32
            except ValueError:  # digits in place, but no date (a month 13)
                found = None
        if len(self._minutes) >= 100_000:  # a bound on what a file of garbage can grow
            self._minutes.clear()
        self._minutes[prefix] = found
        return found


def _dates_are_real(stamps):
    """No joined ``-tt``/``-ttt`` stamp has a month outside 1–12 or the year 0."""
    def column(offset, table):  # one bit per stamp: 1 where the table says so
        return int.from_bytes(stamps[offset::_STAMPED].translate(table), "big")
    if stamps[5::_STAMPED].translate(None, b"01"):
        return False  # a month's tens digit past 1
    if column(5, _IS_ZERO) & column(6, _IS_ZERO):
        return False  # month 00
    if column(5, _IS_ONE) & column(6, _PAST_TWO):
        return False  # month 13 to 19
    return not (column(0, _IS_ZERO) & column(1, _IS_ZERO) & column(2, _IS_ZERO)
                & column(3, _IS_ZERO))


def _flags(chosen):
    """A translation table: 1 for the bytes in ``chosen``, 0 for the others (made at import,
    in every view's start: one store a chosen byte, not a test for each of the 256;
    bench/RESULTS.md row 70)."""
    table = bytearray(256)
    for value in chosen:
        table[value] = 1
    return bytes(table)


_STAMPED = WIDTH + 1  # a stamp and its space
_LABEL_TOP = 0x40000000  # a key's top 32 bits from 1970 to 2106: TAI_OFFSET's, then 0 seconds
_HEX_TO_ZERO = bytes.maketrans(b"123456789abcdef", b"0" * 15)
_DIGIT_TO_ZERO = bytes.maketrans(b"123456789", b"0" * 9)
_TAI64N_SHAPE = b"@" + b"0" * 24 + b" "
_SHAPES = {HUMAN: b"0000-00-00_00:00:00.00000 ", ISO: b"0000-00-00T00:00:00.00000 "}
_IS_ZERO, _IS_ONE, _PAST_TWO = _flags(b"0"), _flags(b"1"), _flags(b"3456789")


def _is_minute(prefix, separator):
    """``YYYY-MM-DD_HH:MM`` (``T`` for ``-ttt``): the digits and separators of a stamp's
    minute, as ``kind_of`` checks them."""
    return len(prefix) == 16 and prefix[10] == separator and prefix[4] == prefix[7] == 45 \
        and prefix[13] == 58 and _DIGITS.issuperset(prefix[0:4] + prefix[5:7] + prefix[8:10]
                                                   + prefix[11:13] + prefix[14:16])


_CLOCK_TABLES = []
# Up to this many -tt/-ttt lines are keyed one by one (key_of) rather than through the clock
# tables, whose making costs more than a few lines do: `logs -n 10` and the lines
# `status` shows under a service read a few dozen lines of a log.
_FEW_LINES = 64


def _clock_tables():
    """``(seconds, cents, mills)``: the key of a stamp's ``:SS`` (as timegm's: 61 is +61 s),
    ``.FF`` and ``FFF `` — made on first use, a cost a view of a -t log never needs."""
    if not _CLOCK_TABLES:
        _CLOCK_TABLES.append(({b":%02d" % value: value << 32 for value in range(100)},
                              {b".%02d" % value: value * 10_000_000 for value in range(100)},
                              {b"%03d " % value: value * 10_000 for value in range(1000)}))
    return _CLOCK_TABLES[0]
