"""Restart back-off with real processes, under our runsv (its timer) and the C runsv (the
rendered finish waits): a crash loop's start times follow the steps, ``sv down`` during a wait
stops it at once, ``sv up`` during one differs (ours starts at once, the C runsv cannot tell
the finish), and status's reader tells the wait on both (docs/restart.md).

Deadlines hold under load: each interval is asserted from below (the delay) and, generously,
from above."""

import time

import pytest

from runit_provision.host.fsread import FsReader
from runit_provision.host.sides import read_side
from runit_provision.model import Backoff, Service
from runit_provision.protocol.backoff import Backoff as Spec, backoff_bytes
from runit_provision.render.environment import make_environment
from runit_provision.render.servicedir import backoff_finish

from .processes import (BASE_PATH, SH, children_of, decode_side, make_service, send_control,
                        wait_until, write_file)

pytestmark = [pytest.mark.slow, pytest.mark.interop]

RUN_CRASHES = SH + "date +%s.%N >>starts\nexit 1\n"


def backoff_service(parent, delay, max_delay=None, steps=0):
    """A crash-looping service with the back-off rendered as render renders it."""
    service = make_service(parent, "svc", run=RUN_CRASHES)
    spec = Backoff(delay=delay, max_delay=delay if max_delay is None else max_delay,
                   steps=steps, jitter=0, reset_after=60)
    write_file(service / "finish", backoff_finish(Service(name="svc", backoff=spec),
                                                  make_environment()), 0o755)
    (service / "backoff").write_bytes(backoff_bytes(Spec(delay, max_delay, steps)))
    return service


def starts(service):
    path = service / "starts"
    return [float(line) for line in path.read_text().split()] if path.exists() else []


def waiting(service):
    """What status's reader tells of the side: its restart line, or None."""
    with FsReader() as fs:
        side = read_side(fs, str(service), time.time())
    return side.restart_text


def _state_and_want(service):
    found = decode_side(service)
    return found.get("state"), found.get("want")


def start_runsv(runsv, tmp_path, processes):
    return processes.start([runsv, "svc"], cwd=str(tmp_path), env={"PATH": BASE_PATH},
                           output=str(tmp_path / "runsv.out"))


def stop_runsv(service, group):
    send_control(service, b"dx")
    assert group.wait(15) == 0


def test_a_crash_loops_start_times_follow_the_steps(runsv, tmp_path, processes):
    service = backoff_service(tmp_path, 1, 4, 2)  # waits 1, 2, 4 s
    group = start_runsv(runsv, tmp_path, processes)
    wait_until(lambda: len(starts(service)) >= 4, timeout=40, what="four starts")
    found = starts(service)
    gaps = [later - earlier for earlier, later in zip(found, found[1:])]
    for gap, delay in zip(gaps, (1, 2, 4)):
        assert delay * 0.98 <= gap < delay + 6, gaps
    assert gaps[0] < gaps[1] < gaps[2], gaps
    stop_runsv(service, group)


def test_down_during_the_wait_stops_at_once_and_up_starts_again(impl, runsv, tmp_path,
                                                               processes):
    service = backoff_service(tmp_path, 30)
    group = start_runsv(runsv, tmp_path, processes)
    said = wait_until(lambda: starts(service) and waiting(service), timeout=15,
                      what="a restart waiting")
    assert said.startswith("restarting in ") and said.endswith(" s"), said
    assert 20 <= int(said.split()[2]) <= 30, said
    send_control(service, b"d")
    began = time.monotonic()
    wait_until(lambda: _state_and_want(service) == ("down", "d") and waiting(service) is None,
               timeout=5, what="down, no restart waiting")
    assert time.monotonic() - began < 3
    if impl == "c":  # the finish that waited has ended: runsv has no child left
        wait_until(lambda: children_of(group.pid) == [], timeout=5, what="finish gone")
    time.sleep(1.5)
    assert len(starts(service)) == 1  # no restart came after the stop
    send_control(service, b"u")
    wait_until(lambda: len(starts(service)) == 2, timeout=5, what="started again")
    stop_runsv(service, group)


def test_up_during_the_wait(impl, runsv, tmp_path, processes):
    """Ours: ``u`` during the wait starts at once (and begins a new series). The C runsv
    already wants it up and tells its finish nothing: the wait goes on (``sv down`` then
    ``sv up`` starts it at once there)."""
    service = backoff_service(tmp_path, 30)
    group = start_runsv(runsv, tmp_path, processes)
    wait_until(lambda: starts(service) and waiting(service), timeout=15,
               what="a restart waiting")
    send_control(service, b"u")
    if impl == "ours":
        wait_until(lambda: len(starts(service)) >= 2, timeout=5, what="started at once")
    else:
        time.sleep(2)
        assert len(starts(service)) == 1 and waiting(service) is not None
    stop_runsv(service, group)


def test_the_steps_record_says_which_step(runsv, tmp_path, processes):
    service = backoff_service(tmp_path, 1, 20, 2)  # waits 1, 4.47, 20 s
    group = start_runsv(runsv, tmp_path, processes)
    wait_until(lambda: len(starts(service)) >= 2, timeout=15, what="two starts")
    said = wait_until(lambda: waiting(service) if "step 1" in (waiting(service) or "")
                      else None, timeout=15, what="the second wait")
    assert said.endswith("(step 1 of 2)"), said
    stop_runsv(service, group)


def test_a_kill_9_of_our_runsv_during_the_wait_restarts_nothing_early(tmp_path, processes):
    """The wait is in the tally: the next runsv waits out what is left of it, then starts."""
    from ..conftest import our_tool

    runsv = our_tool("runsv")
    service = backoff_service(tmp_path, 4)
    group = start_runsv(runsv, tmp_path, processes)
    said = wait_until(lambda: starts(service) and waiting(service), timeout=15,
                      what="a restart waiting")
    due = time.time() + int(said.split()[2])
    group.kill()  # SIGKILL to the group: runsv, nothing else runs
    group.wait(10)
    again = start_runsv(runsv, tmp_path, processes)
    wait_until(lambda: len(starts(service)) >= 2, timeout=15, what="the restart")
    assert starts(service)[1] >= due - 1.2  # not before the wait's end (the record's second)
    stop_runsv(service, again)
