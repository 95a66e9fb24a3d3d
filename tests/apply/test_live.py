"""The restart matrix against a live tree, under our runsvdir and under the C runit (the C
runsvdir and C tools from /usr/bin, ``runtime: system`` so apply drives them with the C sv).

One tree, one apply after another, each a change of the data (through the CLI, in-process):
new services are linked and waited for (runsv really reads ``supervise/ok``); ``env`` changed
-> the service restarts; the log ``config`` changed -> its logger is HUP'd (svlogd's new prefix
shows in the next lines) and not restarted; ``log/run`` changed -> the log side restarts, the
service does not; ``restart_on_change: false``, ``down: true`` and a ``finish`` change restart
nothing; a removed link is put back; ``enabled: false`` unlinks and stops; ``ensure: absent``
stops and removes. Every apply ends with an empty second plan (or it would exit 1).
"""

import json
import os
import subprocess

import pytest
import yaml

from runit_provision.cli.main import main

from ..conftest import C_RUNIT, OUR_BIN, make_bin_dir, our_tool, require_c_runit
from ..runtime.processes import (
    BASE_PATH, descendants, is_runsv_up, kill_pids, process_group_members, processes_under,
    running_pid, stat_fields, status_record, wait_until)

pytestmark = pytest.mark.slow

# The tools ./run and ./finish call beside runit's: ours under either runsv.
HELPERS = ("sandbox-run", "runsv-cgroup", "notify-relay", "timer-run")


def services(greeting="hello", prefix="A: ", timestamps="human", quiet="one", lazy="one",
             finish="exit 0"):
    return {
        "web": {"command": ["sh", "-c", 'echo "web says $GREETING"; exec sleep 1000'],
                "env": {"GREETING": greeting}},
        "worker": {"command": ["sh", "-c", "while :; do echo tick; sleep 0.2; done"],
                   "log": {"prefix": prefix, "timestamps": timestamps}},
        "quiet": {"command": ["sh", "-c", "exec sleep 1000", quiet],
                  "restart_on_change": False},
        "lazy": {"command": ["sh", "-c", "exec sleep 1000", lazy], "down": True},
        "fin": {"command": ["sleep", "1000"], "finish": finish},
    }


