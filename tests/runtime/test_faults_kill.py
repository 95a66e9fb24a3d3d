"""Fault tier: a runtime process killed with SIGKILL — the tree, its logger host, runsv — and
started again loses nothing and doubles nothing.

The goal (better than runit's, whose runsv has the same flaw when killed): after ``kill -9`` of
any runtime process and a restart, no service runs twice, no process is left unsupervised, no
log line is lost, and services that were running keep running — taken over, not restarted.
Writers print numbered lines as fast as the pipe takes them, so the kill lands while the tree
or the host is busy; every line must then be in the log once, in order.
"""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from ..conftest import our_tool
from .processes import (
    BASE_PATH, SH, end_tree, instances, is_runsv_up, kill_pids, logger_host_of, make_service,
    processes_under, running_pid, start_time, status_record, wait_until, whole_lines)

pytestmark = pytest.mark.slow

LINES = 20000
# Numbered lines at full speed, then idle: the pipe is full most of the time while they flow.
WRITER = SH + 'i=0\nwhile [ $i -lt %d ]; do i=$((i+1)); echo "line $i"; done\nexec sleep 1000\n'


def tree_env():
    return {"PATH": "%s:%s" % (Path(our_tool("sv")).parent, BASE_PATH)}


class Tree:
    """One runsvdir on ``svdir``, started and restarted; every process ended at the end."""

    def __init__(self, svdir):
        self.svdir = svdir
        self.proc = None
        self.started = []

    def start(self):
        self.proc = subprocess.Popen([our_tool("runsvdir"), str(self.svdir)],
                                     start_new_session=True, env=tree_env(),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.started.append(self.proc)
        return self.proc

    def end(self):
        for proc in self.started:
            end_tree(proc, self.svdir.parent, timeout=15)


@pytest.fixture
def tree(tmp_path):
    started = Tree(tmp_path / "service")
    started.svdir.mkdir()
    yield started
    started.end()


def logged(svdir, name, hosted=True):
    """A service writing LINES numbered lines, logged by svlogd (hosted in the tree, or
    exec'd as a process when ``hosted`` is false)."""
    words = "svlogd" if hosted else '"svlogd"'  # quotes: not the canonical form, exec'd
    service = make_service(svdir, name, run=WRITER % LINES,
                           log_run=SH + "exec %s ./main\n" % words)
    (service / "log" / "main").mkdir()
    (service / "log" / "main" / "config").write_text("s200000\nn100\n")
    return service


def numbers(service):
    logdir = service / "log" / "main"
    names = sorted(name for name in os.listdir(logdir) if name.startswith("@"))
    text = "".join((logdir / name).read_text() for name in names + ["current"]
                   if (logdir / name).exists())
    return [int(n) for n in re.findall(r"^line (\d+)$", text, re.M)]


def assert_every_line(service, kills):
    """Every line, in order. A kill between a logger's write and the consume that follows it
    (svlog/peek.py) makes the next logger write that chunk again: lines may repeat, as one
    replayed block per kill — never go missing or out of order."""
    got, replayed, high = [], 0, 0
    for number in numbers(service):
        if number <= high:
            replayed += 1
            continue
        got.append(number)
        high = number
    assert got == list(range(1, LINES + 1)), (
        "%s: %d lines, first gap at %s" % (service.name, len(got), next(
            (i + 1 for i, n in enumerate(got) if n != i + 1), None)))
    assert replayed <= kills * 65536 // len("line 00000\n"), service.name  # a pipeful a kill


def all_logged(services):
    return all(len(numbers(service)) >= LINES for service in services)


def kill_the_tree_then_its_service(tree, service):
    """Start the tree, kill it, then the service it ran (gone, unseen); the service's pid."""
    first = tree.start()
    pid = wait_until(lambda: running_pid(service), what="running")
    first.send_signal(signal.SIGKILL)
    first.wait()
    kill_pids([pid])
    wait_until(lambda: start_time(pid) is None, what="the orphan gone")
    return pid


def test_kill_9_of_the_tree_under_load_loses_and_doubles_nothing(tree):
    hosted = [logged(tree.svdir, "h%d" % i) for i in range(5)]
    execd = [logged(tree.svdir, "x%d" % i, hosted=False) for i in range(3)]
    plain = [make_service(tree.svdir, "p%d" % i, run=SH + "exec sleep 1000\n")
             for i in range(5)]
    everything = hosted + execd + plain
    first = tree.start()
    for service in everything:
        wait_until(lambda: running_pid(service), timeout=15, what="%s running" % service.name)
    wait_until(lambda: all(len(numbers(s)) > 100 for s in hosted + execd), timeout=15,
               what="lines flowing")
    before = {service.name: (running_pid(service), start_time(running_pid(service)))
              for service in everything}
    first.send_signal(signal.SIGKILL)
    first.wait()
    tree.start()
    for service in everything:
        # taken over, not restarted: the same process (same pid and start time)
        wait_until(lambda: status_record(service) is not None and running_pid(service),
                   timeout=15, what="%s supervised again" % service.name)
        pid = running_pid(service)
        assert (pid, start_time(pid)) == before[service.name], service.name
        assert instances(service) == {pid}, service.name
    wait_until(lambda: all_logged(hosted + execd), timeout=60, what="every line logged")
    for service in hosted:
        assert_every_line(service, kills=1)  # its logger died with the tree
    for service in execd:
        assert_every_line(service, kills=0)  # its svlogd lived on
    # nothing unsupervised: after the new tree's TERM, nothing is left in the tree's directory
    tree.proc.send_signal(signal.SIGTERM)
    assert tree.proc.wait(timeout=15) == 0
    wait_until(lambda: not processes_under(tree.svdir.parent), timeout=10,
               what="every process gone after TERM")


def test_a_service_that_ended_while_no_tree_ran_goes_through_finish(tree):
    """Its exit status is unknowable (its parent was init): ./finish gets -1 0."""
    service = make_service(tree.svdir, "once",
                           run=SH + "[ -e ran ] && exec sleep 1000\ntouch ran\nexec sleep 1000\n",
                           finish=SH + 'echo "finish $1 $2" >>finished\n')
    pid = kill_the_tree_then_its_service(tree, service)
    tree.start()
    assert wait_until(lambda: whole_lines(service / "finished"),
                      what="./finish run") == "finish -1 0\n"
    new = wait_until(lambda: running_pid(service), what="started again (want up)")
    assert new != pid


def test_an_adopted_process_that_exits_goes_through_finish(tree):
    service = make_service(tree.svdir, "adopted", run=SH + "exec sleep 1000\n",
                           finish=SH + 'echo "finish $1 $2" >>finished\n')
    first = tree.start()
    pid = wait_until(lambda: running_pid(service), what="running")
    first.send_signal(signal.SIGKILL)
    first.wait()
    tree.start()
    wait_until(lambda: running_pid(service) == pid, what="adopted")
    kill_pids([pid])
    assert wait_until(lambda: whole_lines(service / "finished"),
                      what="./finish run") == "finish -1 0\n"
    assert wait_until(lambda: running_pid(service), what="restarted") != pid


def test_a_down_service_stays_down_after_the_tree_is_killed(tree):
    """As under runit, where runsv (which keeps want) survives its runsvdir."""
    service = make_service(tree.svdir, "stopped", run=SH + "exec sleep 1000\n")
    first = tree.start()
    wait_until(lambda: running_pid(service), what="running")
    out = subprocess.run([our_tool("sv"), "-w", "5", "down", str(service)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out
    first.send_signal(signal.SIGKILL)
    first.wait()
    tree.start()
    wait_until(lambda: is_runsv_up(service), what="supervised again")
    out = subprocess.run([our_tool("sv"), "status", str(service)], capture_output=True,
                         text=True)
    assert re.match(r"down: \S+: \d+s, normally up\n", out.stdout), out.stdout


@pytest.mark.parametrize("kill_what", ["the loggers' stand-in", "exec'd svlogd"])
def test_kill_9_of_a_logger_under_load_loses_nothing(tree, kill_what):
    hosted = kill_what == "the loggers' stand-in"
    services = [logged(tree.svdir, "s%d" % i, hosted=hosted) for i in range(3)]
    tree.start()
    wait_until(lambda: all(len(numbers(s)) > 200 for s in services), timeout=15,
               what="lines flowing")
    services_before = {s.name: running_pid(s) for s in services}
    for round_ in range(3):
        victim = status_record(services[0] / "log").pid
        if hosted:
            assert victim == logger_host_of(tree.proc.pid)
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: running_pid(services[0] / "log") not in (0, victim), timeout=15,
                   what="the logger started again (round %d)" % round_)
    wait_until(lambda: all_logged(services), timeout=60, what="every line logged")
    for service in services:
        assert_every_line(service, kills=3)
        assert running_pid(service) == services_before[service.name]  # never touched


def test_kill_9_of_runsv_and_a_new_runsv_takes_over(tmp_path):
    service = logged(tmp_path, "svc", hosted=False)
    started = []
    try:
        for _ in range(2):
            proc = subprocess.Popen([our_tool("runsv"), str(service)], start_new_session=True,
                                    env=tree_env(), stdin=subprocess.DEVNULL)
            started.append(proc)
            pid = wait_until(lambda: running_pid(service), what="running")
            if len(started) == 1:
                before = (pid, start_time(pid))
                wait_until(lambda: len(numbers(service)) > 100, what="lines flowing")
                proc.send_signal(signal.SIGKILL)
                proc.wait()
        assert (pid, start_time(pid)) == before
        assert instances(service) - {proc.pid} == {pid}  # runsv's own cwd is the service
        wait_until(lambda: len(numbers(service)) >= LINES, timeout=60, what="every line")
        assert_every_line(service, kills=0)
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=15)
        kill_pids(processes_under(tmp_path))


# A writer that stops in the middle of a line for longer than a logger waits for the rest
# (svlog/peek.py), so the logger takes the half line; then the logger is killed.
PAUSER = SH + 'printf "first half"\nwhile [ ! -e go ]; do sleep 0.02; done\n' \
    'printf " second half\\n"\nexec sleep 1000\n'


@pytest.mark.parametrize("kill_what", ["the tree", "the loggers' stand-in", "exec'd svlogd"])
def test_a_half_line_held_by_a_killed_logger_is_finished_by_the_next(tree, kill_what):
    hosted = kill_what != "exec'd svlogd"
    words = "svlogd -tt" if hosted else '"svlogd" -tt'
    service = make_service(tree.svdir, "pauser", run=PAUSER,
                           log_run=SH + "exec %s ./main\n" % words)
    logdir = service / "log" / "main"
    logdir.mkdir()
    tree.start()
    wait_until(lambda: (logdir / "unfinished").exists(), timeout=15,
               what="the half line taken and kept")
    victim = tree.proc.pid if kill_what == "the tree" else status_record(service / "log").pid
    os.kill(victim, signal.SIGKILL)
    if kill_what == "the tree":
        tree.proc.wait()
        tree.start()
    wait_until(lambda: running_pid(service / "log") not in (0, victim), timeout=15,
               what="a new logger")
    (service / "go").touch()
    text = wait_until(lambda: "second" in all_text(logdir) and all_text(logdir), timeout=15,
                      what="the line finished")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.\d{5} first half second half\n",
                        text), text
    assert not (logdir / "unfinished").exists()


