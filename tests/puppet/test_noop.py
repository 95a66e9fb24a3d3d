"""``puppet apply --noop`` of the module on a node where nothing is installed yet: the run says
what it would do (the virtualenv, pip, install-runtime, apply, the data files), fails nothing
and changes nothing — no "Could not find command" from a guard that runs the CLI before the
virtualenv that holds it exists (which failed the run: exit 4, apply skipped).

With ``--detailed-exitcodes`` the clean noop run exits 0, not 2: Puppet 7 and 8 count noop events
as no changes (PUP-686, open). What says "would change" is the run's report: ``noop_pending``,
resources out of sync, none failed — what PuppetDB and the console show for a noop run.

The node is staged (``runit::config::root``, a sandbox root) and its virtualenv is a path under
the test's temp dir that does not exist; puppet runs in scratch directories
(tests/puppet/harness.py). A noop run installs nothing, so no wheelhouse is needed.
"""

import textwrap

import pytest
import yaml

from runit_provision import __version__

from .harness import PuppetApply, changed_resources, facts_yaml, hiera_yaml, make_root, tree_of

pytestmark = pytest.mark.puppet

# An exec's noop event: Puppet 7 words it through the property's format, Puppet 8 and OpenVox
# as its change_to_s with " (noop)"
WOULD_RUN = ("/returns: current_value 'notrun', should be ['0'] (noop)",
             "/returns: executed successfully (noop)")


class RubyTags(yaml.SafeLoader):
    """Puppet's YAML report, its ``!ruby/object:…`` tags read as plain mappings."""


RubyTags.add_multi_constructor(
    "!ruby/", lambda loader, suffix, node: loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.MappingNode) else loader.construct_scalar(node))


def last_report(puppet):
    """The last run's report (``vardir/state/last_run_report.yaml``): ``(report, {metric
    category: {name: value}})``."""
    path = puppet.dirs["var"] / "state" / "last_run_report.yaml"
    report = yaml.load(path.read_text(), RubyTags)
    metrics = {category: {name: value for name, _, value in metric["values"]}
               for category, metric in report["metrics"].items()}
    return report, metrics


def fresh_node(tmp_path, modules, extra="", facts=None):
    """``(puppet, root, venv)``: hiera-examples' web01 staged into an empty sandbox root, with a
    virtualenv path that does not exist."""
    root = make_root(tmp_path / "root", inittab=True)
    venv = tmp_path / "opt" / "runit-provision"
    settings = tmp_path / "test.yaml"
    settings.write_text(textwrap.dedent("""\
        runit::install::venv_dir: {venv}
        runit::install::package_source: runit-provision=={version}
        runit::install::pip_options: [--no-index, --find-links, {tmp}/no-wheels]
        runit::config::cache_dir: {tmp}/cache
        runit::config::root: {root}
        """).format(venv=venv, version=__version__, tmp=tmp_path, root=root) + extra)
    hiera = tmp_path / "hiera.yaml"
    hiera.write_text(hiera_yaml(settings))
    return PuppetApply(tmp_path / "puppet", modules, hiera, facts=facts), root, venv


@pytest.mark.parametrize("runtime", ["python", "system"])
def test_noop_on_a_fresh_node_reports_and_changes_nothing(tmp_path, modules, runtime):
    puppet, root, venv = fresh_node(tmp_path, modules, "runit::runtime: %s\n" % runtime)
    before = tree_of(tmp_path, skip=["/puppet"])

    code, output = puppet.run("include runit\n", "--noop")

    assert "Error" not in output, output
    assert "Could not find command" not in output, output
    # stdlib 9 (Debian 13) deprecates the global to_yaml and shell_escape, which stdlib 8 has
    # alone: the module's own runit::to_yaml and runit::shell_escape warn under neither
    assert "deprecated" not in output, output
    assert code == 0, output  # not 2: PUP-686, see above
    report, metrics = last_report(puppet)
    assert report["noop"] and report["noop_pending"]
    assert metrics["resources"]["failed"] == 0 and metrics["resources"]["skipped"] == 0
    assert metrics["resources"]["out_of_sync"] >= 8 and metrics["events"]["noop"] >= 8
    for title in ("runit-provision virtualenv", "runit-provision pip install",
                  "runit-provision install-runtime", "runit-provision apply"):
        assert any("Exec[%s]%s" % (title, words) in output for words in WOULD_RUN), (
            title, output)
    changed = changed_resources(output)
    assert "File[%s/etc/runit-provision/data.yaml]" % root in changed, changed
    # Nothing was made: no virtualenv, nothing in the root, no cache.
    assert not venv.exists()
    assert tree_of(tmp_path, skip=["/puppet"]) == before


# Every class and defined type of the module, as the README's examples declare them.
EVERY_CLASS_AND_TYPE = """\
include runit
include runit::metrics
runit::service { 'worker':
  command => ['/usr/local/bin/worker', '--config', '/etc/worker.conf'],
  user    => 'app',
  log     => { 'timestamps' => 'iso', 'num' => 20 },
}
runit::service { 'purge-cache':
  command => '/usr/local/bin/purge-cache',
  timer   => '*:0/15',
  jitter  => 30,
}
runit::user { 'kburdis': }
runit::restart { 'web': }
"""


@pytest.mark.parametrize("runtime", ["python", "system"])
def test_the_catalog_compiles_under_puppet_8s_strict_mode(tmp_path, modules, runtime):
    """Puppet 8's defaults, asked of Puppet 7 too: ``--strict=error`` (deprecated or ambiguous
    language fails the catalog) and ``--strict_variables`` (an unknown variable fails it), with
    structured facts only, as Puppet 8's agent sends them: a legacy fact (``$::osfamily``,
    ``$hostname``) is an unknown variable there."""
    puppet, root, venv = fresh_node(tmp_path, modules, "runit::runtime: %s\n" % runtime,
                                    facts=facts_yaml("web01.example.com", legacy=False))

    code, output = puppet.run(EVERY_CLASS_AND_TYPE, "--noop", "--strict=error",
                              "--strict_variables")

    assert "Error" not in output and "Warning" not in output, output
    assert code == 0, output
    assert "Exec[runit-provision apply]" in output, output
    assert not venv.exists()
