"""Readiness under our runsv: a service with ``ready`` = ``notify`` gets a NOTIFY_SOCKET, and
what it says lands in ``supervise/readiness`` — from the real ``systemd-notify`` and from a
Python sender — while what is not the service's is refused and nothing stalls runsv.

The 20-byte ``status`` is runit's as ever: the C ``sv`` reads it beside us.
"""

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

import pytest

from runit_provision.protocol.readiness import readiness_from_bytes

from ..conftest import our_tool, require_c_runit
from ..skips import missing
from .processes import (BASE_PATH, C_RUNSV, C_RUNSVDIR, C_SV, SH, children_of, comm, end_tree,
                        make_service, read_bytes, run_sv, stat_fields, voluntary_switches,
                        wait_until, waiting, whole_lines, write_file)

pytestmark = pytest.mark.slow

NOTIFY_CLIENT = shutil.which("systemd-notify")


def needs_notify_client():
    if NOTIFY_CLIENT is None:
        missing("systemd-notify", "apt-get install systemd")
SENDER = """
# sd_notify(3) as a C daemon does it: one datagram of NAME=value lines, then
# sd_notify_barrier(3): BARRIER=1 with a pipe's writing end, and wait until it is closed.
import os, select, signal, socket, sys
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
if os.environ.get("SENDER_STAYS"):
    signal.pause()  # the service's main process from here on, until runsv ends it
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


def test_systemd_notify_from_a_shell_service(tmp_path, processes):
    """The real client: --status= while starting, then --ready with a status text; sv (C)
    still reads runit's status as it always did."""
    needs_notify_client()
    require_c_runit()
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


def test_access_main_refuses_a_child_and_takes_the_service_itself(tmp_path, processes):
    """NotifyAccess=main: what systemd-notify (a child of ./run) sends under its own pid is
    refused and counted (as root it claims its parent's pid for the status line, which the
    kernel lets root do, but its BARRIER=1 goes out under its own); the process runsv started,
    once it execs a sender, is heard. The sender stays: a service that exits is down and
    restarted, and its ready state lasts only until then."""
    needs_notify_client()
    require_c_runit()
    service = notify_service(tmp_path, "svc", (
        "systemd-notify --ready --status=child\n"
        "SENDER_STAYS=1 exec %s READY=1 STATUS=main\n" % sender(tmp_path)), ready="notify\n")
    start_runsv(processes, service, tmp_path)
    wait_until(lambda: in_state(service, "ready", status="main"), what="READY=1 from main")
    assert readiness(service).refused >= 1


# A stranger's flood (issue 43): READY=1 to every name given, as fast as one process can, for
# argv[1] seconds or until a TERM; then how many datagrams went out (a full queue refuses the
# rest: they are not counted).
FLOOD = """import os, signal, socket, sys, time
names = [chr(0) + name[1:] for name in sys.argv[2:]]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK)
sent, deadline, ended = 0, time.monotonic() + float(sys.argv[1]), []
signal.signal(signal.SIGTERM, lambda *_: ended.append(1))
while time.monotonic() < deadline and not ended:
    for name in names:
        try:
            sock.sendto(b"READY=1", name)
            sent += 1
        except OSError:
            pass
print(sent)
"""
FLOOD_SECONDS = 30  # the flood's own deadline; a test ends it as soon as it is done with it


