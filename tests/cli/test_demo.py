"""``make demo`` end to end: the main job on the bundled example, under 15 s, every step shown
(apply, status, logs, plan with a change and a restart, the restart, a no-op), and no process
left behind; ``--keep``'s commands run as printed, and ``--stop DIR`` ends what it kept. (A
stop at any step: test_demo_stops.py.)"""

import os
import re
import subprocess
import sys
import time

import pytest

from runit_provision.cli.main import main

from ..conftest import ROOT
from ..runtime.processes import end_processes_under, kill_pids, stat_fields

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def nothing_outlives_the_test(tmp_path):
    """Every sandbox is under TMPDIR, the test's directory: whatever failed (a demo killed by
    the timeout, a kept one whose message did not match), nothing of it may run on."""
    yield
    end_processes_under(tmp_path)
    kill_pids(leftovers(str(tmp_path)))  # a user's runsvdir works in /: found by its argv


def leftovers(sandbox):
    """Live processes whose cwd is (or was) in the sandbox, or that name it on their command
    line (a user's runsvdir works in /)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or stat_fields(int(entry)) is None:
            continue
        try:
            cwd = os.readlink("/proc/%s/cwd" % entry)
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                argv = handle.read().decode("utf-8", "replace")
        except OSError:
            continue
        if cwd.startswith(sandbox) or sandbox in argv:
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
    edit = out[out.index("── 4."):out.index("── 5.")]
    assert "GREETING" in edit and "hello" not in edit, edit  # masked, the heading too
    status = out[out.index("── 2."):out.index("── 3.")]
    for name in ("ticker", "web", "reporter", "runsvdir-"):
        assert re.search(r"^%s\S*\s+run\s+\d+" % name, status, re.M), status
    assert re.search(r"^setup\s+done\s", status, re.M), status
    assert leftovers(sandbox) == [] and not os.path.exists(sandbox)


def test_keep_prints_commands_that_ask_it_and_stop_it_and_each_runs_as_printed(tmp_path):
    """Issue 44, item 11: ``--keep`` ends with the exact commands — the data and facts the
    demo used, our tools on PATH when the shell's would not find them — and each is run here
    in a shell, as printed: status and logs answer, verify passes (the one-shot is done:
    issue 46), and ``demo --stop DIR`` leaves nothing running and no sandbox."""
    proc = subprocess.run([sys.executable, "-m", "runit_provision.cli.main", "demo", "--keep"],
                          cwd=str(ROOT), capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, TMPDIR=str(tmp_path)))
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    sandbox = re.search(r"copied into the sandbox (\S+)\)", out).group(1)
    pid = int(re.search(r"^Left running: runsvdir \(ours, pid (\d+)\) serves %s/etc/service\.$"
                        % re.escape(sandbox), out, re.M).group(1))
    ask = out[out.index("Ask it — these lines, as they are, in a shell:\n"):].splitlines()[1:]
    lines = [line[2:] for line in ask[:ask.index("Stop it — the whole tree, then the sandbox "
                                                "removed:")]]
    stop = ask[ask.index("Stop it — the whole tree, then the sandbox removed:") + 1][2:]
    exports = [line for line in lines if line.startswith("export PATH=")]
    commands = [line for line in lines if line not in exports]
    assert [command.split()[:2] for command in commands] == [
        ["runit-provision", "status"], ["runit-provision", "logs"], ["runit-provision", "verify"]]
    assert stop == "runit-provision demo --stop %s" % sandbox
    hiera = "--hiera %s/hiera/hiera.yaml --facts %s/facts.yaml" % (sandbox, sandbox)
    assert all(hiera in command for command in commands), commands
    assert leftovers(sandbox), "nothing runs in the kept sandbox"

    def shell(line):  # a shell of the user's: their PATH, anywhere but the repository
        return subprocess.run(["sh", "-c", "\n".join(exports + [line])], cwd=str(tmp_path),
                              capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, TMPDIR="/tmp"))

    status, logs, verify = (shell(command) for command in commands)
    assert status.returncode == 0, status.stdout + status.stderr
    for name in ("ticker", "web", "reporter", "runsvdir-"):
        assert re.search(r"^%s\S*\s+run\s+\d+" % name, status.stdout, re.M), status.stdout
    assert logs.returncode == 0 and "ticker: hello again, after an edit #" in logs.stdout, \
        logs.stdout + logs.stderr
    assert verify.returncode == 0, verify.stdout + verify.stderr  # setup is a one-shot, done
    assert re.search(r"= \d+ passed in ", verify.stdout), verify.stdout
    stopped = shell(stop)
    assert (stopped.returncode, stopped.stdout, stopped.stderr) == (
        0, "runsvdir took the whole tree down; no process left\nremoved %s\n" % sandbox, "")
    assert not os.path.exists(sandbox)
    assert leftovers(sandbox) == [] and processes_of_session(pid) == []


def test_stop_refuses_a_directory_the_demo_did_not_leave(tmp_path, capsys):
    (tmp_path / "notes").write_text("mine\n")
    assert main(["demo", "--stop", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", (
        "runit-provision demo: %s is not a sandbox runit-provision demo --keep left (a "
        "runit-provision-demo.* directory of yours with its runsvdir.pid): nothing done\n"
        % tmp_path))
    assert (tmp_path / "notes").read_text() == "mine\n"


def processes_of_session(session):
    """Live processes of the session ``session`` (the kept runsvdir's: all its tree)."""
    return [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
            if (stat_fields(pid) or [0, 0, 0, -1])[3] == str(session)]


def test_the_example_ships_in_the_wheel(tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(ROOT)], check=True, timeout=300, cwd=str(tmp_path))
    shipped, ours = (sorted(str(path.relative_to(site / "runit_provision" / "demo"))
                            for path in (site / "runit_provision" / "demo").rglob("*")
                            if path.is_file() and "__pycache__" not in path.parts)
                     for site in (target, ROOT))  # the room's code compiled or not
    assert shipped == ours and "hiera.yaml" in shipped and "sandbox.py" in shipped
