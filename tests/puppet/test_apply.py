"""``puppet apply`` of the module (a modulepath, a hiera.yaml over hiera-examples/) into
sandboxes, against the real runit-provision the module installs into its virtualenv.

* staged into a sandbox root: the tree is the one ``runit-provision apply`` makes from the same
  data; a second run changes nothing (``--detailed-exitcodes`` 0); a file edited by hand is put
  back and reported;
* the original module's data (``runit: {package_file, users}``) and ``runit::user { 'kburdis': }``;
* bad hiera data fails the run with the CLI's file:line:column message; both spellings of one
  setting fail the catalog;
* in place, on relocated paths under a running runsvdir: a changed hiera value is exactly one
  change and restarts that service only; a notified ``runit::service`` restarts; the
  ``runit_services`` fact reports the services.

Puppet runs with scratch directories and a facts file (tests/puppet/harness.py); the CLI with
``--root`` or relocated paths; processes are ended by pid and process group.
"""

import json
import os
import subprocess
import textwrap

import pytest
import yaml

from runit_provision import __version__
from tests.conftest import OUR_BIN
from tests.runtime.processes import (
    BASE_PATH, descendants, kill_pids, process_group_members, processes_under, running_pid,
    wait_until)

from .harness import (
    EXAMPLES, PUPPET, PuppetApply, changed_resources, cli, exec_lines, facts_for_cli,
    facts_yaml, hiera_yaml, make_root, plain, tree_of, write_json)

pytestmark = [pytest.mark.puppet, pytest.mark.slow]

DATA_DIR = "/etc/runit-provision"


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """One virtualenv for the module's runs in this file: the first run creates it (the
    module's own install), later runs find it installed."""
    return tmp_path_factory.mktemp("venv") / "runit-provision"


def module_settings(wheelhouse, venv, scratch, root=None, extra=""):
    """The test level of the hierarchy: where the module installs from and writes to."""
    directory, _ = wheelhouse
    text = textwrap.dedent("""\
        runit::install::venv_dir: {venv}
        runit::install::package_source: runit-provision=={version}
        runit::install::pip_options: [--no-index, --find-links, {wheels}]
        runit::config::cache_dir: {scratch}/cache
        runit::config::templates:
          run-with-ulimit.j2: {{source: {examples}/data/templates/run-with-ulimit.j2}}
        """).format(venv=venv, version=__version__, wheels=directory, scratch=scratch,
                    examples=EXAMPLES)
    if root is not None:
        text += "runit::config::root: %s\n" % root
    return text + textwrap.dedent(extra)


def node(tmp_path, modules, settings, certname="web01.example.com", facts=None,
         fileserver=None, hierarchy=None):
    test_data = tmp_path / "test.yaml"
    test_data.write_text(settings)
    hiera = tmp_path / "hiera.yaml"
    hiera.write_text(hierarchy or hiera_yaml(test_data))
    return PuppetApply(tmp_path / "puppet", modules, hiera, certname=certname, facts=facts,
                       fileserver=fileserver)


