"""runit's stage runner without processes: the decision table and the Runner on a fake host.

The real boots (PID namespaces, both implementations) are in tests/runtime/test_runit.py;
here are the paths no boot reaches cheaply: crashes, failed forks and execs, signals that
arrive while runit has them blocked, the 5 s timers.
"""

import errno
import signal

import pytest

from runit_provision.runtime import runit as r

from .fakes import FakeClock, FakeTimer

PATHS = r.Paths(stages=("/e/1", "/e/2", "/e/3"), ctrlaltdel="/e/ctrlaltdel",
                nosync="/e/nosync", stopit="/run/stopit", reboot="/run/reboot")
BOOTING = "- runit: $Id: 25da3b86f7bed4038b8a039d2f8e8c9bbcf0822b $: booting."


def exited(code):
    return code << 8


def killed(signum):
    return signum


class Host:
    """The Runner's host, recording: console lines, children, signals, timers, the end."""

    def __init__(self, executable=()):
        self.clock = FakeClock()
        self.executable = set(executable)
        self.fail = {}  # path -> errno of the next spawn
        self.lines = []
        self.children = {}  # pid -> (path, console_stdin, new_session)
        self.watchers = {}
        self.timers = []
        self.kills = []
        self.chmods = []
        self.steps = None
        self.next_pid = 10

    # host interface
    def say(self, line):
        self.lines.append(line)

    def reget_console(self):
        pass

    def spawn(self, path, announce, console_stdin=False, new_session=False):
        self.lines.append(announce)
        error = self.fail.pop(path, None)
        if error is not None:
            raise OSError(error, "fake")
        self.next_pid += 1
        self.children[self.next_pid] = (path, console_stdin, new_session)
        return self.next_pid

    def watch(self, pid, callback):
        self.watchers[pid] = callback

    def call_later(self, delay, callback):
        timer = FakeTimer(self.clock.monotonic() + delay, callback)
        self.timers.append(timer)
        return timer

    def kill(self, pid, signum):
        self.kills.append((pid, signum))

    def kill_all(self):
        self.kills.append(("all", signal.SIGKILL))

    def is_user_executable(self, path):
        return path in self.executable

    def chmod(self, path, mode):
        self.chmods.append((path, mode))
        if not mode & 0o100:
            self.executable.discard(path)

    def power_down(self, steps):
        self.steps = steps

    # test helpers
    def pid_of(self, path):
        """The newest child started from ``path``."""
        return max(pid for pid, child in self.children.items() if child[0] == path)

    def exit(self, path, wait_status):
        pid = self.pid_of(path)
        self.watchers.pop(pid)(pid, wait_status)

    def advance(self, seconds):
        self.clock.advance(seconds)
        for timer in [t for t in self.timers if t.when <= self.clock.now and not t.cancelled]:
            self.timers.remove(timer)
            timer.cancelled = True
            timer.callback()

    def take_lines(self):
        lines, self.lines = self.lines, []
        return lines


def in_stage_2(executable=()):
    host = Host(executable)
    runner = r.Runner(host, PATHS)
    runner.boot()
    host.exit("/e/1", exited(0))
    host.take_lines()
    return host, runner


# -- the decision table ------------------------------------------------------------------------
@pytest.mark.parametrize("index, status, lines, action", [
    (0, exited(0), ["- runit: leave stage: /e/1"], r.NEXT_STAGE),
    (0, exited(1), ["- runit: warning: child failed: /e/1", "- runit: leave stage: /e/1"],
     r.NEXT_STAGE),
    (0, exited(100), ["- runit: warning: child failed: /e/1", "- runit: leave stage: /e/1",
                      "- runit: warning: skipping stage 2..."], r.SKIP_STAGE_2),
    (0, killed(9), ["- runit: warning: child crashed: /e/1", "- runit: leave stage: /e/1",
                    "- runit: warning: skipping stage 2..."], r.SKIP_STAGE_2),
    (1, exited(0), ["- runit: leave stage: /e/2"], r.NEXT_STAGE),
    (1, exited(100), ["- runit: warning: child failed: /e/2", "- runit: leave stage: /e/2"],
     r.NEXT_STAGE),
    (1, exited(111), ["- runit: warning: child failed: /e/2",
                      "- runit: warning: killing all processes in stage 2..."],
     r.RESTART_STAGE_2),
    (1, killed(15), ["- runit: warning: child crashed: /e/2",
                     "- runit: warning: killing all processes in stage 2..."],
     r.RESTART_STAGE_2),
    (1, killed(9) | 0x80, ["- runit: warning: child crashed: /e/2",
                           "- runit: warning: killing all processes in stage 2..."],
     r.RESTART_STAGE_2),
    (2, exited(111), ["- runit: warning: child failed: /e/3", "- runit: leave stage: /e/3"],
     r.NEXT_STAGE),
    (2, killed(9), ["- runit: warning: child crashed: /e/3", "- runit: leave stage: /e/3"],
     r.NEXT_STAGE),
])
def test_after_stage(index, status, lines, action):
    assert r.after_stage(index, PATHS.stages[index], status) == (lines, action)