def all_text(logdir):
    names = sorted(name for name in os.listdir(logdir) if name.startswith("@"))
    return "".join((logdir / name).read_text() for name in names + ["current"]
                   if (logdir / name).exists())


# -- a tree killed between a spawn and the record of its pid ----------------------------------
# The kill lands in microseconds no test can aim at, so the test leaves what it leaves: a
# process started in the directory and a record that says a start was under way (written
# just before the spawn), the status as it was before it (down, want up).
def leave_a_start_under_way(side_dir, what, since):
    from runit_provision.protocol.status import State, Status, status_to_bytes
    from runit_provision.runtime.supervision.engine.adoption import (boot_id, record_bytes,
                                                                     starting_record)
    supervise = side_dir / "supervise"
    (supervise / "process").write_bytes(record_bytes(starting_record(what, int(since), boot_id())))
    old = status_record(side_dir)
    state = State.FINISH if what == "finish" else State.DOWN
    (supervise / "status").write_bytes(status_to_bytes(
        Status(old.seconds, old.nanoseconds, 0, False, "u", False, state)))


def state_of(side_dir):
    status = status_record(side_dir)
    return None if status is None else status.state.name.lower()


def pid_of(side_dir):
    status = status_record(side_dir)
    return 0 if status is None else status.pid


