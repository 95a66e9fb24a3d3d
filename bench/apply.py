"""bench: ``runit-provision apply`` against ``puppet apply`` of the same files (README
"Performance": at least 25x faster, cold and no-op; a no-op of 1000 services within 0.5 s).

Side by side in one run:

* **ours, cold**: ``runit-provision apply --root DIR`` of 200 services (each a ``command``, two
  ``env`` values and the stock logger: 9 paths a service) into an empty DIR — the whole
  command, interpreter start-up included (staging: files only, nothing started, as Puppet's
  side below);
* **ours, no-op**: the same apply again (observe every path, plan, nothing to do);
* **puppet, cold / no-op**: ``puppet apply`` of a manifest with one ``file`` resource per
  path of the very tree ours writes (directories, files with their content, mode, owner and
  group, links), into another DIR; Puppet runs with scratch ``--confdir/--codedir/--vardir/
  --logdir/--rundir`` and HOME, never the host's /etc/puppet;
* **ours, no-op of 1000 services** (budget ≤ 0.5 s).

Cold runs get a fresh DIR each; every figure is the best of ``--runs`` rounds (Puppet's of
fewer: it is slow), the median printed beside it — the best round is each tool's own cost with
the least of the machine's noise in it. Budget: ours ≥ 25× faster than Puppet both ways, best
against best. Needs root (owners are set) and
puppet (Debian package puppet). The scratch directory is on ``/dev/shm`` (tmpfs) unless
``--dir`` says otherwise: both tools then pay for their own work, not for a disk's journal
that other processes on the machine keep busy (on this VM's ext4 a mkdir took 0.2–1 ms under
load, which would measure the disk).

Usage: ``.venv/bin/python bench/apply.py [--runs N] [--services N] [--json FILE]``
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RATIO_BUDGET = 25.0
NOOP_1000_BUDGET = 0.5
PUPPET = shutil.which("puppet") or "/usr/bin/puppet"
# Scratch --NAMEdir for every Puppet run; ssl and public too, which Debian's puppet keeps in
# /var/lib/puppet/ssl and /var/cache/puppet/public whatever --vardir says.
PUPPET_DIRS = ("conf", "code", "var", "log", "run", "ssl", "public")


def data_text(count):
    lines = ["runit::init: none", "runit::services:"]
    for index in range(count):
        lines.append("  svc%04d: {command: [/usr/local/bin/svc, --port, '%d'], "
                     "env: {PORT: '%d', NAME: svc%04d}}" % (index, 8000 + index, 8000 + index,
                                                             index))
    return "\n".join(lines) + "\n"


def tool(name):
    return str(Path(sys.executable).parent / name)


def timed(argv, env=None):
    """Wall seconds of one command. The environment's PYTHONDONTWRITEBYTECODE is dropped, so
    bytecode is cached as in an installed package (the first, cold run writes it)."""
    env = dict(env or os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit("%s failed (%d):\n%s" % (" ".join(argv[:3]), done.returncode,
                                                  done.stdout.decode()[-2000:]))
    return elapsed


def ours(scratch, data, runs):
    """(cold seconds, no-op seconds), each a list of ``runs`` applies of ``data`` into fresh
    roots."""
    colds, noops = [], []
    for run in range(runs):
        root = scratch / ("ours-%d" % run)
        (root / "etc").mkdir(parents=True)
        argv = [tool("runit-provision"), "apply", "--data", str(data), "--root", str(root)]
        colds.append(timed(argv))
        noops.append(timed(argv))
    return colds, noops


def puppet_string(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def manifest(tree, root):
    """One Puppet ``file`` resource per entry of ``tree``, under ``root``."""
    resources = []
    for entry in tree:
        path = puppet_string(str(root) + entry.path)
        owner = entry.owner or "root"
        group = entry.group or "root"
        if entry.kind == "directory":
            resources.append("file { %s: ensure => directory, mode => '%04o', owner => '%s', "
                             "group => '%s' }" % (path, entry.mode, owner, group))
        elif entry.kind == "file":
            resources.append("file { %s: ensure => file, mode => '%04o', owner => '%s', "
                             "group => '%s', content => %s }"
                             % (path, entry.mode, owner, group,
                                puppet_string(entry.content.decode())))
        elif entry.kind == "symlink":
            resources.append("file { %s: ensure => link, target => %s }"
                             % (path, puppet_string(entry.target)))
    return "\n".join(resources) + "\n"


def puppet(scratch, data, runs):
    """(cold, no-op) lists of seconds of ``puppet apply`` of the same files."""
    from runit_provision.accounts import NO_ACCOUNTS
    from runit_provision.hiera import load
    from runit_provision.render import render
    from runit_provision.schema import config_from_data

    found, origins = load(data=str(data), facts={}).runit_data()
    tree = render(config_from_data(found, origins, NO_ACCOUNTS))
    colds, noops = [], []
    for run in range(runs):
        root = scratch / ("puppet-%d" % run)
        (root / "var" / "log").mkdir(parents=True)  # what the host has (ours creates it)
        site = scratch / ("site-%d.pp" % run)
        site.write_text(manifest(tree, root))
        dirs = []
        for name in PUPPET_DIRS:
            directory = scratch / ("puppet-%d-%s" % (run, name))
            (directory / "state").mkdir(parents=True)  # puppet apply does not always make it
            dirs += ["--%sdir" % name, str(directory)]
        argv = [PUPPET, "apply"] + dirs + [str(site)]
        env = dict(os.environ, HOME=str(scratch))
        colds.append(timed(argv, env))
        noops.append(timed(argv, env))
    return colds, noops


def warm_up(scratch, data):
    """One apply whose bytecode is then cached (not counted)."""
    root = scratch / "warm-up"
    (root / "etc").mkdir(parents=True)
    timed([tool("runit-provision"), "apply", "--data", str(data), "--root", str(root)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--puppet-runs", type=int, default=2)
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--dir", metavar="DIR", default="/dev/shm" if os.access(
        "/dev/shm", os.W_OK) else None, help="where the scratch directory goes")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/apply.py sets owners: run it as root")
    scratch = Path(tempfile.mkdtemp(prefix="bench-apply.", dir=args.dir))
    try:
        data = scratch / "data.yaml"
        data.write_text(data_text(args.services))
        data_1000 = scratch / "data-1000.yaml"
        data_1000.write_text(data_text(1000))
        warm_up(scratch, data)
        ours_colds, ours_noops = ours(scratch, data, args.runs)
        (scratch / "big").mkdir()
        _, ours_noops_1000 = ours(scratch / "big", data_1000, args.runs)
        if os.access(PUPPET, os.X_OK):
            puppet_colds, puppet_noops = puppet(scratch, data, args.puppet_runs)
        else:
            puppet_colds = puppet_noops = None
    finally:
        shutil.rmtree(str(scratch), ignore_errors=True)
    ours_cold, ours_noop, ours_noop_1000 = min(ours_colds), min(ours_noops), min(ours_noops_1000)
    puppet_cold = puppet_noop = None
    if puppet_colds is not None:
        puppet_cold, puppet_noop = min(puppet_colds), min(puppet_noops)
    results = {"services": args.services, "dir": args.dir, "ours_cold_s": ours_cold,
               "ours_noop_s": ours_noop,
               "puppet_cold_s": puppet_cold, "puppet_noop_s": puppet_noop,
               "ours_noop_1000_s": ours_noop_1000,
               "rounds": {"ours_cold_s": ours_colds, "ours_noop_s": ours_noops,
                          "ours_noop_1000_s": ours_noops_1000, "puppet_cold_s": puppet_colds,
                          "puppet_noop_s": puppet_noops}}
    print("apply of %d services (%d paths), best of %d rounds (median), in %s; puppet apply of "
          "the same files as file resources (best of %d)" % (
              args.services, args.services * 9 + 4, args.runs, args.dir or "a temp dir",
              args.puppet_runs))
    print("%-34s %18s %18s" % ("", "cold", "no-op"))
    print("%-34s %s %s" % ("runit-provision apply --root", _shown(ours_colds),
                           _shown(ours_noops)))
    if puppet_cold is not None:
        print("%-34s %s %s" % ("puppet apply (file resources)", _shown(puppet_colds),
                               _shown(puppet_noops)))
        print("%-34s %9.1fx %9.1fx   (budget >= %gx both ways)" % (
            "puppet / ours", puppet_cold / ours_cold, puppet_noop / ours_noop, RATIO_BUDGET))
    else:
        print("puppet is not installed: no comparison")
    print("no-op apply of 1000 services: %.3f s, median %.3f s (budget <= %.1f s)"
          % (ours_noop_1000, statistics.median(ours_noops_1000), NOOP_1000_BUDGET))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    ok = ours_noop_1000 <= NOOP_1000_BUDGET and (puppet_cold is None or (
        puppet_cold / ours_cold >= RATIO_BUDGET and puppet_noop / ours_noop >= RATIO_BUDGET))
    return 0 if ok else 1


def _shown(seconds):
    """``best (median)`` of a list of seconds, 18 wide."""
    return "%8.3fs (%6.3fs)" % (min(seconds), statistics.median(seconds))


if __name__ == "__main__":
    sys.exit(main())
