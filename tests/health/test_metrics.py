"""``status``'s rows as Prometheus metrics (health/metrics.py), pure: made-up sides in, the
text exposition format out — each family's sample from what the side says, left out where it
says nothing, the format's own lines in their order. ``tests/cli/test_metrics.py`` runs the
command on a live tree, promtool and node_exporter reading it."""

import pytest

from runit_provision.health.metrics import FAMILIES, data_valid, exposition, kind_of
from runit_provision.health.status import ServiceStatus
from runit_provision.protocol.backoff import Waiting
from runit_provision.protocol.lastrun import LastRun
from runit_provision.protocol.readiness import Readiness
from runit_provision.protocol.tally import Tally

from ..sides import NOW, NS, made_side
from .test_timer_views import record, timer
from .test_verdict import dying

S = NOW // NS  # the moment every side is read, unix seconds
WEB = '{service="web",tree="system",declared="true"}'


def series(text, labels=WEB):
    """{family: value} of the samples of ``text`` labelled ``labels`` — each series once."""
    found = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name, value = line.rsplit(" ", 1)
        if name.endswith(labels):
            family = name[:-len(labels)]
            assert family not in found, line
            found[family] = value
    return found


def web(main, log=None, **options):
    return exposition([ServiceStatus("web", "/etc/sv/web", None, True, main, log, **options)])


def ran_and_died(times, status=3 << 8, pid=42):
    """A tally of ``times`` deaths (the last one's wait status ``status``) a second apart,
    the last a second ago, then a start of ``pid`` (0: none)."""
    tally = Tally()
    for index in range(times):
        tally.started(7)
        tally.died(status, NOW - (times - index) * NS, 20_000_000)
    if pid:
        tally.started(pid)
    return tally


# -- the families of a side ----------------------------------------------------------------------
def test_a_running_daemon_of_our_runtime_gives_each_family_of_its_account():
    readiness = Readiness("ready", 42, NOW - 5 * NS, NOW - 5 * NS + 250_000_000, "", 0, 0)
    side = made_side("run", 42, 100, tally=ran_and_died(2), readiness=readiness)
    assert series(web(side)) == {
        "runit_service_as_wanted": "1", "runit_service_supervised": "1",
        "runit_service_up": "1", "runit_service_desired": "1", "runit_service_normally_up": "1",
        "runit_service_since_timestamp_seconds": "%d" % (S - 100),
        "runit_service_ready": "1", "runit_service_ready_latency_seconds": "0.250",
        "runit_service_restart_delay_seconds": "0", "runit_service_starts_total": "3",
        "runit_service_deaths_total": "2", "runit_service_last_exit_code": "3",
        "runit_service_last_exit_signal": "0",
        "runit_service_last_exit_timestamp_seconds": "%d.000" % (S - 1),
        "runit_service_crash_looping": "0", "runit_service_gave_up": "0"}


def test_a_daemon_under_the_c_runit_gives_no_account():
    """No tally: what it would count is absent, never a made-up 0; a side still starting
    says ready 0 and no latency (and is not as wanted: not ready); one normally down and
    wanted down says so."""
    starting = Readiness("starting", 42, NOW - NS, 0, "", 0, 0)
    side = made_side("run", 42, 7, want="down", is_normally_up=False, readiness=starting)
    assert series(web(side)) == {
        "runit_service_as_wanted": "0", "runit_service_supervised": "1",
        "runit_service_up": "1", "runit_service_desired": "0", "runit_service_normally_up": "0",
        "runit_service_since_timestamp_seconds": "%d" % (S - 7), "runit_service_ready": "0"}


