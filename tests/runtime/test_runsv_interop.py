"""Interop: the C runit's tools drive and host our runsv exactly as they do their own.

- The C ``sv`` drives a table of scenarios twice, once under ``/usr/bin/runsv`` and once under
  ours; the normalised transcripts (sv's output and exit code, the decoded ``supervise/``
  files of both sides after each step, and what runsv and its children printed) must match.
- The C ``runsvdir`` runs our runsv from PATH.
- The log pipe survives restarts of either side and drains to EOF on exit.

Every scenario runs in its own session and is killed by process group in a finalizer. The
scenarios run concurrently (they mostly wait), so the tier stays fast.
"""

import concurrent.futures
import difflib
import os
import signal
import time

import pytest

from ..conftest import make_bin_dir, our_tool, require_c_runit
from .processes import (
    C_RUNSV, C_RUNSVDIR, C_SV, RUN_SLEEP, SH, BASE_PATH, Processes, children_of, cmdline,
    decode_side, describe_side, is_runsv_up, make_service, normalise, read_bytes, run_sv,
    status_record, wait_until)

pytestmark = pytest.mark.interop

STABLE_SECONDS = 0.25  # nothing changed on disk or in the output for this long: settled
SETTLE_DEADLINE = 15.0

# A run that reports each signal it gets and survives all but TERM.
RUN_TRAPS = SH + """echo run: start
for s in HUP ALRM INT QUIT USR1 USR2; do trap "echo run: got $s" $s; done
trap 'echo run: got TERM; kill $! 2>/dev/null; exit 0' TERM
while :; do sleep 1000 & wait $!; done
"""
RUN_IGNORES_TERM = SH + "trap '' TERM\necho run: start\nexec sleep 1000\n"
FINISH = SH + 'echo "finish: $1 $2"\n'
LOG_CAT = SH + "exec cat >>out\n"


def hook(letter, rc):
    return 'echo "hook %s"\nexit %d\n' % (letter, rc)


