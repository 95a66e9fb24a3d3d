"""Made-up sides for the pure tests of what status, metrics and the verdict say of them: the
one side type (protocol.sidestate.SideState) as a reader would have filled it — and a side's
``supervise/`` on disk as a runsv leaves it, for the tests that read one."""

import os

from runit_provision.protocol.sidestate import SideState
from runit_provision.protocol.status import State, Status, status_to_bytes

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


def supervised(side):
    """``side``'s directory with a ``supervise/ok`` that has a reader, as under a runsv; the
    reader's descriptor, to close."""
    supervise = side / "supervise"
    supervise.mkdir(parents=True, exist_ok=True)
    os.mkfifo(str(supervise / "ok"))
    return os.open(str(supervise / "ok"), os.O_RDONLY | os.O_NONBLOCK)


def write_status(side, status):
    """``side``'s ``supervise/status``, written as runsv writes it: new, then renamed."""
    new = side / "supervise" / "status.new"
    new.write_bytes(status_to_bytes(status))
    new.rename(side / "supervise" / "status")
    return status
