"""Loggers inside the tree: a canonical ``log/run`` (``exec [chpst -u U] svlogd ARGS``) is run by
runsvdir itself, with svlogd's files and messages; to ``sv`` it is still a log service.

Real processes only: our runsvdir, the C runit side by side where installed.
"""

import os
import pwd
import re
import signal
import stat
import subprocess
import time

import pytest

from ....conftest import C_RUNIT, our_tool, require_c_runit, wants_c_runit
from ...processes import (
    BASE_PATH, SH, children_of, cmdline, logger_host_of, make_service, pipe_keepers_of,
    running_pid, status_record, voluntary_switches, wait_until)

pytestmark = pytest.mark.slow

LOG_RUN = SH + "exec svlogd ./main\n"
# One numbered line every 20 ms, for ever: a gap or a repeat in the log is a lost line.
COUNTER = SH + 'n=0\nwhile :; do n=$((n+1)); echo "line $n"; sleep 0.02; done\n'


def lines_of(count):
    return SH + 'n=0\nwhile [ $n -lt %d ]; do n=$((n+1)); echo "line $n"; done\n' \
                'exec sleep 1000\n' % count


def logged_service(svdir, name, run, log_run=LOG_RUN, config=None):
    service = make_service(svdir, name, run=run, log_run=log_run)
    (service / "log" / "main").mkdir()
    if config is not None:
        (service / "log" / "main" / "config").write_text(config)
    return service


def log_text(logdir):
    """Every rotated file in order, then current (a file a rotation renames between the
    listing and the read is left out: the caller polls again)."""
    names = sorted(name for name in os.listdir(str(logdir)) if name.startswith("@"))
    texts = []
    for name in names + ["current"]:
        try:
            texts.append((logdir / name).read_text())
        except FileNotFoundError:
            continue
    return "".join(texts)


def numbers(text):
    return [int(match) for match in re.findall(r"^line (\d+)$", text, re.M)]


def sv(*args, svdir, tool=None):
    return subprocess.run([tool or our_tool("sv")] + list(args),
                          env={"SVDIR": str(svdir), "PATH": BASE_PATH},
                          capture_output=True, text=True, timeout=30)


def test_a_service_writing_more_than_the_pipe_holds_at_once_is_logged_whole(tree, tmp_path):
    """One write() of 2 MB (``cat``), a line cut at every 64 KiB: the hosted logger must not
    wait for an edge that Linux raises only when the write ends (svlog/peek.py)."""
    svdir, start = tree
    text = "".join("line %d %s\n" % (n, "x" * 80) for n in range(1, 20001))
    (tmp_path / "input").write_text(text)
    service = logged_service(svdir, "cat", SH + 'cat "%s"\nexec sleep 1000\n'
                             % (tmp_path / "input"))
    start()
    logdir = service / "log" / "main"
    wait_until(lambda: len(log_text(logdir)) == len(text), timeout=20, what="2 MB logged")
    assert log_text(logdir) == text  # in two files: svlogd rotates at 1 MB by default


def test_a_canonical_logger_runs_inside_the_tree(tree):
    svdir, start = tree
    service = logged_service(svdir, "web", lines_of(50))
    runsvdir = start()
    current = service / "log" / "main" / "current"
    wait_until(lambda: current.exists() and numbers(current.read_text()) == list(range(1, 51)),
               what="50 lines logged")
    # no svlogd process of its own: the logger runs in the tree; log/supervise/pid shows the
    # tree's stand-in for its loggers
    host = logger_host_of(runsvdir.pid)
    keepers = pipe_keepers_of(runsvdir.pid)  # and the keeper of its pipe (pipekeeper.py)
    assert len(keepers) == 1
    assert sorted(children_of(runsvdir.pid)) == sorted([running_pid(service), host] + keepers)
    assert cmdline(host) == ["svlogd", "-s", "(loggers of runsvdir %s)" % svdir]
    assert status_record(service / "log").pid == host
    tools = [our_tool("sv")] + ([C_RUNIT["sv"]] if wants_c_runit() else [])
    for tool in tools:
        out = sv("status", "web", svdir=svdir, tool=tool)
        assert out.returncode == 0 and "; run: log: (pid %d) " % host in out.stdout, out
    assert stat.S_IMODE(current.stat().st_mode) == 0o644  # open: not yet "complete"
    runsvdir.send_signal(signal.SIGTERM)
    assert runsvdir.wait(timeout=15) == 0
    assert stat.S_IMODE(current.stat().st_mode) == 0o744  # closed cleanly, as svlogd on TERM
    assert numbers(current.read_text()) == list(range(1, 51))


