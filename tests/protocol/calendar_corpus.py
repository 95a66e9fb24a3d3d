"""The calendar parity corpus: expressions, the zones and start times they are run from, and
what ``systemd-analyze calendar --iterations=20`` says of each — kept in
``calendar_parity.json`` so the test runs where systemd is not installed.

Regenerate the fixture (Debian 12: systemd 252) with::

    python -m tests.protocol.calendar_corpus --write

``test_calendar_parity.py`` compares protocol/schedule/calendar.py with the fixture, and (interop)
with a live ``systemd-analyze`` where there is one.
"""

import calendar
import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).with_name("calendar_parity.json")
SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"
ITERATIONS = 20
BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


def utc(text):
    """``"2026-03-29 00:40"`` or ``"2026-03-29 00:40:05"`` (UTC) -> epoch seconds."""
    fields = [int(part) for part in re.split("[- :]", text)]
    return calendar.timegm((fields + [0])[:6] + [0, 0, 0])


# The start times: days before each zone's changes (2026: Berlin 03-29 and 10-25, New York
# 03-08 and 11-01), minutes before and inside the changes, before a leap day, before months
# of 30 days and February.
DAYS_BEFORE = [(BERLIN, utc("2026-03-27 12:00")), (BERLIN, utc("2026-10-23 12:00")),
               (NEW_YORK, utc("2026-03-06 12:00")), (NEW_YORK, utc("2026-10-30 12:00"))]
AROUND_CHANGES = [(BERLIN, utc("2026-03-29 00:40")), (BERLIN, utc("2026-10-24 23:40")),
                  (NEW_YORK, utc("2026-03-08 06:40")), (NEW_YORK, utc("2026-11-01 04:40")),
                  # inside the repeated hour's second pass (02:10 CET, 01:10 EST)
                  (BERLIN, utc("2026-10-25 01:10")), (NEW_YORK, utc("2026-11-01 06:10"))]
MONTH_ENDS = [(BERLIN, utc("2027-12-30 12:00")), (NEW_YORK, utc("2026-01-30 12:00")),
              ("UTC", utc("2028-02-27 12:00"))]
ZONED = [(BERLIN, utc("2026-03-27 12:00")), (NEW_YORK, utc("2026-10-30 12:00")),
         ("UTC", utc("2026-11-26 12:00"))]

