"""logs: the times ``--since`` and ``--until`` take, as keys (stamps.py) — journalctl's words.

    2023-11-14 22:13:20.5   2023-11-14T22:13   2023-11-14   local time
    22:13  22:13:20          today, local time
    now  today  yesterday  tomorrow
    -90s  -15m  -2h  -3d  -1w  (+2h)          before (after) now
    @400000006553f10a3ade6964                 a TAI64N label, as svlogd writes them

Pure but for the clock: ``key_of_time(text, now_ns=None, local=time.localtime)``.
"""

import time

from .stamps import TAI64N, WIDTH, key_from_ns, key_of

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_ABSOLUTE = r"^(\d{4})-(\d\d)-(\d\d)(?:[ T_](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?)?$"
_CLOCK = r"^(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?$"


class TimeError(ValueError):
    """A time that cannot be read: says which and what is accepted."""


def key_of_time(text, now_ns=None, local=time.localtime):
    """The key of ``text``.

    >>> now = 1_700_000_000 * 10**9
    >>> key_of_time("-1h", now) == key_from_ns(now - 3600 * 10**9)
    True
    >>> key_of_time("@400000006553f10a3ade6964") == int("400000006553f10a3ade6964", 16)
    True
    """
    text = text.strip()
    now_ns = time.time_ns() if now_ns is None else now_ns
    if text == "now":
        return key_from_ns(now_ns)
    days = {"today": 0, "yesterday": -1, "tomorrow": 1}.get(text)
    if days is not None:
        moment = local(now_ns // 10**9)
        return _local_key(moment.tm_year, moment.tm_mon, moment.tm_mday + days, 0, 0, 0, 0)
    if text.startswith("@"):
        key = key_of(TAI64N, text.encode() + b" ")
        if key is None or len(text) != WIDTH:
            raise TimeError("not a TAI64N label: %r" % text)
        return key
    found = _relative(text)
    if found:
        sign = -1 if found[0] == "-" else 1
        seconds = float(found[1]) * _UNITS[found[2]]
        return key_from_ns(now_ns + sign * int(seconds * 10**9))
    import re  # here: the everyday -1h is read without it, a tenth of a small view's start

    found = re.match(_ABSOLUTE, text)
    if found:
        year, month, day = (int(found.group(index)) for index in (1, 2, 3))
        hour, minute, second = (int(found.group(index) or 0) for index in (4, 5, 6))
        return _local_key(year, month, day, hour, minute, second, _nanos(found.group(7)))
    found = re.match(_CLOCK, text)
    if found:
        moment = local(now_ns // 10**9)
        return _local_key(moment.tm_year, moment.tm_mon, moment.tm_mday, int(found.group(1)),
                          int(found.group(2)), int(found.group(3) or 0), _nanos(found.group(4)))
    raise TimeError("not a time: %r (try '2023-11-14 22:13', '22:13', 'today', '-1h', 'now')"
                    % text)


def _relative(text):
    """``(sign, number, unit)`` of ``-90s``, ``+1.5h``… — what ``^([+-])(\\d+(?:\\.\\d+)?)
    (s|m|h|d|w)$`` matches, ``\\d`` as Unicode's decimal digits (``str.isdecimal``) — or
    None.

    >>> _relative("-1h"), _relative("+1.5d"), _relative("-1.h"), _relative("1h")
    (('-', '1', 'h'), ('+', '1.5', 'd'), None, None)
    """
    if len(text) < 3 or text[0] not in "+-" or text[-1] not in _UNITS:
        return None
    whole, dot, fraction = text[1:-1].partition(".")
    if not whole.isdecimal() or (dot and not fraction.isdecimal()):
        return None
    return text[0], text[1:-1], text[-1]


def _nanos(fraction):
    return int((fraction or "0").ljust(9, "0"))


def _local_key(year, month, day, hour, minute, second, nanos):
    try:
        seconds = time.mktime((year, month, day, hour, minute, second, 0, 0, -1))
    except (OverflowError, ValueError) as exc:
        raise TimeError("not a time: %04d-%02d-%02d %02d:%02d:%02d"
                        % (year, month, day, hour, minute, second)) from exc
    return key_from_ns(int(seconds) * 10**9 + nanos)
