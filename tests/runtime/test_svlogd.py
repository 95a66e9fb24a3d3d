"""svlogd with real processes: signals, processors, UDP, recovery, bad input, idleness.

Tests that hold for runit too run on both implementations (``impl``); the rest pin our
deliberate differences (docs/compatibility.md).  Every logger runs in its own session and is killed
by process group; every wait is a condition with a deadline.
"""

import fcntl
import os
import re
import signal
import socket
import struct
import termios
import time
from pathlib import Path

import pytest

from .processes import wait_until
from .test_runsv_idle import voluntary_switches

pytestmark = pytest.mark.slow


class RunningLogger:
    """An svlogd reading a pipe we hold both ends of (the read end to see what is left)."""

    def __init__(self, processes, tool, args, cwd, env=None):
        read_fd, self.write_fd = os.pipe()
        self.read_fd = os.dup(read_fd)
        self.stderr_path = Path(cwd) / ("svlogd-%d.err" % self.write_fd)
        self.group = processes.start([tool] + list(args), cwd=str(cwd), stdin=read_fd,
                                     output=str(self.stderr_path), env=env)
        os.close(read_fd)
        self.pid = self.group.pid

    def write(self, data):
        view = memoryview(data)
        while view:
            view = view[os.write(self.write_fd, view):]

    def close_input(self):
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def pending(self):
        """Bytes still in the pipe, not yet read by the logger."""
        buf = fcntl.ioctl(self.read_fd, termios.FIONREAD, b"\0\0\0\0")
        return struct.unpack("i", buf)[0]

    def wait_read(self):
        wait_until(lambda: self.pending() == 0, what="svlogd read its input")

    def stderr(self):
        return self.group.output()

    def wait_stderr(self, text):
        wait_until(lambda: text in self.stderr(), what="stderr shows %r" % text)

    def kill(self, signum):
        os.kill(self.pid, signum)

    def wait(self, timeout=10.0):
        return self.group.wait(timeout)

    def leftover(self):
        os.set_blocking(self.read_fd, False)
        try:
            return os.read(self.read_fd, 65536)
        except BlockingIOError:
            return b""

    def close(self):
        self.close_input()
        os.close(self.read_fd)


@pytest.fixture
def start_logger(processes, tmp_path, which_tool):
    started = []

    def start(impl, *args):
        logger = RunningLogger(processes, which_tool(impl, "svlogd"), args, tmp_path)
        started.append(logger)
        return logger

    yield start
    for logger in started:
        logger.close()


def read(path):
    return Path(path).read_bytes() if Path(path).exists() else b""


def old_files(directory, suffix=None):
    return sorted(p for p in Path(directory).iterdir()
                  if p.name.startswith("@") and (suffix is None or p.name.endswith(suffix)))


def logged(directory):
    """Everything a directory holds, oldest first: rotated files then current."""
    return b"".join(read(p) for p in old_files(directory)) + read(Path(directory) / "current")


def make_logdir(tmp_path, name="main", config=None):
    directory = tmp_path / name
    directory.mkdir()
    if config is not None:
        (directory / "config").write_text(config)
    return directory


# -- signals ------------------------------------------------------------------------------------
def test_alrm_rotates_a_non_empty_current_only(impl, start_logger, tmp_path):
    d = make_logdir(tmp_path)
    logger = start_logger(impl, "-v", str(d))
    logger.write(b"one\n")
    wait_until(lambda: read(d / "current") == b"one\n")
    logger.kill(signal.SIGALRM)
    wait_until(lambda: len(old_files(d)) == 1 and read(d / "current") == b"")
    assert read(old_files(d)[0]) == b"one\n"
    assert oct(old_files(d)[0].stat().st_mode & 0o777) == "0o744"
    logger.kill(signal.SIGALRM)  # current is empty: nothing to rotate
    wait_until(lambda: logger.stderr().count("sigalarm received.") == 2)
    logger.write(b"two\n")
    wait_until(lambda: read(d / "current") == b"two\n")
    assert len(old_files(d)) == 1
    logger.close_input()
    assert logger.wait() == 0


