"""envdir: runit's edir() semantics on real temporary directories (no process state changes)."""

import os

import pytest

from runit_provision.errors import FatalError
from runit_provision.runtime.unix.edir import read_envdir, value_from_bytes


@pytest.mark.parametrize("data, value", [
    (b"plain", "plain"),
    (b"first\nsecond\n", "first"),
    (b"blanks \t \t\n", "blanks"),
    (b"  leading kept", "  leading kept"),
    (b"x\0y", "x\ny"),                 # NUL -> newline, after the cut at the first newline
    (b"x\0y\nz", "x\ny"),
    (b"\n", ""),                       # set, to the empty string
    (b" \t", ""),
    (b"", None),                       # a 0-byte file unsets
    (b"caf\xc3\xa9", "caf\u00e9"),
    (b"\xff", "\udcff"),               # undecodable bytes survive the round trip
])
def test_value_from_bytes(data, value):
    assert value_from_bytes(data) == value


def make(directory, files):
    directory.mkdir()
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return str(directory)


def test_read_envdir(tmp_path):
    path = make(tmp_path / "env", {"A": b"1 \n2", "EMPTY": b"", "NL": b"\n", ".hidden": b"x",
                                   "K=V": b"v"})
    assert read_envdir(path) == {"A": "1", "EMPTY": None, "NL": "", "K=V": "v"}


def test_order_is_readdir_order(tmp_path):
    path = make(tmp_path / "env", {"N%02d" % n: b"%d" % n for n in range(30)})
    assert list(read_envdir(path)) == [n for n in os.listdir(path) if not n.startswith(".")]


def test_subdirectory(tmp_path):
    path = make(tmp_path / "env", {"A": b"1"})
    (tmp_path / "env" / "sub").mkdir()
    with pytest.raises(FatalError) as info:
        read_envdir(path)
    assert str(info.value) == "unable to read %s/sub: is a directory" % path
    warnings = []
    assert read_envdir(path, skip_directories=True, warn=warnings.append) == {"A": "1"}
    assert warnings == ["unable to read %s/sub: is a directory" % path]
    assert read_envdir(path, skip_directories=True) == {"A": "1"}


def test_dot_names_are_never_read(tmp_path):
    path = make(tmp_path / "env", {})
    (tmp_path / "env" / ".sub").mkdir()
    assert read_envdir(path) == {}


@pytest.mark.parametrize("dirname, message", [
    ("missing", "unable to switch to directory: {}/missing: file does not exist"),
    ("file", "unable to switch to directory: {}/file: not a directory"),
])
def test_directory_errors(tmp_path, dirname, message):
    (tmp_path / "file").write_text("x")
    with pytest.raises(FatalError) as info:
        read_envdir(str(tmp_path / dirname))
    assert str(info.value) == message.format(tmp_path)


def test_empty_name_is_enoent():
    with pytest.raises(FatalError) as info:
        read_envdir("")
    assert str(info.value) == "unable to switch to directory: : file does not exist"


def test_relative_path_is_reported_as_given(tmp_path, monkeypatch):
    make(tmp_path / "env", {"A": b"1"})
    (tmp_path / "env" / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FatalError) as info:
        read_envdir("env")
    assert str(info.value) == "unable to read env/sub: is a directory"


def test_fifo_without_writer_reads_empty(tmp_path):
    path = make(tmp_path / "env", {})
    os.mkfifo(os.path.join(path, "FIFO"))
    assert read_envdir(path) == {"FIFO": None}


def test_dangling_symlink_unsets_and_never_borrows_a_neighbour(tmp_path):
    """runit's edir() gave a vanished file the previous entry's value plus a newline (its
    read buffer re-used); ours unsets it, whatever the readdir order."""
    path = make(tmp_path / "env", {"F%d" % n: b"v%d \n" % n for n in range(6)})
    for n in range(6):
        os.symlink("/nonexistent/target", os.path.join(path, "D%d" % n))
    expected = {"F%d" % n: "v%d" % n for n in range(6)}
    expected.update({"D%d" % n: None for n in range(6)})
    assert read_envdir(path) == expected