def test_a_restart_that_waits_out_the_back_off_and_a_death_by_a_signal():
    tally = ran_and_died(6, status=9 | 0x80, pid=0)
    waits = made_side("down", 0, 1, tally=tally).replaced(
        waiting=Waiting(6, 2, 6, 4.5, NOW + 3 * NS))
    found = series(web(waits))
    assert {family: found[family] for family in (
        "runit_service_up", "runit_service_restart_delay_seconds", "runit_service_restart_step",
        "runit_service_deaths_total", "runit_service_last_exit_signal",
        "runit_service_crash_looping", "runit_service_gave_up", "runit_service_as_wanted")} \
        == {"runit_service_up": "0", "runit_service_restart_delay_seconds": "4.500",
            "runit_service_restart_step": "2", "runit_service_deaths_total": "6",
            "runit_service_last_exit_signal": "9", "runit_service_crash_looping": "1",
            "runit_service_gave_up": "0", "runit_service_as_wanted": "0"}
    assert "runit_service_last_exit_code" not in found  # a signal ended it, not an exit
    # its moment passed: nothing waits any more; an account says so, as 0
    passed = waits.replaced(waiting=Waiting(6, 2, 6, 4.5, NOW - 2 * NS))
    found = series(web(passed))
    assert found["runit_service_restart_delay_seconds"] == "0"
    assert "runit_service_restart_step" not in found
    # the C runit's finish record of a restart that waits: the wait, and still no account
    c_runit = made_side("down", 0, 1).replaced(waiting=Waiting(2, 1, 6, 2.0, NOW + NS, pid=9))
    found = series(web(c_runit))
    assert (found["runit_service_restart_delay_seconds"], found["runit_service_restart_step"]) \
        == ("2.000", "1")
    assert "runit_service_deaths_total" not in found


def test_gave_up_and_an_exit_that_cannot_be_told():
    gave_up = made_side("down", want="down", tally=dying(6, gave_up=True))
    found = series(web(gave_up))
    assert (found["runit_service_gave_up"], found["runit_service_desired"],
            found["runit_service_crash_looping"]) == ("1", "0", "1")
    unknown = Tally(starts=1, deaths=1, exit_status=None, died_at_ns=NOW - 2 * NS)
    found = series(web(made_side("down", tally=unknown)))
    assert found["runit_service_last_exit_timestamp_seconds"] == "%d.000" % (S - 2)
    assert "runit_service_last_exit_code" not in found
    assert "runit_service_last_exit_signal" not in found
    never = series(web(made_side("run", 42, 3, tally=Tally(pid=42, starts=1))))
    assert never["runit_service_deaths_total"] == "0"
    assert not {"runit_service_last_exit_code", "runit_service_last_exit_signal",
                "runit_service_last_exit_timestamp_seconds"} & set(never)


def test_a_side_no_runsv_serves_and_one_whose_state_cannot_be_told():
    """Not supervised: down, and no moment it entered a state; unknown: neither supervised
    nor up is said (``metrics`` run by a user who may not read root's supervise/)."""
    assert series(web(made_side("not supervised", is_normally_up=False))) == {
        "runit_service_as_wanted": "1", "runit_service_supervised": "0",
        "runit_service_up": "0", "runit_service_normally_up": "0"}
    assert series(web(made_side("unknown"))) == {
        "runit_service_as_wanted": "0", "runit_service_normally_up": "1"}
    # a status read with no moment to count from: no since
    unclocked = made_side("run", 42, 5, now_ns=0)
    assert "runit_service_since_timestamp_seconds" not in series(web(unclocked))


def test_waiting_for_a_one_shot_and_a_record_that_cannot_be_read():
    held = made_side("down", 0, 2).replaced(waiting_for=(("setup", "running"),))
    assert series(web(held))["runit_service_waiting_for_oneshot"] == "1"
    failed = held.replaced(waiting_for=(("setup", "running"), ("migrate", "failed")))
    assert series(web(failed))["runit_service_waiting_for_oneshot"] == "2"
    assert "runit_service_waiting_for_oneshot" not in series(web(made_side("down", 0, 2)))
    planted = made_side("run", 42, 5).replaced(unreadable=(("supervise/tally", "no pid="),))
    found = series(web(planted))
    assert (found["runit_service_unreadable"], found["runit_service_as_wanted"]) == ("1", "0")
    assert "runit_service_unreadable" not in series(web(made_side("run", 42, 5)))


def oneshot(state, last):
    """A one-shot's side in ``state``, its last run ``last`` (LastRun) or none."""
    return made_side(state, 42 if state == "run" else 0, 5, want="down").replaced(
        is_oneshot=True, last_run=last)


