"""``timer-run`` — a timer's ``./run`` — under the REAL C runsv (interop): a service directory
made by hand as a timer's is rendered (``job``, ``schedule``, ``run`` = ``exec timer-run``, a
``finish`` that writes ``supervise/last-run``), and what the operator's ``sv`` verbs do to it.

Every wait has a deadline; every process is in the session the fixture kills.
"""

import os
import time
from pathlib import Path

import pytest

from runit_provision.protocol.lastrun import last_run_from_bytes
from runit_provision.protocol.timer import USEC, stamp_bytes, timer_state_from_bytes

from ..conftest import our_tool, require_c_runit
from .processes import BASE_PATH, C_RUNSV, C_SV, SH, STUBBORN_CHILD, alive, \
    most_groups_at_once, read_bytes, stat_fields, status_record, wait_until, write_file

pytestmark = [pytest.mark.interop, pytest.mark.slow]

# The timer's ./finish under the C runsv: the one-shot finish's record (templates/finish/
# oneshot.j2) without its ``d``, the run's start from supervise/timer's ``started=`` (the C
# runsv's status stamp is the waiter's start), and nothing written when no job ran
# (``started=0``: ended while waiting, or an error before the job). With ../slow-finish it
# takes 0.6 s more: the next waiter starts that much later.
FINISH = SH + r"""echo "finish $1 $2" >>../finishes
[ -e ../slow-finish ] && sleep 0.6
record=$(cat supervise/timer 2>/dev/null)
case " $record " in *" started=0 "*) exit 0 ;; esac
started=${record##* started=}
started=${started%% *}
echo "$started" >>../started
ended=$(date +%s.%N)
printf 'last-run 1 exit=%d signal=%d started=%s ended=%s\n' "${1:--1}" "${2:-0}" "$started" "$ended" >supervise/last-run.new &&
  mv -f supervise/last-run.new supervise/last-run
exit 0
"""
# Each run notes its start (and its end, when it ends by itself) in ../runs.
JOB = SH + 'echo "start $(date +%%s.%%N)" >>../runs\n%s\necho "end $(date +%%s.%%N)" >>../runs\n'
YEARLY = "*-01-01 00:00:00"  # never within a test


def timer_service(tmp_path, when, job="exit 0", down=False, **keys):
    service = tmp_path / "svc"
    write_file(service / "run", SH + "exec timer-run\n", 0o755)
    write_file(service / "job", JOB % job, 0o755)
    write_file(service / "finish", FINISH, 0o755)
    write_schedule(service, when, **keys)
    if down:
        (service / "down").touch()
    return service


def write_schedule(service, when, persistent=False, jitter=0, time_limit=0):
    write_file(service / "schedule", "timer 1\nwhen=%s\npersistent=%d\njitter=%s\ntime_limit=%s\n"
               % (when, persistent, jitter, time_limit))


def start_runsv(processes, tmp_path, service):
    require_c_runit()
    env = {"PATH": "%s:%s" % (BASE_PATH, os.path.dirname(our_tool("timer-run")))}
    return processes.start([C_RUNSV, service], env=env, output=tmp_path / "runsv.out")


def sv(*args):
    import subprocess

    done = subprocess.run([C_SV] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=30)
    return done


def record(service):
    raw = read_bytes(service / "supervise" / "timer")
    return None if not raw else timer_state_from_bytes(raw)


def started_word(service):
    raw = read_bytes(service / "supervise" / "timer") or b""
    words = dict(w.split(b"=", 1) for w in raw.split() if b"=" in w)
    return float(words.get(b"started", b"-1"))


def last_run(service):
    raw = read_bytes(service / "supervise" / "last-run")
    return None if not raw else last_run_from_bytes(raw)


def runs(tmp_path):
    """[(word, seconds)] of ../runs: each job's start and end."""
    text = read_bytes(tmp_path / "runs") or b""
    return [(word, float(at)) for word, at in
            (line.split() for line in text.decode().splitlines() if line.count(" ") == 1)]