def test_hup_reopens_and_rereads_config(impl, start_logger, tmp_path):
    d = make_logdir(tmp_path)
    other = make_logdir(tmp_path, "other")
    logger = start_logger(impl, "-v", str(d), str(other))
    logger.write(b"before\n")
    wait_until(lambda: read(d / "current") == b"before\n")
    assert oct((d / "current").stat().st_mode & 0o777) == "0o644"   # open: not complete
    (d / "config").write_text("pnew: \n")
    logger.kill(signal.SIGHUP)
    logger.wait_stderr("append: %s/current" % other)
    logger.write(b"after\n")
    wait_until(lambda: read(d / "current") == b"before\nnew: after\n")
    after_hup = logger.stderr().split("sighangup received.\n", 1)[1].splitlines()
    assert after_hup == ["svlogd: info: close: %s" % d,
                         "svlogd: info: read: %s/config" % d,
                         "svlogd: info: append: %s/current" % d,
                         "svlogd: info: close: %s" % other,
                         "svlogd: info: append: %s/current" % other]
    logger.close_input()
    assert logger.wait() == 0
    assert oct((d / "current").stat().st_mode & 0o777) == "0o744"


def test_hup_with_no_usable_directory_left_is_fatal(impl, start_logger, tmp_path):
    d = make_logdir(tmp_path)
    logger = start_logger(impl, str(d))
    logger.write(b"x\n")
    wait_until(lambda: read(d / "current") == b"x\n")
    d.rename(tmp_path / "moved")
    logger.kill(signal.SIGHUP)
    assert logger.wait() == 111
    assert logger.stderr() == (
        "svlogd: warning: unable to open log directory: %s: file does not exist\n"
        "svlogd: fatal: no functional log directories.\n" % d)


def test_term_and_the_partial_line_left_in_the_pipe(
        impl, start_logger, tmp_path):
    d = make_logdir(tmp_path)
    logger = start_logger(impl, "-v", str(d))
    logger.write(b"whole\nhalf a ")
    logger.wait_read()  # ours too, once its rechecks of the unfinished line are spent
    wait_until(lambda: read(d / "current") == b"whole\n")
    logger.kill(signal.SIGTERM)
    logger.wait_stderr("sigterm received.")
    logger.write(b"line\nnext logger's\n")
    assert logger.wait() == 0
    assert logger.leftover() == b"next logger's\n"
    if impl == "c":
        # runit 2.1.2 reads the rest of the line byte by byte and then drops all of it (its
        # "buffer empty" exit test comes before the write).
        assert read(d / "current") == b"whole\n"
    else:
        # Ours finishes the line it holds and writes it (a TERM within ~40 ms of the line's
        # start finds it still in the pipe: then it stays there whole for the next logger).
        assert read(d / "current") == b"whole\nhalf a line\n"


def test_term_between_lines_exits_at_once(impl, start_logger, tmp_path):
    d = make_logdir(tmp_path)
    logger = start_logger(impl, str(d))
    logger.write(b"done\n")
    wait_until(lambda: read(d / "current") == b"done\n")
    logger.kill(signal.SIGTERM)
    assert logger.wait() == 0
    logger.write(b"unread\n")
    assert logger.leftover() == b"unread\n"
    assert oct((d / "current").stat().st_mode & 0o777) == "0o744"


# -- processor ------------------------------------------------------------------------------------
GATED = "touch started.$$; while [ ! -e release ]; do sleep 0.01; done; tr a-z A-Z\n"


def test_eof_waits_for_the_processor(impl, start_logger, tmp_path):
    d = make_logdir(tmp_path, config="!" + GATED)
    logger = start_logger(impl, str(d))
    logger.write(b"abc\n")
    wait_until(lambda: read(d / "current") == b"abc\n")
    logger.kill(signal.SIGALRM)
    wait_until(lambda: any(d.glob("started.*")))
    logger.close_input()
    assert logger.group.poll() is None
    wait_until(lambda: old_files(d, ".u"), what="a .u waiting for the processor")
    assert logger.group.poll() is None
    (d / "release").touch()
    assert logger.wait() == 0
    (processed,) = old_files(d)
    assert processed.name.endswith(".s") and read(processed) == b"ABC\n"


