"""runtime/supervision: root's side of a user's agent (agent.py) — the channel, and the ``io``
the user's tree is supervised through.

``AgentLink`` is one agent's channel: requests go out in order (a request that finds the socket
full waits in a queue — root never blocks on a user's process — while answers are still read,
as the agent sends them blocking and would otherwise stop reading ours), each answer goes to its
request's callback, events (a child's end, a signal, a change of the tree's directory) to the
link's owner. An agent that sends anything the protocol does not allow (agentwire.py) is killed.

``AgentIO`` is what a user's tree and its supervisors work their files through instead of
``localio.LOCAL``: the same methods, answered once the agent has done the work. It outlives
any one agent: while none runs, what is asked waits (a state file written twice meanwhile is
written once, the latest), and goes out to the next one. It also keeps the processes the
agents started: their pidfds, by which root signals them, and whose ends it reports once, from
whichever sees it first — the agent that reaped it, or root itself when a dead agent's children
came to it.
"""

import errno
import os

try:
    import _signal as signal  # the C module: `signal`'s wrappers make an enum of every number
except ImportError:  # pragma: no cover - other interpreters
    import signal

from ...errors import FatalError
from ...protocol.eventdir import STATUS
from ..unix.seqpacket import receive, send
from . import agentwire as wire
from .servicedir import Facts, Listing, Opened, SideFiles

_RECEIVE_MAX = 64 * 1024
_MAX_FDS = 16
_EVENT_KINDS = (b"x", b"s", b"c", b"r")
# The requests a batch may hold: each answered with one descriptor at most (a batch's answer
# is one message, whose descriptors root takes _MAX_FDS of at most).
_BATCHED = frozenset((b"write", b"remove", b"fifo", b"spawn", b"started", b"evopen",
                      b"evpost", b"evclose"))


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
        self._waiting = []  # the callbacks of requests sent, in their order
        self._outgoing = []  # (message, fds we own, done, key) the socket had no room for
        self._pieces = []
        self._piece_bytes = 0
        self._writer = False
        loop.add_reader(channel.fileno(), self._receive)

    @property
    def is_open(self):
        return self.channel is not None

    def request(self, fields, fds=(), done=None, key=None):
        """Send one request; ``done(Answer)`` — or ``done(AgentGone)`` — once answered. A
        request with a ``key`` replaces one with the same key that has not gone out yet."""
        message = wire.encode(*fields)
        if self.channel is None:
            if done is not None:
                done(AgentGone())
            return
        if not self._outgoing and self._send(message, fds):
            self._waiting.append(done)
            return
        if key is not None:
            _drop_keyed(self._outgoing, key)  # the latest goes last: the order of files kept
        self._outgoing.append((message, [os.dup(fd) for fd in fds], done, key))
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
        self.request(fields, fds, _Batch([done for _, _, done in entries]))

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
            message, fds, done, _ = self._outgoing[0]
            if not self._send(message, fds):
                return
            self._outgoing.pop(0)
            _close_all(fds)
            self._waiting.append(done)
        if self.channel is not None and self._writer:
            self._writer = False
            self.loop.remove_writer(self.channel.fileno())
            self.loop.add_reader(self.channel.fileno(), self._receive)
            self._receive()

    def _receive(self):
        while self.channel is not None:
            try:
                data, fds, cut = receive(self.channel, _RECEIVE_MAX, _MAX_FDS)
            except (BlockingIOError, InterruptedError):
                return
            if not data:
                _close_all(fds)
                self.close()
                return
            try:
                if cut:  # never one of ours
                    raise wire.BadMessage("a message cut short")
                self._take(wire.decode(data), fds)
            except wire.BadMessage as exc:
                _close_all(fds)
                self.refuse(exc)
                return

    def _take(self, fields, fds):
        kind = fields[0]
        if kind in _EVENT_KINDS:
            _close_all(fds)
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
        done = self._waiting[0]
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
        from ..unix.diag import warn
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
        for message, fds, done, _ in outgoing:
            _close_all(fds)
            waiting.append(done)
        for done in waiting:
            if done is not None:
                done(AgentGone())
        self.on_gone()


