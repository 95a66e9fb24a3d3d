#!/usr/bin/env python3
"""Respawn latency of runsv: a running service is SIGKILLed; how long until the new one runs?

Measured side by side for the C runsv (when installed) and ours, as the time from ``kill`` to
``supervise/pid`` naming a new pid (runsv writes pid before stat and status). Each ./run lives
more than 1 s first, so runit's back-off is not what is measured. Prints medians and p90 in ms
and our ratios to the C runsv's (the budget: p90 at most 1.2x).
Usage: ``python bench/runsv_respawn.py [ROUNDS]``.
"""

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUR_RUNSV = str(Path(sys.executable).parent / "runsv")
C_RUNSV = "/usr/bin/runsv"


def read_pid(service):
    try:
        return int((service / "supervise" / "pid").read_text() or 0)
    except (OSError, ValueError):
        return 0


def wait_for(predicate, seconds, interval=0.0002):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError("timed out")


def measure(runsv, rounds, workdir):
    service = workdir / Path(runsv).parent.name.replace("/", "_")
    service.mkdir()
    (service / "run").write_text("#!/bin/sh\nexec sleep 1000\n")
    (service / "run").chmod(0o755)
    proc = subprocess.Popen([runsv, str(service)], start_new_session=True)
    samples = []
    try:
        pid = wait_for(lambda: read_pid(service), 10)
        for _ in range(rounds):
            time.sleep(1.1)  # the run must outlive runit's 1 s back-off window
            start = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            new = wait_for(lambda: (lambda p: p if p and p != pid else 0)(read_pid(service)), 10)
            samples.append((time.perf_counter() - start) * 1000)
            pid = new
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return samples


def p90(samples):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def main(argv):
    rounds = int(argv[1]) if len(argv) > 1 else 15
    workdir = Path(tempfile.mkdtemp(prefix="bench-respawn."))
    try:
        rows = []
        if os.access(C_RUNSV, os.X_OK):
            (workdir / "c").mkdir()
            rows.append(("C runsv", measure(C_RUNSV, rounds, workdir / "c")))
        (workdir / "ours").mkdir()
        rows.append(("our runsv", measure(OUR_RUNSV, rounds, workdir / "ours")))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    base, base_p90 = statistics.median(rows[0][1]), p90(rows[0][1])
    print("respawn latency after SIGKILL, %d rounds (kill -> new pid in supervise/pid)" % rounds)
    print("%-10s %9s %9s %9s %9s" % ("", "p50 ms", "p90 ms", "p50 ratio", "p90 ratio"))
    for name, samples in rows:
        median = statistics.median(samples)
        print("%-10s %9.2f %9.2f %9.2f %9.2f" % (name, median, p90(samples), median / base,
                                                  p90(samples) / base_p90))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
