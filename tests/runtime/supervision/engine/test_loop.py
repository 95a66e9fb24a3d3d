"""runtime.loop: readers, timers, signals through the wakeup fd, and child reaping."""

import os
import signal

from runit_provision.runtime.supervision.engine.loop import EventLoop
from runit_provision.runtime.supervision.engine.spawn import Spawner


def test_timer_and_reader_dispatch():
    loop = EventLoop()
    read_fd, write_fd = os.pipe()
    seen = []
    loop.add_reader(read_fd, lambda: seen.append(os.read(read_fd, 10)) or loop.stop())
    loop.call_later(0, lambda: os.write(write_fd, b"hi"))
    cancelled = loop.call_later(0, lambda: seen.append("never"))
    cancelled.cancel()
    try:
        loop.run()
    finally:
        loop.close()
        os.close(read_fd)
        os.close(write_fd)
    assert seen == [b"hi"]


def test_idle_loop_has_no_timeout():
    loop = EventLoop()
    try:
        assert loop._timeout() is None
        loop.call_later(5, lambda: None)
        assert 0 < loop._timeout() <= 5
    finally:
        loop.close()


def test_a_timer_beyond_any_clock_is_slept_towards_a_day_at_a_time():
    """A wait of 1e300 s (a planted back-off record once crashed root's tree at every start:
    epoll cannot take it) costs a wakeup a day, and the loop runs on."""
    loop = EventLoop()
    seen = []
    try:
        loop.call_later(1e300, lambda: seen.append("never"))
        assert loop._timeout() == 86400.0
        loop.call_later(0.01, loop.stop)
        loop.run()
    finally:
        loop.close()
    assert seen == []


def test_child_exit_and_signal_are_delivered_from_the_loop():
    loop = EventLoop()
    exits, signals = [], []

    def stop_once_both_arrived():
        if exits and signals:
            loop.stop()

    loop.add_signal_handler(signal.SIGUSR1, lambda: (signals.append("usr1"),
                                                     stop_once_both_arrived()))
    pid = Spawner().spawn(["/bin/sh", "-c", "kill -USR1 $PPID; exit 7"])
    loop.watch_child(pid, lambda p, status: (exits.append((p, os.WEXITSTATUS(status))),
                                             stop_once_both_arrived()))
    guard = loop.call_later(10, loop.stop)  # a deadline, in case nothing arrives
    try:
        loop.run()
    finally:
        guard.cancel()
        loop.close()
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    assert (exits, signals) == ([(pid, 7)], ["usr1"])


def child_signal_masks(spawner):
    """SigIgn and SigBlk of a child ``spawner`` starts (the child itself, no shell between)."""
    out_r, out_w = os.pipe()
    pid = spawner.spawn(["/bin/grep", "-E", "^Sig(Ign|Blk):", "/proc/self/status"],
                        stdout_fd=out_w)
    os.close(out_w)
    os.waitpid(pid, 0)
    text = os.read(out_r, 200).decode()
    os.close(out_r)
    return {line.split(":")[0]: int(line.split()[1], 16) for line in text.splitlines()}


def test_spawned_child_has_every_signal_at_its_default():
    # Python ignores SIGPIPE and SIGXFSZ and glibc's posix_spawn ignores its internal signals
    # 32 and 33 in the child; a supervised service must inherit none of that, nor a blocked
    # signal — as a child of the C runsv (fork and exec) does not.
    assert child_signal_masks(Spawner()) == {"SigIgn": 0, "SigBlk": 0}


def test_the_os_posix_spawn_fallback_resets_the_standard_signals(monkeypatch):
    """Where the C library's posix_spawn cannot be called, os.posix_spawn still resets 1..31
    (it cannot reach glibc's 32 and 33)."""
    from runit_provision.runtime.unix import spawnc
    monkeypatch.setattr(spawnc, "is_available", lambda: False)
    masks = child_signal_masks(Spawner())
    assert (masks["SigIgn"] & ((1 << 31) - 1), masks["SigBlk"]) == (0, 0), masks

def run_until(loop, predicate, seconds=10):
    """Run ``loop`` until ``predicate()`` after some callback, with a deadline."""
    deadline = loop.call_later(seconds, loop.stop)

    def check():
        if predicate():
            loop.stop()
        else:
            loop.call_later(0.005, check)
    loop.call_later(0, check)
    try:
        loop.run()
    finally:
        deadline.cancel()


def test_an_edge_triggered_reader_is_called_again_only_for_new_data():
    """It may leave data in the pipe (a partial line) without the loop spinning on it."""
    loop = EventLoop()
    read_fd, write_fd = os.pipe2(os.O_NONBLOCK)
    calls = []
    loop.add_reader(read_fd, lambda: calls.append(len(calls)), edge=True)
    try:
        os.write(write_fd, b"partial")
        run_until(loop, lambda: len(calls) >= 1, seconds=1)
        for _ in range(20):  # turns of the loop while the data stays unread
            loop.call_later(0, lambda: None)
            run_until(loop, lambda: True, seconds=1)
        assert calls == [0]
        os.write(write_fd, b" more")
        run_until(loop, lambda: len(calls) >= 2, seconds=5)
        assert calls == [0, 1]
        assert os.read(read_fd, 100) == b"partial more"
    finally:
        loop.close()
        os.close(read_fd)
        os.close(write_fd)


def test_a_process_that_is_not_our_child_is_watched_through_a_pidfd(tmp_path):
    """A grandchild (its parent, a shell, exits at once) is no child of ours: no SIGCHLD or
    waitpid for it, yet its exit is seen."""
    loop = EventLoop()
    pid_file = tmp_path / "pid"
    os.system("sh -c 'sleep 0.3 & echo $! > %s' " % pid_file)
    grandchild = int(pid_file.read_text())
    seen = []
    loop.watch_process(grandchild, seen.append)
    loop.watch_process(grandchild, lambda pid: seen.append(-pid))
    try:
        run_until(loop, lambda: len(seen) == 2)
    finally:
        loop.close()
    assert seen == [grandchild, -grandchild]
    assert not loop._processes
