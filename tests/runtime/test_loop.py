"""runtime.loop: readers, timers, signals through the wakeup fd, and child reaping."""

import os
import signal

from runit_provision.runtime.supervision.loop import EventLoop
from runit_provision.runtime.supervision.spawn import Spawner


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