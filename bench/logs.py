#!/usr/bin/env python3
"""bench: ``runit-provision logs`` over a 1 GB log set, side by side with daemontools'
``tai64nlocal`` and a ``sort -m`` merge of the shell; ``logs -f`` latency through rotations.

The log set (made once, kept in ``--set DIR``, default /tmp/runit-provision-bench-logs): 20
services × 50 MB, each a directory as svlogd leaves it — rotated files of 1 MB named by their
rotation time, then ``current`` — lines of ~100 bytes spread evenly over the week before the
set was made, even-numbered services stamped TAI64N (``-t``), odd ones ``-tt``.

Figures (medians of ``--runs`` runs, each a whole command with its start-up):

a. ``logs --dir … --since -1h -o cat`` over all 20 (the last hour is ~0.6% of the set);
b. the full merged view ``logs --dir … -o cat > /dev/null`` of all 20, against
   ``sort -m`` of each service's ``cat @* current | tai64nlocal`` (the shell's merge);
c. one service's full view against ``cat @* current | tai64nlocal`` (a ``-t`` one, and a
   ``-tt`` one — tai64nlocal leaves its stamps as they are);
d. ``logs -n 10`` of one service against ``runit-provision --version`` (start-up);
e. ``logs -f`` latency: our svlogd ``-tt`` with ``s1048576`` fed lines of 3 KB carrying the
   time they were written, 2 ms apart (a rotation every ~350 lines), ``logs -f -o cat`` read
   by this process: write → read, p50/p99 over 1000 lines;
f. peak memory (max RSS) of the full merged view.

Usage: ``.venv/bin/python bench/logs.py [--set DIR] [--runs N] [--json FILE]``
"""

import argparse
import json
import os
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
TAI = (1 << 62) + 10
SERVICES, PER_SERVICE, ROTATE = 20, 50 << 20, 1 << 20
TAI64NLOCAL = shutil.which("tai64nlocal")


def make_set(base):
    marker = base / ".complete"
    if marker.exists():
        return
    shutil.rmtree(str(base), ignore_errors=True)
    now = time.time()
    span = 7 * 86400
    for index in range(SERVICES):
        directory = base / ("svc%02d" % index)
        directory.mkdir(parents=True)
        count = PER_SERVICE // 100
        step = span / count
        chunk, size = [], 0
        for number in range(count):
            moment = now - span + step * number + index * 1e-4
            if index % 2 == 0:
                stamp = "@%016x%08x" % (int(moment) + TAI, int(moment % 1 * 1e9))
            else:
                stamp = time.strftime("%Y-%m-%d_%H:%M:%S", time.gmtime(moment)) + \
                    ".%05d" % int(moment % 1 * 1e5)
            line = "%s service %02d line %d some text to fill a line to about a hundred b\n" % (
                stamp, index, number)
            chunk.append(line)
            size += len(line)
            if size >= ROTATE:
                name = "@%016x%08x.s" % (int(moment) + TAI, int(moment % 1 * 1e9) + 1)
                (directory / name).write_text("".join(chunk))
                chunk, size = [], 0
        (directory / "current").write_text("".join(chunk))
    marker.write_text("")


