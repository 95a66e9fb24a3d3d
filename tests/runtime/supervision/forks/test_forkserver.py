"""The fork server's life cycle, on the tree's side (runtime/supervision/tree/forkclient.py): a
server that cannot start, or never says it is ready, is started again after a back-off that
doubles, while its askers wait — what it starts has no other way to start. Real processes stand
in for the server; the loop is this process's.
"""

import errno
import os
import select
import signal
import socket
import subprocess
import sys
import time

import pytest

import runit_provision
from runit_provision.runtime.supervision.engine.loop import EventLoop
from runit_provision.runtime.supervision.engine.side import NotYet
from runit_provision.runtime.supervision.engine.spawn import Spawner
from runit_provision.runtime.supervision.forks import server as forkserver
from runit_provision.runtime.supervision.tree import forkclient
from runit_provision.runtime.supervision.tree.forkclient import ForkServer

from ...processes import kill_pids

pytestmark = pytest.mark.slow


class StandInSpawner(Spawner):
    """Spawns ``argv`` instead of whatever it is asked for: a server that fails."""

    def __init__(self, argv):
        Spawner.__init__(self, environ={"PATH": "/usr/bin:/bin"})
        self.argv = argv
        self.pids = []

    def spawn(self, argv, **kwargs):
        kwargs.pop("env", None)
        pid = Spawner.spawn(self, self.argv, **kwargs)
        self.pids.append(pid)
        return pid


def run_until(loop, predicate, timeout=10.0):
    deadline = loop.monotonic() + timeout

    def check():
        if predicate() or loop.monotonic() > deadline:
            loop.stop()
        else:
            loop.call_later(0.02, check)

    loop.call_later(0, check)
    loop.run()
    assert predicate()


@pytest.fixture
def loop():
    found = EventLoop()
    yield found
    found.close()


def started_again_while_its_askers_wait(loop, server, spawner):
    """Asked while it cannot start: the asker waits (NotYet, never woken to go elsewhere),
    and the server is started again after 0.1 s, then 0.2 s — not in a loop."""
    woken = []
    with pytest.raises(NotYet):
        server.request(b"host", ["x"], [], None)
    server.on_ready.append(lambda: woken.append(True))
    began = loop.monotonic()
    run_until(loop, lambda: len(spawner.pids) >= 3, timeout=20)
    assert loop.monotonic() - began >= 0.3 and not woken
    with pytest.raises(NotYet):  # still waiting: nothing refuses it
        server.request(b"host", ["x"], [], None)
    return woken


def test_a_server_that_dies_before_it_is_ready_is_started_again_after_its_back_off(
        loop, monkeypatch):
    monkeypatch.setattr(forkclient, "RETRY_SECONDS", 0.1)
    spawner = StandInSpawner(["/bin/sh", "-c", "exit 1"])
    server = ForkServer(loop, spawner, "test")
    started_again_while_its_askers_wait(loop, server, spawner)
    server.close()
    count, until = len(spawner.pids), loop.monotonic() + 0.5
    run_until(loop, lambda: loop.monotonic() > until)
    assert len(spawner.pids) == count  # a closed tree's server is not started again


def test_a_server_that_never_says_ready_is_killed_and_started_again(loop, monkeypatch):
    monkeypatch.setattr(forkclient, "READY_SECONDS", 0.2)
    monkeypatch.setattr(forkclient, "RETRY_SECONDS", 0.1)
    spawner = StandInSpawner(["/bin/sleep", "60"])
    server = ForkServer(loop, spawner, "test")
    try:
        started_again_while_its_askers_wait(loop, server, spawner)
    finally:
        server.close()
        kill_pids(spawner.pids)


