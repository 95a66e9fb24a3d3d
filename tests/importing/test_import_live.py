"""Importing a live tree (ours and the C runit): hand-written services running, imported,
then applied with the imported data — nothing is written, nothing restarted, and the plan
after it is empty."""

import os

import pytest
import yaml

from runit_provision.cli.main import main

from ..apply.test_live import live, run_apply  # noqa: F401  (the fixture)
from ..runtime.processes import SH, running_pid, wait_until

pytestmark = pytest.mark.slow

HAND_WRITTEN = {
    # the renderer's own forms, written by hand
    "web": {"run": SH + "exec 2>&1\nexec chpst -e ./env sh -c 'echo web $GREETING; exec sleep 1000'\n",
            "env/GREETING": "hello\n", "log/run": None},
    # what it does not write: kept as written
    "worker": {"run": SH + "# a worker\nexec 2>&1\nwhile :; do echo tick; sleep 0.5; done\n",
               "log/run": SH + "exec svlogd -tt ./main\n", "log/main/.keep": ""},
    "plain": {"run": SH + "exec sleep 1000\n"},
}


def write_service(live, name, files):
    base = live.sv_dir / name
    for relative, content in files.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if relative == "log/run" and content is None:
            content = SH + "exec svlogd -tt %s\n" % (live.tmp / "log" / name)
            (live.tmp / "log" / name).mkdir(parents=True, exist_ok=True)
            (live.tmp / "log" / name / "config").write_text("")
            os.chmod(str(live.tmp / "log" / name / "config"), 0o644)
        path.write_text(content)
        os.chmod(str(path), 0o755 if path.name == "run" else 0o640 if "env/" in relative
                 else 0o644)
    os.symlink(str(base), str(live.service_dir / name))


def test_importing_a_running_tree_restarts_nothing(live, capsys, tmp_path):
    live.sv_dir.mkdir()
    for name, files in HAND_WRITTEN.items():
        write_service(live, name, files)
    for name in HAND_WRITTEN:
        wait_until(lambda: running_pid(live.sv_dir / name), timeout=15, what=name + " running")
    pids = {name: running_pid(live.sv_dir / name) for name in HAND_WRITTEN}
    out = tmp_path / "imported.yaml"
    code = main(["import", str(live.sv_dir), "--service-dir", str(live.service_dir),
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    imported = yaml.safe_load(out.read_text())["runit"]
    assert imported["services"]["web"]["command"][0] == "sh"
    assert imported["services"]["worker"]["log"] == {"run": HAND_WRITTEN["worker"]["log/run"]}
    capsys.readouterr()
    report = run_apply(live, capsys, imported["services"])
    assert report["restarts"] == [] and not report["changed"], report
    assert {name: running_pid(live.sv_dir / name) for name in HAND_WRITTEN} == pids
    data = live.tmp / "data.yaml"
    assert main(["plan", "--data", str(data), "--profile-d", "none"]) == 0


@pytest.mark.parametrize("given", ["its directory", "relative", "its link"])
def test_a_service_of_a_relocated_tree_imports_enabled_where_it_is_linked(
        live, capsys, tmp_path, given):
    """Issue 44 §3: ``import $T/sv/handmade`` (linked and running in ``$T/service``) looked
    for the link in the host's /etc/service, wrote ``enabled: false`` and no ``service_dir``,
    exit 0 — data that would unlink and stop it. The link is looked for in the ``service/``
    beside ``sv/`` (or where a PATH given as a link is), and ``service_dir`` written: the
    data applied changes nothing, and the service runs on."""
    live.sv_dir.mkdir()
    write_service(live, "handmade", {"run": SH + "exec sleep 1000\n"})
    wait_until(lambda: running_pid(live.sv_dir / "handmade"), timeout=15, what="running")
    pid = running_pid(live.sv_dir / "handmade")
    path = {"its directory": str(live.sv_dir / "handmade"), "relative": "sv/handmade",
            "its link": str(live.service_dir / "handmade")}[given]
    out = tmp_path / "imported.yaml"
    here = os.getcwd()
    os.chdir(str(live.tmp))  # back before the fixture ends the processes under live.tmp
    try:
        code = main(["import", path, "--out", str(out)])
    finally:
        os.chdir(here)
    assert code == 0, capsys.readouterr().err
    imported = yaml.safe_load(out.read_text())["runit"]
    assert imported["service_dir"] == str(live.service_dir)
    assert imported["sv_dir"] == str(live.sv_dir)
    assert "enabled" not in imported["services"]["handmade"], imported
    capsys.readouterr()
    report = run_apply(live, capsys, imported["services"])
    assert not report["changed"] and report["actions"] == [], report
    assert running_pid(live.sv_dir / "handmade") == pid
