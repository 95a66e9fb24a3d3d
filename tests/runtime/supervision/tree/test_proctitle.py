"""runsvdir's status area: runit's byte-shifting roll, and the dot that scrolls old messages."""

from runit_provision.runtime.supervision.tree.proctitle import (DOT_SECONDS, StatusArea,
                                                                has_message, rolled)

from ...fakes import FakeClock, FakeTimer


def test_each_byte_shifts_the_area_left_by_one():
    assert rolled(b"abcdef", b"X") == b"bcdefX"
    assert rolled(b"abcdef", b"XY") == b"cdefXY"


def test_nuls_are_dropped_newlines_kept():
    assert rolled(b"......", b"a\0b\nc") == b"..ab\nc"
    assert rolled(b"......", b"\0\0") == b"......"


def test_more_data_than_area_keeps_the_newest_bytes():
    assert rolled(b"....", b"0123456789") == b"6789"
    assert rolled(b"....", b"0123") == b"0123"


def test_only_dots_is_no_message():
    assert not has_message(b"......")
    assert has_message(b"....x.")


class RecordingDisplay:
    def __init__(self):
        self.shown = []

    def show(self, area):
        self.shown.append(area)


class FakeLoop:
    def __init__(self):
        self.clock = FakeClock()
        self.timers = []

    def call_later(self, delay, callback):
        timer = FakeTimer(self.clock.monotonic() + delay, callback)
        self.timers.append(timer)
        return timer

    def fire_next(self):
        timer = self.timers.pop(0)
        assert not timer.cancelled
        self.clock.advance(timer.when - self.clock.monotonic())
        timer.callback()
        return timer


def test_a_message_is_shown_and_scrolls_away_one_dot_per_interval():
    loop = FakeLoop()
    display = RecordingDisplay()
    area = StatusArea(loop, b"log: ....", display)
    area.add(b"ab")
    assert display.shown == [b"..ab"]
    assert [t.when - loop.clock.monotonic() for t in loop.timers] == [DOT_SECONDS]
    for expected in (b".ab.", b"ab..", b"b...", b"...."):
        loop.fire_next()
        assert display.shown[-1] == expected
    # nothing left to scroll: the tree goes back to sleeping without a timer
    assert loop.timers == []


def test_dots_alone_never_start_the_timer():
    loop = FakeLoop()
    area = StatusArea(loop, b"log: ....", RecordingDisplay())
    area.add(b"..")
    assert loop.timers == []


def test_one_timer_at_a_time():
    loop = FakeLoop()
    area = StatusArea(loop, b"log: ..........", RecordingDisplay())
    area.add(b"one")
    area.add(b"two")
    assert len(loop.timers) == 1
