"""One service's notify socket on a loop whose clock moves by hand (issue 43; notify.py):
refusals are counted at once and written at most once a second, what the service says is
written at once, and every socket of a loop is read within one share of its time.

The socket is real (an abstract address of its own); the service is this test's process
(what it sends is its own), a stranger a child forked to send and exit.
"""

import os
import signal
import socket

import pytest

from runit_provision.protocol.readiness import ReadySpec, readiness_from_bytes
from runit_provision.runtime.supervision.engine import notify
from runit_provision.runtime.supervision.engine.notify import (
    PERIOD_SECONDS, REFUSALS_WRITTEN_EVERY, SAVED_SECONDS, SHARE_SECONDS, NotifyChannel,
    ReadShare)

from ...fakes import FakeClock, FakeTimer


class Loop:
    """The loop's interface a channel uses: readers called by hand, timers fired by ``advance``;
    ``step``: how far the clock moves at each reading of it (what a batch costs)."""

    def __init__(self):
        self.clock = FakeClock()
        self.readers = {}
        self.timers = []
        self.step = 0.0

    def monotonic(self):
        now = self.clock.now
        self.clock.now += self.step
        return now

    def add_reader(self, fd, callback, edge=False):
        self.readers[fd] = callback

    def remove_reader(self, fd):
        self.readers.pop(fd, None)

    def call_later(self, delay, callback):
        timer = FakeTimer(self.clock.now + max(0.0, delay), callback)
        self.timers.append(timer)
        return timer

    def advance(self, seconds):
        """Move the clock, firing each timer that falls due on the way, in order."""
        end = self.clock.now + seconds
        while True:
            due = sorted((t for t in self.timers if not t.cancelled and t.when <= end),
                         key=lambda t: t.when)
            if not due:
                break
            timer = due[0]
            self.timers.remove(timer)
            self.clock.now = max(self.clock.now, timer.when)
            timer.cancelled = True
            timer.callback()
        self.clock.now = end

    def wake(self):
        """One turn of the loop: every reader called once (level-triggered: each is ready)."""
        for callback in list(self.readers.values()):
            callback()


class Files:
    """SuperviseFiles' one method a channel uses: each record written, parsed."""

    def __init__(self):
        self.records = []

    def write_named(self, name, data):
        assert name == "readiness"
        self.records.append(readiness_from_bytes(data))


@pytest.fixture
def loop():
    return Loop()


def channel_on(loop, share=None):
    files = Files()
    channel = NotifyChannel(loop, files, loop.clock, lambda *_: None,
                            share=share if share is not None else ReadShare(loop))
    address = "\0" + channel.socket_address()[1:]
    channel.started(os.getpid(), ReadySpec("notify", "main"))  # we are the service
    return channel, files, address


