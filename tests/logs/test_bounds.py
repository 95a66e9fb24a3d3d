"""What a log file can cost a reader is bounded (issue 43, item 2; docs/logs.md#bounds): a line
longer than the line bound is cut there and marked, the rest of it skipped (a sparse file's
hole jumped, not read); a tail reads back a bounded amount of one file; a compressed file is
decompressed to a bounded size, named when reached — and an ordinary log reads as before.

In-process, on files written by hand (``truncate`` makes the sparse ones: no disk used); the
security tier (tests/security/test_logs_bounds.py) plants the same as a real user and times
root's commands.
"""

import functools
import gzip
import json
import os

import pytest

from runit_provision.cli.main import main
from runit_provision.logs import (CUT_MARK, DECOMPRESSED_FLOOR, DECOMPRESSED_RATIO, LINE_MAX,
                                  READ_BACK, DecodeError, Limits, files)
from runit_provision.logs.decompressing import Decompressing
from runit_provision.logs.files import ReadBackCut, blocks, blocks_backward
from runit_provision.logs.follow import Follower
from runit_provision.logs.view import Source
from runit_provision.logs.wholelines import WholeLines

from .helpers import BASE, LogDir, read_blocks, stamp

EIGHT_GIB = 8 << 30
MARK = CUT_MARK % LINE_MAX


def logs(capsysbinary, *args):
    code = main(["logs"] + [str(arg) for arg in args])
    captured = capsysbinary.readouterr()
    return code, captured.out, captured.err.decode()


def stamped(at, text):
    return ("%s %s\n" % (stamp("tai64n", at), text)).encode()


@pytest.fixture
def counted(monkeypatch):
    """The bytes the readers read through ``pread`` (files.py's ``os``, follow.py's
    ``os``), counted."""
    found = {"bytes": 0}
    pread = os.pread

    def counting(fd, size, offset):
        data = pread(fd, size, offset)
        found["bytes"] += len(data)
        return data
    monkeypatch.setattr(files.os, "pread", counting)
    monkeypatch.setattr(os, "pread", counting)
    return found


def backward(path, **options):
    """``blocks_backward`` of the file, in file order; the ReadBackCut raised, or None."""
    fd = os.open(str(path), os.O_RDONLY)
    found, cut = [], None
    try:
        for block in blocks_backward(fd, label="F", **options):
            found.append(block)
    except ReadBackCut as exc:
        cut = exc
    finally:
        os.close(fd)
    return b"".join(reversed(found)), cut


LINES = b"".join(b"line %d %s\n" % (index, b"x" * (index % 37)) for index in range(400))


# -- a line: cut at the bound, marked, the rest skipped -----------------------------------------
def test_a_line_at_the_bound_is_whole_one_byte_longer_is_cut_and_marked(tmp_path):
    path = tmp_path / "current"
    at_bound, longer = b"a" * LINE_MAX, b"b" * (LINE_MAX + 1)
    path.write_bytes(b"first\n" + at_bound + b"\n" + longer + b"\nlast\n")
    expected = b"first\n" + at_bound + b"\n" + b"b" * LINE_MAX + MARK + b"\nlast\n"
    assert b"".join(read_blocks(path)) == expected
    assert backward(path) == (expected, None)


@pytest.mark.parametrize("size", [7, 100, 1000, 1 << 16])
def test_a_megabyte_line_is_its_first_64_kib_and_the_lines_after_it_are_whole(tmp_path, size):
    path = tmp_path / "current"
    huge = bytes(range(256)).replace(b"\n", b"") * 4200  # ~1 MiB, no newline
    path.write_bytes(LINES + huge + b"\n" + LINES + huge)  # the last one without newline too
    cut = huge[:LINE_MAX] + MARK + b"\n"
    assert b"".join(read_blocks(path, size=size)) == LINES + cut + LINES + cut
    if size == 1 << 16:
        assert backward(path) == (LINES + cut + LINES + cut, None)
        assert backward(path, first=300) == (LINES + cut + LINES + cut, None)


