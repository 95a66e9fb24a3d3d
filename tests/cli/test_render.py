"""``runit-provision render``: writes the tree under --out, lists it with --json, and on bad
data prints every problem and writes nothing (exit 1)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from runit_provision.cli.main import main

HERE = Path(__file__).parent
ERRORS = HERE.parent / "schema" / "errors"
DATA = """runit:
  services:
    web:
      command: /usr/bin/web --port 8080
      env: {PORT: "8080"}
    db:
      command: /usr/bin/db
      log: false
"""


def test_render_writes_every_path_under_out(tmp_path, capsys):
    data = tmp_path / "data.yaml"
    data.write_text(DATA)
    out = tmp_path / "out"
    assert main(["render", "--data", str(data), "--out", str(out), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    paths = [entry["path"] for entry in listing["entries"]]
    assert paths == sorted(paths) and "/etc/sv/web/run" in paths
    run = out / "etc/sv/web/run"
    assert run.read_text().endswith("exec chpst -e ./env /usr/bin/web --port 8080\n")
    assert os.stat(str(run)).st_mode & 0o7777 == 0o755
    assert os.stat(str(out / "etc/sv/web/env/PORT")).st_mode & 0o7777 == 0o640
    assert os.readlink(str(out / "etc/service/web")) == "/etc/sv/web"  # the final path
    assert (out / "var/log/web/config").exists() and not (out / "var/log/db").exists()
    entry = {e["path"]: e for e in listing["entries"]}["/etc/sv/web/env/PORT"]
    assert (entry["mode"], entry["owner"], entry["size"]) == ("0640", "root", 5)


def test_only(tmp_path, capsys):
    data = tmp_path / "data.yaml"
    data.write_text(DATA)
    assert main(["render", "--data", str(data), "--out", str(tmp_path / "o"),
                 "--only", "db"]) == 0
    assert (tmp_path / "o/etc/sv/db/run").exists()
    assert not (tmp_path / "o/etc/sv/web").exists()


def test_bad_data_writes_nothing_and_exits_1(tmp_path, capsys):
    case = ERRORS / "needs.yaml"
    out = tmp_path / "out"
    assert main(["render", "--data", str(case), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    expected = (ERRORS / "needs.expected").read_text().replace("FILE", str(case))
    assert err == expected
    assert not out.exists()


def test_the_installed_command(tmp_path):
    data = tmp_path / "data.yaml"
    data.write_text(DATA)
    proc = subprocess.run([str(Path(sys.executable).parent / "runit-provision"), "render",
                           "--data", str(data), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out/etc/sv/db/run").read_text() == (
        "#!/bin/sh\nexec 2>&1\nexec /usr/bin/db\n")


def test_hiera_with_facts_and_errors_pointing_into_the_right_file(tmp_path, capsys):
    (tmp_path / "data" / "nodes").mkdir(parents=True)
    (tmp_path / "hiera.yaml").write_text(
        "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n"
        "  - {name: node, path: \"nodes/%{trusted.certname}.yaml\"}\n"
        "  - {name: common, path: common.yaml}\n")
    (tmp_path / "data" / "common.yaml").write_text(
        "lookup_options:\n  runit::services: {merge: deep}\n"
        "runit::services:\n  web: {command: /usr/bin/web, env: {NODE: \"%{trusted.certname}\"}}\n")
    (tmp_path / "data" / "nodes" / "web01.yaml").write_text(
        "runit::services:\n  web: {nice: 3}\n")
    facts = tmp_path / "facts.yaml"
    facts.write_text("trusted: {certname: web01}\nos: {family: Debian}\n")
    out = tmp_path / "out"
    args = ["render", "--hiera", str(tmp_path / "hiera.yaml"), "--facts", str(facts),
            "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    assert (out / "etc/sv/web/run").read_text().endswith(
        "exec chpst -e ./env -n 3 /usr/bin/web\n")
    assert (out / "etc/sv/web/env/NODE").read_text() == "web01\n"
    (tmp_path / "data" / "nodes" / "web01.yaml").write_text(
        "runit::services:\n  web: {nice: lots}\n")
    assert main(args[:-1] + [str(tmp_path / "out2")]) == 1
    assert capsys.readouterr().err == (
        "%s:2:9: services.web.nice: expected a whole number, got a string\n"
        % (tmp_path / "data" / "nodes" / "web01.yaml"))
    assert not (tmp_path / "out2").exists()
