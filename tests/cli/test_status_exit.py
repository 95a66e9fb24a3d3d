"""``status``'s exit code is its verdict (issue 31: no false green): 3 when anything supervised
is not as wanted — not only a wanted service that does not run, but one caught running between
two deaths of a crash loop, one still starting that declares readiness, a logger wanted up that
does not run, a restart an apply owes. The sides are served by a stand-in runsv (FIFOs with a
reader, status files) under a --root, so each state is exact rather than raced for.
"""

import json
import os
import time

import pytest

from runit_provision.cli.main import main
from runit_provision.protocol.readiness import Readiness, readiness_bytes
from runit_provision.protocol.status import State
from runit_provision.protocol.tally import Tally, tally_bytes

from ..apply.helpers import staged_root
from ..checks.helpers import FakeRunsv

DATA = """\
runit::init: none
runit::services:
  web: {command: /usr/bin/web}
  db: {command: /usr/bin/db, ready: notify}
"""
SIDES = ("web", "web/log", "db", "db/log")


@pytest.fixture
def host(tmp_path, capsys):
    """Applied under a --root; every side served, running: (root, data, runsv, status) where
    ``status()`` is (exit code, the --json report)."""
    root = staged_root(tmp_path)
    data = tmp_path / "data.yaml"
    data.write_text(DATA)
    assert main(["apply", "--data", str(data), "--root", str(root)]) == 0
    runsv = FakeRunsv()
    for side in SIDES:
        runsv.serve(root / "etc/sv" / side)

    def status():
        capsys.readouterr()
        code = main(["status", "--data", str(data), "--root", str(root), "--json", "--logs",
                     "0"])
        report = json.loads(capsys.readouterr().out)
        return code, {service["service"]: service["verdict"]
                      for service in report["services"]}, report

    yield root, runsv, status
    runsv.close()


def ready(root, state):
    now_ns = time.time_ns()
    record = Readiness(state, os.getpid(), now_ns - 2 * 10**9,
                       now_ns if state == "ready" else 0, "", 0, 0)
    (root / "etc/sv/db/supervise/readiness").write_bytes(readiness_bytes(record))


def test_all_as_wanted_is_0(host):
    root, _, status = host
    ready(root, "ready")
    code, verdicts, report = status()
    assert (code, verdicts) == (0, {"web": "as wanted", "db": "as wanted"}), report


def test_a_crash_loop_caught_running_is_3(host):
    root, _, status = host
    ready(root, "ready")
    now_ns = time.time_ns()
    dying = Tally(os.getpid(), 7, 6, 1 << 8, now_ns - 10**9, 10**7,
                  [now_ns - seconds * 10**9 for seconds in range(1, 7)])
    (root / "etc/sv/web/supervise/tally").write_bytes(tally_bytes(dying))
    code, verdicts, report = status()
    assert (code, verdicts["web"], report["not_running"]) == (3, "crash-looping", []), report


def test_a_service_still_starting_is_not_ready_and_3(host):
    root, _, status = host
    ready(root, "starting")
    code, verdicts, report = status()
    assert (code, verdicts["db"], report["not_running"]) == (3, "not ready", []), report
    ready(root, "ready")
    assert status()[0] == 0


def test_a_logger_wanted_up_and_down_is_3_and_one_told_down_is_not(host):
    root, runsv, status = host
    ready(root, "ready")
    runsv.write(root / "etc/sv/web/log", State.DOWN, want="u")
    code, verdicts, report = status()
    assert (code, verdicts["web"]) == (3, "its logger is down"), report
    runsv.write(root / "etc/sv/web/log", State.DOWN, want="d")  # sv down web/log: as told
    assert status()[:2] == (0, {"web": "as wanted", "db": "as wanted"})


def test_a_restart_an_apply_owes_is_3(host):
    root, _, status = host
    ready(root, "ready")
    (root / "etc/sv/.pending-restarts").write_text("restart\t/etc/sv/web\tweb\tenv changed\n")
    code, verdicts, report = status()
    assert code == 3 and verdicts["web"] == "as wanted", report
    owed = {service["service"]: service["owed"] for service in report["services"]}
    assert owed["web"] == [
        {"action": "restart", "target": "/etc/sv/web", "reason": "env changed"}]