def lines_of(path):
    return path.read_text().splitlines() if path.exists() else []


def test_a_run_started_just_before_the_kill_is_adopted_not_started_twice(tree):
    service = make_service(tree.svdir, "svc", run=SH + "echo run >>runs\nexec sleep 1000\n")
    first = tree.start()
    pid = wait_until(lambda: running_pid(service), what="running")
    first.send_signal(signal.SIGKILL)
    first.wait()
    leave_a_start_under_way(service, "run", start_time(pid))
    tree.start()
    wait_until(lambda: running_pid(service) == pid, what="the orphan adopted")
    assert instances(service) == {pid}
    assert lines_of(service / "runs") == ["run"]
    kill_pids([pid])  # and it is supervised: its end goes through the exit path
    wait_until(lambda: running_pid(service) not in (0, pid), what="restarted")
    assert lines_of(service / "runs") == ["run", "run"]


def test_a_start_under_way_that_never_happened_is_made(tree):
    service = make_service(tree.svdir, "svc", run=SH + "echo run >>runs\nexec sleep 1000\n")
    pid = kill_the_tree_then_its_service(tree, service)
    leave_a_start_under_way(service, "run", int(start_time(os.getpid())) + 10 ** 6)
    tree.start()
    new = wait_until(lambda: running_pid(service) not in (0, pid) and running_pid(service),
                     what="started")
    assert instances(service) == {new}


