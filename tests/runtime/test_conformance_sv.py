"""sv rows of docs/runit-protocol.md §3 that no other tier pinned (docs/conformance.md): our sv
and the C sv on the same running service, (exit code, stdout, stderr) compared.

One runsv (the C one) per service, each in its own session, killed by process group at the
end; waits are conditions with deadlines.
"""

import os
import subprocess

import pytest

from ..conftest import C_RUNIT, our_tool, require_c_runit
from .processes import BASE_PATH, SH, make_service, normalise, status_record, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.interop]


@pytest.fixture
def tree(tmp_path, processes):
    require_c_runit()
    svdir = tmp_path / "service"
    svdir.mkdir()
    return svdir


def start(processes, service):
    group = processes.start([C_RUNIT["runsv"], service.name], cwd=str(service.parent),
                            env={"PATH": BASE_PATH}, output=str(service.parent / "runsv.out"))
    wait_until(lambda: (status_record(service) or 0) and status_record(service).pid,
               what="%s running" % service.name)
    return group


def both(svdir, *args):
    """{impl: (code, stdout, stderr)} of ``sv ARGS`` run by the C sv and ours."""
    results = {}
    for impl, sv in (("c", C_RUNIT["sv"]), ("ours", our_tool("sv"))):
        proc = subprocess.run([sv] + list(args), cwd=str(svdir.parent), capture_output=True,
                              env={"PATH": BASE_PATH, "SVDIR": str(svdir)}, timeout=30,
                              stdin=subprocess.DEVNULL)
        results[impl] = (proc.returncode, proc.stdout.decode(), proc.stderr.decode())
    return results


def assert_same(results):
    """The C sv's answer and ours, the same but for elapsed seconds: the two run one after
    the other and may straddle a second boundary (``(pid N) 0s`` against ``1s``)."""
    c_code, c_out, c_err = results["c"]
    ours_code, ours_out, ours_err = results["ours"]
    assert (ours_code, normalise(ours_out), normalise(ours_err)) == (
        c_code, normalise(c_out), normalise(c_err))


def test_down_and_check_warnings_go_to_stderr(tree, processes):
    """§3.3 "stdout except usage, fatal: and down/check stat warnings, which go to stderr":
    ``./down`` a symlink loop (stat fails with ELOOP) cuts the status line short."""
    service = make_service(tree, "svc", run=SH + "exec sleep 1000\n")
    start(processes, service)
    os.symlink("down", str(service / "down"))
    results = both(tree, "status", "svc")
    assert_same(results)
    assert results["c"] == (0, "\n", "warning: unable to stat svc/down: symbolic link loop\n")
    results = both(tree, "-v", "hup", "svc")
    assert_same(results)
    assert results["c"] == (0, "ok: \n", "warning: unable to stat svc/down: symbolic link loop\n")


def test_check_that_cannot_run_passes_and_gets_svs_environment(tree, processes):
    """§3.2 ./check: no exec-bit test; an exec failure warns and counts as available. A check
    that runs gets sv's environment as exec'd (no LC_CTYPE from our interpreter, PEP 538),
    the service directory as cwd, stdout closed."""
    service = make_service(tree, "svc", run=SH + "exec sleep 1000\n",
                           check=SH + 'env | grep -v "^PWD=" | sort >"check.$$"; pwd >>"check.$$"'
                                      '; echo x 2>/dev/null || echo stdout-closed >>"check.$$"\n')
    start(processes, service)
    results = both(tree, "-w", "2", "check", "svc")
    assert_same(results)
    assert results["c"][:2] == (0, "ok: run: svc: (pid %d) " % status_record(service).pid
                                + results["c"][1].split(") ", 1)[1])
    reports = sorted(p.read_text() for p in service.glob("check.*"))
    assert len(reports) == 2 and reports[0] == reports[1], reports
    assert reports[0] == "PATH=%s\nSVDIR=%s\n%s\nstdout-closed\n" % (BASE_PATH, tree, service)
    (service / "check").chmod(0o644)
    results = both(tree, "-w", "2", "check", "svc")
    assert_same(results)
    assert (results["c"][0], normalise(results["c"][1]), results["c"][2]) == (
        0, "ok: run: svc: (pid N) Ns\n", "warning: unable to run svc/check: access denied\n")
