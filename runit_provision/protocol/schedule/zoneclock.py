"""protocol/schedule: the zone clock — glibc's ``mktime()`` and ``localtime()`` in one zone
(``timeclock``), over zoneinfo, its memory of the last offset included; pure, standard
library only.

systemd's next elapse is a sequence of ``mktime()`` calls, each normalising fields that may be
out of range; an elapse equals systemd's around every DST change only when each call gives
glibc's answer, which depends on the offset the call before used. ``timeclock`` runs glibc's
algorithm step by step rather than asking a library that does not emulate it. A clock of UTC
(a UTC host's) counts its dates by arithmetic: no ``datetime``, no zoneinfo.
"""

from .zones import host_zone, zone_named

_DAYS_BEFORE_MONTH = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


def _days_from_civil(year, month0, day):
    """Days since 1970-01-01 of a date whose month (0-based) and day may be out of range,
    carried as ``timegm()`` carries them (month 12 is January of the next year, day 0 the
    last of the month before)."""
    year += month0 // 12
    month0 %= 12
    y = year - 1
    days = y * 365 + y // 4 - y // 100 + y // 400 - 719162  # days before year's Jan 1
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return days + _DAYS_BEFORE_MONTH[month0] + (leap and month0 > 1) + day - 1


def _civil_from_days(days):
    """(year, month0, day) of the day ``days`` after 1970-01-01 — ``gmtime()``'s date, by
    the days of each 400-year era (H. Hinnant's ``civil_from_days``): no ``datetime``, whose
    import is a quarter of a MB of the tree's for a timer of a UTC host.

    >>> [_civil_from_days(d) for d in (-1, 0, 59, 11016, 19417)]
    [(1969, 11, 31), (1970, 0, 1), (1970, 2, 1), (2000, 1, 29), (2023, 2, 1)]
    """
    days += 719468                      # from 0000-03-01
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524
                   - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_from_march = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_from_march + 2) // 5 + 1
    month0 = month_from_march + 2 if month_from_march < 10 else month_from_march - 10
    return year_of_era + era * 400 + (month0 < 2), month0, day


def wall_seconds(fields):
    """``timegm()`` of ``[year, month0, mday, hour, minute, second]``: a wall time as seconds
    since the epoch, its fields carried when out of range."""
    year, month0, day, hour, minute, second = fields
    return (_days_from_civil(year, month0, day) * 86400 + hour * 3600 + minute * 60
            + second)


class timeclock:
    """``mktime()`` and ``localtime()`` in one zone (None or "UTC": ``timegm``/``gmtime``).

    Fields are ``[year, month0, mday, hour, minute, second, isdst]`` (``struct tm``'s, the
    year in full, isdst -1, 0 or 1); ``mktime`` returns the epoch second and ``localtime``
    of it (the fields, then the weekday, Monday 0). One timeclock is one process's glibc:
    its ``guess`` is what the last ``mktime`` left.
    """

    def __init__(self, zone, local_zone=None):
        self._known, self._local, self._made = {}, {}, {}
        self.guess = 0      # glibc's localtime_offset: the offset its last mktime() used
        if zone == "UTC":
            self.tz = None
        elif zone is not None:
            self.tz = zone_named(zone)
        else:
            self.tz = local_zone if local_zone is not None else host_zone()
        if self.tz is not None:
            import datetime
            self._datetime = datetime.datetime

    def localtime(self, t):
        """localtime(): ``(year, month0, mday, hour, minute, second, isdst, weekday)``."""
        if self.tz is None:
            days, second = divmod(t, 86400)
            year, month0, day = _civil_from_days(days)
            return (year, month0, day, second // 3600, second // 60 % 60, second % 60, 0,
                    (days + 3) % 7)  # 1970-01-01 was a Thursday
        known = self._local.get(t)
        if known is None:
            if len(self._local) > 4096:
                self._local.clear()
            d = self._datetime.fromtimestamp(t, self.tz)
            known = self._local[t] = (d.year, d.month - 1, d.day, d.hour, d.minute, d.second,
                                      int(bool(d.dst())), d.weekday())
        return known

    def mktime(self, fields):
        """mktime() of ``[year, month0, mday, hour, minute, second, isdst]``: (the epoch
        second, localtime() of it), or None where glibc's fails (EOVERFLOW: its probes
        ran out, across a change of three hours)."""
        if self.tz is None:
            t = wall_seconds(fields[:6])
            return t, self.localtime(t)
        # a function of the fields and the guess alone: find_next asks the same again and
        # again (each unit's bounds check of one round)
        key = (tuple(fields[:7]), self.guess)
        known = self._made.get(key)
        if known is None:
            if len(self._made) > 4096:
                self._made.clear()
            t = self._glibc_mktime(wall_seconds(fields[:6]), fields[6])
            known = self._made[key] = (t, self.guess)
        t, self.guess = known
        return None if t is None else (t, self.localtime(t))

    def offset(self, t):
        """The zone's UTC offset at instant ``t``, in seconds."""
        return 0 if self.tz is None else self._convert(t)[0] - t

    def _convert(self, t):
        """(wall seconds, isdst) of instant ``t`` in the zone."""
        known = self._known.get(t)
        if known is None:
            if len(self._known) > 4096:     # find_next converts the same few again and again
                self._known.clear()
            d = self._datetime.fromtimestamp(t, self.tz)
            known = self._known[t] = (t + int(d.utcoffset().total_seconds()),
                                      int(bool(d.dst())))
        return known

    def _glibc_mktime(self, wall, isdst):
        """The instant glibc 2.36's mktime() (__mktime_internal) gives a local wall time,
        step by step: start from the offset of the last call (``self.guess``, 0 in a new
        process — so a repeated hour's time is the instance of the offset last used, and
        a time in a spring-forward gap resolves by the order glibc's probes oscillate in),
        correct by the error until the wall time matches — or, oscillating across a gap,
        take the probe of summer time when isdst is -1 (either when both sides are of one
        kind: Casey's three hours of standard time), of the other kind when it is given —
        or fail after six probes; a requested isdst of the other
        kind takes the offset of the nearest time of that kind, probed a week at a time
        both ways, or one hour off when none is within the bound."""
        t0 = wall - self.guess
        t = t1 = t2 = t0
        dst2 = 0
        probes = 6
        while True:
            local, dst = self._convert(t)
            dt = wall - local
            if dt == 0:
                break
            if t == t1 and t != t2 and (dst2 <= dst if isdst < 0 else (isdst != 0) != dst):
                self.guess = wall - t    # oscillating across a gap: this one
                return t
            probes -= 1
            if probes == 0:
                return None     # the guess is left as it was
            t1, t2, t, dst2 = t2, t, t + dt, dst
        if isdst >= 0 and (isdst != 0) != (dst != 0):
            t = self._other_kind(t, wall, isdst, dst)
        self.guess = wall - t
        return t

    def _other_kind(self, t, wall, isdst, dst):
        for delta in range(601200, 457243200 // 2 + 601200, 601200):
            for probe in (t - delta, t + delta):
                local, probe_dst = self._convert(probe)
                if (probe_dst != 0) == (isdst != 0):
                    return wall - (local - probe)
        return t + 3600 * ((isdst == 0) - (dst == 0))
