#!/usr/bin/env python3
"""bench: what a side's start costs root's loop and a user's agent, its requests sent one by
one or as one batch (agentwire.BATCH, ``AgentIO.together``) — issue 29 §1, the start of users'
trees.

A real agent (``agent.run`` in a forked child, as this process's user) on a scratch tree of
``--sides`` side directories; each round asks it, for every side, what a side's start asks: its
status (``*.new``), ``ok`` opened, its ``starting`` record, a process (``/bin/true``), then its
state (pid, record, stat, status) and the post to ``supervise/event/`` — alone, or each group
as one batch, the two ways alternating round by round (the machine's other load lands on
both). Reported: the median over the rounds of root's CPU (this process, ``RUSAGE_SELF``) and
the agent's (``/proc/PID/schedstat``), and the wall time, per side.

Usage: ``.venv/bin/python bench/agent_batch.py [--sides 120] [--rounds 7]``
"""

import argparse
import os
import resource
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runit_provision.runtime.supervision.users import agent  # noqa: E402
from runit_provision.runtime.supervision.users.agentio import AgentIO  # noqa: E402
from runit_provision.runtime.supervision.users.agentlink import AgentLink  # noqa: E402
from runit_provision.runtime.supervision.engine.loop import EventLoop  # noqa: E402

def agent_cpu(pid):
    """Seconds on a CPU (``/proc/PID/schedstat``: nanoseconds, where ``stat`` has ticks)."""
    with open("/proc/%d/schedstat" % pid) as stat:
        return int(stat.read().split()[0]) / 1e9


def root_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_agent(loop, io, tree):
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    output = os.open(os.devnull, os.O_WRONLY)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        ours.close()
        agent.run([str(os.getuid()), str(os.getgid()), "", str(tree), "0"],
                  [theirs.fileno(), output])
    theirs.close()
    os.close(output)
    io.attach(AgentLink(loop, ours, pid, lambda kind, fields: None, lambda: None, "bench"))
    return pid


def one_round(loop, io, sides, batched):
    """Every side's start, twenty sides at a time (a user's tree of twenty services; far more
    requests unanswered at once could fill the channel both ways)."""
    for at in range(0, len(sides), 20):
        _start(loop, io, sides[at:at + 20], batched)


def _start(loop, io, sides, batched):
    answered = []
    together = io.together if batched else _Alone
    for fd in sides:
        with together():
            io.write_files(fd, [(False, "supervise/status", b"x" * 20)], "", _warn)
            io.open_fifo(fd, "", "ok", os.O_RDONLY, os.close)
            io.write_files(fd, [(True, "supervise/process", b"0" * 64)], "", _warn)
            io.spawn(["/bin/true"], answered.append, cwd_fd=fd)
    for fd in sides:
        with together():
            io.write_files(fd, [(False, "supervise/pid", b"1\n"),
                                (True, "supervise/process", b"1" * 64),
                                (False, "supervise/stat", b"run\n"),
                                (False, "supervise/status", b"y" * 20)], "", _warn)
            io.request([b"evpost", b"s"], [fd])
    deadline = time.monotonic() + 60
    while len(answered) < len(sides) and time.monotonic() < deadline:
        loop.call_later(0.001, loop.stop)
        loop.run()
    for pid in answered:  # the agent reaps them; their watch is not ours
        io.processes.watch(pid, lambda *_: None)


class _Alone:
    def __enter__(self):
        return self

    def __exit__(self, *_):
        return False


def _warn(message, exc):
    print("warning:", message, exc, file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sides", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="agent-batch-", dir="/var/tmp"))
    loop = EventLoop()
    io = AgentIO(loop, "bench")
    tree = scratch / "service"
    sides = []
    for number in range(args.sides):
        (tree / ("s%d" % number) / "supervise").mkdir(parents=True)
        os.mkfifo(str(tree / ("s%d" % number) / "supervise" / "ok"))
        sides.append(os.open(str(tree / ("s%d" % number)), os.O_RDONLY | os.O_DIRECTORY))
    pid = start_agent(loop, io, tree)
    found = {False: [], True: []}
    try:
        one_round(loop, io, sides, True)  # warm both paths
        one_round(loop, io, sides, False)
        for number in range(2 * args.rounds):
            batched = bool(number % 2)
            before = (root_cpu(), agent_cpu(pid), time.monotonic())
            one_round(loop, io, sides, batched)
            after = (root_cpu(), agent_cpu(pid), time.monotonic())
            found[batched].append([(b - a) / args.sides * 1e3 for a, b in zip(before, after)])
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        for fd in sides:
            os.close(fd)
        shutil.rmtree(scratch)
    print("per side's start, ms: median (min-max) of %d rounds, %d sides, alternating; load %s"
          % (args.rounds, args.sides, " ".join("%.1f" % x for x in os.getloadavg())))
    for batched in (False, True):
        rows = found[batched]
        print("  %-9s" % ("batched" if batched else "one by one"), end="")
        for index, name in enumerate(("root CPU", "agent CPU", "wall")):
            values = [row[index] for row in rows]
            print("  %s %.3f (%.3f-%.3f)" % (name, statistics.median(values), min(values),
                                             max(values)), end="")
        print()


if __name__ == "__main__":
    main()
