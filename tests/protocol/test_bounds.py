"""The bounds every number of a record another account writes is read within
(protocol/bounds.py), at their edges: a number's text of ``DIGITS_MAX`` characters and one
more, the last second of 9999, 0 as "none", a ``-`` only where a number may be negative,
and what a reason quotes of a bad value."""

import pytest

from runit_provision.protocol.bounds import (DIGITS_MAX, NS, QUOTED_MAX, TIME_S_MAX,
                                             Unreadable, fields_of, moment_ns, moment_of_ns,
                                             needed, printable, quoted, seconds, whole)


def test_a_numbers_text_is_read_up_to_its_limit_and_not_a_character_more():
    assert whole(b"0" * (DIGITS_MAX - 1) + b"7", "starts") == 7
    assert seconds(b"1." + b"0" * (DIGITS_MAX - 2), "delay", 60) == 1.0
    fraction = b"0" * (DIGITS_MAX - 11)
    assert moment_ns(b"1764155001." + fraction, "ended") == 1764155001 * NS
    for read, text in ((lambda text: whole(text, "starts"), b"0" * DIGITS_MAX + b"7"),
                       (lambda text: seconds(text, "delay", 60), b"1." + b"0" * DIGITS_MAX),
                       (lambda text: moment_ns(text, "ended"), b"1764155001.0" + fraction)):
        with pytest.raises(Unreadable):
            read(text)


def test_a_minus_only_where_the_range_goes_below_zero():
    assert whole(b"-1", "exit", -1, 255) == -1
    with pytest.raises(Unreadable, match=r"^pid=-0 is not a number within 0\.\.10$"):
        whole(b"-0", "pid", 0, 10)


def test_a_moment_from_none_to_the_last_second_of_9999():
    assert moment_ns(b"%d" % TIME_S_MAX, "ended") == TIME_S_MAX * NS
    assert moment_of_ns(b"0", "started") == 0  # a record's "none"
    with pytest.raises(Unreadable, match=r"^started=soon is not a time within 1970\.\.9999$"):
        moment_of_ns(b"soon", "started")


def test_a_reason_quotes_a_bad_value_printable_and_cut():
    assert printable("x" * 4, 4) == "xxxx"
    assert printable("x" * 201) == "x" * 200 + "…"
    assert printable("x" * 200) == "x" * 200
    long_name, long_value = "n" * (QUOTED_MAX + 5), b"v" * (QUOTED_MAX + 5)
    assert quoted(long_name, long_value) == "n" * QUOTED_MAX + "…=" + "v" * QUOTED_MAX + "…"


def test_seconds_up_to_their_bound_and_the_bound_said_as_written():
    assert seconds(b"60", "delay", 60) == 60.0
    with pytest.raises(Unreadable, match=r"^delay=0\.75 is not a number of seconds within "
                                         r"0\.\.0\.5$"):
        seconds(b"0.75", "delay", 0.5)
    with pytest.raises(Unreadable, match=r"within 0\.\.1000000$"):  # not 1e+06
        seconds(b"2e6", "delay", 1_000_000)


def test_a_records_words_split_at_their_first_equals_sign():
    assert fields_of([b"why=a=b", b"pid=4"], "tally") == {b"why": b"a=b", b"pid": b"4"}
    with pytest.raises(Unreadable) as refused:
        fields_of([b"x" * (QUOTED_MAX + 5)], "tally")
    assert str(refused.value) == "tally: %s… is not a NAME=VALUE word" % ("x" * QUOTED_MAX)


def test_a_missing_field_is_named():
    assert needed({b"max": b"9"}, b"max") == b"9"
    with pytest.raises(Unreadable) as refused:
        needed({}, b"max")
    assert str(refused.value) == "no max="
    with pytest.raises(Unreadable) as refused:
        needed({}, "m" * (QUOTED_MAX + 5))
    assert str(refused.value) == "no %s…=" % ("m" * QUOTED_MAX)
