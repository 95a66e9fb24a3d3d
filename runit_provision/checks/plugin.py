"""checks: the opt-in pytest plugin — ``runit_service`` and ``runit_tree`` fixture factories on
testinfra's ``host`` fixture (so ``--hosts`` and every testinfra backend work unchanged).

Opt in from the top-level ``conftest.py`` of the tests (or ``-p runit_provision.checks.plugin``)::

    pytest_plugins = ["runit_provision.checks.plugin"]

It is not an auto-loaded ``pytest11`` entry point: that would load in every pytest session of
every project where runit-provision is installed. Where the system tree lives, when not in
``/etc/service`` and ``/etc/sv``, is set in the ini file (``runit_service_dir``,
``runit_sv_dir``) or per call. ::

    def test_web(runit_service):
        web = runit_service("web")
        assert web.is_linked and web.is_running and web.log.is_running

    def test_alice(runit_tree):
        tree = runit_tree(user="alice")          # ~alice/service, run by runsvdir-alice
        assert tree.supervisor.is_running
        assert all(service.is_running for service in tree)
"""

import pytest

from .service import SERVICE_DIR, SV_DIR, RunitService, RunitTree


def pytest_addoption(parser):
    parser.addini("runit_service_dir", "runsvdir's directory of the system tree "
                  "(default %s)" % SERVICE_DIR, default=SERVICE_DIR)
    parser.addini("runit_sv_dir", "where the system's service directories live "
                  "(default %s)" % SV_DIR, default=SV_DIR)


def _dirs(request):
    return request.config.getini("runit_service_dir"), request.config.getini("runit_sv_dir")


@pytest.fixture
def runit_service(host, request):
    """``runit_service(name, service_dir=…, sv_dir=…)`` -> a ``RunitService`` on the test's
    host, read in one command at its first property."""
    service_dir, sv_dir = _dirs(request)

    def make(name, service_dir=service_dir, sv_dir=sv_dir):
        return RunitService(host, name, service_dir, sv_dir)
    return make


@pytest.fixture
def runit_tree(host, request):
    """``runit_tree()`` -> the system tree; ``runit_tree(user="alice")`` -> alice's tree
    (``~alice/service``, its supervisor ``runsvdir-alice``); ``service_dir``/``sv_dir`` to
    point elsewhere. Every service of it is read in one command."""
    system_service_dir, system_sv_dir = _dirs(request)

    def make(user=None, service_dir=None, sv_dir=None):
        if user is None:
            service_dir = service_dir or system_service_dir
            sv_dir = sv_dir or system_sv_dir
        return RunitTree(host, service_dir, sv_dir, user=user,
                         system_service_dir=system_service_dir)
    return make
