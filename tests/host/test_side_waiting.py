"""host/sides.side_waiting: the restart that waits out a back-off, from our runsv's tally or,
under the C runit, the rendered finish's ``backoff-state`` — believed only when it names the
finish that runs now (the file is the service owner's: shown, never acted on)."""

from runit_provision.host.fsread import FsReader
from runit_provision.host.sides import side_waiting
from runit_provision.protocol.backoff import Waiting
from runit_provision.protocol.tally import Tally

from ..sides import made_side

NOW = 1_700_000_000 * 10**9


def test_the_c_runits_record_counts_only_for_the_finish_that_runs(tmp_path):
    (tmp_path / "backoff-state").write_text(
        "backoff-state 1 pid=42 restarts=2 step=1/3 delay=4.000 due=1700000003.000\n")
    with FsReader() as fs:
        found = side_waiting(fs, str(tmp_path), made_side("finish", 42, 1, now_ns=NOW))
        assert found == Waiting(2, 1, 3, 4.0, NOW + 3 * 10**9, 42)
        assert found.text(NOW) == "restarting in 3 s (step 1 of 3)"
        for other in (made_side("finish", 43, 1, now_ns=NOW),  # another finish's record
                      made_side("run", 42, 1, now_ns=NOW),  # no finish runs
                      made_side("down", 0, 1, now_ns=NOW)):
            assert side_waiting(fs, str(tmp_path), other) is None
        (tmp_path / "backoff-state").write_text("backoff-state 1 pid=42 restarts=0\n")
        assert side_waiting(fs, str(tmp_path), made_side("finish", 42, 1, now_ns=NOW)) is None
        (tmp_path / "backoff-state").unlink()
        (tmp_path / "backoff-state").symlink_to("/etc/passwd")  # never followed
        assert side_waiting(fs, str(tmp_path), made_side("finish", 42, 1, now_ns=NOW)) is None


def test_our_runsvs_tally_says_it_and_the_finishs_file_is_not_read(tmp_path):
    (tmp_path / "backoff-state").write_text(
        "backoff-state 1 pid=42 restarts=2 step=1/3 delay=4.000 due=1700000003.000\n")
    tally = Tally(pid=42, waiting=Waiting(5, 3, 3, 8.0, NOW + 10**9))
    with FsReader() as fs:
        side = made_side("finish", 42, 1, tally=tally, now_ns=NOW)
        assert side_waiting(fs, str(tmp_path), side) is tally.waiting
        tally.waiting = Waiting(5)  # the series' count alone: nothing waits
        assert side_waiting(fs, str(tmp_path), side) is None
