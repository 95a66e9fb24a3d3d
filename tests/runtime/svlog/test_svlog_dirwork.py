"""A write to ``current`` asked again after the agent that was asked it died before answering
(svlog/dirwork.write_current's ``resumed``): what that agent wrote counts, and only what it
did not write is written — for every length it may have written, and not at all when
``current`` does not look like it (real files in a temp directory)."""

import os

import pytest

from runit_provision.runtime.svlog.dirwork import write_current, write_rendered

BEFORE = b"earlier line\n"
DATA = b"first line\nsecond line\n"


def _current(tmp_path, content):
    path = tmp_path / "current"
    path.write_bytes(content)
    return path, os.open(str(path), os.O_WRONLY | os.O_APPEND), os.open(
        str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)


@pytest.mark.parametrize("made", range(len(DATA) + 1))
def test_what_the_dead_agent_wrote_is_not_written_again(tmp_path, made):
    path, fd, dir_fd = _current(tmp_path, BEFORE + DATA[:made])
    try:
        written, new_fd = write_current(dir_fd, fd, [DATA[:5], DATA[5:]], len(BEFORE), True)
    finally:
        os.close(fd)
        os.close(dir_fd)
    assert (written, new_fd) == (len(DATA), -1)
    assert path.read_bytes() == BEFORE + DATA


@pytest.mark.parametrize("content, why", [
    (b"earl", "shorter than before the write: someone else's doing, not the agent's"),
    (BEFORE + DATA + b"x", "longer than the write could make it"),
])
def test_a_current_that_does_not_fit_is_written_whole(tmp_path, content, why):
    path, fd, dir_fd = _current(tmp_path, content)
    try:
        written, _ = write_current(dir_fd, fd, DATA, len(BEFORE), True)
    finally:
        os.close(fd)
        os.close(dir_fd)
    assert written == len(DATA), why
    assert path.read_bytes() == content + DATA, why


def test_a_first_try_writes_whole_whatever_current_holds(tmp_path):
    path, fd, dir_fd = _current(tmp_path, BEFORE + DATA[:4])
    try:
        assert write_current(dir_fd, fd, DATA, len(BEFORE)) == (len(DATA), -1)
    finally:
        os.close(fd)
        os.close(dir_fd)
    assert path.read_bytes() == BEFORE + DATA[:4] + DATA


def test_a_rendered_write_resumes_after_what_was_rendered_and_written(tmp_path):
    path, fd, dir_fd = _current(tmp_path, BEFORE + b"T first li")
    try:
        written, new_fd, unwritten, number, last = write_rendered(
            dir_fd, fd, b"T ", DATA, len(BEFORE), True)
    finally:
        os.close(fd)
        os.close(dir_fd)
    assert path.read_bytes() == BEFORE + b"T first line\nT second line\n"
    assert (written, new_fd, unwritten, number, last) == (
        len(b"T first line\nT second line\n"), -1, b"", 0, ord("\n"))
