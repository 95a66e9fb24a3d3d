#!/usr/bin/env python3
"""bench: timers (issue 46 §4) — firing accuracy and cost of N timers that run every minute,
our runsvdir against the C runit with snooze (the scheduler runit users use) and the C runit
with our ``timer-run``, side by side in one run: the three trees run at the same time, so the
machine's load lands on all of them alike.

* **ours**: our runsvdir over N timer service directories (``schedule``: ``minutely``); the
  tree waits on one realtime timer each, and no process of the timer's own exists between
  runs (docs/jobs.md);
* **C + snooze**: ``/usr/bin/runsvdir`` over N services whose ``run`` is
  ``exec snooze -H'*' -M'*' ./job`` (snooze execs the job at the minute; runsv starts snooze
  again after it);
* **C + timer-run**: ``/usr/bin/runsvdir`` over N of our rendered layout (``run``:
  ``exec timer-run``), the C runit's path of our timers.

Each job appends ``date +%s.%N`` to its own file: its lateness is that stamp minus the minute
it ran for. Figures, per implementation: lateness p50 / p99 (ms) over every run; PSS (kB)
of every process of the tree per timer, measured half-way between two elapses, and the same
as if alone (a page shared with a process outside the tree counted in full: the C + timer-run
tree's twenty waiters and the bench itself are the same Python as ours, and PSS would split our
interpreter's pages with them; ``tree.alone_pss_kb``); voluntary
context switches of every process of the tree between two elapses (from 10 s after a minute
to 10 s before the next: the goal is 0; the C runsvdir's own, every 5 s timers or not, are
shown apart). Goals (issue 46 §4): lateness ≤ snooze's, PSS per
timer ≤ the C runsv + snooze pair's, 0 wakeups.

Usage: ``.venv/bin/python bench/timers.py [--minutes 10] [--timers 20]`` (root; snooze from
Debian's ``snooze`` package, else its row says "not installed").
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tree  # noqa: E402  (bench/tree.py: /proc readers, launch and stop)

SNOOZE = shutil.which("snooze") or "/usr/bin/snooze"
JOB = "#!/bin/sh\nexec date +%s.%N >>{stamps}/{name}\n"
SNOOZE_RUN = "#!/bin/sh\nexec {snooze} -H'*' -M'*' ./job\n"
TIMER_RUN = "#!/bin/sh\nexec timer-run\n"
SCHEDULE = "timer 1\nwhen=minutely\n"
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
QUIET_FROM, QUIET_TO = 10, 50  # seconds into a minute: no elapse near


def descendants(top):
    """``top`` and every process under it (by parent pid), zombies left out."""
    parents = {}
    for pid in tree.all_pids():
        fields = tree.stat_fields(pid)
        if fields and fields[0] != "Z":
            parents[pid] = fields[1]
    found, frontier = {top}, [top]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                frontier.append(pid)
    return sorted(pid for pid in found if pid in parents or pid == top)


class Timers(tree.Runit):
    """A tree of N timer service directories of one kind."""

    def __init__(self, scratch, key, label, runsvdir, run_script, needs=()):
        super().__init__(scratch)
        self.key, self.label = key, label
        self.runsvdir, self.run_script, self.needs = runsvdir, run_script, needs
        self.stamps = scratch / ("stamps-" + key)

    def binaries(self):
        return (self.runsvdir,) + tuple(self.needs)

    def prepare(self, count):
        self.tree = self.scratch / ("tree-" + self.key)
        self.tree.mkdir()
        self.stamps.mkdir()
        for index in range(count):
            name = "t%02d" % index
            service = self.tree / name
            service.mkdir()
            for file, text in (("job", JOB.format(stamps=self.stamps, name=name)),
                               ("run", self.run_script.format(snooze=SNOOZE))):
                (service / file).write_text(text)
                (service / file).chmod(0o755)
            if self.run_script == TIMER_RUN:
                (service / "schedule").write_text(SCHEDULE)

    def argv(self):
        return [self.runsvdir, str(self.tree)]

    def lateness_ms(self, launched):
        """Every run's stamp minus the minute it ran for (runs of the minutes after launch)."""
        late = []
        for stamps in self.stamps.iterdir():
            for line in stamps.read_text().split():
                stamp = float(line)
                minute = stamp - stamp % 60
                if minute > launched:
                    late.append((stamp - minute) * 1000)
        return late

    def memory_kb(self):
        """PSS (kB) of the tree's processes, by command name."""
        found = {}
        for pid in descendants(self.proc.pid):
            name = tree.comm(pid)
            found[name] = found.get(name, 0) + tree.memory_kb(pid)["pss"]
        return found

    def alone_kb(self):
        """PSS (kB) of the tree's processes as if nothing else ran (``tree.alone_pss_kb``): the
        three trees here, and the bench, share binaries a host would not share with them."""
        return tree.alone_pss_kb(descendants(self.proc.pid))

    def switches(self):
        """Voluntary context switches of each process: pid -> (command name, count)."""
        return {pid: (tree.comm(pid), tree.voluntary_switches(pid))
                for pid in descendants(self.proc.pid)}


