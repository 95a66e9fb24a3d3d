"""runtime/control: one sv run over its services (``Session``) — the effects: chdir into each
service, the status read and the control sent (through protocol/probe.py, its ProbeError
turned into sv's messages), ``./check``, stdout buffered and flushed where sv.c flushes, the
failure count, and the wait (``Session.wait``) on what control/wakers.py wakes it with.
"""

import os
import time

from ...errors import FatalError, ProbeError
from ...protocol import layout, probe
from ...protocol.status import status_line
from .waits import is_wait_done, job_doing, job_kind, readiness_verdict
from .wakers import (
    CHECK_RETRY_FIRST, CHECK_RETRY_MAX, EXIT_SETTLE_FIRST, EXIT_SETTLE_MAX, FALLBACK_POLL,
    SAFETY_RECHECK, Wakers)


class Pending:
    """A service still being waited for."""

    __slots__ = ("name", "base", "wd", "waiter", "due", "check_delay", "settle_delay",
                 "settle_until", "sent_unread")

    def __init__(self, name, base, sent_unread=False):
        self.name = name
        self.base = base
        # sent while its status could not be read: runsv rewrites it once it takes the
        # command, so an unreadable status is "not yet" until then (or the deadline)
        self.sent_unread = sent_unread
        self.wd = None  # its inotify watch
        self.waiter = None  # or its FIFO in supervise/event/ (protocol/eventdir.py)
        self.due = 0.0
        self.check_delay = CHECK_RETRY_FIRST
        self.settle_delay = EXIT_SETTLE_FIRST
        self.settle_until = 0.0

    @property
    def is_woken(self):
        """Something will wake a wait for it (else it is polled)."""
        return self.waiter is not None or self.wd is not None


