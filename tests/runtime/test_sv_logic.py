"""sv's pure parts: the command table, getopt, name resolution, exit codes, wait predicates.

Statuses are built with ``Status``/``status_to_bytes``; no processes, no files.
"""

import pytest

from runit_provision.errors import UsageError
from runit_provision.protocol.readiness import Readiness, readiness_bytes
from runit_provision.protocol.status import State, Status, status_from_bytes, status_to_bytes
from runit_provision.runtime.control import waits, wakers
from runit_provision.runtime.control.commands import (
    ALWAYS, NEVER, STATUS, VERBOSE, Command, command_for)
from runit_provision.runtime.control.session import is_in_svdir, lsb_status_code
from runit_provision.runtime.control.waits import Baseline, is_new_process, is_wait_done
from runit_provision.runtime.sv import exit_code, parse_args, seconds_from

SEC = 1_000_000_000
T0 = 1_700_000_000  # the service's start, unix seconds
START_NS = (T0 + 5) * SEC + 123_456_789  # sv started 5 s later


def status(pid=100, state=State.RUN, want="u", term=False, paused=False, seconds=T0,
           nanoseconds=500):
    # Round-trip through the 20 bytes, as sv reads it.
    return status_from_bytes(status_to_bytes(
        Status(seconds, nanoseconds, pid, paused, want, term, state)))


def never_checked():
    raise AssertionError("./check must not run when the status is not ready")


def passes():
    return True


def fails():
    return False


# -- command table --------------------------------------------------------------------------
@pytest.mark.parametrize("word,acts,sends,waits,kills", [
    ("up", "u", True, VERBOSE, False),
    ("down", "d", True, VERBOSE, False),
    ("once", "o", True, VERBOSE, False),
    ("pause", "p", True, VERBOSE, False),
    ("cont", "c", True, VERBOSE, False),
    ("hup", "h", True, VERBOSE, False),
    ("alarm", "a", True, VERBOSE, False),
    ("interrupt", "i", True, VERBOSE, False),
    ("quit", "q", True, VERBOSE, False),
    ("1", "1", True, VERBOSE, False),
    ("2", "2", True, VERBOSE, False),
    ("term", "t", True, VERBOSE, False),
    ("kill", "k", True, VERBOSE, False),
    ("exit", "x", True, VERBOSE, False),
    ("e", "x", True, VERBOSE, False),
    ("dingdong", "d", True, VERBOSE, False),  # only the first letter counts
    ("usr1", "u", True, VERBOSE, False),
    ("status", "s", False, NEVER, False),
    ("stat", "s", False, NEVER, False),
    ("s", "s", False, NEVER, False),
    ("start", "u", True, ALWAYS, False),
    ("stop", "d", True, ALWAYS, False),
    ("shutdown", "x", True, ALWAYS, False),
    ("restart", "tcu", True, ALWAYS, False),
    ("reload", "h", True, ALWAYS, False),
    ("try-restart", "tc", True, ALWAYS, False),
    ("check", "C", False, ALWAYS, False),
    ("force-stop", "d", True, ALWAYS, True),
    ("force-reload", "tc", True, ALWAYS, True),
    ("force-restart", "tcu", True, ALWAYS, True),
    ("force-shutdown", "x", True, ALWAYS, True),
    ("D", "d", True, ALWAYS, True),
    ("T", "tc", True, ALWAYS, True),
    ("X", "x", True, ALWAYS, True),
    ("E", "x", True, ALWAYS, True),
    ("checkup", "c", True, VERBOSE, False),  # not "check": cont
    ("try", "t", True, VERBOSE, False),  # not "try-restart": term
])
def test_command_table(word, acts, sends, waits, kills):
    assert command_for(word) == Command(acts, sends, waits, kills)


@pytest.mark.parametrize("word", ["", "restartx", "r", "force", "force-foo", "foo", "zap",
                                  "-", "U", "3"])
def test_unknown_commands_are_usage_errors(word):
    assert command_for(word) is None


