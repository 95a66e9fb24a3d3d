"""The fast tier's claims that are about time, timed — here, in the slow tier, because a
machine shared by others (two cores, a parallel run) can stall any process for a while: each
deadline is many times what it takes unloaded, and still far from what the regression it
catches would take. The fast tier checks the same behaviour without a clock (docs/testing.md),
and tests/test_timing_rule.py keeps clocks out of it.
"""

import os
import threading
import time

import pytest

from runit_provision.apply.runner import SubprocessRunner
from runit_provision.checks.expected import expectations
from runit_provision.checks.verify import verify_host
from runit_provision.protocol import eventdir
from runit_provision.protocol.status import State
from runit_provision.runtime import sv
from runit_provision.runtime.control import wakers

from .checks.conftest import sandbox  # noqa: F401 (fixtures)
from .checks.test_verify import faked, host  # noqa: F401 (fixtures)
from .hiera.test_source import billion_laughs
from .protocol.test_eventdir import poster, side, waiter_in  # noqa: F401 (fixtures)
from .runtime.test_sv_session import (fake, later, no_inotify, ns, posting, run_sv,  # noqa: F401
                                      svdir, wait_through, write_check)
from .security.test_input_bounds import MAX_SECONDS, plan

pytestmark = pytest.mark.slow

# A wait woken by what it waits for ends within this of the wake (~1-3 ms unloaded); sv's
# safety look, which would hide a missed wake, comes 0.42 s on (wait_through puts it past
# the wait: a missed wake is a timeout there).
WOKEN_WITHIN = 1.0


def timed(call, *args, **named):
    """``(what call returned, seconds it took)``."""
    started = time.monotonic()
    result = call(*args, **named)
    return result, time.monotonic() - started


# -- sv's waits (tests/runtime/test_sv_session.py, test_conformance_sv_fake.py) ---------------
@pytest.mark.parametrize("how", ["SVWAIT=0", "-w 0 over SVWAIT=100", "the default, 1 s"])
def test_sv_waits_as_long_as_it_is_told(fake, capfd, monkeypatch, how):
    """SVWAIT and -w bound the wait (runit's default: 7 s; here SVWAIT=100 or a default made
    1 s); a service that never gets there times out at that bound, not later."""
    fake("web", want="d")
    args, told = ["stop", "web"], 0.0
    if how == "SVWAIT=0":
        monkeypatch.setenv("SVWAIT", "0")
    elif how == "-w 0 over SVWAIT=100":
        monkeypatch.setenv("SVWAIT", "100")
        args = ["-w", "0", "down", "web"]
    else:
        monkeypatch.setattr(sv, "DEFAULT_WAIT", 1)
        told = 1.0
    (code, out, _), took = timed(run_sv, capfd, *args)
    assert (code, ns(out)) == (1, "timeout: run: web: (pid 100) Ns, want down\n")
    assert told <= took < told + 3.0, took  # not 7 s, not 100 s


@pytest.mark.parametrize("waker", ["inotify", "poll", "runsv's post", "ok's reader gone",
                                   "runsv killed"])
def test_sv_ends_its_wait_as_soon_as_it_is_woken(fake, capfd, monkeypatch, waker):
    """Each way a wait is woken (test_sv_session's event-driven waits), timed."""
    if waker == "poll":
        monkeypatch.setattr(wakers, "_open_watcher", lambda: None)
    service = fake("web", pid=0, state=State.DOWN, want="d")
    if waker in ("inotify", "poll"):
        action, args = lambda: service.set(pid=4242, want="u", age=0), ("up", "web")
    elif waker == "ok's reader gone":
        action, args = service.stop_runsv, ("exit", "web")
    else:
        no_inotify(monkeypatch)
        poster = posting(service)
        if waker == "runsv's post":
            def action():
                service.set(pid=4242, want="u", age=0)
                poster.post(b"s")
            args = ("up", "web")
        else:
            def action():
                service.stop_runsv()
                poster.close(post=False)
            args = ("exit", "web")
    try:
        code, out, lag = wait_through(capfd, action, "-w", "5", *args)
    finally:
        if waker == "runsv's post":
            poster.close(post=False)
    assert code == 0, out
    assert lag < WOKEN_WITHIN, lag


def test_a_failing_check_is_retried_at_its_pace(fake, capfd, svdir):
    """./check is run again at most CHECK_RETRY_MAX (0.42 s) apart: ready 0.3 s in, sv is
    done within a retry of it (a slack of 1 s for the load; -w 5 would be the regression)."""
    fake("web")
    flag = svdir / "ready"
    write_check(svdir, "test -e %s\n" % flag)
    timer = later(0.3, flag.touch)
    try:
        (code, out, _), took = timed(run_sv, capfd, "-w", "5", "check", "web")
    finally:
        timer.join()
    assert (code, ns(out)) == (0, "ok: run: web: (pid 100) Ns\n")
    assert took < 0.3 + wakers.CHECK_RETRY_MAX + 1.0, took


# -- runsv's post past a full FIFO (tests/protocol/test_eventdir.py) --------------------------
def test_a_waiter_that_never_reads_costs_runsv_no_wait(side, poster, monkeypatch):
    """The write into a full FIFO is not waited on, not even a while (~0.1 ms unloaded)."""
    full = waiter_in(side, monkeypatch)
    other = waiter_in(side, monkeypatch)
    try:
        while True:
            os.write(full.fd, b"." * 4096)
    except BlockingIOError:
        pass
    _, took = timed(poster.post, eventdir.STATUS)
    assert took < 2.0, took
    assert os.read(other.fd, 4) == b"s"
    full.close()
    other.close()


# -- the applier's commands (tests/apply/test_runner.py) --------------------------------------
@pytest.mark.skipif(os.geteuid() != 0, reason="as tests/apply/test_runner.py")
def test_a_command_past_its_time_is_given_up_at_its_time():
    """A command that never ends (its output endless, a child holding the pipe) is killed
    at its timeout — 1 s — not when its output or child ends (never)."""
    done, took = timed(SubprocessRunner().run, ["/bin/sh", "-c", "sleep 1000 & cat /dev/zero"],
                       timeout=1)
    assert done.returncode is None
    assert 1.0 <= took < 10, took


# -- bounded input (tests/security/test_input_bounds.py) --------------------------------------
def test_n5_a_billion_laughs_is_refused_in_a_moment(tmp_path):
    """The CLI's run, timed by its wrapper: ~0.4 s unloaded (docs/hiera.md#bounds-on-a-data-file),
    70 s before the bound."""
    result = plan(tmp_path, "site::unused:\n" + billion_laughs("  "))
    assert result["rc"] == 1, result
    assert result["seconds"] < MAX_SECONDS, result


# -- verify's hosts (tests/checks/test_verify.py) --------------------------------------------
def test_a_host_that_does_not_answer_is_given_up_at_its_time(faked, host):
    """A probe the host holds is given up at ``seconds`` (0.5), not before it, and not when
    the probe ends (never, here)."""
    let_go = threading.Event()

    class Held:
        def run(self, command, *args):
            let_go.wait(60)
            return host.run(command, *args)

    config, tree, _, _ = faked
    try:
        outcomes, took = timed(verify_host, Held(), expectations(config, tree), "held",
                               seconds=0.5)
    finally:
        let_go.set()
    assert {outcome.status for outcome in outcomes} == {"error"}
    assert 0.5 <= took < 20, took
