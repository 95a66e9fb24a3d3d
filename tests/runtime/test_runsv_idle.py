"""An idle runsv never wakes up: no timers, no polling (the runtime is event-driven).

Measured as the change in the process's voluntary context switches while nothing happens;
a poll loop or a periodic timer would add at least one per interval.
"""

import os
import signal
import subprocess
import time

import pytest

from ..conftest import our_tool
from .processes import voluntary_switches, wait_until

RUN = "#!/bin/sh\nexec sleep 1000\n"




@pytest.mark.slow
def test_idle_runsv_with_log_does_not_wake(tmp_path):
    service = tmp_path / "svc"
    (service / "log").mkdir(parents=True)
    for path in (service / "run", service / "log" / "run"):
        path.write_text(RUN)
        path.chmod(0o755)
    proc = subprocess.Popen([our_tool("runsv"), str(service)], start_new_session=True)
    try:
        stat = service / "supervise" / "stat"
        log_stat = service / "log" / "supervise" / "stat"
        wait_until(lambda: stat.exists() and stat.read_text() == "run\n"
                   and log_stat.exists() and log_stat.read_text() == "run\n")
        time.sleep(0.2)  # let start-up settle before the idle window opens
        before = voluntary_switches(proc.pid)
        time.sleep(3)  # the idle window itself: what we measure, not a synchronisation
        after = voluntary_switches(proc.pid)
        assert after - before == 0, "runsv woke up %d times while idle" % (after - before)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