# -- the scenario table -------------------------------------------------------------------
# layout: keyword arguments of make_service (service name "svc").
# steps: sv arguments as one string, or "@newsec SIDE" — wait until the wall clock is past the
# second of SIDE's status stamp. sv compares stamps in whole seconds (runit-protocol.md §9.1), so
# a t/k/o check sent in the same second as the last change can pass before runsv acted; that
# race is sv's, not runsv's, and would make the two runs differ for no reason.
# "@want SIDE LETTER": wait until SIDE's status says want LETTER. ``sv -v up`` on a service that
# runs with want down is such a race too: sv's check (state run) passes at once, and whether
# its line still says ", want down" depends on whether runsv has read the byte yet — so those
# steps send a plain ``up`` and wait for runsv to record it.
SCENARIOS = {
    "plain": dict(
        layout=dict(run=RUN_SLEEP),
        steps=[
            "status svc", "-v status svc", "-v down svc", "status svc", "down svc",
            "-v up svc", "-v up svc", "status svc", "@newsec svc", "-v term svc",
            "-v once svc", "status svc", "up svc", "@want svc u", "-v pause svc", "status svc",
            "-v pause svc", "-v cont svc", "kill svc", "status svc", "-v check svc",
            "-v stop svc", "-v check svc", "status svc", "@newsec svc", "-v once svc",
            # sv start waits for "run", not for want up: from "run, want down" its line
            # races runsv's read of the 'u' (either runsv, on a busy machine) — so up first
            "status svc", "up svc", "@want svc u", "start svc", "-v exit svc", "status svc",
            "up svc",
            "-v exit svc",
        ]),
    "restarts": dict(
        layout=dict(run=RUN_SLEEP),
        steps=[
            "@newsec svc", "-v restart svc", "@newsec svc", "-v try-restart svc",
            "@newsec svc", "-w 3 force-reload svc", "@newsec svc", "-w 3 force-restart svc",
            "-w 3 force-stop svc", "status svc", "-v try-restart svc", "status svc",
            "up svc", "sstatus svc", "-v force-shutdown svc", "status svc",
        ]),
    "log": dict(
        layout=dict(run=RUN_SLEEP, log_run=LOG_CAT),
        steps=[
            "status svc", "-v down svc", "status svc", "-v down svc/log", "status svc",
            "status svc/log", "-v up svc/log", "-v up svc", "@newsec svc/log",
            "-v term svc/log", "status svc", "-v pause svc/log", "status svc",
            "-v cont svc/log", "kill svc/log", "status svc", "-w 1 exit svc/log",
            "status svc", "@newsec svc", "-v restart svc", "-v shutdown svc", "status svc",
            "status svc/log",
        ]),
    "down-file": dict(
        layout=dict(run=RUN_SLEEP, down=True),
        steps=[
            "status svc", "-v start svc", "status svc", "-v down svc", "status svc",
            "@newsec svc", "-v once svc", "status svc", "up svc", "@want svc u", "status svc",
            "-v stop svc", "-v exit svc",
        ]),
    "finish": dict(
        layout=dict(run=RUN_SLEEP, finish=FINISH),
        steps=[
            "status svc", "-v down svc", "status svc", "-v up svc", "kill svc",
            "status svc", "@newsec svc", "-v term svc", "status svc", "-v stop svc",
            "@newsec svc", "-v once svc", "-v down svc", "-v up svc", "-v exit svc",
        ]),
    "hooks": dict(
        layout=dict(run=RUN_SLEEP, hooks={
            "u": hook("u", 0), "d": hook("d", 0), "x": hook("x", 0), "t": hook("t", 1),
            "h": hook("h", 0), "p": hook("p", 0), "k": hook("k", 1),
            "a": hook("a", 1), "1": hook("1", 0)}),
        # No control/c: `restart` sends "tcu", and whether the C runsv reads the c before or
        # after it reaped the TERMed run (so whether control/c runs) is a race in runit.
        steps=[
            "status svc", "-v hup svc", "alarm svc", "1 svc", "-v pause svc", "status svc",
            "-v cont svc", "status svc", "-v down svc", "-v up svc", "@newsec svc",
            "-v term svc", "kill svc", "status svc", "@newsec svc", "-v restart svc",
            "-v exit svc",
        ]),
    "hooks-log": dict(
        layout=dict(run=RUN_SLEEP, log_run=LOG_CAT, hooks={
            "u": hook("u", 0), "d": hook("d", 0), "x": hook("x", 0), "t": hook("t", 1)}),
        steps=[
            "status svc", "-v down svc", "-v up svc", "-v down svc/log", "-v up svc/log",
            "-v exit svc",
        ]),
    "ignores-term": dict(
        layout=dict(run=RUN_IGNORES_TERM, finish=FINISH),
        steps=[
            "status svc", "-w 1 down svc", "status svc", "-w 1 down svc",
            "-w 1 force-stop svc", "status svc", "-v up svc", "@newsec svc",
            "-w 1 force-restart svc", "status svc", "@newsec svc", "-w 1 term svc",
            "status svc", "-w 1 force-stop svc", "-v exit svc",
        ]),
    # A deliberate difference (docs/compatibility.md): `k` with want exit. The C runsv marks the
    # service down without reaping it and exits at once — stale status, no ./finish, the
    # killed process orphaned; ours waits for the reaper, runs ./finish, writes down, exits.
    # Not compared line by line: test_kill_with_want_exit_is_reaped pins both behaviours.
    "kill-on-exit": dict(
        compare=False,
        layout=dict(run=RUN_IGNORES_TERM, finish=FINISH),
        steps=["-w 1 force-shutdown svc", "status svc"]),
    "signals": dict(
        layout=dict(run=RUN_TRAPS),
        steps=[
            "status svc", "-v hup svc", "alarm svc", "-v interrupt svc", "quit svc",
            "-v 1 svc", "2 svc", "-v reload svc", "-v pause svc", "hup svc", "status svc",
            "-v cont svc", "status svc", "-v down svc", "status svc", "-v interrupt svc",
            "-v shutdown svc",
        ]),
}

_EXIT_WORDS = ("exit", "shutdown", "force-shutdown")


