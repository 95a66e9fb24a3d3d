"""bench: a Puppet run managing 200 services through the module (``include runit``: one data
file, one exec guarded by ``runit-provision plan``) against a Puppet run declaring the same
files as ``file`` resources (SPEC §6: at most 1/5 of the time), and the module's agent-side
overhead on a no-change run (budget: under 1 s, the exec guard included).

Side by side in one run, each a whole ``puppet apply`` (Puppet's start, compile, apply) with
scratch ``--confdir/--codedir/--vardir/--logdir/--rundir`` and HOME, the node's facts from a
file (``--facts_terminus yaml``: no facter, the same for both sides), into a fresh sandbox root
(``runit::config::root``: the CLI's ``--root``, nothing started, as Puppet's side):

* **module, first run**: ``include runit`` with 200 services in hiera (each a ``command``, two
  ``env`` values and the stock logger: 9 paths a service) into an empty root; runit-provision is
  already in the module's virtualenv (one warm-up run, not counted, installed it);
* **module, no-change run**: the same again;
* **file resources, first / no-change**: one ``file`` resource per path of the very tree the
  CLI renders (directories, files with content, mode, owner and group, links);
* **agent-side overhead of the module** on a no-change run: Puppet's own "Applied catalog in"
  time (the transaction: the data files' checks and the exec's ``plan`` guard), and the whole
  run's wall time less that of an empty manifest (Puppet's start and an empty compile); plus
  the ``runit_services`` fact, which facter runs on an agent (timed on its own here: the runs
  take their facts from a file).

Medians of ``--runs``. Needs root (owners) and puppet with Debian's stdlib module.
Usage: ``.venv/bin/python bench/puppet_module.py [--runs N] [--services N] [--json FILE]
[--verbose]``
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from apply import PUPPET_DIRS  # noqa: E402
from apply import manifest as file_resources  # noqa: E402  one file resource a path

RATIO_BUDGET = 0.2
OVERHEAD_BUDGET = 1.0
VERBOSE = False
PUPPET = shutil.which("puppet") or "/usr/bin/puppet"
STDLIB = Path("/usr/share/puppet/modules/stdlib")
FACTS = """\
--- !ruby/object:Puppet::Node::Facts
name: bench.example.com
values:
  os: {family: Debian, name: Debian, release: {major: "12", full: "12.5"}}
  osfamily: Debian
  hostname: bench
  fqdn: bench.example.com
