"""The one side type (protocol/sidestate.py), pure: what a side says when nothing more was
read than its constructor's defaults, and the one rule for a pid a status shows that is not
believed (``disowned_pid``; tests/security/test_planted_pid.py plants such statuses)."""

from runit_provision.protocol.bounds import PID_MAX
from runit_provision.protocol.sidestate import Condition, SideState, disowned_pid
from runit_provision.protocol.status import State, Status

RUNNING = Status(0, 0, 4242, False, "u", False, State.RUN)


def test_a_side_nothing_was_read_of_is_one_no_runsv_serves():
    """No ``supervise/ok`` held, no ``down`` file, no moment it was read at: not supervised,
    normally up, seen by a runsv before (only a reader that looked says otherwise), and no
    uptime to count."""
    side = SideState()
    assert (side.state, side.normally, side.was_seen, side.now_ns) == (
        Condition.NOT_SUPERVISED, "up", True, 0)
    assert SideState(True, RUNNING).uptime is None  # read at no moment: none counted
    assert SideState(True, RUNNING, now_ns=10 * 10**9).uptime == 10


def test_a_side_says_why_its_state_cannot_be_told_when_shown():
    assert repr(SideState(True, unknown="bad format")) == (
        "SideState(supervised=True, state='unknown', want=None, pid=0, "
        "unknown='bad format')")
    assert repr(SideState(True, RUNNING)) == \
        "SideState(supervised=True, state='run', want='up', pid=4242)"


def test_a_pid_within_the_kernels_limit_is_judged_by_its_owner():
    owners = {4242: 1001, PID_MAX: 0}
    assert disowned_pid(None, 1001, owners.get) is None
    assert disowned_pid(RUNNING._replace(pid=0), 1001, owners.get) is None  # no process shown
    assert disowned_pid(RUNNING, 1001, owners.get) is None
    # the limit itself is within it (protocol/bounds.py: 0 to PID_MAX), as the tally's pid
    assert disowned_pid(RUNNING._replace(pid=PID_MAX), 0, owners.get) is None
    assert disowned_pid(RUNNING._replace(pid=PID_MAX + 1), 0, owners.get) == (
        "supervise/status: pid 4194305 is beyond the kernel's limit (4194304): not believed")
    # a user's tree shows a pid no process has: said so, not as another's
    assert disowned_pid(RUNNING._replace(pid=4343), 1001, owners.get) == (
        "supervise/status: pid 4343 is no process, not uid 1001's (its supervise/'s owner): "
        "not believed")