class ScenarioRun:
    """One scenario under one runsv: a tmp SVDIR, runsv in its own session, the transcript."""

    def __init__(self, name, spec, runsv, root):
        self.name = name
        self.spec = spec
        self.runsv = runsv
        self.svdir = root / name
        self.svdir.mkdir(parents=True)
        self.service = make_service(self.svdir, "svc", **spec["layout"])
        self.output_path = root / (name + ".output")
        self.processes = Processes()
        self.group = None
        self.lines = []
        self._seen_output = 0

    # -- observation ----------------------------------------------------------------------
    def sides(self):
        sides = [("svc", self.service)]
        if (self.service / "log").is_dir():
            sides.append(("svc/log", self.service / "log"))
        return sides

    def _disk(self):
        return tuple((read_bytes(d / "supervise" / "status"), read_bytes(d / "supervise" / "stat"),
                      read_bytes(d / "supervise" / "pid")) for _, d in self.sides())

    def _is_transient(self):
        if self.group.poll() is not None:
            return False
        for _, side in self.sides():
            status = status_record(side)
            if status is None:
                return True
            if status.state.name == "FINISH":
                return True
            if status.want == "u" and status.state.name == "DOWN":
                return True  # a start is due (back-off, or about to happen)
        return False

    def settle(self):
        """Wait until nothing changes for STABLE_SECONDS and nothing is half-way."""
        deadline = time.monotonic() + SETTLE_DEADLINE
        last = None
        since = time.monotonic()
        while True:
            now_seen = (self._disk(), self.output_path.stat().st_size, self.group.poll())
            now = time.monotonic()
            if now_seen != last:
                last, since = now_seen, now
            elif now - since >= STABLE_SECONDS and not self._is_transient():
                return
            if now > deadline:
                raise AssertionError("%s: runsv did not settle; last: %r" % (self.name, last))
            time.sleep(0.02)

    def _record_state(self):
        for name, side in self.sides():
            self.lines.append("  " + describe_side(name, decode_side(side)))
        output = self.output_path.read_bytes()
        new, self._seen_output = output[self._seen_output:], len(output)
        for line in new.decode("utf-8", "replace").splitlines():
            self.lines.append("  | " + normalise(line))

    # -- driving --------------------------------------------------------------------------
    def run(self):
        try:
            self.group = self.processes.start([self.runsv, "svc"], cwd=str(self.svdir),
                                              env={"PATH": BASE_PATH},
                                              output=str(self.output_path))
            wait_until(lambda: all(is_runsv_up(d) for _, d in self.sides()),
                       what="%s: runsv up" % self.name)
            self.settle()
            self.lines.append("start")
            self._record_state()
            for step in self.spec["steps"]:
                self._step(step)
            rc = self.group.wait(10)
            self.lines.append("runsv exit %d" % rc)
            self._record_state()
        finally:
            self.processes.kill_all()
        return "\n".join(self.lines) + "\n"

    def _step(self, step):
        if step.startswith("@newsec "):
            side = self.svdir / step.split()[1]
            stamp = status_record(side).seconds
            wait_until(lambda: time.time() >= stamp + 1, what="a new second")
            return
        if step.startswith("@want "):
            _, side, letter = step.split()
            wait_until(lambda: status_record(self.svdir / side).want == letter,
                       what="%s wanting %s" % (side, letter))
            return
        args = step.split()
        output, rc = run_sv(args, self.svdir)
        self.lines.append("$ sv " + step)
        self.lines.extend("  > " + line for line in normalise(output).splitlines())
        self.lines.append("  rc=%d" % rc)
        if any(word in args for word in _EXIT_WORDS) and "/log" not in args[-1]:
            self.group.wait(10)
        self.settle()
        self._record_state()


def _prepare_scenario(name, impl, root):
    runsv = C_RUNSV if impl == "c" else our_tool("runsv")
    return ScenarioRun(name, SCENARIOS[name], runsv, root / impl)


@pytest.fixture(scope="module")
def transcripts(request, tmp_path_factory):
    """Every selected scenario under both runsvs, run concurrently; {(name, impl): text}."""
    require_c_runit()
    wanted = sorted({item.callspec.params["scenario"] for item in request.session.items
                     if getattr(item, "callspec", None) is not None
                     and "scenario" in item.callspec.params
                     and item.module.__name__ == __name__})
    root = tmp_path_factory.mktemp("interop")
    jobs = [(name, impl) for name in wanted for impl in ("c", "ours")]
    results = {}
    # Every script is written before any thread forks: a script still open for writing in one
    # thread while another forks is held by that child until its exec, and a runsv that execs
    # the script then fails with ETXTBSY (seen once: "unable to start log/./run: text busy").
    runs = {(name, impl): _prepare_scenario(name, impl, root) for name, impl in jobs}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        futures = {pool.submit(run.run): key for key, run in runs.items()}
        for future, key in futures.items():
            try:
                results[key] = future.result()
            except Exception as exc:  # reported by the test that asks for it
                results[key] = exc
    return results


