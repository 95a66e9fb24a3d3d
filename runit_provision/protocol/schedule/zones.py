"""protocol/schedule: which zone a schedule is read in — a tz database name's (``zone_named``)
or the host's, as the C library finds it (``host_zone``); standard library only.

zoneinfo (with sysconfig and datetime, a share of a tree's memory) is imported only when a zone
must be read: a word that may be a zone's name, a host zone that is not UTC at every instant
(``is_utc_tzif``). A UTC host's timers load neither.
"""


def zone_named(name):
    """The tz database's zone ``name`` (zoneinfo), or None when there is no such zone.
    zoneinfo is imported only for a word that may be a zone's name (every name has a
    letter): a schedule whose last word is a time (``*-*-* *:*:00``) is told from one that
    names a zone without it."""
    if not name or name.startswith("/") or not any(c.isalpha() for c in name) \
            or not all(c.isalnum() or c in "/-_+" for c in name):
        return None
    import zoneinfo
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


LOCALTIME = "/etc/localtime"  # the C library's (tzset(3)): the host's zone without $TZ
TZIF_UTC_MAX = 512  # bytes: a TZif file of UTC is ~114 (a zone with DST, kilobytes)


def host_zone():
    """The host's local zone, as the C library finds it: ``$TZ`` (a name, with or without
    the leading ``:``), else ``/etc/localtime``, else UTC (None). A ``/etc/localtime`` that is
    UTC at every instant (``is_utc_tzif``) is UTC too: zoneinfo (with sysconfig and datetime,
    a share of a tree's memory) is not loaded for it."""
    import os
    name = os.environ.get("TZ")
    if name:
        zone = zone_named(name.lstrip(":"))
        if zone is not None:
            return zone
    try:
        with open(LOCALTIME, "rb") as file:
            if is_utc_tzif(file.read(TZIF_UTC_MAX + 1)):
                return None
            import zoneinfo
            file.seek(0)
            return zoneinfo.ZoneInfo.from_file(file, key="localtime")
    except (OSError, ValueError):
        return None


def is_utc_tzif(data):
    """Whether ``data``, a TZif file (tzfile(5)), says UTC at every instant: each of its
    blocks (the 32-bit one, and the 64-bit one of version 2 on) has no transition, no leap
    second, one local time type of offset 0 that is not DST, and its footer (version 2 on),
    the POSIX TZ string for the times after the last transition, is empty or a name and an
    offset of 0 without a DST part (``UTC0``, ``<+00>0``). Anything else — another zone, a
    file cut short, not TZif — is False: zoneinfo reads it.

    >>> utc = open("/usr/share/zoneinfo/Etc/UTC", "rb").read()
    >>> is_utc_tzif(utc), is_utc_tzif(open("/usr/share/zoneinfo/Europe/Berlin", "rb").read())
    (True, False)
    >>> is_utc_tzif(utc.replace(b"UTC0", b"UTC0UTC,M3.5.0,M10.5.0")), is_utc_tzif(utc[:60])
    (False, False)
    >>> is_utc_tzif(open("/usr/share/zoneinfo/Etc/GMT-1", "rb").read())  # one type, +1 h
    False
    """
    if len(data) > TZIF_UTC_MAX or data[:4] != b"TZif":
        return False
    has_footer = data[4:5] >= b"2"   # version 2 on: a 64-bit block, then the footer
    start = 0
    for _ in range(2 if has_footer else 1):
        if len(data) < start + 50:
            return False
        is_ut, is_std, leaps, transitions, types, chars = (
            int.from_bytes(data[at:at + 4], "big") for at in range(start + 20, start + 44, 4))
        kind = data[start + 44:start + 50]  # the one ttinfo: utoff (4), isdst, desigidx
        if (leaps, transitions, types) != (0, 0, 1) or kind[:5] != bytes(5):
            return False
        start += 44 + 6 + chars + is_std + is_ut  # no times, no leap seconds: sized alike
    if not has_footer:
        return start == len(data)
    footer = data[start:]
    if footer[:1] != b"\n" or footer[-1:] != b"\n" or len(footer) < 2:
        return False
    rule = footer[1:-1]
    if not rule:
        return True
    if rule[:1] == b"<":
        name_end = rule.find(b">") + 1
        if name_end == 0:
            return False
    else:
        name_end = 0
        while name_end < len(rule) and rule[name_end:name_end + 1].isalpha():
            name_end += 1
        if name_end < 3:
            return False
    return rule[name_end:] in (b"0", b"+0", b"-0")