@pytest.mark.parametrize("side, families", [
    (oneshot("down", LastRun(0, 0, NOW - 9 * NS, NOW - 8 * NS + 500_000_000)),
     {"runit_service_oneshot_failed": "0", "runit_service_oneshot_last_run_exit_code": "0",
      "runit_service_oneshot_last_run_signal": "0",
      "runit_service_oneshot_last_run_timestamp_seconds": "%d.500" % (S - 8),
      "runit_service_oneshot_last_run_duration_seconds": "1.500"}),
    (oneshot("down", LastRun(-1, 9 | 0x80, NOW - 9 * NS, NOW - 8 * NS)),
     {"runit_service_oneshot_failed": "1", "runit_service_oneshot_last_run_exit_code": "-1",
      "runit_service_oneshot_last_run_signal": "9",
      "runit_service_oneshot_last_run_timestamp_seconds": "%d.000" % (S - 8),
      "runit_service_oneshot_last_run_duration_seconds": "1.000"}),
    # a record without its stamps: no moment, no duration
    (oneshot("down", LastRun(4, 0, 0, 0)),
     {"runit_service_oneshot_failed": "1", "runit_service_oneshot_last_run_exit_code": "4",
      "runit_service_oneshot_last_run_signal": "0"}),
    (oneshot("run", None), {"runit_service_oneshot_failed": "0"}),
    (oneshot("down", None), {}),  # never run: neither failed nor not
], ids=["done", "killed, its core dumped", "no stamps", "running", "never run"])
def test_a_one_shots_last_run(side, families):
    found = series(web(side))
    assert {family: value for family, value in found.items() if "oneshot" in family} \
        == families


def test_the_log_side_has_families_of_its_own():
    text = web(made_side("run", 42, 5), made_side("down", 0, 9, tally=ran_and_died(1, pid=0)))
    found = series(text)
    assert (found["runit_service_up"], found["runit_service_log_up"]) == ("1", "0")
    assert found["runit_service_log_deaths_total"] == "1"
    assert "runit_service_deaths_total" not in found  # the service's: no account
    assert found["runit_service_as_wanted"] == "0"  # its logger is down


def test_families_labels_and_what_is_left_out_without_an_account():
    tally = Tally()
    for moment in range(6):
        tally.started(9)
        tally.died(11 | 0x80, NOW + (moment - 10) * NS, 10**7)
    rows = [
        ServiceStatus("web", "/etc/sv/web", None, True,
                      made_side("down", 0, 3, "up", True, tally, NOW),
                      made_side("run", 12, 100, "up", True, None, NOW)),
        ServiceStatus('odd"name', "/home/a/sv/x", "alice", True,
                      made_side("not supervised"), None),
        # not in the data: a name found in a home, shown as status shows it (UTF-8 text)
        ServiceStatus("alice/by\nhand\udcff", "/home/a/service/by\nhand\udcff", "alice", True,
                      made_side("run", 7, 5, "up", True, None, NOW), None,
                      declared=False)]
    text = exposition(rows)
    system = 'service="web",tree="system",declared="true"'
    assert 'runit_service_up{%s} 0\n' % system in text
    assert 'runit_service_deaths_total{%s} 6\n' % system in text
    assert 'runit_service_last_exit_signal{%s} 11\n' % system in text
    assert 'runit_service_crash_looping{%s} 1\n' % system in text
    assert 'runit_service_since_timestamp_seconds{%s} %d\n' % (system, S - 3) in text
    assert "runit_service_last_exit_code{" not in text  # a signal, not an exit
    assert 'runit_service_log_up{%s} 1\n' % system in text
    assert "runit_service_log_deaths_total" not in text  # no account: absent, not 0
    assert 'runit_service_supervised{service="odd\\"name",tree="alice",declared="true"} 0\n' \
        in text
    # shown_name's escapes (by\nhand\xff), then the format's own (a backslash doubled)
    assert ('runit_service_up{service="alice/by\\\\nhand\\\\xff",tree="alice",'
            'declared="false"} 1\n') in text
    text.encode("utf-8")  # what the textfile is written as: no lone surrogate left
    assert text.count("# TYPE runit_service_deaths_total counter\n") == 1
    assert exposition([]) == ""


