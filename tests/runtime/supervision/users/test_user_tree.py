"""Users' trees forked in-process (runtime/supervision/users/usertree.py, forks/server.py): a
tree run by root runs the canonical ``runsvdir-LOGIN/run`` (``protocol/canonical.py``) in a
process forked from its fork server — one process of the user's identity, not env, chpst and an
interpreter — which also runs the tree's logger of its own output.

Real processes: our runsvdir as root, the user's tree as ``nobody``. The interpreter may live
under /root (0700): a forked tree never execs it, nor imports anything once it is the user.
Every wait has a deadline; the fixture ends whatever a case leaves.
"""

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from ....conftest import OUR_BIN, our_tool
from ...processes import (
    BASE_PATH, SH, children_of, close_pipes, cmdline, comm, descendants, end_processes_under,
    is_runsv_up, kill_pids,
    make_service, process_group_members, proc_status, processes_under, running_pid, start_time,
    wait_until, write_file)
from ..loggers.test_hosted_log import COUNTER, log_text, numbers, sv

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0, reason="a tree run by root")]

OUTER = "runsvdir-nobody"
# The user's tree's own output: a line to stderr at start and when told to stop.
NOISY = SH + 'echo "noisy starts" >&2\ntrap \'echo "noisy stops" >&2; exit 0\' TERM\n' \
             'while :; do sleep 0.05; done\n'


def nobody():
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")


