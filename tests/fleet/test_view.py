"""The fleet room, pure: nodes' runit_services facts to the rows ``fleet status`` shows, and
the CLI's exit codes where no PuppetDB is needed (tests/puppet/test_puppetdb.py asks a real
one)."""

import io

from runit_provision.cli.main import main
from runit_provision.cli.table import print_table
from runit_provision.fleet.view import COLUMNS, cells, problems_of


def side(state="run", want="up", looping=False, gave_up=False, last="none", deaths="0"):
    return {"state": state, "want": want, "normally": "up", "paused": False,
            "crash_looping": looping, "gave_up": gave_up, "last_exit": last, "deaths": deaths}


def fact(*services, not_running=()):
    return {"services": list(services), "not_running": list(not_running)}


def service(name, main, log="", running=True):
    return {"service": name, "tree": "", "path": "/etc/sv/" + name, "enabled": True,
            "wanted": True, "running": running, "main": main, "log": log}


def test_what_is_not_as_wanted_and_why():
    facts = {
        "b.example.com": fact(service("web", side()), service(
            "api", side("down", looping=True, last="exit 3", deaths="10-99"), running=False),
            not_running=["api"]),
        "a.example.com": fact(service("db", side("down", "down", gave_up=True, last="exit 1",
                                                 deaths="2-9"), running=False),
                              service("cache", side(), log=side("down")),
                              service("idle", side("down", "down"), running=False)),
        "c.example.com": fact(service("web", side("down"), running=False),
                              not_running=["web"]),
        "d.example.com": "",  # a node whose fact went wrong
    }
    problems, unreadable = problems_of(facts)
    assert [(p.node, p.service, p.why) for p in problems] == [
        ("a.example.com", "db", "gave up restarting it"),
        ("a.example.com", "cache", "its logger is down"),
        ("b.example.com", "api", "crash-looping"),
        ("c.example.com", "web", "not running")]
    assert [node for node, _ in unreadable] == ["d.example.com"]
    printed = io.StringIO()
    print_table(COLUMNS, [cells(problem) for problem in problems], printed)
    lines = printed.getvalue().splitlines()
    assert lines[0].split() == ["NODE", "SERVICE", "STATE", "WANT", "WHY", "LAST", "EXIT",
                                "DEATHS"]
    assert lines[3].split()[:3] == ["b.example.com", "api", "down"]
    assert lines[3].endswith("exit 3     10-99")


def test_a_nodes_verdict_is_shown_as_the_node_words_it():
    """A fact carries its node's verdict (health/verdict.py, as status --fact prints it): the
    view shows those words; a fact without one (an older node's) is judged the same way
    from its words, as the test above."""
    looping = dict(service("api", side("run", looping=True), log=side("down")),
                   verdict="crash-looping, its logger is down")
    steady = dict(service("web", side()), verdict="as wanted")
    problems, _ = problems_of({"a.example.com": fact(looping, steady)})
    assert [(p.service, p.why) for p in problems] == [
        ("api", "crash-looping, its logger is down")]
    unjudged = service("api", side("run", looping=True), log=side("down"))
    assert [p.why for p in problems_of({"b": fact(unjudged)})[0]] == [
        "crash-looping, its logger is down"]


def test_no_puppetdb_is_exit_1_and_half_a_client_certificate_is_exit_2(capsys):
    assert main(["fleet", "status", "--puppetdb", "http://127.0.0.1:9"]) == 1
    assert "127.0.0.1:9" in capsys.readouterr().err
    assert main(["fleet", "status", "--puppetdb", "https://127.0.0.1:9",
                 "--cert", "x.pem"]) == 2
    assert "--cert and --key go together" in capsys.readouterr().err