def test_as_wanted_is_the_verdict_and_an_unknown_state_is_no_up_0():
    """Issue 44 items 18 and 6: ``runit_service_as_wanted`` is status's verdict, one sample a
    service (its logger's trouble included); a side whose state cannot be told — metrics run
    by a user, who may not read root's supervise/ — has no ``up`` or ``supervised`` at all."""
    tally = Tally()
    for moment in range(6):
        tally.started(9)
        tally.died(3 << 8, NOW + (moment - 10) * NS, 10**7)
    running = made_side("run", 12, 100, "up", True, None, NOW)
    rows = [
        ServiceStatus("web", "/etc/sv/web", None, True, running, running),
        ServiceStatus("crashy", "/etc/sv/crashy", None, True,
                      made_side("run", 9, 0, "up", True, tally, NOW), running),
        ServiceStatus("quiet", "/etc/sv/quiet", None, True,
                      made_side("down", 0, 5, "down", True, None, NOW), None),
        ServiceStatus("mute", "/etc/sv/mute", None, True, running,
                      made_side("down", 0, 5, "up", True, None, NOW)),
        ServiceStatus("root-only", "/etc/sv/root-only", None, True,
                      made_side("unknown", now_ns=NOW), None)]
    text = exposition(rows)
    wanted = {name: 'runit_service_as_wanted{service="%s",tree="system",declared="true"}'
              % name for name in ("web", "crashy", "quiet", "mute", "root-only")}
    assert [line for line in text.splitlines() if "as_wanted" in line] == [
        "# HELP runit_service_as_wanted 1 when the service is as wanted (status's verdict, its "
        "logger included); 0 makes status exit 3.",
        "# TYPE runit_service_as_wanted gauge",
        wanted["web"] + " 1", wanted["crashy"] + " 0", wanted["quiet"] + " 1",
        wanted["mute"] + " 0", wanted["root-only"] + " 0"]
    assert 'service="root-only"' not in "".join(
        line for line in text.splitlines() if line.startswith(("runit_service_up{",
                                                                "runit_service_supervised{")))
    assert 'runit_service_normally_up{service="root-only",tree="system",declared="true"} 1' \
        in text


# -- the rows' labels and the format's lines -----------------------------------------------------
def test_a_row_is_labelled_by_its_service_its_tree_and_whether_the_data_declares_it():
    rows = [ServiceStatus("web", "/etc/sv/web", None, True, made_side("run", 1, 5), None),
            ServiceStatus("app", "/home/alice/sv/app", "alice", True, made_side("run", 2, 5),
                          None, declared=False),
            ServiceStatus('q"uote', "/etc/sv/x", 'back\\slash\nnewline', True,
                          made_side("run", 3, 5), None)]
    text = exposition(rows)
    assert series(text)["runit_service_up"] == "1"
    assert series(text, '{service="app",tree="alice",declared="false"}')["runit_service_up"] \
        == "1"
    # the format's escapes: a backslash doubled, a quote and a newline escaped
    assert series(text, '{service="q\\"uote",tree="back\\\\slash\\nnewline",'
                        'declared="true"}')["runit_service_up"] == "1"


def test_kind_says_daemon_one_shot_or_timer():
    sides = {"daemon": made_side("run", 1, 5), "oneshot": oneshot("down", None),
             "timer": timer("down")}
    assert {kind: kind_of(side) for kind, side in sides.items()} == {
        kind: kind for kind in sides}
    text = exposition([ServiceStatus(kind, "/etc/sv/" + kind, None, True, side, None)
                       for kind, side in sides.items()])
    for kind in sides:
        assert series(text, '{service="%s",tree="system",declared="true",kind="%s"}'
                      % (kind, kind)) == {"runit_service_kind": "1"}


def families_in(text):
    """The families of ``text`` in their order, each as ``(name, type)``, checking the format
    around them: a HELP line, then its TYPE line, then its samples, and no family twice."""
    lines, found = text.splitlines(), []
    index = 0
    while index < len(lines):
        help_line, type_line = lines[index], lines[index + 1]
        name = help_line.split(" ")[2]
        assert help_line.startswith("# HELP %s " % name) and len(help_line) > 9 + len(name)
        assert type_line.startswith("# TYPE %s " % name)
        found.append((name, type_line.split(" ")[3]))
        index += 2
        first = index
        while index < len(lines) and not lines[index].startswith("#"):
            assert lines[index].startswith((name + "{", name + " ")), lines[index]
            index += 1
        assert index > first, name  # no family without a sample
    assert len({name for name, _ in found}) == len(found)
    return found