def test_staged_tree_is_the_clis_and_stays_converged(tmp_path, modules, wheelhouse, venv):
    root = make_root(tmp_path / "root", inittab=True)
    settings = module_settings(wheelhouse, venv, tmp_path, root)
    puppet = node(tmp_path, modules, settings)

    code, output = puppet.run("include runit\n")
    assert code == 2, output
    lines = exec_lines(output)
    # --brief: each new service directory is one line of the agent's output
    assert any(line.startswith("+ /etc/sv/web (directory 0755), and ") for line in lines), lines
    assert not any(line.startswith("+ /etc/sv/web/") for line in lines), lines
    assert any(line.startswith("Applied: ") for line in lines), lines
    data = root / DATA_DIR.lstrip("/") / "data.yaml"
    assert oct(data.stat().st_mode & 0o777) == "0o600"

    code, output = puppet.run("include runit\n")
    assert code == 0, output
    assert changed_resources(output) == []

    # The CLI the module installed, on the same hierarchy and facts, into another root.
    other = make_root(tmp_path / "other", inittab=True)
    facts = write_json(tmp_path / "facts.json", facts_for_cli("web01.example.com"))
    for command in ("install-runtime", "apply"):
        code, out, err = cli(venv, command, "--hiera", puppet.hiera, "--facts", facts,
                             "--root", other)
        assert code == 0, out + err
    ours, theirs = tree_of(root, skip=[DATA_DIR]), tree_of(other)
    assert ours.keys() == theirs.keys()
    assert [path for path in ours if ours[path] != theirs[path]] == []
    assert ours["/etc/sv/standby-web/run"][2] == theirs["/etc/sv/standby-web/run"][2]

    # Drift: an edited run script and a mode put back, and reported.
    run = root / "etc/sv/web/run"
    run.write_text(run.read_text() + "# edited by hand\n")
    (root / "etc/sv/cache/check").chmod(0o644)
    code, output = puppet.run("include runit\n", "--noop")  # reported, not done
    # The event is the plan's own lines (the exec's provider runit_provision), each of them
    # also a line of the output; a real run's event is apply's lines.
    event = [line.split("/returns: ", 1)[1] for line in output.splitlines()
             if "Exec[runit-provision apply]/returns: would apply: " in line]
    assert len(event) == 1 and event[0].endswith(" (noop)"), output
    assert "~ /etc/sv/web/run (content); " in event[0], event
    assert "Plan: " in event[0], event
    assert "~ /etc/sv/web/run (content)" in exec_lines(output), output
    assert run.read_text().endswith("# edited by hand\n")
    code, output = puppet.run("include runit\n")
    assert code == 2, output
    assert changed_resources(output) == ["Exec[runit-provision apply]"]
    lines = exec_lines(output)
    assert "~ /etc/sv/web/run (content)" in lines, lines
    applied = [line for line in lines if line.startswith("applied: ")]
    assert len(applied) == 1 and "~ /etc/sv/web/run (content); " in applied[0], lines
    assert "Applied: " in applied[0], lines
    assert any(line.startswith("~ /etc/sv/cache/check") for line in lines), lines
    assert tree_of(root, skip=[DATA_DIR]) == theirs
    code, output = puppet.run("include runit\n")
    assert code == 0, output


def test_original_modules_data_and_runit_user(tmp_path, modules, wheelhouse, venv):
    """legacy01: ``runit: {package_file: runit-2.1.1-6.el6.x86_64.rpm, users: [apprun1,
    apprun2]}`` on a RHEL 6 node (runtime system: no package is installed on the host when
    staging; init: auto finds its inittab), plus ``runit::user { 'kburdis': }`` in the
    manifest."""
    root = make_root(tmp_path / "root", inittab=True)
    # The image has runit already (the RPM's /sbin/runsvdir): under --root no command runs, so
    # a package install would stay pending run after run.
    (root / "sbin").mkdir()
    (root / "sbin" / "runsvdir").write_text("#!/bin/sh\n")
    (root / "sbin" / "runsvdir").chmod(0o755)
    files = tmp_path / "files"
    files.mkdir()
    (files / "runit-2.1.1-6.el6.x86_64.rpm").write_bytes(b"not really an rpm\n")
    settings = module_settings(wheelhouse, venv, tmp_path, root)
    puppet = node(tmp_path, modules, settings, certname="legacy01.example.com",
                  facts=facts_yaml("legacy01.example.com", "RedHat", "CentOS", "6"),
                  fileserver=files)
    manifest = "include runit\nrunit::user { 'kburdis': }\n"

    code, output = puppet.run(manifest, "--write-catalog-summary")
    assert code == 2, output
    assert not [line for line in catalog_resources(puppet) if line.startswith("package[")]
    assert (tmp_path / "cache" / "runit-2.1.1-6.el6.x86_64.rpm").exists()
    data = yaml.safe_load((root / DATA_DIR.lstrip("/") / "data.yaml").read_text())
    assert data["runit::package_file"] == "%s/cache/runit-2.1.1-6.el6.x86_64.rpm" % tmp_path
    assert data["runit::users"] == {"apprun1": {}, "apprun2": {}}
    assert data["runit::runtime"] == "system" and "runit" not in data
    for login, uid in (("apprun1", 1005), ("apprun2", 1006), ("kburdis", 1007)):
        run = (root / "etc/sv/runsvdir-{0}/run".format(login)).read_text()
        assert "runsvdir" in run and "/home/%s/service" % login in run, run
        log_run = (root / "etc/sv/runsvdir-{0}/log/run".format(login)).read_text()
        assert "svlogd -tt /var/log/runsvdir-%s\n" % login in log_run, log_run
        link = root / "home" / login / "logs" / "runsvdir"
        assert os.readlink(str(link)) == "/var/log/runsvdir-" + login
        assert (root / "etc/service" / ("runsvdir-" + login)).is_symlink()
        service_dir = root / "home" / login / "service"
        assert service_dir.is_dir() and service_dir.stat().st_uid == uid
    code, output = puppet.run(manifest)
    assert code == 0, output


