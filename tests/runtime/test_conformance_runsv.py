"""runsv rows of docs/runit-protocol.md §1 that no other tier pinned (docs/conformance.md), both
runsvs.

Each test runs against the C runsv and ours (``impl``) where runit 2.1.2 behaves the same, or
runs both side by side and compares what they left behind. Every runsv runs in its own
session and is killed by process group at the end; every wait is a condition with a deadline.
"""

import fcntl
import os
import re
import signal
import stat
import termios
import time
from pathlib import Path

import pytest

from runit_provision.runtime.unix.inotify import IN_CLOSE_WRITE, IN_MOVED_TO, Inotify

from ..conftest import C_RUNIT, our_tool, require_c_runit
from .processes import (
    BASE_PATH, SH, blocked_on_flock, cmdline, is_runsv_up, make_service, read_bytes, send_control,
    status_record, wait_until, whole_lines)

pytestmark = pytest.mark.slow

RUN_SLEEP = SH + "exec sleep 1000\n"


def start(processes, runsv, service, env=None):
    """runsv SERVICE (by name, cwd its parent), output to SERVICE.out."""
    service = Path(service)
    return processes.start([runsv, service.name], cwd=str(service.parent),
                           env=env or {"PATH": BASE_PATH},
                           output=str(service.parent / (service.name + ".out")))


def stat_is(side, text):
    return (read_bytes(Path(side) / "supervise" / "stat") or b"").decode() == text


def wait_stat(side, text, group=None):
    """The status record once ``stat`` reads ``text`` and the record agrees with it: runsv
    renames stat before status, so a reader in between would get the status before."""
    state = text.split(",")[0].split()[0].upper()
    want = "d" if "want down" in text else None

    def check():
        if group is not None and group.poll() is not None:
            raise AssertionError("runsv exited %s: %s" % (group.poll(), group.output()))
        record = status_record(side)
        return (stat_is(side, text) and record is not None and record.state.name == state
                and (want is None or record.want == want) and record)
    return wait_until(check, what="%s: stat %r" % (side, text))


def wait_running(side, group=None):
    wait_stat(side, "run\n", group)
    wait_until(lambda: status_record(side).pid and status_record(side).state.name == "RUN",
               what="%s running" % side)
    return status_record(side)


def stop(group):
    """End runsv and its children by process group: where how runsv exits is not the point
    (the C runsv sleeps 1 s before exiting after a short-lived run)."""
    group.kill()


def stamp(status):
    return status.seconds + status.nanoseconds / 1e9


def lines(path):
    return Path(path).read_text().splitlines() if Path(path).exists() else []


# -- §1.4 / §1.5: what ./run, log/run and control/<c> are started with ----------------------
REPORT = """report() {
  echo "argc=$# argv0=$0 cwd=$(pwd)"
  env | grep -v '^PWD=' | sort
}
"""


def _fds(pid, base):
    """fd -> target of a process's fds 0-9, normalised (``BASE``, ``pipe``)."""
    found = []
    for entry in sorted(os.listdir("/proc/%d/fd" % pid), key=int):
        if int(entry) < 10:
            target = os.readlink("/proc/%d/fd/%s" % (pid, entry))
            found.append("fd %s -> %s" % (entry, re.sub(r"pipe:\[\d+\]", "pipe", target)))
    return [line.replace(str(base), "BASE") for line in found]


