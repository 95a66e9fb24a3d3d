"""runtime/supervision/engine: one side's take-over of what a killed predecessor left on it.

At open, the supervisor hands each side to ``inherit``: the predecessor's records (its
``process`` record and status, its tally) are judged by adoption.py, and the side adopts the
live process they name and watches it to its end, runs the ``./finish`` that was due, counts
the run it lost, or starts afresh. Done once per side at open; nothing of it is kept after.
"""

import os

from ....protocol.status import State
from .adoption import (UNKNOWN_EXIT, Fresh, Refused, boot_id, boot_ticks, claim, exactly,
                       inheritance, started_between, starttime_of)
from .side import Want


def record_name(side):
    """The record of ``side``'s process, as a message names it."""
    return "log/supervise/process" if side.is_log else "supervise/process"


def inherit(service, side, files, tally):
    """Take over what a killed predecessor left on ``side`` of ``service`` (a Supervisor)
    (adoption.py); ``files`` the side's SuperviseFiles, ``tally`` as the predecessor left it
    (None: none)."""
    record, status = files.read_inherited()
    files.found_down = status is not None and status.state == State.DOWN and not status.pid
    found = inheritance(record, status, boot_id(), starttime_of,
                        lambda since: files.started)
    pidfd = None
    if found.kind == "adopt":
        try:
            pidfd = _claim(service, found.pid, record)
        except Refused as refusal:
            refuse_adoption(service, side, refusal)
            found = Fresh()
        else:
            if pidfd is None:
                found = None  # gone between the look and the claim: lost after all
    if found is not None and found.kind == "fresh":
        side.tally.pid = 0  # nothing of a predecessor's runs: the counts alone go on
        return
    stamp_ns = service.clock.time_ns()
    paused = term = False
    if status is not None:
        side.want = Want.UP if status.want == "u" else Want.DOWN
        stamp_ns = status.stamp_ns
        paused, term = status.paused, status.term
    if found is not None and found.kind == "adopt":
        if side is service.main and found.state == State.RUN and service.runs.runs_jobs():
            service.runs.job_groups().adopted(found.pid)
        _watch_adopted(service, found.pid, side, pidfd)
        side.adopt(found.pid, found.state, stamp_ns, paused, term)
        if record.is_starting and (tally is None or tally.pid != found.pid):
            side.count_start(found.pid, found.state)  # killed before it counted it
        return
    if found is not None and found.kind == "finish-due":
        if side is service.main and service.has_finish():  # (removed since: nothing to run)
            side.finish_due(stamp_ns, paused)
        return
    # The tally is written first at a death: one that no longer names the recorded
    # process has counted its death already (the kill came before the record's write).
    counted = (tally is not None and record is not None and record.pid != 0
               and tally.pid != record.pid)
    side.inherit_lost(State.RUN if found is None else found.state, stamp_ns, paused,
                      counted)


def _claim(service, pid, record):
    """A pidfd of ``pid``, the live process a predecessor's ``record`` leads to, once it
    is found to be the one it means (adoption.claim); None when it is gone. Refused when
    it is not the record's to hand over. The record is this tree's own file
    (servicedir.read_own); root's services' ``./run`` may have become anyone (``chpst
    -u``), so root's tree does not ask whose the process is — any other tree runs its
    services as itself, and adopts nobody else's (a user's tree, its user's alone)."""
    starttime_ok = (started_between(record.starttime, boot_ticks()) if record.is_starting
                    else exactly(record.starttime))
    euid = os.geteuid()
    return claim(pid, starttime_ok, uid=euid or None, owned=service.loop.owns)


def refuse_adoption(service, side, refusal):
    """A record named a live process that is not its to hand over (``refusal`` says
    why): said; the process is left alone, and the side starts afresh."""
    service.warn("%s: %s: not adopted, started afresh" % (record_name(side), refusal))


def _watch_adopted(service, pid, side, pidfd):
    """Watch ``pid``, a process a predecessor started, to its end, by ``pidfd`` (ours
    from now on: adoption.claim opened and checked it) — in the service's cgroup, where
    it already is unless a copied directory's record named another's."""
    if service.cgroup is None or side is not service.main:
        service.loop.watch_process(pid, lambda pid: side.child_exited(pid, UNKNOWN_EXIT),
                                   pidfd)
        return
    service.cgroup.adopt(service.dir_fd, pid)
    service.loop.watch_process(pid, lambda pid: service.cgroup.main_ended(
        lambda: side.child_exited(pid, UNKNOWN_EXIT), service.dir_fd), pidfd)
