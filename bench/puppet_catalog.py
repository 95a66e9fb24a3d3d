"""bench: the Puppet server's side of a node with 200 services — catalog size (resources, JSON
bytes) and compile time through the module (``include runit``, the services in hiera) against
the same files declared as plain ``file`` resources, side by side, as ratios.

How it compiles, offline: Puppet's own compiler (``Puppet::Parser::Compiler.compile``, what
puppetserver's catalog endpoint runs) driven by a short Ruby script in one process, like a
server's warm JRuby: scratch ``--confdir/--vardir/…`` dirs, an ``--environmentpath`` with one
environment a side (``modules/``, ``manifests/site.pp``, the environment's ``hiera.yaml``, as
a server's code dir holds them), the node's facts from a YAML facts file. Nothing is applied and
no port is opened. (``puppet master --compile`` is gone from Puppet 7; ``puppet catalog find
--terminus compiler`` compiles offline too, but one process a compile, so Ruby's and Puppet's
start-up would be most of what it measures.)

* **module**: ``include runit`` with 200 services in hiera (each a ``command``, two ``env``
  values and the stock logger), as ``bench/puppet_module.py`` declares them;
* **file resources**: one ``file`` resource per path of the very tree runit-provision renders
  from that data (directories, files with content, mode, owner and group, links) — what a module
  that templated the files itself would send.

Compile times are medians of ``--runs`` compiles, after a warm-up compile of another
environment (Ruby's autoloading): **fresh**, a new environment each compile (its manifests
parsed and module data read again: Puppet's default ``environment_timeout = 0``), and
**cached**, the same environment again (``environment_timeout = unlimited``, what production
servers are told to use). Bytes: the catalog as JSON (``to_data_hash``), what an agent
downloads. Resources: every resource of the catalog (classes and the stage included), and the
managed ones (neither a class nor a stage).

Needs puppet and Debian's stdlib module; no root. Usage:
``.venv/bin/python bench/puppet_catalog.py [--services N] [--runs N] [--json FILE]``
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from apply import PUPPET_DIRS  # noqa: E402
from apply import manifest as file_resources  # noqa: E402  one file resource a path
from puppet_module import FACTS, STDLIB, services_yaml  # noqa: E402

RUBY = shutil.which("ruby") or "/usr/bin/ruby"
CERTNAME = "bench.example.com"
# Compile every environment named on the command line `runs` times with a fresh environment,
# then `runs` times with the cached one; print sizes and times as JSON.
DRIVER = r"""
require 'puppet'
require 'json'
scratch, certname, runs, *names = ARGV
runs = Integer(runs)
args = %w[PUPPET_DIRS].flat_map { |dir| ["--#{dir}dir", File.join(scratch, dir)] }
args += ['--environmentpath', File.join(scratch, 'environments'), '--facts_terminus', 'yaml',
         '--node_terminus', 'plain', '--hiera_config', '/dev/null']
Puppet.initialize_settings(args)
facts = Puppet::Node::Facts.indirection.find(certname)
environments = Puppet.lookup(:environments)

def compile(environment, certname, facts)
  node = Puppet::Node.new(certname, environment: environment)
  node.merge(facts.values)
  started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  catalog = Puppet.override(current_environment: environment) do
    Puppet::Parser::Compiler.compile(node)
  end
  [Process.clock_gettime(Process::CLOCK_MONOTONIC) - started, catalog]
end

result = {}
names.each do |name|
  fresh = []
  catalog = nil
  runs.times do
    environments.clear_all
    seconds, catalog = compile(environments.get!(name), certname, facts)
    fresh << seconds
  end
  environment = environments.get!(name)
  compile(environment, certname, facts) # the first compile of a cached environment parses it
  cached = (0...runs).map { compile(environment, certname, facts).first }
  types = catalog.resources.map(&:type)
  result[name] = {
    'fresh_s' => fresh, 'cached_s' => cached, 'resources' => types.size,
    'managed' => types.count { |type| !['Class', 'Stage'].include?(type) },
    'by_type' => types.tally, 'bytes' => JSON.generate(catalog.to_data_hash).bytesize,
  }