def cpu_seconds(pid):
    """utime + stime of ``pid`` (fields 14 and 15 of /proc/PID/stat), in seconds."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_stranger_is_refused_and_floods_do_not_stall_runsv(tmp_path, processes):
    """Another process (this test: not the service's) cannot notify for it; a burst, a 64 KiB
    datagram and garbage cost runsv nothing it cannot serve around; a flood costs it a small
    share of a CPU, and the service's own READY=1 is heard during it. The CPU bound is the
    security property itself (a stranger's datagrams must not take the supervisor's time),
    with a margin of several times what runsv spends and far below what reading every
    datagram as it came took: so it stays, in this slow tier."""
    gate = tmp_path / "gate"
    service = notify_service(tmp_path, "svc", (
        "while [ ! -e %s ]; do sleep 0.02; done\n"
        "SENDER_STAYS=1 exec %s READY=1\n") % (gate, sender(tmp_path)), ready="notify\n")
    runsv = start_runsv(processes, service, tmp_path)
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
    flood = tmp_path / "flood.py"
    flood.write_text(FLOOD)
    counted = readiness(service).refused
    flooder = processes.start([sys.executable, flood, FLOOD_SECONDS, "@" + address[1:]],
                              output=tmp_path / "flood.out")
    wait_until(lambda: readiness(service).refused > counted, what="the flood refused")
    before, began = cpu_seconds(runsv.pid), time.monotonic()
    time.sleep(3.0)  # the window being measured, the flood going on
    spent, window = cpu_seconds(runsv.pid) - before, time.monotonic() - began
    gate.write_text("")  # the service says READY=1, into its flooded socket
    opened = time.monotonic()
    wait_until(lambda: in_state(service, "ready"), what="the service's own READY=1")
    heard = time.monotonic() - opened
    assert flooder.poll() is None  # the flood went on all along
    os.killpg(flooder.pid, signal.SIGTERM)
    flooder.wait(10)
    print("runsv: %.2f s of CPU in %.2f s of a flood of %s datagrams; READY=1 heard %.3f s "
          "after the gate; refused %d" % (spent, window, flooder.output().strip(), heard,
                                          readiness(service).refused))
    assert spent < 0.25, "runsv spent %.2f s of CPU in 3 s of a flood" % spent
    assert readiness(service).refused > counted


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


GATED_SENDER = """
import os, pathlib, select, socket, sys, time
gate = pathlib.Path(sys.argv[1])
while not gate.exists():
    time.sleep(0.02)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
address = os.environ["NOTIFY_SOCKET"]
sock.sendto(b"READY=1\\nSTATUS=serving", "\\0" + address[1:])
time.sleep(1000)
"""


# db of the test below, as each kind of readiness has it said: {gate} is the file it waits for
DB_READY = {
    "notify": "{command: [%(python)s, %(root)s/sender.py, %(gate)s], ready: notify}",
    # s6's notification-fd: a newline on descriptor 3, which the relay's FIFO is
    "fd": "{command: [/bin/sh, -c, 'while [ ! -e %(gate)s ]; do sleep 0.02; done; "
          "echo >&3; exec 3>&-; exec sleep 1000'], ready: {fd: 3}}",
}


@pytest.mark.interop
@pytest.mark.parametrize("kind", sorted(DB_READY))
def test_under_the_c_runsv_needs_waits_for_ready_through_the_rendered_check(tmp_path,
                                                                            processes, kind):
    """runtime: system — the C runsvdir, runsv and sv: the relay in db's ./run records
    readiness, web's needs guard (the C sv -w start) polls db's rendered check, and web's
    command starts only after db said READY=1 (notify) or wrote its newline (fd)."""
    require_c_runit()
    gate, marker = tmp_path / "gate", tmp_path / "web-started"
    (tmp_path / "sender.py").write_text(GATED_SENDER)
    data = tmp_path / "data.yaml"
    values = dict(root=tmp_path, python=sys.executable, gate=gate, marker=marker)
    data.write_text(
        "runit::runtime: system\nrunit::sv_dir: %(root)s/sv\nrunit::service_dir: %(root)s/service\n"
        "runit::sv_timeout: 60\nrunit::defaults: {log: false}\nrunit::services:\n"
        "  db: %(db)s\n"
        "  web: {command: [/bin/sh, -c, 'touch %(marker)s; exec sleep 1000'], needs: [db]}\n"
        % dict(values, db=DB_READY[kind] % values))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "runit_provision.cli.main", "render", "--data",
                           str(data), "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rendered = out / str(tmp_path).lstrip("/")
    shutil.move(str(rendered / "sv"), str(tmp_path / "sv"))
    shutil.move(str(rendered / "service"), str(tmp_path / "service"))
    env = {"PATH": "%s:%s" % (BASE_PATH, os.path.dirname(our_tool("runsv")))}  # C sv first
    tree = processes.start([C_RUNSVDIR, tmp_path / "service"], env=env,
                           output=tmp_path / "tree.out")
    try:
        db, web = tmp_path / "sv" / "db", tmp_path / "sv" / "web"
        wait_until(lambda: in_state(db, "starting"), what="db starting (the relay ran)")
        # web's guard is polling db's check: the C sv runs as a child of web's ./run
        wait_until(lambda: read_bytes(web / "supervise" / "pid") not in (None, b"")
                   and any(comm(child) == "sv" for child in children_of(
                       int(read_bytes(web / "supervise" / "pid")))), what="web's guard")
        assert not marker.exists()
        output, code = run_sv(["-w", "1", "check", str(db)], tmp_path)
        assert code != 0, output
        gate.write_text("")
        wait_until(marker.exists, timeout=30, what="web started")
        record = readiness(db)
        assert record.state == "ready" and record.status == ("serving" if kind == "notify"
                                                             else "")
        assert record.pid == int(read_bytes(db / "supervise" / "pid"))
        assert marker.stat().st_mtime_ns >= record.ready_ns
        output, code = run_sv(["-w", "5", "check", str(db)], tmp_path)
        assert code == 0, output
    finally:
        end_tree(tree.proc, tmp_path)


@pytest.mark.parametrize("verb", ["start", "restart"])
def test_our_sv_w_waits_for_ready_and_wakes_on_it(tmp_path, processes, verb):
    """``sv -w start|restart`` of a service that declares readiness ends when it says
    READY=1 — woken by the byte runsv writes into its FIFO after the record's rename, running
    no ./check — and not before."""
    gate = tmp_path / "gate"
    (tmp_path / "sender.py").write_text(GATED_SENDER)
    service = notify_service(tmp_path, "svc", "exec %s %s %s\n"
                             % (sys.executable, tmp_path / "sender.py", gate), ready="notify\n")
    if verb == "start":
        write_file(service / "down", "")
    start_runsv(processes, service, tmp_path)
    wait_until(lambda: (service / "supervise" / "ok").exists(), what="runsv up")
    if verb == "restart":
        wait_until(lambda: in_state(service, "starting"), what="the first run")
        gate.write_text("")
        wait_until(lambda: in_state(service, "ready"), what="the first run ready")
        gate.unlink()
    first = readiness(service)
    env = {"PATH": BASE_PATH, "SVDIR": str(tmp_path)}
    with waiting([our_tool("sv"), "-w", "30", verb, str(service)], env=env) as proc:
        wait_until(lambda: in_state(service, "starting")
                   and (first is None or readiness(service).pid != first.pid),
                   what="the new run starting")
        assert proc.poll() is None  # up, not ready: sv still waits
        # … on a FIFO of its own in supervise/event/, which runsv writes to (no inotify)
        wait_until(lambda: [name for name in os.listdir(str(service / "supervise" / "event"))
                            if name.startswith("w.%d." % proc.pid)], what="sv's FIFO")
        gate.write_text("")
    ended_ns = time.time_ns()
    assert proc.returncode == 0 and proc.output.startswith(b"ok: run: "), proc.output
    record = readiness(service)
    assert record.state == "ready"
    assert (ended_ns - record.ready_ns) / 1e9 < 2.0  # woken, not polled (bench/ measures)
    assert os.listdir(str(service / "supervise" / "event")) == ["ok"]  # sv's FIFO went with it


PINGER = """
import os, socket, sys, time
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
address = "\\0" + os.environ["NOTIFY_SOCKET"][1:]
sock.sendto(b"READY=1", address)
while not os.path.exists(sys.argv[1]):
    sock.sendto(b"WATCHDOG=1", address)
    time.sleep(float(sys.argv[2]) if sys.argv[2:] else 0.2)
time.sleep(1000)
"""


def deaths_of(service):
    from runit_provision.protocol.tally import tally_from_bytes
    tally = tally_from_bytes(read_bytes(service / "supervise" / "tally") or b"")
    return 0 if tally is None else tally.deaths


def test_not_ready_in_time_is_a_failed_start_killed_and_counted(tmp_path, processes):
    """``timeout=1``: a service that never says READY=1 is sent TERM after a second, counted
    as a death, restarted; the reason stays in the next run's record."""
    service = notify_service(tmp_path, "svc", "exec sleep 1000\n", ready="notify timeout=1\n")
    runsv = start_runsv(processes, service, tmp_path)
    wait_until(lambda: in_state(service, "starting"), what="starting")
    first = readiness(service).pid
    wait_until(lambda: readiness(service).pid != first and in_state(service, "starting"),
               timeout=20, what="killed and restarted")
    assert readiness(service).failed == "not ready after 1 s"
    # the new run's record is written at its spawn, the tally with its status just after
    wait_until(lambda: deaths_of(service) >= 1, what="the death counted")
    wait_until(lambda: "not ready after 1 s: sending TERM" in runsv.output(), what="said")


def test_a_watchdog_that_stops_is_killed_restarted_and_counted(tmp_path, processes):
    """``watchdog=1``: WATCHDOG_USEC is set; pings keep it alive, silence gets ABRT. The
    service's own process pings (one interpreter: its pings keep time on a busy machine)."""
    stop = tmp_path / "stop-pinging"
    (tmp_path / "pinger.py").write_text(PINGER)
    service = notify_service(tmp_path, "svc", (
        "[ \"$WATCHDOG_USEC\" = 1000000 ] || exit 7\n"
        "exec %s %s %s\n") % (sys.executable, tmp_path / "pinger.py", stop),
        ready="notify watchdog=1\n")
    start_runsv(processes, service, tmp_path)
    wait_until(lambda: in_state(service, "ready"), what="ready")
    first = readiness(service)
    time.sleep(2.5)  # the window itself, 2.5 watchdog periods: what we measure
    assert readiness(service).pid == first.pid and deaths_of(service) == 0  # alive, pinged
    stop.write_text("")
    wait_until(lambda: readiness(service).pid != first.pid, timeout=20, what="the watchdog")
    assert readiness(service).failed == "watchdog: no WATCHDOG=1 for 1 s"
    wait_until(lambda: deaths_of(service) >= 1, what="the death counted")


def test_a_flood_never_ends_a_run_that_pings(tmp_path, processes):
    """``watchdog=1``, a ping every 0.5 s (half the interval, as systemd advises), under a
    stranger's flood of 8 s: each ping waits for a place in the queue the flood keeps full
    (up to 2.5 s, measured), and the watchdog waits for the socket the flood holds back
    (docs/readiness.md, "A flood"): the run goes on. Before that rule runsv sent it ABRT."""
    (tmp_path / "pinger.py").write_text(PINGER)
    service = notify_service(tmp_path, "svc", "exec %s %s %s 0.5\n" % (
        sys.executable, tmp_path / "pinger.py", tmp_path / "never"), ready="notify watchdog=1\n")
    runsv = start_runsv(processes, service, tmp_path)
    wait_until(lambda: in_state(service, "ready"), what="ready")
    first = readiness(service)
    flood = tmp_path / "flood.py"
    flood.write_text(FLOOD)
    flooder = processes.start([sys.executable, flood, 8, "@" + _address_of(service)[1:]],
                              output=tmp_path / "flood.out")
    wait_until(lambda: readiness(service).refused > 0, what="the flood refused")
    flooder.wait(30)  # the flood ends by itself, 8 s after it began
    found = readiness(service)
    assert (found.pid, found.failed, deaths_of(service)) == (first.pid, "", 0), runsv.output()
    assert found.state == "ready" and "watchdog" not in runsv.output()


def test_s6_notification_fd_a_newline_means_ready(tmp_path, processes):
    """``fd=5`` (s6's notification-fd): ./run gets a pipe as descriptor 5; a newline on it
    means ready; our sv -w start waits for it. A restart gets a new pipe."""
    gate = tmp_path / "gate"
    service = notify_service(tmp_path, "svc", (
        "[ -w /dev/fd/5 ] || exit 7\n"  # the descriptor is there, writable
        "while [ ! -e %s ]; do sleep 0.02; done\n"
        "printf 'up\\n' >&5\nexec 5>&-\nexec sleep 1000\n") % gate, ready="fd=5\n")
    start_runsv(processes, service, tmp_path)
    wait_until(lambda: in_state(service, "starting"), what="starting")
    env = {"PATH": BASE_PATH, "SVDIR": str(tmp_path)}
    with waiting([our_tool("sv"), "-w", "30", "start", str(service)], env=env) as proc:
        wait_until(lambda: proc.poll() is None, what="sv waiting")
        assert readiness(service).state == "starting"
        gate.write_text("")
    assert proc.returncode == 0 and proc.output.startswith(b"ok: run: "), proc.output
    first = readiness(service)
    assert first.state == "ready"
    run_sv(["restart", str(service)], tmp_path)
    wait_until(lambda: readiness(service).pid != first.pid and in_state(service, "ready"),
               what="ready again after a restart")


def test_finish_keeps_the_channel_and_the_reason(tmp_path, processes):
    """A run ended for not being ready, then ./finish: the record stays (down, with why),
    and the next run gets the same socket and the reason."""
    service = notify_service(tmp_path, "svc", "echo \"$NOTIFY_SOCKET\" >> %s\nexec sleep 1000\n"
                             % (tmp_path / "sockets"), ready="notify timeout=1\n")
    write_file(service / "finish", SH + "sleep 0.3\n", 0o755)
    start_runsv(processes, service, tmp_path)
    wait_until(lambda: in_state(service, "starting"), what="starting")
    first = readiness(service).pid
    wait_until(lambda: readiness(service) is not None and readiness(service).pid != first
               and in_state(service, "starting"), timeout=20, what="the next run")
    assert readiness(service).failed == "not ready after 1 s"
    # the record is written at the spawn, before the new ./run echoes its socket
    sockets = wait_until(lambda: (lambda found: found if len(found) >= 2 else None)(
        (tmp_path / "sockets").read_text().split()), what="the second run's socket")
    assert len(set(sockets)) == 1


RELAY_HEADS = {
    "notify": "NOTIFY_SOCKET=$(notify-relay $$ timeout=1) || exit 1\nexport NOTIFY_SOCKET\n",
    "fd": "notify-relay $$ fd=3 timeout=1 || exit 1\nexec 3<>supervise/notification-fifo\n",
}


@pytest.mark.interop
@pytest.mark.parametrize("kind", sorted(RELAY_HEADS))
def test_notify_relay_under_the_c_runsv_ends_a_start_that_is_not_ready(tmp_path, processes,
                                                                       kind):
    """``./run`` as rendered for ``runtime: system`` with ``ready_timeout: 1``: the relay's
    process sends TERM after a second and records why; the C runsv restarts the service.
    (fd: whatever was at the FIFO's name is replaced by the relay's FIFO.)"""
    require_c_runit()
    service = make_service(tmp_path, "svc", run=SH + RELAY_HEADS[kind] + "exec sleep 1000\n")
    (service / "supervise").mkdir()
    (service / "supervise" / "notification-fifo").write_text("planted\n")
    env = {"PATH": "%s:%s" % (BASE_PATH, os.path.dirname(our_tool("runsv")))}
    processes.start([C_RUNSV, service], env=env, output=tmp_path / "runsv.out")
    wait_until(lambda: in_state(service, "starting"), what="the relay's record")
    first = readiness(service).pid
    wait_until(lambda: readiness(service) is not None
               and readiness(service).failed == "not ready after 1 s", timeout=20,
               what="the relay's timeout")
    # One read per look: the C runsv empties supervise/pid while the service is down, and the
    # restarted service is itself ended a second later.
    wait_until(lambda: (read_bytes(service / "supervise" / "pid") or b"").strip()
               not in (b"", str(first).encode()), timeout=20,
               what="restarted by the C runsv")
    if kind == "fd":
        assert stat.S_ISFIFO(os.lstat(service / "supervise" / "notification-fifo").st_mode)


# -- MAINPID=: the signals runsv sends for sv go to the main process the service named --------
DAEMON = """
# A daemon a shell ./run started: it names itself MAINPID= and says READY=1, notes each
# signal it gets, ends on TERM (or, asked with USR2, by itself).
import os, signal, socket, sys
out = sys.argv[1]
def note(signum, _frame):
    with open(out, "a") as notes:
        notes.write("daemon %s\\n" % signal.Signals(signum).name)
    if signum in (signal.SIGTERM, signal.SIGUSR2):
        os._exit(0)
for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2):
    signal.signal(signum, note)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.sendto(b"MAINPID=%d\\nREADY=1" % os.getpid(), "\\0" + os.environ["NOTIFY_SOCKET"][1:])
while True:
    signal.pause()
"""
# The shell notes what it gets too, and stays while the daemon runs (wait is interrupted by a
# trapped signal: wait again), then sleeps on, so that a daemon that ended by itself leaves it.
SHELL_RUN = """trap 'echo shell HUP >>%(out)s' HUP
trap 'echo shell TERM >>%(out)s; exit 0' TERM
%(python)s %(daemon)s %(out)s &
daemon=$!
while kill -0 $daemon 2>/dev/null; do wait $daemon; done
[ -e %(out)s.stay ] || exit 0
while :; do sleep 0.05; done
"""


def notes(path):
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


def daemon_service(tmp_path, stay=False):
    (tmp_path / "daemon.py").write_text(DAEMON)
    out = tmp_path / "notes"
    if stay:
        (tmp_path / "notes.stay").write_text("")
    return notify_service(tmp_path, "svc", SHELL_RUN % dict(
        out=out, python=sys.executable, daemon=tmp_path / "daemon.py")), out


def test_mainpid_takes_the_signals_sv_sends_and_pid_stays_run_s(tmp_path, processes):
    """A shell ./run whose daemon says MAINPID=: ``sv hup`` and ``sv down`` (TERM) reach the
    daemon, not the shell, which then ends on its own; supervise/pid and the C sv's status
    show ./run throughout; the next run starts without a main process."""
    service, out = daemon_service(tmp_path)
    start_runsv(processes, service, tmp_path)
    wait_until(lambda: in_state(service, "ready"), what="READY=1")
    record = readiness(service)
    run_pid = int(read_bytes(service / "supervise" / "pid"))
    assert record.pid == run_pid and record.mainpid not in (0, run_pid)
    assert record.mainpid in children_of(run_pid)
    output, code = run_sv(["status", str(service)], tmp_path, sv=C_SV)
    assert code == 0 and output.startswith("run: %s: (pid %d)" % (service, run_pid)), output
    run_sv(["hup", str(service)], tmp_path, sv=C_SV)
    wait_until(lambda: "daemon SIGHUP" in notes(out), what="HUP at the daemon")
    output, code = run_sv(["-w", "10", "down", str(service)], tmp_path, sv=our_tool("sv"))
    assert code == 0, output
    assert notes(out) == ["daemon SIGHUP", "daemon SIGTERM"]  # the shell got neither


def test_mainpid_gone_gives_the_signals_back_to_run(tmp_path, processes):
    """The daemon ends by itself while ./run stays: from then on runsv signals ./run."""
    service, out = daemon_service(tmp_path, stay=True)
    start_runsv(processes, service, tmp_path)
    wait_until(lambda: in_state(service, "ready"), what="READY=1")
    mainpid = readiness(service).mainpid
    os.kill(mainpid, signal.SIGUSR2)
    wait_until(lambda: not os.path.exists("/proc/%d" % mainpid) or comm(mainpid) is None
               or _is_zombie(mainpid), what="the daemon gone")
    run_sv(["hup", str(service)], tmp_path, sv=C_SV)
    wait_until(lambda: "shell HUP" in notes(out), what="HUP at the shell")
    assert notes(out) == ["daemon SIGUSR2", "shell HUP"]


def _is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_kill_reaches_both_the_main_process_and_run(tmp_path, processes):
    service, out = daemon_service(tmp_path, stay=True)
    start_runsv(processes, service, tmp_path)
    wait_until(lambda: in_state(service, "ready"), what="READY=1")
    run_pid, mainpid = readiness(service).pid, readiness(service).mainpid
    write_file(service / "down", "")
    run_sv(["-w", "10", "kill", str(service)], tmp_path, sv=C_SV)
    for pid in (run_pid, mainpid):
        wait_until(lambda: _is_zombie(pid), what="pid %d killed" % pid)


OUTSIDER_NAMER = """import os, signal, socket, sys, time
address = "\\0" + os.environ["NOTIFY_SOCKET"][1:]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
def said(signum, _frame):
    sock.sendto(b"STATUS=got HUP", address)
signal.signal(signal.SIGHUP, said)
sock.sendto(b"MAINPID=%s\\nREADY=1" % sys.argv[1].encode(), address)
while True:
    signal.pause()
"""


@pytest.mark.parametrize("sender", ["nobody", "root"])
def test_a_mainpid_outside_the_service_is_systemd_s_rule(tmp_path, processes, sender):
    """MAINPID= naming a process that is not the service's: refused and counted from an
    unprivileged sender (it would have runsv signal someone else's process), and ./run gets
    ``sv hup``; taken from root, as systemd takes it, and the named process gets it."""
    outsider = processes.start(["sleep", "1000"])
    chpst = "chpst -u nobody " if sender == "nobody" else ""
    service = notify_service(tmp_path, "svc", "exec %s/usr/bin/python3 -c '%s' %d\n" % (
        chpst, OUTSIDER_NAMER, outsider.pid), ready="notify\n")
    start_runsv(processes, service, tmp_path)
    wait_until(lambda: in_state(service, "ready"), what="READY=1")
    record = readiness(service)
    run_sv(["hup", str(service)], tmp_path, sv=C_SV)
    if sender == "nobody":
        assert (record.mainpid, record.refused) == (0, 1)
        wait_until(lambda: in_state(service, "ready", status="got HUP"), what="HUP at ./run")
        assert not _is_zombie(outsider.pid)
    else:
        assert (record.mainpid, record.refused) == (outsider.pid, 0)
        wait_until(lambda: _is_zombie(outsider.pid), what="HUP at the named process")
        assert readiness(service).status == ""


def test_a_mainpid_of_another_uid_inside_the_service_is_refused_from_its_sender(tmp_path,
                                                                               processes):
    """A process of the service that is not the sender's own — root's ``sleep`` that ./run
    started before it became ``nobody`` — is refused as MAINPID=: ``nobody`` could not signal
    it, and runsv would do it for them (issue 43: a process root signals is its sender's)."""
    service = notify_service(tmp_path, "svc", "sleep 1000 &\necho $! >outsider\n"
                             "exec chpst -u nobody /usr/bin/python3 -c '%s' $!\n"
                             % OUTSIDER_NAMER, ready="notify\n")
    start_runsv(processes, service, tmp_path)
    outsider = int(wait_until(lambda: whole_lines(service / "outsider"), what="the sleep"))
    try:
        wait_until(lambda: in_state(service, "ready"), what="READY=1")
        record = readiness(service)
        assert (record.mainpid, record.refused) == (0, 1)
        run_sv(["hup", str(service)], tmp_path, sv=C_SV)
        wait_until(lambda: in_state(service, "ready", status="got HUP"), what="HUP at ./run")
        assert not _is_zombie(outsider)
    finally:
        os.kill(outsider, 9)
