"""A one-shot's end (and a timer's run's) under our runsv and the C runsv, with real processes
(docs/jobs.md): the rendered ``./finish``'s words of the run's end come out the same in its
log under both, and the run is recorded; ours says them itself, without starting the
finish's sh, unless the ``./finish`` is not the rendered one or its log pipe is full (then
the finish waits on the pipe in a process of its own, never our runsv's loop).

Whether a sh started is seen by a ``/bin/sh`` that writes down each start, bind-mounted over
the host's in a mount namespace of the test's own (the host's is never touched); the
services' own scripts run a copy of dash, so only a ``#!/bin/sh`` — the finish — is counted.
"""

import errno
import shutil

import pytest

from runit_provision.protocol.lastrun import ONESHOT_FINISH_HEAD, last_run_from_bytes
from runit_provision.protocol.timer import TimerSpec, timer_spec_bytes
from runit_provision.render.environment import make_environment, render_template

from .processes import BASE_PATH, decode_side, make_service, send_control, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.interop]

# how each run ends, and the line its end leaves in the log
ENDS = {
    "done": ("exit 0", "runit-provision: run done (exit 0)"),
    "failed": ("exit 3", "runit-provision: run failed (exit 3)"),
    "killed": ("kill -9 $$", "runit-provision: run failed (signal 9)"),
}


@pytest.fixture
def shells(tmp_path):
    """(dash, counting sh, the file of sh's starts): the copy of dash the services' scripts
    run, and a /bin/sh that appends its arguments to that file, then runs dash."""
    dash = tmp_path / "dash"
    shutil.copy2("/bin/dash", dash)
    starts = tmp_path / "sh-starts"
    counting = tmp_path / "counting-sh"
    counting.write_text('#!%s\necho "$*" >>%s\nexec %s "$@"\n' % (dash, starts, dash))
    counting.chmod(0o755)
    return dash, counting, starts


def one_shot(tmp_path, dash, run_body, finish, log_body="exec cat >>out"):
    service = make_service(tmp_path, "svc", run="#!%s\n%s\n" % (dash, run_body),
                           finish=finish, log_run="#!%s\n%s\n" % (dash, log_body))
    (service / "oneshot").write_bytes(b"")
    return service


def start_runsv(runsv, tmp_path, processes, counting):
    """runsv in a mount namespace whose /bin/sh is ``counting`` (the host's link /bin/sh
    names dash: the mount lands on dash, which the services' copy does not use)."""
    return processes.start(
        ["unshare", "--mount", "--propagation", "private", "/bin/dash", "-c",
         'mount --bind "$1" /bin/sh && shift && exec "$@"', "in-namespace", counting,
         runsv, "svc"],
        cwd=str(tmp_path), env={"PATH": BASE_PATH}, output=str(tmp_path / "runsv.out"))


def rendered_finish():
    return render_template(make_environment(), "finish/oneshot.j2", {})


def finish_started(starts):
    return [line for line in (starts.read_text().splitlines() if starts.exists() else ())
            if line.startswith("./finish")]


def stop(service, group):
    """``x`` to the service, then to its log unless runsv took that in hand already: with the
    service down and wanted to exit, runsv closes the log's pipe and its control FIFO on its
    way out (both runsvs; a send then finds no reader: seen under a load of 8)."""
    send_control(service, b"x")
    try:
        send_control(service / "log", b"x")
    except OSError as error:
        if error.errno != errno.ENXIO:
            raise
    assert group.wait(15) == 0, group.output()


@pytest.mark.parametrize("end", sorted(ENDS))
def test_the_rendered_finish_says_the_end_alike_and_ours_starts_no_sh_for_it(
        impl, runsv, tmp_path, processes, shells, end):
    dash, counting, starts = shells
    run_body, line = ENDS[end]
    service = one_shot(tmp_path, dash, "echo ran\n" + run_body, rendered_finish())
    group = start_runsv(runsv, tmp_path, processes, counting)
    out = service / "log/out"

    def ended():
        said = out.read_text() if out.exists() else ""
        down = decode_side(service).get("state") == "down"
        return said if down and line in said and (service / "supervise/last-run").exists() \
            else None
    said = wait_until(ended, timeout=20, what="the one-shot's end in its log")
    assert said == "ran\n%s\n" % line, said
    record = last_run_from_bytes((service / "supervise/last-run").read_bytes())
    assert record.is_done is (end == "done"), record
    # the C runsv starts the rendered finish (it records the run and keeps it down); ours
    # did both already, and says the end itself
    assert finish_started(starts) == ([] if impl == "ours" else ["./finish %s" % {
        "done": "0 0", "failed": "3 0", "killed": "-1 9"}[end]]), starts.read_text()
    assert decode_side(service).get("want") == "d"  # kept down: not restarted
    stop(service, group)


