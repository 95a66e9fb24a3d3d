"""runsv's restart back-off and control hooks, real processes, both implementations.

runit sleeps through the 1 s back-off and reads the queued control bytes afterwards; ours
keeps serving the FIFO during it. Either way a ``u``/``o`` sent meanwhile must lead to exactly
one ./run. Where ours differs on purpose, the test pins both behaviours.
"""

import re
import time
from binascii import crc32

import pytest


from ..conftest import c_runit_at_least, our_tool, wants_c_runit
from .processes import (
    BASE_PATH, SH, children_of, cmdline, make_service, process_group_members,
    read_bytes, run_sv, running_pid, send_control, status_record, wait_until)

pytestmark = pytest.mark.slow

# Exits at once the first time (so the next start is postponed by the back-off), then runs.
RUN_CRASH_ONCE = SH + """if [ ! -e crashed ]; then touch crashed; exit 1; fi
echo start >>starts
exec sleep 1000
"""


def _sleepers(runsv_pid):
    return [pid for pid in children_of(runsv_pid) if cmdline(pid)[:1] == ["sleep"]]


@pytest.mark.parametrize("during_backoff, stat", [
    (b"uuu", "run\n"),
    (b"o", "run, want down\n"),
    (b"uou", "run\n"),
])
def test_control_during_backoff_starts_one_run(runsv, tmp_path, processes, during_backoff,
                                               stat):
    service = make_service(tmp_path, "svc", run=RUN_CRASH_ONCE)
    group = processes.start([runsv, "svc"], cwd=str(tmp_path), env={"PATH": BASE_PATH},
                            output=str(tmp_path / "runsv.out"))
    # The first ./run has exited: runsv is down, wants up, and waits out the back-off.
    stat_file = service / "supervise" / "stat"
    wait_until(lambda: (service / "crashed").exists() and stat_file.exists()
               and stat_file.read_text() == "down\n", what="first run crashed")
    assert not (service / "starts").exists()
    send_control(service, during_backoff)
    wait_until(lambda: (service / "starts").exists(), what="restart after back-off")
    wait_until(lambda: (service / "supervise" / "stat").read_text() == stat, what=stat)
    # Let anything that would start a second ./run happen: the back-off ends at most 1 s
    # after the crash, and a start is visible in `starts` before it can be reaped.
    wait_until(lambda: status_record(service).pid in _sleepers(group.pid), what="run tracked")
    runs = wait_until(lambda: _sleepers(group.pid) or None, what="sleep child")
    assert len(runs) == 1, runs
    assert (service / "starts").read_text() == "start\n"
    assert read_bytes(service / "supervise" / "pid") == b"%d\n" % runs[0]
    send_control(service, b"x")
    assert group.wait(10) == 0
    assert group.output() == ""
    assert process_group_members(group.pid) == [], "left behind a ./run"


def test_hook_killed_by_a_signal(impl, runsv, tmp_path, processes):
    """``control/h`` killed by a signal: runit 2.1.2 counts it as exit 0 and suppresses the
    HUP (runit-protocol.md §9.4); ours counts only exit 0 as handled and sends the HUP."""
    run = SH + """trap 'echo HUP >>signals' HUP
trap 'echo ALRM >>signals' ALRM
echo ready >signals
while :; do sleep 1000 & wait $!; done
"""
    service = make_service(tmp_path, "svc", run=run,
                           hooks={"h": 'echo hook >>hooks\nkill -KILL $$\n'})
    group = processes.start([runsv, "svc"], cwd=str(tmp_path), env={"PATH": BASE_PATH},
                            output=str(tmp_path / "runsv.out"))
    wait_until(lambda: read_bytes(service / "signals") == b"ready\n", what="run ready")
    send_control(service, b"h")
    wait_until(lambda: (service / "hooks").exists(), what="hook ran")
    # ALRM has no hook and is sent after runsv is done with the h (runit runs hooks
    # synchronously, ours queues the a behind the hook); a HUP, if sent, was sent before it
    # and a shell runs pending traps lowest signal first.
    send_control(service, b"a")
    wait_until(lambda: b"ALRM" in read_bytes(service / "signals"), what="ALRM delivered")
    expected = b"ready\nHUP\nALRM\n" if impl == "ours" else b"ready\nALRM\n"
    assert read_bytes(service / "signals") == expected
    send_control(service, b"x")
    assert group.wait(10) == 0


