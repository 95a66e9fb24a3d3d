"""runsvchdir in-process on a scratch runsvdir ($RUNSVDIR): messages, links, exit codes."""

import os

import pytest

from runit_provision.runtime import runsvchdir as r


@pytest.fixture
def levels(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # main() chdirs; monkeypatch puts the cwd back
    base = tmp_path / "runsvdir"
    (base / "a").mkdir(parents=True)
    (base / "b").mkdir()
    os.symlink("a", str(base / "current"))
    monkeypatch.setenv("RUNSVDIR", str(base))
    return base


def test_runsvdir_from_env():
    assert r.runsvdir_from_env({}) == "/etc/runit/runsvdir"
    assert r.runsvdir_from_env({"RUNSVDIR": "/x"}) == "/x"
    assert r.runsvdir_from_env({"RUNSVDIR": ""}) == ""


def test_switch_and_back(levels, capfd):
    assert r.main(["runsvchdir", "b"]) == 0
    assert capfd.readouterr().out == "runsvchdir: b: now current.\n"
    assert os.readlink(str(levels / "current")) == "b"
    assert os.readlink(str(levels / "previous")) == "a"
    assert not os.path.lexists(str(levels / "current.new"))
    assert r.main(["runsvchdir", "b"]) == 0
    assert capfd.readouterr().out == "runsvchdir: b: current.\n"


@pytest.mark.parametrize("argv, err", [
    (["runsvchdir"], "usage: runsvchdir dir\n\n"),
    (["/usr/sbin/runsvchdir", ".b"], "runsvchdir: fatal: .b: must not start with a dot.\n"),
    (["runsvchdir", "nope"], "runsvchdir: fatal: nope: file does not exist\n"),
    (["runsvchdir", "file"], "runsvchdir: fatal: filenot a directory.\n"),
])
def test_refusals(levels, capfd, argv, err):
    (levels / "file").write_text("")
    assert r.main(argv) == (1 if len(argv) == 1 else 111)
    assert capfd.readouterr().err == err
    assert os.readlink(str(levels / "current")) == "a"


def test_missing_runsvdir(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNSVDIR", str(tmp_path / "none"))
    assert r.main(["runsvchdir", "a"]) == 111
    assert capfd.readouterr().err == (
        "runsvchdir: fatal: unable to chdir: %s: file does not exist\n" % (tmp_path / "none"))


def test_unable_to_stat_current(levels, capfd):
    os.unlink(str(levels / "current"))
    assert r.main(["runsvchdir", "a"]) == 111
    assert capfd.readouterr().err == (
        "runsvchdir: fatal: unable to stat: current: file does not exist\n")


def test_failed_final_rename_puts_previous_back(levels, capfd, monkeypatch):
    real_rename = os.rename

    def rename(src, dst):
        if src == "current.new":
            raise PermissionError(13, "no")
        return real_rename(src, dst)

    monkeypatch.setattr(r.os, "rename", rename)
    assert r.main(["runsvchdir", "b"]) == 111
    assert capfd.readouterr().err == (
        "runsvchdir: fatal: unable to move: current.new to current: access denied\n")
    assert os.readlink(str(levels / "current")) == "a"
