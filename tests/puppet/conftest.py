"""Fixtures of the Puppet tiers: what they need installed (skipped without it, except under
CI=true, where its absence is a failure), the module's modulepath and the session's wheelhouse."""

import os

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


@pytest.fixture(scope="session")
def puppet_stack(puppet_installed, tmp_path_factory):
    """``(base, server, puppetdb)``: one Puppet server for the session, storing its agents'
    facts and catalogs in one PuppetDB (puppet-terminus-puppetdb, HTTPS with the server's own
    certificate), started once the server has made its CA."""
    from .puppetdb import NEEDS as PUPPETDB_NEEDS, PuppetDB
    from .server import NEEDS as SERVER_NEEDS, PuppetServer, free_port
    require(dict(SERVER_NEEDS, **PUPPETDB_NEEDS))
    base = tmp_path_factory.mktemp("fleet")
    puppetdb = PuppetDB(base / "puppetdb", ssl_port=free_port())
    server = PuppetServer(base / "server", puppetdb_port=puppetdb.ssl_port)
    server.start()
    try:
        server.wait_ready()
        puppetdb.start(ssl_files=server.ssl_files)
        yield base, server, puppetdb
    finally:
        puppetdb.stop()
        server.stop()
