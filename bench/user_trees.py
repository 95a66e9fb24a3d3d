#!/usr/bin/env python3
"""bench: memory of per-user trees — 2 users with 20 logged services each, under the C runit and
ours, side by side (issue 16: loggers of another identity run in a process of that identity).

The host is the security tier's sandbox (``tests/security/sandbox.py``): a private mount
namespace with two scratch users (uids 61001, 61002), relocated data applied by the real
``runit-provision apply`` under root's tree — our runsvdir, or the C one with
``runtime: system``. The data: one root service, and for each user 20 services ``sleep
100000``, each logged (``svlogd -tt`` into ``~/logs/NAME``), plus the user's
``runsvdir-LOGIN``, logged as the user into ``~/logs/runsvdir``.

What is measured, for one implementation at a time (PSS shares pages with whoever maps them),
after every service runs and a settling pause: the sum of PSS and USS
(``/proc/PID/smaps_rollup``) of every supervision process of root's tree's session — every
process that is not a ``sleep``:

* C runit: root's runsvdir, a runsv per service (1 + 2 ``runsvdir-LOGIN``), an svlogd each
  (root's as root, the users' trees' as the users), each user's runsvdir, a runsv and an
  svlogd per user service — 1 + 3 + 3 + 2 + 2 × 40 processes;
* ours: root's tree, its loggers' stand-in, one logger host per user (forked from the tree,
  then wholly the user: ``svlogd (loggers of … as LOGIN)``), each user's tree (it hosts its
  services' loggers) and its stand-in.

Usage: ``.venv/bin/python bench/user_trees.py [--services N] [--settle SECONDS] [--json FILE]``
(needs root, unshare, nsenter, setpriv).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.runtime.processes import process_group_members, running_pid, wait_until  # noqa: E402
from tests.security.sandbox import USERS, Namespace, Sandbox  # noqa: E402

SLEEP = {"command": ["sleep", "100000"]}


def memory_kb(pid):
    """PSS and USS in kB from smaps_rollup (0 for a process gone meanwhile)."""
    values = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as handle:
            lines = handle.read().splitlines()[1:]
    except OSError:
        return {"pss": 0, "uss": 0}
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            values[parts[0].rstrip(":")] = int(parts[1])
    return {"pss": values.get("Pss", 0),
            "uss": values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)}


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as handle:
            return handle.read().strip()
    except OSError:
        return None


def measure(namespace, impl, services, settle):
    sandbox = Sandbox(namespace, impl)
    try:
        sandbox.services = {"rootsvc": dict(SLEEP)}
        sandbox.user_services = {login: {"s%02d" % index: dict(SLEEP)
                                         for index in range(services)} for login in USERS}
        sandbox.start_tree()
        started = time.monotonic()
        sandbox.apply()
        for side in sandbox.all_sides():
            wait_until(lambda side=side: running_pid(side), timeout=60, what=str(side))
        up = time.monotonic() - started
        time.sleep(settle)
        pids = [pid for pid in process_group_members(sandbox.tree.pid)
                if comm(pid) not in (None, "sleep")]
        total = {"pss": 0, "uss": 0}
        for pid in pids:
            for key, value in memory_kb(pid).items():
                total[key] += value
        total.update(processes=len(pids), apply_to_all_running=up)
        return total
    finally:
        sandbox.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=20, help="services per user")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("needs root (a namespace with scratch users)")
        return 1
    namespace = Namespace()
    results = {}
    try:
        for impl in ("c", "ours"):
            if impl == "c" and not os.access("/usr/bin/runsvdir", os.X_OK):
                print("C runit: not installed")
                continue
            results[impl] = measure(namespace, impl, args.services, args.settle)
    finally:
        namespace.close()
    print("2 users x %d logged services (+ 1 root service), every supervision process:"
          % args.services)
    print("%-8s %10s %10s %10s" % ("", "PSS MB", "USS MB", "processes"))
    for impl, found in results.items():
        print("%-8s %10.2f %10.2f %10d" % (impl, found["pss"] / 1024, found["uss"] / 1024,
                                           found["processes"]))
    if "c" in results and "ours" in results:
        print("ours / C: PSS %.2fx" % (results["ours"]["pss"] / results["c"]["pss"]))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
