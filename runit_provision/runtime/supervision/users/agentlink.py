"""runtime/supervision/users: root's end of the channel to one user's agent (agent.py) —
requests out in their order, each answer to its request's callback, the agent's events to the
link's owner.

A request that finds the socket full waits in a queue — root never blocks on a user's process —
while answers are still read, as the agent sends them blocking and would otherwise stop reading
ours. Requests that need no answer of each other may go as one message (``request_batch``,
agentwire.BATCH), whose one answer is read as strictly as any and split among them. An agent
that sends anything the protocol does not allow (agentwire.py) is not trusted further: killed —
an answer with more descriptors than its kind carries (agentwire.REQUESTS) among them, checked
here, once, as the answer is matched to its request (``_take``): held, they would fill root's
table, up to MAX_FDS a message.
What the answers say is read elsewhere (agentanswers.py); who asks, and what is asked again of
the next agent when this one is gone, is agentio.py's.
"""

import errno
import os

try:
    import _signal as signal  # not signal: its enum is 0.75 MB of root's tree (design.md)
except ImportError:  # pragma: no cover - other interpreters
    import signal

from ...unix.seqpacket import receive, send
from . import agentwire as wire

_RECEIVE_MAX = 64 * 1024
MAX_FDS = 16  # the descriptors root takes of one message, at most (a batch's answer too)


class AgentGone(OSError):
    """The agent ended (or was killed) before it answered."""

    def __init__(self):
        OSError.__init__(self, errno.EPIPE, "the agent is gone")


class Answer:
    """An agent's answer: ``ok`` (``=``) or not (``!``), its fields and descriptors."""

    __slots__ = ("ok", "fields", "fds")

    def __init__(self, ok, fields, fds):
        self.ok, self.fields, self.fds = ok, fields, fds

    def close(self):
        for fd in self.fds:
            os.close(fd)
        self.fds = []


class AgentLink:
    """Root's end of one agent's channel (``channel``: a SOCK_SEQPACKET socket)."""

    __slots__ = ("loop", "channel", "pid", "on_event", "on_gone", "label", "_waiting",
                 "_outgoing", "_pieces", "_piece_bytes", "_writer")

    def __init__(self, loop, channel, pid, on_event, on_gone, label):
        self.loop = loop
        self.channel = channel
        self.pid = pid
        self.on_event = on_event  # on_event(kind, fields)
        self.on_gone = on_gone  # called once, when the channel is closed (by either side)
        self.label = label
        channel.setblocking(False)
        self._waiting = []  # (done, descriptors its answer carries) of requests sent, in order
        # (message, fds we own, done, key, descriptors its answer carries) the socket had no
        # room for
        self._outgoing = []
        self._pieces = []
        self._piece_bytes = 0
        self._writer = False
        loop.add_reader(channel.fileno(), self._receive)

    @property
    def is_open(self):
        return self.channel is not None

    def request(self, fields, fds=(), done=None, key=None, carries=None):
        """Send one request; ``done(Answer)`` — or ``done(AgentGone)`` — once answered. A
        request with a ``key`` replaces one with the same key that has not gone out yet.
        ``carries``: the descriptors its answer may carry, its kind's (agentwire.REQUESTS)
        unless said."""
        message = wire.encode(*fields)
        if carries is None:
            carries = wire.REQUESTS[fields[0]][0]
        if self.channel is None:
            if done is not None:
                done(AgentGone())
            return
        if not self._outgoing and self._send(message, fds):
            self._waiting.append((done, carries))
            return
        if key is not None:
            drop_keyed(self._outgoing, key)  # the latest goes last: the order of files kept
        self._outgoing.append((message, [os.dup(fd) for fd in fds], done, key, carries))
        if not self._writer:
            self._writer = True
            self.loop.remove_reader(self.channel.fileno())
            # answers are still read while requests wait: the agent sends them blocking, and
            # one blocked so reads none of ours — both sockets full, each side waiting
            self.loop.add_writer(self.channel.fileno(), self._ready, reading=True)

    def request_batch(self, entries):
        """Send ``entries`` — ``(fields, fds, done)`` each, requests that need no answer of
        each other — as one message (agentwire.BATCH): each ``done`` is called as
        ``request``'s would be, in their order (a batch never answered: AgentGone, each)."""
        if len(entries) == 1:
            fields, fds, done = entries[0]
            self.request(fields, fds, done)
            return
        fields, fds = [wire.BATCH], []
        for member_fields, member_fds, _ in entries:
            fields += [len(member_fds), wire.encode(*member_fields)]
            fds += member_fds
        carries = [wire.REQUESTS[member_fields[0]][0] for member_fields, _, _ in entries]
        self.request(fields, fds, _Batch([done for _, _, done in entries], carries),
                     carries=sum(carries))

    def _send(self, message, fds):
        try:
            send(self.channel, message, fds)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            self.loop.call_later(0, self.close)
            return True  # its answer will be AgentGone, from close()
        return True

    def _ready(self):
        """Answers to read, or room in the socket, while requests wait to go out."""
        self._receive()
        if self.channel is not None and self._writer:
            self._flush()

    def _flush(self):
        """Room in the socket: what waited goes out, then answers are read again."""
        while self._outgoing and self.channel is not None:
            message, fds, done, _, carries = self._outgoing[0]
            if not self._send(message, fds):
                return
            self._outgoing.pop(0)
            close_all(fds)
            self._waiting.append((done, carries))
        if self.channel is not None and self._writer:
            self._writer = False
            self.loop.remove_writer(self.channel.fileno())
            self.loop.add_reader(self.channel.fileno(), self._receive)
            self._receive()

    def _receive(self):
        while self.channel is not None:
            try:
                data, fds, cut = receive(self.channel, _RECEIVE_MAX, MAX_FDS)
            except (BlockingIOError, InterruptedError):
                return
            if not data:
                close_all(fds)
                self.close()
                return
            try:
                if cut:  # never one of ours
                    raise wire.BadMessage("a message cut short")
                self._take(wire.decode(data), fds)
            except wire.BadMessage as exc:
                close_all(fds)
                self.refuse(exc)
                return

    def _take(self, fields, fds):
        kind = fields[0]
        if kind in wire.EVENTS:
            close_all(fds)
            self.on_event(kind, fields[1:])
            return
        if kind == b"+":
            if fds:
                raise wire.BadMessage("descriptors with a piece")
            self._pieces.extend(fields[1:])
            self._piece_bytes += len(fields) + sum(map(len, fields))
            if self._piece_bytes > wire.MAX_ANSWER:
                raise wire.BadMessage("an answer too long")
            return
        if kind not in (b"=", b"!") or not self._waiting:
            raise wire.BadMessage("an answer nobody asked for")
        done, carries = self._waiting[0]
        if len(fds) > carries:  # the one check: no answer's reader sees them
            raise wire.BadMessage("%d descriptors with an answer that carries %d"
                                  % (len(fds), carries))
        answer = Answer(kind == b"=", self._pieces + fields[1:], fds)
        if isinstance(done, _Batch):
            done.read(answer)  # BadMessage: left waiting, its requests get AgentGone
        self._waiting.pop(0)
        self._pieces, self._piece_bytes = [], 0
        if done is None:
            answer.close()
            return
        done(answer)

    def refuse(self, exc):
        """The agent sent what it may not: it is not trusted further — killed."""
        from ...unix.diag import warn
        warn(self.label, "the agent sent what it may not (%s), killing it" % exc)
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.close()

    def close(self):
        """Done with the agent (or it is gone): what waits for an answer gets AgentGone."""
        if self.channel is None:
            return
        self.loop.remove_reader(self.channel.fileno())
        self.channel.close()
        self.channel = None
        waiting, self._waiting = self._waiting, []
        outgoing, self._outgoing = self._outgoing, []
        for message, fds, done, _, _ in outgoing:
            close_all(fds)
            waiting.append((done, 0))
        for done, _ in waiting:
            if done is not None:
                done(AgentGone())
        self.on_gone()


