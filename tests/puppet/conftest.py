"""Fixtures of the Puppet tiers: what they need installed (skipped without it, except under
CI=true, where its absence is a failure), the module's modulepath and the session's wheelhouse."""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import IN_CI

from .harness import PUPPET, PUPPET_LINT, SYSTEM_MODULES, build_wheelhouse, module_path

# Debian packages: what .ci/run installs for these tiers.
NEEDS = {
    PUPPET: "puppet",
    PUPPET_LINT: "puppet-lint",
    str(SYSTEM_MODULES / "stdlib" / "metadata.json"): "puppet-module-puppetlabs-stdlib",
}


def require(paths):
    """Skip unless every path exists — under CI=true, fail instead."""
    missing = sorted({package for path, package in paths.items() if not os.path.exists(path)})
    if not missing:
        return
    message = "not installed: %s (apt-get install %s)" % (", ".join(missing), " ".join(missing))
    if IN_CI:
        pytest.fail("CI=true but " + message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def puppet_installed():
    require(NEEDS)


@pytest.fixture(scope="session")
def modules(puppet_installed, tmp_path_factory):
    """A modulepath: this checkout's puppet/ as ``runit``, and stdlib."""
    return module_path(tmp_path_factory.mktemp("modulepath") / "modules")


@pytest.fixture(scope="session")
def wheelhouse(puppet_installed, tmp_path_factory):
    """``(directory, wheel)``: this checkout's wheel and its dependencies', built once."""
    directory = tmp_path_factory.mktemp("wheelhouse")
    return directory, build_wheelhouse(directory)


def stack_needs():
    from .puppetdb import NEEDS as PUPPETDB_NEEDS
    from .server import NEEDS as SERVER_NEEDS
    return dict(NEEDS, **dict(SERVER_NEEDS, **PUPPETDB_NEEDS))


class Stack:
    """One Puppet server, storing its agents' facts and catalogs in one PuppetDB
    (puppet-terminus-puppetdb, HTTPS with the server's own certificate), booting in a thread
    of its own: ``ready()`` waits for it, ``stop()`` ends both.

    The server's JVM is started at once; PostgreSQL's cluster beside it (nothing of the
    server's); PuppetDB as soon as the server's CA has written the certificate PuppetDB serves
    HTTPS with. Each wait has its deadline: the server's, from its start, SERVER_DEADLINE —
    it boots beside the tests of test_apply.py, in a worker beside another (~30 s on a quiet
    machine, over 4 min measured on one with a load of 17); PostgreSQL's commands 120 s each,
    PuppetDB's 240 s from its start."""

    SERVER_DEADLINE = 600
    BOOT_DEADLINE = 900  # every deadline of the boot above, one after the other, and more

    def __init__(self, base):
        from .puppetdb import PuppetDB
        from .server import PuppetServer, free_port
        self.base = base
        self.puppetdb = PuppetDB(base / "puppetdb", ssl_port=free_port())
        self.server = PuppetServer(base / "server", puppetdb_port=self.puppetdb.ssl_port)
        self.failure = None
        self.server.start()
        self.thread = threading.Thread(target=self._boot, name="puppet stack", daemon=True)
        self.thread.start()

    def _boot(self):
        deadline = time.monotonic() + self.SERVER_DEADLINE
        try:
            with ThreadPoolExecutor(max_workers=1) as pool:
                postgres = pool.submit(self.puppetdb.start_postgres)
                self.server.wait_for_ssl_files(timeout=deadline - time.monotonic())
                postgres.result()
                database = pool.submit(self.puppetdb.start, ssl_files=self.server.ssl_files)
                self.server.wait_ready(timeout=max(0, deadline - time.monotonic()))
                database.result()
        except BaseException as exc:  # raised again by ready(), in the test that needs it
            self.failure = exc

    def ready(self):
        self.thread.join(self.BOOT_DEADLINE)
        assert not self.thread.is_alive(), "the Puppet server and PuppetDB still booting"
        if self.failure is not None:
            raise self.failure
        return self.base, self.server, self.puppetdb

    def stop(self):
        self.thread.join(self.BOOT_DEADLINE)  # (a process started after stop() would stay)
        self.puppetdb.stop()
        self.server.stop()


@pytest.fixture(scope="session")
def booting_stack(puppet_installed, tmp_path_factory):
    """The session's Stack, from when a test first asks for it."""
    require(stack_needs())
    stack = Stack(tmp_path_factory.mktemp("fleet"))
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session", autouse=True)
def boot_the_stack_early(request):
    """At the first test of tests/puppet/ in a session that has tests of the stack (the fleet's
    come after test_apply.py's), the stack starts booting: its minute or so of boot overlaps
    those tests instead of coming before the first test of the fleet. Without what it needs,
    nothing here: ``puppet_stack`` skips (or fails under CI) in the tests that need it."""
    if all(os.path.exists(path) for path in stack_needs()) and any(
            "puppet_stack" in item.fixturenames for item in request.session.items):
        try:
            request.getfixturevalue("booting_stack")
        except Exception:  # pytest keeps it: raised again in each test that needs the stack,
            pass  # not in this one, which does not


@pytest.fixture(scope="session")
def puppet_stack(booting_stack):
    """``(base, server, puppetdb)``: the session's Puppet server and PuppetDB, booted."""
    return booting_stack.ready()
