"""protocol: the probe — liveness, status read, control send — against fake
``supervise/`` directories.

No processes: a FIFO with an ``O_RDONLY|O_NONBLOCK`` reader held by the test stands in for
runsv (reference §1.3); without the reader, opening it write-only fails with ENXIO.
"""

import errno
import os

import pytest

from runit_provision.errors import ProbeError, ProtocolError
from runit_provision.protocol import errstr, layout, probe, sidestate
from runit_provision.protocol.status import State, Status, status_to_bytes

RUNNING = Status(1_700_000_000, 500, 4242, False, "u", False, State.RUN)


class FakeSide:
    """A side's directory with ``supervise/{ok,control,status}``; ``alive`` holds readers."""

    def __init__(self, path, alive=True, status=RUNNING):
        self.path = path
        self.supervise = path / layout.SUPERVISE_DIR
        self.supervise.mkdir(parents=True)
        os.mkfifo(str(path / layout.OK_FIFO), 0o600)
        os.mkfifo(str(path / layout.CONTROL_FIFO), 0o600)
        self.fds = {}
        if status is not None:
            self.write_status(status_to_bytes(status))
        if alive:
            self.hold(layout.OK_FIFO)
            self.hold(layout.CONTROL_FIFO)

    def hold(self, relative):
        self.fds[relative] = os.open(str(self.path / relative), os.O_RDONLY | os.O_NONBLOCK)

    def drop(self, relative):
        os.close(self.fds.pop(relative))

    def write_status(self, data):
        (self.path / layout.STATUS_FILE).write_bytes(data)

    def sent(self):
        try:
            return os.read(self.fds[layout.CONTROL_FIFO], 100)
        except BlockingIOError:
            return b""

    def close(self):
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}


@pytest.fixture
def side(tmp_path):
    made = []

    def make(relative="web", **options):
        fake = FakeSide(tmp_path / relative, **options)
        made.append(fake)
        return fake

    yield make
    for fake in made:
        fake.close()


def failure(call, *args, **kwargs):
    with pytest.raises(ProbeError) as info:
        call(*args, **kwargs)
    return info.value


def test_probe_error_is_a_protocol_error():
    assert issubclass(ProbeError, ProtocolError)


# -- liveness --------------------------------------------------------------------------------
def test_a_reader_on_ok_is_a_running_runsv(side):
    fake = side()
    assert probe.is_runsv_running(str(fake.path)) is True
    fake.drop(layout.OK_FIFO)
    assert probe.is_runsv_running(str(fake.path)) is False


def test_no_supervise_directory_is_an_error_not_a_no(tmp_path):
    (tmp_path / "web").mkdir()
    exc = failure(probe.is_runsv_running, str(tmp_path / "web"))
    assert (str(exc), exc.path, exc.operation, exc.errno, exc.is_not_running) == (
        "unable to open supervise/ok", "supervise/ok", "open", errno.ENOENT, False)
    assert errstr.oserror_str(exc) == "file does not exist"
    assert isinstance(exc.__cause__, FileNotFoundError)


def test_the_probe_never_creates_a_dangling_supervise_target(tmp_path):
    service = tmp_path / "web"
    service.mkdir()
    (service / "supervise").symlink_to(tmp_path / "run" / "supervise.web")
    assert failure(probe.is_runsv_running, str(service)).errno == errno.ENOENT
    assert not (tmp_path / "run").exists()


# -- status ----------------------------------------------------------------------------------
def test_read_status_decodes_the_record(side):
    assert probe.read_status(str(side().path)) == RUNNING


def test_read_status_relative_to_a_directory_descriptor(side, tmp_path):
    side("web")
    fd = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert probe.read_status("web", dir_fd=fd) == RUNNING
    finally:
        os.close(fd)


def test_a_status_without_runsv_is_not_read(side):
    """§1.3: a readable but stale status is never reported once runsv is gone."""
    fake = side()
    fake.drop(layout.OK_FIFO)
    exc = failure(probe.read_status, str(fake.path))
    assert (str(exc), exc.path, exc.errno, exc.is_not_running) == (
        "runsv not running", "supervise/ok", errno.ENXIO, True)


@pytest.mark.parametrize("data", [b"", b"\0" * 19, status_to_bytes(RUNNING)[:-1] + b"\x07"])
def test_bad_format(side, data):
    """A short read (one read of up to 20 bytes, as sv does) or a state runsv never writes."""
    fake = side()
    fake.write_status(data)
    exc = failure(probe.read_status, str(fake.path))
    assert (str(exc), exc.path, exc.operation, exc.errno, exc.is_not_running) == (
        "unable to read supervise/status: bad format", "supervise/status", "read", 0, False)


def test_a_longer_status_file_is_read_as_its_first_20_bytes(side):
    fake = side()
    fake.write_status(status_to_bytes(RUNNING) + b"trailing")
    assert probe.read_status(str(fake.path)) == RUNNING


def test_missing_status_file(side):
    fake = side(status=None)
    exc = failure(probe.read_status, str(fake.path))
    assert (str(exc), exc.operation, exc.errno) == (
        "unable to open supervise/status", "open", errno.ENOENT)


def test_status_that_cannot_be_read(side):
    fake = side(status=None)
    (fake.path / layout.STATUS_FILE).mkdir()  # open(O_RDONLY) works, read() is EISDIR
    exc = failure(probe.read_status, str(fake.path))
    assert (str(exc), exc.operation, exc.errno) == (
        "unable to read supervise/status", "read", errno.EISDIR)
    assert errstr.oserror_str(exc) == "is a directory"


