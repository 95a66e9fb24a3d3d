"""runtime: ``sv`` — control and inspect services supervised by runsv, as runit's sv.

Output, exit codes and LSB init-script mode follow runit 2.1.2's ``sv.c`` (Debian 2.1.2-54:
default SVDIR ``/etc/service/``), docs/runit-protocol.md §3. The pieces are kept apart:

* ``COMMANDS``/``command_for``: the command table as data — word → bytes to send, wait letters,
  when to wait, kill on timeout;
* ``is_wait_done`` and ``WAITS``: one pure "is this wait over?" predicate per letter over the
  decoded Status, a ``Baseline`` captured before sending, and a lazily run ``./check``;
* ``Session``: the effects — chdir into services, the status read and control send (through
  ``protocol/probe.py``, its ProbeError turned into sv's messages), ``./check``, stdout
  buffered and flushed where sv.c flushes, exit-code counting;
* ``Session.wait`` and ``_Wakers``: the event-driven wait — a FIFO of sv's own in each
  ``supervise/event/`` that our runsv writes to (``protocol/eventdir.py``), else inotify on
  each ``supervise/`` (``inotify.py``).

Deliberate differences from the C sv (stale reads fixed, event-driven waits, 2.3.0's ``check``
and LSB ``status``), each with its reason: docs/compatibility.md.

``sv status`` has a start-up budget (SPEC §6), so what only a wait needs (select, the event
directory, inotify, the check-script machinery) is imported by the code paths that wait.

Why one module: as runit's own ``sv.c`` is one file, each runit tool is one program
(``main(argv)``), sharing the protocol room and never another tool's module (docs/layout.md).
"""

import os
import stat
import sys
import time

from ..errors import FatalError, ProbeError, UsageError
from ..protocol import layout, probe
from ..protocol.status import State, status_line
from .unix.procname import show_program

USAGE = " [-v] [-w sec] command service ..."
USAGE_LSB = " [-w sec] command"
# runit 2.1.2's sv.c, which Debian still ships; the C sv prints exactly this for -V.
VERSION = "$Id: 900314260c6d52c986c5357673bea2f3bd3f4698 $"
DEFAULT_SVDIR = "/etc/service/"  # Debian's; upstream 2.1.2 has /service/
DEFAULT_WAIT = 7
EXIT_USAGE, EXIT_FATAL = 100, 100
EXIT_USAGE_LSB, EXIT_FATAL_LSB = 2, 151
MAX_RC = 99

# When a command waits for its letters.
NEVER, VERBOSE, ALWAYS = 0, 1, 2

# Wait-loop timing (seconds). Waits wake on inotify events; these only bound what events cannot
# tell: a failing ./check (no file changes when it starts passing), runsv's exit racing its
# close event, a platform without inotify, and a safety re-check never slower than runit's tick.
CHECK_RETRY_FIRST, CHECK_RETRY_MAX = 0.02, 0.42
EXIT_SETTLE_FIRST, EXIT_SETTLE_MAX, EXIT_SETTLE_FOR = 0.001, 0.032, 0.25
FALLBACK_POLL = 0.02
SAFETY_RECHECK = 0.42
# A FIFO waiter holds three descriptors (its FIFO, event/ok, the directory); past this many,
# services are watched through inotify, so that a wait on a thousand leaves room for the
# status reads and ./check.
FIFO_WAITERS_MAX = 128


class Command:
    """One row of the command table."""

    __slots__ = ("acts", "sends", "waits", "kills")

    def __init__(self, acts, sends=True, waits=VERBOSE, kills=False):
        self.acts = acts  # the control bytes sent, and also the wait letters
        self.sends = sends  # False for status and check: nothing is written to runsv
        self.waits = waits
        self.kills = kills  # force-*: on timeout print ``kill:`` and send ``k``

    def __eq__(self, other):
        return isinstance(other, Command) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def _key(self):
        return (self.acts, self.sends, self.waits, self.kills)

    def __repr__(self):
        return "Command(%r, sends=%r, waits=%r, kills=%r)" % self._key()


STATUS = Command("s", sends=False, waits=NEVER)

