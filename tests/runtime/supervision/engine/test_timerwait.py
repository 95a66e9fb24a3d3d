"""engine/timerwait.py on a real Supervisor and loop, its realtime timer a fake one can step:
a clock step (the timerfd's ECANCELED) makes the next run computed again from the new time;
a plain wakeup with nothing expired runs nothing. (test_runsv_timer.py runs the real timerfd.)

Run in a child interpreter (the loop takes over SIGCHLD and the wakeup fd), in its own
session, killed by process group at the end.
"""

import ast
import sys

import pytest

from runit_provision.protocol.timer import TimerSpec, timer_spec_bytes

from ...processes import SH, write_file

pytestmark = pytest.mark.slow

HOST = r'''
import os, sys, time
from runit_provision.runtime.unix import realtimer
from runit_provision.runtime.supervision.engine import timerwait
from runit_provision.runtime.supervision.engine.loop import EventLoop
from runit_provision.runtime.supervision.engine.supervisor import Supervisor
from runit_provision.runtime.supervision.engine.spawn import Spawner

arms, results = [], [realtimer.NOTHING, realtimer.CANCELLED]

class SteppedTimer:
    """A realtime timer whose read() says what the test scripted."""
    def __init__(self):
        self.r, self.w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    def fileno(self):
        return self.r
    def arm(self, at_usec):
        arms.append(at_usec)
    def disarm(self):
        arms.append(None)
    def read(self):
        os.read(self.r, 1)
        return results.pop(0)
    def close(self):
        os.close(self.r); os.close(self.w)

class Clock:
    offset = 0
    monotonic = staticmethod(time.monotonic)
    def time_ns(self):
        return time.time_ns() + self.offset

timerwait.RealtimeTimer = SteppedTimer
clock = Clock()
loop = EventLoop()
service = Supervisor(loop, sys.argv[1], Spawner(), clock=clock)
service.open()
service.start()
fake = service.timer._clock

def wake():        # the timerfd readable, nothing expired
    os.write(fake.w, b"!")
    loop.call_later(0.2, step)

def step():        # the clock set two hours on: ECANCELED
    clock.offset = 2 * 3600 * 10 ** 9
    os.write(fake.w, b"!")
    loop.call_later(0.2, loop.stop)

loop.call_later(0.2, wake)
loop.run()
print(arms)
print(os.path.exists(os.path.join(sys.argv[1], "ran")))
'''


def test_a_clock_step_computes_the_next_run_again(tmp_path, processes):
    service = tmp_path / "svc"
    service.mkdir()
    write_file(service / "schedule", timer_spec_bytes(TimerSpec("hourly UTC")).decode())
    write_file(service / "job", SH + "touch ran\n", 0o755)
    write_file(service / "run", SH + "touch ran\n", 0o755)
    (tmp_path / "host.py").write_text(HOST)
    group = processes.start([sys.executable, str(tmp_path / "host.py"), str(service)],
                            cwd=str(tmp_path), output=str(tmp_path / "host.out"))
    assert group.wait(15) == 0, group.output()
    arms, ran = group.output().splitlines()[-2:]
    first, second = ast.literal_eval(arms)  # two arms: at start, and after the step — none for the wakeup
    assert first % (3600 * 10 ** 6) == 0
    assert second - first == 2 * 3600 * 10 ** 6
    assert ran == "False"


def test_a_service_that_is_no_timer_loads_no_timer_code(tmp_path):
    """The per-service cost of timers for every other service: none of their modules."""
    import subprocess

    service = tmp_path / "svc"
    service.mkdir()
    write_file(service / "run", SH + "exec sleep 100\n", 0o755)
    code = r'''
import sys
from runit_provision.runtime import runsv, runsvdir
from runit_provision.runtime.supervision.engine.loop import EventLoop
from runit_provision.runtime.supervision.engine.supervisor import Supervisor
from runit_provision.runtime.supervision.engine.spawn import Spawner
service = Supervisor(EventLoop(), sys.argv[1], Spawner())
service.open()
print(service.is_timer(), sorted(name for name in sys.modules if name.endswith(
    ("timerwait", "realtimer", "protocol.timer", "protocol.schedule", "schedule.calendar",
     "schedule.nextelapse", "schedule.zoneclock", "schedule.zones"))))
service.close()
'''
    found = subprocess.run([sys.executable, "-c", code, str(service)], capture_output=True,
                           text=True, timeout=60, check=True)
    assert found.stdout == "False []\n", found.stderr


TIMER_OF_A_UTC_HOST = r'''
import ctypes, sys
# what the interpreter's start and ctypes (the runtime's system calls) load is not the
# timer's: CPython 3.14's ctypes imports sysconfig itself
started = set(sys.modules)
from runit_provision.protocol.schedule import zones
from runit_provision.runtime.supervision.engine.loop import EventLoop
from runit_provision.runtime.supervision.engine.supervisor import Supervisor
from runit_provision.runtime.supervision.engine.spawn import Spawner
zones.LOCALTIME = "/usr/share/zoneinfo/Etc/UTC"
nested = []
service = Supervisor(EventLoop(), sys.argv[1], Spawner(), nest=nested.append)
service.open()
if service.is_timer():
    service.start()  # armed: its next run computed
loaded = {name for name in set(sys.modules) - started if name in ("zoneinfo", "datetime",
          "sysconfig") or name.startswith("runit_provision.runtime.supervision.users")}
if "zoneinfo" in loaded:
    loaded.discard("sysconfig")  # zoneinfo's own, where the start had not loaded it
print(service.is_timer(), service.is_timer() and service.timer.state.next_usec > 0,
      len(nested), sorted(loaded))
service.close()
'''