def test_a_fifo_as_status_does_not_block(side):
    fake = side(status=None)
    os.mkfifo(str(fake.path / layout.STATUS_FILE))
    assert str(failure(probe.read_status, str(fake.path))).endswith("bad format")


# -- control ---------------------------------------------------------------------------------
@pytest.mark.parametrize("commands", ["tcu", b"tcu"])
def test_send_control_writes_once(side, commands):
    fake = side()
    assert probe.send_control(str(fake.path), commands) is None
    assert fake.sent() == b"tcu"


def test_no_reader_on_control_is_runsv_not_running(side):
    fake = side()
    fake.drop(layout.CONTROL_FIFO)
    exc = failure(probe.send_control, str(fake.path), "u")
    assert (str(exc), exc.path, exc.operation, exc.errno, exc.is_not_running) == (
        "runsv not running", "supervise/control", "open", errno.ENXIO, True)


def test_missing_control_fifo(tmp_path):
    (tmp_path / "supervise").mkdir()
    exc = failure(probe.send_control, str(tmp_path), "u")
    assert (str(exc), exc.errno, exc.is_not_running) == (
        "unable to open supervise/control", errno.ENOENT, False)


def test_a_short_write_is_an_error_without_errno(side, monkeypatch):
    fake = side()
    monkeypatch.setattr(probe.os, "write", lambda fd, data: len(data) - 1)
    exc = failure(probe.send_control, str(fake.path), "tcu")
    assert (str(exc), exc.operation, exc.errno) == (
        "unable to write to supervise/control", "write", 0)


def test_a_failed_write_keeps_its_errno(side, monkeypatch):
    fake = side()

    def failing_write(fd, data):
        raise BlockingIOError(errno.EAGAIN, "full")

    monkeypatch.setattr(probe.os, "write", failing_write)
    exc = failure(probe.send_control, str(fake.path), "u")
    assert (str(exc), exc.errno) == ("unable to write to supervise/control", errno.EAGAIN)
    assert errstr.oserror_str(exc) == "temporary failure"


def test_normally_up_is_runsvs_rule(tmp_path):
    assert probe.is_normally_up(str(tmp_path))
    (tmp_path / layout.DOWN).mkdir()  # anything stat() finds, even a directory
    assert not probe.is_normally_up(str(tmp_path))


# -- read_status_at: the applier's variant, from supervise/'s descriptor, no link followed ----
def supervise_fd(fake):
    return os.open(str(fake.supervise), os.O_RDONLY | os.O_DIRECTORY)


def at(fake, call=probe.read_status_at):
    fd = supervise_fd(fake)
    try:
        return call(fd)
    finally:
        os.close(fd)


def test_read_status_at_reads_a_live_side_as_read_status_does(side):
    fake = side()
    assert at(fake) == probe.read_status(str(fake.path)) == RUNNING
    fake.drop(layout.OK_FIFO)
    error = failure(at, fake)
    assert error.is_not_running and str(error) == probe.NOT_RUNNING
    assert not probe.is_supervised_despite(error)


def test_read_status_at_follows_no_link_planted_in_supervise(side, tmp_path):
    """ok or status replaced by a link (to a FIFO someone else reads, to a file of theirs):
    never opened through it — read_status, sv's, would follow it."""
    elsewhere = side("elsewhere")
    fake = side()
    (fake.path / layout.OK_FIFO).unlink()
    (fake.path / layout.OK_FIFO).symlink_to(elsewhere.path / layout.OK_FIFO)
    assert probe.read_status(str(fake.path)) == RUNNING  # sv follows it
    error = failure(at, fake)
    assert (str(error), error.errno) == ("unable to open supervise/ok", errno.ELOOP)
    assert not probe.is_supervised_despite(error)
    second = side("second")
    (second.path / layout.STATUS_FILE).unlink()
    secret = tmp_path / "secret"
    secret.write_bytes(status_to_bytes(RUNNING))
    (second.path / layout.STATUS_FILE).symlink_to(secret)
    error = failure(at, second)
    assert (str(error), error.errno) == ("unable to open supervise/status", errno.ELOOP)
    assert probe.is_supervised_despite(error)  # the ok probe passed: a runsv is there


def test_read_status_at_takes_only_a_fifo_for_ok(side):
    fake = side(alive=False)
    (fake.path / layout.OK_FIFO).unlink()
    (fake.path / layout.OK_FIFO).write_bytes(b"")  # a writable file opens for writing too
    error = failure(at, fake)
    assert str(error) == "unable to open supervise/ok: not a FIFO"
    assert not probe.is_supervised_despite(error)


@pytest.mark.parametrize("side, state", [
    (sidestate.SideState(True, RUNNING), sidestate.Condition.RUN),
    (sidestate.SideState(True, RUNNING._replace(pid=0, state=State.DOWN)), sidestate.Condition.DOWN),
    (sidestate.SideState(True, RUNNING._replace(state=State.FINISH)), sidestate.Condition.FINISH),
    (sidestate.SideState(False), sidestate.Condition.NOT_SUPERVISED),
    (sidestate.SideState(True, RUNNING, unknown="unable to read supervise/status"),
     sidestate.Condition.UNKNOWN),
    (sidestate.SideState(True), sidestate.Condition.UNKNOWN),  # supervised, no status read
    (sidestate.SideState(None, RUNNING), sidestate.Condition.UNKNOWN),  # verify could not tell
])
def test_a_side_s_state_is_one_condition(side, state):
    assert side.state is state
    assert side.is_running is (state is sidestate.Condition.RUN)
    assert repr(side).startswith("SideState(supervised=%r, state=%r," % (
        side.is_supervised, state.value))
