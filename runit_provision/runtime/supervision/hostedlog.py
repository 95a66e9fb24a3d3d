"""runtime: a service's canonical logger, run inside the runsvdir tree instead of exec'd.

A canonical ``log/run`` (``protocol/logrun.py``: ``exec [chpst -u USER[:GROUP...]] svlogd
ARGS`` in simple words only) is run by the tree: the svlogd engine (``svlog.engine.Logger``) reads the log pipe on the tree's own loop.
Its directories are opened relative to ``log/``, svlogd's cwd under runsv; with ``chpst -u``
every file operation runs under the user's identity (``setfsuid``/``setfsgid`` and exactly the
groups chpst would set, switched around each call into the engine), so files, owners, modes
and messages are those of a real ``chpst -u USER svlogd``; processors run through that chpst.

To ``sv`` it is still a log service: ``log/supervise`` is written as for a process, with the
tree's pid (the logger lives in that process). Signals sent to it become engine calls:
TERM finishes the line being read and exits, HUP reopens, ALRM rotates, STOP/CONT stop and
resume reading; KILL, INT, QUIT, USR1 and USR2 — which would end a real svlogd — end it at
once without losing anything it has read (an unfinished line is written with a newline), and
it exits "killed by" that signal. Nothing read from the pipe is ever dropped; what was not
read stays in the pipe for the next start, as with a real svlogd.

Anything else — another form, an unknown user, a usage error, ``chpst -u`` to another user
when the tree is not root — runs as a process, exactly as before, so its errors are the real
tools' own.
"""

import os
import signal

from ...protocol.layout import RUN
from ...protocol.logrun import log_run_from_bytes

