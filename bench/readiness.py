#!/usr/bin/env python3
"""Ready → dependent started: how soon ``sv -w 30 start DB`` (what a ``needs`` guard runs)
returns after DB sends READY=1.

Two paths, interleaved round by round (the order alternating, so load lands on both):

- **ours**: our runsv gives DB its NOTIFY_SOCKET; our ``sv`` reads ``supervise/readiness``,
  woken by the byte runsv writes into sv's FIFO in ``supervise/event/`` after the record's
  rename (docs/readiness.md, docs/sv.md);
- **C**: the C runsv runs DB's ``./run`` as rendered for ``runtime: system`` (``notify-relay``
  first), and the C ``sv`` polls the rendered ``./check`` (the slower path).

Each round restarts DB (its new run waits for a gate), starts the waiting ``sv``, lets it
wait 100 ms, then opens the gate: DB stamps the time and sends READY=1; the sample is from
that stamp to the waiting ``sv``'s exit (wall), and the CPU time of that ``sv`` (user +
system, from ``wait4``: its ``./check`` processes included). Prints p50 / p90 in ms, ours
against C's (the budget: ours ≤ 5 ms p90), and the load average before and after (the
machine is shared). Usage: ``python bench/readiness.py [ROUNDS=30] [GATE_AFTER=0.1]``
(GATE_AFTER: seconds between the waiting ``sv``'s start and READY=1).

``--tree N [ROUNDS=3]``: what readiness costs a tree of our runsvdir — N ``sleep`` services
with ``ready`` = ``notify`` (each gets its socket; none sends anything) against the same N
without, started alternately: the time from launching runsvdir to every ``supervise/stat``
saying ``run``, and the tree's voluntary context switches over 10 s idle once all run
(the budgets: ≤ 1.2× the start without, 0 wakeups).

``--against BIN_DIR [N=1000] [ROUNDS=10]``: what this checkout's runsvdir costs a tree of N
plain ``sleep`` services against another build's (``BIN_DIR/runsvdir``, e.g. a checkout of
the commit before ``supervise/event/``), alternated round by round: launch → every
``supervise/stat`` saying ``run``, medians.
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

BIN = Path(sys.executable).parent
C_RUNSV, C_SV = "/usr/bin/runsv", "/usr/bin/sv"
# our sv as install-runtime's launcher runs it: -SI, and posix._exit at once (launchers.py)
OUR_SV = [sys.executable, "-SI", "-c", "import sys; sys.path.insert(0, %r); import posix; "
          "from runit_provision.runtime.sv import main; posix._exit(main(['sv'] + sys.argv[1:]))"
          % str(Path(__file__).resolve().parent.parent)]
SENDER = """
import os, socket, sys, time
gate, stamp = sys.argv[1], sys.argv[2]
while not os.path.exists(gate):
    time.sleep(0.0005)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
with open(stamp, "w") as out:
    out.write(str(time.time_ns()))
