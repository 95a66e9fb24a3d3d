"""Issue 44 item 5: ``supervise/tally`` keeps when a side was last wanted down (``down=``), and
the deaths before it make no crash loop — for status's verdict, read from the tally and the
status (protocol/sidestate.SideState), and for the runtime's give-up policy alike. The file stays
what it was for a side never stopped, and a file with the field is read by a reader that does
not know it (the fields are ``key=value``, taken by name)."""

from runit_provision.protocol.tally import (
    CRASH_LOOP, Tally, tally_bytes, tally_from_bytes)

from ..sides import NOW, NS, made_side


def crash_loop(count, last=NOW - NS):
    """A tally of ``count`` deaths a second apart, the last at ``last``."""
    tally = Tally()
    for index in reversed(range(count)):
        tally.started(7)
        tally.died(1 << 8, last - index * NS, 20_000_000)
    return tally


def test_the_moment_it_was_wanted_down_is_written_only_once_there_is_one():
    tally = crash_loop(6)
    before = tally_bytes(tally)
    assert b" down=" not in before and tally_from_bytes(before).down_ns == 0
    tally.wanted_down(NOW - NS // 2)
    data = tally_bytes(tally)
    assert b" down=%d.500000000 " % (NOW // NS - 1) in data and len(data) == len(before)
    back = tally_from_bytes(data)
    assert back == tally and back.down_ns == NOW - NS // 2


def test_a_field_the_reader_does_not_know_is_skipped():
    """What a reader from before ``down=`` does with a tally that has it: reads the rest."""
    line = tally_bytes(crash_loop(2)).rstrip(b" \n")
    body = line.rpartition(b" crc=")[0] + b" later=1"
    from binascii import crc32

    found = tally_from_bytes(body + b" crc=%08x" % crc32(body))
    assert found == crash_loop(2)


def test_deaths_before_the_last_wanted_down_are_no_crash_loop():
    tally = crash_loop(6)
    assert tally.is_crash_looping(NOW) and tally.deaths_within(CRASH_LOOP[1], NOW) == 6
    tally.wanted_down(NOW - NS // 2)  # sv down after the sixth
    assert tally.deaths_within(CRASH_LOOP[1], NOW) == 0 and not tally.is_crash_looping(NOW)
    for index in range(4):  # sv up: four new deaths are four, not ten
        tally.died(1 << 8, NOW + index * NS, 20_000_000)
    assert tally.deaths_within(CRASH_LOOP[1], NOW + 4 * NS) == 4
    assert tally.deaths == 10  # the counter counts them all


def test_a_side_wanted_down_now_is_not_crash_looping_whatever_its_tally_says():
    """A crash-looper stopped (status: want down), its tally written before ``down=`` was
    kept: every death it counts came before the stop. A give-up (want down too, runsv's own)
    keeps its deaths."""
    stopped = made_side("down", want="down", tally=crash_loop(51))
    assert stopped.deaths_in_window == 0 and stopped.is_crash_looping is False
    looping = made_side("down", want="up", tally=crash_loop(51))
    assert looping.deaths_in_window == 51 and looping.is_crash_looping is True
    gave_up = crash_loop(10)
    gave_up.gave_up_ns = NOW - NS
    assert made_side("down", want="down", tally=gave_up).deaths_in_window == 10
    # started again after the stop: the deaths before it are still no crash loop
    restarted = crash_loop(51)
    restarted.wanted_down(NOW - NS // 2)
    assert made_side("run", 42, 0, want="up", tally=restarted).is_crash_looping is False
