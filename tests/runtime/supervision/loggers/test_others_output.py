"""What processes of other identities write to a tree's stderr passes one gate
(runtime/supervision/loggers/othersoutput.py): pure but for a real pipe, the loop faked."""

import os

from runit_provision.runtime.supervision.loggers.othersoutput import (
    LINE_MAX, PER_WINDOW, OthersOutput)


class FakeLoop:
    def __init__(self):
        self.now = 100.0
        self.readers = {}

    def monotonic(self):
        return self.now

    def add_reader(self, fd, callback):
        self.readers[fd] = callback

    def remove_reader(self, fd):
        self.readers.pop(fd, None)


def gate():
    """``(write(bytes), said() -> text so far, loop)`` of a gate on a fake loop."""
    loop = FakeLoop()
    stderr_r, stderr_w = os.pipe()
    os.set_blocking(stderr_r, False)
    output = OthersOutput(loop, stderr_w, "runsvdir /etc/service")

    def write(data):
        os.write(output.write_fd, data)
        for callback in list(loop.readers.values()):
            callback()

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
