"""protocol/without_os.py: its path names, environment and name bytes are ``posixpath``'s and
``os``'s, on every shape of path."""

import itertools
import os
import posixpath
import stat
from pathlib import PurePosixPath

import pytest

from runit_provision.protocol import without_os

PARTS = ("", "/", "//", "///", ".", "..", "a", "a/", "/a", "//a", "///a", "a/b", "a//b/",
         "./a", "../a", "a/..", "a/../..", "/a/./b/../../c", "/..", "x/./", "~alice/app",
         "caf\xe9", "bad\udcffname")


@pytest.mark.parametrize("path", PARTS)
def test_one_path_is_posixpath_s(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert without_os.dirname(path) == posixpath.dirname(path)
    assert without_os.normpath(path) == posixpath.normpath(path)
    assert without_os.abspath(path) == posixpath.abspath(path)
    assert without_os.join(path) == posixpath.join(path)
    assert without_os.fsencode(path) == os.fsencode(path)


def test_joins_are_posixpath_s():
    for count in (2, 3):
        for parts in itertools.product(PARTS, repeat=count):
            assert without_os.join(*parts) == posixpath.join(*parts), parts
    assert without_os.join(PurePosixPath("/etc/sv"), "web") == "/etc/sv/web"


def test_exists_is_os_path_s(tmp_path):
    (tmp_path / "file").write_text("")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for name in ("file", "dangling", "nowhere", "file/below", "nul\0"):
        assert without_os.exists(str(tmp_path / name)) == os.path.exists(str(tmp_path / name))


def test_the_environment_is_os_environ_s():
    assert without_os.environ() is os.environ  # its own, as a caller changed it


def test_the_mode_bits_are_stat_s(tmp_path):
    for name in ("S_IFDIR", "S_IFREG", "S_IFLNK", "S_IFIFO", "S_ISGID", "S_ISVTX"):
        assert getattr(without_os, name) == getattr(stat, name), name
    assert without_os.S_IFMT == stat.S_IFMT(0o177777)  # stat's is the function of the mask
    (tmp_path / "file").write_text("")
    (tmp_path / "link").symlink_to("file")
    os.mkfifo(str(tmp_path / "fifo"))
    for name in ("file", "link", "fifo", "."):
        mode = os.lstat(str(tmp_path / name)).st_mode
        assert without_os.is_directory(mode) == stat.S_ISDIR(mode)
        assert without_os.is_regular(mode) == stat.S_ISREG(mode)
        assert without_os.is_link(mode) == stat.S_ISLNK(mode)
