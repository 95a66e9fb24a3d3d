"""A user's sv must be runnable by that user (issue 33): ``plan`` and ``apply`` refuse that user,
before writing anything of theirs, when the sv that drives their services is one they cannot
execute — naming the path and the fix — on their first apply as on any later one (issue 44:
the check looked at restarts alone, and a first apply wrote the whole tree), while everyone
else converges.

``runnable.why_not_runnable`` is checked against the kernel itself: each layout of modes is
judged by it and then executed by the real unprivileged user apprun1 in the namespace
(``sandbox.py``), and the two must agree. Then the whole case: the CLI run from a virtualenv
in a directory only root can pass (as ``make``'s under /root, or pyenv's), a change to a user's
service — ``plan`` and ``apply`` exit 1 with the path and the fix, and the user's file is
unchanged; once the directory is passable, the same apply restarts the service. And the first
apply of a host, from a directory apprun2 may pass and apprun1 may not: apprun1 is refused
with nothing of theirs written (not even ``runsvdir-apprun1``), root's and apprun2's trees
run; once it is passable, apprun1's tree is made and runs.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from runit_provision.apply.runnable import why_not_runnable

from ..conftest import OUR_BIN
from ..runtime.processes import running_pid, wait_until
from .sandbox import USERS

pytestmark = pytest.mark.slow

UID = USERS["apprun1"]
SCRIPT = "#!/bin/sh\nexit 0\n"
# execve(2) as the user, as apply's runner does (subprocess: no shell fallback — setpriv's
# execvp would run a script whose interpreter it may not reach with /bin/sh instead).
EXECVE = ("import os, sys\ntry:\n    os.execv(sys.argv[1], sys.argv[1:])\n"
          "except OSError as exc:\n    sys.exit('%s: %s' % (sys.argv[1], exc.strerror))\n")


def _file(path, content, mode, owner=(0, 0)):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    os.chown(str(path), *owner)
    path.chmod(mode)
    return path


def _layouts(base):
    """name -> the program to run; each a case of path_resolution(7)."""
    with open("/bin/true", "rb") as handle:
        binary = handle.read()
    closed = base / "closed"
    closed.mkdir(mode=0o700)
    open_dir = base / "open"
    open_dir.mkdir(mode=0o755)
    (closed / "sh").symlink_to("/bin/sh")
    found = {
        "script 0755": _file(open_dir / "ok.sh", SCRIPT, 0o755),
        "binary 0711": _file(open_dir / "true", binary, 0o711),
        "script 0711 (not readable)": _file(open_dir / "noread.sh", SCRIPT, 0o711),
        "file 0700 of root": _file(open_dir / "private.sh", SCRIPT, 0o700),
        "in a closed directory": _file(closed / "hidden.sh", SCRIPT, 0o755),
        "interpreter in a closed directory": _file(
            open_dir / "via-closed.sh", "#!%s\nexit 0\n" % (closed / "sh"), 0o755),
        "group's 0750": _file(open_dir / "group.sh", SCRIPT, 0o750, owner=(0, UID)),
        "owner's 0700": _file(open_dir / "own.sh", SCRIPT, 0o700, owner=(UID, UID)),
        "others' bits only, owner's none": _file(open_dir / "odd.sh", SCRIPT, 0o007,
                                                 owner=(UID, UID)),
    }
    link = open_dir / "link-to-closed"
    link.symlink_to(closed / "hidden.sh")
    found["link into a closed directory"] = link
    return found


@pytest.fixture
def open_tmp():
    """A temp directory every user can reach (pytest's own is root's 0700, and the namespace
    made passable only what existed when it was set up)."""
    found = Path(tempfile.mkdtemp(prefix="rp-runnable-"))
    found.chmod(0o755)
    yield found
    shutil.rmtree(str(found), ignore_errors=True)


def test_the_rule_agrees_with_the_kernel(namespace, open_tmp):
    base = open_tmp
    layouts = _layouts(base)
    verdicts = {}
    for name, program in layouts.items():
        judged = why_not_runnable([str(program)], UID, UID)
        done = namespace.run(["/usr/bin/python3", "-c", EXECVE, program], user="apprun1")
        verdicts[name] = (judged is None, done.returncode == 0)
        assert (judged is None) == (done.returncode == 0), (name, judged, done.returncode,
                                                             done.stderr)
    # Both kinds are among them (a rule that refused, or allowed, everything would fail here).
    assert {judged for judged, _ in verdicts.values()} == {True, False}
    path, why = why_not_runnable([str(layouts["in a closed directory"])], UID, UID)
    assert path == str(base / "closed") and "not searchable by uid %d" % UID in why
    assert "drwx------ 0:0" in why


def _closed_venv(base):
    """A virtualenv in a directory only root can pass: its python, and its sv beside it."""
    closed = base / "root-only"
    (closed / "bin").mkdir(parents=True)
    venv = OUR_BIN.parent
    shutil.copy(str(venv / "pyvenv.cfg"), str(closed / "pyvenv.cfg"))
    (closed / "lib").symlink_to(venv / "lib")
    python = closed / "bin" / "python"
    python.symlink_to(os.path.realpath(str(venv / "bin" / "python")))
    sv = (OUR_BIN / "sv").read_text().split("\n", 1)[1]
    _file(closed / "bin" / "sv", "#!%s\n%s" % (python, sv), 0o755)
    closed.chmod(0o700)
    return closed, python


def _cli(sandbox, python, verb, names=(), options=()):
    data = sandbox.base / "data.yaml"
    import yaml
    data.write_text(yaml.safe_dump(sandbox.data()))
    options = (["--wait", "30"] if verb in ("plan", "apply") else []) + list(options)
    return sandbox.ns.run(
        [python, "-c", "import sys; from runit_provision.cli.main import main; sys.exit(main())",
         verb, "--data", data] + options + list(names),
        env=sandbox.environ(), timeout=120)


@pytest.mark.parametrize("impl", ["ours"])
def test_plan_and_apply_refuse_an_sv_the_user_cannot_run(sandbox):
    sandbox.up()
    closed, python = _closed_venv(sandbox.base)
    web1 = sandbox.home("apprun1") / "sv" / "web1"
    before = running_pid(web1)
    sandbox.user_services["apprun1"]["web1"]["env"]["GREETING"] = "two"

    for verb in ("plan", "apply"):
        done = _cli(sandbox, python, verb)
        assert done.returncode == 1, (verb, done.stdout, done.stderr)
        said = done.stdout + done.stderr
        assert "apprun1: refused: user apprun1 cannot run %s" % (closed / "bin" / "sv") \
            in said, said
        assert "%s: not searchable by uid %d" % (closed, UID) in said, said
        assert "none of apprun1's steps is done" in said and "install-runtime" in said, said
    # Nothing written: the user's env file is the old one, and web1 was not restarted.
    assert (web1 / "env" / "GREETING").read_text() == "one\n"
    assert running_pid(web1) == before
    # runit-provision restart of the user's service says the same, before sv is started
    done = _cli(sandbox, python, "restart", ["apprun1/web1"])
    assert done.returncode == 1, done.stdout + done.stderr
    assert "apprun1/web1: the user cannot run %s (%s: not searchable" % (
        closed / "bin" / "sv", closed) in done.stderr, done.stderr
    assert "Permission denied" not in done.stdout + done.stderr
    assert running_pid(web1) == before

    closed.chmod(0o711)  # the fix the message names: every user may pass it
    done = _cli(sandbox, python, "apply")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (web1 / "env" / "GREETING").read_text() == "two\n"
    wait_until(lambda: running_pid(web1) not in (None, before), timeout=30,
               what="web1 restarted by apprun1's sv")


@pytest.mark.parametrize("impl", ["ours"])
def test_a_first_apply_refuses_a_user_who_cannot_run_sv_before_writing_theirs(sandbox):
    """Issue 44: the first apply of a host, the CLI in a directory apprun2's group may pass
    and apprun1 may not. apprun1 is refused — plan and apply, exit 1, the path and the fix —
    with nothing of theirs written; root's service and apprun2's tree converge and run."""
    sandbox.start_tree()
    closed, python = _closed_venv(sandbox.base)
    os.chown(str(closed), 0, USERS["apprun2"])
    closed.chmod(0o710)  # apprun2's group passes it; apprun1 is one of the others
    sv = closed / "bin" / "sv"
    home = sandbox.home("apprun1")

    done = _cli(sandbox, python, "plan")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "runit-provision plan: apprun1: refused: user apprun1 cannot run %s (%s: not " \
           "searchable by uid %d (drwx--x--- 0:%d))" % (sv, closed, UID, USERS["apprun2"]) \
           in done.stderr, done.stderr
    assert "apprun2: refused" not in done.stderr
    assert str(home) not in done.stdout  # nothing of apprun1's in the plan
    assert "%s/sv/web2/run" % sandbox.home("apprun2") in done.stdout

    done = _cli(sandbox, python, "apply", options=["--json"])
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert sorted(report["refusals"]) == ["apprun1"], report["refusals"]
    assert "none of apprun1's steps is done. Fix: " in report["refusals"]["apprun1"]
    assert not [item for item in report["actions"]
                if str(home) in (item.get("path") or "") or "runsvdir-apprun1" in str(item)]
    # nothing of apprun1's was written: not their home's tree, nor runsvdir-apprun1
    assert os.listdir(str(home)) == []
    assert not os.path.lexists(str(sandbox.sv_dir / "runsvdir-apprun1"))
    assert not os.path.lexists(str(sandbox.service_dir / "runsvdir-apprun1"))
    # root's and apprun2's converged, and run
    for side in (sandbox.sv_dir / "rootsvc", sandbox.home("apprun2") / "sv" / "web2"):
        wait_until(lambda side=side: running_pid(side), timeout=30, what="%s running" % side)

    closed.chmod(0o711)  # the fix the message names: every user may pass it
    done = _cli(sandbox, python, "apply")
    assert done.returncode == 0, done.stdout + done.stderr
    wait_until(lambda: running_pid(home / "sv" / "web1"), timeout=30,
               what="apprun1's web1 running")


def test_install_runtime_launchers_are_every_users(namespace, open_tmp):
    """install-runtime's launchers, started by apprun1: ``sv`` answers (not Permission
    denied) — the prefix, the launchers and the interpreter they name are every user's; an
    interpreter only root can run (pyenv's under /root, the fallback when the image has no
    python3 of this release) is said in a note."""
    root = open_tmp / "image"
    root.mkdir(mode=0o755)
    install = [str(OUR_BIN / "runit-provision"), "install-runtime", "--root", str(root),
               "--init", "none"]
    done = subprocess.run(install + ["--python", "/usr/bin/python3"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    prefix = root / "usr" / "local" / "lib" / "runit-provision"
    sv = prefix / "bin" / "sv"
    assert why_not_runnable([str(sv)], UID, UID) is None
    # The launcher names /usr/local/lib/runit-provision/current (the image's, not this root):
    # run it with the image's prefix instead, as apprun1.
    text = sv.read_text().replace("/usr/local/lib/runit-provision", str(prefix))
    launcher = _file(open_tmp / "sv-launcher", text, 0o755)
    answered = namespace.run(["/usr/bin/python3", "-c", EXECVE, launcher, "status",
                              open_tmp / "nothing"], user="apprun1")
    said = answered.stdout + answered.stderr
    assert "Permission denied" not in said and "unable to change to" in said, said

    base_python = os.path.realpath(sys.executable)
    closed = why_not_runnable([base_python], 65534, 65534)
    again = subprocess.run(install, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    if closed is None:  # this interpreter is every user's: no note needed
        assert "only root can run" not in again.stdout + again.stderr
    else:
        assert "only root can run (%s is not searchable by others)" % closed[0] in (
            again.stdout + again.stderr)
