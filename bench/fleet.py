#!/usr/bin/env python3
"""bench: ``runit-provision fleet status`` against a real PuppetDB holding the
``runit_services`` facts of 100 nodes (20 services each, one node in 10 with a service
crash-looping), side by side with the same PQL asked with curl (PuppetDB's own time).

PuppetDB and its PostgreSQL are started as the fleet tier starts them
(tests/puppet/puppetdb.py; ~20 s). Figures: medians of ``--runs`` runs of the whole command.
Budget (issue 18): 100 nodes answer in ≤ 1 s.

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
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    puppetdb = PuppetDB(Path(tempfile.mkdtemp(prefix="bench-fleet-")))
    try:
        puppetdb.start()
        expected = {"node%03d.example.com" % index: fact(index) for index in range(args.nodes)}
        for certname, value in expected.items():
            puppetdb.replace_facts(certname, {"runit_services": value})
        puppetdb.wait_for_facts(expected, timeout=300)
        ours = timed([CLI, "fleet", "status", "--puppetdb", puppetdb.url], args.runs)
        query = json.dumps({"query": 'facts[certname, value] { name = "runit_services" }'})
        curl = timed(["curl", "-sf", "-X", "POST", "-H", "Content-Type: application/json",
                      puppetdb.url + "/pdb/query/v4", "-d", query], args.runs, ok=(0,))
    finally:
        puppetdb.stop()
    print("# fleet bench: %d nodes x 20 services, medians of %d" % (args.nodes, args.runs))
    print("| figure | ours | anchor | ratio | budget |")
    print("|---|---|---|---|---|")
    print("| fleet status, %d nodes | %.3f s | the same PQL with curl: %.3f s | %.2fx | <= 1 s |"
          % (args.nodes, ours, curl, ours / curl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