def test_a_follower_offset_inside_a_long_line_stops_there(tmp_path):
    path = tmp_path / "current"
    path.write_bytes(b"a\n" + b"z" * (3 * LINE_MAX) + b"\nb\n")
    assert b"".join(read_blocks(path, stop=2 + 2 * LINE_MAX)) == (
        b"a\n" + b"z" * LINE_MAX + MARK + b"\n")
    assert b"".join(read_blocks(path, stop=2 + 1000)) == b"a\n" + b"z" * 1000


def test_a_sparse_8_gib_line_is_cut_and_its_hole_jumped_not_read(tmp_path, counted):
    """``truncate -s 8G current``: the forward read is the cut line and what follows the
    hole, having read the bytes that are not a hole (plus a block or two)."""
    path = tmp_path / "current"
    path.write_bytes(stamped(BASE, "before"))
    with open(str(path), "r+b") as handle:
        handle.truncate(EIGHT_GIB)
        handle.seek(EIGHT_GIB)
        handle.write(b"end of the long line\n" + stamped(BASE + 2, "after"))
    found = b"".join(read_blocks(path))
    assert found == (stamped(BASE, "before") + b"\0" * LINE_MAX + MARK + b"\n"
                     + stamped(BASE + 2, "after"))
    assert counted["bytes"] < 4 * LINE_MAX + 8192


def test_a_follower_offset_inside_a_hole_stops_there(tmp_path):
    path = tmp_path / "current"
    path.write_bytes(b"a\n")
    os.truncate(str(path), EIGHT_GIB)
    with open(str(path), "ab") as handle:
        handle.write(b"\nb\n")
    assert b"".join(read_blocks(path, stop=1 << 30)) == b"a\n" + b"\0" * LINE_MAX + MARK + b"\n"
    assert b"".join(read_blocks(path)) == b"a\n" + b"\0" * LINE_MAX + MARK + b"\nb\n"


def test_a_tail_reads_back_at_most_the_bound_and_says_so(tmp_path, counted):
    path = tmp_path / "current"
    path.write_bytes(stamped(BASE, "before"))
    os.truncate(str(path), EIGHT_GIB)
    found, cut = backward(path)
    assert found == b"" and str(cut) == (
        "F: not read further back than %d bytes (the bound on one file): what is older not "
        "shown" % READ_BACK)
    assert counted["bytes"] == READ_BACK
    # lines after the hole are read; the bound is on bytes, from where the read starts
    with open(str(path), "ab") as handle:
        handle.write(b"\n" + stamped(BASE + 1, "one") + stamped(BASE + 2, "two"))
    fd = os.open(str(path), os.O_RDONLY)
    try:
        first = next(blocks_backward(fd))
    finally:
        os.close(fd)
    assert first == stamped(BASE + 1, "one") + stamped(BASE + 2, "two")


def test_the_data_raises_the_bounds_never_lowers_them():
    assert (Limits().line, Limits().read_back) == (LINE_MAX, READ_BACK)
    assert Limits(line_length=100, size=1000).line == LINE_MAX  # svlogd -l 100 writes longer
    declared = Limits(line_length=1 << 20, size=64 << 20)
    assert (declared.line, declared.read_back, declared.decompressed(10)) == (
        1 << 20, 64 << 20, 64 << 20)
    assert Limits().decompressed(10) == DECOMPRESSED_FLOOR
    assert Limits().decompressed(1 << 20) == DECOMPRESSED_RATIO << 20


# -- chunks: held in pieces, never rebuilt --------------------------------------------------------
@pytest.mark.parametrize("chunk", [1, 5, 64, 1000, 1 << 16, 1 << 20])
def test_whole_lines_from_chunks_are_the_lines_as_written(chunk):
    data = LINES * 40 + b"unfinished"
    lines = WholeLines(LINE_MAX)
    found = [block for start in range(0, len(data), chunk)
             for block in lines.feed(data[start:start + chunk])]
    assert b"".join(found) + lines.rest() == data
    assert all(block.endswith(b"\n") for block in found)


