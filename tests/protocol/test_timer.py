"""protocol/timer.py: the three files of a timer read back as written, malformed ones refused
by name (unknown words ignored), and the pure decisions — a persistent catch-up runs once and
never twice, jitter stays within its bounds, a schedule with no elapse left gives None, DST
through the calendar, the skipped count of a long run."""

import datetime
import zoneinfo

import pytest

from runit_provision.protocol import layout
from runit_provision.protocol.timer import (
    SKIPPED_LIMIT, USEC, TimerSpec, TimerState, elapses_between, next_run, passed_elapses,
    stamp_bytes, stamp_from_bytes, timer_spec_bytes, timer_spec_from_bytes, timer_state_bytes,
    timer_state_from_bytes)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
DAY = 86400 * USEC


def at(text, zone=datetime.timezone.utc):
    wall = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    return int(wall.replace(tzinfo=zone).timestamp()) * USEC


def wall(usec, zone=datetime.timezone.utc):
    return datetime.datetime.fromtimestamp(usec / USEC, zone).strftime("%Y-%m-%d %H:%M:%S %Z")


# -- the files -------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", [
    TimerSpec("*-*-* *:00/15:00", True, 30, 600),
    TimerSpec("30 2 * * 1-5"),
    TimerSpec("Mon..Fri 02:30 Europe/Berlin", False, 0.25, 0.5),
    TimerSpec("@daily", True),
])
def test_a_spec_reads_back_as_written(spec):
    assert timer_spec_from_bytes(timer_spec_bytes(spec)) == spec


def test_a_spec_ignores_unknown_keys_and_blank_lines():
    data = b"timer 1\n\nwhen=hourly\nwake_system=1\npersistent=1\n  \n"
    assert timer_spec_from_bytes(data) == TimerSpec("hourly", persistent=True)


@pytest.mark.parametrize("data, words", [
    (b"", 'not a timer file'),
    (b"timer 2\nwhen=daily\n", 'not a timer file'),
    (b"\xff\xfe", "not UTF-8"),
    (b"timer 1\npersistent=1\n", "no when="),
    (b"timer 1\nwhen=\n", "no when="),
    (b"timer 1\nwhen=daily\ngarbage\n", "line 3 has no =: 'garbage'"),
    (b"timer 1\nwhen=daily\npersistent=yes\n", "persistent=yes is not 0 or 1"),
    (b"timer 1\nwhen=daily\njitter=soon\n", "jitter=soon is not a number of seconds"),
    (b"timer 1\nwhen=daily\ntime_limit=-1\n", "time_limit=-1 is out of range"),
    (b"timer 1\nwhen=daily\njitter=nan\n", "jitter=nan is out of range"),
    (b"timer 1\nwhen=*:*/15\n", "when=*:*/15: column 4: '*/N' is cron's"),
    (b"timer 1\nwhen=61 * * * *\n", "when=61 * * * *: column 1"),
])
def test_a_malformed_spec_is_refused_by_name(data, words):
    with pytest.raises(ValueError, match="^schedule: ") as caught:
        timer_spec_from_bytes(data)
    assert words in str(caught.value)


def test_a_time_limit_of_zero_is_none():
    assert timer_spec_from_bytes(b"timer 1\nwhen=daily\ntime_limit=0\n").time_limit is None


def test_a_state_reads_back_as_written_and_ignores_unknown_words():
    state = TimerState(1764155700_250000, 1764154800_000000, 2, 1, True, "")
    assert timer_state_from_bytes(timer_state_bytes(state)) == state
    newer = timer_state_bytes(state).replace(b" missed", b" lateness=3 missed")
    assert timer_state_from_bytes(newer) == state


def test_a_state_keeps_its_error_to_the_end_of_the_line():
    state = TimerState(error="schedule: when=*:*/15: column 4: '*/N' is cron's")
    data = timer_state_bytes(state)
    assert data.count(b"\n") == 1
    assert timer_state_from_bytes(data) == state
    # a newline in the message cannot make a second line
    assert timer_state_bytes(TimerState(error="one\ntwo")).endswith(b"error=one two\n")


