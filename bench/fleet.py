#!/usr/bin/env python3
"""bench: ``runit-provision fleet status`` against a real PuppetDB holding the
``runit_services`` facts of 1000 nodes (20 services each, one node in 10 with a service
crash-looping), side by side with the same PQL asked with curl, and the query alone (one
HTTP request from this process: PuppetDB's own time, no process started).

PuppetDB and its PostgreSQL are started as the fleet tier starts them
(tests/puppet/puppetdb.py; ~20 s); the facts are loaded through PuppetDB's own command API
(``replace facts``, one command a node). Figures: medians of ``--runs`` runs of the whole
command. Budget (issue 33; issue 18 had 100 nodes): 1000 nodes answer in ≤ 1 s.

Usage: ``.venv/bin/python bench/fleet.py [--nodes N] [--runs N]``
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.puppet.puppetdb import PuppetDB  # noqa: E402

CLI = str(ROOT / ".venv" / "bin" / "runit-provision")


def fact(index, services=20):
    rows, not_running = [], []
    for number in range(services):
        looping = number == 0 and index % 10 == 0
        name = "svc%02d" % number
        main = {"state": "down" if looping else "run", "want": "up", "normally": "up",
                "paused": False, "crash_looping": looping, "gave_up": False,
                "last_exit": "exit 3" if looping else "none",
                "deaths": "10-99" if looping else "0"}
        rows.append({"service": name, "tree": "", "path": "/etc/sv/" + name, "enabled": True,
                     "wanted": True, "running": not looping, "main": main, "log": main})
        if looping:
            not_running.append(name)
    return {"services": rows, "not_running": not_running}


def timed(argv, runs, ok=(0, 3)):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - started)
        assert done.returncode in ok, done.stderr
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    puppetdb = PuppetDB(Path(tempfile.mkdtemp(prefix="bench-fleet-")))
    try:
        puppetdb.start()
        expected = {"node%03d.example.com" % index: fact(index) for index in range(args.nodes)}
        for certname, value in expected.items():
            puppetdb.replace_facts(certname, {"runit_services": value})
        puppetdb.wait_for_facts(expected, timeout=300)
        pql = 'facts[certname, value] { name = "runit_services" }'
        query = json.dumps({"query": pql})
        # PuppetDB's JVM answers its first queries slower: one round untimed, then the three
        # in turn, run after run, so that each sees the same PuppetDB (and the same load)
        ours, curl, alone = [], [], []
        for run in range(args.runs + 1):
            times = (timed([CLI, "fleet", "status", "--puppetdb", puppetdb.url], 1),
                     timed(["curl", "-sf", "-X", "POST", "-H", "Content-Type: application/json",
                            puppetdb.url + "/pdb/query/v4", "-d", query], 1, ok=(0,)),
                     query_alone(puppetdb, pql, 1, args.nodes))
            if run:
                for kept, seconds in zip((ours, curl, alone), times):
                    kept.append(seconds)
        ours, curl, alone = (statistics.median(kept) for kept in (ours, curl, alone))
    finally:
        puppetdb.stop()
    print("# fleet bench: %d nodes x 20 services, medians of %d" % (args.nodes, args.runs))
    print("| figure | ours | anchor | ratio | budget |")
    print("|---|---|---|---|---|")
    print("| fleet status, %d nodes | %.3f s | the same PQL with curl: %.3f s | %.2fx | <= 1 s |"
          % (args.nodes, ours, curl, ours / curl))
    print("| (the PQL query alone, one request in-process: %.3f s) | | | | |" % alone)
    return 0


def query_alone(puppetdb, pql, runs, nodes):
    """The median time of the PQL query itself: PuppetDB's answer, read whole."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        rows = puppetdb.query(pql)
        times.append(time.perf_counter() - started)
        assert len(rows) == nodes, len(rows)
    return statistics.median(times)


if __name__ == "__main__":
    sys.exit(main())