def _both(transcripts, scenario):
    texts = transcripts[(scenario, "c")], transcripts[(scenario, "ours")]
    for impl, text in zip(("c", "ours"), texts):
        if isinstance(text, Exception):
            raise AssertionError("scenario %s under %s runsv failed: %s"
                                 % (scenario, impl, text)) from text
    return texts


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted(name for name, spec in SCENARIOS.items()
                                            if spec.get("compare", True)))
def test_c_sv_drives_our_runsv_like_c_runsv(scenario, transcripts):
    c_text, ours_text = _both(transcripts, scenario)
    if c_text != ours_text:
        diff = "".join(difflib.unified_diff(c_text.splitlines(True), ours_text.splitlines(True),
                                            "C runsv", "our runsv"))
        pytest.fail("scenario %s differs:\n%s" % (scenario, diff))


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["kill-on-exit"])
def test_kill_with_want_exit_is_reaped(scenario, transcripts):
    """sv force-shutdown on a TERM-ignoring run: sv's side is the same, runsv's differs."""
    c_text, ours_text = _both(transcripts, scenario)
    sv_lines = "  > kill: run: svc: (pid N) Ns, want down, got TERM\n  rc=1\n"
    for text in (c_text, ours_text):
        assert sv_lines in text and "runsv exit 0\n" in text, text
    stale = "svc: run want=d paused=0 term=1 pid=yes stat='run, got TERM, want exit\\n'"
    # runit 2.1.2: `k` sets "down" in memory only, and want exit + down means exit now.
    assert c_text.count(stale) == 3 and "finish:" not in c_text, c_text
    # Ours: the reaper writes the real state and ./finish gets the KILL.
    assert stale not in ours_text.split("$ sv -w 1 force-shutdown svc")[1], ours_text
    assert "  | finish: -1 9\n" in ours_text, ours_text
    assert ours_text.endswith("runsv exit 0\n  svc: down want=d paused=0 term=0 pid=no "
                              "stat='down\\n' pidfile=''\n"), ours_text


# -- the C runsvdir runs our runsv -------------------------------------------------------------
def _runsv_children(runsvdir_pid):
    """{service name: pid} of the runsv processes runsvdir started."""
    found = {}
    for pid in children_of(runsvdir_pid):
        argv = cmdline(pid)
        if len(argv) >= 2 and os.path.basename(argv[-2]) == "runsv":
            found[argv[-1]] = pid
        elif argv and os.path.basename(argv[0]) == "runsv":
            found[argv[-1]] = pid
    return found


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_c_runsvdir_runs_our_runsv_from_path(tmp_path, processes):
    require_c_runit()
    bin_dir = make_bin_dir(tmp_path / "bin", "ours")
    svdir = tmp_path / "service"
    svdir.mkdir()
    make_service(svdir, "a")
    make_service(svdir, "b", log_run=LOG_CAT)
    make_service(svdir, "c")
    runsvdir = processes.start([C_RUNSVDIR, str(svdir)], cwd=str(tmp_path),
                               env={"PATH": "%s:%s" % (bin_dir, BASE_PATH)},
                               output=str(tmp_path / "runsvdir.out"))
    sides = [svdir / "a", svdir / "b", svdir / "b" / "log", svdir / "c"]
    wait_until(lambda: all(is_runsv_up(side) for side in sides), what="three runsv up")
    wait_until(lambda: all((status_record(side) or 0) and status_record(side).pid
                           for side in sides), what="every service running")

    # The runsv processes are ours: the Python entry point found first on runsvdir's PATH.
    runsvs = wait_until(lambda: (lambda found: found if len(found) == 3 else None)(
        _runsv_children(runsvdir.pid)), what="three runsv children")
    assert sorted(runsvs) == ["a", "b", "c"]
    for name, pid in runsvs.items():
        argv = cmdline(pid)
        assert "python" in os.path.basename(os.readlink("/proc/%d/exe" % pid)), argv
        assert argv[-2] == str(bin_dir / "runsv") and argv[-1] == name, argv
        assert os.readlink("/proc/%d/cwd" % pid) == str(svdir / name)

    output, rc = run_sv(["status", "a", "b", "c"], svdir)
    lines = normalise(output).splitlines()
    assert rc == 0, output
    assert lines == ["run: a: (pid N) Ns", "run: b: (pid N) Ns; run: log: (pid N) Ns",
                     "run: c: (pid N) Ns"], output

    # Taking c out of the tree: runsvdir TERMs its runsv, which acts as on `x`.
    c_service_pid = status_record(svdir / "c").pid
    moved = tmp_path / "c-removed"
    os.rename(str(svdir / "c"), str(moved))
    os.kill(runsvdir.pid, signal.SIGALRM)  # Debian's runsvdir: rescan now, not in 5 s
    wait_until(lambda: not _alive(runsvs["c"]), what="c's runsv gone")
    assert not _alive(c_service_pid)
    assert (moved / "supervise" / "stat").read_text() == "down\n"
    assert _alive(runsvs["a"]) and _alive(runsvs["b"])

    # SIGHUP: runsvdir TERMs every runsv and exits 111; each brings its service down.
    service_pids = [status_record(side).pid for side in sides if side.parent != svdir / "c"
                    and side != svdir / "c"]
    os.kill(runsvdir.pid, signal.SIGHUP)
    assert runsvdir.wait(10) == 111
    for pid in list(runsvs.values()) + service_pids:
        wait_until(lambda: not _alive(pid), what="pid %d gone after SIGHUP" % pid)
    for side in sides[:3]:
        assert (side / "supervise" / "stat").read_text() == "down\n", side
        assert not is_runsv_up(side)


