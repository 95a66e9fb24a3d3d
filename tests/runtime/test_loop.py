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


def test_spawned_child_has_default_signal_dispositions():
    # Python ignores SIGPIPE and SIGXFSZ; a supervised service must not inherit that, nor a
    # blocked signal. (glibc keeps its internal real-time signals 32 and 33 to itself.)
    pid_out_r, pid_out_w = os.pipe()
    pid = Spawner().spawn(["/bin/sh", "-c", "grep -E '^Sig(Ign|Blk):' /proc/self/status"],
                          stdout_fd=pid_out_w)
    os.close(pid_out_w)
    _, status = os.waitpid(pid, 0)
    text = os.read(pid_out_r, 200).decode()
    os.close(pid_out_r)
    masks = {line.split(":")[0]: int(line.split()[1], 16) for line in text.splitlines()}
    standard = (1 << 31) - 1  # signals 1..31
    assert (masks["SigIgn"] & standard, masks["SigBlk"]) == (0, 0), text
