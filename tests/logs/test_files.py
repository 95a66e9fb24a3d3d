"""logs/files.py's blocks: whole lines, read where the last block's last line ended — the
file's bytes once each, whatever the block size, the start, the stop and the last line."""

import os

import pytest

from runit_provision.logs.decompressing import Decompressing
from runit_provision.logs.files import blocks

from .helpers import read_blocks


def whole_lines(found, last_may_be_cut=True):
    """Every block but the last ends with a newline (the last may not: a cut line)."""
    return all(block.endswith(b"\n") for block in found[:-1]) and (
        last_may_be_cut or not found or found[-1].endswith(b"\n"))


LINES = b"".join(b"line %d %s\n" % (index, b"x" * (index % 37)) for index in range(400))


@pytest.mark.parametrize("size", [7, 64, 100, 1000, 1 << 16])
@pytest.mark.parametrize("tail", [b"", b"no newline at the end", b"\n", b"y" * 300])
def test_blocks_hold_the_file_once_in_whole_lines(tmp_path, size, tail):
    path = tmp_path / "current"
    path.write_bytes(LINES + tail)
    found = read_blocks(path, size=size)
    assert b"".join(found) == LINES + tail and all(found)
    assert whole_lines(found, last_may_be_cut=True)
    if tail and not tail.endswith(b"\n"):
        assert found[-1].endswith(tail)  # the unfinished line last, whole


def test_a_line_longer_than_the_block_is_read_whole(tmp_path):
    path = tmp_path / "current"
    long_line = b"z" * 5000 + b"\n"
    path.write_bytes(b"a\n" + long_line + b"b\n")
    found = read_blocks(path, size=64)
    assert b"".join(found) == b"a\n" + long_line + b"b\n" and long_line in found[1]
    assert whole_lines(found, last_may_be_cut=False)


@pytest.mark.parametrize("start", [0, 5, 300])
@pytest.mark.parametrize("stop_at", [None, 2000, 2003, len(LINES)])
def test_from_a_start_to_a_stop(tmp_path, start, stop_at):
    """``stop``: a follower's offset — nothing after it, even in the middle of a line (the
    line the follower holds is cut there)."""
    path = tmp_path / "current"
    path.write_bytes(LINES)
    found = read_blocks(path, start=start, size=128, stop=stop_at)
    assert b"".join(found) == LINES[start:stop_at]
    assert whole_lines(found)


def test_a_compressed_file_reads_the_same_blocks(tmp_path):
    import gzip

    path = tmp_path / "@4000000065000000000000000.s"
    path.write_bytes(gzip.compress(LINES + b"cut"))
    fd = os.open(str(path), os.O_RDONLY)
    try:
        reader = Decompressing(fd, "gzip", path.name)
        found = list(blocks(reader, start=5, size=100))
        reader.close()
    finally:
        os.close(fd)
    assert b"".join(found) == (LINES + b"cut")[5:] and whole_lines(found)


@pytest.mark.parametrize("module, compress", [("gzip", "compress"), ("bz2", "compress"),
                                              ("lzma", "compress")])
def test_a_compressed_file_closed_leaves_no_descriptor_open(tmp_path, module, compress):
    """The decompressor does not close a file it was handed: ``close`` closes it too (a
    merge of many rotated files held one descriptor each until collected)."""
    import importlib

    path = tmp_path / "@4000000065000000000000000.s"
    path.write_bytes(getattr(importlib.import_module(module), compress)(LINES))
    fd = os.open(str(path), os.O_RDONLY)
    try:
        before = set(os.listdir("/proc/self/fd"))
        reader = Decompressing(fd, module, path.name)
        assert b"".join(blocks(reader)) == LINES
        reader.close()
        assert set(os.listdir("/proc/self/fd")) == before
    finally:
        os.close(fd)
