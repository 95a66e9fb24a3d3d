"""docs/verify.md (once the README's verify section): its CI job's command line is one the CLI
accepts, its sample report is the shape the CLI prints, and its Python examples are what
test_live.py runs."""

import re
import shlex

import yaml

from runit_provision.cli.main import build_parser

from ..conftest import ROOT


def section():
    return (ROOT / "docs" / "verify.md").read_text()


def blocks(language):
    return re.findall(r"```%s\n(.*?)```" % language, section(), re.S)


def test_the_ci_job_runs_a_command_line_the_cli_accepts():
    job = yaml.safe_load(blocks("yaml")[0])
    commands = [step["run"] for step in job["verify"]["steps"] if "run" in step]
    assert commands[0] == "pip install 'runit-provision[checks]'"
    argv = shlex.split(commands[1])
    assert argv[:2] == ["runit-provision", "verify"]
    args = build_parser().parse_args(argv[1:])
    assert args.hosts == ["ssh://deploy@web01.example.com?sudo=true"]
    assert args.junitxml == "reports/verify.xml" and args.hiera == "hiera.yaml"


def test_the_sample_report_has_the_cli_shape():
    sample = re.findall(r"```\n(=+ runit-provision verify =+\n.*?)```", section(), re.S)[0]
    lines = sample.splitlines()
    assert lines[1].startswith("hosts: ") and lines[-1].startswith("=")
    assert "FAILED web::files - " in sample and "SKIPPED runtime::linked into init" in sample


def readme_plugin_example():
    """(conftest.py, test module) of docs/verify.md."""
    conftest, tests = blocks("python")[:2]
    return conftest, tests


def test_the_plugin_example_opts_in_as_documented():
    conftest, tests = readme_plugin_example()
    assert conftest == 'pytest_plugins = ["runit_provision.checks.plugin"]\n'
    compile(tests, "test_runit.py", "exec")
    assert "runit_service(" in tests and "runit_tree(" in tests
