"""Fault tier: a signal to the pid in ``log/supervise/pid`` — what monitoring tools and people
send — acts as on an svlogd and never touches a service.

Under the C runit that pid is the service's own svlogd. Under ours it is the tree's logger host
(supervision/loggers/standinloghost.py), which runs every canonical logger of the tree: each
of them reacts as an svlogd would — TERM and KILL: started again, nothing lost; HUP:
reopened; ALRM: rotated; STOP/CONT: paused and resumed — and no service is signalled. (One
process per logger would cost the tree its memory budget: docs/runsvdir.md "Faults".)
"""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ..conftest import C_RUNIT, our_tool
from .processes import (
    BASE_PATH, SH, end_tree, make_service, process_group_members, running_pid, status_record,
    wait_until)

pytestmark = pytest.mark.slow

# One numbered line every 10 ms, for ever: a gap or a repeat in the log is a lost line.
COUNTER = SH + 'n=0\nwhile :; do n=$((n+1)); echo "line $n"; sleep 0.01; done\n'


@pytest.fixture
def logged_tree(impl, tmp_path):
    """A tree of two logged services, ``a`` and ``b``, under ``impl``'s runsvdir (the C one
    runs the C runsv and svlogd)."""
    svdir = tmp_path / "service"
    bin_dir = Path(our_tool("sv")).parent if impl == "ours" else Path(C_RUNIT["svlogd"]).parent
    for name in ("a", "b"):
        service = make_service(svdir, name, run=COUNTER, log_run=SH + "exec svlogd ./main\n")
        (service / "log" / "main").mkdir()
    runsvdir = our_tool("runsvdir") if impl == "ours" else C_RUNIT["runsvdir"]
    proc = subprocess.Popen([runsvdir, str(svdir)], start_new_session=True,
                            env={"PATH": "%s:%s" % (bin_dir, BASE_PATH)},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for name in ("a", "b"):
            wait_until(lambda n=name: running_pid(svdir / n) and running_pid(svdir / n / "log"),
                       what="%s and its logger running" % name)
            wait_until(lambda n=name: len(numbers(svdir / n)) > 10, what="%s logging" % name)
        yield svdir
    finally:
        for pid in process_group_members(proc.pid):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        end_tree(proc, tmp_path, timeout=15)  # ours: the whole tree down; C: runsvdir only


def numbers(service):
    logdir = service / "log" / "main"
    names = sorted(n for n in os.listdir(logdir) if n.startswith("@")) + ["current"]
    text = "".join((logdir / n).read_text() for n in names if (logdir / n).exists())
    return [int(n) for n in re.findall(r"^line (\d+)$", text, re.M)]


def assert_nothing_lost(service):
    got = numbers(service)
    assert got == list(range(1, len(got) + 1)), "%s: a gap or a repeat" % service.name


def rotated(service):
    return [n for n in os.listdir(service / "log" / "main") if n.startswith("@")]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL, signal.SIGHUP,
                                    signal.SIGALRM], ids=lambda s: signal.Signals(s).name)
def test_a_signal_to_the_log_pid_acts_as_on_svlogd(impl, logged_tree, signum):
    a, b = logged_tree / "a", logged_tree / "b"
    services = {name: running_pid(logged_tree / name) for name in ("a", "b")}
    log_pid = status_record(a / "log").pid
    other_log_pid = status_record(b / "log").pid
    os.kill(log_pid, signum)
    if signum in (signal.SIGTERM, signal.SIGKILL):
        # ended, and started again by its supervisor
        wait_until(lambda: running_pid(a / "log") not in (0, log_pid), timeout=10,
                   what="a's logger started again")
    elif signum == signal.SIGALRM:
        wait_until(lambda: rotated(a), what="a's log rotated")
    count = len(numbers(a))
    wait_until(lambda: len(numbers(a)) > count + 20, what="a still logging")
    assert {name: running_pid(logged_tree / name) for name in ("a", "b")} == services
    if impl == "c" or signum in (signal.SIGHUP, signal.SIGALRM):
        assert status_record(b / "log").pid == other_log_pid
    if signum in (signal.SIGHUP, signal.SIGALRM):
        assert status_record(a / "log").pid == log_pid
    if impl == "c" and signum == signal.SIGTERM:
        # Debian's C svlogd (2.1.2-54) drops the line it was reading when TERM came
        # (docs/runit-protocol.md §4): that one line, at most, and nothing of b's.
        assert_at_most_one_line_lost(a)
        assert_nothing_lost(b)
        return
    for service in (a, b):
        assert_nothing_lost(service)


def assert_at_most_one_line_lost(service):
    got = numbers(service)
    missing = sorted(set(range(1, got[-1] + 1)) - set(got))
    assert got == sorted(set(got)) and len(missing) <= 1, (
        "%s: a repeat, or more than one line lost: %s" % (service.name, missing))


def test_stop_and_cont_to_the_log_pid_pause_and_resume_logging(impl, logged_tree):
    a = logged_tree / "a"
    services = {name: running_pid(logged_tree / name) for name in ("a", "b")}
    log_pid = status_record(a / "log").pid
    os.kill(log_pid, signal.SIGSTOP)
    try:
        time.sleep(0.1)  # what was in flight lands; after that nothing may
        stopped_at = len(numbers(a))
        time.sleep(0.5)  # deliberately idle: the logger must not write while stopped
        assert len(numbers(a)) == stopped_at
    finally:
        os.kill(log_pid, signal.SIGCONT)
    wait_until(lambda: len(numbers(a)) > stopped_at + 40, what="logging resumed")
    assert {name: running_pid(logged_tree / name) for name in ("a", "b")} == services
    assert status_record(a / "log").pid == log_pid
    assert_nothing_lost(a)
