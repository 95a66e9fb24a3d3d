"""A fleet: Debian's puppetserver on 127.0.0.1 (one per test session), the module in its
production environment, per-node hiera (``nodes/%{trusted.certname}.yaml``: hiera-examples'
web01, app01 and legacy01), and three agents with those certnames, each converging its own
sandbox root to its own data. A second round, after a change to one node's data, changes
that node only; the nodes' ``runit_services`` facts reach the server and, through its
PuppetDB terminus, PuppetDB, where ``fleet status`` reads them over HTTPS.

Agents of a round run in parallel. The wheel each node installs comes from the server's
``files`` mount (``runit::package_file``, as the original module took its RPM), its
dependencies from the session's wheelhouse (``--no-index``).
"""

import json
import os
import shutil
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from runit_provision import __version__
from runit_provision.cli.main import main

from .harness import EXAMPLES, MODULE, exec_lines, hiera_yaml, make_root
from ..runtime.processes import wait_until
from .server import Agent

pytestmark = [pytest.mark.puppet, pytest.mark.slow]

NODES = ("web01.example.com", "app01.example.com", "legacy01.example.com")


class Fleet:
    """The server, its environment's data (a copy of hiera-examples/data, free to change),
    and one agent per node with a sandbox root."""

    def __init__(self, base, server, wheelhouse):
        self.base, self.server = base, server
        self.data = server.environment / "data"
        self.agents = {}
        # the nodes whose last run (0 or 2) left them as their data says, the data unchanged
        # since: a test that needs a node converged first runs its agent only when it is not
        self.converged = set()
        wheels, wheel = wheelhouse
        shutil.copy(str(wheel), str(server.files / wheel.name))
        shutil.copy(str(EXAMPLES / "data" / "templates" / "run-with-ulimit.j2"),
                    str(server.files / "run-with-ulimit.j2"))
        (server.files / "runit-2.1.1-6.el6.x86_64.rpm").write_bytes(b"an RPM for legacy01\n")
        shutil.copytree(str(EXAMPLES / "data"), str(self.data))
        (server.environment / "modules" / "runit").symlink_to(MODULE)
        (server.environment / "modules" / "stdlib").symlink_to(
            "/usr/share/puppet/modules/stdlib")
        (server.environment / "manifests" / "site.pp").write_text("node default {\n"
                                                                   "  include runit\n}\n")
        test_level = self.data / "test-nodes" / "%{trusted.certname}.yaml"
        (server.environment / "hiera.yaml").write_text(
            hiera_yaml(test_level, examples=server.environment).replace(
                "datadir: %s/data" % server.environment, "datadir: data"))
        (self.data / "test-nodes").mkdir()
        for certname in NODES:
            node = base / "nodes" / certname
            root = make_root(node / "root", inittab=True)
            settings = textwrap.dedent("""\
                runit::config::root: {root}
                runit::config::cache_dir: {node}/cache
                runit::config::templates:
                  run-with-ulimit.j2: {{source: "puppet:///files/run-with-ulimit.j2"}}
                runit::install::venv_dir: {node}/venv
                runit::install::package_source: runit-provision=={version}
                runit::install::pip_options: [--no-index, --find-links, {wheels}]
                """).format(root=root, node=node, version=__version__, wheels=wheels)
            if certname != "legacy01.example.com":  # legacy01's package_file is its RPM
                settings += "runit::package_file: %s\n" % wheel.name
            (self.data / "test-nodes" / (certname + ".yaml")).write_text(settings)
            self.agents[certname] = Agent(node / "agent", server, certname, env={
                "RUNIT_PROVISION_DIR": str(root / "etc" / "runit-provision")})

    def root(self, certname):
        return self.base / "nodes" / certname / "root"

    def round(self):
        """Every agent once, in parallel: {certname: (exit code, output)}."""
        self.converged.clear()
        with ThreadPoolExecutor(max_workers=len(self.agents)) as pool:
            futures = {name: pool.submit(agent.run) for name, agent in self.agents.items()}
            results = {name: future.result() for name, future in futures.items()}
        self.converged.update(name for name, (code, _) in results.items() if code in (0, 2))
        return results


