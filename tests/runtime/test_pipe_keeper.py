"""Fault tier: the pipe keeper (runtime/supervision/pipekeeper.py) — a tree's log pipes outlive
a ``kill -9`` of the tree and of a service while no tree runs, and the keeper itself leaves no
trace: gone when its tree stops, gone when a successor takes over, replaced when killed, and
neither stalled nor sent away by a user who squats or knocks on its name.
"""

import os
import signal
import socket

import pytest

from runit_provision.runtime.supervision.loop import EventLoop
from runit_provision.runtime.supervision.pipekeeper import GRACE_SECONDS, PipeKeeper, keeper_name

from .processes import (
    SH, kill_pids, logger_host_of, make_service, pipe_keepers_of, running_pid, start_time,
    wait_until)
from .test_faults_kill import numbers, tree  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow

LINES = 3000  # about 30 KB: the pipe (64 KiB) takes them all while nobody reads
# A line, then — told to — LINES - 1 more at once into a pipe nobody reads, then idle (also
# when started again).
WRITER = (SH + '[ -e written ] && exec sleep 1000\necho "line 1"\nwhile [ ! -e go ]; do sleep 0.02; done\n'
          'i=1\nwhile [ $i -lt %d ]; do i=$((i+1)); echo "line $i"; done\n'
          'touch written\nexec sleep 1000\n' % LINES)


def the_keeper_of(tree_pid):
    found = wait_until(lambda: pipe_keepers_of(tree_pid), what="the keeper of %d" % tree_pid)
    assert len(found) == 1, found
    return found[0]


def gone(pid):
    return start_time(pid) is None


def hosted_writer(svdir, name="w"):
    service = make_service(svdir, name, run=WRITER, log_run=SH + "exec svlogd ./main\n")
    (service / "log" / "main").mkdir()
    return service


def test_lines_a_service_wrote_while_no_tree_ran_are_logged_after_it_was_killed(tree):
    """The tree killed, its service writes 3000 lines into the pipe and is killed too: no
    process of either is left holding the pipe but the keeper, and the successor logs all."""
    service = hosted_writer(tree.svdir)
    first = tree.start()
    wait_until(lambda: numbers(service) == [1], what="line 1 logged")
    stand_in = logger_host_of(first.pid)
    old_keeper = the_keeper_of(first.pid)
    pid = running_pid(service)
    first.send_signal(signal.SIGKILL)
    first.wait()
    wait_until(lambda: gone(stand_in), what="the loggers' stand-in gone with the tree")
    (service / "go").touch()
    wait_until(lambda: (service / "written").exists(), what="the lines written")
    kill_pids([pid])
    wait_until(lambda: gone(pid), what="the service gone")
    assert not gone(old_keeper)  # it keeps the pipe for the successor
    second = tree.start()
    wait_until(lambda: len(numbers(service)) >= LINES, timeout=15, what="every line logged")
    assert numbers(service) == list(range(1, LINES + 1))
    # The successor holds the pipes: the old keeper went at the hand-over, well before its
    # grace period was up; the new tree has one keeper.
    wait_until(lambda: gone(old_keeper), timeout=GRACE_SECONDS / 2, what="the old keeper gone")
    assert len(pipe_keepers_of(second.pid)) == 1


def test_a_stopped_tree_waits_for_its_keeper(tree):
    make_service(tree.svdir, "w", run=SH + "exec sleep 1000\n", log_run=SH + "exec svlogd .\n")
    first = tree.start()
    wait_until(lambda: running_pid(tree.svdir / "w"), what="running")
    keeper = the_keeper_of(first.pid)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=15) == 0
    assert gone(keeper)


