"""Fixtures of the security tier: one namespace with the scratch users per module, a fresh
sandbox per test, for our runtime and the C runit side by side (``impl``, tests/conftest.py)."""

import os
import shutil

import pytest

from ..conftest import IN_CI
from .sandbox import Namespace, Sandbox


@pytest.fixture(scope="module")
def namespace():
    missing = [tool for tool in ("unshare", "nsenter", "setpriv", "mount")
               if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        if IN_CI:
            pytest.fail("the security tier needs root and %s" % ", ".join(missing))
        pytest.skip("needs root and unshare, nsenter, setpriv, mount")
    found = Namespace()
    yield found
    found.close()


@pytest.fixture
def sandbox(namespace, impl):
    found = Sandbox(namespace, impl)
    yield found
    found.close()
