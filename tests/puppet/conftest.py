"""Fixtures of the Puppet tiers: what they need installed (skipped without it, except under
CI=true, where its absence is a failure), the module's modulepath and the session's wheelhouse."""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import IN_CI, STACK_GROUP, unit_of

from .harness import PUPPET, PUPPET_LINT, SYSTEM_MODULES, module_path

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
def wheelhouse(puppet_installed, checkout_wheelhouse):
    """``(directory, wheel)``: this checkout's wheel and its dependencies', built once."""
    return checkout_wheelhouse


def stack_needs():
    from .puppetdb import NEEDS as PUPPETDB_NEEDS
    from .server import NEEDS as SERVER_NEEDS
    return dict(NEEDS, **dict(SERVER_NEEDS, **PUPPETDB_NEEDS))


class Stack:
    """One Puppet server, storing its agents' facts and catalogs in one PuppetDB
    (puppet-terminus-puppetdb, HTTPS with the server's own certificate), booting in a thread
    of its own: ``ready()`` waits for it, ``stop()`` ends both.

    The server's JVM is started at once (in the thread); PostgreSQL's cluster beside it
    (nothing of the server's); PuppetDB as soon as the server's CA has written the certificate
    PuppetDB serves HTTPS with. Each wait has its deadline: the server's, from its start,
    SERVER_DEADLINE — it boots beside the first tests of its group, in a worker beside others
    (~30 s on a quiet machine, over 4 min measured on one with a load of 17); PostgreSQL's
    commands 120 s each, PuppetDB's 240 s from its start."""

    SERVER_DEADLINE = 600
    # every deadline of the boot above, one after the other, and more; and, the first time on a
    # machine, the compiling of the server's and PuppetDB's Clojure (server.clojure_classes)
    BOOT_DEADLINE = 1500

    def __init__(self, base):
        from .puppetdb import PuppetDB
        from ..livetree import free_port
        from .server import PuppetServer
        self.base = base
        self.puppetdb = PuppetDB(base / "puppetdb", ssl_port=free_port())
        self.server = PuppetServer(base / "server", puppetdb_port=self.puppetdb.ssl_port)
        self.failure = None
        self.thread = threading.Thread(target=self._boot, name="puppet stack", daemon=True)
        self.thread.start()

    def _boot(self):
        try:
            self.server.start()  # (the first on a machine compiles its Clojure first: AOT_CACHE)
            deadline = time.monotonic() + self.SERVER_DEADLINE
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


def uses_the_stack(item):
    return "puppet_stack" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items):
    """The tests of tests/puppet/ that need the stack after those that do not, each kind in its
    order: the others of the stack's group (STACK_GROUP) then run while the stack boots."""
    slots = [index for index, item in enumerate(items) if item.nodeid.startswith("tests/puppet/")]
    ours = [items[index] for index in slots]
    ordered = ([item for item in ours if not uses_the_stack(item)]
               + [item for item in ours if uses_the_stack(item)])
    for index, item in zip(slots, ordered):
        items[index] = item


def boots_the_stack(nodeid, session_has_stack_tests):
    """Whether the test ``nodeid`` starts the stack's boot (when it is not booting already).

    >>> boots_the_stack("tests/puppet/test_module.py::test_lint_is_clean", True)
    True
    >>> boots_the_stack("tests/puppet/test_apply.py::test_staged", True)
    False
    >>> boots_the_stack("tests/puppet/test_module.py::test_lint_is_clean", False)
    False
    """
    return session_has_stack_tests and unit_of(nodeid) == STACK_GROUP


@pytest.fixture(scope="session")
def session_has_stack_tests(request):
    return any(uses_the_stack(item) for item in request.session.items)


@pytest.fixture(autouse=True)
def boot_the_stack_early(request, session_has_stack_tests):
    """At the first test of the stack's group (STACK_GROUP, tests/conftest.py) in a session that
    has tests of the stack, the stack starts booting: its minute or so of boot overlaps the
    group's tests that need no stack, which come first, instead of coming before the first test
    of the fleet. A process that runs none of the group — a parallel run's worker that has the
    other Puppet tests — boots nothing. Without what it needs, nothing here: ``puppet_stack``
    skips (or fails under CI) in the tests that need it."""
    if boots_the_stack(request.node.nodeid, session_has_stack_tests) and all(
            os.path.exists(path) for path in stack_needs()):
        try:
            request.getfixturevalue("booting_stack")
        except Exception:  # pytest keeps it: raised again in each test that needs the stack,
            pass  # not in this one, which does not


@pytest.fixture(scope="session")
def puppet_stack(booting_stack):
    """``(base, server, puppetdb)``: the session's Puppet server and PuppetDB, booted."""
    return booting_stack.ready()
