"""runtime/supervision/engine: a job's process group — a timer's ``./job``, a one-shot's
``./run`` (docs/jobs.md, *A job is its whole process group*).

A job starts in a process group of its own, its pid the group's id, and every signal runsv
sends it goes to the whole group, as a terminal signals a foreground job: a ``sv down`` or a
``time_limit`` ends what the job started too, not only its first process. A TERM is followed
``TIME_LIMIT_GRACE`` seconds later by KILL to whatever remains of the group. When the job's
own process ends, what it left in its group is sent TERM and CONT, and KILL after the same
grace: one run's processes do not live on beside the next. A daemon's ``./run`` is none of
this — runit signals its pid.
"""

import os
import signal

from ....protocol.timer import TIME_LIMIT_GRACE
from ...unix.processes import has_leftovers, signal_group, signal_leader


class JobGroups:
    """The job groups of one supervisor's main side: the running job's (``leader``, 0 when
    none runs) and those of ended runs whose leftovers are being ended. ``loop``: the
    supervisor's (``call_later``); ``warn``: its message function."""

    __slots__ = ("leader", "is_grouped", "_loop", "_warn", "_ending")

    def __init__(self, loop, warn):
        self.leader = 0
        self.is_grouped = False  # the leader leads a group of its own (else: its pid alone)
        self._loop = loop
        self._warn = warn
        self._ending = {}  # group id -> the loop timer of its KILL

    def started(self, pid):
        """The job ``pid`` was spawned in a group of its own."""
        self.leader, self.is_grouped = pid, True

    def adopted(self, pid):
        """The job ``pid`` a killed predecessor started: its group is signalled when it leads
        one; a job that runs in another's group (started by an earlier runtime) only by pid —
        never the group of whoever started it."""
        try:
            grouped = os.getpgid(pid) == pid and pid != os.getpgrp()
        except ProcessLookupError:
            grouped = False
        self.leader, self.is_grouped = pid, grouped

    def signal(self, pid, signum):
        """Send ``signum`` to the job ``pid``: its whole group. False when ``pid`` is no job
        of ours (the caller signals it as any process)."""
        if not pid or pid != self.leader:
            return False
        self._send_leader(signum)
        if signum == signal.SIGTERM:
            self._kill_later(pid)
        return True

    def _send_leader(self, signum):
        if self.is_grouped:
            signal_leader(self.leader, signum)
        else:
            _kill(self.leader, signum)

    def leader_ended(self, name):
        """The job's own process (``name``, for the message) ended and was reaped: what it
        left in its group gets TERM and CONT now, KILL after the grace."""
        pgid, grouped = self.leader, self.is_grouped
        self.leader, self.is_grouped = 0, False
        if not grouped or not has_leftovers(pgid):
            return
        self._warn("%s ended, its process group did not: TERM" % name)
        signal_group(pgid, signal.SIGTERM)
        signal_group(pgid, signal.SIGCONT)
        self._kill_later(pgid)

    @property
    def is_ending(self):
        """A run that ended left processes that are being ended (within the grace)."""
        return any(has_leftovers(pgid) for pgid in self._ending if pgid != self.leader)

    def _kill_later(self, pgid):
        if pgid not in self._ending:
            self._ending[pgid] = self._loop.call_later(TIME_LIMIT_GRACE,
                                                       lambda: self._kill(pgid))

    def _kill(self, pgid):
        """The grace is over: KILL to what remains of the group (the leader too, if it runs)."""
        self._ending.pop(pgid, None)
        if pgid == self.leader:
            self._send_leader(signal.SIGKILL)
        elif has_leftovers(pgid):
            signal_group(pgid, signal.SIGKILL)

    def close(self):
        """The supervisor is closing: what is left of ended runs is killed now."""
        ending, self._ending = self._ending, {}
        for pgid, timer in ending.items():
            timer.cancel()
            if pgid != self.leader and has_leftovers(pgid):
                signal_group(pgid, signal.SIGKILL)


def _kill(pid, signum):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
