"""The module as files: it parses (``puppet parser validate``), lints clean
(``puppet-lint --fail-on-warnings``), its metadata and data are valid, its types follow the
CLI's vocabulary key for key, and REFERENCE.md documents every class, type and parameter.
Only the tests that run puppet, puppet-lint or ruby carry the ``puppet`` marker."""

import glob
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from runit_provision import __version__, model
from runit_provision.protocol.process import sandbox
from runit_provision.schema.services import PER_SERVICE

from .conftest import require
from .harness import MODULE, PUPPET, PUPPET_DIRS, PUPPET_LINT, plain

# Debian's puppet-strings (puppet strings generate)
GEMSPECS = "/usr/share/rubygems-integration/all/specifications"

MANIFESTS = sorted((MODULE / "manifests").glob("*.pp"))
TYPES = sorted((MODULE / "types").glob("*.pp"))
RUBY = sorted((MODULE / "lib").rglob("*.rb"))
EXAMPLES = sorted((MODULE / "examples").glob("*.pp"))


def declaration(path):
    """``(kind, name, [parameter names])`` of the class or define in a manifest."""
    text = path.read_text()
    match = re.search(r"^(class|define) ([a-z:_]+) \((.*?)^\) \{", text, re.M | re.S)
    assert match, "%s: no class or define" % path
    params = [re.search(r"\$([a-z_]+)", line).group(1)
              for line in match.group(3).splitlines() if "$" in line]
    return match.group(1), match.group(2), params


def struct_keys(name):
    """The keys of a ``Struct[{…}]`` type alias in types/NAME.pp."""
    text = (MODULE / "types" / (name + ".pp")).read_text()
    body = text.split("Struct[{", 1)[1]
    return re.findall(r"^\s+([a-z_]+)\s+=>", body, re.M)


