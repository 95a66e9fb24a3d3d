"""Bad input to runsv: both implementations, runit's exact messages and exit codes.

Each case runs against the C runsv and ours where runit 2.1.2 behaves the same; where ours
differs on purpose (docs/compatibility.md) the test says so and pins both behaviours.
"""

import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from ..conftest import c_runit_at_least, our_tool, require_c_runit
from ..skips import missing
from .processes import (
    BASE_PATH, RUN_SLEEP, SH, cmdline, decode_side, is_runsv_up, make_service, read_bytes,
    send_control, status_record, wait_until, write_file)

pytestmark = pytest.mark.slow

CONTROL_LETTERS = b"udoxtkpchaiq12"
RUN_IGNORES_TERM = SH + "trap '' TERM\nexec sleep 1000\n"


def run_fatal(argv, cwd, timeout=10.0, env=None):
    """A runsv expected to exit by itself: (stderr+stdout text, exit code)."""
    proc = subprocess.run([str(a) for a in argv], cwd=str(cwd), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                          env=env if env is not None else {"PATH": BASE_PATH},
                          start_new_session=True)
    return proc.stdout.decode("utf-8", "replace"), proc.returncode


def start_runsv(processes, runsv, svdir, name="svc", output=None):
    output = output or (Path(svdir) / (name + ".runsv-output"))
    group = processes.start([runsv, name], cwd=str(svdir), env={"PATH": BASE_PATH},
                            output=str(output))
    return group


def wait_running(service, group=None):
    def running():
        if group is not None and group.poll() is not None:
            raise AssertionError("runsv exited %s: %s" % (group.poll(), group.output()))
        status = status_record(service)
        return is_runsv_up(service) and status is not None and status.pid and \
            status.state.name == "RUN"
    wait_until(running, what="%s running" % service)
    return status_record(service)


# -- usage and the directory itself ------------------------------------------------------------
def test_usage(impl_bin, tmp_path):
    env = {"PATH": "%s:%s" % (impl_bin, BASE_PATH)}
    for argv in (["runsv"], ["runsv", "a", "b"]):
        # Found on PATH, as runsvdir and runit's own check do: argv[0] is "runsv".
        out, rc = run_fatal(argv, tmp_path, env=env)
        assert (out, rc) == ("usage: runsv dir\n\n", 1), argv


def test_usage_by_full_path(which_tool, tmp_path):
    """A difference we cannot avoid: runit prints argv[0]; a Python entry point behind a
    shebang never sees argv[0] (the kernel replaces it with the script's path), so ours
    always says ``runsv`` — what runit prints when run from PATH."""
    require_c_runit()
    assert run_fatal(["/usr/bin/runsv"], tmp_path) == ("usage: /usr/bin/runsv dir\n\n", 1)
    assert run_fatal([which_tool("ours", "runsv")], tmp_path) == ("usage: runsv dir\n\n", 1)


def test_missing_directory(runsv, tmp_path):
    out, rc = run_fatal([runsv, "nosuch"], tmp_path)
    assert (out, rc) == (
        "runsv nosuch: fatal: unable to change to directory: file does not exist\n", 111)
    assert not (tmp_path / "supervise").exists(), "supervised the caller's directory"


def test_directory_is_a_file(runsv, tmp_path):
    (tmp_path / "plain").write_text("")
    out, rc = run_fatal([runsv, "plain"], tmp_path)
    assert (out, rc) == (
        "runsv plain: fatal: unable to change to directory: not a directory\n", 111)


def _as_nobody():
    if os.geteuid() != 0:
        return []  # already unprivileged: mode 000 is enough
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        missing("setpriv, to drop root's privileges for an EACCES", "apt-get install util-linux")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_unreadable_directory(runsv):
    prefix = _as_nobody()
    # Not under tmp_path: pytest's base is 0700 root, so every lookup would fail the same way.
    top = Path(tempfile.mkdtemp(prefix="runsv-eacces-"))
    try:
        top.chmod(0o755)
        make_service(top, "svc")
        (top / "svc").chmod(0)
        out, rc = run_fatal(prefix + [runsv, str(top / "svc")], "/")
        assert (out, rc) == ("runsv %s: fatal: unable to change to directory: access denied\n"
                             % (top / "svc"), 111)
    finally:
        (top / "svc").chmod(0o755)
        shutil.rmtree(str(top))


