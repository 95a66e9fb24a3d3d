#!/usr/bin/env python3
"""bench: ``runit-provision verify`` of 200 logged services on ``local://``, against the budget
of 3 s (SPEC §6), and how many commands it runs on the host as services and trees grow.

a. wall time: ``.venv/bin/runit-provision verify --data FILE`` (the installed console script,
   a fresh interpreter each run: imports, data, render, the host read, every check, the
   report), median and max of ``--runs`` runs, on a tree of N services that is up — each
   ``exec sleep`` with the stock logger (``svlogd -tt``) — supervised by our runsvdir
   (``runtime: python``) and, side by side, by the C runit (``runtime: system``) when installed.
   Every run must pass (exit 0); the first runs after start-up are waited for, not counted.
   The same with ``--probe sh`` (the host read by POSIX sh and sv, for hosts without python3).
b. where the time goes, in-process: data + render, the checks derived, the host read (the
   one ``host.run``), the checks run.
c. commands on the host: ``host.run`` calls of one verify (counted by wrapping testinfra's
   ``Host.run``), with the bytes of the command and of the answer, for 10, 200 and 1000
   services in the system tree and for 200 services spread over the system tree and 4 users'
   trees. The trees need not run for this count.

Scratch directories are relocated through the data (``sv_dir``, ``service_dir``, ``log_dir``,
users' ``home``) under one temporary directory; each supervisor is started in a session of its
own and ended, with everything below it, by pid when its phase ends (nothing by name).

Usage: ``.venv/bin/python bench/verify.py [--services N] [--runs N] [--quick] [--json FILE]``
"""

import json
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
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

BUDGET_SECONDS = 3.0
OUR_BIN = ROOT / ".venv" / "bin"
C_RUNSVDIR = "/usr/bin/runsvdir"
BASE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
USERS = ("daemon", "bin", "sys", "nobody")


def data_for(scratch, services, runtime, users=0):
    """``services`` logged sleeps; ``users`` of them moved into that many users' trees."""
    names = ["svc-%04d" % number for number in range(services)]
    run = {"command": ["sleep", "100000"]}
    data = {"runtime": runtime, "init": "none", "sv_dir": str(scratch / "sv"),
            "service_dir": str(scratch / "service"), "log_dir": str(scratch / "log"),
            "services": {}, "users": {}}
    trees = [None] + list(USERS[:users])
    for index, name in enumerate(names):
        login = trees[index % len(trees)]
        if login is None:
            data["services"][name] = dict(run)
        else:
            user = data["users"].setdefault(login, {
                "home": str(scratch / "home" / login), "groups": [login if login != "nobody"
                                                                   else "nogroup"],
                "services": {}})
            user["services"][name] = dict(run)
    if not data["users"]:
        del data["users"]
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / ("data-%s-%d-%d.yaml" % (runtime, services, users))
    path.write_text(yaml.safe_dump({"runit": data}))
    return path


def put_on_disk(data_file):
    """Render the data and write its tree, as the applier would (owners: root here)."""
    from runit_provision.accounts import NO_ACCOUNTS
    from runit_provision.cli.render import write_tree
    from runit_provision.hiera import load
    from runit_provision.render import render
    from runit_provision.schema import config_from_data

    data, origins = load(data=str(data_file), facts={}).runit_data()
    write_tree(render(config_from_data(data, origins, NO_ACCOUNTS)), "/")


