"""Issue 31, item 3: what the data does not declare is visible. A live tree — our runsvdir and
the C one side by side — runs the data's service and three linked by hand into its service
directory: one that dies every second, one that runs, one with a ``down`` file. The real CLI's
``status``, ``metrics``, ``verify`` and ``plan`` each show them, marked "not in the data";
``status`` exits 3 for the one that keeps dying, and 0 once it is gone. Under ``--root``
(nothing runs): a name planted in a home shown escaped, a crowd there one line and exit 3."""

import json
import os
import shutil
import subprocess

import pytest
import yaml

from runit_provision.cli.main import main
from runit_provision.host import supervised

from ..apply.helpers import staged_root
from ..conftest import make_bin_dir
from ..runtime.processes import (
    BASE_PATH, descendants, kill_pids, make_service, process_group_members, processes_under,
    running_pid, wait_until)

DIES = "#!/bin/sh\necho flappy: cannot start\nexit 1\n"


@pytest.fixture
def host(tmp_path, impl, which_tool, monkeypatch):
    """The data's ``steady`` applied on a live tree, with ``flappy`` (dies at once), ``handy``
    (runs) and ``resting`` (a ``down`` file) linked by hand; PATH holds the tree's tools."""
    service_dir, by_hand = tmp_path / "service", tmp_path / "by-hand"
    service_dir.mkdir()
    make_service(by_hand, "flappy", run=DIES)
    make_service(by_hand, "handy")
    make_service(by_hand, "resting", down=True)
    for name in ("flappy", "handy", "resting"):
        (service_dir / name).symlink_to(by_hand / name)
    (service_dir / ".hidden").symlink_to(by_hand / "handy")  # runsvdir skips dot-names
    data = tmp_path / "data.yaml"
    data.write_text(yaml.safe_dump({"runit": {
        "runtime": "python" if impl == "ours" else "system", "init": "none",
        "sv_dir": str(tmp_path / "sv"), "service_dir": str(service_dir),
        "log_dir": str(tmp_path / "log"), "sv_timeout": 10,
        "services": {"steady": {"command": ["sleep", "1000"], "log": False}}}}))
    bin_dir = make_bin_dir(tmp_path / "bin", impl)
    monkeypatch.setenv("PATH", "%s:%s" % (bin_dir, BASE_PATH))
    tree = subprocess.Popen([which_tool(impl, "runsvdir"), str(service_dir)],
                            start_new_session=True, env={"PATH": "%s:%s" % (bin_dir, BASE_PATH)},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert main(["apply", "--data", str(data), "--wait", "20", "--profile-d", "none"]) == 0
        wait_until(lambda: running_pid(service_dir / "handy"), timeout=20, what="handy up")
        yield service_dir, data
    finally:
        kill_pids(set(process_group_members(tree.pid)) | set(descendants(tree.pid)))
        tree.wait()
        kill_pids(processes_under(tmp_path))


def run(capsys, *argv):
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def run_until(capsys, is_read, *argv):
    """``run`` again until ``is_read(code, out)``: flappy is in state run for the instant
    before each death, and a read may fall in it."""
    return wait_until(lambda: (lambda found: found if is_read(*found) else None)(
        run(capsys, *argv)), timeout=30, what="%s as expected" % argv[0])


@pytest.mark.slow
def test_services_linked_by_hand_show_in_status_metrics_verify_and_plan(host, capsys):
    service_dir, data = host
    code, out = run_until(capsys, lambda code, out: code == 3, "status", "--data", str(data),
                          "--json")
    report = json.loads(out)
    rows = {row["service"]: row for row in report["services"]}
    assert sorted(rows) == ["flappy", "handy", "resting", "steady"]
    assert [rows[name]["declared"] for name in ("steady", "flappy", "handy", "resting")] == [
        True, False, False, False]
    assert rows["flappy"]["path"] == str(service_dir / "flappy")
    assert rows["flappy"]["wanted"] is True and rows["resting"]["wanted"] is False
    assert rows["handy"]["running"] is True
    assert report["not_running"] == ["flappy"] and code == 3

    code, out = run_until(capsys, lambda code, out: code == 3, "status", "--data", str(data))
    lines = out.splitlines()
    flappy = next(index for index, line in enumerate(lines) if line.startswith("flappy "))
    assert lines[flappy + 1] == "  not in the data: %s (apply leaves it alone)" % (
        service_dir / "flappy")
    assert "handy" in out and "resting" in out and ".hidden" not in out

    code, out = run(capsys, "metrics", "--data", str(data))
    assert code == 0
    assert 'runit_service_up{service="handy",tree="system",declared="false"} 1\n' in out
    assert 'runit_service_normally_up{service="resting",tree="system",declared="false"} 0\n' \
        in out
    assert 'runit_service_up{service="steady",tree="system",declared="true"} 1\n' in out
    promtool = shutil.which("promtool")
    if promtool is not None:
        checked = subprocess.run([promtool, "check", "metrics"], input=out.encode(),
                                 capture_output=True, timeout=60)
        assert checked.returncode == 0, checked.stdout + checked.stderr

    code, out = run(capsys, "plan", "--data", str(data), "--profile-d", "none")
    assert code == 0  # left alone is no change
    for name in ("flappy", "handy", "resting"):
        assert "= %s: not in the data: left alone" % (service_dir / name) in out
    assert ".hidden" not in out

    def checks_of(out):
        return {check["id"]: check for check in json.loads(out)["checks"]}

    code, out = run_until(capsys, lambda code, out: checks_of(out)[
        "flappy::running (not in the data)"]["status"] == "failed", "verify", "--data",
        str(data), "--json")
    checks = checks_of(out)
    assert [check for check in checks.values() if check["status"] == "failed"] == [
        checks["flappy::running (not in the data)"]]
    assert checks["flappy::running (not in the data)"]["status"] == "failed"
    assert "flappy" in checks["flappy::running (not in the data)"]["problems"][0]
    assert checks["handy::running (not in the data)"]["status"] == "passed"
    assert checks["resting::running (not in the data)"]["status"] == "passed"
    assert code == 1

    # gone from the service directory: gone from status, which is then as wanted
    (service_dir / "flappy").unlink()
    wait_until(lambda: run(capsys, "status", "--data", str(data))[0] == 0, timeout=30,
               what="status 0 once flappy is unlinked")


def test_under_root_a_planted_name_is_escaped_and_a_crowd_is_one_line(tmp_path, capsys,
                                                                     monkeypatch):
    root = staged_root(tmp_path, passwd="root:x:0:0:root:/root:/bin/sh\n"
                                         "alice:x:1000:1000::/home/alice:/bin/sh\n",
                       group="root:x:0:\nalice:x:1000:\n")
    (root / "home/alice").mkdir(parents=True)
    data = tmp_path / "data.yaml"
    data.write_text("runit::init: none\nrunit::users:\n  alice: {}\n")
    assert main(["apply", "--data", str(data), "--root", str(root)]) == 0
    planted = os.fsdecode(b"evil\x1b[2J\nfake\xff")
    os.mkdir(os.path.join(str(root), "home/alice/service", planted))
    code, out = run(capsys, "status", "--data", str(data), "--root", str(root))
    assert code == 3  # no runsvdir here: wanted up, not running
    assert "alice/evil\\x1b[2J\\nfake\\xff  not supervised" in out
    assert "\x1b" not in out and "fake\\xff (apply leaves it alone)" in out
    (root / "etc/service/gone").symlink_to("/opt/nowhere")
    code, out = run(capsys, "status", "--data", str(data), "--root", str(root))
    lines = out.splitlines()
    gone = next(index for index, line in enumerate(lines) if line.startswith("gone "))
    assert lines[gone].split() == ["gone", "not", "supervised", "-", "-", "up", "-", "-"]
    assert lines[gone + 1:gone + 3] == [
        "  not in the data: /etc/service/gone (apply leaves it alone)",
        "  leads nowhere: /opt/nowhere"]
    assert "last exit" not in out
    (root / "etc/service/gone").unlink()
    code, out = run(capsys, "status", "--data", str(data), "--root", str(root), "--json")
    row = json.loads(out)["services"][-1]
    assert row["service"] == "alice/" + planted and row["declared"] is False
    assert row["path"] == "/home/alice/service/" + planted

    monkeypatch.setattr(supervised, "MAX_ENTRIES", 1)
    (root / "home/alice/service/another").mkdir()
    code, out = run(capsys, "status", "--data", str(data), "--root", str(root))
    assert code == 3
    assert out.splitlines()[-1] == (
        "alice: not listed, what runs there cannot be told: %s/home/alice/service holds more "
        "than 1 entries: not read further (the most the applier reads of a directory of a "
        "user's)" % root)
    code, out = run(capsys, "status", "--data", str(data), "--root", str(root), "--json")
    (unread,) = json.loads(out)["unread"]
    assert unread["tree"] == "alice" and unread["path"] == "/home/alice/service"
    assert "holds more than 1 entries" in unread["why"]
    capsys.readouterr()
    assert main(["metrics", "--data", str(data), "--root", str(root)]) == 0
    assert "runit-provision metrics: alice: not listed" in capsys.readouterr().err
    code, out = run(capsys, "plan", "--data", str(data), "--root", str(root))
    assert code == 0 and "= /home/alice/service: not listed for what the data does not " \
        "declare: " in out
