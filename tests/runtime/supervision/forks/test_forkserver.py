"""The fork server's life cycle, on the tree's side (runtime/supervision/tree/forkclient.py): a
server that cannot start, or never says it is ready, makes whatever waited for it start the old
way — never an endless wait. Real processes stand in for the server; the loop is this process's.
"""

import errno
import json
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
from runit_provision.runtime.supervision.forks import server as forkserver, warmup
from runit_provision.runtime.supervision.tree import forkclient
from runit_provision.runtime.supervision.tree.forkclient import ForkServer
from runit_provision.runtime.unix import cpython

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


def asked_then_refused(loop, server):
    woken = []
    with pytest.raises(NotYet):
        server.request(b"host", ["x"], [], None)
    server.on_ready.append(lambda: woken.append(True))
    run_until(loop, lambda: woken)
    with pytest.raises(OSError) as refused:
        server.request(b"host", ["x"], [], None)
    assert refused.value.errno == errno.EAGAIN
    return woken


def test_a_server_that_dies_before_it_is_ready_wakes_its_askers_to_start_the_old_way(loop):
    spawner = StandInSpawner(["/bin/sh", "-c", "exit 1"])
    server = ForkServer(loop, spawner, "test")
    asked_then_refused(loop, server)
    assert len(spawner.pids) == 1  # not tried again in a loop


def test_a_server_that_never_says_ready_is_killed_and_its_askers_woken(loop, monkeypatch):
    monkeypatch.setattr(forkclient, "READY_SECONDS", 0.2)
    spawner = StandInSpawner(["/bin/sleep", "60"])
    server = ForkServer(loop, spawner, "test")
    try:
        asked_then_refused(loop, server)
    finally:
        kill_pids(spawner.pids)