# Whole words first (sv.c compares these exactly) …
COMMANDS = {
    "status": STATUS,
    "try-restart": Command("tc", waits=ALWAYS),
    "check": Command("C", sends=False, waits=ALWAYS),
    "shutdown": Command("x", waits=ALWAYS),
    "start": Command("u", waits=ALWAYS),
    "stop": Command("d", waits=ALWAYS),
    "restart": Command("tcu", waits=ALWAYS),
    "reload": Command("h", waits=ALWAYS),
    "force-reload": Command("tc", waits=ALWAYS, kills=True),
    "force-restart": Command("tcu", waits=ALWAYS, kills=True),
    "force-shutdown": Command("x", waits=ALWAYS, kills=True),
    "force-stop": Command("d", waits=ALWAYS, kills=True),
}
# … then the first letter: up, down, once, pause, cont, hup, alarm, interrupt, kill, quit, 1,
# 2, term, exit, and the undocumented kill-on-timeout capitals.
COMMANDS_BY_LETTER = dict(
    [(letter, Command(letter)) for letter in "udophaikq12tc"]
    + [("x", Command("x")), ("e", Command("x")),
       ("X", Command("x", waits=ALWAYS, kills=True)),
       ("E", Command("x", waits=ALWAYS, kills=True)),
       ("D", Command("d", waits=ALWAYS, kills=True)),
       ("T", Command("tc", waits=ALWAYS, kills=True))])


def command_for(word, lsb=False):
    """The command a word names, or None for a usage error.

    Only the first letter counts (``sv dingdong svc`` is ``down``), except for the whole words
    above; other words starting with ``r`` or ``f`` are usage errors; any other ``s…`` word is
    ``status``, but in LSB mode only ``status`` itself is.
    """
    command = COMMANDS.get(word)
    if command is None:
        command = COMMANDS_BY_LETTER.get(word[:1])
    if command is None and word[:1] == "s" and not lsb:
        command = STATUS
    return command


# ---------------------------------------------------------------------------------------------
# Wait predicates: pure functions of the status read now and what was known before sending.

class Baseline:
    """What a wait compares against: sv's start and the status read just before sending."""

    __slots__ = ("start_ns", "before")

    def __init__(self, start_ns, before=None):
        # runsv's stamps carry microseconds (plus 500 ns); compare at that precision so an
        # event in sv's own start microsecond still counts as after the start.
        self.start_ns = start_ns - start_ns % 1000
        self.before = before  # Status, or None when nothing was sent


def stamp_ns(status):
    """The full TAI64N stamp of a status record, as unix nanoseconds."""
    return status.stamp_ns


def _newer_than_baseline(status, base):
    """Was this status written after sv started and after the status remembered at send?"""
    reference = base.start_ns
    if base.before is not None:
        reference = max(reference, stamp_ns(base.before))
    return stamp_ns(status) > reference


def is_new_process(status, base):
    """A process that started after the baseline: the old one is gone.

    runit compares whole seconds with sv's start, so a restart of a service started in the
    same second reported ``ok:`` with the old pid (runit-protocol.md §9.1). Here the pid must
    differ from the one remembered before sending, or the full stamp must be later than both
    sv's start and the remembered stamp. ``./finish`` (state finish) is not a new process.
    """
    if status.state != State.RUN or not status.pid:
        return False
    before = base.before
    if before is not None and status.pid != before.pid:
        return True
    return _newer_than_baseline(status, base)


def _up(status, base, check):
    # runit does not look at want: right after ``sv up`` it can read the status runsv wrote
    # before taking the command and confirm ``run: …, want down`` (docs/sv.md).
    return bool(status.pid) and status.state == State.RUN and status.want == "u" and check()


def _down(status, base, check):
    # Likewise want down: during runsv's 1 s back-off a service is down with want up and
    # comes back, yet runit would already have said ``ok: down``.
    return not status.pid and status.state == State.DOWN and status.want == "d"


def _restarted(status, base, check):
    # t and k: done when it stays down on purpose, or once a new process runs without a
    # pending TERM and passes ./check.
    if not status.pid and status.want == "d":
        return True
    return is_new_process(status, base) and not status.term and check()


def _once(status, base, check):
    # o: running with want down, or down again after having run since we sent.
    if status.pid:
        return status.want == "d"
    return _newer_than_baseline(status, base)


def _checked(status, base, check):
    # runit 2.3.0: ``check`` means up (with ./check) or down, whichever is wanted.
    if status.want == "d":
        return _down(status, base, check)
    return _up(status, base, check)