@pytest.mark.parametrize("data, words", [
    (b"garbage", "not a timer record"),
    (b"timer-state 2 next=1", "not a timer record"),
    (b"timer-state 1 next=soon", "next=soon is not a time within 1970..9999"),
    (b"timer-state 1 next=" + b"9" * 20, "next=99999999999999999999 is not a time within"),
    (b"timer-state 1 skipped=-2", "skipped=-2 is not a number"),
    (b"timer-state 1 timed_out=1.5", "timed_out=1.5 is not a number"),
])
def test_a_malformed_state_is_refused_by_name(data, words):
    with pytest.raises(ValueError, match="^supervise/timer: ") as caught:
        timer_state_from_bytes(data)
    assert words in str(caught.value)


def test_a_stamp_reads_back_and_garbage_is_refused():
    assert stamp_from_bytes(stamp_bytes(1764154800_000001)) == 1764154800_000001
    for data, words in ((b"", "not a stamp"), (b"stamp 1 elapse=x", "elapse=x is not a time"),
                        (b"stamp 1 elapse=-5", "elapse=-5 is not a time")):
        with pytest.raises(ValueError, match="^timer-stamp: " + words):
            stamp_from_bytes(data)


def test_the_names_are_layouts_and_the_stamp_is_runtime_owned():
    assert (layout.SCHEDULE, layout.JOB, layout.TIMER_STAMP) == ("schedule", "job",
                                                                 "timer-stamp")
    assert layout.TIMER_STATE_FILE == "supervise/timer"
    assert layout.is_runtime_owned("timer-stamp")
    assert not layout.is_runtime_owned("schedule") and not layout.is_runtime_owned("job")
    assert not layout.is_runtime_owned("log/timer-stamp")


# -- the decisions ---------------------------------------------------------------------------

HOURLY = TimerSpec("*-*-* *:00:00 UTC", persistent=True)


def test_the_next_run_is_the_next_elapse_strictly_after_now():
    now = at("2026-11-26 10:00:00")
    assert next_run(HOURLY, now) == (at("2026-11-26 11:00:00"), at("2026-11-26 11:00:00"),
                                     False)
    assert next_run(HOURLY, now - 1)[0] == now


def test_a_persistent_catch_up_runs_once_never_twice():
    stamp = at("2026-11-20 03:00:00")          # the last run before a week down
    now = at("2026-11-26 10:17:05")
    elapse, start, missed = next_run(HOURLY, now, stamp, 0.9)
    # one run, for the latest elapse missed, at once (jitter does not delay a catch-up)
    assert (wall(elapse), start, missed) == ("2026-11-26 10:00:00 UTC", now, True)
    # its stamp written, the same moment (a restart of the tree while it ran) runs nothing
    assert next_run(HOURLY, now, elapse, 0.9) == (at("2026-11-26 11:00:00"),
                                                 at("2026-11-26 11:00:00"), False)
    # and nor does any moment before the next elapse
    assert not next_run(HOURLY, at("2026-11-26 10:59:59"), elapse)[2]


def test_a_catch_up_needs_persistent_and_a_stamp():
    stamp, now = at("2026-11-20 03:00:00"), at("2026-11-26 10:17:05")
    not_persistent = TimerSpec("*-*-* *:00:00 UTC")
    assert next_run(not_persistent, now, stamp)[2] is False
    assert next_run(HOURLY, now, None)[2] is False       # first start: no stamp, no catch-up
    assert next_run(HOURLY, now, now - 1)[2] is False    # the stamp is recent: nothing missed


def test_a_catch_up_of_a_dense_schedule_is_found_without_walking_it():
    every_second = TimerSpec("*:*:* UTC", persistent=True)
    now = at("2026-11-26 10:00:00") + 500_000
    elapse, start, missed = next_run(every_second, now, now - 30 * DAY)
    assert (elapse, start, missed) == (at("2026-11-26 10:00:00"), now, True)


def test_a_catch_up_of_one_missed_elapse():
    stamp = at("2026-11-26 08:00:00")
    assert next_run(HOURLY, at("2026-11-26 09:30:00"), stamp)[:1] == (at("2026-11-26 09:00:00"),)


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.999999, 1.0, -1, 7])
def test_jitter_stays_within_its_bounds(fraction):
    spec = TimerSpec("*-*-* 00:00:00 UTC", jitter=90)
    now = at("2026-11-26 10:00:00")
    elapse, start, _ = next_run(spec, now, None, fraction)
    assert elapse == at("2026-11-27 00:00:00")
    assert elapse <= start <= elapse + 90 * USEC
    assert start == elapse + int(min(max(fraction, 0), 1) * 90 * USEC)


