"""The wait for runsv and what a timeout says: ``wait_supervised`` against FIFOs this test opens
as runsv would (no process), and ``diagnosis`` naming the likely cause for each kind of tree."""

import os
import threading

import pytest

from runit_provision.apply.activate import Activator, diagnosis, not_ready, wait_supervised
from runit_provision.apply.fsroot import FsRoot
from runit_provision.apply.steps import Action, ServiceStep, Side
from runit_provision.errors import ApplyError, WaitTimeout
from runit_provision.host.sides import NOT_SUPERVISED, probe_side
from runit_provision.protocol.status import State, Status, status_to_bytes

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
            from runit_provision.host.sides import probe_side
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
        from runit_provision.host.sides import probe_side
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


def runsv_with_status(service, status):
    """A side as runsv leaves it — ``ok`` a FIFO this test reads (runsv holding it) — with
    ``status`` made by ``status(path)``; the reader's descriptor."""
    supervise = os.path.join(service, "supervise")
    os.makedirs(supervise)
    os.mkfifo(os.path.join(supervise, "ok"))
    status(os.path.join(supervise, "status"))
    return os.open(os.path.join(supervise, "ok"), os.O_RDONLY | os.O_NONBLOCK)


def write_status(path):
    with open(path, "wb") as handle:  # runsv's 20 bytes: running, want up
        handle.write(status_to_bytes(Status(1700000000, 0, 4242, False, "u", False, State.RUN)))


@pytest.mark.parametrize("plant, supervised, unknown", [
    (os.mkfifo, True, "unable to read supervise/status: bad format"),
    (lambda path: os.symlink("/etc/passwd", path), True,
     "unable to open supervise/status: symbolic link loop"),
    (write_status, True, None),
])
def test_a_status_its_owner_made_unreadable_leaves_the_state_unknown(tmp_path, plant,
                                                                    supervised, unknown):
    reader = runsv_with_status(str(tmp_path / "web"), plant)
    try:
        with FsRoot("/") as fs:
            live = probe_side(fs, str(tmp_path / "web"))
    finally:
        os.close(reader)
    assert (live.is_supervised, live.unknown) == (supervised, unknown)


@pytest.mark.parametrize("ok, unknown", [
    ("file", "unable to open supervise/ok: not a FIFO"),
    ("link", "unable to open supervise/ok: symbolic link loop"),
    ("fifo", None),  # no reader: no runsv, as sv says
    ("missing", None),  # none ever made: no runsv
])
def test_an_ok_that_is_not_runsvs_leaves_the_state_unknown(tmp_path, ok, unknown):
    supervise = tmp_path / "web" / "supervise"
    supervise.mkdir(parents=True)
    write_status(str(supervise / "status"))
    if ok == "file":
        (supervise / "ok").write_text("")
    elif ok == "link":
        (supervise / "ok").symlink_to(tmp_path / "elsewhere")
    elif ok == "fifo":
        os.mkfifo(str(supervise / "ok"))
    with FsRoot("/") as fs:
        live = probe_side(fs, str(tmp_path / "web"))
    assert (live.is_supervised, live.unknown) == (False, unknown)


def test_a_restart_is_not_sent_to_a_side_whose_state_cannot_be_told(tmp_path):
    web = str(tmp_path / "web")
    reader = runsv_with_status(web, os.mkfifo)
    runner = FakeRunner()
    desired = desired_from_text(DATA)
    try:
        with FsRoot("/") as fs:
            activator = Activator(fs, runner, desired)
            step = ServiceStep(Action.RESTART, "web", Side.MAIN, ["env changed"], None,
                               ["sv", "-w", "7", "restart", web])
            with pytest.raises(ApplyError) as caught:
                activator.execute(step)
    finally:
        os.close(reader)
    assert str(caught.value) == (
        "web: restart not done, owed to the next apply: whether %s runs cannot be told "
        "(unable to read supervise/status: bad format)" % web)
    assert runner.calls == []


def test_a_services_status_text_is_shown_escaped_in_why_it_is_not_ready(tmp_path):
    """``STATUS=`` is the service's own text (a user's, in a user's tree): apply's report shows
    it escaped, never a terminal's control sequence."""
    from types import SimpleNamespace

    from runit_provision.protocol.readiness import Readiness, readiness_bytes
    supervise = tmp_path / "web" / "supervise"
    supervise.mkdir(parents=True)
    (supervise / "readiness").write_bytes(readiness_bytes(
        Readiness("starting", 41, 10, 0, "loading \x1b[2Jdone", 0, 0)))
    status = SimpleNamespace(state=State.RUN, pid=41)
    with FsRoot("/") as fs:
        said = not_ready(fs, SimpleNamespace(path=str(tmp_path / "web")),
                         lambda path: SimpleNamespace(status=status))
    assert "\x1b" not in said and said.startswith("starting: loading ")