@pytest.mark.parametrize("wait", [
    b"delay=1e300 due=%d" % 10 ** 30,        # the finding: the loop's poll overflowed
    b"delay=1e300 due=NOW",                   # a wait within the hour, an endless delay
    b"delay=2000000.000 due=%d" % 10 ** 11,   # 23 days: past what epoll takes, in ms
    b"delay=nan due=NOW",
])
def test_a_planted_back_off_wait_never_stops_the_tree(processes, tmp_path, wait):
    """A service's tally is its owner's file (a user's tree writes its own): a back-off
    wait out of bounds in it is no wait — the tally is not read (protocol/tally.py) and
    the tree starts the service and every other, where before it died at its start."""
    service_dir = tmp_path / "service"
    bad = make_service(service_dir, "bad")
    good = make_service(service_dir, "good")
    (bad / "backoff").write_bytes(b"backoff 1 first=1 max=10 steps=3 jitter=0 reset=60\n")
    (bad / "supervise").mkdir()
    now = int(time.time())
    body = (b"tally 1 pid=0 starts=1 deaths=1 exit=1 core=0 at=%d.000000000 ran=0.1 "
            b"recent=0 restarts=1 step=0/3 " % now) + wait.replace(b"NOW", b"%d" % (now + 60))
    (bad / "supervise" / "tally").write_bytes(
        (body + b" crc=%08x" % crc32(body)).ljust(1023) + b"\n")
    tree = processes.start([our_tool("runsvdir"), service_dir], env={"PATH": BASE_PATH},
                           output=str(tmp_path / "tree.out"))
    for side in (good, bad):
        wait_until(lambda side=side: running_pid(side), timeout=20,
                   what="%s running" % side.name)
    time.sleep(0.5)  # the loop's first turns, with its timers armed
    assert tree.poll() is None, tree.output()
    assert "Traceback" not in tree.output(), tree.output()


BACKOFF_30 = b"backoff 1 first=30 max=30 steps=0 jitter=0 reset=60\n"


def _crashed_once(service):
    """The first ./run exited: runsv is down, wants up, and its restart waits."""
    stat_file = service / "supervise" / "stat"
    wait_until(lambda: (service / "crashed").exists() and stat_file.exists()
               and stat_file.read_text() == "down\n", what="first run crashed")
    assert not (service / "starts").exists()


def test_sv_up_during_our_back_off_wait_starts_it_now(processes, tmp_path):
    """A restart waiting out a 30 s back-off under our runsv: our ``sv up`` (and
    ``runit-provision start``, which runs it) starts it now and ends the series
    (docs/restart.md), and so does runit 2.3.1's sv. An older C sv sends nothing — runsv
    wants it up already (sv.c control()) — and times out with the service still waiting."""
    service = make_service(tmp_path, "svc", run=RUN_CRASH_ONCE)
    (service / "backoff").write_bytes(BACKOFF_30)
    group = processes.start([our_tool("runsv"), "svc"], cwd=str(tmp_path),
                            env={"PATH": BASE_PATH}, output=str(tmp_path / "runsv.out"))
    _crashed_once(service)
    wait_until(lambda: b" due=" in read_bytes(service / "supervise" / "tally"),
               what="the back-off's wait on record")
    if wants_c_runit() and not c_runit_at_least("2.3.1"):
        out, code = run_sv(["-w", "1", "up", "svc"], tmp_path)
        assert code == 1 and re.fullmatch(r"timeout: down: svc: \d+s, normally up, want up\n",
                                          out), out
        assert not (service / "starts").exists()
    began = time.monotonic()
    out, code = run_sv(["-w", "20", "up", "svc"], tmp_path, sv=our_tool("sv"))
    assert code == 0 and out.startswith("ok: run: svc: (pid "), out
    assert time.monotonic() - began < 20  # not the 30 s wait
    assert (service / "starts").read_text() == "start\n"
    tally = read_bytes(service / "supervise" / "tally")
    assert b" due=" not in tally and b" restarts=1" not in tally, tally  # a new series
    send_control(service, b"x")
    assert group.wait(10) == 0
    assert group.output() == ""


def test_our_sv_up_during_runsvs_one_second_pause_starts_one_run(runsv, tmp_path, processes):
    """Our sv sends ``u`` to a service down and wanted up (the C sv before 2.3.1 sends
    nothing): the C runsv, asleep through its 1 s pause, takes it after the start it makes then, ours
    starts it at the floor — one ./run either way."""
    service = make_service(tmp_path, "svc", run=RUN_CRASH_ONCE)
    group = processes.start([runsv, "svc"], cwd=str(tmp_path), env={"PATH": BASE_PATH},
                            output=str(tmp_path / "runsv.out"))
    _crashed_once(service)
    out, code = run_sv(["-w", "20", "up", "svc"], tmp_path, sv=our_tool("sv"))
    assert code == 0 and out.startswith("ok: run: svc: (pid "), out
    runs = wait_until(lambda: _sleepers(group.pid) or None, what="sleep child")
    time.sleep(1.5)  # past the pause: a second start, if any, would have been made
    assert _sleepers(group.pid) == runs and len(runs) == 1, runs
    assert (service / "starts").read_text() == "start\n"
    send_control(service, b"x")
    assert group.wait(10) == 0