class _Batch:
    """The ``done`` of a batch (agentwire.BATCH): its answer read strictly — as many answers
    as requests, each ``=`` or ``!`` with the descriptors it counts, all of them accounted
    for — then each request's answer to its own ``done``, in their order."""

    __slots__ = ("dones", "answers")

    def __init__(self, dones):
        self.dones = dones
        self.answers = None

    def read(self, answer):
        """Split ``answer`` (BadMessage when it is not one answer per request)."""
        fields, fds = answer.fields, answer.fds
        if not answer.ok or len(fields) != 2 * len(self.dones):
            raise wire.BadMessage("a batch's answer")
        answers, at = [], 0
        for index in range(0, len(fields), 2):
            count = wire.number(fields[index], _MAX_FDS + 1)
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


def _identity(fd):
    """The (device, inode) ``fd`` is open on, None when it is closed: a descriptor number
    closed and taken again names another file."""
    try:
        found = os.fstat(fd)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _close_all(fds):
    for fd in fds:
        os.close(fd)


def _drop_keyed(queue, key):
    """Drop from ``queue`` — of ``(message, fds, done, key)`` not sent yet — the one with
    ``key`` (a file written again before the last write of it went out: only the newest is
    written, after whatever was asked between)."""
    for index, entry in enumerate(queue):
        if entry[3] == key:
            _close_all(entry[1])
            del queue[index]
            return