def test_lsb_mode_takes_only_the_word_status():
    assert command_for("status", lsb=True) is STATUS
    assert command_for("stat", lsb=True) is None
    assert command_for("sv", lsb=True) is None
    assert command_for("start", lsb=True) == Command("u", waits=ALWAYS)
    assert command_for("down", lsb=True) == Command("d")


# -- command line -----------------------------------------------------------------------------
@pytest.mark.parametrize("args,result", [
    (["status", "a"], (0, None, False)),
    (["-v", "up", "a"], (1, None, True)),
    (["-w", "3", "up", "a"], (2, 3, True)),  # -w implies -v
    (["-w3", "up"], (1, 3, True)),
    (["-vw", "3", "up"], (2, 3, True)),
    (["-wx", "up"], (1, 0, True)),  # scan_ulong of "x" is 0
    (["--", "-v", "a"], (1, None, False)),
    (["--foo", "status", "a"], (1, None, False)),  # runit's sgetopt: "--anything" is "--"
    (["-v", "--x", "up"], (2, None, True)),
    (["-", "a"], (0, None, False)),  # a lone "-" is the command (and a usage error)
    (["-v", "-w", "10", "-v", "up"], (4, 10, True)),
    ([], (0, None, False)),
])
def test_getopt(args, result):
    assert parse_args(args, "sv") == result


@pytest.mark.parametrize("args,message", [
    (["-z", "status", "a"], b"sv: illegal option -- z\n"),
    (["-vz"], b"sv: illegal option -- z\n"),
    (["-w"], b"sv: option requires an argument -- w\n"),
    (["-V", "status", "a"], b"$Id: 900314260c6d52c986c5357673bea2f3bd3f4698 $\n"),
    (["-\u00e9"], b"sv: illegal option -- \xc3\n"),
])
def test_getopt_errors(args, message):
    with pytest.raises(UsageError) as info:
        parse_args(args, "sv")
    assert info.value.message == message
    assert info.value.usage == b"usage: sv [-v] [-w sec] command service ...\n\n"


def test_an_lsb_name_gets_the_init_script_usage():
    with pytest.raises(UsageError) as info:
        parse_args(["-z"], "web")
    assert info.value.text == b"web: illegal option -- z\nusage: web [-w sec] command\n\n"


@pytest.mark.parametrize("text,value", [
    ("7", 7), ("", 0), ("abc", 0), ("12abc", 12), ("007", 7), ("-1", 0),
    ("18446744073709551617", 1),  # wraps like C's unsigned long
])
def test_wait_seconds(text, value):
    assert seconds_from(text) == value


@pytest.mark.parametrize("name,looked_up", [
    ("web", True), ("a/b", True), ("/abs/web", False), ("./web", False), (".hidden", False),
    ("web/", False), ("", False),
])
def test_name_resolution(name, looked_up):
    assert is_in_svdir(name) is looked_up


@pytest.mark.parametrize("count,code", [(0, 0), (1, 1), (98, 98), (99, 99), (100, 99),
                                        (1000, 99)])
def test_exit_code_is_capped(count, code):
    assert exit_code(count) == code


@pytest.mark.parametrize("printed,code", [(1, 0), (2, 3), (0, 4)])
def test_lsb_status_codes(printed, code):
    assert lsb_status_code(printed) == code


# -- wait predicates --------------------------------------------------------------------------
def base(before=None):
    return Baseline(START_NS, before)


def later(**fields):
    """A status written after sv started."""
    fields.setdefault("seconds", T0 + 6)
    return status(**fields)


def test_up():
    assert is_wait_done("u", status(), base(), passes)
    assert not is_wait_done("u", status(), base(), fails)
    assert not is_wait_done("u", status(pid=0, state=State.DOWN), base(), never_checked)
    assert not is_wait_done("u", status(pid=7, state=State.FINISH), base(), never_checked)


def test_up_is_confirmed_only_once_runsv_wants_up():
    # The status written before runsv took ``u``: running, but still want down.
    assert not is_wait_done("u", status(want="d"), base(), never_checked)