def wait_until_second(second):
    """Sleep until the clock is ``second`` seconds into a minute (the next such moment)."""
    time.sleep((second - time.time() % 60) % 60)


def quiet_wakeups(sups):
    """Voluntary context switches between two elapses of each tree's processes that exist at
    both ends, by command name: ``runsvdir`` apart (the C one looks at its directory every
    5 s, timers or not), the rest the timers' own."""
    wait_until_second(QUIET_FROM)
    before = {sup.key: sup.switches() for sup in sups}
    wait_until_second(QUIET_TO)
    result = {}
    for sup in sups:
        counts = {}
        for pid, (name, after) in sup.switches().items():
            first = before[sup.key].get(pid, (None, None))[1]
            if after is not None and first is not None:
                counts[name] = counts.get(name, 0) + after - first
        result[sup.key] = counts
    return result


def timers_own(counts):
    return sum(count for name, count in counts.items() if name != "runsvdir")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--timers", type=int, default=20)
    args = parser.parse_args(argv)
    tree.become_subreaper()
    results, sups = {}, []
    with tempfile.TemporaryDirectory(prefix="timers-", dir="/dev/shm") as scratch:
        scratch = Path(scratch)
        kinds = [("ours", "ours", str(tree.VENV_BIN / "runsvdir"), TIMER_RUN, ()),
                 ("snooze", "C + snooze", tree.C_RUNSVDIR, SNOOZE_RUN, (tree.C_RUNSV, SNOOZE)),
                 ("timer-run", "C + timer-run", tree.C_RUNSVDIR, TIMER_RUN,
                  (tree.C_RUNSV, str(tree.VENV_BIN / "timer-run")))]
        for key, label, runsvdir, run_script, needs in kinds:
            sup = Timers(scratch, key, label, runsvdir, run_script, needs)
            missing = sup.missing()
            if missing:
                results[label] = missing
                continue
            sup.prepare(args.timers)
            sups.append(sup)
        try:
            wait_until_second(QUIET_TO + 2)  # launch well before a minute
            launched = time.time()
            for sup in sups:  # the C runsvdir execs runsv by name: /usr/bin's, never ours
                os.environ["PATH"] = ("%s:%s" % (tree.VENV_BIN, SYSTEM_PATH) if sup.key == "ours"
                                      else "%s:%s" % (SYSTEM_PATH, tree.VENV_BIN))
                sup.launch("timers")
            wakeups, memory = {sup.key: [] for sup in sups}, {sup.key: [] for sup in sups}
            for _minute in range(args.minutes):
                for key, count in quiet_wakeups(sups).items():
                    wakeups[key].append(count)
                for sup in sups:  # at QUIET_TO: half-way enough from either elapse
                    memory[sup.key].append((sup.memory_kb(), sup.alone_kb()))
            wait_until_second(QUIET_FROM)  # the last minute's runs are written
        finally:
            for sup in sups:
                sup.stop()
        for sup in sups:
            late = sorted(sup.lateness_ms(launched))
            if not late:
                results[sup.label] = "no run recorded"
                continue
            samples = sorted(memory[sup.key], key=lambda found: sum(found[0].values()))
            middle, alone = samples[len(samples) // 2]  # the median sample, by its total
            results[sup.label] = {
                "runs": len(late), "p50": statistics.median(late),
                "p99": late[min(len(late) - 1, int(round(0.99 * (len(late) - 1))))],
                "pss_per_timer": sum(middle.values()) / args.timers,
                "alone_per_timer": alone / args.timers,
                "pss_by_name": {name: kb / args.timers for name, kb in middle.items()},
                "wakeups": max(timers_own(counts) for counts in wakeups[sup.key]),
                "runsvdir_wakeups": max(counts.get("runsvdir", 0)
                                        for counts in wakeups[sup.key])}
    print("timers: %d every minute, %d minutes; load %.1f"
          % (args.timers, args.minutes, os.getloadavg()[0]))
    print("%-14s %6s %10s %10s %12s %12s %9s  %s" % (
        "impl", "runs", "late p50", "p99", "PSS/timer", "alone/timer", "wakeups",
        "(PSS/timer by process; runsvdir's own wakeups between two elapses)"))
    for label, found in results.items():
        if isinstance(found, str):
            print("%-14s %s" % (label, found))
            continue
        print("%-14s %6d %8.1f ms %7.1f ms %9.0f kB %9.0f kB %9d  (%s; runsvdir %d)" % (
            label, found["runs"], found["p50"], found["p99"], found["pss_per_timer"],
            found["alone_per_timer"], found["wakeups"], ", ".join("%s %.0f kB" % item for item in
                                        sorted(found["pss_by_name"].items())),
            found["runsvdir_wakeups"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
