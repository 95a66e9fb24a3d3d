"""``status --json``'s record of a row (health/status.py), pure: made-up sides in, each field
out — every derived word of a side, our runtime's account or ``unknown`` where none is kept,
and what only some sides have (readiness, a restart that waits, what ./run waits for, a
record that cannot be read) only for them, so every other side's JSON stays as it was."""

import pytest

from runit_provision.health.status import ServiceStatus, side_json
from runit_provision.host.owed import Owed
from runit_provision.protocol.backoff import Waiting
from runit_provision.protocol.readiness import Readiness
from runit_provision.protocol.tally import Tally

from ..sides import NOW, NS, made_side

S = NOW // NS  # the moment every side is read, unix seconds


def plain(state="run", pid=42, uptime=100, want="up", normally="up", paused=False):
    """The JSON every side has: what its status says, and no account (the C runit's)."""
    return {"state": state, "pid": pid, "uptime": uptime, "want": want, "normally": normally,
            "paused": paused, "starts": "unknown", "deaths": "unknown", "last_exit": "unknown",
            "deaths_in_window": "unknown", "crash_looping": "unknown", "gave_up": "unknown"}


def test_a_side_without_an_account_says_unknown_for_what_it_would_count():
    assert side_json(made_side("run", 42, 100)) == plain()
    assert side_json(made_side("down", 0, 3, want="down", is_normally_up=False,
                               paused=True)) == plain("down", None, 3, "down", "down", True)
    assert side_json(made_side("not supervised")) == plain("not supervised", None, None, None)
    assert side_json(made_side("unknown")) == plain("unknown", None, None, None)


