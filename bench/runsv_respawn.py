#!/usr/bin/env python3
"""Respawn latency of runsv: a running service is SIGKILLed; how long until the new one runs?

Measured side by side for the C runsv (when installed) and ours, interleaved — each round
kills one side's service then the other's, the order alternating round by round, so that load
lands on both — as the time from ``kill`` to ``supervise/pid`` naming a new pid (runsv writes
pid before stat and status). Each ./run lives more than 1 s first, so runit's back-off is not
what is measured. Prints medians and p90 in ms and our ratios to the C runsv's (the budget:
p90 at most 1.2x).
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


class Supervised:
    """One runsv (``runsv``) over a ``sleep`` service in ``workdir``."""

    def __init__(self, runsv, workdir):
        self.service = workdir / "service"
        self.service.mkdir(parents=True)
        (self.service / "run").write_text("#!/bin/sh\nexec sleep 1000\n")
        (self.service / "run").chmod(0o755)
        self.proc = subprocess.Popen([runsv, str(self.service)], start_new_session=True)
        self.pid = wait_for(lambda: read_pid(self.service), 10)
        self.samples = []

    def respawn(self):
        """SIGKILL the service; milliseconds until supervise/pid names the next one."""
        start = time.perf_counter()
        os.kill(self.pid, signal.SIGKILL)
        pid = self.pid
        self.pid = wait_for(lambda: (lambda p: p if p and p != pid else 0)(read_pid(self.service)),
                            10)
        self.samples.append((time.perf_counter() - start) * 1000)

    def close(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def measure(runsvs, rounds, workdir):
    """Interleaved: each round kills every runsv's service in turn (the order alternating),
    so that whatever load the machine has lands on each side alike."""
    sides = []
    try:
        for name, runsv in runsvs:
            sides.append((name, Supervised(runsv, workdir / name)))
        for number in range(rounds):
            time.sleep(1.1)  # every run must outlive runit's 1 s back-off window
            order = sides if number % 2 == 0 else sides[::-1]
            for _name, side in order:
                side.respawn()
    finally:
        for _name, side in sides:
            side.close()
    return [(name, side.samples) for name, side in sides]


def p90(samples):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def main(argv):
    rounds = int(argv[1]) if len(argv) > 1 else 15
    workdir = Path(tempfile.mkdtemp(prefix="bench-respawn."))
    runsvs = [("C runsv", C_RUNSV)] if os.access(C_RUNSV, os.X_OK) else []
    runsvs.append(("our runsv", OUR_RUNSV))
    try:
        rows = measure(runsvs, rounds, workdir)
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
