"""A line whose writer stops in its middle survives its logger: held in the log directory's
``unfinished`` (svlog/unfinished.py) and taken up, stamp and all, by the next logger there.

Real files in a temp directory and the engine on a stand-in loop; a "kill" is the logger's
descriptors closed with nothing else done. The processes' side — a tree, its logger host, an
exec'd svlogd killed with SIGKILL — is in test_faults_kill.py.
"""

import doctest
import os

import pytest

from runit_provision.protocol.layout import UNFINISHED
from runit_provision.runtime.svlog import unfinished
from runit_provision.runtime.svlog.engine import Logger
from runit_provision.runtime.svlog.logdir import Reporter
from runit_provision.runtime.svlog.options import parse_args

from .test_svlog_bounds import Loop

FIRST_READ = 1_000_000_000_123_456_789   # 2001-09-09_01:46:40.12345
LATER = FIRST_READ + 5_000_000_000


def test_doctests():
    assert doctest.testmod(unfinished).failed == 0


def start_logger(logdir, tmp_path, clock, *args, keep=True):
    options, names = parse_args(list(args) + [str(logdir)])
    messages_fd = os.open(str(tmp_path / "stderr"), os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                          0o644)
    logger = Logger(Loop(), None, names, options, Reporter(messages_fd),
                    clock=lambda: clock, keep_unfinished=keep)
    assert logger.start()
    return logger


def kill(logger):
    """What SIGKILL leaves: nothing written beyond what was, every descriptor closed."""
    for logdir in logger.dirs:
        logdir._release()
    os.close(logger.report.fd)  # the messages' file


def current(logdir):
    return (logdir / "current").read_bytes()


def logged(logdir):
    """Everything in the directory, oldest first (a killed logger's current is rotated by
    the next, as runit's svlogd does)."""
    names = sorted(name for name in os.listdir(logdir) if name.startswith("@")) + ["current"]
    return b"".join((logdir / name).read_bytes() for name in names)


@pytest.fixture
def logdir(tmp_path):
    path = tmp_path / "log"
    path.mkdir()
    return path


def test_a_held_line_is_kept_while_it_grows_and_removed_once_written(logdir, tmp_path):
    logger = start_logger(logdir, tmp_path, FIRST_READ)
    logger.feed(b"whole\nhalf a")
    assert (logdir / UNFINISHED).read_bytes() == b"%d\nhalf a" % FIRST_READ
    logger.feed(b" li")
    assert (logdir / UNFINISHED).read_bytes() == b"%d\nhalf a li" % FIRST_READ
    logger.feed(b"ne\nnext hal")  # one line written, the next one held instead
    assert current(logdir) == b"whole\nhalf a line\n"
    assert (logdir / UNFINISHED).read_bytes() == b"%d\nnext hal" % FIRST_READ
    logger.feed(b"f\n")
    assert not (logdir / UNFINISHED).exists()
    logger.end_of_input()
    assert current(logdir) == b"whole\nhalf a line\nnext half\n"


def test_the_next_logger_finishes_the_line_with_its_first_stamp(logdir, tmp_path):
    first = start_logger(logdir, tmp_path, FIRST_READ, "-tt")
    first.feed(b"one\ntw")
    kill(first)
    second = start_logger(logdir, tmp_path, LATER, "-tt")
    second.feed(b"o\nthree\n")
    assert not (logdir / UNFINISHED).exists()
    second.end_of_input()
    assert logged(logdir).decode() == (
        "2001-09-09_01:46:40.12345 one\n"
        "2001-09-09_01:46:40.12345 two\n"      # the stamp of its first byte, not LATER's
        "2001-09-09_01:46:45.12345 three\n")


def test_a_killed_logger_that_held_a_line_at_eof_leaves_it_whole(logdir, tmp_path):
    first = start_logger(logdir, tmp_path, FIRST_READ)
    first.feed(b"no newline yet")
    kill(first)
    second = start_logger(logdir, tmp_path, LATER)
    second.end_of_input()  # the writer is gone: the line is finished with a newline
    assert logged(logdir) == b"no newline yet\n"
    assert not (logdir / UNFINISHED).exists()


def test_a_line_longer_than_len_is_written_through_not_kept(logdir, tmp_path):
    logger = start_logger(logdir, tmp_path, FIRST_READ, "-l", "10")
    logger.feed(b"0123456789abcdef")
    assert not (logdir / UNFINISHED).exists()
    assert current(logdir) == b"0123456789abcdef"


def test_without_a_pipe_read_by_copy_nothing_is_kept(logdir, tmp_path):
    logger = start_logger(logdir, tmp_path, FIRST_READ, keep=False)
    logger.feed(b"half")
    assert not (logdir / UNFINISHED).exists()
    (logdir / UNFINISHED).write_bytes(b"%d\nleft by another" % FIRST_READ)
    kill(logger)
    other = start_logger(logdir, tmp_path, LATER, keep=False)
    other.feed(b"x\n")
    other.end_of_input()
    assert current(logdir) == b"x\n"  # never taken up by a logger that does not keep


@pytest.mark.parametrize("plant", ["fifo", "symlink", "junk", "too long", "finished line",
                                   "directory"])
def test_what_a_user_plants_as_unfinished_is_ignored_without_blocking(logdir, tmp_path,
                                                                      plant):
    path = logdir / UNFINISHED
    secret = tmp_path / "secret"
    secret.write_bytes(b"%d\nroot's secret" % FIRST_READ)
    if plant == "fifo":
        os.mkfifo(path)
    elif plant == "symlink":
        path.symlink_to(secret)
    elif plant == "junk":
        path.write_bytes(b"\x00\xff garbage")
    elif plant == "too long":
        path.write_bytes(b"%d\n" % FIRST_READ + b"x" * 2000)
    elif plant == "finished line":
        path.write_bytes(b"%d\nline\nanother" % FIRST_READ)
    else:
        path.mkdir()
    logger = start_logger(logdir, tmp_path, LATER, "-l", "1000")
    logger.feed(b"mine\n")
    logger.end_of_input()
    assert current(logdir) == b"mine\n"
    assert secret.read_bytes() == b"%d\nroot's secret" % FIRST_READ
