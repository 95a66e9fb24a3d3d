"""protocol: the numbers of a record another account may write, read within bounds.

A user's tree writes its own ``supervise/`` (tally, readiness, last-run, a timer's record)
and its service directory (``backoff``, ``backoff-state``, ``needs-passed``): root's views
read them as untrusted bytes. Each reader of such a record takes its numbers through here,
so that no value reaches ``time.gmtime``, a duration's words, a timer or a sleep out of its
range — a record out of bounds is ``unreadable`` (``Unreadable``, its words), never an
exception further on. The bounds:

- a moment (``moment_ns``, ``moment_of_ns``): unix time from 0 to the last second of the
  year 9999, what ``gmtime``, ``strftime`` and ``datetime`` take on every platform; 0 is
  "none", as records write it;
- a count (``whole``): a bounded range of its own, at most ``COUNT_MAX``;
- a pid: 0 to ``PID_MAX``, the kernel's own limit;
- seconds with a fraction (``seconds``): finite (no nan, no inf), 0 to a bound the caller
  names;
- the text of one number: at most ``DIGITS_MAX`` characters, read before it is converted.

No import: the daily views load it.
"""

NS = 1_000_000_000
TIME_S_MAX = 253402300799  # 9999-12-31T23:59:59Z
TIME_NS_MAX = TIME_S_MAX * NS + NS - 1
COUNT_MAX = 10 ** 12  # starts, deaths, skipped runs: more than a tree lives to count
PID_MAX = 1 << 22  # the kernel's PID_MAX_LIMIT
DIGITS_MAX = 32  # characters of one number's text
QUOTED_MAX = 40  # characters of a bad value a reason quotes
_DIGITS = b"0123456789"


class Unreadable(ValueError):
    """A record's field is missing, not a number, or out of its bounds: the message says
    which, quoting at most ``QUOTED_MAX`` printable characters of what was read."""


def printable(text, limit=200):
    """``text`` (str or bytes, a user's) as printable characters alone — ``?`` for any other
    — cut to ``limit``: what a reason may quote of a record.

    >>> printable(b"bad\\x1b[2J\\xff"), printable("x" * 9, 4)
    ('bad?[2J?', 'xxxx…')
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    shown = "".join(char if char.isprintable() else "?" for char in text[:limit + 1])
    return shown if len(shown) <= limit else shown[:limit] + "…"


def quoted(name, text):
    """``name=TEXT`` for a reason, the value cut and printable."""
    return "%s=%s" % (printable(name, QUOTED_MAX), printable(text, QUOTED_MAX))


def whole(text, name, low=0, high=COUNT_MAX):
    """The integer ``text`` (bytes: ASCII digits, a ``-`` first when ``low`` < 0) within
    ``low``..``high``; Unreadable otherwise.

    >>> whole(b"42", "pid", 0, PID_MAX), whole(b"-1", "exit", -1, 255)
    (42, -1)
    >>> whole(b"9" * 20, "pid", 0, PID_MAX)
    Traceback (most recent call last):
    ...
    runit_provision.protocol.bounds.Unreadable: pid=99999999999999999999 is not a number within 0..4194304
    """
    digits = text[1:] if low < 0 and text[:1] == b"-" else text
    if (not digits or len(text) > DIGITS_MAX or digits.translate(None, _DIGITS)
            or not low <= int(text) <= high):
        raise Unreadable("%s is not a number within %d..%d" % (quoted(name, text), low, high))
    return int(text)


def moment_ns(text, name):
    """Unix nanoseconds of ``SECONDS[.FRACTION]`` (bytes; digits only, the fraction's first
    nine kept) from 1970 to the year 9999; Unreadable otherwise. ``0`` is 0, a record's
    "none".

    >>> moment_ns(b"1764155001.5", "ended"), moment_ns(b"0", "at")
    (1764155001500000000, 0)
    >>> moment_ns(b"99999999999999999", "ended")
    Traceback (most recent call last):
    ...
    runit_provision.protocol.bounds.Unreadable: ended=99999999999999999 is not a time within 1970..9999
    """
    whole_part, _, fraction = text.partition(b".")
    if (not whole_part or len(text) > DIGITS_MAX or whole_part.translate(None, _DIGITS)
            or fraction.translate(None, _DIGITS) or int(whole_part) > TIME_S_MAX):
        raise Unreadable("%s is not a time within 1970..9999" % quoted(name, text))
    return int(whole_part) * NS + int(fraction[:9].ljust(9, b"0"))


def moment_of_ns(text, name):
    """Unix nanoseconds written whole (``1764155001500000000``) from 1970 to the year 9999;
    Unreadable otherwise.

    >>> moment_of_ns(b"1764155001500000000", "started")
    1764155001500000000
    """
    try:
        return whole(text, name, 0, TIME_NS_MAX)
    except Unreadable:
        raise Unreadable("%s is not a time within 1970..9999" % quoted(name, text)) from None


def seconds(text, name, high):
    """Seconds as a float of ``text`` (bytes), finite and within 0..``high``; Unreadable
    otherwise — nan and inf included, whatever their spelling.

    >>> seconds(b"4.000", "delay", 60), seconds(b"0", "delay", 60)
    (4.0, 0.0)
    >>> seconds(b"1e300", "delay", 60)
    Traceback (most recent call last):
    ...
    runit_provision.protocol.bounds.Unreadable: delay=1e300 is not a number of seconds within 0..60
    """
    try:
        number = float(text) if len(text) <= DIGITS_MAX else None
    except ValueError:
        number = None
    if number is None or not 0 <= number <= high:  # nan fails both
        raise Unreadable("%s is not a number of seconds within 0..%s"
                         % (quoted(name, text), _number(high)))
    return number


def fields_of(words, record):
    """``{name: value}`` (bytes) of ``NAME=VALUE`` words; Unreadable for a word without
    ``=`` (``record`` names the record in the message)."""
    found = {}
    for word in words:
        name, equals, value = word.partition(b"=")
        if not equals:
            raise Unreadable("%s: %s is not a NAME=VALUE word" % (record, printable(
                word, QUOTED_MAX)))
        found[name] = value
    return found


def needed(values, name):
    """``values[name]`` (``fields_of``'s), or Unreadable: ``no NAME=``."""
    if name not in values:
        raise Unreadable("no %s=" % printable(name, QUOTED_MAX))
    return values[name]


def _number(value):
    return "%d" % value if value == int(value) else "%g" % value
