"""Issue 31, item 1: a restart owed to a user's service is struck off only once it is done (or
its service is gone) — never because ``--only`` left it out or named it in another spelling.

A real failed restart: ``apprun1`` takes the write bit off its service's ``supervise/control``,
so the ``sv -w T restart`` apply runs as apprun1 fails (``unable to open supervise/control``)
and apprun1 is refused with the restart written down. Then ``apply --only`` in every spelling
of the service (each retries it, fails again, and keeps it), and with selections that leave it
out (kept); then apprun1 puts the bit back and one full apply does the restart — once, with the
new ``env``.

The real ``runit-provision`` as root, real users in the security tier's namespace
(tests/security/sandbox.py), our runtime and the C runit; every wait has a deadline.
"""

import json

import pytest

from ..conftest import OUR_BIN
from ..runtime.processes import running_pid, wait_until
from ..security.conftest import namespace, sandbox  # noqa: F401 — the tier's host, reused
from ..security.sandbox import SECRET

pytestmark = pytest.mark.slow

SPELLINGS = ("apprun1/web1", "~apprun1/web1", "web1")


def run_tool(sandbox, *args):
    return sandbox.ns.run([OUR_BIN / "runit-provision"] + [str(a) for a in args],
                          env=sandbox.environ(), timeout=120)


def started_with(sandbox, greeting):
    """How many times apprun1's web1 started with ``greeting`` (its first line says so)."""
    log = sandbox.home("apprun1") / "logs" / "web1" / "current"
    return log.read_text().count("%s %s\n" % (SECRET["apprun1"], greeting))


def test_a_failed_user_restart_is_kept_through_every_selection_and_done_once(sandbox):
    sandbox.up()
    web1 = sandbox.home("apprun1") / "sv" / "web1"
    old_pid = running_pid(web1)
    sandbox.as_user("apprun1", "chmod u-w sv/web1/supervise/control")
    sandbox.user_services["apprun1"]["web1"]["env"] = {"GREETING": "two"}
    report = sandbox.apply(check=False)
    assert report["exit"] == 1, report
    assert "unable to open supervise/control" in report["refusals"]["apprun1"]
    owed = sandbox.sv_dir / ".pending-restarts"
    line = "restart\t%s\tapprun1/web1\tenv changed\n" % web1
    assert owed.read_text() == line
    data = sandbox.base / "data.yaml"
    owed_step = ("↻ apprun1/web1: restart (env changed (owed: an earlier apply stopped before "
                 "it))")
    for spelling in SPELLINGS:  # each names it: retried, refused again, still owed
        plan = run_tool(sandbox, "plan", "--data", data, "--only", spelling)
        assert plan.returncode == 2 and owed_step in plan.stdout, plan.stdout + plan.stderr
        report = sandbox.apply(check=False, args=["--only", spelling])
        assert report["exit"] == 1 and list(report["refusals"]) == ["apprun1"], spelling
        assert owed.read_text() == line, spelling
    for other in ("rootsvc", "runsvdir-apprun1", "apprun2/web2"):  # left out: kept
        report = sandbox.apply(args=["--only", other])
        assert report["restarts"] == [] and owed.read_text() == line, other
        plan = run_tool(sandbox, "plan", "--data", data, "--only", other)
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert ("apprun1/web1: restart owed (env changed): kept for an apply that selects it"
                in plan.stdout), plan.stdout
    assert running_pid(web1) == old_pid and started_with(sandbox, "two") == 0
    plan = run_tool(sandbox, "plan", "--data", data)
    assert plan.returncode == 2 and owed_step in plan.stdout, plan.stdout + plan.stderr
    sandbox.as_user("apprun1", "chmod u+w sv/web1/supervise/control")
    report = sandbox.apply()
    assert [(item["service"], item["command"]) for item in report["restarts"]] == [
        ("apprun1/web1", "restart")]
    assert not owed.exists()
    new_pid = wait_until(lambda: running_pid(web1) not in (0, old_pid) and running_pid(web1),
                         what="web1 restarted")
    wait_until(lambda: started_with(sandbox, "two") == 1, what="web1's start with the new env")
    again = sandbox.apply()
    assert again["restarts"] == [] and running_pid(web1) == new_pid
    assert started_with(sandbox, "two") == 1  # done exactly once
    status = json.loads(run_tool(sandbox, "status", "--data", data, "--json").stdout)
    row = next(row for row in status["services"] if row["service"] == "apprun1/web1")
    assert row["owed"] == []
