"""runtime/supervision: a user's tree, forked in-process — what the canonical ``runsvdir-LOGIN/run``
(``protocol/treerun.py``) does, without exec'ing ``env``, ``chpst`` and an interpreter.

A tree run by root that is about to run such a ``./run`` asks its fork server (forkserver.py)
instead; the child it gets does, in this order, what the script would have done:

1. what runsv gives ``./run``: the service directory as its working directory, the log pipe as
   its stdout and — ``exec 2>&1`` — its stderr, a session of its own under ``runsvdir -P``;
   every other descriptor closed (its channel to the tree aside);
2. ``env -i PATH="$PATH"``: an environment of the tree's ``PATH`` alone;
3. ``chpst -u USER -e ENVDIR -L LOCK``, in chpst's order (unix/procstate.py): the envdir read,
   then setgroups/setgid/setuid — no capability is left — then the lock taken (waited for);
   and, as no exec'd program would be, not dumpable: nobody but root may read its memory;
4. ``runsvdir DIR`` (treeprocess.py), shown to ``ps`` and ``pidof`` as ``runsvdir DIR``.

It is the tree's child (the fork server forks twice), its pid is ``supervise/pid``, and every
signal acts on it as on an exec'd runsvdir. One process more than an exec'd tree would have: none.
It also runs the tree's loggers of its identity (identityhost.LoggerServing) — its own output's
logger, ``runsvdir-LOGIN/log`` (``chpst -u LOGIN svlogd ~/logs/runsvdir``) — shown by its own
loggers' stand-in (logstandin.py), so that a user costs one Python process, not three.

Its own messages go to the log pipe through a non-blocking description of it: the tree reads
that pipe itself (its own logger), and a write that waited for itself to read would never end.
Services get the pipe as it was, blocking, as under runit.
"""

import os

try:
    import _signal as signal  # the C module: `signal`'s wrappers make an enum of every number
except ImportError:  # pragma: no cover - other interpreters
    import signal

from ...protocol.treerun import tree_run_from_bytes
from ..unix.diag import fatal, warn

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # dash's, unset
_RUN_LIMIT = 4096  # bytes of ./run read to decide: the canonical one is three lines
_PR_SET_DUMPABLE = 4


def tree_run(dir_fd):
    """The TreeRun of the service's ``./run`` (``dir_fd``: its directory), or None: not a
    user-executable regular file, or not the canonical form. Never blocks (a FIFO there is
    not read)."""
    from .servicedir import read_executable
    return tree_run_from_bytes(read_executable("run", dir_fd, _RUN_LIMIT))


def tree_request(found, environ, new_session, dir_fd, output_fd, channel_fd, stderr_fd):
    """The fork server's ``tree`` request for ``found`` (a TreeRun): (fields, fds).
    ``stderr_fd``: where the tree's loggers of the user's identity say what goes wrong, as a
    logger host of that identity would (the tree's stderr, or its status area)."""
    path = environ.get("PATH", DEFAULT_PATH)
    fields = [found.user, found.env_dir, found.lock, found.directory, path,
              "1" if new_session else "0"]
    return fields, [dir_fd, output_fd, channel_fd, stderr_fd]


# What the runtime imports when it first needs it (a module's import deferred to its first
# use keeps the tools' start fast) — here all at once: a tree that has become a user may not
# be allowed to read this installation (an interpreter or a virtualenv under /root, 0700).
_STDLIB = ("ctypes", "errno", "fcntl", "grp", "ipaddress", "pwd", "resource", "select",
           "socket", "stat", "struct")
_ROOMS = ("protocol", "runtime.supervision", "runtime.svlog", "runtime.unix")


