"""The fleet view through a real PuppetDB (tests/puppet/puppetdb.py): facts that
``runit-provision status --fact`` printed on a live tree of our runtime (a service in a crash
loop beside a steady one) stored for two nodes through PuppetDB's command API, then
``runit-provision fleet status`` and every PQL query the docs show, answered by PuppetDB.

The session's PuppetDB (conftest ``puppet_stack``, the fleet tier's): its other nodes are the
fleet's agents, so what is checked here is what these two nodes show."""

import json

import pytest

from runit_provision.cli.main import main

from ..cli.test_metrics import live  # noqa: F401 (the live tree, a fixture)
from ..runtime.processes import wait_until

pytestmark = [pytest.mark.puppet, pytest.mark.slow]
LOOPING, STEADY = "pdb-a.example.org", "pdb-b.example.org"


@pytest.fixture
def puppetdb(puppet_stack):
    return puppet_stack[2]


def fact_of(data, capsys):
    capsys.readouterr()
    main(["status", "--data", str(data), "--fact"])
    return json.loads(capsys.readouterr().out)


def documented_queries():
    """The PQL of the module's README.md and REFERENCE.md, and of docs/howto-puppet-fleet.md
    (tests/test_docs_run.py names this test for it): every ``puppet query '…'``."""
    from ..conftest import ROOT
    from .harness import MODULE
    found = []
    for path in (MODULE / "README.md", MODULE / "REFERENCE.md",
                 ROOT / "docs" / "howto-puppet-fleet.md"):
        for line in path.read_text().splitlines():
            if line.startswith("puppet query '") and line.split("'", 2)[1] not in found:
                found.append(line.split("'", 2)[1])
    return found


def test_fleet_status_and_the_documented_queries_against_puppetdb(puppetdb, live, capsys):
    # a node whose crashy service loops, and one whose services all run
    looping = wait_until(lambda: (lambda found: any(
        row["main"]["crash_looping"] is True for row in found["services"])
        and found["not_running"] == ["crashy"] and found)(fact_of(live, capsys)),
        timeout=30, what="crashy crash-looping, caught down")
    steady = {"services": [row for row in looping["services"] if row["service"] == "steady"],
              "not_running": []}
    facts = {LOOPING: looping, STEADY: steady}
    for certname, value in facts.items():
        puppetdb.replace_facts(certname, {"runit_services": value, "kernel": "Linux"})
    puppetdb.wait_for_facts(facts)

    capsys.readouterr()
    assert main(["fleet", "status", "--puppetdb", puppetdb.url]) == 3
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["NODE", "SERVICE", "STATE"]
    ours = [line for line in out[1:] if line.startswith("pdb-")]
    assert [line.split()[:2] for line in ours] == [[LOOPING, "crashy"]]
    assert "crash-looping" in ours[0] and "exit 3" in ours[0]
    assert main(["fleet", "status", "--puppetdb", puppetdb.url, "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert [row["node"] for row in report["not_as_wanted"] if row["node"] in facts] == [
        LOOPING]
    assert not [row for row in report["stale"] if row["node"] in facts]  # stored just now

    def stale_ours():
        """Our nodes listed stale under a bound of 1 s (PuppetDB's facts_timestamp)."""
        capsys.readouterr()
        main(["fleet", "status", "--puppetdb", puppetdb.url, "--json", "--stale-after", "1"])
        return {row["node"] for row in json.loads(capsys.readouterr().out)["stale"]} >= set(
            facts)
    wait_until(stale_ours, timeout=30, what="our nodes' facts older than 1 s, listed stale")

    # the docs' queries, about a node of ours where they name one
    queries = [query.replace("web01.example.com", LOOPING) for query in documented_queries()]
    assert len(queries) >= 3
    answers = {query: puppetdb.query(query) for query in queries}
    for query, rows in answers.items():
        assert any(row.get("certname", LOOPING) == LOOPING for row in rows), \
            "the documented query %s does not find %s" % (query, LOOPING)
    crash = [query for query in queries if "crash_looping" in query][0]
    assert sorted({row["certname"] for row in answers[crash]}) == [LOOPING]
    one = [query for query in queries if query.startswith("facts[value]")][0]
    assert answers[one][0]["value"] == looping

    # the failing node's service is fixed: it leaves the table
    puppetdb.replace_facts(LOOPING, {"runit_services": steady})
    puppetdb.wait_for_facts({LOOPING: steady})
    main(["fleet", "status", "--puppetdb", puppetdb.url, "--json"])
    report = json.loads(capsys.readouterr().out)
    assert not [row for row in report["not_as_wanted"] if row["node"] in facts]