def test_a_killed_keeper_is_replaced_and_given_every_pipe(tree):
    services = [hosted_writer(tree.svdir, "w%d" % i) for i in range(3)]
    first = tree.start()
    for service in services:
        wait_until(lambda: numbers(service) == [1], what="%s logging" % service.name)
    keeper = the_keeper_of(first.pid)
    kill_pids([keeper])
    wait_until(lambda: gone(keeper), what="the keeper gone")
    replacement = wait_until(lambda: [pid for pid in pipe_keepers_of(first.pid) if pid != keeper],
                             timeout=5, what="a new keeper")[0]
    pipes = {os.stat(service / "log" / "supervise" / "pipe").st_ino for service in services}
    wait_until(lambda: pipes <= held_fifos(replacement), what="every pipe held again")


def held_fifos(pid):
    inodes = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
            if target.startswith("/") and target.endswith("/supervise/pipe"):
                inodes.add(os.stat(os.path.join(fd_dir, fd)).st_ino)
        except OSError:
            continue
    return inodes


def test_a_service_retired_while_its_pipe_is_kept_still_drains_its_logger(tree):
    """Removing a service: its logger must see EOF — the keeper lets go of the pipe."""
    service = make_service(tree.svdir, "w", run=SH + "echo hello\nexec sleep 1000\n",
                           log_run=SH + "exec svlogd ./main\n")
    (service / "log" / "main").mkdir()
    first = tree.start()
    wait_until(lambda: running_pid(service), what="running")
    keeper = the_keeper_of(first.pid)
    inode = os.stat(service / "log" / "supervise" / "pipe").st_ino
    wait_until(lambda: inode in held_fifos(keeper), what="the pipe kept")
    hidden = tree.svdir / ".w"
    os.rename(service, hidden)
    wait_until(lambda: not (hidden / "supervise" / "pid").exists()
               or (hidden / "supervise" / "pid").read_text() == "", timeout=15,
               what="the service retired")
    wait_until(lambda: inode not in held_fifos(keeper), what="the pipe let go")
    assert "hello" in (hidden / "log" / "main" / "current").read_text()


@pytest.fixture
def nobody_process():
    """Run a function in a child process as nobody; the child is killed at the end."""
    started = []

    def run(function):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover — the child
            try:
                os.close(read_end)
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                function(write_end)
            finally:
                os._exit(0)
        os.close(write_end)
        started.append(pid)
        assert os.read(read_end, 1) == b"r", "the child did not get ready"
        os.close(read_end)
        return pid

    yield run
    kill_pids(started)
    for pid in started:
        os.waitpid(pid, 0)


def test_a_user_squatting_the_keepers_name_neither_stalls_nor_disarms_the_tree(
        tree, nobody_process):
    name = keeper_name(os.stat(tree.svdir))

    def squat(ready):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(name)
        listener.listen(8)
        os.write(ready, b"r")
        held = []
        while True:  # accept, answer nothing, hold every connection open
            held.append(listener.accept()[0])

    nobody_process(squat)
    service = hosted_writer(tree.svdir)
    first = tree.start()
    wait_until(lambda: numbers(service) == [1], timeout=5, what="line 1 logged (no stall)")
    keeper = the_keeper_of(first.pid)
    inode = os.stat(service / "log" / "supervise" / "pipe").st_ino
    wait_until(lambda: inode in held_fifos(keeper), what="the pipe kept all the same")


def test_a_user_knocking_on_an_orphaned_keeper_does_not_send_it_away(tree, nobody_process):
    service = hosted_writer(tree.svdir)
    first = tree.start()
    wait_until(lambda: numbers(service) == [1], what="line 1 logged")
    keeper = the_keeper_of(first.pid)
    name = keeper_name(os.stat(tree.svdir))
    wait_until(lambda: name_is_bound(name), what="the keeper's name bound")
    first.send_signal(signal.SIGKILL)
    first.wait()

    def knock(ready):  # ready only if told "still needed"; the fixture checks the byte
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(name)
            os.write(ready, b"r" if sock.recv(1) == b"n" else b"x")

    nobody_process(knock)
    assert not gone(keeper)
    second = tree.start()
    wait_until(lambda: gone(keeper), timeout=GRACE_SECONDS / 2, what="handed over")
    assert len(pipe_keepers_of(second.pid)) == 1