def test_once_a_server_starts_its_askers_are_woken_and_its_back_off_is_new(loop, monkeypatch):
    """Two starts fail, the third is the real server: the asker is woken once, and its
    request answered; a later failure waits the first back-off again."""
    monkeypatch.setattr(forkclient, "RETRY_SECONDS", 0.1)
    spawner = StandInSpawner(["/bin/sh", "-c", "exit 1"])
    real = Spawner(environ={"PATH": "/usr/bin:/bin"})

    def spawn(argv, **kwargs):
        if len(spawner.pids) < 2:
            return StandInSpawner.spawn(spawner, argv, **kwargs)
        pid = real.spawn(argv, **kwargs)
        spawner.pids.append(pid)
        return pid
    spawner.spawn = spawn
    server = ForkServer(loop, spawner, "test")
    woken = []
    with pytest.raises(NotYet):
        server.check()
    server.on_ready.append(lambda: woken.append(True))
    try:
        run_until(loop, lambda: woken, timeout=30)
        assert woken == [True] and len(spawner.pids) == 3
    finally:
        server.close()
        run_until(loop, lambda: not server.pid)


def loaded_by(code, cwd):
    """The modules a fresh ``python -S -I`` has loaded after running ``code``."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(runit_provision.__file__)))
    done = subprocess.run([sys.executable, "-S", "-I", "-c",
                           "import sys; sys.path.insert(0, %r)\n%s\n"
                           "print(' '.join(sorted(sys.modules)))\n" % (package, code)],
                          capture_output=True, text=True, timeout=60, env={}, cwd=str(cwd))
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_the_prepared_server_holds_nothing_that_runs_again_in_each_child(tmp_path):
    """What the server imports leaves no hook that runs after every fork in each child
    (``random`` reseeds itself there), and every room a child runs is loaded — a real
    server's preparation, in a fresh ``python -S -I``, its collector frozen after it. What
    the interpreter's own ``ctypes`` loads is not ours to leave out (CPython 3.14's brings
    ``threading``, through ``sysconfig``)."""
    modules = loaded_by("import gc\n"
                        "from runit_provision.runtime.supervision.forks import server\n"
                        "server.preload(); gc.freeze()", tmp_path)
    assert {"runit_provision.runtime.supervision.users.forkedtree",
            "runit_provision.runtime.supervision.tree.servicetree",
            "runit_provision.runtime.svlog.engine", "binascii"} <= modules
    ours = modules - loaded_by("import ctypes", tmp_path)
    assert ours & {"random", "tempfile", "shutil", "threading", "logging"} == set()


def test_a_real_server_answers_each_request_in_order_from_its_middle_child(loop):
    """The server only peeks, forks and waits; the middle child reads the request and answers
    it — here an unknown kind, twice: each answered (EINVAL), in order, and the server
    serves on."""
    spawner = Spawner(environ={"PATH": "/usr/bin:/bin"})
    server = ForkServer(loop, spawner, "test")
    answers = []
    ready = []
    with pytest.raises(NotYet):
        server.request(b"what", [], [], answers.append)
    server.on_ready.append(lambda: ready.append(True))
    try:
        run_until(loop, lambda: ready, timeout=30)
        read_end, write_end = os.pipe()
        try:
            server.request(b"what", ["a"], [read_end], answers.append)
            server.request(b"nothing", [], [], answers.append)
        finally:
            os.close(read_end)
            os.close(write_end)
        run_until(loop, lambda: len(answers) == 2)
        assert [answer.errno for answer in answers] == [errno.EINVAL, errno.EINVAL]
        assert server.pid and os.path.exists("/proc/%d" % server.pid)
    finally:
        server.close()
        run_until(loop, lambda: not server.pid)


def test_a_burst_of_requests_waits_for_room_and_a_slow_server_lives(loop, monkeypatch):
    """300 requests at once (a tree starting 200 users' trees) to a server that reads none
    for a while — stopped here, as a loaded machine slows it: the tree sends what the channel
    can take (``IN_FLIGHT``), the rest wait (NotYet, woken as answers come), and every one is
    answered by the same server. Before, the channel's refusal at ~150 killed the server and
    every asker left failed."""
    monkeypatch.setattr(forkclient, "ANSWER_SECONDS", 120.0)  # the stop is no failure here
    spawner = Spawner(environ={"PATH": "/usr/bin:/bin"})
    server = ForkServer(loop, spawner, "test")
    answers, refused, ready = [], [], []
    read_end, write_end = os.pipe()

    def ask(number):
        try:
            server.request(b"what", ["x" * 1000, number], [read_end], answers.append)
        except NotYet:
            server.on_ready.append(lambda: ask(number))
        except OSError as exc:
            refused.append(exc)

    with pytest.raises(NotYet):
        server.check()
    server.on_ready.append(lambda: ready.append(True))
    try:
        run_until(loop, lambda: ready, timeout=30)
        serving = server.pid
        os.kill(serving, signal.SIGSTOP)
        try:
            for number in range(300):
                ask(number)
            assert not refused and 300 - forkclient.IN_FLIGHT <= len(server.on_ready) < 300
        finally:
            os.kill(serving, signal.SIGCONT)
        run_until(loop, lambda: len(answers) == 300 or refused, timeout=120)
        assert not refused and {answer.errno for answer in answers} == {errno.EINVAL}
        assert server.pid == serving and os.path.exists("/proc/%d" % serving)
    finally:
        os.close(read_end)
        os.close(write_end)
        server.close()
        run_until(loop, lambda: not server.pid)


def test_requests_that_came_together_are_taken_as_one_batch():
    """A tree starting asks for all its users' trees at once: the server takes every request
    waiting on its channel, not one per turn; an end of the channel is an empty batch."""
    import socket
    from runit_provision.runtime.unix.seqpacket import send
    tree, server = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    read_end, write_end = os.pipe()
    try:
        send(tree, b"tree\0a", [write_end])
        send(tree, b"host\0b\0c")
        send(tree, b"tree\0d")
        batch = forkserver._requests(server)
        assert [fields for fields, _ in batch] == [[b"tree", b"a"], [b"host", b"b", b"c"],
                                                   [b"tree", b"d"]]
        assert [len(fds) for _, fds in batch] == [1, 0, 0]
        os.close(batch[0][1][0])
        assert server.getblocking()  # the next batch is waited for
        tree.close()
        assert forkserver._requests(server) == []
    finally:
        server.close()
        tree.close()
        os.close(read_end)
        os.close(write_end)


def answers_of(tree_end):
    """Every answer waiting on the tree's end of a channel, in order."""
    found = []
    while True:
        try:
            found.append(tree_end.recv(64, socket.MSG_DONTWAIT))
        except BlockingIOError:
            return found


@pytest.fixture
def channel(monkeypatch):
    """A real channel: the test plays the middle child on its server end; the fd each child
    closes as the channel is a spare one (the test's own descriptors stay open)."""
    tree_end, server_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    spare = os.open(os.devnull, os.O_RDONLY)
    monkeypatch.setattr(forkserver, "CHANNEL_FD", spare)
    yield tree_end, server_end
    tree_end.close()
    server_end.close()
    os.close(spare)


def test_each_child_of_a_batch_is_forked_with_only_its_own_descriptors(monkeypatch, channel):
    """One middle child forks every child of a batch, in order; each keeps its own request's
    descriptors and none of the others' (a user's tree never holds another user's channel),
    and a request of no known kind is refused in its place."""
    def probe(fields, fds):
        try:
            os.fstat(forkserver.CHANNEL_FD)
            channel_held = "channel-held"
        except OSError:
            channel_held = "channel-closed"
        os.write(fds[0], (" ".join([fields[0], channel_held]
                                   + sorted(os.listdir("/proc/self/fd")))).encode())
        os._exit(0)

    monkeypatch.setitem(forkserver._CHILDREN, b"probe", probe)
    tree_end, server_end = channel
    pipes = [os.pipe() for _ in range(3)]
    batch = [([b"probe", b"first"], [pipes[0][1]]), ([b"what"], []),
             ([b"probe", b"second"], [pipes[1][1]]), ([b"probe", b"third"], [pipes[2][1]])]
    assert forkserver._answer_batch(server_end, batch) == 0  # here, the test is the middle
    answers = answers_of(tree_end)
    for answer in answers:
        if answer.startswith(b"pid\0"):
            os.waitpid(int(answer.split(b"\0")[1]), 0)
    for _, write_end in pipes:
        os.close(write_end)
    said = []
    for read_end, _ in pipes:
        with os.fdopen(read_end, "rb") as reader:
            said.append(reader.read().decode().split())
    assert [answer.split(b"\0")[0] for answer in answers] == [b"pid", b"error", b"pid", b"pid"]
    assert answers[1] == b"error\0%d" % errno.EINVAL
    assert len({answer for answer in answers}) == 4  # a child each
    for index, words in enumerate(said):
        assert words[:2] == [("first", "second", "third")[index], "channel-closed"]
        own = {str(pipes[index][1])}
        others = {str(write_end) for other, (_, write_end) in enumerate(pipes) if other != index}
        assert own <= set(words[2:]) and not others & set(words[2:]), words


class FailingFork:
    """``os.fork`` until ``after`` children are forked, then a failure that is not an
    OSError (the kind a batch's old all-or-nothing answer could not survive)."""

    def __init__(self, after):
        self.after = after
        self.forked = 0

    def __call__(self):
        if self.forked == self.after:
            raise MemoryError("injected: no memory for the next child")
        self.forked += 1
        return os.fork()


class BreakingChannel:
    """A real channel whose ``send`` fails after ``after`` answers (the tree's end gone
    between two answers): the answer not sent is the failure."""

    def __init__(self, channel, after):
        self.channel = channel
        self.after = after

    def send(self, message):
        if self.after == 0:
            raise BrokenPipeError(errno.EPIPE, "injected: the channel broke")
        self.after -= 1
        return self.channel.send(message)


def run_a_failing_batch(monkeypatch, server_end, fork=os.fork, size=4):
    """A batch of ``size`` children that each say their pid and then wait to be let go;
    ``(unanswered, answers, started pids, release)``."""
    said_r, said_w = os.pipe()
    release_r, release_w = os.pipe()

    def waiter(_fields, _fds):
        os.close(release_w)  # the test's alone: its close is every waiter's EOF
        os.write(said_w, b"%d\n" % os.getpid())
        os.read(release_r, 1)
        os._exit(0)

    monkeypatch.setitem(forkserver._CHILDREN, b"waiter", waiter)
    batch = [([b"waiter", b"%d" % index], []) for index in range(size)]
    unanswered = forkserver._answer_batch(server_end, batch, fork=fork)
    os.close(said_w)
    os.close(release_r)
    return unanswered, said_r, release_w


def children_running(pids):
    """Those of ``pids`` (children of ours) that run: not reaped already, not ended."""
    found = set()
    for pid in pids:
        try:
            if os.waitpid(pid, os.WNOHANG) == (0, 0):
                found.add(pid)
        except ChildProcessError:
            pass  # reaped already: it was killed before its request was answered
    return found


@pytest.mark.parametrize("failure", ["fork", "answer"])
def test_a_batch_that_fails_in_its_middle_answers_only_what_runs(monkeypatch, channel, failure):
    """A failure in the middle of a batch — the third fork raising, or the third answer not
    going out — leaves exactly the children answered with their pid running; every request
    not answered (the server answers those ``error``: their starts fail, and are tried again)
    has no process: nothing runs twice."""
    tree_end, server_end = channel
    if failure == "fork":
        unanswered, said_r, release_w = run_a_failing_batch(monkeypatch, server_end,
                                                             fork=FailingFork(after=2))
    else:
        unanswered, said_r, release_w = run_a_failing_batch(
            monkeypatch, BreakingChannel(server_end, after=2))
    answers = answers_of(tree_end)
    answered = {int(answer.split(b"\0")[1]) for answer in answers}
    assert [answer.split(b"\0")[0] for answer in answers] == [b"pid", b"pid"]
    assert unanswered == 2  # the server answers those two error
    try:
        started = set()
        deadline = time.monotonic() + 10
        while not answered <= started and time.monotonic() < deadline:
            if select.select([said_r], [], [], 0.1)[0]:
                started |= {int(word) for word in os.read(said_r, 4096).split()}
        assert answered <= started  # each answered child runs
        assert children_running(started | answered) == answered  # and nothing else does
    finally:
        os.close(release_w)  # each waiter's read ends: they exit
        os.close(said_r)
        for pid in answered:
            os.waitpid(pid, 0)