def _paused(status, base, check):
    return not status.pid or status.paused


def _continued(status, base, check):
    return not status.pid or not status.paused


def _runsv_gone(status, base, check):
    # x: only the liveness probe can say; a readable status means runsv is still there.
    return False


def _immediately(status, base, check):
    return True


WAITS = {
    "u": _up, "d": _down, "t": _restarted, "k": _restarted, "o": _once, "C": _checked,
    "p": _paused, "c": _continued, "x": _runsv_gone,
}


def is_wait_done(acts, status, base, check, job=None):
    """Every letter of ``acts`` is satisfied; ``check()`` runs ./check, at most once here;
    ``job``: a timer's or one-shot's doing (``job_doing``), whose own rules come first."""
    result = []

    def check_once():
        if not result:
            result.append(bool(check()))
        return result[0]

    for letter in acts:
        done = None if job is None else _job_wait(letter, status, job)
        if done is None:
            done = WAITS.get(letter, _immediately)(status, base, check_once)
        if not done:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Timers and one-shots (docs/jobs.md, docs/sv.md): what runit's sv cannot know of them — said
# after the side's part of ``status``, and judged by the waits. Under our runsv a timer that
# waits for its next run is down with want up (nothing of it runs between runs), and a
# one-shot that ran is down with want down whether its run failed or not.

TIMER, ONESHOT = "timer", "one-shot"
WAITING, NO_NEXT_RUN = "waiting", "no next run"


def _job_wait(letter, status, job):
    """Whether the wait for ``letter`` is over for a timer or a one-shot (``job``: kind and
    word), or None: runit's rule for it.

    - a timer wanted up: ``u`` (start, up) is done once runsv took it — armed, or a run
      under way (our runsv runs nothing while it waits); ``C`` (check) while it runs or has
      a next run; ``t`` (restart) once it waits (a run under way ended by the TERM; the C
      runsv: a new waiter);
    - a one-shot: ``C`` is done when its last run is done, or it never ran and is wanted down
      — a failed run is not as wanted, nor one still going.
    """
    kind, word = job
    if kind == TIMER and status.want == "u":
        if letter == "u":
            return True
        if letter == "C":
            return word in (WAITING, "running")
        if letter == "t" and not status.pid:
            return True
    if kind == ONESHOT and letter == "C":
        return word == "done" or (word == "never run" and status.want == "d")
    return None


def job_kind():
    """TIMER when the service directory (the cwd) has ``schedule``, ONESHOT when it has
    ``oneshot``, else None."""
    for name, kind in ((layout.SCHEDULE, TIMER), (layout.ONESHOT, ONESHOT)):
        try:
            os.stat(name)
        except OSError:
            continue
        return kind
    return None


def job_doing(kind, status):
    """``(word, text)`` of what the timer or one-shot (``kind``) whose status is ``status``
    does, read from its records (cwd: its directory) as status reads them — the word
    ``waiting``, ``no next run``, ``running``, ``off``, ``unreadable`` (a timer), ``done``,
    ``failed``, ``running``, ``never run`` (a one-shot); the text sv prints, e.g. ``waiting,
    next at 2026-11-26T03:00:00Z`` or ``failed (exit 3)``."""
    from ..protocol.lastrun import last_run_read
    from ..protocol.tally import exit_text

    state = ("down", "run", "finish")[status.state]
    raw = _read_record(layout.SUPERVISE_DIR + "/" + layout.LAST_RUN)
    last, why = (None, None) if raw is None else last_run_read(raw)
    if kind == ONESHOT:
        from ..protocol.bounds import printable
        from ..protocol.lastrun import job_of

        word = job_of(state, last)
        if why is not None and word != "running":  # a record that is not one: no verdict
            return "unreadable", "unreadable (supervise/last-run: %s)" % printable(why)
        return word, word if word in ("running", "never run") else "%s (%s)" % (
            word, exit_text(last.end, named=False))
    from ..protocol.timerwords import (FAILED, OFF, RUNNING, UNREADABLE, next_text,
                                       timer_doing, timer_read_from_bytes)

    read = timer_read_from_bytes(_read_record(layout.SCHEDULE),
                                 _read_record(layout.TIMER_STATE_FILE), raw)
    ours = read.record is None or read.record.started_usec is None  # timer-run writes it
    doing = timer_doing(state, "up" if status.want == "u" else "down", status.seconds, ours,
                        read, last, exit_text, exit_text)
    if doing.kind in (OFF, UNREADABLE):
        return doing.kind, doing.word
    if doing.kind == RUNNING:
        return RUNNING, "running, " + ("then off" if status.want == "d"
                                       else next_text(doing.next_ns))
    word = NO_NEXT_RUN if doing.next_ns == 0 else WAITING
    failed = ", last run failed (%s)" % exit_text(last.end, named=False) \
        if doing.kind == FAILED else ""
    return word, "waiting, %s%s" % (next_text(doing.next_ns), failed)