class UserTree:
    """Root's tree (``svdir``) with ``runsvdir-nobody`` over ``home/service``, in a directory
    every user can pass (pytest's tmp_path is root's alone)."""

    def __init__(self):
        self.user = nobody()
        self.base = Path(tempfile.mkdtemp(prefix="rp-usertree-"))
        self.base.chmod(0o755)
        self.svdir = self.base / "service"
        self.home = self.base / "home"
        self.user_tree = self.home / "service"
        self.outer = self.svdir / OUTER
        # the tree's output: root's svlogd into root's directory, which the user's group reads
        self.output_log = self.base / "log" / "runsvdir-nobody"
        self.proc = None

    def canonical_run(self):
        """``runsvdir-nobody/run`` as render writes it (protocol/canonical.py)."""
        lock = self.user_tree / ".runsvdir.lock"
        return (SH + 'exec 2>&1\nexec env -i PATH="$PATH" chpst -u nobody -e ./env '
                "-L %s runsvdir %s\n" % (lock, self.user_tree))

    def build(self, run=None, log_as=None):
        """The trees' directories; ``log_as``: the tree's output logged as that user (as root's
        data may run any logger) into ``~/logs/runsvdir``, not by root into root's."""
        run = run or self.canonical_run()
        if log_as is not None:
            self.output_log = self.home / "logs" / "runsvdir"
        make_service(self.svdir, OUTER, run=run, log_run=SH + "exec %ssvlogd -tt %s\n" % (
            "chpst -u %s " % log_as if log_as else "", self.output_log))
        write_file(self.outer / "env" / "HOME", str(self.home) + "\n")
        web = make_service(self.user_tree, "web", run=COUNTER,
                           log_run=SH + "exec svlogd ./main\n")
        (web / "log" / "main").mkdir()
        make_service(self.user_tree, "noisy", run=NOISY)
        self.output_log.mkdir(parents=True)
        subprocess.run(["chown", "-R", "nobody:%d" % self.user.pw_gid, str(self.home)],
                       check=True)
        if log_as is None:
            os.chown(str(self.output_log), 0, self.user.pw_gid)
            self.output_log.chmod(0o750)
        return web

    def start(self, env=None, prefix=()):
        environ = {"PATH": "%s:%s" % (OUR_BIN, BASE_PATH)}
        environ.update(env or {})
        self.proc = subprocess.Popen(list(prefix) + [our_tool("runsvdir"), str(self.svdir)],
                                     env=environ,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self.proc

    def tree_pid(self):
        """The user's tree, once it runs as the user (it shows its name a moment before it
        becomes the user: /proc/self is not its own to write after)."""
        def found():
            pid = running_pid(self.outer)
            if cmdline(pid) == ["runsvdir", str(self.user_tree)] \
                    and uid_of(pid) == str(self.user.pw_uid):
                return pid
            return 0
        return wait_until(found, timeout=30, what="the user's tree running as the user")

    def close(self):
        if self.proc is not None:
            kill_pids(set(process_group_members(self.proc.pid)) | set(descendants(self.proc.pid)))
            self.proc.wait()
            close_pipes(self.proc)
        end_processes_under(self.base)
        shutil.rmtree(str(self.base), ignore_errors=True)


@pytest.fixture
def user_tree():
    found = UserTree()
    yield found
    found.close()


def uid_of(pid):
    """The real uid of ``pid`` as text, or None once it is gone (a service's own ``sleep``
    comes and goes)."""
    try:
        return proc_status(pid).get("Uid", [None])[0]
    except OSError:
        return None


def as_nobody(script):
    user = nobody()
    return subprocess.run(["setpriv", "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid,
                           "--clear-groups", "sh", "-c", script], capture_output=True, text=True,
                          timeout=30)


def test_the_users_tree_is_one_forked_process_of_the_user(user_tree):
    web = user_tree.build()
    root = user_tree.start()
    tree = user_tree.tree_pid()
    user = user_tree.user
    # the tree's child, no env, chpst or interpreter exec'd in between
    assert tree in children_of(root.pid)
    assert comm(tree) == "runsvdir"
    status = proc_status(tree)
    assert status["Uid"] == [str(user.pw_uid)] * 4
    assert status["Gid"] == [str(user.pw_gid)] * 4
    assert int(status["CapEff"][0], 16) == 0 and int(status["CapPrm"][0], 16) == 0
    # its services run as the user, under it
    service = wait_until(lambda: running_pid(web), timeout=30, what="web running")
    assert service in children_of(tree)
    assert proc_status(service)["Uid"] == [str(user.pw_uid)] * 4
    wait_until(lambda: numbers(log_text(web / "log" / "main"))[:3] == [1, 2, 3], timeout=30,
               what="web logging")
    # the tree's own output is logged by root's tree, on its own loop, into root's directory
    # (the pid shown is root's loggers' stand-in); nothing of the logger runs as the user
    wait_until(lambda: "noisy starts" in log_text(user_tree.output_log), timeout=30,
               what="the tree's output logged")
    shown = running_pid(user_tree.outer / "log")
    assert shown in children_of(root.pid) and uid_of(shown) == "0"
    assert cmdline(shown)[:2] == ["svlogd", "-s"]
    info = (user_tree.output_log / "current").stat()
    assert info.st_uid == 0
    assert not [pid for pid in children_of(root.pid) if uid_of(pid) == str(user.pw_uid)
                and pid != tree]
    # the user's own loggers are the tree's, shown by its own stand-in
    stand_in = running_pid(web / "log")
    assert stand_in in children_of(tree) and uid_of(stand_in) == str(user.pw_uid)
    # the lock against a second tree is the tree's
    probe = as_nobody("exec flock -n %s true" % (user_tree.user_tree / ".runsvdir.lock"))
    assert probe.returncode != 0
    # one Python process of the user's (the tree), beside two shells: its stand-in and its
    # pipe keeper, which holds the user's log pipes — root's holds none of them
    services = {running_pid(web), running_pid(user_tree.user_tree / "noisy")}
    theirs = sorted(cmdline(pid)[0] for pid in [tree] + children_of(tree)
                    if pid not in services)
    assert theirs == ["pipekeeper", "runsvdir", "svlogd"], theirs
    pipe = os.stat(web / "log" / "supervise" / "pipe").st_ino
    for keeper, uid in ((pid, uid_of(pid)) for pid in children_of(root.pid) + children_of(tree)
                        if cmdline(pid)[:1] == ["pipekeeper"]):
        held = {os.stat("/proc/%d/fd/%s" % (keeper, fd)).st_ino
                for fd in os.listdir("/proc/%d/fd" % keeper)}
        assert (pipe in held) == (uid == str(user.pw_uid)), (keeper, uid)


def test_the_user_cannot_read_anything_of_roots_through_their_processes(user_tree):
    """Every process of the user's identity under root's tree: the tree itself is not
    dumpable (its memory, environment and descriptors are root's to read); the rest (the
    stand-in, the pipe keeper, the services) hold nothing of root's."""
    user_tree.build()
    root = user_tree.start(env={"SECRET_TOKEN": "s3cr3t-4d2e"})
    tree = user_tree.tree_pid()
    wait_until(lambda: running_pid(user_tree.outer / "log"), what="the tree's logger")
    # the user's services run: the tree has started its side (stand-in, keeper, services)
    for name in ("web", "noisy"):
        wait_until(lambda: running_pid(user_tree.user_tree / name), timeout=30,
                   what="the user's %s" % name)
    probe = as_nobody("cat /proc/%d/environ; head -c1 /proc/%d/mem; ls /proc/%d/fd; "
                      "kill -0 %d && echo signalled" % (tree, tree, tree, tree))
    assert probe.stdout.strip() == "signalled", probe
    assert probe.stderr.count("Permission denied") == 3, probe.stderr
    uid = str(user_tree.user.pw_uid)
    theirs = [pid for pid in descendants(root.pid) if uid_of(pid) == uid and pid != tree]
    assert theirs
    for pid in theirs:
        probe = as_nobody("cat /proc/%d/environ; ls -l /proc/%d/fd" % (pid, pid))
        assert "s3cr3t" not in probe.stdout, cmdline(pid)
        assert "socket:" not in probe.stdout, (cmdline(pid), probe.stdout)


def test_a_service_of_the_forked_tree_gets_env_i_path_and_the_envdir_alone(user_tree):
    """What ``env -i PATH="$PATH" chpst -e ./env`` gives: the tree's PATH and the envdir's
    variables — nothing of root's environment, nothing of the fork server's own (the C
    allocator's settings it is started with)."""
    user_tree.build()
    shown = make_service(user_tree.user_tree, "shown",
                         run=SH + "env > ./environ.new && mv ./environ.new ./environ\n"
                                  "exec sleep 100000\n")
    subprocess.run(["chown", "-R", "nobody:%d" % user_tree.user.pw_gid, str(shown)], check=True)
    user_tree.start(env={"SECRET_TOKEN": "s3cr3t-4d2e"})
    user_tree.tree_pid()
    environ_file = shown / "environ"
    wait_until(environ_file.exists, timeout=30, what="the service's environment written")
    names = {line.split("=", 1)[0] for line in environ_file.read_text().splitlines()}
    assert {"PATH", "HOME"} <= names
    # what a shell adds of its own, and nothing else
    assert names - {"PATH", "HOME", "PWD", "SHLVL", "_", "OLDPWD"} == set(), names
    assert "PATH=%s:%s\n" % (OUR_BIN, BASE_PATH) in environ_file.read_text()


def test_a_service_of_the_forked_tree_starts_in_its_directory_with_every_signal_at_default(
        user_tree):
    """The user's tree starts a user's ``./run`` as the C runsv does: in the service's
    directory, every signal at its default and none blocked."""
    user_tree.build()
    shown = make_service(user_tree.user_tree, "where", run=SH + "exec sleep 100000\n")
    subprocess.run(["chown", "-R", "nobody:%d" % user_tree.user.pw_gid, str(shown)], check=True)
    user_tree.start()
    user_tree.tree_pid()
    pid = wait_until(lambda: running_pid(shown), timeout=30, what="the service running")
    wait_until(lambda: proc_status(pid).get("Name") == ["sleep"], what="its sleep exec'd")
    status = proc_status(pid)
    assert (int(status["SigIgn"][0], 16), int(status["SigBlk"][0], 16)) == (0, 0), status
    assert os.readlink("/proc/%d/cwd" % pid) == str(shown)
    assert status["Uid"][0] == str(user_tree.user.pw_uid)


def test_restart_down_up_and_kill_of_the_users_tree(user_tree):
    web = user_tree.build()
    user_tree.start()
    first = user_tree.tree_pid()
    wait_until(lambda: len(numbers(log_text(web / "log" / "main"))) > 5, what="web logging")
    out = sv("-w", "15", "restart", OUTER, svdir=user_tree.svdir)
    assert out.returncode == 0 and out.stdout.startswith("ok: run: %s" % OUTER), out
    second = user_tree.tree_pid()
    assert second != first
    # The tree TERMed is gone by then (runsv waits for its end), and the next one takes the
    # tree's lock (chpst -L) only once it is: never two trees at work.
    wait_until(lambda: start_time(first) is None, timeout=5, what="the last tree gone")
    # the tree drained its own output before it went: the stop's line is logged
    wait_until(lambda: "noisy stops" in log_text(user_tree.output_log),
               what="the tree's last output logged")
    out = sv("-w", "15", "down", OUTER, svdir=user_tree.svdir)
    assert out.returncode == 0, out
    # sv returns once runsv's status says down; the tree's last processes may still be ending
    # then (on a busy machine, 1 run in 13 saw one): none may be left, within a deadline
    wait_until(lambda: not processes_under(user_tree.home), timeout=15,
               what="every process of the user's tree gone after its down")
    out = sv("-w", "15", "up", OUTER, svdir=user_tree.svdir)
    assert out.returncode == 0, out
    third = user_tree.tree_pid()
    service = wait_until(lambda: running_pid(web), what="web running again")
    os.kill(third, signal.SIGKILL)
    fourth = wait_until(lambda: running_pid(user_tree.outer) not in (0, third)
                        and user_tree.tree_pid(), timeout=20, what="a new tree")
    # the new tree took the running service over, and no line of it was lost
    assert wait_until(lambda: running_pid(web), what="web supervised again") == service
    count = len(numbers(log_text(web / "log" / "main")))
    wait_until(lambda: len(numbers(log_text(web / "log" / "main"))) > count + 10,
               what="more lines")
    got = numbers(log_text(web / "log" / "main"))
    got = got[len(got) - 1 - got[::-1].index(1):]  # since web's start after the up
    assert got == list(range(1, len(got) + 1)), "a line lost or repeated"
    assert fourth in children_of(user_tree.proc.pid)


NEST_OF_A_SERVICE = r'''
import os, sys
from runit_provision.runtime.runsvdir import _user_tree
class Supervisor:  # what the nest reads of one: its directory
    dir_fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
print(type(_user_tree(Supervisor, None)).__name__, sorted(
    name.rsplit(".", 1)[1] for name in sys.modules
    if name.startswith("runit_provision.runtime.supervision.users.")))
'''


@pytest.mark.parametrize("canonical, expected", [
    (False, "NoneType ['runfile']\n"),
    (True, "UserTree ['runfile', 'usertree']\n"),
])
def test_root_loads_the_users_room_only_for_a_users_tree(user_tree, canonical, expected):
    """runsvdir.py's ``nest`` looks at ./run with users/runfile.py alone: a service that is
    no user's tree loads nothing more of users/ (0.3 MB of root's tree at 100 services,
    bench/RESULTS.md row 1)."""
    user_tree.build(run=None if canonical else SH + "exec sleep 1000\n")
    found = subprocess.run([sys.executable, "-c", NEST_OF_A_SERVICE, str(user_tree.outer)],
                           capture_output=True, text=True, timeout=60)
    assert found.stdout == expected, found.stderr


def test_a_run_rewritten_into_a_users_tree_is_forked_from_its_next_start(user_tree):
    """Root's tree reads ``./run`` at each start, and loads users/ only for a user's tree
    (runsvdir.py's ``nest``): a service whose ``./run`` was a plain script when the tree
    opened, then rewritten into the canonical form, runs as the forked tree of the user from
    its next start."""
    web = user_tree.build(run=SH + "exec sleep 1000\n")
    user_tree.start()
    plain = wait_until(lambda: cmdline(running_pid(user_tree.outer)) == ["sleep", "1000"]
                       and running_pid(user_tree.outer), what="the plain ./run")
    write_file(user_tree.outer / "run", user_tree.canonical_run(), mode=0o755)
    out = sv("-w", "15", "restart", OUTER, svdir=user_tree.svdir)
    assert out.returncode == 0, out
    tree = user_tree.tree_pid()
    assert tree != plain and tree in children_of(user_tree.proc.pid)
    # forked, not exec'd: ./run's own would have left env -i's PATH and chpst -e's HOME
    with open("/proc/%d/environ" % tree, "rb") as handle:
        assert not [entry for entry in handle.read().split(b"\0")
                    if entry.startswith((b"PATH=", b"HOME="))]
    wait_until(lambda: running_pid(web), what="web running in the user's tree")
    assert uid_of(running_pid(web)) == str(user_tree.user.pw_uid)


def test_a_user_stopping_their_loggers_stand_in_pauses_their_loggers_and_keeps_their_tree(
        user_tree):
    """STOP to the stand-in (the pid in ``log/supervise/pid``, a shell of the user's): their
    loggers stop reading, and read again after CONT, no line lost; the tree runs on."""
    web = user_tree.build()
    user_tree.start()
    tree = user_tree.tree_pid()
    born = start_time(tree)
    main = web / "log" / "main"
    wait_until(lambda: len(numbers(log_text(main))) > 5, what="web logging")
    stand_in = int((web / "log" / "supervise" / "pid").read_text())
    assert uid_of(stand_in) == str(user_tree.user.pw_uid)
    assert as_nobody("kill -STOP %d" % stand_in).returncode == 0

    def not_growing():  # web writes a line every 20 ms into its pipe meanwhile
        before = log_text(main)
        time.sleep(0.3)
        return log_text(main) == before
    wait_until(not_growing, timeout=15, what="web's logger no longer reading")
    assert start_time(tree) == born, "the user's tree was killed"
    count = len(numbers(log_text(main)))
    assert as_nobody("kill -CONT %d" % stand_in).returncode == 0
    wait_until(lambda: len(numbers(log_text(main))) > count + 10, what="web's logger reading")
    assert start_time(tree) == born, "the user's tree was killed"
    logged = numbers(log_text(main))
    assert logged == list(range(logged[0], logged[0] + len(logged))), "a line lost"


def open_fds_of(pid):
    """Where each descriptor of ``pid`` leads."""
    found = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            found.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            continue  # closed meanwhile
    return found


def test_root_holds_no_descriptor_of_the_users_services_however_many(user_tree):
    """Root's tree supervises the user's tree, never the user's services: linking a hundred
    more of them into ``~/service`` moves no descriptor of root's, and none it holds leads
    into the user's home."""
    web = user_tree.build()
    root = user_tree.start()
    user_tree.tree_pid()
    wait_until(lambda: running_pid(web), timeout=30, what="web running")
    wait_until(lambda: running_pid(user_tree.outer / "log"), what="the tree's logger")
    before = len(open_fds_of(root.pid))
    more = [make_service(user_tree.user_tree, "more%03d" % index,
                         run=SH + "exec sleep 100000\n") for index in range(100)]
    subprocess.run(["chown", "-R", "nobody:%d" % user_tree.user.pw_gid,
                    str(user_tree.user_tree)], check=True)
    for service in more:
        wait_until(lambda service=service: running_pid(service), timeout=60,
                   what="%s running" % service.name)
    held = open_fds_of(root.pid)
    assert len(held) == before, held
    assert not [path for path in held if path.startswith(str(user_tree.home))], held


def test_a_killed_fork_server_is_started_again_when_next_needed(user_tree):
    user_tree.build()
    root = user_tree.start()
    first = user_tree.tree_pid()
    servers = [pid for pid in children_of(root.pid) if cmdline(pid)[:1] == ["forkserver"]]
    assert len(servers) == 1
    kill_pids(servers)
    out = sv("-w", "15", "restart", OUTER, svdir=user_tree.svdir)
    assert out.returncode == 0, out
    second = user_tree.tree_pid()
    assert second != first
    again = [pid for pid in children_of(root.pid) if cmdline(pid)[:1] == ["forkserver"]]
    assert len(again) == 1 and again != servers


def test_root_stopping_ends_every_process_and_logs_the_trees_last_words(user_tree):
    user_tree.build()
    root = user_tree.start()
    user_tree.tree_pid()
    wait_until(lambda: "noisy starts" in log_text(user_tree.output_log), what="logging")
    everything = set(descendants(root.pid))
    root.send_signal(signal.SIGTERM)
    assert root.wait(timeout=30) == 0
    assert not [pid for pid in everything if start_time(pid) is not None]
    assert "noisy stops" in log_text(user_tree.output_log)
    # Everything ended of itself: nothing waited for the grace and its KILL (a stand-in
    # holding runsvdir-LOGIN/log's pipe once kept that logger from its EOF for 13 s).
    output = root.stdout.read().decode()
    assert "after the kill" not in output and "left behind" not in output, output


def catches_term(pid):
    """Whether ``pid`` has its SIGTERM handler (``SigCgt`` of /proc/PID/status)."""
    return bool(int(proc_status(pid).get("SigCgt", ["0"])[0], 16) & (1 << (signal.SIGTERM - 1)))


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2])
def test_a_stop_while_the_fork_server_starts_or_answers_ends_everything_cleanly(user_tree,
                                                                               delay):
    """TERM at any moment of a start — the fork server not ready, its answer in flight, the
    tree's logger waiting for the tree — ends every process, and starts nothing on the way."""
    user_tree.build()
    root = user_tree.start()
    wait_until(lambda: catches_term(root.pid), what="the tree taking TERM")
    time.sleep(delay)  # a moment of the start, not a condition: any moment must do
    root.send_signal(signal.SIGTERM)
    assert root.wait(timeout=30) == 0
    output = root.stdout.read().decode()
    assert "not open" not in output and "internal error" not in output, output
    wait_until(lambda: not processes_under(user_tree.base), timeout=15,
               what="nothing left of the start")