# systemd.time(7)'s own examples (252), then the shorthands.
MAN_PAGE = [
    "minutely", "hourly", "daily", "monthly", "weekly", "yearly", "quarterly", "semiannually",
    "annually", "Sat,Thu,Mon..Wed,Sat..Sun", "Mon,Sun 12-*-* 2,1:23", "Wed *-1",
    "Wed..Wed,Wed *-1", "Wed, 17:48", "Wed..Sat,Tue 12-10-15 1:2:3", "*-*-7 0:0:0", "10-15",
    "monday *-12-* 17:00", "Mon,Fri *-*-3,1,2 *:30:45", "12,14,13,12:20,10,30",
    "12..14:10,20,30", "mon,fri *-1/2-1,3 *:30:45", "03-05 08:05:40", "08:05:40", "05:40",
    "Sat,Sun 12-05 08:05:40", "Sat,Sun 08:05:40", "2003-03-05 05:40",
    "05:40:23.4200004/3.1700005", "2003-02..04-05", "2003-03-05 05:40 UTC", "2003-03-05",
    "03-05", "daily UTC", "weekly Pacific/Auckland", "*:2/3", "*-02~03", "Mon *-05~07/1",
    "*-*-* *:*:*", "*:0/15", "Mon..Fri *-*-* 02:30",
]
# Whole days and more: run from the days before each zone's changes.
DAYS = [
    "MINUTELY", "Hourly", "semi-annually", "biannually", "bi-annually", "anually",
    "Mon..Fri", "Mon-Fri", "Sat,Sun", "Sat..Sun", "Tue,Thu 06:00", "Fri 17:00",
    "Monday..Friday 09:00", "sunday 23:59:59", "Mon,Wed,Fri *-*-* 12:00",
    "Mon..Wed,Fri..Sun 04:00", "Sat *-*-1..7 03:00", "Sun *-*-25..31 02:00",
    "Fri *-*-13", "Fri *-*-13 13:13", "Thu *-11-22..28", "Mon *-*-01..07 10:00",
    "*-*-* 02:30", "*-*-* 02:00", "*-*-* 03:00", "*-*-* 01:30", "*-*-* 01:00", "*-*-* 00:30",
    "*-*-* 02:59:59", "*-*-* 02:30:30", "*-*-* 23:30", "*-*-* 00:00", "*-*-* 12:00:00",
    "*-*-* 02,14:30", "*-*-* 01..03:00", "*-*-* 02..03:30", "*-*-* 00/6:00",
    "*-*-* 00/2:15", "*-*-* 1/3:00", "*-*-* 00..12/4:45", "*-*-* 8..17:00",
    "*-*-* 8..17/3:00", "*-*-* 06,18:00", "*-*-* 22..23,0..1:00", "*-*-2/2 04:00",
    "*-*-1/7 05:00", "*-*-1..10/3", "*-*-01,15", "*-*-* 02:30 UTC", "daily utc",
    "*-*-1/10 00:00", "*-2/3-1", "*-1..6-15", "*-*-28..31", "*-*-15 12:00",
    "*-*-20..25/2 06:00", "Wed *-*-* 02:30", "Sun *-*-* 02:30", "Sun *-*-* 01:30",
    "Sun 02:00", "Sun 03:00", "Sun 01:00..02:00", "Sat,Sun 02:30", "Mon..Fri 02:30",
    "2026-*-* 02:30", "2026-03-29 02:30", "2026-10-25 02:30", "2026-03-08 02:30",
    "2026-11-01 01:30", "2026-03-29", "2026-10-25 01:00..04:00", "2026..2027-03-* 02:00",
    "26-12-24 18:00", "2026-12-31 23:59:59", "2027-01-01", "2026,2027-06-01",
    "*-12-25 00:00", "*-07-04 12:00", "*-3,10-* 02:30",
    "*-*-* 00:00:30", "*-*-* 00:00:00/20", "*-*-* 12:00:01.5", "*-*-* 12:00:00.25/30.5",
    "*-*-* 12:00:10..20/5", "*-*-* 12:0:0", "*-*-* 9:5", "*-*-* 09:05:07",
    "Tuesday *-*-* 10:00", "WED", "fri 12:00", "Sat..Sun,Mon 11:11", "*-1/5-06",
    "Wed 1/5-6,8..11/3",
    "*-*-* 04:00 Europe/Berlin", "*-*-* 04:00 America/New_York", "daily Asia/Tokyo",
    "Mon 09:00 Australia/Sydney", "*-*-* 02:30 Europe/Berlin", "*-*-* 01:30 America/New_York",
    "*-*-* 12:00 Etc/UTC", "*-*-* 12:00 Europe/London", "*-*-* 02:30 Asia/Kolkata",
    "*-*-* 00:00 America/Sao_Paulo",
]
# Minutes and hours: run from minutes before and inside each zone's changes.
CLOCK = [
    "*:0/15", "*:00/5", "*:*:00", "*:00", "*:30", "*:15,45", "*:0/20", "*:5/10",
    "*:00:30", "*:*:0/15", "*:*:30", "*:10..20", "*:10..50/20", "*:59", "*:00/7",
    "hourly UTC", "*-*-* 01..03:00/15", "*-*-* 02:*", "*-*-* 02:*:00", "*-*-* 01:*",
    "*-*-* 02:00/10", "*-*-* 02..03:00/30", "*-*-* 01,02,03:00,30", "*-*-* 2/1:0",
    "*-*-* 0..5:00", "*-*-* 0..5:30", "*-*-* *:00:00", "*-*-* *:30:00",
    "*-*-* 02:00:00..10/5", "*:0/15 UTC", "*:0/30 Europe/Berlin", "*:0/30 America/New_York",
    "Sun *:0/30", "Sat,Sun *:0/20", "*-*-* 00/1:00", "*-*-* 00/1:45", "*:1/2",
    "*-*-* 0/3:00:00", "*:*:*", "*:*:0/30",
]
# Days of the month: the 31st, February, the last days (~), leap days.
MONTHS = [
    "*-*-31", "*-*-30", "*-*-29", "*-02-29", "*-02-28", "*-02-29 12:00", "*-*-31 23:59",
    "*-02-30", "*-04-31", "*-*-29,30,31", "*-*~01", "*-*~1", "*-*~02", "*-*~03", "*-*~07",
    "*-*~28", "*-02~01", "*-02~02", "*-02~28", "*-*~01 23:00", "*-*~1..3", "*-*~01,15",
    "*-*~05/2", "*-*~07/1", "*-*~10/3", "*-*~1..7/2", "Mon *-*~07/1", "Fri *-*~1..7",
    "Sun *-*~07/1 02:00", "Sat,Sun *-*~01", "*-02~01 12:00", "*-01..03~01", "*-2,4,6~01",
    "2028-02~01", "2028-02-29", "2028-02-29 23:59:59", "2027-02-29", "Thu *-02-29",
    "Tue *-02-29", "*-*-1,31", "Mon *-*-31", "Fri *-02-29", "*-*-* 00:00:00",
    "*-*-31 02:30", "*-12-31", "*-*-30/1", "*-*-28/1", "*-01/1-31", "*-*-25/3",
    "2028-*-29", "*-*-27..31/2",
]
# Refused by systemd: each must be refused here too.
INVALID = [
    "", " daily", "daily ", "*-*-* 24:00", "*-*-* 12:60", "*-*-* 12:00:60", "*-13-01",
    "*-00-01", "*-*-32", "*-*-00", "*:*/15", "*/15:00", "Mon..", "Fri..Mon", "Mon,,Tue 12:00",
    "Mond", "*-01-01,07-01 00:00", "Monday..Tuesday..Friday", "*-*-* 10/20:00", "*-*~29", "*-*~0", "*-*~05/6",
    "1969-01-01", "2200-01-01", "*-*-* 12:00 Europe/Nowhere", "*-*-* 12", "12:00:00:00",
    "*-*-*-*", "*:0/0", "*-*-* 1..0:00", "*-*-* 12:00:1..1", "*-*-* 12:00:1.", "@",
    "every day", "*-1~1-1", "Mon *-*-* 12:00 12:00", "*-*-* 02:30 +0100", "Sat-", "5..3-01",
]


