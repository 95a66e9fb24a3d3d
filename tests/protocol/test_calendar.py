"""protocol/schedule/: what calendar.py refuses and where, the zones (zones.py), the elapses
around DST changes said as wall times (nextelapse.py), and glibc's mktime() (zoneclock.py);
test_calendar_parity.py holds the whole corpus to systemd."""

import datetime
import zoneinfo

import pytest

from runit_provision.errors import ScheduleError
from runit_provision.protocol.schedule import zoneclock, zones
from runit_provision.protocol.schedule.calendar import parse_calendar

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def at(text, zone):
    """``"2026-03-28 23:00"`` wall time in ``zone`` -> microseconds since the epoch."""
    wall = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M")
    return int(wall.replace(tzinfo=zone).timestamp()) * 1000000


def walls(expression, start, zone, count):
    spec = parse_calendar(expression)
    return [datetime.datetime.fromtimestamp(usec / 1e6, zone).strftime("%m-%d %H:%M %Z")
            for usec in spec.elapses(at(start, zone), count, zone)]


@pytest.mark.parametrize("expression, column, words", [
    ("*-*-* 25:00", 7, "the hour 25 is not within 0..23"),
    ("*-*-* 12:61", 10, "the minute 61 is not within 0..59"),
    ("*-*-* 12:00:60", 13, "the second 60 is not within 0..59.999999"),
    ("*-13-01", 3, "the month 13"),
    ("*-*-32", 5, "the day 32"),
    ("*-*~29", 5, "the day counted from the month's end 29 is not within 1..28"),
    ("1969-01-01", 1, "the year 1969 is not within 1970..2199"),
    ("*:*/15", 4, "'*/N' is cron's; a calendar expression says '0/N'"),
    ("*-*-* 12:00:00 Junk", 16, "no time zone named 'Junk'"),
    ("Mond", 4, "a weekday is followed by"),
    ("Fri..Mon", 6, "a range of weekdays runs forward"),
    ("Mon..", 6, "the range of weekdays has no end"),
    ("*:0/0", 5, "a repetition of 0 never moves on"),
    ("*-*-* 10/20:00", 7, "10/20 never repeats within 0..23"),
    ("*-*-* 12:00 Europe/Nowhere", 13, "no time zone named 'Europe/Nowhere'"),
    ("every day", 1, "expected a number or '*', found 'e'"),
    ("daily ", 6, "a space at the end of the expression"),
    (" daily", 1, "a space at the start of the expression"),
    ("", 1, "empty calendar expression"),
    ("*-*-* 12:00:1.", 15, "expected decimals after '.'"),
])
def test_refused_at_its_column(expression, column, words):
    assert_refused(parse_calendar, expression, column, words)


def assert_refused(parse, text, column, words):
    """``parse(text)`` raises ScheduleError at ``column``, its message saying ``words``."""
    with pytest.raises(ScheduleError) as caught:
        parse(text)
    assert caught.value.column == column, str(caught.value)
    assert words in caught.value.message


def test_a_list_item_is_blamed_where_it_is():
    with pytest.raises(ScheduleError) as caught:
        parse_calendar("*-*-* 1,2,30:00")
    assert caught.value.column == 11 and "30" in caught.value.message


@pytest.mark.parametrize("expression, normalized", [
    ("Sat,Thu,Mon..Wed,Sat..Sun", "Mon..Thu,Sat,Sun *-*-* 00:00:00"),
    ("05:40:23.4200004/3.1700005", "*-*-* 05:40:23.420000/3.170001"),
    ("weekly Pacific/Auckland", "Mon *-*-* 00:00:00 Pacific/Auckland"),
    ("daily utc", "*-*-* 00:00:00 UTC"),
    ("Mon..Sun", "*-*-* 00:00:00"),
    ("*-*-1..10/3", "*-*-01..10/3 00:00:00"),
    ("@1774612800", "2026-03-27 12:00:00 UTC"),
])
def test_normalized_as_systemd(expression, normalized):
    assert str(parse_calendar(expression)) == normalized