@pytest.mark.parametrize("chunk", [1000, 1 << 16, 1 << 20])
def test_whole_lines_cut_a_long_line_in_a_chunk_or_across_chunks(chunk):
    huge = b"q" * (3 * LINE_MAX + 5)
    data = LINES + huge + b"\n" + LINES + huge + b"\n" + LINES
    lines = WholeLines(LINE_MAX)
    found = [block for start in range(0, len(data), chunk)
             for block in lines.feed(data[start:start + chunk])]
    cut = b"q" * LINE_MAX + MARK + b"\n"
    assert b"".join(found) + lines.rest() == LINES + cut + LINES + cut + LINES


def test_a_line_without_a_newline_holds_no_more_than_the_bound():
    lines = WholeLines(LINE_MAX)
    found = []
    for _ in range(30 * 16):  # 30 MiB in 64 KiB chunks
        found += lines.feed(b"\0" * (1 << 16))
        assert lines.held <= LINE_MAX and len(lines.pieces) <= 2
    assert found == [b"\0" * LINE_MAX + MARK + b"\n"] and lines.rest() == b""
    assert lines.feed(b"still the same line\nnext\n") == [b"next\n"]


# -- a compressed file: decompressed up to its bound, named ---------------------------------------
def test_a_gzip_bomb_is_read_to_its_bound_and_named(tmp_path):
    path = tmp_path / "@400000006500000000000000.s"
    path.write_bytes(gzip.compress(b"x" * (40 << 20)))  # ~40 KB
    fd = os.open(str(path), os.O_RDONLY)
    reader = Decompressing(fd, "gzip", path.name)
    try:
        assert reader.limit == max(DECOMPRESSED_FLOOR,
                                   DECOMPRESSED_RATIO * path.stat().st_size)
        found = []
        with pytest.raises(DecodeError) as raised:
            for block in blocks(reader):
                found.append(block)
    finally:
        reader.close()
        os.close(fd)
    assert found == [b"x" * LINE_MAX + MARK + b"\n"]
    assert str(raised.value) == (
        "%s: decompressed past %d bytes, the bound for a compressed file of %d bytes: the "
        "rest not read" % (path.name, reader.limit, path.stat().st_size))


def test_a_compressed_file_at_its_bound_is_read_whole(tmp_path):
    path = tmp_path / "@400000006500000000000000.s"
    data = LINES * 10
    path.write_bytes(gzip.compress(data))
    fd = os.open(str(path), os.O_RDONLY)
    reader = Decompressing(fd, "gzip", path.name, limit=len(data))
    try:
        assert b"".join(blocks(reader)) == data
    finally:
        reader.close()
        os.close(fd)


# -- the view: every mode bounded, the cut shown, the bound named ---------------------------------
@functools.lru_cache(maxsize=None)
def zeros_bomb():
    """40 MiB of NULs without a newline, gzip'd (~40 KB): compressed once for the file."""
    return gzip.compress(b"\0" * (40 << 20))


@pytest.fixture
def planted(tmp_path):
    """``web``: a gzip'd rotated file of 40 MiB without a newline, then ``current`` with two
    lines; ``big``: ``current`` with a line, then 8 GiB of hole."""
    web = LogDir(tmp_path / "web")
    (web.path / "@400000006500000000000000.s").write_bytes(zeros_bomb())
    web.add("one", BASE + 1)
    web.add("two", BASE + 2)
    big = LogDir(tmp_path / "big")
    big.add("before the hole", BASE)
    os.truncate(str(big.current), EIGHT_GIB)
    return web, big


def bound_said(err, web):
    size = (web.path / "@400000006500000000000000.s").stat().st_size
    return err.count("\n") == 1 and err.endswith(
        "@400000006500000000000000.s: decompressed past %d bytes, the bound for a compressed "
        "file of %d bytes: the rest not read\n" % (DECOMPRESSED_RATIO * size, size))