def test_children_get_runsvs_environment_argv_cwd_and_no_extra_fds(tmp_path, processes):
    """§1.4 "execs ./run with no arguments and runsv's environment", the log pipe (close-on-
    exec, stdout of run / stdin of log/run, stderr inherited), log/run in ./log; §1.5 hooks:
    argv0 ``control/<c>`` (its argument: T:runsv-hooks), the service directory, runsv's
    environment.

    Started without LANG: the interpreter behind our runsv adds LC_CTYPE to its own
    environment (PEP 538), which no child may inherit. Descriptors are read from /proc while
    each child runs (a shell listing its own would see its redirections)."""
    require_c_runit()
    reports = {}
    for impl, runsv in (("c", C_RUNIT["runsv"]), ("ours", our_tool("runsv"))):
        base = tmp_path / impl
        hook = REPORT + """report >h.report 2>&1
echo $$ >h.pid
while [ ! -e release ]; do sleep 0.01; done
"""
        service = make_service(base, "svc",
                               run=SH + REPORT + "report >run.report 2>&1\nexec sleep 1000\n",
                               log_run=SH + REPORT + "report >log.report 2>&1\n"
                                                     "exec cat >/dev/null\n",
                               hooks={"h": hook})
        group = start(processes, runsv, service, env={"PATH": BASE_PATH, "FOO": "bar"})
        run_pid = wait_running(service, group).pid
        log_pid = wait_running(service / "log", group).pid
        wait_until(lambda r=run_pid, g=log_pid: cmdline(r)[:1] == ["sleep"]
                   and cmdline(g)[:1] == ["cat"], what="run and log/run exec'd")
        send_control(service, b"h")
        hook_pid_file = service / "h.pid"
        wait_until(lambda f=hook_pid_file: f.exists() and f.read_text(), what="hook running")
        hook_pid = int(hook_pid_file.read_text())
        report = {"run": _fds(run_pid, base), "log": _fds(log_pid, base),
                  "hook": _fds(hook_pid, base)}
        (service / "release").touch()
        stop(group)
        for name, path in (("run", "run.report"), ("log", "log/log.report"),
                           ("hook", "h.report")):
            report[name] = (service / path).read_text().replace(str(base), "BASE") \
                .splitlines() + report[name]
        reports[impl] = report
    # Deliberate difference: our log pipe is the FIFO log/supervise/pipe (it outlives a killed
    # supervisor or logger; docs/runsvdir.md "Faults"), read-write as run's stdout.
    fifo = "BASE/svc/log/supervise/pipe"
    assert [line for lines in reports["ours"].values() for line in lines
            if fifo in line] == ["fd 1 -> " + fifo, "fd 0 -> " + fifo, "fd 1 -> " + fifo]
    reports["ours"] = {name: [line.replace(fifo, "pipe") for line in lines]
                       for name, lines in reports["ours"].items()}
    assert reports["ours"] == reports["c"]
    env = ["FOO=bar", "PATH=" + BASE_PATH]
    output = "fd 2 -> BASE/svc.out"
    assert reports["c"] == {
        "run": ["argc=0 argv0=./run cwd=BASE/svc"] + env + [
            "fd 0 -> /dev/null", "fd 1 -> pipe", output],
        "log": ["argc=0 argv0=./run cwd=BASE/svc/log"] + env + [
            "fd 0 -> pipe", "fd 1 -> /dev/null", output],
        "hook": ["argc=0 argv0=control/h cwd=BASE/svc"] + env + [
            "fd 0 -> /dev/null", "fd 1 -> pipe", output],
    }


# -- §1.5: the service must be in state run for any signal; ./finish is never signalled -----
FINISH_TRAPS = SH + """echo $$ >finish.pid
for s in HUP ALRM INT QUIT USR1 USR2 TERM CONT; do trap "echo finish got $s >>events" $s; done
while [ ! -e release ]; do sleep 0.01; done
echo finish end >>events
"""