def test_the_verdicts_first_then_each_sides_families_in_their_order_log_sides_last():
    rows = [ServiceStatus("web", "/etc/sv/web", None, True,
                          made_side("run", 42, 5, tally=ran_and_died(1)),
                          made_side("run", 43, 5, tally=ran_and_died(1, pid=43))),
            ServiceStatus("db", "/etc/sv/db", None, True, made_side("down", 0, 5), None),
            ServiceStatus("app", "/etc/sv/app", None, True, made_side("run", 44, 5),
                          made_side("run", 45, 5))]
    text = exposition(rows)
    assert text.endswith("\n") and "\n\n" not in text
    found = families_in(text)
    assert found[:2] == [("runit_service_as_wanted", "gauge"), ("runit_service_kind", "gauge")]
    names = [name for name, _ in found]
    order = [suffix for suffix, _, _ in FAMILIES]
    service = [name[len("runit_service_"):] for name in names[2:]
               if not name.startswith("runit_service_log_")]
    log = [name[len("runit_service_log_"):] for name in names
           if name.startswith("runit_service_log_")]
    assert service == sorted(service, key=order.index) and log == sorted(log, key=order.index)
    assert names.index("runit_service_log_up") > names.index("runit_service_gave_up")
    types = dict(found)
    assert types["runit_service_starts_total"] == types["runit_service_log_deaths_total"] \
        == "counter"
    assert types["runit_service_up"] == "gauge"
    # each sample of a family in the rows' order
    assert [line.split("{")[1].split(",")[0] for line in text.splitlines()
            if line.startswith("runit_service_up{")] == ['service="web"', 'service="db"',
                                                         'service="app"']
    # a row without a logger among them: every logger of the others still has its samples
    assert [line.split("{")[1].split(",")[0] for line in text.splitlines()
            if line.startswith("runit_service_log_up{")] == ['service="web"', 'service="app"']
    assert exposition([]) == ""


def test_data_valid_says_whether_the_data_was_read():
    for is_valid, value in ((True, "1"), (False, "0")):
        text = data_valid(is_valid)
        assert families_in(text) == [("runit_data_valid", "gauge")]
        assert text.endswith("\nrunit_data_valid %s\n" % value)


def test_a_timers_and_a_cgroups_families_are_written_as_every_other():
    from runit_provision.protocol.cgroupfs import Usage

    usage = Usage("/runit-provision/web", memory=1 << 20, memory_high=1 << 30, tasks=2,
                  cpu_usec=1_500_000, procs=[42])
    rows = [ServiceStatus("web", "/etc/sv/web", None, True, made_side("run", 42, 5), None,
                          cgroup=usage),
            ServiceStatus("nightly", "/etc/sv/nightly", None, True,
                          timer("down", timer_record=record()), None)]
    found = families_in(exposition(rows))
    names = [name for name, _ in found]
    assert names[-5:] == ["runit_service_memory_bytes", "runit_service_memory_high_bytes",
                          "runit_service_tasks",
                          "runit_service_cpu_seconds_total",
                          "runit_service_outliving_processes"]
    assert ("runit_timer_next_run_seconds", "gauge") in found
    assert ("runit_timer_skipped_total", "counter") in found
    assert ("runit_service_cpu_seconds_total", "counter") in found
    assert {family: value for family, value in series(exposition(rows)).items()
            if family.startswith(("runit_service_memory", "runit_service_tasks",
                                  "runit_service_cpu", "runit_service_outliving"))} == {
        "runit_service_memory_bytes": "1048576", "runit_service_memory_high_bytes": "1073741824",
        "runit_service_tasks": "2", "runit_service_cpu_seconds_total": "1.500000",
        "runit_service_outliving_processes": "0"}  # its one process is the main one


def test_the_moment_a_side_entered_its_state_is_a_whole_second_read_late_in_one():
    """Read at the last nanosecond of a second: the second it is in, as sv counts the
    uptime — not the next one that a float of the nanoseconds rounds to."""
    late = NOW + NS - 1
    side = made_side("run", 42, 5, now_ns=late)
    assert series(web(side))["runit_service_since_timestamp_seconds"] == "%d" % (S - 5)
