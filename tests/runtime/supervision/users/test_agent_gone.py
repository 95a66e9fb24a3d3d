"""A user's agent killed while it owes root's loop an answer — a logger's file step, a state
write, a FIFO's open, a remove (a process record, a logger's ``unfinished``), a waiter's
wake-up, the look for a lost start: the next agent does it, and nothing waits for good nor
fails for it.

The orders the security tier's ``test_a_user_killing_their_logger_or_tree_touches_no_one_else``
met under load (a user killing their agent while a logger of theirs was restarting through it:
that logger never started again, or ``sv`` and ``supervise/pid`` said it down for good), made
deterministic: real agents (``agent.run`` in a forked child), the first one stopped before it
can answer, then killed.
"""

import os
import select
import signal
import socket
import subprocess

import pytest

from runit_provision.protocol.eventdir import STATUS, subscribe
from runit_provision.runtime.supervision.users import agent
from runit_provision.runtime.supervision.engine.adoption import boot_ticks
from runit_provision.runtime.supervision.users.agenteventdir import RemoteEvents
from runit_provision.runtime.supervision.users.agentio import AgentIO
from runit_provision.runtime.supervision.users.agentlink import AgentLink
from runit_provision.runtime.supervision.users.agentlogs import AgentLogIO
from runit_provision.runtime.supervision.engine.loop import EventLoop
from runit_provision.runtime.svlog.config import parse_config
from runit_provision.runtime.svlog.dirwork import remove_unfinished
from runit_provision.runtime.svlog.logdir import LogDir, Reporter
from runit_provision.runtime.svlog.writeplan import Raw

pytestmark = pytest.mark.slow


