"""The fleet view through a real PuppetDB (tests/puppet/puppetdb.py): facts that
``runit-provision status --fact`` printed on a live tree of our runtime (a service in a crash
loop beside a steady one) stored for two nodes through PuppetDB's command API, then
``runit-provision fleet status`` and every PQL query the docs show, answered by PuppetDB.

One PuppetDB for the module (~20 s to start, ~460 MB)."""

import json

import pytest

from runit_provision.cli.main import main

from ..cli.test_metrics import live  # noqa: F401 (the live tree, a fixture)
from ..runtime.processes import wait_until
from .conftest import require
from .puppetdb import NEEDS, PuppetDB

pytestmark = [pytest.mark.puppet, pytest.mark.slow]


@pytest.fixture(scope="module")
def puppetdb(tmp_path_factory):
    require(NEEDS)
    started = PuppetDB(tmp_path_factory.mktemp("puppetdb"))
    try:
        yield started.start()
    finally:
        started.stop()


def fact_of(data, capsys):
    capsys.readouterr()
    main(["status", "--data", str(data), "--fact"])
    return json.loads(capsys.readouterr().out)


def documented_queries():
    """The PQL of the module's README.md and REFERENCE.md: every ``puppet query '…'``."""
    from .harness import MODULE
    found = []
    for name in ("README.md", "REFERENCE.md"):
        for line in (MODULE / name).read_text().splitlines():
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
    facts = {"web01.example.com": looping, "web02.example.com": steady}
    for certname, value in facts.items():
        puppetdb.replace_facts(certname, {"runit_services": value, "kernel": "Linux"})
    puppetdb.wait_for_facts(facts)

    capsys.readouterr()
    assert main(["fleet", "status", "--puppetdb", puppetdb.url]) == 3
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["NODE", "SERVICE", "STATE"]
    assert [line.split()[:2] for line in out[1:]] == [["web01.example.com", "crashy"]]
    assert "crash-looping" in out[1] and "exit 3" in out[1]
    assert main(["fleet", "status", "--puppetdb", puppetdb.url, "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["nodes"] == 2 and [row["node"] for row in report["not_as_wanted"]] == [
        "web01.example.com"]

    queries = documented_queries()
    assert len(queries) >= 3
    answers = {query: puppetdb.query(query) for query in queries}
    for query, rows in answers.items():
        assert rows, "no answer to the documented query %s" % query
    crash = [query for query in queries if "crash_looping" in query][0]
    assert sorted({row["certname"] for row in answers[crash]}) == ["web01.example.com"]
    one = [query for query in queries if query.startswith("facts[value]")][0]
    assert answers[one][0]["value"] == looping

    # the failing node's service is fixed: the fleet is as wanted
    puppetdb.replace_facts("web01.example.com", {"runit_services": steady})
    puppetdb.wait_for_facts({"web01.example.com": steady})
    assert main(["fleet", "status", "--puppetdb", puppetdb.url]) == 0
    assert capsys.readouterr().out == "2 nodes: every service as wanted\n"

