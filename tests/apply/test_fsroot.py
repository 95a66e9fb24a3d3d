"""FsRoot: paths under one root, walked by descriptor; root's links followed, anyone else's
refused; nothing leaves the root; writes atomic; removals never follow a link."""

import errno
import os
import subprocess

import pytest

from runit_provision.apply.fsroot import (MAX_DEPTH, TEMP_SUFFIX, FsRoot, is_temp_name, temp_name,
                                          write_atomic)
from runit_provision.errors import LimitError, UnsafePathError

OTHER_UID = 1000
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="gives files to another user")


@pytest.fixture
def root(tmp_path):
    base = tmp_path / "root"
    (base / "etc" / "sv").mkdir(parents=True)
    (base / "home" / "alice").mkdir(parents=True)
    return base


def test_paths_are_found_under_the_root(root):
    (root / "etc" / "sv" / "run").write_text("x")
    with FsRoot(str(root)) as fs:
        assert fs.host_path("/etc/sv/run") == str(root) + "/etc/sv/run"
        content, info = fs.read_file("/etc/sv/run")
        assert content == b"x" and info.st_size == 1
        assert fs.lstat("/etc/sv/nothing") is None
        assert fs.lstat("/no/such/dir/file") is None
        assert [name for name, _ in fs.listdir("/etc")] == ["sv"]


def test_a_link_owned_by_root_is_followed_and_resolved_under_the_root(root):
    (root / "var" / "service").mkdir(parents=True)
    (root / "var" / "service" / "marker").write_text("here")
    os.symlink("/var/service", str(root / "etc" / "service"))  # absolute: under the root
    with FsRoot(str(root)) as fs:
        assert fs.read_file("/etc/service/marker")[0] == b"here"


def test_dot_dot_in_a_link_never_leaves_the_root(root, tmp_path):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("no")
    os.symlink("../../../../../../outside", str(root / "etc" / "escape"))
    with FsRoot(str(root)) as fs:
        # ".." stops at the root: the link leads to ROOT/outside, which does not exist
        assert fs.lstat("/etc/escape/secret") is None


def test_dot_dot_in_a_path_never_leaves_the_root(root, tmp_path):
    (tmp_path / "secret").write_text("no")
    with FsRoot(str(root)) as fs:
        assert fs.lstat("/../secret") is None  # ROOT/secret: ".." stops at the root
        assert [name for name, _ in fs.listdir("/../..")] == ["etc", "home"]
        with pytest.raises(UnsafePathError, match="names no entry"):
            fs.remove_tree("/etc/..")  # never the directory above


def test_resolve_is_realpath_in_a_chroot(root):
    # Debian: /etc/service -> runit/runsvdir/current -> /etc/runit/runsvdir/default
    (root / "etc" / "runit" / "runsvdir" / "default").mkdir(parents=True)
    os.symlink("/etc/runit/runsvdir/default", str(root / "etc/runit/runsvdir/current"))
    os.symlink("runit/runsvdir/current", str(root / "etc" / "service"))
    os.symlink("/proc/1", str(root / "etc" / "escape"))
    os.symlink("../../../..", str(root / "etc" / "up"))
    with FsRoot(str(root)) as fs:
        assert fs.resolve("/etc/service") == "/etc/runit/runsvdir/default"
        assert fs.resolve("/etc/service/web/run") == "/etc/runit/runsvdir/default/web/run"
        assert fs.resolve("/etc/escape") == "/proc/1"  # inside the root, though missing
        assert fs.resolve("/etc/up/home") == "/home"
        assert fs.resolve("/etc/sv/../none/../..//home/./alice") == "/home/alice"


def test_resolve_stops_at_a_loop(root):
    os.symlink("b", str(root / "a"))
    os.symlink("a", str(root / "b"))
    with FsRoot(str(root)) as fs:
        with pytest.raises(OSError) as caught:
            fs.resolve("/a/x")
        assert caught.value.errno == errno.ELOOP


