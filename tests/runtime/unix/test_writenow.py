"""runtime/unix/writenow: a line written now or not at all, never waiting, the descriptor's
own flags untouched (its children share them)."""

import fcntl
import os
import socket

import pytest

from runit_provision.runtime.unix.writenow import write_now

LINE = b"runit-provision: run done (exit 0)\n"


def test_a_pipe_with_room_takes_the_line_and_keeps_blocking():
    read_end, write_end = os.pipe()
    try:
        assert write_now(write_end, LINE)
        assert os.read(read_end, 100) == LINE
        assert not fcntl.fcntl(write_end, fcntl.F_GETFL) & os.O_NONBLOCK
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_full_pipe_gets_nothing_and_does_not_wait():
    read_end, write_end = os.pipe()
    try:
        os.set_blocking(write_end, False)
        filled = 0
        try:
            while True:
                filled += os.write(write_end, b"x" * 512)
        except BlockingIOError:
            pass
        os.set_blocking(write_end, True)
        assert not write_now(write_end, LINE)  # a blocking write would hang the test here
        os.set_blocking(read_end, False)
        drained = b""
        try:
            while True:
                drained += os.read(read_end, 65536)
        except BlockingIOError:
            pass
        assert drained == b"x" * filled
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_pipe_nobody_reads_loses_the_line_as_a_childs_echo_would():
    """EPIPE: lost, as the finish's own echo would be (which SIGPIPE would end) — done, not
    left to a finish that would only lose it too; the tree ignores SIGPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        assert write_now(write_end, LINE)
    finally:
        os.close(write_end)


def test_a_regular_file_is_written_where_its_offset_is(tmp_path):
    path = tmp_path / "out"
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, b"ran\n")
        assert write_now(fd, LINE)
    finally:
        os.close(fd)
    assert path.read_bytes() == b"ran\n" + LINE


def test_dev_null_takes_it_and_a_socket_or_a_closed_descriptor_does_not():
    null = os.open(os.devnull, os.O_WRONLY)
    ours, theirs = socket.socketpair()
    try:
        assert write_now(null, LINE)
        assert not write_now(ours.fileno(), LINE)
        theirs.setblocking(False)
        with pytest.raises(BlockingIOError):
            theirs.recv(100)  # nothing was sent
    finally:
        os.close(null)
        ours.close()
        theirs.close()
    spare = os.open(os.devnull, os.O_RDONLY)
    os.close(spare)
    assert not write_now(spare, LINE)
