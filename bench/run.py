#!/usr/bin/env python3
"""Run every benchmark in bench/ with this interpreter, one after the other."""

import subprocess
import sys
from pathlib import Path

BENCHES = ("sv_startup.py", "runsv_respawn.py", "tree.py", "user_trees.py",
           "svlogd_throughput.py", "logs.py", "logs_journal.py", "verify.py", "apply.py",
           "puppet_module.py", "puppet_catalog.py", "fleet.py", "status.py", "import.py",
           "void_import.py", "readiness.py", "sandbox_start.py", "chaos.py")  # chaos.py: 10 minutes each, ours and C


def main():
    here = Path(__file__).resolve().parent
    status = 0
    for name in BENCHES:
        print("== %s" % name, flush=True)
        status |= subprocess.call([sys.executable, str(here / name)])
    return status


if __name__ == "__main__":
    sys.exit(main())
