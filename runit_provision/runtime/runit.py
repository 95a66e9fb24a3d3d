"""runtime: ``runit`` — process 1: run stage 1, keep stage 2 running, run stage 3, halt or reboot.

runit 2.3.0's ``runit.c`` with Debian's paths (docs/runit-protocol.md §6):

* Not process 1: ``- runit: fatal: must be run as process no 1.``, exit 111. Nothing else
  runs before that check.
* Stage 1 (``/etc/runit/1``) gets ``/dev/console`` as its stdin. It is followed by stage 2,
  unless it exits 100 or is killed by a signal (2.3.0; 2.1.2 treats a crash as exit 0): then
  runit says ``skipping stage 2...`` and goes on with stage 3.
* Stage 2 (``/etc/runit/2``) runs in its own session. If it exits 111 or is killed by a
  signal (2.3.0), runit SIGKILLs its process group, waits 5 s and starts it again. Any other
  exit leads to stage 3.
* CONT and INT act only in stage 2. INT runs ``ctrlaltdel`` if it has u+x and then counts as
  CONT. CONT with ``stopit`` u+x: chmod ``stopit`` 0, TERM stage 2, KILL it if it is still
  there after 5 s, go on with stage 3. Elsewhere: ``signals only work in stage 2.``.
* Stage 3 (``/etc/runit/3``) runs in its own session. Then ``kill(-1, SIGKILL)``, and a forked
  child reboots (``reboot`` has u+x) or powers off, then halts. Each attempt syncs first
  unless ``/etc/runit/nosync`` exists.

Every orphan the kernel hands to process 1 is reaped at all times, during the waits too: the
5 s waits are timers on the event loop, not sleeps. Messages go to ``/dev/console`` with
runit's texts; like runit, it reopens the console as stderr before each event it handles.

Paths: ``/etc/runit/{1,2,3,ctrlaltdel,nosync}``; the flag files are Debian's
``/run/runit.stopit`` and ``/run/runit.reboot``, shared with ``runit-init`` (runit.h in C).
Test overrides: ``$RUNIT_DIR`` replaces ``/etc/runit``; ``$RUNIT_STOPIT`` and
``$RUNIT_REBOOT`` as for runit-init.
"""

import collections
import errno
import os
import signal
import stat
import sys
import time

from ..protocol.errstr import oserror_str
from ..protocol.layout import RUNIT_DIR, runit_flag_paths
from .unix.diag import write_line
from .unix.procname import show_program
from .supervision.engine.loop import EventLoop
from .supervision.engine.spawn import Spawner

CONSOLE = "/dev/console"
# runit.c's $Id as Debian's 2.1.2 binary prints it (runit-init uses its own 2.1.2 line too).
VERSION = "$Id: 25da3b86f7bed4038b8a039d2f8e8c9bbcf0822b $"
INFO = "- runit: "
WARNING = "- runit: warning: "
FATAL = "- runit: fatal: "

STOP_GRACE_SECONDS = 5.0  # CONT: stage 2 gets this long after TERM before KILL
RESTART_DELAY_SECONDS = 5.0  # a stage 2 that exited 111 or crashed starts again after this
FORK_RETRY_SECONDS = 5.0
HALT_AFTER_POWER_OFF_SECONDS = 2.0  # runit: sleep(2) between RB_POWER_OFF and RB_HALT_SYSTEM

# reboot(2) commands, <sys/reboot.h>
RB_AUTOBOOT = 0x01234567
RB_HALT_SYSTEM = 0xCDEF0123
RB_POWER_OFF = 0x4321FEDC
RB_DISABLE_CAD = 0  # ctrl-alt-del sends SIGINT to process 1 instead of rebooting at once

# Blocked for good, as runit blocks them: pending forever, never acted on (runit.c main()).
_BLOCKED_FOR_GOOD = (signal.SIGALRM, signal.SIGHUP, signal.SIGPIPE, signal.SIGTERM)
_HANDLED = (signal.SIGCHLD, signal.SIGCONT, signal.SIGINT)


class Paths(collections.namedtuple("Paths", "stages ctrlaltdel nosync stopit reboot")):
    """Where runit looks: ``stages`` are the three stage programs, in order."""


def paths_from_env(environ):
    """runit's paths: Debian's defaults unless the test overrides are set."""
    base = environ.get("RUNIT_DIR", RUNIT_DIR)
    stopit, reboot = runit_flag_paths(environ)
    return Paths(stages=tuple(os.path.join(base, name) for name in ("1", "2", "3")),
                 ctrlaltdel=os.path.join(base, "ctrlaltdel"),
                 nosync=os.path.join(base, "nosync"), stopit=stopit, reboot=reboot)


