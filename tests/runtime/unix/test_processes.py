"""unix/processes: a job's group once its leader is gone, with real processes — what remains
is found and signalled; a number a live process holds is never taken for the job's group."""

import os
import signal
import subprocess

from runit_provision.runtime.unix.processes import has_leftovers, signal_group, signal_leader

from ..processes import alive, wait_until


def leader_with_a_child():
    """A shell in a group (and session) of its own that leaves a ``sleep 40`` in it:
    ``(leader, child)``."""
    leader = subprocess.Popen(["/bin/sh", "-c", "sleep 40 & echo $!; read _; exit 0"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              start_new_session=True)
    child = int(leader.stdout.readline())
    return leader, child


def state_of(pid):
    with open("/proc/%d/stat" % pid) as handle:
        return handle.read().rsplit(")", 1)[1].split()[0]


def test_what_a_reaped_leader_left_is_found_and_ended():
    leader, child = leader_with_a_child()
    try:
        assert not has_leftovers(leader.pid)  # the leader runs: its number is a live process
        leader.stdin.close()
        assert leader.wait(10) == 0  # reaped: the group is the child's alone now
        assert os.getpgid(child) == leader.pid and has_leftovers(leader.pid)
        signal_group(leader.pid, signal.SIGTERM)
        wait_until(lambda: not alive([child]), what="the child ended")
        wait_until(lambda: not has_leftovers(leader.pid), what="the group gone")
    finally:
        signal_group(leader.pid, signal.SIGKILL)
        leader.kill()
        leader.wait(10)
        leader.stdout.close()


def test_signal_leader_reaches_the_whole_group_and_a_gone_one_is_no_error():
    leader, child = leader_with_a_child()
    try:
        signal_leader(leader.pid, signal.SIGTERM)
        assert leader.wait(10) == -signal.SIGTERM
        wait_until(lambda: not alive([child]), what="the child ended")
        signal_leader(leader.pid, signal.SIGTERM)  # nothing left: no error
        signal_group(leader.pid, signal.SIGTERM)
    finally:
        signal_group(leader.pid, signal.SIGKILL)
        leader.wait(10)
        leader.stdin.close()
        leader.stdout.close()


def test_our_own_number_is_never_a_leftover_group():
    assert not has_leftovers(os.getpid())


def test_a_zombie_leader_alone_is_no_leftover_and_beside_a_member_it_is():
    """A job taken over: its leader's parent is not us and may not have reaped it yet. The
    zombie alone leaves nothing; beside a live member of its group it does."""
    for leaves_a_child, expected in ((False, False), (True, True)):
        script = ("sleep 40 & echo $!; exit 0" if leaves_a_child else "echo 0; exit 0")
        leader = subprocess.Popen(["/bin/sh", "-c", script], stdout=subprocess.PIPE,
                                  start_new_session=True)
        try:
            int(leader.stdout.readline())
            wait_until(lambda: state_of(leader.pid) == "Z",  # ended, not reaped: we are its parent
                       what="a zombie leader")
            assert has_leftovers(leader.pid) is expected
        finally:
            signal_group(leader.pid, signal.SIGKILL)
            leader.wait(10)
            leader.stdout.close()
