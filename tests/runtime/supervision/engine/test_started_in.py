"""adoption.started_in: the process a killed supervisor had just started, found by its cwd —
compared by the path the kernel names for it, never by a stat through ``/proc/PID/cwd`` (a
stat there asks the process's file system: a user's FUSE mount could hold root's tree)."""

import os
import subprocess

import pytest

from runit_provision.runtime.supervision.engine import adoption
from runit_provision.runtime.supervision.engine.adoption import started_in, starttime_of


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
        monkeypatch.setattr(adoption, "starttime_of",
                            lambda found: starttime_of(pid) + 1 if found == os.getpid()
                            else starttime_of(found))
        assert started_in(fd, since) == pid
        assert started_in(fd, since, exclude={pid}) == 0
    finally:
        os.close(fd)


def test_another_directory_of_the_same_name_elsewhere_is_not_it(sleeper, tmp_path,
                                                                 monkeypatch):
    _, since, pid = sleeper
    other = tmp_path / "other" / "svc"
    other.mkdir(parents=True)
    monkeypatch.setattr(adoption, "starttime_of",
                        lambda found: starttime_of(pid) + 1 if found == os.getpid()
                        else starttime_of(found))
    fd = os.open(str(other), os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert started_in(fd, since) == 0
    finally:
        os.close(fd)