def test_nothing_reaches_finish(runsv, tmp_path, processes):
    hooks = {letter: "echo hook %s >>events\nexit 1\n" % letter
             for letter in "uhaiq12pctdx"}
    service = make_service(tmp_path, "svc", run=RUN_SLEEP, finish=FINISH_TRAPS, hooks=hooks)
    group = start(processes, runsv, service)
    wait_running(service, group)
    send_control(service, b"d")
    wait_stat(service, "finish, want down\n", group)
    finish_pid = int(wait_until(lambda: whole_lines(service / "finish.pid"),
                                what="./finish started"))
    # §1.2: in finish, the finish's pid — C runsv writes it after the fork, so ./finish may
    # have written its pid file first
    wait_until(lambda: status_record(service).pid == finish_pid, what="finish's pid shown")
    events_before = lines(service / "events")
    assert events_before == ["hook u", "hook t", "hook d"]
    # One byte at a time, each confirmed on disk or by the FIFO running dry.
    for byte, expect in ((b"p", "finish, paused, want down\n"), (b"c", "finish, want down\n"),
                         (b"u", "finish\n"), (b"d", "finish, want down\n")):
        send_control(service, byte)
        wait_stat(service, expect, group)
    for byte in b"haiq12t":
        send_control(service, bytes([byte]))
        wait_until(lambda: _fifo_empty(service), what="byte %r taken" % chr(byte))
    send_control(service, b"x")
    wait_stat(service, "finish, want exit\n", group)
    (service / "release").touch()
    assert group.wait(10) == 0
    assert lines(service / "events") == events_before + ["finish end"]
    assert stat_is(service, "down\n")


def _fifo_empty(side):
    fd = os.open(str(Path(side) / "supervise" / "control"), os.O_WRONLY | os.O_NONBLOCK)
    try:
        buf = bytearray(4)
        fcntl.ioctl(fd, termios.FIONREAD, buf)
        return int.from_bytes(buf, "little") == 0
    finally:
        os.close(fd)


# -- §1.5 t without CONT; §1.4 a new start clears paused --------------------------------------
def _pending(pid):
    """(process state letter, per-process pending signal mask) from /proc."""
    with open("/proc/%d/status" % pid) as handle:
        fields = dict(line.split(":", 1) for line in handle if ":" in line)
    return fields["State"].split()[0], int(fields["ShdPnd"], 16) | int(fields["SigPnd"], 16)


def test_t_with_want_up_sends_no_cont_and_a_start_clears_paused(runsv, tmp_path, processes):
    """§1.5 ``t`` with want up: TERM only, no CONT; §1.4 a start clears the paused flag;
    §1.1.2 / §1.6 ``./down`` created after start-up is never read (the restart happens)."""
    service = make_service(tmp_path, "svc", run=RUN_SLEEP)
    group = start(processes, runsv, service)
    first = wait_running(service, group).pid
    (service / "down").touch()
    send_control(service, b"p")
    wait_stat(service, "run, paused\n", group)
    send_control(service, b"t")
    wait_stat(service, "run, paused, got TERM\n", group)
    # runsv sent TERM to the stopped process and no CONT: the TERM is still pending.
    state, pending = _pending(first)
    assert state == "T" and pending & (1 << (signal.SIGTERM - 1)), (state, hex(pending))
    send_control(service, b"k")  # KILL works on a stopped process; want up restarts it
    wait_until(lambda: (status_record(service).pid not in (0, first)
                        and stat_is(service, "run\n")), what="restart after k")
    assert not status_record(service).paused
    stop(group)


# -- §1.5 custom(): user-executable only; o consults control/u, never control/o ---------------
def test_hooks_need_the_user_exec_bit_and_o_uses_u(runsv, tmp_path, processes):
    run = SH + "trap 'echo run got HUP >>events' HUP\nwhile :; do sleep 1000 & wait $!; done\n"
    service = make_service(tmp_path, "svc", run=run, down=True, hooks={
        "u": "echo hook u >>events\n", "o": "echo hook o >>events\n",
        "h": "echo hook h >>events\nexit 0\n"})
    (service / "control" / "h").chmod(0o644)  # not user-executable: not a hook
    group = start(processes, runsv, service)
    wait_stat(service, "down\n", group)
    send_control(service, b"o")
    wait_stat(service, "run, want down\n", group)
    send_control(service, b"h")
    wait_until(lambda: "run got HUP" in lines(service / "events"), what="HUP delivered")
    assert lines(service / "events") == ["hook u", "run got HUP"]
    stop(group)