# -- the tree's side: a service whose ./run is a user tree ------------------------------------------
def hosts_identity(tree, logger):
    """Whether a user tree running as ``tree`` (an Identity) may run a logger of ``logger``:
    the same user and primary group, and no group the tree does not have (a tree runs with
    all of the user's groups, its log as ``user:group``).

    >>> from runit_provision.runtime.supervision.hostedlogger import Identity
    >>> tree = Identity(1000, [1000, 4, 27])
    >>> [hosts_identity(tree, Identity(*ids)) for ids in ((1000, [1000]), (1000, [1000, 4]),
    ...                                                    (1000, [4]), (1001, [1000]))]
    [True, True, False, False]
    """
    return (tree.uid == logger.uid and tree.gids[:1] == logger.gids[:1]
            and set(logger.gids) <= set(tree.gids))


class _Request:
    """A user tree asked of the fork server: the tree's end of its channel, its identity, and
    the answer (a pid or an OSError) once it came."""

    __slots__ = ("channel", "identity", "answer")

    def __init__(self, channel, identity):
        self.channel, self.identity, self.answer = channel, identity, None


class UserTreeFork:
    """A supervisor's side of a service whose ``./run`` is a canonical user tree: the request to
    the fork server, its answer, the child taken up as the main side's process, and which
    identity it runs as (its loggers of that identity run in it)."""

    def __init__(self, supervisor):
        self.supervisor = supervisor
        # ./run was canonical when the supervisor opened: its tree starts before its log, whose
        # logger runs in it. (Each start reads ./run again: a rewritten one is forked or not.)
        self.is_first = tree_run(supervisor.dir_fd) is not None
        self.running = None  # (pid, Identity) while it runs
        self._request = None  # asked of the fork server, not taken up yet

    def running_as(self, identity):
        """The pid of the running tree when it may host a logger of ``identity``, else 0."""
        if self.running is not None and hosts_identity(self.running[1], identity):
            return self.running[0]
        return 0

    def spawn(self):
        """The main side's start: the pid, 0 when ``./run`` must be exec'd after all (another
        script now, a user chpst would refuse, no fork server), or NotYet: the request went out
        (or waits for the server), and its answer calls the side back, which comes here again."""
        from .side import NotYet
        request = self._request
        if request is not None:
            if request.answer is None:
                raise NotYet()
            self._request = None
            return self._taken_up(request)
        found = tree_run(self.supervisor.dir_fd)
        if found is None:
            return 0
        return self._ask(found)

    def _ask(self, found):
        import socket
        from ..unix.userspec import resolve_user
        from .forkserver import NotReady
        from .hostedlogger import Identity
        from .side import NotYet
        supervisor = self.supervisor
        try:
            uid, gids = resolve_user(found.user, True)
        except Exception:  # noqa: BLE001 — whatever chpst would fail on, chpst must say
            return 0
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        spawner = supervisor.spawner
        fields, fds = tree_request(found, spawner.environ, supervisor.new_session,
                                   supervisor.dir_fd, supervisor.output_fd(), theirs.fileno(),
                                   spawner.stderr_fd)
        request = _Request(ours, Identity(uid, gids))
        supervisor.main_files.write_starting("run")
        try:
            supervisor.forks.request(b"tree", fields, fds,
                                     lambda answer: self._answered(request, answer))
        except NotReady:
            ours.close()
            supervisor.forks.on_ready.append(supervisor.host_ready)
            raise NotYet() from None
        except OSError as exc:
            supervisor.warn("unable to fork the user tree, running ./run instead", exc)
            ours.close()
            return 0
        finally:
            theirs.close()
        self._request = request
        raise NotYet()

    def _answered(self, request, answer):
        supervisor = self.supervisor
        if request is self._request and supervisor.is_open and supervisor.main.is_deferred:
            request.answer = answer
            supervisor.main.host_ready()  # takes it up: spawn -> _taken_up
            return
        # Nobody waits for it any more (sv d meanwhile, the service gone): it goes.
        if request is self._request:
            self._request = None
        request.channel.close()
        if not isinstance(answer, OSError):
            supervisor.spawner.kill(answer, signal.SIGKILL)

    def _taken_up(self, request):
        supervisor = self.supervisor
        answer = request.answer
        if isinstance(answer, OSError):
            supervisor.warn("unable to fork the user tree, running ./run instead", answer)
            request.channel.close()
            return 0
        supervisor.main_files.spawned(answer)
        self.running = (answer, request.identity)
        supervisor.log_host.apart.add_tree(answer, request.identity, request.channel)

        def exited(pid, wait_status):
            self.running = None
            supervisor.main.child_exited(pid, wait_status)
        supervisor.loop.watch_child(answer, exited)
        return answer


