"""The built wheel, alone, on every supported CPython: installed into a clean virtualenv of
each, it carries its licence and runs ``runit-provision demo`` with no checkout on ``sys.path``
(issue 47: what pyproject.toml's ``requires-python`` promises is tested, not assumed)."""

import glob
import os
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import ROOT, supported_pythons

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(checkout_wheelhouse):
    """The run's one build of this checkout's wheel (the Puppet tiers install it too)."""
    return checkout_wheelhouse[1]


def test_the_wheel_carries_its_licence(wheel):
    with zipfile.ZipFile(wheel) as archive:
        licences = [name for name in archive.namelist() if "/licenses/" in name]
        assert [name.rsplit("/", 1)[1] for name in licences] == ["LICENSE"]
        text = archive.read(licences[0]).decode()
    assert text.startswith("BSD 3-Clause License")
    assert text == (ROOT / "LICENSE").read_text()


def bundled_pip(python, env):
    """The pip wheel ``python``'s ensurepip carries (what ``venv`` would install), or None."""
    where = subprocess.run([python, "-c", "import ensurepip, os; print(os.path.dirname("
                            "ensurepip.__file__))"], capture_output=True, text=True, timeout=60,
                           env=env)
    found = glob.glob(os.path.join(where.stdout.strip(), "_bundled", "pip-*.whl"))
    return found[0] if where.returncode == 0 and len(found) == 1 else None


def install_and_run_the_demo(version, python, wheel, tmp_path, env):
    """A clean virtualenv of ``python`` with the wheel (and its dependencies) alone in it, then
    its ``runit-provision demo``: ``(where runit_provision was imported from, the demo)``."""
    venv = tmp_path / ("venv" + version)
    pip = bundled_pip(python, env)
    # The interpreter's own bundled pip run from its wheel, as ensurepip runs it, installs into
    # a virtualenv without pip: ensurepip's install of pip itself (and of setuptools, before
    # 3.12) was most of the CPU of each version's install.
    subprocess.run([python, "-m", "venv"] + (["--without-pip"] if pip else []) + [str(venv)],
                   check=True, timeout=120, env=env)
    install = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
               "--disable-pip-version-check", str(wheel)]
    subprocess.run(install, check=True, timeout=300, cwd=str(tmp_path),
                   env=dict(env, PYTHONPATH=pip) if pip else env)
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import runit_provision; print(runit_provision.__file__)"],
                           check=True, capture_output=True, text=True, timeout=60,
                           env=env, cwd=str(tmp_path)).stdout.strip()
    demo = subprocess.run([str(venv / "bin" / "runit-provision"), "demo"],
                          capture_output=True, text=True, timeout=300, env=env,
                          cwd=str(tmp_path))
    return venv, where, demo


@pytest.mark.every_python
def test_the_wheel_alone_runs_the_demo_on_every_supported_python(wheel, tmp_path):
    # a clean environment: no PYTHONPATH, a working directory outside the checkout
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    # Every version at once: an install is ~3 s of CPU and a demo mostly waits on its own
    # sandbox's runsvdir (~10 s for ~2 s of CPU); one after another, the five were the longest
    # wait of the suite outside Puppet.
    pythons = supported_pythons()
    with ThreadPoolExecutor(max_workers=len(pythons)) as pool:
        runs = [(version, pool.submit(install_and_run_the_demo, version, python, wheel,
                                      tmp_path, env))
                for version, python in pythons.items()]
    for version, running in runs:
        venv, where, demo = running.result()
        assert where.startswith(str(venv) + os.sep), (version, where)
        assert demo.returncode == 0, (version, demo.stdout[-2000:], demo.stderr[-2000:])
        assert "runsvdir took the whole tree down; no process left" in demo.stdout, version