class LiveTree:
    def __init__(self, tmp_path, impl):
        self.tmp, self.impl = tmp_path, impl
        self.sv_dir = tmp_path / "sv"
        self.service_dir = tmp_path / "service"
        self.service_dir.mkdir()
        self.bin = make_bin_dir(tmp_path / ("bin-" + impl), impl)
        for name in HELPERS:
            (self.bin / name).symlink_to(OUR_BIN / name)
        self.data = tmp_path / "data.yaml"
        self.proc = None
        self.start()

    def start(self):
        runsvdir = our_tool("runsvdir") if self.impl == "ours" else C_RUNIT["runsvdir"]
        self.proc = subprocess.Popen(
            [runsvdir, str(self.service_dir)], start_new_session=True,
            env={"PATH": "%s:%s" % (self.bin, BASE_PATH)}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def apply(self, services):
        self.data.write_text(yaml.safe_dump({"runit": {
            "runtime": "python" if self.impl == "ours" else "system", "init": "none",
            "sv_dir": str(self.sv_dir), "service_dir": str(self.service_dir),
            "log_dir": str(self.tmp / "log"), "sv_timeout": 10, "services": services}}))
        argv = ["apply", "--data", str(self.data), "--json", "--wait", "20",
                "--profile-d", "none"]
        return argv

    def apply_with_a_root_tree(self, services, user_services):
        """apply's argv for ``services`` and a user tree of root's (``users: {root: …}``:
        the venv and tmp_path are not reachable for nobody) with ``user_services``; and its
        home."""
        home = self.tmp / "home"
        home.mkdir(exist_ok=True)
        argv = self.apply(services)
        data = yaml.safe_load(self.data.read_text())
        data["runit"]["users"] = {"root": {
            "home": str(home), "groups": ["root"], "path": "%s:%s" % (self.bin, BASE_PATH),
            "services": user_services}}
        self.data.write_text(yaml.safe_dump(data))
        return argv, home

    def stop(self):
        if self.proc is not None:
            kill_pids(set(process_group_members(self.proc.pid))
                      | set(descendants(self.proc.pid)), wait=True)
            self.proc.wait()
            self.proc = None
        kill_pids(processes_under(self.tmp), wait=True)


@pytest.fixture(params=["ours", pytest.param("c", marks=pytest.mark.interop)])
def live(request, tmp_path):
    if request.param == "c":
        require_c_runit()
    tree = LiveTree(tmp_path, request.param)
    yield tree
    tree.stop()


def run_apply(live, capsys, services):
    code = main(live.apply(services))
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["msg"]
    return report


def restarts(report):
    return sorted((item["service"], item["command"]) for item in report["restarts"])


def stamp(side):
    record = status_record(side)
    return None if record is None else (record.seconds, record.nanoseconds, record.pid)


def test_the_restart_matrix(live, capsys):
    sv = live.sv_dir
    report = run_apply(live, capsys, services())
    waits = [item for item in report["actions"] if item["action"] == "wait"]
    assert waits and sorted(waits[0]["services"]) == ["fin", "lazy", "quiet", "web", "worker"]
    for name in ("web", "worker", "quiet", "fin", "lazy"):  # served when apply returns
        assert is_runsv_up(sv / name), name
    for name in ("web", "worker", "quiet", "fin"):  # (the C runsv opens ok before it starts)
        wait_until(lambda: running_pid(sv / name), what=name + " running")
    assert not running_pid(sv / "lazy")  # down: true — never started by apply
    log = live.tmp / "log"
    wait_until(lambda: "web says hello" in _read(log / "web" / "current"), what="web's log")
    wait_until(lambda: "A: tick" in _read(log / "worker" / "current"), what="worker's log")
    pids = {name: running_pid(sv / name) for name in ("web", "worker", "quiet", "fin")}
    worker_log = stamp(sv / "worker" / "log")

    report = run_apply(live, capsys, services(greeting="again"))
    assert restarts(report) == [("web", "restart")]
    # the C sv may say ok before the new process runs (its restart bug: seconds, not stamps)
    wait_until(lambda: running_pid(sv / "web") not in (0, pids["web"]), what="web restarted")
    wait_until(lambda: "web says again" in _read(log / "web" / "current"), what="new env")
    assert running_pid(sv / "worker") == pids["worker"]

    report = run_apply(live, capsys, services(greeting="again", prefix="B: "))
    assert restarts(report) == [("worker/log", "hup")]
    wait_until(lambda: "B: tick" in _read(log / "worker" / "current"), what="the new prefix")
    assert stamp(sv / "worker" / "log") == worker_log  # HUP'd, not restarted
    assert running_pid(sv / "worker") == pids["worker"]

    report = run_apply(live, capsys, services(greeting="again", prefix="B: ",
                                              timestamps="iso"))
    assert restarts(report) == [("worker/log", "restart")]
    wait_until(lambda: stamp(sv / "worker" / "log") not in (None, worker_log),
               what="the log side restarted")
    assert running_pid(sv / "worker") == pids["worker"]

    report = run_apply(live, capsys, services(greeting="again", prefix="B: ", timestamps="iso",
                                              quiet="two", lazy="two", finish="exit 1"))
    assert restarts(report) == []
    reasons = {item["path"]: item["reason"] for item in report["noops"]}
    assert reasons["quiet"] == "run changed; no restart: restart_on_change: false"
    assert reasons["lazy"] == "run changed; no restart: down: true (apply never starts it)"
    assert running_pid(sv / "quiet") == pids["quiet"] and running_pid(sv / "fin") == pids["fin"]
    assert not running_pid(sv / "lazy")

    final = services(greeting="again", prefix="B: ", timestamps="iso", quiet="two",
                     lazy="two", finish="exit 1")
    os.unlink(str(live.service_dir / "fin"))  # drift: a removed link
    wait_until(lambda: not is_runsv_up(sv / "fin"), timeout=15, what="fin's runsv gone")
    report = run_apply(live, capsys, final)
    assert [(item["action"], item["path"]) for item in report["actions"]] == [
        ("create", str(live.service_dir / "fin")), ("wait", "system links")]
    wait_until(lambda: running_pid(sv / "fin"), what="fin running again")

    web_pid = running_pid(sv / "web")
    final["web"] = {"ensure": "absent"}
    final["quiet"]["enabled"] = False
    report = run_apply(live, capsys, final)
    assert restarts(report) == [("quiet", "exit"), ("web", "exit")]
    assert not (sv / "web").exists() and not os.path.lexists(str(live.service_dir / "web"))
    assert not os.path.lexists(str(live.service_dir / "quiet")) and (sv / "quiet").is_dir()
    wait_until(lambda: stat_fields(web_pid) is None, what="web's process gone")
    assert not running_pid(sv / "quiet")


def _read(path):
    try:
        return path.read_text()
    except OSError:
        return ""


def test_a_users_tree_comes_up_after_its_runsvdir(live, capsys):
    """runsvdir-root is linked and waited for first, then root's own service in ~/service:
    the apply returns only when the inner tree's runsv serves it. (USER root, as in
    tests/runtime/test_rendered_tree.py: the venv and tmp_path are not reachable for nobody.)"""
    argv, home = live.apply_with_a_root_tree(
        {"web": {"command": ["sh", "-c", "exec sleep 1000"]}},
        {"app": {"command": ["sh", "-c", "echo app up; exec sleep 1000"]}})
    code = main(argv)
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["msg"]
    waits = [item["services"] for item in report["actions"] if item["action"] == "wait"]
    assert waits == [["web", "runsvdir-root"], ["root/app"]]
    assert is_runsv_up(home / "sv" / "app") and is_runsv_up(home / "sv" / "app" / "log")
    wait_until(lambda: "app up" in _read(home / "logs" / "app" / "current"), timeout=15,
               what="the user's service logging")
    assert (home / "sv" / "app" / "run").stat().st_uid == 0


def test_a_linked_service_no_runsv_serves_is_waited_for_again(live, capsys):
    """A link that is right but that no runsv serves (runsvdir stopped, a wait that timed
    out): plan shows the wait as a pending change (exit 2, so Puppet's ``unless`` runs apply),
    apply waits again and fails naming the cause, and once a runsvdir runs, apply succeeds."""
    run_apply(live, capsys, {"web": {"command": ["sh", "-c", "exec sleep 1000"]}})
    live.stop()  # the tree, its runsvs and services gone; the link stays
    argv = live.apply({"web": {"command": ["sh", "-c", "exec sleep 1000"]}})
    argv[argv.index("--wait") + 1] = "1"
    plan = [arg for arg in argv if arg != "--json"]
    plan[0] = "plan"
    assert main(plan) == 2  # nothing would change on disk, but the service is not served …
    out = capsys.readouterr().out
    assert "\u2026 wait for web (linked, but no runsv serves it)\n" in out
    assert ", 1 service no runsv serves; 9 up to date.\n" in out
    assert main(argv) == 1  # … but apply waits, and says why it gave up
    report = json.loads(capsys.readouterr().out)
    assert "no runsvdir seems to run on %s" % live.service_dir in report["msg"]
    live.start()
    run_apply(live, capsys, {"web": {"command": ["sh", "-c", "exec sleep 1000"]}})
    assert is_runsv_up(live.sv_dir / "web")


def test_a_logger_added_then_dropped_on_a_running_service(live, capsys):
    """log added where runsv runs without one: sv exit, runsvdir starts a new runsv that
    reads log/ — the service restarts once and its lines reach the new logger; log: false
    again takes the logger away the same way (runsv reads log/ only at its start)."""
    talker = {"command": ["sh", "-c", "while :; do echo talking; sleep 0.2; done"]}
    sv = live.sv_dir
    run_apply(live, capsys, {"talker": dict(talker, log=False)})
    first = wait_until(lambda: running_pid(sv / "talker"), what="talker running")
    report = run_apply(live, capsys, {"talker": talker})
    assert restarts(report) == [("talker", "exit")]
    assert is_runsv_up(sv / "talker" / "log")  # served when apply returns
    wait_until(lambda: "talking" in _read(live.tmp / "log" / "talker" / "current"),
               what="the new logger's lines")
    second = wait_until(lambda: running_pid(sv / "talker"), what="talker running again")
    assert second != first
    report = run_apply(live, capsys, {"talker": dict(talker, log=False)})
    assert restarts(report) == [("talker", "exit")]
    assert not (sv / "talker" / "log").exists()
    assert wait_until(lambda: running_pid(sv / "talker"), what="talker without a logger") \
        not in (first, second)
    assert main(live.apply({"talker": dict(talker, log=False)})) == 0
    assert json.loads(capsys.readouterr().out)["changed"] is False


def test_restart_start_and_stop_by_the_datas_name(live, capsys):
    """``runit-provision restart|start|stop NAME``: the service found by its name in the data
    (its directory, the runtime's sv, sv_timeout), a user's by LOGIN/NAME; --if-running leaves
    a down service down; an unknown or absent name is an error naming what is declared; under
    --root nothing runs."""
    argv, home = live.apply_with_a_root_tree(
        {"web": {"command": ["sh", "-c", "exec sleep 1000"]},
         "lazy": {"command": ["sleep", "1000"], "down": True}, "gone": {"ensure": "absent"}},
        {"app": {"command": ["sh", "-c", "exec sleep 1000"], "log": False}})
    code = main(argv)
    assert code == 0, json.loads(capsys.readouterr().out)["msg"]
    sv, data_args = live.sv_dir, ["--data", str(live.data)]
    app = home / "sv" / "app"
    before = {"web": running_pid(sv / "web"), "app": wait_until(lambda: running_pid(app))}

    assert main(["restart"] + data_args + ["web", "root/app"]) == 0
    assert "ok: run: %s" % (sv / "web") in capsys.readouterr().out
    for name, side in (("web", sv / "web"), ("app", app)):  # the C sv 2.1.2 may say ok with
        wait_until(lambda: running_pid(side) not in (0, before[name]),  # the old pid (§9.1)
                   what="%s restarted" % name)
    assert main(["restart", "--if-running"] + data_args + ["lazy"]) == 0
    assert not running_pid(sv / "lazy")  # down stays down
    assert main(["stop"] + data_args + ["web"]) == 0
    assert not running_pid(sv / "web")
    assert main(["start", "--timeout", "5"] + data_args + ["web"]) == 0
    assert running_pid(sv / "web")
    capsys.readouterr()

    assert main(["restart"] + data_args + ["nosuch"]) == 1
    err = capsys.readouterr().err
    assert err == ("runit-provision restart: no service 'nosuch' in the data (declared: "
                   "gone, lazy, web, runsvdir-root, root/app)\n")
    assert main(["stop"] + data_args + ["gone"]) == 1
    assert "gone: the data says ensure: absent" in capsys.readouterr().err
    pid = running_pid(sv / "web")
    assert main(["restart", "--root", str(live.tmp / "staged")] + data_args + ["web"]) == 0
    assert capsys.readouterr().out.endswith("restart %s\n" % (sv / "web"))
    assert running_pid(sv / "web") == pid


DYING = ["sh", "-c", "printf 'fatal: db unreachable \\033]0;PWNED\\007\\n'; exit 3"]


def test_a_new_service_that_dies_at_once_fails_the_apply(live, capsys):
    """Issue 31 item 5: a new service whose run exits at once is served and linked — and
    reported, with its last exit (our tally's; the C runit keeps none) and its last log
    lines, escaped; the apply exits 1. What stayed up is not reported; a ``down: true``
    service is not watched (nothing starts it)."""
    argv = [arg for arg in live.apply({
        "web": {"command": ["sh", "-c", "exec sleep 1000"]},
        "broken": {"command": DYING},
        "lazy": {"command": DYING, "down": True}}) if arg != "--json"]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert "Applied: " in out  # every step was done …
    lines = err.splitlines()  # … and one service did not stay up
    assert lines[0].startswith("runit-provision apply: broken: died since it was started: ")
    if live.impl == "ours":
        assert ", last exit 3 after " in lines[0]
    else:
        assert "last exit unknown (no account of exits: not our runtime)" in lines[0]
    assert lines[1].startswith("    ") and lines[1].endswith(
        " fatal: db unreachable \\x1b]0;PWNED\\x07")  # the log's line, as logs shows it
    assert lines[-1] == "runit-provision apply: 1 service started did not stay up: broken"
    assert "web" not in err and "lazy" not in err
    assert running_pid(live.sv_dir / "web")


def test_a_restart_into_a_run_that_dies_fails_the_apply_and_json_says_which(live, capsys):
    """A restart (env changed) whose new run exits: ``--json`` has ``failed``, the
    ``watched`` sides and ``not_up`` with the service's outcome, last exit and log lines
    (JSON-exact); the other restarted service, which stayed up, is watched and not listed.
    The C sv's ``-w restart`` waits for the new run itself (sv_timeout) and mostly never
    sees one that lives a few milliseconds: then the apply fails at that step, as before —
    exit 1 either way."""
    up = ["sh", "-c", 'case "$MODE" in ok*) exec sleep 1000; esac; echo "bad mode $MODE"; '
                      'exit 4']
    services = {"web": {"command": up, "env": {"MODE": "ok"}},
                "api": {"command": up, "env": {"MODE": "ok"}}}
    report = run_apply(live, capsys, services)
    assert sorted(report["watched"]) == ["api", "api/log", "web", "web/log"]
    assert report["not_up"] == []
    wait_until(lambda: running_pid(live.sv_dir / "web"), what="web running")
    services["web"]["env"]["MODE"] = "broken"
    services["api"]["env"]["MODE"] = "ok, again"
    argv = live.apply(services)
    data = yaml.safe_load(live.data.read_text())
    data["runit"]["sv_timeout"] = 2  # the C sv's wait for a run that never stays
    live.data.write_text(yaml.safe_dump(data))
    code = main(argv)
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["failed"] is True, report["msg"]
    if "failed_step" in report:  # the C sv gave up waiting (its own timeout)
        assert live.impl == "c" and report["failed_step"]["path"] == "web", report["msg"]
        assert "restart %s failed (exit 1): timeout: " % (live.sv_dir / "web") in report["msg"]
        return
    assert restarts(report) == [("api", "restart"), ("web", "restart")], report["msg"]
    assert sorted(report["watched"]) == ["api", "web"]
    assert report["msg"] == "1 service started did not stay up: web", report["not_up"]
    [item] = report["not_up"]
    assert (item["service"], item["side"], item["outcome"], item["want"]) == (
        "web", "service", "died", "up")
    assert item["path"] == str(live.sv_dir / "web")
    if live.impl == "ours":
        assert item["last_exit"] == {"code": 4} and item["deaths"] >= 1
    else:
        assert item["last_exit"] == "unknown" and item["deaths"] is None
    assert item["log"][-1].endswith(" bad mode broken")
    assert item["why"].startswith("web: died since it was started: ")


def test_a_users_service_that_dies_is_reported_by_its_label(live, capsys):
    """A user's new service that exits at once (USER root, as above): reported as
    LOGIN/NAME with its log lines, read from the user's log directory."""
    argv, home = live.apply_with_a_root_tree({}, {"app": {"command": DYING}})
    code = main(argv)
    report = json.loads(capsys.readouterr().out)
    assert code == 1, report["msg"]
    assert [(item["service"], item["outcome"]) for item in report["not_up"]] == [
        ("root/app", "died")]
    assert "runsvdir-root" in report["watched"] and "root/app" in report["watched"]
    assert report["not_up"][0]["log"][-1].endswith(" fatal: db unreachable \x1b]0;PWNED\x07")


@pytest.mark.interop
def test_a_timer_under_the_c_runit(tmp_path, capsys):
    """runtime: system, with ``timer-run`` (its ./run): apply makes a timer and does not wait
    for a run; a changed schedule is an ``sv hup`` to the waiting timer-run, which reads it
    again (its record's next run moves) — no run, no restart; data that drops the schedule
    makes it a daemon again (restarted: its job and schedule gone)."""
    require_c_runit()
    marker = tmp_path / "runs"
    job = ["sh", "-c", "date >>%s" % marker]
    live = LiveTree(tmp_path, "c")  # timer-run among its tools; stopped whatever happens
    try:
        tick = live.sv_dir / "tick"
        report = run_apply(live, capsys, {"tick": {"command": job, "schedule": "*-01-01 00:00"}})
        assert [item["services"] for item in report["actions"] if item["action"] == "wait"] \
            == [["tick"]]
        wait_until(lambda: b"started=0" in (_read(tick / "supervise" / "timer")).encode(),
                   what="timer-run waiting")
        before = _read(tick / "supervise" / "timer")

        report = run_apply(live, capsys, {"tick": {"command": job, "schedule": "*-06-01 00:00"}})
        assert restarts(report) == [("tick", "hup")]
        wait_until(lambda: _read(tick / "supervise" / "timer").split()[2:3]
                   != before.split()[2:3], what="the next run moved")
        assert not marker.exists()  # hup re-arms: never a run

        report = run_apply(live, capsys, {"tick": {"command": ["sleep", "1000"]}})
        assert restarts(report) == [("tick", "restart")]
        assert not (tick / "schedule").exists() and not (tick / "job").exists()
        wait_until(lambda: "sleep" in _read(tick / "run"), what="the daemon's run")
        wait_until(lambda: running_pid(tick) and b"sleep" in open(
            "/proc/%d/cmdline" % running_pid(tick), "rb").read(), what="the daemon running")
    finally:
        live.stop()