# -- §1.4 ./finish arguments for a plain exit code --------------------------------------------
def test_finish_gets_the_exit_code(runsv, tmp_path, processes):
    service = make_service(tmp_path, "svc", run=SH + "exit 3\n", down=True,
                           finish=SH + 'echo "$1 $2" >>finish.out\n')
    group = start(processes, runsv, service)
    wait_stat(service, "down\n", group)
    send_control(service, b"o")
    wait_until(lambda: lines(service / "finish.out") == ["3 0"] and stat_is(service, "down\n"),
               what="./finish 3 0, then down")
    stop(group)


# -- §1.1.2 / §1.2 / §1.6: ./down at start-up only; the timestamps ------------------------------
def test_down_is_read_once_and_the_stamps(runsv, tmp_path, processes):
    service = make_service(tmp_path, "svc", run=RUN_SLEEP, down=True,
                           finish=SH + "while [ ! -e release ]; do sleep 0.01; done\n")
    before = time.time()
    group = start(processes, runsv, service)
    status = wait_stat(service, "down\n", group)
    after = time.time()
    # Before anything ran: runsv's start time, runit's usec*1000+500.
    assert (status.want, status.pid) == ("d", 0)
    assert before - 1e-3 <= stamp(status) <= after
    assert status.nanoseconds % 1000 == 500
    (service / "down").unlink()  # never looked at again
    send_control(service, b"o")
    running = wait_stat(service, "run, want down\n", group)
    send_control(service, b"u")
    wait_stat(service, "run\n", group)
    (service / "down").touch()
    send_control(service, b"d")
    in_finish = wait_stat(service, "finish, want down\n", group)
    # In state finish the stamp is still ./run's start.
    assert (in_finish.seconds, in_finish.nanoseconds) == (running.seconds, running.nanoseconds)
    released = time.time()
    (service / "release").touch()
    down = wait_stat(service, "down\n", group)
    assert released - 1e-3 <= stamp(down) <= time.time()  # when it went down
    stop(group)


def test_directory_moved_away_is_kept(runsv, tmp_path, processes):
    """§1.6: runsv keeps the directory it started in (void-linux/runit#25), kept on purpose."""
    service = make_service(tmp_path, "svc", run=RUN_SLEEP)
    group = start(processes, runsv, service)
    wait_running(service, group)
    moved = tmp_path / "svc.old"
    os.rename(str(service), str(moved))
    make_service(tmp_path, "svc", run=RUN_SLEEP)
    send_control(moved, b"d")
    wait_stat(moved, "down\n", group)
    assert not (service / "supervise").exists()
    stop(group)