def test_the_whole_view_shows_the_cut_line_and_names_the_bound(planted, capsysbinary):
    web, big = planted
    code, out, err = logs(capsysbinary, "--dir", web.path, "-o", "cat", "--raw")
    assert code == 1 and bound_said(err, web)
    assert out == b"\0" * LINE_MAX + MARK + b"\none\ntwo\n"
    code, out, err = logs(capsysbinary, "--dir", big.path, "-o", "cat")
    assert (code, err) == (0, "")
    assert out == b"before the hole\n" + b"\\x00" * LINE_MAX + MARK + b"\n"


def test_json_stays_one_valid_object_a_line(planted, capsysbinary):
    web, big = planted
    code, out, err = logs(capsysbinary, "--dir", web.path, big.path, "-o", "json")
    assert code == 1 and bound_said(err, web)
    records = [json.loads(line) for line in out.decode("ascii").splitlines()]
    assert [record["line"][-len(MARK):] for record in records].count(MARK.decode()) == 2
    assert ["\0" * LINE_MAX + MARK.decode()] * 2 == [
        record["line"] for record in records if record["line"].endswith(MARK.decode())]


@pytest.mark.parametrize("options", [["-n", "5"], ["-r"], ["-n", "2", "-r"],
                                     ["-g", "before", "-n", "1"]])
def test_a_tail_of_the_hole_names_its_bound_and_shows_nothing_older(planted, capsysbinary,
                                                                    options):
    _, big = planted
    code, out, err = logs(capsysbinary, "--dir", big.path, *options)
    assert (code, out) == (1, b"")
    assert err == ("runit-provision logs: big: %s/current: not read further back than %d "
                   "bytes (the bound on one file): what is older not shown\n"
                   % (big.path, READ_BACK))