def test_ours_records_a_timers_runs_and_starts_no_sh_for_its_finish(tmp_path, processes,
                                                                     shells, which_tool):
    """A timer (every second) with its rendered finish under our runsv: each run of ./job is
    recorded (supervise/last-run) and its end said in the log by our runsv — no sh started
    at a run's end (under the C runsv the finish records each, forking a dozen times)."""
    dash, counting, starts = shells
    service = make_service(tmp_path, "svc", run="#!%s\nexec sleep 1000\n" % dash,
                           finish=render_template(make_environment(), "finish/timer.j2", {}),
                           log_run="#!%s\nexec cat >>out\n" % dash)
    (service / "schedule").write_bytes(timer_spec_bytes(TimerSpec("*:*:*")))
    (service / "job").write_text("#!%s\necho job\n" % dash)
    (service / "job").chmod(0o755)
    group = start_runsv(which_tool("ours", "runsv"), tmp_path, processes, counting)
    out = service / "log/out"
    said = wait_until(lambda: out.exists() and out.read_text().count("run done") >= 2 and
                      out.read_text(), timeout=20, what="two runs' ends in the log")
    assert said.startswith("job\nrunit-provision: run done (exit 0)\njob\n"), said
    record = last_run_from_bytes((service / "supervise/last-run").read_bytes())
    assert record.is_done and 0 < record.ended_ns - record.started_ns < 5 * 10**9, record
    assert finish_started(starts) == [], starts.read_text()
    stop(service, group)


def test_ours_starts_a_finish_that_is_not_the_rendered_one(tmp_path, processes, shells,
                                                           which_tool):
    dash, counting, starts = shells
    text = rendered_finish()
    assert text.encode().startswith(ONESHOT_FINISH_HEAD)
    edited = text.replace("\n", "\n# edited by hand\n", 1)
    service = one_shot(tmp_path, dash, "exit 0", edited)
    group = start_runsv(which_tool("ours", "runsv"), tmp_path, processes, counting)
    out = service / "log/out"
    wait_until(lambda: out.exists() and "run done (exit 0)" in out.read_text(), timeout=20,
               what="the end said by the finish started")
    assert finish_started(starts) == ["./finish 0 0"]
    stop(service, group)


def test_ours_leaves_the_end_to_the_finish_when_the_log_pipe_is_full(tmp_path, processes,
                                                                     shells, which_tool):
    """The run fills its log pipe (its logger reads nothing yet) and ends: a write of our
    runsv's would wait there and stop its loop, so it writes nothing and starts the finish,
    which waits on the pipe in a process of its own until the logger reads."""
    dash, counting, starts = shells
    fill = ("python3 -c 'import os, fcntl\n"
            "flags = fcntl.fcntl(1, fcntl.F_GETFL)\n"
            "fcntl.fcntl(1, fcntl.F_SETFL, flags | os.O_NONBLOCK)\n"
            "try:\n"
            "    while True: os.write(1, b\"x\" * 512)\n"
            "except BlockingIOError: pass\n"
            "fcntl.fcntl(1, fcntl.F_SETFL, flags)'")
    # the logger reads nothing until the test says go
    logger = "while [ ! -e go ]; do sleep 0.05; done\nexec cat >>out"
    service = one_shot(tmp_path, dash, fill, rendered_finish(), log_body=logger)
    group = start_runsv(which_tool("ours", "runsv"), tmp_path, processes, counting)
    wait_until(lambda: finish_started(starts), timeout=20, what="the finish started")
    assert decode_side(service).get("state") == "finish"  # waiting on the full pipe
    assert (service / "supervise/last-run").exists()  # recorded before, by our runsv
    (service / "log/go").touch()  # the pipe drains: the finish's echo goes through
    out = service / "log/out"
    wait_until(lambda: decode_side(service).get("state") == "down", timeout=15,
               what="the finish ended")
    wait_until(lambda: out.read_bytes().endswith(b"runit-provision: run done (exit 0)\n"),
               timeout=15, what="the finish's line in the log")
    stop(service, group)