# -- the forked child ---------------------------------------------------------------------------
def preload():
    """Import every module a tree may import later (the fork server does it before it forks)."""
    import importlib
    package = __name__.split(".")[0]
    base = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for name in _STDLIB:
        importlib.import_module(name)
    for room in _ROOMS:
        for entry in sorted(os.listdir(os.path.join(base, *room.split(".")))):
            if entry.endswith(".py") and entry != "__init__.py":
                importlib.import_module("%s.%s.%s" % (package, room, entry[:-3]))
    importlib.import_module(package + ".errors")


def run(fields, fds):
    """The forked child's whole life (never returns)."""
    code = 111
    try:
        code = _run(fields, fds)
    except BaseException as exc:  # noqa: BLE001 — said, then this process ends
        warn("runsvdir", "fatal: %s: %s" % (type(exc).__name__, exc))
    finally:
        os._exit(code)


def _run(fields, fds):
    from ...errors import FatalError
    from ..unix.procname import show_runit_name
    from ..unix.procstate import LockFailed, environment_for_exec, read_env_dir, set_user, \
        take_lock
    from .identityhost import close_all_but
    from .treeprocess import run_tree
    user, env_dir, lock, directory, path, new_session = fields
    dir_fd, output_fd, channel_fd, parent_stderr = fds
    os.fchdir(dir_fd)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    if new_session == "1":
        os.setsid()
    close_all_but({channel_fd, parent_stderr})
    # Named while /proc/self is still ours to write: a process that is not dumpable has its
    # /proc files owned by root.
    show_runit_name("runsvdir", [directory], whole=True)
    try:
        changes = read_env_dir(env_dir)
        set_user(user, True)
        _not_dumpable()
        take_lock(lock, True, inheritable=False)
    except (FatalError, LockFailed) as exc:
        fatal("chpst", str(exc))
        return 111
    environ = environment_for_exec({"PATH": path}, changes.items())
    os.environ.clear()
    os.environ.update(environ)
    label = "runsvdir " + directory
    serving = []

    def serve_parent(loop, tree):
        serving.append(_serve_parent(loop, tree, channel_fd, parent_stderr, label))

    code = run_tree(directory, label, environ=environ, children_stderr=_own_stderr(),
                    serve_parent=serve_parent)
    for each in serving:
        # Our last words are in the pipe we log ourselves: written before we go, for at a
        # shutdown nobody reads that pipe after us.
        each.drain()
    return code


def _not_dumpable():
    from ..unix.libc import errno_error, libc
    if libc().prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise errno_error("prctl")


def _own_stderr():
    """Keep the log pipe as it is for the services, and make our own fd 2 a non-blocking
    description of it; the services' descriptor (close-on-exec, passed by the Spawner)."""
    import fcntl
    children = fcntl.fcntl(2, fcntl.F_DUPFD_CLOEXEC, 3)
    try:
        own = os.open("/proc/self/fd/%d" % children, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return children  # a pipe we cannot open again: our fd 2 stays as it is
    os.dup2(own, 2, inheritable=False)
    os.close(own)
    return children


def _serve_parent(loop, tree, channel_fd, stderr_fd, label):
    """The tree's loggers of our identity, on our loop, shown by our loggers' stand-in; what
    they say goes where the tree's own loggers' messages go."""
    import socket
    from .identityhost import LoggerServing
    serving = LoggerServing(loop, socket.socket(fileno=channel_fd), tree.spawner,
                            tree.log_host.scratch_pipe(), "(loggers of %s)" % label,
                            stand_ins=tree.log_host, stderr_fd=stderr_fd)
    tree.log_host.on_stand_in = serving.say_stand_in
    serving.open()
    return serving
