"""docs/cli.md is what docs/gen_cli_reference.py writes from the argparse definitions now: a
subcommand or an option added without re-running the script fails here."""

import importlib.util

from runit_provision.cli.main import COMMANDS

from ..conftest import ROOT


def generator():
    spec = importlib.util.spec_from_file_location("gen_cli_reference",
                                                  ROOT / "docs" / "gen_cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_checked_in_reference_is_what_the_script_writes():
    written = (ROOT / "docs" / "cli.md").read_text()
    assert written == generator().render(), (
        "docs/cli.md is stale: run .venv/bin/python docs/gen_cli_reference.py")


def test_every_subcommand_has_its_section_and_its_usage():
    text = generator().render()
    for name in COMMANDS:
        assert "\n### `runit-provision %s`\n" % name in text
        assert "usage: runit-provision %s " % name in text
    assert "### `runit-provision fleet status`" in text


def test_the_width_does_not_follow_the_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    narrow = generator().render()
    monkeypatch.delenv("COLUMNS")
    assert narrow == generator().render()
