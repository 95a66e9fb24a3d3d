"""A user breaks a logger that runs as them (docs/runsvdir.md, "What is the same"): root's data
logs its service ``userlog`` as apprun1 (``log: {user: apprun1}``, its directory
``LOG_DIR/userlog`` apprun1's), apprun1 makes that directory one it may not open, and the
logger (in the logger host of apprun1's) then fails at every restart, once a second. Root's
tree's stderr hears of it once (was: two lines at every restart, for ever), and root's
``status`` goes on saying that logger is crash-looping. Our runtime only: under the C runit
each restart is a new svlogd writing to runsvdir's own stderr, as runit does. (The logger of
apprun1's tree's output is root's, in root's directory: apprun1 cannot break it,
test_tree_log.py.)
"""

import json

import pytest

from ..runtime.processes import wait_until
from .test_users import USERLOG, with_userlog

pytestmark = pytest.mark.slow


def verdict(sandbox, name):
    done = sandbox.tool("status", name, "--json", "--logs", "0")
    return json.loads(done.stdout)["services"][0]["verdict"]


@pytest.mark.not_applicable(impl="c", reason="our runtime's log hosts")
def test_a_users_logger_failing_at_every_restart_is_said_once_on_roots_stderr(sandbox):
    logs = with_userlog(sandbox)
    sandbox.as_user("apprun1", "chmod 0 %s" % logs)
    done = sandbox.sv("restart", sandbox.sv_dir / USERLOG / "log")
    assert done.returncode in (0, 1), done.stderr  # it never comes up: sv may time out
    wait_until(lambda: "its logger is crash-looping" in verdict(sandbox, USERLOG), timeout=30,
               what="userlog's logger crash-looping")  # five failed starts, a second apart
    said = sandbox.outputs.read_text()
    assert said.count("svlogd: warning: unable to open log directory: %s: access denied"
                      % logs) == 1, said
    assert said.count("svlogd: fatal: no functional log directories.") == 1, said
