"""protocol/schedule/: cron's fields as crontab(5) documents them and Debian's
cron runs them — a table of lines, start times and the runs that follow, DST changes of two
zones included (cron(8): a fixed-time job in the skipped hour runs right after the change,
in the repeated hour once; a wildcard job runs by the clock)."""

import datetime
import zoneinfo

import pytest

from runit_provision.errors import ScheduleError
from runit_provision.protocol.schedule.crontab import parse_crontab
from runit_provision.protocol.schedule import is_cron, parse_schedule
from tests.protocol.test_calendar import assert_refused

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
USEC = 1000000
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def runs(line, start, zone, count):
    wall = datetime.datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=zone)
    spec = parse_crontab(line)
    return [datetime.datetime.fromtimestamp(usec / 1e6, zone).strftime("%m-%d %a %H:%M %Z")
            for usec in spec.elapses(int(wall.timestamp()) * 1000000, count, zone)]


TABLE = [
    # crontab(5)'s examples and rules
    ("5 0 * * *", "2026-06-01 00:05", BERLIN, [
        "06-02 Tue 00:05 CEST", "06-03 Wed 00:05 CEST"]),
    ("15 14 1 * *", "2026-06-01 12:00", BERLIN, [
        "06-01 Mon 14:15 CEST", "07-01 Wed 14:15 CEST"]),
    ("0 22 * * 1-5", "2026-06-05 23:00", BERLIN, [
        "06-08 Mon 22:00 CEST", "06-09 Tue 22:00 CEST"]),
    ("23 0-23/2 * * *", "2026-06-01 01:00", BERLIN, [
        "06-01 Mon 02:23 CEST", "06-01 Mon 04:23 CEST", "06-01 Mon 06:23 CEST"]),
    ("5 4 * * sun", "2026-06-01 00:00", BERLIN, [
        "06-07 Sun 04:05 CEST", "06-14 Sun 04:05 CEST"]),
    ("0 0 * * 7", "2026-06-01 00:00", BERLIN, [
        "06-07 Sun 00:00 CEST", "06-14 Sun 00:00 CEST"]),
    ("0 0,12 1 */2 *", "2026-02-15 00:00", BERLIN, [
        "03-01 Sun 00:00 CET", "03-01 Sun 12:00 CET", "05-01 Fri 00:00 CEST"]),
    ("0 4 8-14 * *", "2026-06-13 05:00", BERLIN, [
        "06-14 Sun 04:00 CEST", "07-08 Wed 04:00 CEST"]),
    # both day fields restricted: either matches (the 1st, the 15th, and every Friday)
    ("30 4 1,15 * 5", "2026-05-28 00:00", BERLIN, [
        "05-29 Fri 04:30 CEST", "06-01 Mon 04:30 CEST", "06-05 Fri 04:30 CEST",
        "06-12 Fri 04:30 CEST", "06-15 Mon 04:30 CEST"]),
    ("0 0 13 * fri", "2026-03-01 00:00", BERLIN, [
        "03-06 Fri 00:00 CET", "03-13 Fri 00:00 CET", "03-20 Fri 00:00 CET"]),
    # a day field starting with '*' (*/2 too, as Debian's cron reads it): both must match
    ("0 4 */2 * mon", "2026-06-01 00:00", BERLIN, [
        "06-01 Mon 04:00 CEST", "06-15 Mon 04:00 CEST", "06-29 Mon 04:00 CEST"]),
    ("0 0 * * mon-fri", "2026-06-05 12:00", BERLIN, [
        "06-08 Mon 00:00 CEST"]),
    ("0 0 1 jan,JUL *", "2026-02-01 00:00", BERLIN, [
        "07-01 Wed 00:00 CEST", "01-01 Fri 00:00 CET"]),
    ("0 12 * feb-apr/2 *", "2026-03-31 13:00", BERLIN, [
        "04-01 Wed 12:00 CEST"]),
    # a range with equal ends is that one value, as Debian's cron reads it
    ("5-5 9 * * *", "2026-06-01 00:00", BERLIN, [
        "06-01 Mon 09:05 CEST", "06-02 Tue 09:05 CEST"]),
    ("0 0 * * fri-fri", "2026-06-01 00:00", BERLIN, [
        "06-05 Fri 00:00 CEST", "06-12 Fri 00:00 CEST"]),
    ("0 0 29 2 *", "2026-01-01 00:00", BERLIN, [
        "02-29 Tue 00:00 CET", "02-29 Sun 00:00 CET"]),
    ("0 0 31 * *", "2026-04-01 00:00", BERLIN, [
        "05-31 Sun 00:00 CEST", "07-31 Fri 00:00 CEST", "08-31 Mon 00:00 CEST"]),
    ("0 0 30 2 *", "2026-01-01 00:00", BERLIN, []),
    ("@yearly", "2026-06-01 00:00", BERLIN, ["01-01 Fri 00:00 CET"]),
    ("@monthly", "2026-06-01 00:00", BERLIN, ["07-01 Wed 00:00 CEST"]),
    ("@weekly", "2026-06-01 00:00", BERLIN, ["06-07 Sun 00:00 CEST"]),
    ("@midnight", "2026-06-01 00:00", BERLIN, ["06-02 Tue 00:00 CEST"]),
    ("0 9 * * * UTC", "2026-06-01 00:00", BERLIN, ["06-01 Mon 11:00 CEST"]),
    ("0 9 * * * America/New_York", "2026-06-01 00:00", BERLIN, ["06-01 Mon 15:00 CEST"]),
    # DST: Berlin's skipped hour (29 March 2026, 02:00 -> 03:00) and repeated one (25 Oct)
    ("30 2 * * *", "2026-03-28 12:00", BERLIN, [
        "03-29 Sun 03:00 CEST", "03-30 Mon 02:30 CEST"]),
    ("0 2 * * *", "2026-03-28 12:00", BERLIN, [
        "03-29 Sun 03:00 CEST", "03-30 Mon 02:00 CEST"]),
    ("*/30 * * * *", "2026-03-29 01:10", BERLIN, [
        "03-29 Sun 01:30 CET", "03-29 Sun 03:00 CEST", "03-29 Sun 03:30 CEST"]),
    ("@hourly", "2026-03-29 00:10", BERLIN, [
        "03-29 Sun 01:00 CET", "03-29 Sun 03:00 CEST"]),
    ("30 2 * * *", "2026-10-24 12:00", BERLIN, [
        "10-25 Sun 02:30 CEST", "10-26 Mon 02:30 CET"]),
    ("*/30 * * * *", "2026-10-25 01:40", BERLIN, [
        "10-25 Sun 02:00 CEST", "10-25 Sun 02:30 CEST", "10-25 Sun 02:00 CET",
        "10-25 Sun 02:30 CET", "10-25 Sun 03:00 CET"]),
    ("15 * * * *", "2026-10-25 01:40", BERLIN, [
        "10-25 Sun 02:15 CEST", "10-25 Sun 02:15 CET", "10-25 Sun 03:15 CET"]),
    ("15 2 * * *", "2026-10-25 01:40", BERLIN, [
        "10-25 Sun 02:15 CEST", "10-26 Mon 02:15 CET"]),
    # New York's (8 March 2026, 02:00 -> 03:00; 1 Nov, 01:00-02:00 twice)
    ("30 2 * * *", "2026-03-07 12:00", NEW_YORK, [
        "03-08 Sun 03:00 EDT", "03-09 Mon 02:30 EDT"]),
    ("0 2 * * 0", "2026-03-01 12:00", NEW_YORK, [
        "03-08 Sun 03:00 EDT", "03-15 Sun 02:00 EDT"]),
    ("30 1 * * *", "2026-10-31 12:00", NEW_YORK, [
        "11-01 Sun 01:30 EDT", "11-02 Mon 01:30 EST"]),
    ("30 * * * *", "2026-11-01 00:40", NEW_YORK, [
        "11-01 Sun 01:30 EDT", "11-01 Sun 01:30 EST", "11-01 Sun 02:30 EST"]),
    ("0,30 1 * * *", "2026-11-01 00:40", NEW_YORK, [
        "11-01 Sun 01:00 EDT", "11-01 Sun 01:30 EDT", "11-02 Mon 01:00 EST"]),
]


