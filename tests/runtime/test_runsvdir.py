"""runsvdir: a whole tree supervised by one Python process (docs/runit-protocol.md §2,
docs/runsvdir.md).

Real processes only. The C ``sv`` (when installed) and ours read the tree's services exactly
as they read services of separate runsv processes.
"""

import os
import resource
import shutil
import signal
import subprocess
import time

import pytest

from ..conftest import C_RUNIT, our_tool, require_c_runit, wants_c_runit
from ..skips import missing
from .processes import (
    BASE_PATH, SH, children_of, cmdline, is_runsv_up, make_service, normalise,
    process_group_members, running_pid, stat_fields, status_record, voluntary_switches,
    wait_until)

pytestmark = pytest.mark.slow

RUN = SH + "exec sleep 1000\n"


def sv_tools():
    tools = [our_tool("sv")]
    if wants_c_runit():
        tools.append(C_RUNIT["sv"])
    return tools


def test_scans_like_runit_and_sv_reads_every_service(tree):
    svdir, start = tree
    make_service(svdir, "plain", run=RUN)
    make_service(svdir, "logged", run=RUN, log_run=SH + "exec cat >/dev/null\n")
    make_service(svdir, ".hidden", run=RUN)
    (svdir / "afile").write_text("not a service\n")
    target = make_service(svdir.parent, "elsewhere", run=RUN)
    os.symlink(str(target), str(svdir / "linked"))
    runsvdir = start()
    for name in ("plain", "logged", "linked"):
        wait_until(lambda: running_pid(svdir / name), what="%s running" % name)
    assert not (svdir / ".hidden" / "supervise").exists()
    for sv in sv_tools():
        out = subprocess.run([sv, "status", "plain", "logged", "linked"], env={
            "SVDIR": str(svdir), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
        assert (out.returncode, normalise(out.stdout), out.stderr) == (0, (
            "run: plain: (pid N) Ns\n"
            "run: logged: (pid N) Ns; run: log: (pid N) Ns\n"
            "run: linked: (pid N) Ns\n"), ""), out
    # one process supervises them all: every service process is its child
    kids = set(children_of(runsvdir.pid))
    for name in ("plain", "logged", "linked"):
        assert running_pid(svdir / name) in kids
    assert "runsvdir" in " ".join(cmdline(runsvdir.pid))


def test_new_service_runs_within_a_second_and_rename_restarts_nothing(tree):
    svdir, start = tree
    start()
    wait_until(lambda: (svdir / ".").exists())
    time.sleep(0.2)  # let runsvdir reach its idle wait before the service appears
    staged = make_service(svdir.parent, "staged", run=RUN)
    linked_at = time.monotonic()
    os.rename(str(staged), str(svdir / "web"))
    pid = wait_until(lambda: running_pid(svdir / "web"), what="web running")
    assert time.monotonic() - linked_at < 1.0
    os.rename(str(svdir / "web"), str(svdir / "www"))
    time.sleep(0.3)  # a restart would show within this window
    assert running_pid(svdir / "www") == pid


def test_removed_directory_stops_its_service(tree):
    svdir, start = tree
    make_service(svdir, "a", run=RUN)
    make_service(svdir, "b", run=RUN)
    start()
    pid_a = wait_until(lambda: running_pid(svdir / "a"))
    pid_b = wait_until(lambda: running_pid(svdir / "b"))
    moved = svdir.parent / "a-removed"
    os.rename(str(svdir / "a"), str(moved))
    # gone or a zombie (stat_fields: None), read in one go: it may go between two looks
    wait_until(lambda: stat_fields(pid_a) is None, what="a's process gone")
    wait_until(lambda: not is_runsv_up(moved), what="a no longer supervised")
    assert running_pid(svdir / "b") == pid_b


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 0), (signal.SIGHUP, 111)])
def test_term_and_hup_bring_the_whole_tree_down(tree, signum, code):
    svdir, start = tree
    for name in ("a", "b"):
        make_service(svdir, name, run=RUN, finish=SH + "echo finished >>finish.out\n",
                     log_run=SH + "exec cat >>log.out\n")
    runsvdir = start()
    for name in ("a", "b"):
        wait_until(lambda: running_pid(svdir / name) and running_pid(svdir / name / "log"))
    runsvdir.send_signal(signum)
    assert runsvdir.wait(timeout=15) == code
    assert process_group_members(runsvdir.pid) == []
    for name in ("a", "b"):
        assert (svdir / name / "finish.out").read_text() == "finished\n"
        assert (svdir / name / "supervise" / "stat").read_text() == "down\n"


