"""apply/planner: a timer's ``supervise/timer`` record, whose first line alone says whether a
job started (what follows it is no part of the record)."""

from runit_provision.apply.planner.services import is_waiting_record


def test_only_the_first_line_tells_a_waiting_timer():
    started = b"timer-state 1 next=2.000000 started=1.500000\n"
    assert not is_waiting_record(started + b"started=0\n")
    assert is_waiting_record(b"timer-state 1 next=2.000000 started=0\nstarted=1.5\n")
