"""Fixtures shared by the real-process tiers."""

import pytest

from .runsv_helpers import Processes


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
