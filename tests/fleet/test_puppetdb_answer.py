"""``fleet.puppetdb.facts_named`` reading an answer over real HTTP on 127.0.0.1 (a small
server standing in for PuppetDB's query endpoint; tests/puppet/test_puppetdb.py asks a real
PuppetDB): the answer is decoded as UTF-8 before it is parsed (bench/fleet.py: json's own
decoding of bytes was a third of the parse of 1000 nodes), a name beyond ASCII stays whole, and
bytes that are not UTF-8 are "not JSON", said with the URL."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runit_provision.fleet.puppetdb import PuppetDBError, facts_named


def serving(body):
    """A server on 127.0.0.1 answering every POST with ``body``; its URL and the server."""
    class Answer(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

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
