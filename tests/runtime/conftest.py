"""Fixtures shared by the real-process tiers."""

import subprocess

import pytest

from ..conftest import our_tool
from .processes import (
    Processes, close_pipes, descendants, kill_pids, process_group_members, processes_under)


@pytest.fixture
def processes():
    """Process groups a test starts; every one is killed when the test ends."""
    procs = Processes()
    yield procs
    procs.kill_all()


@pytest.fixture
def runsv(impl, which_tool):
    """The runsv of the implementation under test."""
    return which_tool(impl, "runsv")


@pytest.fixture
def tree(tmp_path):
    """A runsvdir on ``tmp_path/service``, in its own process group, ended in any case."""
    svdir = tmp_path / "service"
    svdir.mkdir()
    procs = []

    def start(*extra, log=None, runsvdir=None, prefix=(), **popen_kwargs):
        argv = list(prefix) + [runsvdir or our_tool("runsvdir")] + list(extra) + [str(svdir)]
        popen_kwargs.setdefault("stdout", subprocess.PIPE)
        popen_kwargs.setdefault("stderr", subprocess.STDOUT)
        proc = subprocess.Popen(argv + ([log] if log is not None else []),
                                start_new_session=True, **popen_kwargs)
        procs.append(proc)
        return proc

    yield svdir, start
    # Everything below each runsvdir (services of -P are in sessions of their own), and
    # anything left running in the test's directory once a runsvdir has gone.
    for proc in procs:
        kill_pids(set(process_group_members(proc.pid)) | set(descendants(proc.pid)))
        proc.wait()
        close_pipes(proc)
    kill_pids(processes_under(tmp_path))
