"""protocol: TAI64N, the 20-byte status record, stat text, sv's status line, error strings.

Fixtures are the byte dumps of runit-protocol.md §10 (Debian runit 2.1.2-54).
"""

import errno

import pytest

from runit_provision.errors import ProtocolError
from runit_provision.protocol.errstr import error_str
from runit_provision.protocol.status import (
    State, Status, stat_text, status_from_bytes, status_line, status_to_bytes)
from runit_provision.protocol.tai64 import (
    runit_stamp, tai64n_from_unix, tai64n_label, unix_from_label, unix_from_tai64n)

RUNNING = "4000 0000 6b01 9151 0c5a 77cc a626 0000 00 75 00 01"
AFTER_DOWN = "4000 0000 6b01 9157 184b ead4 0000 0000 00 64 00 00"
PAUSED_WANT_DOWN = "4000 0000 6b01 9157 184b ead4 a626 0000 01 64 00 01"
GOT_TERM = "4000 0000 6b01 9157 184b ead4 a626 0000 00 64 01 01"
FINISH = "4000 0000 6b01 9157 184b ead4 b02c 0000 00 64 00 02"


def raw(dump):
    return bytes.fromhex(dump.replace(" ", ""))


@pytest.mark.parametrize("dump", [RUNNING, AFTER_DOWN, PAUSED_WANT_DOWN, GOT_TERM, FINISH])
def test_status_round_trip(dump):
    assert status_to_bytes(status_from_bytes(raw(dump))) == raw(dump)


def test_every_field_at_its_top_round_trips():
    """A record is read as the C runsv wrote it, whatever it holds (a pid or a stamp no
    process has yet), and written back the same."""
    top = bytes.fromhex("ff" * 16 + "01 75 01 02".replace(" ", ""))
    assert status_from_bytes(top).pid == 0xFFFFFFFF
    assert status_to_bytes(status_from_bytes(top)) == top


def test_status_fields_of_a_running_service():
    status = status_from_bytes(raw(RUNNING))
    assert status.pid == 9894  # little-endian 0x26a6
    assert status.seconds == 0x6B019151 - 10
    assert (status.paused, status.want, status.term, status.state) == (
        False, "u", False, State.RUN)


@pytest.mark.parametrize("size", [0, 18, 19, 21])
def test_status_of_wrong_size_is_bad_format(size):
    with pytest.raises(ProtocolError, match="^bad format: %d bytes, want 20$" % size):
        status_from_bytes(b"\0" * size)


def test_status_with_unknown_state_is_bad_format():
    with pytest.raises(ProtocolError, match="^bad format: state byte 7$"):
        status_from_bytes(raw(RUNNING)[:19] + b"\x07")


@pytest.mark.parametrize("args,text", [
    ((State.RUN, False, False, "up"), "run\n"),
    ((State.DOWN, False, False, "down"), "down\n"),
    ((State.RUN, True, False, "down"), "run, paused, want down\n"),
    ((State.RUN, False, True, "down"), "run, got TERM, want down\n"),
    ((State.RUN, False, True, "exit"), "run, got TERM, want exit\n"),
    ((State.FINISH, False, False, "down"), "finish, want down\n"),
    ((State.DOWN, True, False, "exit"), "down, paused\n"),
])
def test_stat_text(args, text):
    assert stat_text(*args) == text


@pytest.mark.parametrize("dump,normally_up,line", [
    (RUNNING, True, "run: svc: (pid 9894) 3s"),
    (RUNNING, False, "run: svc: (pid 9894) 3s, normally down"),
    (AFTER_DOWN, True, "down: svc: 0s, normally up"),
    # down with a down file: sv.c says "normally down" only of a service with a pid
    (AFTER_DOWN, False, "down: svc: 0s"),
    (PAUSED_WANT_DOWN, True, "run: svc: (pid 9894) 0s, paused, want down"),
    (GOT_TERM, True, "run: svc: (pid 9894) 0s, want down, got TERM"),
    (FINISH, True, "finish: svc: (pid 11440) 0s, want down"),
])
def test_status_line(dump, normally_up, line):
    status = status_from_bytes(raw(dump))
    now = status.seconds + 3 if status.state == State.RUN and status.pid and \
        not status.paused and not status.term else status.seconds
    assert status_line("svc", status, now, normally_up) == line


def test_status_line_never_negative():
    """A stamp in the future (the clock stepped back) reads as 0s, never as -100s."""
    status = status_from_bytes(raw(RUNNING))
    assert status_line("svc", status, status.seconds - 100, True) == "run: svc: (pid 9894) 0s"


def test_down_want_up_during_backoff():
    status = Status(100, 500, 0, False, "u", False, State.DOWN)
    assert status_line("./svc3", status, 100, True) == "down: ./svc3: 0s, normally up, want up"


def test_tai64n():
    assert tai64n_from_unix(0, 0).hex() == "400000000000000a00000000"
    assert unix_from_tai64n(tai64n_from_unix(1795264839, 207255500)) == (1795264839, 207255500)
    # 1795264839 + 10 = 0x6b019151: the stamp of the RUNNING dump above, nanoseconds 5
    label = tai64n_label(1795264839, 5)
    assert label == "@400000006b01915100000005"
    assert unix_from_label(label) == (1795264839, 5)
    with pytest.raises(ValueError):
        unix_from_label("@123")


def test_runit_stamp_keeps_microseconds_plus_500():
    assert runit_stamp(1_000_000_123_456_789) == (1_000_000, 123_456_500)


@pytest.mark.parametrize("number,text", [
    (errno.ENOENT, "file does not exist"), (errno.EAGAIN, "temporary failure"),
    (errno.EACCES, "access denied"), (errno.EPERM, "permission denied"),
    (errno.ENXIO, "device not configured"), (errno.ENOTDIR, "not a directory"),
    (errno.ENOSPC, "out of disk space"), (errno.EISDIR, "is a directory"),
    (errno.EEXIST, "file already exists"), (errno.EPROTO, "protocol error"),
    (0, "no error"), (99999, "unknown error"),
])
def test_error_strings_are_runits(number, text):
    assert error_str(number) == text
