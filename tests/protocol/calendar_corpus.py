"""The calendar parity corpus: expressions, the zones and start times they are run from, and
what ``systemd-analyze calendar --iterations=20`` says of each — kept in
``calendar_parity.json`` so the test runs where systemd is not installed.

Regenerate the fixture (Debian 12: systemd 252) with::

    python -m tests.protocol.calendar_corpus --write

``test_calendar_parity.py`` compares protocol/calendar.py with the fixture, and (interop)
with a live ``systemd-analyze`` where there is one.
"""

import calendar
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


def generate(program=SYSTEMD_ANALYZE):
    """The whole corpus through ``program``: the fixture's content."""
    groups = {}
    for expression, zone, start in cases():
        groups.setdefault((zone, start), []).append(expression)
    results = {}
    for (zone, start), expressions in groups.items():
        for expression, outcome in analyze(expressions, zone, start, program).items():
            results["%s|%d|%s" % (zone, start, expression)] = outcome
    return {"systemd": version(program), "iterations": ITERATIONS,
            "cases": [dict(expression=expression, zone=zone, start=start,
                           **results["%s|%d|%s" % (zone, start, expression)])
                      for expression, zone, start in cases()]}


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
