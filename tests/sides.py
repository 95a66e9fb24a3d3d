"""Made-up sides for the pure tests of what status, metrics and the verdict say of them: the
one side type (protocol.sidestate.SideState) as a reader would have filled it."""

from runit_provision.protocol.sidestate import SideState
from runit_provision.protocol.status import State, Status

NS = 1_000_000_000
NOW = 1_700_000_000 * NS
STATES = {"run": State.RUN, "down": State.DOWN, "finish": State.FINISH}


def made_side(state, pid=0, uptime=0, want="up", is_normally_up=True, tally=None, now_ns=NOW,
              readiness=None, paused=False):
    """A side in ``state`` — ``run``, ``down``, ``finish`` (read: its status says so, for
    ``uptime`` seconds at ``now_ns``), ``not supervised`` or ``unknown``."""
    if state == "not supervised":
        return SideState(False, is_normally_up=is_normally_up, now_ns=now_ns)
    if state == "unknown":
        return SideState(True, unknown="unable to read supervise/status: bad format",
                         is_normally_up=is_normally_up, now_ns=now_ns)
    status = Status(now_ns // NS - uptime, 0, pid, paused, want[0], False, STATES[state])
    return SideState(True, status, is_normally_up=is_normally_up, tally=tally,
                     readiness=readiness, now_ns=now_ns)
