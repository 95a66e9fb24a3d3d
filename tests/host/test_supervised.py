"""What is supervised that the data does not declare (host/supervised.py), read through the
real FsRoot under a root: runsvdir's view of a service directory, a user's links followed only
to their own directories, a crowd in a home a bounded look — and status's rows of them
(health/status.py): "as wanted" is runsv's rule, up unless a ``down`` file says otherwise."""

import os
import time

import pytest

from runit_provision.apply.fsroot import FsRoot
from runit_provision.health.status import service_statuses
from runit_provision.host import supervised
from runit_provision.model.units import declared_units, service_directories

from ..apply.helpers import desired_from_text
from ..pipeline import config_from_text

ALICE = 1000
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="gives files to another user")
DATA = """\
runit::services:
  web: {command: /usr/bin/web, log: false}
runit::users:
  alice:
    services:
      notebook: {command: /usr/bin/notebook, log: false}
"""


@pytest.fixture
def root(tmp_path):
    """A host with the data's links in place and alice's home hers."""
    base = tmp_path / "root"
    for directory in ("etc/sv/web", "etc/service", "opt/byhand", "home/alice/sv/notebook",
                      "home/alice/service"):
        (base / directory).mkdir(parents=True)
    (base / "etc/service/web").symlink_to("/etc/sv/web")
    (base / "etc/service/runsvdir-alice").symlink_to("/etc/sv/runsvdir-alice")
    (base / "home/alice/service/notebook").symlink_to("/home/alice/sv/notebook")
    return base


def undeclared_of(data, fs):
    """What ``supervised.undeclared`` finds beyond ``data``'s units, as status asks it."""
    config = config_from_text(data)
    return supervised.undeclared(service_directories(config),
                                 [unit.link for unit in declared_units(config)], fs)


def listed(base, data=DATA):
    with FsRoot(str(base)) as fs:
        entries, unread = undeclared_of(data, fs)
    return {entry.label: (entry.side, entry.why) for entry in entries}, unread


def give(path, uid):
    os.lchown(str(path), uid, uid)


def test_runsvdirs_view_of_the_system_tree(root):
    service = root / "etc/service"
    (service / "byhand").symlink_to("/opt/byhand")
    (service / "inplace").mkdir()
    (service / ".hidden").symlink_to("/opt/byhand")  # runsvdir skips dot-names
    (service / "README").write_text("a file: runsvdir skips it\n")
    (service / "tofile").symlink_to("README")  # a link to a file: skipped too
    (service / "gone").symlink_to("/opt/nowhere")  # runsvdir warns about it at every scan
    found, unread = listed(root)
    assert found == {"byhand": ("/etc/service/byhand", None),
                     "gone": (None, "leads nowhere: /opt/nowhere"),
                     "inplace": ("/etc/service/inplace", None)}
    assert unread == []
    with FsRoot(str(root)) as fs:
        entries, _ = undeclared_of(DATA, fs)
    assert [entry.is_dangling for entry in entries] == [False, True, False]


def test_with_only_nothing_is_listed(root):
    (root / "etc/service/byhand").symlink_to("/opt/byhand")
    with FsRoot(str(root)) as fs:
        desired = desired_from_text(DATA, only=["web"])
        assert desired.service_dirs == {}
        assert supervised.undeclared(desired.service_dirs, [], fs) == ([], [])
        rows = service_statuses(config_from_text(DATA), fs, int(time.time()),
                                labels=frozenset(["web"]))
        assert [row.label for row in rows] == ["web"] and rows.unread == []


@needs_root
def test_a_users_link_is_followed_only_to_a_directory_of_hers(root):
    home = root / "home/alice"
    (home / "sv/mine").mkdir()
    for path in (home, home / "sv", home / "sv/mine", home / "service"):
        give(path, ALICE)
    for name, target in (("mine", "../sv/mine"), ("peek", "/etc/sv/web"),
                         ("through", "/opt/byhand")):
        (home / "service" / name).symlink_to(target)
        give(home / "service" / name, ALICE)
    found, _ = listed(root)
    assert found["alice/mine"] == ("/home/alice/service/../sv/mine", None)  # as runsvdir does
    refused = "not read: a link of uid 1000's to a directory of uid 0's (followed only to its " \
              "owner's own)"
    assert found["alice/peek"] == (None, refused)
    assert found["alice/through"] == (None, refused)
    # a root's link in her tree is followed as FsRoot follows any of root's
    (home / "service/rootmade").symlink_to("/opt/byhand")
    assert listed(root)[0]["alice/rootmade"] == ("/home/alice/service/rootmade", None)


@needs_root
def test_a_directory_swapped_after_the_listing_is_not_read(root):
    home = root / "home/alice"
    (home / "sv/mine").mkdir()
    for path in (home, home / "sv", home / "sv/mine"):
        give(path, ALICE)
    (home / "service/mine").symlink_to("/home/alice/sv/mine")
    give(home / "service/mine", ALICE)
    with FsRoot(str(root)) as fs:
        entries, _ = undeclared_of(DATA, fs)
        (entry,) = entries
        assert supervised.is_still_owned(fs, entry)
    (home / "sv/mine").rename(home / "sv/was-mine")
    (home / "sv/mine").mkdir()  # root's now: planted in her place
    with FsRoot(str(root)) as fs:
        assert not supervised.is_still_owned(fs, entry)


def test_a_crowd_in_a_users_service_directory_is_one_unread_line(root, monkeypatch):
    monkeypatch.setattr(supervised, "MAX_ENTRIES", 3)
    for index in range(4):
        (root / "home/alice/service" / ("n%d" % index)).mkdir()
    for index in range(4):  # the system's own directory is not bounded
        (root / "etc/service" / ("s%d" % index)).mkdir()
    found, unread = listed(root)
    assert sorted(found) == ["s0", "s1", "s2", "s3"]
    (item,) = unread
    assert item.login == "alice" and item.path == "/home/alice/service"
    assert "holds more than 3 entries" in item.why


def test_status_rows_of_undeclared_services_and_what_is_wanted_of_them(root):
    service = root / "etc/service"
    (service / "byhand").symlink_to("/opt/byhand")
    (service / "resting").mkdir()
    (service / "resting/down").write_text("")
    (service / "resting/log").mkdir()
    (service / "gone").symlink_to("/opt/nowhere")
    with FsRoot(str(root)) as fs:
        rows = service_statuses(config_from_text(DATA), fs, int(time.time()))
    found = {row.label: row for row in rows}
    assert [row.label for row in rows] == ["web", "runsvdir-alice", "alice/notebook",
                                           "byhand", "gone", "resting"]
    assert [row.declared for row in rows] == [True] * 3 + [False] * 3
    byhand, gone, resting = found["byhand"], found["gone"], found["resting"]
    # no runsv serves them here: wanted up (no down file), so not as wanted
    assert byhand.main.state == "not supervised" and byhand.is_wanted
    assert byhand.mark == "not in the data: /etc/service/byhand (apply leaves it alone)"
    assert gone.main.state == "not supervised" and gone.is_wanted
    assert gone.note == "leads nowhere: /opt/nowhere"
    assert not resting.is_wanted and resting.log is not None  # runsv's tests: down, log/
    assert byhand.as_json()["declared"] is False and byhand.as_fact()["declared"] is False
    assert rows.unread == []
