"""The readers of every record a user's tree may write, fed hostile bytes (docs/security.md,
"What root reads of a user's tree"): each gives a value within its bounds, or says why the
record cannot be read — never an exception but the one it documents, never a number that a
clock, a formatter or a timer would refuse.

Each record is fed its own well-formed line with one field replaced by a hostile value, then
whole hostile inputs (empty, binary, NULs, escapes, a very long line, fields missing or
doubled), then many random byte strings and random records from a fixed seed.
"""

import math
import random
from binascii import crc32

import pytest

from runit_provision.errors import ProtocolError
from runit_provision.protocol import backoff, lastrun, needsdone, readiness, tai64, tally, timer
from runit_provision.protocol.bounds import PID_MAX, TIME_NS_MAX, printable
from runit_provision.protocol.sidestate import SideState
from runit_provision.protocol.status import State, Status, status_from_bytes
from runit_provision.protocol.timerwords import timer_read_from_bytes

HOSTILE_VALUES = [
    b"9" * 20, b"99999999999999999", b"9" * 400, b"9" * 5000, b"-1", b"-" + b"9" * 20, b"1e300",
    b"-1e300", b"1e-300", b"nan", b"NaN", b"inf", b"-inf", b"Infinity", b"", b"=", b"\x00",
    b"1\x00", b"\x1b[2J\x1b]0;pwned\x07", b"\xff\xfe\xfd", b"0x10", b"1_000", b" 1", b"+1",
    b"1.5.6", b"1..", b".5", b"1." + b"9" * 40, b"\xc2\x9b31m", b"\xe2\x80\xae", b"1/2/3",
    b"0/0", b"99/1", b"1/99999999999999999999", b"-1/-1",
]
HOSTILE_RECORDS = [
    b"", b"\n", b"\x00" * 64, bytes(range(256)), b"\x1b[2J\x1b[H" * 20, b"x" * 1_000_000,
    b"=" * 100, b" " * 2000, b"\n" * 2000,
]
SEED = 20240611
ROUNDS = 3000

NS = 1_000_000_000


def replaced(line, name, value):
    """``line`` (bytes) with the value of ``name=`` replaced by ``value``."""
    words = line.split(b" ")
    return b" ".join(name + b"=" + value if word.startswith(name + b"=") else word
                     for word in words)


# -- each reader, and what it may give ----------------------------------------------------------
def check_moment(ns):
    assert isinstance(ns, int) and 0 <= ns <= TIME_NS_MAX, ns
    lastrun.utc_text(ns)


def check_last_run(found, why):
    assert found is None or why is None, (found, why)
    if why is not None:
        assert isinstance(why, str) and why.isprintable() and len(why) <= 300, why
        return
    if found is None:
        return
    assert -1 <= found.exit_code <= 255 and 0 <= found.signal <= 255
    check_moment(found.started_ns)
    check_moment(found.ended_ns)
    assert found.boot is None or (found.boot.isprintable() and len(found.boot) <= 64)
    took = found.took
    assert took is None or (0 <= took and math.isfinite(took))
    lastrun.job_words(lastrun.DONE if found.is_done else lastrun.FAILED, found,
                      tally.exit_text)


def read_last_run(data):
    found, why = lastrun.last_run_read(data)
    check_last_run(found, why)
    assert lastrun.last_run_from_bytes(data) is found or lastrun.last_run_from_bytes(data) \
        == found
    return found, why


def check_waiting(found):
    if found is None:
        return
    assert 0 <= found.restarts <= 10 ** 12 and 0 <= found.pid <= PID_MAX
    assert 0 <= found.step <= found.steps <= backoff.STEPS_MAX
    assert math.isfinite(found.delay) and 0 <= found.delay <= backoff.DELAY_MAX
    check_moment(found.due_ns)
    found.text(1_700_000_000 * NS)
    found.words()


def read_tally(data):
    found, why = tally.tally_read(data)
    assert found is None or why is None
    if why is not None:
        assert why.isprintable() and len(why) <= 300, why
    if found is not None:
        assert 0 <= found.pid <= PID_MAX and 0 <= found.starts <= 10 ** 12
        assert 0 <= found.deaths <= 10 ** 12
        check_moment(found.died_at_ns)
        assert found.ran_ns is None or 0 <= found.ran_ns <= TIME_NS_MAX
        for moment in found.recent_ns:
            check_moment(moment)
        check_moment(found.gave_up_ns)
        check_moment(found.down_ns)
        check_waiting(found.waiting)
        tally.exit_text(found.last_exit)
        found.deaths_within(60, 1_700_000_000 * NS)
    return found, why


