"""A bug of ours in one request — an exception no handler of the agent's expects — fails that
request and is said; it never ends the agent. (A link a user removed between the tree's look
and its open once raised an AttributeError out of ``servicedir``: the agent exited 111, and the
user could make it happen once a second — test_agent_vanished_link.py.) Root takes the answer
for a failed request, as an OSError of its own."""

import errno
import os

from runit_provision.runtime.supervision.users import agent, agentanswers
from runit_provision.runtime.supervision.users import agentwire as wire


def test_an_unexpected_exception_fails_the_request_and_is_said(monkeypatch, capfd):
    def broken(_agent, _fields, _fds):
        raise AttributeError("'NoneType' object has no attribute 'fds'")

    monkeypatch.setitem(agent._WORK, wire.SYNC, broken)
    held = os.open(os.devnull, os.O_RDONLY)
    answer, out = agent.handle(None, wire.encode(wire.SYNC), [held])
    assert (answer, out) == ([b"!", b"internal", "AttributeError"], [])
    assert capfd.readouterr().err == (
        "runsvdir: warning: internal error in sync: AttributeError: 'NoneType' object has no "
        "attribute 'fds'\n")
    try:
        os.fstat(held)
    except OSError as exc:
        assert exc.errno == errno.EBADF  # the request's descriptors closed all the same
    else:
        raise AssertionError("the request's descriptor was left open")
    failure = agentanswers.failure_from([b"internal", b"AttributeError"])
    assert isinstance(failure, OSError) and failure.errno == errno.EPROTO


def test_the_errors_it_expects_keep_their_answers(monkeypatch):
    def gone(_agent, _fields, _fds):
        raise FileNotFoundError(errno.ENOENT, "gone")

    assert agent.handle(None, wire.encode(wire.SYNC), [])[0] == [b"="]  # sync answers
    monkeypatch.setitem(agent._WORK, wire.SYNC, gone)
    assert agent.handle(None, wire.encode(wire.SYNC), []) == ([b"!", b"errno", errno.ENOENT], [])