# Expressions made at random (a fixed seed: the same every time) from every piece of the
# grammar, each run from a random start between 1970 and 2100 in one of these zones — the
# odd ones too: half-hour DST (Lord Howe), DST at midnight (Santiago, Tehran, Havana),
# negative DST (Dublin), +12:45 (Chatham).
RANDOM_ZONES = [BERLIN, NEW_YORK, "Australia/Lord_Howe", "America/Santiago", "Europe/Dublin",
                "Asia/Tehran", "Pacific/Chatham", "America/Sao_Paulo", "Africa/Casablanca",
                "UTC", "Asia/Kolkata", "America/Havana"]
RANDOM_COUNT = 300


def random_cases(seed=46, count=RANDOM_COUNT):
    """(expression, zone, start) made at random from ``seed``."""
    import random
    rnd = random.Random(seed)

    def number(low, high):
        return str(rnd.randint(low, high)).zfill(rnd.choice([1, 2]))

    def item(low, high):
        kind = rnd.random()
        first = rnd.randint(low, high)
        last = rnd.randint(first, high)
        if kind < 0.4:
            return number(low, high)
        if kind < 0.6:
            return "%d..%d" % (first, last)
        if kind < 0.8:
            return "%s/%d" % (number(low, high), rnd.randint(1, max(1, (high - low) // 2)))
        return "%d..%d/%d" % (first, last, rnd.randint(1, 5))

    def chain(low, high, star):
        if rnd.random() < star:
            return "*"
        return ",".join(item(low, high) for _ in range(rnd.choice([1, 1, 1, 2, 3])))

    def expression():
        parts = []
        if rnd.random() < 0.3:
            days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
            first = rnd.randint(0, 6)
            last = rnd.randint(first, 6)
            parts.append(rnd.choice([days[first], days[first] + ".." + days[last],
                                     days[first] + "," + days[last]]))
        if rnd.random() < 0.8:
            separator = "~" if rnd.random() < 0.2 else "-"
            day = chain(1, 28 if separator == "~" else 31, 0.5)
            month = chain(1, 12, 0.6)
            parts.append((chain(2024, 2030, 0.8) + "-" if rnd.random() < 0.6 else "")
                         + month + separator + day)
        if rnd.random() < 0.9:
            clock = chain(0, 23, 0.4) + ":" + chain(0, 59, 0.4)
            if rnd.random() < 0.4:
                clock += ":" + chain(0, 59, 0.5)
            parts.append(clock)
        if rnd.random() < 0.15:
            parts.append(rnd.choice(RANDOM_ZONES))
        return " ".join(parts) or "daily"

    made = []
    for _ in range(count):
        made.append((expression(), rnd.choice(RANDOM_ZONES), rnd.randint(0, 4102444800)))
    return made


# The clock changes of every zone of the tz database: each change in these years, from just
# before, at and just after it, and along the elapses that lead across it.
SWEEP_YEARS = (2020, 2040)
# The years of the corpus's starts and elapses, whose zone rules the fixture records.
RULE_YEARS = (1970, 2199)
# (expression, lead): the chain of elapses starts ``lead`` seconds before the change. The
# ones that carry a time into a change at midnight or on the half hour are here: a minute
# or second repetition, a time at, just after or just before midnight (``daily`` is
# ``*-*-* 00:00``), one on the half hour, one in the small hours, a weekday.
SWEEP = [("*:0/15", 1800), ("*:0/20", 2400), ("*:30", 3600), ("*:*:0/30", 60),
         ("hourly", 7200), ("daily", 86400), ("*-*-* 00:30", 86400), ("*-*-* 02:30", 86400),
         ("*-*-* 23:30", 86400), ("Mon *-*-* 00:30", 86400)]
SWEEP_CHAIN = 4


def zone_groups():
    """{zone name: [its aliases]}: every zone of ``zoneinfo.available_timezones()``, those
    whose TZif data are the same bytes (one zone under several names: ``Chile/Continental``
    is ``America/Santiago``) under the first name, since they compute alike."""
    import hashlib
    import zoneinfo
    groups = {}
    for name in sorted(zoneinfo.available_timezones()):
        data = _tzif(name)
        key = hashlib.sha256(data).hexdigest() if data is not None else name
        groups.setdefault(key, []).append(name)
    return {names[0]: names[1:] for names in groups.values()}


# The years the calendar may read a zone's offsets in when asked about an instant of
# SWEEP_YEARS: a chain runs weeks past a change, and a wall time asked for with its summer
# time flag given is looked for up to ~7.3 years either way (timeclock._other_kind).
REACH_YEARS = (SWEEP_YEARS[0] - 8, SWEEP_YEARS[1] + 8)


def zone_classes(groups, years=REACH_YEARS):
    """{zone: [every other name]}: the zones of ``groups`` (``zone_groups``) merged where
    their UTC offset and summer time flag are the same at every instant of ``years`` (the
    same at its start, the same changes), under the first name. protocol/schedule/ reads a
    zone only through those two (zoneclock.py's ``timeclock``), so within ``years`` such zones
    compute alike: Europe/Paris's answers are Europe/Berlin's since 1996."""
    import datetime
    import zoneinfo
    start = utc("%d-01-01 00:00" % years[0])
    classes = {}
    for name in sorted(groups):
        zone = zoneinfo.ZoneInfo(name)

        def kind(t):
            moment = datetime.datetime.fromtimestamp(t, zone)
            return moment.utcoffset(), moment.dst()
        key = (kind(start),) + tuple((t, kind(t)) for t in transitions(name, years))
        classes.setdefault(key, []).extend([name] + groups[name])
    return {names[0]: names[1:] for names in classes.values()}


def _tzif(name):
    import zoneinfo
    for base in zoneinfo.TZPATH:
        path = os.path.join(base, name)
        if os.path.isfile(path):
            with open(path, "rb") as file:
                return file.read()
    return None


def transitions(name, years=SWEEP_YEARS):
    """The instants (epoch seconds) within ``years`` at which zone ``name``'s UTC offset or
    its summer time flag changes: the TZif file's own transitions (tzfile(5)), then, past
    its last one, a day-by-day scan of the zone's rule (its footer), each change found to
    the second."""
    import datetime
    import zoneinfo
    low, high = utc("%d-01-01 00:00" % years[0]), utc("%d-01-01 00:00" % (years[1] + 1))
    zone = zoneinfo.ZoneInfo(name)

    def kind(t):
        moment = datetime.datetime.fromtimestamp(t, zone)
        return moment.utcoffset(), moment.dst()

    found, scan_from = _tzif_transitions(_tzif(name) or b"")
    changes = [t for t in found if low <= t < high and kind(t - 1) != kind(t)]
    t = max(low, scan_from)
    while t < high:
        step = min(86400, high - t)
        if kind(t) != kind(t + step):
            early, late = t, t + step     # the change is in (early, late]
            while late - early > 1:
                middle = (early + late) // 2
                early, late = (middle, late) if kind(middle) == kind(t) else (early, middle)
            changes.append(late)
        t += step
    return sorted(set(changes))


def tzdata_version(path="/usr/share/zoneinfo/tzdata.zi"):
    """The tz database's release (``2025b``), from its ``tzdata.zi``; None where it has none."""
    try:
        with open(path) as file:
            first = file.readline().split()
    except OSError:
        return None
    return first[2] if first[:2] == ["#", "version"] and len(first) > 2 else None


def zone_rules(zones, years=RULE_YEARS):
    """{zone: a digest of its UTC offsets and summer-time flags through ``years``}: what
    systemd's answers in a zone depend on beside the expression, so that the fixture, recorded
    under one tz database, is compared under another only in the zones whose rules agree."""
    import datetime
    import hashlib
    import zoneinfo
    digests = {}
    for name in zones:
        zone = zoneinfo.ZoneInfo(name)
        kinds = []
        for t in [utc("%d-01-01 00:00" % years[0])] + transitions(name, years):
            moment = datetime.datetime.fromtimestamp(t, zone)
            kinds.append("%d %s %s" % (t, moment.utcoffset(), moment.dst()))
        digests[name] = hashlib.sha256("\n".join(kinds).encode()).hexdigest()[:16]
    return digests


@functools.lru_cache(maxsize=None)
def _zone_names():
    import zoneinfo
    return frozenset(zoneinfo.available_timezones())


def zones_of(case):
    """The zones a case's answer depends on: the one it runs in, and one its expression names
    (``… Africa/Casablanca``)."""
    words = case["expression"].split()
    return {case["zone"]} | ({words[-1]} if words and words[-1] in _zone_names() else set())


def corpus_zones(cases):
    """Every zone the ``cases`` depend on, sorted."""
    return sorted(set().union(*(zones_of(case) for case in cases)))


def changed_zones(fixture):
    """The zones of ``fixture`` whose rules in this tz database are not those it was recorded
    under (all of them when it recorded none)."""
    recorded = fixture.get("zones", {})
    zones = corpus_zones(fixture["cases"])
    here = zone_rules(zones)
    return [zone for zone in zones if recorded.get(zone) != here[zone]]


def _tzif_transitions(data):
    """(the transition instants of a TZif file's 64-bit block, from where its footer's rule
    is to be scanned: after the last of them, never when the rule has no summer time, from
    the start when the file cannot be read so)."""
    import struct
    if data[:4] != b"TZif" or data[4:5] < b"2":
        return [], 0
    isut, isstd, leaps, times, types, chars = struct.unpack(">6l", data[20:44])
    start = 44 + times * 5 + types * 6 + chars + leaps * 8 + isstd + isut + 44
    isut, isstd, leaps, times, types, chars = struct.unpack(">6l", data[start - 24:start])
    instants = list(struct.unpack(">%dq" % times, data[start:start + 8 * times]))
    footer = data[start + times * 9 + types * 6 + chars + leaps * 12 + isstd + isut:]
    if b"," not in footer:
        return instants, 2 ** 62
    return instants, (instants[-1] if instants else 0)


def sweep_bases(change, lead):
    """The moments asked about around a change at ``change``: a second before, at and a
    second after it, and where the chain of elapses starts."""
    return [change - 1, change, change + 1, change - lead]


def sweep_cases(groups, years, iterations, program=SYSTEMD_ANALYZE):
    """What systemd-analyze says around every change of ``years`` of each zone of ``groups``:
    ``[{"expression": "EXPR ZONE", "start", "elapses"}]``, each SWEEP expression from where
    its chain starts (``lead`` before the change) and from a second after the change,
    ``iterations`` elapses. The expressions of one start are asked in one process: each
    names its zone, which systemd computes in a child of its own (its mktime() state is not
    the one before's)."""
    by_start = {}
    for zone in groups:
        for change in transitions(zone, years):
            for expression, lead in SWEEP:
                for start in (change - lead, change + 1):
                    by_start.setdefault(start, []).append("%s %s" % (expression, zone))
    found = []
    for start, expressions in sorted(by_start.items()):
        proc = subprocess.run(
            [program, "calendar", "--iterations=%d" % iterations, "--base-time=@%d" % start,
             "--"] + expressions, env=dict(os.environ, TZ="UTC", LC_ALL="C",
                                           SYSTEMD_COLORS="0"),
            capture_output=True, text=True, timeout=600)
        blocks = [read_block(block) for block in proc.stdout.split("\n\n") if block.strip()]
        if proc.returncode != 0 or len(blocks) != len(expressions):
            raise RuntimeError("systemd-analyze from @%d: exit %d, %d answers to %d: %s" % (
                start, proc.returncode, len(blocks), len(expressions), proc.stderr.strip()))
        for expression, block in zip(expressions, blocks):
            found.append({"expression": expression, "start": start,
                          "elapses": block["elapses"]})
    return found


def cases():
    """Every (expression, zone, start) of the corpus, in order."""
    for expressions, starts in ((MAN_PAGE, DAYS_BEFORE), (DAYS, DAYS_BEFORE),
                                (CLOCK, AROUND_CHANGES), (MONTHS, MONTH_ENDS),
                                (INVALID, DAYS_BEFORE[:1])):
        for expression in expressions:
            for zone, start in starts:
                yield expression, zone, start
    yield from random_cases()


def analyze(expressions, zone, start, program=SYSTEMD_ANALYZE):
    """{expression: {"normalized": ..., "elapses": [epoch seconds]} or {"error": ...}} as
    ``systemd-analyze calendar`` reports them under ``TZ=zone`` from ``start``."""
    env = dict(os.environ, TZ=zone, LC_ALL="C", SYSTEMD_COLORS="0")
    found = {}
    for expression in expressions:
        # one process each: glibc's mktime() starts from the offset of its last call, so
        # in one process an expression's answers in a repeated hour could depend on the
        # expressions before it
        proc = subprocess.run(
            [program, "calendar", "--iterations=%d" % ITERATIONS, "--base-time=@%d" % start,
             "--", expression], env=env, capture_output=True, text=True, timeout=120)
        found[expression] = (read_block(proc.stdout) if proc.returncode == 0
                             else {"error": proc.stderr.strip()})
    return found


def read_block(text):
    """systemd-analyze's one block -> {"normalized", "elapses"}; the elapses in UTC seconds
    (the ``(in UTC)`` line, or the elapse line itself when it is UTC already)."""
    normalized, elapses, pending = None, [], None
    for line in text.splitlines():
        key, _, value = line.strip().partition(": ")
        if key == "Normalized form":
            normalized = value
        elif key == "Next elapse" or key.startswith("Iter. #"):
            if value == "never":
                break
            pending = value
            if value.endswith(" UTC"):
                elapses.append(_utc_stamp(value))
                pending = None
        elif key == "(in UTC)" and pending is not None:
            elapses.append(_utc_stamp(value))
            pending = None
    return {"normalized": normalized, "elapses": elapses}


def _utc_stamp(value):
    """``Fri 2026-11-27 01:30:00 UTC`` -> epoch seconds."""
    _, day, clock, _ = value.split()
    return utc(day + " " + clock)


def version(program=SYSTEMD_ANALYZE):
    return subprocess.run([program, "--version"], capture_output=True, text=True,
                          timeout=60).stdout.splitlines()[0]


def answers(triples, program=SYSTEMD_ANALYZE):
    """``program``'s case for each ``(expression, zone, start)`` of ``triples``, in order: the
    fixture's ``{"expression", "zone", "start", "normalized", "elapses"}`` (or ``"error"``)."""
    groups = {}
    for expression, zone, start in triples:
        groups.setdefault((zone, start), []).append(expression)
    results = {}
    for (zone, start), expressions in groups.items():
        for expression, outcome in analyze(expressions, zone, start, program).items():
            results[(zone, start, expression)] = outcome
    return [dict(expression=expression, zone=zone, start=start,
                 **results[(zone, start, expression)]) for expression, zone, start in triples]


def generate(program=SYSTEMD_ANALYZE):
    """The whole corpus through ``program``: the fixture's content."""
    triples = list(cases())
    zones = corpus_zones([dict(expression=expression, zone=zone)
                          for expression, zone, _ in triples])
    return {"systemd": version(program), "iterations": ITERATIONS,
            "tzdata": tzdata_version(), "zones": zone_rules(zones),
            "cases": answers(triples, program)}


def to_json(data):
    """The fixture's text: one case a line."""
    head = {key: value for key, value in data.items() if key != "cases"}
    return "%s,\n \"cases\": [\n%s\n]}\n" % (
        json.dumps(head, sort_keys=True)[:-1],
        ",\n".join(json.dumps(case, sort_keys=True) for case in data["cases"]))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    data = generate()
    text = to_json(data)
    if argv == ["--write"]:
        FIXTURE.write_text(text)
        print("%s: %d cases" % (FIXTURE, len(data["cases"])))
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