def test_orphans_are_reaped(tree):
    """A double-forking run leaves a grandchild; runsvdir (a subreaper) adopts it and reaps it
    when it exits: no zombie is left."""
    svdir, start = tree
    make_service(svdir, "forker",
                 run=SH + "sh -c 'sleep 2 & echo $! >orphan.pid'\nexec sleep 1000\n")
    runsvdir = start()
    wait_until(lambda: running_pid(svdir / "forker"))
    pidfile = svdir / "forker" / "orphan.pid"
    orphan = int(wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(),
                            what="the orphan's pid"))

    def parent():
        try:
            with open("/proc/%d/stat" % orphan) as handle:
                return int(handle.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            return None

    # its shell has exited: the `sleep 2` now belongs to the nearest subreaper, the tree
    wait_until(lambda: parent() == runsvdir.pid, what="the orphan adopted by runsvdir")
    # when it exits it must be reaped, not left as runsvdir's zombie (still in /proc)
    wait_until(lambda: not os.path.exists("/proc/%d" % orphan), timeout=6,
               what="the orphan reaped")


def test_idle_tree_does_not_wake(tree):
    svdir, start = tree
    for index in range(10):
        make_service(svdir, "s%d" % index, run=RUN, log_run=SH + "exec cat >/dev/null\n")
    runsvdir = start()
    for index in range(10):
        wait_until(lambda: running_pid(svdir / ("s%d" % index)))
    time.sleep(0.3)
    before = voluntary_switches(runsvdir.pid)
    time.sleep(2)  # the idle window being measured
    assert voluntary_switches(runsvdir.pid) - before == 0


@pytest.mark.parametrize("which", ["ours", "c"])
def test_sv_controls_a_service_in_the_tree(tree, which):
    if which == "c":
        require_c_runit()
        sv = C_RUNIT["sv"]
    else:
        sv = our_tool("sv")
    svdir, start = tree
    make_service(svdir, "web", run=RUN)
    start()
    pid = wait_until(lambda: running_pid(svdir / "web"))
    env = {"SVDIR": str(svdir), "PATH": "/usr/bin:/bin"}

    def run_sv(*args):
        return subprocess.run([sv] + list(args), env=env, capture_output=True, text=True)

    out = run_sv("-w", "5", "down", "web")
    assert (out.returncode, normalise(out.stdout)) == (0, "ok: down: web: Ns, normally up\n"), out
    out = run_sv("-w", "5", "up", "web")
    assert (out.returncode, normalise(out.stdout)) == (0, "ok: run: web: (pid N) Ns\n"), out
    assert running_pid(svdir / "web") not in (0, pid)
    # runit: `sv exit` of a service under runsvdir comes back at the next scan
    out = run_sv("exit", "web")
    assert out.returncode == 0, out
    wait_until(lambda: running_pid(svdir / "web"), timeout=5, what="web back after exit")


def test_one_broken_service_does_not_disturb_the_others(tree):
    svdir, start = tree
    make_service(svdir, "good", run=RUN)
    broken = make_service(svdir, "broken", run=RUN)
    (broken / "supervise").write_text("a file where a directory belongs\n")
    runsvdir = start()
    good = wait_until(lambda: running_pid(svdir / "good"))
    # the broken one is reported (as runsv would) and retried, the good one keeps running
    time.sleep(1.5)  # the window being observed: a retry every second
    assert running_pid(svdir / "good") == good
    assert runsvdir.poll() is None
    (broken / "supervise").unlink()
    wait_until(lambda: running_pid(broken), timeout=5, what="broken service once repaired")
    runsvdir.send_signal(signal.SIGTERM)
    out, _ = runsvdir.communicate(timeout=15)
    # reported once, not at every retry (runit's runsvdir would repeat it each second)
    assert out.count(b"runsv broken: fatal: unable to open supervise/lock: not a directory") == 1


# -- the log argument: runit's status area in argv ----------------------------------------------
LOG_AREA = "log: " + "." * 120


def area_of(pid):
    """The status area as ps shows it: the last argument of the command line."""
    args = cmdline(pid)
    return args[-1] if args else ""


def test_log_area_shows_the_trees_own_messages(tree, impl, which_tool):
    svdir, start = tree
    broken = make_service(svdir, "b", run=RUN)
    (broken / "run").chmod(0o644)  # not executable: runsv reports it, every second
    runsvdir = start("-P", log=LOG_AREA, runsvdir=which_tool(impl, "runsvdir"),
                     env={"PATH": "%s:%s" % (os.path.dirname(which_tool(impl, "runsv")),
                                             BASE_PATH)})
    message = "runsv b: fatal: unable to start ./run: access denied"
    area = wait_until(lambda: message in area_of(runsvdir.pid) and area_of(runsvdir.pid),
                      what="the exec failure in the area")
    assert area.startswith("log: ") and len(area) == len(LOG_AREA)
    assert cmdline(runsvdir.pid)[-3:-1] == ["-P", str(svdir)]  # the rest of argv untouched
    runsvdir.send_signal(signal.SIGHUP)
    assert runsvdir.wait(timeout=15) == 111


def test_service_output_stays_out_of_argv(tree, tmp_path):
    """void-linux/runit#14: what a service prints must not land where pkill -f looks."""
    svdir, start = tree
    make_service(svdir, "chatty", run=SH + "echo chatty-says-hello >&2\nexec sleep 1000\n")
    errors = tmp_path / "stderr"
    with open(str(errors), "wb") as handle:
        runsvdir = start(log=LOG_AREA, stderr=handle)
    wait_until(lambda: b"chatty-says-hello" in errors.read_bytes(),
               what="the service's stderr on runsvdir's original stderr")
    assert area_of(runsvdir.pid) == LOG_AREA


def test_short_log_argument_is_refused_as_runit_does(tree):
    svdir, start = tree
    make_service(svdir, "a", run=RUN)
    runsvdir = start(log="log: x")
    wait_until(lambda: running_pid(svdir / "a"))
    runsvdir.send_signal(signal.SIGTERM)
    out, _ = runsvdir.communicate(timeout=15)
    label = "runsvdir %s" % svdir
    assert out.decode().splitlines()[:2] == [
        "%s: warning: log must have at least seven characters." % label,
        "%s: warning: log service disabled." % label]


# -- scale ----------------------------------------------------------------------------------------
def limit_open_files(soft):
    def preexec():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, resource.getrlimit(
            resource.RLIMIT_NOFILE)[1]))
    return preexec


