#!/usr/bin/env python3
"""bench: memory and start of per-user trees — U users with S logged services each, under the C
runit, s6 and ours, side by side in one run (issue 29; SPEC §6 "per-user trees").

The host is the security tier's sandbox (``tests/security/sandbox.py``): a private mount
namespace with U scratch users (uids 62001 on), one root service and, for each user, S services
``sleep 100000``, each logged into ``~/logs/NAME``, plus the user's own tree, whose output
root's logger writes into root's ``LOG_DIR/runsvdir-LOGIN``:

* C runit and ours: the data applied by the real ``runit-provision apply`` under root's tree —
  the C ``runsvdir`` (``runtime: system``) or ours. Each user's tree is the system service
  ``runsvdir-LOGIN`` (``chpst -u LOGIN … runsvdir ~/service``), its log root's ``svlogd``;
* s6 (Debian's ``s6``): the same layout written by hand — root's ``s6-svscan`` with a service
  ``s6-svscan-LOGIN`` per user (``s6-setuidgid LOGIN s6-svscan ~/service``, its log root's
  ``s6-log t LOG_DIR/runsvdir-LOGIN``), each user service with an ``s6-log t``.

What is measured, for one implementation and one size at a time (PSS shares pages with whoever
maps them), once every service runs and a settling pause has passed: PSS and USS
(``/proc/PID/smaps_rollup``) of every supervision process — every process below root's
supervisor or in its session that is not a ``sleep``; and their total as if alone
(``tree.alone_pss_kb``: a page shared with a process outside them counted in full — the bench
runs the same Python as ours). The per-user slope is the least-squares
slope of the totals over the user counts at the first service count. "start" is the time from
starting root's supervisor on an applied, stopped host (every process ended, the files left) to
every ``sleep`` running: from root's supervisor's start to the last service's, both read from
``/proc/PID/stat`` (clock ticks: 10 ms steps). The bench looks for the services every 0.25 s,
and the figure does not depend on when it looks: looking every 5 ms, as it once did, read all
of ``/proc`` some 200 times a second and took about half of one of two cores from the
start it measured.

The sandbox is made under ``$TMPDIR`` (``/tmp`` by default): put it on a filesystem like a
host's ``/home``. An ext4 without a journal (this project's VM's root) makes every new inode
skip each one deleted in the last ~30 s (``recently_deleted`` in ext4's inode allocator):
every ``supervise/*.new`` renamed over its file frees one, and 200 users' starts side by
side turn that quadratic. A journaled image:
``truncate -s 4G IMG && mkfs.ext4 -q IMG && mount -o loop IMG DIR && chmod 1777 DIR``.

The starts are measured ``--rounds`` times for each implementation, interleaved round by round
(the machine's other load lands on every side alike), and the median is reported. Each round's
tree runs ``--settle`` seconds before it is killed, as the memory's does: every round then
starts from a tree killed while idle (one killed mid-start leaves starts its next tree looks
for in ``/proc``, a kill -9's recovery the C runit and s6 do not do). ``--timeline``
prints, for the median round, when each kind of process started (``/proc/PID/stat``'s start
time, in clock ticks: 10 ms steps) — where a start's time goes.

Usage: ``.venv/bin/python bench/user_trees.py [--users 1 10 40] [--services 3 20] [--impls c s6
ours] [--settle SECONDS] [--rounds N] [--timeline] [--log-every SECONDS --soak SECONDS] [--json
FILE] [--hold FILE]`` (needs root, unshare, nsenter, setpriv). By default the four sizes of
issue 29's table: 1×3, 10×3, 40×3 and 10×20. ``--log-every``: each service writes a 60-byte
line that often instead of sleeping (a ``sh`` loop, told from the supervision processes by its
``$0``); ``--soak``: the USS of every supervision process is measured again after that long, to
see what logging adds; ``--hold``: each implementation's processes, once measured, are written
to FILE and kept running until FILE is removed — ``bench/pagediff.py`` attributes their pages.
"""

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.runtime.processes import (  # noqa: E402
    BASE_PATH, descendants, end_processes_under, kill_pids, processes_under, running_pid,
    wait_until)