# -- supervise/ and its files ------------------------------------------------------------------
def test_supervise_is_a_file(runsv, tmp_path):
    service = make_service(tmp_path, "svc")
    (service / "supervise").write_text("")
    assert run_fatal([runsv, "svc"], tmp_path) == (
        "runsv svc: fatal: unable to open supervise/lock: not a directory\n", 111)
    assert not (service / "supervise").is_dir()


def test_control_is_not_a_fifo(runsv, tmp_path):
    service = make_service(tmp_path, "svc")
    write_file(service / "supervise" / "control", "")
    assert run_fatal([runsv, "svc"], tmp_path) == (
        "runsv svc: fatal: supervise/control exists but is not a fifo\n", 111)


def test_log_control_is_not_a_fifo(which_tool, tmp_path, processes):
    """Ours checks the log's own FIFO, as runit 2.3.0 does; 2.1.2 and 2.2.0 stat the service's
    ``supervise/control`` instead (g-pape/runit#12) and carry on with a broken log."""
    fatal = ("runsv svc: fatal: log/supervise/control exists but is not a fifo\n", 111)

    def broken_log(impl):
        service = make_service(tmp_path / impl, "svc", log_run=SH + "exec cat >/dev/null\n")
        write_file(service / "log" / "supervise" / "control", "")
        return service
    service = broken_log("ours")
    assert run_fatal([which_tool("ours", "runsv"), "svc"], service.parent) == fatal

    require_c_runit()
    service = broken_log("c")
    if c_runit_at_least("2.3.0"):
        assert run_fatal([which_tool("c", "runsv"), "svc"], service.parent) == fatal
        return
    group = start_runsv(processes, which_tool("c", "runsv"), service.parent)
    wait_running(service, group)
    assert group.poll() is None
    assert (service / "log" / "supervise" / "control").is_file()


def test_second_runsv_on_the_same_directory(runsv, tmp_path, processes):
    service = make_service(tmp_path, "svc")
    first = start_runsv(processes, runsv, tmp_path)
    before = wait_running(service, first)
    raw = read_bytes(service / "supervise" / "status")
    assert run_fatal([runsv, "svc"], tmp_path) == (
        "runsv svc: fatal: unable to lock supervise/lock: temporary failure\n", 111)
    # The first one is unaffected: same process, same status, still answering.
    assert first.poll() is None and is_runsv_up(service)
    assert read_bytes(service / "supervise" / "status") == raw
    wait_until(lambda: "run: start\n" in first.output(), what="run's first line")
    send_control(service, b"x")
    assert first.wait(10) == 0
    assert before.pid and (service / "supervise" / "stat").read_text() == "down\n"
    assert first.output() == "run: start\n"


def test_log_is_a_file(runsv, tmp_path, processes):
    service = make_service(tmp_path, "svc")
    (service / "log").write_text("not a directory\n")
    group = start_runsv(processes, runsv, tmp_path)
    wait_running(service, group)
    # run has printed its line before x can stop it (on a loaded machine TERM came first)
    wait_until(lambda: "run: start\n" in group.output(), what="run's first line")
    assert (service / "supervise" / "stat").read_text() == "run\n"
    send_control(service, b"x")
    assert group.wait(10) == 0
    assert group.output() == "runsv svc: warning: ./log: not a directory.\nrun: start\n"


