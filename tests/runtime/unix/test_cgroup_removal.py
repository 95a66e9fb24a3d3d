"""runtime/unix/cgroup: a subtree removed the deepest first without recursion, and a cgroup
handed to a user bounded by root first.

A stand-in for cgroupfs in a temporary directory (directories only: on cgroupfs a cgroup's
files go with it), so the walk is tested here; tests/vm/ removes real cgroups a user made.
"""

import os

import pytest

from runit_provision.runtime.unix import cgroup as cgroup_module
from runit_provision.runtime.unix.cgroup import (DELEGATED_BOUNDS, DELEGATED_FILES, Cgroups,
                                                 remove_cgroup_tree)

from ...cgroupchain import DEEP, make_chain

LONG_NAME = "n" * 200  # DEEP of these add up far past PATH_MAX


@pytest.fixture
def mount(tmp_path):
    (tmp_path / "base").mkdir()
    return tmp_path


@pytest.mark.parametrize("name", ["a", LONG_NAME])
def test_a_chain_deeper_than_the_recursion_limit_is_removed(mount, name):
    service = mount / "base" / "svc"
    service.mkdir()
    make_chain(service, DEEP, name)
    assert Cgroups(str(mount), "/base", "/base/supervise").remove("/base/svc") is True
    assert not service.exists()
    assert (mount / "base").is_dir()  # nothing above


def test_a_wide_tree_is_removed_and_each_directory_listed_once(mount, monkeypatch):
    top = mount / "base"
    for first in range(300):
        for second in range(3):
            (top / ("c%d" % first) / ("d%d" % second) / "e").mkdir(parents=True)
    listed = []
    scandir = os.scandir

    def counting(fd):
        listed.append(fd)
        return scandir(fd)
    monkeypatch.setattr(cgroup_module.os, "scandir", counting)
    assert remove_cgroup_tree(str(top)) is True
    assert not top.exists()
    assert len(listed) == 1 + 300 + 300 * 3 + 300 * 3


def test_what_cannot_be_removed_is_told_and_the_rest_goes(mount):
    top = mount / "base"
    for name in ("a", "b", "c"):
        make_chain(top, 5, name)
    held = top / "b" / "b" / "b"
    (held / "cgroup.procs").write_text("1\n")  # as a cgroup a process is still in
    assert remove_cgroup_tree(str(top)) is False
    assert sorted(os.listdir(str(top))) == ["b"]
    assert sorted(os.listdir(str(held))) == ["cgroup.procs"]  # below it: removed


def test_a_subtree_already_gone_is_removed(mount):
    assert remove_cgroup_tree(str(mount / "never-made")) is True


def test_a_link_in_the_tree_is_not_followed(mount, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "keep").mkdir()
    top = mount / "base"
    (top / "a").mkdir()
    (top / "a" / "link").symlink_to(elsewhere)
    assert remove_cgroup_tree(str(top)) is False  # the link is a file: "a" is not empty
    assert (elsewhere / "keep").is_dir()


def test_delegation_bounds_the_subtree_first_and_the_bounds_stay_roots(mount, monkeypatch):
    cgroup = mount / "base" / "runsvdir-alice"
    cgroup.mkdir()
    for name in DELEGATED_FILES + tuple(file for file, _ in DELEGATED_BOUNDS):
        (cgroup / name).write_text("")
    chowned, bounded = [], []
    monkeypatch.setattr(cgroup_module.os, "chown", lambda path, uid, gid: chowned.append(
        (os.path.relpath(path, str(cgroup)), uid, gid)))
    write = cgroup_module._write

    def writing(path, text):
        bounded.append((os.path.basename(path), chowned[:]))
        write(path, text)
    monkeypatch.setattr(cgroup_module, "_write", writing)
    Cgroups(str(mount), "/base", "/base/supervise").delegate("/base/runsvdir-alice", 1000, 100)
    assert sorted(chowned) == sorted([(".", 1000, 100)]
                                     + [(name, 1000, 100) for name in DELEGATED_FILES])
    assert [(name, before) for name, before in bounded] == [
        (file, []) for file, _ in DELEGATED_BOUNDS]  # written before anything is the user's
    for file, value in DELEGATED_BOUNDS:
        assert (cgroup / file).read_text() == value
        assert int(value) > 1


def test_the_docs_say_the_bounds_the_code_writes():
    from ...conftest import ROOT
    text = (ROOT / "docs" / "resources.md").read_text()
    for file, value in DELEGATED_BOUNDS:
        assert "`%s` (%s)" % (file, value) in text, file


def test_a_directory_moved_away_during_the_walk_stops_it_there(mount, monkeypatch):
    """cgroupfs never moves a cgroup to another parent; elsewhere ``..`` could lead out of the
    tree, so the walk checks it and removes nothing outside."""
    top, outside = mount / "base", mount / "outside"
    make_chain(top, 3, "a")
    (outside / "a").mkdir(parents=True)
    scandir = os.scandir

    def moving(fd):
        found = scandir(fd)
        if os.path.realpath("/proc/self/fd/%d" % fd) == str(top / "a" / "a"):
            os.rename(str(top / "a" / "a"), str(outside / "a" / "a"))
        return found
    monkeypatch.setattr(cgroup_module.os, "scandir", moving)
    assert remove_cgroup_tree(str(top)) is False
    assert (outside / "a" / "a").is_dir() and (top / "a").is_dir()  # nothing outside removed
