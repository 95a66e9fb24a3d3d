"""runtime/supervision/users: what a user's agent answered, read — the values root's supervisors
take from an agent's answers (agentwire.py), or what stands for the answer when it is not one.

Pure: each reader takes an answer's fields (or the agentlink.Answer, or the AgentGone that came
instead) and gives a value, an exception to hand on, or raises agentwire.BadMessage for what
the protocol does not allow. What follows from that — closing an answer's descriptors, killing
the agent that sent what it may not — is the caller's (agentio.py): an agent is the user's
process, and what it says is read as anything a user controls, every field checked and
bounded.
"""

import errno
import os

from ....errors import FatalError
from . import agentwire as wire
from ..engine.servicedir import Facts, Listing, Opened, SideFiles


def failure_from(fields):
    """The exception an agent's ``!`` answer stands for: a FatalError with runsv's warnings
    (``fatal``), the OSError of an errno (``errno``), else an EPROTO."""
    try:
        if fields[:1] == [b"fatal"]:
            exc = FatalError(wire.text(fields[1]))
            exc.warnings = [wire.text(field) for field in fields[2:8]]
            return exc
        if fields[:1] == [b"errno"]:
            number = wire.number(fields[1], 4096)
            return OSError(number, os.strerror(number))
    except (wire.BadMessage, IndexError):
        pass
    return OSError(errno.EPROTO, "the agent could not do it")


def listing_from(answer):
    """The servicedir.Listing a ``list`` answer carries, or the OSError that stands for it."""
    if isinstance(answer, OSError):
        return answer
    if not answer.ok:
        return failure_from(answer.fields)
    fields = answer.fields
    try:
        identity = (wire.number(fields[0]), wire.number(fields[1]))
        more = fields[2] == b"1"
        rest = fields[3:]
        if len(rest) % 4:
            raise wire.BadMessage("a listing's entries")
        entries = []
        for at in range(0, len(rest), 4):
            name, kind, first, second = rest[at:at + 4]
            if not name or b"/" in name or b"\0" in name or len(name) > 255:
                raise wire.BadMessage("a name")
            shown = os.fsdecode(name)
            if kind == b"d":
                entries.append((shown, (wire.number(first), wire.number(second))))
            elif kind == b"e":
                number = wire.number(first, 4096)
                entries.append((shown, OSError(number, os.strerror(number))))
            else:
                raise wire.BadMessage("a listing's entry")
    except wire.BadMessage as exc:
        return OSError(errno.EPROTO, str(exc))
    return Listing(identity, entries, more)


def opened_from(answer):
    """The servicedir.Opened an ``open`` answer carries — the answer's descriptors are its —
    or the FatalError that stands for it (the answer's descriptors are then nobody's: the
    caller closes them)."""
    if isinstance(answer, OSError):
        return FatalError("unable to open the service: %s" % answer.strerror)
    if not answer.ok:
        failure = failure_from(answer.fields)
        return failure if isinstance(failure, FatalError) else FatalError(str(failure))
    fields, fds = answer.fields, list(answer.fds)
    try:
        mask = fields[0]
        if len(mask) != 8 or mask.strip(b"01") or mask.count(b"1") != len(fds):
            raise wire.BadMessage("the descriptors of an open")
        held = [fds.pop(0) if flag == ord("1") else -1 for flag in mask]
        count = wire.number(fields[1], 16)
        warnings = [wire.text(field) for field in fields[2:2 + count]]
        rest = fields[2 + count:]
        sides = []
        for _ in range(2):
            if rest[:1] == [b"-"]:
                sides.append(None)
                rest = rest[1:]
                continue
            if rest[:1] != [b"+"]:
                raise wire.BadMessage("a side of an open")
            sides.append(SideFiles(is_up=rest[1] == b"1", tally=wire.optional(rest[2]),
                                   record=wire.optional(rest[3]),
                                   status=wire.optional(rest[4]),
                                   started=wire.number(rest[5], 1 << 31)))
            rest = rest[6:]
        if sides[0] is None or any(len(side.record or b"") > 512 or len(side.status or b"") > 512
                                   for side in sides if side):
            raise wire.BadMessage("an open's sides")
        facts = facts_from(rest)
    except (wire.BadMessage, IndexError, ValueError) as exc:
        return FatalError("unable to open the service: the agent answered %s" % exc)
    opened = Opened(held[0], held[1], held[2], held[3], sides[0], sides[1], warnings, facts)
    opened.main.lock_fd, opened.main.control_fd = held[4], held[5]
    if opened.log is not None:
        opened.log.lock_fd, opened.log.control_fd = held[6], held[7]
    return opened


def facts_from(fields):
    """servicedir.Facts of an agent's fields (agent._facts_fields); BadMessage."""
    finish = fields[0] == b"1"
    count = wire.number(fields[1], 32)
    hooks = {}
    for at in range(2, 2 + 3 * count, 3):
        letter, kind, value = fields[at:at + 3]
        if len(letter) != 1 or not letter.isalnum():
            raise wire.BadMessage("a hook")
        if kind == b"m":
            hooks[letter.decode()] = wire.number(value, 1 << 32)
        else:
            number = wire.number(value, 4096)
            hooks[letter.decode()] = OSError(number, os.strerror(number))
    rest = fields[2 + 3 * count:]
    if len(rest) != 5 or len(rest[2]) > 4096 or rest[4] not in (b"0", b"1"):
        raise wire.BadMessage("facts")
    return Facts(finish, hooks, wire.optional(rest[0]), wire.optional(rest[1]), rest[2],
                 wire.optional(rest[3]), rest[4] == b"1")


def write_failures_from(fields, count):
    """Each ``(message, OSError)`` of a ``write`` of ``count`` files that failed in part
    (``! warn MESSAGE ERRNO ...``, one pair a file at most); BadMessage."""
    if fields[:1] != [b"warn"] or len(fields) % 2 == 0 or len(fields) > 2 * count + 1:
        raise wire.BadMessage("a write's failures")
    failures = [(wire.text(fields[at]), wire.number(fields[at + 1], 4096))
                for at in range(1, len(fields), 2)]
    return [(message, OSError(number, os.strerror(number))) for message, number in failures]


def spawn_pid_from(answer):
    """The pid a ``spawn`` answer gives; raises the failure it stands for (failure_from), or
    BadMessage or IndexError."""
    if not answer.ok:
        raise failure_from(answer.fields)
    return wire.number(answer.fields[0], 1 << 31)


def started_pid_from(answer):
    """The pid a ``started`` answer gives (adoption.started_in), 0 for none or anything else."""
    try:
        return wire.number(answer.fields[0]) if answer.ok and answer.fields else 0
    except wire.BadMessage:
        return 0