@pytest.fixture(scope="session")
def fleet(puppet_stack, wheelhouse):
    base, server, puppetdb = puppet_stack
    fleet = Fleet(base, server, wheelhouse)
    fleet.puppetdb = puppetdb
    return fleet


def test_fleet_converges_each_node_to_its_own_data(fleet, capsys):
    first = fleet.round()
    for certname, (code, output) in first.items():
        assert code == 2, "%s:\n%s" % (certname, output)
        assert "Applied: " in "\n".join(exec_lines(output)), output

    web01, app01, legacy01 = (fleet.root(name) for name in NODES)
    assert "--workers 8" in (web01 / "etc/sv/web/run").read_text()
    assert (web01 / "etc/sv/runsvdir-alice/run").exists()
    assert (app01 / "home/deploy/sv/api/run").exists()
    assert not (app01 / "etc/service/web").exists()  # app01: web enabled: false
    assert (app01 / "etc/sv/web/run").exists()
    for login in ("apprun1", "apprun2"):
        assert (legacy01 / "etc/service" / ("runsvdir-" + login)).is_symlink()
    assert "--workers 8" not in (legacy01 / "etc/sv/web/run").read_text()
    # The wheel came from the server's files mount; legacy01's package_file is its RPM.
    wheel = "runit_provision-%s-py3-none-any.whl" % __version__
    assert (fleet.base / "nodes/web01.example.com/cache" / wheel).exists()
    assert (fleet.base / "nodes/legacy01.example.com/cache/runit-2.1.1-6.el6.x86_64.rpm").exists()

    # The second round: one node's data changed first. That node changes, only that file of
    # it; the two others change nothing (the round that shows a converged node stays so).
    node_file = fleet.data / "nodes" / "app01.example.com.yaml"
    fleet.converged.discard("app01.example.com")
    data = yaml.safe_load(node_file.read_text())
    data["runit::services"]["api"]["env"]["RAILS_ENV"] = "staging"
    node_file.write_text(yaml.safe_dump(data))
    before = {name: tree_text(fleet.root(name)) for name in NODES}
    second = fleet.round()
    assert second["web01.example.com"][0] == 0, second["web01.example.com"][1]
    assert second["legacy01.example.com"][0] == 0, second["legacy01.example.com"][1]
    code, output = second["app01.example.com"]
    assert code == 2, output
    changed = [line for line in exec_lines(output) if line[:2] in ("+ ", "~ ", "- ")]
    assert changed == ["~ /home/deploy/sv/api/env/RAILS_ENV (content)"], output
    after = {name: tree_text(fleet.root(name)) for name in NODES}
    assert after["web01.example.com"] == before["web01.example.com"]
    assert after["legacy01.example.com"] == before["legacy01.example.com"]
    differ = [path for path in after["app01.example.com"]
              if after["app01.example.com"][path] != before["app01.example.com"].get(path)]
    assert sorted(differ) == ["/etc/runit-provision/data.yaml", "/home/deploy/sv/api/env/RAILS_ENV"]

    # The fact reached the server with the second round's facts (what the first one made).
    facts = fleet.server.node_facts("web01.example.com")
    services = {row["service"]: row for row in facts["runit_services"]["services"]}
    assert {"web", "cache", "db-proxy", "node-exporter", "runsvdir-alice"} <= set(services)
    assert services["web"]["path"] == "/etc/sv/web"
    assert "pid" not in services["web"]["main"]  # the stable fact (status --fact)

    # ... and PuppetDB, through the server's terminus; fleet status reads it over HTTPS with
    # a certificate of the server's CA (the staged nodes run nothing: every service wanted is
    # not running)
    stored = fleet.puppetdb.wait_for_facts({  # (web01's read above: no run since)
        name: (facts if name == "web01.example.com" else fleet.server.node_facts(name))[
            "runit_services"] for name in NODES})
    assert set(NODES) <= set(stored)  # (the session's PuppetDB may know other test nodes)
    cert, key, ca = fleet.server.ssl_files
    https = "https://127.0.0.1:%d" % fleet.puppetdb.ssl_port
    assert main(["fleet", "status", "--puppetdb", https, "--cacert", str(ca), "--cert",
                 str(cert), "--key", str(key), "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    ours = [row for row in report["not_as_wanted"] if row["node"] in NODES]
    assert report["nodes"] >= 3 and report["unreadable"] == []
    assert {row["node"] for row in ours} == set(NODES)
    assert {row["why"] for row in ours} == {"not running"}
    assert main(["fleet", "status", "--puppetdb", https, "--cacert", str(ca)]) == 1  # no cert
    assert "fleet status:" in capsys.readouterr().err
    catalogs = fleet.puppetdb.query('catalogs[certname] { }')
    assert set(NODES) <= {row["certname"] for row in catalogs}


def test_noop_shows_the_plan_and_puppetdb_keeps_what_changed(fleet):
    """Issue 33: ``puppet agent --noop`` after drift says the plan's lines in the apply exec's
    event; a real run's event says apply's lines, and PuppetDB (the server's report processor)
    answers PQL about them: which nodes changed which paths in their last run."""
    certname = "web01.example.com"
    agent, root = fleet.agents[certname], fleet.root(certname)
    node_file = fleet.data / "nodes" / (certname + ".yaml")
    original = node_file.read_text()
    if certname not in fleet.converged:  # (the first test's last round leaves it converged)
        code, output = agent.run()
        assert code in (0, 2), output
    fleet.converged.discard(certname)
    try:
        run = root / "etc/sv/web/run"
        run.write_text(run.read_text() + "# edited by hand\n")
        code, output = agent.run(args=["--noop"])
        assert code == 0, output  # Puppet 7: noop events are no changes (PUP-686)
        marker = "Exec[runit-provision apply]/returns: would apply: "
        events = [line.split(marker, 1)[1] for line in output.splitlines() if marker in line]
        # (Puppet adds " (corrective)": the drift undone is a corrective change)
        assert len(events) == 1 and " (noop)" in events[0], output
        assert "~ /etc/sv/web/run (content); " in events[0] and "Plan: " in events[0], events
        # the restart with its reason (a staged node starts nothing, and the plan says so)
        assert "= web: run changed; no restart: --root: nothing is started" in events[0]
        assert run.read_text().endswith("# edited by hand\n")  # nothing done

        data = yaml.safe_load(original)
        data["runit::services"]["web"]["env"]["WORKERS"] = "8"
        node_file.write_text(yaml.safe_dump(data))
        code, output = agent.run()
        assert code == 2, output
        assert (root / "etc/sv/web/env/WORKERS").read_text() == "8\n"

        pql = ('events[certname, status, message] { certname = "%s" and resource_type = "Exec" '
               'and resource_title = "runit-provision apply" and latest_report? = true }'
               % certname)
        found = []

        def stored():
            found[:] = fleet.puppetdb.query(pql)
            return found
        wait_until(stored, timeout=60, interval=0.2, what="the report in PuppetDB")
        # the exec's own event, and the refresh the data file's change queued (nothing left
        # to do by then: the guard's plan is empty)
        applied = [row for row in found if row["message"].startswith("applied: ")]
        assert len(applied) == 1 and applied[0]["status"] == "success", found
        assert {row["message"] for row in found} - {applied[0]["message"]} <= {
            "Triggered 'refresh' from 1 event"}, found
        message = applied[0]["message"]
        assert "Applied: " in message, message
        assert "/etc/sv/web/env/WORKERS (file" in message, message
        assert "~ /etc/sv/web/run (content)" in message, message
        # "which nodes changed web's run in their last run": a regular expression on events
        nodes = fleet.puppetdb.query(
            'events[certname] { resource_title = "runit-provision apply" and '
            'message ~ "/etc/sv/web/run \\\\(content\\\\)" and latest_report? = true }')
        assert certname in {row["certname"] for row in nodes}, nodes
    finally:
        node_file.write_text(original)
        code, output = agent.run()
        assert code in (0, 2), output
        fleet.converged.add(certname)


def tree_text(root):
    """{path: content or link target} of every file and link under root."""
    found = {}
    for directory, _, names in os.walk(str(root)):
        for name in names:
            path = os.path.join(directory, name)
            key = path[len(str(root)):]
            if os.path.islink(path):
                found[key] = os.readlink(path)
            else:
                with open(path, "rb") as handle:
                    found[key] = handle.read()
    return found