@pytest.mark.parametrize("line, start, zone, expected", TABLE)
def test_runs_as_debians_cron(line, start, zone, expected):
    assert runs(line, start, zone, len(expected) or 3) == expected


@pytest.mark.parametrize("line, start, expected", [
    # Debian's cron: twice at 03:00 CEST (02:00 and 02:30 of the skipped hour), then daily
    ("0,30 2 * * *", "2027-03-27 12:00", ["03-28 Sun 03:00 CEST", "03-29 Mon 02:00 CEST"]),
    # Debian's cron: 02:00's run and 03:00's, both at 03:00 CEST
    ("0 1-3 * * *", "2027-03-27 12:00", [
        "03-28 Sun 01:00 CET", "03-28 Sun 03:00 CEST", "03-29 Mon 01:00 CEST"]),
])
def test_times_of_one_line_in_the_skipped_hour_run_once_not_once_each(line, start,
                                                                      expected):
    """The difference from Debian's cron that docs/schedule.md names: its cron.c runs the
    fixed-time jobs of every minute of the skipped interval at the change, so a line with
    two times in it starts twice at one instant; a timer runs one run at a time, so one
    instant is one elapse — and a second run there would be skipped for overlap."""
    assert runs(line, start, BERLIN, len(expected)) == expected


# 2027's forward changes: (zone, the last instant before, the first after, in UTC) — at
# 02:00 (Berlin, New York), at midnight (Santiago: the day begins at 01:00), by half an hour
# (Lord Howe: 02:00 -> 02:30)
FORWARD_2027 = [
    ("Europe/Berlin", "2027-03-28 01:00"),
    ("America/New_York", "2027-03-14 07:00"),
    ("America/Santiago", "2027-09-05 04:00"),
    ("Australia/Lord_Howe", "2027-10-02 15:30"),
]