def test_power_down_steps():
    assert r.power_down_steps(True) == [("- runit: system reboot.", r.RB_AUTOBOOT)]
    assert r.power_down_steps(False) == [("- runit: power off...", r.RB_POWER_OFF),
                                         ("- runit: system halt.", r.RB_HALT_SYSTEM)]


def test_paths_default_to_debians_and_take_the_test_overrides():
    assert r.paths_from_env({}) == r.Paths(
        stages=("/etc/runit/1", "/etc/runit/2", "/etc/runit/3"),
        ctrlaltdel="/etc/runit/ctrlaltdel", nosync="/etc/runit/nosync",
        stopit="/run/runit.stopit", reboot="/run/runit.reboot")
    paths = r.paths_from_env({"RUNIT_DIR": "/t/etc", "RUNIT_STOPIT": "/t/s",
                              "RUNIT_REBOOT": "/t/r"})
    assert paths.stages == ("/t/etc/1", "/t/etc/2", "/t/etc/3")
    assert (paths.ctrlaltdel, paths.nosync, paths.stopit, paths.reboot) == (
        "/t/etc/ctrlaltdel", "/t/etc/nosync", "/t/s", "/t/r")


# -- the Runner ----------------------------------------------------------------------------------
def test_a_whole_boot_and_halt():
    host = Host()
    runner = r.Runner(host, PATHS)
    runner.boot()
    assert host.children[host.pid_of("/e/1")] == ("/e/1", True, False)  # console, no setsid
    host.exit("/e/1", exited(0))
    assert host.children[host.pid_of("/e/2")] == ("/e/2", False, True)  # own session
    host.exit("/e/2", exited(0))
    assert host.children[host.pid_of("/e/3")] == ("/e/3", False, True)
    host.exit("/e/3", exited(0))
    assert host.take_lines() == [
        BOOTING,
        "- runit: enter stage: /e/1", "- runit: leave stage: /e/1",
        "- runit: enter stage: /e/2", "- runit: leave stage: /e/2",
        "- runit: enter stage: /e/3", "- runit: leave stage: /e/3",
        "- runit: sending KILL signal to all processes...",
    ]
    assert host.kills == [("all", signal.SIGKILL)]
    assert host.steps == r.power_down_steps(False)


def test_reboot_when_the_reboot_flag_has_u_x():
    host, runner = in_stage_2(executable={"/run/reboot"})
    host.exit("/e/2", exited(0))
    host.exit("/e/3", exited(0))
    assert host.steps == r.power_down_steps(True)


def test_stage_1_exit_100_skips_stage_2():
    host = Host()
    r.Runner(host, PATHS).boot()
    host.exit("/e/1", exited(100))
    assert not any(child[0] == "/e/2" for child in host.children.values())
    assert host.pid_of("/e/3")


def test_stage_2_exit_111_kills_its_group_and_restarts_after_5_seconds():
    host, runner = in_stage_2()
    first = host.pid_of("/e/2")
    host.exit("/e/2", exited(111))
    assert host.kills == [(-first, signal.SIGKILL)]
    host.advance(4.9)
    assert host.pid_of("/e/2") == first
    host.advance(0.1)
    assert host.pid_of("/e/2") != first
    assert host.take_lines() == [
        "- runit: warning: child failed: /e/2",
        "- runit: warning: killing all processes in stage 2...",
        "- runit: warning: restarting.",
        "- runit: enter stage: /e/2",
    ]