def test_supervise_dangling_symlinks(runsv, tmp_path, processes):
    """runit's own check: ``supervise`` and ``log/supervise`` as dangling symlinks."""
    service = make_service(tmp_path, "svc", log_run=SH + "exec cat >/dev/null\n")
    target = tmp_path / "run" / "supervise.svc"
    (tmp_path / "run").mkdir()
    (service / "supervise").symlink_to(target)
    # Relative: resolved from log/, as runsv does from the log's directory.
    (service / "log" / "supervise").symlink_to("../../run/supervise.svc-log")
    group = start_runsv(processes, runsv, tmp_path)
    wait_running(service, group)
    wait_running(service / "log", group)
    for directory in (target, tmp_path / "run" / "supervise.svc-log"):
        assert directory.is_dir() and (directory.stat().st_mode & 0o777) == 0o700
        assert {p.name for p in directory.iterdir()} >= {"lock", "control", "ok", "status",
                                                          "stat", "pid"}
    assert (target / "stat").read_text() == "run\n"
    send_control(service, b"x")
    assert group.wait(10) == 0
    assert group.output() == ""


def test_a_link_planted_as_our_process_record_is_replaced_not_followed(tmp_path, processes):
    """``supervise/process`` is written in place (no rename: ext4 flushes on one), but never
    through a link someone put there: the link is replaced as runsv's ``.new`` files replace."""
    service = make_service(tmp_path, "svc")
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (service / "supervise").mkdir(mode=0o700)
    (service / "supervise" / "process").symlink_to(victim)
    group = start_runsv(processes, our_tool("runsv"), tmp_path)
    pid = wait_running(service, group).pid
    record = service / "supervise" / "process"
    assert not record.is_symlink() and record.read_text().split()[0] == str(pid)
    assert victim.read_text() == "precious\n"
    send_control(service, b"x")
    assert group.wait(10) == 0


# -- the control FIFO ---------------------------------------------------------------------------
def test_garbage_on_control_fifos(runsv, tmp_path, processes):
    service = make_service(tmp_path, "svc", log_run=SH + "exec cat >/dev/null\n")
    group = start_runsv(processes, runsv, tmp_path)
    before = wait_running(service, group)
    log_before = wait_running(service / "log", group)
    raw = read_bytes(service / "supervise" / "status")
    log_raw = read_bytes(service / "log" / "supervise" / "status")
    rng = random.Random(2112)
    garbage = bytes(b for b in (rng.randrange(256) for _ in range(3000))
                    if b not in CONTROL_LETTERS) + b"\n\0\n\0\0\n\xff"
    for side in (service, service / "log"):
        for start in range(0, len(garbage), 500):
            assert send_control(side, garbage[start:start + 500]) == len(garbage[start:start+500])
    # Settled when both FIFOs are drained (runsv reads the C way: one byte per iteration).
    wait_until(lambda: all(_fifo_empty(side) for side in (service, service / "log")),
               what="control FIFOs drained")
    assert group.poll() is None and is_runsv_up(service)
    assert read_bytes(service / "supervise" / "status") == raw
    assert read_bytes(service / "log" / "supervise" / "status") == log_raw
    assert status_record(service).pid == before.pid
    assert status_record(service / "log").pid == log_before.pid
    send_control(service, b"x")
    assert group.wait(10) == 0
    assert group.output() == ""


def _fifo_empty(side):
    import fcntl
    import termios
    fd = os.open(str(side / "supervise" / "control"), os.O_WRONLY | os.O_NONBLOCK)
    try:
        buf = bytearray(4)
        fcntl.ioctl(fd, termios.FIONREAD, buf)
        return int.from_bytes(buf, "little") == 0
    finally:
        os.close(fd)


# -- a ./run that cannot be started ----------------------------------------------------------------
def _message_times(group, message, count, timeout=10.0):
    """The monotonic times at which the 1st..count-th copy of ``message`` appeared."""
    times = []
    deadline = time.monotonic() + timeout
    while len(times) < count:
        seen = group.output().count(message)
        while len(times) < seen:
            times.append(time.monotonic())
        if time.monotonic() > deadline:
            raise AssertionError("%d of %d messages; output: %r"
                                 % (len(times), count, group.output()))
        time.sleep(0.01)
    return times


