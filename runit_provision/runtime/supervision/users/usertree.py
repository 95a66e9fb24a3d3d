"""runtime/supervision/users: a user's tree as a service of root's tree (``UserTree``) — the
user's own runsvdir, forked from the fork server instead of exec'd.

A service whose ``./run`` is the generator's canonical ``runsvdir-LOGIN/run``
(``protocol/canonical.py``: ``exec env -i PATH="$PATH" chpst -u LOGIN -e ./env -L LOCK runsvdir
DIR``) is, in a tree run by root, started as a child of the fork server (forks/server.py) that
does what that script does — root reads the envdir (it is in ``runsvdir-LOGIN``'s own directory)
and the user's groups, the child becomes the user and takes the lock — and then runs our
runsvdir on ``DIR`` (forkedtree.py): the same code as root's tree, as the user. It is the
service's process, like an exec'd one: its pid is ``supervise/pid``, signals reach it, its end
is the service's end. Root's tree supervises nothing of the user's and reads nothing of theirs.

What the fork saves is an interpreter's start and pages: the child shares the server's code.
The tree also runs the logger of its own output, ``runsvdir-LOGIN/log`` (``chpst -u LOGIN svlogd
~/logs/runsvdir``), for root's tree over a channel (loggers/identityloghosts.py's, as a
logger host of that identity), shown by root's stand-in: a user costs one Python process.

Any other ``run`` — another template, a value that needs quoting — is exec'd, as under the C
runit. A canonical one starts this way alone: what would stop it (a user that cannot be
resolved, a fork server that cannot start or answer, a cgroup that cannot be made) fails its
start as a failed exec would (runsv's ``unable to start ./run``, or ``unable to fork,
sleeping``), and the side tries again after its back-off.
"""

import errno
import os
import signal

from ..engine.side import NotYet
from .runfile import tree_run

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # dash's, unset


def user_environment(found, path, dir_fd):
    """The environment the user's tree and services get: what ``env -i PATH="$PATH" chpst -e
    ENVDIR`` gives — ``PATH`` and the envdir (read here: it is in ``runsvdir-LOGIN``'s own
    directory, root's). FatalError as chpst would fail."""
    from ...unix.edir import read_envdir
    from ...unix.chpststeps import environment_for_exec
    env_dir = found.env_dir if os.path.isabs(found.env_dir) else \
        "/proc/self/fd/%d/%s" % (dir_fd, found.env_dir)
    return environment_for_exec({"PATH": path}, read_envdir(env_dir).items())


def tree_request(uid, gids, found, environ, new_session, cgroup=""):
    """The fork server's ``tree`` request's fields (forkedtree.run reads them); ``cgroup``:
    the file system path of the cgroup the tree starts in ("": none).

    >>> from runit_provision.protocol.canonical import TreeRun
    >>> tree_request(1000, [1000, 4], TreeRun("al", "./env", "/h/.lock", "/h/service"),
    ...              {"PATH": "/bin", "A": "b=c"}, True)
    [1000, '1000,4', '/h/.lock', '/h/service', '1', '', 'PATH=/bin', 'A=b=c']
    """
    return ([uid, ",".join(map(str, gids)), found.lock, found.directory,
             "1" if new_session else "0", cgroup] + ["%s=%s" % item
                                                     for item in environ.items()])


class _Asked:
    """A user's tree asked of the fork server: root's end of its channel, its identity, the
    answer (a pid or an OSError) once it came."""

    __slots__ = ("channel", "identity", "answer")

    def __init__(self, channel, identity):
        self.channel, self.identity, self.answer = channel, identity, None