def test_our_runtimes_account_of_a_side():
    tally = Tally()
    for index in range(6):
        tally.started(7)
        tally.died(3 << 8, NOW - (6 - index) * NS, 250_000_000)
    found = side_json(made_side("down", 0, 1, tally=tally))
    assert found == dict(plain("down", None, 1), starts=6, deaths=6,
                         last_exit={"code": 3, "at": S - 1.0, "ran": 0.25},
                         deaths_in_window=6, window=60, crash_looping=True, gave_up=None)
    tally.gave_up_ns = NOW - NS // 2
    tally.died(9 | 0x80, NOW - NS // 2, None)
    found = side_json(made_side("down", 0, 1, want="down", tally=tally))
    assert (found["gave_up"], found["last_exit"], found["deaths_in_window"]) == (
        S - 0.5, {"signal": 9, "core": True, "at": S - 0.5, "ran": None}, 7)
    never = side_json(made_side("run", 42, 5, tally=Tally(pid=42, starts=1)))
    assert (never["last_exit"], never["deaths"], never["crash_looping"]) == (None, 0, False)


def test_readiness_only_for_a_side_that_declares_it():
    ready = Readiness("ready", 42, NOW - 2 * NS, NOW - NS, "serving", 43, 2)
    found = side_json(made_side("run", 42, 2, readiness=ready))
    assert found == dict(plain(uptime=2), readiness={
        "state": "ready", "ready": True, "latency": 1.0, "ready_at": S - 1.0,
        "started_at": S - 2.0, "status": "serving", "mainpid": 43, "refused": 2})
    starting = Readiness("starting", 42, NOW - NS, 0, "", 0, 0)
    assert side_json(made_side("run", 42, 1, readiness=starting))["readiness"] == {
        "state": "starting", "ready": False, "latency": None, "ready_at": None,
        "started_at": S - 1.0, "status": "", "mainpid": None, "refused": 0}


def test_a_restart_that_waits_and_one_whose_moment_passed():
    waits = made_side("down", 0, 1).replaced(waiting=Waiting(4, 2, 6, 8.0, NOW + 5 * NS))
    assert side_json(waits)["restart"] == {"in": 5.0, "due": S + 5.0, "delay": 8.0, "step": 2,
                                           "steps": 6, "restarts": 4}
    # read a moment after it was due, within the second's grace: in no time
    late = waits.replaced(waiting=Waiting(4, 2, 6, 8.0, NOW - NS // 2))
    assert side_json(late)["restart"]["in"] == 0.0
    passed = waits.replaced(waiting=Waiting(4, 2, 6, 8.0, NOW - 3 * NS))
    assert side_json(passed)["restart"] is None
    assert "restart" not in side_json(made_side("down", 0, 1))


def test_what_only_some_sides_have_is_only_theirs():
    waits_for = made_side("down", 0, 2).replaced(
        waiting_for=(("setup", "running"), ("migrate", "failed")),
        unreadable=(("supervise/readiness", "no pid="),))
    found = side_json(waits_for)
    assert (found["waiting_for"], found["unreadable"]) == (
        "setup, migrate (failed)", "supervise/readiness: no pid=")
    assert not {"waiting_for", "unreadable", "readiness", "restart", "timer"} & set(
        side_json(made_side("down", 0, 2)))


def row(main, log=None, **options):
    return ServiceStatus("web", "/etc/sv/web", None, True, main, log, **options)


def test_a_rows_json_and_its_fact():
    owed = [Owed("restart", "/etc/sv/web", "web", "run changed"),
            Owed("hup", "/etc/sv/web/log", "web/log", "config changed")]
    found = row(made_side("run", 42, 100), made_side("down", 0, 3), owed=owed)
    assert found.as_json() == {
        "service": "web", "path": "/etc/sv/web", "tree": None, "declared": True, "note": None,
        "enabled": True, "wanted": True, "running": True, "verdict": "its logger is down",
        "main": plain(), "log": plain("down", None, 3),
        "owed": [{"action": "restart", "target": "/etc/sv/web", "reason": "run changed"},
                 {"action": "hup", "target": "/etc/sv/web/log", "reason": "config changed"}]}
    fact = found.as_fact()
    assert {key: fact[key] for key in ("service", "path", "tree", "declared", "note",
                                       "enabled", "wanted", "running", "verdict")} == {
        "service": "web", "path": "/etc/sv/web", "tree": None, "declared": True, "note": None,
        "enabled": True, "wanted": True, "running": True, "verdict": "its logger is down"}
    assert (fact["main"]["state"], fact["log"]["state"]) == ("run", "down")
    alone = row(made_side("down", 0, 3))
    assert (alone.as_json()["log"], alone.as_fact()["log"]) == (None, None)
    assert (alone.is_wanted, alone.is_running, alone.verdict.word) == (True, False,
                                                                       "not running")


@pytest.mark.parametrize("enabled, declared, wanted", [
    (True, True, True), (False, True, False),
    (False, False, True),  # not in the data: runsv's rule, whatever it says of enabled
])
def test_wanted_is_the_datas_for_a_declared_service(enabled, declared, wanted):
    found = ServiceStatus("web", "/etc/sv/web", None, enabled, made_side("down", 0, 3), None,
                          declared=declared)
    assert (found.is_wanted, found.as_json()["wanted"], found.as_fact()["wanted"]) == (
        wanted, wanted, wanted)


def test_a_service_the_data_does_not_declare_is_marked_so():
    byhand = ServiceStatus("alice/byhand", "/home/alice/service/byhand", "alice", True,
                           made_side("run", 7, 5), None, declared=False, note="why not")
    assert byhand.mark == "not in the data: /home/alice/service/byhand (apply leaves it alone)"
    assert (byhand.as_json()["tree"], byhand.as_json()["note"], byhand.as_json()["declared"]) \
        == ("alice", "why not", False)
    assert row(made_side("run", 7, 5)).mark is None


def test_a_cgroups_processes_outlive_a_main_process_that_no_longer_runs():
    """Only a side that runs has a main process: while ./finish runs (its pid is the
    status's), every process of the cgroup outlives it; a list that could not be read counts
    none, and says so."""
    from runit_provision.health.status import cgroup_json
    from runit_provision.protocol.cgroupfs import Usage

    usage = Usage("/runit-provision/web", procs=[42, 77])
    assert cgroup_json(usage, made_side("run", 42, 5))["outliving"] == 0
    assert cgroup_json(usage, made_side("finish", 77, 1))["outliving"] == 2
    # one that does not run has no pid the list could hold, whatever pids it lists
    assert cgroup_json(Usage("/runit-provision/web", procs=[1, 77]),
                       made_side("down"))["outliving"] == 2
    unknown = cgroup_json(Usage("/runit-provision/web", memory=1), made_side("run", 42, 5))
    assert (unknown["processes"], unknown["outliving"], unknown["memory"]) == (None, None, 1)


def test_a_timers_fact_is_judged_with_its_logger():
    from .test_timer_views import record, timer

    found = row(timer("down", timer_record=record()), made_side("down", 0, 3))
    assert found.as_fact()["verdict"] == found.as_json()["verdict"] == "its logger is down"
