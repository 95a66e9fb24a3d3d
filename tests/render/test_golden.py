"""Golden trees: data files rendered and compared with a dump of the whole tree.

``golden/example.yaml`` (every key of the data format) -> ``golden/example.tree``; each node of
``hiera-examples/`` (facts/NODE.yaml with hiera.yaml) -> ``golden/hiera-examples/NODE.tree``
once that golden exists. Goldens change only on purpose: ``UPDATE_GOLDEN=1`` rewrites them
(and creates the hiera-examples ones); otherwise a difference fails with a diff.
"""

import os
from pathlib import Path

import pytest

from runit_provision.accounts import NO_ACCOUNTS
from runit_provision.errors import ProvisionError
from runit_provision.render import render

from ..conftest import ROOT
from .helpers import config_from_file

HERE = Path(__file__).parent / "golden"
EXAMPLES = ROOT / "hiera-examples"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def dump(tree):
    """The tree as text: one header per entry, then a file's content (NUL shown as \\0)."""
    lines = []
    for entry in tree:
        owner = "%s:%s" % (entry.owner, entry.group or "-")
        if entry.kind == "file":
            lines.append("== %s  file %04o %s" % (entry.path, entry.mode, owner))
            text = entry.content.decode("utf-8").replace("\0", "\\0")
            if not text:
                lines.append("(empty)")
            else:
                lines.append(text if text.endswith("\n") else text + "\n\\ no newline")
        elif entry.kind == "directory":
            readers = " readers %s" % ",".join(map(str, entry.readers)) if entry.readers else ""
            lines.append("== %s  directory %04o %s%s" % (entry.path, entry.mode, owner, readers))
        elif entry.kind == "symlink":
            lines.append("== %s  symlink -> %s %s" % (entry.path, entry.target, owner))
        else:
            lines.append("== %s  absent" % entry.path)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def compare(text, golden):
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
        return
    assert golden.exists(), "%s is missing: UPDATE_GOLDEN=1 creates it" % golden
    expected = golden.read_text()
    if text != expected:
        import difflib
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                            str(golden), "rendered"))
        pytest.fail("rendered tree differs from %s (UPDATE_GOLDEN=1 if meant):\n%s"
                    % (golden, diff))


def test_example():
    tree = render(config_from_file(HERE / "example.yaml"))
    text = dump(tree)
    compare(text, HERE / "example.tree")
    assert dump(render(config_from_file(HERE / "example.yaml"))) == text


def example_nodes():
    if not (EXAMPLES / "hiera.yaml").exists():
        return []
    nodes = sorted(path.stem for path in (EXAMPLES / "facts").glob("*.yaml"))
    if UPDATE:
        return nodes
    return [node for node in nodes if (HERE / "hiera-examples" / (node + ".tree")).exists()]


@pytest.mark.parametrize("node", example_nodes())
def test_hiera_examples(node):
    try:
        tree = render(config_from_file(None, NO_ACCOUNTS, hiera=EXAMPLES / "hiera.yaml",
                                       facts=EXAMPLES / "facts" / (node + ".yaml")))
    except ProvisionError as exc:
        pytest.fail("hiera-examples node %s does not render:\n%s" % (node, exc))
    compare(dump(tree).replace(str(ROOT), "ROOT"), HERE / "hiera-examples" / (node + ".tree"))
