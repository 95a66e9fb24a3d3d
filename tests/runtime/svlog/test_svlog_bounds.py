"""svlogd's engine holds a log directory's owner to bounds: what a ``config``, a ``current`` or a
processor's input can be made to be never blocks the logger or grows its memory — the files a
user plants in their own log directory are that user's, and a logger may run in a tree
(docs/security.md). Real files in a temp directory; no process, no loop (a stand-in)."""

import os

import pytest

from runit_provision.runtime.svlog.config import DEFAULT_SIZE
from runit_provision.runtime.svlog.engine import Logger
from runit_provision.runtime.svlog.logdir import CONFIG_MAX, Reporter
from runit_provision.runtime.svlog.options import parse_args


class Loop:
    """What the engine asks of a loop; nothing here needs a timer to fire."""

    def __init__(self):
        self.timers = []

    def call_later(self, delay, callback):
        self.timers.append((delay, callback))

    def watch_child(self, pid, callback):
        pass

    @staticmethod
    def monotonic():
        return 0.0


@pytest.fixture
def messages(tmp_path):
    return tmp_path / "stderr"


def logger_on(logdir, messages, *args):
    options, names = parse_args(list(args) + [str(logdir)])
    messages_fd = os.open(str(messages), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    logger = Logger(Loop(), None, names, options, Reporter(messages_fd))
    return logger


def finish(logger):
    logger.end_of_input()
    os.close(logger.report.fd)  # the messages' file


def test_an_unfinished_line_is_held_up_to_len_whatever_s_says(tmp_path, messages):
    """``s2000m`` and a line with no newline: the engine holds at most ``-l`` bytes (plus the
    chunk being fed) and writes the rest through; with ``s`` as the bound it held 2 GB."""
    logdir = tmp_path / "log"
    logdir.mkdir()
    (logdir / "config").write_text("s2000000000\n")
    logger = logger_on(logdir, messages, "-l", "500")
    assert logger.start()
    chunk = b"x" * 65536
    for _ in range(128):  # 8 MiB, no newline
        logger.feed(chunk)
        assert len(logger._partial) <= 500 + len(chunk)
    finish(logger)
    assert (logdir / "current").stat().st_size == 128 * 65536 + 1  # and its newline


@pytest.mark.parametrize("plant, warning", [
    (lambda path: os.mkfifo(str(path)), "unable to read config: %s: not a regular file"),
    (lambda path: os.symlink("/dev/zero", str(path)),
     "unable to read config: %s: not a regular file"),
    (lambda path: path.write_bytes(b"s1000\n" + b"#" * CONFIG_MAX),
     "unable to read config: %s: file too big"),
    (lambda path: path.mkdir(), "unable to read config: %s: is a directory"),
])
def test_a_config_that_is_no_small_regular_file_is_refused_without_blocking(
        tmp_path, messages, plant, warning):
    """A FIFO (opening it for reading would wait for a writer for ever), an endless device, a
    file over 64 KiB: one warning, svlogd's defaults, and the logger runs."""
    logdir = tmp_path / "log"
    logdir.mkdir()
    plant(logdir / "config")
    logger = logger_on(logdir, messages)
    assert logger.start()
    assert logger.dirs[0].config.size_max == DEFAULT_SIZE  # svlogd's default s
    logger.feed(b"still logging\n")
    finish(logger)
    assert (logdir / "current").read_bytes() == b"still logging\n"
    assert ("svlogd: warning: " + warning % logdir + "\n") in messages.read_text()


def test_a_fifo_as_the_log_directory_is_refused_without_blocking(tmp_path, messages):
    os.mkfifo(str(tmp_path / "log"))
    logger = logger_on(tmp_path / "log", messages)
    assert not logger.start()
    text = messages.read_text()
    assert "unable to change directory: %s: not a directory" % (tmp_path / "log") in text


def test_a_link_planted_as_current_is_not_written_through(tmp_path, messages):
    logdir = tmp_path / "log"
    logdir.mkdir()
    target = tmp_path / "elsewhere"
    target.write_bytes(b"")
    os.symlink(str(target), str(logdir / "current"))
    logger = logger_on(logdir, messages)
    assert logger.start()
    logger.feed(b"a line\n")
    assert target.read_bytes() == b""
    assert "svlogd: pausing: unable to open current: %s: symbolic link loop" % logdir \
        in messages.read_text()


def test_a_link_planted_as_a_file_due_for_processing_is_skipped_once(tmp_path, messages):
    """Each ``@….u`` linked to ``/proc/self/fd/N`` (the logger's own descriptors) with a processor
    configured: never read, said once, no retry loop."""
    logdir = tmp_path / "log"
    logdir.mkdir()
    (logdir / "config").write_text("!cat\n")
    planted = logdir / "@400000006553f10a00000000.u"
    os.symlink("/proc/self/fd/0", str(planted))
    os.symlink("/proc/self/fd/1", str(logdir / "@400000006553f10a00000001.u"))
    loop = Loop()
    options, names = parse_args([str(logdir)])
    with open(str(messages), "ab") as handle:
        logger = Logger(loop, None, names, options, Reporter(handle.fileno()))
        assert logger.start()
    assert loop.timers == [] or all(delay == 0 for delay, _ in loop.timers)  # no rerun due
    text = messages.read_text()
    assert text.count("unable to open input for processor") == 2  # each once, then done
    assert not logger.dirs[0].is_processing
    assert "symbolic link loop" in text and os.path.islink(str(planted))
