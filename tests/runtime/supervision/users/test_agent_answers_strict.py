"""Root reads what a user's agent sends as anything a user controls (agentwire.py): an answer
that comes with descriptors its kind does not carry gets them closed and the agent killed —
kept, up to 16 a message, they would fill root's descriptor table — and what an agent tells of
itself (its events, a stand-in's stop and continue among them) is never taken for an answer.
Root's side is real (AgentIO on an AgentLink, on a loop); the agent is this test, answering by
hand over a socket pair."""

import os

import pytest

from runit_provision.runtime.supervision.users import agent, agentlogs
from runit_provision.runtime.supervision.users import agentwire as wire
from runit_provision.runtime.supervision.users.agentio import AgentIO

from .test_agent_batch import Link


class IoLink(Link):
    """test_agent_batch's hand-answered link, attached to an AgentIO."""

    def __init__(self):
        Link.__init__(self)
        self.events = []
        self.link.on_event = lambda kind, fields: self.events.append((kind, fields))
        self.io = AgentIO(self.loop, "test")
        self.io.attach(self.link)
        self.loop.call_later(0, self.loop.stop)
        self.loop.run()  # the loop's own descriptors (its wake-up pipe) made before counting

    def asked(self):
        return wire.decode(self.theirs.recv(65536))[0]

    def close(self):
        self.io.close()
        Link.close(self)


def _open_fds():
    return set(os.listdir("/proc/self/fd"))


ASKS = {
    "list": (lambda io, got: io.list_services("/nonexistent", got.append), [b"=", 1, 2, 0]),
    "facts": (lambda io, got: io.facts(0, -1, got.append), [b"=", 0, 0, b"-", b"-", b""]),
    "started": (lambda io, got: io.started(0, 0, [], got.append), [b"=", 0]),
    "write, done": (lambda io, got: io.write_files(0, [(False, "supervise/stat", b"run\n")], "",
                                                   lambda *said: got.append(said)), [b"="]),
    "write, failed": (lambda io, got: io.write_files(
        0, [(False, "supervise/stat", b"run\n")], "", lambda *said: got.append(said)),
        [b"!", b"warn", b"unable to write", 28]),
    "spawn": (lambda io, got: io.spawn(["true"], got.append), [b"=", 4242]),
    # the log work (agentlogs.KINDS): checked by the same table, where the link takes answers
    "lmv": (lambda io, got: io.request([wire.LMV, b"current", b"@4000"], [0], got.append),
            [b"="]),
    "lcur": (lambda io, got: io.request([wire.LCUR], [0], got.append), [b"="]),
}


@pytest.mark.parametrize("kind", sorted(ASKS))
def test_descriptors_an_answer_does_not_carry_are_closed_and_the_agent_killed(kind):
    ask, answer = ASKS[kind]
    link = IoLink()
    got = []
    try:
        before = _open_fds()
        ask(link.io, got)
        link.asked()
        extra = [os.open(os.devnull, os.O_RDONLY) for _ in range(3)]
        link.answer(answer, extra)
        for fd in extra:
            os.close(fd)
        link.sleep.wait(5)  # refused: killed
        assert not link.link.is_open and link.gone == [True], (kind, got)
        kept = {fd: os.readlink("/proc/self/fd/" + fd) for fd in _open_fds() - before}
        assert not kept, "descriptors of the answer kept: %s" % kept
    finally:
        link.close()


@pytest.mark.parametrize("event", [[b"p", 4242], [b"q", 4242], [b"c"], [b"x", 4242, 0]])
def test_what_an_agent_tells_of_itself_is_an_event_not_an_answer(event):
    link = IoLink()
    try:
        link.answer(event)
        assert link.link.is_open and link.sleep.poll() is None and link.gone == []
        assert link.events == [(event[0], [b"%d" % field if type(field) is int else field
                                           for field in event[1:]])]
    finally:
        link.close()




def test_the_kinds_are_one_table_both_ends_read():
    """agentwire.REQUESTS is every kind the agent does (agent.py's own, agentlogs.KINDS) and
    none else; what a batch may hold carries one descriptor at most (a batch's answer then
    carries MAX_BATCH, within what root takes of one message)."""
    assert set(agent._WORK) | set(agentlogs.KINDS) == set(wire.REQUESTS)
    assert not set(agent._WORK) & set(agentlogs.KINDS)
    assert all(carries <= 1 for carries, batched in wire.REQUESTS.values() if batched)
    assert not set(wire.EVENTS) & set(wire.REQUESTS)