def catalog_resources(puppet):
    """The catalog's resources as ``--write-catalog-summary`` lists them (``type[title]``)."""
    return (puppet.dirs["var"] / "state" / "resources.txt").read_text().splitlines()


def test_runtime_system_installs_the_runit_package_unless_staging(tmp_path, modules,
                                                                   wheelhouse, venv):
    """``runtime: system``: the runit package from ``package_file`` (a .deb on the file
    server) — in the catalog, and in sync here (Debian's runit is installed); under a staging
    root, no package resource at all. ``--noop``, and the CLI of the tests' own virtualenv
    (``manage_package: false``): nothing is changed on the host."""
    files = tmp_path / "files"
    files.mkdir()
    (files / "runit_2.1.2-54_amd64.deb").write_bytes(b"a deb\n")
    (tmp_path / "etc").mkdir()
    settings = module_settings(wheelhouse, OUR_BIN.parent, tmp_path, extra="""\
        runit::runtime: system
        runit::init: none
        runit::package_file: runit_2.1.2-54_amd64.deb
        runit::sv_dir: {t}/sv
        runit::service_dir: {t}/service
        runit::log_dir: {t}/log
        runit::config::dir: {t}/etc/runit-provision
        runit::apply::manage_runtime: false
        runit::apply::profile_d: none
        runit::install::manage_package: false
        """.format(t=tmp_path))
    hierarchy = "version: 5\nhierarchy:\n  - {name: test, path: %s}\n" % (tmp_path / "test.yaml")
    puppet = node(tmp_path, modules, settings, hierarchy=hierarchy, fileserver=files)
    code, output = puppet.run("include runit\n", "--noop", "--write-catalog-summary")
    assert code in (0, 2), output
    resources = catalog_resources(puppet)
    assert "package[runit]" in resources, resources
    assert "file[%s/cache/runit_2.1.2-54_amd64.deb]" % tmp_path in resources
    assert "Package[runit]" not in output  # installed here already: in sync
    assert "Exec[runit::restart" not in output

    staged = settings + "runit::config::root: %s\n" % make_root(tmp_path / "root")
    (tmp_path / "test.yaml").write_text(staged)
    code, output = puppet.run("include runit\n", "--noop", "--write-catalog-summary")
    assert code in (0, 2), output
    assert not [line for line in catalog_resources(puppet) if line.startswith("package[")]


def test_bad_hiera_data_fails_the_run_with_the_clis_message(tmp_path, modules, wheelhouse,
                                                             venv):
    root = make_root(tmp_path / "root")
    settings = module_settings(wheelhouse, venv, tmp_path, root, """\
        runit::init: none
        runit::services:
          a: {command: /usr/bin/a, needs: [b]}
          b: {command: /usr/bin/b, needs: [a]}
        """)
    hierarchy = "version: 5\nhierarchy:\n  - {name: test, path: %s}\n" % (tmp_path / "test.yaml")
    puppet = node(tmp_path, modules, settings, hierarchy=hierarchy)
    code, output = puppet.run("include runit\n")
    assert code in (4, 6), output
    data = root / DATA_DIR.lstrip("/") / "data.yaml"
    message = [line for line in output.splitlines() if "needs cycle" in line]
    assert message, output
    assert "%s:" % data in message[0] and ": services.a.needs: needs cycle: a -> b -> a" \
        in message[0], message
    line, column = message[0].split("%s:" % data, 1)[1].split(":")[:2]
    assert data.read_text().splitlines()[int(line) - 1][int(column) - 1:].startswith("needs")
    assert "Exec[runit-provision apply]" in output and "returned 1" in output
    assert not (root / "etc/sv").exists()