class _Batch:
    """The ``done`` of a batch (agentwire.BATCH): its answer read strictly — as many answers
    as requests, each ``=`` or ``!`` with the descriptors it counts — no more than its kind
    carries (``carries``) —, all of them accounted for; then each request's answer to its own
    ``done``, in their order."""

    __slots__ = ("dones", "carries", "answers")

    def __init__(self, dones, carries):
        self.dones, self.carries = dones, carries
        self.answers = None

    def read(self, answer):
        """Split ``answer`` (BadMessage when it is not one answer per request)."""
        fields, fds = answer.fields, answer.fds
        if not answer.ok or len(fields) != 2 * len(self.dones):
            raise wire.BadMessage("a batch's answer")
        answers, at = [], 0
        for index in range(0, len(fields), 2):
            count = wire.number(fields[index], self.carries[index // 2] + 1)
            said = wire.decode(fields[index + 1])
            if said[0] not in (b"=", b"!") or at + count > len(fds):
                raise wire.BadMessage("a batch's answer")
            answers.append(Answer(said[0] == b"=", said[1:], fds[at:at + count]))
            at += count
        if at != len(fds):
            raise wire.BadMessage("a batch's descriptors")
        self.answers = answers

    def __call__(self, answer):
        """Each request's answer (``read`` first), or AgentGone for each."""
        answers = self.answers or [AgentGone() for _ in self.dones]
        for done, member in zip(self.dones, answers):
            if done is not None:
                done(member)
            elif isinstance(member, Answer):
                member.close()


def close_all(fds):
    """Close each of ``fds`` (descriptors a request or an answer carried)."""
    for fd in fds:
        os.close(fd)


def drop_keyed(queue, key):
    """Drop from ``queue`` — of ``(request, fds, done, key, …)`` not sent yet — the one with
    ``key`` (a file written again before the last write of it went out: only the newest is
    written, after whatever was asked between)."""
    for index, entry in enumerate(queue):
        if entry[3] == key:
            close_all(entry[1])
            del queue[index]
            return
