"""protocol/schedule: the next elapse of a calendar expression, as systemd 252's
``find_next()`` finds it (``elapse_after``), and the elapses that follow one another
(``successive``, cron's too); pure, standard library only.

The fields are set from the year down, each to the earliest match at or after it, and each
step normalised by the zone clock's ``mktime()`` (zoneclock.py), so a DST change, a time in a
gap or a repeated hour comes out as under systemd; the few places where systemd's answer is
not after the moment asked about, and its one failure kept (ScheduleError), are
docs/schedule.md#where-it-differs-from-systemd. Times are microseconds since the epoch.
"""

from ...errors import ScheduleError
from .zoneclock import wall_seconds

USEC_PER_SEC = 1000000
MAX_YEAR = 2199                 # systemd's last year: none after it is read or elapses
MAX_ITERATIONS = 1000           # systemd's MAX_CALENDAR_ITERATIONS: a safety valve


def elapse_after(spec, after_usec, clock):
    """The first elapse of ``spec`` (a CalendarSpec) strictly after ``after_usec``, read on
    ``clock`` (a timeclock of its zone), in microseconds; None when there is none."""
    if spec.zone not in (None, "UTC"):
        # systemd computes an expression of its own zone in a forked child, which
        # starts from its parent's mktime() state every time: a new one each time
        clock.guess = 0
    usec = after_usec + 1
    start = list(clock.localtime(usec // USEC_PER_SEC)[:7])  # with its isdst
    found = _find_next(spec, clock, start, usec % USEC_PER_SEC)
    if found is None:
        return None
    fields, frac = found
    made = clock.mktime(fields)
    if made is None:
        raise ScheduleError("%s: mktime() found no instant for %s (systemd fails there "
                            "too)" % (spec, _format_fields(fields)), 1)
    elapse = made[0] * USEC_PER_SEC + frac
    if elapse <= after_usec:
        elapse = _second_pass(clock, fields, frac, after_usec)
    return elapse


def successive(next_after, after_usec, count):
    """Up to ``count`` values of ``next_after``, each from the one before (None ends)."""
    found = []
    while len(found) < count:
        after_usec = next_after(after_usec)
        if after_usec is None:
            break
        found.append(after_usec)
    return found


def _end_of_month_day(clock, fields, back):
    """The day ``back`` days before the month's end, counting its last day as 1 (-1 when
    there is no such day in this month)."""
    year, month0 = fields[0], fields[1]
    made = clock.mktime([year, month0 + 1, 1 - back] + list(fields[3:7]))
    if made is None:
        return -1
    normal = made[1]
    return normal[2] if normal[1] == month0 % 12 and normal[0] == year + month0 // 12 \
        else -1


def _matching(spec, chain, fields, value, is_day=False, clock=None):
    """(changed, value): the earliest value of ``chain`` at or after ``value``; (None, _)
    when none is."""
    if chain is None:
        return False, value
    best = None
    for start, stop, repeat in chain:
        if is_day and spec.end_of_month:
            start = _end_of_month_day(clock, fields, start)
            stop = _end_of_month_day(clock, fields, stop)
            if stop > 0:
                start, stop = stop, start
        if start >= value:
            if best is None or start < best:
                best = start
        elif repeat > 0:
            k = start + repeat * -(-(value - start) // repeat)
            if (best is None or k < best) and (stop < 0 or k <= stop):
                best = k
    if best is None:
        return None, value
    return best != value, best


def _within_bounds(clock, fields):
    """systemd's tm_within_bounds(): 1 when ``fields`` is a real local time, 0 when it was
    carried forward (``fields`` becomes the carried time, its smaller units reset), -1 when
    past MAX_YEAR or carried backwards."""
    if fields[0] > MAX_YEAR:
        return -1
    made = clock.mktime(fields)
    if made is None:
        return -1
    normal = list(made[1][:7])   # taken whole, isdst too
    for unit in range(6):
        if normal[unit] != fields[unit]:
            if unit < 5:
                normal[unit + 1] = (0, 1, 0, 0, 0)[unit]
            if normal[unit] < fields[unit]:
                return -1
            fields[:] = normal
            return 0
    return 1


def _on_weekday(spec, clock, fields):
    """systemd's matches_weekday(): a failed mktime() matches no day."""
    made = clock.mktime(fields)
    return made is not None and spec.weekdays >> made[1][7] & 1


def _second_pass(clock, fields, frac, after_usec):
    """The instant of the local time ``fields`` after ``after_usec``, where mktime() gave one
    at or before it: an hour repeated by a change between two offsets of the same isdst
    (Ciudad Juarez's 00:00 -06 back to 23:00 -07 on 2022-11-30) has two instants for each of
    its times, and glibc picks by the offset it used last — systemd then names the first
    pass's while asked from the second. The time found is not before the one asked from,
    so its instant after it is the one at the offset of the moment asked from."""
    wall = wall_seconds(fields[:6])
    t = wall - clock.offset(after_usec // USEC_PER_SEC + 1)
    if list(clock.localtime(t)[:6]) == list(fields[:6]) and t * USEC_PER_SEC + frac > after_usec:
        return t * USEC_PER_SEC + frac
    raise ScheduleError("no instant of %s after the moment asked from"
                        % _format_fields(fields), 1)


def _format_fields(fields):
    return "%04d-%02d-%02d %02d:%02d:%02d" % (fields[0], fields[1] + 1, *fields[2:6])


def _reset(fields, unit):
    """Every field below ``unit`` to its first value (month 0, day 1, the rest 0)."""
    for lower in range(unit + 1, 6):
        fields[lower] = 1 if lower == 2 else 0


def _find_next(spec, clock, fields, usec):
    """systemd's find_next(): the year, then month, day (and weekday), hour, minute and
    second set in turn, each to the earliest match at or after it; a unit with none left
    moves the unit above on, and a time carried by mktime() starts the round again.

    A match earlier than the start is not taken: the hour moves on and the isdst that
    mktime() gives is kept from then on (systemd 252.39's find_next, Debian 12's). That
    happens where a time is carried into a change that skips local time: 23:60 before a
    midnight change is 00:00 of the next day with summer's isdst, which glibc reads back
    as 23:00 of the day before — an hour before the start."""
    start, start_usec = fields[:6], usec
    keep_isdst = False
    for _ in range(MAX_ITERATIONS):
        # normalised with the isdst it has — the local time's, or that of a time carried
        # by _within_bounds (whose smaller units were reset: glibc then reads the result
        # with that isdst, as systemd does) — and then -1, as find_next() sets it, unless
        # a match before the start was refused (then mktime()'s own)
        made = clock.mktime(fields)   # a failed mktime() leaves the fields as they were
        normal = fields if made is None else made[1]
        fields = list(normal[:6]) + [normal[6] if keep_isdst else -1]
        changed, fields[0] = _matching(spec, spec.year, fields, fields[0])
        if changed is None:
            return None
        if changed:
            _reset(fields, 0)
            usec = 0
        if _within_bounds(clock, fields) <= 0:
            return None
        for unit, chain in ((1, spec.month), (2, spec.day), (3, spec.hour), (4, spec.minute),
                            (5, spec.second)):
            if unit == 3 and spec.weekdays is not None and not _on_weekday(spec, clock, fields):
                fields[2] += 1
                _reset(fields, 2)
                usec = 0
                break
            if unit == 5:   # the seconds' chain is in microseconds
                changed, total = _matching(spec, chain, fields,
                                           fields[5] * USEC_PER_SEC + usec)
                fields[5], usec = divmod(total, USEC_PER_SEC)
            else:           # tm_mon counts from 0, the month chain from 1
                changed, value = _matching(spec, chain, fields, fields[unit] + (unit == 1),
                                           unit == 2, clock)
                fields[unit] = value - (unit == 1)
                if changed:
                    _reset(fields, unit)
                    usec = 0
            bounds = None if changed is None else _within_bounds(clock, fields)
            if bounds is None or bounds < 0:
                fields[unit - 1] += 1
                _reset(fields, unit - 1)
                usec = 0
            if bounds != 1:
                break
        else:
            if (fields[:6], usec) >= (start, start_usec):
                return fields, usec
            fields[3] += 1      # before the start: an hour on, minutes kept, as systemd
            keep_isdst = True
    raise ScheduleError("%s: no elapse found within %d steps (systemd gives up there too)"
                        % (spec, MAX_ITERATIONS), 1)