from tests.security.sandbox import Namespace, Sandbox, scratch_users  # noqa: E402
from tree import alone_pss_kb, read_or_none  # noqa: E402 — bench/, this script's own directory

SLEEP = {"command": ["sleep", "100000"]}
SERVICE_MARK = "user-trees-bench-service"
SERVICES = "service (sleep)"  # the timeline's kind of the services themselves
LOOK_EVERY = 0.25  # seconds between two looks for the services (each reads all of /proc)  # the $0 of a logging service's sh loop


def service_data(log_every=None):
    """A user's service: ``sleep``, or a loop writing a line every ``log_every`` seconds."""
    if not log_every:
        return dict(SLEEP)
    return {"command": ["/bin/sh", "-c", "while :; do echo a line of sixty bytes from service"
                        " $$ of the bench; sleep %s; done" % log_every, SERVICE_MARK]}


S6 = {"svscan": "/usr/bin/s6-svscan", "log": "/usr/bin/s6-log",
      "setuidgid": "/usr/bin/s6-setuidgid"}
DEFAULT_SIZES = ((1, 3), (10, 3), (40, 3), (10, 20))


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


def kind_of(pid):
    """What a supervision process is, for the per-process table: its comm, and for trees
    whether root's or a user's (by uid)."""
    comm = (read_or_none("/proc/%d/comm" % pid) or b"?").decode().strip()
    words = (read_or_none("/proc/%d/cmdline" % pid) or b"").split(b"\0")
    status = (read_or_none("/proc/%d/status" % pid) or b"").decode()
    uid = next((line.split()[1] for line in status.splitlines() if line.startswith("Uid:")),
               "?")
    who = "root" if uid == "0" else "user"
    if words and words[0].startswith(b"svlogd") and len(words) > 1 \
            and words[1].startswith(b"-s"):
        comm = "stand-in"
    elif words and words[0] == b"pipekeeper":
        comm = "pipekeeper"
    return "%s (%s)" % (comm, who)


def session_of(pid):
    fields = (read_or_none("/proc/%d/stat" % pid) or b"").rsplit(b")", 1)[-1].split()
    return int(fields[3]) if len(fields) > 3 else None  # field 6: the session


def is_service(pid):
    """A service of the bench's (``sleep``, or a logging loop), or gone."""
    if (read_or_none("/proc/%d/comm" % pid) or b"sleep").strip() == b"sleep":
        return True
    return SERVICE_MARK.encode() in (read_or_none("/proc/%d/cmdline" % pid) or b"").split(b"\0")


def supervision_processes(root_pid):
    """Every process below ``root_pid`` or in its session, but the services."""
    session = session_of(root_pid)
    pids = set(descendants(root_pid)) | {root_pid}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and session is not None and session_of(int(entry)) == session:
            pids.add(int(entry))
    return sorted(pid for pid in pids if not is_service(pid))


def sleeps_under(base):
    """The services running under ``base`` (a logging loop's passing ``sleep`` aside)."""
    found = []
    for pid in processes_under(base):
        words = (read_or_none("/proc/%d/cmdline" % pid) or b"").split(b"\0")
        if words[:2] == [b"sleep", b"100000"] or SERVICE_MARK.encode() in words:
            found.append(pid)
    return found