class LsbExit(Exception):
    """LSB ``status`` ends sv at once with an LSB code (sv.c's ``done()``)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


class Session:
    """One sv run: the working directory, the output buffer, the failure count."""

    def __init__(self, command, svdir, wait, lsb, start_ns, start_mono):
        self.command = command
        self.svdir = svdir
        self.wait_seconds = wait
        self.lsb = lsb
        self.start_ns = start_ns
        self.start_mono = start_mono
        self.now_seconds = start_ns // 1_000_000_000
        self.rc = 0
        self._stdout = []
        self._curdir = None

    # -- output: stdout is buffered and flushed where sv.c flushes; stderr is unbuffered.

    def puts(self, text):
        self._stdout.append(text)

    def flush(self, text=""):
        self._stdout.append(text)
        data = os.fsencode("".join(self._stdout))
        self._stdout = []
        write_all(1, data)

    def message(self, prefix, name, is_log, text, exc=None):
        """sv.c ``out()``: ``PREFIX NAME[/log]: TEXT[: ERRSTR]`` and a flush."""
        self.puts(prefix + name + ("/log" if is_log else "") + ": " + text)
        if exc is not None and exc.errno:
            self.puts(": " + error_str(exc.errno))
        self.flush("\n")

    def fail(self, name, is_log, text, exc=None):
        self.rc += 1
        self.message("fail: ", name, is_log, text, exc)

    def warn(self, name, is_log, text, exc=None):
        self.rc += 1
        self.message("warning: ", name, is_log, text, exc)

    def not_running(self, name, is_log, letter):
        # runsv gone is what ``exit`` asked for.
        if letter == "x":
            self.message("ok: ", name, is_log, "runsv not running")
        else:
            self.fail(name, is_log, "runsv not running")

    @staticmethod
    def stderr(text):
        write_all(2, os.fsencode(text))

    # -- the working directory

    def open_curdir(self):
        try:
            self._curdir = os.open(".", os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise FatalError("unable to open current directory: " + error_str(exc.errno)) \
                from exc

    def close_curdir(self):
        """Back to where sv started (sv.c's ``done()``), then drop the descriptor."""
        if self._curdir is not None:
            try:
                os.fchdir(self._curdir)
            except OSError:
                pass
            os.close(self._curdir)
            self._curdir = None

    def enter(self, name):
        """chdir into the service; False (and ``fail:``) if that is impossible."""
        try:
            if is_in_svdir(name):
                os.chdir(self.svdir)
            os.chdir(name)
        except OSError as exc:
            self.fail(name, False, "unable to change to service directory", exc)
            return False
        return True

    def leave(self):
        try:
            os.fchdir(self._curdir)
        except OSError as exc:
            raise FatalError("unable to change to original directory: "
                             + error_str(exc.errno)) from exc

    # -- reading status (sv.c svstatus_get / svstatus_print)

    def read_status(self, name, is_log=False):
        """(1, Status), (0, None) if no runsv, (-1, None) after a warning; cwd is the side."""
        try:
            return 1, probe.read_status(".")
        except ProbeError as exc:
            self.probe_failed(name, is_log, self.command.acts[0], exc)
            return (0 if exc.is_not_running else -1), None

    def probe_failed(self, name, is_log, letter, exc):
        """sv's message for a failed step: ``runsv not running``, or a warning with errstr."""
        if exc.is_not_running:
            self.not_running(name, is_log, letter)
        else:
            self.warn(name, is_log, str(exc), exc)

    def print_status(self, label, name, status, is_log=False):
        """Buffer the status line; 1 if it has a pid, 2 if not, 0 after a ``down`` warning.
        A timer's or a one-shot's line ends with what its job does (``job_doing``)."""
        try:
            os.stat(layout.DOWN)
            normally_up = False
        except FileNotFoundError:
            normally_up = True
        except OSError as exc:
            self.stderr("warning: unable to stat %s/down: %s\n" % (name, error_str(exc.errno)))
            return 0
        self.puts(status_line(label, status, self.now_seconds, normally_up))
        kind = None if is_log else job_kind()
        if kind is not None:
            self.puts("; " + job_doing(kind, status)[1])
        return 1 if status.pid else 2

    def show_status(self, name):
        """The ``status`` command for one service, with its log's part."""
        code, status = self.read_status(name)
        if code < 0 and self.lsb:
            raise LsbExit(4)
        if code <= 0:
            return
        printed = self.print_status(name, name, status)
        try:
            os.chdir(layout.LOG_DIR)
        except FileNotFoundError:
            self.puts("\n")
        except OSError as exc:
            self.puts("; ")
            self.warn(name, True, "unable to change directory", exc)
        else:
            self.puts("; ")
            code, log_status = self.read_status(name, is_log=True)
            # runit 2.1.2 goes on after a warning here and prints the *service's* stale status
            # as the log's; a failed read prints nothing more (docs/sv.md).
            if code > 0:
                self.print_status("log", name, log_status, is_log=True)
                self.puts("\n")
        self.flush()
        if self.lsb:
            # runit 2.1.2 exits with the log's state here (void-linux/runit#20): the
            # service's state is what an init script asks about (docs/sv.md).
            raise LsbExit(lsb_status_code(printed))

    # -- sending (sv.c control)

    def send(self, name, acts):
        """Write ``acts`` to the control FIFO: (-1 | 1 sent, status before or None). Written
        whatever the status says, as runit 2.3.1's sv does: a skip decided on a status read
        before the write could lose a command, and an unreadable status is runsv's to
        rewrite (docs/compatibility.md#sv). Only a runsv that is not running stops it."""
        try:
            status = probe.read_status(".")
        except ProbeError as exc:
            if exc.is_not_running:
                self.probe_failed(name, False, acts[0], exc)
                return -1, None
            status = None
        try:
            probe.send_control(".", acts)
        except ProbeError as exc:
            self.probe_failed(name, False, acts[0], exc)
            return -1, status
        return 1, status

    # -- ./check

    def run_check_script(self, name):
        """runit's checkscript(): a missing ./check passes; so does one that cannot be run."""
        try:
            os.stat(layout.CHECK)
        except FileNotFoundError:
            return True
        except OSError as exc:
            self.stderr("warning: unable to stat %s/check: %s\n" % (name, error_str(exc.errno)))
            return False
        try:
            # stdout closed, stderr inherited, cwd the service directory, as runit runs it.
            from ..unix.environ import original_environ  # not os.environ: PEP 538's LC_CTYPE
            pid = os.posix_spawn(layout.CHECK, ["./check"], original_environ(),
                                 file_actions=[(os.POSIX_SPAWN_CLOSE, 1)])
        except OSError as exc:
            # runit's forked child prints this and exits 0: a check that cannot run passes.
            self.stderr("warning: unable to run %s/check: %s\n" % (name, error_str(exc.errno)))
            return True
        try:
            _, wstatus = os.waitpid(pid, 0)
        except OSError as exc:
            self.stderr("warning: unable to wait for child %s/check: %s\n"
                        % (name, error_str(exc.errno)))
            return False
        # runit's wait_exitcode(): a check killed by a signal has exit code 0, i.e. passes.
        return (wstatus >> 8) & 0xFF == 0

    # -- one wait evaluation (sv.c check)

    def evaluate(self, item, expired=False):
        """-1 gone (message printed), 1 done (``ok:`` printed), 0 not yet; plus ran-check flag."""
        acts = self.command.acts
        if item.sent_unread and not expired:
            try:
                probe.read_status(".")
            except ProbeError as exc:
                if not exc.is_not_running:
                    return 0, False
            item.sent_unread = False
        code, status = self.read_status(item.name)
        if code < 0:
            return -1, False
        if code == 0:
            return (1 if acts[0] == "x" else -1), False
        ran = []

        def check():
            verdict = readiness_verdict(status)
            if verdict is not None:
                return verdict  # no process, and inotify says when it changes
            ran.append(True)
            return self.run_check_script(item.name)

        kind = job_kind()
        job = None if kind is None else (kind, job_doing(kind, status)[0])
        if not is_wait_done(acts, status, item.base, check, job):
            return 0, bool(ran)
        self.puts("ok: ")
        self.print_status(item.name, item.name, status)
        self.flush("\n")
        return 1, bool(ran)

    def time_out(self, item):
        self.puts("kill: " if self.command.kills else "timeout: ")
        code, status = self.read_status(item.name)
        if code > 0:
            self.print_status(item.name, item.name, status)
            self.rc += 1
        self.flush("\n")
        if self.command.kills:
            self.send(item.name, "k")

    # -- the wait loop

    def wait(self, pending):
        """Wait for every pending service; print ok/timeout/kill lines as each one ends.

        The first look is taken at once, with nothing to wake on (most waits end there). If
        anything is left, each pending service gets something to wake on (``Wakers``: a FIFO
        in ``supervise/event/`` where our runsv posts, else an inotify watch) and is looked at
        again straight away, so no change between the two looks is missed; after that a
        service is looked at when it is woken, when its ./check retry is due, or when the
        deadline passes.
        """
        wakers = None
        deadline = self.start_mono + self.wait_seconds
        first = True
        try:
            while pending:
                now = time.monotonic()
                self.now_seconds = time.time_ns() // 1_000_000_000
                # Like runit, never time out on the first look.
                expired = not first and now > deadline
                for item in list(pending):
                    if not (first or expired or item.due <= now):
                        continue
                    if not self.enter(item.name):
                        pending.remove(item)
                        self.leave()
                        continue
                    if wakers is not None and not item.is_woken:
                        wakers.add(item)
                    result, ran_check = self.evaluate(item, expired)
                    if result == 0 and expired:
                        self.time_out(item)
                        result = -1
                    self.leave()
                    if result != 0:
                        pending.remove(item)
                        if wakers is not None:
                            wakers.forget(item)
                    elif first:
                        item.due = now  # looked at again once it can be woken
                    else:
                        self._schedule(item, ran_check, time.monotonic())
                if not pending:
                    break
                if first:
                    first = False
                    wakers = Wakers(self.command.acts)
                    continue
                now = time.monotonic()
                timeout = max(0.0, min(min(item.due for item in pending), deadline + 0.001) - now)
                wakers.wait(pending, timeout)
        finally:
            if wakers is not None:
                wakers.close()

    @staticmethod
    def _schedule(item, ran_check, now):
        if ran_check:
            # Status is ready but ./check is not; nothing on disk will say when it is.
            item.due = now + item.check_delay
            item.check_delay = min(item.check_delay * 2, CHECK_RETRY_MAX)
        elif now < item.settle_until:
            # An exit event was seen but the ok FIFO still has its reader: the close event is
            # queued before the kernel drops the reader, so look again very soon.
            item.due = now + item.settle_delay
            item.settle_delay = min(item.settle_delay * 2, EXIT_SETTLE_MAX)
        elif not item.is_woken:
            item.due = now + FALLBACK_POLL
        else:
            item.due = now + SAFETY_RECHECK


def is_in_svdir(name):
    """A name is looked up in SVDIR unless empty, absolute, ``.``-relative or ending in ``/``."""
    return bool(name) and name[0] not in "/." and name[-1] != "/"


def lsb_status_code(printed):
    """LSB ``status`` exit code from svstatus_print's result: 1 running, 2 down, 0 unknown."""
    return {1: 0, 2: 3}.get(printed, 4)


def error_str(number):
    """runit's error text; the table is loaded only when sv has an error to print."""
    from ...protocol.errstr import error_str as lookup

    return lookup(number)


def write_all(fd, data):
    while data:
        try:
            written = os.write(fd, data)
        except InterruptedError:
            continue
        except OSError:
            return  # a closed or broken stdout/stderr is not sv's failure to report
        data = data[written:]
