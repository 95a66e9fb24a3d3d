"""apply/lock.py: the apply lock — a file only the applier can open, beside ``sv_dir``, one per
tree, shared for plans, exclusive for applies, removed when let go; a planted one refused.
(Another account holding every path it can open: tests/security/test_apply_lock_and_owed.py.)"""

import os
import threading
import time

import pytest

from runit_provision.apply.fsroot import FsRoot
from runit_provision.apply.lock import LOCK_NAME, release_lock, take_lock
from runit_provision.errors import LockError

SV_DIR = "/etc/sv"


@pytest.fixture
def fs(tmp_path):
    (tmp_path / "etc").mkdir()
    with FsRoot(str(tmp_path)) as found:
        yield found


def lock_file(fs):
    return os.path.join(fs.root, "etc", LOCK_NAME)


def test_the_lock_is_a_file_of_the_applier_that_no_one_else_may_open(fs):
    held = take_lock(fs, SV_DIR, 0)
    try:
        info = os.lstat(lock_file(fs))
        assert (info.st_uid, info.st_mode & 0o777) == (os.geteuid(), 0o600)
        assert os.fstat(held.fd).st_ino == info.st_ino
    finally:
        release_lock(held)
    assert not os.path.exists(lock_file(fs))  # nothing left behind


def test_one_tree_one_lock_and_two_trees_never_wait_for_each_other(fs):
    held = take_lock(fs, SV_DIR, 0)
    try:
        with pytest.raises(LockError, match="holds the lock %s; gave up after 0.1s"
                           % lock_file(fs)):
            take_lock(fs, SV_DIR + "/", 0.1)  # the same tree, however it is written
        other = take_lock(fs, "/srv/box/etc/sv", 0)  # a relocated tree: its own lock
        release_lock(other)
    finally:
        release_lock(held)


def test_plans_share_the_lock_and_an_apply_waits_for_them(fs):
    first = take_lock(fs, SV_DIR, 0, exclusive=False)
    second = take_lock(fs, SV_DIR, 0, exclusive=False)
    try:
        assert os.fstat(first.fd).st_ino == os.fstat(second.fd).st_ino
        with pytest.raises(LockError, match="gave up after 0.1s"):
            take_lock(fs, SV_DIR, 0.1)
        release_lock(first)
        assert os.path.exists(lock_file(fs))  # the plan still reading holds it
        with pytest.raises(LockError):
            take_lock(fs, SV_DIR, 0)
    finally:
        release_lock(second)
    assert not os.path.exists(lock_file(fs))  # the last to go removed it
    release_lock(take_lock(fs, SV_DIR, 0))


def test_a_plan_of_a_tree_that_is_not_there_takes_no_lock(fs):
    assert take_lock(fs, "/nowhere/sv", 0, exclusive=False) is None
    assert not os.path.exists(os.path.join(fs.root, "nowhere"))


def test_a_waiting_apply_gets_the_lock_on_the_file_at_the_name(fs):
    """The first apply removes the file as it lets go; the one that waited on it takes the new
    file — so a third finds it held, rather than a lock on a file no longer there."""
    first = take_lock(fs, SV_DIR, 0)
    got = []
    waiter = threading.Thread(target=lambda: got.append(take_lock(fs, SV_DIR, 10)))
    waiter.start()
    time.sleep(0.05)  # let it open the first file and wait on it (either order is right)
    release_lock(first)
    waiter.join(10)
    try:
        assert got and os.path.exists(lock_file(fs))
        assert os.fstat(got[0].fd).st_ino == os.lstat(lock_file(fs)).st_ino
        with pytest.raises(LockError):
            take_lock(fs, SV_DIR, 0)
    finally:
        release_lock(got[0] if got else None)


@pytest.mark.parametrize("plant, words", [
    (lambda path: os.symlink("/etc/shadow", path), "(a symbolic link)"),
    (lambda path: os.mkfifo(path, 0o600), "(not a regular file)"),
    (lambda path: os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)),
     "(mode 0644: others may open it)"),
])
def test_a_planted_lock_is_refused_never_opened(fs, plant, words):
    plant(lock_file(fs))
    for exclusive in (True, False):
        with pytest.raises(LockError) as caught:
            take_lock(fs, SV_DIR, 5, exclusive=exclusive)  # at once: nothing waited for
        assert str(caught.value) == (
            "%s is not runit-provision's lock %s: planted? Remove it; apply makes its own"
            % (lock_file(fs), words))
    assert os.path.lexists(lock_file(fs))  # not removed: what is not ours is not touched


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_a_lock_file_of_another_account_is_refused(fs):
    path = lock_file(fs)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chown(path, 61001, 61001)
    with pytest.raises(LockError, match="owned by uid 61001, neither root nor the applier"):
        take_lock(fs, SV_DIR, 0)
