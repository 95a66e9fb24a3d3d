"""Readiness under our runsv: a service with ``ready`` = ``notify`` gets a NOTIFY_SOCKET, and
what it says lands in ``supervise/readiness`` — from the real ``systemd-notify`` and from a
Python sender — while what is not the service's is refused and nothing stalls runsv.

The 20-byte ``status`` is runit's as ever: the C ``sv`` reads it beside us.
"""

import os
import shutil
import signal
import socket
import sys
import time

import pytest

from runit_provision.protocol.readiness import readiness_from_bytes

from ..conftest import our_tool
from .processes import (C_SV, SH, make_service, read_bytes, run_sv, voluntary_switches,
                        wait_until, write_file)

pytestmark = pytest.mark.slow

NOTIFY_CLIENT = shutil.which("systemd-notify")
SENDER = """
# sd_notify(3) as a C daemon does it: one datagram of NAME=value lines, then
# sd_notify_barrier(3): BARRIER=1 with a pipe's writing end, and wait until it is closed.
import os, select, socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
address = os.environ["NOTIFY_SOCKET"]
address = "\\0" + address[1:] if address.startswith("@") else address
sock.sendto("\\n".join(sys.argv[1:]).encode(), address)
reader, writer = os.pipe()
passed = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, writer.to_bytes(4, sys.byteorder))]
sock.sendmsg([b"BARRIER=1"], passed, 0, address)
os.close(writer)
poller = select.poll()
poller.register(reader, 0)
poller.poll(5000)
"""

def readiness(service):
    data = read_bytes(service / "supervise" / "readiness")
    return None if data is None else readiness_from_bytes(data)


def in_state(service, state, **fields):
    record = readiness(service)
    return (record is not None and record.state == state
            and all(getattr(record, key) == value for key, value in fields.items()))


def notify_service(parent, name, body, ready="notify access=all\n"):
    service = make_service(parent, name, run=SH + body)
    write_file(service / "ready", ready)
    return service


def start_runsv(processes, service, tmp_path):
    return processes.start([our_tool("runsv"), service], output=tmp_path / "runsv.out")


def sender(tmp_path):
    path = tmp_path / "sender.py"
    path.write_text(SENDER)
    return "%s %s" % (sys.executable, path)


@pytest.mark.skipif(NOTIFY_CLIENT is None, reason="systemd-notify is not installed")
def test_systemd_notify_from_a_shell_service(tmp_path, processes):
    """The real client: --status= while starting, then --ready with a status text; sv (C)
    still reads runit's status as it always did."""
    gate = tmp_path / "gate"
    service = notify_service(tmp_path, "svc", (
        "systemd-notify --status='warming up'\n"
        "while [ ! -e %s ]; do sleep 0.02; done\n"
        "systemd-notify --ready --status='Accepting connections'\n"
        "exec sleep 1000\n") % gate)
    runsv = start_runsv(processes, service, tmp_path)
    wait_until(lambda: in_state(service, "starting", status="warming up"), what="STATUS=")
    record = readiness(service)
    assert record.ready_ns == 0 and record.pid == int(read_bytes(
        service / "supervise" / "pid"))
    gate.write_text("")
    wait_until(lambda: in_state(service, "ready", status="Accepting connections"),
               what="READY=1")
    record = readiness(service)
    assert record.ready_ns >= record.started_ns and record.refused == 0
    assert len(read_bytes(service / "supervise" / "status")) == 20
    output, code = run_sv(["status", str(service)], tmp_path, sv=C_SV)
    assert code == 0 and output.startswith("run: %s: (pid %d)" % (service, record.pid))
    run_sv(["down", str(service)], tmp_path, sv=C_SV)
    wait_until(lambda: in_state(service, "down"), what="down after sv down")
    assert runsv.poll() is None


@pytest.mark.skipif(NOTIFY_CLIENT is None, reason="systemd-notify is not installed")
def test_access_main_refuses_a_child_and_takes_the_service_itself(tmp_path, processes):
    """NotifyAccess=main: systemd-notify (a child of ./run) is refused and counted; the
    process runsv started, once it execs a sender, is heard."""
    service = notify_service(tmp_path, "svc", (
        "systemd-notify --ready --status=child\n"
        "exec %s READY=1 STATUS=main\n" % sender(tmp_path)), ready="notify\n")
    start_runsv(processes, service, tmp_path)
    wait_until(lambda: in_state(service, "ready", status="main"), what="READY=1 from main")
    assert readiness(service).refused >= 1


