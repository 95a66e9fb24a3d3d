"""runtime: ``svlogd [-tttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...`` — runit's
service logger: the ``svlog.engine.Logger`` engine on its own loop, reading fd 0 non-blocking.

Signals, as runit: ALRM rotates, HUP reopens every directory and re-reads its config, TERM
finishes the line being read, writes everything and exits 0; EOF exits 0 once processors are
done.  Exit 111 on a usage error or when no log directory is usable.
"""

import errno
import os
import signal
import stat
import sys

from ..errors import UsageError
from .svlog.logdir import Reporter
from .svlog.engine import Logger
from .svlog.options import parse_args
from .supervision.engine.loop import EventLoop
from .supervision.engine.spawn import Spawner
from .unix.diag import write_bytes
from .unix.procname import show_program

class StdinReader:
    """Feeds fd 0 to a Logger, reading only while its ``read_limit`` allows.

    A pipe or terminal is watched by the loop; a regular file or ``/dev/null`` (which epoll
    refuses) is always readable, so it is read from zero-delay timers instead. A pipe is read
    by copy (svlog/peek.py): only whole lines are taken, and only once written, so a killed
    svlogd leaves nothing half-taken — the next one finds every line it did not write.
    """

    def __init__(self, loop, logger, reporter, fd=0, closed=False):
        self.loop = loop
        self.closed = closed  # fd 0 was not open: the first read reports it, then EOF
        self.logger = logger
        self.report = reporter
        self.fd = fd
        self._watching = False
        self._polled = None  # None: not yet known
        self._timer = None
        self._eof = False
        self._taker = None

    def update(self):
        """Watch or stop watching fd 0 to match the logger's read limit."""
        wanted = self.logger.read_limit > 0 and not self._eof
        if wanted == self._watching:
            return
        self._watching = wanted
        if self._polled is None:
            self._polled = not _is_pollable(self.fd)
        if self._polled:
            self._schedule()
        elif wanted:
            self.loop.add_reader(self.fd, self.read, edge=self._line_taker().reader is not None)
        else:
            self.loop.remove_reader(self.fd)

    def _line_taker(self):
        if self._taker is None:
            self._taker = _taker_for(self.fd, self.loop.call_later, self.read)
        return self._taker

    def _schedule(self):
        if self._watching and self._timer is None:
            self._timer = self.loop.call_later(0, self._timed_read)

    def _timed_read(self):
        self._timer = None
        if self._watching:
            self.read()
            self._schedule()

    def read(self):
        while self.logger.read_limit > 0 and not self._eof:
            try:
                if self.closed:
                    raise OSError(errno.EBADF, "")
                taken = self._line_taker().take(self.logger.read_limit, self.logger.feed)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.report.warn("unable to read standard input", exc)
                taken = "eof"
            if taken == "empty":
                return
            if taken == "eof":
                self._eof = True
                self.update()
                self.logger.end_of_input()
                return
            if self._taker.reader is None:
                return  # level-triggered: the loop calls again while there is more


def _hold_closed_stdin():
    """With fd 0 closed, occupy it (with /dev/null) so that no directory or lock we open
    becomes "standard input"; True if it was closed."""
    try:
        os.fstat(0)
        return False
    except OSError:
        pass
    fd = os.open(os.devnull, os.O_RDONLY)
    if fd != 0:
        os.close(fd)
    return True


def _taker_for(fd, call_later, wake):
    """Whole lines by copy from a pipe (when tee(2) is there), plain reads otherwise."""
    from .svlog.peek import LineTaker, scratch_pipe
    return LineTaker(fd, scratch_pipe() if _is_peekable(fd) else None, call_later, wake)


def _is_peekable(fd):
    """fd is a pipe and tee(2) is there: it is read by copy — and only then does an svlogd
    killed while it holds an unfinished line leave it to the next (svlog/unfinished.py)."""
    from .svlog.peek import is_available
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode) and is_available()
    except OSError:
        return False


def _is_pollable(fd):
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or (
        stat.S_ISCHR(mode) and os.isatty(fd))


def main(argv=None):
    if argv is None:
        argv = sys.argv
        show_program(argv, "svlogd")
    try:
        options, names = parse_args(argv[1:])
    except UsageError as exc:
        write_bytes(2, exc.text)
        return 111
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    stdin_closed = _hold_closed_stdin()
    try:
        os.set_blocking(0, False)  # runit's ndelay_on(0)
    except OSError:
        pass
    loop = EventLoop()
    reporter = Reporter(2, options.verbose)
    reader = None

    def flow():
        if reader is not None:
            reader.update()

    logger = Logger(loop, Spawner(), names, options, reporter, on_flow=flow,
                    on_exit=lambda code: loop.stop(), keep_unfinished=_is_peekable(0))
    loop.add_signal_handler(signal.SIGTERM, logger.terminate)
    loop.add_signal_handler(signal.SIGHUP, logger.reopen)
    loop.add_signal_handler(signal.SIGALRM, logger.rotate)
    if not logger.start():
        return 111
    reader = StdinReader(loop, logger, reporter, closed=stdin_closed)
    reader.update()
    if logger.exit_code is None:
        loop.run()
    return logger.exit_code


if __name__ == "__main__":
    sys.exit(main())