def test_one_setting_in_both_spellings_fails_the_catalog(tmp_path, modules, wheelhouse, venv):
    settings = module_settings(wheelhouse, venv, tmp_path, make_root(tmp_path / "root"), """\
        runit:
          users: [apprun1]
        runit::users: [apprun2]
        """)
    hierarchy = "version: 5\nhierarchy:\n  - {name: test, path: %s}\n" % (tmp_path / "test.yaml")
    puppet = node(tmp_path, modules, settings, hierarchy=hierarchy)
    code, output = puppet.run("include runit\n")
    assert code == 1, output
    assert "runit: given in both spellings: users (runit::users and runit.users)" in output


# -- in place, under a running runsvdir ---------------------------------------------------------
LIVE_DATA = """\
runit::init: none
runit::sv_dir: {t}/sv
runit::service_dir: {t}/service
runit::log_dir: {t}/log
runit::config::dir: {t}/etc/runit-provision
runit::apply::manage_runtime: false
runit::apply::profile_d: none
runit::services:
  ticker:
    command: [sleep, "1000"]
    env: {{MODE: {mode}}}
  steady:
    command: [sleep, "1001"]
"""
LIVE_MANIFEST = """\
include runit
runit::service {{ 'worker':
  command => ['sleep', '1002'],
  log     => false,
}}
file {{ '{t}/worker.conf':
  content => "{conf}\\n",
  notify  => Runit::Service['worker'],
}}
"""


class Runsvdir:
    """Our runsvdir on a relocated service directory, in its own session; ``stop()`` ends it
    and everything it started (TERM brings our tree down; then by pid)."""

    def __init__(self, service_dir, sandbox):
        service_dir.mkdir(parents=True, exist_ok=True)
        self.sandbox = sandbox
        self.proc = subprocess.Popen(
            [str(OUR_BIN / "runsvdir"), str(service_dir)],
            env={"PATH": "%s:%s" % (OUR_BIN, BASE_PATH)}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def stop(self):
        pids = set(process_group_members(self.proc.pid)) | set(descendants(self.proc.pid))
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            pass
        kill_pids(pids | set(descendants(self.proc.pid)))
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        kill_pids(processes_under(self.sandbox))


class LiveNode:
    """A node applied in place on relocated paths (init none, no runtime install, no
    profile.d), with our runsvdir running on its service directory."""

    def __init__(self, puppet, sandbox, settings):
        self.puppet, self.t, self.settings = puppet, sandbox, settings

    def run(self, mode, conf):
        """Puppet with ticker's MODE and worker.conf's content as given."""
        (self.t / "test.yaml").write_text(self.settings + LIVE_DATA.format(t=self.t, mode=mode))
        return self.puppet.run(LIVE_MANIFEST.format(t=self.t, conf=conf))

    def pids(self):
        return {name: running_pid(self.t / "service" / name)
                for name in ("ticker", "steady", "worker")}

    def facts(self):
        """``runit_services`` as ``puppet facts show`` gives it with the module on the
        modulepath (in a PID namespace: facter reads /proc/1/environ, which this sandbox denies
        otherwise)."""
        puppet = self.puppet
        argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", PUPPET, "facts",
                "show", "runit_services", "--render-as", "json", "--modulepath",
                str(puppet.modules)]
        for name, path in puppet.dirs.items():
            argv += ["--%sdir" % name, str(path)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, HOME=str(puppet.scratch),
                                       RUNIT_PROVISION_DIR=str(self.t / "etc/runit-provision")))
        assert done.returncode == 0, plain(done.stdout + done.stderr)
        return json.loads(done.stdout)["runit_services"]