def name_is_bound(name):
    """Whether ``name`` (abstract) is bound: /proc/net/unix lists it with a leading @."""
    shown = b"@" + name[1:]
    with open("/proc/net/unix", "rb") as handle:
        return any(line.split()[-1] == shown for line in handle.read().splitlines()[1:]
                   if len(line.split()) > 7)


@pytest.fixture
def keeper_here(tmp_path):
    """A PipeKeeper on a loop of this process, and the FIFOs a test opens (``fifos``): the
    keeper killed and reaped, the FIFOs closed, at the end."""
    loop = EventLoop()
    keeper = PipeKeeper(loop, str(tmp_path), "test")
    fifos = []
    yield loop, keeper, fifos
    if keeper.pid:
        kill_pids([keeper.pid])
        os.waitpid(keeper.pid, 0)
    for fd in fifos:
        os.close(fd)
    loop.close()


def fill_a_stopped_keeper(keeper, fifos, directory, count=500):
    """Hand ``count`` pipes to the keeper, stopped after the first: its socket fills."""
    fifos.append(os.open(make_fifo(directory, 0), os.O_RDWR))
    keeper.hold(fifos[0])
    pid = keeper.pid
    wait_until(lambda: held_fifos_of(pid, directory) == {os.fstat(fifos[0]).st_ino},
               what="the first pipe held")
    os.kill(pid, signal.SIGSTOP)
    for n in range(1, count):
        fifos.append(os.open(make_fifo(directory, n), os.O_RDWR))
        keeper.hold(fifos[-1])  # returns at once, full socket or not
    assert keeper._queue, "the socket never filled: the test proves nothing"
    return pid


def test_a_keeper_that_stops_reading_gets_every_pipe_once_it_reads_again(tmp_path,
                                                                         keeper_here):
    """500 pipes handed over while the keeper is stopped: the socket fills, the rest waits in
    the tree's queue (the loop never blocks), and all arrive after SIGCONT; releases of pipes
    whose hold was still queued are never sent."""
    loop, keeper, fifos = keeper_here
    pid = fill_a_stopped_keeper(keeper, fifos, tmp_path)
    for fd in fifos[-10:]:
        keeper.release(fd)
    os.kill(pid, signal.SIGCONT)
    wanted = {os.fstat(fd).st_ino for fd in fifos[:-10]}
    run_until(loop, lambda: held_fifos_of(pid, tmp_path) == wanted, "every pipe held")
    keeper.close()
    run_until(loop, lambda: not keeper.pid, "the keeper gone after goodbye")


def make_fifo(directory, number):
    path = os.path.join(str(directory), "pipe%d" % number)
    os.mkfifo(path)
    return path


def held_fifos_of(pid, directory):
    inodes = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, fd)).startswith(str(directory) + "/pipe"):
                inodes.add(os.stat(os.path.join(fd_dir, fd)).st_ino)
        except OSError:
            continue
    return inodes


def run_until(loop, predicate, what, timeout=10.0):
    """Run ``loop`` until ``predicate()`` holds, checked every 20 ms."""
    deadline = loop.monotonic() + timeout

    def check():
        if predicate():
            loop.stop()
        elif loop.monotonic() > deadline:
            loop.stop()
        else:
            loop.call_later(0.02, check)

    loop.call_later(0, check)
    loop.run()
    assert predicate(), "%s not met within %.1fs" % (what, timeout)


def test_a_stopped_keeper_is_killed_when_its_tree_stops(tmp_path, keeper_here):
    """The goodbye cannot reach a stopped keeper whose socket is full: it is killed, not
    left to keep released pipes for its grace period while the stopping tree waits."""
    loop, keeper, fifos = keeper_here
    fill_a_stopped_keeper(keeper, fifos, tmp_path)
    for fd in fifos:
        keeper.release(fd)
    keeper.close()
    run_until(loop, lambda: not keeper.pid, "the keeper gone", timeout=GRACE_SECONDS / 2)
