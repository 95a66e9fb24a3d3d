"""verify and the helper against live trees: our runsvdir (the whole tree in one process, no
runsv processes) and the C runit (a runsv per service), on ``local://`` in a sandbox.

A correct tree passes; then one kind of drift per service — a stopped service, a changed
``run``, a wrong mode, a wrong owner, a missing logger, an unwritable log directory, a stale
absent service, a dead user tree — and each fails naming the service and what is wrong. The
helper (``RunitService``, ``RunitTree``) and the pytest plugin read the same trees.
"""

import os
import subprocess
import sys

import pytest

from runit_provision.checks.expected import expectations
from runit_provision.checks.service import RunitService, RunitTree
from runit_provision.checks.verify import verify_host
from runit_provision.cli.main import main

from ..runtime.processes import normalise, running_pid, wait_until
from .helpers import (NEITHERS, assert_drift_reported, assert_strays_reported, drift_files,
                      failures, plant_strays)
from .live import local_host, running
from .test_readme import readme_plugin_example

pytestmark = pytest.mark.slow


@pytest.fixture(params=["ours", "c"])
def live(request, sandbox, which_tool, monkeypatch):
    if request.param == "c":
        request.applymarker(pytest.mark.interop)  # which_tool skips (fails in CI) without it
    with running(sandbox, request.param, which_tool, monkeypatch) as host:
        yield host


def wait_passing(expected, complaint):
    """Until verify passes (runsv takes a moment to start what apply linked or restarted)."""
    last = {}

    def passes():
        last["failures"] = failures(verify_host(local_host(), expected))
        return last["failures"] == {}
    try:
        wait_until(passes, timeout=20, what="verify passing")
    except AssertionError:
        raise AssertionError("%s: %r" % (complaint, last["failures"]))


def test_correct_then_drifted(live, sandbox):
    expected = expectations(live.config, live.tree)
    wait_passing(expected, "a correct tree does not pass")
    # the sh probe (sv does the probe) agrees on the correct tree
    assert failures(verify_host(local_host(), expected, python=False)) == {}

    drift_files(sandbox)
    live.sv("-w", "10", "down", "web")
    live.kill_the_user_tree()
    assert_drift_reported(verify_host(local_host(), expected), sandbox)
    assert_drift_reported(verify_host(local_host(), expected, python=False), sandbox)


def test_what_verify_flags_apply_puts_back_on_a_live_tree(live, sandbox, capsys):
    """apply made the tree, verify passes; undeclared runsv files and a group changed by
    hand fail verify, apply purges and puts back (web restarted: an env/ file went), and
    verify passes again — the same agreement as the pure tier's, with runsv really there."""
    expected = expectations(live.config, live.tree)
    wait_passing(expected, "a correct tree does not pass")
    web = running_pid(sandbox / "service" / "web")
    plant_strays(sandbox)
    assert_strays_reported(verify_host(local_host(), expected), sandbox)
    capsys.readouterr()
    live.apply()
    assert "\u21bb web: restart (env changed)" in capsys.readouterr().out
    wait_passing(expected, "not put back")
    assert running_pid(sandbox / "service" / "web") not in (None, web)
    assert all((sandbox / path).exists() for path in NEITHERS)