def test_down():
    assert is_wait_done("d", status(pid=0, state=State.DOWN, want="d"), base(), never_checked)
    assert not is_wait_done("d", status(want="d", term=True), base(), never_checked)
    assert not is_wait_done("d", status(pid=9, state=State.FINISH, want="d"), base(),
                            never_checked)


def test_down_during_backoff_is_not_down_yet():
    # runsv's 1 s back-off: down with want up, about to start again.
    assert not is_wait_done("d", status(pid=0, state=State.DOWN, want="u"), base(),
                            never_checked)


def test_restart_with_the_old_pid_is_not_done():
    before = status(pid=100, seconds=T0 + 5, nanoseconds=200_000_500)  # same second as sv
    # runit 2.1.2 said ok here: same second, pid set, no TERM flag yet.
    assert not is_wait_done("tcu", before, base(before), never_checked)


def test_restart_waits_out_the_term_flag_and_finish():
    before = status(pid=100)
    assert not is_wait_done("tcu", status(pid=100, term=True), base(before), never_checked)
    assert not is_wait_done("tcu", status(pid=101, state=State.FINISH), base(before),
                            never_checked)


def test_restart_done_with_a_new_pid():
    before = status(pid=100)
    assert is_wait_done("tcu", later(pid=101), base(before), passes)
    assert not is_wait_done("tcu", later(pid=101), base(before), fails)
    assert not is_wait_done("tcu", later(pid=101, term=True), base(before), never_checked)


def test_restart_done_with_a_reused_pid_but_a_later_stamp():
    before = status(pid=100)
    assert is_wait_done("t", later(pid=100), base(before), passes)


def test_stamps_compare_below_the_second():
    before = status(pid=100, seconds=T0 + 5, nanoseconds=200_000_500)
    same_pid_later = status(pid=100, seconds=T0 + 5, nanoseconds=300_000_500)
    assert is_new_process(same_pid_later, base(before))
    same_pid_same_stamp = status(pid=100, seconds=T0 + 5, nanoseconds=200_000_500)
    assert not is_new_process(same_pid_same_stamp, base(before))


def test_new_process_needs_a_stamp_after_svs_start_when_nothing_was_remembered():
    assert not is_new_process(status(seconds=T0 + 5, nanoseconds=0), base())
    assert is_new_process(status(seconds=T0 + 5, nanoseconds=123_456_500), base())  # same µs
    assert is_new_process(later(), base())


def test_term_of_a_service_that_stays_down():
    before = status(want="d")
    assert is_wait_done("tc", status(pid=0, state=State.DOWN, want="d"), base(before),
                        never_checked)


def test_kill_waits_for_the_restart():
    before = status(pid=100)
    # ``k`` does not make runsv write status: the old record is still there.
    assert not is_wait_done("k", before, base(before), never_checked)
    assert is_wait_done("k", later(pid=102), base(before), passes)


def test_once():
    before = status(pid=0, state=State.DOWN, want="d", seconds=T0)
    assert not is_wait_done("o", before, base(before), never_checked)
    assert is_wait_done("o", later(pid=5, want="d"), base(before), never_checked)
    assert not is_wait_done("o", status(pid=5, want="u"), base(before), never_checked)
    # It ran and exited between two looks: down again, with a stamp after sv's start.
    assert is_wait_done("o", later(pid=0, state=State.DOWN, want="d"), base(before),
                        never_checked)
    # Down in the same second sv started, but before it: not done (runit said ok).
    early = status(pid=0, state=State.DOWN, want="d", seconds=T0 + 5, nanoseconds=500)
    assert not is_wait_done("o", early, base(early), never_checked)


def test_check_honours_want():
    assert is_wait_done("C", status(), base(), passes)
    assert not is_wait_done("C", status(), base(), fails)
    assert not is_wait_done("C", status(pid=0, state=State.DOWN, want="u"), base(),
                            never_checked)
    assert is_wait_done("C", status(pid=0, state=State.DOWN, want="d"), base(), never_checked)
    # runit 2.1.2 ran ./check and said ok: running, but want down.
    assert not is_wait_done("C", status(want="d"), base(), never_checked)


