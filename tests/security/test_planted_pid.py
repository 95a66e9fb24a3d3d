"""A status a user writes never shows another's process as their service running
(protocol/sidestate.disowned_pid, the one rule of status, metrics, the fact and verify):
apprun1 rewrites its running web1's ``supervise/status`` — as the user's runsv may write it,
the C one or ours — to name pid 0xFFFFFFFF, then root's ``rootsvc``'s process. Root's
``status`` says web1 cannot be told (exit 1, not "run"), ``verify`` fails web1's running
check and passes the rest, and the fact does not call it as wanted.
"""

import json
import struct
import time

import pytest

from ..runtime.processes import running_pid, wait_until

pytestmark = pytest.mark.slow

DEADLINE = 60


def status_bytes(pid):
    """The 20 bytes runsv writes for a running service with ``pid``, wanted up, now."""
    return (struct.pack(">QL", int(time.time()) + (1 << 62) + 10, 0)
            + struct.pack("<LBcBB", pid, 0, b"u", 0, 1))


def plant(sandbox, pid):
    escaped = "".join("\\%03o" % byte for byte in status_bytes(pid))
    sandbox.as_user("apprun1", "printf '%s' > sv/web1/supervise/status.new && "
                               "mv sv/web1/supervise/status.new sv/web1/supervise/status"
                    % escaped)


def web1_checks(found):
    return {check["id"]: (check["status"], check["problems"])
            for check in json.loads(found.stdout)["checks"] if "/web1::" in check["id"]}


@pytest.mark.parametrize("planted", ["beyond", "roots"])
def test_a_pid_apprun1_writes_is_believed_only_when_it_is_theirs(sandbox, planted):
    sandbox.up()
    web1 = sandbox.home("apprun1") / "sv" / "web1"
    wait_until(lambda: running_pid(web1 / "log"), timeout=20, what="web1's logger")
    pid = 0xFFFFFFFF if planted == "beyond" else running_pid(sandbox.sv_dir / "rootsvc")
    plant(sandbox, pid)
    said = "pid %d is %s" % (pid, "beyond the kernel's limit" if planted == "beyond"
                             else "uid 0's, not uid %d's" % sandbox.ns.users["apprun1"])
    status = sandbox.tool("status", "apprun1/web1", "--logs", "0", timeout=DEADLINE)
    assert status.returncode != 0, status.stdout
    assert said in status.stdout and "run" not in status.stdout.split("\n")[0].split(), \
        status.stdout
    (row,) = json.loads(sandbox.tool("status", "apprun1/web1", "--json", "--logs", "0",
                                     timeout=DEADLINE).stdout)["services"]
    assert not row["running"] and row["verdict"] != "ok", row
    (fact,) = [item for item in json.loads(sandbox.tool(
        "status", "--fact", timeout=DEADLINE).stdout)["services"]
        if item["service"] == "apprun1/web1"]
    assert not fact["running"] and fact["verdict"] == row["verdict"], fact
    found = web1_checks(sandbox.tool("verify", "--json", timeout=DEADLINE))
    assert found["apprun1/web1::running"][0] != "passed", found
    assert said in " ".join(found["apprun1/web1::running"][1]), found
    assert all(passed == "passed" for check, (passed, _) in found.items()
               if not check.endswith("::running")), found