def test_a_running_processor_holds_the_next_rotation_without_losing_lines(
        impl, start_logger, tmp_path):
    d = make_logdir(tmp_path, config="s200\n!" + GATED)
    logger = start_logger(impl, "-l", "50", "-b", "51", str(d))
    lines = [b"line %05d ........................\n" % i for i in range(40)]
    logger.write(b"".join(lines[:20]))
    # the first rotation started the processor; the second waits for it, and so does input
    wait_until(lambda: any(d.glob("started.*")))
    logger.write(b"".join(lines[20:]))
    wait_until(lambda: logger.pending() > 0)
    assert len(old_files(d, ".u")) == 1 and not old_files(d, ".s")
    assert len(read(d / "current")) <= 200
    (d / "release").touch()
    logger.close_input()
    assert logger.wait() == 0
    assert not old_files(d, ".u") and not old_files(d, ".t")
    assert logged(d).upper() == b"".join(lines).upper()
    assert read(old_files(d, ".s")[0]) == b"".join(lines[:5]).upper()


def test_a_failing_processor_is_rerun_and_its_output_dropped(impl, start_logger, tmp_path):
    d = make_logdir(tmp_path, config="!n=$(($(cat runs 2>/dev/null || echo 0) + 1)); "
                                     "echo $n >runs; echo run $n >&5; echo partial $n; "
                                     "[ $n -ge 3 ] || exit 1; cat\n")
    logger = start_logger(impl, str(d))
    logger.write(b"data\n")
    wait_until(lambda: read(d / "current"))
    logger.kill(signal.SIGALRM)
    wait_until(lambda: old_files(d, ".s"), timeout=15)
    logger.close_input()
    assert logger.wait() == 0
    (processed,) = old_files(d)
    assert read(processed) == b"partial 3\ndata\n"
    assert read(d / "state") == b"run 3\n"
    assert logger.stderr().count("processor failed, restart: %s" % d) == 2


def test_hup_during_processing_still_completes_it(start_logger, tmp_path):
    # runit forgets a processor across HUP: its .u and .t stay behind forever.
    d = make_logdir(tmp_path, config="!" + GATED)
    logger = start_logger("ours", str(d))
    logger.write(b"abc\n")
    wait_until(lambda: read(d / "current"))
    logger.kill(signal.SIGALRM)
    wait_until(lambda: any(d.glob("started.*")))
    logger.kill(signal.SIGHUP)
    logger.write(b"after hup\n")
    wait_until(lambda: read(d / "current") == b"after hup\n")
    (d / "release").touch()
    wait_until(lambda: old_files(d, ".s"))
    assert read(old_files(d, ".s")[0]) == b"ABC\n"
    assert not old_files(d, ".u") and not old_files(d, ".t")
    logger.close_input()
    assert logger.wait() == 0


def test_crash_leftovers_are_fed_to_the_processor(start_logger, tmp_path):
    # runit renames a crashed current to .u and never processes it (runit-protocol.md §9.10).
    d = make_logdir(tmp_path, config="!tr a-z A-Z\n")
    (d / "current").write_bytes(b"from the crash\n")
    os.chmod(d / "current", 0o644)
    logger = start_logger("ours", str(d))
    wait_until(lambda: old_files(d, ".s"))
    assert read(old_files(d, ".s")[0]) == b"FROM THE CRASH\n"
    assert not old_files(d, ".u")
    logger.close_input()
    assert logger.wait() == 0


# -- UDP ------------------------------------------------------------------------------------------
@pytest.fixture
def udp_server():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)
    yield sock
    sock.close()