def read_readiness(data):
    found, why = readiness.readiness_read(data)
    assert found is None or why is None
    if found is not None:
        assert found.state in readiness.STATES
        assert 0 <= found.pid <= PID_MAX and 0 <= found.mainpid <= PID_MAX
        check_moment(found.started_ns)
        check_moment(found.ready_ns)
        assert len(found.status) <= readiness.STATUS_TEXT_MAX
        assert len(found.failed) <= readiness.STATUS_TEXT_MAX
    return found, why


def read_waiting(data):
    found, why = backoff.waiting_read(data)
    assert found is None or why is None
    check_waiting(found)
    return found, why


def read_timer(record):
    """The timer's record through its reader (ValueError: documented) and the views'."""
    try:
        found = timer.timer_state_from_bytes(record)
    except ValueError:  # its documented refusal; the views say it through printable()
        found = None
    if found is not None:
        for usec in (found.next_usec, found.elapse_usec, found.started_usec or 0):
            check_moment(usec * 1000)
        assert 0 <= found.skipped <= 10 ** 12 and 0 <= found.timed_out <= 10 ** 12
    read = timer_read_from_bytes(b"timer 1\nwhen=daily\n", record, None)
    assert read.unreadable is None or read.unreadable.isprintable()
    side = SideState(True, Status(1_700_000_000, 0, 0, False, "u", False, State.DOWN),
                     timer=read, now_ns=1_700_000_000 * NS)
    side.timer_doing  # every word of it made: times included
    return found


def read_backoff(data):
    try:
        found = backoff.backoff_from_bytes(data)
    except ValueError:
        return None
    for value in (found.first, found.max, found.jitter, found.reset):
        assert math.isfinite(value) and 0 <= value <= backoff.SECONDS_MAX
    assert 0 <= found.steps <= backoff.STEPS_MAX
    for restarts in (1, 2, found.steps + 1, 10 ** 6):
        delay = found.delay(restarts) + found.jitter
        assert math.isfinite(delay) and 0 <= delay <= backoff.DELAY_MAX
    return found


def read_needs_passed(data):
    side = SideState(True, Status(0, 0, 42, False, "u", False, State.RUN))
    assert needsdone.guard_passed(side, data, "b1") in (True, False, None)
    lines = needsdone.needed_lines(data)
    assert len(lines) <= needsdone.NEEDS_MAX


def read_status(data):
    try:
        found = status_from_bytes(data)
    except ProtocolError:
        return None
    assert found.state in (State.DOWN, State.RUN, State.FINISH)
    lastrun.utc_text(found.stamp_ns)  # a stamp out of range is "an unknown time"
    return found


def read_tai64(data):
    for call in (lambda: tai64.unix_from_tai64n(data),
                 lambda: tai64.unix_from_label(data.decode("latin-1"))):
        try:
            call()
        except ValueError:
            pass


GOOD = {
    "last-run": b"last-run 1 exit=0 signal=0 started=1764155000.123456789 "
                b"ended=1764155001.5 boot=9f1c",
    "timer": b"timer-state 1 next=1764155700.000000 elapse=1764154800.000000 skipped=2 "
             b"timed_out=0 missed=0 started=1764154800.5",
    "readiness": b"state ready\npid 41\nstarted 10\nready 15\nmainpid 0\nrefused 2\n"
                 b"failed \nstatus up\n",
    "backoff-state": b"backoff-state 1 pid=42 restarts=3 step=2/6 delay=4.000 due=17",
    "backoff": b"backoff 1 first=1 max=60 steps=6 jitter=0 reset=60",
    "needs-passed": b"needs-passed 1 pid=42 boot=b1",
}


def tally_line(**values):
    """A whole tally (its CRC right) of ``values`` (bytes) over a good one's."""
    fields = {b"pid": b"0", b"starts": b"1", b"deaths": b"1", b"exit": b"1", b"core": b"0",
              b"at": b"1700000000.5", b"ran": b"0.1", b"recent": b"0,1002",
              b"restarts": b"1", b"step": b"0/3", b"delay": b"1.000", b"due": b"1700000001.5"}
    fields.update({name.encode(): value for name, value in values.items()})
    body = b"tally 1 " + b" ".join(name + b"=" + value for name, value in fields.items())
    return body + b" crc=%08x" % crc32(body)


READERS = {"last-run": read_last_run, "timer": read_timer, "readiness": read_readiness,
           "backoff-state": read_waiting, "backoff": read_backoff,
           "needs-passed": read_needs_passed}


