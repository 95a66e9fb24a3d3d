"""runtime/supervision/users: the forked child that becomes a user's tree (``run``) — what the
canonical ``runsvdir-LOGIN/run`` does (``protocol/canonical.py``), then our runsvdir as the user.

In this order, as the script would:

1. what runsv gives ``./run``: the service directory as its working directory, the log pipe as
   its stdout and — ``exec 2>&1`` — its stderr, a session of its own under ``runsvdir -P``;
   every other descriptor closed: nothing of root's tree is left to it but that pipe;
2. ``env -i PATH="$PATH" chpst -e ENVDIR``: the environment root read (usertree.py);
3. into its service's cgroup, handed to the user by root's tree (docs/resources.md);
   ``chpst -u USER -L LOCK``: setgroups, setresgid, setresuid — no capability is left — then
   the lock, taken as the user (waited for);
4. ``runsvdir DIR`` (tree/treeprocess.py), shown to ``ps`` and ``pidof`` as ``runsvdir DIR``.

Its own messages go to the log pipe through a non-blocking description of it: a pipe that
root's logger does not empty (a full disk, a stopped logger) costs a message, never the
tree's loop — its services' writes wait, as under any runsv.
"""

import os

from ...unix.diag import warn


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
    from ....errors import FatalError
    from ...unix.chpststeps import LockFailed, take_lock
    from ...unix.diag import fatal
    from ...unix.procname import show_runit_name
    from ..loggers.identityloghosts import become, close_all_but
    from ..loggers.hostedlogger import Identity
    from ..tree.treeprocess import run_tree
    uid, gids, lock, directory, new_session, cgroup = fields[:6]
    environ = dict(entry.split("=", 1) for entry in fields[6:])
    output_fd, dir_fd = fds
    os.fchdir(dir_fd)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    if new_session == "1":
        os.setsid()
    close_all_but(set())
    # Named while /proc/self is still ours to write: a process that is not dumpable has its
    # /proc files owned by root.
    show_runit_name("runsvdir", [directory], whole=True)
    try:
        if cgroup:  # its service's cgroup, handed to the user: the tree divides it
            with open(cgroup + "/cgroup.procs", "w") as procs:
                procs.write("0")
        become(Identity(int(uid), [int(gid) for gid in gids.split(",")]))
        take_lock(lock, True, inheritable=False)
    except (OSError, LockFailed, FatalError) as exc:
        fatal("chpst", str(exc))
        return 111
    os.environ.clear()
    os.environ.update(environ)
    return run_tree(directory, "runsvdir " + directory, environ=environ,
                    children_stderr=_own_stderr())


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