def test_udp_copies_selected_lines(impl, start_logger, tmp_path, udp_server):
    port = udp_server.getsockname()[1]
    d = make_logdir(tmp_path, config="u127.0.0.1:%d\n-skip*\npP \n" % port)
    logger = start_logger(impl, "-l", "10", "-b", "11", str(d))
    logger.write(b"first\nskip me\n0123456789abc\n")
    received = [udp_server.recv(100) for _ in range(2)]
    assert received == [b"P first\n", b"P 0123456789...\n"]
    logger.close_input()
    assert logger.wait() == 0
    assert read(d / "current") == b"P first\nP 0123456789abc\n"


def test_udp_only_keeps_lines_out_of_the_file(impl, start_logger, tmp_path, udp_server):
    port = udp_server.getsockname()[1]
    d = make_logdir(tmp_path, config="U127.0.0.1:%d\n" % port)
    logger = start_logger(impl, "-t", str(d))
    logger.write(b"only udp\n")
    datagram = udp_server.recv(100)
    assert re.fullmatch(rb"@4000[0-9a-f]{20} only udp\n", datagram), datagram
    logger.close_input()
    assert logger.wait() == 0
    assert read(d / "current") == b""


def test_udp_to_an_ipv6_literal(start_logger, tmp_path):
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as server:
        server.bind(("::1", 0))
        server.settimeout(10)
        d = make_logdir(tmp_path, config="U[::1]:%d\n" % server.getsockname()[1])
        logger = start_logger("ours", str(d))
        logger.write(b"over v6\n")
        assert server.recv(100) == b"over v6\n"
        logger.close_input()
        assert logger.wait() == 0


# -- recovery and bad input ---------------------------------------------------------------------
def test_a_deleted_current_is_recreated(start_logger, tmp_path):
    d = make_logdir(tmp_path)
    logger = start_logger("ours", str(d))
    logger.write(b"first\n")
    wait_until(lambda: read(d / "current") == b"first\n")
    (d / "current").unlink()
    logger.write(b"second\n")
    wait_until(lambda: read(d / "current") == b"second\n")
    assert "current was removed, starting a new one: %s" % d in logger.stderr()
    logger.close_input()
    assert logger.wait() == 0


def test_an_unopenable_current_pauses_and_retries_without_loss(impl, start_logger, tmp_path):
    d = make_logdir(tmp_path)
    (d / "current").mkdir()
    logger = start_logger(impl, str(d))
    logger.wait_stderr("svlogd: pausing: unable to open current: %s: is a directory" % d)
    logger.write(b"kept while paused\n")
    (d / "current").rmdir()
    wait_until(lambda: read(d / "current") == b"kept while paused\n", timeout=10)
    logger.close_input()
    assert logger.wait() == 0


def test_binary_nul_and_huge_lines_pass_through(start_logger, tmp_path):
    d = make_logdir(tmp_path, config="s0\n")
    logger = start_logger("ours", "-t", str(d))
    huge = bytes(range(256)).replace(b"\n", b"") * 40000    # ~10 MB without a newline
    logger.write(b"a\0b\xff\n" + huge)
    logger.write(b"\nend\n")
    logger.close_input()
    assert logger.wait(30) == 0
    lines = read(d / "current").split(b"\n")
    assert [line[26:] for line in lines] == [b"a\0b\xff", huge, b"end", b""]
    assert all(line[:5] == b"@4000" for line in lines[:3])


def test_a_line_longer_than_every_file_is_cut_at_s_and_nothing_else_is(start_logger,
                                                                        tmp_path):
    """Held up to ``len`` (-l) bytes, as runit's line buffer, then streamed: cut only where a
    file is full."""
    d = make_logdir(tmp_path, config="s100000\nn0\n")
    logger = start_logger("ours", str(d))
    long_line = bytes(i % 251 + 1 for i in range(350_000)).replace(b"\n", b"-") + b"\n"
    stream = b"before\n" + long_line + b"after\n"
    for start in range(0, len(stream), 30_000):
        logger.write(stream[start:start + 30_000])
    logger.close_input()
    assert logger.wait(20) == 0
    files = [read(p) for p in old_files(d)] + [read(d / "current")]
    assert b"".join(files) == stream
    assert all(len(f) == 100_000 for f in files[:-1])
    assert files[-1].endswith(b"after\n") and files[-1].count(b"\n") == 2
    assert files[-1].endswith(b"after\n")