# -- the io of a user's tree ----------------------------------------------------------------------
class AgentIO:
    """``localio.LocalIO``'s methods, done by the user's agent (whichever runs now)."""

    __slots__ = ("loop", "label", "link", "_held", "_processes", "_early", "on_agent",
                 "_posters", "_gathered")

    is_remote = True

    def __init__(self, loop, label):
        self.loop = loop
        self.label = label
        self.link = None  # the current agent's AgentLink, None while none runs
        self._held = []  # requests made while no agent runs: (fields, fds we own, done, key)
        self._processes = {}  # pid -> _Process: started through an agent, not yet ended
        self._early = {}  # pid -> wait status of a process that ended before it was watched
        self.on_agent = []  # called once each, when an agent is attached (waiting spawns)
        self._posters = {}  # base_fd -> RemoteEvents open: each agent holds their readers
        self._gathered = None  # requests made together (``together``): sent as one batch

    # -- the agent -------------------------------------------------------------------------------
    def attach(self, link):
        """A new agent takes the work; what waited goes out to it, in its order."""
        self.link = link
        held, self._held = self._held, []
        for fields, fds, done, key in held:
            link.request(fields, fds, done, key)
            _close_all(fds)
        for poster in self._posters.values():
            poster.reopen()  # the last agent's readers went with it
        waiting, self.on_agent = self.on_agent, []
        for callback in waiting:
            callback()

    def detach(self):
        """The agent is gone: its children came to root's tree (its subreaper), so their ends
        are root's to see; a process already ended whose end the agent did not report is
        reported, its status unknown."""
        self.link = None
        for pid, process in list(self._processes.items()):
            if process.has_ended:
                self._ended(pid, _reaped_or_unknown(pid))

    def together(self):
        """A ``with`` block whose requests go out as one message (agentwire.BATCH) when it
        ends, in their order: a side's start — its status, ``ok`` opened, its ``starting``
        record, its process — is one round trip to the agent, not four."""
        return _Together(self)

    def _send_gathered(self):
        gathered, self._gathered = self._gathered, None
        batch, batch_fds = [], 0
        for fields, fds, done, key in gathered:
            if self.link is None or not self.link.is_open:
                self._request(fields, fds, done, key)
            elif fields[0] not in _BATCHED:
                self._send_batch(batch)
                batch, batch_fds = [], 0
                self.link.request(fields, fds, done, key)
            else:
                if len(batch) == wire.MAX_BATCH or batch_fds + len(fds) > _MAX_FDS:
                    self._send_batch(batch)
                    batch, batch_fds = [], 0
                batch.append((fields, fds, done))
                batch_fds += len(fds)
        self._send_batch(batch)
        for _, fds, _, _ in gathered:
            _close_all(fds)

    def _send_batch(self, batch):
        if not batch:
            return
        if self.link is not None and self.link.is_open:
            self.link.request_batch(batch)
            return
        for fields, fds, done in batch:
            self._request(fields, fds, done)

    def _request(self, fields, fds=(), done=None, key=None):
        if self._gathered is not None:
            if key is not None:
                _drop_keyed(self._gathered, key)
            self._gathered.append((fields, [os.dup(fd) for fd in fds], done, key))
            return
        if self.link is not None and self.link.is_open:
            self.link.request(fields, fds, done, key)
            return
        if key is not None:
            _drop_keyed(self._held, key)
        self._held.append((fields, [os.dup(fd) for fd in fds], done, key))

    @property
    def has_agent(self):
        return self.link is not None and self.link.is_open

    def request(self, fields, fds=(), done=None, key=None):
        """One piece of work for the agent (held while none runs): ``done(Answer)``, or
        ``done(AgentGone)``."""
        self._request(fields, fds, done, key)

    def request_again(self, fields, base_fd):
        """A piece of work on the directory ``base_fd`` whose answer nobody waits for, done
        whichever agent lives to do it: one the agent took with it is asked of the next
        while ``base_fd`` still names that directory."""
        directory = _identity(base_fd)

        def answered(answer):
            if isinstance(answer, OSError):
                self._ask_again(fields, base_fd, directory, answered)
            else:
                answer.close()
        self._request(fields, [base_fd], answered)

    def refuse(self, exc):
        """The agent answered what it may not: killed (the next one is not trusted less)."""
        if self.link is not None:
            self.link.refuse(exc)

    # -- LocalIO's methods -----------------------------------------------------------------------
    def list_services(self, directory, done, limit=None):
        def answered(answer):
            done(_listing(answer))
        self._request([b"list", directory, b"" if limit is None else limit], (), answered)

    def open_service(self, directory, done, find_started=None):
        def answered(answer):
            done(_opened(answer))
        self._request([b"open", directory], (), answered)

    def open_fifo(self, base_fd, prefix, name, flags, done):
        """``done(fd)``, or ``done(FatalError)``. Asked again of the next agent when the one
        asked was killed first (a logger's reading end, lost so, made that logger run as a
        process of the user's instead of on root's loop)."""
        fields = [b"fifo", prefix, name, flags]
        directory = _identity(base_fd)

        def answered(answer):
            if isinstance(answer, OSError):
                if not self._ask_again(fields, base_fd, directory, answered):
                    done(FatalError("unable to open %ssupervise/%s: the agent is gone"
                                    % (prefix, name)))
            elif not answer.ok or len(answer.fds) != 1:
                answer.close()
                done(_failure(answer))
            else:
                done(answer.fds[0])
        self._request(fields, [base_fd], answered)

    def _ask_again(self, fields, base_fd, directory, answered, key=None):
        """A request the killed agent took unanswered, held for the next one — unless
        ``base_fd`` no longer names ``directory`` (closed since: nobody waits for it, and its
        number may name another file now). Whether it was asked again."""
        if _identity(base_fd) != directory:
            return False
        self._request(fields, [base_fd], answered, key=key)
        return True

    def write_files(self, base_fd, files, prefix, warn):
        """LocalIO.write_files, one request for all of ``files`` (a side's state: pid, its
        record, tally, stat, status). A request not sent yet for the same files of the same
        directory is replaced by this one (the latest goes last). One the agent took with it,
        unanswered (killed), is asked again of the next agent: a state that does not change
        again (a logger's ``run``, written as the user killed the agent) is never written
        otherwise — ``sv`` and ``supervise/pid`` would say down for good."""
        directory = _identity(base_fd)

        def answered(answer):
            if isinstance(answer, OSError):
                self._ask_again(fields, base_fd, directory, answered, key)
                return
            if answer.ok:
                return
            try:
                said = answer.fields
                if said[:1] != [b"warn"] or len(said) % 2 == 0 \
                        or len(said) > 2 * len(files) + 1:
                    raise wire.BadMessage("a write's failures")
                failures = [(wire.text(said[at]), wire.number(said[at + 1], 4096))
                            for at in range(1, len(said), 2)]
            except wire.BadMessage as exc:
                self.link.refuse(exc)
                return
            for message, number in failures:
                warn(message, OSError(number, os.strerror(number)))
        fields = [b"write", prefix]
        for in_place, path, data in files:
            fields += [b"place" if in_place else b"new", path, data]
        key = ("file", base_fd) + tuple(path for _, path, _ in files)
        self._request(fields, [base_fd], answered, key=key)

    def remove(self, base_fd, path):
        """LocalIO.remove, on a descriptor of its own until the agent answered: one the agent
        took with it, unanswered (killed), is asked again of the next agent. A supervisor
        that exits removes its process record and closes the directory at once; the record
        left, its successor took a process that had ended for one lost — the want it had
        kept (``sv x``'s down: the service never came back up), or ``./finish`` run again
        for an end it had run it for. Not keyed: a write of the record asked after it goes
        after it."""
        fields = [b"remove", path]
        try:
            kept = os.dup(base_fd)
        except OSError:  # no descriptor to spare (the tree keeps a reserve): asked once
            self._request(fields, [base_fd])
            return

        def answered(answer):
            if isinstance(answer, OSError):
                self._request(fields, [kept], answered)
            else:
                answer.close()
                os.close(kept)
        self._request(fields, [kept], answered)

    def event_poster(self, base_fd):
        """The side's ``supervise/event/``, kept by the agent (RemoteEvents)."""
        return RemoteEvents(self, base_fd)

    def keep_events(self, poster, kept):
        """``poster`` is opened again for every new agent while ``kept``."""
        if kept:
            self._posters[poster.base_fd] = poster
        else:
            self._posters.pop(poster.base_fd, None)

    # -- what only an agent is asked -------------------------------------------------------------
    def facts(self, dir_fd, log_fd, done):
        """``done(Facts)``, or ``done(None)`` when no agent can read them now (the last ones
        read stand)."""
        if not self.has_agent:
            done(None)
            return

        def answered(answer):
            done(_facts(answer, self.link))
        self._request([b"facts"], [dir_fd] + ([log_fd] if log_fd >= 0 else []), answered)

    def started(self, dir_fd, since, exclude, done):
        """The pid a lost spawn had started (adoption.started_in), or 0. Asked again of the
        next agent when the one asked was killed first: a 0 then started ``./run`` again
        beside the one found by nobody."""
        fields = [b"started", since] + list(exclude)
        directory = _identity(dir_fd)

        def answered(answer):
            if isinstance(answer, OSError):
                if not self._ask_again(fields, dir_fd, directory, answered):
                    done(0)  # the side is closed: nobody starts anything for it
                return
            try:
                done(wire.number(answer.fields[0]) if answer.ok and answer.fields else 0)
            except wire.BadMessage:
                done(0)
        self._request(fields, [dir_fd], answered)

    def spawn(self, argv, done, cwd_fd=None, stdin_fd=None, stdout_fd=None, new_session=False,
              env=None, extra_fds=(), argv0=None, reopen_stdin=False, watch_stops=False):
        """Start ``argv`` as the user; ``done(pid)``, or ``done(OSError)`` (``AgentGone``: it
        may or may not have started). ``reopen_stdin``: ``stdin_fd`` is a FIFO the agent opens
        again read-only for the child (a logger's own reading end). ``watch_stops``: the
        agent (its parent) tells each time the process is stopped and continued — to the
        ``on_stop`` and ``on_continue`` that ``watch`` is given."""
        roles, fds = [], []
        for role, fd in (("cwd", cwd_fd), ("in", stdin_fd), ("out", stdout_fd)):
            if fd is not None:
                roles.append(role if role != "in" or not reopen_stdin else "reopen")
                fds.append(fd)
        for fd, target in extra_fds:
            roles.append(str(target))
            fds.append(fd)
        env_items = [] if env is None else ["%s=%s" % item for item in env.items()]
        how = 2 if watch_stops else int(new_session)
        fields = ([b"spawn", how, argv0 or b"", len(argv)] + list(argv)
                  + [len(env_items)] + env_items + [",".join(roles)])

        def answered(answer):
            if isinstance(answer, OSError):
                done(answer)
                return
            try:
                if not answer.ok:
                    raise _failure(answer)
                pid = wire.number(answer.fields[0], 1 << 31)
            except OSError as exc:
                answer.close()
                done(exc)
                return
            except (wire.BadMessage, IndexError) as exc:
                answer.close()
                self.link.refuse(wire.BadMessage(str(exc)))
                done(AgentGone())
                return
            self._processes[pid] = _Process(self.loop, pid, answer.fds[0] if answer.fds else -1,
                                            self)
            done(pid)
        self._request(fields, fds, answered)

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

    def adopt(self, pid, callback):
        """A process of the user's found running (a predecessor's): signalled and watched by
        a pidfd of root's own, its end's status unknown (``callback(pid, None)``); OSError
        when it is gone already."""
        fd = os.pidfd_open(pid)
        process = self._processes[pid] = _Process(self.loop, pid, fd, self)
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

    def _readable(self, process):
        """``process``'s pidfd says it has ended: an adopted one's end is known now; a child
        of an agent's waits for that agent's report, unless no agent is there to make it."""
        process.has_ended = True
        if process.adopted or not self.has_agent:
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
        for _, fds, _, _ in self._held:
            _close_all(fds)
        self._held = []


