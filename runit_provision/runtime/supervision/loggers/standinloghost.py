"""runtime/supervision/loggers: loggers of one identity on this loop, and the process that stands
for them (``StandInLogHost``).

A runsvdir tree runs every canonical ``log/run`` (hostedlogger.py) on the svlogd engine, on its
own loop, instead of exec'ing an svlogd per service. ``log/supervise/pid`` must still name a
process that behaves as an svlogd under the signals people and monitoring tools send to that
pid — and never takes the tree, or any service, down. That process is a stand-in: one small
``/bin/sh`` per tree (``ps``: ``svlogd -s (loggers of runsvdir DIR)``, a few hundred kB where a
second Python process would cost megabytes), which turns each signal it traps into a byte on a
pipe to the tree; the tree acts on every hosted logger as an svlogd would act on itself:

    TERM, INT, QUIT, USR1, USR2   the stand-in exits; each logger ends (TERM: cleanly) and is
                                  started again, with a new stand-in, by its supervisor
    HUP                           each logger reopens its directories and re-reads config
    ALRM                          each logger rotates
    KILL                          the stand-in dies: each logger ends at once and is started
                                  again (nothing is lost: loggers take only what they wrote)
    STOP, CONT                    the stand-in stops and continues (seen as a child's stop):
                                  the loggers stop reading, and read again

When the tree goes (exits, or is killed), the stand-in reads EOF on the pipe the tree holds and
exits: nothing is left behind. A tree that cannot start one (no ``/bin/sh``) execs its loggers.

The stand-in stands for loggers of one identity: the tree's own. Those of anyone else run in
a process of that identity, whose pid is their own (identityloghosts.py). Which of them runs a
service's logger is loghosts.LogHosts's to say.
"""

import os
import signal


STAND_IN_SHELL = "/bin/sh"
# read(1) returns non-zero when a trapped signal interrupts it (dash: 1, bash: >128): "got"
# tells that apart from EOF, which means the tree is gone.
_SCRIPT = b"""got=
trap 'got=1; printf T >&3; exit 0' TERM
trap 'got=1; printf I >&3; exit 0' INT
trap 'got=1; printf Q >&3; exit 0' QUIT
trap 'got=1; printf 1 >&3; exit 0' USR1
trap 'got=1; printf 2 >&3; exit 0' USR2
trap 'got=1; printf H >&3' HUP
trap 'got=1; printf A >&3' ALRM
while :; do got=; read -r _ <&4 || [ -n "$got" ] || exit 0; done
"""
_SIGNALS = {b"T": signal.SIGTERM, b"I": signal.SIGINT, b"Q": signal.SIGQUIT,
            b"1": signal.SIGUSR1, b"2": signal.SIGUSR2, b"H": signal.SIGHUP,
            b"A": signal.SIGALRM}


def stand_in_argv(label):
    """The stand-in's command line (``ps`` shows ``svlogd -s (loggers of LABEL)``)."""
    return [STAND_IN_SHELL, "-s", "(loggers of %s)" % label]


def stand_in_pipes():
    """A stand-in's pipes — its script (written), its signals (root's end non-blocking), its
    liveness: ``(script_r, signals_r, signals_w, alive_r, alive_w)``; the child's 0, 3 and 4
    are dup2'ed from script_r, signals_w and alive_r, so none of those is one of them."""
    script_r, script_w = os.pipe2(os.O_CLOEXEC)
    signals_r, signals_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    alive_r, alive_w = os.pipe2(os.O_CLOEXEC)
    script_r, signals_w, alive_r = (_above(fd, 4) for fd in (script_r, signals_w, alive_r))
    os.write(script_w, _SCRIPT)
    os.close(script_w)
    return script_r, signals_r, signals_w, alive_r, alive_w


def _above(fd, highest):
    """``fd``, or a close-on-exec copy above ``highest`` (the original closed)."""
    if fd > highest:
        return fd
    import fcntl
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, highest + 1)
    os.close(fd)
    return moved


class _StandIn:
    """One stand-in process: its pid, the pipe its signals come through, the loggers it
    stands for (HostedLoggers), and the pipe whose EOF tells it the tree is gone. Its
    methods are the loop's callbacks for it (bound methods, not a closure each)."""

    __slots__ = ("host", "pid", "signals_fd", "alive_fd", "loggers")

    def __init__(self, host, pid, signals_fd, alive_fd):
        self.host, self.pid, self.signals_fd, self.alive_fd = host, pid, signals_fd, alive_fd
        self.loggers = set()

    def signalled(self):
        self.host._signalled(self)

    def reaped(self, _pid, wait_status):
        self.host._reaped(self, wait_status)

    def stopped(self):
        self.host._each(self, signal.SIGSTOP)

    def continued(self):
        self.host._each(self, signal.SIGCONT)


