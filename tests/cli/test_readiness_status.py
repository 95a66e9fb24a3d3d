"""``apply``'s wait, ``status``, ``--json`` and ``metrics`` of a live tree of our runtime where
a service says when it is ready (``ready: notify``), applied through the real CLI: not ready
while it starts (apply's wait times out naming it, its dependent's ``needs`` guard waits), then
ready with its latency and ``STATUS=`` text."""

import json
import sys

import pytest

from runit_provision.cli.main import main

from ..livetree import tree_of
from ..runtime.processes import wait_until

SENDER = """
import os, pathlib, socket, sys, time
gate = pathlib.Path(sys.argv[1])
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
address = "\\0" + os.environ["NOTIFY_SOCKET"][1:]
sock.sendto(b"STATUS=replaying", address)
while not gate.exists():
    time.sleep(0.02)
sock.sendto(b"READY=1\\nSTATUS=serving", address)
time.sleep(1000)
"""


def status_json(data, capsys):
    capsys.readouterr()
    code = main(["status", "--data", str(data), "--json"])
    return code, {row["service"]: row for row in json.loads(capsys.readouterr().out)["services"]}


@pytest.mark.slow
def test_status_and_metrics_show_starting_then_ready(tmp_path, capsys):
    gate, marker = tmp_path / "gate", tmp_path / "web-started"
    (tmp_path / "sender.py").write_text(SENDER)
    services = {
        "db": {"command": [sys.executable, str(tmp_path / "sender.py"), str(gate)],
               "ready": "notify"},
        "web": {"command": ["sh", "-c", "touch %s; exec sleep 1000" % marker], "needs": ["db"]}}
    with tree_of(tmp_path, services, sv_timeout=60) as data:
        # apply's bounded wait for a newly linked service ends when it is ready: db is not
        capsys.readouterr()
        code = main(["apply", "--data", str(data), "--wait", "3", "--profile-d", "none"])
        said = capsys.readouterr()
        assert code != 0 and "db: not ready within 3s: starting: replaying" in said.err, said
        wait_until(lambda: (status_json(data, capsys)[1]["db"]["main"].get("readiness") or {})
                   .get("status") == "replaying", timeout=30, what="db starting")
        _, rows = status_json(data, capsys)
        readiness = rows["db"]["main"]["readiness"]
        assert readiness["state"] == "starting" and readiness["ready"] is False
        assert readiness["latency"] is None and "readiness" not in rows["web"]["main"]
        assert not marker.exists()  # web's guard waits for db's READY=1
        capsys.readouterr()
        main(["status", "--data", str(data)])
        table = capsys.readouterr().out
        assert "run, starting" in table and "not ready after" in table
        gate.write_text("")
        wait_until(marker.exists, timeout=30, what="web started after db was ready")
        code, rows = status_json(data, capsys)
        readiness = rows["db"]["main"]["readiness"]
        assert code == 0 and readiness["state"] == "ready" and readiness["status"] == "serving", \
            (code, {label: row["verdict"] for label, row in rows.items()}, readiness)
        assert 0 < readiness["latency"] < 60
        capsys.readouterr()
        assert main(["metrics", "--data", str(data)]) == 0
        text = capsys.readouterr().out
        labels = 'service="db",tree="system",declared="true"'
        assert "runit_service_ready{%s} 1\n" % labels in text
        assert "runit_service_ready_latency_seconds{%s} " % labels in text
        assert 'runit_service_ready{service="web"' not in text  # declares none: absent
