"""Our runsv's timers (docs/timers.md), real processes: a service directory with a ``schedule``
never starts ``./run``; at each elapse it starts ``./job`` (``./finish`` after it, here a
hand-written one that records ``supervise/last-run`` as the rendered timer finish does), and
keeps ``supervise/timer`` and, ``persistent``, ``timer-stamp``. Between elapses the runsv
sleeps: no wakeup at all."""

import datetime
import os
import signal
import time

import pytest

from runit_provision.protocol.lastrun import last_run_from_bytes
from runit_provision.protocol.status import State
from runit_provision.protocol.tally import tally_from_bytes
from runit_provision.protocol.timer import (
    USEC, TimerSpec, stamp_bytes, stamp_from_bytes, timer_spec_bytes, timer_state_from_bytes)

from ..conftest import our_tool
from .processes import (
    BASE_PATH, SH, STUBBORN_CHILD, alive, is_runsv_up, most_groups_at_once, read_bytes,
    send_control, status_record, voluntary_switches, wait_until, whole_lines, write_file)

pytestmark = pytest.mark.slow

# templates/finish/oneshot.j2 without its ``d``: the timer stays wanted up
FINISH = SH + """stamp=$(od -An -tx1 -N12 supervise/status 2>/dev/null | tr -d ' \\n')
started=0.000000000
case $stamp in
  ????????????????????????)
    started=$(printf '%d.%09d' "$((0x${stamp%????????} - 0x400000000000000a))" \\
      "$((0x${stamp#????????????????}))") ;;
esac
ended=$(date +%s.%N)
printf 'last-run 1 exit=%d signal=%d started=%s ended=%s\\n' "${1:--1}" "${2:-0}" \\
  "$started" "$ended" >supervise/last-run.new && mv -f supervise/last-run.new supervise/last-run
"""
RUN = SH + "echo run >>ran-run\nexec sleep 1000\n"
FAR = "2199-01-01 00:00:00 UTC"



def make_timer(tmp_path, spec, job, name="svc"):
    service = tmp_path / name
    service.mkdir()
    write_file(service / "schedule", timer_spec_bytes(spec).decode())
    write_file(service / "job", SH + job, 0o755)
    write_file(service / "run", RUN, 0o755)
    write_file(service / "finish", FINISH, 0o755)
    return service


def start(processes, tmp_path, service):
    group = processes.start([our_tool("runsv"), service.name], cwd=str(tmp_path),
                            env={"PATH": BASE_PATH}, output=str(tmp_path / "runsv.out"))
    wait_until(lambda: status_record(service) is not None, what="runsv up")
    return group


def record(service):
    data = read_bytes(service / "supervise" / "timer")
    return None if data is None else timer_state_from_bytes(data)


def runs(service):
    return (whole_lines(service / "runs") or "").splitlines()


def last_run(service):
    data = read_bytes(service / "supervise" / "last-run")
    return None if data is None else last_run_from_bytes(data)


def test_every_two_seconds_runs_the_job_and_keeps_the_records(tmp_path, processes):
    service = make_timer(tmp_path, TimerSpec("*:*:0/2 UTC", persistent=True),
                         "date +%s.%N >>runs\nexit 3\n")
    group = start(processes, tmp_path, service)
    waiting = status_record(service)
    assert (waiting.state, waiting.want, waiting.pid) == (State.DOWN, "u", 0)
    wait_until(lambda: len(runs(service)) >= 2 and last_run(service) is not None,
               timeout=15, what="two runs")
    first, second = (float(line) for line in runs(service)[:2])
    # at the elapses (a loaded machine may start a shell late, never a second late)
    assert second - first == pytest.approx(2, abs=0.9)
    assert int(first) % 2 == 0 and first % 1 < 0.9
    found = record(service)
    assert found.elapse_usec % (2 * USEC) == 0 and found.next_usec > found.elapse_usec
    assert (found.skipped, found.timed_out, found.missed, found.error) == (0, 0, False, "")
    assert stamp_from_bytes(read_bytes(service / "timer-stamp")) >= found.elapse_usec - 2 * USEC
    ended = last_run(service)
    assert (ended.exit_code, ended.signal) == (3, 0)
    # a run's exit, failed or not, is no death: no crash loop, no back-off
    tally = tally_from_bytes(read_bytes(service / "supervise" / "tally"))
    assert tally.deaths == 0 and tally.starts >= 2
    assert not (service / "ran-run").exists()
    send_control(service, b"x")
    assert group.wait(10) == 0
    assert record(service).next_usec == 0
    assert group.output() == ""


