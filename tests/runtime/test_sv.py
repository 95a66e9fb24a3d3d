"""sv against real runsv processes: our sv's output and exit code must equal the C sv's.

Every scenario builds two identical service trees (two SVDIRs). The C sv drives one, ours the
other; both trees are supervised by the same runsv implementation — the C runsv, and ours as
well: each test runs under both at once (``under_both_runsvs``), on twin trees of its own.
Outputs are compared after normalising pids, elapsed seconds and the SVDIR path. Deliberate
differences (docs/compatibility.md) are asserted as differences.

Every runsv is started in its own session and ended by process group in a finalizer; every
wait is a condition polled against a deadline.
"""

import concurrent.futures
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from runit_provision.protocol.status import stat_text

from ..conftest import (
    C_SV_IDS, IN_CI, OUR_BIN, c_runit_at_least, c_runit_version, require_c_runit)
from .processes import comm, is_runsv_up, status_record, wait_until
from .transcript import normalise

C_SV = "/usr/bin/sv"
C_RUNSV = "/usr/bin/runsv"
BASE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
SH = "#!/bin/sh\n"
# Ignores every signal sv can send but TERM/KILL/STOP/CONT, so hup & co. keep the same pid.
RUN = SH + "trap '' HUP ALRM INT QUIT USR1 USR2\nexec sleep 100000\n"
RUN_IGNORING_TERM = SH + "trap '' TERM HUP\nexec sleep 100000\n"
LOG_RUN = SH + "exec cat >/dev/null\n"
STATUS_WANTS = {"u": "up", "d": "down", "x": "exit"}  # status's want byte, as stat words it

pytestmark = [pytest.mark.slow, pytest.mark.interop]




def write(path, text, mode=0o755):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def read_text(path):
    try:
        return Path(path).read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None


class Tree:
    """One SVDIR of services, each under its own runsv process."""

    def __init__(self, svdir, runsv):
        self.svdir = svdir
        self.runsv = runsv
        self.procs = []
        svdir.mkdir(parents=True)

    def add(self, name, run=RUN, log_run=None, down=False, log_down=False, check=None,
            hooks=None):
        service = self.svdir / name
        write(service / "run", run)
        if log_run is not None:
            write(service / "log" / "run", log_run)
            if log_down:
                (service / "log" / "down").touch()
        if down:
            (service / "down").touch()
        if check is not None:
            write(service / "check", check)
        for letter, body in (hooks or {}).items():
            write(service / "control" / letter, SH + body)
        return service

    def start(self, name):
        service = self.svdir / name
        proc = subprocess.Popen([self.runsv, str(service)], start_new_session=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env={"PATH": BASE_PATH})
        self.procs.append(proc)
        want = "down\n" if (service / "down").exists() else "run\n"
        wait_until(lambda: is_runsv_up(service) and self.says(name, want),
                   what="%s %s under %s" % (name, want.strip(), self.runsv))
        if (service / "log").is_dir():
            log_want = "down\n" if (service / "log" / "down").exists() else "run\n"
            wait_until(lambda: read_text(service / "log" / "supervise" / "stat") == log_want,
                       what="%s/log %s" % (name, log_want.strip()))
        return proc

    def stat(self, name):
        return read_text(self.svdir / name / "supervise" / "stat")

    def says(self, name, text):
        """``supervise/stat`` says ``text`` and so does the binary ``status`` that sv reads:
        runsv writes one file after the other, and on a busy machine an sv run between the two
        writes reads the state before (the C sv once said "down" of a service whose stat was
        already "run": test_check_script, in CI)."""
        record = status_record(self.svdir / name)
        return (self.stat(name) == text and record is not None
                and stat_text(record.state, record.paused, record.term,
                              STATUS_WANTS.get(record.want)) == text)

    def pid(self, name):
        text = read_text(self.svdir / name / "supervise" / "pid") or ""
        return int(text) if text.strip() else 0

    def control(self, name, data):
        with open(str(self.svdir / name / "supervise" / "control"), "wb", buffering=0) as fifo:
            fifo.write(data)

    def stop(self):
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # runsv and its services, one group
            except ProcessLookupError:
                pass
            proc.wait()
        self.procs = []


def our_runsv_available():
    try:
        import runit_provision.runtime.runsv  # noqa: F401
    except ImportError:
        return False
    return (OUR_BIN / "runsv").exists()


