"""logs/last.py: the last lines of a log's ``current`` — a bounded read, shown as ``logs``
shows them, and nothing read that a user could have pointed elsewhere (a link, a FIFO, a
file with other hard links)."""

import os
import time

import pytest

from runit_provision.logs.last import last_lines, last_lines_under

from .helpers import BASE, line


@pytest.fixture
def log_dir(tmp_path):
    directory = tmp_path / "log"
    directory.mkdir()
    fd = os.open(str(directory), os.O_RDONLY | os.O_DIRECTORY)
    yield directory, fd
    os.close(fd)


def clock(seconds):
    return time.strftime("%b %d %H:%M:%S", time.localtime(int(seconds))).encode()


@pytest.mark.parametrize("kind", ["tai64n", "human", "iso"])
def test_the_last_lines_with_their_time_as_logs_shows_it(log_dir, kind):
    directory, fd = log_dir
    (directory / "current").write_text("".join(
        line(kind, BASE + index, "line %d" % index) for index in range(30)))
    assert last_lines(fd, 3) == [clock(BASE + index) + b".000000 line %d" % index
                                 for index in (27, 28, 29)]


def test_unstamped_lines_and_bytes_are_given_as_they_are(log_dir):
    directory, fd = log_dir
    (directory / "current").write_bytes(b"plain\n\x1b]0;x\x07 \xff\nlast, no newline")
    assert last_lines(fd, 10) == [b"plain", b"\x1b]0;x\x07 \xff", b"last, no newline"]


def test_no_current_is_no_lines_and_none_asked_is_none_read(log_dir):
    directory, fd = log_dir
    assert last_lines(fd, 10) == []
    (directory / "current").write_text("x\n")
    assert last_lines(fd, 0) == []


def test_the_read_is_bounded_and_begins_at_a_whole_line(log_dir):
    directory, fd = log_dir
    (directory / "current").write_bytes(b"a" * 1_000_000 + b"\nfirst whole\nlast\n")
    assert last_lines(fd, 10, limit=100) == [b"first whole", b"last"]
    (directory / "current").write_bytes(b"b" * 1_000_000)  # one line, longer than the bound
    assert last_lines(fd, 10, limit=100) == []


def test_a_link_a_fifo_or_another_files_hard_link_is_not_read(log_dir, tmp_path):
    directory, fd = log_dir
    secret = tmp_path / "secret"
    secret.write_text("root's secret\n")
    os.symlink(str(secret), str(directory / "current"))
    with pytest.raises(OSError):
        last_lines(fd, 10)
    os.unlink(str(directory / "current"))
    os.link(str(secret), str(directory / "current"))
    with pytest.raises(OSError, match="has 2 hard links: not read"):
        last_lines(fd, 10)
    os.unlink(str(directory / "current"))
    os.mkfifo(str(directory / "current"))  # no writer: a blocking open would never return
    with pytest.raises(OSError, match="not a regular file"):
        last_lines(fd, 10)


def test_the_lines_under_each_side_say_what_could_not_be_read(tmp_path):
    """A report's lines under each service side: its log's last lines, or why there are
    none in their place; nothing opened for no side."""
    for name, text in (("web", "plain\nlast\n"), ("quiet", None), ("linked", None)):
        (tmp_path / "var/log" / name).mkdir(parents=True)
        if text is not None:
            (tmp_path / "var/log" / name / "current").write_text(text)
    os.symlink("/etc/passwd", str(tmp_path / "var/log/linked/current"))
    found = last_lines_under({"/etc/sv/web": "/var/log/web", "/etc/sv/quiet": "/var/log/quiet",
                              "/etc/sv/linked": "/var/log/linked"}, str(tmp_path), 1)
    assert found["/etc/sv/web"] == [b"last"]
    assert found["/etc/sv/quiet"] == [b"(/var/log/quiet: nothing logged)"]
    assert found["/etc/sv/linked"][0].startswith(b"(/var/log/linked/current unreadable: ")
    assert last_lines_under({}, "/nonexistent", 1) == {}
