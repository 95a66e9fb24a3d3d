"""Void Linux's own service directories, as published: void-runit's ``services/`` at commit
22a908018b4cb386d56f077e5497bf50adeaee75 (github.com/void-linux/void-runit, 2026-06-08) —
``agetty-generic`` and its 13 instances (``run`` and ``finish`` links to it, ``conf`` files
and links to another instance's, ``supervise`` links into ``/run/runit``), and ``sulogin``.

The directories are taken from a clone of that repository at test time (``git archive`` of
the commit: modes and links as git keeps them), not copied into this repository (it states no
licence): set ``VOID_RUNIT_GIT`` to the clone's git directory (``git clone --bare
https://github.com/void-linux/void-runit``); without it the test skips, also under CI=true —
CI installs Debian packages only, and ``test_void.py`` holds the same shapes. void-packages' ~530 ``srcpkgs/*/files/NAME/`` directories
are the next corpus; their shapes are those of ``test_void.py``.

Every directory imports in one command with relative paths (``import sv/*`` from the
directory holding ``sv/``), renders back byte for byte (content, executable bits, links as
links), ``plan`` on the host is empty, and after ``apply`` to an empty root the second
``plan`` is empty and the tree is Void's.
"""

import io
import os
import subprocess
import tarfile

import pytest
import yaml

from .test_void import PASSWD, GROUP, assert_round_trip, run_cli
from ..apply.helpers import staged_root

COMMIT = "22a908018b4cb386d56f077e5497bf50adeaee75"
MIRROR = os.environ.get("VOID_RUNIT_GIT", "")


def void_services(sv):
    """Void's ``services/`` at COMMIT, extracted into ``sv``; the names of its directories."""
    if not MIRROR or not os.path.isdir(MIRROR):
        pytest.skip("VOID_RUNIT_GIT names no clone of void-linux/void-runit (%r): see the "
                    "module's docstring" % MIRROR)
    archive = subprocess.run(["git", "--git-dir", MIRROR, "archive", "--format=tar", COMMIT,
                              "services"], capture_output=True, check=True, timeout=60).stdout
    sv.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            relative = member.name.split("/", 1)[1] if "/" in member.name else ""
            if not relative:
                continue
            path = sv / relative
            if member.isdir():
                path.mkdir(exist_ok=True)
            elif member.issym():
                path.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(member.linkname, str(path))
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(tar.extractfile(member).read())
                path.chmod(member.mode & 0o755)  # git keeps 755 or 644; archive adds g+w
    return sorted(name for name in os.listdir(str(sv)) if os.path.lexists(str(sv / name / "run")))


def shapes(services):
    """How many were read into keys, kept as written, carried conf, and linked to a generic."""
    return {
        "services": len(services),
        "command": sum("command" in data for data in services.values()),
        "run kept as written": sum("run" in data for data in services.values()),
        "run a link": sum("run" in data.get("links", {}) for data in services.values()),
        "conf carried": sum("conf" in data for data in services.values()),
        "conf a link": sum("conf" in data.get("links", {}) for data in services.values()),
    }


def test_void_runit_services_import_whole_and_render_back(tmp_path, capsys, monkeypatch):
    host = staged_root(tmp_path / "host", PASSWD, GROUP)
    names = void_services(host / "etc" / "sv")
    (host / "etc" / "service").mkdir()
    assert len(names) == 15
    monkeypatch.chdir(host / "etc")
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", host, *["sv/" + name for name in names],
                   "--out", out) == 0, capsys.readouterr().err
    text = out.read_text()
    services = yaml.safe_load(text)["runit"]["services"]
    assert sorted(services) == names
    assert shapes(services) == {"services": 15, "command": 0, "run kept as written": 2,
                                "run a link": 13, "conf carried": 5, "conf a link": 8}
    # scripts indented with tabs are literal blocks still, read back as written
    assert "    agetty-generic:\n      run: |\n        #!/bin/sh\n" in text
    assert "\n        \t# busybox\n" in text
    # agetty-hvc0's run links to agetty-serial's, itself a link to agetty-generic's
    assert text.count(": an instance of the generic service agetty-generic\n") == 8
    assert text.count(": an instance of the generic service agetty-serial\n") == 5
    assert_round_trip(out, host, names, tmp_path, capsys)
