"""The built wheel, alone, on every supported CPython: installed into a clean virtualenv of
each, it carries its licence and runs ``runit-provision demo`` with no checkout on ``sys.path``
(issue 47: what pyproject.toml's ``requires-python`` promises is tested, not assumed)."""

import os
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import ROOT, SUPPORTED_PYTHONS, supported_pythons

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    built = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(built),
                    str(ROOT)], check=True, timeout=300, cwd=str(built))
    (path,) = built.glob("runit_provision-*.whl")
    return path


def test_the_wheel_carries_its_licence(wheel):
    with zipfile.ZipFile(wheel) as archive:
        licences = [name for name in archive.namelist() if "/licenses/" in name]
        assert [name.rsplit("/", 1)[1] for name in licences] == ["LICENSE"]
        text = archive.read(licences[0]).decode()
    assert text.startswith("BSD 3-Clause License")
    assert text == (ROOT / "LICENSE").read_text()


def test_the_wheel_alone_runs_the_demo_on_every_supported_python(wheel, tmp_path):
    # a clean environment: no PYTHONPATH, a working directory outside the checkout
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    # The installs one after another (they are CPU), each version's demo started as soon as its
    # install is done: a demo mostly waits on its own sandbox's runsvdir (~10 s for ~2 s of
    # CPU), and five of them in a row were the longest wait of the suite outside Puppet.
    with ThreadPoolExecutor(max_workers=len(SUPPORTED_PYTHONS)) as pool:
        demos = []
        for version, python in supported_pythons().items():
            venv = tmp_path / ("venv" + version)
            subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120, env=env)
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                            "--disable-pip-version-check", str(wheel)],
                           check=True, timeout=300, env=env, cwd=str(tmp_path))
            where = subprocess.run([str(venv / "bin" / "python"), "-c",
                                    "import runit_provision; print(runit_provision.__file__)"],
                                   check=True, capture_output=True, text=True, timeout=60,
                                   env=env, cwd=str(tmp_path)).stdout.strip()
            assert where.startswith(str(venv) + os.sep), (version, where)
            demos.append((version, pool.submit(
                subprocess.run, [str(venv / "bin" / "runit-provision"), "demo"],
                capture_output=True, text=True, timeout=180, env=env, cwd=str(tmp_path))))
        for version, running in demos:
            demo = running.result()
            assert demo.returncode == 0, (version, demo.stdout[-2000:], demo.stderr[-2000:])
            assert "runsvdir took the whole tree down; no process left" in demo.stdout, version