def test_a_crashed_stage_2_is_restarted_too():
    host, runner = in_stage_2()
    host.exit("/e/2", killed(signal.SIGSEGV))
    host.advance(5)
    assert runner.stage == 1 and runner.pid == host.pid_of("/e/2")


def test_signals_only_work_in_stage_2():
    host = Host(executable={"/run/stopit"})
    runner = r.Runner(host, PATHS)
    runner.boot()
    host.take_lines()
    runner.on_signal(signal.SIGCONT)
    runner.on_signal(signal.SIGINT)
    assert host.take_lines() == ["- runit: warning: signals only work in stage 2."] * 2
    assert host.kills == [] and host.chmods == []


def test_cont_without_stopit_is_forgotten():
    host, runner = in_stage_2()
    runner.on_signal(signal.SIGCONT)
    assert (host.take_lines(), host.kills) == ([], [])
    host.executable.add("/run/stopit")  # a later stopit does not revive the old CONT
    host.exit("/e/2", exited(0))
    assert host.kills == []


def test_cont_with_stopit_terms_stage_2_and_goes_on_when_it_exits():
    host, runner = in_stage_2(executable={"/run/stopit"})
    stage_2 = host.pid_of("/e/2")
    runner.on_signal(signal.SIGCONT)
    assert host.chmods == [("/run/stopit", 0)]
    assert host.kills == [(stage_2, signal.SIGTERM)]
    host.exit("/e/2", exited(111))  # the exit code no longer matters: no restart
    assert host.take_lines() == ["- runit: leave stage: /e/2", "- runit: enter stage: /e/3"]
    host.advance(10)  # the KILL timer was cancelled
    assert host.kills == [(stage_2, signal.SIGTERM)]


def test_a_stage_2_that_ignores_term_is_killed_after_5_seconds():
    host, runner = in_stage_2(executable={"/run/stopit"})
    stage_2 = host.pid_of("/e/2")
    runner.on_signal(signal.SIGCONT)
    host.advance(4.9)
    assert host.kills == [(stage_2, signal.SIGTERM)]
    host.advance(0.1)
    assert host.kills == [(stage_2, signal.SIGTERM), (stage_2, signal.SIGKILL)]
    host.exit("/e/2", killed(signal.SIGKILL))
    assert host.take_lines() == ["- runit: warning: stage 2 not terminated, sending sigkill...",
                                 "- runit: leave stage: /e/2", "- runit: enter stage: /e/3"]


def test_int_runs_ctrlaltdel_then_acts_as_cont():
    host, runner = in_stage_2(executable={"/e/ctrlaltdel"})
    runner.on_signal(signal.SIGINT)
    assert host.children[host.pid_of("/e/ctrlaltdel")] == ("/e/ctrlaltdel", False, False)
    host.executable.add("/run/stopit")  # what a ctrlaltdel script does
    host.exit("/e/ctrlaltdel", exited(0))
    assert host.kills == [(host.pid_of("/e/2"), signal.SIGTERM)]
    assert host.take_lines() == ["- runit: ctrl-alt-del request...",
                                 "- runit: enter stage: /e/ctrlaltdel",
                                 "- runit: leave stage: /e/ctrlaltdel"]


def test_int_without_ctrlaltdel_and_a_crashed_ctrlaltdel():
    host, runner = in_stage_2(executable={"/run/stopit"})
    runner.on_signal(signal.SIGINT)  # no ctrlaltdel: nothing, and not a CONT either
    assert (host.take_lines(), host.kills) == ([], [])
    host.executable = {"/e/ctrlaltdel"}
    runner.on_signal(signal.SIGINT)
    host.exit("/e/ctrlaltdel", killed(signal.SIGKILL))
    assert host.take_lines()[-2:] == ["- runit: warning: child crashed: /e/ctrlaltdel",
                                      "- runit: leave stage: /e/ctrlaltdel"]
    assert host.kills == [] and runner.stage == 1  # no stopit: stage 2 goes on


def test_an_int_while_ctrlaltdel_runs_runs_it_again_afterwards():
    host, runner = in_stage_2(executable={"/e/ctrlaltdel"})
    runner.on_signal(signal.SIGINT)
    first = host.pid_of("/e/ctrlaltdel")
    runner.on_signal(signal.SIGINT)  # runit.c has INT blocked in wait_pid(ctrlaltdel)
    assert host.pid_of("/e/ctrlaltdel") == first
    host.exit("/e/ctrlaltdel", exited(0))  # no stopit: the first request ends here
    assert host.pid_of("/e/ctrlaltdel") != first


