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

What the fork saves is an interpreter's start and pages: the child shares the server's code,
and a user costs one Python process. Nothing runs between the two trees but bytes: the tree's
output goes down ``runsvdir-LOGIN``'s log pipe to root's own svlogd (``svlogd DIR``, writing
root's directory), its end is the kernel's word (a wait status), and root sends it nothing.

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
    """A user's tree asked of the fork server: the answer (a pid or an OSError) once it
    came."""

    __slots__ = ("answer",)

    def __init__(self):
        self.answer = None


class UserTree:
    """A supervisor's ``nested``: its main side's ``./run`` started as a forked user's tree
    (``spawn``). Made by root's tree for a supervisor whose ``./run`` is canonical; each start
    reads ``./run`` again: a rewritten one is exec'd."""

    __slots__ = ("supervisor", "forks", "_asked", "_prepared")

    def __init__(self, supervisor, forks):
        self.supervisor = supervisor
        self.forks = forks  # root's tree's fork server (tree/forkclient.ForkServer)
        self._asked = None  # asked of the fork server, not taken up yet
        self._prepared = None  # (TreeRun, uid, gids, environ) read while the server started

    # -- the main side: the tree ----------------------------------------------------------------
    def spawn(self):
        """The main side's start: the tree's pid, 0 when ``./run`` must be exec'd (another
        script now), or NotYet: the request went out (or waits for the server), and its
        answer calls the side back. OSError: this start failed (the side says it, and tries
        again as after any failed start)."""
        asked = self._asked
        if asked is not None:
            if asked.answer is None:
                raise NotYet()
            self._asked = None
            return self._taken_up(asked)
        found = tree_run(self.supervisor.dir_fd)
        return 0 if found is None else self._ask(found)  # NotYet: asked

    def _ask(self, found):
        from ....errors import FatalError
        from ...unix.userspec import resolve_user
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
        asked = _Asked()
        supervisor.main_files.write_starting("run")
        # OSError: the server's socket failed (it is killed, and started again)
        self.forks.request(b"tree", tree_request(uid, gids, found, environ,
                                                 supervisor.new_session, cgroup),
                           [supervisor.output_fd(), supervisor.dir_fd],
                           lambda answer: self._answered(asked, answer))
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
        if not isinstance(answer, OSError):
            supervisor.spawner.kill(answer, signal.SIGKILL)

    def _taken_up(self, asked):
        supervisor = self.supervisor
        answer = asked.answer
        if isinstance(answer, OSError):
            raise answer
        pid = answer
        supervisor.main_files.spawned(pid)

        def exited(pid, wait_status):
            if supervisor.cgroup is None:
                supervisor.main.child_exited(pid, wait_status)
            else:  # the tree's services that outlived it end first
                supervisor.cgroup.main_ended(
                    lambda: supervisor.main.child_exited(pid, wait_status), supervisor.dir_fd)
        supervisor.loop.watch_child(pid, exited)
        return pid
