"""Issue 44, item 8: a stop at any step of ``runit-provision demo`` — Ctrl-C (SIGINT to its
process group), SIGTERM, SIGHUP, or its standard output closed (``demo | head -3``) — takes
the sandbox down as the demo's end does: no process of the sandbox left, the sandbox gone, one
line on stderr (none for the closed output) and no traceback, exit 130, 143, 129 or 141.

The steps are found as a user sees them: the real program's output is read line by line, and
the stop is delivered as the line that starts step N arrives (step 0's is its first line, said
once the sandbox is made and its runsvdir started; the others are ``── N.``), so it lands in
that step's work — apply waiting for runsv, status, logs, the plan, the restart, the no-op, the
end's own take-down.

Which stops at which steps, and why not all 32: the three signals take one path — one handler,
their number the only difference — and the closed output another (noticed at the demo's next
write, its own or a command's it runs). Each path is driven at every step (SIGINT, the closed
output: 16 runs, and SIGINT once more inside step 1, once apply has printed its plan and
executes it); SIGTERM and SIGHUP at the two moments that differ most (inside a command the
demo runs — apply writing files and waiting for runsv — and while the demo is already taking
the tree down) to pin their exit code and line. 21 runs of 0.2 to 6 s, about 70 s one after
another in one worker (one test file) on a loaded two-core machine.
The noting of a stop while the sandbox is made is driven in-process
(``test_a_stop_while_the_sandbox_is_made_waits_for_it``): no output marks that moment.
"""

import os
import re
import select
import signal
import subprocess
import time

import pytest

from runit_provision.cli import demo as demo_module
from runit_provision.errors import raised_while

from ..conftest import OUR_BIN, ROOT
from ..runtime.processes import cmdline, end_processes_under, kill_pids, stat_fields

PROGRAM = str(OUR_BIN / "runit-provision")
# (step, the line that marks it): every step's first line, and one more inside step 1 — apply
# has printed its plan and is executing it (writing files, waiting for runsv)
MARKERS = [(0, "The example: ")] + [(number, "── %d. " % number)
                                    for number in range(1, len(demo_module.STEPS))]
EXECUTING = (1, "Plan: ")
CODES = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129, "EPIPE": 141}
LINE = {"SIGINT": "interrupted", "SIGTERM": "stopped by SIGTERM", "SIGHUP": "stopped by SIGHUP"}
DEADLINE = 90.0  # for the demo to reach a step, and to end after the stop (a loaded machine)


@pytest.fixture(autouse=True)
def nothing_outlives_the_test(tmp_path):
    yield
    end_processes_under(tmp_path)


class Running:
    """The real ``runit-provision demo`` in a session of its own (its group is what a
    terminal's Ctrl-C reaches), TMPDIR under the test's directory, stdout a pipe read here."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path / "tmp"
        self.tmp.mkdir()
        self.err_path = tmp_path / "stderr"
        with open(str(self.err_path), "wb") as err:
            self.proc = subprocess.Popen([PROGRAM, "demo"], cwd=str(ROOT), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err,
                                         env=dict(os.environ, TMPDIR=str(self.tmp)),
                                         start_new_session=True)
        self.fd = self.proc.stdout.fileno()
        self.buffer = b""
        self.lines = []

    def read_until(self, marker):
        """Lines until one starts with ``marker``; AssertionError at EOF or the deadline."""
        deadline = time.monotonic() + DEADLINE
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                self.lines.append(line.decode("utf-8", "replace"))
                if self.lines[-1].startswith(marker):
                    return
            left = deadline - time.monotonic()
            assert left > 0, "no %r within %ss: %s" % (marker, DEADLINE, self.lines[-5:])
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 65536)
                assert chunk, "the demo ended before %r: %s\n%s" % (
                    marker, self.lines[-5:], self.err_path.read_text())
                self.buffer += chunk

    def drain(self):
        """Everything else it writes, until it closes its output (or the deadline)."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], deadline - time.monotonic())
            if ready and not os.read(self.fd, 65536):
                return
        raise AssertionError("the demo's output still open after %ss" % DEADLINE)

    def stop(self, how):
        if how == "EPIPE":  # the reader leaves, as head does
            self.proc.stdout.close()
            return
        if how == "SIGTERM":  # kill PID
            self.proc.send_signal(signal.SIGTERM)
        else:  # a terminal's Ctrl-C and hang-up reach the foreground process group
            os.killpg(self.proc.pid, getattr(signal, how))
        self.drain()
        self.proc.stdout.close()

    def wait(self):
        try:
            return self.proc.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError("the demo did not end within %ss of its stop" % DEADLINE)

    def runsvdir_pid(self):
        for line in self.lines:
            found = re.match(r"runsvdir \(ours, pid (\d+)\)", line)
            if found:
                return int(found.group(1))
        return None