@needs_root
def test_a_link_owned_by_someone_else_is_refused(root, tmp_path):
    (tmp_path / "target").mkdir()
    link = root / "home" / "alice" / "sv"
    os.symlink(str(tmp_path / "target"), str(link))
    os.lchown(str(link), OTHER_UID, OTHER_UID)
    with FsRoot(str(root)) as fs:
        with pytest.raises(UnsafePathError) as caught:
            fs.lstat("/home/alice/sv/web")
        assert "/home/alice/sv is a symbolic link owned by uid 1000, not by root" in str(
            caught.value)
        with pytest.raises(UnsafePathError):
            fs.make_dir("/home/alice/sv/web", 0o750)
        with pytest.raises(UnsafePathError):
            fs.resolve("/home/alice/sv")
    assert not (tmp_path / "target" / "web").exists()


def test_the_last_component_is_never_followed(root, tmp_path):
    target = tmp_path / "precious"
    target.write_text("keep")
    os.symlink(str(target), str(root / "etc" / "sv" / "run"))
    with FsRoot(str(root)) as fs:
        content, info = fs.read_file("/etc/sv/run")
        assert content is None and fs.readlink("/etc/sv/run") == str(target)
        fs.write_temp("/etc/sv/run", b"new\n", 0o755)
        fs.sync()
        fs.rename_temp("/etc/sv/run")
    assert target.read_text() == "keep"
    assert (root / "etc" / "sv" / "run").read_text() == "new\n"
    assert not (root / "etc" / "sv" / "run").is_symlink()


def test_a_write_is_a_temp_file_until_renamed(root):
    run = root / "etc" / "sv" / "run"
    run.write_text("old\n")
    with FsRoot(str(root)) as fs:
        fs.write_temp("/etc/sv/run", b"new\n", 0o751, 0, 0)
        temp = root / "etc" / "sv" / temp_name("run")
        assert run.read_text() == "old\n" and temp.read_text() == "new\n"
        assert temp.stat().st_mode & 0o7777 == 0o751
        fs.discard_temp("/etc/sv/run")
        assert not temp.exists() and run.read_text() == "old\n"


def test_write_atomic_replaces_a_file_whole_with_its_mode(tmp_path):
    target = tmp_path / "out"
    target.write_text("old")
    os.chmod(str(target), 0o600)
    write_atomic(str(target), b"new", 0o751)
    assert target.read_text() == "new" and target.stat().st_mode & 0o7777 == 0o751
    umask = os.umask(0o027)
    try:
        write_atomic(target, b"newer")  # None: what open() creates
    finally:
        os.umask(umask)
    assert target.read_text() == "newer" and target.stat().st_mode & 0o7777 == 0o640
    assert os.listdir(str(tmp_path)) == ["out"]


def test_write_atomic_leaves_no_temp_file_and_names_the_target(tmp_path):
    directory = tmp_path / "out"
    directory.mkdir()  # a directory where the file should be: the rename fails
    with pytest.raises(IsADirectoryError) as raised:
        write_atomic(str(directory), b"x", 0o644)
    assert raised.value.filename == str(directory)
    assert os.listdir(str(tmp_path)) == ["out"]
    with pytest.raises(FileNotFoundError) as raised:
        write_atomic(str(tmp_path / "no" / "such"), b"x", 0o644)
    assert raised.value.filename == str(tmp_path / "no")  # nothing could be made there


def test_write_atomic_replaces_a_stale_temp_file_and_never_follows_one(tmp_path):
    outside = tmp_path / "outside"
    outside.write_text("keep")
    temp = tmp_path / (".out.%d%s" % (os.getpid(), TEMP_SUFFIX))
    assert is_temp_name(temp.name)
    os.symlink(str(outside), str(temp))  # planted where this process's temp file goes
    write_atomic(str(tmp_path / "out"), b"new", 0o644)
    assert (tmp_path / "out").read_text() == "new" and outside.read_text() == "keep"
    assert sorted(os.listdir(str(tmp_path))) == ["out", "outside"]