def _read_record(path):
    """A record's bytes (at most 4 KiB; never followed, never waited on), None when it is
    not there or not a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW
                     | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# Small pure helpers for the command line and the exit code.

def seconds_from(text):
    """``-w``'s or ``$SVWAIT``'s seconds: runit's scan_ulong, imported only when there is one."""
    from .unix.scan import scan_ulong

    return scan_ulong(text)[0]


def is_in_svdir(name):
    """A name is looked up in SVDIR unless empty, absolute, ``.``-relative or ending in ``/``."""
    return bool(name) and name[0] not in "/." and name[-1] != "/"


def exit_code(count):
    """The number of fail/warning/timeout/kill events, capped at 99."""
    return min(count, MAX_RC)


def lsb_status_code(printed):
    """LSB ``status`` exit code from svstatus_print's result: 1 running, 2 down, 0 unknown."""
    return {1: 0, 2: 3}.get(printed, 4)


def usage_text(progname):
    """sv's usage text; a name other than ``sv`` is an LSB init script and gets that form."""
    text = USAGE_LSB if progname != "sv" else USAGE
    return b"usage: " + os.fsencode(progname) + text.encode() + b"\n\n"


def parse_args(args, progname):
    """runit's sgetopt over ``w:vV``: returns (index of the command, wait or None, verbose).

    ``-w`` also turns on ``-v`` (sv.c falls through). Problems and ``-V`` raise UsageError.
    """
    if not args or args[0][:1] != "-":
        return 0, None, False  # no option to read: sgetopt (and its import) is not needed
    from .unix.sgetopt import sgetopt

    wait = None
    verbose = False
    pairs, index = sgetopt(args, "w:vV", progname)
    for letter, value in pairs:
        if letter == "w":
            wait = seconds_from(value)
        elif letter == "V":
            raise UsageError(usage_text(progname), VERSION.encode() + b"\n")
        elif letter == "?":
            raise UsageError(usage_text(progname), value)
        verbose = True
    return index, wait, verbose


# ---------------------------------------------------------------------------------------------
# Effects.

class _Pending:
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