def test_a_time_in_the_spring_gap_is_skipped_that_day():
    # systemd: 02:30 does not exist on 29 March in Berlin; the next is the 30th's
    assert walls("*-*-* 02:30", "2026-03-28 12:00", BERLIN, 2) == [
        "03-30 02:30 CEST", "03-31 02:30 CEST"]
    assert walls("*:0/30", "2026-03-29 01:10", BERLIN, 3) == [
        "03-29 01:30 CET", "03-29 03:00 CEST", "03-29 03:30 CEST"]


def test_the_repeated_hour_runs_once():
    assert walls("*-*-* 01:30", "2026-10-31 12:00", NEW_YORK, 2) == [
        "11-01 01:30 EDT", "11-02 01:30 EST"]
    # and */30 does not fire again in the second 02:xx of Berlin's autumn
    assert walls("*:0/30", "2026-10-25 01:40", BERLIN, 4) == [
        "10-25 02:00 CEST", "10-25 02:30 CEST", "10-25 03:00 CET", "10-25 03:30 CET"]


def test_inside_the_second_pass_the_next_elapse_stays_after_it():
    # 02:10 CET, the second 02:10 of 25 October 2026 in Berlin (01:10 UTC): glibc's mktime
    # keeps reading 02:xx as CET there, as systemd does — never back to the first pass
    start = int(datetime.datetime(2026, 10, 25, 1, 10, tzinfo=datetime.timezone.utc)
                .timestamp()) * 1000000
    spec = parse_calendar("*:0/30")
    found = [datetime.datetime.fromtimestamp(usec / 1e6, BERLIN).strftime("%H:%M %Z")
             for usec in spec.elapses(start, 3, BERLIN)]
    assert found == ["02:30 CET", "03:00 CET", "03:30 CET"]
    assert spec.next_elapse(start, BERLIN) > start


def test_systemds_give_up_is_kept():
    # a month repetition past December into summer time: systemd 252 says "Infinite loop in
    # calendar calculation" there, once the search reaches it
    spec = parse_calendar("*-1/5-06")
    start = at("2026-11-07 00:00", BERLIN)
    with pytest.raises(ScheduleError, match="no elapse found within 1000 steps"):
        spec.next_elapse(start, BERLIN)
    assert len(spec.elapses(at("2026-01-07 00:00", BERLIN), 2, BERLIN)) == 2


def test_leap_days_and_short_months():
    assert walls("*-02-29 12:00", "2026-01-01 00:00", BERLIN, 2) == [
        "02-29 12:00 CET", "02-29 12:00 CET"]
    assert walls("*-*-31", "2026-03-31 12:00", BERLIN, 3) == [
        "05-31 00:00 CEST", "07-31 00:00 CEST", "08-31 00:00 CEST"]
    assert walls("*-*~01", "2028-02-01 00:00", BERLIN, 2) == [
        "02-29 00:00 CET", "03-31 00:00 CEST"]


def test_a_zone_of_its_own_wins_over_the_local_one():
    spec = parse_calendar("*-*-* 09:00 America/New_York")
    assert spec.zone == "America/New_York"
    first = spec.next_elapse(at("2026-06-01 00:00", BERLIN), local_zone=BERLIN)
    assert datetime.datetime.fromtimestamp(first / 1e6, NEW_YORK).strftime(
        "%H:%M %Z") == "09:00 EDT"


def test_the_hosts_zone_is_tz_then_etc_localtime(monkeypatch):
    monkeypatch.setenv("TZ", ":America/New_York")
    assert zones.host_zone().key == "America/New_York"
    monkeypatch.delenv("TZ")
    from_etc = zones.host_zone()
    monkeypatch.setenv("TZ", "Not/AZone")   # a name the tz database has not: as if unset
    assert zones.host_zone() == from_etc or (
        zones.host_zone().utcoffset(None) == from_etc.utcoffset(None))


def test_an_expression_that_has_passed_never_elapses():
    assert parse_calendar("2003-03-05").next_elapse(at("2026-01-01 00:00", BERLIN),
                                                    BERLIN) is None
    assert parse_calendar("*-02-30").elapses(0, 3, BERLIN) == []