def test_same_files_as_the_c_svlogd(tree, processes, tmp_path):
    """The same service and log/run under the C runsv + C svlogd and in our tree: the same
    directory listing, modes and contents, through a rotation (``sv a``) and ``sv d``."""
    require_c_runit()
    results = {}
    svdir, start = tree
    ours = logged_service(svdir, "web", lines_of(30), config="s100000\nn5\n")
    theirs = logged_service(tmp_path / "c", "web", lines_of(30), config="s100000\nn5\n")
    start()
    processes.start([C_RUNIT["runsv"], str(theirs)],
                    env={"PATH": "%s:%s" % (os.path.dirname(C_RUNIT["svlogd"]), BASE_PATH)})
    for service, tool in ((ours, our_tool("sv")), (theirs, C_RUNIT["sv"])):
        logdir = service / "log" / "main"
        wait_until(lambda: (logdir / "current").exists() and
                   len(numbers((logdir / "current").read_text())) == 30, what="30 lines")
        assert sv("alarm", str(service / "log"), svdir=svdir, tool=tool).returncode == 0
        wait_until(lambda: any(name.endswith(".s") for name in os.listdir(str(logdir))),
                   what="a rotated file")
        assert sv("-w", "5", "down", str(service / "log"), svdir=svdir,
                  tool=tool).returncode == 0
        results[tool] = sorted(
            (re.sub(r"^@[0-9a-f]{24}", "@TAI64N", name),
             oct(stat.S_IMODE((logdir / name).stat().st_mode)), (logdir / name).read_bytes())
            for name in os.listdir(str(logdir)))
    assert results[our_tool("sv")] == results[C_RUNIT["sv"]]


def test_sv_drives_the_hosted_logger_and_no_line_is_lost(tree):
    """t (restart, config re-read), h (reopen), a (rotate), k (killed: restarted), p/c, d/u —
    while a service writes a numbered line every 20 ms: every line is there once, in order."""
    svdir, start = tree
    service = logged_service(svdir, "web", COUNTER, config="n100\n")
    runsvdir = start()
    logdir = service / "log" / "main"
    log = str(service / "log")

    def lines_now():
        return len(numbers(log_text(logdir)))

    def more_lines(count=5):
        base = lines_now()
        wait_until(lambda: lines_now() >= base + count, what="%d more lines" % count)

    def stamp():
        record = status_record(service / "log")
        return record.seconds, record.nanoseconds

    more_lines()
    for command in ("term", "hup", "alarm", "kill", "pause", "cont", "down", "up"):
        before = stamp()
        out = sv(command, log, svdir=svdir)
        assert out.returncode == 0, (command, out)
        if command == "pause":
            assert wait_until(lambda: status_record(service / "log").paused)
            time.sleep(0.2)  # paused: the service fills the pipe meanwhile, nothing is read
            continue
        if command in ("term", "kill"):  # the logger ended and was started again
            wait_until(lambda: stamp() != before and running_pid(service / "log"),
                       what="log restarted after %s" % command)
        if command == "down":
            wait_until(lambda: (service / "log" / "supervise" / "stat").read_text() == "down\n",
                       what="log down")
            assert stat.S_IMODE((logdir / "current").stat().st_mode) == 0o744
            continue
        more_lines()
    assert any(name.endswith(".s") for name in os.listdir(str(logdir)))  # the alarm rotated
    assert status_record(service / "log").pid == logger_host_of(runsvdir.pid)
    assert sv("-w", "5", "down", "web", svdir=svdir).returncode == 0
    runsvdir.send_signal(signal.SIGTERM)
    assert runsvdir.wait(timeout=15) == 0
    got = numbers(log_text(logdir))
    assert got == list(range(1, len(got) + 1))