def test_a_stale_temp_file_is_replaced(root):
    (root / "etc" / "sv" / temp_name("run")).write_text("from an apply that died")
    with FsRoot(str(root)) as fs:
        fs.write_temp("/etc/sv/run", b"fresh\n", 0o755)
        fs.sync()
        fs.rename_temp("/etc/sv/run")
    assert (root / "etc" / "sv" / "run").read_text() == "fresh\n"
    assert sorted(os.listdir(str(root / "etc" / "sv"))) == ["run"]


@needs_root
def test_make_dir_sets_mode_and_owner_through_its_descriptor(root):
    with FsRoot(str(root)) as fs:
        fs.make_dir("/home/alice/sv", 0o750, OTHER_UID, OTHER_UID)
    info = (root / "home" / "alice" / "sv").stat()
    assert (info.st_mode & 0o7777, info.st_uid, info.st_gid) == (0o750, OTHER_UID, OTHER_UID)


@needs_root
def test_make_symlink_replaces_a_link_atomically(root):
    os.symlink("/old", str(root / "etc" / "web"))
    with FsRoot(str(root)) as fs:
        fs.make_symlink("/etc/web", "/etc/sv/web", OTHER_UID, OTHER_UID)
    assert os.readlink(str(root / "etc" / "web")) == "/etc/sv/web"
    assert os.lstat(str(root / "etc" / "web")).st_uid == OTHER_UID


def test_remove_tree_removes_links_never_their_targets(root, tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "file").write_text("mine")
    service = root / "etc" / "sv" / "old"
    (service / "supervise").mkdir(parents=True)
    os.symlink(str(keep), str(service / "supervise" / "elsewhere"))
    os.symlink(str(keep), str(service / "log"))
    with FsRoot(str(root)) as fs:
        fs.remove_tree("/etc/sv/old")
    assert not service.exists() and (keep / "file").read_text() == "mine"


@pytest.mark.parametrize("first", ["a-file", "b-dir"])
def test_remove_tree_takes_what_went_meanwhile_for_removed(root, monkeypatch, first):
    """Whatever goes while the walk lists — a file, a directory, the one being emptied — is
    removed as far as the walk is concerned: a runsv's last step removes its own
    ``supervise/event/ok`` as apply's walk goes (``sv exit`` returned before it), which once
    refused a user's retired service ("No such file or directory")."""
    from runit_provision.apply import fsroot

    old = root / "etc" / "sv" / "old"
    (old / "b-dir" / "event").mkdir(parents=True)
    for name in ("a-file", "c-file"):
        (old / name).write_text("x")
    (old / "b-dir" / "event" / "ok").write_text("x")
    unlink, rmdir = fsroot.os.unlink, fsroot.os.rmdir
    meanwhile = {"a-file": lambda: (unlink(str(old / "c-file")),
                                    unlink(str(old / "b-dir" / "event" / "ok")),
                                    rmdir(str(old / "b-dir" / "event"))),
                 "b-dir": lambda: (unlink(str(old / "a-file")), unlink(str(old / "c-file")))}

    def racing(remove):
        def removing(name, *args, **kwargs):
            if meanwhile:  # the first removal the walk makes: another process goes first
                meanwhile.pop(first)()
                meanwhile.clear()
            return remove(name, *args, **kwargs)
        return removing
    monkeypatch.setattr(fsroot.os, "unlink", racing(unlink))
    monkeypatch.setattr(fsroot.os, "rmdir", racing(rmdir))
    with FsRoot(str(root)) as fs:
        fs.remove_tree("/etc/sv/old")
    assert os.listdir(str(root / "etc" / "sv")) == []