class Pair:
    """The same trees twice: ``c`` is driven by the C sv, ``ours`` by ours."""

    def __init__(self, root, runsv):
        self.root = root
        self.trees = {"c": Tree(root / "c" / "service", runsv),
                      "ours": Tree(root / "ours" / "service", runsv)}
        self.svs = {"c": C_SV, "ours": str(OUR_BIN / "sv")}

    def add(self, name, **kwargs):
        for tree in self.trees.values():
            tree.add(name, **kwargs)

    def start(self, *names):
        for tree in self.trees.values():
            for name in names:
                tree.start(name)

    def each(self, function):
        for tree in self.trees.values():
            function(tree)

    def _sv_call(self, impl, args, env=None, argv0=None, tree=None):
        """The argv, environment and cwd of ``impl``'s sv on ``tree``'s services."""
        tree = self.trees[tree or impl]
        environment = {"PATH": BASE_PATH, "SVDIR": str(tree.svdir)}
        environment.update(env or {})
        if argv0 is not None:
            link = tree.svdir.parent / "init.d" / argv0
            if not link.exists():
                link.parent.mkdir(exist_ok=True)
                link.symlink_to(self.svs[impl])
            argv = [str(link)]
        else:
            argv = [self.svs[impl]]
        return argv + list(args), environment, str(tree.svdir.parent)

    def sv(self, impl, *args, env=None, argv0=None, tree=None, raw=False):
        argv, environment, cwd = self._sv_call(impl, args, env, argv0, tree)
        result = subprocess.run(argv, env=environment, cwd=cwd, capture_output=True,
                                text=True, timeout=60)
        if raw:
            return result.returncode, result.stdout, result.stderr
        return (result.returncode, self.tidy(tree or impl, result.stdout),
                self.tidy(tree or impl, result.stderr))

    def sv_process(self, impl, *args):
        """``impl``'s sv started, not waited for: its output on a pipe."""
        argv, environment, cwd = self._sv_call(impl, args)
        return subprocess.Popen(argv, env=environment, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def tidy(self, tree, text):
        """sv's words with the tree's path as $SVDIR and pids and times normalised."""
        return normalise(text.replace(str(self.trees[tree].svdir), "$SVDIR"))

    def same(self, *args, **kwargs):
        """Run the same sv command on both trees, at once (the waits of ``-w`` overlap);
        the results must be equal. Nothing here writes a script while the other forks."""
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            c, ours = pool.map(lambda impl: self.sv(impl, *args, **kwargs), ("c", "ours"))
        assert ours == c, "sv %s: ours %r, C %r" % (" ".join(args), ours, c)
        return ours

    def same_but_the_id(self, *args):
        """``same`` for what prints sv.c's ``$Id: …$`` (``-V``): ours prints runit 2.1.2's, the C
        sv its own release's (``C_SV_IDS``: 2.2.0's differs) — the one thing that may differ."""
        c, ours = self.sv("c", *args), self.sv("ours", *args)
        ids = {version: sv_id for sv_id, version in C_SV_IDS.items()}
        theirs = ids.get(c_runit_version(), ids["2.1.2"])
        assert theirs in c[1] + c[2], "sv %s: C %r lacks %s" % (" ".join(args), c, theirs)
        c = tuple(part.replace(theirs, ids["2.1.2"]) if isinstance(part, str) else part
                  for part in c)
        assert ours == c, "sv %s: ours %r, C %r" % (" ".join(args), ours, c)
        return ours

    def stop(self):
        for tree in self.trees.values():
            tree.stop()


def runsvs():
    """``[(label, runsv)]``: the C runsv, the reference, and ours."""
    require_c_runit()  # the C sv is the reference in every test here
    found = [("c-runsv", C_RUNSV)]
    if our_runsv_available():
        found.append(("our-runsv", str(OUR_BIN / "runsv")))
    elif IN_CI:
        pytest.fail("our runsv cannot be imported or is not installed")
    return found


def under_both_runsvs(test):
    """``test(pair)`` run under the C runsv and under ours at the same time, each on twin
    trees of its own. The tests mostly wait — sv's ``-w`` timeouts, runsv's 1 s back-off —
    and the two waits overlap (the module took 100 s one runsv after the other). A failure
    says which runsv it happened under; every runsv is ended, whatever happened."""
    def run(tmp_path):
        pairs = [(label, Pair(tmp_path / label, runsv)) for label, runsv in runsvs()]
        try:
            with concurrent.futures.ThreadPoolExecutor(len(pairs)) as pool:
                futures = [(label, pool.submit(test, pair)) for label, pair in pairs]
            for label, future in futures:
                error = future.exception()
                if error is not None:
                    error.add_note("under %s" % label)
                    raise error
        finally:
            for _, pair in pairs:
                pair.stop()

    run.__name__, run.__qualname__, run.__doc__ = test.__name__, test.__qualname__, test.__doc__
    return run


def wait_stat(pair, name, text):
    """Until both trees' stat and status say ``text`` (``Tree.says``)."""
    for tree in pair.trees.values():
        wait_until(lambda: tree.says(name, text), what="%s: stat and status %r" % (name, text))


def wait_older_than(pair, name, seconds=1.1):
    """Until the service has run for a while: runsv's 1 s back-off would race the test."""
    def old_enough(tree):
        path = tree.svdir / name / "supervise" / "status"
        return time.time() - path.stat().st_mtime > seconds
    for tree in pair.trees.values():
        wait_until(lambda: old_enough(tree), timeout=seconds + 5, what="%s ages" % name)


# -- status -------------------------------------------------------------------------------
@under_both_runsvs
def test_status(pair):
    pair.add("plain")
    pair.add("logged", log_run=LOG_RUN)
    pair.add("normally-down", down=True)
    pair.add("log-down", log_run=LOG_RUN, log_down=True)
    pair.add("paused")
    pair.start("plain", "logged", "normally-down", "log-down", "paused")
    pair.each(lambda tree: tree.control("paused", b"p"))
    wait_stat(pair, "paused", "run, paused\n")
    code, out, err = pair.same("status", "plain", "logged", "normally-down", "log-down",
                               "paused", "./service/plain")
    assert out == ("run: plain: (pid N) Ns\n"
                   "run: logged: (pid N) Ns; run: log: (pid N) Ns\n"
                   "down: normally-down: Ns\n"
                   "run: log-down: (pid N) Ns; down: log: Ns\n"
                   "run: paused: (pid N) Ns, paused\n"
                   "run: ./service/plain: (pid N) Ns\n")
    assert (code, err) == (0, "")
    assert pair.same("status", "/dev/null/nope")[0] == 1
    for impl, tree in pair.trees.items():
        assert pair.sv(impl, "s", str(tree.svdir / "plain"))[1] == "run: $SVDIR/plain: (pid N) Ns\n"
    # A service with a down file, started anyway; the same with want down and got TERM.
    pair.same("up", "normally-down")
    wait_stat(pair, "normally-down", "run\n")
    # runit's runsv writes stat before status: wait for what sv reads, on both trees
    for impl in pair.trees:
        wait_until(lambda impl=impl: pair.sv(impl, "status", "normally-down")[1].startswith(
            "run:"), what="normally-down's status run (%s)" % impl)
    assert pair.same("status", "normally-down")[1] == "run: normally-down: (pid N) Ns, normally down\n"


@under_both_runsvs
def test_status_errors(pair):
    pair.add("svc", log_run=LOG_RUN)
    pair.start("svc")
    for tree in pair.trees.values():
        (tree.svdir / "nolog").mkdir()
        write(tree.svdir / "nolog" / "run", RUN)
    assert pair.same("status", "missing", "nolog") == (
        2, "fail: missing: unable to change to service directory: file does not exist\n"
           "warning: nolog: unable to open supervise/ok: file does not exist\n", "")
    # A status file that is not 20 bytes (runsv rewrites it only on the next change).
    for tree in pair.trees.values():
        (tree.svdir / "svc" / "supervise" / "status").write_bytes(b"abc")
    assert pair.same("status", "svc") == (
        1, "warning: svc: unable to read supervise/status: bad format\n", "")
    # runsv gone: fail, except for exit.
    pair.each(lambda tree: tree.control("svc", b"x"))
    for tree in pair.trees.values():
        wait_until(lambda: not is_runsv_up(tree.svdir / "svc"), what="runsv exit")
    for args in (["status", "svc"], ["up", "svc"], ["-v", "down", "svc"], ["check", "svc"]):
        assert pair.same(*args) == (1, "fail: svc: runsv not running\n", "")
    for args in (["exit", "svc"], ["shutdown", "svc"], ["-w", "1", "force-shutdown", "svc"]):
        assert pair.same(*args) == (0, "ok: svc: runsv not running\n", "")


# -- control commands ---------------------------------------------------------------------
@under_both_runsvs
def test_signal_commands_keep_the_process(pair):
    pair.add("svc")
    pair.start("svc")
    pids = {impl: tree.pid("svc") for impl, tree in pair.trees.items()}
    # the signals are ignored once ./run's shell has run its trap: it has when it became sleep
    # (runsv knows the pid from the fork; on a busy machine the shell can still be starting)
    wait_until(lambda: {comm(pid) for pid in pids.values()} == {"sleep"},
               what="./run's trap set: sleep runs")
    for command in ("hup", "alarm", "interrupt", "quit", "1", "2", "reload"):
        assert pair.same("-v", command, "svc") == (0, "ok: run: svc: (pid N) Ns\n", "")
    assert pair.same("-v", "pause", "svc") == (0, "ok: run: svc: (pid N) Ns, paused\n", "")
    assert pair.same("-v", "cont", "svc") == (0, "ok: run: svc: (pid N) Ns\n", "")
    assert pair.same("hup", "svc") == (0, "", "")  # without -v: no wait, no output
    assert {impl: tree.pid("svc") for impl, tree in pair.trees.items()} == pids


@under_both_runsvs
def test_up_down_once_term_kill_exit(pair):
    pair.add("svc", log_run=LOG_RUN)
    pair.start("svc")
    wait_older_than(pair, "svc")
    assert pair.same("-v", "down", "svc") == (0, "ok: down: svc: Ns, normally up\n", "")
    assert pair.same("-v", "up", "svc") == (0, "ok: run: svc: (pid N) Ns\n", "")
    wait_older_than(pair, "svc")
    assert pair.same("stop", "svc") == (0, "ok: down: svc: Ns, normally up\n", "")
    # Down in the same second as the C sv starts, ``once`` is ok at once with the stale
    # "down" (docs/sv.md #2): let that second pass.
    wait_older_than(pair, "svc")
    assert pair.same("-v", "once", "svc") == (0, "ok: run: svc: (pid N) Ns, want down\n", "")
    # The C sv reads the status runsv wrote before it took ``u`` and confirms "want down";
    # ours waits until runsv wants up (docs/sv.md).
    assert pair.sv("ours", "start", "svc") == (0, "ok: run: svc: (pid N) Ns\n", "")
    assert pair.sv("c", "start", "svc") in ((0, "ok: run: svc: (pid N) Ns\n", ""),
                                             (0, "ok: run: svc: (pid N) Ns, want down\n", ""))
    wait_older_than(pair, "svc")
    for command in ("term", "kill", "try-restart", "restart"):
        before = {impl: tree.pid("svc") for impl, tree in pair.trees.items()}
        assert pair.same("-v", command, "svc") == (0, "ok: run: svc: (pid N) Ns\n", "")
        assert pair.trees["ours"].pid("svc") != before["ours"]
        wait_older_than(pair, "svc")
    assert pair.same("-v", "exit", "svc") == (0, "ok: svc: runsv not running\n", "")


@under_both_runsvs
def test_timeouts_and_kill(pair):
    pair.add("stubborn", run=RUN_IGNORING_TERM)
    pair.start("stubborn")
    wait_older_than(pair, "stubborn")
    timeout_down = "timeout: run: stubborn: (pid N) Ns, want down, got TERM\n"
    assert pair.same("-w", "1", "down", "stubborn") == (1, timeout_down, "")
    assert pair.same("stop", "stubborn", env={"SVWAIT": "1"}) == (1, timeout_down, "")
    assert pair.same("-w", "1", "force-stop", "stubborn") == (
        1, "kill: run: stubborn: (pid N) Ns, want down, got TERM\n", "")
    wait_stat(pair, "stubborn", "down\n")
    assert pair.same("start", "stubborn") == (0, "ok: run: stubborn: (pid N) Ns\n", "")
    wait_older_than(pair, "stubborn")
    kill_term = "kill: run: stubborn: (pid N) Ns, got TERM\n"
    assert pair.same("-w", "1", "force-restart", "stubborn") == (1, kill_term, "")
    wait_stat(pair, "stubborn", "run\n")
    wait_older_than(pair, "stubborn")
    assert pair.same("-w", "1", "force-reload", "stubborn") == (1, kill_term, "")
    wait_stat(pair, "stubborn", "run\n")
    wait_older_than(pair, "stubborn")
    assert pair.same("-w", "1", "T", "stubborn") == (1, kill_term, "")
    wait_stat(pair, "stubborn", "run\n")
    assert pair.same("-w", "1", "shutdown", "stubborn") == (1, timeout_down, "")
    assert pair.same("-w", "1", "force-shutdown", "stubborn") == (
        1, "kill: run: stubborn: (pid N) Ns, want down, got TERM\n", "")
    for tree in pair.trees.values():
        wait_until(lambda: not is_runsv_up(tree.svdir / "stubborn"), what="runsv exit")


@under_both_runsvs
def test_several_services_count_failures(pair):
    pair.add("a")
    pair.add("b", run=RUN_IGNORING_TERM)
    pair.start("a", "b")
    wait_older_than(pair, "b")
    code, out, err = pair.same("-w", "1", "down", "a", "missing", "b")
    assert code == 2 and err == ""
    assert out == ("fail: missing: unable to change to service directory: "
                   "file does not exist\n"
                   "ok: down: a: Ns, normally up\n"
                   "timeout: run: b: (pid N) Ns, want down, got TERM\n")


@under_both_runsvs
def test_check_script(pair):
    pair.add("svc", check=SH + "test -e ../../ready\n")
    pair.start("svc")
    assert pair.same("-w", "1", "check", "svc") == (1, "timeout: run: svc: (pid N) Ns\n", "")
    pair.each(lambda tree: (tree.svdir.parent / "ready").touch())
    assert pair.same("-w", "1", "check", "svc") == (0, "ok: run: svc: (pid N) Ns\n", "")
    assert pair.same("-w", "1", "up", "svc") == (0, "ok: run: svc: (pid N) Ns\n", "")


@under_both_runsvs
def test_usage(pair):
    usage = "usage: sv [-v] [-w sec] command service ...\n\n"
    assert pair.same() == (100, "", usage)
    assert pair.same("status") == (100, "", usage)
    assert pair.same("restartx", "svc") == (100, "", usage)
    assert pair.same("force-foo", "svc") == (100, "", usage)
    assert pair.same("-z", "status", "svc") == (100, "", "sv: illegal option -- z\n" + usage)
    assert pair.same("-w") == (100, "", "sv: option requires an argument -- w\n" + usage)
    assert pair.same_but_the_id("-V")[0] == 100
    pair.same("-", "svc")


# -- LSB mode -----------------------------------------------------------------------------
@under_both_runsvs
def test_lsb_mode(pair):
    pair.add("web")
    pair.start("web")
    wait_older_than(pair, "web")
    lsb = dict(argv0="web")
    usage = "usage: web [-w sec] command\n\n"
    assert pair.same("status", **lsb) == (0, "run: web: (pid N) Ns\n", "")
    assert pair.same(**lsb) == (2, "", usage)
    assert pair.same("stat", **lsb) == (2, "", usage)
    assert pair.same("-z", "status", **lsb) == (2, "", "web: illegal option -- z\n" + usage)
    assert pair.same("stop", **lsb) == (0, "ok: down: web: Ns, normally up\n", "")
    assert pair.same("status", **lsb) == (3, "down: web: Ns, normally up\n", "")
    assert pair.same("start", "extra", "words", **lsb) == (0, "ok: run: web: (pid N) Ns\n", "")
    wait_older_than(pair, "web")
    assert pair.same("restart", **lsb) == (0, "ok: run: web: (pid N) Ns\n", "")
    assert pair.same("-w", "3", "reload", **lsb) == (0, "ok: run: web: (pid N) Ns\n", "")
    assert pair.same("status", argv0="nope") == (
        1, "fail: nope: unable to change to service directory: file does not exist\n", "")


# -- exit codes ---------------------------------------------------------------------------
# (what, LSB name or None, args, exit code, the C sv's before 2.3.0 where it differs): every
# exit code sv has but fatal's, which no service tree can provoke (docs/compatibility.md#sv).
EXIT_CODES = [
    ("status, running", None, ["status", "web"], 0, None),
    ("status, two services", None, ["status", "web", "idle"], 0, None),
    ("status, no such service", None, ["status", "missing"], 1, None),
    ("status, two failures", None, ["status", "missing", "web", "nope"], 2, None),
    ("status, unreadable status", None, ["status", "garbled"], 1, None),
    ("status, runsv gone", None, ["status", "gone"], 1, None),
    ("exit, runsv gone", None, ["exit", "gone"], 0, None),
    ("check, running", None, ["-w", "1", "check", "web"], 0, None),
    ("check, normally down", None, ["-w", "1", "check", "idle"], 0, None),
    ("check, ./check failing", None, ["-w", "1", "check", "unready"], 1, None),
    # runit 2.3.0: check waits for the state wanted, down here; 2.1.2 ran ./check and said ok
    ("check, running and wanted down", None, ["-w", "1", "check", "once"], 1, 0),
    ("check, no such service", None, ["-w", "1", "check", "missing"], 1, None),
    ("no arguments", None, [], 100, None),
    ("unknown command", None, ["frob", "web"], 100, None),
    ("-V", None, ["-V"], 100, None),
    ("LSB status, running", "web", ["status"], 0, None),
    ("LSB status, down", "idle", ["status"], 3, None),
    # runit 2.3.0 (void-linux/runit#20): the service's state; 2.1.2's was its log's, running
    ("LSB status, down with its log running", "logged", ["status"], 3, 0),
    ("LSB status, unreadable status", "garbled", ["status"], 4, None),
    ("LSB status, runsv gone", "gone", ["status"], 1, None),
    ("LSB status, no such service", "missing", ["status"], 1, None),
    ("LSB, no command", "web", [], 2, None),
]


@under_both_runsvs
def test_exit_codes(pair):
    """Each row of ``EXIT_CODES`` on our sv and the C sv: ours gives the row's code, the C sv
    the one of its release (runit 2.3.0 changed two)."""
    pair.add("web")
    pair.add("idle", down=True)
    pair.add("logged", log_run=LOG_RUN, down=True)
    pair.add("once")
    pair.add("unready", check=SH + "exit 1\n")
    pair.add("garbled")
    pair.add("gone")
    pair.start("web", "idle", "logged", "once", "unready", "garbled", "gone")
    pair.each(lambda tree: tree.control("once", b"o"))
    wait_stat(pair, "once", "run, want down\n")
    pair.each(lambda tree: tree.control("gone", b"x"))
    for tree in pair.trees.values():
        # runsv rewrites its status only on a change: this one stays unreadable
        (tree.svdir / "garbled" / "supervise" / "status").write_bytes(b"abc")
        wait_until(lambda: not is_runsv_up(tree.svdir / "gone"), what="runsv exit")
    before_230 = not c_runit_at_least("2.3.0")
    found, expected = {}, {}
    for what, lsb_name, args, code, code_before_230 in EXIT_CODES:
        for impl in ("c", "ours"):
            kwargs = {"argv0": lsb_name} if lsb_name else {}
            found[what, impl] = pair.sv(impl, *args, **kwargs)[0]
            old = impl == "c" and before_230 and code_before_230 is not None
            expected[what, impl] = code_before_230 if old else code
    assert found == expected


@under_both_runsvs
def test_a_command_is_sent_whatever_runsv_wants(pair):
    """sv writes the command whatever want runsv has, as runit 2.3.1's does: a second ``down``
    of a service still running after its TERM sends it TERM again. The C sv before 2.3.1
    skipped a command whose want runsv had (but for ``d`` with no TERM sent yet)."""
    pair.add("stubborn", run=SH + "trap 'echo TERM >>terms' TERM\n: >ready\n"
                                  "while :; do sleep 0.1; done\n")
    pair.start("stubborn")
    for tree in pair.trees.values():
        wait_until(lambda: (tree.svdir / "stubborn" / "ready").exists(), what="TERM trapped")
    assert pair.same("-w", "1", "down", "stubborn") == (
        1, "timeout: run: stubborn: (pid N) Ns, want down, got TERM\n", "")
    assert pair.same("down", "stubborn") == (0, "", "")

    def terms(impl):
        return (read_text(pair.trees[impl].svdir / "stubborn" / "terms") or "").count("TERM")
    wait_until(lambda: terms("ours") == 2, what="our sv's second TERM")
    if c_runit_at_least("2.3.1"):
        wait_until(lambda: terms("c") == 2, what="the C sv's second TERM")
    else:
        time.sleep(0.5)  # sent beside ours, which has arrived: a second one would have too
        assert terms("c") == 1


@under_both_runsvs
def test_a_command_is_written_whatever_the_status_says(pair):
    """A status sv cannot read does not stop a command, as in runit 2.3.1: runsv takes it and
    writes a new status; without ``supervise/`` the write itself fails and says so. The C sv
    before 2.3.1 read the status first and gave up at its warning."""
    pair.add("garbled", down=True)
    pair.start("garbled")
    for tree in pair.trees.values():
        (tree.svdir / "garbled" / "supervise" / "status").write_bytes(b"abc")
        (tree.svdir / "bare").mkdir()
    since_231 = c_runit_at_least("2.3.1")
    found = {impl: pair.sv(impl, "up", "bare") for impl in pair.svs}
    new = (1, "warning: bare: unable to open supervise/control: file does not exist\n", "")
    old = (1, "warning: bare: unable to open supervise/ok: file does not exist\n", "")
    assert found == {"ours": new, "c": new if since_231 else old}
    found = {impl: pair.sv(impl, "up", "garbled") for impl in pair.svs}
    old = (1, "warning: garbled: unable to read supervise/status: bad format\n", "")
    assert found == {"ours": (0, "", ""), "c": (0, "", "") if since_231 else old}
    for impl in ("ours", "c") if since_231 else ("ours",):
        tree = pair.trees[impl]
        wait_until(lambda: tree.says("garbled", "run\n"), what="garbled taken up")
    # ours waits for runsv's new status (the C sv's first look, a tick later, races it)
    tree = pair.trees["ours"]
    (tree.svdir / "garbled" / "supervise" / "status").write_bytes(b"abc")
    assert pair.sv("ours", "-v", "down", "garbled") == (0, "ok: down: garbled: Ns\n", "")


# -- our fixes and waits, on real runsv -----------------------------------------------------
@under_both_runsvs
def test_restart_never_reports_the_old_pid(pair):
    pair.add("svc")
    pair.start("svc")
    tree = pair.trees["ours"]
    for _ in range(3):
        old = tree.pid("svc")  # started a moment ago: runit's same-second case
        code, out, err = pair.sv("ours", "restart", "svc", raw=True)
        assert (code, err) == (0, "")
        reported = re.fullmatch(r"ok: run: svc: \(pid (\d+)\) \d+s\n", out)
        assert reported, out
        # the new process, the one runsv now records
        assert int(reported.group(1)) == tree.pid("svc") != old, (out, old)


@under_both_runsvs
def test_wait_is_event_driven(pair):
    """sv -w returns right after runsv's status write, not at its next look (runit's sv looks
    every 420 ms; ours wakes on the write, and looks again at that pace only as a safety net).
    Timed to the moment sv says ``ok`` (it flushes each line), not to its exit: on a loaded
    machine an interpreter's teardown took longer than the wait it ends."""
    # control/u runs before every start, so the run status is written ~0.3 s after sv sent u,
    # while sv is already waiting.
    pair.add("svc", down=True, hooks={"u": "sleep 0.3\n"})
    pair.start("svc")
    status_file = pair.trees["ours"].svdir / "svc" / "supervise" / "status"
    delays = []
    for _ in range(7):
        waiting = pair.sv_process("ours", "-w", "5", "up", "svc")
        try:
            said = waiting.stdout.readline()
            delays.append(time.time() - status_file.stat().st_mtime)
            assert waiting.wait(timeout=15) == 0
        finally:
            waiting.kill()
            waiting.wait()
            waiting.stdout.close()
        assert pair.tidy("ours", said) == "ok: run: svc: (pid N) Ns, normally down\n", said
        wait_older_than(pair, "svc")
        assert pair.sv("ours", "-w", "5", "down", "svc")[0] == 0
    # a looking sv would say it a uniform 0..0.42 s after the write: a median near 0.2 s
    assert sorted(delays)[3] < 0.1, delays