def stranger_sends(address, count, message=b"READY=1"):
    """A child sends ``count`` datagrams (no more than a queue holds) and exits; how many
    went."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        sent = 0
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK)
            for _ in range(count):
                try:
                    sock.sendto(message, address)
                    sent += 1
                except BlockingIOError:
                    break
        finally:
            os._exit(sent)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def service_says(address, message):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.sendto(message, address)
    sock.close()


def test_refusals_are_counted_at_once_and_written_at_most_once_a_second(loop):
    channel, files, address = channel_on(loop)
    assert [r.state for r in files.records] == ["starting"]
    sent = stranger_sends(address, 5)
    loop.wake()
    assert channel.readiness.refused == sent == 5
    assert len(files.records) == 1  # the start was written a moment ago: the count waits
    loop.advance(0.5)
    assert stranger_sends(address, 3) == 3
    loop.wake()
    assert channel.readiness.refused == 8 and len(files.records) == 1
    loop.advance(REFUSALS_WRITTEN_EVERY - 0.5)  # a second after the last write: one write
    assert [(r.state, r.refused) for r in files.records] == [("starting", 0), ("starting", 8)]
    loop.advance(5.0)
    assert len(files.records) == 2  # nothing more to write, no timer left behind
    assert stranger_sends(address, 2) == 2
    loop.wake()
    assert files.records[-1].refused == 10  # written over a second after the last: at once
    channel.close()


def test_what_the_service_says_is_written_at_once_with_the_refusals_so_far(loop):
    channel, files, address = channel_on(loop)
    stranger_sends(address, 4)
    loop.wake()
    assert len(files.records) == 1
    service_says(address, b"READY=1\nSTATUS=serving")
    loop.wake()
    assert [(r.state, r.status, r.refused) for r in files.records[1:]] == [
        ("ready", "serving", 4)]
    loop.advance(REFUSALS_WRITTEN_EVERY)  # the refusals' timer has nothing left to write
    assert len(files.records) == 2
    channel.close()


def test_a_write_of_refusals_due_is_dropped_with_the_channel(loop):
    channel, files, address = channel_on(loop)
    stranger_sends(address, 2)
    loop.wake()
    channel.close()  # writes "down" (with the count); the timer is cancelled
    assert [(r.state, r.refused) for r in files.records] == [("starting", 0), ("down", 2)]
    loop.advance(REFUSALS_WRITTEN_EVERY * 2)
    assert len(files.records) == 2


def test_a_wake_up_reads_at_most_a_batch(loop, monkeypatch):
    monkeypatch.setattr(notify, "BATCH", 3)
    channel, _, address = channel_on(loop)
    sent = stranger_sends(address, 8)
    loop.wake()
    assert channel.readiness.refused == 3
    loop.wake()
    loop.wake()
    assert channel.readiness.refused == min(sent, 9)
    channel.close()


def test_a_spent_share_stops_every_socket_of_the_loop_until_the_next_period(loop):
    share = ReadShare(loop)
    first, _, first_address = channel_on(loop, share)
    second, second_files, second_address = channel_on(loop, share)
    stranger_sends(first_address, 3)
    share.spend(share.left())  # as if the first socket's flood had taken what was left
    service_says(second_address, b"READY=1")
    loop.wake()
    assert loop.readers == {}  # both wait, their datagrams left in their queues
    assert (first.readiness.refused, second.readiness.state) == (0, "starting")
    loop.advance(PERIOD_SECONDS)  # the next period: both are read again
    assert len(loop.readers) == 2
    loop.wake()
    assert (first.readiness.refused, second.readiness.state) == (3, "ready")
    assert second_files.records[-1].state == "ready"
    first.close()
    second.close()


def test_a_batch_is_charged_to_the_share_and_a_closed_channel_is_not_resumed(loop):
    share = ReadShare(loop)
    channel, _, address = channel_on(loop, share)
    loop.step = share.left() / 8  # each look at the clock: what the batch has cost so far
    for _ in range(10):
        stranger_sends(address, 1)
        loop.wake()
        if not loop.readers:
            break
    loop.step = 0.0
    assert loop.readers == {} and share.is_spent()  # a few batches spent it: the reader is off
    refused = channel.readiness.refused
    assert 1 <= refused < 10
    stranger_sends(address, 1)
    loop.wake()
    assert channel.readiness.refused == refused  # left in the queue
    channel.close()
    loop.advance(PERIOD_SECONDS)
    assert loop.readers == {}  # closed while it waited: never watched again


def test_a_write_of_refusals_waits_for_a_spent_share_too(loop):
    share = ReadShare(loop)
    channel, files, address = channel_on(loop, share)
    loop.advance(PERIOD_SECONDS / 2)
    stranger_sends(address, 2)
    loop.wake()  # periods begin now; the write is due a second after the start's, mid-period
    loop.advance(REFUSALS_WRITTEN_EVERY - PERIOD_SECONDS)
    share.spend(share.left())  # the period it falls due in, spent by other sockets
    loop.advance(PERIOD_SECONDS / 2)
    assert len(files.records) == 1
    loop.advance(PERIOD_SECONDS / 2)  # the next period
    assert [r.refused for r in files.records] == [0, 2]
    channel.close()


def test_the_next_period_resumes_the_waiting_in_turn_until_the_share_is_spent(loop):
    """Each resumed channel reads a batch at once; those not reached are first next time."""
    share = ReadShare(loop)
    resumed = []
    share.spend(share.left())
    for name in "abc":
        share.wait(name, lambda name=name: (resumed.append(name),
                                            share.spend(SHARE_SECONDS / 2)))
    share.forget("c")
    share.wait("d", lambda: (resumed.append("d"), share.spend(SHARE_SECONDS)))
    loop.advance(PERIOD_SECONDS)
    assert resumed == ["a", "b"]
    share.wait("a", lambda: resumed.append("a again"))  # a's reader found it spent: last
    loop.advance(PERIOD_SECONDS)
    assert resumed == ["a", "b", "d"]
    loop.advance(PERIOD_SECONDS)
    assert resumed == ["a", "b", "d", "a again"]
    assert [t for t in loop.timers if not t.cancelled] == []


def test_the_loops_share_is_one_for_every_channel_on_it(loop):
    assert notify.share_of(loop) is notify.share_of(loop)
    assert notify.share_of(loop) is not notify.share_of(Loop())


def test_a_resume_that_raises_leaves_the_rest_waiting_for_the_next_period(loop):
    share = ReadShare(loop)
    resumed = []

    def broken():
        share.spend(SHARE_SECONDS)  # it read, then a bug: the loop's host reports the error
        raise RuntimeError("a bug")
    share.spend(share.left())
    share.wait("a", broken)
    share.wait("b", lambda: resumed.append("b"))
    with pytest.raises(RuntimeError):
        loop.advance(PERIOD_SECONDS)
    loop.advance(PERIOD_SECONDS)
    assert resumed == ["b"]


def test_a_quiet_loop_saves_its_share_up_to_a_bound_and_an_overspent_period_is_forgiven(loop):
    share = ReadShare(loop)
    assert share.left() == SAVED_SECONDS  # in hand from the start: a burst at boot
    share.spend(SAVED_SECONDS + 1.0)  # a write that took a second (the process waited)
    assert share.is_spent()
    loop.advance(PERIOD_SECONDS)
    assert share.left() == pytest.approx(SHARE_SECONDS)  # not a second of debt
    loop.advance(PERIOD_SECONDS * 3)
    assert share.left() == pytest.approx(4 * SHARE_SECONDS)
    loop.advance(3600)
    assert share.left() == SAVED_SECONDS


def held_back(loop, share, address):
    """A stranger's datagram left unread: the share is spent (the channel waits for it)."""
    share.spend(share.left())
    stranger_sends(address, 1)
    loop.wake()


