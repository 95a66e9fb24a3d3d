"""runtime/supervision/users: a user's tree, supervised by root's tree through the user's agent
(``UserTree``: the service of root's whose ``./run`` it is, the engine supervisor's ``nested``;
``UserLogHost``: the user's loggers).

A service whose ``./run`` is the generator's canonical ``runsvdir-LOGIN/run``
(``protocol/treerun.py``: ``exec env -i PATH="$PATH" chpst -u LOGIN -e ./env -L LOCK runsvdir
DIR``) runs, in root's tree, without an interpreter of the user's own doing the supervising:

- root's tree supervises ``DIR`` itself (nestedtree.py: ``NestedTree``, ``RemoteSupervisor``):
  the scans, each service's state machine (engine/side.py), its control FIFOs and its
  processes' ends are root's work, on root's loop;
- everything that touches what the user controls is the work of the user's **agent**
  (agent.py), forked from the fork server, wholly the user: it looks at ``DIR``, opens and
  writes every file there, and starts the user's processes, as their parent and subreaper. Root
  holds the descriptors it opened and hands them back with each piece of work (agentio.py),
  reads what it read strictly (agentanswers.py), and signals the processes it started by pidfd
  (agentprocesses.py);
- the agent's pid is ``runsvdir-LOGIN``'s ``supervise/pid``; ``ps`` shows it ``runsvdir DIR``.
  TERM and HUP sent to it — by ``sv``, by anyone — bring the user's services down in root's
  loop, then the agent exits (0, or 111 after HUP, as runsvdir); a killed agent costs nothing
  that runs: the services go on, supervised, and the next agent takes the work up;
- the user's loggers (``exec [chpst -u LOGIN] svlogd …``) and the logger of the tree's own
  output run on root's loop too, their file work the agent's (agentlogs.py: rendering each
  line, writing, rotating, pruning — what a user can make costly is done at the user's
  cost); they are shown by the user's stand-in, a ``/bin/sh`` the agent starts.

What ``run`` would have done is done this way: the envdir read (root's own directory), the
environment ``env -i PATH`` gives (the tree's ``PATH`` alone), the identity ``chpst -u`` gives
(with all its groups), the lock ``-L`` takes (by the agent, as the user). Any other ``run`` —
another template, a value that needs quoting, a user chpst cannot resolve — is exec'd.
"""

import os

try:
    import _signal as signal  # not signal: its enum is 0.75 MB of root's tree (design.md)
except ImportError:  # pragma: no cover - other interpreters
    import signal

from ...unix.diag import warn
from ..engine.side import NotYet, Want
from ..loggers.standinloghost import StandInLogHost, stand_in_argv, stand_in_pipes
from .nestedtree import NestedTree, UserSpawner
from .runfile import tree_run

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # dash's, unset
# An agent sent away (its tree is done) stays this long at most for the log side's last
# writes: runsvdir-LOGIN/log's logger, on root's loop, writes the tree's last words through
# it. Root's teardown TERMs that logger at once, and it ends in milliseconds; after ``sv down``
# it keeps running (runsv keeps a log side up), and what it reads later waits in its pipe for
# the next agent.
LINGER_SECONDS = 3.0


def hosts_identity(tree, logger):
    """Whether a user tree running as ``tree`` (an Identity) may run a logger of ``logger``:
    the same user and primary group, and no group the tree does not have (a tree runs with
    all of the user's groups, its log as ``user:group``).

    >>> from runit_provision.runtime.supervision.loggers.hostedlogger import Identity
    >>> tree = Identity(1000, [1000, 4, 27])
    >>> [hosts_identity(tree, Identity(*ids)) for ids in ((1000, [1000]), (1000, [1000, 4]),
    ...                                                    (1000, [4]), (1001, [1000]))]
    [True, True, False, False]
    """
    return (tree.uid == logger.uid and tree.gids[:1] == logger.gids[:1]
            and set(logger.gids) <= set(tree.gids))


def user_environment(found, path, dir_fd):
    """The environment the user's services get: what ``env -i PATH="$PATH" chpst -e ENVDIR``
    gives — ``PATH`` and the envdir (read here: it is in ``runsvdir-LOGIN``'s own directory,
    root's). FatalError as chpst would fail."""
    from ...unix.procstate import environment_for_exec
    from ...unix.edir import read_envdir
    env_dir = found.env_dir if os.path.isabs(found.env_dir) else \
        "/proc/self/fd/%d/%s" % (dir_fd, found.env_dir)
    return environment_for_exec({"PATH": path}, read_envdir(env_dir).items())