# -- runit's decisions, no I/O ---------------------------------------------------------------
NEXT_STAGE = "next stage"
SKIP_STAGE_2 = "skip stage 2"
RESTART_STAGE_2 = "restart stage 2"


def after_stage(index, path, wait_status):
    """(console lines, action) once stage ``index`` (0, 1 or 2) at ``path`` has exited.

    ``action`` is NEXT_STAGE (after stage 3: shut down), SKIP_STAGE_2 or RESTART_STAGE_2.
    2.3.0: a crash counts as a failure (2.1.2 took it for exit 0), so a crashed stage 1 skips
    stage 2 and a crashed stage 2 is restarted.
    """
    crashed = os.WIFSIGNALED(wait_status)
    code = os.WEXITSTATUS(wait_status) if os.WIFEXITED(wait_status) else 0
    lines = []
    if crashed or code != 0:
        lines.append(WARNING + ("child crashed: " if crashed else "child failed: ") + path)
        if index == 0 and (crashed or code == 100):
            lines += [INFO + "leave stage: " + path, WARNING + "skipping stage 2..."]
            return lines, SKIP_STAGE_2
        if index == 1 and (crashed or code == 111):
            lines.append(WARNING + "killing all processes in stage 2...")
            return lines, RESTART_STAGE_2
    lines.append(INFO + "leave stage: " + path)
    return lines, NEXT_STAGE


def power_down_steps(reboot):
    """(console line, reboot(2) command) in the order runit tries them after stage 3."""
    if reboot:
        return [(INFO + "system reboot.", RB_AUTOBOOT)]
    # Linux has both: power off, and if that returns, halt (runit.c's #ifdef chain).
    return [(INFO + "power off...", RB_POWER_OFF), (INFO + "system halt.", RB_HALT_SYSTEM)]


