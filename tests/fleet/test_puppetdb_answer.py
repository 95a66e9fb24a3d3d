"""``fleet.puppetdb`` reading answers over real HTTP on 127.0.0.1 (a small server standing in
for PuppetDB's query endpoint; tests/puppet/test_puppetdb.py asks a real PuppetDB): the answer
is decoded as UTF-8 before it is parsed (bench/fleet.py: json's own decoding of bytes was a
third of the parse of 1000 nodes), a name beyond ASCII stays whole, and bytes that are not
UTF-8 are "not JSON", said with the URL; ``fleet status`` lists a node whose facts are older
than ``--stale-after`` — its agent stopped, its last "as wanted" says nothing of now."""

import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runit_provision.cli.main import main
from runit_provision.fleet.puppetdb import FACT_TIMES_PQL, PuppetDBError, fact_times, facts_named


def serving(body):
    """A server on 127.0.0.1 answering every POST with ``body`` — or, when ``body`` is a dict,
    with ``body[the PQL asked]``; its URL and the server."""
    class Answer(BaseHTTPRequestHandler):
        def do_POST(self):
            asked = self.rfile.read(int(self.headers["Content-Length"]))
            found = body[json.loads(asked)["query"]] if isinstance(body, dict) else body
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(found)))
            self.end_headers()
            self.wfile.write(found)

        def log_message(self, *args):
            pass
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return "http://127.0.0.1:%d" % server.server_address[1], server


@pytest.fixture
def answer():
    servers = []

    def start(body):
        url, server = serving(body)
        servers.append(server)
        return url
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_utf8_answer_is_read_whole(answer):
    rows = [{"certname": "nœud-%d.example.org" % index,
             "value": {"services": [], "not_running": ["wébapp"]}} for index in range(3)]
    url = answer(json.dumps(rows, ensure_ascii=False).encode("utf-8"))
    facts = facts_named(url, "runit_services")
    assert sorted(facts) == ["nœud-0.example.org", "nœud-1.example.org", "nœud-2.example.org"]
    assert facts["nœud-1.example.org"]["not_running"] == ["wébapp"]


def test_bytes_that_are_not_utf8_are_not_json(answer):
    url = answer(b'[{"certname": "n\xff", "value": {}}]')
    with pytest.raises(PuppetDBError) as caught:
        facts_named(url, "runit_services")
    assert str(caught.value).startswith(url + "/pdb/query/v4: not JSON: ")


def iso(moment):
    """A unix time as PuppetDB writes a timestamp."""
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def fleet_answers(ages, now=None):
    """What PuppetDB answers for nodes whose services all run and whose facts are ``ages``
    seconds old (None: no time) at ``now`` (a unix time; None: this one)."""
    now = time.time() if now is None else now
    fact = {"services": [], "not_running": []}
    facts = [{"certname": node, "value": fact} for node in ages]
    times = [{"certname": node, "facts_timestamp": None if age is None else iso(now - age)}
             for node, age in ages.items()]
    return {'facts[certname, value] { name = "runit_services" }': json.dumps(facts).encode(),
            FACT_TIMES_PQL: json.dumps(times).encode()}


def test_fact_times_are_unix_seconds_and_a_node_without_one_is_left_out(answer):
    now = 1_700_000_000.25
    url = answer(fleet_answers({"a.example.com": 10, "b.example.com": None}, now))
    found = fact_times(url)
    assert list(found) == ["a.example.com"]
    assert abs(found["a.example.com"] - (now - 10)) < 1e-6  # PuppetDB's microseconds


def test_a_node_whose_facts_are_old_is_stale_and_exit_3(answer, capsys, monkeypatch):
    now = 1_700_000_000.0  # the CLI's clock too: the ages are exact, however long this takes
    monkeypatch.setattr(time, "time", lambda: now)
    url = answer(fleet_answers({"fresh.example.com": 60, "gone.example.com": 7500,
                                "odd.example.com": None}, now))
    assert main(["fleet", "status", "--puppetdb", url]) == 3
    assert capsys.readouterr().out == (
        "gone.example.com: stale: its facts are 2h05m old — what runs there now is not known "
        "(is its agent running?)\n"
        "odd.example.com: stale: its facts carry no time — what runs there now is not known "
        "(is its agent running?)\n")
    assert main(["fleet", "status", "--puppetdb", url, "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert [row["node"] for row in report["stale"]] == ["gone.example.com", "odd.example.com"]
    assert report["stale"][0]["facts_age_seconds"] == 7500
    assert report["not_as_wanted"] == [] and report["nodes"] == 3
    # a bound of three hours: the two-hour-old facts are news enough; 0: never stale
    assert main(["fleet", "status", "--puppetdb", url, "--stale-after", "10800"]) == 3
    assert capsys.readouterr().out.startswith("odd.example.com: stale: ")
    assert main(["fleet", "status", "--puppetdb", url, "--stale-after", "0"]) == 0
    assert capsys.readouterr().out == "3 nodes: every service as wanted\n"


def test_stale_after_takes_whole_seconds(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["fleet", "status", "--puppetdb", "http://127.0.0.1:9", "--stale-after", "1h"])
    assert caught.value.code == 2
    assert "expected a number of seconds (0 or more), got '1h'" in capsys.readouterr().err