sock.sendto(b"READY=1", "\\0" + os.environ["NOTIFY_SOCKET"][1:])
time.sleep(1000)
"""
CHECK = (Path(__file__).resolve().parent.parent / "templates" / "check" / "ready.j2").read_text()


def wait_for(predicate, seconds=20, interval=0.0005):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError("timed out")


def record_of(service):
    try:
        return dict(line.split(" ", 1) for line in
                    (service / "supervise" / "readiness").read_text().splitlines() if " " in line)
    except OSError:
        return {}


class Side:
    """DB under one runsv, waited on by one sv."""

    def __init__(self, name, runsv, sv, workdir):
        self.name, self.sv = name, sv
        self.service = workdir / name / "db"
        self.service.mkdir(parents=True)
        self.gate, self.stamp = workdir / name / "gate", workdir / name / "stamp"
        (workdir / "sender.py").write_text(SENDER)
        relay = ""
        if name == "C":  # as rendered for runtime: system (templates/notify-relay.j2)
            relay = "NOTIFY_SOCKET=$(%s $$) || exit 1\nexport NOTIFY_SOCKET\n" % (
                BIN / "notify-relay")
        (self.service / "run").write_text("#!/bin/sh\n%sexec %s %s %s %s\n" % (
            relay, sys.executable, workdir / "sender.py", self.gate, self.stamp))
        (self.service / "run").chmod(0o755)
        (self.service / "check").write_text(CHECK)
        (self.service / "check").chmod(0o755)
        (self.service / "ready").write_text("notify\n")
        self.env = {"PATH": "%s:/usr/bin:/bin" % BIN}
        self.proc = subprocess.Popen([runsv, str(self.service)], start_new_session=True,
                                     env=self.env)
        self.samples, self.said, self.cpu = [], [], []
        self.split = []  # READY=1 -> recorded, recorded -> sv's ok: line, ok: line -> exit
        self.queued = []  # waiting for a CPU meanwhile: sv, runsv, this script

    def pid(self):
        try:
            return int((self.service / "supervise" / "pid").read_text() or 0)
        except (OSError, ValueError):
            return 0

    def round(self, gate_after=0.1):
        for path in (self.gate, self.stamp):
            if path.exists():
                path.unlink()
        old = self.pid()
        if old:
            os.kill(old, signal.SIGTERM)
        time.sleep(1.1)  # past runsv's 1 s back-off: the restart is immediate
        pid = wait_for(lambda: (lambda p: p if p and p != old else 0)(self.pid()))
        wait_for(lambda: record_of(self.service).get("pid") == str(pid))
        waiter = subprocess.Popen(self.sv + ["-w", "30", "start", str(self.service)],
                                  env=self.env, stdout=subprocess.PIPE)
        time.sleep(gate_after)  # it waits: for C, it is polling ./check
        queued = [run_delay(pid) for pid in (waiter.pid, self.proc.pid, "self")]
        self.gate.write_text("")
        waiter.stdout.readline()  # "ok: run: …": sv knows; its exit follows
        said = time.time_ns()
        queued = [run_delay(waiter.pid) - queued[0], run_delay(self.proc.pid) - queued[1],
                  queued[2]]
        _, wait_status, usage = os.wait4(waiter.pid, 0)
        ended = time.time_ns()
        queued[2] = run_delay("self") - queued[2]
        self.queued.append([delay / 1e6 for delay in queued])
        waiter.returncode = os.waitstatus_to_exitcode(wait_status)
        waiter.stdout.close()
        self.cpu.append((usage.ru_utime + usage.ru_stime) * 1e3)
        self.said.append((said - int(self.stamp.read_text())) / 1e6)
        if waiter.returncode != 0:
            raise RuntimeError("%s: sv -w start failed" % self.name)
        self.samples.append((ended - int(self.stamp.read_text())) / 1e6)
        stamp = int(self.stamp.read_text())
        ready = int(record_of(self.service).get("ready", 0))
        self.split.append(((ready - stamp) / 1e6, (said - ready) / 1e6, (ended - said) / 1e6))
        if os.environ.get("BENCH_DEBUG"):
            print(self.name, "READY=1 -> recorded %.2f ms, -> ok: line %.2f ms, -> exit %.2f ms"
                  % self.split[-1])

    def close(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def run_delay(pid):
    """Nanoseconds ``pid`` has spent runnable, waiting for a CPU (``/proc/PID/schedstat``)."""
    with open("/proc/%s/schedstat" % pid) as schedstat:
        return int(schedstat.read().split()[1])


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def tree_round(workdir, count, ready, runsvdir=BIN / "runsvdir", idle=True):
    """Seconds from launch to all N running, and the idle wakeups of the tree after (None
    without ``idle``)."""
    root = workdir / ("ready" if ready else "plain")
    shutil.rmtree(str(root), ignore_errors=True)
    services = root / "service"
    services.mkdir(parents=True)
    for index in range(count):
        service = services / ("s%04d" % index)
        service.mkdir()
        (service / "run").write_text("#!/bin/sh\nexec sleep 100000\n")
        (service / "run").chmod(0o755)
        if ready:
            (service / "ready").write_text("notify\n")
    stats = [services / name / "supervise" / "stat" for name in sorted(os.listdir(services))]
    started = time.monotonic()
    proc = subprocess.Popen([str(runsvdir), str(services)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pending = list(stats)
        while pending:
            pending = [path for path in pending if not _says_run(path)]
            if pending:
                time.sleep(0.01)
        elapsed = time.monotonic() - started
        if not idle:
            return elapsed, None
        time.sleep(1.0)  # settle before the idle window
        before = _switches(proc.pid)
        time.sleep(10.0)  # the idle window: what is measured
        return elapsed, _switches(proc.pid) - before
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _says_run(path):
    try:
        return path.read_text().startswith("run")
    except OSError:
        return False


def _switches(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    return 0


def tree_main(args):
    count = int(args[0]) if args else 1000
    rounds = int(args[1]) if len(args) > 1 else 3
    workdir = Path(tempfile.mkdtemp(prefix="bench-readiness-tree-"))
    found = {True: [], False: []}
    try:
        for number in range(rounds):
            for ready in ((True, False) if number % 2 == 0 else (False, True)):
                found[ready].append(tree_round(workdir, count, ready))
    finally:
        shutil.rmtree(str(workdir), ignore_errors=True)
    for ready in (False, True):
        print("%-13s %d services: start %s s; idle wakeups in 10 s: %s" % (
            "ready: notify" if ready else "plain", count,
            " ".join("%.2f" % start for start, _ in found[ready]),
            " ".join(str(wakeups) for _, wakeups in found[ready])))
    print("start, median: ready / plain %.3fx" % (
        statistics.median(start for start, _ in found[True])
        / statistics.median(start for start, _ in found[False])))
    return 0


def against_main(args):
    other = Path(args[0]) / "runsvdir"
    count = int(args[1]) if len(args) > 1 else 1000
    rounds = int(args[2]) if len(args) > 2 else 10
    workdir = Path(tempfile.mkdtemp(prefix="bench-readiness-against-"))
    found = {"this": [], "other": []}
    builds = [("this", BIN / "runsvdir"), ("other", other)]
    print("load average before: %.2f %.2f %.2f" % os.getloadavg())
    try:
        for number in range(rounds):
            for name, runsvdir in (builds if number % 2 == 0 else builds[::-1]):
                found[name].append(tree_round(workdir, count, False, runsvdir, idle=False)[0])
    finally:
        shutil.rmtree(str(workdir), ignore_errors=True)
    for name, runsvdir in builds:
        print("%-5s %s, %d services: start %s s, median %.2f s" % (
            name, runsvdir, count, " ".join("%.2f" % start for start in found[name]),
            statistics.median(found[name])))
    print("start, median: this / other %.3fx" % (
        statistics.median(found["this"]) / statistics.median(found["other"])))
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())
    return 0


def main():
    if sys.argv[1:2] == ["--tree"]:
        return tree_main(sys.argv[2:])
    if sys.argv[1:2] == ["--against"]:
        return against_main(sys.argv[2:])
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    gate_after = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1
    workdir = Path(tempfile.mkdtemp(prefix="bench-readiness-"))
    print("load average before: %.2f %.2f %.2f" % os.getloadavg())
    sides = []
    try:
        sides.append(Side("ours", str(BIN / "runsv"), OUR_SV, workdir))
        if os.path.exists(C_RUNSV) and os.path.exists(C_SV):
            sides.append(Side("C", C_RUNSV, [C_SV], workdir))
        for number in range(rounds):
            for side in (sides if number % 2 == 0 else sides[::-1]):
                side.round(gate_after)
        for side in sides:
            print("%-5s ready -> sv -w start returned: p50 %.2f ms, p90 %.2f ms, max %.2f ms"
                  " (%d rounds); -> its ok: line p50 %.2f ms, p90 %.2f ms; sv's CPU p50"
                  " %.2f ms, p90 %.2f ms" % (
                      side.name, statistics.median(side.samples),
                      percentile(side.samples, 0.9), max(side.samples), rounds,
                      statistics.median(side.said), percentile(side.said, 0.9),
                      statistics.median(side.cpu), percentile(side.cpu, 0.9)))
        for side in sides:
            print("%-5s where it goes, p50 / p90: READY=1 -> recorded %s; -> sv's ok: line %s;"
                  " -> sv's exit %s" % ((side.name,) + tuple(
                      "%.2f / %.2f ms" % (statistics.median(part), percentile(part, 0.9))
                      for part in zip(*side.split))))
            print("%-5s waiting for a CPU meanwhile, p50 / p90: sv (READY=1 -> ok: line) %s;"
                  " runsv %s; this script (READY=1 -> sv reaped) %s" % ((side.name,) + tuple(
                      "%.2f / %.2f ms" % (statistics.median(part), percentile(part, 0.9))
                      for part in zip(*side.queued))))
        if len(sides) == 2:
            ours, c = sides
            print("ours / C: wall p50 %.3fx, p90 %.3fx; CPU p50 %.3fx" % (
                statistics.median(ours.samples) / statistics.median(c.samples),
                percentile(ours.samples, 0.9) / percentile(c.samples, 0.9),
                statistics.median(ours.cpu) / statistics.median(c.cpu)))
        print("load average after: %.2f %.2f %.2f" % os.getloadavg())
        return 0
    finally:
        for side in sides:
            side.close()
        shutil.rmtree(str(workdir), ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