class Runner:
    """The three stages and runit's CONT/INT handling; every effect goes through ``host``.

    runit.c keeps CONT, INT and CHLD blocked except while it waits for the running stage, so a
    signal that arrives while it is busy — between stages, during the 5 s restart delay, while
    ``ctrlaltdel`` runs, while stage 2 is being stopped — is looked at only afterwards. The
    runner does the same: such signals are *held* and acted on once a stage runs again (a
    CONT held across the stop of stage 2 thus meets stage 3: "signals only work in stage 2.").
    """

    def __init__(self, host, paths):
        self.host = host
        self.paths = paths
        self.stage = 0  # index into paths.stages
        self.pid = 0  # of the running stage
        self.conts = 0  # runit.c's sigc: CONTs (and finished ctrl-alt-del requests) to act on
        self.ints = 0  # runit.c's sigi
        self._held = [0, 0]  # [CONTs, INTs] that arrived while held; None while listening
        self._ctrlaltdel_pid = 0
        self._stage_2_exit = None  # (pid, status) of a stage 2 that exited while ctrlaltdel ran
        self._stopping = False
        self._timer = None

    def boot(self):
        self.host.say(INFO + VERSION + ": booting.")
        self._enter(0)

    # -- events ---------------------------------------------------------------------------
    def on_signal(self, signum):
        self.host.reget_console()
        index = 0 if signum == signal.SIGCONT else 1
        if self._held is not None:
            self._held[index] += 1
            return
        if index == 0:
            self.conts += 1
        else:
            self.ints += 1
        self._act_on_signals()

    def _on_stage_exit(self, pid, wait_status):
        if pid != self.pid:
            return
        self.host.reget_console()
        self.pid = 0
        if self._ctrlaltdel_pid:
            # runit.c is blocked in wait_pid(ctrlaltdel) and only sees this afterwards.
            self._stage_2_exit = (pid, wait_status)
            return
        if self._stopping:
            self._stopping = False
            self._cancel_timer()
            self._leave_stage_2()
            return
        self._stage_done(pid, wait_status)

    # -- stages ---------------------------------------------------------------------------
    def _enter(self, index):
        self._hold()
        self.stage = index
        path = self.paths.stages[index]
        pid = self._start(path, lambda: self._enter(index), console_stdin=index == 0,
                          new_session=index != 0)
        if pid is None:
            return  # the fork failed; _start has scheduled another try
        if pid == 0:
            self._stage_done(0, 0)  # runit's child says it could not exec, and exits 0
            return
        self.pid = pid
        self.host.watch(pid, self._on_stage_exit)
        self._listen()

    def _start(self, path, retry, console_stdin=False, new_session=False):
        """The new child's pid; 0 if it could not be executed; None if the fork failed."""
        try:
            return self.host.spawn(path, INFO + "enter stage: " + path,
                                   console_stdin=console_stdin, new_session=new_session)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ENOMEM):
                self.host.say('%sunable to fork for "%s" pausing: %s'
                              % (FATAL, path, oserror_str(exc)))
                self._timer = self.host.call_later(FORK_RETRY_SECONDS, retry)
                return None
            # runit's child prints this and exits 0; posix_spawn tells the parent instead.
            self.host.say("%sunable to start child: %s: %s" % (FATAL, path, oserror_str(exc)))
            return 0

    def _stage_done(self, pid, wait_status):
        self._hold()
        lines, action = after_stage(self.stage, self.paths.stages[self.stage], wait_status)
        for line in lines:
            self.host.say(line)
        if action == RESTART_STAGE_2:
            if pid:
                self.host.kill(-pid, signal.SIGKILL)  # stage 2 leads its own process group
            self._timer = self.host.call_later(RESTART_DELAY_SECONDS, self._restart_stage_2)
        elif action == SKIP_STAGE_2:
            self._enter(2)
        elif self.stage < 2:
            self._enter(self.stage + 1)
        else:
            self._power_down()

    def _restart_stage_2(self):
        self._timer = None
        self.host.say(WARNING + "restarting.")
        self._enter(1)

    def _leave_stage_2(self):
        self.host.say(INFO + "leave stage: " + self.paths.stages[1])
        self._enter(2)

    def _power_down(self):
        self.host.reget_console()
        self.host.say(INFO + "sending KILL signal to all processes...")
        self.host.kill_all()
        reboot = self.host.is_user_executable(self.paths.reboot)
        self.host.power_down(power_down_steps(reboot))

    # -- signals --------------------------------------------------------------------------
    def _hold(self):
        if self._held is None:
            self._held = [0, 0]

    def _listen(self):
        held, self._held = self._held, None
        if held:
            self.conts += held[0]
            self.ints += held[1]
            self._act_on_signals()

    def _act_on_signals(self):
        if not (self.conts or self.ints):
            return
        if self.stage != 1:
            self.host.say(WARNING + "signals only work in stage 2.")
            self.conts = self.ints = 0
            return
        if self.ints and self.host.is_user_executable(self.paths.ctrlaltdel):
            self.host.say(INFO + "ctrl-alt-del request...")
            self._hold()
            self._run_ctrlaltdel()
            return
        self._stop_if_asked()

    def _run_ctrlaltdel(self):
        pid = self._start(self.paths.ctrlaltdel, self._run_ctrlaltdel)
        if pid is None:
            return
        if pid == 0:
            self._ctrlaltdel_done(0, 0)
            return
        self._ctrlaltdel_pid = pid
        self.host.watch(pid, self._ctrlaltdel_done)

    def _ctrlaltdel_done(self, pid, wait_status):
        self.host.reget_console()
        self._ctrlaltdel_pid = 0
        if os.WIFSIGNALED(wait_status):
            self.host.say(WARNING + "child crashed: " + self.paths.ctrlaltdel)
        self.host.say(INFO + "leave stage: " + self.paths.ctrlaltdel)
        self.ints = 0
        self.conts += 1  # ctrl-alt-del goes on as a CONT: usually ctrlaltdel made stopit u+x
        if self._stop_if_asked():
            return
        stage_2_exit, self._stage_2_exit = self._stage_2_exit, None
        if stage_2_exit is not None:
            self._stage_done(*stage_2_exit)
            return
        self._listen()

    def _stop_if_asked(self):
        """runit.c's CONT request: with ``stopit`` u+x, stop stage 2 (True), else forget it."""
        if not (self.conts and self.host.is_user_executable(self.paths.stopit)):
            self.conts = self.ints = 0
            return False
        self.host.chmod(self.paths.stopit, 0)  # runit ignores a failure here
        self.conts = 0
        self._hold()
        if self._stage_2_exit is not None:
            # Stage 2 already exited while ctrlaltdel ran; there is nothing left to TERM.
            self._stage_2_exit = None
            self._leave_stage_2()
            return True
        self._stopping = True
        self.host.kill(self.pid, signal.SIGTERM)
        self._timer = self.host.call_later(STOP_GRACE_SECONDS, self._stage_2_not_terminated)
        return True

    def _stage_2_not_terminated(self):
        self._timer = None
        self.host.reget_console()
        self.host.say(WARNING + "stage 2 not terminated, sending sigkill...")
        self.host.kill(self.pid, signal.SIGKILL)

    def _cancel_timer(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


# -- process 1 ---------------------------------------------------------------------------------
def _open_console(flags):
    return os.open(CONSOLE, flags | os.O_CLOEXEC)


def _console_as(fds):
    """runit's open_write(console) dup'ed onto ``fds``; without a console, keep what we have."""
    try:
        fd = _open_console(os.O_WRONLY | os.O_NDELAY)
    except OSError:
        return
    for target in fds:
        if target == fd:
            os.set_inheritable(fd, True)  # the stages write to it
        else:
            os.dup2(fd, target)  # inheritable, as dup2 makes it
    if fd not in fds:
        os.close(fd)


def _require_process_1():
    # kill(-1) and reboot(2) end the whole system (or the whole PID namespace): never from
    # anything but its init.
    if os.getpid() != 1:
        raise RuntimeError("runit: refusing to kill(-1) or reboot: not process 1")


class System:
    """The Runner's host as process 1: console, children, signals, reboot(2)."""

    def __init__(self, loop, spawner):
        self.loop = loop
        self.spawner = spawner
        self.steps = None  # what power_down() asked for, done by main() once the loop stops

    def say(self, line):
        write_line(2, line)

    def reget_console(self):
        _console_as((2,))

    def spawn(self, path, announce, console_stdin=False, new_session=False):
        stdin_fd = None
        if console_stdin:
            # Stage 1 owns the console. runit also tries TIOCSCTTY there, which cannot work:
            # the stage is not a session leader (runit is), so the ioctl always fails.
            try:
                stdin_fd = _open_console(os.O_RDWR)
            except OSError as exc:
                self.say("%sunable to open %s: %s" % (WARNING, CONSOLE, oserror_str(exc)))
        self.say(announce)  # runit's child says it just before execve()
        try:
            return self.spawner.spawn([path], stdin_fd=stdin_fd, new_session=new_session)
        finally:
            if stdin_fd is not None:
                os.close(stdin_fd)

    def watch(self, pid, callback):
        self.loop.watch_child(pid, callback)

    def call_later(self, delay, callback):
        return self.loop.call_later(delay, callback)

    def kill(self, pid, signum):
        if pid in (0, -1):
            raise ValueError("runit: kill(%d) would hit more than a stage" % pid)
        self.spawner.kill(pid, signum)

    def kill_all(self):
        _require_process_1()
        self.spawner.kill(-1, signal.SIGKILL)  # ESRCH: nothing else was left

    @staticmethod
    def is_user_executable(path):
        try:
            return bool(os.stat(path).st_mode & stat.S_IXUSR)
        except OSError:
            return False

    @staticmethod
    def chmod(path, mode):
        try:
            os.chmod(path, mode)
        except OSError:
            pass

    def power_down(self, steps):
        self.steps = steps
        self.loop.stop()


def _libc_reboot():
    from ctypes import c_int  # deferred: only process 1 on its way down needs it

    from .unix.libc import libc

    function = libc().reboot

    def reboot(command):
        return function(c_int(command))  # c_int: the commands are C ints
    return reboot


def power_down(steps, nosync):
    """Do ``steps`` in a child, as runit: the kernel ends the caller of a halt (do_exit), and
    process 1 must not end. In a PID namespace the kernel instead kills the namespace's init
    with SIGHUP (reboot) or SIGINT (power off, halt). Returns in process 1."""
    _require_process_1()
    reboot = _libc_reboot()
    try:
        pid = os.fork()
    except OSError:
        pid = -1  # runit goes ahead in process 1 itself
    if pid > 0:
        return
    try:
        for number, (line, command) in enumerate(steps):
            if number:
                time.sleep(HALT_AFTER_POWER_OFF_SECONDS)
            write_line(2, line)
            if not os.path.exists(nosync):
                os.sync()
            reboot(command)
    finally:
        if pid == 0:
            os._exit(0)  # whatever happened, the child never goes back to process 1's loop


def _become_init():
    """runit.c's set-up: own session, signals blocked, the console as fds 0, 1 and 2."""
    try:
        os.setsid()
    except OSError:
        pass
    signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED_FOR_GOOD + _HANDLED)
    _console_as((0, 1, 2))


def main(argv=None):
    # runit takes no arguments and looks at none (argv is accepted for the house signature).
    if argv is None:
        show_program(sys.argv, "runit")
    if os.getpid() != 1:
        write_line(2, FATAL + "must be run as process no 1.")
        return 111
    _become_init()
    paths = paths_from_env(os.environ)

    def report_internal_error(exc):
        # Process 1 must not end: a bug in one callback is reported and the loop goes on.
        write_line(2, "%sinternal error: %s: %s" % (WARNING, type(exc).__name__, exc))

    loop = EventLoop(handle_error=report_internal_error)
    system = System(loop, Spawner())
    runner = Runner(system, paths)
    for signum in (signal.SIGCONT, signal.SIGINT):
        loop.add_signal_handler(signum, lambda signum=signum: runner.on_signal(signum))
    _libc_reboot()(RB_DISABLE_CAD)  # EINVAL inside a PID namespace; nothing to do about it
    loop.call_later(0, runner.boot)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _HANDLED)
    loop.run()
    power_down(system.steps, paths.nosync)
    while True:  # process 1 never ends: reap whatever kill(-1) and the kernel leave behind
        loop.run()


if __name__ == "__main__":
    sys.exit(main())
