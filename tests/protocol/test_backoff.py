"""protocol/backoff: the back-off file as read, each restart's delay, and the record and words
of a restart that waits."""

import pytest

from runit_provision.protocol.backoff import (
    Backoff, Waiting, backoff_from_bytes, seconds_text, waiting_read)

NS = 1_000_000_000
DUE = 10 * NS


def test_a_restart_just_due_is_told_for_a_second_more():
    """runsv restarts the service a moment after ``due``: a status read in that moment still
    says the restart, at 0 s, and only past one second says nothing waits."""
    waiting = Waiting(2, 1, 3, 4.0, DUE)
    assert waiting.text(DUE) == "restarting in 0 s (step 1 of 3)"
    assert waiting.text(DUE + NS // 2) == "restarting in 0 s (step 1 of 3)"
    assert waiting.text(DUE + NS) == "restarting in 0 s (step 1 of 3)"
    assert waiting.text(DUE + NS + 1) is None


def test_the_seconds_left_round_up_and_never_pass_the_delay():
    waiting = Waiting(1, 0, 0, 2.0, DUE)
    assert waiting.text(DUE - NS - 1) == "restarting in 2 s"
    assert waiting.text(DUE - NS) == "restarting in 1 s"
    assert waiting.text(0) == "restarting in 2 s"  # a clock read before the record
    assert Waiting(1, 0, 0, 2.5, DUE).text(0) == "restarting in 3 s"  # a part second is one


def test_the_defaults_are_one_delay_without_jitter_reset_after_a_minute():
    spec = Backoff(2)
    assert (spec.max, spec.steps, spec.jitter, spec.reset) == (2.0, 0, 0.0, 60.0)
    assert repr(Backoff(1, 8, 3)) == \
        "Backoff(first=1.0, max=8.0, steps=3, jitter=0.0, reset=60.0)"
    assert repr(Waiting(3, 2, 6, 4.0, 5, 7)) == \
        "Waiting(restarts=3, step=2, steps=6, delay=4.0, due_ns=5, pid=7)"
    assert Backoff(1, 8, 3) == Backoff(1, 8, 3) and Waiting(3, 2) == Waiting(3, 2)


def test_each_delay_grows_from_first_to_max_in_steps():
    spec = Backoff(2, 32, 4)
    assert [spec.delay(r) for r in (0, 1, 3, 5, 6)] == [2.0, 2.0, 8.0, 32.0, 32.0]
    assert Backoff(1, 8, 1).delay(2) == 8.0       # one step: max at the second restart
    assert Backoff(1, 8, 0).delay(3) == 1.0       # no steps: first, always
    assert Backoff(1, 10, 3).delays() == [1.0, 2.154, 4.642, 10.0]  # to the millisecond


def test_a_due_moment_is_written_to_the_nanosecond():
    due = 1_700_000_004_999_999_999  # past a float's precision
    assert Waiting(3, 2, 6, 4.0, due).words() == \
        b"restarts=3 step=2/6 delay=4.000 due=1700000004.999999999"


@pytest.mark.parametrize("data, words", [
    (b"backoff 1 first=1 steps=2 jitter=0 reset=60", "backoff: no max="),
    (b"backoff 1 first=\xff max=2 steps=2 jitter=0 reset=60",
     "backoff: first=\ufffd is not a number of seconds"),
    (b"backoff 1 first=1 max=2 steps=2.5 jitter=0 reset=60",
     "backoff: steps=2.5 is not a number of seconds"),
    (b"backoff 1 first=1 max=2 steps=65 jitter=0 reset=60", "backoff: steps=65 is out of range"),
])
def test_a_backoff_file_refused_says_why(data, words):
    with pytest.raises(ValueError) as caught:
        backoff_from_bytes(data)
    assert str(caught.value) == words


def test_each_number_is_taken_up_to_its_bound():
    data = b"backoff 1 first=86400 max=86400 steps=64 jitter=86400 reset=86400"
    assert backoff_from_bytes(data) == Backoff(86400, 86400, 64, 86400, 86400)


@pytest.mark.parametrize("data, why", [
    (b"backoff-state 1 pid=1", "no restarts="),
    (b"backoff 1 restarts=1", "backoff-state: not a backoff-state file"),
    (b"backoff-state 1 restarts=1=2", "restarts=1=2 is not a number within 0..1000000000000"),
    (b"backoff-state 1 pid=4194305 restarts=1", "pid=4194305 is not a number within 0..4194304"),
    (b"backoff-state 1 restarts=1 due=17 delay=1", "no step= beside due="),
    (b"backoff-state 1 restarts=1 step=1/2/3 delay=1 due=17",
     "steps=2/3 is not a number within 0..64"),
    (b"backoff-state 1 restarts=1 step=1/65 delay=1 due=17",
     "steps=65 is not a number within 0..64"),
    (b"backoff-state 1 restarts=1 step=4/3 delay=1 due=17", "step=4 is not a number within 0..3"),
])
def test_a_record_refused_says_why(data, why):
    assert waiting_read(data) == (None, why)


def test_a_value_quoted_in_a_refusal_is_cut_at_80_characters():
    with pytest.raises(ValueError) as caught:
        backoff_from_bytes(b"backoff 1 first=%s max=1 steps=1 jitter=0 reset=1" % (b"x" * 100))
    assert str(caught.value) == "backoff: first=%s… is not a number of seconds" % ("x" * 80)


def test_a_record_that_is_not_one_says_so():
    assert repr(Waiting()) == "Waiting(restarts=0, step=0, steps=0, delay=0.0, due_ns=0, pid=0)"
    with pytest.raises(ValueError, match="^backoff: a word without =$"):
        backoff_from_bytes(b"backoff 1 first")


def test_seconds_are_written_whole_or_to_the_millisecond():
    found = [seconds_text(value) for value in (60.0, 0.25, 31.6227766, 3.99999, 0.0004)]
    assert found == ["60", "0.25", "31.623", "4", "0"]