class UserTree:
    """A supervisor's ``nested``: its main side's ``./run`` started as a forked user's tree
    (``spawn``), and its log side's logger run in that tree when it is of the tree's identity
    (``start_logger``). Made by root's tree for a supervisor whose ``./run`` is canonical."""

    __slots__ = ("supervisor", "forks", "is_first", "_asked", "_prepared", "_log_waits")

    def __init__(self, supervisor, forks):
        self.supervisor = supervisor
        self.forks = forks  # root's tree's fork server (tree/forkclient.ForkServer)
        # Until the first settle is over: the tree starts before its log, whose logger runs in
        # it. Each start reads ./run again: a rewritten one is exec'd.
        self.is_first = True
        self._asked = None  # asked of the fork server, not taken up yet
        self._prepared = None  # (TreeRun, uid, gids, environ) read while the server started
        self._log_waits = False  # the log side's start waits for the tree (start_logger)

    # -- the main side: the tree ----------------------------------------------------------------
    def spawn(self):
        """The main side's start: the tree's pid, 0 when ``./run`` must be exec'd (another
        script now), or NotYet: the request went out (or waits for the server), and its
        answer calls the side back. OSError: this start failed (the side says it, and tries
        again as after any failed start)."""
        asked = self._asked
        try:
            if asked is not None:
                if asked.answer is None:
                    raise NotYet()
                self._asked = None
                pid = self._taken_up(asked)
            else:
                found = tree_run(self.supervisor.dir_fd)
                pid = 0 if found is None else self._ask(found)  # NotYet: asked
        except OSError:
            self._wake_log()  # no tree this time: its log side need not wait for it
            raise
        self._wake_log()
        return pid

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
            except (FatalError, OSError, KeyError, ValueError) as exc:
                supervisor.warn("chpst -u %s -e %s: %s" % (found.user, found.env_dir, exc))
                raise OSError(errno.EINVAL, os.strerror(errno.EINVAL)) from exc
        try:
            self.forks.check()
        except NotYet:
            # Kept for the ask the server's readiness wakes (a tree's start asks before its
            # server is ready) — for that ask alone: a later start reads them again.
            self._prepared = (found, uid, gids, environ)
            self.forks.on_ready.append(self._server_ready)
            raise
        cgroup = ""
        if supervisor.cgroup is not None:  # the tree's own, delegated: it divides it
            cgroup = supervisor.cgroup.cgroups.fs(
                supervisor.cgroup.prepare(supervisor.dir_fd, (uid, gids[0])))
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        asked = _Asked(ours, Identity(uid, gids))
        # the loggers it runs for us speak to our stderr through our log hosts' gate
        fds = [theirs.fileno(), supervisor.output_fd(), supervisor.dir_fd,
               supervisor.log_host.identities.others_output.write_fd]
        supervisor.main_files.write_starting("run")
        try:
            self.forks.request(b"tree", tree_request(uid, gids, found, environ,
                                                     supervisor.new_session, cgroup), fds,
                               lambda answer: self._answered(asked, answer))
        except OSError:  # the server's socket failed: it is killed, and started again
            ours.close()
            raise
        finally:
            theirs.close()
        self._asked = asked
        raise NotYet()

    def _server_ready(self):
        self.supervisor.host_ready()
        self._prepared = None

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
        self._wake_log()

    def _taken_up(self, asked):
        supervisor = self.supervisor
        answer = asked.answer
        if isinstance(answer, OSError):
            asked.channel.close()
            raise answer
        pid = answer
        supervisor.main_files.spawned(pid)
        identities = supervisor.log_host.identities
        identities.take_tree(pid, asked.identity, asked.channel)

        def exited(pid, wait_status):
            identities.tree_ended(pid, wait_status)
            if supervisor.cgroup is None:
                supervisor.main.child_exited(pid, wait_status)
            else:  # the tree's services that outlived it end first
                supervisor.cgroup.main_ended(
                    lambda: supervisor.main.child_exited(pid, wait_status), supervisor.dir_fd)
        supervisor.loop.watch_child(pid, exited)
        return pid

    # -- the log side: the logger of the tree's output ------------------------------------------
    def start_logger(self, supervisor):
        """The log side's start (the engine asks its ``nested`` first): while the tree is to
        start first — it runs this logger when it is of the user's identity — NotYet, woken
        once the tree runs or will not; then root's tree's log hosts (loggers/loghosts.py),
        which have the tree, if it runs, take it."""
        if self.is_first or self._is_pending:
            self._log_waits = True
            raise NotYet()
        return supervisor.log_host.start_logger(supervisor)

    @property
    def _is_pending(self):
        """A tree is asked of the fork server, or waits for it to be ready."""
        return self._asked is not None or self._prepared is not None

    def settle(self):
        """After each event (the log side's first, then the main side's): from the first on,
        a log side waits only for a tree being asked for."""
        self.is_first = False
        if self._log_waits and not self._is_pending:
            self._wake_log()

    def _wake_log(self):
        """The log side tries its start again, from the loop (never inside a settle)."""
        if self._log_waits and not self._is_pending:
            self._log_waits = False
            supervisor = self.supervisor

            def wake():
                if supervisor.is_open and supervisor.log is not None:
                    supervisor.log.host_ready()
            supervisor.loop.call_later(0, wake)

    def close(self):
        """The service is closed: a tree still being asked for is killed once it answers."""
        self._log_waits = False
