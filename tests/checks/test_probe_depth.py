"""The host probes walk a service directory a user owns, however deep a user made it: the
same records from python3's probe and sh's, no recursion limit reached."""

import pytest
import testinfra

from runit_provision.checks.snapshot import Request, take_snapshot

from ..cgroupchain import DEEP, chain
from ..conftest import OUR_BIN
from ..runtime.processes import BASE_PATH


@pytest.fixture
def host(monkeypatch):
    monkeypatch.setenv("PATH", "%s:%s" % (OUR_BIN, BASE_PATH))
    return testinfra.get_host("local://")


@pytest.mark.parametrize("python", [True, False], ids=["python", "sh"])
def test_a_service_directory_deeper_than_recursion_goes_is_walked(tmp_path, host, python):
    web = tmp_path / "sv" / "web"
    web.mkdir(parents=True)
    (web / "run").write_text("#!/bin/sh\n")
    with chain(web, DEEP, "a") as deepest:
        (deepest / "planted").write_text("x")
        try:
            snapshot = take_snapshot(host, Request().walk(str(web)), python=python)
        finally:
            (deepest / "planted").unlink()
    assert snapshot.children(str(web)) == ["a", "run"]
    assert snapshot.node(str(deepest / "planted")).content == b"x"
