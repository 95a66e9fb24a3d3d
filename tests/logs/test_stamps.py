"""svlogd's stamps as keys, and journalctl's times — pure."""

import calendar
import itertools
import random
import time

import pytest

from runit_provision.logs.stamps import (
    HUMAN, ISO, TAI64N, BulkKeys, key_from_ns, key_of, kind_of, label_key, ns_from_key,
    unix_seconds)
from runit_provision.logs.timespec import TimeError, key_of_time

from .helpers import line


def fields_or_refusal(function, fields):
    try:
        return function(*fields)
    except ValueError:
        return "refused"


def test_unix_seconds_is_calendar_timegm_every_field_in_and_out_of_range():
    """What a -tt/-ttt stamp's digits can say: years 0000–9999, the other fields 00–99 —
    the same seconds as calendar.timegm (which the start-up no longer imports), and the
    same refusals (a month 00 or 13–99, the year 0)."""
    years = (0, 1, 2, 4, 99, 100, 400, 1600, 1900, 1969, 1970, 2000, 2023, 2024, 2100, 9999)
    chosen = list(itertools.product(years, range(100), (0, 1, 28, 29, 30, 31, 99),
                                    ((0, 0, 0), (23, 59, 60), (99, 99, 99))))
    picked = random.Random(31)
    chosen += [(picked.randrange(10000), picked.randrange(100), picked.randrange(100),
                (picked.randrange(100), picked.randrange(100), picked.randrange(100)))
               for _ in range(20000)]
    for year, month, day, clock in chosen:
        fields = (year, month, day) + clock
        assert fields_or_refusal(unix_seconds, fields) == \
            fields_or_refusal(lambda *parts: calendar.timegm(parts), fields), fields


@pytest.mark.parametrize("kind", [TAI64N, HUMAN, ISO])
def test_each_kind_reads_back_the_time_it_was_written_at(kind):
    seconds = 1_700_000_000.98765
    written = line(kind, seconds, "text").encode().rstrip(b"\n")
    assert kind_of(written) == kind
    assert abs(ns_from_key(key_of(kind, written)) - seconds * 1e9) < 10_000


def test_keys_of_every_kind_order_as_the_times_do():
    times = [1_700_000_000.5, 1_700_000_000.50001, 1_700_000_001.0, 1_800_000_000.25]
    for earlier, later in zip(times, times[1:]):
        for first in (TAI64N, HUMAN, ISO):
            for second in (TAI64N, HUMAN, ISO):
                a = key_of(first, line(first, earlier, "x").encode())
                b = key_of(second, line(second, later, "x").encode())
                assert a < b, (first, second, earlier, later)


@pytest.mark.parametrize("kind", [TAI64N, HUMAN, ISO])
def test_bulk_keys_equal_line_by_line_keys_bad_lines_included(kind):
    lines = [line(kind, 1_700_000_000 + index * 37.123, "l%d" % index).encode().rstrip(b"\n")
             for index in range(5000)]
    lines[10] = b"no stamp at all"
    lines[20] = b""
    lines[30] = lines[31][:25]  # a stamp and nothing after it, not even the space
    lines[40] = b"2023-13-40_25:61:61.00000 not a date"
    expected = [key_of(kind, item) for item in lines]
    assert [expected[index] for index in (10, 20, 30, 40)] == [None] * 4
    assert BulkKeys(kind).keys(lines) == expected


@pytest.mark.parametrize("kind", [HUMAN, ISO])
@pytest.mark.parametrize("count", [3000, 40])  # through the clock tables; a tail's few lines
def test_all_keys_reads_every_line_or_says_none(kind, count):
    """A leap second's 60 reads; a line without a stamp makes ``all_keys`` None, and
    ``keys`` then reads each line alone."""
    lines = [line(kind, 1_700_000_000 + index * 0.98761, "l%d" % index).encode().rstrip(b"\n")
             for index in range(count)]
    lines[7] = lines[7][:17] + b"60" + lines[7][19:]  # :60, as svlogd may write a leap second
    expected = [key_of(kind, item) for item in lines]
    keys = BulkKeys(kind)
    assert keys.all_keys(lines) == expected
    lines[20] = b"no stamp at all"
    expected[20] = None
    assert keys.all_keys(lines) is None and keys.keys(lines) == expected


def test_all_keys_is_none_for_a_tai64n_line_that_does_not_read():
    lines = [line(TAI64N, 1_700_000_000 + index, "x").encode().rstrip(b"\n")
             for index in range(10)]
    keys = BulkKeys(TAI64N)
    assert keys.all_keys(lines) == [key_of(TAI64N, item) for item in lines]
    lines[3] = b"@4000zzzz6553f10a3ade6964 not hex"
    assert keys.all_keys(lines) is None and keys.keys(lines)[3] is None


