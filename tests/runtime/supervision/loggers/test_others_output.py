"""What processes of other identities write to a tree's stderr passes one gate
(runtime/supervision/loggers/othersoutput.py): pure but for a real pipe, the loop faked."""

import os

from runit_provision.runtime.supervision.loggers.othersoutput import (
    LINE_MAX, PER_WINDOW, READ_PER_WINDOW, OthersOutput)


class FakeLoop:
    def __init__(self):
        self.now = 100.0
        self.readers = {}
        self.timers = []

    def monotonic(self):
        return self.now

    def add_reader(self, fd, callback):
        self.readers[fd] = callback

    def remove_reader(self, fd):
        self.readers.pop(fd, None)

    def call_later(self, delay, callback):
        self.timers.append((self.now + delay, callback))

    def run_due(self):
        due = [timer for timer in self.timers if timer[0] <= self.now]
        self.timers = [timer for timer in self.timers if timer[0] > self.now]
        for _, callback in due:
            callback()


def gate():
    """``(write(bytes), said() -> text so far, loop)`` of a gate on a fake loop."""
    loop = FakeLoop()
    stderr_r, stderr_w = os.pipe()
    os.set_blocking(stderr_r, False)
    output = OthersOutput(loop, stderr_w, "runsvdir /etc/service")

    def write(data):
        """What fits in the pipe written (the rest lost, as a writer's would be), then read
        as the loop would, while it is read."""
        try:
            os.write(output.write_fd, data)
            written = True
        except BlockingIOError:
            written = False
        for callback in list(loop.readers.values()):
            callback()
        return written

    def said():
        try:
            return os.read(stderr_r, 1 << 20).decode()
        except BlockingIOError:
            return ""
    return write, said, loop


FAILED = (b"svlogd: warning: unable to open log directory: /home/a/logs/runsvdir: access "
          b"denied\nsvlogd: fatal: no functional log directories.\n")


def test_a_failure_repeated_at_every_restart_is_said_once_and_again_after_a_quiet_hour():
    write, said, loop = gate()
    for _ in range(50):
        write(FAILED)
        loop.now += 1.0
    assert said() == FAILED.decode()
    loop.now += 3600
    write(FAILED)
    assert said() == FAILED.decode()


def test_a_flood_of_new_lines_is_bounded_a_minute_and_control_bytes_are_not_passed():
    write, said, loop = gate()
    write(b"".join(b"line %d \x1b[2J\r\n" % number for number in range(1000)))
    lines = said().splitlines()
    assert len(lines) == PER_WINDOW + 1
    assert lines[0] == "line 0 ?[2J?"
    assert lines[-1] == ("runsvdir /etc/service: warning: more than 20 new lines from "
                         "loggers of other users in 60 s: the rest held back")
    write(b"more\n")
    assert said() == ""
    loop.now += 60
    # held back, "more" is new again; a line without its end is cut, not kept (three equal
    # pieces: one said)
    write(b"more\n" + b"x" * (3 * LINE_MAX))
    assert [len(line) for line in said().splitlines()] == [4, LINE_MAX]


def test_a_flood_of_bytes_is_read_only_so_far_a_minute_and_costs_its_writer_alone():
    """One line again and again is said once, but reading it is work: past READ_PER_WINDOW
    the pipe is left unread for the rest of the minute — writers' lines are lost, none waits
    — then read again."""
    write, said, loop = gate()
    chunk = b"same line\n" * 6000  # 60 000 bytes a write
    written = 0
    while write(chunk) and written < 10 * READ_PER_WINDOW:
        written += len(chunk)
    assert written < 2 * READ_PER_WINDOW  # the budget read, then the pipe filled
    assert said().splitlines() == [
        "same line", "runsvdir /etc/service: warning: more than 262144 bytes from loggers of "
        "other users in 60 s: not read for 60 s"]
    assert not loop.readers
    loop.now += 60
    loop.run_due()
    assert loop.readers
    write(b"\nnew\n")  # the pipe full: lost; what it held is read (repeats, and one line
    write(b"\nnew\n")  # cut short by a write that did not fit whole), then this
    assert said().splitlines() == ["same l", "new"]
