"""bench: ``timer-run`` (a timer's ``./run`` under the C runsv) — its start until the wait is
armed (``supervise/timer`` written, the moment before it arms its timerfd), and its PSS while
waiting beside a C ``runsv``'s.

    .venv/bin/python bench/timer_run.py [RUNS=20]

Each run starts the waiter as install-runtime's launcher does (``python3 -SI``, the package
on sys.path), in a service directory whose schedule elapses once a year, and polls for the
record every 0.2 ms; the median and the spread of RUNS are printed, beside the median start
of a bare ``python3 -SI -c pass`` interleaved with them. Then one waiter under a
real C runsv: PSS (kB, /proc/PID/smaps_rollup) of the waiter and of the runsv, and of a C
runsv supervising ``sleep`` for comparison.
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

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = ("import sys; sys.path.insert(0, %r)\n"
            "from runit_provision.runtime.timerrun import main\nsys.exit(main())" % str(ROOT))
SCHEDULE = "timer 1\nwhen=*-01-01 00:00:00\n"


def service(parent, name, run):
    where = Path(parent) / name
    (where / "supervise").mkdir(parents=True)
    for file, text in (("run", run), ("job", "#!/bin/sh\nexit 0\n")):
        (where / file).write_text(text)
        (where / file).chmod(0o755)
    (where / "schedule").write_text(SCHEDULE)
    return where


def armed_after(where):
    """Seconds from the start of a waiter to its record, and the waiter (still waiting)."""
    record = where / "supervise" / "timer"
    if record.exists():
        record.unlink()
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-SI", "-c", LAUNCHER], cwd=where,
                            start_new_session=True)
    deadline = began + 10
    while not record.exists():
        if time.perf_counter() > deadline:
            proc.kill()
            raise SystemExit("no record within 10 s")
        time.sleep(0.0002)
    return time.perf_counter() - began, proc


def pss_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return None


def end(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(10)


def wait_for(predicate, what, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(what + ": not within %d s" % timeout)
        time.sleep(0.01)


def main(argv):
    runs = int(argv[1]) if len(argv) > 1 else 20
    parent = tempfile.mkdtemp(prefix="timer-run-bench.")
    try:
        where = service(parent, "waiter", "#!/bin/sh\nexec timer-run\n")
        seconds, bare = [], []
        for _ in range(runs):  # interleaved with a bare interpreter's start, the floor
            took, proc = armed_after(where)
            end(proc)
            seconds.append(took * 1000)
            began = time.perf_counter()
            subprocess.run([sys.executable, "-SI", "-c", "pass"], check=True)
            bare.append((time.perf_counter() - began) * 1000)
        print("timer-run start to armed, %d runs: median %.1f ms (min %.1f, max %.1f); a bare "
              "python3 -SI: median %.1f ms" % (runs, statistics.median(seconds), min(seconds),
                                                max(seconds), statistics.median(bare)))
        shutil.rmtree(where / "supervise")
        bin_dir = Path(parent) / "bin"
        bin_dir.mkdir()
        (bin_dir / "timer-run").write_text("#!%s -SI\n%s\n" % (sys.executable, LAUNCHER))
        (bin_dir / "timer-run").chmod(0o755)
        env = {"PATH": "%s:/usr/bin:/bin" % bin_dir}
        daemon = service(parent, "daemon", "#!/bin/sh\nexec sleep 1000\n")
        procs = [subprocess.Popen(["/usr/bin/runsv", str(where)], env=env,
                                  start_new_session=True),
                 subprocess.Popen(["/usr/bin/runsv", str(daemon)], env=env,
                                  start_new_session=True)]
        try:
            wait_for(lambda: (where / "supervise" / "timer").exists(), "the waiter's record")
            time.sleep(0.5)
            waiter = int((where / "supervise" / "pid").read_text())
            print("PSS while waiting: timer-run %d kB; its C runsv %d kB; a C runsv of a "
                  "daemon %d kB" % (pss_kb(waiter), pss_kb(procs[0].pid), pss_kb(procs[1].pid)))
        finally:
            for proc in procs:
                end(proc)
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