def test_a_view_newest_first_or_a_search_reads_back_what_a_file_holds_on_disk(
        tmp_path, capsysbinary):
    """Not only READ_BACK: a file larger than that, every byte of it written, is read back
    whole by ``-r`` and by ``-g`` looking for a rare match (a tail without ``-g`` stops at
    the bound: its last lines are near its end)."""
    web = LogDir(tmp_path / "web")
    line = stamped(BASE, "x" * 200)
    with open(str(web.current), "wb") as handle:
        handle.write(stamped(BASE, "rare") + line * (READ_BACK // len(line) + 1000))
    assert web.current.stat().st_size > READ_BACK
    code, out, err = logs(capsysbinary, "--dir", web.path, "-r", "-o", "cat")
    assert (code, err) == (0, "") and out.endswith(b"\nrare\n")
    assert out.count(b"\n") == READ_BACK // len(line) + 1001
    assert logs(capsysbinary, "--dir", web.path, "-g", "rare", "-n", "1", "-o", "cat") == (
        0, b"rare\n", "")


def test_a_tail_that_reaches_the_bomb_shows_its_cut_line(planted, capsysbinary):
    web, _ = planted
    code, out, err = logs(capsysbinary, "--dir", web.path, "-n", "5", "-o", "cat", "--raw")
    assert code == 1 and bound_said(err, web)
    assert out == b"\0" * LINE_MAX + MARK + b"\none\ntwo\n"
    code, out, err = logs(capsysbinary, "--dir", web.path, "-n", "2", "-o", "cat")
    assert (code, out, err) == (0, b"one\ntwo\n", "")  # not reached: not read


def test_since_reads_a_block_at_a_time(planted, capsysbinary, counted):
    _, big = planted
    code, out, err = logs(capsysbinary, "--dir", big.path, "--since", "2000-01-01", "-o",
                          "cat")
    assert (code, err) == (0, "")
    assert out == b"before the hole\n" + b"\\x00" * LINE_MAX + MARK + b"\n"
    assert counted["bytes"] < 1 << 20


def test_a_compressed_file_read_to_learn_its_stamps_loses_no_line(tmp_path, capsysbinary):
    """Its first block was read by one stream, the rest by another, which began after the
    line the first held unfinished: that line lost its start (before issue 43)."""
    web = LogDir(tmp_path / "web")
    data = b"".join(stamped(BASE + index, "line %05d %s" % (index, "y" * 70))
                    for index in range(2000))
    (web.path / "@400000006500000100000000.s").write_bytes(gzip.compress(data))
    code, out, _ = logs(capsysbinary, "--dir", web.path, "-o", "cat")
    assert code == 0
    assert out.splitlines() == [b"line %05d %s" % (index, b"y" * 70) for index in range(2000)]


def test_the_datas_line_length_raises_the_line_bound(tmp_path, capsysbinary):
    data = tmp_path / "data.yaml"
    data.write_text("runit::init: none\nrunit::sv_dir: %s/sv\nrunit::service_dir: %s/service\n"
                    "runit::log_dir: %s/log\nrunit::services:\n"
                    "  web: {command: /usr/bin/web, log: {line_length: 200000}}\n"
                    "  db: {command: /usr/bin/db}\n" % (tmp_path, tmp_path, tmp_path))
    long = "w" * 150000
    for name in ("web", "db"):
        LogDir(tmp_path / "log" / name, "human").add(long, BASE)
    code, out, _ = logs(capsysbinary, "--data", data, "web", "-o", "cat")
    assert (code, out) == (0, long.encode() + b"\n")
    code, out, _ = logs(capsysbinary, "--data", data, "db", "-o", "cat")
    assert (code, out) == (0, (long[:LINE_MAX - 26]).encode() + MARK + b"\n")


# -- following ---------------------------------------------------------------------------------------
def followed(follower):
    return [line for chunk in follower.poll_all() for line in chunk.lines]


def test_follow_starts_after_a_hole_without_reading_it(planted, counted):
    _, big = planted
    source = Source("big", str(big.path))
    follower = Follower([source])
    try:
        point = follower.start_points()[source]
        assert point.offset == EIGHT_GIB
        assert followed(follower) == []
        with open(str(big.current), "ab") as handle:  # ends the long line, then one more
            handle.write(b"the long line's end\n" + stamped(BASE + 5, "new"))
        assert followed(follower) == [stamped(BASE + 5, "new").rstrip(b"\n")]
    finally:
        follower.close()
    # where to start was looked for as far back as the bound, and the hole was not read
    assert counted["bytes"] < READ_BACK + (1 << 16)


def following(tmp_path):
    """A log directory with one line, its Source, and a Follower of it begun."""
    web = LogDir(tmp_path / "web")
    web.add("first", BASE)
    source = Source("web", str(web.path))
    return web, source, Follower([source])


def test_follow_holds_an_unfinished_line_up_to_the_bound(tmp_path):
    web, _, follower = following(tmp_path)
    try:
        assert followed(follower) == []
        with open(str(web.current), "ab") as handle:
            for _ in range(40):  # 2.5 MiB of one line, written in pieces
                handle.write(b"u" * (1 << 16))
                handle.flush()
                found = followed(follower)
                assert found in ([], [b"u" * LINE_MAX + MARK])
                assert follower.tails[0].lines.held <= LINE_MAX
            handle.write(b"\n" + stamped(BASE + 1, "after"))
        assert followed(follower) == [stamped(BASE + 1, "after").rstrip(b"\n")]
    finally:
        follower.close()


def test_follow_reads_a_rotated_bomb_it_never_held_to_its_bound(tmp_path):
    web, source, follower = following(tmp_path)
    try:
        follower.start_points()
        (web.path / "@400000006600000000000000.s").write_bytes(zeros_bomb())
        size = (web.path / "@400000006600000000000000.s").stat().st_size
        os.rename(str(web.current), str(web.path / "@400000006600000100000000.s"))
        web.current.write_bytes(stamped(BASE + 9, "new current"))
        lines = followed(follower)
    finally:
        follower.close()
    assert lines == [b"\0" * LINE_MAX + MARK, stamped(BASE + 9, "new current").rstrip(b"\n")]
    assert source.problems == [
        "@400000006600000000000000.s: decompressed past %d bytes, the bound for a compressed "
        "file of %d bytes: the rest not read" % (DECOMPRESSED_RATIO * size, size)]
