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

from ...protocol.treerun import tree_run_from_bytes
from ..unix.diag import fatal, warn

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # dash's, unset
_RUN_LIMIT = 4096  # bytes of ./run read to decide: the canonical one is three lines
_PR_SET_DUMPABLE = 4


def tree_run(dir_fd):
    """The TreeRun of the service's ``./run`` (``dir_fd``: its directory), or None: not a
    user-executable regular file, or not the canonical form. Never blocks (a FIFO there is
    not read)."""
    from .hostedlogger import read_executable
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
