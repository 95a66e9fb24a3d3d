"""Fixtures of the checks tests: a reachable sandbox, removed in any case."""

import pytest

from .helpers import make_sandbox, remove_sandbox


@pytest.fixture
def sandbox():
    path = make_sandbox()
    yield path
    remove_sandbox(path)
