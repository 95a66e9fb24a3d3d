"""The file-system identity a hosted logger takes for ``chpst -u`` (setfsuid, setfsgid, groups),
and the chpst it runs processors through."""

import os

import pytest

from runit_provision.runtime.supervision import hostedlog
from runit_provision.runtime.supervision.hostedlog import FsIdentity
from runit_provision.runtime.unix import environ


@pytest.mark.skipif(os.geteuid() != 0, reason="setfsuid needs root")
def test_fs_identity_nests_and_restores():
    """Entered again from inside (a callback of the engine), it still restores our ids."""
    identity = FsIdentity(65534, [65534])
    groups = os.getgroups()
    with identity:
        assert os.getgroups() == [65534]
        with identity:
            assert os.getgroups() == [65534]
        assert os.getgroups() == [65534]
        assert fs_ids() == (65534, 65534)
    assert os.getgroups() == groups
    assert fs_ids() == (os.geteuid(), os.getegid())


def fs_ids():
    """(fsuid, fsgid) of this process, from /proc/self/status."""
    with open("/proc/self/status") as handle:
        fields = {line.split(":")[0]: line.split()[1:] for line in handle}
    return int(fields["Uid"][3]), int(fields["Gid"][3])


def test_chpst_is_found_on_the_original_environments_path(tmp_path, monkeypatch):
    """The PATH log/run's shell would search: the one the tree was started with, which the
    interpreter's os.environ need not be."""
    chpst = tmp_path / "chpst"
    chpst.write_text("")
    chpst.chmod(0o755)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setattr(environ, "original_environ", lambda: {"PATH": "/nowhere:%s" % tmp_path})
    assert hostedlog._find_program("chpst") == str(chpst)
    assert hostedlog._find_program("/x/chpst") == "/x/chpst"
    monkeypatch.setattr(environ, "original_environ", lambda: {"PATH": "/nowhere"})
    assert hostedlog._find_program("chpst") == "chpst"  # posix_spawn fails on it, reported
