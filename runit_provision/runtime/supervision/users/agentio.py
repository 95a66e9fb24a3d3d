"""runtime/supervision/users: the ``io`` a user's tree and its supervisors work their files
through — ``localio.LocalIO``'s methods, done by the user's agent (agentlink.py's channel) and
answered once the agent has done the work.

It outlives any one agent: while none runs, what is asked waits (a state file written twice
meanwhile is written once, the latest), and goes out to the next one. Work the agent took with
it unanswered (killed) is asked again of the next one where nothing else would ever do it
(``request_again``: one mechanism for a state written, a FIFO opened, a record removed, a lost
start looked for). What the answers say is read by agentanswers.py; the processes the agents
start are kept by agentprocesses.py, a side's ``supervise/event/`` by agenteventdir.py.
"""

import os

from ....errors import FatalError
from ...unix.fileidentity import file_identity
from . import agentwire as wire
from .agentanswers import (facts_from, failure_from, listing_from, opened_from,
                           spawn_pid_from, started_pid_from, write_failures_from)
from .agenteventdir import RemoteEvents
from .agentlink import MAX_FDS, AgentGone, close_all, drop_keyed
from .agentprocesses import AgentProcesses


class AgentIO:
    """``localio.LocalIO``'s methods, done by the user's agent (whichever runs now)."""

    __slots__ = ("loop", "label", "link", "processes", "_held", "on_agent", "_posters",
                 "_gathered")

    is_remote = True

    def __init__(self, loop, label):
        self.loop = loop
        self.label = label
        self.link = None  # the current agent's AgentLink, None while none runs
        self.processes = AgentProcesses(loop, self)
        self._held = []  # requests made while no agent runs: (fields, fds we own, done, key)
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
            close_all(fds)
        for poster in self._posters.values():
            poster.reopen()  # the last agent's readers went with it
        waiting, self.on_agent = self.on_agent, []
        for callback in waiting:
            callback()

    def detach(self):
        """The agent is gone: the processes it started are root's to see end
        (AgentProcesses.agent_gone)."""
        self.link = None
        self.processes.agent_gone()

    def together(self):
        """A ``with`` block whose requests go out as one message (agentwire.BATCH) when it
        ends, in their order: a side's start — its status, ``ok`` opened, its ``starting``
        record, its process — is one round trip to the agent, not four."""
        return _Together(self)

    def _send_gathered(self):
        gathered, self._gathered = self._gathered, None
        batch, batch_fds = [], 0
        for fields, fds, done, key in gathered:
            if not self.has_agent:
                self._request(fields, fds, done, key)
            elif not wire.REQUESTS[fields[0]][1]:  # a batch may not hold it
                self._send_batch(batch)
                batch, batch_fds = [], 0
                self.link.request(fields, fds, done, key)
            else:
                if len(batch) == wire.MAX_BATCH or batch_fds + len(fds) > MAX_FDS:
                    self._send_batch(batch)
                    batch, batch_fds = [], 0
                batch.append((fields, fds, done))
                batch_fds += len(fds)
        self._send_batch(batch)
        for _, fds, _, _ in gathered:
            close_all(fds)

    def _send_batch(self, batch):
        if not batch:
            return
        if self.has_agent:
            self.link.request_batch(batch)
            return
        for fields, fds, done in batch:
            self._request(fields, fds, done)

    def _request(self, fields, fds=(), done=None, key=None):
        if self._gathered is not None:
            if key is not None:
                drop_keyed(self._gathered, key)
            self._gathered.append((fields, [os.dup(fd) for fd in fds], done, key))
            return
        if self.has_agent:
            self.link.request(fields, fds, done, key)
            return
        if key is not None:
            drop_keyed(self._held, key)
        self._held.append((fields, [os.dup(fd) for fd in fds], done, key))

    @property
    def has_agent(self):
        return self.link is not None and self.link.is_open

    def request(self, fields, fds=(), done=None, key=None):
        """One piece of work for the agent (held while none runs): ``done(Answer)``, or
        ``done(AgentGone)``."""
        self._request(fields, fds, done, key)

    def request_again(self, fields, base_fd, answered=None, lost=None, key=None):
        """A piece of work on the directory ``base_fd``, done by whichever agent lives to do
        it: one the agent took with it unanswered (killed) is asked again of the next, while
        ``base_fd`` still names that directory — once it does not (closed since: nobody waits
        for it, and its number may name another file now), ``lost()`` instead, if given.
        ``answered(Answer)`` once an agent answered; without it nobody waits for the answer.
        ``key``: as ``request``'s, each time it is asked."""
        self._request(fields, [base_fd], _AskedAgain(self, fields, base_fd, answered, lost, key),
                      key)

    def refuse(self, exc):
        """The agent answered what it may not: killed (the next one is not trusted less)."""
        if self.link is not None:
            self.link.refuse(exc)

    # -- LocalIO's methods -----------------------------------------------------------------------
    def list_services(self, directory, done, limit=None):
        def answered(answer):
            done(listing_from(answer))
        self._request([wire.LIST, directory, b"" if limit is None else limit], (), answered)

    def open_service(self, directory, done, find_started=None, starting=None):
        """``starting``: what root's records say of a start under way (servicedir's), which
        the agent looks for processes by — never by the user's own record."""
        def answered(answer):
            opened = opened_from(answer)
            if isinstance(opened, FatalError) and not isinstance(answer, OSError):
                answer.close()  # its descriptors are nobody's
            done(opened)
        fields = [wire.OPEN, directory]
        if starting is not None:
            fields += [b"" if since < 0 else since for since in starting[:2]]
            fields += sorted(starting[2])
        self._request(fields, (), answered)

    def open_fifo(self, base_fd, prefix, name, flags, done):
        """``done(fd)``, or ``done(FatalError)``. Asked again of the next agent when the one
        asked was killed first (a logger's reading end, lost so, made that logger run as a
        process of the user's instead of on root's loop)."""
        def answered(answer):
            if not answer.ok or len(answer.fds) != 1:
                answer.close()
                done(failure_from(answer.fields))
            else:
                done(answer.fds[0])

        def lost():
            done(FatalError("unable to open %ssupervise/%s: the agent is gone" % (prefix, name)))
        self.request_again([wire.FIFO, prefix, name, flags], base_fd, answered, lost)

    def write_files(self, base_fd, files, prefix, warn):
        """LocalIO.write_files, one request for all of ``files`` (a side's state: pid, its
        record, tally, stat, status). A request not sent yet for the same files of the same
        directory is replaced by this one (the latest goes last). One the agent took with it,
        unanswered (killed), is asked again of the next agent: a state that does not change
        again (a logger's ``run``, written as the user killed the agent) is never written
        otherwise — ``sv`` and ``supervise/pid`` would say down for good."""
        def answered(answer):
            if answer.ok:
                return
            try:
                failures = write_failures_from(answer.fields, len(files))
            except wire.BadMessage as exc:
                self.link.refuse(exc)
                return
            for message, exc in failures:
                warn(message, exc)
        fields = [wire.WRITE, prefix]
        for in_place, path, data in files:
            fields += [b"place" if in_place else b"new", path, data]
        key = ("file", base_fd) + tuple(path for _, path, _ in files)
        self.request_again(fields, base_fd, answered, key=key)

    def remove(self, base_fd, path):
        """LocalIO.remove, on a descriptor of its own until the agent answered (so asked
        again of the next agent as long as it takes): one the agent took with it, unanswered
        (killed), is asked again of the next agent. A supervisor that exits removes its
        process record and closes the directory at once; the record left, its successor took
        a process that had ended for one lost — the want it had kept (``sv x``'s down: the
        service never came back up), or ``./finish`` run again for an end it had run it for.
        Not keyed: a write of the record asked after it goes after it."""
        fields = [wire.REMOVE, path]
        try:
            kept = os.dup(base_fd)
        except OSError:  # no descriptor to spare (the tree keeps a reserve): asked once
            self._request(fields, [base_fd])
            return

        def answered(answer):
            answer.close()
            os.close(kept)
        self.request_again(fields, kept, answered)

    def when_done(self, callback):
        """``callback()`` once the agent has done every piece of work asked so far (a
        ``sync`` answered: it does its requests in their order), or has gone without doing
        them. With no agent running, at once: what is held is the next agent's, whenever one
        comes (a supervisor that exits would otherwise wait for it with its ``ok`` held)."""
        if not self.has_agent and self._gathered is None:
            callback()
            return

        def answered(answer):
            if not isinstance(answer, OSError):
                answer.close()
            callback()
        self._request([wire.SYNC], (), answered)

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
            if isinstance(answer, OSError) or not answer.ok:
                done(None)
                return
            try:
                found = facts_from(answer.fields)
            except (wire.BadMessage, ValueError, IndexError) as exc:
                self.link.refuse(wire.BadMessage(str(exc)))
                found = None
            done(found)
        self._request([wire.FACTS], [dir_fd] + ([log_fd] if log_fd >= 0 else []), answered)

    def started(self, dir_fd, since, exclude, done):
        """The pid a lost spawn had started (adoption.started_in), or 0. Asked again of the
        next agent when the one asked was killed first: a 0 then started ``./run`` again
        beside the one found by nobody."""
        self.request_again([wire.STARTED, since] + list(exclude), dir_fd,
                           lambda answer: done(started_pid_from(answer)),
                           lambda: done(0))  # the side is closed: nobody starts anything for it

    def spawn(self, argv, done, cwd_fd=None, stdin_fd=None, stdout_fd=None, new_session=False,
              env=None, extra_fds=(), argv0=None, reopen_stdin=False, watch_stops=False):
        """Start ``argv`` as the user; ``done(pid)``, or ``done(OSError)`` (``AgentGone``: it
        may or may not have started). ``reopen_stdin``: ``stdin_fd`` is a FIFO the agent opens
        again read-only for the child (a logger's own reading end). ``watch_stops``: the
        agent (its parent) tells each time the process is stopped and continued — to the
        ``on_stop`` and ``on_continue`` that ``processes.watch`` is given."""
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
        fields = ([wire.SPAWN, how, argv0 or b"", len(argv)] + list(argv)
                  + [len(env_items)] + env_items + [",".join(roles)])

        def answered(answer):
            if isinstance(answer, OSError):
                done(answer)
                return
            try:
                pid = spawn_pid_from(answer)
            except OSError as exc:
                answer.close()
                done(exc)
                return
            except (wire.BadMessage, IndexError) as exc:
                answer.close()
                self.link.refuse(wire.BadMessage(str(exc)))
                done(AgentGone())
                return
            self.processes.started(pid, answer.fds[0] if answer.fds else -1)
            done(pid)
        self._request(fields, fds, answered)

    def close(self):
        self.processes.close()
        for _, fds, _, _ in self._held:
            close_all(fds)
        self._held = []


class _AskedAgain:
    """AgentIO.request_again's ``done`` (an object, not a closure: half the cost of one on
    root's loop, a side's start asks several)."""

    __slots__ = ("io", "fields", "base_fd", "directory", "answered", "lost", "key")

    def __init__(self, io, fields, base_fd, answered, lost, key):
        self.io, self.fields, self.base_fd = io, fields, base_fd
        self.directory = file_identity(base_fd)
        self.answered, self.lost, self.key = answered, lost, key

    def __call__(self, answer):
        if not isinstance(answer, OSError):
            if self.answered is None:
                answer.close()
            else:
                self.answered(answer)
        elif file_identity(self.base_fd) == self.directory:
            self.io._request(self.fields, [self.base_fd], self, self.key)
        elif self.lost is not None:
            self.lost()


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
