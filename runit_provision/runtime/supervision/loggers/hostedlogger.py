"""runtime/supervision/loggers: a service's canonical logger, run by the runsvdir tree instead of
exec'd (``HostedLogger``), and who it runs as.

A canonical ``log/run`` (``protocol/canonical.py``: ``exec [chpst -u USER[:GROUP...]] svlogd
ARGS`` in simple words only) is run by the tree on the svlogd engine (``svlog.engine.Logger``)
instead of as a process. Its directories are opened relative to ``log/``, svlogd's cwd under
runsv, so files, modes and messages are those of a real svlogd.

Where it runs depends on who it runs as (``identity_for``):

- the tree's own identity (no ``chpst -u``, or one naming the tree's own user and group): on
  the tree's loop, ``log/supervise/pid`` showing the tree's stand-in (standinloghost.py);
- anyone else, in a tree run by root: in a process that has wholly become that identity
  (identityloghosts.py) — never in root's process, whose opens in a directory the user controls
  could be made to block on a FIFO, read through a magic link what the user may not, or
  grow without bound (docs/security.md);
- anything else — another form, an unknown user, a usage error, ``chpst -u`` to another user
  when the tree is not root — runs as a process, exactly as before, so its errors are the
  real tools' own.

To ``sv`` it is still a log service: ``log/supervise`` is written as for a process. Signals
sent to it become engine calls: TERM finishes the line being read and exits, HUP reopens,
ALRM rotates, STOP/CONT stop and resume reading; KILL, INT, QUIT, USR1 and USR2 — which would
end a real svlogd — end it at once without losing anything it has read (an unfinished line is
left to the next logger, svlog/unfinished.py), and it exits "killed by" that signal. Nothing
read from the pipe is ever dropped; what was not read stays in the pipe for the next start,
as with a real svlogd.
"""

import os
import signal

from ....protocol.canonical import log_run_from_bytes