# -- supervise/event/: ours, and nothing the C runit minds --------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("how", ["exit", "killed"])
def test_event_directory_ours_left_does_not_disturb_the_c_runit(how, tmp_path, processes):
    """A service our runsv served (and left, cleanly or killed) keeps its supervise/event/.
    The C runsv takes it over as if it were not there; the C sv and ours drive it — ours
    through its old wait (event/ok has no reader), leaving nothing in event/."""
    require_c_runit()
    svdir = tmp_path / "service"
    service = make_service(svdir, "svc", run=RUN_SLEEP, log_run=LOG_CAT)
    ours = processes.start([our_tool("runsv"), "svc"], cwd=str(svdir), env={"PATH": BASE_PATH},
                           output=str(tmp_path / "ours.out"))
    sides = (service, service / "log")
    wait_until(lambda: all((status_record(side) or 0) and status_record(side).pid
                           for side in sides), what="ours running")
    for side in sides:  # made once the services run, off the start path: waited for
        wait_until(lambda: _listing(side / "supervise" / "event") == ["ok"],
                   what="%s's supervise/event/ made" % side.name)
    if how == "exit":
        output, rc = run_sv(["-w", "10", "exit", "svc"], svdir, sv=our_tool("sv"))
        assert rc == 0, output
    else:
        # runsv too: the C runsv's lock waits for its end (a SIGKILLed group ends in any
        # order: the children may be gone while runsv still holds supervise/lock)
        left = [ours.pid] + [status_record(side).pid for side in sides]
        os.killpg(ours.pid, signal.SIGKILL)
        for pid in left:
            wait_until(lambda: not _alive(pid), what="the killed tree's processes gone")
    processes.start([C_RUNSV, "svc"], cwd=str(svdir), env={"PATH": BASE_PATH},
                    output=str(tmp_path / "c.out"))
    wait_until(lambda: all(is_runsv_up(side) and (status_record(side) or 0)
                           and status_record(side).pid for side in sides), what="C runsv up")
    for sv, verbs in ((C_SV, ("down", "up", "restart")), (our_tool("sv"), ("down", "up"))):
        for verb in verbs:
            output, rc = run_sv(["-w", "10", verb, "svc"], svdir, sv=sv)
            assert rc == 0 and output.startswith("ok: "), (sv, verb, output)
    output, rc = run_sv(["status", "svc"], svdir)
    assert rc == 0 and normalise(output) == "run: svc: (pid N) Ns; run: log: (pid N) Ns\n"
    for side in sides:  # no waiter left behind (the log's ok, a link, went with ours)
        assert set(os.listdir(str(side / "supervise" / "event"))) <= {"ok"}
    assert (tmp_path / "c.out").read_text() == ""