def test_a_spec_is_a_frozen_value():
    spec = parse_calendar("Mon-Fri 9:00")
    assert spec == parse_calendar("Mon..Fri *-*-* 09:00:00") and hash(spec) == hash(
        parse_calendar("mon..fri 09:00"))
    with pytest.raises(AttributeError):
        spec.zone = "UTC"


ZONEINFO_DIR = "/usr/share/zoneinfo"
HOSTS_ZONE = r'''
import sys
from runit_provision.protocol.schedule import calendar, zones
zones.LOCALTIME = sys.argv[1]
zone = zones.host_zone()
elapse = calendar.parse_calendar(sys.argv[2]).next_elapse(int(sys.argv[3]))
print(repr(getattr(zone, "key", zone)), elapse, sorted(
    name for name in ("zoneinfo", "datetime", "sysconfig") if name in sys.modules))
'''


@pytest.mark.parametrize("zone_file, expression, key, loaded", [
    ("Etc/UTC", "*-*-* *:*:00", None, []),
    ("Etc/UTC", "*-*-* 03:00", None, []),
    ("Etc/UTC", "*-*-* 03:00 Europe/Berlin", None, ["datetime", "sysconfig", "zoneinfo"]),
    ("Europe/Berlin", "*-*-* 03:00", "'localtime'", ["datetime", "sysconfig", "zoneinfo"]),
])
def test_a_utc_host_loads_no_zoneinfo(tmp_path, zone_file, expression, key, loaded):
    """The host's zone read as the C library reads it, without zoneinfo (and its sysconfig
    and datetime: 0.7 MB of a tree's) when it is UTC: its timers' elapses are UTC's; a zone
    of the expression's own, or a host's zone with DST, loads it."""
    import shutil
    import subprocess
    import sys

    localtime = tmp_path / "localtime"
    shutil.copyfile("%s/%s" % (ZONEINFO_DIR, zone_file), localtime)
    start = at("2026-03-28 23:00", BERLIN)
    found = subprocess.run(
        [sys.executable, "-c", HOSTS_ZONE, str(localtime), expression, str(start)],
        capture_output=True, text=True, timeout=60, check=True,
        env={"PATH": "/usr/bin:/bin"}).stdout.split(" ", 2)
    host = BERLIN if zone_file == "Europe/Berlin" else zoneinfo.ZoneInfo("UTC")
    assert found == [str(key), str(parse_calendar(expression).next_elapse(start, host)),
                     repr(loaded) + "\n"]


def utc_zone_files():
    """Every file of the tz database ``is_utc_tzif`` takes for UTC, and every one it does not."""
    import os

    taken, refused = [], []
    for directory, _dirs, files in os.walk(ZONEINFO_DIR):
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as file:
                data = file.read(zones.TZIF_UTC_MAX + 1)
            if data[:4] == b"TZif":
                (taken if zones.is_utc_tzif(data) else refused).append(path)
    return taken, refused


def test_what_is_taken_for_utc_is_utc_at_every_instant():
    """Each zone file taken for UTC is, to zoneinfo, offset 0 and no DST from 1900 to 2200;
    Etc/UTC and its links are among them — those this tz database has: Debian 13 and later
    moved the old names (``Zulu``, ``US/Eastern``…) to tzdata-legacy — and no zone that ever
    differs from UTC is."""
    import os

    taken, refused = utc_zone_files()
    names = {path[len(ZONEINFO_DIR) + 1:] for path in taken}
    links = {name for name in ("UTC", "Zulu", "Universal", "Etc/Zulu")
             if os.path.exists("%s/%s" % (ZONEINFO_DIR, name))}
    assert {"Etc/UTC", "Etc/GMT", "UTC"} | links <= names and len(refused) > 300
    instants = range(-2208988800, 7258118400, 86400 * 97)
    for path in taken:
        with open(path, "rb") as file:
            zone = zoneinfo.ZoneInfo.from_file(file)
        for t in instants:
            moment = datetime.datetime.fromtimestamp(t, zone)
            assert (moment.utcoffset(), moment.dst()) in ((datetime.timedelta(0),) * 2, (
                datetime.timedelta(0), None)), (path, t)
    for name in ("Etc/GMT-1", "Europe/London", "Africa/Abidjan"):
        assert "%s/%s" % (ZONEINFO_DIR, name) in refused