# -- §1.1.4 / §1.2: modes, existing entries never chmod'ed ---------------------------------------
def _mode(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_existing_modes_are_kept_and_new_files_follow_the_umask(tmp_path, processes):
    require_c_runit()
    modes = {}
    for impl, runsv in (("c", C_RUNIT["runsv"]), ("ours", our_tool("runsv"))):
        service = make_service(tmp_path / impl, "svc", run=RUN_SLEEP)
        supervise = service / "supervise"
        supervise.mkdir(0o755)
        supervise.chmod(0o755)
        os.mkfifo(str(supervise / "control"))
        (supervise / "control").chmod(0o622)
        (supervise / "lock").touch()
        (supervise / "lock").chmod(0o640)
        group = processes.start(["/bin/sh", "-c", 'umask 027; exec "$0" svc', runsv],
                                cwd=str(service.parent), env={"PATH": BASE_PATH},
                                output=str(service.parent / "svc.out"))
        wait_running(service, group)
        modes[impl] = {name: oct(_mode(supervise / name)) for name in
                       ("control", "lock", "ok", "pid", "stat", "status")}
        modes[impl]["supervise"] = oct(_mode(supervise))
        modes[impl]["lock size"] = (supervise / "lock").stat().st_size
        stop(group)
    assert modes["ours"] == modes["c"]
    assert modes["c"] == {"supervise": "0o755", "control": "0o622", "lock": "0o640",
                          "ok": "0o600", "pid": "0o640", "stat": "0o640", "status": "0o640",
                          "lock size": 0}


# -- §1.1.6: the log's lock is taken blocking ------------------------------------------------------
def test_log_lock_waits(runsv, tmp_path, processes):
    service = make_service(tmp_path, "svc", run=RUN_SLEEP, log_run=SH + "exec cat >/dev/null\n")
    (service / "log" / "supervise").mkdir(mode=0o700)
    fd = os.open(str(service / "log" / "supervise" / "lock"),
                 os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        group = start(processes, runsv, service)
        wait_until(lambda: blocked_on_flock(group.pid), what="runsv waits for log/supervise/lock")
        assert group.poll() is None and not is_runsv_up(service)
        assert not (service / "supervise" / "control").exists()
    finally:
        os.close(fd)
    wait_running(service, group)
    wait_running(service / "log", group)
    assert group.output() == ""
    stop(group)


# -- §1.1.7-8: the FIFOs as runsv holds them --------------------------------------------------------
def _fds_of(pid, base):
    """{relative path: sorted list of access modes (r / w / a)} of pid's fds under base."""
    found = {}
    for entry in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, entry))
        except OSError:
            continue
        if "/supervise/" not in target or not target.startswith(str(base) + "/"):
            continue  # (ours also holds O_PATH descriptors of the directories)
        with open("/proc/%d/fdinfo/%s" % (pid, entry)) as handle:
            flags = int(next(line for line in handle.read().splitlines()
                             if line.startswith("flags:")).split()[1], 8)
        access = {os.O_RDONLY: "r", os.O_WRONLY: "w", os.O_RDWR: "rw"}[flags & 3]
        if flags & os.O_APPEND:
            access += "a"
        if flags & os.O_NONBLOCK:
            access += "n"
        assert flags & 0o2000000, "%s not close-on-exec" % target  # O_CLOEXEC
        found.setdefault(os.path.relpath(target, str(base)), []).append(access)
    return {name: sorted(modes) for name, modes in found.items()}


def _events_made(fds):
    """Our runsv holds supervise/event/ok and no event/ directory open (one being made)."""
    return "supervise/event/ok" in fds and not any(name.endswith("/event") for name in fds)


