"""Issue 31, item 8's defaults: with no ``--data``/``--hiera``, every command that reads data
takes ``$RUNIT_PROVISION_HIERA``, else the hiera.yaml the Puppet module writes
(``/etc/runit-provision/hiera.yaml``; ``DIR/etc/…`` with ``--root DIR``); else bad usage saying
where it looked (cli/default_data.py).

Through the installed command (a real process) with ``--root`` and the variable; never this
machine's /etc: the in-process cases point ``DEFAULT_HIERA`` into a temporary directory (and
tests/conftest.py points it nowhere for every other test).
"""

import json
import os
import subprocess
import textwrap

import pytest
import yaml

from runit_provision.cli import default_data
from runit_provision.cli.main import main

from ..apply.helpers import staged_root
from ..conftest import OUR_BIN, ROOT

PROGRAM = str(OUR_BIN / "runit-provision")


def puppet_hiera_yaml():
    """The hiera.yaml class runit::config writes, read from its manifest (the heredoc
    ``$hiera_content``): the test follows the module."""
    manifest = (ROOT / "puppet" / "manifests" / "config.pp").read_text()
    body = manifest.split("$hiera_content = @(HIERA)\n", 1)[1].split("| HIERA", 1)[0]
    return textwrap.dedent(body)


VERBS_THAT_READ_DATA = [
    ["render", "--out", "{t}/out"], ["plan"], ["apply"], ["status"], ["metrics"], ["verify"],
    ["restart", "web"], ["start", "web"], ["stop", "web"], ["logs"]]


def run(*argv, hiera=None):
    """The installed command, with ``$RUNIT_PROVISION_HIERA`` set to ``hiera`` (None: unset):
    (exit code, stdout, stderr)."""
    env = {key: value for key, value in os.environ.items()
           if key != default_data.HIERA_VARIABLE}
    if hiera is not None:
        env[default_data.HIERA_VARIABLE] = str(hiera)
    proc = subprocess.run([PROGRAM] + [str(arg) for arg in argv], capture_output=True,
                          text=True, timeout=120, env=env)
    return proc.returncode, proc.stdout, proc.stderr


def puppet_data_dir(directory, services):
    """A data directory as the Puppet module writes it: hiera.yaml, data.yaml (class runit's
    data, with the lookup_options it writes) and a service-NAME.yaml per runit::service (here
    ``services``' last one)."""
    directory.mkdir(parents=True)
    (directory / "hiera.yaml").write_text(puppet_hiera_yaml())
    *data, last = services
    (directory / "data.yaml").write_text(
        "lookup_options:\n  runit::services: {merge: deep}\n  runit::users: {merge: deep}\n"
        "runit::init: none\nrunit::services:\n" + "".join(
            "  %s: {command: /usr/bin/%s}\n" % (name, name) for name in data))
    (directory / ("service-%s.yaml" % last)).write_text(
        "runit::services:\n  %s: {command: /usr/bin/%s}\n" % (last, last))
    return directory / "hiera.yaml"


@pytest.fixture
def node(tmp_path):
    """A staged node: its accounts, and the Puppet module's data under its etc declaring db
    and cron; elsewhere, another hiera.yaml declaring web alone."""
    root = staged_root(tmp_path)
    puppet_data_dir(root / "etc" / "runit-provision", ["db", "cron"])
    other = puppet_data_dir(tmp_path / "other", ["web"])
    return root, other


def services_of(status_json):
    return [row["service"] for row in json.loads(status_json)["services"]]


def test_the_puppet_modules_hiera_under_root_by_default(node):
    root, _ = node
    code, out, err = run("status", "--root", root, "--json", "--logs", "0")
    assert (code, err) == (3, "") and services_of(out) == ["cron", "db"]
    code, out, err = run("plan", "--root", root)
    assert (code, err) == (2, "")
    assert "+ /etc/service/db -> /etc/sv/db\n" in out and "web" not in out


def test_the_variable_comes_before_the_file_and_an_option_before_both(node, tmp_path):
    root, other = node
    code, out, _ = run("status", "--root", root, "--json", "--logs", "0", hiera=other)
    assert (code, services_of(out)) == (3, ["web"])
    data = tmp_path / "data.yaml"
    data.write_text("runit::init: none\nrunit::services:\n  api: {command: /usr/bin/api}\n")
    code, out, _ = run("status", "--root", root, "--json", "--data", data, hiera=other)
    assert (code, services_of(out)) == (3, ["api"])
    code, out, _ = run("status", "--root", root, "--json", "--hiera", other)
    assert (code, services_of(out)) == (3, ["web"])
    # lookup too (the variable, before its --root)
    assert run("lookup", "runit::services.web.command", "--root", root, hiera=other) == (
        0, "--- /usr/bin/web\n", "")


