"""A side's state files as one piece of work (supervisefiles.SuperviseFiles.write): one
``write_files`` call for pid, the process record, tally, stat and status, in runsv's order."""

import os

import pytest

from runit_provision.protocol.status import State, Status
from runit_provision.protocol.tally import Tally, tally_from_bytes
from runit_provision.runtime.supervision.engine.localio import LOCAL
from runit_provision.runtime.supervision.engine.supervisefiles import SuperviseFiles


class RecordingIO:
    """LOCAL's file work, and what each call asked."""

    def __init__(self):
        self.calls = []

    def write_files(self, base_fd, files, prefix, warn):
        self.calls.append([(in_place, path) for in_place, path, _ in files])
        LOCAL.write_files(base_fd, files, prefix, warn)


@pytest.fixture
def running(tmp_path):
    """``(files, io, tally)``: a side's SuperviseFiles over a RecordingIO, whose run 4242
    was written once."""
    (tmp_path / "supervise").mkdir()
    base = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    io = RecordingIO()
    try:
        files = SuperviseFiles(base, "", lambda *said: None, io=io)
        tally = Tally()
        tally.started(4242)
        files.write(Status(1, 500, 4242, False, "u", False, State.RUN), "run", tally)
        yield files, io, tally
    finally:
        os.close(base)


def test_a_state_write_is_one_piece_of_work_in_runsvs_order(tmp_path, running):
    files, io, tally = running
    files.write(Status(2, 500, 4242, True, "u", False, State.RUN), "run", tally)
    assert io.calls == [
        [(False, "supervise/pid"), (True, "supervise/tally"), (True, "supervise/process"),
         (False, "supervise/stat"), (False, "supervise/status")],
        [(False, "supervise/stat"), (False, "supervise/status")]]  # pid, tally unchanged
    assert (tmp_path / "supervise" / "pid").read_text() == "4242\n"
    assert (tmp_path / "supervise" / "stat").read_text() == "run, paused\n"


def test_a_death_restarted_at_once_goes_out_with_the_restarts_starting_record(tmp_path, running):
    """The tally of a death whose "down" is not written (a restart follows at once) is one
    piece of work with the restart's ``starting`` record, before it, and the restart's own
    write does not write it again."""
    files, io, tally = running
    tally.pid = 0
    tally.died(0, 2_000_000_000, 1_000_000_000)
    files.write_tally(tally)
    assert len(io.calls) == 1  # nothing yet: it waits for the restart's record
    files.write_starting("run")
    on_disk = (tmp_path / "supervise" / "tally").read_bytes()
    tally.started(4243)
    files.write(Status(3, 500, 4243, False, "u", False, State.RUN), "run", tally)
    assert io.calls[1] == [(True, "supervise/tally"), (True, "supervise/process")]
    assert tally_from_bytes(on_disk).deaths == 1 and tally_from_bytes(on_disk).pid == 0
    assert io.calls[2][:3] == [(False, "supervise/pid"), (True, "supervise/tally"),
                               (True, "supervise/process")]  # the new start counted
