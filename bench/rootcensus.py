#!/usr/bin/env python3
"""bench: what root's tree keeps for each user it supervises — its live objects by kind and by
the line that made them, and its allocator's state, at two user counts (issue 29).

The host is ``bench/user_trees.py``'s (the security tier's sandbox, the real ``apply``, U users
with S logged services each, ours only). Root's tree is started with a ``sitecustomize`` of
this script's on its path (bench only: nothing of the runtime changes), which starts one
thread blocked on a FIFO; once every service runs and ``--settle`` seconds have passed, a line
on the FIFO makes that thread write, from inside root's tree:

* the allocator's state (``sys._debugmallocstats``): bytes in allocated blocks — what lives —
  and in free blocks of pools in use — what the start's transients left behind;
* every object the collector tracks, by kind: a function or bound method by its qualified
  name, a container (dict, list, tuple, set, cell) by what holds it;
* with ``--frames N`` (tracemalloc from the interpreter's start, N frames deep; it slows the
  start and grows the process, so it is off for the first two): the live allocations by the
  innermost line of ours on their traceback.

Then the difference between the two user counts, divided by the users added: what each user
costs root's tree. USS (``/proc/PID/smaps_rollup``) of root's tree at each count is printed
with it (with tracemalloc on, it includes tracemalloc's own tables).

Usage: ``.venv/bin/python bench/rootcensus.py [--users 10 40] [--services 3] [--settle 3]
[--frames 16] [--top 40]`` (needs root, unshare, nsenter, setpriv).
"""

import argparse
import collections
import json
import linecache
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import user_trees  # noqa: E402
from tests.runtime.processes import wait_until  # noqa: E402
from tests.security.sandbox import Namespace, scratch_users  # noqa: E402

# Runs inside root's tree (its uid 0 alone: the agents are forked from a fork server that
# never has the thread). Standard library only; what it allocates is freed before it answers.
HOOK = r'''
import os
_FIFO = os.environ.get("RP_CENSUS_FIFO")
if _FIFO and os.getuid() == 0:
    import threading

    def _label(o):
        import types
        kind = type(o)
        if kind is types.FunctionType:
            return "function " + o.__qualname__
        if kind is types.MethodType:
            return "bound method " + getattr(o.__func__, "__qualname__", "?")
        return kind.__qualname__ if kind.__module__ == "builtins" else \
            kind.__module__.rsplit(".", 1)[-1] + "." + kind.__qualname__

    def _census(prefix):
        import collections, gc, json, sys, tracemalloc
        gc.collect()
        saved = os.dup(2)
        out = os.open(prefix + ".malloc", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 2)  # _debugmallocstats writes to the C stderr
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(out)
        objects = gc.get_objects()
        cell = type((lambda x: (lambda: x))(1).__closure__[0])
        containers = (dict, list, tuple, set, cell, bytearray)
        holder = {}
        for o in objects:
            label = None
            for inner in gc.get_referents(o):
                if type(inner) in containers and id(inner) not in holder:
                    label = label or _label(o)
                    holder[id(inner)] = label
        counts = collections.Counter()
        for o in objects:
            label = _label(o)
            if type(o) in containers:
                label += " held by " + holder.get(id(o), "?")
            counts[label] += 1
        del objects, holder
        if tracemalloc.is_tracing():
            tracemalloc.take_snapshot().dump(prefix + ".snap")
        with open(prefix + ".json", "w") as handle:
            json.dump({"counts": counts}, handle)

    def _serve():
        while True:
            with open(_FIFO) as handle:
                prefixes = handle.read().split()
            for prefix in prefixes:
                try:
                    _census(prefix)
                except Exception as exc:
                    with open(prefix + ".json", "w") as handle:
                        handle.write('{"error": %r}' % repr(exc))

    threading.Thread(target=_serve, daemon=True).start()
'''

_MALLOC_FIELDS = {"# bytes in allocated blocks": "allocated",
                  "# bytes in available blocks": "free in used pools",
                  "# arenas allocated current": "arenas"}


def malloc_stats(path):
    """The allocator's figures of interest from a ``_debugmallocstats`` dump."""
    found = {}
    for line in Path(path).read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() in _MALLOC_FIELDS:
            found[_MALLOC_FIELDS[key.strip()]] = int(value.replace(",", ""))
        elif "unused pools" in line:
            found["unused pools"] = int(value.replace(",", ""))
    return found