class Agents:
    """Real agents, each a forked child running ``agent.run`` as this process's user on
    ``tree``, attached in turn to one AgentIO on ``loop``; every one ended after the test."""

    def __init__(self, loop, io, tree):
        self.loop, self.io, self.tree = loop, io, tree
        self.pids, self.links = [], []

    def start(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        output = os.open(os.devnull, os.O_WRONLY)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child: agent.run never returns
            ours.close()
            agent.run([str(os.getuid()), str(os.getgid()), "", str(self.tree), "0"],
                      [theirs.fileno(), output])
        theirs.close()
        os.close(output)
        self.pids.append(pid)
        link = AgentLink(self.loop, ours, pid, lambda kind, fields: None,
                         lambda: self.io.link is link and self.io.detach(), "test agent")
        self.io.attach(link)
        self.links.append(link)
        return pid, link

    def killed_owing(self, ask):
        """A first agent, stopped so that it reads nothing, is asked ``ask()`` (which returns
        what the asking returned), then killed; once root's loop has seen its channel close."""
        pid, link = self.start()
        os.kill(pid, signal.SIGSTOP)
        asked = ask()
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        assert turn_until(self.loop, lambda: not link.is_open), "the killed agent's channel open"
        return asked

    def close(self):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        for link in self.links:
            link.close()  # its channel: one a killed agent left is closed already


def turn_until(loop, condition, timeout=10.0):
    """Run ``loop`` until ``condition()`` holds (checked every 10 ms), at most ``timeout``."""
    def check():
        if condition() or loop.monotonic() > deadline:
            loop.stop()
        else:
            loop.call_later(0.01, check)
    deadline = loop.monotonic() + timeout
    loop.call_later(0, check)
    loop.run()
    return condition()


@pytest.fixture
def setting(tmp_path):
    errors = []
    loop = EventLoop(handle_error=errors.append)
    io = AgentIO(loop, "test")
    (tmp_path / "service").mkdir()
    (tmp_path / "logs" / "main").mkdir(parents=True)
    agents = Agents(loop, io, tmp_path / "service")
    base = os.open(str(tmp_path / "logs"), os.O_RDONLY | os.O_DIRECTORY)
    quiet = os.open(str(tmp_path / "said"), os.O_WRONLY | os.O_CREAT)  # its messages
    try:
        yield loop, io, agents, base, quiet, errors
    finally:
        agents.close()
        io.close()
        os.close(base)
        os.close(quiet)
        loop.close()


def test_an_open_the_killed_agent_owed_is_done_by_the_next(setting):
    loop, io, agents, base, quiet, errors = setting
    base_path = agents.tree.parent / "logs"
    opened = []
    logdir = LogDir("main", loop, None, Reporter(fd=quiet),
                    base_fd=base, io=AgentLogIO(io),
                    on_change=lambda: logdir.is_open or opened.append(
                        logdir.open(parse_config)))  # asked again until it is done, as svlogd
    assert agents.killed_owing(lambda: logdir.open(parse_config)) is None
    assert errors == [] and opened == []  # no answer, and no error: it waits for an agent
    agents.start()
    assert turn_until(loop, lambda: logdir.is_open), (errors, opened)
    assert errors == [] and opened[-1] is True, (opened, (agents.tree.parent / "said").read_text())
    assert (base_path / "main" / "lock").exists()  # made by the second agent's open


def test_a_state_write_the_killed_agent_took_with_it_is_done_by_the_next(setting, tmp_path):
    """A logger's ``run`` (pid, stat) written as the user killed the agent: no later write of
    it comes while the logger runs on, so it must not be lost (``sv`` said down for good)."""
    loop, io, agents, _base, _quiet, errors = setting
    side = tmp_path / "service" / "web" / "log"
    (side / "supervise").mkdir(parents=True)
    side_fd = os.open(str(side), os.O_RDONLY | os.O_DIRECTORY)
    warnings = []
    try:
        agents.killed_owing(lambda: io.write_files(
            side_fd, [(False, "supervise/stat", b"run\n")], "log/",
            lambda *said: warnings.append(said)))
        assert not (side / "supervise" / "stat").exists()
        agents.start()
        stat = side / "supervise" / "stat"
        assert turn_until(loop, lambda: stat.exists() and stat.read_bytes() == b"run\n"), (
            errors, warnings)
        assert errors == [] and warnings == []
    finally:
        os.close(side_fd)


def test_a_fifo_the_killed_agent_was_opening_is_opened_by_the_next(setting, tmp_path):
    """A hosted logger's reading end of its pipe: lost, that logger ran as a process of the
    user's instead of on root's loop, with a warning."""
    loop, io, agents, _base, _quiet, errors = setting
    side = tmp_path / "service" / "web" / "log"
    (side / "supervise").mkdir(parents=True)
    os.mkfifo(str(side / "supervise" / "pipe"))
    side_fd = os.open(str(side), os.O_RDONLY | os.O_DIRECTORY)
    answers = []
    try:
        agents.killed_owing(lambda: io.open_fifo(side_fd, "log/", "pipe", os.O_RDONLY,
                                                 answers.append))
        assert answers == []
        agents.start()
        assert turn_until(loop, lambda: answers), errors
        [reader] = answers
        assert isinstance(reader, int), reader
        assert os.path.samestat(os.fstat(reader), os.stat(str(side / "supervise" / "pipe")))
        os.close(reader)
        assert errors == []
    finally:
        os.close(side_fd)


def test_a_remove_the_killed_agent_took_with_it_is_done_by_the_next(setting, tmp_path):
    """A supervisor's clean exit removes its process record, then closes the side's directory
    at once. The record left, the successor took its process for one lost: ``sv d`` then
    ``sv x`` kept the service down for good, where a fresh start brings it up (runit's rule).
    The number of the closed descriptor, taken again by another directory, gets nothing."""
    loop, io, agents, _base, _quiet, errors = setting
    records = []
    for name in ("web", "other"):
        (tmp_path / "service" / name / "supervise").mkdir(parents=True)
        record = tmp_path / "service" / name / "supervise" / "process"
        record.write_bytes(b"0 0 boot run\n")
        records.append(record)
    side_fd = os.open(str(records[0].parent.parent), os.O_RDONLY | os.O_DIRECTORY)
    agents.killed_owing(lambda: io.remove(side_fd, "supervise/process"))
    os.close(side_fd)  # the supervisor's close(), right after its remove_record()
    other_fd = os.open(str(records[1].parent.parent), os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert other_fd == side_fd  # the number is another directory's now
        assert records[0].exists()
        agents.start()
        assert turn_until(loop, lambda: not records[0].exists()), errors
        io.remove(other_fd, "supervise/nothing")  # answered after the first: all done then
        assert turn_until(loop, lambda: io.link is not None and not io.link._waiting), errors
        assert records[1].exists() and errors == []
    finally:
        os.close(other_fd)


def _waiter_woken(waiter):
    return bool(select.select([waiter.fd], [], [], 0)[0])


@pytest.mark.parametrize("when", ["taken by the killed agent", "asked while none ran"])
def test_a_wake_up_no_agent_made_is_made_by_the_next_after_its_writes(setting, tmp_path, when):
    """``sv -w``'s waiter on a side of a user's tree: a post the killed agent took with it, or
    one asked before the next agent ran (it reached that agent before its ``evopen``, when it
    has no reader to post through), woke nobody — the waiter looked again only at its safety
    look, every 0.42 s. The next agent posts it, after the state write asked before it."""
    loop, io, agents, _base, _quiet, errors = setting
    side = tmp_path / "service" / "web"
    (side / "supervise").mkdir(parents=True)
    side_fd = os.open(str(side), os.O_RDONLY | os.O_DIRECTORY)
    events = RemoteEvents(io, side_fd)
    waiter = None
    try:
        agents.start()
        events.open()
        listener = side / "supervise" / "event" / "ok"
        assert turn_until(loop, lambda: listener.exists() and not io.link._waiting), errors
        waiter = subscribe(str(side))
        assert waiter is not None

        def state_and_post():
            io.write_files(side_fd, [(False, "supervise/status", b"new")], "",
                           lambda *said: errors.append(said))
            events.post(STATUS)
        if when == "taken by the killed agent":
            agents.killed_owing(state_and_post)
        else:
            agents.killed_owing(lambda: None)
            state_and_post()
        assert not _waiter_woken(waiter)
        agents.start()
        assert turn_until(loop, lambda: _waiter_woken(waiter), timeout=5), errors
        assert (side / "supervise" / "status").read_bytes() == b"new"  # written before
        assert errors == []
    finally:
        if waiter is not None:
            waiter.close()
        events.close(post=False)
        os.close(side_fd)


def test_a_lost_start_the_killed_agent_was_looking_for_is_looked_for_by_the_next(setting,
                                                                                tmp_path):
    """A spawn an agent took with it is looked for by the next (adoption.started_in); that one
    killed too before it answered, the answer was 0 — not found — and ``./run`` was started
    again beside the one running."""
    loop, io, agents, _base, _quiet, errors = setting
    side = tmp_path / "service" / "web"
    side.mkdir(parents=True)
    side_fd = os.open(str(side), os.O_RDONLY | os.O_DIRECTORY)
    since = boot_ticks()
    lost = subprocess.Popen(["sleep", "60"], cwd=str(side))  # what the first agent started
    answers = []
    try:
        agents.killed_owing(lambda: io.started(side_fd, since, (), answers.append))
        assert answers == []
        agents.start()
        assert turn_until(loop, lambda: answers), errors
        assert answers == [lost.pid] and errors == []
    finally:
        lost.kill()
        lost.wait()
        os.close(side_fd)


def test_a_removal_of_unfinished_the_killed_agent_took_with_it_is_done_by_the_next(setting):
    """A line held unfinished is written, then its ``unfinished`` removed (no answer awaited):
    that removal lost, the next logger on the directory took the line for one to finish — it
    was written a second time, the writer's next line joined to it."""
    loop, io, agents, base, _quiet, errors = setting
    main = agents.tree.parent / "logs" / "main"
    (main / "unfinished").write_bytes(b"42\nhalf")
    dir_fd = os.open(str(main), os.O_RDONLY | os.O_DIRECTORY)
    try:
        agents.killed_owing(lambda: AgentLogIO(io).send(remove_unfinished, dir_fd))
        assert (main / "unfinished").exists()
        agents.start()
        assert turn_until(loop, lambda: not (main / "unfinished").exists()), errors
        assert errors == []
    finally:
        os.close(dir_fd)


def test_a_batch_the_killed_agent_took_with_it_is_done_by_the_next_in_its_order(
        setting, tmp_path):
    """A side's start before ``ok`` (AgentIO.together): its status, then ``ok`` opened — each
    asked again of the next agent, in that order (``sv`` finds runsv only with a status)."""
    loop, io, agents, _base, _quiet, errors = setting
    side = tmp_path / "service" / "web"
    (side / "supervise").mkdir(parents=True)
    os.mkfifo(str(side / "supervise" / "ok"))
    side_fd = os.open(str(side), os.O_RDONLY | os.O_DIRECTORY)
    answers, warnings = [], []
    status = side / "supervise" / "status"

    def ask():
        with io.together():
            io.write_files(side_fd, [(False, "supervise/status", b"down\n")], "",
                           lambda *said: warnings.append(said))
            io.open_fifo(side_fd, "", "ok", os.O_RDONLY,
                         lambda found: answers.append((found, status.exists())))
    try:
        agents.killed_owing(ask)
        assert answers == [] and not status.exists()
        agents.start()
        assert turn_until(loop, lambda: answers), errors
        [(reader, status_there)] = answers
        assert isinstance(reader, int) and status_there, answers
        assert os.path.samestat(os.fstat(reader), os.stat(str(side / "supervise" / "ok")))
        os.close(reader)
        assert status.read_bytes() == b"down\n"
        assert errors == [] and warnings == []
    finally:
        os.close(side_fd)


def _opened_logdir(loop, io, base, quiet):
    """``logs/main`` opened through the agent attached (its open asked again until done, as
    svlogd's host asks it)."""
    logdir = LogDir("main", loop, None, Reporter(fd=quiet), base_fd=base, io=AgentLogIO(io),
                    on_change=lambda: logdir.is_open or logdir.open(parse_config))
    logdir.open(parse_config)
    return logdir


@pytest.mark.parametrize("rendered", [False, True], ids=["bytes", "rendered"])
def test_a_write_the_killed_agent_made_before_it_answered_is_not_made_again(setting, rendered):
    """A logger's write to ``current`` done by an agent killed before its answer went out:
    asked again of the next agent, as such — what ``current`` gained since the size before
    it is the write, not written twice (the repeats of the chaos soak's users' loggers)."""
    loop, io, agents, base, quiet, errors = setting
    current = agents.tree.parent / "logs" / "main" / "current"
    first_pid, first = agents.start()
    logdir = _opened_logdir(loop, io, base, quiet)
    assert turn_until(loop, lambda: logdir.is_open and not logdir.is_busy), errors
    logdir.write([b"one\n"])
    assert turn_until(loop, lambda: not logdir.is_busy), errors
    os.kill(first_pid, signal.SIGKILL)
    os.waitpid(first_pid, 0)
    assert turn_until(loop, lambda: not first.is_open)
    line = Raw(b"T ", b"two\nthree\n") if rendered else [b"two\n", b"three\n"]
    made = b"T two\nT three\n" if rendered else b"two\nthree\n"

    def ask_then_write_as_the_agent_did():
        logdir.write(line)
        with open(str(current), "ab") as handle:  # its write made, its answer never sent
            handle.write(made)
    agents.killed_owing(ask_then_write_as_the_agent_did)
    assert logdir.is_busy  # the write waits for an answer
    agents.start()
    assert turn_until(loop, lambda: not logdir.is_busy), errors
    assert current.read_bytes() == b"one\n" + made
    assert logdir.size == len(b"one\n" + made) and errors == []
    logdir.write([b"four\n"])
    assert turn_until(loop, lambda: not logdir.is_busy), errors
    assert current.read_bytes() == b"one\n" + made + b"four\n"


def test_a_write_the_killed_agent_made_in_part_is_finished_by_the_next(setting):
    """A write cut short by the kill (a regular file's write can end early on a fatal
    signal): the next agent writes the rest, and only the rest."""
    loop, io, agents, base, quiet, errors = setting
    current = agents.tree.parent / "logs" / "main" / "current"
    first_pid, first = agents.start()
    logdir = _opened_logdir(loop, io, base, quiet)
    assert turn_until(loop, lambda: logdir.is_open and not logdir.is_busy), errors
    os.kill(first_pid, signal.SIGKILL)
    os.waitpid(first_pid, 0)
    assert turn_until(loop, lambda: not first.is_open)

    def ask_then_write_a_part():
        logdir.write([b"a whole line\n"])
        with open(str(current), "ab") as handle:
            handle.write(b"a who")
    agents.killed_owing(ask_then_write_a_part)
    agents.start()
    assert turn_until(loop, lambda: not logdir.is_busy), errors
    assert current.read_bytes() == b"a whole line\n" and errors == []
