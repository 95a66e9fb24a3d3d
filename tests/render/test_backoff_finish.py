"""The rendered back-off finish (templates/finish/backoff.j2) run by hand, as the C runsv runs
it — ``./finish EXIT SIGNAL`` in the service directory — with ``supervise/`` made up: the step
it takes from its last record, the reset after a run that stayed up, jitter's bounds, the ends
it does not count, ``want down`` ending its wait, and our runsv's word that it need not wait.
Real sh, awk, od; every wait bounded."""

import os
import struct
import subprocess
import time

import pytest

from runit_provision.model import Backoff, Service
from runit_provision.protocol.backoff import RUNSV_ENV, waiting_from_bytes
from runit_provision.render.environment import make_environment
from runit_provision.render.servicedir import backoff_finish

pytestmark = pytest.mark.slow  # real sh, awk and sleeps: the second tier

TAI_BASE = 1 << 62


def service(tmp_path, delay=1, max_delay=8, steps=3, jitter=0, reset_after=60, text=None):
    spec = Backoff(delay=delay, max_delay=max_delay, steps=steps, jitter=jitter,
                   reset_after=reset_after)
    finish = tmp_path / "finish"
    finish.write_text(backoff_finish(Service(name="x", backoff=spec, finish=text),
                                     make_environment()))
    finish.chmod(0o755)
    (tmp_path / "supervise").mkdir()
    stat("finish", tmp_path)
    return tmp_path


def stat(text, where):
    (where / "supervise" / "stat").write_text(text + "\n")


def run_started(where, seconds_ago):
    """supervise/status as runsv leaves it while ./finish runs: the run's start."""
    stamp = struct.pack(">QL", TAI_BASE + int(time.time() - seconds_ago), 0)
    (where / "supervise" / "status").write_bytes(stamp + bytes(8))


def finish(where, *args, env=None, stop=True):
    """Run ./finish; once its record names it, ``want down`` ends its wait (``stop``). The
    record it wrote while waiting, and its exit status."""
    environ = {"PATH": "/usr/bin:/bin"}
    environ.update(env or {})
    proc = subprocess.Popen(["./finish"] + [str(arg) for arg in args], cwd=str(where),
                            env=environ, start_new_session=True)
    record, deadline = None, time.monotonic() + 10
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            data = (where / "backoff-state").read_bytes() if (
                where / "backoff-state").exists() else b""
            found = waiting_from_bytes(data)
            if found is not None and found.pid == proc.pid and found.due_ns:
                record = found
                if stop:
                    stat("finish, want down", where)
                break
            time.sleep(0.02)
        status = proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
    stat("finish", where)
    return record, status


def test_each_end_takes_the_next_step_and_want_down_ends_the_wait_and_the_series(tmp_path):
    where = service(tmp_path)  # 1, 2, 4, 8 s
    run_started(where, 2)
    steps = []
    for _ in range(5):
        record, status = finish(where, 1, 0)
        assert status == 0
        steps.append((record.restarts, record.step, record.steps, record.delay))
        # the stop ended the series: a record of 0 restarts, then the next end is step 0 again
        assert waiting_from_bytes((where / "backoff-state").read_bytes()).restarts == 0
        (where / "backoff-state").write_text(
            "backoff-state 1 pid=1 restarts=%d\n" % record.restarts)  # as if it had waited
    assert steps == [(1, 0, 3, 1.0), (2, 1, 3, 2.0), (3, 2, 3, 4.0), (4, 3, 3, 8.0),
                     (5, 3, 3, 8.0)]


def test_a_run_that_stayed_up_begins_a_new_series(tmp_path):
    where = service(tmp_path, reset_after=30)
    (where / "backoff-state").write_text("backoff-state 1 pid=1 restarts=3\n")
    run_started(where, 31)
    record, _ = finish(where, 1, 0)
    assert (record.restarts, record.delay) == (1, 1.0)


def test_jitter_stays_within_its_bounds(tmp_path):
    where = service(tmp_path, delay=2, max_delay=2, steps=0, jitter=3)
    run_started(where, 1)
    delays = set()
    for _ in range(6):
        (where / "backoff-state").write_text("backoff-state 1 pid=1 restarts=0\n")
        record, _ = finish(where, 1, 0)
        assert 2.0 <= record.delay <= 5.0 and record.due_ns > time.time_ns()
        delays.add(record.delay)
    assert len(delays) > 1  # drawn again each time, not one seed for all


def test_it_waits_its_delay_when_nothing_stops_it(tmp_path):
    where = service(tmp_path, delay=1, max_delay=2, steps=1)
    run_started(where, 2)
    began = time.monotonic()
    record, status = finish(where, 1, 0, stop=False)
    assert status == 0 and record.delay == 1.0
    assert 1.0 <= time.monotonic() - began < 6


@pytest.mark.parametrize("args, env, stat_text", [
    ((-1, 15), {}, "finish"),  # TERM, as sv restart sends it: not counted
    ((1, 0), {RUNSV_ENV: "runsv"}, "finish"),  # our runsv waits on its own timer
    ((1, 0), {}, "finish, want down"),  # sv down came first
])
def test_ends_it_does_not_wait_for(tmp_path, args, env, stat_text):
    where = service(tmp_path)
    (where / "backoff-state").write_text("backoff-state 1 pid=1 restarts=2\n")
    stat(stat_text, where)
    environ = {"PATH": "/usr/bin:/bin"}
    environ.update(env)
    began = time.monotonic()
    done = subprocess.run(["./finish"] + [str(arg) for arg in args], cwd=str(where),
                          env=environ, timeout=10)
    assert done.returncode == 0 and time.monotonic() - began < 0.9
    left = waiting_from_bytes((where / "backoff-state").read_bytes())
    assert left.due_ns == 0 and left.restarts == (0 if "want down" in stat_text else 2)


def test_the_datas_own_finish_runs_first_with_its_arguments(tmp_path):
    where = service(tmp_path, text="echo \"$1 $2\" >ran\nexit 7")
    stat("finish, want down", where)
    done = subprocess.run(["./finish", "3", "0"], cwd=str(where), env={"PATH": "/usr/bin:/bin"},
                          timeout=10)
    assert done.returncode == 0 and (where / "ran").read_text() == "3 0\n"