def test_stage_2_exiting_while_ctrlaltdel_runs_is_seen_afterwards():
    host, runner = in_stage_2(executable={"/e/ctrlaltdel"})
    runner.on_signal(signal.SIGINT)
    host.exit("/e/2", exited(111))
    assert not host.kills and runner.stage == 1
    host.exit("/e/ctrlaltdel", exited(0))  # no stopit: the exit is handled as usual
    assert host.kills == [(-host.pid_of("/e/2"), signal.SIGKILL)]


def test_stage_2_gone_during_ctrlaltdel_with_stopit_is_not_signalled():
    host, runner = in_stage_2(executable={"/e/ctrlaltdel", "/run/stopit"})
    runner.on_signal(signal.SIGINT)
    host.exit("/e/2", exited(111))
    host.exit("/e/ctrlaltdel", exited(0))
    assert host.kills == []  # its pid is reaped and may be anyone's now
    assert host.take_lines()[-2:] == ["- runit: leave stage: /e/2", "- runit: enter stage: /e/3"]


def test_cont_during_the_restart_delay_acts_on_the_new_stage_2():
    host, runner = in_stage_2(executable={"/run/stopit"})
    host.exit("/e/2", exited(111))
    runner.on_signal(signal.SIGCONT)
    assert host.chmods == []  # held, as runit.c has CONT blocked while it sleeps
    host.advance(5)
    assert host.kills[-1] == (host.pid_of("/e/2"), signal.SIGTERM)


def test_cont_while_stage_2_is_stopped_meets_stage_3():
    host, runner = in_stage_2(executable={"/run/stopit"})
    runner.on_signal(signal.SIGCONT)
    runner.on_signal(signal.SIGCONT)
    host.exit("/e/2", exited(0))
    assert host.take_lines()[-3:] == ["- runit: leave stage: /e/2", "- runit: enter stage: /e/3",
                                      "- runit: warning: signals only work in stage 2."]


def test_a_stage_that_cannot_be_executed_counts_as_exit_0():
    host = Host()
    host.fail["/e/2"] = errno.ENOENT
    r.Runner(host, PATHS).boot()
    host.exit("/e/1", exited(0))
    assert host.take_lines()[-4:] == [
        "- runit: enter stage: /e/2",
        "- runit: fatal: unable to start child: /e/2: file does not exist",
        "- runit: leave stage: /e/2", "- runit: enter stage: /e/3"]


def test_a_failed_fork_is_retried_every_5_seconds():
    host = Host()
    host.fail["/e/1"] = errno.EAGAIN
    runner = r.Runner(host, PATHS)
    runner.boot()
    assert not host.children
    assert host.take_lines()[-1] == (
        '- runit: fatal: unable to fork for "/e/1" pausing: temporary failure')
    host.advance(5)
    assert runner.pid == host.pid_of("/e/1")


# -- power_down: sync unless nosync (the real boots cannot observe sync(2)) -----------------------
def test_power_down_syncs_before_each_step_unless_nosync(monkeypatch, tmp_path, capfd):
    calls = []

    def no_fork():
        raise OSError(errno.EAGAIN, "fake")  # runit then goes ahead in process 1 itself

    monkeypatch.setattr(r, "_require_process_1", lambda: None)
    monkeypatch.setattr(r, "_libc_reboot", lambda: lambda command: calls.append(command))
    monkeypatch.setattr(r.os, "fork", no_fork)
    monkeypatch.setattr(r.os, "sync", lambda: calls.append("sync"))
    monkeypatch.setattr(r.time, "sleep", lambda seconds: calls.append(seconds))
    nosync = tmp_path / "nosync"
    r.power_down(r.power_down_steps(False), str(nosync))
    assert calls == ["sync", r.RB_POWER_OFF, r.HALT_AFTER_POWER_OFF_SECONDS,
                     "sync", r.RB_HALT_SYSTEM]
    nosync.touch()
    calls.clear()
    r.power_down(r.power_down_steps(True), str(nosync))
    assert calls == [r.RB_AUTOBOOT]
    assert capfd.readouterr().err == ("- runit: power off...\n- runit: system halt.\n"
                                      "- runit: system reboot.\n")
