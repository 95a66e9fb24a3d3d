"""``runit-provision start`` of a service whose restart waits out its back-off
(docs/restart.md, "While it waits") — real processes, under our runsvdir and the C runit.

Ours starts it now: our sv sends ``u`` to a service down with nothing running while wanted up,
and our runsv ends the wait (and the series). Under the C runit the rendered ``./finish``
waits, the C runsv wants the service up already and the C sv sends nothing: ``start`` changes
nothing, as the table says.
"""

import json

import pytest

from runit_provision.cli.main import main

from ..apply.test_live import live  # noqa: F401  (the fixture: a LiveTree, ours and the C)
from ..runtime.processes import running_pid, wait_until

pytestmark = pytest.mark.slow

# exits 1 the first time: its restart waits a minute; then it runs
CRASH_ONCE = 'if [ ! -e "$0" ]; then touch "$0"; exit 1; fi; echo up; exec sleep 1000'


def restart_waits(capsys, data):
    capsys.readouterr()
    main(["status", "--json", "--logs", "0"] + data + ["worker"])
    row = json.loads(capsys.readouterr().out)["services"][0]
    return row if row["main"].get("restart") else None


def test_start_during_a_back_off_wait(live, capsys):
    crashed = live.tmp / "crashed"
    argv = live.apply({"worker": {"command": ["sh", "-c", CRASH_ONCE, str(crashed)],
                                  "restart": {"delay": 60}}})
    argv[argv.index("--wait") + 1] = "3"  # it does not stay up: apply says so
    main([arg for arg in argv if arg != "--json"])
    data = ["--data", str(live.data)]
    row = wait_until(lambda: restart_waits(capsys, data), timeout=30,
                     what="worker's restart waiting out its back-off")
    assert row["main"]["restart"]["delay"] == 60.0 and crashed.exists(), row
    capsys.readouterr()
    code = main(["start", "--timeout", "5"] + data + ["worker"])
    said = capsys.readouterr()
    worker = live.sv_dir / "worker"
    if live.impl == "ours":
        assert code == 0, said
        assert said.out.startswith("ok: run: %s: (pid " % worker), said.out
        assert running_pid(worker)
        assert restart_waits(capsys, data) is None
    else:  # the C sv sent nothing: the finish still waits
        assert code != 0, said
        assert said.out.startswith("timeout: finish: %s: (pid " % worker), said
        assert not running_pid(worker)
        assert restart_waits(capsys, data)["main"]["restart"]["delay"] == 60.0