def watched_on(loop, share, watchdog=2):
    files = Files()
    kills = []
    channel = NotifyChannel(loop, files, loop.clock, lambda *_: None,
                            kill=lambda pid, signum: kills.append(signum), share=share)
    address = "\0" + channel.socket_address()[1:]
    channel.started(os.getpid(), ReadySpec("notify", "main", 0, watchdog))
    return channel, address, kills


def test_a_watchdog_due_while_a_flood_holds_the_socket_back_waits_for_it(loop):
    """Not judged while the socket is held back (the ping may be stuck behind the flood),
    judged a second after the flood ends; a ping meanwhile arms it anew."""
    share = ReadShare(loop)
    channel, address, kills = watched_on(loop, share)
    for _ in range(3):
        held_back(loop, share, address)
        loop.advance(1.0)  # 2 s without WATCHDOG=1: due, and held back meanwhile
    assert kills == [] and channel.readiness.failed == ""
    loop.advance(notify.HELD_GRACE_SECONDS)  # the flood is over: no hold since the last look
    assert kills == [signal.SIGABRT]
    assert channel.readiness.failed == "watchdog: no WATCHDOG=1 for 2 s"
    channel.close()


def test_a_ping_out_of_the_held_queue_arms_the_watchdog_anew(loop):
    share = ReadShare(loop)
    channel, address, kills = watched_on(loop, share)
    loop.advance(1.95)
    held_back(loop, share, address)  # a period begins, spent: the next one in 0.1 s
    service_says(address, b"WATCHDOG=1")  # stuck behind the stranger's datagram
    loop.advance(0.05)  # due (2 s), held back: looked at again in a second
    assert kills == []
    loop.advance(PERIOD_SECONDS)  # the next period read the queue: the stranger's, the ping
    assert channel.readiness.refused == 1
    loop.advance(1.9)
    assert kills == []  # 2 s from the ping
    loop.advance(PERIOD_SECONDS)
    assert kills == [signal.SIGABRT]
    channel.close()