def test_a_stranger_is_refused_and_floods_do_not_stall_runsv(tmp_path, processes):
    """Another process (this test: not the service's) cannot notify for it; a flood, a 64 KiB
    datagram and garbage cost runsv nothing it cannot serve around."""
    service = notify_service(tmp_path, "svc", "exec sleep 1000\n")
    start_runsv(processes, service, tmp_path)
    wait_until(lambda: in_state(service, "starting"), what="starting")
    address = _address_of(service)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sent = 0
    for message in [b"READY=1"] * 2000 + [b"x" * 65536, b"\xff\xfe garbage", b"READY=1"]:
        try:
            sock.sendto(message, address)
            sent += 1
        except (BlockingIOError, OSError):
            pass  # the queue is full: runsv reads at its pace, we do not wait
    sock.close()
    started = time.monotonic()
    output, code = run_sv(["status", str(service)], tmp_path, sv=C_SV, timeout=10)
    assert code == 0 and output.startswith("run:"), output
    assert time.monotonic() - started < 5
    wait_until(lambda: readiness(service).refused >= min(sent, 100), what="refusals counted")
    assert readiness(service).state == "starting"


def _address_of(service):
    """The service's NOTIFY_SOCKET, from its environment (as the service sees it)."""
    pid = int(read_bytes(service / "supervise" / "pid"))
    environ = read_bytes("/proc/%d/environ" % pid).split(b"\0")
    value = [entry for entry in environ if entry.startswith(b"NOTIFY_SOCKET=")][0]
    name = value.split(b"=", 1)[1].decode()
    assert name.startswith("@")
    return "\0" + name[1:]


def test_restart_starts_over_and_states_follow_the_messages(tmp_path, processes):
    """RELOADING=1 then READY=1, STOPPING=1, MAINPID=; a restart is starting again, with
    the new pid and nothing of the old run's status."""
    script = sender(tmp_path)
    service = notify_service(tmp_path, "svc", (
        "%s READY=1 STATUS=one MAINPID=$$\n"
        "trap '%s RELOADING=1; %s READY=1' HUP\n"
        "trap '%s STOPPING=1; exit 0' TERM\n"
        "while :; do sleep 0.05; done\n") % (script, script, script, script))
    start_runsv(processes, service, tmp_path)
    wait_until(lambda: in_state(service, "ready", status="one"), what="ready")
    first = readiness(service)
    assert first.mainpid == first.pid
    run_sv(["hup", str(service)], tmp_path)
    wait_until(lambda: readiness(service).ready_ns > first.ready_ns, what="ready again")
    run_sv(["restart", str(service)], tmp_path)
    wait_until(lambda: readiness(service).pid not in (0, first.pid)
               and readiness(service).state == "ready", what="ready after restart")
    assert readiness(service).started_ns > first.started_ns


def test_a_service_without_ready_has_no_socket_nor_record(tmp_path, processes):
    service = make_service(tmp_path, "svc", run=SH + 'echo "[$NOTIFY_SOCKET]"\nexec sleep 1000\n')
    write_file(service / "ready", "poll now\n")  # unknown: said, and ignored
    runsv = start_runsv(processes, service, tmp_path)
    wait_until(lambda: read_bytes(service / "supervise" / "pid") not in (None, b""))
    wait_until(lambda: "./ready: unknown kind 'poll'" in runsv.output(), what="the warning")
    assert readiness(service) is None
    pid = int(read_bytes(service / "supervise" / "pid"))
    environ = read_bytes("/proc/%d/environ" % pid)
    assert b"NOTIFY_SOCKET=" not in environ


def test_a_ready_service_idles_without_waking(tmp_path, processes):
    service = notify_service(tmp_path, "svc", "%s READY=1\nexec sleep 1000\n"
                             % sender(tmp_path))
    runsv = start_runsv(processes, service, tmp_path)
    wait_until(lambda: in_state(service, "ready"), what="ready")
    time.sleep(0.2)  # let start-up settle before the idle window opens
    before = voluntary_switches(runsv.pid)
    time.sleep(2)  # the idle window itself: what we measure, not a synchronisation
    assert voluntary_switches(runsv.pid) - before == 0
    os.kill(runsv.pid, signal.SIGTERM)
    runsv.wait(20)