def starts(tmp_path):
    return [at for word, at in runs(tmp_path) if word == "start"]


def started(tmp_path):
    """Each recorded run's start, as timer-run took it just before it started the job (the
    job's own ``date`` may come much later on a loaded machine)."""
    return [float(line) for line in (read_bytes(tmp_path / "started") or b"").split()]


def finishes(tmp_path):
    return (read_bytes(tmp_path / "finishes") or b"").decode().splitlines()


def waiter_pid(service):
    """The waiter's pid while it waits: runsv's ./run, and the record says no job runs."""
    found = status_record(service)
    return found.pid if found and found.pid and started_word(service) == 0 else 0


def is_down(service):
    found = status_record(service)
    return found is not None and found.state.name == "DOWN"


def children(pid):
    from .processes import children_of

    return children_of(pid)


def test_runs_fire_at_each_elapse_and_the_records_say_so(tmp_path, processes):
    """``*:*:0/2``: each run starts just after an even second, one per elapse; between runs
    the waiter has no child; the finish records exit 0 with the job's start; the record's
    elapse is that second and its next the one after."""
    service = timer_service(tmp_path, "*:*:0/2")
    start_runsv(processes, tmp_path, service)
    wait_until(lambda: len(started(tmp_path)) >= 3, timeout=20, what="three runs")
    at = started(tmp_path)
    for moment in at:
        assert moment % 2 < 1, at  # on time (the machine is loaded: within a second)
    assert sorted({int(moment) // 2 for moment in at}) == [int(m) // 2 for m in at], at
    wait_until(lambda: last_run(service) is not None and waiter_pid(service), timeout=10,
               what="a recorded run and the next waiter")
    pid = waiter_pid(service)
    assert children(pid) == []  # waiting: no process but the waiter
    done, state = last_run(service), record(service)
    assert done.is_done and done.exit_code == 0
    assert state.elapse_usec % (2 * USEC) == 0 and state.next_usec == state.elapse_usec + 2 * USEC
    assert state.skipped == 0 and state.timed_out == 0 and not state.missed
    assert 0 <= done.started_ns / 1e9 - state.elapse_usec / USEC < 1
    assert done.ended_ns >= done.started_ns


@pytest.mark.parametrize("job, code, signum", [
    ("exit 7", 7, 0),
    ("kill -KILL $$", -1, 9),
    ("kill -USR1 $$", -1, 10),
])
def test_the_jobs_exit_code_and_signal_reach_finish(tmp_path, processes, job, code, signum):
    service = timer_service(tmp_path, "*:*:0/2", job=job)
    start_runsv(processes, tmp_path, service)
    wait_until(lambda: last_run(service), timeout=15, what="a recorded run")
    done = last_run(service)
    assert (done.exit_code, done.signal) == (code, signum)
    assert finishes(tmp_path)[0] == "finish %d %d" % (code, signum)


def test_sv_once_runs_the_job_now_and_stays_down(tmp_path, processes):
    """``down`` (off at boot), then ``sv once``: the job runs at once though no elapse is
    near, is recorded, and the timer stays down (no waiter is started again)."""
    service = timer_service(tmp_path, YEARLY, down=True)
    start_runsv(processes, tmp_path, service)
    wait_until(lambda: status_record(service), what="runsv's status")
    asked = time.time()
    assert sv("once", service).returncode == 0
    wait_until(lambda: last_run(service) and is_down(service), timeout=10,
               what="the run recorded and the timer down")
    assert len(started(tmp_path)) == 1 and started(tmp_path)[0] - asked < 3
    state = record(service)
    assert state.next_usec == 0 and not state.missed
    assert state.elapse_usec == round(started(tmp_path)[0] * USEC)  # a once run's elapse: now
    assert last_run(service).is_done
    time.sleep(1.5)  # runsv would have started ./run again by now if it meant to
    assert is_down(service) and len(started(tmp_path)) == 1


def test_sv_once_while_waiting_runs_the_job_now(tmp_path, processes):
    """``sv once`` while the waiter waits (the C runsv only writes want down): the waiter sees
    it and runs the job now; then the timer stays down."""
    service = timer_service(tmp_path, YEARLY)
    start_runsv(processes, tmp_path, service)
    pid = wait_until(lambda: waiter_pid(service), timeout=10, what="the waiter")
    asked = time.time()
    assert sv("once", service).returncode == 0
    wait_until(lambda: last_run(service) and is_down(service), timeout=10,
               what="the run recorded and the timer down")
    assert len(started(tmp_path)) == 1 and started(tmp_path)[0] - asked < 3
    assert last_run(service).is_done and record(service).next_usec == 0
    assert finishes(tmp_path) == ["finish 0 0"]  # one ./run: the waiter that ran it
    assert not os.path.exists("/proc/%d" % pid)  # it ended with its job


def test_sv_down_while_waiting_ends_the_waiter_and_records_no_run(tmp_path, processes):
    service = timer_service(tmp_path, YEARLY)
    start_runsv(processes, tmp_path, service)
    wait_until(lambda: waiter_pid(service), timeout=10, what="the waiter")
    assert record(service).next_usec > time.time() * USEC
    assert sv("down", service).returncode == 0
    wait_until(lambda: is_down(service) and finishes(tmp_path), timeout=10,
               what="down, and its finish done")
    assert finishes(tmp_path) == ["finish 0 0"]
    assert last_run(service) is None and starts(tmp_path) == []  # no run recorded: none ran
    assert record(service).next_usec == 0  # off


def test_sv_down_during_a_run_ends_the_job_as_any_service(tmp_path, processes):
    """``sv down`` while the job runs: runsv's TERM reaches the job, which ends by it; the
    finish records signal 15; the timer is off (next=0) and not started again."""
    service = timer_service(tmp_path, "*:*:0/2", job="exec sleep 100")
    start_runsv(processes, tmp_path, service)
    wait_until(lambda: starts(tmp_path), timeout=10, what="a run")
    assert sv("down", service).returncode == 0
    wait_until(lambda: last_run(service) and is_down(service), timeout=10,
               what="the run's end recorded")
    done = last_run(service)
    assert (done.exit_code, done.signal) == (-1, 15)
    assert record(service).next_usec == 0
    time.sleep(2.5)  # an elapse passes: nothing runs
    assert len(starts(tmp_path)) == 1


def test_runsvs_signals_reach_the_job(tmp_path, processes):
    """``sv hup``, ``sv 1``, ``sv alarm``, ``sv interrupt`` while the job runs: each reaches
    the job (it notes them), the waiter stays."""
    job = ("trap 'echo HUP >>../got' HUP; trap 'echo USR1 >>../got' USR1\n"
           "trap 'echo ALRM >>../got' ALRM; trap 'echo INT >>../got; exit 4' INT\n"
           "touch ../ready\nwhile :; do sleep 0.05; done")
    service = timer_service(tmp_path, "*:*:0/2", job=job)
    start_runsv(processes, tmp_path, service)
    wait_until(lambda: (tmp_path / "ready").exists(), timeout=10, what="the job's traps")
    got = lambda: (read_bytes(tmp_path / "got") or b"").decode().split()  # noqa: E731
    for verb, word in (("hup", "HUP"), ("1", "USR1"), ("alarm", "ALRM"), ("interrupt", "INT")):
        assert sv(verb, service).returncode == 0
        wait_until(lambda: word in got(), timeout=10, what="the job got " + word)
    wait_until(lambda: last_run(service), timeout=10, what="the run's end")
    assert (last_run(service).exit_code, last_run(service).signal) == (4, 0)


def test_a_run_outlasting_elapses_counts_them_skipped(tmp_path, processes):
    """A 4.5 s job (its first run) every 2 s: the elapses within it are not started (one job
    at a time), they are counted in ``skipped``; the next run is at the first elapse after
    its end — ``persistent`` as it is: the skipped elapses were counted, not missed (no
    catch-up at once)."""
    service = timer_service(tmp_path, "*:*:0/2", persistent=True,
                            job="[ -e ../slept ] || { touch ../slept; sleep 4.5; }")
    start_runsv(processes, tmp_path, service)
    wait_until(lambda: len(starts(tmp_path)) >= 2 and len(started(tmp_path)) >= 2, timeout=30,
               what="two runs")
    (first_start, first_end, second) = (started(tmp_path)[0],
                                        [at for w, at in runs(tmp_path) if w == "end"][0],
                                        started(tmp_path)[1])
    elapse = int(first_start) // 2 * 2
    expected = sum(1 for e in range(elapse + 2, int(first_end) + 1, 2) if e <= first_end)
    assert expected >= 2
    assert second > first_end and int(second) // 2 * 2 > first_end - 2
    assert second % 2 < 1  # at an elapse, not at once
    state = wait_until(lambda: record(service) if record(service).skipped else None,
                       what="skipped counted")
    assert state.skipped == expected, (first_start, first_end, state)
    assert not state.missed


def test_an_elapse_between_a_runs_end_and_the_next_waiter_runs_at_once(tmp_path, processes):
    """The job ends 0.2 s before the next elapse and the finish takes 0.6 s: runsv starts the
    next waiter after that elapse, which it runs at once (the hand-over), none skipped."""
    (tmp_path / "slow-finish").touch()
    job = ("now=$(date +%s.%N)\n"
           "sleep $(awk -v t=$now 'BEGIN { printf \"%.3f\", int(t / 2) * 2 + 1.8 - t }')")
    service = timer_service(tmp_path, "*:*:0/2", job=job)
    start_runsv(processes, tmp_path, service)
    wait_until(lambda: len(started(tmp_path)) >= 2, timeout=15, what="two runs")
    first, second = started(tmp_path)[:2]
    assert int(second) // 2 == int(first) // 2 + 1, (first, second)  # the next elapse's
    # late: after the slow finish (the job ends at 1.8 s at the earliest, its finish 0.6 s
    # after: 0.4 s into the next period), at once
    assert second % 2 > 0.35, (first, second)
    state = wait_until(lambda: record(service) if record(service).elapse_usec
                       >= (int(second) // 2 * 2) * USEC else None, what="its record")
    assert state.skipped == 0 and not state.missed


def test_time_limit_ends_a_run_and_counts_it(tmp_path, processes):
    """``time_limit=2``: a job that ends by TERM is ended after 2 s (signal 15); one that
    ignores TERM gets KILL 10 s later (signal 9); each counts in ``timed_out``."""
    service = timer_service(tmp_path, YEARLY, down=True, time_limit=2)
    # the trap first: a loaded machine may take a while to the job's first line
    write_file(service / "job", SH + "[ -e ../stubborn ] && trap '' TERM\n"
               "echo \"start $(date +%s.%N)\" >>../runs\nexec sleep 100\n", 0o755)
    start_runsv(processes, tmp_path, service)
    wait_until(lambda: status_record(service), what="runsv's status")
    assert sv("once", service).returncode == 0
    wait_until(lambda: last_run(service) and is_down(service), timeout=15, what="timed out")
    first = last_run(service)
    assert first.signal == 15 and 1.9 < first.took < 8, first
    assert record(service).timed_out == 1
    (tmp_path / "stubborn").touch()
    before = first.ended_ns
    assert sv("once", service).returncode == 0
    wait_until(lambda: last_run(service).ended_ns != before and is_down(service), timeout=30,
               what="killed")
    second = last_run(service)
    assert second.signal == 9 and 11.5 < second.took < 25, second
    assert record(service).timed_out == 2


def test_persistent_runs_a_missed_elapse_once_at_start(tmp_path, processes):
    """``persistent=1``: with a stamp 3 elapses old, the waiter's start runs the latest missed
    elapse at once (``missed=1``), writes its stamp, and does not run it again; without
    ``persistent`` the same stamp runs nothing before the next elapse."""
    every10 = "*:*:0/10"
    # start 2-6 s after an elapse: "at once" is then well apart from "at the next elapse"
    wait_until(lambda: 2 < time.time() % 10 < 6, timeout=15, what="a quiet moment")
    last = int(time.time()) // 10 * 10
    lazy = tmp_path / "lazy"
    lazy.mkdir()
    for where, persistent in ((tmp_path, True), (lazy, False)):
        service = timer_service(where, every10, persistent=persistent)
        (service / "timer-stamp").write_bytes(stamp_bytes((last - 30) * USEC))
        start_runsv(processes, where, service)
    service = tmp_path / "svc"
    wait_until(lambda: last_run(service), timeout=5, what="the catch-up run")
    assert starts(tmp_path)[0] < last + 8
    state = record(service)
    assert state.missed and state.elapse_usec == last * USEC
    assert (service / "timer-stamp").read_bytes() == stamp_bytes(last * USEC)
    wait_until(lambda: waiter_pid(service), timeout=5, what="the next waiter")
    assert record(service).next_usec == (last + 10) * USEC
    assert len(starts(tmp_path)) == 1 and starts(lazy) == []
    assert waiter_pid(lazy / "svc") and not record(lazy / "svc").missed


def test_sv_hup_rearms_the_waiter_on_a_changed_schedule(tmp_path, processes):
    service = timer_service(tmp_path, YEARLY)
    start_runsv(processes, tmp_path, service)
    pid = wait_until(lambda: waiter_pid(service), timeout=10, what="the waiter")
    far = record(service).next_usec
    write_schedule(service, "*:*:0/2")
    assert sv("hup", service).returncode == 0
    wait_until(lambda: record(service).next_usec != far, timeout=5, what="re-armed")
    assert record(service).next_usec - time.time() * USEC < 2.5 * USEC
    assert status_record(service).pid == pid  # the same waiter
    wait_until(lambda: starts(tmp_path), timeout=5, what="a run on the new schedule")


@pytest.mark.parametrize("fault, said", [
    ("no job", "timer-run: fatal: unable to start ./job: file does not exist"),
    ("bad schedule", "timer-run: fatal: schedule: when=*-*-* 25:00: column 7: the hour 25 "
                     "is not within 0..23"),
])
def test_a_fault_is_said_recorded_and_retried(tmp_path, processes, fault, said):
    """No ./job, or a schedule that does not parse: a line on stderr, ``error=`` in the
    record, exit 111 — the finish records no run — and runsv starts ./run again."""
    service = timer_service(tmp_path, "*:*:0/2")
    if fault == "no job":
        (service / "job").unlink()
    else:
        write_schedule(service, "*-*-* 25:00")
    group = start_runsv(processes, tmp_path, service)
    wait_until(lambda: len(finishes(tmp_path)) >= 2, timeout=10, what="two tries")
    assert finishes(tmp_path)[:2] == ["finish 111 0"] * 2
    assert said in group.output()
    assert said.split("fatal: ", 1)[1] == record(service).error
    assert last_run(service) is None


# -- a job is its whole process group ------------------------------------------------------------
# Two children that would outlive the job's shell, noted in ../kids; the shell waits for them.
FAMILY = "sleep 40 &\necho $! >>../kids\nsleep 40 &\necho $! >>../kids\nwait"


def kids(tmp_path):
    return [int(pid) for pid in (read_bytes(tmp_path / "kids") or b"").split()]


def test_the_job_runs_in_a_group_of_its_own(tmp_path, processes):
    service = timer_service(tmp_path, YEARLY, down=True, job="exec sleep 40")
    group = start_runsv(processes, tmp_path, service)
    wait_until(lambda: status_record(service), what="runsv's status")
    assert sv("once", service).returncode == 0
    waiter = wait_until(lambda: status_record(service).pid if starts(tmp_path) else 0,
                        what="the job")
    job = wait_until(lambda: children(waiter), what="the job's pid")[0]
    assert os.getpgid(job) == job and os.getsid(job) == group.pid
    assert os.getpgid(waiter) == group.pid  # the waiter itself: runsv's ./run, as runit's


def test_time_limit_ends_the_whole_job_and_runs_never_overlap(tmp_path, processes):
    """A job every 2 s whose shell waits for two ``sleep 40``: its time limit (1 s) ends all
    three, the finish records signal 15, and at no moment do two runs' processes live."""
    service = timer_service(tmp_path, "*:*:0/2", job=FAMILY, time_limit=1)
    group = start_runsv(processes, tmp_path, service)
    assert most_groups_at_once(group.pid, "sleep", lambda: len(started(tmp_path)) >= 3,
                               40) == 1
    done = last_run(service)
    assert (done.exit_code, done.signal) == (-1, 15)
    assert record(service).timed_out >= 2
    assert sv("down", service).returncode == 0
    wait_until(lambda: not alive(kids(tmp_path)), what="every child ended")
    assert len(kids(tmp_path)) >= 6


def test_sv_down_during_a_run_ends_the_whole_job(tmp_path, processes):
    service = timer_service(tmp_path, YEARLY, down=True, job=FAMILY)
    start_runsv(processes, tmp_path, service)
    wait_until(lambda: status_record(service), what="runsv's status")
    assert sv("once", service).returncode == 0
    wait_until(lambda: len(alive(kids(tmp_path))) == 2, what="two children")
    assert sv("down", service).returncode == 0
    wait_until(lambda: not alive(kids(tmp_path)), what="the children ended")
    wait_until(lambda: last_run(service) and is_down(service), what="the run's end")
    assert (last_run(service).exit_code, last_run(service).signal) == (-1, 15)


def test_what_a_job_leaves_behind_is_ended_before_the_next_run(tmp_path, processes):
    """The job's shell exits 0 and leaves a ``sleep 40`` in its group: it gets TERM (said),
    and the run is recorded done once it is gone."""
    service = timer_service(tmp_path, YEARLY, down=True,
                            job="sleep 40 &\necho $! >>../kids")
    start_runsv(processes, tmp_path, service)
    wait_until(lambda: status_record(service), what="runsv's status")
    assert sv("once", service).returncode == 0
    wait_until(lambda: last_run(service) and is_down(service), what="the run's end")
    assert (last_run(service).exit_code, last_run(service).signal) == (0, 0)
    assert len(kids(tmp_path)) == 1 and not alive(kids(tmp_path))
    assert "./job ended, its process group did not: TERM" in (
        tmp_path / "runsv.out").read_text()


def test_what_ignores_term_is_killed_10_seconds_later_though_the_job_ended(
        tmp_path, processes):
    """The time limit's TERM ends the job's shell; its child ignores TERM: KILL reaches it
    10 s after the TERM, and only then does the waiter end (runsv's finish after it)."""
    service = timer_service(tmp_path, YEARLY, down=True, time_limit=0.5,
                            job=STUBBORN_CHILD % "../kids" + "wait")
    start_runsv(processes, tmp_path, service)
    wait_until(lambda: status_record(service), what="runsv's status")
    asked = time.monotonic()
    assert sv("once", service).returncode == 0
    kid = wait_until(lambda: kids(tmp_path), what="the child")[0]
    wait_until(lambda: stat_fields(kid) is None, timeout=25, what="KILL")
    assert 9 < time.monotonic() - asked < 16
    wait_until(lambda: last_run(service) and is_down(service), what="the run's end")
    assert last_run(service).signal == 15 and record(service).timed_out == 1
