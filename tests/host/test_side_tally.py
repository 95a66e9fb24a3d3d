"""host/sides.side_tally: our runsv's tally is believed only when it accounts for the status
read beside it. runsv writes the tally first, so a reader that finds a tally newer than the
status, naming another pid, waits for the status to catch up; a tally older than the status
is another runsv's, left behind, and is not waited for."""

import os
import threading
import time

from runit_provision.host import sides
from runit_provision.host.fsread import FsReader
from runit_provision.host.sides import side_tally
from runit_provision.protocol.status import State, Status
from runit_provision.protocol.tally import Tally, tally_bytes

from ..sides import supervised
from ..sides import write_status as write_status_of


def write_status(tmp_path, pid, seconds):
    return write_status_of(tmp_path, Status(int(seconds), 0, pid, False, "u", False,
                                            State.RUN if pid else State.DOWN))


class Clock:
    """side_tally's clock: ``sleep`` counts the pauses and moves ``monotonic`` on, so a wait
    is seen by its pauses, not by how long it took."""

    def __init__(self):
        self.now, self.pauses = 1000.0, []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.pauses.append(seconds)
        self.now += seconds


def write_tally(tmp_path, pid):
    (tmp_path / "supervise" / "tally").write_bytes(tally_bytes(Tally(pid=pid, starts=2)))


def test_a_status_still_to_come_is_waited_for(tmp_path):
    reader = supervised(tmp_path)
    try:
        old = write_status(tmp_path, 41, time.time() - 5)
        write_tally(tmp_path, 42)  # runsv between its two writes
        later = threading.Timer(0.1, write_status, (tmp_path, 42, time.time()))
        later.start()
        with FsReader() as fs:
            status, tally, why = side_tally(fs, str(tmp_path), old, catch_up=10)
        later.join()
        assert (status.pid, tally.pid, why) == (42, 42, None)
    finally:
        os.close(reader)


def test_a_tally_another_runsv_left_is_not_waited_for(tmp_path, monkeypatch):
    reader = supervised(tmp_path)
    try:
        write_tally(tmp_path, 42)
        os.utime(str(tmp_path / "supervise" / "tally"), (time.time() - 60,) * 2)
        status = write_status(tmp_path, 77, time.time() - 5)  # the C runsv's, since
        clock = Clock()
        monkeypatch.setattr(sides, "time", clock)
        with FsReader() as fs:
            found = side_tally(fs, str(tmp_path), status, catch_up=10)
        assert found == (status, None, None) and clock.pauses == []
    finally:
        os.close(reader)


def test_a_status_that_never_comes_ends_the_wait(tmp_path, monkeypatch):
    reader = supervised(tmp_path)
    try:
        old = write_status(tmp_path, 41, time.time() - 5)
        write_tally(tmp_path, 42)
        clock = Clock()
        monkeypatch.setattr(sides, "time", clock)
        with FsReader() as fs:
            found = side_tally(fs, str(tmp_path), old, catch_up=0.2)
        # looked again until catch_up had passed, then no more
        assert found == (old, None, None)
        assert sum(clock.pauses[:-1]) <= 0.2 < sum(clock.pauses), clock.pauses
    finally:
        os.close(reader)