@pytest.mark.puppet
def test_everything_parses(puppet_installed, tmp_path):
    dirs = []
    for name in PUPPET_DIRS:
        (tmp_path / name).mkdir()
        dirs += ["--%sdir" % name, str(tmp_path / name)]
    done = subprocess.run([PUPPET, "parser", "validate"] + dirs +
                          [str(path) for path in MANIFESTS + TYPES + EXAMPLES],
                          capture_output=True, text=True, timeout=120,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, plain(done.stdout + done.stderr)
    assert MANIFESTS and TYPES and EXAMPLES and RUBY
    for path in RUBY:
        done = subprocess.run(["ruby", "-c", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.puppet
def test_lint_is_clean(puppet_installed):
    done = subprocess.run([PUPPET_LINT, "--fail-on-warnings", "--relative", "manifests", "types",
                           "examples"], cwd=str(MODULE), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == ""


def test_metadata():
    metadata = json.loads((MODULE / "metadata.json").read_text())
    author, _, name = metadata["name"].partition("-")
    assert author and name == "runit"
    assert metadata["version"] == __version__
    for key in ("author", "summary", "license", "operatingsystem_support"):
        assert metadata[key]
    # metadata-json-lint requires source; the project has no public home, so it is Puppet's own
    # default (""), and the optional URLs are left out rather than made up.
    assert metadata["source"] == ""
    assert "project_page" not in metadata and "issues_url" not in metadata
    assert "example." not in json.dumps(metadata)
    # Every platform the module's data names is declared supported.
    supported = {entry["operatingsystem"] for entry in metadata["operatingsystem_support"]}
    for data in (MODULE / "data" / "os").glob("*.yaml"):
        assert data.stem in supported, data
    families = {"Debian": {"Debian", "Ubuntu"}, "RedHat": {"RedHat", "Rocky"}}
    for data in (MODULE / "data").glob("*-*.yaml"):
        assert families[data.stem.split("-")[0]] & supported, data
    assert [dep["name"] for dep in metadata["dependencies"]] == ["puppetlabs/stdlib"]
    ranges = {req["name"]: req["version_requirement"] for req in metadata["requirements"]}
    # Puppet: 7 (Debian 12's 7.23, the tests' own) and 8 (Debian 13's 8.10, in its root's
    # tier). OpenVox (Vox Pupuli's continuation of Puppet) is declared as Vox Pupuli's own
    # modules declare it, from 8.19.0, and through OpenVox 9 (Debian 14's, in its root's tier):
    # a module declaring only puppet is refused by OpenVox's tooling that checks requirements.
    # Which is run where: puppet/README.md#setup.
    assert ranges == {"puppet": ">= 7.0.0 < 9.0.0", "openvox": ">= 8.19.0 < 10.0.0"}


def test_module_data_is_hiera_5():
    config = yaml.safe_load((MODULE / "hiera.yaml").read_text())
    assert config["version"] == 5 and config["defaults"]["datadir"] == "data"
    paths = {level["path"] for level in config["hierarchy"]}
    assert "common.yaml" in paths and "%{facts.os.family}-family.yaml" in paths
    for data in (MODULE / "data").rglob("*.yaml"):
        values = yaml.safe_load(data.read_text()) or {}
        for key in values:
            # Module data holds the helper classes' defaults only: a runit::KEY of the data
            # format here would override the user's runit hash (the original spelling).
            assert key == "lookup_options" or key.count("::") == 2, (data, key)
    common = yaml.safe_load((MODULE / "data" / "common.yaml").read_text())
    for key in ("runit::services", "runit::users"):
        merge = common["lookup_options"][key]["merge"]
        assert merge == {"strategy": "deep", "knockout_prefix": "--"}


def test_class_runit_takes_every_top_level_key():
    kind, name, params = declaration(MODULE / "manifests" / "init.pp")
    assert (kind, name) == ("class", "runit")
    assert params == list(model.TOP_KEYS)
    assert struct_keys("settings") == list(model.TOP_KEYS)


def test_types_follow_the_clis_vocabulary():
    assert struct_keys("servicespec") == list(model.SERVICE_KEYS)
    assert struct_keys("defaults") == [key for key in model.SERVICE_KEYS
                                       if key not in PER_SERVICE]
    assert struct_keys("userspec") == list(model.USER_KEYS)
    assert struct_keys("log") == list(model.LOG_KEYS)
    assert struct_keys("limits") == list(model.LIMITS)
    check = (MODULE / "types" / "check.pp").read_text()
    assert re.findall(r"Struct\[\{ ([a-z]+) =>", check) == list(model.CHECK_KINDS)
    control = re.search(r"^type Runit::ControlLetters = Hash\[Pattern\[/\\A\[([a-z0-9]+)\]",
                        (MODULE / "types" / "controlletters.pp").read_text(), re.M)
    assert sorted(control.group(1)) == sorted(model.CONTROL_LETTERS)
    assert struct_keys("sandbox") == list(sandbox.KEYS)
    capabilities = re.findall(r"\(cap_\)\?\(([a-z_|]+)\)\\z/",
                              (MODULE / "types" / "sandbox.pp").read_text())
    assert "|".join(capabilities).split("|") == list(sandbox.CAPABILITIES)
    for name in ("servicespec", "defaults"):
        text = (MODULE / "types" / (name + ".pp")).read_text()
        assert re.search(r"^\s+control\s+=> Optional\[Runit::ControlLetters\],$", text, re.M)
        assert re.search(r"^\s+umask\s+=> Optional\[Runit::Umask\],$", text, re.M)


# The data's keys that runit::service spells otherwise: Puppet's metaparameters (a parameter
# named schedule would be handed down to the data file's resource as its schedule).
PUPPET_SPELLING = {"schedule": "timer"}


def test_runit_service_takes_every_service_key():
    _, name, params = declaration(MODULE / "manifests" / "service.pp")
    assert name == "runit::service"
    assert params == [PUPPET_SPELLING.get(key, key) for key in model.SERVICE_KEYS]
    _, name, params = declaration(MODULE / "manifests" / "user.pp")
    assert name == "runit::user"
    assert set(model.USER_KEYS) <= set(params) and "group" in params


def reference_sections():
    """REFERENCE.md's ``### `NAME` `` sections by name (puppet strings' layout)."""
    reference = (MODULE / "REFERENCE.md").read_text()
    sections = re.split(r"^### ", reference, flags=re.M)[1:]
    found = {}
    for section in sections:
        name = re.search(r"`([^`]+)`\s*$", section.split("\n", 1)[0])
        if name:  # not the table of contents' "### Classes"
            found[name.group(1)] = section
    return found


def test_reference_documents_every_class_type_and_parameter():
    by_name = reference_sections()
    for path in MANIFESTS:
        _, name, params = declaration(path)
        assert name in by_name, "REFERENCE.md has no section for %s" % name
        for param in params:
            assert re.search(r"^##### .*`%s`$" % param, by_name[name], re.M), (name, param)
    for path in TYPES:
        name = re.search(r"^type ([A-Za-z:]+) =", path.read_text(), re.M).group(1)
        assert name in by_name, "REFERENCE.md has no section for %s" % name
    assert "runit::escape" in by_name and "runit_services" in by_name


@pytest.mark.puppet
def test_reference_is_what_puppet_strings_generates(tmp_path):
    """REFERENCE.md is ``puppet strings generate --format markdown`` of the module, then the
    hand-written Facts section (puppet strings does not document external facts)."""
    specs = glob.glob(os.path.join(GEMSPECS, "puppet-strings-*.gemspec"))
    require({specs[0] if specs else os.path.join(GEMSPECS, "puppet-strings"): "puppet-strings"})
    copy = tmp_path / "runit"
    shutil.copytree(str(MODULE), str(copy), symlinks=True)  # rake spec_prep links a fixture back
    done = subprocess.run([PUPPET, "strings", "generate", "--format", "markdown", "--out",
                           str(tmp_path / "REFERENCE.md")], cwd=str(copy), capture_output=True,
                          text=True, timeout=300, env={"HOME": str(tmp_path),
                                                       "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr
    generated = (tmp_path / "REFERENCE.md").read_text()
    committed = (MODULE / "REFERENCE.md").read_text()
    assert committed.startswith(generated), (
        "REFERENCE.md is not puppet strings' output: regenerate it (puppet/README.md, "
        "Development)")
    assert committed[len(generated):].lstrip().startswith(
        "<!-- Written by hand from here on")


def test_every_declaration_is_documented_in_the_manifest():
    for path in MANIFESTS:
        text = path.read_text()
        _, name, params = declaration(path)
        assert "# @summary" in text, path
        for param in params:
            assert re.search(r"^# @param %s\b" % param, text, re.M), (path, param)


def test_the_fact_is_a_posix_sh_script():
    fact = MODULE / "facts.d" / "runit_services.sh"
    assert fact.stat().st_mode & 0o111 == 0o111
    done = subprocess.run(["sh", "-n", str(fact)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.puppet
def test_escape_keeps_hieras_hands_off(modules, tmp_path):
    """runit::escape: a ``%{`` anywhere (keys too) reaches runit-provision's hiera as text."""
    manifest = tmp_path / "escape.pp"
    manifest.write_text("notice(to_json(runit::escape({'a%{b}' => ['x%{y}', 1, true], "
                        "'n' => {'m' => 'z%%{'}, 'u' => undef})))\n")
    argv = [PUPPET, "apply", "--modulepath", str(modules), str(manifest)]
    for name in PUPPET_DIRS:
        (tmp_path / name).mkdir()
        argv += ["--%sdir" % name, str(tmp_path / name)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    notice = [line for line in plain(done.stdout).splitlines() if "Scope(Class[main])" in line]
    assert notice, plain(done.stdout + done.stderr)
    value = json.loads(notice[0].split(": ", 2)[2])
    literal = "%{literal('%')}{"
    assert value == {"a" + literal + "b}": ["x" + literal + "y}", 1, True],
                     "n": {"m": "z%" + literal}, "u": None}
