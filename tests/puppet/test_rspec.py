"""The module's rspec-puppet unit tests (puppet/spec/): every class, defined type, type alias
and function has a spec, and ``rake spec`` passes — Debian's ruby-rspec-puppet and
ruby-puppetlabs-spec-helper, offline, stdlib from puppet-module-puppetlabs-stdlib.

``rake spec`` runs in a copy of the module named ``runit``: its ``spec_prep`` links fixtures
into ``spec/fixtures/modules`` (one of them back to the module itself), which the checkout
never gets from the suite, and which a copy of the checkout made meanwhile would follow.
"""

import glob
import os
import re
import shutil
import subprocess

import pytest

from .conftest import require
from .harness import MODULE, RUBY_GC, SYSTEM_MODULES

RAKE = shutil.which("rake") or "/usr/bin/rake"
GEMSPECS = "/usr/share/rubygems-integration/all/specifications"
# Debian packages: what .ci/run installs for this test.
GEMS = {"rspec-puppet": "ruby-rspec-puppet",
        "puppetlabs_spec_helper": "ruby-puppetlabs-spec-helper"}


def installed_gems():
    """``{gemspec path: package}`` of the gems ``rake spec`` loads (a path that cannot exist
    when one is missing, so ``require`` names its package)."""
    needs = {RAKE: "rake", str(SYSTEM_MODULES / "stdlib" / "metadata.json"):
             "puppet-module-puppetlabs-stdlib"}
    for gem, package in GEMS.items():
        found = glob.glob(os.path.join(GEMSPECS, gem + "-[0-9]*.gemspec"))
        needs[found[0] if found else os.path.join(GEMSPECS, gem)] = package
    return needs


def spec_of(path):
    """Where the spec of a manifest, type alias or function is (PDK's layout)."""
    text = path.read_text()
    if path.parent.name == "manifests":
        kind = re.search(r"^(class|define) ", text, re.M).group(1)
        folder = {"class": "classes", "define": "defines"}[kind]
        name = "runit" if path.stem == "init" else path.stem
        return MODULE / "spec" / folder / (name + "_spec.rb")
    if path.parent.name == "types":
        return MODULE / "spec" / "type_aliases" / (path.stem + "_spec.rb")
    return MODULE / "spec" / "functions" / (path.stem + "_spec.rb")


def made_by_rake(directory, names):
    """What ``rake spec_prep`` leaves in a checkout where it ran (``copytree``'s ``ignore``)."""
    if os.path.realpath(directory) == str(MODULE / "spec" / "fixtures"):
        return [name for name in names if name in ("modules", "manifests")]
    return []


def test_every_class_define_type_alias_and_function_has_a_spec():
    sources = (sorted((MODULE / "manifests").glob("*.pp")) + sorted((MODULE / "types").glob("*.pp"))
               + sorted((MODULE / "lib" / "puppet" / "functions").rglob("*.rb")))
    assert sources
    missing = [str(spec_of(path).relative_to(MODULE)) for path in sources
               if not spec_of(path).exists()]
    assert missing == []


@pytest.mark.puppet
def test_rake_spec_passes(puppet_installed, tmp_path):
    require(installed_gems())
    copy = tmp_path / "runit"
    shutil.copytree(str(MODULE), str(copy), symlinks=True, ignore=made_by_rake)
    (tmp_path / "home").mkdir()
    done = subprocess.run([RAKE, "spec"], cwd=str(copy), capture_output=True, text=True,
                          timeout=600, env=dict(RUBY_GC, HOME=str(tmp_path / "home"),
                                                PATH="/usr/bin:/bin", LANG="C.UTF-8"))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-20000:]
    counts = re.findall(r"^(\d+) examples?, (\d+) failures?", output, re.M)
    assert counts, output[-5000:]
    examples, failures = map(int, counts[-1])
    assert failures == 0 and examples > 100, output[-5000:]
