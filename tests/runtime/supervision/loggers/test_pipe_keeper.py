"""Fault tier: the pipe keeper (runtime/supervision/loggers/pipekeeper.py) — a tree's log pipes
outlive a ``kill -9`` of the tree and of a service while no tree runs, and the keeper itself
leaves no trace: gone when its tree stops, gone after its grace period when its tree was killed,
replaced when killed, renewed without a pipe its tree let go, and with nothing to connect to.
"""

import os
import signal
import stat
import time

import pytest

from runit_provision.runtime.supervision.engine.loop import EventLoop
from runit_provision.runtime.supervision.loggers.pipekeeper import GRACE_SECONDS, PipeKeeper
from runit_provision.runtime.supervision.engine.spawn import Spawner

from ...processes import (
    SH, kill_pids, logger_host_of, make_service, pipe_keepers_of, running_pid, start_time,
    wait_until)
from ...test_faults_kill import numbers, tree  # noqa: F401  (the fixture)

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
    # its own keeper comes a loop turn and a process start after the tree took the pipe
    # (the old one, lingering out its grace period, holds it meanwhile): not at once on a
    # loaded machine — CI saw none yet once the lines were logged
    wait_until(lambda: len(pipe_keepers_of(second.pid)) == 1, what="the successor's keeper")


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
    try:
        fds = os.listdir(fd_dir)
    except FileNotFoundError:
        return inodes  # gone
    for fd in fds:
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
    # a keeper holding nothing is not renewed: the old one is killed, none replaces it
    wait_until(lambda: all(inode not in held_fifos(pid) for pid in pipe_keepers_of(first.pid)),
               what="the pipe let go")
    wait_until(lambda: gone(keeper), what="the old keeper gone")
    assert "hello" in (hidden / "log" / "main" / "current").read_text()



def test_a_keeper_holds_nothing_but_its_pipes_and_listens_nowhere(tree):
    """Nothing to connect to, nothing to send it: its descriptors are the script, the tree's
    stdout and stderr, the tree's liveness pipe and the log pipes — no socket."""
    services = [hosted_writer(tree.svdir, "w%d" % i) for i in range(2)]
    first = tree.start()
    for service in services:
        wait_until(lambda: numbers(service) == [1], what="%s logging" % service.name)
    keeper = the_keeper_of(first.pid)
    kinds = [os.stat("/proc/%d/fd/%s" % (keeper, fd)).st_mode
             for fd in os.listdir("/proc/%d/fd" % keeper)]
    assert not [mode for mode in kinds if stat.S_ISSOCK(mode)]
    assert len(held_fifos(keeper)) == 2


@pytest.fixture
def keeper_here(tmp_path):
    """A PipeKeeper (grace 1 s) on a loop of this process, and the FIFOs a test opens
    (``fifos``): every keeper killed and reaped, the FIFOs closed, at the end."""
    loop = EventLoop()
    keeper = PipeKeeper(loop, Spawner(), "test", str(tmp_path), grace=1)
    fifos = []
    yield loop, keeper, fifos
    kill_pids(keeper.pids)
    for pid in keeper.pids:
        os.waitpid(pid, 0)
    for fd in fifos:
        os.close(fd)
    loop.close()


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


def test_one_keeper_for_a_batch_of_pipes_then_renewed_without_a_released_one(tmp_path,
                                                                             keeper_here):
    """500 pipes held in one turn of the loop make one keeper; a release makes a new one
    without that pipe, and the old one is killed only once the new one runs."""
    loop, keeper, fifos = keeper_here
    for n in range(500):
        fifos.append(os.open(make_fifo(tmp_path, n), os.O_RDWR | os.O_CLOEXEC))
        keeper.hold(fifos[-1])
    assert not keeper.pid  # nothing spawned inside the turn
    wanted = {os.fstat(fd).st_ino for fd in fifos}
    run_until(loop, lambda: keeper.pid and held_fifos_of(keeper.pid, tmp_path) == wanted,
              "every pipe held")
    first = keeper.pid
    assert keeper.pids == {first}
    for fd in fifos[-10:]:
        keeper.release(fd)
    wanted = {os.fstat(fd).st_ino for fd in fifos[:-10]}
    run_until(loop, lambda: keeper.pid != first and keeper.pids == {keeper.pid},
              "renewed, the old keeper reaped")
    assert held_fifos_of(keeper.pid, tmp_path) == wanted
    keeper.close()
    run_until(loop, lambda: not keeper.pids, "every keeper gone after close")


def test_a_keeper_whose_tree_is_gone_holds_its_pipes_for_its_grace_period(tmp_path,
                                                                         keeper_here):
    """What a killed tree leaves: the keeper reads EOF on its liveness pipe, holds every pipe
    for its grace period (1 s here), then exits — no longer."""
    loop, keeper, fifos = keeper_here
    fifos.append(os.open(make_fifo(tmp_path, 0), os.O_RDWR | os.O_CLOEXEC))
    keeper.hold(fifos[0])
    run_until(loop, lambda: keeper.pid and held_fifos_of(keeper.pid, tmp_path), "held")
    pid = keeper.pid
    os.close(keeper._current.alive_fd)  # as the kernel does when the tree dies
    keeper._current.alive_fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    gone_at = time.monotonic() + 5
    while os.waitpid(pid, os.WNOHANG)[0] == 0:
        assert time.monotonic() < gone_at, "the keeper of a dead tree never left"
        time.sleep(0.02)
    keeper._keepers.clear()
    keeper._current = None


def test_a_keeper_killed_is_replaced_at_once(tmp_path, keeper_here):
    loop, keeper, fifos = keeper_here
    fifos.append(os.open(make_fifo(tmp_path, 0), os.O_RDWR | os.O_CLOEXEC))
    keeper.hold(fifos[0])
    run_until(loop, lambda: keeper.pid and held_fifos_of(keeper.pid, tmp_path), "held")
    first = keeper.pid
    os.kill(first, signal.SIGKILL)
    run_until(loop, lambda: keeper.pid not in (0, first)
              and held_fifos_of(keeper.pid, tmp_path), "replaced", timeout=GRACE_SECONDS)