def test_config_is_reread_on_restart_and_hup(tree):
    svdir, start = tree
    service = logged_service(svdir, "web", COUNTER)
    start()
    current = service / "log" / "main" / "current"
    wait_until(lambda: current.exists() and "line 3\n" in current.read_text())
    (service / "log" / "main" / "config").write_text("pA:\n")
    sv("hup", str(service / "log"), svdir=svdir)
    wait_until(lambda: re.search(r"^A:line \d+$", current.read_text(), re.M),
               what="the prefix after HUP")
    (service / "log" / "main" / "config").write_text("pB:\n")
    sv("term", str(service / "log"), svdir=svdir)
    wait_until(lambda: re.search(r"^B:line \d+$", current.read_text(), re.M),
               what="the prefix after a restart")


def test_a_hosted_logger_gets_the_users_permissions(tree, tmp_path):
    """A directory the user cannot write: the same refusal as a real chpst -u + svlogd."""
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    svdir, start = tree
    logged_service(svdir, "web", lines_of(5),
                   log_run=SH + "exec chpst -u nobody svlogd ./main\n")
    errors = tmp_path / "stderr"
    with open(str(errors), "wb") as handle:
        start(stderr=handle)
    wait_until(lambda: "no functional log directories." in errors.read_text(),
               what="svlogd's fatal message")
    text = errors.read_text()
    assert "svlogd: warning: unable to lock directory: ./main: access denied\n" in text, text
    assert "svlogd: fatal: no functional log directories.\n" in text


@pytest.mark.parametrize("log_run, message", [
    (SH + 'exec svlogd "./main"\n', None),                 # quoted: a shell is needed
    (SH + "exec cat >main/current\n", None),               # not svlogd at all
    (SH + "exec chpst -u nosuchuser svlogd ./main\n",      # chpst must say what is wrong
     "chpst: fatal: unknown user/group: nosuchuser"),
])
def test_anything_else_runs_as_a_process(tree, tmp_path, log_run, message):
    svdir, start = tree
    service = logged_service(svdir, "web", lines_of(5), log_run=log_run)
    errors = tmp_path / "stderr"
    with open(str(errors), "wb") as handle:
        runsvdir = start(stderr=handle)
    if message is not None:  # the real chpst ran (and exits at once, again each second)
        wait_until(lambda: message in errors.read_text(), what=message)
        return
    # a hosted logger has the tree's pid; a process has its own
    wait_until(lambda: status_record(service / "log") is not None and
               status_record(service / "log").pid not in (0, runsvdir.pid),
               what="the log as a process of its own")
    pid = status_record(service / "log").pid
    assert pid in children_of(runsvdir.pid)
    # the record names the child as soon as it is forked; while it execs (the fork
    # server's child into sh, sh into cat) the kernel shows an empty cmdline for a moment
    wait_until(lambda: cmdline(pid), what="the log process's command line")


def test_an_idle_tree_of_hosted_loggers_does_not_wake(tree):
    svdir, start = tree
    services = [logged_service(svdir, "s%d" % index, lines_of(3), config="s1000\nn3\n")
                for index in range(10)]
    runsvdir = start()
    for service in services:
        current = service / "log" / "main" / "current"
        wait_until(lambda: current.exists() and numbers(current.read_text()) == [1, 2, 3])
    time.sleep(0.3)  # let the loggers' last writes settle
    pids = (runsvdir.pid, logger_host_of(runsvdir.pid))  # the tree and its loggers' stand-in
    before = [voluntary_switches(pid) for pid in pids]
    time.sleep(2)  # the idle window being measured
    assert [voluntary_switches(pid) for pid in pids] == before