def test_the_good_records_read():
    assert read_last_run(GOOD["last-run"])[0].boot == "9f1c"
    assert read_timer(GOOD["timer"]).skipped == 2
    assert read_readiness(GOOD["readiness"])[0].state == "ready"
    assert read_waiting(GOOD["backoff-state"])[0].delay == 4.0
    assert read_backoff(GOOD["backoff"]).max == 60.0
    assert read_tally(tally_line())[0].waiting.delay == 1.0


# -- one field hostile ---------------------------------------------------------------------------
FIELDS = {
    "last-run": [b"exit", b"signal", b"started", b"ended", b"boot"],
    "timer": [b"next", b"elapse", b"skipped", b"timed_out", b"started"],
    "backoff-state": [b"pid", b"restarts", b"step", b"delay", b"due"],
    "backoff": [b"first", b"max", b"steps", b"jitter", b"reset"],
    "needs-passed": [b"pid", b"boot"],
}


@pytest.mark.parametrize("record, name", [(record, name) for record, names in FIELDS.items()
                                          for name in names])
def test_one_hostile_field(record, name):
    for value in HOSTILE_VALUES:
        READERS[record](replaced(GOOD[record], name, value))


@pytest.mark.parametrize("name", ["pid", "started", "ready", "mainpid", "refused", "state",
                                  "status", "failed"])
def test_one_hostile_readiness_line(name):
    for value in HOSTILE_VALUES:
        lines = [line if not line.startswith(name.encode() + b" ") else
                 name.encode() + b" " + value for line in GOOD["readiness"].split(b"\n")]
        read_readiness(b"\n".join(lines))


@pytest.mark.parametrize("name", ["pid", "starts", "deaths", "exit", "signal", "core", "at",
                                  "ran", "recent", "gave_up", "down", "restarts", "step",
                                  "delay", "due"])
def test_one_hostile_tally_field(name):
    for value in HOSTILE_VALUES + [b"1,2,99999999999999999999", b"-99999999999,1", b"," * 300]:
        line = tally_line(**{name: value})
        found, why = read_tally(line)
        if len(line) < tally.WIDTH and not line.endswith((b" ", b"\n")):
            assert found is not None or why is not None  # whole (its CRC right): read, or said


def test_the_findings_are_unreadable_with_their_reason():
    assert read_last_run(b"last-run 1 exit=0 signal=0 started=1 ended=99999999999999999\n") \
        == (None, "ended=99999999999999999 is not a time within 1970..9999")
    read = timer_read_from_bytes(b"timer 1\nwhen=daily\n",
                                 b"timer-state 1 next=%s elapse=0" % (b"9" * 20), None)
    assert read.unreadable == ("supervise/timer: next=99999999999999999999 is not a time "
                               "within 1970..9999")
    assert read_tally(tally_line(delay=b"1e300")) == (
        None, "delay=1e300 is not a number of seconds within 0..172800")
    assert read_tally(tally_line(due=b"9" * 30))[1].startswith("due=9999")
    assert read_waiting(GOOD["backoff-state"].replace(b"delay=4.000", b"delay=inf"))[1] \
        == "delay=inf is not a number of seconds within 0..172800"
    with pytest.raises(ValueError, match="out of range"):
        backoff.backoff_from_bytes(b"backoff 1 first=1 max=10000000 steps=2 jitter=0 reset=6")


def test_a_reason_quotes_nothing_a_terminal_acts_on():
    found, why = read_last_run(b"last-run 1 exit=\x1b[2J\x1b]0;x\x07 signal=0")
    assert found is None and "\x1b" not in why and "\x07" not in why and why.isprintable()
    found, why = read_tally(tally_line(at=b"\x1b[31m\xc2\x9b" + b"9" * 100))
    assert found is None and why.isprintable() and len(why) < 200
    # U+202E (three bytes) is one character, shown as one ?
    assert printable(b"\x00\x1b\xff\xe2\x80\xae" + b"x" * 500, 10) == "????xxxxxx…"


# -- whole records hostile -----------------------------------------------------------------------
@pytest.mark.parametrize("data", HOSTILE_RECORDS + [
    b"last-run", b"last-run 1", b"last-run 1 exit", b"last-run 1 exit=0 exit=1 =",
    b"last-run 1 exit=0 signal=0 started=1 ended=2 boot=a b c", b"tally 1", b"tally 1 crc=",
    b"timer-state 1", b"timer-state 1 error=" + b"\x1b" * 5000, b"backoff-state 1",
    b"backoff-state 1 restarts=1 due=1", b"backoff 1", b"state\npid\n", b"needs-passed 1 pid",
], ids=lambda data: printable(data[:24]) or "empty")
def test_a_hostile_record_whole(data):
    for reader in READERS.values():
        reader(data)
    read_tally(data)
    read_status(data)
    read_tai64(data)
    timer_read_from_bytes(data, data, data)


