"""A timer's rendered files (``schedule:``, docs/jobs.md#timers): ``job`` (the run script a
daemon would have), ``run`` (``exec timer-run``: the C runsv's waiter), ``schedule`` (the
spec both waiters read) and the ``./finish`` that records each run and keeps it wanted up —
that finish run by /bin/sh against a ``supervise/`` made here, as either runsv leaves it; and
the rendered directory run by the real C runsv, when ``timer-run`` is installed."""

import shutil
import struct
import subprocess
import sys
import time

import pytest

from runit_provision.protocol.lastrun import last_run_from_bytes
from runit_provision.protocol.status import TAI_OFFSET
from runit_provision.protocol.timer import TimerSpec, timer_spec_from_bytes

from ..conftest import OUR_BIN, our_tool, require_c_runit
from ..runtime.processes import (BASE_PATH, C_RUNSV, Group, end_tree, read_bytes,
                                 wait_until)
from .helpers import text_of, tree_from_text
from .test_oneshot import FakeRunsv, with_date_at

TIMER = ("runit:\n  services:\n"
         "    purge:\n      command: [/usr/local/bin/purge, --all]\n      user: www-data\n"
         "      env: {AGE: 1h}\n      schedule: '*:0/15'\n      persistent: true\n"
         "      jitter: 30\n      time_limit: 600\n")
DAEMON = TIMER.replace("      schedule: '*:0/15'\n      persistent: true\n"
                       "      jitter: 30\n      time_limit: 600\n", "")


def test_a_timer_has_its_job_run_schedule_and_finish():
    tree = tree_from_text(TIMER)
    base = "/etc/sv/purge/"
    assert [tree[base + name].mode for name in ("job", "run", "schedule", "finish")] == \
        [0o755, 0o755, 0o644, 0o755]
    daemon = tree_from_text(DAEMON)
    # the job is what the daemon's run would be: user, env, chpst, exec 2>&1
    assert tree[base + "job"].content == daemon[base + "run"].content
    assert "chpst -u www-data -e ./env /usr/local/bin/purge --all" in text_of(tree, base + "job")
    assert text_of(tree, base + "run").endswith("\nexec timer-run\n")
    assert timer_spec_from_bytes(tree[base + "schedule"].content) == \
        TimerSpec("*:0/15", True, 30, 600)
    assert base + "oneshot" not in tree and base + "log/run" in tree
    assert tree["/etc/service/purge"].target == "/etc/sv/purge"
    for name in ("job", "schedule", "finish"):
        assert base + name not in daemon


def test_a_cron_schedule_is_kept_as_written():
    tree = tree_from_text(TIMER.replace("'*:0/15'", "'30 2 * * mon-fri'"))
    assert timer_spec_from_bytes(tree["/etc/sv/purge/schedule"].content).when == \
        "30 2 * * mon-fri"


def run_finish(tmp_path, args, record=None):
    """The timer's rendered finish run as runsv runs it (in the service directory, with a
    reader on supervise/control): ``(bytes sent to runsv, last-run or None)``. ``record``:
    supervise/timer's line, as timer-run writes it (None: none, as under our runsv)."""
    finish = tmp_path / "finish"
    finish.write_text(text_of(tree_from_text(TIMER), "/etc/sv/purge/finish"))
    supervise = tmp_path / "supervise"
    supervise.mkdir()
    started = int(time.time()) - 3
    (supervise / "status").write_bytes(struct.pack(">QL", started + TAI_OFFSET, 250_000_000)
                                       + struct.pack("<L", 0) + b"\0u\0\0")
    if record is not None:
        (supervise / "timer").write_bytes(record)
    runsv = FakeRunsv(supervise)
    try:
        done = subprocess.run(["/bin/sh", str(finish)] + args, cwd=tmp_path, timeout=30,
                              capture_output=True, env=with_date_at(tmp_path, started + 3))
    finally:
        runsv.close()
    assert done.returncode == 0, done.stderr
    found = read_bytes(supervise / "last-run")
    return runsv.read, (None if found is None else last_run_from_bytes(found)), started


