"""The Puppet tiers' harness: the module on a modulepath, real ``puppet`` runs in scratch
directories, a wheelhouse of this checkout for the module to install from, sandbox roots.

Puppet always runs with its own ``--confdir/--codedir/--vardir/--logdir/--rundir`` and HOME
under a temp dir, so the host's /etc/puppet is neither read nor written. ``puppet apply``
takes its facts from a facts file (``--facts_terminus yaml``): the node's facts are the test's,
facter does not run, and nothing depends on this machine's name or OS.

The module installs runit-provision into a virtualenv from a wheelhouse built once per run
from this checkout (``pip wheel``: the project's wheel and its dependencies' wheels;
tests/conftest.py's ``checkout_wheelhouse``), with ``--no-index --find-links``: the Puppet runs
themselves never reach a package index.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import textwrap
from pathlib import Path

from tests.conftest import ROOT

PUPPET = shutil.which("puppet") or "/usr/bin/puppet"
PUPPET_LINT = shutil.which("puppet-lint") or "/usr/bin/puppet-lint"
MODULE = ROOT / "puppet"
EXAMPLES = ROOT / "hiera-examples"
# Where Debian installs Forge modules (puppetlabs-stdlib: puppet-module-puppetlabs-stdlib).
SYSTEM_MODULES = Path("/usr/share/puppet/modules")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Ruby's heap for Puppet's runs (rspec-puppet's ~600 catalogs, ``puppet apply``, agents): started
# large, and major collections and malloc-triggered ones rarer than Ruby's defaults, which grow
# the heap from 10k slots collecting all along. Measured on one core: `rake spec` 40 s of CPU
# with the defaults, 31 s with these; four tests of test_apply.py 51 s, 46 s.
RUBY_GC = {"RUBY_GC_HEAP_INIT_SLOTS": "800000", "RUBY_GC_HEAP_OLDOBJECT_LIMIT_FACTOR": "4",
           "RUBY_GC_MALLOC_LIMIT": "67108864", "RUBY_GC_MALLOC_LIMIT_MAX": "134217728"}
# Each passed as --NAMEdir. ssl and public too: Debian's puppet keeps them in
# /var/lib/puppet/ssl and /var/cache/puppet/public whatever --vardir says, so without them
# every run would write the machine's own (and parallel agents would share one ssl.lock).
PUPPET_DIRS = ("conf", "code", "var", "log", "run", "ssl", "public")

# A sandbox root's accounts: every login and group hiera-examples and the tests name.
PASSWD = """\
root:x:0:0:root:/root:/bin/sh
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
redis:x:101:101::/var/lib/redis:/usr/sbin/nologin
log:x:102:102::/var/log:/usr/sbin/nologin
apache:x:48:48::/usr/share/httpd:/sbin/nologin
pgbouncer:x:103:103::/var/lib/pgbouncer:/usr/sbin/nologin
alice:x:1001:1001::/home/alice:/bin/sh
bob:x:1002:1002::/home/bob:/bin/sh
deploy:x:1003:1003::/home/deploy:/bin/sh
apprun:x:1004:1004::/home/apprun:/bin/sh
apprun1:x:1005:1005::/home/apprun1:/bin/sh
apprun2:x:1006:1006::/home/apprun2:/bin/sh
kburdis:x:1007:1007::/home/kburdis:/bin/sh
"""
GROUP = """\
root:x:0:
adm:x:4:log
www-data:x:33:
nogroup:x:65534:
redis:x:101:
log:x:102:
apache:x:48:
pgbouncer:x:103:
alice:x:1001:
bob:x:1002:
deploy:x:1003:
apprun:x:1004:
apprun1:x:1005:
apprun2:x:1006:
kburdis:x:1007:
developers:x:2000:alice
admins:x:2001:kburdis
"""
HOMES = ("alice", "bob", "deploy", "apprun", "apprun1", "apprun2", "kburdis")


def run_group(argv, timeout, env=None, cwd=None):
    """``(exit code, stdout, stderr)`` of a command run in its own session; on a timeout its
    whole process group is killed (Puppet's execs, the CLI they start) before failing."""
    proc = subprocess.Popen([str(arg) for arg in argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=cwd, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        raise AssertionError("%s: no answer within %ds:\n%s%s" % (argv[:3], timeout, out, err))
    return proc.returncode, out, err


def plain(text):
    """Puppet's output without its colours."""
    return ANSI.sub("", text)


def module_path(target):
    """A modulepath holding this checkout's module as ``runit`` and Debian's stdlib."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "runit").symlink_to(MODULE)
    (target / "stdlib").symlink_to(SYSTEM_MODULES / "stdlib")
    return target


def make_root(root, homes=HOMES, inittab=False):
    """A sandbox root with the accounts above and their homes (the CLI takes users from
    ROOT/etc/passwd and ROOT/etc/group under --root); ``inittab``: a sysvinit's /etc/inittab
    (what ``init: auto`` finds under a root)."""
    (root / "etc").mkdir(parents=True, exist_ok=True)
    if inittab:
        (root / "etc" / "inittab").write_text(
            "id:3:initdefault:\nsi::sysinit:/etc/rc.d/rc.sysinit\n")
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    for login in homes:
        (root / "home" / login).mkdir(parents=True, exist_ok=True)
    return root


def facts_yaml(certname, family="Debian", name=None, major="12", legacy=True):
    """A Puppet::Node::Facts document for ``--facts_terminus yaml``; without ``legacy``, only
    structured facts, as Puppet 8's agent sends them (no ``osfamily``, ``hostname``, …)."""
    host, _, domain = certname.partition(".")
    text = textwrap.dedent("""\
        --- !ruby/object:Puppet::Node::Facts
        name: {certname}
        values:
          os: {{family: {family}, name: {name}, release: {{major: "{major}", full: "{major}"}}}}
          networking: {{hostname: {host}, domain: {domain}, fqdn: {certname}}}
          clientcert: {certname}
        """)
    if legacy:
        text += textwrap.indent(textwrap.dedent("""\
            osfamily: {family}
            hostname: {host}
            domain: {domain}
            fqdn: {certname}
            """), "  ")
    return text.format(certname=certname, family=family, name=name or family, major=major,
                       host=host, domain=domain)


def facts_for_cli(certname, family="Debian", name=None, major="12"):
    """The same facts for ``runit-provision --facts``."""
    host, _, domain = certname.partition(".")
    return {"os": {"family": family, "name": name or family,
                   "release": {"major": major, "full": major}},
            "osfamily": family, "hostname": host, "domain": domain, "fqdn": certname,
            "clientcert": certname}


def hiera_yaml(test_data, examples=EXAMPLES):
    """A hiera.yaml of hiera-examples' levels (absolute datadir), under a first level of the
    test's own data (module settings: root, venv, …) — readable by Puppet and by the CLI."""
    return textwrap.dedent("""\
        version: 5
        defaults:
          datadir: {data}
          data_hash: yaml_data
        hierarchy:
          - name: "The test's settings"
            path: {test}
          - name: "Per-node data"
            path: "nodes/%{{trusted.certname}}.yaml"
          - name: "Per-OS family and release"
            paths:
              - "os/%{{facts.os.family}}-%{{facts.os.release.major}}.yaml"
              - "os/%{{facts.os.family}}.yaml"
          - name: "Shared service sets"
            glob: "services.d/*.yaml"
          - name: "Common data"
            path: "common.yaml"
        """).format(data=examples / "data", test=test_data)


class PuppetApply:
    """``puppet apply`` of one node in scratch directories: its own Puppet dirs, facts file,
    modulepath and hiera.yaml, reused run after run (state and facts persist like a node's)."""

    def __init__(self, scratch, modules, hiera, certname="web01.example.com", facts=None,
                 fileserver=None):
        self.scratch = scratch
        self.modules = modules
        self.hiera = hiera
        self.certname = certname
        self.dirs = {name: scratch / name for name in PUPPET_DIRS}
        for path in self.dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        (self.dirs["var"] / "state").mkdir(exist_ok=True)
        facts_dir = self.dirs["var"] / "client_yaml" / "facts"
        facts_dir.mkdir(parents=True, exist_ok=True)
        (facts_dir / (certname + ".yaml")).write_text(facts or facts_yaml(certname))
        if fileserver is not None:
            # puppet:///files/NAME, as the original module's RPM came from the file server.
            (self.dirs["conf"] / "fileserver.conf").write_text(
                "[files]\n  path %s\n  allow *\n" % fileserver)

    def run(self, manifest, *extra, env=None, timeout=600):
        """``(exit code, plain output)`` of ``puppet apply --detailed-exitcodes``: 0 nothing
        changed, 2 changes, 4/6 failures."""
        site = self.scratch / "site.pp"
        site.write_text(manifest)
        argv = [PUPPET, "apply", "--detailed-exitcodes", "--color", "false",
                "--certname", self.certname, "--facts_terminus", "yaml",
                "--modulepath", str(self.modules), "--hiera_config", str(self.hiera)]
        for name, path in self.dirs.items():
            argv += ["--%sdir" % name, str(path)]
        argv += list(extra) + [str(site)]
        environ = dict(os.environ, HOME=str(self.scratch), **RUBY_GC)
        environ.update(env or {})
        code, out, err = run_group(argv, timeout, env=environ)
        return code, plain(out + err)


def changed_resources(output):
    """The resources a Puppet run changed, innermost (``Notice: /Stage[main]/…/Exec[x]/returns:
    …``, ``…/File[p]/content: …``), in order, without repeats."""
    seen = []
    for match in re.finditer(r"^Notice: /Stage\[main\]/(.*)/[a-z_]+: ", output, re.M):
        resources = re.findall(r"([A-Z]\w*(?:::[A-Z]\w*)*\[.*?\])(?=/|$)", match.group(1))
        if resources and resources[-1] not in seen:
            seen.append(resources[-1])
    return seen


def exec_lines(output, title="runit-provision apply"):
    """What the CLI printed through ``exec { title: logoutput => true }``."""
    marker = "Exec[%s]/returns: " % title
    return [line.split(marker, 1)[1] for line in output.splitlines()
            if marker in line and not line.endswith("executed successfully")]


def tree_of(root, skip=()):
    """``{relative path: (kind, mode, content or target, uid, gid)}`` of everything under
    ``root`` but ``skip`` (relative paths, with what is under them)."""
    entries = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(directory) / name
            relative = "/" + str(path.relative_to(root))
            if any(relative == item or relative.startswith(item + "/") for item in skip):
                continue
            stat = path.lstat()
            if path.is_symlink():
                entries[relative] = ("link", None, os.readlink(path), stat.st_uid, stat.st_gid)
            elif path.is_dir():
                entries[relative] = ("dir", stat.st_mode & 0o7777, None, stat.st_uid,
                                     stat.st_gid)
            else:
                entries[relative] = ("file", stat.st_mode & 0o7777, path.read_bytes(),
                                     stat.st_uid, stat.st_gid)
    return entries


def cli(venv, *args, timeout=120):
    """``(exit code, stdout, stderr)`` of the virtualenv's runit-provision."""
    return run_group([venv / "bin" / "runit-provision"] + list(args), timeout)


def write_json(path, value):
    path.write_text(json.dumps(value))
    return path