# -- the log pipe: nothing lost, nothing doubled, EOF at the end ------------------------------
# The writer finishes its current line before it obeys TERM (the trap only sets a flag), and
# keeps its count across restarts, so the log must read exactly "line 1" .. "line N".
RUN_WRITER = SH + """stop=
trap 'stop=1' TERM
n=$(cat count 2>/dev/null || echo 0)
while [ -z "$stop" ]; do
  n=$((n+1)); echo "line $n"; echo $n 1<>count
  sleep 0.01
done
"""


def _count(service):
    """The writer's count, 0 before its first line. The writer writes it over the old one
    (``1<>``: a count only grows, so its digits cover the old ones), never empties it first:
    ``>count`` did, and a read between the truncation and the write gave 0 — a progress wait
    ended at once (seen under a load of 8: 35 lines where 40 were waited for); a wait for a
    non-empty file then waited for ever on a writer paused in between."""
    try:
        return int((service / "count").read_text() or 0)
    except FileNotFoundError:
        return 0


def _logged(service):
    try:
        return (service / "log" / "out").read_text().splitlines()
    except FileNotFoundError:
        return []


@pytest.mark.slow
def test_log_pipe_survives_restarts_and_drains(impl, tmp_path, processes):
    require_c_runit()  # the C sv drives both runsvs
    runsv = C_RUNSV if impl == "c" else our_tool("runsv")
    svdir = tmp_path / "service"
    service = make_service(svdir, "svc", run=RUN_WRITER, log_run=LOG_CAT)
    group = processes.start([runsv, "svc"], cwd=str(svdir), env={"PATH": BASE_PATH},
                            output=str(tmp_path / "runsv.out"))
    log = service / "log"

    def sv(*args):
        output, rc = run_sv(list(args), svdir)
        assert rc == 0, (args, output)
        return output

    def progress(at_least):
        target = _count(service) + at_least
        wait_until(lambda: _count(service) >= target, what="writer progress")

    def caught_up():
        # The writer is stopped (maybe between its echo and its count update, so the last
        # line can be one ahead): the logger has written everything that is in the pipe.
        def check():
            lines = _logged(service)
            return lines and int(lines[-1].split()[1]) >= _count(service)
        wait_until(check, what="logger caught up")

    def send(args, side, condition, what):
        # No -v: sv polls every 420 ms; waiting on the status file is faster.
        sv(*args)
        wait_until(lambda: condition(status_record(side)), what=what)

    def pause():
        send(["pause", "svc"], service, lambda st: st.paused, "paused")

    def cont():
        send(["cont", "svc"], service, lambda st: not st.paused, "continued")

    def restart(side):
        old = status_record(side).pid
        sv("t", str(side.relative_to(svdir)))
        wait_until(lambda: (status_record(side).pid or old) != old, what="new pid")

    wait_until(lambda: is_runsv_up(service) and is_runsv_up(log), what="runsv up")
    for _ in range(2):
        progress(5)
        restart(service)
    for _ in range(2):
        # TERM kills cat between its read() and write() only with the writer stopped.
        progress(5)
        pause()
        caught_up()
        restart(log)
        cont()
    # The logger down for a while: what the writer writes meanwhile waits in the pipe.
    progress(5)
    pause()
    caught_up()
    send(["down", "svc/log"], log, lambda st: not st.pid and st.state.name == "DOWN",
         "logger down")
    before = len(_logged(service))
    cont()
    progress(10)
    assert len(_logged(service)) == before
    send(["up", "svc/log"], log, lambda st: st.pid and st.state.name == "RUN", "logger up")
    progress(5)

    logger = status_record(log).pid
    sv("x", "svc")
    assert group.wait(10) == 0
    assert not _alive(logger), "runsv exited before its logger"
    total = _count(service)
    assert total >= 40  # the progress waits' sum
    assert _logged(service) == ["line %d" % n for n in range(1, total + 1)]
    assert (log / "supervise" / "stat").read_text() == "down\n"
    assert (service / "supervise" / "stat").read_text() == "down\n"


def _listing(directory):
    """``directory``'s names, sorted; [] while it is not there."""
    try:
        return sorted(os.listdir(str(directory)))
    except FileNotFoundError:
        return []