def test_a_finish_started_just_before_the_kill_runs_once_then_run(tree):
    service = make_service(
        tree.svdir, "svc", run=SH + "echo run >>runs\n[ -e go ] && exec sleep 1000\nexit 3\n",
        finish=SH + 'echo "finish $1 $2" >>finished\nwhile [ ! -e go ]; do sleep 0.02; done\n')
    first = tree.start()
    finishing = wait_until(lambda: state_of(service) == "finish" and pid_of(service),
                           what="./finish running")
    first.send_signal(signal.SIGKILL)
    first.wait()
    leave_a_start_under_way(service, "finish", start_time(finishing))
    tree.start()
    wait_until(lambda: is_runsv_up(service), what="supervised again")
    assert pid_of(service) == finishing and state_of(service) == "finish"
    (service / "go").touch()
    wait_until(lambda: state_of(service) == "run", what="./run again")
    assert lines_of(service / "finished") == ["finish 3 0"]  # once: adopted, not run again
    assert lines_of(service / "runs") == ["run", "run"]


@pytest.mark.parametrize("record", ["finish due", "finish starting"])
def test_a_finish_due_when_the_tree_was_killed_runs_once(tree, record):
    """./run ended and was seen; the kill came before ./finish started (before or after the
    record of the start under way)."""
    service = make_service(tree.svdir, "svc", run=SH + "exec sleep 1000\n",
                           finish=SH + 'echo "finish $1 $2" >>finished\n')
    pid = kill_the_tree_then_its_service(tree, service)
    leave_a_start_under_way(service, "finish", int(start_time(os.getpid())) + 10 ** 6)
    if record == "finish due":
        from runit_provision.runtime.supervision.engine.adoption import (Record, boot_id,
                                                                         record_bytes)
        (service / "supervise" / "process").write_bytes(
            record_bytes(Record(0, 0, boot_id(), "finish")))
    tree.start()
    wait_until(lambda: lines_of(service / "finished"), what="./finish run")
    wait_until(lambda: running_pid(service) not in (0, pid), what="./run again")
    assert lines_of(service / "finished") == ["finish -1 0"]


