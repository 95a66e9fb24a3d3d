"""Every zone of the tz database, every clock change of SWEEP_YEARS: protocol/schedule's next elapse
(nextelapse.py) is strictly after the moment asked about — from a second before, at and a second
after each change, and along the elapses that lead across it — and (interop) each is
systemd-analyze's.

The zones and changes are calendar_corpus's (``zone_groups``, ``transitions``): a zone
under several names is computed once, under its first, and so are zones whose offsets are
the same wherever the calendar reads them (``zone_classes``). The live comparison batches every
expression of one change into one ``systemd-analyze calendar`` (each names its zone: systemd
computes it in a child of its own, so one does not change another's answer).
"""

import datetime
import functools
import os
import time
import zoneinfo

import pytest

from runit_provision.protocol.schedule.calendar import parse_calendar
from tests.skips import missing
from tests.protocol import calendar_corpus

GROUPS = calendar_corpus.zone_groups()
CHUNKS = 16
USEC = 1000000


@functools.lru_cache(maxsize=None)
def classes():
    """``calendar_corpus.zone_classes`` of every zone: made once, when a test first asks."""
    return calendar_corpus.zone_classes(GROUPS)


def chunk(index):
    """The zones of chunk ``index`` (every CHUNKS-th, so each chunk mixes the continents)."""
    return sorted(classes())[index::CHUNKS]


def shown(seconds, zone):
    return datetime.datetime.fromtimestamp(seconds, zoneinfo.ZoneInfo(zone)).strftime(
        "%Y-%m-%d %H:%M:%S %z")


