"""Fault tier: a tree at its descriptor limit keeps every running service controllable.

runit spreads a tree's descriptors over a runsv per service; ours holds them in one process, so
it must count: up to 15 per logged service (its supervisor's 9, its hosted logger's 4, and the
pidfds of processes adopted from a killed predecessor), a reserve kept free for status writes,
hooks, scans and loggers starting, and a service that does not fit waits — said once, started
when descriptors are freed.
"""

import os
import re
import resource
import shutil
import subprocess
from pathlib import Path

import pytest

from runit_provision.protocol.timer import TimerSpec, timer_spec_bytes, timer_state_from_bytes

from ..conftest import C_RUNIT, our_tool
from .processes import (
    BASE_PATH, SH, end_tree, make_service, running_pid, status_record, wait_until)

pytestmark = pytest.mark.slow


def start_tree(impl, svdir, nofile, stderr):
    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
    bin_dir = Path(our_tool("sv")).parent if impl == "ours" else Path(C_RUNIT["svlogd"]).parent
    runsvdir = our_tool("runsvdir") if impl == "ours" else C_RUNIT["runsvdir"]
    return subprocess.Popen([runsvdir, str(svdir)], start_new_session=True, preexec_fn=limit,
                            env={"PATH": "%s:%s" % (bin_dir, BASE_PATH)},
                            stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)


def logged_tree(tmp_path, count, nofile, impl="ours"):
    """``count`` logged services under ``impl``'s tree started at the ``nofile`` limits:
    ``(services, the tree's Popen, the file its messages go to)``."""
    svdir = tmp_path / "service"
    services = [logged(svdir, "s%03d" % i) for i in range(count)]
    err_path = tmp_path / "tree.err"
    with open(err_path, "wb") as err:
        proc = start_tree(impl, svdir, nofile, err)
    return services, proc, err_path


def said_not_to_fit(err_path):
    """The services the tree has said do not fit, once per saying."""
    return re.findall(r"runsv (s\d+): warning: not enough file descriptors",
                      err_path.read_text())


def logged(svdir, name):
    service = make_service(svdir, name, run=SH + 'echo "%s up"\nexec sleep 1000\n' % name,
                           log_run=SH + "exec svlogd ./main\n")
    (service / "log" / "main").mkdir()
    return service


def test_100_logged_services_under_a_soft_limit_of_1024(impl, tmp_path):
    """All of them run and log, and stay controllable: sv restart works, status is current.
    The C runit spreads its descriptors over a runsv each; ours raises its soft limit (the
    hard limit is systemd's default for services, 524288; 4096 here)."""
    services, proc, _ = logged_tree(tmp_path, 100, (1024, 4096), impl)
    try:
        for service in services:
            wait_until(lambda s=service: (s / "log" / "main" / "current").exists()
                       and (s / "log" / "main" / "current").read_text().endswith(
                           "%s up\n" % s.name),
                       timeout=30, what="%s logged" % service.name)
        assert_controllable(impl, services[::20])
    finally:
        end_tree(proc, tmp_path)
    errors = (tmp_path / "tree.err").read_text()
    assert "unable" not in errors and "file descriptors" not in errors, errors