def test_run_not_executable(impl, runsv, tmp_path, processes):
    service = make_service(tmp_path, "svc", run=RUN_SLEEP)
    (service / "run").chmod(0o644)
    group = start_runsv(processes, runsv, tmp_path)
    message = "runsv svc: fatal: unable to start ./run: access denied\n"
    times = _message_times(group, message, 3)
    # Right after a failure runsv is in its 1 s back-off. runit sleeps through it; ours keeps
    # serving the control FIFO (docs/runtime.md), so `x` is answered at once.
    sent = time.monotonic()
    send_control(service, b"x")
    rc = group.wait(5)
    elapsed = time.monotonic() - sent
    assert rc == 0
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(0.8 < gap < 3.0 for gap in gaps), gaps  # ~1 s: not 0, not 5 (a loaded CI: 1.9)
    fields = decode_side(service)
    assert (fields["state"], fields["want"], fields["pid"]) == ("down", "d", "no")
    assert group.output() == message * 3
    if impl == "ours":
        assert elapsed < 0.5, "x took %.2fs during the back-off" % elapsed
    else:
        assert elapsed > 0.3, "the C runsv was expected to block in sleep(1): %.2fs" % elapsed


def test_run_not_executable_finish_arguments(runsv, tmp_path, processes):
    """./finish sees the exec failure as run's exit code 111 (runit-protocol.md §10)."""
    service = make_service(tmp_path, "svc", finish=SH + 'echo "finish $1 $2" >>finish.out\n')
    (service / "run").chmod(0o644)
    group = start_runsv(processes, runsv, tmp_path)
    wait_until(lambda: (service / "finish.out").exists(), what="./finish ran")
    send_control(service, b"x")
    assert group.wait(5) == 0
    assert set((service / "finish.out").read_text().splitlines()) == {"finish 111 0"}


# -- signals racing the exit ----------------------------------------------------------------------
def test_term_racing_the_last_child_exit(runsv, tmp_path, processes):
    """SIGTERM arriving with the SIGCHLD that lets runsv exit: a clean exit, no warnings.

    Ours once handled that TERM after closing its files and warned
    ``unable to open supervise/stat.new: file descriptor not open``.
    """
    service = make_service(tmp_path, "svc", run=RUN_IGNORES_TERM)
    group = start_runsv(processes, runsv, tmp_path)
    status = wait_running(service, group)
    # Running is not enough: until the shell has set its trap and exec'd, TERM would kill it.
    wait_until(lambda: cmdline(status.pid)[:1] == ["sleep"], what="run ignoring TERM")
    os.kill(group.pid, signal.SIGTERM)  # as `x`: the run ignores the TERM it is sent
    wait_until(lambda: (service / "supervise" / "stat").read_text()
               == "run, got TERM, want exit\n", what="want exit")
    os.kill(status.pid, signal.SIGKILL)
    os.kill(group.pid, signal.SIGTERM)
    assert group.wait(10) == 0
    assert group.output() == ""


def test_log_run_and_finish_not_executable(runsv, tmp_path, processes):
    """runit's messages for the logger (``log/./run``) and ``./finish``, which is run when
    it can be opened for reading — executable or not."""
    service = make_service(tmp_path, "svc", finish=SH + "echo finish\n",
                           log_run=SH + "exec cat >/dev/null\n")
    (service / "finish").chmod(0o644)
    (service / "log" / "run").chmod(0o644)
    group = start_runsv(processes, runsv, tmp_path)
    log_message = "runsv svc: fatal: unable to start log/./run: access denied\n"
    _message_times(group, log_message, 1)
    wait_running(service, group)
    send_control(service, b"d")
    wait_until(lambda: (service / "supervise" / "stat").read_text() == "down\n"
               and not status_record(service).pid, what="down after ./finish failed")
    send_control(service, b"x")
    assert group.wait(10) == 0
    lines = group.output().splitlines(True)
    assert set(lines) == {log_message,
                          "runsv svc: fatal: unable to start ./finish: access denied\n"}, lines
    assert lines.count("runsv svc: fatal: unable to start ./finish: access denied\n") == 1
