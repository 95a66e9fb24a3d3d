"""Issue 31, items 8 and 10: ``status`` as a systemd user types it, through the installed
``runit-provision`` (a real process).

- ``status NAME…`` takes positional names, as ``--only`` does (``status api`` printed the
  top-level usage); both add up.
- The reason is shown: under each service that is not as wanted, the last 10 lines of its log
  (``fatal: db unreachable`` used to appear only with ``--logs N``); ``--logs N`` shows N lines
  of every listed service, ``--logs 0`` none.

A staged root (no process) for the forms; a live tree of our runtime for the reason under a
service that really dies.
"""

import json
import subprocess

import pytest
import yaml

from ..apply.helpers import staged_root
from ..conftest import OUR_BIN, make_bin_dir
from ..logs.helpers import BASE, line
from ..runtime.conftest import tree  # noqa: F401 (a runsvdir ended in any case)
from ..runtime.processes import BASE_PATH, wait_until

PROGRAM = str(OUR_BIN / "runit-provision")
DATA = """\
runit::init: none
runit::services:
  web: {command: /usr/bin/web}
  db: {command: /usr/bin/db}
  cron: {command: /usr/bin/cron, log: false}
"""
HEADER = "SERVICE  STATE           PID  UPTIME  NORMALLY  WANT  LOG\n"


def run(*argv):
    """The installed command: (exit code, stdout, stderr)."""
    proc = subprocess.run([PROGRAM] + [str(arg) for arg in argv], capture_output=True,
                          text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def stamped(count, text):
    """``count`` lines as svlogd -tt (the data's default) writes them, ``text N``."""
    return "".join(line("human", BASE + index, "%s %d" % (text, index))
                   for index in range(count))


@pytest.fixture
def staged(tmp_path):
    """Applied under a --root (nothing supervises it: every service "not supervised", wanted,
    not running); web's log holds 15 lines, db's 3."""
    root = staged_root(tmp_path)
    data = tmp_path / "data.yaml"
    data.write_text(DATA)
    assert run("apply", "--data", data, "--root", root)[0] == 0
    (root / "var/log/web/current").write_text(stamped(15, "web line"))
    (root / "var/log/db/current").write_text(stamped(3, "db line"))
    return data, root


def test_positional_names_select_as_only_does(staged):
    data, root = staged
    code, out, err = run("status", "web", "--data", data, "--root", root, "--logs", "0")
    assert (code, err) == (3, "")
    assert out == HEADER + "web      not supervised  -    -       up        -     not supervised\n"
    assert run("status", "--only", "web", "--data", data, "--root", root, "--logs", "0") == (
        code, out, err)
    code, out, _ = run("status", "cron", "--only", "web", "--data", data, "--root", root,
                       "--json")
    assert code == 3
    assert [row["service"] for row in json.loads(out)["services"]] == ["cron", "web"]


def test_a_disabled_service_is_not_normally_up(tmp_path):
    """Issue 44, item 19: a disabled service (built, not linked: no runsvdir starts it) said
    ``NORMALLY up``."""
    root = staged_root(tmp_path)
    data = tmp_path / "data.yaml"
    data.write_text(DATA + "  idle: {command: /usr/bin/idle, enabled: false}\n")
    assert run("apply", "--data", data, "--root", root)[0] == 0
    code, out, err = run("status", "idle", "web", "--data", data, "--root", root, "--logs", "0")
    assert (code, err) == (3, "")
    assert out == (
        HEADER + "idle     disabled        -    -       -         -     not supervised\n"
        "web      not supervised  -    -       up        -     not supervised\n")


def test_the_last_10_lines_under_each_service_not_as_wanted_without_logs(staged):
    data, root = staged
    code, out, err = run("status", "--data", data, "--root", root)
    assert (code, err) == (3, "")
    table, _, below = out.partition("\n\n")
    assert table.splitlines()[0] == HEADER.rstrip("\n")
    db, web = below.split("\n\nweb:\n")  # in the table's order
    assert db.startswith("db:\n")
    assert [line.split(None, 3)[-1] for line in db.splitlines()[1:]] == [
        "db line %d" % index for index in range(3)]
    assert [line.split(None, 3)[-1] for line in web.splitlines()] == [
        "web line %d" % index for index in range(5, 15)]
    # as JSON, each such service's "logs"; cron has no log
    code, out, _ = run("status", "--data", data, "--root", root, "--json")
    services = {row["service"]: row for row in json.loads(out)["services"]}
    assert code == 3 and "logs" not in services["cron"]
    assert services["web"]["logs"][-1].endswith(" web line 14")
    assert len(services["web"]["logs"]) == 10


def test_logs_n_changes_the_count_and_0_hides(staged):
    data, root = staged
    code, out, _ = run("status", "web", "--data", data, "--root", root, "--logs", "2")
    assert code == 3
    assert [line.split(None, 3)[-1] for line in out.split("\nweb:\n")[1].splitlines()] == [
        "web line 13", "web line 14"]
    code, out, _ = run("status", "--data", data, "--root", root, "--logs", "0")
    assert code == 3 and "line" not in out and out.count("\n") == 4
    code, out, err = run("status", "--data", data, "--root", root, "--logs", "-1")
    assert (code, out) == (2, "")
    assert err.endswith("argument --logs: expected a number of lines (0 or more), got '-1'\n")


# -- item 10, live: the reason under a service that dies ------------------------------------------
@pytest.fixture
def live(tmp_path, tree):
    """Our runtime's runsvdir over a tree applied from data: ``api`` dies at once, saying why;
    ``steady`` runs and says it is ready."""
    service_dir, start = tree
    data = tmp_path / "data.yaml"
    data.write_text(yaml.safe_dump({"runit": {
        "runtime": "python", "init": "none", "sv_dir": str(tmp_path / "sv"),
        "service_dir": str(service_dir), "log_dir": str(tmp_path / "log"), "sv_timeout": 10,
        "services": {
            "api": {"command": ["sh", "-c", "echo starting; echo 'fatal: db unreachable'; "
                                            "exit 1"]},
            "steady": {"command": ["sh", "-c", "echo ready; exec sleep 1000"]}}}}))
    bin_dir = make_bin_dir(tmp_path / "bin", "ours")
    start(env={"PATH": "%s:%s" % (bin_dir, BASE_PATH)}, stdin=subprocess.DEVNULL,
          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    code, out, err = run("apply", "--data", data, "--wait", "20", "--profile-d", "none")
    assert code in (0, 1), out + err  # apply may say api did not stay up
    return data


@pytest.mark.slow
def test_the_reason_a_service_dies_is_under_it_without_logs(live):
    def reason_shown():
        code, out, _ = run("status", "--data", live)
        return code == 3 and "fatal: db unreachable" in out and out

    out = wait_until(reason_shown, timeout=30, what="api's reason under status")
    table, _, below = out.partition("\n\n")
    assert below.startswith("api:\n")
    assert "steady:" not in below and "ready" not in out  # running as wanted: no log
    assert [line for line in below.splitlines() if line.endswith("fatal: db unreachable")]
    # by name, as systemctl status api
    code, out, _ = run("status", "api", "--data", live)
    assert code == 3 and "fatal: db unreachable" in out and "steady" not in out
    # steady's only when asked; none at all with --logs 0
    code, out, _ = run("status", "steady", "--data", live, "--logs", "5")
    assert code == 0 and out.split("\nsteady:\n")[1].rstrip().endswith(" ready")
    code, out, _ = run("status", "--data", live, "--logs", "0")
    assert code == 3 and "fatal" not in out and "api:" not in out