class _Asked:
    """A fork server request for an agent: root's end of its channel, its identity, the
    answer once it came."""

    __slots__ = ("channel", "identity", "found", "environ", "answer")

    def __init__(self, channel, identity, found, environ):
        self.channel, self.identity = channel, identity
        self.found, self.environ, self.answer = found, environ, None


class UserTree:
    """A supervisor's side of a service whose ``./run`` is a canonical user tree: the agent it
    runs as that service's process, and the user's services, supervised in our loop.

    Made by root's tree for each of its supervisors but a timer's, which never runs ``./run``
    (the engine's ``nest``: root's tree hands it ``UserTree(supervisor, forks)``, ``forks`` its
    fork server), it is the supervisor's ``nested``: asked to start ``./run`` (``spawn``) and
    the log side's logger (``start_logger``), to take the signals meant for the agent
    (``takes_signal``), to settle, close and kill with it."""

    __slots__ = ("supervisor", "forks", "is_first", "agent", "io", "log_io", "log_host", "tree",
                 "environ", "directory", "uid", "ledger", "_asked", "_prepared", "_link",
                 "_hosted", "_log_waits", "_released", "_linger_timer", "_exit_code", "_ending")

    def __init__(self, supervisor, forks):
        self.supervisor = supervisor
        self.forks = forks  # root's tree's fork server (tree/forkclient.ForkServer)
        # ./run was canonical when the supervisor opened: its tree starts before its log, whose
        # logger runs in its agent — the supervisor says (it makes one only for a canonical
        # ./run). Each start reads ./run again: a rewritten one is exec'd.
        self.is_first = True
        self.agent = None  # (pid, Identity) of the agent while it runs
        self.uid = None  # the user's, once an agent was asked for: whose processes are theirs
        self.ledger = None  # root's records of the user's processes (startledger.py)
        self.io = None  # the user's tree's AgentIO, from the first start
        self.log_io = None  # its loggers' file work (agentlogs.AgentLogIO)
        self.log_host = None  # its loggers' stand-in (UserLogHost)
        self.tree = None  # NestedTree while the user's services are supervised
        self.environ = None
        self.directory = None
        self._asked = None  # asked of the fork server, not taken up yet
        self._prepared = None  # (TreeRun, uid, gids, environ) read while the server started
        self._link = None
        self._hosted = set()  # loggers run through our io (host_logger) that have not ended
        self._log_waits = False  # the log side's start waits for the tree to run (start_logger)
        self._released = set()  # agents sent away: their end was the main side's already
        self._linger_timer = None
        self._exit_code = 0  # the agent's, once root is done with the tree (HUP: 111)
        self._ending = 0  # the agent a TERM or HUP was for: it is sent away once all is down

    @property
    def is_down(self):
        """None of the user's services is supervised."""
        return self.tree is None

    def running_as(self, identity):
        """The pid of the running agent when it may host a logger of ``identity``, else 0."""
        if self.agent is not None and hosts_identity(self.agent[1], identity):
            return self.agent[0]
        return 0

    # -- the agent, as the service's process ------------------------------------------------------
    def spawn(self):
        """The main side's start: the agent's pid, 0 when ``./run`` must be exec'd after all
        (another script now, a user chpst would refuse, no fork server), or NotYet: the request
        went out (or waits for the server), and its answer calls the side back."""
        asked = self._asked
        if asked is not None:
            if asked.answer is None:
                raise NotYet()
            self._asked = None
            return self._taken_up(asked)
        found = tree_run(self.supervisor.dir_fd)
        if found is None:
            return 0
        return self._ask(found)

    def _ask(self, found):
        import socket
        from ....errors import FatalError
        from ...unix.userspec import resolve_user
        from ..loggers.hostedlogger import Identity
        supervisor = self.supervisor
        prepared, self._prepared = self._prepared, None
        if prepared is not None and prepared[0] == found:
            uid, gids, environ = prepared[1:]
        else:
            try:
                uid, gids = resolve_user(found.user, True)
                environ = user_environment(found, supervisor.spawner.environ.get(
                    "PATH", DEFAULT_PATH), supervisor.dir_fd)
            except (FatalError, OSError, KeyError, ValueError):
                return 0  # whatever chpst would fail on, chpst must say
        try:
            self.forks.check()
        except NotYet:
            # Read while the server starts, kept for the ask it wakes (a tree's start asks
            # before its server is ready, and read the user and the envdir twice) — for that
            # ask alone: a later start reads them again.
            self._prepared = (found, uid, gids, environ)

            def ready():
                supervisor.host_ready()
                self._prepared = None
            self.forks.on_ready.append(ready)
            raise
        except OSError as exc:
            supervisor.warn("unable to fork the user's agent, running ./run instead", exc)
            return 0
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        asked = _Asked(ours, Identity(uid, gids), found, environ)
        fields = [uid, ",".join(map(str, gids)), found.lock, found.directory,
                  "1" if supervisor.new_session else "0"]
        fields += ["%s=%s" % item for item in environ.items()]
        fds = [theirs.fileno(), supervisor.output_fd()]
        supervisor.main_files.write_starting("run")
        try:
            self.forks.request(b"agent", fields, fds,
                                     lambda answer: self._answered(asked, answer))
        except OSError as exc:  # the server's socket failed: it is killed
            supervisor.warn("unable to fork the user's agent, running ./run instead", exc)
            ours.close()
            return 0
        finally:
            theirs.close()
        self._asked = asked
        raise NotYet()

    def _answered(self, asked, answer):
        supervisor = self.supervisor
        if asked is self._asked and supervisor.is_open and supervisor.main.is_deferred:
            asked.answer = answer
            supervisor.main.host_ready()  # takes it up: spawn -> _taken_up
            return
        # Nobody waits for it any more (sv d meanwhile, the service gone): it goes.
        if asked is self._asked:
            self._asked = None
        asked.channel.close()
        if not isinstance(answer, OSError):
            supervisor.spawner.kill(answer, signal.SIGKILL)

    def _taken_up(self, asked):
        from .agentio import AgentIO
        from .agentlink import AgentLink
        supervisor = self.supervisor
        answer = asked.answer
        if isinstance(answer, OSError):
            supervisor.warn("unable to fork the user's agent, running ./run instead", answer)
            asked.channel.close()
            return 0
        pid = answer
        supervisor.main_files.spawned(pid)
        self._end_linger()  # the last agent's log work is this one's now
        self.agent = (pid, asked.identity)
        self.environ, self.directory = asked.environ, asked.found.directory
        label = "runsvdir " + self.directory
        if self.io is None:
            from .agentlogs import AgentLogIO
            self.io = AgentIO(supervisor.loop, label)
            self.log_io = AgentLogIO(self.io)
            self.log_host = UserLogHost(self, label)
        link = self._link = AgentLink(supervisor.loop, asked.channel, pid, self._event,
                                      lambda: self._agent_gone(link), label)
        self.io.attach(link)

        def exited(pid, wait_status):
            link.close()
            if pid in self._released:
                self._released.discard(pid)  # its end was told when it was sent away
                return
            if self.agent is not None and self.agent[0] == pid:
                self.agent = None
            supervisor.main.child_exited(pid, wait_status)
        supervisor.loop.watch_child(pid, exited)
        if self.tree is None:
            self._exit_code, self._ending = 0, 0
            self._open_ledger(asked.identity.uid)
            self.tree = NestedTree(self)
            self.tree.start()
        else:
            self.tree.scan()  # what changed while no agent ran
        return pid

    def _open_ledger(self, uid):
        """Root's records of the user's processes, read at the first tree of this root tree
        (what a killed predecessor left) and kept from then on (startledger.py)."""
        from .startledger import StartLedger
        self.uid = uid
        if self.ledger is None:
            self.ledger = StartLedger.open(self.supervisor.dir_fd, self.supervisor.warn)

    def close(self):
        """The service is closed: root's records of its user's processes are let go (what
        they say stays on disk for a successor)."""
        if self.ledger is not None:
            self.ledger.close()

    def _agent_gone(self, link):
        """An agent's channel closed (it ended, or it was killed, or refused, or root let it
        go): the work waits for the next one."""
        if self._link is link:
            self._link = None
        if self.io is not None and self.io.link is link:
            self.io.detach()

    def _event(self, kind, fields):
        """What the agent tells of itself (agentwire.py)."""
        from . import agentwire as wire
        try:
            if kind == wire.EXITED:
                self.io.processes.child_exited(wire.number(fields[0], 1 << 31),
                                     wire.number(fields[1], 1 << 16))
            elif kind == wire.SIGNALLED:
                signum = wire.number(fields[0], 65)
                if signum == signal.SIGTERM:
                    self._end(0)
                elif signum == signal.SIGHUP:
                    self._end(111)
                elif self.tree is not None:
                    self.tree.scan()  # ALRM: the agent wrote .forced-rescan
            elif kind == wire.CHANGED and self.tree is not None:
                self.tree.scan()
            elif kind in (wire.STOPPED, wire.CONTINUED):
                self.io.processes.child_stopped(wire.number(fields[0], 1 << 31),
                                                kind == wire.STOPPED)
        except (wire.BadMessage, IndexError) as exc:
            if self._link is not None:
                self._link.refuse(wire.BadMessage(str(exc)))

    def start_logger(self, supervisor):
        """The log side's start (the engine asks its ``nested`` first): the logger of the
        tree's output runs on root's loop, its file work the agent's, when it is the user's
        (as ``host_logger``); anything else goes to root's tree's log hosts
        (loggers/loghosts.py). While the tree itself is to start first, NotYet: ``settle``
        wakes it once the tree runs, or will not."""
        from ..loggers.hostedlogger import OWN, hostable
        main = supervisor.main
        if self.is_first and main.want is Want.UP and not main.pid:
            self._log_waits = True
            raise NotYet()  # its tree first: the logger runs in it
        found = hostable(supervisor.facts.log_run)
        if found is not None and found[1] is not OWN and self.running_as(found[1]):
            reader = supervisor.log_reader()
            os.set_blocking(reader, False)
            return self.host_logger(supervisor, found[0], reader)
        return supervisor.log_host.start_logger(supervisor, found)

    def host_logger(self, supervisor, canonical, reader):
        """Run ``canonical`` (a LogRun of the user's identity) on root's loop for
        ``supervisor``'s log side, its file work the agent's, shown by the user's stand-in:
        ``(pid shown, HostedLogger)``, ``(0, None)`` when it is exec'd after all. ``reader``: a
        reading end of its pipe (ours from now on). NotYet while the agent starts the
        stand-in. Its end calls ``supervisor.hosted_logger_ended``, which has its host
        (UserLogHost) tell ``logger_ended``. (Bound methods and the logger's own slots, not
        closures: a tree keeps these for every logger of every user.)"""
        from ..loggers.hostedlogger import HostedLogger
        try:
            pid = self.log_host.stand_in(supervisor.host_ready)
        except NotYet:
            os.close(reader)
            raise
        if not pid:
            os.close(reader)
            return 0, None
        hosted = HostedLogger(supervisor.loop, UserSpawner(self.io, self.environ, 2),
                              supervisor.log_fd, reader, canonical.args,
                              self.supervisor.spawner.stderr_fd, self.log_host.scratch_pipe(),
                              supervisor.hosted_logger_ended, io=self.log_io)
        hosted.shown_pid, hosted.host = pid, self.log_host
        self.log_host.attach(pid, hosted)
        self._hosted.add(hosted)
        hosted.start()
        return pid, hosted

    def waited_for(self, shown_pid):
        """What the work of a logger of ours, shown as ``shown_pid``, waits for: the agent
        (its file work) and that stand-in — what runsv's CONT to the logger must reach."""
        return tuple(found for found in (self.agent and self.agent[0], shown_pid) if found)

    def logger_ended(self, hosted):
        """A logger run by ``host_logger`` ended (its reader is closed here)."""
        self.log_host.detach(hosted.shown_pid, hosted)
        self._hosted.discard(hosted)
        os.close(hosted.pipe_fd)
        if not self._hosted:
            # The last of the user's loggers ended: their stand-in goes (a new one starts
            # for the next), while an agent still runs to reap it — else it would outlive
            # the tree, an orphan root's teardown waits its grace for; an agent sent away
            # has written their last words, and goes too.
            self.log_host.close()
            if self.agent is None:
                self._end_linger()

    def takes_signal(self, pid, signum):
        """A signal the supervisor would send ``pid``: to the agent, TERM and HUP end the
        user's tree here (then the agent), as runsvdir ends on them; the rest reach it."""
        if self.agent is None or self.agent[0] != pid:
            return False
        if signum == signal.SIGTERM:
            self._end(0)
            return True
        if signum == signal.SIGHUP:
            self._end(111)
            return True
        return False

    def _end(self, code):
        """runsvdir's TERM (0) or HUP (111): every service down, then the agent goes."""
        if self.agent is not None:
            self._ending = self.agent[0]
        self._exit_code = code
        if self.tree is None:
            self._send_away()
        else:
            self.tree.stop()

    def _send_away(self):
        """The agent a TERM or HUP was for is done with: for the main side it exits now, with
        runsvdir's code; the process stays a moment for the log side's last writes (it exits
        with that code when root closes its channel)."""
        if self.agent is not None and self.agent[0] == self._ending and self._link is not None:
            pid, link, code = self.agent[0], self._link, self._exit_code
            from . import agentwire as wire
            link.request([wire.BYE, code], done=lambda answer: self._said_bye(pid, link, code,
                                                                             answer))

    def _said_bye(self, pid, link, code, answer):
        from .agentlink import AgentGone
        if isinstance(answer, AgentGone) or self.agent is None or self.agent[0] != pid:
            return  # it ended first: its exit is the main side's, reported by its watcher
        self.agent = None
        self._released.add(pid)
        self.supervisor.main.child_exited(pid, code << 8)
        if not self._hosted:
            link.close()  # no logger writes through it
            return
        self._linger_timer = self.supervisor.loop.call_later(LINGER_SECONDS, self._end_linger)

    def _end_linger(self):
        """The agent sent away goes now: its channel closed, it exits."""
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        if self._link is not None and self.agent is None:
            self._link.close()

    def settle(self):
        """The service wants its tree no more and no agent runs (it died meanwhile, or is in
        its back-off): the user's services come down all the same."""
        main = self.supervisor.main
        if (self.tree is not None and not self.tree.is_stopping and main.want is not Want.UP
                and not main.pid):
            self.tree.stop()
        if self.is_first:
            # The tree first: the logger of its output runs in it; a logger that waited for
            # it goes on once it runs, or will not run.
            main.evaluate()
            if self._log_waits and (main.pid or main.want is Want.DOWN):
                # From the loop, not from inside this settle (a spawn settles again).
                self._log_waits = False
                self.supervisor.loop.call_later(0, self.supervisor.host_ready)

    def kill_all(self):
        """The last resort of root's teardown: every process of the user's tree KILLed."""
        if self.tree is not None:
            self.tree.kill_all()

    def _tree_down(self):
        """The user's services are down (a TERM, a HUP, or the service stopped)."""
        self.tree = None
        self._send_away()
        main = self.supervisor.main
        if main.want is Want.UP and self.agent is not None and self.agent[0] != self._ending:
            self.tree = NestedTree(self)  # a new agent came while the last tree ended
            self.tree.start()
        self.supervisor.loop.call_later(0, self.supervisor.settle)


