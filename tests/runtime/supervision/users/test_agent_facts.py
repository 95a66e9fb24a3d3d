"""What a user's agent reads of a service directory ahead of an event (servicedir.Facts) goes
to root's tree whole: every fact, the ``backoff`` file of a restart back-off included (a
user's crash-looping service waits as a system one does)."""

import pytest

from runit_provision.protocol.backoff import Backoff, backoff_bytes
from runit_provision.runtime.supervision.engine.servicedir import Facts
from runit_provision.runtime.supervision.users import agent
from runit_provision.runtime.supervision.users import agentwire as wire
from runit_provision.runtime.supervision.users.agentanswers import facts_from


@pytest.mark.parametrize("backoff", [None, backoff_bytes(Backoff(1, 60, 6, 2, 120))])
def test_the_facts_cross_the_wire_whole(backoff):
    sent = Facts(True, {"u": 0o755}, b"3 60\n", None, b"#!/bin/sh\nexec svlogd .\n", backoff)
    fields = wire.decode(wire.encode(*agent._facts_fields(sent)))
    found = facts_from(fields)
    assert (found.finish, found.hooks, found.give_up, found.ready, found.log_run,
            found.backoff) == (True, {"u": 0o755}, b"3 60\n", None,
                               b"#!/bin/sh\nexec svlogd .\n", backoff)


def test_facts_without_the_backoff_field_are_refused():
    fields = wire.decode(wire.encode(*agent._facts_fields(Facts())))
    with pytest.raises(wire.BadMessage):
        facts_from(fields[:-1])
