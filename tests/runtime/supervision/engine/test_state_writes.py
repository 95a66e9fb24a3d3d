"""A side's state files (supervisefiles.SuperviseFiles.write): pid, the process record, tally,
stat and status, in runsv's order, each written only when it changed."""

import os

import pytest

from runit_provision.protocol.status import State, Status
from runit_provision.protocol.tally import Tally, tally_from_bytes
from runit_provision.runtime.supervision.engine import servicedir, supervisefiles
from runit_provision.runtime.supervision.engine.supervisefiles import SuperviseFiles


class Recording:
    """What SuperviseFiles wrote, ``(in place, path)`` in its order, since the last
    ``take()``."""

    def __init__(self):
        self.written = []

    def take(self):
        written, self.written = self.written, []
        return written

    def writer(self, in_place, write):
        def recorded(base_fd, path, data, prefix=""):
            self.written.append((in_place, path))
            return write(base_fd, path, data, prefix)
        return recorded


@pytest.fixture
def running(tmp_path, monkeypatch):
    """``(files, io, tally)``: a side's SuperviseFiles whose writes ``io`` records, whose run
    4242 was written once."""
    (tmp_path / "supervise").mkdir()
    base = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    io = Recording()
    monkeypatch.setattr(supervisefiles, "write_new", io.writer(False, servicedir.write_new))
    monkeypatch.setattr(supervisefiles, "write_in_place",
                        io.writer(True, servicedir.write_in_place))
    try:
        files = SuperviseFiles(base, "", lambda *said: None)
        tally = Tally()
        tally.started(4242)
        files.write(Status(1, 500, 4242, False, "u", False, State.RUN), "run", tally)
        yield files, io, tally
    finally:
        os.close(base)


def test_a_state_write_is_in_runsvs_order_and_writes_only_what_changed(tmp_path, running):
    files, io, tally = running
    assert io.take() == [
        (False, "supervise/pid"), (True, "supervise/tally"), (True, "supervise/process"),
        (False, "supervise/stat"), (False, "supervise/status")]
    files.write(Status(2, 500, 4242, True, "u", False, State.RUN), "run", tally)
    assert io.take() == [(False, "supervise/stat"), (False, "supervise/status")]  # pid, tally
    assert (tmp_path / "supervise" / "pid").read_text() == "4242\n"
    assert (tmp_path / "supervise" / "stat").read_text() == "run, paused\n"


def test_a_death_restarted_at_once_goes_out_with_the_restarts_starting_record(tmp_path, running):
    """The tally of a death whose "down" is not written (a restart follows at once) is
    written with the restart's ``starting`` record, before it, and the restart's own write
    does not write it again."""
    files, io, tally = running
    io.take()
    tally.pid = 0
    tally.died(0, 2_000_000_000, 1_000_000_000)
    files.write_tally(tally)
    assert io.take() == []  # nothing yet: it waits for the restart's record
    files.write_starting("run")
    on_disk = (tmp_path / "supervise" / "tally").read_bytes()
    assert io.take() == [(True, "supervise/tally"), (True, "supervise/process")]
    tally.started(4243)
    files.write(Status(3, 500, 4243, False, "u", False, State.RUN), "run", tally)
    assert tally_from_bytes(on_disk).deaths == 1 and tally_from_bytes(on_disk).pid == 0
    assert io.take()[:3] == [(False, "supervise/pid"), (True, "supervise/tally"),
                             (True, "supervise/process")]  # the new start counted
