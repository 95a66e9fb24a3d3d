"""``runit-provision render``: writes the tree under --out, lists it with --json, and on bad
data prints every problem and writes nothing (exit 1)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from runit_provision.cli.main import main

HERE = Path(__file__).parent
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
    case = HERE / "errors" / "needs.yaml"
    out = tmp_path / "out"
    assert main(["render", "--data", str(case), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    expected = (HERE / "errors" / "needs.expected").read_text().replace("FILE", str(case))
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