def test_a_variable_naming_a_missing_file_is_that_files_error_not_a_fallback(node, tmp_path):
    root, _ = node
    missing = tmp_path / "nowhere" / "hiera.yaml"
    code, out, err = run("status", "--root", root, "--json", hiera=missing)
    # not the module's data (db, cron): that file's error, first; what is supervised where
    # the defaults say — nothing here (issue 44, item 16)
    assert code == 1 and services_of(out) == []
    assert str(missing) in json.loads(out)["data_error"]
    assert str(missing) in err.splitlines()[0] and err.startswith("runit-provision status: ")


@pytest.mark.parametrize("argv", VERBS_THAT_READ_DATA, ids=lambda argv: argv[0])
def test_no_data_anywhere_is_bad_usage_saying_where_it_looked(argv, tmp_path):
    root = staged_root(tmp_path)
    argv = [word.format(t=tmp_path) for word in argv]
    code, out, err = run(*argv, "--root", root)
    options = "--data FILE, --hiera FILE or --dir LOGDIR" if argv[0] == "logs" else \
        "--data FILE or --hiera FILE"
    assert (code, out) == (2, "")
    assert err.startswith("usage: runit-provision %s " % argv[0])
    assert err.endswith(
        "runit-provision %s: error: no data: give %s (none by default: $RUNIT_PROVISION_HIERA "
        "is not set and %s/etc/runit-provision/hiera.yaml does not exist)\n"
        % (argv[0], options, root))
    assert sorted(os.listdir(str(root))) == ["etc"]  # nothing written


def test_install_runtime_reads_the_default_and_keeps_its_own_defaults_without(node, tmp_path):
    root, _ = node
    (root / "etc" / "runit-provision" / "data.yaml").write_text("runit::init: bogus\n")
    code, out, err = run("install-runtime", "--root", root, "--check")
    assert (code, out) == (1, "")
    assert "data.yaml" in err and "bogus" in err
    bare = staged_root(tmp_path / "bare")
    assert run("install-runtime", "--root", bare, "--check", "--init", "none")[0] == 2


def test_logs_with_dir_needs_no_data(tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "current").write_text("hello\n")
    assert run("logs", "--dir", tmp_path / "web", "-o", "cat") == (0, "hello\n", "")


# -- in-process: the host's default, pointed into a temporary directory ------------------------
def test_without_root_the_hosts_default_path(tmp_path, monkeypatch, capsys):
    hiera = puppet_data_dir(tmp_path / "etc-runit-provision", ["web"])
    monkeypatch.setattr(default_data, "DEFAULT_HIERA", str(hiera))
    assert main(["lookup", "runit::services"]) == 0
    assert capsys.readouterr().out == "---\nweb:\n  command: /usr/bin/web\n"
    hiera.unlink()
    with pytest.raises(SystemExit) as exited:
        main(["lookup", "runit::services"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith(
        "runit-provision lookup: error: no data: give --data FILE or --hiera FILE (none by "
        "default: $RUNIT_PROVISION_HIERA is not set and %s does not exist)\n" % hiera)


def test_an_empty_variable_is_said_so(tmp_path):
    found, looked = default_data.default_hiera(str(tmp_path), {"RUNIT_PROVISION_HIERA": ""})
    assert found is None
    assert looked == ["$RUNIT_PROVISION_HIERA is empty",
                      "%s/etc/runit-provision/hiera.yaml does not exist" % tmp_path]


def test_the_default_is_where_the_module_writes_it():
    """runit::config::dir's default (the module's data) + /hiera.yaml (config.pp)."""
    common = yaml.safe_load((ROOT / "puppet" / "data" / "common.yaml").read_text())
    manifest = (ROOT / "puppet" / "manifests" / "config.pp").read_text()
    assert '$hiera_yaml = "${staged_dir}/hiera.yaml"' in manifest
    assert '$staged_dir = "${root}${dir}"' in manifest
    assert common["runit::config::dir"] + "/hiera.yaml" == default_data.PUPPET_HIERA