# -- the user's loggers, in root's loop ----------------------------------------------------------
class UserLogHost(StandInLogHost):
    """A log host: the user's loggers, on root's loop with their file work the agent's, and
    their stand-in (loggers/standinloghost.py) — the user's own ``/bin/sh``, started by the
    agent: its child, which the user may signal as an svlogd of theirs; the signals come to
    root's loop, where those loggers run. ``stand_in(wake)`` raises NotYet while the agent
    starts it, and calls ``wake`` once it runs."""

    __slots__ = ("user_tree", "_asking", "_waiting", "_refused_at")

    RETRY_SECONDS = 1.0

    def __init__(self, user_tree, label):
        StandInLogHost.__init__(self, user_tree.supervisor.loop, user_tree.supervisor.spawner,
                                label)
        self.user_tree = user_tree
        self._asking = False
        self._waiting = []
        self._refused_at = None  # when the agent could not start one (loggers exec'd a while)

    def logger_ended(self, logger):
        self.user_tree.logger_ended(logger)

    def waited_for(self, shown_pid):
        return self.user_tree.waited_for(shown_pid)

    def stand_in(self, wake=None):
        if self._current is not None:
            return self._current.pid
        if self._refused_at is not None \
                and self.loop.monotonic() - self._refused_at < self.RETRY_SECONDS:
            return 0
        if wake is not None:
            self._waiting.append(wake)
        if not self._asking:
            self._asking = True
            self._ask()
        raise NotYet()

    def _ask(self):
        io = self.user_tree.io
        if not io.has_agent:
            io.on_agent.append(self._ask)  # nothing of the user's starts without the agent
            return
        script_r, signals_r, signals_w, alive_r, alive_w = stand_in_pipes()

        def answered(pid):
            self._asking = False
            if isinstance(pid, OSError):
                warn(self.label, "unable to start the loggers' stand-in, running svlogd instead",
                     pid)
                os.close(signals_r)
                os.close(alive_w)
                self._refused_at = self.loop.monotonic()
            else:
                self._refused_at = None
                self._current = self._started(pid, signals_r, alive_w, watch=io.processes.watch)
            waiting, self._waiting = self._waiting, []
            for wake in waiting:
                self.loop.call_later(0, wake)
        # Its output is nothing's: the agent's children get the tree's log pipe, and a
        # stand-in holding it would keep runsvdir-LOGIN/log's logger from its EOF.
        null = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
        try:
            io.spawn(stand_in_argv(self.label), answered, stdin_fd=script_r, stdout_fd=null,
                     argv0="svlogd", extra_fds=((null, 2), (signals_w, 3), (alive_r, 4)),
                     watch_stops=True)
        finally:
            for fd in (script_r, signals_w, alive_r, null):
                os.close(fd)