@pytest.mark.parametrize("stamp", [b"@0x4000000006553f10a3ade69", b"@40000000_06553f10a3ade69",
                                   b"@ 4000000006553f10a3ade69", b"@+4000000006553f10a3ade69"])
def test_all_keys_refuses_what_int_reads_but_kind_of_does_not(stamp):
    """``int`` reads ``0x``, ``_``, blanks and a sign; a stamp with one is no stamp."""
    lines = [line(TAI64N, 1_700_000_000 + index, "x").encode().rstrip(b"\n")
             for index in range(10)]
    lines[5] = stamp + b" text"
    keys = BulkKeys(TAI64N)
    assert keys.all_keys(lines) is None
    assert keys.keys(lines) == [key_of(TAI64N, item) for item in lines]
    assert keys.keys(lines)[5] is None


def test_rotated_names_give_their_keys():
    assert label_key("@400000006553f10a3ade6964.s") == 0x400000006553f10a3ade6964
    assert label_key("@400000006553f10a3ade6964.u") == 0x400000006553f10a3ade6964
    assert [label_key(name) for name in ("current", "@400000006553f10a3ade6964.t",
                                         "@400000006553f10a3ade696.s", "lock")] == [None] * 4


def test_times_as_journalctl_takes_them():
    now = 1_700_000_000 * 10**9
    assert key_of_time("-1h", now) == key_from_ns(now - 3600 * 10**9)
    assert key_of_time("-90s", now) == key_from_ns(now - 90 * 10**9)
    assert key_of_time("+2d", now) == key_from_ns(now + 2 * 86400 * 10**9)
    assert key_of_time("now", now) == key_from_ns(now)
    midnight = time.mktime(time.localtime(now // 10**9)[:3] + (0, 0, 0, 0, 0, -1))
    assert key_of_time("today", now) == key_from_ns(int(midnight) * 10**9)
    assert key_of_time("yesterday", now) == key_from_ns(int(midnight - 86400) * 10**9) \
        or time.daylight  # a day may be 23 or 25 hours long where clocks change
    exact = time.mktime((2023, 11, 14, 22, 13, 20, 0, 0, -1))
    assert key_of_time("2023-11-14 22:13:20.5") == key_from_ns(int(exact) * 10**9 + 5 * 10**8)
    assert key_of_time("2023-11-14T22:13:20") == key_from_ns(int(exact) * 10**9)
    assert key_of_time("2023-11-14") == key_from_ns(
        int(time.mktime((2023, 11, 14, 0, 0, 0, 0, 0, -1))) * 10**9)


@pytest.mark.parametrize("text", ["yesterdayish", "2023-11-14 25", "-1y", "@4000", "12"])
def test_a_time_that_is_not_one_says_what_is_accepted(text):
    with pytest.raises(TimeError, match="not a"):
        key_of_time(text)


@pytest.mark.parametrize("kind", [HUMAN, ISO])
def test_bulk_keys_read_each_separator_as_key_of_does(kind):
    good = line(kind, 1_700_000_000.5, "text").encode().rstrip(b"\n")
    lines = [good]
    for index in (4, 7, 10, 13, 16, 19, 25):  # each separator, and the space after the stamp
        lines.append(good[:index] + b"x" + good[index + 1:])
    lines += [good[:25], good[:17] + b"99" + good[19:], good[:5] + b"13" + good[7:]]
    lines += [good] * 3000  # past the size where bulk reading pays
    assert BulkKeys(kind).keys(lines) == [key_of(kind, item) for item in lines]


@pytest.mark.parametrize("kind", [TAI64N, HUMAN, ISO])
def test_which_lines_are_stamped_is_told_as_keys_would(kind):
    good = [line(kind, 1_700_000_000 + index * 37.123, "l%d" % index).encode().rstrip(b"\n")
            for index in range(300)]
    assert BulkKeys(kind).stamped(good) is None
    for bad in (b"no stamp at all", b"", good[3][:25], good[3][:24] + b"x" + good[3][25:],
                b"2023-13-14_22:13:20.98765 a month 13", b"2023-00-14_22:13:20.98765 x",
                b"0000-11-14_22:13:20.98765 the year 0", b"2023-20-14_22:13:20.98765 x",
                b"2023-11-14T22:13:20.98765 the other separator",
                b"2023-11-14_22:13:20.98765 the other separator",
                b"@400000006553f10a3ade696g x", b"@400000006553F10A3ADE6964 upper case"):
        lines = good[:150] + [bad] + good[150:]
        expected = [key_of(kind, item) is not None for item in lines]
        found = BulkKeys(kind).stamped(lines)
        assert (found or [True] * len(lines)) == expected, bad
        assert found is None or not all(found)  # None: every line is