@pytest.fixture
def live(tmp_path, modules, wheelhouse, venv):
    settings = module_settings(wheelhouse, venv, tmp_path)
    hierarchy = "version: 5\nhierarchy:\n  - {name: test, path: %s}\n" % (tmp_path / "test.yaml")
    puppet = node(tmp_path, modules, settings, hierarchy=hierarchy)
    (tmp_path / "etc").mkdir()
    tree = Runsvdir(tmp_path / "service", tmp_path)
    try:
        yield LiveNode(puppet, tmp_path, settings)
    finally:
        tree.stop()


def test_live_changes_restart_only_what_changed(live):
    t = live.t
    code, output = live.run("a", "one")
    assert code == 2, output
    before = wait_until(lambda: all(live.pids().values()) and live.pids(), timeout=30,
                        what="ticker, steady and worker running")
    code, output = live.run("a", "one")
    assert code == 0, output

    # One hiera value: exactly one file of the tree changes, and only ticker restarts.
    code, output = live.run("b", "one")
    assert code == 2, output
    assert changed_resources(output) == [
        "File[%s/etc/runit-provision/data.yaml]" % t, "Exec[runit-provision apply]"]
    lines = exec_lines(output)
    assert [line for line in lines if line[:2] in ("+ ", "~ ", "- ")] == [
        "~ %s/sv/ticker/env/MODE (content)" % t], lines
    assert any("restart" in line and "ticker" in line for line in lines), lines
    # the run's event (the report's, PuppetDB's) says the restart and its reason
    applied = [line for line in lines if line.startswith("applied: ")]
    assert len(applied) == 1 and "ticker: restart (env changed)" in applied[0], lines
    after = wait_until(lambda: live.pids()["ticker"] not in (0, before["ticker"]) and live.pids(),
                       timeout=30, what="ticker restarted")
    assert after["steady"] == before["steady"] and after["worker"] == before["worker"]
    assert (t / "sv/ticker/env/MODE").read_text() == "b\n"

    # A notified runit::service restarts (after apply), nothing else does.
    code, output = live.run("b", "two")
    assert code == 2, output
    assert changed_resources(output) == [
        "File[%s/worker.conf]" % t, "Exec[runit::restart worker]"]
    restarted = wait_until(lambda: live.pids()["worker"] not in (0, after["worker"])
                           and live.pids(), timeout=30, what="worker restarted")
    assert restarted["ticker"] == after["ticker"] and restarted["steady"] == after["steady"]

    # The fact reports every declared service, as runsv shows it.
    fact = live.facts()
    services = {row["service"]: row for row in fact["services"]}
    assert set(services) == {"ticker", "steady", "worker"}
    assert services["worker"]["main"]["state"] == "run"
    assert services["worker"]["main"]["deaths"] == "0"  # restarted by sv: a stop, no death
    assert "pid" not in services["worker"]["main"]  # nothing that changes run to run
    # nothing happened: the fact is the same as an agent a moment later sees it
    assert live.facts() == fact


def test_runit_metrics_keeps_the_textfile_fresh(live):
    t = live.t
    (t / "textfile").mkdir()
    (t / "test.yaml").write_text(live.settings + LIVE_DATA.format(t=t, mode="a"))
    manifest = LIVE_MANIFEST.format(t=t, conf="one") + (
        "class {{ 'runit::metrics': textfile_dir => '{t}/textfile', interval => 1 }}\n"
        .format(t=t))
    code, output = live.puppet.run(manifest)
    assert code == 2, output
    assert (t / "sv" / "runit-metrics" / "run").exists()
    prom = t / "textfile" / "runit.prom"

    def served():
        text = prom.read_text() if prom.exists() else ""
        up = 'runit_service_up{service="runit-metrics",tree="system",declared="true"} 1'
        return up in text and text
    text = wait_until(served, timeout=60, what="runit-metrics writing the textfile")
    assert 'runit_service_up{service="ticker",tree="system",declared="true"} 1' in text
    assert 'runit_service_deaths_total{service="ticker",tree="system",declared="true"} 0' in text
    code, output = live.puppet.run(manifest)
    assert code == 0, output  # converged: the service's data does not change run to run