def test_a_utc_tzif_cut_or_changed_is_refused():
    with open(ZONEINFO_DIR + "/Etc/UTC", "rb") as file:
        utc = file.read()
    assert zones.is_utc_tzif(utc)
    changed = [utc[:-1], utc[:44], utc + b"x", b"TZjf" + utc[4:],
               utc.replace(b"\nUTC0\n", b"\nUTC0UTC,M3.5.0,M10.5.0\n"),
               utc.replace(b"\nUTC0\n", b"\nUTC-1\n"),
               utc[:4] + b"\0" + utc[5:]]   # version 1 says a block follows that is not its
    assert [zones.is_utc_tzif(data) for data in changed] == [False] * len(changed)


def test_the_days_of_the_calendar_without_datetime():
    """``_civil_from_days`` (gmtime's date of a UTC timer) is datetime's, from year 1 to 9999."""
    epoch = datetime.date(1970, 1, 1)
    for days in range(-719162, 2932897, 367):
        day = epoch + datetime.timedelta(days=days)
        assert zoneclock._civil_from_days(days) == (day.year, day.month - 1, day.day)
    assert zoneclock.timeclock("UTC").localtime(1774612800)[7] == 4   # 2026-03-27: a Friday


# the zones whose changes are odd: three hours at 00:01 (Casey), at midnight (Santiago,
# Havana, Beirut), half an hour (Lord Howe), between two standard offsets (Ciudad Juarez),
# negative summer time (Dublin), and an ordinary one (Berlin)
GLIBC_ZONES = ("Antarctica/Casey", "America/Santiago", "America/Havana", "Asia/Beirut",
               "Australia/Lord_Howe", "America/Ciudad_Juarez", "Europe/Dublin",
               "Europe/Berlin")
GLIBC_PROGRAM = """
import sys, time
for line in sys.stdin:
    fields = [int(word) for word in line.split()]
    try:
        print(int(time.mktime(tuple(fields[:6]) + (0, 0, fields[6]))))
    except OverflowError:
        print("fail")
"""


@pytest.mark.parametrize("zone", GLIBC_ZONES)
def test_mktime_is_glibcs_around_every_change(zone):
    """timeclock.mktime against the C library's own mktime() (Python's time.mktime, in a
    process of its own with TZ set): the same calls in the same order — every wall time
    from an hour and a half before to three and a half hours after each change's local
    time, with isdst -1, 0 and 1 — give the same instant, or fail alike. The order
    matters: glibc starts each from the offset of the call before."""
    import subprocess
    import sys
    from tests.protocol import calendar_corpus
    calls = []
    tz = zoneinfo.ZoneInfo(zone)
    for change in calendar_corpus.transitions(zone, (2020, 2023)):
        before = datetime.datetime.fromtimestamp(change - 1, tz).replace(tzinfo=None)
        for minutes in range(-90, 211, 30):
            wall = before + datetime.timedelta(minutes=minutes, seconds=1)
            for isdst in (-1, 0, 1):
                calls.append([wall.year, wall.month, wall.day, wall.hour, wall.minute,
                              wall.second, isdst])
    assert len(calls) > 100
    proc = subprocess.run([sys.executable, "-c", GLIBC_PROGRAM], capture_output=True,
                          text=True, timeout=120, env={"TZ": zone, "PATH": "/usr/bin:/bin"},
                          input="".join("%d %d %d %d %d %d %d\n" % tuple(c) for c in calls))
    assert proc.returncode == 0, proc.stderr
    clock = zoneclock.timeclock(zone)
    ours = []
    for year, month, day, hour, minute, second, isdst in calls:
        made = clock.mktime([year, month - 1, day, hour, minute, second, isdst])
        ours.append("fail" if made is None else str(made[0]))
    theirs = proc.stdout.split()
    differ = ["%s isdst %d: ours %s, glibc %s" % (calls[i][:6], calls[i][6], ours[i], theirs[i])
              for i in range(len(calls)) if ours[i] != theirs[i]]
    assert not differ, "%d of %d differ:\n%s" % (len(differ), len(calls), "\n".join(differ[:10]))