class StandInLogHost:
    """A log host: the hosted loggers of one identity on this loop and their stand-in (started
    when first needed, started anew once the last one ended or died). ``stand_in()`` gives the
    pid a hosted logger's ``log/supervise/pid`` shows (0 when none can be started),
    ``attach``/``detach`` tell it which loggers it stands for; ``logger_ended`` lets one go,
    ``waited_for`` says what a logger's work waits for (here: nothing but this process)."""

    __slots__ = ("loop", "spawner", "label", "scratch", "_current", "_stand_ins", "on_reaped")

    def __init__(self, loop, spawner, label):
        self.loop = loop
        self.spawner = spawner
        self.label = label
        self.scratch = None  # the scratch pipe every hosted logger's PeekReader shares
        self._current = None
        self._stand_ins = {}  # pid -> _StandIn, until reaped
        self.on_reaped = None  # called after a stand-in has been reaped

    @property
    def pids(self):
        """Every stand-in not yet reaped."""
        return set(self._stand_ins)

    def scratch_pipe(self):
        """The scratch pipe for reading by copy, or None where tee(2) is missing."""
        if self.scratch is None:
            from ...svlog.peek import is_available, scratch_pipe
            self.scratch = scratch_pipe() if is_available() else False
        return self.scratch or None

    def stand_in(self):
        """The pid of the stand-in for a logger starting now (started if needed); OSError
        when it cannot be started."""
        if self._current is None:
            self._current = self._start()
        return self.current_pid()

    def current_pid(self):
        """The pid of the stand-in loggers get now, 0 while there is none."""
        return 0 if self._current is None else self._current.pid

    def attach(self, pid, logger):
        stand_in = self._stand_ins.get(pid)
        if stand_in is not None:
            stand_in.loggers.add(logger)

    def detach(self, pid, logger):
        stand_in = self._stand_ins.get(pid)
        if stand_in is not None:
            stand_in.loggers.discard(logger)

    def logger_ended(self, logger):
        """A HostedLogger of ours ended: its stand-in stands for it no more, its reading end
        of the pipe is closed."""
        self.detach(logger.shown_pid, logger)
        os.close(logger.pipe_fd)

    def waited_for(self, logger):
        """What the work of ``logger``, one of ours, waits for — what runsv's
        CONT to it must reach beside it: nothing, it runs in this process."""
        return ()

    def close(self):
        """The tree is done: every stand-in sees EOF and exits."""
        self._current = None
        for stand_in in self._stand_ins.values():
            self._close_alive(stand_in)

    # -- the process ----------------------------------------------------------------------------
    def _start(self):
        script_r, signals_r, signals_w, alive_r, alive_w = stand_in_pipes()
        try:
            pid = self.spawner.spawn(stand_in_argv(self.label), argv0="svlogd",
                                     stdin_fd=script_r, extra_fds=((signals_w, 3), (alive_r, 4)))
        except OSError:  # the logger's start fails, as a failed exec would; tried again
            for fd in (signals_r, alive_w):
                os.close(fd)
            raise
        finally:
            for fd in (script_r, signals_w, alive_r):
                os.close(fd)
        return self._started(pid, signals_r, alive_w)

    def _started(self, pid, signals_r, alive_w):
        """A stand-in that runs: its signals read, its end and its stops watched."""
        stand_in = self._stand_ins[pid] = _StandIn(self, pid, signals_r, alive_w)
        self.loop.add_reader(signals_r, stand_in.signalled)
        self.loop.watch_child(pid, stand_in.reaped, on_stop=stand_in.stopped,
                              on_continue=stand_in.continued)
        return stand_in

    def _signalled(self, stand_in):
        try:
            data = os.read(stand_in.signals_fd, 64)
        except (BlockingIOError, InterruptedError):
            return
        for index in range(len(data)):
            signum = _SIGNALS.get(data[index:index + 1])
            if signum is None:
                continue
            if signum not in (signal.SIGHUP, signal.SIGALRM):
                self._retire(stand_in)  # it exits: the next logger gets a new one
            self._each(stand_in, signum)

    def _each(self, stand_in, signum):
        for logger in list(stand_in.loggers):
            logger.signal(signum)

    def _retire(self, stand_in):
        if self._current is stand_in:
            self._current = None

    def _close_alive(self, stand_in):
        if stand_in.alive_fd >= 0:
            os.close(stand_in.alive_fd)
            stand_in.alive_fd = -1

    def _reaped(self, stand_in, wait_status):
        self._signalled(stand_in)  # what it said just before it went
        self._retire(stand_in)
        self._close_alive(stand_in)
        self.loop.remove_reader(stand_in.signals_fd)
        os.close(stand_in.signals_fd)
        del self._stand_ins[stand_in.pid]
        if wait_status is not None and os.WIFSIGNALED(wait_status):
            # killed (KILL, or a signal it could not trap): its loggers end as an svlogd
            # killed by that signal would — at once, nothing they took lost
            self._each(stand_in, os.WTERMSIG(wait_status))
        if self.on_reaped is not None:
            self.on_reaped()
