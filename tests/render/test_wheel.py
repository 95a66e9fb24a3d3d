"""``pip install .`` ships templates/ inside the package (runit_provision/_templates)."""

import os
import subprocess
import sys

import pytest

from ..conftest import ROOT

pytestmark = pytest.mark.slow


def test_pip_install_ships_the_templates(tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(ROOT)], check=True, timeout=300, cwd=str(tmp_path))
    shipped = sorted(str(path.relative_to(target / "runit_provision" / "_templates"))
                     for path in (target / "runit_provision" / "_templates").rglob("*.j2"))
    ours = sorted(str(path.relative_to(ROOT / "templates"))
                  for path in (ROOT / "templates").rglob("*.j2"))
    assert shipped == ours
    code = ("from runit_provision.render.environment import packaged_templates; "
            "from runit_provision.render import render; from runit_provision.schema import "
            "config_from_data; from runit_provision.accounts import NO_ACCOUNTS; "
            "print(packaged_templates()); tree = render(config_from_data("
            "{'services': {'web': {'command': 'x'}}}, {}, NO_ACCOUNTS)); "
            "print(tree['/etc/sv/web/run'].content.decode())")
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=str(tmp_path), check=True).stdout
    assert out.startswith(str(target / "runit_provision" / "_templates") + "\n")
    assert out.endswith("exec x\n\n")
