"""startledger: root's own record of the processes its tree started for a user's services — kept
in place, read back by a successor (this boot's only), compacted, and refused wherever anyone
but root could have written it (issue 43)."""

import os

import pytest

from runit_provision.runtime.supervision.users import startledger
from runit_provision.runtime.supervision.engine.adoption import Record, boot_id, starting_record
from runit_provision.runtime.supervision.users.startledger import (
    LEDGER, WIDTH, LedgerSide, StartLedger, slot_bytes)

WEB, API = (2049, 11), (2049, 12)


@pytest.fixture
def directory(tmp_path):
    """runsvdir-LOGIN's directory, root's, with its supervise/ (0700, as runsv makes it)."""
    (tmp_path / "supervise").mkdir(mode=0o700)
    fd = os.open(str(tmp_path), os.O_PATH | os.O_DIRECTORY)
    yield tmp_path, fd
    os.close(fd)


def opened(fd, said=None):
    return StartLedger.open(fd, lambda message, exc=None: (said if said is not None
                                                           else []).append(message))


def test_what_a_tree_writes_its_successor_reads(directory):
    path, fd = directory
    first = opened(fd)
    running = Record(4321, 987654, boot_id(), "run")
    first.write(WEB, False, running)
    first.write(WEB, True, Record(4330, 987660, boot_id(), "run"))
    first.write(API, False, starting_record("run", 987000, boot_id()))
    first.close()  # killed: nothing forgotten
    second = opened(fd)
    assert repr(second.found(WEB, False)) == repr(running)
    assert second.found(WEB, True).pid == 4330
    assert second.starting(API) == (987000, -1, set())
    assert second.starting(WEB) == (-1, -1, {4321, 4330})
    assert second.found(API, True) is None
    second.close()


def test_the_file_is_fixed_width_lines_written_in_place(directory):
    path, fd = directory
    ledger = opened(fd)
    ledger.write(WEB, False, Record(1, 2, boot_id(), "run"))
    ledger.write(API, False, Record(3, 4, boot_id(), "run"))
    ledger.write(WEB, False, Record(5, 6, boot_id(), "finish"))  # the same line again
    data = (path / LEDGER).read_bytes()
    assert len(data) == 3 * WIDTH and data[WIDTH:2 * WIDTH] == slot_bytes(
        WEB, False, Record(5, 6, boot_id(), "finish"))
    assert (os.stat(path / LEDGER).st_mode & 0o777) == 0o600
    ledger.close()


def test_a_clean_exit_frees_its_line_and_the_next_side_takes_it(directory):
    path, fd = directory
    ledger = opened(fd)
    side = LedgerSide(ledger, WEB, False)
    side.write(Record(1, 2, boot_id(), "run"))
    side.forget()
    assert side.found is None and (path / LEDGER).read_bytes()[WIDTH:].strip() == b""
    ledger.write(API, True, Record(3, 4, boot_id(), "run"))
    assert len((path / LEDGER).read_bytes()) == 2 * WIDTH  # the freed line, not a new one
    ledger.close()
    assert opened(fd).found(WEB, False) is None


def test_what_another_boot_wrote_is_dropped_and_the_file_made_compact(directory):
    path, fd = directory
    ledger = opened(fd)
    ledger.write(WEB, False, Record(1, 2, "another-boot", "run"))
    ledger.write(API, False, Record(3, 4, boot_id(), "run"))
    ledger.count_refusal()
    ledger.close()
    again = opened(fd)
    assert again.found(WEB, False) is None and again.found(API, False).pid == 3
    assert again.refused == 1
    assert len((path / LEDGER).read_bytes()) == 2 * WIDTH
    again.close()


def test_retain_drops_what_is_kept_for_directories_no_longer_in_the_tree(directory):
    path, fd = directory
    ledger = opened(fd)
    for key in (WEB, API):
        ledger.write(key, False, Record(7, 8, boot_id(), "run"))
    ledger.close()
    again = opened(fd)
    again.retain({WEB})
    assert again.found(API, False) is None and again.found(WEB, False).pid == 7
    again.close()
    assert opened(fd).found(API, False) is None


def test_refusals_are_counted_in_the_header(directory):
    path, fd = directory
    ledger = opened(fd)
    assert [ledger.count_refusal() for _ in range(3)] == [1, 2, 3]
    assert (path / LEDGER).read_bytes()[:WIDTH].split() == [
        b"runit-provision", b"user-processes", b"1", b"refused=3"]
    ledger.close()


def test_a_garbled_line_is_no_record(directory):
    path, fd = directory
    (path / LEDGER).write_bytes(b"junk\n" + b"2049 11 m 99 1 %s run\n" % boot_id().encode()
                                + b"2049 11 x 1 2 b run".ljust(WIDTH - 1) + b"\n")
    os.chmod(str(path / LEDGER), 0o600)
    ledger = opened(fd)
    assert ledger.found(WEB, False) is None  # not on a line of its own width
    ledger.close()


@pytest.mark.parametrize("harm", ["two links", "another owner", "group-writable supervise",
                                  "supervise of another owner", "a symbolic link"])
def test_a_file_someone_else_could_write_is_not_kept(directory, harm):
    path, fd = directory
    ledger = opened(fd)
    ledger.write(WEB, False, Record(7, 8, boot_id(), "run"))
    ledger.close()
    target = path / LEDGER
    if harm == "two links":
        os.link(str(target), str(path / "elsewhere"))
    elif harm == "another owner":
        os.chown(str(target), 61001, 61001)
    elif harm == "group-writable supervise":
        os.chmod(str(path / "supervise"), 0o770)
    elif harm == "supervise of another owner":
        os.chown(str(path / "supervise"), 61001, 61001)
    else:
        os.rename(str(target), str(path / "elsewhere"))
        os.symlink(str(path / "elsewhere"), str(target))
    said = []
    found = opened(fd, said)
    assert not found.is_kept and found.found(WEB, False) is None
    assert said and "not adopted after a kill" in said[0]
    found.write(API, False, Record(1, 2, boot_id(), "run"))  # keeps nothing, fails nothing
    found.count_refusal()


def test_past_its_bound_a_side_is_said_once_and_not_kept(directory, monkeypatch):
    path, fd = directory
    monkeypatch.setattr(startledger, "MAX_SLOTS", 2)
    said = []
    ledger = opened(fd, said)
    for ino in range(4):
        ledger.write((1, ino), False, Record(ino + 10, 1, boot_id(), "run"))
    assert len(said) == 1 and "more than 2 sides" in said[0]
    assert len((path / LEDGER).read_bytes()) == 3 * WIDTH
    ledger.close()
