"""runtime/unix: the process-state changes chpst makes, each in runit's way — shared by chpst and
by the runsvdir tree that runs a canonical user tree in a forked process (``forkserver``) instead
of exec'ing ``env -i … chpst -u … -e … -L … runsvdir``.

Messages are runit's (chpst.c, uidgid.c, pathexec_env.c); the caller prints them with its
prefix. ``set_user`` takes no initgroups(): chpst sets the groups it is given (docs/chpst.md).
"""

import errno
import fcntl
import os

from ...errors import FatalError
from ...protocol.errstr import error_str
from .diag import with_errstr
from .edir import read_envdir
from .userspec import resolve_user


# (uid_t) -1: setresuid's and setresgid's "leave it as it is", setuid's and setgid's EINVAL.
_UNCHANGED = 0xFFFFFFFF


class LockFailed(Exception):
    """The lock could not be opened or taken; ``str()`` is runit's message."""


def read_env_dir(directory, lenient=False, warn=None):
    """``-e dir``: the envdir's changes, after checking the working directory can be opened
    (runit's edir() opens it first, to come back to; keep that failure mode)."""
    try:
        os.close(os.open(".", os.O_RDONLY | os.O_NONBLOCK))
    except OSError as exc:
        raise FatalError(with_errstr("unable to open current working directory", exc)) from exc
    return read_envdir(directory, skip_directories=lenient, warn=warn)


def set_user(spec, extended):
    """``-u spec``: the user and groups resolved, then taken (``switch_identity``)."""
    uid, gids = resolve_user(spec, extended)
    switch_identity(uid, gids)
    return uid, gids


def switch_identity(uid, gids):
    """Become ``uid`` with ``gids`` for good, in runit's order: the groups, then the gid and
    the uid — real, effective and saved alike (``setresgid``/``setresuid``: no saved id to
    switch back to, no capability left past a uid that is not 0). The one way a process of
    the runtime becomes a user: chpst -u, sandbox-run -u, a forked user's tree, a logger host.
    FatalError in chpst's words (``unable to setgid: …``)."""
    for what, call, args in (("setgroups", os.setgroups, (list(gids),)),
                             ("setgid", os.setresgid, (gids[0],) * 3),
                             ("setuid", os.setresuid, (uid,) * 3)):
        try:
            if what != "setgroups" and args[0] == _UNCHANGED:  # -1 would keep the old id
                raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
            call(*args)
        except OSError as exc:
            raise FatalError(with_errstr("unable to %s" % what, exc)) from exc
        except OverflowError as exc:
            raise FatalError("unable to %s: %s" % (what, error_str(errno.EINVAL))) from exc


def take_lock(path, wait, inheritable=True):
    """``-l``/``-L file``: open it (O_WRONLY|O_APPEND|O_CREAT, 0600) and flock() it; the
    descriptor, kept open (``inheritable``: across the exec of chpst's program)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                     0o600)
    except OSError as exc:
        raise LockFailed(with_errstr("unable to open lock: %s" % path, exc)) from exc
    if inheritable:
        os.set_inheritable(fd, True)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        raise LockFailed(with_errstr("unable to lock: %s" % path, exc)) from exc
    return fd


def environment_for_exec(environ, changes):
    """runit's pathexec_env_run(): the program's environment, in runit's order.

    Each change ``(name, value or None)`` becomes the string ``name[=value]``; its key is the
    text before the first ``=``. The first entry with that key is removed by moving the last
    entry into its place, then the change is appended when it carries a ``=``. (So an envdir
    file named ``K=V`` holding ``x`` sets ``K`` to ``V=x``, and an empty one sets ``K`` to ``V``.)
    """
    entries = list(environ.items())
    for name, value in changes:
        text = name if value is None else name + "=" + value
        key, equals, rest = text.partition("=")
        for index, (existing, _) in enumerate(entries):
            if existing == key:
                entries[index] = entries[-1]
                entries.pop()
                break
        if equals:
            entries.append((key, rest))
    return dict(entries)


