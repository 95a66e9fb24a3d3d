"""Our runsv's account of starts and deaths (``supervise/tally``, protocol/tally.py), with real
processes: a crash loop counted as it happens, a death by signal, the count carried across a
``kill -9`` of the tree, and nothing claimed where C runit supervises (it keeps no account)."""

import os
import signal
import subprocess
import time

import pytest

from runit_provision.apply.fsroot import FsRoot
from runit_provision.health.status import side_json
from runit_provision.host.sides import read_side
from runit_provision.protocol.tally import TALLY_FILE, read_tally_at, tally_from_bytes

from ..conftest import our_tool, require_c_runit
from .processes import (
    BASE_PATH, C_RUNSV, RUN_SLEEP, SH, end_tree, make_service, processes_under, running_pid,
    wait_until)

pytestmark = pytest.mark.slow


def tree_env():
    return {"PATH": "%s:%s" % (os.path.dirname(our_tool("sv")), BASE_PATH)}


def start(command):
    return subprocess.Popen(command, start_new_session=True, env=tree_env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@pytest.fixture
def started():
    procs = []
    yield procs
    for proc, root in procs:
        end_tree(proc, root, timeout=15)


def tally(service):
    try:
        with open(str(service / TALLY_FILE), "rb") as handle:
            return tally_from_bytes(handle.read())
    except FileNotFoundError:
        return None


def status_of(service):
    with FsRoot("/") as fs:
        return read_side(fs, str(service), int(time.time()))


def test_a_crash_loop_is_counted_with_its_exit_and_shown(tmp_path, started):
    service = make_service(tmp_path / "service", "crashy", run=SH + "exit 3\n")
    started.append((start([our_tool("runsvdir"), str(tmp_path / "service")]), tmp_path))
    # runsv's back-off: a ./run that lived under 1 s is restarted a second later
    found = wait_until(lambda: (tally(service) or None) and tally(service).deaths >= 3
                       and tally(service), timeout=15, what="three deaths")
    assert found.exit_status == 3 << 8 and found.last_exit == {"code": 3}
    assert found.ran_ns is not None and found.ran_ns < 10**9
    assert found.starts in (found.deaths, found.deaths + 1)
    assert len(found.recent_ns) == found.deaths
    assert list(found.recent_ns) == sorted(found.recent_ns, reverse=True)
    side = wait_until(lambda: (lambda s: s.tally is not None and s.tally.deaths >= 5 and s)(
        status_of(service)), timeout=15, what="five deaths, read as status reads them")
    assert side.is_crash_looping and side.deaths_in_window >= 5
    shown = side_json(side)
    assert shown["crash_looping"] is True and shown["last_exit"]["code"] == 3
    assert shown["deaths"] >= 5 and shown["window"] == 60


def test_a_death_by_signal_and_the_count_across_a_killed_tree(tmp_path, started):
    service = make_service(tmp_path / "service", "sleeper", run=RUN_SLEEP)
    tree = start([our_tool("runsvdir"), str(tmp_path / "service")])
    started.append((tree, tmp_path))
    first = wait_until(lambda: running_pid(service), what="the service up")
    os.kill(first, signal.SIGKILL)
    second = wait_until(lambda: (running_pid(service) or 0) not in (0, first)
                        and running_pid(service), what="the service restarted")
    counted = tally(service)
    assert counted.deaths == 1 and counted.starts == 2 and counted.pid == second
    assert counted.last_exit == {"signal": 9, "core": False}
    # the tree dies; its successor adopts the running service and keeps the counts
    os.kill(tree.pid, signal.SIGKILL)
    tree.wait()
    started.append((start([our_tool("runsvdir"), str(tmp_path / "service")]), tmp_path))
    wait_until(lambda: status_of(service).tally is not None
               and status_of(service).state == "run", what="the successor's view")
    assert running_pid(service) == second
    os.kill(second, signal.SIGKILL)
    wait_until(lambda: tally(service).deaths == 2 and tally(service).pid not in (0, second),
               what="a second death counted by the successor")
    assert tally(service).starts == 3


def test_a_service_lost_while_no_tree_watched_is_a_death_of_unknown_end(tmp_path, started):
    service = make_service(tmp_path / "service", "sleeper", run=RUN_SLEEP)
    tree = start([our_tool("runsvdir"), str(tmp_path / "service")])
    started.append((tree, tmp_path))
    pid = wait_until(lambda: running_pid(service), what="the service up")
    os.kill(tree.pid, signal.SIGKILL)
    tree.wait()
    for orphan in processes_under(tmp_path):
        os.kill(orphan, signal.SIGKILL)  # the service (and its logger host) die unwatched
    wait_until(lambda: not os.path.exists("/proc/%d" % pid), what="the orphan gone")
    started.append((start([our_tool("runsvdir"), str(tmp_path / "service")]), tmp_path))
    found = wait_until(lambda: tally(service) and tally(service).deaths == 1
                       and tally(service).pid and tally(service), what="the restart")
    assert found.last_exit == {"unknown": True} and found.ran_ns is None


@pytest.mark.interop
def test_under_c_runsv_the_account_is_unknown_never_stale(tmp_path, started):
    require_c_runit()
    service = make_service(tmp_path / "service", "web", run=RUN_SLEEP)
    ours = start([our_tool("runsv"), str(service)])
    wait_until(lambda: running_pid(service), what="ours up")
    assert status_of(service).tally is not None
    end_tree(ours, tmp_path)
    # C runsv takes the directory over: the tally our runsv left names another process
    started.append((start([C_RUNSV, str(service)]), tmp_path))
    pid = wait_until(lambda: running_pid(service), what="C runsv's service up")
    assert os.path.exists(str(service / TALLY_FILE)) and tally(service).pid != pid
    side = status_of(service)
    assert side.state == "run" and side.pid == pid and side.tally is None
    assert side_json(side)["deaths"] == "unknown" and side.is_crash_looping is None


def test_a_torn_tally_is_read_again_and_garbage_is_none(tmp_path):
    supervise = tmp_path / "supervise"
    supervise.mkdir()
    (supervise / "tally").write_bytes(b"tally 1 pid=1 starts=1 deaths=0 exit=none core=0 "
                                      b"at=0.000000000 ran=unknown recent= crc=00000000\n")
    fd = os.open(str(supervise), os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert read_tally_at(fd) is None  # a bad checksum, three times
        (supervise / "tally").unlink()
        os.symlink("/etc/passwd", str(supervise / "tally"))
        assert read_tally_at(fd) is None  # a link is never followed
    finally:
        os.close(fd)


def test_a_stop_runsv_was_asked_for_is_the_last_exit_but_no_death(tmp_path, started):
    service = make_service(tmp_path / "service", "sleeper", run=RUN_SLEEP)
    started.append((start([our_tool("runsvdir"), str(tmp_path / "service")]), tmp_path))
    first = wait_until(lambda: running_pid(service), what="the service up")
    sv = [our_tool("sv"), "-w", "10"]
    assert subprocess.run(sv + ["restart", str(service)], env=tree_env(),
                          capture_output=True, timeout=30).returncode == 0
    wait_until(lambda: running_pid(service) not in (0, first), what="restarted")
    assert subprocess.run(sv + ["kill", str(service)], env=tree_env(),
                          capture_output=True, timeout=30).returncode == 0
    wait_until(lambda: tally(service).starts == 3 and tally(service).pid, what="up again")
    assert subprocess.run(sv + ["down", str(service)], env=tree_env(),
                          capture_output=True, timeout=30).returncode == 0
    found = wait_until(lambda: tally(service).pid == 0 and tally(service), what="down")
    assert found.deaths == 0 and found.recent_ns == () and found.starts == 3
    assert found.last_exit == {"signal": 15, "core": False}
    assert status_of(service).is_crash_looping is False


def test_a_give_up_policy_leaves_a_crash_loop_down_until_sv_up(tmp_path, started):
    service = make_service(tmp_path / "service", "crashy", run=SH + "exit 3\n")
    (service / "give-up").write_text("3 60\n")
    started.append((start([our_tool("runsvdir"), str(tmp_path / "service")]), tmp_path))
    # the tally and the status are two files, written one after the other: both, then
    found = wait_until(lambda: tally(service) and tally(service).gave_up_ns
                       and status_of(service).want == "down" and tally(service),
                       timeout=20, what="the tree giving up")
    assert found.deaths == 3 and found.starts == 3 and found.pid == 0
    side = status_of(service)
    assert side.want == "down" and side.has_given_up and side_json(side)["gave_up"]
    sv = [our_tool("sv"), "-w", "10"]
    done = subprocess.run(sv + ["up", str(service)], env=tree_env(), capture_output=True,
                          timeout=30)
    assert done.returncode in (0, 1)  # it dies again at once: sv -w may not see it up
    # sv up: a fresh window — three more deaths before it gives up again
    again = wait_until(lambda: tally(service).gave_up_ns and tally(service).starts == 6
                       and tally(service), timeout=20, what="a second give-up")
    assert again.deaths == 6 and len(again.recent_ns) == 3
