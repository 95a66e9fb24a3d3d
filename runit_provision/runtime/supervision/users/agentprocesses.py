"""runtime/supervision/users: the processes a user's agents started (or root adopted), as root keeps
them — by a pidfd each, by which root signals them (never a process that took the pid after),
and whose ends it reports once, from whichever sees it first: the agent that reaped it, or root
itself when a dead agent's children came to it (root's tree is their subreaper).

An agent outlives none of this: its processes stay while agents come and go (agentio.py holds
one ``AgentProcesses`` for all the agents of a user's tree).
"""

import os

try:
    import _signal as signal  # not signal: its enum is 0.75 MB of root's tree (design.md)
except ImportError:  # pragma: no cover - other interpreters
    import signal


class AgentProcesses:
    """The processes started through a user's agents, not yet ended. ``io``: the tree's
    AgentIO, whose ``has_agent`` says whether an agent runs now — the one that would report a
    child's end."""

    __slots__ = ("loop", "io", "_processes", "_early")

    def __init__(self, loop, io):
        self.loop, self.io = loop, io
        self._processes = {}  # pid -> _Process: started through an agent, not yet ended
        self._early = {}  # pid -> wait status of a process that ended before it was watched

    def started(self, pid, pidfd):
        """An agent started ``pid``; ``pidfd`` its pidfd (-1: none came with the answer)."""
        self._processes[pid] = _Process(self.loop, pid, pidfd, self)

    def watch(self, pid, callback, on_stop=None, on_continue=None):
        """``callback(pid, wait_status)`` once ``pid`` (started by an agent) has ended — from
        the loop's next turn if it ended before it was watched (its end may come in the same
        read as its start's answer); ``on_stop()`` and ``on_continue()`` each time it is
        stopped and continued, when it was started with ``watch_stops``."""
        if pid in self._early:
            wait_status = self._early.pop(pid)
            self.loop.call_later(0, lambda: callback(pid, wait_status))
            return
        process = self._processes.get(pid)
        if process is not None:
            process.callback = callback
            if on_stop is not None:
                process.stops = (on_stop, on_continue)

    def adopt(self, pid, pidfd, callback):
        """A process of the user's found running (a predecessor's), which ``pidfd`` (ours
        from now on) holds — found theirs, started when root's record says and nobody's
        already (adoption.claim): signalled and watched by it, its end's status unknown
        (``callback(pid, None)``)."""
        process = self._processes[pid] = _Process(self.loop, pid, pidfd, self)
        process.callback = callback
        process.adopted = True

    def knows(self, pid):
        """``pid`` is a process an agent started (or root adopted), not yet ended."""
        return pid in self._processes

    def signal(self, pid, signum):
        """``signum`` to ``pid`` by its pidfd: never to a process that took its pid after it."""
        process = self._processes.get(pid)
        if process is None or process.pidfd < 0:
            return
        try:
            signal.pidfd_send_signal(process.pidfd, signum)
        except ProcessLookupError:
            pass

    def child_exited(self, pid, wait_status):
        """An agent reports ``pid`` reaped."""
        if pid in self._processes:
            self._ended(pid, wait_status)

    def child_stopped(self, pid, stopped):
        """An agent reports ``pid`` stopped (or continued): who asked to know is told."""
        process = self._processes.get(pid)
        if process is not None and process.stops is not None:
            process.stops[0 if stopped else 1]()

    def agent_gone(self):
        """The agent is gone: its children came to root's tree (its subreaper), so their ends
        are root's to see; a process already ended whose end the agent did not report is
        reported, its status unknown."""
        for pid, process in list(self._processes.items()):
            if process.has_ended:
                self._ended(pid, _reaped_or_unknown(pid))

    def _readable(self, process):
        """``process``'s pidfd says it has ended: an adopted one's end is known now; a child
        of an agent's waits for that agent's report, unless no agent is there to make it."""
        process.has_ended = True
        if process.adopted or not self.io.has_agent:
            self._ended(process.pid, None if process.adopted else _reaped_or_unknown(
                process.pid))

    def _ended(self, pid, wait_status):
        process = self._processes.pop(pid, None)
        if process is None:
            return
        process.close()
        if process.adopted:
            wait_status = None
        if process.callback is not None:
            process.callback(pid, wait_status)
        else:
            self._early[pid] = wait_status  # its watch comes on this turn of the loop

    def close(self):
        for process in self._processes.values():
            process.close()
        self._processes.clear()


class _Process:
    """A process an agent started (or root adopted): its pidfd, watched by root's loop — its
    end may come to root first (readable pidfd), its status from the agent that reaps it."""

    __slots__ = ("loop", "pid", "pidfd", "processes", "callback", "has_ended", "adopted",
                 "stops")

    def __init__(self, loop, pid, pidfd, processes):
        self.loop, self.pid, self.pidfd, self.processes = loop, pid, pidfd, processes
        self.callback = None
        self.stops = None
        self.has_ended = False
        self.adopted = False
        if pidfd >= 0:
            loop.add_reader(pidfd, self._readable)
        # Its parent gone (the agent), it is root's child: root's loop reaps it then.
        loop.expect_child(pid, processes._ended)

    def _readable(self):
        self.loop.remove_reader(self.pidfd)
        self.processes._readable(self)

    def close(self):
        self.loop.unwatch_child(self.pid)
        if self.pidfd >= 0:
            self.loop.remove_reader(self.pidfd)
            os.close(self.pidfd)
            self.pidfd = -1


def _reaped_or_unknown(pid):
    """The wait status of ``pid`` if it is root's child to reap now, else None (unknown)."""
    try:
        found, wait_status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return wait_status if found else None
