"""What the repository tracks: sources, not what is built or downloaded. A wheel, an archive
or a compiled file committed by mistake ships in every clone and can be imported or installed
by accident; what the tests need comes from PyPI through pyproject.toml's ``test`` extra."""

import subprocess

import pytest

from .conftest import ROOT

BUILT = (".whl", ".tar.gz", ".tgz", ".zip", ".egg", ".deb", ".rpm", ".pyc", ".so")


def tracked_files():
    """The files git tracks in this checkout (the test is skipped outside one)."""
    try:
        done = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True,
                              timeout=60)
    except OSError:
        done = None
    if done is None or done.returncode != 0:
        pytest.skip("not a git checkout")
    return [name for name in done.stdout.decode("utf-8", "replace").split("\0") if name]


def test_nothing_built_or_downloaded_is_tracked():
    assert [name for name in tracked_files() if name.endswith(BUILT)] == []
