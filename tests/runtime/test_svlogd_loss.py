"""No line lost: a million numbered lines through a service into its logger, under our
runsv, while the logger is restarted (TERM), killed (KILL) and made to rotate (ALRM) again and
again; every line must be there exactly once, in order, and never split across files.

TERM is safe at any moment by protocol (the logger finishes its line; the rest stays in the
pipe).  KILL ends a process between ``read()`` and ``write()`` as readily as anywhere, so it is
sent when the logger has nothing in flight: the service paused, the pipe empty and the logger
back in ``epoll_wait`` — everything it read is then on disk, because ours writes each chunk
before reading the next (no user-space buffer, unlike runit's -b buffer).
"""

import fcntl
import os
import signal
import struct
import sys
import termios
from pathlib import Path

import pytest

from ..conftest import our_tool
from .processes import send_control, wait_until
from .test_svlogd import old_files, read

pytestmark = pytest.mark.slow

LINES = 1_000_000
SEGMENTS = 10
STAMP = 26  # "YYYY-MM-DD_HH:MM:SS.xxxxx "
# The service writes its lines in segments, each once the test creates go.N in its directory,
# so that every restart, kill and rotation lands in the middle of the stream.
WRITER = """
import os, sys, time
n, segments = int(sys.argv[1]), int(sys.argv[2])
for segment in range(segments):
    while not os.path.exists("go.%d" % segment):
        time.sleep(0.002)
    first, last = n * segment // segments, n * (segment + 1) // segments
    for start in range(first, last, 512):   # 512 lines of 8 bytes: one atomic pipe write
        view = memoryview(b"".join(b"%07d\\n" % i for i in range(start, min(last, start + 512))))
        while view:
            view = view[os.write(1, view):]
os.execv("/bin/sleep", ["sleep", "1000"])
"""


def logger_pid(service):
    text = read(service / "log" / "supervise" / "pid").strip()
    return int(text) if text else None


def is_idle(pid):
    """The logger waits in epoll_wait with nothing left in its pipe."""
    try:
        fd = os.open("/proc/%d/fd/0" % pid, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        pending = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    finally:
        os.close(fd)
    try:
        wchan = Path("/proc/%d/wchan" % pid).read_text()
    except OSError:
        return False
    return pending == 0 and wchan == "do_epoll_wait"


def logged_bytes(directory):
    total = 0
    for path in Path(directory).iterdir():
        if path.name.startswith("@") or path.name == "current":
            try:
                total += path.stat().st_size
            except FileNotFoundError:  # rotated away meanwhile: counted on the next poll
                pass
    return total


def test_a_million_lines_survive_restarts_kills_and_rotation(tmp_path, processes):
    service = tmp_path / "svc"
    main = service / "log" / "main"
    main.mkdir(parents=True)
    (main / "config").write_text("s1000000\nn0\n")
    (service / "run").write_text("#!/bin/sh\nexec %s -c '%s' %d %d\n"
                                 % (sys.executable, WRITER, LINES, SEGMENTS))
    (service / "log" / "run").write_text("#!/bin/sh\nexec %s -tt ./main\n" % our_tool("svlogd"))
    for script in (service / "run", service / "log" / "run"):
        script.chmod(0o755)
    runsv = processes.start([our_tool("runsv"), str(service)], output=str(tmp_path / "runsv.out"))

    line = 8 + STAMP
    actions = ["term", "kill", "alrm", "term", "kill", "alrm", "kill", "term", "alrm", "kill"]
    assert len(actions) == SEGMENTS
    for segment, action in enumerate(actions):
        pid = wait_until(lambda: logger_pid(service), what="a running logger")
        (service / ("go.%d" % segment)).touch()
        # a little of this segment is on disk: the rest is in the pipe or still to come
        floor = (LINES * segment // SEGMENTS + 1000) * line
        wait_until(lambda: logged_bytes(main) >= floor, timeout=20,
                   what="segment %d under way" % segment)
        if action == "term":
            send_control(service / "log", b"t")
        elif action == "alrm":
            send_control(service / "log", b"a")
        else:
            send_control(service, b"p")
            wait_until(lambda: is_idle(pid), what="the logger idle with an empty pipe")
            os.kill(pid, signal.SIGKILL)
            send_control(service, b"c")
        wait_until(lambda: action == "alrm" or logger_pid(service) not in (None, pid),
                   timeout=10, what="the logger restarted after %s" % action)

    total = LINES * line
    wait_until(lambda: logged_bytes(main) >= total, timeout=30, what="every line logged")
    # The last KILL can land after every line was written: the logger started after it then
    # renames the unfinished current to @….u (crash recovery) while we read. Read once it is
    # up and idle, with the directory in its final shape.
    wait_until(lambda: logger_pid(service) and is_idle(logger_pid(service)), timeout=20,
               what="the last logger up and idle")
    assert runsv.poll() is None
    files = old_files(main) + [main / "current"]
    assert len(files) > 30
    contents = [read(path) for path in files]
    assert all(not c or c.endswith(b"\n") for c in contents), "a line split across files"
    numbers = [line[STAMP:] for c in contents for line in c.split(b"\n")[:-1]]
    assert len(numbers) == LINES
    assert numbers == [b"%07d" % i for i in range(LINES)]
