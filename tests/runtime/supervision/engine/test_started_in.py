"""adoption.started_in: the process a killed supervisor had just started, found by its cwd —
compared by the path the kernel names for it, never by a stat through ``/proc/PID/cwd`` (a
stat there asks the process's file system: a user's FUSE mount could hold root's tree)."""

import os
import subprocess

import pytest

from runit_provision.runtime.supervision.engine import adoption
from runit_provision.runtime.supervision.engine.adoption import started_in, starttime_of

from ...processes import children_of, wait_until


def _caller_started(monkeypatch, tick):
    """The caller's own start pretended at ``tick``: what "before this process" means."""
    monkeypatch.setattr(adoption, "starttime_of",
                        lambda found: tick if found == os.getpid() else starttime_of(found))


@pytest.fixture
def sleeper(tmp_path):
    """A ``sleep`` started in ``tmp_path/svc`` (its cwd), ended after the test."""
    service = tmp_path / "svc"
    service.mkdir()
    since = starttime_of(os.getpid())
    process = subprocess.Popen(["sleep", "1000"], cwd=str(service))
    try:
        yield service, since, process.pid
    finally:
        process.kill()
        process.wait()


def test_the_process_started_in_the_directory_is_found_without_a_stat_of_its_cwd(
        sleeper, monkeypatch):
    service, since, pid = sleeper
    real_stat = os.stat

    def stat(path, *args, **kwargs):
        if isinstance(path, str) and path.startswith("/proc/") and path.endswith("/cwd"):
            raise AssertionError("stat through %s" % path)
        return real_stat(path, *args, **kwargs)
    monkeypatch.setattr(adoption.os, "stat", stat)
    fd = os.open(str(service), os.O_RDONLY | os.O_DIRECTORY)
    try:
        # "before this process": a process started after the caller is not one it lost, so
        # the caller's start is pretended later than the sleep's
        _caller_started(monkeypatch, starttime_of(pid) + 1)
        assert started_in(fd, since) == pid
        assert started_in(fd, since, exclude={pid}) == 0
    finally:
        os.close(fd)


def test_another_directory_of_the_same_name_elsewhere_is_not_it(sleeper, tmp_path,
                                                                 monkeypatch):
    _, since, pid = sleeper
    other = tmp_path / "other" / "svc"
    other.mkdir(parents=True)
    _caller_started(monkeypatch, starttime_of(pid) + 1)
    fd = os.open(str(other), os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert started_in(fd, since) == 0
    finally:
        os.close(fd)


def test_only_a_process_started_between_the_record_and_the_caller_is_it(sleeper, monkeypatch):
    service, since, pid = sleeper
    started = starttime_of(pid)
    fd = os.open(str(service), os.O_RDONLY | os.O_DIRECTORY)
    try:
        _caller_started(monkeypatch, started)  # the same tick: still before
        assert started_in(fd, started) == pid
        assert started_in(fd, started + 1) == 0  # started before the record's start
        _caller_started(monkeypatch, started - 1)  # started after the caller
        assert started_in(fd, since) == 0
    finally:
        os.close(fd)


def test_of_a_process_and_its_child_in_the_directory_the_parent_is_it(tmp_path, monkeypatch):
    service = tmp_path / "svc"
    service.mkdir()
    since = starttime_of(os.getpid())
    parent = subprocess.Popen(["sh", "-c", "sleep 1000 & wait"], cwd=str(service),
                              start_new_session=True)
    fd = os.open(str(service), os.O_RDONLY | os.O_DIRECTORY)
    try:
        [child] = wait_until(lambda: children_of(parent.pid), what="the sh's child")
        _caller_started(monkeypatch, starttime_of(child) + 1)
        assert started_in(fd, since) == parent.pid
        assert started_in(fd, since, exclude={parent.pid}) == child
    finally:
        os.close(fd)
        os.killpg(parent.pid, 9)
        parent.wait()
