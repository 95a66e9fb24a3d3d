"""Import boundaries between rooms (SPEC §2), checked in a fresh interpreter via sys.modules."""

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import runit_provision

PACKAGE_DIR = Path(runit_provision.__file__).parent
FORBIDDEN_IN_RUNTIME = ("jinja2", "yaml", "ruamel", "runit_provision.render",
                        "runit_provision.hiera", "runit_provision.apply",
                        "runit_provision.cli", "runit_provision.checks", "testinfra")


def modules_of(room):
    prefix = "runit_provision.%s." % room
    return sorted(prefix + info.name for info in pkgutil.iter_modules([str(PACKAGE_DIR / room)]))


def loaded_after_import(module):
    code = ("import importlib, json, sys; importlib.import_module(%r); "
            "print(json.dumps(sorted(sys.modules)))" % module)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    return set(json.loads(out))


@pytest.mark.parametrize("module", modules_of("runtime") + modules_of("protocol"))
def test_runtime_and_protocol_load_nothing_heavy(module):
    loaded = loaded_after_import(module)
    bad = sorted(name for name in loaded
                 if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IN_RUNTIME))
    assert not bad, "%s pulls in %s" % (module, bad)


@pytest.mark.parametrize("module", modules_of("protocol"))
def test_protocol_imports_no_other_room(module):
    loaded = loaded_after_import(module)
    ours = sorted(name for name in loaded if name.startswith("runit_provision.")
                  and not name.startswith("runit_provision.protocol")
                  and name != "runit_provision.errors")
    assert not ours, "%s imports %s" % (module, ours)


def test_rooms_exist():
    for room in ("protocol", "runtime", "cli", "hiera"):
        assert modules_of(room), room