def test_the_job_runs_with_its_pid_in_the_status(tmp_path, processes):
    service = make_timer(tmp_path, TimerSpec("*:*:* UTC"), "echo $$ >>runs\nsleep 3\n")
    start(processes, tmp_path, service)
    wait_until(lambda: runs(service), what="a run")
    running = wait_until(lambda: status_record(service) if status_record(service).pid
                         else None, what="the job's pid shown")
    assert running.state == State.RUN and str(running.pid) == runs(service)[0]


def test_an_elapse_during_a_run_is_skipped(tmp_path, processes):
    service = make_timer(tmp_path, TimerSpec("*:*:* UTC"), "echo x >>runs\nsleep 2.5\n")
    start(processes, tmp_path, service)
    wait_until(lambda: last_run(service) is not None, timeout=10, what="the first run's end")
    assert runs(service) == ["x"]
    assert record(service).skipped >= 2


def test_an_elapse_during_the_finish_runs_when_it_ends(tmp_path, processes):
    """Only the last run's ``./finish`` holds the side at an elapse (the job has ended): that
    run is due, not skipped — it starts when the finish ends, as timer-run's hand-over does
    under the C runsv (seen in the 10-minute chaos soak on a loaded machine: elapses that
    fell on a slow finish were neither run nor a run's overlap)."""
    service = make_timer(tmp_path, TimerSpec("*:*:0/2 UTC", persistent=True),
                         "date +%s.%N >>runs\n")
    # the first run's finish outlasts the next elapse; the others' do not
    write_file(service / "finish", FINISH + "[ -e slow ] || { : >slow; sleep 2.5; }\n", 0o755)
    start(processes, tmp_path, service)
    wait_until(lambda: len(runs(service)) >= 3, timeout=30, what="three runs")
    first, second, third = [float(line) for line in runs(service)[:3]]
    assert record(service).skipped == 0, (record(service), runs(service))
    # the second after the first's finish (2.5 s), the third at its elapse
    assert second - first >= 2.4 and int(third) % 2 == 0 and third % 1 < 0.9, (
        first, second, third)


def test_a_persistent_timer_never_catches_up_an_elapse_it_skipped(tmp_path, processes):
    """An elapse skipped while a run goes on is accounted for: with ``persistent``, the next
    wait must not take it for one missed while down (seen in the chaos soak: the runsv fired
    at once again and again while the job ran — thousands of skips — then ran it as a
    catch-up, ``missed=1``)."""
    service = make_timer(tmp_path, TimerSpec("*:*:0/2 UTC", persistent=True),
                         "echo x >>runs\n[ -e long ] && exit 0\n: >long\nsleep 3\n")
    start(processes, tmp_path, service)
    wait_until(lambda: len(runs(service)) >= 2, timeout=15, what="a run after the long one")
    found = record(service)
    assert 1 <= found.skipped <= 2 and found.missed is False, found
    assert stamp_from_bytes(read_bytes(service / "timer-stamp")) == found.elapse_usec


def test_once_runs_the_job_now_then_stays_down(tmp_path, processes):
    service = make_timer(tmp_path, TimerSpec(FAR), "echo x >>runs\n")
    start(processes, tmp_path, service)
    wait_until(lambda: record(service) is not None and record(service).next_usec,
               what="armed")
    send_control(service, b"o")
    wait_until(lambda: last_run(service) is not None, what="the once run")
    wait_until(lambda: status_record(service).state == State.DOWN, what="down again")
    assert runs(service) == ["x"]
    assert status_record(service).want == "d"
    wait_until(lambda: record(service).next_usec == 0, what="next=0")


def test_down_stops_the_schedule_and_up_starts_it(tmp_path, processes):
    service = make_timer(tmp_path, TimerSpec("*:*:* UTC"), "echo x >>runs\n")
    start(processes, tmp_path, service)
    wait_until(lambda: runs(service), what="a run")
    send_control(service, b"d")
    wait_until(lambda: record(service).next_usec == 0
               and status_record(service).state == State.DOWN, what="down")
    count = len(runs(service))
    time.sleep(2.5)  # two elapses pass: neither runs
    assert len(runs(service)) == count
    send_control(service, b"u")
    wait_until(lambda: len(runs(service)) > count, what="a run after up")


