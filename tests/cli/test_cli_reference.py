"""docs/cli.md is what docs/gen_cli_reference.py writes from the argparse definitions now: a
subcommand or an option added without re-running the script fails here."""

import importlib.util
import sys

from runit_provision.cli.main import COMMANDS

from ..conftest import ROOT


def generator():
    spec = importlib.util.spec_from_file_location("gen_cli_reference",
                                                  ROOT / "docs" / "gen_cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_checked_in_reference_is_what_the_script_writes():
    """Exactly, under the Python that formatted it; under another, every name it must hold."""
    why = generator().stale((ROOT / "docs" / "cli.md").read_text())
    assert not why, why + ": run .venv/bin/python docs/gen_cli_reference.py"


def test_another_pythons_reference_is_stale_only_when_it_lacks_a_name():
    module = generator()
    here = module.VERSION_LINE % sys.version_info[:2]
    elsewhere = module.render().replace(here, module.VERSION_LINE % (2, 7))
    assert module.stale(elsewhere) == ""
    assert module.stale(elsewhere.replace("--only", "--onyl")).startswith(
        "docs/cli.md lacks runit-provision ")
    assert module.stale(module.render().replace("--only", "--onyl")) == (
        "docs/cli.md differs from what the script writes")


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


def test_every_help_fits_the_width_it_is_formatted_for():
    """Issue 44, item 19: a description written as one long line (RawDescriptionHelpFormatter
    keeps it as written) was 297 characters in ``metrics --help``."""
    module = generator()
    helps = [block.split("```")[0] for block in module.render().split("```text\n")[1:]]
    assert len(helps) > len(COMMANDS)
    too_long = [line for text in helps for line in text.splitlines() if len(line) > module.WIDTH]
    assert too_long == []