"""


def services_yaml(count):
    lines = ["runit::services:"]
    for index in range(count):
        lines.append("  svc%04d: {command: [/usr/local/bin/svc, --port, '%d'], "
                     "env: {PORT: '%d', NAME: svc%04d}}" % (index, 8000 + index, 8000 + index,
                                                             index))
    return "\n".join(lines) + "\n"


class Node:
    """Scratch Puppet dirs, a facts file and a modulepath with the module and stdlib."""

    def __init__(self, scratch, name):
        self.scratch = scratch / name
        self.dirs = {}
        for part in PUPPET_DIRS:
            self.dirs[part] = self.scratch / part
            self.dirs[part].mkdir(parents=True)
        (self.dirs["var"] / "state").mkdir()
        facts = self.dirs["var"] / "client_yaml" / "facts"
        facts.mkdir(parents=True)
        (facts / "bench.example.com.yaml").write_text(FACTS)
        self.modules = self.scratch / "modules"
        self.modules.mkdir()
        (self.modules / "runit").symlink_to(ROOT / "puppet")
        (self.modules / "stdlib").symlink_to(STDLIB)

    def apply(self, manifest, hiera=None):
        """(wall seconds, "Applied catalog in" seconds) of one puppet apply; exit 0 or 2."""
        site = self.scratch / "site.pp"
        site.write_text(manifest)
        argv = [PUPPET, "apply", "--detailed-exitcodes", "--color", "false", "--certname",
                "bench.example.com", "--facts_terminus", "yaml", "--modulepath",
                str(self.modules)]
        if hiera is not None:
            argv += ["--hiera_config", str(hiera)]
        for part, path in self.dirs.items():
            argv += ["--%sdir" % part, str(path)]
        started = time.perf_counter()
        done = subprocess.run(argv + [str(site)], capture_output=True, text=True,
                              env=dict(os.environ, HOME=str(self.scratch)))
        elapsed = time.perf_counter() - started
        if done.returncode not in (0, 2):
            output = (done.stdout + done.stderr)[-3000:]
            raise SystemExit("puppet apply failed (%d):\n%s" % (done.returncode, output))
        applied = re.search(r"Applied catalog in ([0-9.]+) seconds", done.stdout)
        compiled = re.search(r"Compiled catalog for \S+ in environment \S+ in ([0-9.]+) seconds",
                             done.stdout)
        if VERBOSE:
            print("  %s: wall %.2f s, compiled in %s s, applied in %s s" % (
                self.scratch.parent.name, elapsed, compiled and compiled.group(1),
                applied and applied.group(1)), flush=True)
        return elapsed, float(applied.group(1)) if applied else None


def module_side(scratch, count, runs, wheels, logoutput):
    """Medians of (first wall, no-change wall, no-change "applied in", empty manifest wall)
    through the module, its exec's ``logoutput`` as given."""
    scratch = scratch / ("module-" + logoutput)
    node = Node(scratch, "puppet")
    venv = scratch / "venv"
    data = scratch / "data"
    data.mkdir()
    hiera = scratch / "hiera.yaml"
    hiera.write_text("version: 5\nhierarchy:\n  - {name: bench, path: %s/node.yaml}\n" % data)

    def settings(root):
        (data / "node.yaml").write_text(
            "runit::init: none\n"
            "runit::config::root: %s\n"
            "runit::install::venv_dir: %s\n"
            "runit::install::pip_options: [--no-index, --find-links, %s]\n"
            "runit::apply::manage_runtime: false\n"
            "runit::apply::logoutput: %s\n" % (root, venv, wheels, logoutput)
            + services_yaml(count))

    warm = scratch / "module-warm"
    (warm / "etc").mkdir(parents=True)
    settings(warm)
    node.apply("include runit\n", hiera)  # installs runit-provision into the virtualenv
    firsts, noops, applied, facts = [], [], [], []
    for run in range(runs):
        root = scratch / ("module-%d" % run)
        (root / "etc").mkdir(parents=True)
        settings(root)
        firsts.append(node.apply("include runit\n", hiera)[0])
        wall, inside = node.apply("include runit\n", hiera)
        noops.append(wall)
        applied.append(inside)
        facts.append(fact_seconds(root))
    empty = statistics.median(node.apply("")[0] for _ in range(runs))
    return (statistics.median(firsts), statistics.median(noops), statistics.median(applied),
            empty, statistics.median(facts))


