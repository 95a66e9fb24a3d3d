#!/usr/bin/env python3
"""bench: ``runit-provision logs`` side by side with ``journalctl`` on the same lines (issue
31 §3) — what a user would pick instead.

The lines (made once per size, kept in ``--set DIR``, remade when older than ``--fresh``
minutes so that the last hour holds lines): 20 services, each an svlogd directory rotated
every 1 MB (files named by their rotation time, then ``current``), lines of ~100 bytes
spread evenly over the week before the set was made, even-numbered services stamped TAI64N
(``-t``), odd ones ``-tt``; the same lines, in time order, written into a journal by Debian's
``systemd-journal-remote`` from journal export format (``__REALTIME_TIMESTAMP``,
``_SYSTEMD_UNIT=svcNN.service``, ``SYSLOG_IDENTIFIER``, ``MESSAGE``: the line after its
stamp), read with ``journalctl --file 'DIR/*.journal'``.

Figures, medians of ``--runs`` runs, each a whole command with its start-up, output to
/dev/null, ours and journalctl's interleaved run by run — wall time, and CPU time (user +
system of the command, which others' load on the machine moves much less):

a. the last hour of all 20: ``logs --dir … --since -1h`` / ``journalctl --since -1h``;
b. one service's last 10 lines: ``logs --dir svc03 -n 10`` / ``journalctl -n 10 -u svc03``,
   and ``logs -n 10 svc03`` and ``status svc03`` as an operator types them (``--data``
   declaring the 20, ``--root`` holding their logs; nothing supervised: ``status`` says so,
   and shows the last 10 lines under it) — each through pip's console script
   (``.venv/bin/runit-provision``, which starts with ``site``) and through a launcher that
   starts the interpreter ``-S -I`` as install-runtime's do (a script written into the set's
   directory: the checkout and the virtualenv's site-packages on ``sys.path``, then
   ``main``), each run once before the timed runs (its bytecode written);
c. one service's whole log (``logs --dir svc03 -o cat`` / ``journalctl -u svc03 -o cat``)
   and the full merged view of all 20, ``-o cat`` both;
d. the interpreter floor ``python3 -S -I -c pass`` (the interpreter the virtualenv runs) and the virtualenv's
   ``python -c pass`` (what pip's console script starts with: ``site``).

The figures of (b) are also given as ratios to the floor: the budget of ``logs --dir D -n 10``
is 2.5x it, of ``logs -n 10 NAME`` and ``status NAME`` (the data read) 7x, through the
launcher (docs/design.md).

Sizes: ``200`` MB always, ``--big`` adds the 1 GB set (building it — lines and journal — takes
several minutes on a loaded 2-core machine; the full merge of 1 GB is timed ``--runs`` times
too).

With ``--baseline DIR`` (a checkout of an earlier commit: ``git -c tar.umask=022 archive
COMMIT | tar -x -C DIR`` — git archive's own umask, 002, makes the directories 0775, and the
views of code since issue 43 do not trust a bundle under a directory its group may write:
that baseline would be timed without its bundle), the daily views, ``--since`` and the full merge of that code are timed too, through a
launcher of their own (and its kept Config in a cache of its own), interleaved with the others:
a table of before and now.

With ``--views N``, only (b) and (d) are timed, N rounds: the start-cost budget alone.

``--journal-remote PATH``: the ``systemd-journal-remote`` that writes the journal, where the
package is not installed (its binary unpacked from the .deb, run through a script that sets
LD_LIBRARY_PATH for its libmicrohttpd).

Usage: ``.venv/bin/python bench/logs_journal.py [--set DIR] [--runs N] [--big] [--json FILE]
[--baseline DIR] [--views N] [--journal-remote PATH]``
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
TAI = (1 << 62) + 10
SERVICES, ROTATE, LINE = 20, 1 << 20, 100
JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
JOURNALCTL = shutil.which("journalctl")
SPAN = 7 * 86400
# the interpreter the virtualenv runs, itself (python3 on PATH may be a wrapper: pyenv's shim)
FLOOR = os.path.realpath(str(BIN / "python"))


def make_set(base, megabytes, fresh_minutes, journal_remote=JOURNAL_REMOTE):
    """The svlogd directories under ``base/logs`` (``var/log/svcNN``: the data's
    default log_dir under ``--root base``) and
    the journal under ``base/journal`` (written by ``journal_remote``), remade when older
    than ``fresh_minutes``."""
    marker = base / ".complete"
    if marker.exists() and time.time() - marker.stat().st_mtime < fresh_minutes * 60:
        return
    shutil.rmtree(str(base), ignore_errors=True)
    logs, journal = base / "var" / "log", base / "journal"
    journal.mkdir(parents=True)
    remote = subprocess.Popen([journal_remote, "-o", str(journal / "all.journal"), "-"],
                              stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
    now = time.time()
    count = (megabytes << 20) // SERVICES // LINE
    step = SPAN / count
    chunks = [[] for _ in range(SERVICES)]
    sizes = [0] * SERVICES
    for index in range(SERVICES):
        (logs / ("svc%02d" % index)).mkdir(parents=True)
    export = []
    for number in range(count):
        for index in range(SERVICES):
            moment = now - SPAN + step * number + index * 1e-4
            if index % 2 == 0:
                stamp = "@%016x%08x" % (int(moment) + TAI, int(moment % 1 * 1e9))
            else:
                stamp = time.strftime("%Y-%m-%d_%H:%M:%S", time.gmtime(moment)) + \
                    ".%05d" % int(moment % 1 * 1e5)
            text = "service %02d line %d some text to fill a line to about a hundred b" % (
                index, number)
            line = "%s %s\n" % (stamp, text)
            chunks[index].append(line)
            sizes[index] += len(line)
            if sizes[index] >= ROTATE:
                name = "@%016x%08x.s" % (int(moment) + TAI, int(moment % 1 * 1e9) + 1)
                (logs / ("svc%02d" % index) / name).write_text("".join(chunks[index]))
                chunks[index], sizes[index] = [], 0
            export.append("__REALTIME_TIMESTAMP=%d\n_SYSTEMD_UNIT=svc%02d.service\n"
                          "SYSLOG_IDENTIFIER=svc%02d\nMESSAGE=%s\n\n" % (
                              int(moment * 1e6), index, index, text))
        if len(export) >= 20000:
            remote.stdin.write("".join(export).encode())
            export = []
    remote.stdin.write("".join(export).encode())
    remote.stdin.close()
    if remote.wait() != 0:
        raise RuntimeError("systemd-journal-remote exited %d" % remote.returncode)
    for index in range(SERVICES):
        (logs / ("svc%02d" % index) / "current").write_text("".join(chunks[index]))
    (base / "data.yaml").write_text("runit::services:\n" + "".join(
        "  svc%02d:\n    command: sleep 1000\n    log:\n      timestamps: %s\n" % (
            index, "tai64n" if index % 2 == 0 else "human") for index in range(SERVICES)))
    marker.write_text("")


LAUNCHER = """import sys
sys.path[:0] = [%r, %r]
from runit_provision.cli.main import main
sys.exit(main())
"""
RACY_NS = 2_000_000_000  # what a baseline's cache of the Config calls too new to keep


def timed(commands, runs):
    """Each command's median wall time (output to /dev/null), run by run interleaved, and
    under ``NAME_cpu`` its median CPU time (user + system, the children's usage): on a machine others
    load, the wall time carries their work, the CPU time mostly not. A command is an argv, or
    ``(argv, {variable: value})`` run with those added to the environment."""
    wall = {name: [] for name in commands}
    cpu = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            command, extra = command if isinstance(command, tuple) else (command, {})
            env = dict(os.environ, **extra)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=env)
            wall[name].append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime
                             - before.ru_stime)
    found = {name: statistics.median(values) for name, values in wall.items()}
    found.update({name + "_cpu": statistics.median(values) for name, values in cpu.items()})
    return found


def site_packages():
    """The virtualenv's site-packages (Jinja2, PyYAML), as a launcher without ``site`` must
    name it."""
    return subprocess.run([str(BIN / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()


def kept_config(base, commands):
    """One run of each data command (argvs, or ``(argv, {variable: value})`` as in ``timed``)
    before the timed ones. A ``--baseline`` checkout that keeps a Config between runs keeps it
    then: its data must be older than ``RACY_NS`` for it to be kept."""
    info = (base / "data.yaml").stat()
    wait = max(info.st_mtime_ns, info.st_ctime_ns) + RACY_NS - time.time_ns()
    if wait > 0:
        time.sleep(wait / 1e9 + 0.1)
    for command in commands:
        command, extra = command if isinstance(command, tuple) else (command, {})
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=dict(os.environ, **extra), check=False)


def measure(base, runs, baseline=None, views=None):
    """The figures of one set; ``baseline``: a checkout of the code before (its commands
    ``*_before``, through a launcher of their own, interleaved with the others); ``views``:
    only the daily views (b) and the floors (d), that many rounds."""
    logs_dir = base / "var" / "log"
    dirs = [str(logs_dir / ("svc%02d" % index)) for index in range(SERVICES)]
    ours = [str(BIN / "runit-provision")]
    fast = launcher_of(base / "launcher.py", ROOT)
    journal = [JOURNALCTL, "--file", str(base / "journal" / "*.journal"), "--no-pager"]
    data = ["--data", str(base / "data.yaml"), "--root", str(base)]
    tail_name, status = ["logs", "-n", "10", "svc03"] + data, ["status", "svc03"] + data
    since = ["logs", "--dir"] + dirs + ["--since", "-1h"]
    tail = ["logs", "--dir", dirs[3], "-n", "10"]
    merge = ["logs", "--dir"] + dirs + ["-o", "cat"]
    kept_config(base, [fast + tail_name, fast + status])
    before = {}
    if baseline is not None:
        old = launcher_of(base / "launcher-before.py", baseline)
        # the code before keeps its Config in a cache of its own: an entry of another format
        # is not used but made again, and the two would remake each other's at every run
        own = {"RUNIT_PROVISION_CACHE": os.environ["RUNIT_PROVISION_CACHE"] + "-before"}
        kept_config(base, [(old + tail_name, own), (old + status, own)])
        before = {"since": {"since_before": old + since},
                  "short": {"tail_before": old + tail,
                            "tail_name_before": (old + tail_name, own),
                            "status_before": (old + status, own)},
                  "long": {"merge_before": old + merge}}
    short = dict({"tail_ours": ours + tail,
                  "tail_fast": fast + tail,
                  "tail_name_ours": ours + tail_name,
                  "tail_name_fast": fast + tail_name,
                  "status_ours": ours + status,
                  "status_fast": fast + status,
                  "tail_journal": journal + ["-n", "10", "-u", "svc03"],
                  "floor": [FLOOR, "-S", "-I", "-c", "pass"],
                  "venv_python": [str(BIN / "python"), "-c", "pass"]},
                 **before.get("short", {}))
    if views:
        return timed(short, views)
    found = timed(dict({"since_ours": ours + since, "since_fast": fast + since,
                        "since_journal": journal + ["--since", "-1h"]},
                       **before.get("since", {})), runs)
    found.update(timed(short, max(runs, 15)))
    found.update(timed(dict({"one_ours": ours + ["logs", "--dir", dirs[3], "-o", "cat"],
                             "one_journal": journal + ["-u", "svc03", "-o", "cat"],
                             "merge_ours": ours + merge, "merge_fast": fast + merge,
                             "merge_journal": journal + ["-o", "cat"]},
                            **before.get("long", {})), runs))
    return found


def launcher_of(path, checkout):
    """The argv that starts ``runit-provision`` of ``checkout`` as an ``-S -I`` launcher
    does (written to ``path``)."""
    path.write_text(LAUNCHER % (str(checkout), site_packages()))
    return [FLOOR, "-S", "-I", str(path)]


ROWS = (("--since -1h, 20 services", "since_ours", "since_journal"),
        ("the same, -S -I launcher", "since_fast", "since_journal"),
        ("-n 10 of one service (--dir / -u)", "tail_ours", "tail_journal"),
        ("the same, -S -I launcher", "tail_fast", "tail_journal"),
        ("logs -n 10 svc03 --data", "tail_name_ours", "tail_journal"),
        ("the same, -S -I launcher", "tail_name_fast", "tail_journal"),
        ("one service's whole log, -o cat (--dir / -u)", "one_ours", "one_journal"),
        ("full merge, -o cat", "merge_ours", "merge_journal"),
        ("the same, -S -I launcher", "merge_fast", "merge_journal"))
# the code before (--baseline) and now, both through the -S -I launcher
BEFORE_ROWS = (("--since -1h, 20 services", "since_before", "since_fast"),
               ("logs --dir D -n 10", "tail_before", "tail_fast"),
               ("logs -n 10 svc03 --data", "tail_name_before", "tail_name_fast"),
               ("status svc03 --data", "status_before", "status_fast"),
               ("full merge, -o cat", "merge_before", "merge_fast"))
STATUS_ROWS = (("status svc03 --data", "status_ours"),
               ("the same, -S -I launcher", "status_fast"))


def report(size, found):
    print("# %s: whole commands, median wall time (median CPU time)" % size)
    print("| figure | ours | journalctl | ours / journalctl | ours / floor |")
    print("|---|---|---|---|---|")

    def pair(name):
        return "%.1f (%.1f) ms" % (found[name] * 1e3, found[name + "_cpu"] * 1e3)

    def ratio(top, bottom):
        return "%.2fx (%.2fx)" % (found[top] / found[bottom],
                                  found[top + "_cpu"] / found[bottom + "_cpu"])
    for title, ours, theirs in ROWS:
        if ours not in found:
            continue  # --views: the daily views alone
        print("| %s | %s | %s | %s | %s |" % (title, pair(ours), pair(theirs),
                                              ratio(ours, theirs), ratio(ours, "floor")))
    for title, ours in STATUS_ROWS:
        print("| %s | %s | | | %s |" % (title, pair(ours), ratio(ours, "floor")))
    print("| floor python3 -S -I -c pass / venv python -c pass | %s / %s | | | |" % (
        pair("floor"), pair("venv_python")))
    if "tail_before" in found:
        print("# %s: the code before (--baseline) and now, -S -I launcher" % size)
        print("| figure | before | now | now / before | before / floor | now / floor |")
        print("|---|---|---|---|---|---|")
        for title, old, new in BEFORE_ROWS:
            if old not in found:
                continue
            print("| %s | %s | %s | %s | %s | %s |" % (
                title, pair(old), pair(new), ratio(new, old), ratio(old, "floor"),
                ratio(new, "floor")))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="/tmp/runit-provision-bench-journal")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--big", action="store_true", help="the 1 GB set too")
    parser.add_argument("--fresh", type=float, default=30,
                        help="minutes a set stays usable (its last hour must hold lines)")
    parser.add_argument("--views", type=int, metavar="N",
                        help="only the daily views (b) and the floors (d), N rounds: their "
                             "start-cost budget, without the minutes of the rest")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--baseline", metavar="DIR",
                        help="a checkout of the code before (git archive of a commit), timed "
                             "beside this one")
    parser.add_argument("--journal-remote", default=JOURNAL_REMOTE, metavar="PATH",
                        help="systemd-journal-remote, where its package is not installed")
    args = parser.parse_args(argv)
    if JOURNALCTL is None or not os.access(args.journal_remote, os.X_OK):
        print("journalctl or %s: not installed" % args.journal_remote)
        return 0
    # the package's bytecode as an installation has it (pip compiles it): a stale .pyc of a
    # file just edited, with PYTHONDONTWRITEBYTECODE set, is compiled again at every start
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "runit_provision")],
                   stdout=subprocess.DEVNULL, check=True)
    results = {}
    # the Config a --baseline checkout keeps: in the sets' directory (root's, under sticky
    # /tmp), not this host's /var/cache
    cache = Path(args.set) / "config-cache"
    os.environ["RUNIT_PROVISION_CACHE"] = str(cache)
    for megabytes in ((200, 1024) if args.big else (200,)):
        base = Path(args.set) / ("%dmb" % megabytes)
        started = time.perf_counter()
        make_set(base, megabytes, args.fresh, args.journal_remote)
        print("# set %s ready in %.0f s" % (base, time.perf_counter() - started), flush=True)
        results[megabytes] = measure(base, args.runs, args.baseline, args.views)
        report("%d MB" % megabytes, results[megabytes])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