def test_records_the_size_of_their_files_and_beyond():
    """Each reader reads at most its record's bytes: a long tail changes nothing."""
    for record, reader in READERS.items():
        reader(GOOD[record] + b" " + b"x=" + b"9" * 100_000)
    assert read_tally(tally_line() + b" " * 10 ** 6)[0] is not None


# -- many random inputs -------------------------------------------------------------------------
def random_value(rng):
    choice = rng.random()
    if choice < 0.4:
        return rng.choice(HOSTILE_VALUES)
    if choice < 0.7:
        return str(rng.choice([0, 1, -1, 255, 256, 2 ** 31, 2 ** 63, 10 ** 11, 253402300799,
                               253402300800, rng.randrange(-10 ** 30, 10 ** 30)])).encode() \
            + rng.choice([b"", b".5", b".000000000", b"." + b"9" * 12])
    return bytes(rng.randrange(256) for _ in range(rng.randrange(12)))


def random_record(rng, good, names):
    if rng.random() < 0.2:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(300)))
    words = good.split(b" ")[:2] if b" " in good.split(b"\n")[0] else good.split(b"\n")[:1]
    for _ in range(rng.randrange(8)):
        name = rng.choice(names + [b"x", b"", b"error"])
        words.append(name + rng.choice([b"=", b"=", b"", b"=="]) + random_value(rng))
    return b" ".join(words)


@pytest.mark.parametrize("record", sorted(FIELDS))
def test_random_records(record):
    rng = random.Random("%d %s" % (SEED, record))
    for _ in range(ROUNDS):
        READERS[record](random_record(rng, GOOD[record], FIELDS[record]))


def test_random_tallies():
    rng = random.Random(SEED)
    names = ["pid", "starts", "deaths", "exit", "signal", "core", "at", "ran", "recent",
             "gave_up", "down", "restarts", "step", "delay", "due"]
    for _ in range(ROUNDS):
        chosen = {rng.choice(names): random_value(rng) for _ in range(rng.randrange(1, 5))}
        chosen = {name: value.replace(b" ", b"_") for name, value in chosen.items()}
        read_tally(tally_line(**chosen))


def test_random_readiness_records():
    rng = random.Random(SEED + 1)
    keys = [b"state", b"pid", b"started", b"ready", b"mainpid", b"refused", b"failed",
            b"status"]
    for _ in range(ROUNDS):
        lines = [key + b" " + (rng.choice([b"ready", b"starting", b"down"]) if key == b"state"
                               and rng.random() < 0.7 else random_value(rng))
                 for key in keys if rng.random() < 0.9]
        read_readiness(b"\n".join(lines))


def test_random_bytes_through_every_reader():
    rng = random.Random(SEED + 2)
    for _ in range(ROUNDS):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        for reader in READERS.values():
            reader(data)
        read_tally(data)
        read_status(data)
        read_tai64(data)
    for _ in range(ROUNDS):
        read_status(bytes(rng.randrange(256) for _ in range(20)))


def test_the_formatters_are_total():
    for ns in (0, TIME_NS_MAX, TIME_NS_MAX + 1, -1, 10 ** 40, -(10 ** 40)):
        assert isinstance(lastrun.utc_text(ns), str)
    for seconds in (0, 1.5, 10 ** 12, float("nan"), float("inf"), -1, 10 ** 300):
        assert isinstance(lastrun.duration_text(seconds), str)


def test_a_stamp_at_the_end_of_time_names_no_missed_run():
    """A persistent timer's ``timer-stamp`` is its owner's: one near the year 9999 (within
    bounds) is after now, names no missed elapse, and never reaches the calendar, which
    cannot count there."""
    stamp = timer.stamp_from_bytes(b"stamp 1 elapse=253402300000.0\n")
    now = 1_764_155_000 * timer.USEC
    for when in ("30 2 * * 1-5", "Mon *-*-* 00:00 Europe/Berlin", "daily"):
        found = timer.next_run(timer.TimerSpec(when, persistent=True), now, stamp)
        assert found is not None and found[0] > now and found[2] is False, (when, found)
    with pytest.raises(ValueError, match="not a time"):
        timer.stamp_from_bytes(b"stamp 1 elapse=%s\n" % (b"9" * 20))