def fact_seconds(root):
    """Wall seconds of the runit_services fact as facter runs it (the module's facts.d script
    and the ``status`` command class runit::apply wrote)."""
    env = dict(os.environ, RUNIT_PROVISION_DIR=str(root / "etc" / "runit-provision"))
    started = time.perf_counter()
    done = subprocess.run([str(ROOT / "puppet" / "facts.d" / "runit_services.sh")],
                          capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if not done.stdout.startswith('{"runit_services": '):
        raise SystemExit("the fact gave nothing:\n%s" % done.stderr)
    return elapsed


def file_resources_side(scratch, count, runs):
    """Medians of (first wall, no-change wall) declaring the same files as file resources."""
    from runit_provision.accounts import NO_ACCOUNTS
    from runit_provision.hiera import load
    from runit_provision.render import render
    from runit_provision.schema import config_from_data

    data = scratch / "files-data.yaml"
    data.write_text("runit::init: none\n" + services_yaml(count))
    found, origins = load(data=str(data), facts={}).runit_data()
    tree = render(config_from_data(found, origins, NO_ACCOUNTS))
    node = Node(scratch, "files")
    firsts, noops = [], []
    for run in range(runs):
        root = scratch / ("files-%d" % run)
        (root / "var" / "log").mkdir(parents=True)  # what the host has (the module's side
        (root / "etc").mkdir()                       # makes them through the CLI)
        manifest = file_resources(tree, root)
        firsts.append(node.apply(manifest)[0])
        noops.append(node.apply(manifest)[0])
    return statistics.median(firsts), statistics.median(noops), len(list(tree))


def wheelhouse(scratch):
    """This checkout's wheel and its dependencies' (pip's cache and configured index)."""
    wheels = scratch / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
                    "--wheel-dir", str(wheels), str(ROOT)], check=True)
    return wheels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--dir", metavar="DIR", default="/dev/shm" if os.access(
        "/dev/shm", os.W_OK) else None, help="where the scratch directory goes")
    parser.add_argument("--verbose", action="store_true",
                        help="each run's wall, compile and apply times")
    args = parser.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    if os.geteuid() != 0:
        raise SystemExit("bench/puppet_module.py sets owners: run it as root")
    if not (os.access(PUPPET, os.X_OK) and STDLIB.is_dir()):
        print("puppet or its stdlib module is not installed: nothing to compare")
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="bench-puppet-module.", dir=args.dir))
    try:
        wheels = wheelhouse(scratch)
        first, noop, applied, empty, fact = module_side(scratch, args.services, args.runs,
                                                        wheels, "true")
        quiet_first, quiet_noop, _, _, _ = module_side(scratch, args.services, args.runs, wheels,
                                                       "on_failure")
        files_first, files_noop, paths = file_resources_side(scratch, args.services, args.runs)
    finally:
        shutil.rmtree(str(scratch), ignore_errors=True)
    overhead = noop - empty
    results = {"services": args.services, "paths": paths, "runs": args.runs,
               "module_first_s": first, "module_noop_s": noop,
               "module_quiet_first_s": quiet_first, "module_quiet_noop_s": quiet_noop,
               "module_noop_applied_s": applied, "empty_manifest_s": empty,
               "module_noop_overhead_s": overhead, "fact_s": fact,
               "file_resources_first_s": files_first, "file_resources_noop_s": files_noop}
    print("puppet apply managing %d services (%d paths), medians of %d, in %s"
          % (args.services, paths, args.runs, args.dir or "a temp dir"))
    print("%-44s %10s %10s" % ("whole puppet apply, wall", "first", "no-change"))
    print("%-44s %9.2fs %9.2fs" % ("module (include runit)", first, noop))
    print("%-44s %9.2fs %9.2fs" % ("module, logoutput: on_failure", quiet_first, quiet_noop))
    print("%-44s %9.2fs %9.2fs" % ("the same files as file resources", files_first, files_noop))
    print("%-44s %9.2fs" % ("an empty manifest (Puppet's own cost)", empty))
    print("%-44s %9.2f  %9.2f    (budget <= %.1f both ways)" % (
        "module / file resources, whole runs", first / files_first, noop / files_noop,
        RATIO_BUDGET))
    print("%-44s %9.2f  %9.2f" % (
        "the same, each less the empty run", (first - empty) / (files_first - empty),
        (noop - empty) / (files_noop - empty)))
    print("module's agent-side overhead, no-change run: %.2f s in the catalog's transaction "
          "(\"Applied catalog in\": the data files' checks and the plan guard), %.2f s over an "
          "empty manifest's run; the runit_services fact %.2f s more (facter); budget < %.1f s"
          % (applied, overhead, fact, OVERHEAD_BUDGET))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    ok = (first - empty) / (files_first - empty) <= RATIO_BUDGET and \
        (noop - empty) / (files_noop - empty) <= RATIO_BUDGET and overhead + fact < OVERHEAD_BUDGET
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