def test_sv_w_exit_of_a_running_logged_service_returns_once_its_files_are_final(user_tree):
    """What ``sv -w exit`` of a user's service returned after is the last change to either
    ``supervise/``: ``apply`` (``sv -w exit``, then the retired service's removal) must not
    meet a status written into the directory it is emptying ("Directory not empty")."""
    web = user_tree.build()
    user_tree.start()
    wait_until(lambda: running_pid(web) and running_pid(web / "log"), timeout=30,
               what="web and its log running")
    done = sv("-w", "20", "x", str(web), svdir=user_tree.user_tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_final(web / "supervise", web / "log" / "supervise")


def assert_final(*sides):
    """Nothing in ``sides`` (supervise/ directories) changes once runsv is gone: no file
    made, none removed, no status written; the process record is gone."""
    def seen():
        return {side: {name: (side / name).read_bytes() if name == "status" else None
                       for name in os.listdir(str(side))} for side in sides}
    before = seen()
    time.sleep(0.5)  # a moment for a late write: none may come
    assert seen() == before
    assert not [side for side in sides if "process" in before[side]]


def test_a_users_crash_looping_service_waits_its_back_off_steps(user_tree):
    """A user's service waits out its ``backoff`` steps as a system one does (the same
    code), and its wait is on record in its tally."""
    from runit_provision.model import Backoff, Service
    from runit_provision.protocol.backoff import Backoff as Spec, backoff_bytes
    from runit_provision.protocol.tally import tally_from_bytes
    from runit_provision.render.environment import make_environment
    from runit_provision.render.servicedir import backoff_finish

    user_tree.build()
    flaky = make_service(user_tree.user_tree, "flaky",
                         run=SH + "date +%s.%N >>starts\nexit 1\n")
    spec = Backoff(delay=1, max_delay=4, steps=1, jitter=0, reset_after=60)
    write_file(flaky / "finish", backoff_finish(Service(name="flaky", backoff=spec),
                                                make_environment()), 0o755)
    (flaky / "backoff").write_bytes(backoff_bytes(Spec(1, 4, 1)))
    subprocess.run(["chown", "-R", "nobody:%d" % user_tree.user.pw_gid, str(flaky)],
                   check=True)
    user_tree.start()

    def started():
        path = flaky / "starts"
        return [float(line) for line in path.read_text().split()] if path.exists() else []
    wait_until(lambda: len(started()) >= 3, timeout=40, what="three starts")
    found = started()
    assert 0.98 <= found[1] - found[0] < 7 and 3.9 <= found[2] - found[1] < 10, found
    tally = tally_from_bytes((flaky / "supervise" / "tally").read_bytes())
    assert tally.waiting is not None and tally.waiting.restarts >= 2


def test_the_runtime_runs_on_the_interpreter_of_the_tests(user_tree):
    """Root's runsvdir (its console script's ``#!``), the fork server (exec'd as its
    ``sys.executable``) and the user's tree forked from it all run on the interpreter running
    these tests: so the runtime's tier under another CPython (tests/other_pythons.py, a
    ``.venv-X.Y`` of its own) runs the runtime on that CPython, not on the one of ``make
    test``."""
    user_tree.build()
    root = user_tree.start()
    tree = user_tree.tree_pid()
    servers = [pid for pid in children_of(root.pid) if cmdline(pid)[:1] == ["forkserver"]]
    assert len(servers) == 1
    ours = os.path.realpath(sys.executable)
    found = {name: os.readlink("/proc/%d/exe" % pid) for name, pid in (
        ("runsvdir", root.pid), ("forkserver", servers[0]), ("the user's tree", tree))}
    assert found == dict.fromkeys(found, ours), "not %s: %s" % (ours, found)


def test_a_users_tree_that_cannot_become_its_user_fails_its_start_and_is_tried_again(
        user_tree):
    """One way to start a user's tree: a canonical run whose user does not exist is not
    exec'd (no env, no chpst), its start fails as a failed exec would — said, then tried
    again after runsv's back-off — and the rest of root's tree runs on."""
    ghost = "rp-no-such-user"
    user_tree.build(run=user_tree.canonical_run().replace("chpst -u nobody", "chpst -u " + ghost))
    other = make_service(user_tree.svdir, "other", run=SH + "exec sleep 100000\n")
    root = user_tree.start()
    os.set_blocking(root.stdout.fileno(), False)
    said = []

    def failed_twice():
        said.append(root.stdout.read() or b"")
        text = b"".join(said)
        return text.count(b"warning: chpst -u %s -e ./env: " % ghost.encode()) >= 2 and \
            text.count(b"fatal: unable to start ./run: ") >= 2
    wait_until(failed_twice, timeout=30, what="two failed starts, said")
    assert running_pid(other)
    for pid in descendants(root.pid):
        assert cmdline(pid)[:1] not in (["env"], ["chpst"]), cmdline(pid)
    status = subprocess.run([our_tool("sv"), "status", str(user_tree.outer)],
                            capture_output=True, text=True, timeout=30).stdout
    assert status.startswith("down: %s" % user_tree.outer), status