def nest(top, depth, leaf="x"):
    """``depth`` directories ``d``, each in the last, below ``top`` (each made relative to
    the one above: the whole path is longer than a path may be), a file ``leaf`` at the
    bottom."""
    top.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(top), os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            below = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = below
        os.close(os.open(leaf, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    finally:
        os.close(fd)


def open_descriptors():
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("depth", [1500, 5000])
def test_remove_tree_walks_down_without_recursion_and_refuses_a_planted_depth(root, depth):
    old = root / "etc" / "sv" / "old"
    nest(old / "deep", depth)
    (old / "run").write_text("x")
    descriptors = open_descriptors()
    try:
        with FsRoot(str(root)) as fs:
            with pytest.raises(LimitError) as caught:
                fs.remove_tree("/etc/sv/old")
        assert open_descriptors() == descriptors  # every level's closed
        assert str(caught.value) == (
            "cannot remove %s: more than %d directories deep (the deepest tree the applier "
            "removes); the rest is left" % (old, MAX_DEPTH))
        assert (old / "deep" / "d").is_dir()
    finally:
        subprocess.run(["rm", "-rf", str(old)], check=True)  # GNU rm: no recursion either


def test_remove_tree_removes_a_tree_as_deep_as_it_may_be(root):
    old = root / "etc" / "sv" / "old"
    nest(old, MAX_DEPTH - 1)  # old itself is the first level
    for index in range(3):
        nest(old / ("wide%d" % index), 2)
    with FsRoot(str(root)) as fs:
        fs.remove_tree("/etc/sv/old")
    assert os.listdir(str(root / "etc" / "sv")) == []


def test_remove_tree_reads_at_most_max_entries(root):
    old = root / "etc" / "sv" / "old"
    (old / "env").mkdir(parents=True)
    for index in range(30):
        (old / "env" / ("V%d" % index)).write_text("x")
    with FsRoot(str(root)) as fs:
        with pytest.raises(LimitError, match="more than 20 entries in it"):
            fs.remove_tree("/etc/sv/old", max_entries=20)
        assert old.is_dir()
        fs.remove_tree("/etc/sv/old", max_entries=31)  # env and its 30 files
    assert not old.exists()


def test_scan_reads_at_most_its_limit_of_entries(root):
    for index in range(11):
        (root / "etc" / "sv" / ("f%d" % index)).write_text("x")
    with FsRoot(str(root)) as fs:
        assert len(fs.scan("/etc/sv", lambda name: name == "f1", limit=11)) == 1
        with pytest.raises(LimitError) as caught:
            fs.scan("/etc/sv", lambda name: False, limit=10)  # wanted or not: every entry
    assert str(caught.value).startswith("%s holds more than 10 entries" % (root / "etc/sv"))


def test_lookup_reads_the_names_asked_and_nothing_else(root):
    sv = root / "etc" / "sv"
    (sv / "config").write_text("s100\n")
    os.mkfifo(str(sv / "fifo"))
    os.symlink("/etc/passwd", str(sv / "link"))
    with FsRoot(str(root)) as fs:
        found = fs.lookup("/etc/sv", ["config", "fifo", "link", "missing"],
                          read=["config", "fifo", "link"])
    assert sorted(found) == ["config", "fifo", "link"]
    assert found["config"][1] == b"s100\n"
    assert found["fifo"][1] is None and found["link"][1] is None  # neither opened for reading


def test_many_directories_stay_within_the_descriptor_cache(root):
    with FsRoot(str(root)) as fs:
        for index in range(400):
            fs.make_dir("/etc/sv/s%03d" % index, 0o755)
            fs.write_temp("/etc/sv/s%03d/run" % index, b"x", 0o755)
        fs.sync()
        for index in range(400):
            fs.rename_temp("/etc/sv/s%03d/run" % index)
        assert len(fs._cache) <= 128
    assert len(os.listdir(str(root / "etc" / "sv"))) == 400


def test_a_missing_root_is_an_apply_error(tmp_path):
    from runit_provision.errors import ApplyError

    with pytest.raises(ApplyError) as caught:
        FsRoot(str(tmp_path / "nowhere"))
    assert "cannot open the root" in str(caught.value)