def census_of_host(namespace, users, services, settle, frames, work):
    """Root's tree of ``users`` × ``services``: the census files' prefix and its USS (kB)."""
    fifo = work / "fifo"
    if fifo.exists():
        fifo.unlink()
    os.mkfifo(str(fifo))
    env = {"RP_CENSUS_FIFO": str(fifo), "PYTHONPATH": str(work)}
    if frames:
        env["PYTHONTRACEMALLOC"] = str(frames)
    host = user_trees.set_up(namespace, "ours", users, services)
    start_tree = host.sandbox.start_tree
    host.sandbox.start_tree = lambda env_given=None: start_tree(env=env)
    try:
        root_pid = host.up()
        wait_until(lambda: len(user_trees.sleeps_under(host.base)) >= host.expected,
                   timeout=120, what="every service running")
        time.sleep(settle)
        uss = user_trees.memory_kb(root_pid)["uss"]
        prefix = str(work / ("u%d" % users))
        with open(str(fifo), "w") as handle:
            handle.write(prefix + "\n")
        wait_until(lambda: Path(prefix + ".json").exists() and Path(prefix + ".json").stat()
                   .st_size > 0, timeout=300, what="the census")
        time.sleep(0.5)  # the file is written whole before the process goes on
        host.stop_all()
    finally:
        host.close()
    return prefix, uss


def by_line(path):
    """Live bytes and blocks by the innermost line of ours on each allocation's traceback."""
    import tracemalloc
    sizes, blocks = collections.Counter(), collections.Counter()
    for trace in tracemalloc.Snapshot.load(path).traces:
        key = None
        for frame in reversed(trace.traceback):  # the most recent frame last
            if "/runit_provision/" in frame.filename:
                key = (frame.filename, frame.lineno)
                break
        if key is None:
            frame = trace.traceback[-1]
            key = (frame.filename, frame.lineno)
        sizes[key] += trace.size
        blocks[key] += 1
    return sizes, blocks


def report(before, after, added, top):
    (prefix_a, uss_a), (prefix_b, uss_b) = before, after
    print("root's tree USS: %d -> %d kB, %.1f kB a user" % (uss_a, uss_b, (uss_b - uss_a) / added))
    stats_a, stats_b = malloc_stats(prefix_a + ".malloc"), malloc_stats(prefix_b + ".malloc")
    for key in ("allocated", "free in used pools", "unused pools", "arenas"):
        if key in stats_a and key in stats_b:
            print("  %-20s %10d -> %10d   %+9.1f a user" % (
                key, stats_a[key], stats_b[key], (stats_b[key] - stats_a[key]) / added))
    counts_a = json.loads(Path(prefix_a + ".json").read_text())["counts"]
    counts_b = json.loads(Path(prefix_b + ".json").read_text())["counts"]
    diffs = sorted(((counts_b.get(k, 0) - counts_a.get(k, 0)) / added, k)
                   for k in set(counts_a) | set(counts_b))
    print("objects the collector tracks, a user: %+.1f" % (sum(v for v, _ in diffs)))
    for value, kind in reversed(diffs[-top:] if top else []):
        if value >= 0.5:
            print("  %6.1f  %s" % (value, kind))
    if not Path(prefix_a + ".snap").exists():
        return
    sizes_a, blocks_a = by_line(prefix_a + ".snap")
    sizes_b, blocks_b = by_line(prefix_b + ".snap")
    lines = sorted(((sizes_b[k] - sizes_a[k]) / added, (blocks_b[k] - blocks_a[k]) / added, k)
                   for k in set(sizes_a) | set(sizes_b))
    ours = [item for item in lines if "/runit_provision/" in item[2][0]]
    print("live allocations a user (tracemalloc): %+.0f bytes, %+.0f by lines of ours" % (
        sum(v for v, _, _ in lines), sum(v for v, _, _ in ours)))
    for size, blocks, (filename, lineno) in reversed(ours[-top:] if top else []):
        print("  %6.0f %5.1f  %s:%d  %s" % (size, blocks, filename.split("runit_provision/")[-1],
                                            lineno, linecache.getline(filename, lineno).strip()[:70]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs=2, default=[10, 40])
    parser.add_argument("--services", type=int, default=3)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--frames", type=int, default=0,
                        help="tracemalloc's depth (0: off); slower, and a larger process")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("needs root (a namespace with scratch users)")
        return 1
    work = Path(tempfile.mkdtemp(prefix="rp-census-"))
    work.chmod(0o755)
    (work / "sitecustomize.py").write_text(HOOK)
    namespace = Namespace(scratch_users(max(args.users)))
    try:
        found = [census_of_host(namespace, users, args.services, args.settle, args.frames,
                                work) for users in args.users]
        report(found[0], found[1], args.users[1] - args.users[0], args.top)
    finally:
        namespace.close()
        shutil.rmtree(str(work), ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