def backwards(zone):
    """Each moment around a change of ``zone`` whose next elapse is not after it, said."""
    found = []
    specs = [(parse_calendar("%s %s" % (expression, zone)), lead)
             for expression, lead in calendar_corpus.SWEEP]
    for change in calendar_corpus.transitions(zone):
        for spec, lead in specs:
            *singles, chain_from = calendar_corpus.sweep_bases(change, lead)
            pairs = [(base, spec.next_elapse(base * USEC)) for base in singles]
            chain = spec.elapses(chain_from * USEC, calendar_corpus.SWEEP_CHAIN)
            before = chain_from * USEC
            for elapse in chain:
                pairs.append((before // USEC, elapse))
                before = elapse
            for base, elapse in pairs:
                if elapse is not None and elapse <= base * USEC:
                    found.append("%r from %s: %s" % (str(spec), shown(base, zone),
                                                      shown(elapse // USEC, zone)))
    return found


@pytest.mark.parametrize("index", range(CHUNKS), ids=lambda i: "zones %02d of %d" % (
    i + 1, CHUNKS))
def test_every_next_elapse_is_after_the_moment_asked(index):
    found = []
    for zone in chunk(index):
        found += ["%s%s" % (line, " (also %s)" % ", ".join(classes()[zone])
                            if classes()[zone] else "") for line in backwards(zone)]
    assert not found, "%d next elapses not after the moment asked:\n%s" % (
        len(found), "\n".join(found[:20]))


def test_the_sweep_covers_every_zone_and_the_odd_changes():
    for zones in (GROUPS, classes()):
        names = {name for zone, others in zones.items() for name in [zone] + others}
        assert names == zoneinfo.available_timezones()
    # zones of one class: the same answers around each change (Paris is Berlin since 1996)
    assert [zone for zone, others in classes().items()
            if {"Europe/Berlin", "Europe/Paris"} <= set([zone] + others)]
    for expression, lead in calendar_corpus.SWEEP:
        answers = set()
        for zone in ("Europe/Berlin", "Europe/Paris"):
            spec = parse_calendar("%s %s" % (expression, zone))
            answers.add(tuple(usec for change in calendar_corpus.transitions(zone, (2027, 2027))
                              for usec in spec.elapses((change - lead) * USEC,
                                                       calendar_corpus.SWEEP_CHAIN)))
        assert len(answers) == 1, expression
    # the change of the issue: 2027-09-05 00:00 -04 is 01:00 -03 (04:00 UTC)
    assert calendar_corpus.utc("2027-09-05 04:00") in calendar_corpus.transitions(
        "America/Santiago")
    # a change of half an hour (Lord Howe: +10:30 <-> +11), each found to the second
    lord_howe = zoneinfo.ZoneInfo("Australia/Lord_Howe")
    for change in calendar_corpus.transitions("Australia/Lord_Howe"):
        before, after = (datetime.datetime.fromtimestamp(t, lord_howe).utcoffset()
                         for t in (change - 1, change))
        assert abs((after - before).total_seconds()) == 1800
    assert calendar_corpus.transitions("Asia/Tokyo") == []
    assert sum(len(calendar_corpus.transitions(zone)) for zone in GROUPS) > 5000


def test_the_elapse_of_the_issue_is_systemds():
    """``*:0/15`` from 23:45 -04 the night Santiago's clocks go from 00:00 to 01:00: the
    next is 01:00 -03 (systemd-analyze's), not 23:00 -04."""
    spec = parse_calendar("*:0/15 America/Santiago")
    assert spec.next_elapse(1820115900 * USEC) == calendar_corpus.utc("2027-09-05 04:00") * USEC
    assert [shown(usec // USEC, "America/Santiago") for usec in spec.elapses(
        1820115900 * USEC, 3)] == ["2027-09-05 01:00:00 -0300", "2027-09-05 01:15:00 -0300",
                                   "2027-09-05 01:30:00 -0300"]


def test_a_wrong_answer_is_caught(monkeypatch):
    """An elapse that goes back is reported: the check is not vacuous."""
    monkeypatch.setattr(type(parse_calendar("daily")), "next_elapse",
                        lambda self, after, local_zone=None: after)
    assert backwards("America/Santiago")


# --- against systemd-analyze, live ---------------------------------------------------------

LIVE_ITERATIONS = 4


def systemd_goes_back(case, ours):
    """Whether ``ours`` differs from systemd's answer only by docs/schedule.md's named
    difference: up to where they part, equal; there, systemd's elapse is not after the
    moment asked about (a repeated hour between two offsets of one summer time flag) and
    ours is the same local time's instant after it."""
    zone = case["expression"].rsplit(" ", 1)[1]
    before = case["start"]
    for mine, its in zip(ours, case["elapses"]):
        if mine != its:
            return its <= before < mine and shown(its, zone)[:19] == shown(mine, zone)[:19]
        before = mine
    return False


@pytest.mark.interop
def test_live_systemd_analyze_agrees_around_every_change():
    """Every expression of SWEEP from where its chain starts before each change of every
    zone and from a second after it: LIVE_ITERATIONS elapses each, equal to
    systemd-analyze's but where systemd goes back (``systemd_goes_back``). The years are
    SWEEP_YEARS's if ``CALENDAR_SWEEP_YEARS=2020-2040`` is in the environment, else 2027:
    every zone's rule of today, both ways. Zones that read alike over those years and the
    calendar's reach around them (``zone_classes``) are asked once."""
    if not os.access(calendar_corpus.SYSTEMD_ANALYZE, os.X_OK):
        missing("systemd-analyze", "apt-get install systemd")
    first, _, last = os.environ.get("CALENDAR_SWEEP_YEARS", "2027").partition("-")
    years = (int(first), int(last or first))
    started = time.monotonic()
    reach = (years[0] - (calendar_corpus.SWEEP_YEARS[0] - calendar_corpus.REACH_YEARS[0]),
             years[1] + (calendar_corpus.REACH_YEARS[1] - calendar_corpus.SWEEP_YEARS[1]))
    zones = calendar_corpus.zone_classes(GROUPS, reach)
    cases = calendar_corpus.sweep_cases(zones, years, LIVE_ITERATIONS)
    found, named = [], []
    for case in cases:
        ours = [usec // USEC for usec in parse_calendar(case["expression"]).elapses(
            case["start"] * USEC, LIVE_ITERATIONS)]
        if ours == case["elapses"]:
            continue
        zone = case["expression"].rsplit(" ", 1)[1]
        said = "%r from %s: ours %s, systemd %s" % (
            case["expression"], shown(case["start"], zone), [shown(t, zone) for t in ours],
            [shown(t, zone) for t in case["elapses"]])
        (named if systemd_goes_back(case, ours) else found).append(said)
    # each expression from two starts around every change of every class: more than a
    # thousand in any year
    assert len(cases) == 2 * len(calendar_corpus.SWEEP) * sum(
        len(calendar_corpus.transitions(zone, years)) for zone in zones) > 1000
    assert not found, "%d of %d differ from systemd-analyze (%.0f s; %d where it goes back):" \
        "\n%s" % (len(found), len(cases), time.monotonic() - started, len(named),
                   "\n".join(found[:10]))


def test_where_systemd_goes_back_is_told_from_a_real_difference():
    """Ciudad Juarez, 2022-11-30 00:00 -06 back to 23:00 -07 (both standard time):
    systemd-analyze gives ``*:0/15`` from 23:00 -07 as 23:15 -06, an hour before; ours is
    23:15 -07. That is the named difference; any other is not."""
    start = 1669788000      # 23:00:00 -07, the second pass
    case = {"expression": "*:0/15 America/Ciudad_Juarez", "start": start,
            "elapses": [1669785300, 1669786200]}     # systemd 252.39: 23:15, 23:30 -06
    ours = [usec // USEC for usec in parse_calendar(case["expression"]).elapses(
        start * USEC, 2)]
    assert [shown(t, "America/Ciudad_Juarez") for t in ours] == [
        "2022-11-29 23:15:00 -0700", "2022-11-29 23:30:00 -0700"]
    assert systemd_goes_back(case, ours)
    assert not systemd_goes_back(dict(case, elapses=[ours[0] + 60, ours[1]]), ours)
    assert not systemd_goes_back(dict(case, elapses=[ours[0] - 7200, ours[1]]), ours)