def test_the_prepared_server_holds_nothing_that_runs_again_in_each_child(tmp_path):
    """What the server imports and warms up leaves no hook that runs after every fork in each
    child (``random`` reseeds itself there: 0.2 MB of every user's tree), and its warm-up's
    scratch directory is gone — a real server's preparation, in a fresh ``python -S -I``."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(runit_provision.__file__)))
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from runit_provision.runtime.supervision.forks import warmup\n"
            "warmup.preload(); warmup.warm_up_agents(); warmup.warm_up_tree()\n"
            "print(' '.join(sorted(sys.modules)))\n" % package)
    done = subprocess.run([sys.executable, "-S", "-I", "-c", code], capture_output=True,
                          text=True, timeout=60, env={},
                          cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    modules = set(done.stdout.split())
    assert "runit_provision.runtime.supervision.users.usertree" in modules
    assert modules & {"random", "tempfile", "shutil", "threading", "logging"} == set()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="CPython quickens code from 3.11 on")
def test_the_warm_up_runs_an_agents_loop_so_that_its_code_is_rewritten_once_in_the_server(
        tmp_path):
    """What an agent runs after its start — its loop's turn, reading a request and answering
    it, a signal, a child's end — is run on an ``Agent`` in the server's warm-up (issue 29):
    CPython 3.11 rewrites (quickens, then specializes) a function at its 8th run, and every
    agent forked before that would rewrite the same code in pages of its own. Warming up on
    another type would leave each agent re-specializing it, which ``dis`` cannot tell apart;
    that the loop is quickened at all, it can."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(runit_provision.__file__)))
    code = ("import dis, sys; sys.path.insert(0, %r)\n"
            "from runit_provision.runtime.supervision.users import agent\n"
            "from runit_provision.runtime.supervision.forks import warmup\n"
            "warmup.preload(); warmup.warm_up_agents()\n"
            "for name in ('turn', '_receive', '_signalled', '_reap', '_changed', 'spawn'):\n"
            "    ops = {i.opname for i in dis.get_instructions(getattr(agent.Agent, name),\n"
            "                                                  adaptive=True)}\n"
            "    print(name, int('LOAD_ATTR_INSTANCE_VALUE' in ops))\n" % package)
    done = subprocess.run([sys.executable, "-S", "-I", "-c", code], capture_output=True,
                          text=True, timeout=60, env={}, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "warm up" not in done.stderr, done.stderr
    assert dict(line.split() for line in done.stdout.splitlines()) == {
        "turn": "1", "_receive": "1", "_signalled": "1", "_reap": "1", "_changed": "1",
        "spawn": "1"}


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
    every asker left started the old way."""
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


def test_the_warm_up_scratch_is_removed_without_following_links(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kept").write_text("kept\n")
    scratch, other = warmup._scratch_directory(), warmup._scratch_directory()
    os.rmdir(other)
    try:
        assert other != scratch
        assert os.stat(scratch).st_mode & 0o777 == 0o700
        os.makedirs(os.path.join(scratch, "w", "log", "main"))
        os.symlink(str(outside), os.path.join(scratch, "w", "link"))
        os.symlink(str(outside / "kept"), os.path.join(scratch, "w", "log", "file-link"))
    finally:
        warmup._remove_tree(scratch)
    assert not os.path.lexists(scratch)
    assert (outside / "kept").read_text() == "kept\n"


def test_requests_that_came_together_are_taken_as_one_batch():
    """A tree starting asks for all its users' agents at once: the server takes every request
    waiting on its channel, not one per turn; an end of the channel is an empty batch."""
    import socket
    from runit_provision.runtime.unix.seqpacket import send
    tree, server = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    read_end, write_end = os.pipe()
    try:
        send(tree, b"agent\0a", [write_end])
        send(tree, b"host\0b\0c")
        send(tree, b"agent\0d")
        batch = forkserver._requests(server)
        assert [fields for fields, _ in batch] == [[b"agent", b"a"], [b"host", b"b", b"c"],
                                                   [b"agent", b"d"]]
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
    descriptors and none of the others' (a user's agent never holds another user's channel),
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
    not answered (the server answers those ``error``, and the tree starts them the old way)
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


# A fresh ``python -S -I`` prepares a server as serve() does, with an internal pretended away,
# and says what it touched: whether sys._debugmallocstats was called, how many objects filled
# the allocator's holes and free lists, whether an agent's code was copied, whether the agent
# starts processes through _posixsubprocess.
_PREPARED = """import json, sys; sys.path.insert(0, %r)
pretend = sys.argv[1]
calls = []
if pretend == "missing":
    del sys._debugmallocstats
    sys.modules["_posixsubprocess"] = None  # an import of it fails
else:
    real = sys._debugmallocstats
    sys._debugmallocstats = lambda: (calls.append(1), real())
from runit_provision.runtime.unix import cpython
if pretend == "unknown":
    cpython.MEASURED = ((3, 8),)  # this CPython, newer than any this release knows
from runit_provision.runtime.supervision.forks import warmup
warmup.preload()
from runit_provision.runtime.supervision.users import agent
before = agent.Agent.turn.__code__
warmup.settle(warmup.warm_up_agents)
warmup.settle(warmup.warm_up_tree)
print(json.dumps({"calls": len(calls), "fillers": len(warmup._FILLERS),
                  "copied": agent.Agent.turn.__code__ is not before,
                  "vfork": agent._VFORK_SPAWN, "lookups": len(warmup._LOOKUPS)}))
"""


@pytest.mark.parametrize("pretend", ["measured", "unknown", "missing"])
def test_a_cpython_the_server_does_not_know_is_prepared_without_its_internals(tmp_path,
                                                                              pretend):
    """unix/cpython.py: the server's preparation leans on CPython's internals only on a
    CPython it was measured on. Pretended newer than any it knows, it calls none of them (no
    allocator statistics read, nothing filled, no code copied, no vfork through
    ``_posixsubprocess``); with ``sys._debugmallocstats`` and ``_posixsubprocess`` gone, it
    fills nothing and forks instead — and either way it prepares without a warning, its
    warm-ups run. (Each child then supervises, forks and logs: the user's tree's test under
    RUNIT_PROVISION_CPYTHON_INTERNALS=no, tests/runtime/supervision/users/.)"""
    package = os.path.dirname(os.path.dirname(os.path.abspath(runit_provision.__file__)))
    done = subprocess.run([sys.executable, "-S", "-I", "-c", _PREPARED % package, pretend],
                          capture_output=True, text=True, timeout=120, env={},
                          cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # no "unable to warm up", no "unable to tidy up"
    found = json.loads(done.stdout)
    known = sys.version_info[:2] in cpython.MEASURED
    if pretend == "measured":  # the control: on a CPython it knows, each internal is used
        assert known, "a CPython unix/cpython.MEASURED does not name: add it once measured"
        assert found["calls"] > 0 and found["fillers"] > 0 and found["copied"]
        assert found["vfork"] == (sys.version_info[:2] >= (3, 11))
    elif pretend == "unknown":
        assert found == {"calls": 0, "fillers": 0, "copied": False, "vfork": False,
                         "lookups": 0}
    else:
        assert found["calls"] == 0 and found["fillers"] == 0 and found["vfork"] is False


def test_a_server_told_off_cpythons_internals_passes_the_word_on_alone(monkeypatch):
    """The tree's ``RUNIT_PROVISION_CPYTHON_INTERNALS`` reaches the server (and through it its
    children), and nothing else of the tree's environment does."""
    monkeypatch.setenv(cpython.VARIABLE, "no")
    monkeypatch.setenv("SECRET", "x")
    environ = forkclient.server_environ()
    assert environ[cpython.VARIABLE] == "no" and "SECRET" not in environ
    assert cpython.leans_on_internals(environ=environ) is False
    monkeypatch.delenv(cpython.VARIABLE)
    assert cpython.VARIABLE not in forkclient.server_environ()