_ENDING = (signal.SIGKILL, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


# -- the user's identity, for file operations -------------------------------------------------
class FsIdentity:
    """Context manager: file operations as ``uid`` with exactly ``gids`` (chpst -u's groups).

    setfsuid/setfsgid change only the ids used for file access and creation (the kernel drops
    the file capabilities with a non-zero fsuid); the supplementary groups are process-wide,
    so they are set for the duration and restored. The tree is one thread: nothing else runs
    meanwhile.
    """

    def __init__(self, uid, gids):
        from ..unix.libc import libc

        self._setfsuid, self._setfsgid = libc().setfsuid, libc().setfsgid
        self.uid, self.gids = uid, list(gids)
        self._saved = []  # a stack: the engine may be entered again from inside a call

    def __enter__(self):
        groups = os.getgroups()
        os.setgroups(self.gids)  # while the fsuid is still ours: it needs CAP_SETGID
        self._saved.append((self._setfsgid(self.gids[0]), self._setfsuid(self.uid), groups))
        return self

    def __exit__(self, *exc_info):
        fsgid, fsuid, groups = self._saved.pop()
        self._setfsuid(fsuid)  # first: back to our own capabilities
        self._setfsgid(fsgid)
        os.setgroups(groups)
        return False


class _AsIs:
    """The tree's own identity: no switching."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


def identity_for(canonical, resolve_user=None):
    """The FsIdentity a hosted logger needs, ``_AsIs()``, or None if it cannot be hosted.

    ``resolve_user(spec)`` gives (uid, gids) or raises (an unknown user: let the real chpst
    say so); by default chpst's own ``-u`` resolution. Only root can take another identity;
    a tree that is not root hosts loggers whose ``chpst -u`` names itself.
    """
    if canonical.user is None:
        return _AsIs()
    if resolve_user is None:
        from ..unix.userspec import resolve_user as resolve

        def resolve_user(spec):
            return resolve(spec, True)
    try:
        uid, gids = resolve_user(canonical.user)
    except Exception:  # noqa: BLE001 — whatever chpst would fail on, chpst must say
        return None
    if os.geteuid() == 0:
        return FsIdentity(uid, gids)
    if uid == os.geteuid() and gids == [os.getegid()]:
        return _AsIs()
    return None


class _IdentityLoop:
    """The tree's loop as the engine sees it: every callback runs under the identity."""

    def __init__(self, loop, identity):
        self._loop, self._identity = loop, identity
        self.monotonic = loop.monotonic

    def _wrap(self, callback):
        def call(*args):
            with self._identity:
                return callback(*args)
        return call

    def call_later(self, delay, callback):
        return self._loop.call_later(delay, self._wrap(callback))

    def watch_child(self, pid, callback):
        self._loop.watch_child(pid, self._wrap(callback))


class _ChpstSpawner:
    """Processors of a ``chpst -u`` logger run through that chpst, as under a real svlogd."""

    def __init__(self, spawner, chpst, user):
        self._spawner, self._prefix = spawner, [_find_program(chpst), "-u", user]
        self.kill = spawner.kill

    def spawn(self, argv, **kwargs):
        return self._spawner.spawn(self._prefix + list(argv), **kwargs)


def _find_program(name):
    """``name`` on the PATH log/run's shell would search: the tree's original environment's
    (the interpreter's own may differ, see ``unix.environ``)."""
    from ..unix.environ import original_environ
    from ..unix.pathexec import find_program

    found = find_program(name, original_environ().get("PATH", "/usr/bin:/bin"))
    return found or name  # posix_spawn fails on it: the processor's start failure is reported


# -- the decision, for the tree ------------------------------------------------------------------
def hostable(log_fd):
    """``(canonical, identity)`` — the LogRun of the service's ``log/run`` (``log_fd``) and
    the identity its logger takes — when the tree can run it itself, or None when it must be
    exec'd: not executable, not the canonical form, a user chpst would reject, or svlogd
    arguments svlogd would reject (their messages are the real tools')."""
    from ...errors import UsageError
    from ..svlog.options import parse_args

    canonical = log_run_from_bytes(_read_executable(RUN, log_fd))
    identity = None if canonical is None else identity_for(canonical)
    if identity is None:
        return None
    try:
        parse_args(canonical.args)
    except UsageError:
        return None
    return canonical, identity


def _read_executable(name, dir_fd, limit=4096):
    """The first ``limit`` bytes of a user-executable file, or b"" (runsv would exec it)."""
    import stat
    try:
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return b""
    try:
        if not os.fstat(fd).st_mode & stat.S_IXUSR:
            return b""
        return os.read(fd, limit)
    except OSError:
        return b""
    finally:
        os.close(fd)


# -- one logger, in the logger host (loghost.py) -------------------------------------------------
class HostedLogger:
    """One hosted svlogd: reads its pipe into the engine; ``signal()`` for what runsv sends.

    The pipe (``pipe_fd``, non-blocking) is read edge-triggered, through a PeekReader when
    ``scratch`` is given: only whole lines are taken, and only once written (svlog/peek.py).
    ``on_exit(wait_status)`` is called once, from the loop, when the engine has finished — an
    exit status (0, or 111 when no directory is usable) or the signal that ended it.
    """

    def __init__(self, loop, spawner, base_fd, pipe_fd, canonical, identity, stderr_fd,
                 scratch, on_exit):
        from ..svlog.engine import Logger
        from ..svlog.logdir import Reporter
        from ..svlog.options import parse_args
        from ..svlog.peek import LineTaker
        self.loop = loop
        self.pipe_fd = pipe_fd
        self.identity = identity
        self.on_exit = on_exit
        self.taker = LineTaker(pipe_fd, scratch, loop.call_later, self._read)
        options, names = parse_args(canonical.args)
        if canonical.user is not None:
            spawner = _ChpstSpawner(spawner, canonical.chpst, canonical.user)
        self.logger = Logger(_IdentityLoop(loop, identity), spawner, names, options,
                             Reporter(stderr_fd, options.verbose),
                             on_flow=self._flow_changed, on_exit=self._engine_exited,
                             base_fd=base_fd)
        self._stopped = False   # SIGSTOP: no reading until SIGCONT
        self._ended_by = 0      # the signal that ends it, if any
        self._at_eof = False
        self._done = False
        self._read_due = None

    def start(self):
        with self.identity:
            if not self.logger.start():
                self._engine_exited(self.logger.exit_code)
                return
        self.loop.add_reader(self.pipe_fd, self._read, edge=True)
        self._flow_changed()

    def signal(self, signum):
        if self._done:
            return
        with self.identity:
            if signum == signal.SIGTERM:
                self.logger.terminate()
            elif signum == signal.SIGHUP:
                self.logger.reopen()
            elif signum == signal.SIGALRM:
                self.logger.rotate()
            elif signum == signal.SIGSTOP:
                self._stopped = True
            elif signum == signal.SIGCONT:
                self._stopped = False
            elif signum in _ENDING and not self._ended_by:
                self._ended_by = signum
                self.logger.end_of_input()
        self._flow_changed()

    def _may_read(self):
        return (not self._done and not self._stopped and not self._ended_by
                and not self._at_eof and self.logger.read_limit > 0)

    def _flow_changed(self):
        """read_limit or a flag changed: data already in the pipe raises no new edge, so
        read it on the next turn of the loop (never from inside the engine's call)."""
        if self._may_read() and self._read_due is None:
            def due():
                self._read_due = None
                self._read()
            self._read_due = self.loop.call_later(0, due)

    def _read(self):
        while self._may_read():
            if not self._read_once():
                return

    def _read_once(self):
        """One chunk into the engine; False when there is nothing (more) to take now."""
        taken = self.taker.take(self.logger.read_limit, self._feed)
        if taken == "eof":  # every writer is gone: the service has exited for good
            self._at_eof = True
            self.loop.remove_reader(self.pipe_fd)
            with self.identity:
                self.logger.end_of_input()
        return taken == "fed"

    def _feed(self, data):
        with self.identity:
            self.logger.feed(data)

    def _engine_exited(self, code):
        if self._done:
            return
        self._done = True
        self.loop.remove_reader(self.pipe_fd)
        wait_status = self._ended_by if self._ended_by else (code or 0) << 8
        # Reported from the loop, as a reaped child would be, never from inside a Side call.
        self.loop.call_later(0, lambda: self.on_exit(wait_status))