_ENDING = (signal.SIGKILL, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


class Identity(tuple):
    """Another identity a logger runs as: ``uid`` and ``gids`` (chpst -u's groups, the
    primary one first)."""

    __slots__ = ()

    def __new__(cls, uid, gids):
        return tuple.__new__(cls, (uid, tuple(gids)))

    uid = property(lambda self: self[0])
    gids = property(lambda self: self[1])


OWN = "own"  # the tree's own identity: run on the tree's loop


def identity_for(canonical, resolve_user=None, own=None):
    """Who the logger of ``canonical`` runs as: ``OWN``, an ``Identity`` (a tree run by root
    runs it in a process of that identity), or None (it must be exec'd).

    ``resolve_user(spec)`` gives (uid, gids) or raises (an unknown user: let the real chpst
    say so); by default chpst's own ``-u`` resolution. ``own``: (euid, egid, groups) of the
    tree, by default this process's.

    >>> resolve = {"root": (0, [0]), "log": (101, [4])}.__getitem__
    >>> from runit_provision.protocol.canonical import LogRun
    >>> def who(user, own):
    ...     return identity_for(LogRun("chpst", user, ["."]), resolve, own)
    >>> who(None, (0, 0, [0])), who("root", (0, 0, [0])), who("log", (0, 0, [0]))
    ('own', 'own', (101, (4,)))
    >>> who("log", (101, 4, [])), who("root", (101, 4, [])), who("nobody", (0, 0, []))
    ('own', None, None)
    """
    if canonical.user is None:
        return OWN
    if resolve_user is None:
        from ...unix.userspec import resolve_user as resolve

        def resolve_user(spec):
            return resolve(spec, True)
    try:
        uid, gids = resolve_user(canonical.user)
    except Exception:  # noqa: BLE001 — whatever chpst would fail on, chpst must say
        return None
    euid, egid, groups = own if own is not None else (os.geteuid(), os.getegid(),
                                                      os.getgroups())
    if uid == euid and list(gids) == [egid] and set(groups) <= {egid}:
        return OWN
    if euid == 0:
        return Identity(uid, gids)
    if uid == euid and list(gids) == [egid]:
        return OWN  # ourselves, with groups chpst would drop: nothing to gain by a process
    return None


# -- the decision, for the tree ------------------------------------------------------------------
def hostable(log_run, own=None):
    """``(canonical, identity)`` — the LogRun of the service's ``log/run`` (``log_run``: its
    first bytes as ``servicedir.read_executable`` gives them) and who its logger runs as
    (``identity_for``: OWN or an Identity) — when the tree can run it itself, or None when it
    must be exec'd: not executable, not the canonical form, a user chpst would reject, or
    svlogd arguments svlogd would reject (their messages are the real tools'). ``own``:
    the tree's identity (identity_for's; by default this process's)."""
    canonical = _canonical(log_run)
    identity = None if canonical is None else identity_for(canonical, own=own)
    if identity is None:
        return None
    return canonical, identity


_CANONICAL = {}  # log/run's first bytes -> _canonical's answer (LogRun, or None)
_CANONICAL_MAX = 64  # distinct scripts kept, at most: then forgotten, all at once


def _canonical(log_run):
    """The LogRun of ``log_run`` when it is the canonical form with arguments svlogd takes,
    else None — kept by the script's bytes: a tree of many users asks it of the same few
    scripts (every user's logger alike), which need not be parsed again at each start. Who
    the logger runs as is asked each time (identity_for: a user may come and go)."""
    try:
        return _CANONICAL[log_run]
    except KeyError:
        pass
    from ....errors import UsageError
    from ...svlog.options import parse_args

    canonical = log_run_from_bytes(log_run)
    if canonical is not None:
        try:
            parse_args(canonical.args)
        except UsageError:
            canonical = None
    if len(_CANONICAL) >= _CANONICAL_MAX:
        _CANONICAL.clear()
    _CANONICAL[log_run] = canonical
    return canonical


# -- one logger, on the tree's loop or in an identity's host ---------------------------------------
class HostedLogger:
    """One hosted svlogd: reads its pipe into the engine; ``signal()`` for what runsv sends.

    It does its file operations as the process it runs in: the tree for the tree's own
    identity, an identity host (identityloghosts.py) for anyone else's — processors run as that
    process, as under a real svlogd.

    To the supervisor whose log side it is, it shows ``shown_pid`` (the pid its
    ``log/supervise/pid`` shows: a stand-in) and ``host``, the log host that runs it on this
    loop (standinloghost.StandInLogHost): what its work waits for (``host.waited_for``), who
    lets it go once it ended (``host.logger_ended``).

    The pipe (``pipe_fd``, non-blocking) is read edge-triggered, through a PeekReader when
    ``scratch`` is given: only whole lines are taken, and only once written (svlog/peek.py).
    ``on_exit(wait_status)`` is called once, from the loop, when the engine has finished — an
    exit status (0, or 111 when no directory is usable) or the signal that ended it.
    """

    __slots__ = ("loop", "pipe_fd", "on_exit", "taker", "logger", "shown_pid",
                 "host", "_stopped", "_ended_by", "_at_eof", "_done", "_read_due")

    def __init__(self, loop, spawner, base_fd, pipe_fd, args, stderr_fd, scratch, on_exit):
        from ...svlog.engine import Logger
        from ...svlog.logdir import Reporter
        from ...svlog.options import parse_args
        from ...svlog.peek import LineTaker
        self.loop = loop
        self.pipe_fd = pipe_fd
        self.on_exit = on_exit
        self.taker = LineTaker(pipe_fd, scratch, loop.call_later, self._read)
        options, names = parse_args(args)
        self.logger = Logger(loop, spawner, names, options, Reporter(stderr_fd, options.verbose),
                             on_flow=self._flow_changed, on_exit=self._engine_exited,
                             base_fd=base_fd, keep_unfinished=self.taker.reader is not None)
        self.shown_pid = 0  # the pid its log/supervise/pid shows (a stand-in), when one does
        self.host = None  # the log host running it, for a supervisor's log side
        self._stopped = False   # SIGSTOP: no reading until SIGCONT
        self._ended_by = 0      # the signal that ends it, if any
        self._at_eof = False
        self._done = False
        self._read_due = None

    def start(self):
        if not self.logger.start():
            self._engine_exited(self.logger.exit_code)
            return
        self.loop.add_reader(self.pipe_fd, self._read, edge=True)
        self._flow_changed()

    def signal(self, signum):
        if self._done:
            return
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
            self.logger.end_killed()
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
        taken = self.taker.take(self.logger.read_limit, self.logger.feed)
        if taken == "eof":  # every writer is gone: the service has exited for good
            self._at_eof = True
            self.loop.remove_reader(self.pipe_fd)
            self.logger.end_of_input()
        return taken == "fed"

    def _engine_exited(self, code):
        if self._done:
            return
        self._done = True
        self.loop.remove_reader(self.pipe_fd)
        wait_status = self._ended_by if self._ended_by else (code or 0) << 8
        # Reported from the loop, as a reaped child would be, never from inside a Side call.
        self.loop.call_later(0, lambda: self.on_exit(wait_status))