def test_a_flood_delays_the_end_of_a_hung_service_by_ten_looks_at_most(loop):
    share = ReadShare(loop)
    channel, address, kills = watched_on(loop, share)
    looks = 0
    while not kills and looks < 50:
        held_back(loop, share, address)
        loop.advance(notify.HELD_GRACE_SECONDS)
        looks += 1
    assert kills == [signal.SIGABRT]
    assert looks == 2 + notify.HELD_GRACES_MAX  # 2 s of watchdog, then ten looks
    channel.close()


def test_a_ready_timeout_held_back_by_a_flood_waits_for_it_too(loop):
    share = ReadShare(loop)
    kills = []
    channel = NotifyChannel(loop, Files(), loop.clock, lambda *_: None,
                            kill=lambda pid, signum: kills.append(signum), share=share)
    address = "\0" + channel.socket_address()[1:]
    channel.started(os.getpid(), ReadySpec("notify", "main", 3, 0))
    loop.advance(2.95)
    held_back(loop, share, address)
    service_says(address, b"READY=1")  # stuck behind the stranger's until the next period
    loop.advance(0.05)  # due (3 s), held back: not judged
    assert kills == [] and channel.readiness.state == "starting"
    loop.advance(PERIOD_SECONDS)
    assert channel.readiness.state == "ready"
    loop.advance(notify.HELD_GRACE_SECONDS * 2)
    assert kills == []
    channel.close()


def test_access_all_walks_up_from_a_stranger_once_not_per_datagram(loop, monkeypatch):
    """A flood's sender is judged by its ancestry once (~10 reads of /proc), not per
    datagram (for ``_STRANGER_SECONDS``); another sender is judged on its own; the service's
    own process is never looked up at all."""
    walks = []
    monkeypatch.setattr(notify, "may_notify",
                        lambda sender, mains, access: walks.append(sender) and False)
    channel = NotifyChannel(loop, Files(), loop.clock, lambda *_: None, share=ReadShare(loop))
    address = "\0" + channel.socket_address()[1:]
    channel.started(os.getpid(), ReadySpec("notify", "all"))
    stranger_sends(address, 5)
    loop.wake()
    assert channel.readiness.refused == 5 and len(walks) == 1
    stranger_sends(address, 2)  # another child: another pid
    loop.wake()
    assert channel.readiness.refused == 7 and len(walks) == 2
    service_says(address, b"READY=1")
    loop.wake()
    assert channel.readiness.state == "ready" and len(walks) == 2
    channel.close()


def test_a_sender_the_kernel_cannot_name_is_no_one(loop):
    """Pid 0 (a sender in a pid namespace the receiver cannot see) is never the service,
    though ``mainpid`` 0 means none was given."""
    channel, _, _ = channel_on(loop)
    assert channel.readiness.mainpid == 0
    assert [channel._is_from_service(pid) for pid in (0, -1, None, os.getpid())] == [
        False, False, False, True]
    channel.close()
