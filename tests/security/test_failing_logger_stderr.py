"""A user breaks their own tree's logger (docs/runsvdir.md, "What is the same"): apprun1 makes
``~/logs/runsvdir`` a directory it may not open, and the logger of ``runsvdir-apprun1``
(``chpst -u apprun1 svlogd ~/logs/runsvdir``) then fails at every restart, once a second.
Root's tree's stderr hears of it once (was: two lines at every restart, for ever), and
root's ``status`` goes on saying that logger is crash-looping. Our runtime only: under the C
runit each restart is a new svlogd writing to runsvdir's own stderr, as runit does.
"""

import json

import pytest

from ..runtime.processes import wait_until

pytestmark = pytest.mark.slow


def tree_verdict(sandbox):
    done = sandbox.tool("status", "runsvdir-apprun1", "--json", "--logs", "0")
    return json.loads(done.stdout)["services"][0]["verdict"]


@pytest.mark.not_applicable(impl="c", reason="our runtime's log hosts")
def test_a_users_logger_failing_at_every_restart_is_said_once_on_roots_stderr(sandbox):
    sandbox.up()
    logs = sandbox.home("apprun1") / "logs" / "runsvdir"
    sandbox.as_user("apprun1", "chmod 0 logs/runsvdir")
    done = sandbox.sv("restart", sandbox.sv_dir / "runsvdir-apprun1" / "log")
    assert done.returncode in (0, 1), done.stderr  # it never comes up: sv may time out
    wait_until(lambda: "its logger is crash-looping" in tree_verdict(sandbox), timeout=30,
               what="the tree's logger crash-looping")  # five failed starts, a second apart
    said = sandbox.outputs.read_text()
    assert said.count("svlogd: warning: unable to open log directory: %s: access denied"
                      % logs) == 1, said
    assert said.count("svlogd: fatal: no functional log directories.") == 1, said