# -- supervisors ------------------------------------------------------------------------------
def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def stop(proc):
    pids = descendants(proc.pid) + [proc.pid]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def start(runsvdir, service_dir, path):
    return subprocess.Popen([runsvdir, str(service_dir)], env={"PATH": path},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def verify_argv(data_file, *extra):
    return [str(OUR_BIN / "runit-provision"), "verify", "--data", str(data_file)] + list(extra)


def wall_times(data_file, path, runs, extra=()):
    env = dict(os.environ, PATH=path)
    deadline = time.monotonic() + 60
    while True:  # the tree comes up: wait for a passing verify, not counted
        result = subprocess.run(verify_argv(data_file, *extra), env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.returncode == 0:
            break
        if time.monotonic() > deadline:
            raise SystemExit("verify never passed:\n" + result.stdout[-3000:])
        time.sleep(0.5)
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        result = subprocess.run(verify_argv(data_file, *extra), env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        samples.append(time.perf_counter() - began)
        if result.returncode != 0:
            raise SystemExit("verify failed on a correct tree:\n" + result.stdout[-3000:])
    return samples


# -- in process: the breakdown and the command count -------------------------------------------
class Counter:
    runs = 0
    sent = 0
    received = 0


def counting_host():
    """testinfra's local host, every ``Host.run`` counted (the class wrapped once)."""
    import testinfra
    from testinfra.host import Host

    if not getattr(Host.run, "counted", False):
        original = Host.run

        def run(self, command, *args, **kwargs):
            Counter.runs += 1
            Counter.sent += len(command)
            result = original(self, command, *args, **kwargs)
            Counter.received += len(result.stdout_bytes)
            return result
        run.counted = True
        Host.run = run
    return testinfra.get_host("local://")


def breakdown(data_file, path):
    from runit_provision.checks.expected import expectations
    from runit_provision.checks.snapshot import take_snapshot
    from runit_provision.hiera import load
    from runit_provision.render import render
    from runit_provision.schema import config_from_data
    from runit_provision.accounts import NO_ACCOUNTS

    os.environ["PATH"] = path
    host = counting_host()
    times = {}
    began = time.perf_counter()
    data, origins = load(data=str(data_file), facts={}).runit_data()
    config = config_from_data(data, origins, NO_ACCOUNTS)
    tree = render(config)
    times["data + render"] = time.perf_counter() - began
    began = time.perf_counter()
    expected = expectations(config, tree)
    times["checks derived"] = time.perf_counter() - began
    Counter.runs = Counter.sent = Counter.received = 0
    began = time.perf_counter()
    snapshot = take_snapshot(host, expected.request)
    times["host read (%d host.run)" % Counter.runs] = time.perf_counter() - began
    began = time.perf_counter()
    failed = [check for check in expected.checks if check.skip is None and check.test(snapshot)]
    times["%d checks run" % len(expected.checks)] = time.perf_counter() - began
    return times, len(failed), (Counter.runs, Counter.sent, Counter.received,
                                len(expected.checks))


def command_counts(scratch, path):
    rows = []
    for services, users in ((10, 0), (200, 0), (1000, 0), (200, 4)):
        data_file = data_for(scratch / ("count-%d-%d" % (services, users)), services, "python",
                             users)
        _, _, (runs, sent, received, checks) = breakdown(data_file, path)
        rows.append({"services": services, "trees": 1 + users, "checks": checks,
                     "host_runs": runs, "command_bytes": sent, "answer_bytes": received})
    return rows


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    services, runs, out, quick = 200, 5, None, False
    while argv:
        flag = argv.pop(0)
        if flag == "--services":
            services = int(argv.pop(0))
        elif flag == "--runs":
            runs = int(argv.pop(0))
        elif flag == "--json":
            out = argv.pop(0)
        elif flag == "--quick":
            quick, runs = True, 3
        else:
            raise SystemExit(__doc__.strip().splitlines()[-1])
    scratch = Path(tempfile.mkdtemp(prefix="verify-bench."))
    results = {"services": services, "runs": runs, "budget_seconds": BUDGET_SECONDS,
               "trees": []}
    try:
        supervisors = [("ours", str(OUR_BIN / "runsvdir"), "python",
                        "%s:%s" % (OUR_BIN, BASE_PATH))]
        if os.access(C_RUNSVDIR, os.X_OK) and not quick:
            supervisors.append(("C runit", C_RUNSVDIR, "system", BASE_PATH))
        print("verify of %d logged services on local://, %d runs each (budget %.1f s)"
              % (services, runs, BUDGET_SECONDS))
        print("%-10s %-14s %10s %10s  %s" % ("tree", "probe", "median s", "max s", ""))
        for label, runsvdir, runtime, path in supervisors:
            base = scratch / label.replace(" ", "-")
            data_file = data_for(base, services, runtime)
            put_on_disk(data_file)
            proc = start(runsvdir, base / "service", path)
            try:
                for probe, extra in (("python3", ()), ("sh + sv", ("--probe", "sh"))):
                    samples = wall_times(data_file, path, runs, extra)
                    median = statistics.median(samples)
                    mark = ("ok" if median <= BUDGET_SECONDS else "OVER BUDGET") \
                        if probe == "python3" else "(no budget)"
                    print("%-10s %-14s %10.3f %10.3f  %s" % (label, probe, median, max(samples),
                                                             mark))
                    results["trees"].append({"tree": label, "probe": probe,
                                             "median_s": median, "max_s": max(samples)})
                if label == "ours":
                    times, failed, _ = breakdown(data_file, path)
                    results["breakdown"] = times
            finally:
                stop(proc)
        print("\nwhere the time goes (in-process, ours): " + ", ".join(
            "%s %.0f ms" % (name, seconds * 1000)
            for name, seconds in results["breakdown"].items()))
        rows = command_counts(scratch, "%s:%s" % (OUR_BIN, BASE_PATH))
        results["commands"] = rows
        print("\n%-9s %-6s %-7s %10s %14s %13s" % ("services", "trees", "checks", "host.run",
                                                   "command bytes", "answer bytes"))
        for row in rows:
            print("%-9d %-6d %-7d %10d %14d %13d" % (
                row["services"], row["trees"], row["checks"], row["host_runs"],
                row["command_bytes"], row["answer_bytes"]))
        if out:
            Path(out).write_text(json.dumps(results, indent=2) + "\n")
    finally:
        shutil.rmtree(str(scratch), ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
