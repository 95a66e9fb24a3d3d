"""protocol/schedule/calendar.py against systemd 252's ``systemd-analyze calendar --iterations=20``.

The corpus (calendar_corpus.py: systemd.time(7)'s examples, the shorthands, the DST changes of
Europe/Berlin and America/New_York, leap days, ``~`` forms, the 31st in short months, weekday
and date together, steps and ranges, and expressions systemd refuses) and systemd's answers
are kept in calendar_parity.json, so the comparison runs without systemd; where
systemd-analyze is installed (always in CI) the interop test asks it again, live: a sample
where it and the tz database are the fixture's (the same program on the same data), else
the whole corpus.

The answers hold under the tz rules they were read with: the fixture records its tz database's
release and a digest of each zone's rules, and a zone whose rules differ here (a newer
tzdata: Morocco's summer time is set anew each year) is left out of the comparison with the
fixture — said by a skip — and compared only live. A fixture of a newer tz database would
fail on every older one instead; one recorded without the rules could not tell stale
answers from wrong ones.
"""

import json
import os
import zoneinfo

import pytest

from runit_provision.errors import ScheduleError
from runit_provision.protocol.schedule.calendar import parse_calendar
from tests.skips import missing
from tests.protocol import calendar_corpus

FIXTURE = json.loads(calendar_corpus.FIXTURE.read_text())


def disagreements(cases):
    """Each case where we differ from systemd's outcome, said in one line."""
    found = []
    for case in cases:
        expression = case["expression"]
        refused = "error" in case and "Failed to parse" in case["error"]
        try:
            spec = parse_calendar(expression)
        except ScheduleError as exc:
            if not refused:
                found.append("%r: we refuse it (%s), systemd accepts it" % (expression, exc))
            continue
        if refused:
            found.append("%r: we accept it as %s, systemd refuses it" % (expression, spec))
            continue
        if "error" not in case and str(spec) != case["normalized"]:
            found.append("%r: normalized %r, systemd %r" % (expression, str(spec),
                                                           case["normalized"]))
            continue
        try:
            ours = [usec // 1000000 for usec in spec.elapses(
                case["start"] * 1000000, calendar_corpus.ITERATIONS,
                zoneinfo.ZoneInfo(case["zone"]))]
        except ScheduleError as exc:
            ours = "no elapse (%s)" % exc
        if "error" in case:    # systemd gave up ("Infinite loop in calendar calculation")
            if not isinstance(ours, str):
                found.append("%r in %s from %d: %s, systemd: %s" % (
                    expression, case["zone"], case["start"], ours, case["error"]))
        elif ours != case["elapses"]:
            found.append("%r in %s from %d: %s, systemd %s" % (
                expression, case["zone"], case["start"], ours, case["elapses"]))
    return found


def in_hundreds(cases):
    return {"cases %04d-%04d" % (first, first + 99): cases[first:first + 100]
            for first in range(0, len(cases), 100)}


GROUPS = in_hundreds(FIXTURE["cases"])
CHANGED = calendar_corpus.changed_zones(FIXTURE)


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_elapses_equal_systemd_analyze(group):
    found = disagreements([case for case in GROUPS[group]
                           if not calendar_corpus.zones_of(case) & set(CHANGED)])
    assert not found, "%d of %d differ from %s:\n%s" % (
        len(found), len(GROUPS[group]), FIXTURE["systemd"], "\n".join(found[:20]))


def test_the_corpus_is_what_it_claims():
    cases = FIXTURE["cases"]
    accepted = {case["expression"] for case in cases if "error" not in case}
    refused = {case["expression"] for case in cases if "error" in case}
    assert len(accepted) >= 200 and len(refused) >= 30
    # systemd 252 gives up on some (a month repetition run past December into summer time,
    # read back with summer's isdst by glibc: "Infinite loop in calendar calculation")
    assert any("Infinite loop" in case.get("error", "") for case in cases)
    assert {case["zone"] for case in cases} >= {"Europe/Berlin", "America/New_York"}
    full = [case for case in cases if len(case.get("elapses", ())) == 20]
    assert len(full) >= 1000
    # the fixture is the corpus of calendar_corpus.py, every case of it, in order
    assert [(case["expression"], case["zone"], case["start"]) for case in cases] == list(
        calendar_corpus.cases())


def test_the_zones_rules_here_are_the_fixtures():
    """Where they are not, those zones' cases are compared live only (the interop test)."""
    assert FIXTURE["tzdata"] and sorted(FIXTURE["zones"]) == calendar_corpus.corpus_zones(
        FIXTURE["cases"])
    if CHANGED:
        pytest.skip("tzdata %s here, %s in the fixture: %s's rules differ, their cases are "
                    "compared live only" % (calendar_corpus.tzdata_version(),
                                            FIXTURE["tzdata"], ", ".join(CHANGED)))


def test_a_change_of_rules_is_seen():
    """Zones alike but in a few years (Paris kept summer time from 1976, Berlin from 1980)
    have different digests; zones of the same offsets under other names, the same."""
    rules = calendar_corpus.zone_rules(["Europe/Berlin", "Europe/Paris", "Etc/UTC", "Etc/GMT"],
                                       (1976, 1981))
    assert rules["Europe/Berlin"] != rules["Europe/Paris"]
    assert rules["Etc/UTC"] == rules["Etc/GMT"]


def test_a_wrong_answer_is_caught():
    """The comparison sees a difference: one elapse moved by a second is reported."""
    case = next(case for case in FIXTURE["cases"] if case["expression"] == "*-*-* 02:30"
                and case["zone"] == "Europe/Berlin")
    broken = dict(case, elapses=[case["elapses"][0] + 1] + case["elapses"][1:])
    assert len(disagreements([broken])) == 1


# systemd-analyze's answers follow from its version and the tz database: where both are the
# fixture's, every SAMPLE-th case asked again shows the fixture is what it says here; any
# other systemd or tz database is asked the whole corpus.
SAMPLE = 8


@pytest.mark.interop
def test_live_systemd_analyze_agrees():
    if not os.access(calendar_corpus.SYSTEMD_ANALYZE, os.X_OK):
        missing("systemd-analyze", "apt-get install systemd")
    systemd, tzdata = calendar_corpus.version(), calendar_corpus.tzdata_version()
    if (systemd, tzdata) == (FIXTURE["systemd"], FIXTURE["tzdata"]):
        sample = FIXTURE["cases"][::SAMPLE]
        live = calendar_corpus.answers([(case["expression"], case["zone"], case["start"])
                                        for case in sample])
        stale = [(case, asked) for case, asked in zip(sample, live) if case != asked]
        assert not stale, ("calendar_parity.json is stale: python -m "
                           "tests.protocol.calendar_corpus --write\n%s" % stale[:5])
        return
    live = calendar_corpus.generate()
    found = disagreements(live["cases"])
    assert not found, "%d of %d differ from the live %s (tzdata %s):\n%s" % (
        len(found), len(live["cases"]), systemd, tzdata, "\n".join(found[:20]))
