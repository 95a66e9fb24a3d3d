"""``runit-provision render``: writes the tree under --out, lists it with --json, and on bad
data prints every problem and writes nothing (exit 1)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_render_says_what_it_wrote(tmp_path, capsys):
    """Issue 44, item 19: a render that succeeded printed nothing; it says what it wrote, as
    apply does (``--json`` is the listing alone)."""
    data = tmp_path / "data.yaml"
    data.write_text(DATA)
    out = tmp_path / "out"
    assert main(["render", "--data", str(data), "--out", str(out)]) == 0
    files = sum(1 for path in out.rglob("*") if path.is_file() and not path.is_symlink())
    links = sum(1 for path in out.rglob("*") if path.is_symlink())
    said, err = capsys.readouterr()
    assert err == "" and re.fullmatch(
        r"Rendered 2 service directories under %s: %d files, \d+ directories, %d links\.\n"
        % (re.escape(str(out)), files, links), said), said
    assert main(["render", "--data", str(data), "--out", str(out), "--only", "db"]) == 0
    assert capsys.readouterr().out.startswith("Rendered 1 service directory under ")


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
    assert err == "".join("runit-provision render: %s\n" % line  # each line, the prefix
                          for line in expected.splitlines())
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
        "runit-provision render: %s:2:9: services.web.nice: expected a whole number, got a "
        "string\n" % (tmp_path / "data" / "nodes" / "web01.yaml"))
    assert not (tmp_path / "out2").exists()


USERS = "runit::users: [alice]\nrunit::services: {web: {command: /usr/bin/web}}\n"
PASSWD = "alice:x:1500:1500:Alice:/srv/alice:/bin/sh\n"
GROUP = "alice:x:1500:\ndev:x:1600:alice\n"


def rendered_user_tree(tmp_path, capsys, *options):
    data = tmp_path / "data.yaml"
    data.write_text(USERS)
    out = tmp_path / "out"
    assert main(["render", "--data", str(data), "--out", str(out), *options]) == 0, \
        capsys.readouterr().err
    run = (out / "etc/sv/runsvdir-alice/run").read_text()
    home = (out / "etc/sv/runsvdir-alice/env/HOME").read_text()
    return run, home


def test_accounts_from_root(tmp_path, capsys):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text(PASSWD)
    (root / "etc/group").write_text(GROUP)
    run, home = rendered_user_tree(tmp_path, capsys, "--root", str(root))
    assert "chpst -u alice:alice:dev -e ./env -L /srv/alice/service/" in run
    assert home == "/srv/alice\n"
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == [
        "etc", "etc/group", "etc/passwd"]  # nothing written under --root


def test_accounts_from_files(tmp_path, capsys):
    (tmp_path / "passwd").write_text(PASSWD)
    (tmp_path / "group").write_text(GROUP.replace("dev:x:1600:alice", "ops:x:1700:alice"))
    run, home = rendered_user_tree(tmp_path, capsys, "--passwd", str(tmp_path / "passwd"),
                                   "--group", str(tmp_path / "group"))
    assert " chpst -u alice:alice:ops " in run and home == "/srv/alice\n"


def test_an_unreadable_accounts_file_is_an_error(tmp_path, capsys):
    data = tmp_path / "data.yaml"
    data.write_text(USERS)
    assert main(["render", "--data", str(data), "--out", str(tmp_path / "out"),
                 "--passwd", str(tmp_path / "nowhere"), "--group", str(tmp_path / "nowhere")]) == 1
    assert "nowhere: cannot read" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def relocated_data(tmp_path):
    """Data whose every path lies under tmp_path: were a refusal to fail, no harm is done."""
    data = tmp_path / "data.yaml"
    data.write_text("runit::sv_dir: {0}/sv\nrunit::service_dir: {0}/service\n"
                    "runit::log_dir: {0}/log\nrunit::services: {{web: {{command: x}}}}\n"
                    .format(tmp_path))
    return data


def test_out_slash_is_refused(tmp_path, capsys):
    assert main(["render", "--data", str(relocated_data(tmp_path)), "--out", "/"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("runit-provision render: refusing --out /: it is / itself")
    assert err.endswith("; use runit-provision apply\n")
    assert not (tmp_path / "sv").exists() and not (tmp_path / "service").exists()


def test_a_live_service_dir_is_refused(tmp_path, capsys):
    data = tmp_path / "data.yaml"
    data.write_text(DATA)
    out = tmp_path / "out"
    (out / "etc/service/other/supervise").mkdir(parents=True)
    assert main(["render", "--data", str(data), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == ("runit-provision render: refusing --out %s: %s/etc/service is a live service "
                   "directory (%s/etc/service/other/supervise exists: a runsvdir scans it), "
                   "where a link would start the service; use runit-provision apply\n"
                   % (out, out, out))
    assert not (out / "etc/sv").exists()
    # a service directory without supervise/ is no sign of a runsvdir: rendered into
    (out / "etc/service/other/supervise").rmdir()
    assert main(["render", "--data", str(data), "--out", str(out)]) == 0
    assert os.readlink(str(out / "etc/service/web")) == "/etc/sv/web"


def test_links_are_written_last(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data.yaml"
    data.write_text(DATA)
    out = tmp_path / "out"
    symlink = os.symlink
    seen = []

    def checked_symlink(target, path):
        seen.append(path)
        assert (out / "etc/sv/web/run").exists() and (out / "var/log/web/config").exists()
        symlink(target, path)

    monkeypatch.setattr(os, "symlink", checked_symlink)
    assert main(["render", "--data", str(data), "--out", str(out)]) == 0
    assert seen == [str(out / "etc/service/db"), str(out / "etc/service/web")]


def test_help_documents_accounts_and_the_refusal(capsys):
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    out = capsys.readouterr().out
    assert "--root DIR" in out and "DIR/etc/passwd and DIR/etc/group" in out
    assert "runit-provision apply" in out
