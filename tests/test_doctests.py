"""Every example in every docstring of the package runs and holds (the examples are part of
the documentation: one that has never run is one that may be wrong)."""

import doctest
import importlib
from pathlib import Path

import pytest

import runit_provision

PACKAGE_DIR = Path(runit_provision.__file__).parent
# Examples written against a live host, in testinfra's own style (``host`` is the fixture):
# tests/checks runs the same calls for real.
NEEDS_A_HOST = {"runit_provision.checks.service"}


def modules_with_examples():
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if ">>>" not in path.read_text():
            continue
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        if name not in NEEDS_A_HOST:
            found.append(name)
    return found


@pytest.mark.parametrize("name", modules_with_examples())
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, "%s: %d of %d examples failed" % (name, result.failed,
                                                                 result.attempted)