def test_fifos_are_held_open_and_ok_is_never_read(tmp_path, processes):
    require_c_runit()
    held = {}
    for impl, runsv in (("c", C_RUNIT["runsv"]), ("ours", our_tool("runsv"))):
        service = make_service(tmp_path / impl, "svc", run=RUN_SLEEP,
                               log_run=SH + "exec cat >/dev/null\n")
        group = start(processes, runsv, service)
        wait_running(service, group)
        wait_running(service / "log", group)
        if impl == "ours":  # supervise/event/ is made once the services run (off the start)
            # — both sides' (the log's event/ok is a link made with its directory open)
            wait_until(lambda: _events_made(_fds_of(group.pid, service)),
                       what="our runsv holding supervise/event/ok, making no event/")
        held[impl] = _fds_of(group.pid, service)
        # ok has a reader that never reads: bytes written to it stay there.
        ok = os.open(str(service / "supervise" / "ok"), os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(ok, b"ping")
            send_control(service, b"p")
            wait_stat(service, "run, paused\n", group)
            buf = bytearray(4)
            fcntl.ioctl(ok, termios.FIONREAD, buf)
            assert int.from_bytes(buf, "little") == 4
        finally:
            os.close(ok)
        stop(group)
    # Ours also holds the log pipe, a FIFO (read-write, run's stdout), and holds control once,
    # read-write (its own writer), where runsv holds a reader and a spare writer: fewer
    # descriptors for a tree that holds them for every service.
    assert held["ours"].pop("log/supervise/pipe") == ["rw"]
    # … and a reader on supervise/event/ok (protocol/eventdir.py), never read: the log's
    # event/ok is a link to it, one FIFO for both.
    assert held["ours"].pop("supervise/event/ok") == ["rn"]
    assert (os.stat(str(service / "supervise" / "event" / "ok")).st_ino
            == os.stat(str(service / "log" / "supervise" / "event" / "ok")).st_ino)
    for name in ("supervise/control", "log/supervise/control"):
        assert held["ours"][name] == ["rwn"]
        held["ours"][name] = ["rn", "wn"]
    assert held["ours"] == held["c"]
    side = {"lock": ["wan"], "control": ["rn", "wn"], "ok": ["rn"]}
    expected = {}
    for prefix in ("supervise/", "log/supervise/"):
        expected.update({prefix + name: modes for name, modes in side.items()})
    assert held["c"] == expected


# -- §1.2: pid rewritten only when it changes; write order pid, stat, status -----------------------
def test_write_order_and_pid_file(runsv, tmp_path, processes):
    service = make_service(tmp_path, "svc", run=RUN_SLEEP)
    group = start(processes, runsv, service)
    first = wait_running(service, group).pid
    running_since = time.monotonic()  # (it started a little before)
    supervise = service / "supervise"
    pid_inode = (supervise / "pid").stat().st_ino
    with Inotify() as watcher:
        # runit's files arrive by rename; our process record is written in place
        watcher.add_watch(str(supervise), IN_MOVED_TO | IN_CLOSE_WRITE)
        send_control(service, b"p")
        wait_stat(service, "run, paused\n", group)
        send_control(service, b"c")
        wait_stat(service, "run\n", group)
        assert (supervise / "pid").stat().st_ino == pid_inode  # not rewritten
        # past runsv's 1 s back-off: the restart follows the death at once
        wait_until(lambda: time.monotonic() - running_since > 1.1, what="the run ages")
        send_control(service, b"t")
        wait_until(lambda: status_record(service).pid not in (0, first)
                   and stat_is(service, "run\n"), what="restarted")
        names = []
        deadline = time.monotonic() + 10
        statuses = 4 if runsv == our_tool("runsv") else 5  # ours writes no "down" between
        while names.count("status") < statuses and time.monotonic() < deadline:
            names += [name for _, mask, _, name in watcher.read_events()
                      if mask & IN_MOVED_TO or name == "process"]
            time.sleep(0.01)
    # p, c; t: TERM flag; reaped: down (pid empty); started: run (new pid). Ours goes from
    # run to run when the restart follows at once (docs/runtime.md): no "down" between. It
    # records the process (adoption.py) just before the spawn (a start under way) and again
    # right after the new pid — runit's order, with a file of ours between.
    if runsv == our_tool("runsv"):
        assert names == ["stat", "status", "stat", "status", "stat", "status",
                         "process", "pid", "process", "stat", "status"], names
    else:
        assert names == ["stat", "status", "stat", "status", "stat", "status",
                         "pid", "stat", "status", "pid", "stat", "status"], names
    assert read_bytes(supervise / "pid") == b"%d\n" % status_record(service).pid
    stop(group)


# -- §1.4: the log gets the same 1 s back-off ---------------------------------------------------------
def test_log_backs_off_one_second(runsv, tmp_path, processes):
    service = make_service(tmp_path, "svc", run=RUN_SLEEP,
                           log_run=SH + "date +%s.%N >>starts\nexit 1\n")
    group = start(processes, runsv, service)
    running = wait_running(service, group)
    wait_until(lambda: len(lines(service / "log" / "starts")) >= 2, what="two log starts")
    starts = lines(service / "log" / "starts")
    gap = float(starts[1]) - float(starts[0])
    assert 0.9 <= gap < 1.8, starts
    assert status_record(service) == running  # the service itself is untouched
    stop(group)