def assert_controllable(impl, services):
    sv = our_tool("sv") if impl == "ours" else C_RUNIT["sv"]
    for service in services:
        before = running_pid(service)
        out = subprocess.run([sv, "-w", "10", "restart", str(service)],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stdout + out.stderr
        # (the C sv says ok before the new process runs: wait for it)
        wait_until(lambda s=service: running_pid(s) not in (0, before), what="restarted")
        assert status_record(service).pid == running_pid(service)


def test_100_logged_services_under_a_hard_limit_of_1024(tmp_path):
    """What fits beside the reserve runs, stays controllable and logs; the rest wait, said
    once each — nothing fails half-way (the status writes, scans, sv and loggers that broke
    when the tree used every descriptor)."""
    services, proc, err_path = logged_tree(tmp_path, 100, (1024, 1024))
    try:
        waiting = lambda: said_not_to_fit(err_path)  # noqa: E731
        wait_until(lambda: len([s for s in services if running_pid(s)]) + len(waiting())
                   == 100, timeout=30, what="every service running or waiting")
        running = [s for s in services if running_pid(s)]
        assert len(running) >= 70 and len(waiting()) == len(set(waiting())), waiting()
        for service in running:
            wait_until(lambda s=service: (s / "log" / "main" / "current").exists(),
                       what="%s logging" % service.name)
        assert_controllable("ours", running[::15])
        assert "unable" not in err_path.read_text()
    finally:
        end_tree(proc, tmp_path)


def test_a_service_that_does_not_fit_waits_and_starts_when_room_appears(tmp_path):
    services, proc, err_path = logged_tree(tmp_path, 30, (256, 256))
    try:
        def running():
            return [s for s in services if running_pid(s)]
        wait_until(lambda: len(running()) >= 15, timeout=30, what="the first services up")
        waiting = lambda: said_not_to_fit(err_path)  # noqa: E731
        # every service either runs or was said not to fit (a loaded machine may still be
        # starting some of those that fit when the shortage is first said)
        wait_until(lambda: len(running()) + len(set(waiting())) == 30, timeout=20,
                   what="each service running or its shortage said")
        fitted = running()
        assert len(waiting()) == len(set(waiting()))  # once each, not every second
        for service in fitted:  # running services stay controllable at the limit
            assert status_record(service).pid == running_pid(service)
        out = subprocess.run([our_tool("sv"), "-w", "10", "restart", str(fitted[0])],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stdout
        # room appears: the waiting ones start, no timer needed (as many removed as leave
        # fewer services than fitted at first)
        for service in fitted[:30 - len(fitted) + 2]:
            shutil.move(str(service), str(tmp_path / ("gone-" + service.name)))
        wait_until(lambda: all(running_pid(s) for s in services if s.exists()), timeout=20,
                   what="the waiting services started")
    finally:
        end_tree(proc, tmp_path)


def test_timers_at_the_descriptor_limit_each_wait_or_are_said_not_to_fit(tmp_path):
    """Timers (``schedule``, docs/jobs.md#timers) cost our tree a realtime timerfd each,
    within a service's count: at a hard limit of 128 the ones that fit are armed (their
    record says when they run next), the rest are said not to fit, once each — no half-made
    timer, no descriptor lost — and they are armed once room appears."""
    svdir = tmp_path / "service"
    spec = timer_spec_bytes(TimerSpec("hourly", False, 0, None))
    timers = []
    for index in range(40):
        service = make_service(svdir, "s%03d" % index, run=SH + "exec timer-run\n")
        (service / "schedule").write_bytes(spec)
        (service / "job").write_text(SH + "exit 0\n")
        (service / "job").chmod(0o755)
        timers.append(service)
    err_path = tmp_path / "tree.err"
    with open(err_path, "wb") as err:
        proc = start_tree("ours", svdir, (128, 128), err)
    try:
        def armed():
            return [s for s in timers if (s / "supervise/timer").exists()
                    and timer_state_from_bytes((s / "supervise/timer").read_bytes()).next_usec]
        waiting = lambda: said_not_to_fit(err_path)  # noqa: E731
        wait_until(lambda: len(armed()) + len(set(waiting())) == 40, timeout=30,
                   what="each timer armed or its shortage said")
        assert 0 < len(armed()) < 40 and len(waiting()) == len(set(waiting())), waiting()
        assert len(os.listdir("/proc/%d/fd" % proc.pid)) < 128
        # room appears: every timer removed but a few of those that waited
        kept = [s for s in timers if s.name in set(waiting())][:max(1, len(armed()) - 2)]
        for service in timers:
            if service not in kept:
                shutil.move(str(service), str(tmp_path / ("gone-" + service.name)))
        wait_until(lambda: all(s in armed() for s in kept), timeout=20,
                   what="the waiting timers armed")
        # (a scan that listed a directory this test then moved away says it could not stat
        # it: nothing else may fail)
        said = [line for line in err_path.read_text().splitlines()
                if not re.search(r"unable to stat s\d+: file does not exist$", line)]
        assert not [line for line in said if "unable" in line or "internal error" in line], said
    finally:
        end_tree(proc, tmp_path)