def test_lines_are_never_split_across_files(start_logger, tmp_path):
    d = make_logdir(tmp_path, config="s3000\nn0\n")
    logger = start_logger("ours", str(d))
    lines = [b"%d:" % i + b"x" * (i * 37 % 900) + b"\n" for i in range(600)]
    for start in range(0, 600, 50):
        logger.write(b"".join(lines[start:start + 50]))
    logger.close_input()
    assert logger.wait(20) == 0
    files = old_files(d) + [d / "current"]
    assert len(files) > 20
    for path in files:
        content = read(path)
        assert len(content) <= 3000 and (not content or content.endswith(b"\n"))
    assert logged(d) == b"".join(lines)


def test_one_write_that_fills_the_pipe_mid_line_is_logged_whole(impl, processes, tmp_path,
                                                                 which_tool):
    """``cat`` of a big file: one write() larger than the pipe, with a line cut at every
    64 KiB. Linux wakes a pipe's reader in the middle of a write only if the pipe was empty,
    so a logger that leaves the cut line in the pipe and waits for the next edge waits
    forever, and so does the writer (ours did, before svlog/peek.py's rechecks)."""
    d = make_logdir(tmp_path)
    lines = b"".join(b"%09d " % i + b"x" * 89 + b"\n" for i in range(20000))  # 2 MB
    (tmp_path / "input").write_bytes(lines)
    group = processes.start(["sh", "-c", 'cat "$1" | "$2" "$3"', "sh", str(tmp_path / "input"),
                             which_tool(impl, "svlogd"), str(d)], cwd=str(tmp_path))
    assert group.wait(20) == 0
    assert logged(d) == lines


def test_an_unfinished_line_is_logged_once_finished_however_late(start_logger, tmp_path):
    """The rechecks give up on an unfinished line: it is taken as it is, the pipe is empty
    again, and the rest, however late, wakes the logger and completes the line."""
    d = make_logdir(tmp_path)
    logger = start_logger("ours", str(d))
    logger.write(b"whole\nhalf ")
    logger.wait_read()  # taken: the rechecks gave up, so what follows comes late
    assert read(d / "current") == b"whole\n"
    logger.write(b"a line\n")
    wait_until(lambda: read(d / "current") == b"whole\nhalf a line\n")


def test_age_rotation_is_timed_from_the_first_line(start_logger, tmp_path):
    """``t1``: current is rotated 1 s after its first line, not at a tick counted from the
    config read (runit's way, where a line can be rotated away at once)."""
    d = make_logdir(tmp_path, config="t1\n")
    logger = start_logger("ours", str(d))
    wait_until(lambda: (d / "current").exists(), what="current opened")
    time.sleep(1.5)  # idle past t: a clock started with the logger would have run out
    written = time.monotonic()
    logger.write(b"aged\n")
    wait_until(lambda: old_files(d), timeout=5)
    aged = time.monotonic() - written
    assert 0.9 <= aged < 2.5, "rotated %.2fs after the first line" % aged
    assert read(old_files(d)[0]) == b"aged\n" and read(d / "current") == b""
    logger.close_input()
    assert logger.wait() == 0


def test_an_idle_logger_never_wakes_up(start_logger, tmp_path):
    d = make_logdir(tmp_path, config="t3600\n")
    logger = start_logger("ours", str(d))
    logger.write(b"line\n")
    wait_until(lambda: read(d / "current") == b"line\n")
    before = voluntary_switches(logger.pid)
    time.sleep(2)  # the idle window itself: what we measure, not a synchronisation
    assert voluntary_switches(logger.pid) == before
    logger.close_input()
    assert logger.wait() == 0