class _LsbExit(Exception):
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
        _write_all(1, data)

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
        _write_all(2, os.fsencode(text))

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
            raise _LsbExit(4)
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
            raise _LsbExit(lsb_status_code(printed))

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
            from .unix.environ import original_environ  # not os.environ: PEP 538's LC_CTYPE
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
        anything is left, each pending service gets something to wake on (``_Wakers``: a FIFO
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
                    wakers = _Wakers(self.command.acts)
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


class _Wakers:
    """What a wait wakes on, per service (cwd: the service when ``add`` is called):

    * a FIFO of its own in ``supervise/event/``, where our runsv writes a byte at each change
      (protocol/eventdir.py), and that directory's ``ok`` held write-only, which reports
      POLLERR when that runsv is gone — closing these costs nothing at sv's exit;
    * else (the C runsv, or ours killed) an inotify watch on its ``supervise/``, the instance
      made on first use (its teardown, at exit, waits for the kernel's grace period);
    * else nothing: it is polled every ``FALLBACK_POLL``.
    """

    def __init__(self, acts):
        import select  # only waiting commands need it

        self._select = select
        self.acts = acts
        self.poll = select.poll()
        self.by_fd = {}  # a waiter's FIFO or listener -> the item
        self.watcher = None
        self._watcher_tried = False
        self.mask = 0
        self.by_wd = {}

    def add(self, item):
        from ..protocol.eventdir import subscribe

        waiter = subscribe() if len(self.by_fd) < 2 * FIFO_WAITERS_MAX else None
        if waiter is not None:
            item.waiter = waiter
            self.by_fd[waiter.fd] = self.by_fd[waiter.listener] = item
            self.poll.register(waiter.fd, self._select.POLLIN)
            self.poll.register(waiter.listener, 0)  # POLLERR only: runsv gone
            return
        watcher = self._inotify()
        if watcher is not None:
            item.wd = _add_watch(watcher, self.mask)
            if item.wd is not None:
                self.by_wd.setdefault(item.wd, []).append(item)

    def _inotify(self):
        if not self._watcher_tried:
            self._watcher_tried = True
            self.watcher = _open_watcher()
            if self.watcher is not None:
                self.mask = _watch_mask(self.acts)
                self.poll.register(self.watcher.fd, self._select.POLLIN)
        return self.watcher

    def forget(self, item):
        """``item`` is done: its FIFO goes now (a runsv posting meanwhile skips it)."""
        waiter = item.waiter
        if waiter is not None:
            item.waiter = None
            for fd in (waiter.fd, waiter.listener):
                self._unregister(fd)
            waiter.close()

    def _unregister(self, fd):
        if self.by_fd.pop(fd, None) is not None:
            self.poll.unregister(fd)

    def wait(self, pending, timeout):
        """Sleep until something wakes a pending service or ``timeout`` seconds pass; each
        service woken is due now."""
        found = self.poll.poll(timeout * 1000.0)
        now = time.monotonic()
        for fd, _ in found:
            if self.watcher is not None and fd == self.watcher.fd:
                self._inotify_events(pending, now)
                continue
            item = self.by_fd.get(fd)
            if item is None:
                continue
            item.due = now
            if fd == item.waiter.fd:
                item.waiter.drain()
            else:
                # runsv is gone (or ours was killed): no more posts. Its listener would
                # report this at every poll; the safety look stays.
                self._unregister(fd)

    def _inotify_events(self, pending, now):
        for wd, mask, _cookie, name in self.watcher.read_events():
            kind = classify_event(mask, name)
            if kind is None:
                continue
            items = pending if kind == "all" else self.by_wd.get(wd, ())
            for item in items:
                item.due = now
                if kind == "exit":
                    item.settle_until = now + EXIT_SETTLE_FOR
                    item.settle_delay = EXIT_SETTLE_FIRST
            if kind == "gone":
                for item in self.by_wd.pop(wd, ()):
                    item.wd = None  # watched again on the next evaluation

    def close(self):
        for item in list(self.by_fd.values()):
            self.forget(item)
        if self.watcher is not None:
            self.watcher.close()


def classify_event(mask, name):
    """What an inotify event in ``supervise/`` means for a wait, or None to ignore it.

    ``status`` is renamed into place (IN_MOVED_TO) or written in place (IN_CLOSE_WRITE).
    runsv's exit shows as IN_CLOSE_NOWRITE on ``ok`` (its reader closing); sv's own probes open
    ``ok`` write-only and read ``status`` read-only, so neither wakes a re-evaluation.
    """
    from .unix import inotify as ino

    if mask & ino.IN_Q_OVERFLOW:
        return "all"
    if mask & (ino.IN_IGNORED | ino.IN_DELETE_SELF | ino.IN_MOVE_SELF | ino.IN_UNMOUNT):
        return "gone"
    if name == layout.STATUS and mask & (ino.IN_MOVED_TO | ino.IN_CLOSE_WRITE | ino.IN_DELETE):
        return "status"
    if name == layout.READINESS and mask & ino.IN_MOVED_TO:
        return "status"  # the service said READY=1 (docs/readiness.md)
    if name == layout.OK and mask & (ino.IN_CLOSE_NOWRITE | ino.IN_DELETE):
        return "exit"
    if name == layout.LOCK and mask & ino.IN_CLOSE_WRITE:
        return "exit"
    return None


def readiness_verdict(status):
    """Whether the ``./run`` that ``status`` shows said ``READY=1``, from
    ``supervise/readiness`` (cwd: the service). With no record about that process: not yet
    (False) when the service declares readiness (``./ready``: runsv writes the record just
    after the status that names the pid), else None (``./check`` decides, as in runit).
    Never followed, never waited on, at most 4 KiB."""
    if not status.pid:
        return None
    record = _readiness_record()
    if record is None or record.pid != status.pid or record.state == "down":
        return False if os.path.lexists(layout.READY) else None
    return record.state == "ready"


def _readiness_record():
    try:
        fd = os.open(layout.SUPERVISE_DIR + "/" + layout.READINESS,
                     os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    from ..protocol.readiness import readiness_from_bytes
    return readiness_from_bytes(data)


def _watch_mask(acts):
    from .unix import inotify as ino

    mask = (ino.IN_MOVED_TO | ino.IN_CLOSE_WRITE | ino.IN_DELETE | ino.IN_DELETE_SELF
            | ino.IN_MOVE_SELF | ino.IN_ONLYDIR)
    if "x" in acts:
        mask |= ino.IN_CLOSE_NOWRITE  # runsv's ok reader going away
    return mask


def _open_watcher():
    """An Inotify, or None (poll instead) where the platform has none."""
    try:
        from .unix.inotify import Inotify

        return Inotify()
    except (ImportError, OSError):
        return None


def _add_watch(watcher, mask):
    try:
        return watcher.add_watch(layout.SUPERVISE_DIR, mask)
    except OSError:
        return None  # this service is polled


def error_str(number):
    """runit's error text; the table is loaded only when sv has an error to print."""
    from ..protocol.errstr import error_str as lookup

    return lookup(number)


def _write_all(fd, data):
    while data:
        try:
            written = os.write(fd, data)
        except InterruptedError:
            continue
        except OSError:
            return  # a closed or broken stdout/stderr is not sv's failure to report
        data = data[written:]


# ---------------------------------------------------------------------------------------------

def run(argv, environ):
    """sv proper; returns the exit code, raises UsageError/FatalError/_LsbExit."""
    progname = argv[0].rsplit("/", 1)[-1] if argv else "sv"
    lsb = progname != "sv"
    svdir = environ.get("SVDIR", DEFAULT_SVDIR)
    wait = DEFAULT_WAIT
    if "SVWAIT" in environ:
        wait = seconds_from(environ["SVWAIT"])
    args = argv[1:]
    index, wait_option, verbose = parse_args(args, progname)
    if wait_option is not None:
        wait = wait_option
    if index >= len(args):
        raise UsageError(usage_text(progname))
    action = args[index]
    services = [progname] if lsb else args[index + 1:]
    if not services:
        raise UsageError(usage_text(progname))
    start_ns = time.time_ns()
    start_mono = time.monotonic()
    command = command_for(action, lsb)
    session = Session(command or STATUS, svdir, wait, lsb, start_ns, start_mono)
    session.open_curdir()  # sv.c opens "." before it looks at the command word
    if command is None:
        raise UsageError(usage_text(progname))

    waits = command.waits == ALWAYS or (command.waits == VERBOSE and verbose)
    try:
        pending = []
        for name in services:
            if session.enter(name):
                if command is STATUS:
                    session.show_status(name)
                elif not command.sends:
                    pending.append(_Pending(name, Baseline(start_ns)))
                else:
                    result, before = session.send(name, command.acts)
                    if result >= 0:
                        pending.append(_Pending(name, Baseline(start_ns, before),
                                                sent_unread=before is None))
            session.leave()
        if waits and pending:
            session.wait(pending)
    finally:
        session.close_curdir()
    return exit_code(session.rc)


def main(argv=None):
    if argv is None:
        argv = sys.argv
        show_program(argv, "sv")
    progname = argv[0].rsplit("/", 1)[-1] if argv else "sv"
    lsb = progname != "sv"
    try:
        return run(argv, os.environ)
    except UsageError as exc:
        _write_all(2, exc.text)
        return EXIT_USAGE_LSB if lsb else EXIT_USAGE
    except FatalError as exc:
        Session.stderr("fatal: %s\n" % exc)
        return EXIT_FATAL_LSB if lsb else EXIT_FATAL
    except _LsbExit as exc:
        return exc.code
    except KeyboardInterrupt:
        _die_of_sigint()
        return 130


def _die_of_sigint():
    # Die of SIGINT as the C sv would, not with a traceback.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)


if __name__ == "__main__":
    # ``python -m`` puts this file's path in argv[0], which would look like an LSB link.
    sys.exit(main(["sv"] + sys.argv[1:]))
