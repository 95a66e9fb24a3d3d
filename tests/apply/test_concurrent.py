"""Two applies at once never interleave: both started together on the same data, one converges
the tree and the other, having waited for the lock, finds nothing to do (a refusal after
--lock-timeout is tests/cli/test_apply.py's). Real processes (the installed runit-provision)."""

import subprocess

import pytest

from ..conftest import our_tool

pytestmark = pytest.mark.slow

DATA = "runit::init: none\nrunit::services:\n%s" % "".join(
    "  s%03d: {command: /usr/bin/s%03d, env: {N: '%d'}}\n" % (index, index, index)
    for index in range(150))


def test_two_applies_at_once(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    data = tmp_path / "data.yaml"
    data.write_text(DATA)
    argv = [our_tool("runit-provision"), "apply", "--data", str(data), "--root", str(root)]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True) for _ in range(2)]
    outs = []
    for proc in procs:
        try:
            outs.append(proc.communicate(timeout=60)[0].decode())
        finally:
            if proc.poll() is None:
                proc.kill()
    assert [proc.returncode for proc in procs] == [0, 0], outs
    # one did the work, whole; the other waited and found it done
    assert sorted(out.splitlines()[-1] for out in outs) == [
        "Applied: %d created." % (150 * 9 + 4), "Nothing to do."], outs
    plan = subprocess.run(argv[:2] + ["--check"] + argv[2:], capture_output=True, text=True,
                          timeout=60)
    assert plan.returncode == 0, plan.stdout + plan.stderr