def skipped_wall_times(zone, change):
    """The wall times (each quarter hour) the clock skips at ``change`` (epoch seconds)."""
    before = datetime.datetime.fromtimestamp(change - 1, zone).replace(tzinfo=None)
    after = datetime.datetime.fromtimestamp(change, zone).replace(tzinfo=None)
    wall = before.replace(second=0) + datetime.timedelta(minutes=15 - before.minute % 15)
    while wall < after:
        yield wall
        wall += datetime.timedelta(minutes=15)


@pytest.mark.parametrize("name, utc", FORWARD_2027)
def test_every_fixed_time_in_a_skipped_interval_runs_once_at_the_change(name, utc):
    """cron(8), "Daylight Saving Time": a fixed-time job whose time the clock skips runs
    right after the change, once — asked from hours before, from just before the change,
    and from the change itself (then the next day's); a wildcard job does not run there."""
    zone = zoneinfo.ZoneInfo(name)
    change = int(datetime.datetime.strptime(utc, "%Y-%m-%d %H:%M").replace(
        tzinfo=datetime.timezone.utc).timestamp())
    walls = list(skipped_wall_times(zone, change))
    assert walls, name
    for wall in walls:
        spec = parse_crontab("%d %d * * *" % (wall.minute, wall.hour))
        for asked in (change - 3 * 3600, change - 1):
            assert spec.next_elapse(asked * USEC, zone) == change * USEC, (name, wall, asked)
        next_day = spec.next_elapse(change * USEC, zone) // USEC
        assert next_day - change > 22 * 3600, (name, wall)
    hourly = parse_crontab("15 * * * *").next_elapse((change - 1) * USEC, zone) // USEC
    assert hourly > change and datetime.datetime.fromtimestamp(hourly, zone).minute == 15


@pytest.mark.parametrize("line, column, words", [
    ("5/10 * * * *", 1, "Debian's cron takes a step only after '*' or a range"),
    ("* 24 * * *", 3, "the hour 24 is not within 0..23"),
    ("* * 0 * *", 5, "the day of month 0 is not within 1..31"),
    ("* * * 13 *", 7, "the month 13"),
    ("* * * * 8", 9, "the day of week 8"),
    ("0 0 * * mon-sun", 9, "the range mon-sun runs backwards"),
    ("0 0 * * 5-1", 9, "the range 5-1 runs backwards"),
    ("*/0 * * * *", 3, "a step of 0"),
    ("1,,2 * * * *", 3, "an empty item"),
    ("* * * foo *", 7, "expected a number or a name (jan, feb, mar…) in the month field"),
    ("* * * * monday", 9, "found 'monday'"),
    ("0 0 1,2,3x * *", 9, "found '3x'"),
    ("@reboot", 1, "@reboot runs at boot, not on a schedule"),
    ("@every", 1, "unknown shorthand '@every'"),
    ("@daily Mars/Olympus", 8, "no time zone named 'Mars/Olympus'"),
    ("* * * * * Europe/Berlin extra", 25, "only a time zone may follow"),
    ("0 0 * *\t1-5 Nowhere/Here", 13, "no time zone named"),
    ("0 3 * * * /usr/bin/backup", 11, "the command is the service's own"),
])
def test_refused_at_its_column(line, column, words):
    assert_refused(parse_crontab, line, column, words)


def test_fewer_than_five_fields_is_calendar_not_cron():
    assert not is_cron("* * * *") and parse_schedule("Mon *-*-* 12:00").kind == "calendar"
    assert is_cron("@daily") and not is_cron("@1774612800")
    with pytest.raises(ScheduleError):
        parse_schedule("* * * *")       # read as a calendar expression, and refused


def test_the_star_flags_follow_debian():
    spec = parse_crontab("0 4 */2 * 1")
    assert spec.day_star and not spec.weekday_star and not spec.wildcard
    assert parse_crontab("@hourly").wildcard and not parse_crontab("@daily").wildcard
    assert parse_crontab("0 0 * * 0,7").weekdays == frozenset({0})
