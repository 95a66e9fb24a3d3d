"""Nothing in a home can crash an apply (issue 30: N2, N4, N8; docs/security.md): what apprun1
plants in its own home costs root's ``runit-provision apply`` a bounded look, and at worst
refuses apprun1 alone — exit 1, one line — while root's ``rootsvc`` and apprun2 converge,
restarts included, in this apply and the next.

Each row as a real unprivileged user (uid 61001, in the private mount namespace of
``sandbox.py``) against a host applied by the real ``runit-provision apply``. Every wait has a
deadline; the sandbox ends every process it started.
"""

import os
import re
import shlex
import subprocess
import sys

import pytest
import yaml

from runit_provision.apply.fsroot import MAX_DEPTH
from runit_provision.host.fsread import MAX_ENTRIES

from ..conftest import OUR_BIN
from ..runtime.processes import running_pid, wait_until
from .test_users import _text

pytestmark = pytest.mark.slow

# Run as the user by their own interpreter (the sandbox makes this one reachable): a
# directory DEPTH levels deep below DIR, each made relative to the one above — the whole path
# is longer than a path may be, as no shell loop of mkdir could make it in time.
PLANT_DEPTH = """
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for _ in range(int(sys.argv[2])):
    os.mkdir("d", dir_fd=fd)
    below = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = below
"""
# COUNT empty files in DIR.
PLANT_FILES = """
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for index in range(int(sys.argv[2])):
    os.close(os.open("f%d" % index, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
"""


def plant(sandbox, code, *args, timeout=120):
    """``code`` run by apprun1's Python in its home, with ``args``."""
    sandbox.as_user("apprun1", "%s -c %s %s" % (sys.executable, shlex.quote(code),
                                                " ".join(shlex.quote(str(a)) for a in args)),
                    timeout=timeout)


def everyone_greets(sandbox, greeting):
    for services in [sandbox.services] + list(sandbox.user_services.values()):
        for declared in services.values():
            if "command" in declared:
                declared["env"] = {"GREETING": greeting}


def others(sandbox):
    """Root's service and apprun2's, each with its log."""
    return [("rootsvc", sandbox.sv_dir / "rootsvc", sandbox.path("var/log/rootsvc/current")),
            ("web2", sandbox.home("apprun2") / "sv" / "web2",
             sandbox.home("apprun2") / "logs" / "web2" / "current")]


def assert_others_greet(sandbox, greeting):
    """rootsvc and web2 restarted into their new environment: they say ``greeting``."""
    for name, path, log in others(sandbox):
        wait_until(lambda log=log: re.search(r"secret-\w+ %s$" % greeting, _text(log), re.M),
                   timeout=20, what="%s's new environment (%s)" % (name, greeting))
        assert running_pid(path)


# Runs ARGV... and writes "EXIT SECONDS MAXRSS_KIB" to FILE (and exits as it did): the
# command's own peak RSS, as the kernel kept it. Forked from this small interpreter, not from
# the test's: a child's peak counts what it shared with its parent before its exec (a test
# that has listed 200 000 names is tens of megabytes).
MEASURE = """
import os, sys, time
started = time.monotonic()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as out:
    out.write("%d %.3f %d" % (code, time.monotonic() - started, usage.ru_maxrss))
sys.exit(code if code >= 0 else 128 - code)
"""


def apply_measured(sandbox):
    """``runit-provision apply`` (lines, not JSON) as root in the namespace: its exit code,
    stdout, stderr, seconds and peak RSS in KiB."""
    data = sandbox.base / "data.yaml"
    data.write_text(yaml.safe_dump(sandbox.data()))
    measured = sandbox.base / "apply.measured"
    done = sandbox.ns.run([sys.executable, "-c", MEASURE, measured,
                           OUR_BIN / "runit-provision", "apply", "--data", data, "--wait", "30"],
                          env=sandbox.environ(), timeout=120)
    code, seconds, rss_kb = measured.read_text().split()
    assert int(code) == done.returncode, done.stderr
    return int(code), done.stdout, done.stderr, float(seconds), int(rss_kb)