def test_a_tree_larger_than_the_fd_soft_limit_runs(tree):
    """100 logged services hold ~1200 descriptors: the tree raises its soft limit as needed."""
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 2048:
        pytest.skip("the hard RLIMIT_NOFILE is too low to show this")
    svdir, start = tree
    names = ["s%03d" % index for index in range(100)]
    for name in names:
        make_service(svdir, name, run=RUN, log_run=SH + "exec cat >/dev/null\n")
    runsvdir = start(preexec_fn=limit_open_files(256))
    wait_until(lambda: all(running_pid(svdir / name) and running_pid(svdir / name / "log")
                           for name in names), timeout=20, what="100 logged services running")
    assert runsvdir.poll() is None


def test_more_services_than_runits_ceiling(tree):
    """runit's runsvdir stops at 1000 (``too many services``); a tree has no such ceiling."""
    svdir, start = tree
    names = ["s%04d" % index for index in range(1001)]
    for name in names:
        make_service(svdir, name, run=RUN)
    start()
    wait_until(lambda: all((svdir / name / "supervise" / "stat").exists() and
                           (svdir / name / "supervise" / "stat").read_text() == "run\n"
                           for name in names), timeout=30, interval=0.2,
               what="1001 services running")
    for sv in sv_tools():
        out = subprocess.run([sv, "status"] + names, env={"SVDIR": str(svdir), "PATH": BASE_PATH},
                             capture_output=True, text=True, timeout=30)
        lines = out.stdout.splitlines()
        assert out.returncode == 0 and len(lines) == 1001, out.stderr
        assert all(line.startswith("run: s") for line in lines)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_noisy_neighbours_do_not_disturb_the_tree(tree):
    """A flood of output and a service crashing at once cost the tree nothing: the flood runs
    through the log pipe between two children, and the crasher's back-off is a timer."""
    svdir, start = tree
    make_service(svdir, "flood", run=SH + "exec yes flood\n", log_run=SH + "exec cat >/dev/null\n")
    make_service(svdir, "crasher", run=SH + "exit 1\n")
    make_service(svdir, "quiet", run=RUN)
    runsvdir = start(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: running_pid(svdir / "flood") and running_pid(svdir / "quiet"))
    before = cpu_seconds(runsvdir.pid)
    for _ in range(3):
        pid = running_pid(svdir / "quiet")
        out = subprocess.run([our_tool("sv"), "-w", "5", "restart", "quiet"],
                             env={"SVDIR": str(svdir), "PATH": BASE_PATH},
                             capture_output=True, text=True, timeout=30)
        assert (out.returncode, normalise(out.stdout)) == (0, "ok: run: quiet: (pid N) Ns\n"), out
        assert running_pid(svdir / "quiet") not in (0, pid)
    # three restarts and a few crasher respawns, while the flood ran: well under a CPU second
    assert cpu_seconds(runsvdir.pid) - before < 0.5


