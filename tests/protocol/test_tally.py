"""protocol/tally: a side's account as runsv keeps it, and as a reader finds it in
``supervise/`` — a whole regular file only, nothing followed, no FIFO waited on."""

import os

from runit_provision.protocol.backoff import Backoff, Waiting
from runit_provision.protocol.status import State, Status
from runit_provision.protocol.tally import (
    CRASH_LOOP, TALLY, Tally, read_tally_at, status_tally_read, tally_bytes, tally_read_at)

from ..sides import NOW, NS


def test_starts_and_deaths_are_counted_and_the_pid_follows():
    tally = Tally()
    tally.started(42)
    tally.started(43)
    assert (tally.pid, tally.starts) == (43, 2)
    tally.died(1 << 8, NOW, NS)
    assert (tally.pid, tally.deaths, tally.recent_ns) == (0, 1, (NOW,))


def test_a_crash_loop_begins_at_its_count_of_deaths():
    deaths, within = CRASH_LOOP
    moments = tuple(NOW - index * NS for index in range(deaths))
    assert Tally(recent_ns=moments).is_crash_looping(NOW)
    assert not Tally(recent_ns=moments[:-1]).is_crash_looping(NOW)
    assert not Tally(recent_ns=moments).is_crash_looping(NOW + within * NS)


def test_records_differ_by_any_field():
    assert Tally(pid=1) != Tally(pid=2) and Tally() != "Tally()"
    assert Backoff(1) != Backoff(2) and Waiting(1) != Waiting(2)


def supervise_with(tmp_path, make):
    """``supervise/`` open as a reader opens it, its ``tally`` made by ``make(path)``."""
    make(str(tmp_path / TALLY))
    return os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)


def test_a_whole_tally_is_read_whatever_its_mode(tmp_path):
    tally = Tally(pid=42, starts=1)

    def write(path):
        with open(path, "wb") as file:
            file.write(tally_bytes(tally))
        os.chmod(path, 0o755)
    fd = supervise_with(tmp_path, write)
    try:
        assert tally_read_at(fd) == (tally, None) and read_tally_at(fd) == tally
    finally:
        os.close(fd)


def test_a_link_or_a_fifo_named_tally_is_no_tally(tmp_path):
    real = tmp_path / "elsewhere"
    real.write_bytes(tally_bytes(Tally(pid=42, starts=1)))
    (tmp_path / "linked").mkdir()
    (tmp_path / "fifo").mkdir()
    for name, make in (("linked", lambda path: os.symlink(str(real), path)),
                       ("fifo", os.mkfifo)):  # open would wait for a writer
        fd = supervise_with(tmp_path / name, make)
        try:
            assert tally_read_at(fd) == (None, None), name
        finally:
            os.close(fd)


def test_a_tally_is_the_account_of_the_status_that_names_its_pid():
    data = tally_bytes(Tally(pid=42, starts=1))
    running = Status(1_700_000_000, 0, 42, False, "u", False, State.RUN)
    assert status_tally_read(data, running) == (Tally(pid=42, starts=1), None)
    other = Status(1_700_000_000, 0, 41, False, "u", False, State.RUN)
    assert status_tally_read(data, other) == (None, None)
    assert status_tally_read(b"garbage", running) == (None, None)
