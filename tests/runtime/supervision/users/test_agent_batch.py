"""Requests sent to a user's agent as one batch (agentwire.BATCH, ``AgentIO.together``): the
agent does each in its order exactly as if it had come alone and answers each; root reads the
batch's answer as strictly as any (an answer that does not account for every request and
descriptor gets the agent killed, and each request of the batch its AgentGone)."""

import errno
import os
import socket
import subprocess
import threading

from runit_provision.runtime.supervision.users import agent
from runit_provision.runtime.supervision.users import agentwire as wire
from runit_provision.runtime.supervision.users.agentlink import AgentGone, AgentLink, Answer
from runit_provision.runtime.supervision.engine.loop import EventLoop
from runit_provision.runtime.unix.seqpacket import send


def side(tmp_path):
    (tmp_path / "supervise").mkdir()
    os.mkfifo(str(tmp_path / "supervise" / "ok"))
    return os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)


def batch(*requests):
    """A batch's fields: ``(fields, descriptor count)`` each."""
    fields = [wire.BATCH]
    for request, count in requests:
        fields += [count, wire.encode(*request)]
    return wire.encode(*fields)


def test_a_batch_does_each_request_in_its_order_and_answers_each_as_alone(tmp_path):
    base = side(tmp_path)
    worker = agent.Agent.__new__(agent.Agent)  # these handlers need nothing of its own
    fds = [os.dup(base) for _ in range(4)]
    answer, out = agent.handle(worker, batch(
        ((b"write", b"", b"new", b"supervise/status", b"run\n"), 1),
        ((b"fifo", b"", b"ok", os.O_RDONLY), 1),
        ((b"fifo", b"", b"nothing", os.O_RDONLY), 1),  # fails: the next is done all the same
        ((b"write", b"", b"place", b"supervise/process", b"0" * 8), 1)), fds)
    try:
        assert answer[0] == b"=" and answer[1::2] == [0, 1, 0, 0]
        said = [wire.decode(field) for field in answer[2::2]]
        assert said[0] == [b"="] and said[1] == [b"="] and said[3] == [b"="]
        assert said[2][:2] == [b"!", b"fatal"] and b"supervise/nothing" in said[2][2]
        [reader] = out
        assert os.path.samestat(os.fstat(reader), os.stat(str(tmp_path / "supervise" / "ok")))
        assert (tmp_path / "supervise" / "status").read_bytes() == b"run\n"
        assert (tmp_path / "supervise" / "process").read_bytes() == b"0" * 8
        for fd in fds:  # every descriptor of the batch closed by its request's handling
            try:
                os.fstat(fd)
            except OSError as exc:
                assert exc.errno == errno.EBADF
            else:
                assert fd == reader, "descriptor %d left open" % fd
    finally:
        for fd in out + [base]:
            os.close(fd)


def test_a_batch_that_is_not_one_is_refused_and_its_descriptors_closed(tmp_path):
    base = side(tmp_path)
    worker = agent.Agent.__new__(agent.Agent)
    try:
        for message, count in (
                (batch(((b"fifo", b"", b"ok", os.O_RDONLY), 2)), 1),  # counts one it lacks
                (batch(((b"fifo", b"", b"ok", os.O_RDONLY), 0)), 1),  # one not counted
                (wire.encode(wire.BATCH, 1), 1),
                (wire.encode(wire.BATCH), 0)):
            fds = [os.dup(base) for _ in range(count)]
            answer, out = agent.handle(worker, message, fds)
            assert answer[:2] == [b"!", b"bad"] and out == []
            for fd in fds:
                assert not _is_open(fd)
        fd = os.dup(base)
        answer, out = agent.handle(worker, batch(((wire.BATCH, 0, b"1:="), 1)), [fd])
        assert answer[0] == b"=" and wire.decode(answer[2])[:2] == [b"!", b"bad"]
        assert not _is_open(fd) and out == []
        assert not (tmp_path / "supervise" / "status").exists()
    finally:
        os.close(base)


def _is_open(fd):
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


class Link:
    """An AgentLink whose agent is this test: what it answers is written by hand. The pid it
    kills when it refuses an answer is a ``sleep`` of the test's."""

    def __init__(self):
        self.loop = EventLoop(handle_error=self.errors_append)
        self.errors = []
        self.ours, self.theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sleep = subprocess.Popen(["sleep", "30"])
        self.gone = []
        self.link = AgentLink(self.loop, self.ours, self.sleep.pid, lambda *_: None,
                              lambda: self.gone.append(True), "test agent")

    def errors_append(self, exc):
        self.errors.append(exc)

    def answer(self, fields, fds=()):
        send(self.theirs, wire.encode(*fields), list(fds))
        self.loop.call_later(0.05, self.loop.stop)
        self.loop.run()

    def close(self):
        self.sleep.kill()
        self.sleep.wait()
        self.link.close()
        self.theirs.close()
        self.loop.close()