# -- the C runit and ours: the real apply ---------------------------------------------------------
class Applied:
    """A sandbox of ``users`` × ``services`` applied under root's tree (``impl``: c or ours)."""

    def __init__(self, namespace, impl, users, services, log_every=None):
        self.sandbox = Sandbox(namespace, impl)
        self.sandbox.services = {"rootsvc": dict(SLEEP)}
        self.sandbox.user_services = {login: {"s%02d" % index: service_data(log_every)
                                              for index in range(services)}
                                      for login in users}
        self.base = self.sandbox.base
        self.expected = 1 + len(users) * services
        self.said = 0  # bytes of the tree's output already shown

    def up(self):
        self.sandbox.start_tree()
        self.sandbox.apply()
        for side in self.sandbox.all_sides():
            wait_until(lambda side=side: running_pid(side), timeout=120, what=str(side))
        return self.sandbox.tree.pid

    def stop_all(self):
        self.say_what_the_tree_said()
        tree = self.sandbox.tree
        kill_pids(set(descendants(tree.pid)) | {tree.pid} | processes_under(self.base))
        tree.wait()
        end_processes_under(self.base)

    def start(self):
        return self.sandbox.start_tree().pid

    def say_what_the_tree_said(self):
        """Root's tree's messages since the last look, on stderr: a round that took the old
        way (users' trees exec'd when the fork server is gone or slow) says why."""
        try:
            with open(str(self.sandbox.outputs), "rb") as out:
                out.seek(self.said)
                new = out.read()
        except OSError:
            return
        self.said += len(new)
        lines = new.decode("utf-8", "replace").splitlines()
        if lines:
            print("root's tree said (%d lines; the first 10):" % len(lines), file=sys.stderr)
            for line in lines[:10]:
                print("  " + line[:240], file=sys.stderr)

    def close(self):
        self.sandbox.close()


