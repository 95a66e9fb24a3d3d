"""Records a user plants in their own tree, read by root's ``verify`` and ``status``
(docs/security.md, N15): a user's ``supervise/`` and service directory
are the user's, so any record in them may be a link, a FIFO or a file of another kind.

apprun1, the real unprivileged user of the namespace (``sandbox.py``), plants in its own tree —
while its services run, under our runtime and the C runit side by side:

- ``supervise/status``, ``supervise/readiness`` and ``needs-passed`` of web1, and
  ``supervise/ok`` of web1's log: links to a root-only file (the canary; in the wild, a device
  such as a watchdog, which an open arms);
- ``supervise/pid`` and ``supervise/tally`` of web1: FIFOs no one writes to.

Root then runs the real ``runit-provision verify`` through each probe (python's, and sh's, which
runs the host's ``sv``: runit's follows links, as ours does) and ``status``. Each must end in time, open
the canary never (an inotify watch on it sees every open, by anyone), say that web1 is not
well, and judge apprun2's service and root's as before. Before the fix, python's probe opened
the canary through ``status``, ``readiness`` and the log's ``ok`` (the last write-only), and
sh's probe waited forever on the ``pid`` FIFO.
"""

import json
import os

import pytest

from runit_provision.runtime.unix import inotify

from ..runtime.processes import running_pid, wait_until

pytestmark = pytest.mark.slow

DEADLINE = 60  # seconds for one command: ~2 s here; a hung probe never ends

PLANT = """set -e
canary=$1
ln -sf "$canary" sv/web1/supervise/status
ln -sf "$canary" sv/web1/supervise/readiness
ln -sf "$canary" sv/web1/needs-passed
ln -sf "$canary" sv/web1/log/supervise/ok
rm -f sv/web1/supervise/pid sv/web1/supervise/tally
mkfifo sv/web1/supervise/pid sv/web1/supervise/tally
"""


def verdicts(found):
    """verify --json's checks: ``{check id: passed}``."""
    return {check["id"]: check["status"] == "passed"
            for check in json.loads(found.stdout)["checks"]}


@pytest.mark.parametrize("probe", ["auto", "sh"])
def test_records_a_user_plants_are_never_opened_or_waited_on_by_root(sandbox, probe):
    sandbox.up()
    web1 = sandbox.home("apprun1") / "sv" / "web1"
    wait_until(lambda: running_pid(web1 / "log"), timeout=20, what="web1's logger")
    before = verdicts(sandbox.tool("verify", "--json", "--probe", probe, timeout=DEADLINE))
    assert before and all(before.values()), before
    canary = sandbox.base / "canary"
    canary.write_bytes(os.urandom(64))
    canary.chmod(0o600)
    with inotify.Inotify() as watcher:
        watcher.add_watch(str(canary), inotify.IN_OPEN | inotify.IN_ACCESS)
        done = sandbox.ns.run(["/bin/sh", "-c", 'cd "$0" && ' + PLANT, sandbox.home("apprun1"),
                               canary], user="apprun1", timeout=30)
        assert done.returncode == 0, done.stderr
        found = sandbox.tool("verify", "--json", "--probe", probe, timeout=DEADLINE)
        status = sandbox.tool("status", timeout=DEADLINE)
        opened = watcher.read_events()
    assert opened == [], "root opened the canary apprun1 linked to: %r" % (opened,)
    after = verdicts(found)
    failing = sorted(check for check, passed in after.items() if not passed)
    assert failing == ["apprun1/web1::logger running", "apprun1/web1::running"], found.stdout
    assert {check: passed for check, passed in after.items() if "/web1::" not in check} \
        == {check: passed for check, passed in before.items() if "/web1::" not in check}
    said = {check["id"]: check["problems"] for check in json.loads(found.stdout)["checks"]}
    for check in failing:  # named for what it is: a record not opened
        assert len(said[check]) == 1 and "unable to open supervise/" in said[check][0], said
    assert status.returncode != 0, (status.stdout, status.stderr)
    assert "unable to open supervise/status: symbolic link loop" in status.stdout, status.stdout
    assert "Traceback" not in found.stderr + status.stderr, found.stderr + status.stderr
