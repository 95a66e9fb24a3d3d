"""servicedir.open_service of a directory gone since the tree looked at it (a link removed, a
directory renamed away, between runsvdir's scan and the open): runsv's fatal message, as
``runsv`` gives in a directory it cannot change to, with nothing left open — the clean-up of a
take-over that failed before the directory opened raised an AttributeError of its own in its
place: an "internal error" in the tree."""

import os

import pytest

from runit_provision.errors import FatalError
from runit_provision.runtime.supervision.engine import servicedir


@pytest.mark.parametrize("how", ["link removed", "target moved", "never there"])
def test_a_directory_gone_before_its_open_is_runsvs_fatal_and_nothing_is_held(tmp_path, how):
    target = tmp_path / "sv" / "svc"
    target.mkdir(parents=True)
    path = tmp_path / "service" / "svc"
    path.parent.mkdir()
    os.symlink(str(target), str(path))
    if how == "link removed":
        path.unlink()
    elif how == "target moved":
        (tmp_path / "sv").rename(tmp_path / "moved")
    else:
        path = tmp_path / "nothing"
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(FatalError) as raised:
        servicedir.open_service(str(path))
    assert str(raised.value) == "unable to change to directory: file does not exist"
    assert raised.value.warnings == []
    assert set(os.listdir("/proc/self/fd")) == before
