"""``runit-provision verify --security`` end to end, from a data file with a hardened and a bare
service and a user's: the table, the JSON, and the exit status under ``--security-max``."""

import json
import os
import subprocess
import sys
from xml.etree import ElementTree

import pytest

from runit_provision.cli.main import main

from ..pipeline import GROUP, PASSWD

DATA = """\
runit::services:
  bare:
    command: /usr/bin/bare
  web:
    command: [/usr/bin/web, --port, '80']
    user: www
    umask: '0077'
    sandbox:
      no_new_privileges: true
      capabilities: [net_bind_service]
      private_tmp: true
      protect_system: strict
      protect_home: true
      private_devices: true
      private_network: true
      protect_kernel: true
  old: {command: /usr/bin/old, ensure: absent}
runit::users:
  alice:
    services:
      notes: {command: /usr/bin/notes}
"""


@pytest.fixture
def argv(tmp_path):
    (tmp_path / "data.yaml").write_text(DATA)
    (tmp_path / "passwd").write_text(PASSWD)
    (tmp_path / "group").write_text(GROUP)
    return ["verify", "--security", "--data", str(tmp_path / "data.yaml"),
            "--passwd", str(tmp_path / "passwd"), "--group", str(tmp_path / "group")]


def test_the_table_scores_every_tree_and_names_what_would_lower_it(argv, capsys):
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["SERVICE", "TREE", "USER", "SCORE", "LEVEL", "WOULD", "LOWER",
                                "IT"]
    rows = {line.split()[0]: line.split(None, 5) for line in lines[1:4]}
    assert rows["bare"][1:5] == ["system", "root", "9.8", "UNSAFE"]
    assert rows["bare"][5].startswith("capabilities: [] -5.1, protect_kernel: true -1.4, ")
    assert rows["web"][1:5] == ["system", "www", "0.4", "SAFE"]
    assert rows["web"][5] == "capabilities: [] -0.4"
    assert rows["alice/notes"][1:5] == ["alice", "alice", "9.1", "UNSAFE"]
    assert "user:" not in rows["alice/notes"][5]  # a user's tree runs as its login already
    assert "old" not in rows
    assert lines[4].startswith("not scored, no setting here: SystemCallFilter= ")


def test_json_carries_every_item_and_every_setting_that_lowers_it(argv, capsys):
    assert main(argv + ["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["passed"], report["max"], report["above"]) == (True, None, [])
    assert "SystemCallFilter=" in report["not_scored"]
    services = {entry["service"]: entry for entry in report["services"]}
    assert list(services) == ["bare", "web", "alice/notes"]
    web = services["web"]
    assert (web["tree"], web["user"], web["score"], web["level"]) == (None, "www", 0.4, "SAFE")
    assert web["lowered_by"] == [{"setting": "sandbox.capabilities", "to": "[]", "by": 0.4}]
    open_items = {item["name"]: item["why"] for item in web["items"] if item["badness"]}
    assert open_items == {"capabilities~net_(bind_service|broadcast|raw)":
                          "may hold net_bind_service",
                          "ambient capabilities": "raises ambient net_bind_service"}
    assert services["bare"]["user"] is None and services["alice/notes"]["tree"] == "alice"
    assert {setting["setting"] for setting in services["bare"]["lowered_by"]} >= {
        "user", "sandbox.no_new_privileges", "sandbox.private_network"}


@pytest.mark.parametrize("limit, above, last", [
    ("9.8", [], "none above 9.8"), ("9.7", ["bare"], "1 above 9.7: bare"),
    ("5", ["bare", "alice/notes"], "2 above 5.0: bare, alice/notes"),
    ("UNSAFE", [], "none above 9.9"),
    ("EXPOSED", ["bare", "alice/notes"], "2 above 8.9: bare, alice/notes")])
def test_the_gate_fails_when_a_service_scores_above_the_maximum(argv, capsys, limit, above,
                                                                last):
    argv = [word for word in argv if word != "--security"]  # --security-max implies it
    assert main(argv + ["--security-max", limit]) == (1 if above else 0)
    assert capsys.readouterr().out.splitlines()[-1] == last
    assert main(argv + ["--security-max", limit, "--json"]) == (1 if above else 0)
    report = json.loads(capsys.readouterr().out)
    assert (report["passed"], report["above"]) == (not above, above)


def test_the_gate_through_the_installed_command(argv):
    """The exit status a CI job sees, from the real entry point."""
    command = [os.path.join(os.path.dirname(sys.executable), "runit-provision")] + argv
    done = subprocess.run(command + ["--security-max", "5"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and "2 above 5.0: bare, alice/notes" in done.stdout
    done = subprocess.run(command + ["--only", "web", "--security-max", "OK"],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (0, "")


def test_hosts_are_refused_with_security(argv, capsys):
    assert main(argv + ["--hosts", "ssh://web01"]) == 2
    assert "--security scores the data and reads no host: --hosts is for the checks" in (
        capsys.readouterr().err)


def test_junit_xml_holds_a_check_per_service_failed_above_the_maximum(argv, tmp_path):
    junit = tmp_path / "reports" / "security.xml"
    assert main(argv + ["--security-max", "5", "--junitxml", str(junit)]) == 1
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("3", "2")
    cases = {case.get("classname"): case for case in suite.iter("testcase")}
    assert list(cases) == ["data.bare", "data.web", "data.alice/notes"]
    assert {case.get("name") for case in cases.values()} == {"security exposure"}
    assert cases["data.web"].find("failure") is None
    assert cases["data.bare"].find("failure").get("message").startswith(
        "bare: 9.8 (UNSAFE), above 5.0; would lower it: capabilities: [] -5.1, ")


def test_a_bad_maximum_is_bad_usage(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv + ["--security-max", "11"])
    assert exit_.value.code == 2
    assert "expected a score from 0 to 10" in capsys.readouterr().err