def test_pause_and_cont():
    assert is_wait_done("p", status(paused=True), base(), never_checked)
    assert not is_wait_done("p", status(), base(), never_checked)
    assert is_wait_done("p", status(pid=0, state=State.DOWN), base(), never_checked)
    assert is_wait_done("c", status(), base(), never_checked)
    assert not is_wait_done("c", status(paused=True), base(), never_checked)
    assert is_wait_done("c", status(pid=0, state=State.DOWN, paused=True), base(),
                        never_checked)


def test_exit_is_never_done_while_status_can_be_read():
    assert not is_wait_done("x", status(pid=0, state=State.DOWN, want="d"), base(),
                            never_checked)


@pytest.mark.parametrize("letter", "haiq12s")
def test_signals_are_done_at_once(letter):
    assert is_wait_done(letter, status(), base(), never_checked)


def test_check_script_runs_at_most_once_per_look():
    calls = []

    def check():
        calls.append(1)
        return True

    before = status(pid=100)
    assert is_wait_done("tcu", later(pid=101), base(before), check)
    assert calls == [1]


def test_event_classification():
    from runit_provision.runtime.unix import inotify as ino
    assert wakers.classify_event(ino.IN_MOVED_TO, "status") == "status"
    assert wakers.classify_event(ino.IN_CLOSE_WRITE, "status") == "status"
    assert wakers.classify_event(ino.IN_CLOSE_NOWRITE, "status") is None  # sv's own read
    assert wakers.classify_event(ino.IN_CLOSE_WRITE, "ok") is None  # sv's own probe
    assert wakers.classify_event(ino.IN_CLOSE_NOWRITE, "ok") == "exit"  # runsv's reader closed
    assert wakers.classify_event(ino.IN_CLOSE_WRITE, "lock") == "exit"
    assert wakers.classify_event(ino.IN_CLOSE_WRITE, "stat.new") is None
    assert wakers.classify_event(ino.IN_MOVED_TO, "pid") is None
    assert wakers.classify_event(ino.IN_DELETE_SELF, "") == "gone"
    assert wakers.classify_event(ino.IN_IGNORED, "") == "gone"
    assert wakers.classify_event(ino.IN_Q_OVERFLOW, "") == "all"


def test_inotify_event_decoding():
    from runit_provision.runtime.unix import inotify as ino
    import struct

    raw = (struct.pack("iIII", 1, ino.IN_MOVED_TO, 7, 16) + b"status\0" + b"\0" * 9
           + struct.pack("iIII", 2, ino.IN_DELETE_SELF, 0, 0))
    assert ino.events_from_bytes(raw) == [(1, ino.IN_MOVED_TO, 7, "status"),
                                          (2, ino.IN_DELETE_SELF, 0, "")]


# -- the readiness record, where a service declares readiness --------------------------------
@pytest.mark.parametrize("declared,record_pid,state,verdict", [
    (False, None, None, None),     # none declared, none written: ./check decides, as in runit
    (True, None, None, False),     # declared, the record not written yet: not ready yet
    (True, 99, "ready", False),    # declared, the record is the last run's: not ready yet
    (False, 99, "ready", None),    # a stale record, nothing declared: ./check decides
    (True, 100, "starting", False),
    (True, 100, "ready", True),
    (False, 100, "ready", True),   # a record about the pid that runs decides
])
def test_the_readiness_verdict_of_the_run_that_runs(tmp_path, monkeypatch, declared, record_pid,
                                                    state, verdict):
    """runsv writes the record right after the status that names a new pid: a wait that
    reads between the two must not take a declared service for ready (the race CI found)."""
    (tmp_path / "supervise").mkdir()
    if declared:
        (tmp_path / "ready").write_text("notify\n")
    if record_pid is not None:
        (tmp_path / "supervise" / "readiness").write_bytes(readiness_bytes(
            Readiness(state, record_pid, 1, 2, "", 0, 0, "")))
    monkeypatch.chdir(tmp_path)
    assert waits.readiness_verdict(status(pid=100)) is verdict
