"""protocol/tally: a side's account as runsv keeps it, and as a reader finds it in
``supervise/`` — a whole regular file only, nothing followed, no FIFO waited on."""

import os
from binascii import crc32

import pytest

from runit_provision.protocol.backoff import Backoff, Waiting
from runit_provision.protocol.status import State, Status
from runit_provision.protocol.tally import (
    CRASH_LOOP, TALLY, Tally, read_tally_at, status_tally_read, tally_bytes, tally_from_bytes,
    exit_text, tally_read, tally_read_at)

from ..sides import NOW, NS


def test_starts_and_deaths_are_counted_and_the_pid_follows():
    tally = Tally()
    assert repr(tally) == ("Tally(pid=0, starts=0, deaths=0, exit_status=None, died_at_ns=0, "
                           "ran_ns=None, recent_ns=(), gave_up_ns=0, down_ns=0, waiting=None)")
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
    stopped = Tally(recent_ns=moments, down_ns=NOW)  # the stop's own death is before it
    assert stopped.deaths_within(within, NOW) == 0 and not stopped.is_crash_looping(NOW)


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


AT = 1_700_000_000_123_999_999


def body_of(tally):
    data = tally_bytes(tally)
    assert len(data) == 1024 and data.endswith(b" \n")
    return data[:data.index(b" crc=")].decode()


def test_each_end_is_written_and_read_back():
    dumped = Tally(7, 1, 1, 9 | 0x80, AT, None, (AT, 0), gave_up_ns=AT + 1,
                   waiting=Waiting(2, 1, 3, 4.0, AT + 2))
    assert body_of(dumped) == (
        "tally 1 pid=7 starts=1 deaths=1 signal=9 core=1 at=1700000000.123999999 ran=unknown"
        " recent=0,1700000000123 gave_up=1700000000.124000000"
        " restarts=2 step=1/3 delay=4.000 due=1700000000.124000001")
    back = tally_from_bytes(tally_bytes(dumped))
    assert (back.exit_status, back.ran_ns, back.recent_ns, back.gave_up_ns) == (
        9 | 0x80, None, (AT, 999_999), AT + 1)   # the recent deaths to the millisecond
    assert back.waiting.words() == dumped.waiting.words()
    killed = Tally(1, 1, 1, 15, AT, 5, waiting=Waiting(3))
    assert body_of(killed).endswith("signal=15 core=0 at=1700000000.123999999"
                                    " ran=0.000000005 recent= restarts=3")
    assert tally_from_bytes(tally_bytes(killed)).exit_status == 15
    for tally, end in ((Tally(), "exit=none core=0 at=0.000000000"),
                       (Tally(1, 1, 1, None, AT), "exit=unknown core=0 at=1700000000")):
        assert end in body_of(tally) and tally_from_bytes(tally_bytes(tally)) == tally


def signed(body):
    return body + b" crc=%08x" % crc32(body)


@pytest.mark.parametrize("data, why", [
    (signed(b"tally 1 pid=0 starts=1 deaths=1 exit=1 core=0 at=1 recent=0"), "no ran="),
    (signed(b"tally 1 pid=0 starts=1 deaths=1 at=1 ran=0 recent=0 signal=300"),
     "signal=300 is not a number within 0..127"),
    (signed(b"tally 1 pid=0 starts=1 deaths=1 at=1 ran=0 recent=0 x"),
     "tally: x is not a NAME=VALUE word"),
    (signed(b"tally 1 pid=0 starts=1 deaths=1 at=1 ran=0 recent=0").upper(), None),
    (signed(b"tally 2 pid=0 starts=1 deaths=1 at=1 ran=0 recent=0"), None),
    (signed(b"tally 1 pid=0 starts=1 deaths=1 at=1 ran=0 recent=0")[:-1], None),  # torn
])
def test_a_file_that_is_no_tally_says_why_when_it_is_whole(data, why):
    assert tally_read(data) == (None, why)


def test_a_whole_tally_is_read_in_any_case_of_its_crc_and_padding():
    body = b"tally 1 pid=0 starts=1 deaths=1 signal=11 core=1 at=1 ran=0 recent="
    data = (body + b" crc=%08X" % crc32(body)).ljust(1023) + b"\n"
    found, why = tally_read(data)
    assert why is None and found.exit_status == 11 | 0x80


@pytest.mark.parametrize("field, why", [
    (b"exit=256", "exit=256 is not a number within 0..255"),
    (b"pid=4194305", "pid=4194305 is not a number within 0..4194304"),
    (b"starts=x", "starts=x is not a number within 0..1000000000000"),
    (b"deaths=x", "deaths=x is not a number within 0..1000000000000"),
    (b"recent=x", "recent=x is not a number within -253402300798499..1500"),
    (b"ran=x", "ran=x is not a time within 1970..9999"),
    (b"gave_up=x", "gave_up=x is not a time within 1970..9999"),
    (b"down=x", "down=x is not a time within 1970..9999"),
])
def test_each_field_out_of_its_bounds_is_named(field, why):
    fields = dict(word.split(b"=") for word in
                  b"pid=0 starts=1 deaths=1 exit=1 at=1.5 ran=0 recent=0".split())
    name, value = field.split(b"=")
    fields[name] = value
    body = b"tally 1 " + b" ".join(b"%s=%s" % item for item in fields.items())
    assert tally_read(signed(body)) == (None, why)


def test_an_exit_of_0_an_odd_signal_and_a_signal_without_core_are_read():
    for end, status in ((b"exit=0", 0), (b"signal=2 core=1", 2 | 0x80), (b"signal=2 core=0", 2)):
        body = b"tally 1 pid=0 starts=1 deaths=1 %s at=1 ran=0 recent=" % end
        assert tally_read(signed(body))[0].exit_status == status
    body = b"tally 1 pid=0 starts=1 deaths=1 at=1 ran=0 recent="
    assert tally_read(signed(body)) == (None, "exit= is not a number within 0..255")


def test_a_signal_without_a_name_is_its_number():
    assert exit_text({"signal": 99, "core": False}) == "signal 99"