end
puts JSON.generate(result)
""".replace("PUPPET_DIRS", " ".join(PUPPET_DIRS))


def rendered_tree(scratch, count):
    """The tree runit-provision renders from the services' data (what the file side declares)."""
    from runit_provision.accounts import NO_ACCOUNTS
    from runit_provision.hiera import load
    from runit_provision.render import render
    from runit_provision.schema import config_from_data

    data = scratch / "files-data.yaml"
    data.write_text("runit::init: none\n" + services_yaml(count))
    found, origins = load(data=str(data), facts={}).runit_data()
    return list(render(config_from_data(found, origins, NO_ACCOUNTS)))


def environment(scratch, name, site, modules=(), hiera=None):
    """An environment directory as a server's code dir holds it."""
    directory = scratch / "environments" / name
    (directory / "manifests").mkdir(parents=True)
    (directory / "modules").mkdir()
    (directory / "manifests" / "site.pp").write_text(site)
    for module, path in modules:
        (directory / "modules" / module).symlink_to(path)
    if hiera is not None:
        (directory / "data").mkdir()
        (directory / "data" / "node.yaml").write_text(hiera)
        (directory / "hiera.yaml").write_text(
            "version: 5\nhierarchy:\n  - {name: node, path: node.yaml}\n")


def compiled(scratch, count, runs):
    """The driver's figures for the warm-up, module and files environments."""
    for part in PUPPET_DIRS:
        (scratch / part).mkdir()
    facts = scratch / "var" / "client_yaml" / "facts"
    facts.mkdir(parents=True)
    (facts / (CERTNAME + ".yaml")).write_text(FACTS)
    environment(scratch, "warmup", "file { '/tmp/warm-up': ensure => file }\n")
    environment(scratch, "module", "include runit\n",
                modules=[("runit", ROOT / "puppet"), ("stdlib", STDLIB)],
                hiera="runit::init: none\n" + services_yaml(count))
    tree = rendered_tree(scratch, count)
    environment(scratch, "files", file_resources(tree, ""))
    driver = scratch / "compile.rb"
    driver.write_text(DRIVER)
    done = subprocess.run([RUBY, str(driver), str(scratch), CERTNAME, str(runs), "warmup",
                           "module", "files"], capture_output=True, text=True,
                          env={"HOME": str(scratch), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    if done.returncode != 0:
        raise SystemExit("compiling failed:\n%s" % (done.stdout + done.stderr)[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1]), len(tree)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--dir", metavar="DIR", default="/dev/shm" if os.access(
        "/dev/shm", os.W_OK) else None, help="where the scratch directory goes")
    args = parser.parse_args(argv)
    if not (os.access(RUBY, os.X_OK) and STDLIB.is_dir() and shutil.which("puppet")):
        print("puppet or its stdlib module is not installed: nothing to compare")
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="bench-puppet-catalog.", dir=args.dir))
    try:
        figures, paths = compiled(scratch, args.services, args.runs)
    finally:
        shutil.rmtree(str(scratch), ignore_errors=True)
    module, files = figures["module"], figures["files"]
    rows = [
        ("resources in the catalog", module["resources"], files["resources"], "%d"),
        ("  managed (not a class or the stage)", module["managed"], files["managed"], "%d"),
        ("catalog JSON, bytes", module["bytes"], files["bytes"], "%d"),
        ("compile, fresh environment, s (median)", statistics.median(module["fresh_s"]),
         statistics.median(files["fresh_s"]), "%.3f"),
        ("compile, cached environment, s (median)", statistics.median(module["cached_s"]),
         statistics.median(files["cached_s"]), "%.3f"),
    ]
    print("catalog of a node with %d services (%d paths), %d compiles a side"
          % (args.services, paths, args.runs))
    print("%-42s %12s %16s %9s" % ("", "module", "file resources", "ratio"))
    for label, ours, theirs, form in rows:
        print("%-42s %12s %16s %9.3f" % (label, form % ours, form % theirs, ours / theirs))
    print("module's resources by type: %s" % ", ".join(
        "%s %d" % item for item in sorted(module["by_type"].items())))
    if args.json:
        results = {"services": args.services, "paths": paths, "runs": args.runs,
                   "module": module, "file_resources": files}
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