def test_down_during_a_run_terms_the_job(tmp_path, processes):
    service = make_timer(tmp_path, TimerSpec("*:*:* UTC"), "echo x >>runs\nexec sleep 100\n")
    start(processes, tmp_path, service)
    wait_until(lambda: runs(service) and status_record(service).pid, what="a job running")
    send_control(service, b"d")
    wait_until(lambda: last_run(service) is not None, what="the job's end")
    assert (last_run(service).exit_code, last_run(service).signal) == (-1, 15)


def test_hup_reads_a_changed_schedule(tmp_path, processes):
    service = make_timer(tmp_path, TimerSpec(FAR), "echo x >>runs\n")
    start(processes, tmp_path, service)
    wait_until(lambda: record(service) is not None and record(service).next_usec,
               what="armed")
    far = record(service).next_usec
    write_file(service / "schedule", timer_spec_bytes(TimerSpec("*:*:* UTC")).decode())
    time.sleep(1.5)
    assert not runs(service) and record(service).next_usec == far  # not read without h
    send_control(service, b"h")
    wait_until(lambda: runs(service), what="a run of the new schedule")
    assert record(service).next_usec < far


def test_time_limit_terms_the_run_and_counts_it(tmp_path, processes):
    service = make_timer(tmp_path, TimerSpec("*:*:0/2 UTC", time_limit=0.5),
                         "echo x >>runs\nexec sleep 100\n")
    group = start(processes, tmp_path, service)
    wait_until(lambda: last_run(service) is not None, timeout=10, what="the run's end")
    ended = last_run(service)
    assert (ended.exit_code, ended.signal) == (-1, 15)
    assert ended.took == pytest.approx(0.5, abs=0.4)
    assert record(service).timed_out == 1
    assert "./job ran over its time limit (0.5s): TERM" in group.output()


def test_time_limit_kills_a_run_that_ignores_term_10_seconds_later(tmp_path, processes):
    service = make_timer(tmp_path, TimerSpec("*:*:0/2 UTC", time_limit=0.5),
                         "trap '' TERM\necho x >>runs\nsleep 100\n")
    start(processes, tmp_path, service)
    wait_until(lambda: last_run(service) is not None, timeout=20, what="the run's end")
    ended = last_run(service)
    assert (ended.exit_code, ended.signal) == (-1, 9)
    assert ended.took == pytest.approx(10.5, abs=1.0)
    assert record(service).timed_out == 1


def test_a_schedule_that_does_not_read_runs_nothing_and_says_why(tmp_path, processes):
    service = make_timer(tmp_path, TimerSpec("daily"), "echo x >>runs\n")
    write_file(service / "schedule", "timer 1\nwhen=*:*/15\n")
    group = start(processes, tmp_path, service)
    wait_until(lambda: record(service) is not None and record(service).error, what="error")
    assert "'*/N' is cron's" in record(service).error
    wait_until(lambda: "schedule: when=*:*/15" in group.output(), what="the warning")
    assert status_record(service).pid == 0 and not (service / "ran-run").exists()


def test_kill_9_of_runsv_during_a_job_never_runs_its_elapse_twice(tmp_path, processes):
    # one elapse, a few seconds ahead; the stamp of a run an hour before it
    now = time.time()
    elapse = int(now) + 3
    moment = datetime.datetime.fromtimestamp(elapse, datetime.timezone.utc)
    service = make_timer(tmp_path, TimerSpec(moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
                                             persistent=True),
                         "echo x >>runs\nsleep 3\n")
    write_file(service / "timer-stamp", stamp_bytes((elapse - 3600) * USEC).decode())
    group = start(processes, tmp_path, service)
    wait_until(lambda: runs(service) and status_record(service).pid, timeout=10,
               what="the job running")
    assert stamp_from_bytes(read_bytes(service / "timer-stamp")) == elapse * USEC
    os.kill(group.pid, signal.SIGKILL)  # runsv alone: its job goes on
    group.proc.wait(10)
    restarted = start(processes, tmp_path, service)
    wait_until(lambda: last_run(service) is not None, timeout=15, what="the job's end")
    time.sleep(1)
    assert runs(service) == ["x"]
    assert restarted.poll() is None