def leftovers(directory, session=None):
    """Live processes of the sandboxes under ``directory``: working there, naming it on their
    command line, or in the session of the demo's runsvdir."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        fields = stat_fields(pid)
        if fields is None:
            continue
        try:
            cwd = os.readlink("/proc/%d/cwd" % pid)
        except OSError:
            cwd = ""
        if (session is not None and int(fields[3]) == session) or \
                cwd.startswith(str(directory)) or str(directory) in " ".join(cmdline(pid)):
            found.append(pid)
    return found


def stopped_at(tmp_path, marker, how):
    step, text = marker
    demo = Running(tmp_path)
    try:
        demo.read_until(text)
        demo.stop(how)
        code = demo.wait()
    finally:
        if demo.proc.poll() is None:
            os.killpg(demo.proc.pid, signal.SIGKILL)
            demo.proc.wait()
    err = demo.err_path.read_text()
    left = leftovers(demo.tmp, demo.runsvdir_pid())
    kill_pids(left)  # the test fails below; nothing of it may run on
    assert "Traceback" not in err, err
    assert (code, left, os.listdir(str(demo.tmp))) == (CODES[how], [], []), (step, how, err)
    if how == "EPIPE":
        assert err == "", err  # the reader left: nothing to say (cli/main's rule)
        return
    match = re.fullmatch(r"runit-provision demo: %s at step (\d) \((.+)\); its tree is down and "
                         r"its sandbox removed\n" % LINE[how], err)
    assert match, err
    assert int(match.group(1)) >= step and match.group(2) == \
        demo_module.STEPS[int(match.group(1))][0], err


def marker_id(marker):
    return "step%d%s" % (marker[0], "-executing" if marker == EXECUTING else "")


@pytest.mark.slow
@pytest.mark.parametrize("marker", MARKERS + [EXECUTING], ids=marker_id)
def test_ctrl_c_at_any_step_takes_the_sandbox_down(tmp_path, marker):
    stopped_at(tmp_path, marker, "SIGINT")


@pytest.mark.slow
@pytest.mark.parametrize("marker", MARKERS, ids=marker_id)
def test_a_closed_output_at_any_step_takes_the_sandbox_down(tmp_path, marker):
    stopped_at(tmp_path, marker, "EPIPE")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("marker", [EXECUTING, MARKERS[7]], ids=marker_id)
def test_sigterm_and_sighup_take_it_down_too(tmp_path, marker, how):
    stopped_at(tmp_path, marker, how)


def test_a_stop_while_the_sandbox_is_made_waits_for_it():
    """Noted inside ``noted()``, raised at its end; after ``hold()``, never raised; a second
    stop after the first is only noted. Handlers restored after the block."""
    before = signal.getsignal(signal.SIGTERM)
    order = []
    with pytest.raises(demo_module.Stopped) as raised:
        with demo_module.Stops() as stops:
            with stops.noted():
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(1000):  # the handler runs between two bytecodes
                    pass
                order.append("made")
            order.append("not reached")
    assert (order, raised.value.signum, stops.first) == (["made"], signal.SIGTERM, signal.SIGTERM)
    with demo_module.Stops() as stops:
        stops.hold()
        os.kill(os.getpid(), signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):
            pass
    assert stops.first == signal.SIGHUP
    with pytest.raises(demo_module.Stopped):
        with demo_module.Stops() as stops:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(1000):
                    pass
            finally:
                os.kill(os.getpid(), signal.SIGTERM)  # a second Ctrl-C while stopping: noted
                for _ in range(1000):
                    pass
    assert stops.first == signal.SIGINT
    assert signal.getsignal(signal.SIGTERM) == before


def test_an_error_raised_while_a_stop_is_handled_is_that_stop():
    """A stop lands wherever the demo is; the code it cuts short may fail in its own cleanup
    (argparse's restores each action's ``nargs`` in a ``finally``): that error is the stop."""
    try:
        try:
            raise demo_module.Stopped(signal.SIGINT)
        finally:
            {}["save_nargs"]  # a cleanup that fails once it was cut short
    except BaseException as exc:
        error = exc
    assert isinstance(error, KeyError) and raised_while(error, demo_module.Stopped)
    assert raised_while(demo_module.Stopped(signal.SIGTERM), demo_module.Stopped)
    assert not raised_while(KeyError("a fault of ours"), demo_module.Stopped)
