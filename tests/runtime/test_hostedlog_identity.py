"""The file-system identity a hosted logger takes for ``chpst -u`` (setfsuid, setfsgid, groups)."""

import os

import pytest

from runit_provision.runtime.supervision.hostedlog import FsIdentity


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