def test_no_elapse_left_is_none_and_a_last_missed_one_runs_once():
    spec = TimerSpec("2026-01-01 00:00:00 UTC", persistent=True)
    now = at("2026-11-26 10:00:00")
    assert next_run(spec, now) is None
    elapse, _, missed = next_run(spec, now, at("2025-12-31 00:00:00"))
    assert (elapse, missed) == (at("2026-01-01 00:00:00"), True)
    assert next_run(spec, now, elapse) is None


def test_dst_is_the_calendars():
    # 02:30 does not exist in Berlin on 2026-03-29 (clocks go 02:00 -> 03:00): no run that
    # day; on 2026-10-25 02:30 happens twice and runs once
    spec = TimerSpec("*-*-* 02:30:00 Europe/Berlin")
    start = next_run(spec, at("2026-03-28 12:00:00", BERLIN))[0]
    assert wall(start, BERLIN) == "2026-03-30 02:30:00 CEST"
    first = next_run(spec, at("2026-10-24 12:00:00", BERLIN))[0]
    assert wall(first, BERLIN) == "2026-10-25 02:30:00 CEST"
    assert wall(next_run(spec, first)[0], BERLIN) == "2026-10-26 02:30:00 CET"
    # the host's zone for an expression without one
    local = TimerSpec("*-*-* 02:30:00")
    assert next_run(local, at("2026-03-28 12:00:00", BERLIN), local_zone=BERLIN)[0] == start


def test_the_skipped_count_of_a_long_run():
    every_five = TimerSpec("*:0/5:00 UTC")
    started = at("2026-11-26 10:00:00")
    assert elapses_between(every_five, started, started + 4 * 60 * USEC) == 0
    assert elapses_between(every_five, started, at("2026-11-26 10:05:00")) == 1
    assert elapses_between(every_five, started, at("2026-11-26 10:17:00")) == 3
    assert elapses_between(every_five, started, started + 365 * DAY, limit=50) == 50
    assert elapses_between(TimerSpec("2026-11-26 10:00:00 UTC"), started - 1, started + DAY) == 1


def test_the_elapses_passed_are_bounded_work_whatever_the_span(monkeypatch):
    """A seconds' timer whose run took a week: SKIPPED_LIMIT elapses counted, and the last
    is still the latest (a persistent timer's stamp), found by bisection, not by walking
    600,000 elapses; the Santiago night of the issue counts its 4 quarter hours."""
    every_second = TimerSpec("*:*:* UTC")
    started = at("2026-11-26 10:00:00")
    calls = []
    real = type(every_second.schedule).next_elapse

    def counted(self, after, local_zone=None):
        calls.append(after)
        return real(self, after, local_zone)

    monkeypatch.setattr(type(every_second.schedule), "next_elapse", counted)
    count, last = passed_elapses(every_second, started, started + 7 * DAY, SKIPPED_LIMIT)
    monkeypatch.undo()
    assert (count, last) == (SKIPPED_LIMIT, started + 7 * DAY)
    assert len(calls) < SKIPPED_LIMIT + 100
    santiago = TimerSpec("*:0/15 America/Santiago")
    assert passed_elapses(santiago, 1820115900 * USEC, 1820118600 * USEC) == (
        3, 1820118600 * USEC)     # 01:00, 01:15, 01:30 -03 after 23:45 -04


def test_an_elapse_that_is_not_after_ends_the_count_not_loops_on_it(monkeypatch):
    spec = TimerSpec("*:0/15 UTC")
    calls = []

    def stuck(self, after, local_zone=None):
        calls.append(after)
        return after if len(calls) > 2 else after + 900 * USEC

    monkeypatch.setattr(type(spec.schedule), "next_elapse", stuck)
    assert passed_elapses(spec, 0, 10 ** 12, SKIPPED_LIMIT) == (2, 1800 * USEC)
    assert len(calls) == 3
