"""protocol/backoff: the words ``status`` gives a restart that waits."""

from runit_provision.protocol.backoff import Waiting

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