def test_a_kill_between_a_jobs_start_record_and_its_stamp_runs_the_elapse_once(
        tmp_path, processes):
    """What a kill -9 of runsv leaves when it comes as ``./job`` is about to start — the
    start's record written (``starting-run``), the stamp not yet (it is written after that
    record, just before the spawn): no job ran, and the next runsv runs the elapse, once, as
    the catch-up of a missed one. (Written the other way round, a kill between the stamp and
    the record lost the run: the chaos soak's kill aimed at an elapse found it.)"""
    from runit_provision.protocol.layout import boot_id
    from runit_provision.runtime.supervision.engine.adoption import (
        boot_ticks, record_bytes, starting_record)
    now = time.time()
    elapse = int(now) - 1  # passed a moment ago, while "the killed runsv" started its job
    moment = datetime.datetime.fromtimestamp(elapse, datetime.timezone.utc)
    service = make_timer(tmp_path, TimerSpec(moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
                                             persistent=True),
                         "echo x >>runs\n")
    write_file(service / "timer-stamp", stamp_bytes((elapse - 3600) * USEC).decode())
    (service / "supervise").mkdir(mode=0o700)
    (service / "supervise" / "process").write_bytes(
        record_bytes(starting_record("run", boot_ticks(), boot_id())))
    start(processes, tmp_path, service)
    wait_until(lambda: runs(service) and last_run(service) is not None, timeout=15,
               what="the elapse run")
    time.sleep(1)
    assert runs(service) == ["x"]
    assert record(service).missed  # a catch-up
    assert stamp_from_bytes(read_bytes(service / "timer-stamp")) == elapse * USEC


def test_no_wakeup_between_elapses(tmp_path, processes):
    service = make_timer(tmp_path, TimerSpec(FAR), "echo x >>runs\n")
    group = start(processes, tmp_path, service)
    wait_until(lambda: record(service) is not None and record(service).next_usec,
               what="armed")
    time.sleep(0.3)  # start-up settles
    before = voluntary_switches(group.pid)
    time.sleep(3)  # the wait itself: what is measured
    assert voluntary_switches(group.pid) - before == 0


# -- a job is its whole process group (engine/jobgroup.py) ------------------------------------
# Two children that would outlive the job's shell, noted in ./kids; the shell waits for them.
FAMILY = "sleep 40 &\necho $! >>kids\nsleep 40 &\necho $! >>kids\necho x >>runs\nwait\n"


def kids(service):
    return [int(pid) for pid in runs_of(service / "kids")]


def runs_of(path):
    return (whole_lines(path) or "").split()


def test_a_job_runs_in_a_group_of_its_own_a_daemon_does_not(tmp_path, processes):
    service = make_timer(tmp_path, TimerSpec(FAR), "echo $$ >>runs\nexec sleep 40\n")
    group = start(processes, tmp_path, service)
    send_control(service, b"o")
    wait_until(lambda: runs(service) and status_record(service).pid, what="the job")
    job = status_record(service).pid
    assert os.getpgid(job) == job and os.getsid(job) == group.pid
    daemon = tmp_path / "daemon"
    daemon.mkdir()
    write_file(daemon / "run", SH + "exec sleep 40\n", 0o755)
    daemon_group = start(processes, tmp_path, daemon)
    wait_until(lambda: status_record(daemon).pid, what="the daemon")
    assert os.getpgid(status_record(daemon).pid) == daemon_group.pid  # runsv's, as runit's


def test_time_limit_ends_the_jobs_children_and_runs_never_overlap(tmp_path, processes):
    """A job every 2 s whose shell waits for two ``sleep 40``: its time limit (1 s) ends all
    three, the record says signal 15, and at no moment do two runs' processes live."""
    service = make_timer(tmp_path, TimerSpec("*:*:0/2 UTC", time_limit=1), FAMILY)
    group = start(processes, tmp_path, service)
    assert most_groups_at_once(group.pid, "sleep", lambda: len(runs(service)) >= 3, 30) == 1
    ended = wait_until(lambda: last_run(service), what="a run's end")
    assert (ended.exit_code, ended.signal) == (-1, 15)
    assert record(service).timed_out >= 2
    send_control(service, b"d")
    wait_until(lambda: not alive(kids(service)), what="every child ended")
    assert len(kids(service)) >= 6


def test_down_during_a_run_ends_the_whole_job(tmp_path, processes):
    service = make_timer(tmp_path, TimerSpec(FAR), FAMILY)
    start(processes, tmp_path, service)
    send_control(service, b"u")
    wait_until(lambda: record(service) is not None and record(service).next_usec, what="armed")
    send_control(service, b"o")
    wait_until(lambda: len(alive(kids(service))) == 2 and runs(service), what="two children")
    send_control(service, b"d")
    wait_until(lambda: not alive(kids(service)), what="the children ended")
    wait_until(lambda: last_run(service) is not None, what="the run's end")
    assert (last_run(service).exit_code, last_run(service).signal) == (-1, 15)


