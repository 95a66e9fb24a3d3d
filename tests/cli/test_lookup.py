"""runit-provision lookup: output like puppet lookup, --json, --explain, exit codes, errors."""

import json

import pytest

from runit_provision.cli.main import main
from tests.conftest import ROOT

EXAMPLES = ROOT / "hiera-examples"
WEB01 = ["--hiera", str(EXAMPLES / "hiera.yaml"), "--facts", str(EXAMPLES / "facts/web01.yaml")]


def run(capsys, *argv):
    code = main(["lookup", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_yaml_like_puppet_lookup(capsys):
    assert run(capsys, "runit::service_dir", *WEB01) == (0, "--- /etc/service\n", "")
    code, out, _ = run(capsys, "runit::services.web.env", *WEB01)
    assert code == 0 and out.startswith("---\nPORT: '8080'\n") and "DEBUG: ''" in out


def test_json_and_merge_override(capsys):
    code, out, _ = run(capsys, "runit::services.web.env", "--merge", "first", "--json", *WEB01)
    assert code == 0 and json.loads(out) == {"DEBUG": "--"}
    code, out, _ = run(capsys, "runit::services.web.env", "--merge", "deep",
                       "--knock-out-prefix=--", "--json", *WEB01)
    assert code == 0 and json.loads(out)["DEBUG"] == ""


def test_explain_names_levels_paths_and_files(capsys):
    code, out, _ = run(capsys, "runit::services", "--explain", *WEB01)
    assert code == 0
    assert "merge deep (knockout_prefix: --) (from lookup_options)" in out
    assert "Original path: 'os/%{facts.os.family}-%{facts.os.release.major}.yaml'" in out
    assert "Path not found" in out
    assert "Value from: " in out and "web01.example.com.yaml" in out


def test_not_found_exits_1_and_explain_exits_0(capsys):
    code, out, err = run(capsys, "no::such", *WEB01)
    assert (code, out) == (1, "") and "no value for 'no::such'" in err
    assert run(capsys, "no::such", "--explain", *WEB01)[0] == 0


def test_data_error_goes_to_stderr_with_exit_1(capsys, tmp_path):
    data = tmp_path / "data.yaml"
    data.write_text("x: \"%{facts.nope}\"\n")
    code, out, err = run(capsys, "x", "--data", str(data), "--facts",
                         str(EXAMPLES / "facts/web01.yaml"))
    assert (code, out) == (1, "")
    assert "%s:1:1: x: unknown fact 'facts.nope' in %%{facts.nope}" % data in err


def test_deep_options_need_merge_deep(capsys):
    code, _, err = run(capsys, "x", "--sort-merged-arrays", *WEB01)
    assert code == 1 and "--merge deep" in err


def test_hiera_and_data_are_exclusive():
    with pytest.raises(SystemExit):
        main(["lookup", "x", "--hiera", "a", "--data", "b"])


def test_a_key_not_found_says_what_it_may_have_meant(capsys, tmp_path):
    """Issue 44, item 19: ``lookup runit::servces`` said only "no value"."""
    assert run(capsys, "runit::servces", *WEB01) == (
        1, "", "runit-provision lookup: no value for 'runit::servces' (did you mean "
               "'runit::services'?)\n")
    assert run(capsys, "runit::services.wbe.env", *WEB01)[2].endswith(
        "(did you mean 'runit::services.web.env'?)\n")
    data = tmp_path / "data.yaml"  # the other spelling: runit: {services: …}
    data.write_text("runit:\n  services: {web: {command: /bin/web}}\n")
    assert run(capsys, "runit::services.web", "--data", str(data))[2].endswith(
        "(did you mean 'runit.services.web'?)\n")
    assert run(capsys, "no::such", *WEB01)[2] == "runit-provision lookup: no value for " \
                                                 "'no::such'\n"


def test_help_says_what_it_does_and_root_is_an_option(capsys):
    """lookup --help has a description, and the --root its --hiera's help names is an
    option of it (issue 59 §5)."""
    with pytest.raises(SystemExit):
        main(["lookup", "--help"])
    out = capsys.readouterr().out
    assert "Look KEY up in the hiera data as puppet lookup does" in out
    assert "  --root DIR " in out and "Exit codes: 0 found" in out


def test_root_reads_the_default_data_under_it_as_plan_does(capsys, tmp_path):
    """Without --hiera/--data, --root DIR reads DIR/etc/runit-provision/hiera.yaml, the data
    plan --root DIR reads."""
    config = tmp_path / "etc" / "runit-provision"
    (config / "data").mkdir(parents=True)
    (config / "hiera.yaml").write_text(
        "version: 5\nhierarchy:\n  - {name: common, path: common.yaml}\n")
    (config / "data" / "common.yaml").write_text(
        "runit::init: none\nrunit::services:\n  web: {command: /usr/bin/web}\n")
    facts = tmp_path / "facts.yaml"
    facts.write_text("{}\n")
    assert run(capsys, "runit::services.web.command", "--root", str(tmp_path),
               "--facts", str(facts)) == (0, "--- /usr/bin/web\n", "")
    assert main(["plan", "--root", str(tmp_path), "--facts", str(facts)]) == 2
