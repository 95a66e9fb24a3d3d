"""runtime/supervision/loggers: the pipe keeper — a small ``/bin/sh`` that holds a tree's log pipes
while no tree does.

A log pipe (``log/supervise/pipe``, supervisor.py) is a FIFO, and its content lives only while
some descriptor is open on it. A hosted logger lives in the tree: when the tree is killed, the
only holder left of its pipe is ``./run``, and if that is killed too before a successor opens
the pipe again by name, the kernel drops what was unread (docs/reliability.md).

The keeper closes that window at the cost of a shell: the tree spawns ``/bin/sh`` (``ps``:
``pipekeeper -s (log pipes of runsvdir DIR)``) with every pipe it holds as an inherited
descriptor, and a pipe of its own on fd 3 whose other end only the tree holds. The shell
sleeps reading fd 3 until the tree is gone:

- the tree stops: it kills the keeper and waits for it;
- the tree is killed: the keeper reads EOF and holds every pipe for ``GRACE_SECONDS`` more,
  long enough for a successor to open them again by name, then exits;
- the set of pipes changes: a new keeper is spawned first, then the old one killed, so a pipe
  is never unheld (changes within one turn of the loop make one new keeper);
- it is killed: the tree spawns another (one that exited by itself at once, a second later).

A shell, not a Python process forked from the tree: a forked copy keeps a private copy of
every page the tree writes afterwards; a shell holds little, and listens on nothing but fd 3.
"""

import os
import signal

from ...unix.descriptors import file_identity
from ...unix.diag import warn

GRACE_SECONDS = 10  # a tree killed is restarted within about a second (runsv's back-off)
RESTART_SECONDS = 1.0  # a keeper that exited within this of its start is replaced after it
KEEPER_SHELL = "/bin/sh"
FIRST_PIPE_FD = 4  # 0 the script, 1 and 2 the tree's, 3 the tree's liveness
# read returns at EOF (the tree gone) — or never: the tree writes nothing.
_SCRIPT = b"read -r _ <&3\nexec sleep %d\n"
_ENVIRON = {"PATH": "/usr/bin:/bin"}


class _Keeper:
    """One keeper process: its pid, the tree's end of its liveness pipe, its start time."""

    __slots__ = ("pid", "alive_fd", "started_at")

    def __init__(self, pid, alive_fd, started_at):
        self.pid, self.alive_fd, self.started_at = pid, alive_fd, started_at


class PipeKeeper:
    """The tree's side: ``hold``/``release`` pipes, ``close`` when the tree stops for good.
    ``pid`` is the current keeper's (0 while none runs); ``pids`` every keeper not yet reaped.
    Never blocks the tree's loop: a change only schedules the next keeper for the end of the
    loop's turn."""

    def __init__(self, loop, spawner, label, directory, grace=GRACE_SECONDS):
        self.loop = loop
        self.spawner = spawner
        self.label = label
        self.directory = directory  # its working directory: found there, as a tree's services
        self.grace = grace
        self.on_reaped = None  # called after a keeper has been reaped (a stopping tree waits)
        self._held = {}  # the pipe's file_identity -> the tree's own descriptor of it
        self._current = None
        self._keepers = {}  # pid -> _Keeper, until reaped
        self._due = None  # the call that spawns the next keeper
        self._closing = False
        self._said = None  # the last failure said, so that a retry does not repeat it

    @property
    def pid(self):
        return 0 if self._current is None else self._current.pid

    @property
    def pids(self):
        return set(self._keepers)

    def hold(self, fd):
        """Keep the pipe open on ``fd`` (the caller's own, open until ``release``)."""
        key = file_identity(fd)
        if key is None:
            return
        if self._held.get(key) != fd:
            self._held[key] = fd
            self._changed()

    def release(self, fd):
        """The caller is about to close ``fd``: the next keeper holds that pipe no more."""
        key = file_identity(fd)
        if key is None:
            return
        if self._held.pop(key, None) is not None:
            self._changed()

    def close(self):
        """The tree is stopping for good: every keeper is killed (and reaped as usual)."""
        self._closing = True
        self._held.clear()
        if self._due is not None:
            self._due.cancel()
            self._due = None
        for keeper in list(self._keepers.values()):
            self._retire(keeper)

    # -- keepers ------------------------------------------------------------------------------
    def _changed(self, delay=0.0):
        if self._due is None and not self._closing:
            self._due = self.loop.call_later(delay, self._renew)

    def _renew(self):
        """A keeper with today's set, then the old one killed (it held them meanwhile)."""
        self._due = None
        old = self._current
        self._current = self._spawn() if self._held else None
        if self._held and self._current is None:
            self._changed(RESTART_SECONDS)  # out of processes or descriptors: try again
            return
        if old is not None:
            self._retire(old)

    def _spawn(self):
        script_r, script_w = os.pipe2(os.O_CLOEXEC)
        alive_r, alive_w = os.pipe2(os.O_CLOEXEC)
        held = list(self._held.values())
        top = FIRST_PIPE_FD + len(held)
        originals = [script_r, alive_r] + held
        moved = _out_of_the_way(originals, top)
        cwd_fd = -1
        try:
            cwd_fd = os.open(self.directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            os.write(script_w, _SCRIPT % self.grace)
            os.close(script_w)
            script_w = -1
            pid = self.spawner.spawn(
                [KEEPER_SHELL, "-s", "(log pipes of %s)" % self.label], argv0="pipekeeper",
                cwd_fd=cwd_fd, stdin_fd=moved[0],
                extra_fds=[(moved[1], 3)] + [(fd, FIRST_PIPE_FD + index)
                                             for index, fd in enumerate(moved[2:])],
                env=_ENVIRON)
        except OSError as exc:
            message = "unable to start the log pipes' keeper"
            if message + str(exc) != self._said:
                self._said = message + str(exc)
                warn(self.label, message, exc)
            os.close(alive_w)
            return None
        finally:
            copies = [fd for fd, original in zip(moved, originals) if fd != original]
            for fd in [script_r, alive_r, script_w, cwd_fd] + copies:
                if fd >= 0:
                    os.close(fd)
        self._said = None
        keeper = self._keepers[pid] = _Keeper(pid, alive_w, self.loop.monotonic())
        self.loop.watch_child(pid, lambda _pid, status: self._reaped(keeper, status))
        return keeper

    def _retire(self, keeper):
        if self._current is keeper:
            self._current = None
        self.spawner.kill(keeper.pid, signal.SIGKILL)

    def _reaped(self, keeper, wait_status):
        del self._keepers[keeper.pid]
        os.close(keeper.alive_fd)
        if self._current is keeper:
            # Killed by someone else: replaced at once, for a tree killed next would leave
            # its pipes to nobody. Only one that exited by itself straight after its start
            # (it could not work) waits, so that it is not spawned in a loop.
            self._current = None
            lived = self.loop.monotonic() - keeper.started_at
            failed = os.WIFEXITED(wait_status) and lived < RESTART_SECONDS
            self._changed(RESTART_SECONDS if failed else 0.0)
        if self.on_reaped is not None:
            self.on_reaped()


def _out_of_the_way(fds, top):
    """``fds`` with each one that is a dup2 target number (below ``top``, 0 to 2 included)
    replaced by a close-on-exec copy above ``top`` — a source must not be overwritten by an
    earlier action before it is copied. The originals stay open."""
    import fcntl
    return [fd if fd >= top else fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, top) for fd in fds]