# -- s6: the same layout, by hand -----------------------------------------------------------------
def _script(path, text, owner=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(0o755)
    if owner is not None:
        os.chown(str(path), owner, owner)


class S6Host:
    """Root's ``s6-svscan`` with one ``s6-svscan-LOGIN`` per user, every service logged."""

    def __init__(self, namespace, users, services, log_every=None):
        self.ns = namespace
        self.base = Path(tempfile_dir("rp-s6-"))
        self.base.chmod(0o755)
        (self.base / "home").mkdir()
        (self.base / "home").chmod(0o755)
        self.scan = self.base / "scan"
        self.expected = 1 + len(users) * services
        self.proc = None
        _script(self.scan / "rootsvc" / "run", "exec sleep 100000\n")
        _script(self.scan / "rootsvc" / "log" / "run",
                "exec %s t %s\n" % (S6["log"], self.base / "log" / "rootsvc"))
        (self.base / "log").mkdir()
        for login in users:
            uid = namespace.users[login]
            home = self.base / "home" / login
            for sub in ("", "service", "logs"):
                (home / sub).mkdir(exist_ok=True)
                os.chown(str(home / sub), uid, uid)
            home.chmod(0o750)
            name = "s6-svscan-" + login
            _script(self.scan / name / "run", "exec 2>&1\nexec %s %s %s %s\n"
                    % (S6["setuidgid"], login, S6["svscan"], home / "service"))
            _script(self.scan / name / "log" / "run", "exec %s t %s\n"
                    % (S6["log"], self.base / "log" / name))
            for index in range(services):
                service = home / "service" / ("s%02d" % index)
                _script(service / "run", "exec %s\n" % " ".join(
                    shlex.quote(word) for word in service_data(log_every)["command"]), uid)
                _script(service / "log" / "run", "exec %s t %s\n"
                        % (S6["log"], home / "logs" / ("s%02d" % index)), uid)
                for directory in (service, service / "log"):
                    os.chown(str(directory), uid, uid)
        subprocess.run(["chown", "-R", "%d:%d" % (0, 0), str(self.scan)], check=True)

    def start(self):
        env = {"PATH": BASE_PATH}
        self.proc = self.ns.start([S6["svscan"], self.scan], env, self.base / "svscan.out")
        return self.proc.pid

    def up(self):
        pid = self.start()
        wait_until(lambda: len(sleeps_under(self.base)) >= self.expected, timeout=120,
                   what="every s6 service running")
        return pid

    def stop_all(self):
        kill_pids(set(descendants(self.proc.pid)) | {self.proc.pid} | processes_under(self.base))
        self.proc.wait()
        end_processes_under(self.base)
        for supervise in list(self.base.rglob("supervise")) + list(self.scan.glob(".s6-svscan")):
            shutil.rmtree(str(supervise), ignore_errors=True)

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.stop_all()
        shutil.rmtree(str(self.base), ignore_errors=True)


def tempfile_dir(prefix):
    import tempfile
    return tempfile.mkdtemp(prefix=prefix)


# -- one measurement ------------------------------------------------------------------------------
def set_up(namespace, impl, users, services, log_every=None):
    """The host of ``impl`` for one size, applied (or written), every process ended."""
    logins = list(namespace.users)[:users]
    return (S6Host(namespace, logins, services, log_every) if impl == "s6"
            else Applied(namespace, impl, logins, services, log_every))


def measure_memory(host, settle, soak=0.0, hold=None):
    """PSS and USS of every supervision process once all runs (and again after ``soak``
    seconds more, when given); then every process ended — after ``hold``, a file written with
    the processes measured, is removed, when given."""
    root_pid = host.up()
    wait_until(lambda: len(sleeps_under(host.base)) >= host.expected, timeout=120,
               what="every service running")
    time.sleep(settle)
    processes = _measured(root_pid)
    if hold:  # the processes, for bench/pagediff.py; kept running until the file is removed
        Path(hold).write_text(json.dumps(processes, indent=1))
        while Path(hold).exists():
            time.sleep(0.5)
    found = {"pss": sum(p["pss"] for p in processes), "uss": sum(p["uss"] for p in processes),
             "alone": alone_pss_kb([p["pid"] for p in processes]),
             "processes": processes, "starts": [], "timelines": []}
    if soak:
        time.sleep(soak)
        found["after_soak"] = _measured(root_pid)
    host.stop_all()
    return found


def _measured(root_pid):
    processes = []
    for pid in supervision_processes(root_pid):
        found = memory_kb(pid)
        found.update(pid=pid, kind=kind_of(pid))
        processes.append(found)
    return processes


def measure_start(host, settle):
    """Seconds from starting root's supervisor on the stopped host to every service running,
    and when each process of the tree started (``timeline``); then, ``settle`` seconds
    later, every process ended."""
    root_pid = host.start()
    wait_until(lambda: len(sleeps_under(host.base)) >= host.expected, timeout=120,
               interval=LOOK_EVERY, what="every service running again")
    found = timeline(root_pid, sleeps_under(host.base))
    time.sleep(settle)
    host.stop_all()
    return found[SERVICES][0][-1] / 1000.0, found


def timeline(root_pid, sleeps):
    """kind -> ``(start times, CPU ms, ms waited for a CPU)``: when each supervision process
    and service started, in ms after root's supervisor (``/proc/PID/stat`` field 22, in clock
    ticks: 10 ms on most kernels), the CPU time the kind's processes have used so far and the
    time they were ready to run but waited for a CPU (``/proc/PID/schedstat``'s first two
    fields, in ns: a C runsv's are well below a tick). A process that does the work of many
    in one — root's tree of ours — shows there how much of the start it waited its turn."""
    tick_ms = 1000.0 / os.sysconf("SC_CLK_TCK")
    root_start = start_ticks(root_pid)
    found = {}
    for pid in set(supervision_processes(root_pid)) | set(sleeps):
        ticks = start_ticks(pid)
        if ticks is not None and root_start is not None:
            kind = SERVICES if pid in sleeps else kind_of(pid)
            times, cpu, waited = found.get(kind, ([], 0.0, 0.0))
            times.append((ticks - root_start) * tick_ms)
            ran_ns, waited_ns = schedstat_ns(pid)
            found[kind] = (times, cpu + ran_ns / 1e6, waited + waited_ns / 1e6)
    return {kind: (sorted(times), cpu, waited) for kind, (times, cpu, waited) in found.items()}


def start_ticks(pid):
    """When ``pid`` started, in clock ticks since boot; None once it is gone."""
    fields = (read_or_none("/proc/%d/stat" % pid) or b"").rsplit(b")", 1)[-1].split()
    return int(fields[19]) if len(fields) > 19 else None  # field 22


def schedstat_ns(pid):
    """The CPU time ``pid`` has used and the time it waited, ready, for a CPU, in ns (0, 0
    once it is gone)."""
    fields = (read_or_none("/proc/%d/schedstat" % pid) or b"0 0").split()
    return int(fields[0]), int(fields[1])


def measure_size(namespace, impls, users, services, settle, rounds, log_every=None, soak=0.0,
                 hold=None):
    """Memory of each implementation, one at a time; then ``rounds`` starts of each,
    interleaved round by round (the machine's other load lands on every side alike)."""
    hosts, results = {}, {}
    try:
        for impl in impls:
            hosts[impl] = set_up(namespace, impl, users, services, log_every)
            results[impl] = measure_memory(hosts[impl], settle, soak, hold)
        for _ in range(rounds):
            for impl in impls:
                seconds, found = measure_start(hosts[impl], settle)
                results[impl]["starts"].append(seconds)
                results[impl]["timelines"].append(found)
        for found in results.values():
            found["start_seconds"] = median(found["starts"])
    finally:
        for host in hosts.values():
            host.close()
    return results


def median(values):
    """>>> median([3, 1, 2]), median([4, 1, 2, 3])
    (2, 2.5)
    """
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def slope(points):
    """Least-squares slope of (x, y) points.

    >>> slope([(1, 2.0), (10, 20.0), (40, 80.0)])
    2.0
    """
    count = len(points)
    mean_x = sum(x for x, _ in points) / count
    mean_y = sum(y for _, y in points) / count
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0


def installed(impl):
    if impl == "c":
        return os.access("/usr/bin/runsvdir", os.X_OK)
    if impl == "s6":
        return all(os.access(path, os.X_OK) for path in S6.values())
    return True


def helper_table(processes):
    """kind -> (count, USS min, USS max, PSS sum) in kB."""
    table = {}
    for process in processes:
        entry = table.setdefault(process["kind"], [0, None, 0, 0])
        entry[0] += 1
        entry[1] = process["uss"] if entry[1] is None else min(entry[1], process["uss"])
        entry[2] = max(entry[2], process["uss"])
        entry[3] += process["pss"]
    return table


def report(results, sizes, impls, show_timeline=False):
    mb = 1024.0
    print("PSS of every supervision process, MB (processes); start = root's supervisor started "
          "on an applied host -> every service running (the median of the rounds)")
    print("%-8s" % "U x S" + "".join("%26s" % impl for impl in impls) + "%10s" % "ours/C")
    for users, services in sizes:
        row = "%-8s" % ("%dx%d" % (users, services))
        for impl in impls:
            found = results.get(impl, {}).get("%dx%d" % (users, services))
            row += "%26s" % ("not installed" if found is None else "%.2f (%d) start %.2fs" % (
                found["pss"] / mb, len(found["processes"]), found["start_seconds"]))
        ours = results.get("ours", {}).get("%dx%d" % (users, services))
        c = results.get("c", {}).get("%dx%d" % (users, services))
        row += "%10s" % ("%.2fx" % (ours["pss"] / c["pss"]) if ours and c else "-")
        print(row)
    first = sizes[0][1]
    line = "%-8s" % "slope"
    for impl in impls:
        points = [(users, found["pss"] / mb) for key, found in results.get(impl, {}).items()
                  for users, services in [map(int, key.split("x"))] if services == first]
        line += "%26s" % ("%.2f MB/user (S=%d)" % (slope(points), first) if len(points) > 1
                          else "-")
    print(line)
    print("\nas if alone (bench/tree.py's alone_pss_kb: a page shared with a process outside "
          "the tree counted in full), MB")
    for users, services in sizes:
        key = "%dx%d" % (users, services)
        print("%-8s" % key + "".join(
            "%26s" % ("-" if "alone" not in results.get(impl, {}).get(key, {}) else
                      "%.2f" % (results[impl][key]["alone"] / mb)) for impl in impls))
    print("\nstart, s: median (min-max) of the rounds, interleaved")
    for users, services in sizes:
        key = "%dx%d" % (users, services)
        print("%-8s" % key + "".join(
            "%26s" % ("-" if key not in results.get(impl, {}) else "%.3f (%.3f-%.3f)" % (
                results[impl][key]["start_seconds"], min(results[impl][key]["starts"]),
                max(results[impl][key]["starts"]))) for impl in impls))
    if show_timeline:
        print_timelines(results, impls)
    for impl in impls:
        for key, found in results.get(impl, {}).items():
            print("\n%s %s, per kind: count, USS min-max kB, PSS sum kB" % (impl, key))
            for kind, (count, low, high, pss) in sorted(helper_table(found["processes"]).items()):
                print("  %-28s %4d %8d-%-8d %8d" % (kind, count, low, high, pss))
            if "after_soak" in found:
                print("  after the soak:")
                for kind, (count, low, high, pss) in sorted(
                        helper_table(found["after_soak"]).items()):
                    print("  %-28s %4d %8d-%-8d %8d" % (kind, count, low, high, pss))


def print_timelines(results, impls):
    """For the round of the median start: when each kind of process started."""
    for impl in impls:
        for key, found in results.get(impl, {}).items():
            if not found["starts"]:
                continue
            middle = sorted(range(len(found["starts"])),
                            key=found["starts"].__getitem__)[len(found["starts"]) // 2]
            print("\n%s %s, start %.3f s: started, ms after root's supervisor: count, first, "
                  "median, last; CPU ms used, ms waited for a CPU"
                  % (impl, key, found["starts"][middle]))
            for kind, (times, cpu, waited) in sorted(found["timelines"][middle].items(),
                                                     key=lambda item: item[1][0][0]):
                print("  %-28s %4d %6.0f %6.0f %6.0f %6.0f %6.0f" % (
                    kind, len(times), times[0], median(times), times[-1], cpu, waited))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="+", help="user counts")
    parser.add_argument("--services", type=int, nargs="+", help="logged services per user")
    parser.add_argument("--impls", nargs="+", default=["c", "s6", "ours"])
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--rounds", type=int, default=5,
                        help="starts of each implementation, interleaved round by round")
    parser.add_argument("--timeline", action="store_true",
                        help="when each kind of process started, ms after root's supervisor")
    parser.add_argument("--log-every", type=float, metavar="SECONDS",
                        help="each service writes a line that often (default: it sleeps)")
    parser.add_argument("--soak", type=float, default=0.0, metavar="SECONDS",
                        help="measure USS again after that long")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--hold", metavar="FILE",
                        help="once measured, write the processes (pid, kind, PSS, USS) to FILE "
                        "and keep them running until FILE is removed (for bench/pagediff.py)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("needs root (a namespace with scratch users)")
        return 1
    if args.users or args.services:
        sizes = [(users, services) for services in (args.services or [3])
                 for users in (args.users or [1, 10])]
    else:
        sizes = list(DEFAULT_SIZES)
    impls = [impl for impl in args.impls if installed(impl) or print(impl + ": not installed")]
    namespace = Namespace(scratch_users(max(users for users, _ in sizes)))
    results = {}
    try:
        for users, services in sizes:
            found = measure_size(namespace, impls, users, services, args.settle, args.rounds,
                                 args.log_every, args.soak, args.hold)
            for impl, measured in found.items():
                results.setdefault(impl, {})["%dx%d" % (users, services)] = measured
    finally:
        namespace.close()
    report(results, sizes, args.impls, args.timeline)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