def test_root_gives_each_request_of_a_batch_its_own_answer_and_descriptors(tmp_path):
    base = side(tmp_path)
    link = Link()
    answers = []
    try:
        link.link.request_batch([([b"write", b"", b"new", b"supervise/status", b"x"], [base],
                                  answers.append),
                                 ([b"fifo", b"", b"ok", os.O_RDONLY], [base], answers.append)])
        kind, *fields = wire.decode(link.theirs.recv(4096))
        assert kind == wire.BATCH and fields[0::2] == [b"1", b"1"]
        assert [wire.decode(field)[0] for field in fields[1::2]] == [b"write", b"fifo"]
        link.answer([b"=", 0, wire.encode(b"!", b"warn", b"unable to open x", 28),
                     1, wire.encode(b"=")], [base])
        assert [type(answer) for answer in answers] == [Answer, Answer], answers
        assert not answers[0].ok and answers[0].fields == [b"warn", b"unable to open x", b"28"]
        assert answers[1].ok and len(answers[1].fds) == 1 and answers[0].fds == []
        answers[1].close()
        assert link.link.is_open and link.sleep.poll() is None and link.errors == []
    finally:
        link.close()
        os.close(base)


def test_a_batch_answer_that_does_not_account_for_each_request_kills_the_agent(tmp_path):
    base = side(tmp_path)
    bad_answers = (
        [b"=", 0, wire.encode(b"=")],  # one answer for two requests
        [b"=", 0, wire.encode(b"="), 1, wire.encode(b"=")],  # a descriptor counted, none sent
        [b"=", 0, wire.encode(b"="), 0, wire.encode(b"+", b"a")],  # not an answer
        [b"!", b"bad", b"a batch"],
    )
    for bad in bad_answers:
        link = Link()
        answers = []
        try:
            link.link.request_batch([([b"remove", b"supervise/x"], [base], answers.append),
                                     ([b"fifo", b"", b"ok", os.O_RDONLY], [base],
                                      answers.append)])
            link.answer(bad)
            link.sleep.wait(5)  # refused: killed (its status is the loop's, which reaps it)
            assert [type(answer) for answer in answers] == [AgentGone, AgentGone], (bad, answers)
            assert not link.link.is_open and link.gone == [True]
        finally:
            link.close()
    os.close(base)


def test_a_batch_member_with_more_descriptors_than_its_kind_carries_kills_the_agent(tmp_path):
    """Each member's count is held to its kind's (agentwire.REQUESTS: ``remove`` carries none),
    not only the batch's whole."""
    base = side(tmp_path)
    link = Link()
    answers = []
    try:
        link.link.request_batch([([b"remove", b"supervise/x"], [base], answers.append),
                                 ([b"fifo", b"", b"ok", os.O_RDONLY], [base], answers.append)])
        link.answer([b"=", 1, wire.encode(b"="), 0, wire.encode(b"=")], [base])
        link.sleep.wait(5)
        assert [type(answer) for answer in answers] == [AgentGone, AgentGone], answers
        assert not link.link.is_open and link.gone == [True]
    finally:
        link.close()
        os.close(base)


def test_requests_that_fill_the_socket_still_get_their_answers():
    """Root queues what its socket has no room for, and goes on reading answers meanwhile: an
    agent sends each answer blocking and reads no more requests until it is sent, so a root
    that stopped reading while it waited to write left both sockets full — a user's tree with a
    few hundred requests in one turn (bench/agent_batch.py's first version) stopped for good."""
    loop = EventLoop(handle_error=lambda exc: errors.append(exc))
    errors, answers = [], []
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sleep = subprocess.Popen(["sleep", "60"])

    def agent_like():  # blocking, one request then its answer, as the agent's loop does
        while True:
            request = theirs.recv(65536)
            if not request:
                return
            theirs.sendall(wire.encode(b"=", b"x" * 200))

    peer = threading.Thread(target=agent_like, daemon=True)
    peer.start()
    link = AgentLink(loop, ours, sleep.pid, lambda *_: None, lambda: None, "test agent")
    count = 5000
    try:
        for _ in range(count):  # one loop turn: far more than either socket holds
            link.request([b"remove", b"supervise/" + b"y" * 200], (), answers.append)

        def check():
            if len(answers) == count:
                loop.stop()
            else:
                loop.call_later(0.05, check)
        loop.call_later(0, check)
        loop.call_later(30, loop.stop)  # the deadline: a stalled link answers nothing more
        loop.run()
        assert len(answers) == count, "%d of %d answered" % (len(answers), count)
        assert all(type(answer) is Answer and answer.ok for answer in answers)
        assert errors == [] and link.is_open
    finally:
        link.close()
        theirs.close()
        peer.join(10)
        sleep.kill()
        sleep.wait()
        loop.close()
