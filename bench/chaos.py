#!/usr/bin/env python3
"""bench: the chaos soak (tests/runtime/chaos.py) for minutes, side by side with the C runit.

Twenty logged services, rendered by ``runit-provision apply``, under a runsvdir kept by a
runsv; a driver ``kill -9``s the tree, its logger host, a user's logger host, its pipe keeper,
services and ``./finish`` scripts every 50–500 ms, runs ``sv`` commands and applies changed
data, and kills the tree just before an elapse of a timer (every 2 s, persistent) that runs
beside them, and runs a one-shot again with ``sv once``. Then the account: lines written and lost, repeats, double runs, processes left
unsupervised, the tally against the kills, the tree's RSS and descriptors first and last; the timer's runs,
elapses run twice (``timer_double``) and lost (``timer_lost``), skipped and collapsed into a
catch-up; the one-shot's runs, runs at once (``oneshot_overlap``) and ``sv once``s without a
run (``onces_unmatched``).

The C runit (``--impl c``: runsvdir, runsv, svlogd, ``runtime: system``) takes the same
faults (it has no pipe keeper: that kill is skipped); a killed runsv stands for a killed tree
half the time (it is runit's supervisor).

Usage: ``.venv/bin/python bench/chaos.py [--seconds 600] [--impl ours|c|both] [--rate 1000]
[--seed N]``. Prints one JSON account per implementation (docs/reliability.md).
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import has_c_runit, make_bin_dir  # noqa: E402
from tests.runtime.chaos import Soak  # noqa: E402


def soak(impl, seconds, rate, seed):
    # Users' loggers open their directories by path: the root must be searchable by them.
    root = Path(tempfile.mkdtemp(prefix="chaos-", dir="/tmp"))
    root.chmod(0o755)
    run = Soak(root / "soak", impl=impl, rate=rate, seed=seed,
               tools=make_bin_dir(root / "bin", impl))
    try:
        started = time.monotonic()
        run.start()
        run.drive(seconds)
        run.settle_and_stop_writers()
        figures = run.account()
        figures["seconds"] = round(time.monotonic() - started, 1)
        return figures
    finally:
        run.stop()
        shutil.rmtree(str(root), ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--impl", choices=("ours", "c", "both"), default="both")
    parser.add_argument("--rate", type=int, default=1000, help="lines a second per service")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    impls = ["ours", "c"] if args.impl == "both" else [args.impl]
    if "c" in impls and not has_c_runit():
        print("the C runit is not installed: ours only", file=sys.stderr)
        impls.remove("c")
    for impl in impls:
        print(json.dumps(soak(impl, args.seconds, args.rate, args.seed), indent=2,
                         sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
