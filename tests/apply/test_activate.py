"""The wait for runsv and what a timeout says: ``wait_supervised`` against FIFOs this test opens
as runsv would (no process), and ``diagnosis`` naming the likely cause for each kind of tree."""

import os
import threading

import pytest

from runit_provision.apply.activate import Activator, diagnosis, wait_supervised
from runit_provision.apply.fsroot import FsRoot
from runit_provision.apply.observe import NOT_SUPERVISED
from runit_provision.errors import WaitTimeout

from .helpers import FakeRunner, MemoryFs, desired_from_text, fake_waiter, live_probe, side


class FakeRunsv:
    """What runsv does to be served: mkdir supervise/, mkfifo ok, open it for reading."""

    def __init__(self, service):
        self.service, self.fd = service, None

    def start(self):
        supervise = os.path.join(self.service, "supervise")
        os.makedirs(supervise, exist_ok=True)
        os.mkfifo(os.path.join(supervise, "ok"))
        self.fd = os.open(os.path.join(supervise, "ok"), os.O_RDONLY | os.O_NONBLOCK)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)


def test_the_wait_ends_when_runsv_opens_ok(tmp_path):
    web = tmp_path / "web"
    web.mkdir()
    runsv = FakeRunsv(str(web))
    timer = threading.Timer(0.2, runsv.start)
    timer.start()
    try:
        with FsRoot("/") as fs:
            from runit_provision.apply.observe import probe_side
            pending = wait_supervised(fs, [str(web)], 10.0, lambda path: probe_side(fs, path))
        assert pending == []
    finally:
        timer.join()
        runsv.close()


def test_a_fifo_nobody_reads_is_not_served(tmp_path):
    web = tmp_path / "web"
    (web / "supervise").mkdir(parents=True)
    os.mkfifo(str(web / "supervise" / "ok"))  # stale: left by a runsv that is gone
    with FsRoot("/") as fs:
        from runit_provision.apply.observe import probe_side
        assert wait_supervised(fs, [str(web)], 0.3,
                               lambda path: probe_side(fs, path)) == [str(web)]


DATA = """
runit::services:
  web: {command: /usr/bin/web}
  cache: {command: /usr/bin/cache}
runit::users:
  alice:
    services:
      notebook: {command: /usr/bin/notebook}
"""


def units(desired, *labels):
    return [unit for unit in desired.units if unit.label in labels]


def test_a_timeout_names_the_likely_cause():
    desired = desired_from_text(DATA)
    fs = MemoryFs()
    fs.add_tree(desired.tree)
    nobody = live_probe({})
    web, notebook = units(desired, "web")[0], units(desired, "alice/notebook")[0]
    assert diagnosis(fs, desired, [web], ["/etc/sv/web", "/etc/sv/web/log"], 15, nobody) == (
        "web: no runsv took up /etc/service/web within 15s: no runsvdir seems to run on "
        "/etc/service (start it — install-runtime links it into init — or check service_dir)")
    others = live_probe({"/etc/service/cache": side("run")})
    assert "although a runsvdir serves /etc/service (a C runsvdir rescans every 5 s" in \
        diagnosis(fs, desired, [web], ["/etc/sv/web"], 15, others)
    assert diagnosis(fs, desired, [notebook], ["/home/alice/sv/notebook"], 15, nobody) == (
        "alice/notebook: alice's tree is not up: runsvdir-alice is not running "
        "(sv status /etc/sv/runsvdir-alice)")
    tree_up = live_probe({"/etc/sv/runsvdir-alice": side("run")})
    assert "although alice's tree runs: is alice's service_dir right?" in diagnosis(
        fs, desired, [notebook], ["/home/alice/sv/notebook"], 15, tree_up)
    assert diagnosis(fs, desired, [web], ["/etc/sv/web/log"], 15, nobody) == (
        "web: runsv serves it, but its log side did not start within 15s (is log/run "
        "executable? sv status /etc/sv/web)")


def test_the_activator_raises_the_diagnosis():
    desired = desired_from_text(DATA)
    fs = MemoryFs()
    activator = Activator(fs, FakeRunner(), desired, 2.0,
                          waiter=fake_waiter(["/etc/sv/web"]), probe=lambda path: NOT_SUPERVISED)
    from runit_provision.apply.steps import Phase, WaitStep
    with pytest.raises(WaitTimeout) as caught:
        activator.execute(WaitStep(Phase.SYSTEM_LINKS, units(desired, "web", "cache"), "x"))
    assert str(caught.value).startswith("web: no runsv took up /etc/service/web within 2s")