@pytest.mark.parametrize("schedule, expected", [
    ("minutely", "True True 0 []"),
    ("*-*-* *:00/15:00", "True True 0 []"),
    ("*/15 * * * *", "True True 0 ['datetime']"),   # cron's fields are datetime's
    ("*-*-* 03:00 Europe/Berlin", "True True 0 ['datetime', 'zoneinfo']"),
    (None, "False False 1 []"),   # no timer: a user's tree may be its ./run
])
def test_a_timer_of_a_utc_host_loads_no_zone_code_nor_users_trees(tmp_path, schedule, expected):
    """The first timer's cost to a tree on a UTC host (bench/RESULTS.md row 52): no
    zoneinfo, sysconfig or datetime (0.7 MB) unless its schedule names a zone, and no user's
    tree nested (the users/ room, 0.5 MB): a timer never runs ./run."""
    import subprocess

    service = tmp_path / "svc"
    service.mkdir()
    write_file(service / "run", SH + "exec sleep 100\n", 0o755)
    write_file(service / "job", SH + "exit 0\n", 0o755)
    if schedule is not None:
        write_file(service / "schedule", timer_spec_bytes(TimerSpec(schedule)).decode())
    found = subprocess.run([sys.executable, "-c", TIMER_OF_A_UTC_HOST, str(service)],
                           capture_output=True, text=True, timeout=60, check=True,
                           env={"PATH": "/usr/bin:/bin"})
    assert found.stdout.splitlines()[-1] == expected, found.stderr


ORDER_HOST = r'''
import os, sys
from runit_provision.runtime.unix import realtimer
from runit_provision.runtime.supervision.engine import timerwait
from runit_provision.runtime.supervision.engine.loop import EventLoop
from runit_provision.runtime.supervision.engine.supervisor import Supervisor
from runit_provision.runtime.supervision.engine.spawn import Spawner

class ExpiringTimer:
    """A realtime timer that expires once, as soon as it is armed."""
    def __init__(self):
        self.r, self.w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    def fileno(self):
        return self.r
    def arm(self, at_usec):
        os.write(self.w, b"!")
    def disarm(self):
        pass
    def read(self):
        os.read(self.r, 64)
        return realtimer.EXPIRED
    def close(self):
        os.close(self.r); os.close(self.w)

def read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().split()[-1].decode()
    except OSError:
        return "-"

class Watching(Spawner):
    """What is on disk as ./job spawns: its start's record, and whether the stamp is."""
    def spawn(self, argv, **kwargs):
        if argv == ["./job"]:
            print(read("supervise/process"), os.path.exists("timer-stamp"), flush=True)
            loop.call_later(0.2, loop.stop)
        return Spawner.spawn(self, argv, **kwargs)

from runit_provision.runtime.supervision.engine import supervisefiles
recorded = supervisefiles.SuperviseFiles.write_starting

def write_starting(self, what):
    print("record", os.path.exists("timer-stamp"), flush=True)
    recorded(self, what)

supervisefiles.SuperviseFiles.write_starting = write_starting
timerwait.RealtimeTimer = ExpiringTimer
os.chdir(sys.argv[1])
loop = EventLoop()
service = Supervisor(loop, sys.argv[1], Watching())
service.open()
service.start()
loop.call_later(10, loop.stop)
loop.run()
'''


def test_a_jobs_stamp_is_written_after_its_starts_record_and_before_its_spawn(tmp_path,
                                                                          processes):
    """A persistent timer's run: the start's record (``starting-run``) first, then the
    stamp, then ``./job`` — so a kill -9 before the stamp leaves the elapse missed (the next
    tree runs it as a catch-up) and one after it leaves a record the started job is found by;
    a stamp before the record once lost the run to a kill between the two."""
    service = tmp_path / "svc"
    service.mkdir()
    write_file(service / "schedule",
               timer_spec_bytes(TimerSpec("hourly UTC", persistent=True)).decode())
    write_file(service / "job", SH + "exit 0\n", 0o755)
    write_file(service / "run", SH + "exit 0\n", 0o755)
    (tmp_path / "host.py").write_text(ORDER_HOST)
    group = processes.start([sys.executable, str(tmp_path / "host.py"), str(service)],
                            cwd=str(tmp_path), output=str(tmp_path / "host.out"))
    assert group.wait(15) == 0, group.output()
    said = [line for line in group.output().splitlines()
            if line.startswith(("record ", "starting-run "))]
    assert said[:2] == ["record False", "starting-run True"], group.output()  # the first run