@pytest.mark.parametrize("args, exit_code, signal", [(["0", "0"], 0, 0), (["3", "0"], 3, 0),
                                                     (["-1", "9"], -1, 9)])
def test_the_finish_records_the_run_and_keeps_the_timer_up(tmp_path, args, exit_code, signal):
    """Under our runsv (no ``started=`` in supervise/timer): the run's start is the status
    stamp, as a one-shot's; no ``d`` is sent (a one-shot's finish sends one)."""
    sent, found, started = run_finish(tmp_path, args)
    assert sent == b""
    assert (found.exit_code, found.signal) == (exit_code, signal)
    assert found.started_ns == started * 1_000_000_000 + 250_000_000
    assert found.took == pytest.approx(3.25)  # to the end the finish's date says


def test_under_timer_run_the_start_is_the_jobs(tmp_path):
    """Under the C runsv the status stamp is the waiter's start: timer-run's ``started=``
    is the job's, and it is what the record says."""
    job_started = time.time() - 1.5
    record = (b"timer-state 1 next=0 elapse=1.000000 skipped=0 timed_out=0 missed=0 "
              b"started=%.6f\n" % job_started)
    sent, found, started = run_finish(tmp_path, ["0", "0"], record)
    assert sent == b"" and found.exit_code == 0
    assert abs(found.started_ns / 1e9 - job_started) < 1e-5
    assert found.took == pytest.approx(started + 3.5 - job_started, abs=1e-5)


@pytest.mark.parametrize("record", [
    b"timer-state 1 next=0 elapse=0 skipped=0 timed_out=0 missed=0 started=0\n",
    b"timer-state 1 next=0 elapse=0 skipped=0 timed_out=0 missed=0 started=0 error=no when=\n",
])
def test_no_run_is_recorded_when_no_job_ran(tmp_path, record):
    """``started=0``: timer-run ended while waiting (sv down) or before the job (an error):
    its exit is no run's, and the last run's record stays as it was."""
    sent, found, _ = run_finish(tmp_path, ["0", "0"], record)
    assert sent == b"" and found is None




@pytest.mark.interop
@pytest.mark.slow
def test_the_rendered_timer_runs_under_the_c_runsv(tmp_path):
    """The rendered directory as it is, under the real C runsv with ``timer-run`` on PATH:
    the job runs at its elapses (every 2 s), each run is recorded by the rendered finish
    with the job's exit, and the timer stays wanted up between runs."""
    require_c_runit()
    our_tool("timer-run")
    data = tmp_path / "data.yaml"
    marker = tmp_path / "runs"
    data.write_text(
        "runit::runtime: system\nrunit::sv_dir: %(root)s/sv\n"
        "runit::service_dir: %(root)s/service\nrunit::services:\n"
        "  tick:\n    run: |\n      #!/bin/sh\n      date +%%s.%%N >>%(marker)s\n      exit 3\n"
        "    schedule: '*:*:0/2'\n    log: false\n" % dict(root=tmp_path, marker=marker))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "runit_provision.cli.main", "render",
                           "--data", str(data), "--out", str(out)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    service = tmp_path / "tick"
    shutil.move(str(out / str(tmp_path).lstrip("/") / "sv" / "tick"), str(service))
    env = {"PATH": "%s:%s" % (BASE_PATH, OUR_BIN)}  # the C runit's tools first
    runsv = Group([C_RUNSV, service], env=env, output=tmp_path / "runsv.out")
    try:
        wait_until(lambda: len((read_bytes(marker) or b"").split()) >= 2, timeout=30,
                   what="two runs of the job")
        wait_until(lambda: read_bytes(service / "supervise" / "last-run") is not None,
                   timeout=30, what="the finish's record")
        found = last_run_from_bytes(read_bytes(service / "supervise" / "last-run"))
        assert (found.exit_code, found.signal) == (3, 0)
        starts = [float(word) for word in read_bytes(marker).split()]
        assert any(abs(start - found.started_ns / 1e9) < 0.5 for start in starts)
        assert starts[1] - starts[0] == pytest.approx(2, abs=0.9)
        assert read_bytes(service / "supervise" / "status")[17:18] == b"u"  # want up
    finally:
        end_tree(runsv.proc, service)
