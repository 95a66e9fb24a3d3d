"""unix/procgroup: a job's group once its leader is gone, with real processes — what remains
is found and signalled; a number a live process holds is never taken for the job's group."""

import os
import signal
import subprocess

from runit_provision.runtime.unix.procgroup import has_leftovers, signal_group, signal_leader

from ..processes import alive, wait_until


def leader_with_a_child():
    """A shell in a group (and session) of its own that leaves a ``sleep 40`` in it: (leader, child)."""
    leader = subprocess.Popen(["/bin/sh", "-c", "sleep 40 & echo $!; read _; exit 0"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              start_new_session=True)
    child = int(leader.stdout.readline())
    return leader, child


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


def test_our_own_number_is_never_a_leftover_group():
    assert not has_leftovers(os.getpid())
