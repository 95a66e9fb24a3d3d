"""runtime/supervision/users: a side's ``supervise/event/`` (protocol/eventdir.py) for a user's
tree, kept by the user's agent — ``RemoteEvents``, EventPoster's methods as requests through the
tree's io (agentio.py).

Its own module for what it keeps across agents: which posters are open (each new agent opens
them again) and the post no agent made (owed to the next one, after its open).
"""

from ....protocol.eventdir import STATUS
from . import agentwire as wire


class RemoteEvents:
    """protocol/eventdir.EventPoster's methods for a side of a user's tree, done by its agent:
    the directory, its ``ok`` FIFO and the waiters' FIFOs are the user's, made and opened as
    the user — root never makes nor opens a FIFO in a user's directory. The agent holds the
    reader that says it posts; a new agent is asked to open again (its predecessor's reader
    went with it: meanwhile waiters see no runsv of ours, and wait as under the C runsv).

    A post goes out after every write asked before it (the agent does its requests in their
    order) and replaces one not sent yet: the byte only wakes a waiter, who reads the files.
    One the agent took with it unanswered (killed), or asked while none ran, is the next
    agent's, after its open — the open of a new agent posts nothing, and a waiter of the
    killed one's would look only at its next safety look (sv's, every 0.42 s)."""

    __slots__ = ("io", "base_fd", "is_open", "owed")

    def __init__(self, io, base_fd):
        self.io, self.base_fd = io, base_fd
        self.is_open = False
        self.owed = b""  # a post no agent made: the next one's, after its open

    def open(self):
        self.is_open = True
        self.io.keep_events(self, True)
        self.reopen()
        return True

    def reopen(self):
        self.io.request([wire.EVOPEN], [self.base_fd])
        if self.owed and self.io.has_agent:
            owed, self.owed = self.owed, b""
            self.post(owed)

    def post(self, byte):
        if not self.is_open:
            return
        if not self.io.has_agent:
            self.owed = byte  # held, it would reach the next agent before its open: lost
            return
        self.io.request([wire.EVPOST, byte], [self.base_fd], self._posted,
                        key=("event", self.base_fd))

    def _posted(self, answer):
        if isinstance(answer, OSError):
            self.owed = STATUS  # whichever it was: any byte wakes a waiter, who reads the files
        else:
            answer.close()

    def close(self, post=True):
        if not self.is_open:
            return
        self.is_open = False
        self.owed = b""
        self.io.keep_events(self, False)
        self.io.request([wire.EVCLOSE, int(post)], [self.base_fd])

