"""``make demo`` end to end: the main job on the bundled example, under 15 s, every step shown
(apply, status, logs, plan with a change and a restart, the restart, a no-op), and no process
left behind."""

import os
import re
import subprocess
import sys
import time

import pytest

from ..conftest import ROOT
from ..runtime.processes import end_processes_under, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def nothing_outlives_the_test(tmp_path):
    """Every sandbox is under TMPDIR, the test's directory: whatever failed (a demo killed by
    the timeout, a kept one whose message did not match), nothing of it may run on."""
    yield
    end_processes_under(tmp_path)


def leftovers(sandbox):
    """Live processes whose cwd is (or was) in the sandbox."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink("/proc/%s/cwd" % entry)
        except OSError:
            continue
        if cwd.startswith(sandbox):
            found.append(int(entry))
    return found


def test_the_demo_runs_the_main_job_and_leaves_nothing(tmp_path):
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "runit_provision.cli.main", "demo"],
                          cwd=str(ROOT), capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, TMPDIR=str(tmp_path)))
    elapsed = time.monotonic() - started
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert elapsed < 15, elapsed
    sandbox = re.search(r"copied into the sandbox (\S+)\)", out).group(1)
    assert sandbox.startswith(str(tmp_path))
    for expected in ("── 1. runit-provision apply", "… wait for reporter, setup, ticker, web",
                     "Applied: ", "── 2. runit-provision status",
                     "── 3. runit-provision logs -n 10", "hello from the ticker #", "web answered 200",
                     "in your own tree", "↻ ticker: restart (env changed)", "(plan exited 2)",
                     "Applied: 1 changed, 1 restarted.", "Nothing to do.",
                     "hello again, after an edit #1",
                     "runsvdir took the whole tree down; no process left"):
        assert expected in out, expected
    status = out[out.index("── 2."):out.index("── 3.")]
    for name in ("ticker", "web", "reporter", "runsvdir-"):
        assert re.search(r"^%s\S*\s+run\s+\d+" % name, status, re.M), status
    assert re.search(r"^setup\s+down\s", status, re.M), status
    assert leftovers(sandbox) == [] and not os.path.exists(sandbox)


def test_keep_leaves_it_running_and_says_how_to_stop_it(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "runit_provision.cli.main", "demo", "--keep"],
                          cwd=str(ROOT), capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, TMPDIR=str(tmp_path)))
    match = re.search(r"^  kill -TERM (\d+); rm -rf (\S+)$", proc.stdout, re.M)
    assert proc.returncode == 0 and match, proc.stdout + proc.stderr
    pid, sandbox = int(match.group(1)), match.group(2)
    assert leftovers(sandbox), "nothing runs in the kept sandbox"
    os.kill(pid, 15)  # what the demo says to do
    wait_until(lambda: leftovers(sandbox) == [], timeout=15, what="the tree down")


def test_the_example_ships_in_the_wheel(tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(ROOT)], check=True, timeout=300, cwd=str(tmp_path))
    shipped = sorted(str(path.relative_to(target / "runit_provision" / "demo"))
                     for path in (target / "runit_provision" / "demo").rglob("*")
                     if path.is_file())
    ours = sorted(str(path.relative_to(ROOT / "runit_provision" / "demo"))
                  for path in (ROOT / "runit_provision" / "demo").rglob("*") if path.is_file())
    assert shipped == ours and "hiera.yaml" in shipped