def test_a_finish_due_that_was_removed_since_is_not_run(tree):
    service = make_service(tree.svdir, "svc", run=SH + "exec sleep 1000\n",
                           finish=SH + 'echo "finish $1 $2" >>finished\n')
    pid = kill_the_tree_then_its_service(tree, service)
    leave_a_start_under_way(service, "finish", int(start_time(os.getpid())) + 10 ** 6)
    (service / "finish").unlink()
    tree.start()
    wait_until(lambda: running_pid(service) not in (0, pid), what="./run again")
    assert not (service / "finished").exists()


# -- a record is the tree's own, or nothing (issue 43) ----------------------------------------------
def plant_record_naming(side_dir, pid):
    from runit_provision.runtime.supervision.engine.adoption import Record, boot_id, record_bytes
    path = side_dir / "supervise" / "process"
    path.write_bytes(record_bytes(Record(pid, int(start_time(pid)), boot_id(), "run")))
    return path


@pytest.mark.parametrize("harm", ["a record of another uid's", "a supervise/ of another uid's",
                                  "a group-writable supervise/", "a record of two links"])
def test_a_record_not_the_trees_own_hands_it_no_process(tree, harm):
    """A root tree on a directory someone else could write in: the record they could have
    written names a process of root's; the tree starts the service afresh and leaves it."""
    service = make_service(tree.svdir, "svc", run=SH + "exec sleep 1000\n")
    first = tree.start()
    wait_until(lambda: running_pid(service), what="running")
    first.send_signal(signal.SIGKILL)
    first.wait()
    kill_pids(instances(service), wait=True)
    bystander = subprocess.Popen(["sleep", "1000"], stdin=subprocess.DEVNULL)
    try:
        record = plant_record_naming(service, bystander.pid)
        if harm == "a record of another uid's":
            os.chown(str(record), 61001, 61001)
        elif harm == "a supervise/ of another uid's":
            os.chown(str(service / "supervise"), 61001, 61001)
        elif harm == "a group-writable supervise/":
            os.chmod(str(service / "supervise"), 0o770)
        else:
            os.link(str(record), str(service / "another-name"))
        tree.start()
        new = wait_until(lambda: running_pid(service), what="started afresh")
        assert new != bystander.pid
        subprocess.run([our_tool("sv"), "kill", str(service)], check=True, env=tree_env())
        wait_until(lambda: running_pid(service) not in (0, new), what="started again")
        assert bystander.poll() is None, "the process the record named was signalled"
    finally:
        bystander.kill()
        bystander.wait()


def test_two_records_naming_one_process_hand_it_to_one_side_alone(tree):
    """A copied service directory (its supervise/ and all) names its original's process: it
    goes to whichever side the tree took over first (the listing's order), and the other
    starts afresh — a process one side supervises is never another's, nor its end."""
    sides = [make_service(tree.svdir, "a", run=SH + "exec sleep 1000\n")]
    first = tree.start()
    pid = wait_until(lambda: running_pid(sides[0]), what="running")
    first.send_signal(signal.SIGKILL)
    first.wait()
    sides.append(make_service(tree.svdir, "b", run=SH + "exec sleep 1000\n"))
    (sides[1] / "supervise").mkdir(mode=0o700, exist_ok=True)
    plant_record_naming(sides[1], pid)
    tree.start()

    def one_adopted():
        pids = [running_pid(side) for side in sides]
        return 0 not in pids and pids.count(pid) == 1 and pids
    pids = wait_until(one_adopted, what="one side adopted it, the other started afresh")
    holder, other = (sides[0], sides[1]) if pids[0] == pid else (sides[1], sides[0])
    subprocess.run([our_tool("sv"), "kill", str(other)], check=True, env=tree_env())
    wait_until(lambda: running_pid(other) not in (0, pid), what="the other again")
    assert running_pid(holder) == pid and start_time(pid) is not None
    kill_pids([pid])  # and the holder's own watch still sees its end
    wait_until(lambda: running_pid(holder) not in (0, pid), what="the holder restarted")