def test_what_a_job_leaves_behind_is_ended(tmp_path, processes):
    """The job's shell exits 0 and leaves a ``sleep 40`` in its group: it is sent TERM at
    once (said), the run recorded done."""
    service = make_timer(tmp_path, TimerSpec(FAR), "sleep 40 &\necho $! >>kids\nexit 0\n")
    group = start(processes, tmp_path, service)
    send_control(service, b"o")
    wait_until(lambda: last_run(service) is not None, what="the run's end")
    assert (last_run(service).exit_code, last_run(service).signal) == (0, 0)
    assert len(kids(service)) == 1
    wait_until(lambda: not alive(kids(service)), timeout=5, what="the leftover ended")
    wait_until(lambda: "./job ended, its process group did not: TERM" in group.output(),
               what="said")


def test_what_ignores_term_is_killed_10_seconds_later_though_the_job_ended(
        tmp_path, processes):
    """The time limit's TERM ends the job's shell; its child ignores TERM: KILL reaches it
    10 s after the TERM, the shell long gone."""
    service = make_timer(tmp_path, TimerSpec(FAR, time_limit=0.5),
                         STUBBORN_CHILD % "kids" + "wait\n")
    start(processes, tmp_path, service)
    send_control(service, b"o")
    wait_until(lambda: last_run(service) is not None, what="the shell's end")
    termed = time.monotonic()
    assert last_run(service).signal == 15
    assert alive(kids(service)) == kids(service)  # TERM did not end it
    wait_until(lambda: not alive(kids(service)), timeout=20, what="KILL")
    assert 8 < time.monotonic() - termed < 13
    assert record(service).timed_out == 1


def test_a_job_taken_over_after_kill_9_is_still_ended_as_a_group(tmp_path, processes):
    service = make_timer(tmp_path, TimerSpec(FAR), FAMILY)
    group = start(processes, tmp_path, service)
    send_control(service, b"o")
    wait_until(lambda: len(alive(kids(service))) == 2 and status_record(service).pid,
               what="two children")
    job = status_record(service).pid
    os.kill(group.pid, signal.SIGKILL)  # runsv alone: its job goes on
    group.proc.wait(10)
    start(processes, tmp_path, service)
    wait_until(lambda: is_runsv_up(service), what="the new runsv")
    assert status_record(service).pid == job  # taken over
    send_control(service, b"d")
    wait_until(lambda: not alive(kids(service) + [job]), what="the whole job ended")


def test_down_of_a_one_shots_run_ends_the_whole_run(tmp_path, processes):
    """A one-shot's ``./run`` is a job too: in a group of its own, ``sv down`` ends all of it,
    and what it leaves when it ends is ended."""
    service = tmp_path / "setup"
    service.mkdir()
    write_file(service / "run", SH + FAMILY, 0o755)
    (service / "oneshot").touch()
    group = start(processes, tmp_path, service)
    wait_until(lambda: len(alive(kids(service))) == 2, what="two children")
    run = wait_until(lambda: status_record(service).pid, what="the run's pid shown")
    assert os.getpgid(run) == run and os.getsid(run) == group.pid
    send_control(service, b"d")
    wait_until(lambda: not alive(kids(service) + [run]), what="the whole run ended")
    wait_until(lambda: last_run(service) is not None, what="the run recorded")
    assert (last_run(service).exit_code, last_run(service).signal) == (-1, 15)


def test_an_elapse_while_a_runs_leftovers_are_ended_is_skipped(tmp_path, processes):
    """Every 2 s, a job that exits at once and leaves a child that ignores TERM: the
    elapses until its KILL (10 s later) are skipped, counted — never a run beside it."""
    service = make_timer(tmp_path, TimerSpec("*:*:0/2 UTC"),
                         "echo x >>runs\n" + STUBBORN_CHILD % "kids")
    group = start(processes, tmp_path, service)
    assert most_groups_at_once(group.pid, "sleep", lambda: len(runs(service)) >= 2, 30) == 1
    first_kid = kids(service)[0]
    assert not alive([first_kid])
    assert record(service).skipped >= 3
    send_control(service, b"d")
