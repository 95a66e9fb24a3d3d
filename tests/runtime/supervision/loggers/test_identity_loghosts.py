"""Loggers of another identity: a tree run by root runs a ``chpst -u USER`` logger in a process
that has wholly become USER (``runtime/supervision/loggers/identityloghosts.py``), never in its own.

Real processes: our runsvdir as root, loggers as ``nobody`` and ``daemon``. Every wait has a
deadline; the ``tree`` fixture ends whatever a case leaves.
"""

import os
import pwd
import re
import signal
import subprocess
from pathlib import Path

import pytest

from ....conftest import our_tool
from ...processes import (
    BASE_PATH, SH, children_of, cmdline, identity_hosts_of, logger_host_of, make_service,
    proc_status, running_pid, stat_fields, status_record, wait_until)
from .test_hosted_log import COUNTER, log_text, logged_service, numbers, sv

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0, reason="a tree run by root")]


def account(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pytest.skip("no user %s" % name)


def as_user(user, logdir):
    os.chown(str(logdir), user.pw_uid, user.pw_gid)
    return SH + "exec chpst -u %s svlogd ./main\n" % user.pw_name


def logged_as(svdir, name, user, run=COUNTER):
    service = logged_service(svdir, name, run)
    service.joinpath("log", "run").write_text(as_user(user, service / "log" / "main"))
    return service


def log_pid(service):
    return wait_until(lambda: running_pid(service / "log"), what="%s/log running" % service)


def assert_logs_on_without_a_gap(service, more=10, killed=False):
    """The service's numbered lines go on being logged, every one once, in order — but for a
    logger ``killed`` (KILL to its host): the chunk it was writing at the kill may be written
    again by the next one, once (docs/runsvdir.md "Faults": it is consumed from the pipe only
    once written, svlog/peek.py), and nothing is lost."""
    logdir = service / "log" / "main"
    count = len(numbers(log_text(logdir)))
    wait_until(lambda: len(numbers(log_text(logdir))) > count + more, what="more lines")
    got = numbers(log_text(logdir))
    if killed:
        back = [at for at in range(1, len(got)) if got[at] <= got[at - 1]]
        assert len(back) <= 1, "more than one chunk written again: %s" % back
        if back:  # the chunk again, right after itself: got[at] .. got[at - 1] twice
            at = back[0]
            again = got[at - 1] - got[at] + 1
            assert got[at:at + again] == got[at - again:at], "not the chunk before it again"
            got = got[:at] + got[at + again:]
    assert got == list(range(1, len(got) + 1)), "a line lost or repeated"


def fd_targets(pid):
    fd_dir = "/proc/%d/fd" % pid
    targets = []
    for name in os.listdir(fd_dir):
        try:
            targets.append(os.readlink(os.path.join(fd_dir, name)))
        except OSError:
            pass
    return targets


def test_the_logger_runs_as_a_process_that_is_the_user(tree):
    nobody = account("nobody")
    svdir, start = tree
    web = logged_as(svdir, "web", nobody)
    other = make_service(svdir, "db", log_run=SH + "exec svlogd ./main\n")
    (other / "log" / "main").mkdir()
    runsvdir = start()
    host = log_pid(web)
    wait_until(lambda: numbers(log_text(web / "log" / "main"))[:3] == [1, 2, 3])
    assert host != runsvdir.pid and host in children_of(runsvdir.pid)
    assert cmdline(host) == ["svlogd", "(loggers of runsvdir %s as nobody)" % svdir]
    status = proc_status(host)
    assert status["Uid"] == [str(nobody.pw_uid)] * 4
    assert status["Gid"] == [str(nobody.pw_gid)] * 4
    assert status["Groups"] == [str(nobody.pw_gid)]
    assert int(status["CapEff"][0], 16) == 0 and int(status["CapPrm"][0], 16) == 0
    # The tree's descriptors stayed with the tree: the host holds its own logger's, no other
    # service's, and none of the FIFOs sv talks to.
    under_svdir = [target for target in fd_targets(host) if target.startswith(str(svdir))]
    assert under_svdir and all(target.startswith(str(web / "log")) for target in under_svdir)
    assert not any("/supervise/control" in t or "/supervise/ok" in t for t in under_svdir)
    assert children_of(host) == []  # no chpst, no svlogd: the engine runs in the host
    # The tree is still root, and the tree's own logger still runs in the tree.
    assert proc_status(runsvdir.pid)["Uid"] == ["0"] * 4
    assert log_pid(other) == logger_host_of(runsvdir.pid)
    for name in ("current", "lock"):
        info = (web / "log" / "main" / name).stat()
        assert (info.st_uid, info.st_gid) == (nobody.pw_uid, nobody.pw_gid), name


def test_the_user_cannot_read_the_hosts_memory_or_environment(tree):
    """The host is a copy of the tree's memory: it is not dumpable, so the user it runs as
    can signal it (as their svlogd) but not read it."""
    nobody = account("nobody")
    svdir, start = tree
    web = logged_as(svdir, "web", nobody)
    start(env={"PATH": os.environ["PATH"], "SECRET_TOKEN": "s3cr3t"})
    host = log_pid(web)
    # The pid is shown once the host is forked; it becomes the user a moment later.
    wait_until(lambda: proc_status(host)["Uid"] == [str(nobody.pw_uid)] * 4,
               what="the host running as nobody")
    probe = subprocess.run(
        ["setpriv", "--reuid=%d" % nobody.pw_uid, "--regid=%d" % nobody.pw_gid,
         "--clear-groups", "sh", "-c",
         "cat /proc/%d/environ; head -c1 /proc/%d/mem; ls /proc/%d/fd; kill -0 %d && echo "
         "signalled" % (host, host, host, host)],
        capture_output=True, text=True, timeout=30)
    assert "s3cr3t" not in probe.stdout
    assert probe.stdout.strip() == "signalled", probe
    assert probe.stderr.count("Permission denied") == 3, probe.stderr


def test_one_host_per_identity(tree):
    nobody, daemon = account("nobody"), account("daemon")
    svdir, start = tree
    services = [logged_as(svdir, "a1", nobody), logged_as(svdir, "a2", nobody),
                logged_as(svdir, "b1", daemon)]
    runsvdir = start()
    pids = [log_pid(service) for service in services]
    assert pids[0] == pids[1] != pids[2]
    # a host's pid is shown once it is forked; its name in ps comes a moment later
    wait_until(lambda: sorted(identity_hosts_of(runsvdir.pid)) == sorted(set(pids)),
               what="both identity hosts named in ps")
    assert proc_status(pids[2])["Uid"] == [str(daemon.pw_uid)] * 4


def test_sv_reaches_one_logger_and_a_killed_host_loses_no_line(tree):
    """``sv`` on one logger acts on that logger only; KILL of the host (the pid a user sees)
    restarts its loggers in a new host — nothing lost, only the chunk being written at the kill
    ever written twice (it once failed here under load for that documented repeat) — and
    touches neither a service nor the tree."""
    nobody = account("nobody")
    svdir, start = tree
    first, second = logged_as(svdir, "one", nobody), logged_as(svdir, "two", nobody)
    runsvdir = start()
    host = log_pid(first)
    services = wait_until(lambda: (lambda pids: all(pids) and pids)(
        [running_pid(first), running_pid(second)]), what="both services up")
    assert sv("alarm", str(first / "log"), svdir=svdir).returncode == 0
    wait_until(lambda: any(name.startswith("@") for name in os.listdir(str(first / "log" /
                                                                           "main"))),
               what="a rotation of the first logger")
    assert not any(name.startswith("@") for name in os.listdir(str(second / "log" / "main")))
    os.kill(host, signal.SIGKILL)
    wait_until(lambda: running_pid(first / "log") not in (0, host)
               and running_pid(second / "log") not in (0, host), what="both loggers again")
    for service in (first, second):
        assert_logs_on_without_a_gap(service, killed=True)
    assert [running_pid(first), running_pid(second)] == services
    assert runsvdir.poll() is None


def test_a_killed_tree_leaves_no_host_behind_and_the_next_loses_nothing(tree):
    nobody = account("nobody")
    svdir, start = tree
    web = logged_as(svdir, "web", nobody)
    runsvdir = start()
    host = log_pid(web)
    service = running_pid(web)
    wait_until(lambda: len(numbers(log_text(web / "log" / "main"))) > 5)
    os.kill(runsvdir.pid, signal.SIGKILL)
    runsvdir.wait()
    # gone or a zombie, read in one go (it may go between two looks)
    wait_until(lambda: stat_fields(host) is None, what="the host gone with the tree")
    again = start()
    wait_until(lambda: running_pid(web / "log") not in (0, host), what="a new host")
    assert_logs_on_without_a_gap(web)
    assert running_pid(web) == service  # adopted, never started twice
    assert again.poll() is None


def test_term_brings_the_tree_and_its_hosts_down(tree):
    nobody = account("nobody")
    svdir, start = tree
    web = logged_as(svdir, "web", nobody)
    runsvdir = start()
    host = log_pid(web)
    runsvdir.send_signal(signal.SIGTERM)
    assert runsvdir.wait(timeout=20) == 0
    assert not os.path.exists("/proc/%d" % host)
    assert status_record(web / "log").pid == 0


def test_processors_run_as_the_user_with_the_users_environment_and_descriptors(tree):
    """Nothing of root's reaches a processor: not the tree's environment (a token), not a
    descriptor the host was sent (another service's pipe, root's log/ directory)."""
    nobody = account("nobody")
    svdir, start = tree
    web = logged_as(svdir, "web", nobody, run=SH + "echo one\necho two\nexec sleep 1000\n")
    (web / "log" / "main" / "config").write_text(
        "!id -u >&2; env >&2; ls /proc/self/fd >&2; echo done >&2; cat\n")
    errors = web.parent.parent / "stderr"
    with open(str(errors), "wb") as handle:
        start(stderr=handle, env={"PATH": os.environ["PATH"], "SECRET_TOKEN": "s3cr3t"})
    wait_until(lambda: numbers_or_text(web / "log" / "main", "one"))
    assert sv("alarm", str(web / "log"), svdir=svdir).returncode == 0
    wait_until(lambda: "done" in errors.read_text(), what="the processor's report")
    report = errors.read_text()
    assert re.search(r"^%d$" % nobody.pw_uid, report, re.M)
    assert "s3cr3t" not in report and re.search(r"^USER=nobody$", report, re.M)
    fds = sorted(int(item) for item in re.findall(r"^(\d+)$", report, re.M)
                 if int(item) != nobody.pw_uid)
    assert fds == [0, 1, 2, 3, 4, 5]  # stdin, stdout, stderr, ls's own, state, newstate


def numbers_or_text(logdir, text):
    current = logdir / "current"
    return current.exists() and text in current.read_text()


def test_the_host_runs_where_the_user_cannot_read_the_installation(tree, tmp_path):
    """The runtime from a copy of the package the user cannot read (a virtualenv under /root,
    0700): the host imports what it needs before it becomes the user."""
    import shutil
    import sys
    nobody = account("nobody")
    hidden = tmp_path / "hidden"
    hidden.mkdir(mode=0o700)
    package = Path(__import__("runit_provision").__file__).parent
    shutil.copytree(str(package), str(hidden / "runit_provision"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    svdir, _start = tree
    web = logged_as(svdir, "web", nobody)
    program = ("import sys; sys.path.insert(0, %r); "
               "from runit_provision.runtime.runsvdir import main; "
               "sys.exit(main(['runsvdir', %r]))" % (str(hidden), str(svdir)))
    proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", program], start_new_session=True,
                            env={"PATH": os.environ["PATH"]}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: len(numbers(log_text(web / "log" / "main"))) > 3,
                   what="the logger running as nobody")
        assert proc_status(log_pid(web))["Uid"] == [str(nobody.pw_uid)] * 4
    finally:
        proc.terminate()
        proc.wait(20)