# -- N2: a planted depth where apply removes a tree -------------------------------------------
@pytest.mark.parametrize("impl", ["ours"])  # the applier's walk: the runtime plays no part
@pytest.mark.parametrize("retire,depth", [("absent", 5000), ("log-false", 1500)])
def test_n2_a_planted_depth_refuses_apprun1_alone_in_this_apply_and_the_next(sandbox, retire,
                                                                              depth):
    """apprun1 plants ``depth`` levels under ``~/sv/web1`` (``log/`` for ``log: false``);
    the admin retires web1 (``ensure: absent``) or drops its logger, and everyone's service
    gets a new environment. Was: an uncaught RecursionError, a traceback, exit 1, for every
    apply until apprun1 deleted it — no restart of anyone's."""
    sandbox.up()
    web1 = sandbox.home("apprun1") / "sv" / "web1"
    removed = web1 if retire == "absent" else web1 / "log"
    deep = removed / "deep"
    plant(sandbox, "import os, sys; os.mkdir(sys.argv[1])", deep)
    try:
        plant(sandbox, PLANT_DEPTH, deep, depth)
        if retire == "absent":
            sandbox.user_services["apprun1"]["web1"] = {"ensure": "absent"}
        else:
            sandbox.user_services["apprun1"]["web1"]["log"] = False
        refusal = ("cannot remove %s: more than %d directories deep (the deepest tree the "
                   "applier removes); the rest is left" % (removed, MAX_DEPTH))
        for greeting in ("two", "three"):  # this apply, and the next
            everyone_greets(sandbox, greeting)
            report = sandbox.apply(check=False)
            assert report["exit"] == 1 and report["refusals"] == {"apprun1": refusal}, report
            assert "failed_step" not in report  # nothing of the system's failed
            assert_others_greet(sandbox, greeting)
        assert (deep / "d").is_dir()  # apprun1's to remove
        sandbox.as_user("apprun1", "rm -rf %s" % shlex.quote(str(deep)))
    finally:  # the sandbox's own clean-up recurses (shutil.rmtree): GNU rm does not
        subprocess.run(["rm", "-rf", str(deep)], check=True)
    report = sandbox.apply()  # exit 0: converged, apprun1 too
    assert report["refusals"] == {}
    if retire == "absent":
        assert not os.path.lexists(str(web1))
    else:
        assert not os.path.lexists(str(removed))
        wait_until(lambda: running_pid(web1), timeout=20, what="web1 served again, unlogged")


# -- N4: a crowd of files where apply lists ---------------------------------------------------
@pytest.mark.parametrize("impl", ["ours"])  # the applier's cost: the runtime plays no part
# 2× the bound, not the 200 000: past the bound the cost no longer depends on the
# count (200 000 measured once: 0.2 s, 27 MB, was 7.6 s, 274 MB), and making the files is
# most of the test's time on a loaded machine
@pytest.mark.parametrize("where,count", [("env", 2 * MAX_ENTRIES),
                                         ("control", MAX_ENTRIES + 1)])
def test_n4_a_crowded_directory_refuses_apprun1_in_one_line_at_a_bounded_cost(sandbox, where,
                                                                               count):
    """Thousands of empty files in ``~/sv/web1/env/`` (or ``control/``), where apply purges what
    the data does not declare: one line of refusal whatever the count past the bound, the
    directory read no further. Its peak RSS and time are bounded here, in the slow tier: they
    are the N4 property (a user's directory cannot make root's apply grow with it), with a
    margin far from what a removal planned per name would take."""
    sandbox.up()
    crowded = sandbox.home("apprun1") / "sv" / "web1" / where
    sandbox.as_user("apprun1", "mkdir -p %s" % crowded)
    plant(sandbox, PLANT_FILES, crowded, count)
    everyone_greets(sandbox, "two")
    code, out, err, seconds, rss_kb = apply_measured(sandbox)
    print("N4 %s: %d files: exit %d, %.2f s, %d KiB peak RSS, %d lines out"
          % (where, count, code, seconds, rss_kb, out.count("\n") + err.count("\n")))
    refusal = ("apprun1: refused: %s holds more than %d entries: not read further (the most the "
               "applier reads of a directory of a user's)" % (crowded, MAX_ENTRIES))
    assert code == 1 and "Traceback" not in err, err
    assert err.splitlines() == ["runit-provision: " + refusal]
    assert [line for line in out.splitlines() if str(crowded) in line] == ["! " + refusal]
    assert out.count("\n") < 30
    assert rss_kb < 64 * 1024 and seconds < 10, (rss_kb, seconds)
    assert_others_greet(sandbox, "two")
    planted = [name for name in os.listdir(str(crowded)) if re.fullmatch(r"f\d+", name)]
    assert len(planted) == count  # nothing of apprun1's touched


# -- N8: a temp file an interrupted apply left ------------------------------------------------
@pytest.mark.parametrize("impl", ["ours"])  # the applier's temp files: no runtime's part
def test_n8_a_temp_file_left_by_an_interrupted_apply_is_taken_over_and_restarts_follow(sandbox):
    """An apply stopped between writing ``env/GREETING``'s temp file and renaming it (in root's
    part and in apprun2's). Was: the next apply wrote through the temp, renamed it into place,
    then failed purging it — the whole apply failed, no restart."""
    sandbox.up()
    envs = [sandbox.sv_dir / "rootsvc" / "env", sandbox.home("apprun2") / "sv" / "web2" / "env"]
    for env in envs:
        (env / ".GREETING.runit-provision.tmp").write_text("two\n")  # as it was written
    everyone_greets(sandbox, "two")
    report = sandbox.apply()  # exit 0
    assert sorted(item["service"] for item in report["restarts"]) == [
        "apprun1/web1", "apprun2/web2", "rootsvc"]
    assert_others_greet(sandbox, "two")
    for env in envs:
        assert os.listdir(str(env)) == ["GREETING"]
    assert sandbox.apply()["changed"] is False