def test_without_inotify_the_tree_polls_like_runit(tree):
    """inotify denied (no instances allowed in a user namespace): a 5 s scan, as runit's."""
    unshare = shutil.which("unshare")
    if unshare is None:
        missing("unshare(1)", "apt-get install util-linux")
    svdir, start = tree
    make_service(svdir, "first", run=RUN)
    deny_inotify = ("echo 0 >/proc/sys/user/max_inotify_instances || exit 99; "
                    'exec "$@"')
    runsvdir = start(prefix=[unshare, "--user", "--map-root-user", "/bin/sh", "-c",
                             deny_inotify, "sh"])
    wait_until(lambda: running_pid(svdir / "first"), what="first running")
    os.rename(str(make_service(svdir.parent, "staged", run=RUN)), str(svdir / "second"))
    wait_until(lambda: running_pid(svdir / "second"), timeout=8, what="second found by polling")
    runsvdir.send_signal(signal.SIGTERM)
    out, _ = runsvdir.communicate(timeout=15)
    assert runsvdir.returncode == 0, out
    assert (b"runsvdir %s: warning: unable to initialize inotify instance, polling every 5 "
            b"seconds: " % bytes(svdir)) in out


@pytest.mark.parametrize("flag", ["-P", None])
def test_dash_p_gives_each_service_a_session_of_its_own(tree, flag):
    svdir, start = tree
    make_service(svdir, "web", run=RUN, log_run=SH + "exec cat >/dev/null\n")
    runsvdir = start(*([flag] if flag else []))
    pids = [wait_until(lambda: running_pid(svdir / "web")),
            wait_until(lambda: running_pid(svdir / "web" / "log"))]
    for pid in pids:
        assert os.getsid(pid) == (pid if flag else runsvdir.pid)


def test_a_missing_directory_is_waited_for(tree, impl, which_tool, tmp_path):
    """Both runsvdirs warn once a second until the directory appears, then supervise it."""
    svdir, start = tree
    os.rmdir(str(svdir))
    errors = tmp_path / "stderr"
    with open(str(errors), "wb") as handle:
        start(runsvdir=which_tool(impl, "runsvdir"), stderr=handle,
              env={"PATH": "%s:%s" % (os.path.dirname(which_tool(impl, "runsv")), BASE_PATH)})
    warning = "runsvdir %s: warning: unable to stat %s: file does not exist\n" % (svdir, svdir)
    wait_until(lambda: errors.read_text().count(warning) >= 2, what="the warning, repeated")
    staged = tmp_path / "staged"
    make_service(staged, "web", run=RUN)
    os.rename(str(staged), str(svdir))
    wait_until(lambda: running_pid(svdir / "web"), timeout=8, what="web once the dir exists")
    assert set(errors.read_text().splitlines(True)) == {warning}


def test_term_also_ends_what_services_left_behind(tree, tmp_path):
    """A daemon that forked away from its run is adopted by the tree (a subreaper) and must
    not outlive it: TERM to runsvdir ends it too before runsvdir exits."""
    svdir, start = tree
    pidfile = tmp_path / "daemon.pid"
    make_service(svdir, "forker", run=SH + "sh -c 'echo $$ >%s; exec sleep 1000' &\n"
                 "exec sleep 1000\n" % pidfile)
    runsvdir = start()
    wait_until(lambda: running_pid(svdir / "forker") and pidfile.exists() and
               pidfile.read_text().strip())
    daemon = int(pidfile.read_text())
    runsvdir.send_signal(signal.SIGTERM)
    assert runsvdir.wait(timeout=15) == 0
    assert not os.path.exists("/proc/%d" % daemon), "the daemon outlived the tree"


def test_a_run_that_asks_sv_about_its_own_service_at_once_finds_runsv_there(tree, impl):
    """Forty services whose ``./run`` first says ``sv down .`` (a one-shot's idiom; a ``needs``
    guard asks about another service the same way): runsv opens ``ok`` before it starts
    ``./run``, so none may hear ``runsv not running``, however many a scan starts at once."""
    svdir, start = tree
    sv = our_tool("sv") if impl == "ours" else C_RUNIT["sv"]
    asked = svdir.parent / "asked"
    names = ["s%02d" % index for index in range(40)]
    for name in names:
        run = '%s down . >>%s 2>&1 || echo "%s failed" >>%s\nexec sleep 1000\n' % (
            sv, asked, name, asked)
        make_service(svdir, name, run=SH + run)
    start(runsvdir=our_tool("runsvdir") if impl == "ours" else C_RUNIT["runsvdir"])

    def all_down():
        records = [status_record(svdir / name) for name in names]
        return all(record is not None and record.want == "d" and record.pid == 0
                   for record in records)
    def what_sv_said():
        return asked.read_text() if asked.exists() else ""
    try:
        wait_until(all_down, timeout=30, what="every service down by its own sv down")
    finally:
        assert what_sv_said() == ""