class _Together:
    """AgentIO.together's block (nested ones are part of the outermost)."""

    __slots__ = ("io", "outermost")

    def __init__(self, io):
        self.io = io
        self.outermost = False

    def __enter__(self):
        if self.io._gathered is None:
            self.io._gathered, self.outermost = [], True
        return self

    def __exit__(self, *_):
        if self.outermost:
            self.io._send_gathered()
        return False


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
        self.io.request([b"evopen"], [self.base_fd])
        if self.owed and self.io.has_agent:
            owed, self.owed = self.owed, b""
            self.post(owed)

    def post(self, byte):
        if not self.is_open:
            return
        if not self.io.has_agent:
            self.owed = byte  # held, it would reach the next agent before its open: lost
            return
        self.io.request([b"evpost", byte], [self.base_fd], self._posted,
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
        self.io.request([b"evclose", int(post)], [self.base_fd])


class _Process:
    """A process an agent started (or root adopted): its pidfd, watched by root's loop — its
    end may come to root first (readable pidfd), its status from the agent that reaps it."""

    __slots__ = ("loop", "pid", "pidfd", "io", "callback", "has_ended", "adopted", "stops")

    def __init__(self, loop, pid, pidfd, io):
        self.loop, self.pid, self.pidfd, self.io = loop, pid, pidfd, io
        self.callback = None
        self.stops = None
        self.has_ended = False
        self.adopted = False
        if pidfd >= 0:
            loop.add_reader(pidfd, self._readable)
        # Its parent gone (the agent), it is root's child: root's loop reaps it then.
        loop.expect_child(pid, io._ended)

    def _readable(self):
        self.loop.remove_reader(self.pidfd)
        self.io._readable(self)

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


# -- answers -----------------------------------------------------------------------------------------
def _failure(answer):
    """The exception an agent's ``!`` answer stands for."""
    fields = answer.fields
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


def _listing(answer):
    if isinstance(answer, OSError):
        return answer
    if not answer.ok:
        return _failure(answer)
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


def _opened(answer):
    """The Opened an ``open`` answer carries (its descriptors ours from now on), or the
    FatalError."""
    if isinstance(answer, OSError):
        return FatalError("unable to open the service: %s" % answer.strerror)
    if not answer.ok:
        answer.close()
        failure = _failure(answer)
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
        answer.close()
        return FatalError("unable to open the service: the agent answered %s" % exc)
    opened = Opened(held[0], held[1], held[2], held[3], sides[0], sides[1], warnings, facts)
    opened.main.lock_fd, opened.main.control_fd = held[4], held[5]
    if opened.log is not None:
        opened.log.lock_fd, opened.log.control_fd = held[6], held[7]
    return opened


def _facts(answer, link):
    if isinstance(answer, OSError) or not answer.ok:
        return None
    try:
        return facts_from(answer.fields)
    except (wire.BadMessage, ValueError, IndexError) as exc:
        link.refuse(wire.BadMessage(str(exc)))
        return None


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
    if len(rest) != 3 or len(rest[2]) > 4096:
        raise wire.BadMessage("facts")
    return Facts(finish, hooks, wire.optional(rest[0]), wire.optional(rest[1]), rest[2])