def test_the_cli_on_a_live_tree(live, sandbox, capsys, tmp_path):
    junit = tmp_path / "junit.xml"
    wait_until(lambda: main(["verify", "--data", str(live.data_file)]) == 0, timeout=20,
               what="verify exit 0")
    capsys.readouterr()
    live.sv("-w", "10", "down", "web")
    code = main(["verify", "--data", str(live.data_file), "--junitxml", str(junit)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED web::running - web: not running: down: %s/service/web: " % sandbox in out
    assert out.splitlines()[-1].strip("= ").startswith("1 failed, ")
    assert junit.exists()


def test_the_helper(live, sandbox):
    service_dir, sv_dir = str(sandbox / "service"), str(sandbox / "sv")
    wait_until(lambda: running_pid(sandbox / "service" / "web"), what="web running")
    web = RunitService(local_host(), "web", service_dir, sv_dir)
    assert (web.is_installed, web.is_linked, web.is_supervised, web.is_running,
            web.is_normally_up, web.want) == (True, True, True, True, True, "up")
    assert web.pid == running_pid(sandbox / "service" / "web") and web.uptime >= 0
    assert web.status.state.name == "RUN" and web.process_uid == os.getuid()
    assert normalise(web.status_line) == "run: web: (pid N) Ns"
    assert web.log.is_supervised and web.log.is_running and web.log.pid
    worker = RunitService(local_host(), "worker", service_dir, sv_dir)
    assert (worker.is_supervised, worker.is_running, worker.is_normally_up, worker.want,
            worker.pid) == (True, False, False, "down", None)
    spare = RunitService(local_host(), "spare", service_dir, sv_dir)
    assert (spare.is_installed, spare.is_linked, spare.is_supervised) == (True, False, False)
    assert spare.error == "unable to open supervise/ok: file does not exist"
    nothing = RunitService(local_host(), "nothing", service_dir, sv_dir)
    assert (nothing.is_installed, nothing.is_linked, nothing.is_running) == (False,) * 3

    tree = RunitTree(local_host(), service_dir, sv_dir)
    assert sorted(tree.names) == ["api", "cache", "db", "mailer", "queue", "runsvdir-root",
                                  "web", "worker"]
    assert all(service.is_linked and service.is_supervised for service in tree)
    assert [s.name for s in tree if not s.is_running] == ["worker"]
    assert tree["web"].pid == web.pid and tree["web"].is_installed
    assert spare.status_line == ("warning: spare: unable to open supervise/ok: file does not "
                                 "exist")

    users = RunitTree(local_host(), str(sandbox / "home" / "service"),
                      str(sandbox / "home" / "sv"), user="root",
                      system_service_dir=service_dir)
    assert users.supervisor.is_running and users.supervisor.process_uid == 0
    assert [(s.name, s.is_linked, s.is_running) for s in users] == [("app", True, True)]
    live.sv("-w", "10", "down", "web")
    assert web.is_running  # the snapshot it answers from …
    assert not web.refresh().is_running and web.want == "down"  # … until refreshed


def test_one_host_run_per_service_and_per_tree(live, sandbox):
    class Counting:
        runs = 0

        def __init__(self, host):
            self.host = host

        def run(self, command, *args):
            Counting.runs += 1
            return self.host.run(command, *args)

    host = Counting(local_host())
    web = RunitService(host, "web", str(sandbox / "service"), str(sandbox / "sv"))
    assert (web.is_linked, web.is_running, web.pid, web.uptime, web.want, web.log.is_running,
            web.status.state.name) is not None
    assert Counting.runs == 1
    tree = RunitTree(host, str(sandbox / "service"), str(sandbox / "sv"))
    assert len([service.status_line for service in tree]) == 8
    assert Counting.runs == 2


EXTRA_TESTS = '''

def test_worker_is_normally_down(runit_service):
    assert not runit_service("worker").is_normally_up


def test_the_system_tree(runit_tree):
    assert {"web", "worker"} <= set(runit_tree().names)
'''


def test_the_pytest_plugin_as_the_readme_shows_it(live, sandbox, tmp_path):
    """A user's own suite: docs/verify.md's conftest.py and tests (root's tree for alice's, as the
    sandbox holds it), the system tree's paths in pytest.ini."""
    conftest, tests = readme_plugin_example()
    users = 'runit_tree(user="root", service_dir=%r)' % str(sandbox / "home" / "service")
    assert 'runit_tree(user="alice")' in tests
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "pytest.ini").write_text("[pytest]\nrunit_service_dir = %s\nrunit_sv_dir = %s\n"
                                         % (sandbox / "service", sandbox / "sv"))
    (tmp_path / "test_runit.py").write_text(
        tests.replace('runit_tree(user="alice")', users) + EXTRA_TESTS)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--hosts=local://", str(tmp_path)], cwd=str(tmp_path),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120)
    assert proc.returncode == 0, proc.stdout
    assert "4 passed" in proc.stdout