def timed(command, runs, shell=False):
    """Median wall time of ``command`` (output to /dev/null)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, shell=shell, stdout=subprocess.DEVNULL, check=True,
                       executable="/bin/bash" if shell else None)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_rss_kb(command):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    return max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def follow_latency(lines=1000):
    scratch = Path(tempfile.mkdtemp(prefix="rp-bench-follow-"))
    logdir = scratch / "log"
    logdir.mkdir()
    (logdir / "config").write_text("s1048576\nn1000\n")
    svlogd = subprocess.Popen([str(BIN / "svlogd"), "-tt", str(logdir)], stdin=subprocess.PIPE)
    follower = subprocess.Popen([str(BIN / "runit-provision"), "logs", "--dir", str(logdir),
                                 "-o", "cat", "-f", "-n", "0"], stdout=subprocess.PIPE)
    try:
        time.sleep(0.5)  # the follower's start-up, before the first line it must see
        pad = b"x" * 3000  # a rotation every ~350 lines
        latencies, pending = [], b""
        fd = follower.stdout.fileno()
        for number in range(lines):
            svlogd.stdin.write(b"%d %d %s\n" % (number, time.perf_counter_ns(), pad))
            svlogd.stdin.flush()
            deadline = time.monotonic() + 1.0
            while True:
                ready, _, _ = select.select([fd], [], [], max(0, deadline - time.monotonic()))
                if not ready:
                    raise RuntimeError("line %d not followed within 1 s" % number)
                pending += os.read(fd, 1 << 20)
                got = False
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    sent = int(line.split(b" ", 2)[1])
                    latencies.append((time.perf_counter_ns() - sent) / 1e6)
                    got = int(line.split(b" ", 1)[0]) == number
                if got:
                    break
            time.sleep(0.002)
        rotations = len([name for name in os.listdir(str(logdir)) if name.startswith("@")])
        latencies.sort()
        return {"p50_ms": latencies[len(latencies) // 2],
                "p99_ms": latencies[int(len(latencies) * 0.99)], "rotations": rotations}
    finally:
        for proc in (follower, svlogd):
            proc.kill()
            proc.wait()
        shutil.rmtree(str(scratch), ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="/tmp/runit-provision-bench-logs")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    base = Path(args.set)
    make_set(base)
    dirs = sorted(str(path) for path in base.iterdir() if path.is_dir())
    logs = [str(BIN / "runit-provision"), "logs"]
    found = {}
    found["since_1h_s"] = timed(logs + ["--dir"] + dirs + ["--since", "-1h", "-o", "cat"],
                                args.runs)
    found["merge_all_s"] = timed(logs + ["--dir"] + dirs + ["-o", "cat"], args.runs)
    found["merge_peak_rss_mb"] = peak_rss_kb(logs + ["--dir"] + dirs + ["-o", "cat"]) / 1024
    if TAI64NLOCAL:
        shell = "sort -m " + " ".join("<(cat %s/@* %s/current | %s)" % (d, d, TAI64NLOCAL)
                                      for d in dirs)
        found["shell_merge_all_s"] = timed(shell, args.runs, shell=True)
        for name, directory in (("tai64n", dirs[0]), ("human", dirs[1])):
            found["one_%s_s" % name] = timed(logs + ["--dir", directory, "-o", "cat"], args.runs)
            found["one_%s_tai64nlocal_s" % name] = timed(
                "cat %s/@* %s/current | %s" % (directory, directory, TAI64NLOCAL), args.runs,
                shell=True)
    found["tail_10_s"] = timed(logs + ["--dir", dirs[0], "-n", "10"], max(args.runs, 5))
    found["version_s"] = timed([str(BIN / "runit-provision"), "--version"], max(args.runs, 5))
    found["follow"] = follow_latency()
    print("# logs bench: %s, 1 GB (20 x 50 MB), medians of %d" % (base, args.runs))
    print("| figure | ours | anchor | ratio | budget |")
    print("|---|---|---|---|---|")
    print("| --since -1h, 20 services | %.3f s | | | <= 0.25 s |" % found["since_1h_s"])
    if TAI64NLOCAL:
        print("| full merge, 20 services, -o cat | %.2f s | sort -m of tai64nlocal: %.2f s | "
              "%.2fx faster | >= 5x |" % (found["merge_all_s"], found["shell_merge_all_s"],
                                          found["shell_merge_all_s"] / found["merge_all_s"]))
        for name in ("tai64n", "human"):
            print("| one service (%s), -o cat | %.3f s | cat | tai64nlocal: %.3f s | %.2fx "
                  "faster | >= 1.5x |" % (name, found["one_%s_s" % name],
                                          found["one_%s_tai64nlocal_s" % name],
                                          found["one_%s_tai64nlocal_s" % name]
                                          / found["one_%s_s" % name]))
    else:
        print("| full merge, 20 services, -o cat | %.2f s | tai64nlocal: not installed | | |"
              % found["merge_all_s"])
    print("| logs -n 10, one service | %.3f s | --version: %.3f s | %.2fx | <= 1.3x |" % (
        found["tail_10_s"], found["version_s"], found["tail_10_s"] / found["version_s"]))
    print("| -f latency, p50 / p99 (%d rotations) | %.2f / %.2f ms | | | p99 <= 20 ms |" % (
        found["follow"]["rotations"], found["follow"]["p50_ms"], found["follow"]["p99_ms"]))
    print("| full merge, peak RSS | %.1f MB | | | flat |" % found["merge_peak_rss_mb"])
    if args.json:
        Path(args.json).write_text(json.dumps(found, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
