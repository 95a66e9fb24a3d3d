#!/usr/bin/env python3
"""svlogd throughput, side by side: the C svlogd (when installed) and ours, in one run.

Input: MB megabytes of 100-byte lines (99 characters and a newline), piped in by ``cat`` from a
file, into a log directory with runit's ``s10000000`` / ``n5`` (rotation every 10 MB, five old
files kept) on the same disk. Both loggers run with their defaults (``-b 1024`` for the C one)
and with ``-tt``; each figure is the best of ROUNDS runs, alternating implementations. Prints
MB/s and our ratio to the C svlogd. Usage: ``python bench/svlogd_throughput.py [MB] [ROUNDS]``.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUR_SVLOGD = str(Path(sys.executable).parent / "svlogd")
C_SVLOGD = "/usr/bin/svlogd"
CONFIG = "s10000000\nn5\n"
MODES = (("no stamps", []), ("-tt", ["-tt"]))


def make_input(path, megabytes):
    line_count = megabytes * 10_000
    with open(path, "wb") as handle:
        block = b"".join(b"%08d %s\n" % (i, b"x" * 90) for i in range(10_000))
        for _ in range(line_count // 10_000):
            handle.write(block)
    return os.path.getsize(path)


def run_once(svlogd, args, input_path, workdir):
    logdir = workdir / "log"
    if logdir.exists():
        shutil.rmtree(logdir)
    logdir.mkdir()
    (logdir / "config").write_text(CONFIG)
    with open(input_path, "rb") as source:
        start = time.perf_counter()
        cat = subprocess.Popen(["cat"], stdin=source, stdout=subprocess.PIPE)
        logger = subprocess.Popen([svlogd] + args + [str(logdir)], stdin=cat.stdout,
                                  stderr=subprocess.PIPE)
        cat.stdout.close()
        _, err = logger.communicate()
        elapsed = time.perf_counter() - start
        cat.wait()
    if logger.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (svlogd, logger.returncode, err.decode()))
    return elapsed


def main(argv):
    megabytes = int(argv[1]) if len(argv) > 1 else 200
    rounds = int(argv[2]) if len(argv) > 2 else 3
    impls = [("C svlogd", C_SVLOGD)] if os.access(C_SVLOGD, os.X_OK) else []
    impls.append(("our svlogd", OUR_SVLOGD))
    workdir = Path(tempfile.mkdtemp(prefix="bench-svlogd.", dir=os.environ.get("BENCH_DIR")))
    try:
        input_path = workdir / "input"
        size = make_input(input_path, megabytes)
        best = {}
        for mode, args in MODES:
            for _ in range(rounds):
                for name, svlogd in impls:
                    elapsed = run_once(svlogd, args, input_path, workdir)
                    key = (mode, name)
                    best[key] = min(best.get(key, elapsed), elapsed)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("svlogd throughput: %d MB of 100-byte lines through cat | svlogd, s10000000 n5, "
          "best of %d" % (size // 1_000_000, rounds))
    print("%-10s %-11s %9s %9s" % ("mode", "", "MB/s", "ratio"))
    for mode, _ in MODES:
        base = best[(mode, impls[0][0])]
        for name, _ in impls:
            elapsed = best[(mode, name)]
            print("%-10s %-11s %9.1f %9.2f" % (mode, name, size / elapsed / 1e6, base / elapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
