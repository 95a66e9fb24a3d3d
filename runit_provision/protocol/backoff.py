"""protocol: restart back-off — the service's ``backoff`` file, the delay of each restart, and
the record of a restart that waits (docs/restart.md).

``backoff`` (in the service directory, rendered from ``restart:``; our runsv reads it at each
death, the C runsv never opens it)::

    backoff 1 first=1 max=60 steps=6 jitter=0 reset=60

The delay before the r-th restart of a series (r = 1 after the first death; a series ends when
a run stays up ``reset`` seconds) is systemd 254's (``RestartSec=`` = first,
``RestartMaxDelaySec=`` = max, ``RestartSteps=`` = steps)::

    delay(r) = first                                     r <= 1, steps = 0, or first >= max
    delay(r) = first * (max / first) ** ((r - 1) / steps)   1 < r <= steps
    delay(r) = max                                       r > steps

plus a random 0..``jitter`` seconds. Its step is ``min(r - 1, steps)``: step 0 is ``first``,
step ``steps`` is ``max``.

A restart that waits is told by one record, the same words in two homes: our runsv keeps it in
``supervise/tally`` (runtime-owned: ``restarts=R`` always, the rest while one waits), and under
the C runit the rendered ``finish`` writes ``backoff-state`` in the service directory (its
owner's: a reader only shows it, never acts on it)::

    backoff-state 1 pid=4321 restarts=3 step=2/6 delay=4.000 due=1700000004

Both files may be a user's: each number is read within bounds (protocol/bounds.py; the
``backoff`` file's seconds within a day, a record's ``delay`` within ``max`` and ``jitter``
together) before a timer or a view sees it; out of them, a file is not one (ValueError).
"""

from .layout import BACKOFF, BACKOFF_STATE  # noqa: F401 (the names, layout's; here for readers)

BACKOFF_MAX = 256            # bytes read of either
SECONDS_MAX = 86400          # each of the backoff file's seconds: the data's bound (a day)
STEPS_MAX = 64               # the data's bound on steps
DELAY_MAX = 2 * SECONDS_MAX  # a restart's wait: the maximum and the jitter
RUNSV_ENV = "RUNIT_PROVISION_BACKOFF"  # our runsv sets it to "runsv" for ./finish: it waits
_NS = 1_000_000_000


class Backoff:
    """A service's back-off (seconds, floats; ``steps`` an int)."""

    __slots__ = ("first", "max", "steps", "jitter", "reset")

    def __init__(self, first, max=None, steps=0, jitter=0.0, reset=60.0):
        self.first = float(first)
        self.max = self.first if max is None else float(max)
        self.steps, self.jitter, self.reset = int(steps), float(jitter), float(reset)

    def __eq__(self, other):
        return isinstance(other, Backoff) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __repr__(self):
        return "Backoff(%s)" % ", ".join("%s=%r" % (name, getattr(self, name))
                                         for name in self.__slots__)

    def delay(self, restarts):
        """The delay (seconds, no jitter) before restart ``restarts`` of a series.

        >>> spec = Backoff(1, 64, 6)
        >>> [round(spec.delay(r), 3) for r in range(1, 9)]
        [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 64.0]
        >>> Backoff(2).delay(5), Backoff(0, 10, 3).delay(4), Backoff(5, 3, 2).delay(3)
        (2.0, 0.0, 5.0)
        """
        first, top, steps = self.first, self.max, self.steps
        if restarts <= 1 or steps == 0 or first == 0 or first >= top:
            return first
        if restarts > steps:
            return top
        return first * (top / first) ** ((restarts - 1) / steps)

    def step(self, restarts):
        """``restarts``'s step, 0 (``first``) to ``steps`` (``max``).

        >>> [Backoff(1, 64, 6).step(r) for r in (1, 2, 7, 30)]
        [0, 1, 6, 6]
        """
        return max(0, min(restarts - 1, self.steps))

    def delays(self):
        """Every step's delay, step 0 to ``steps`` (the rendered finish's table).

        >>> Backoff(1, 8, 3).delays()
        [1.0, 2.0, 4.0, 8.0]
        """
        return [round(self.delay(r), 3) for r in range(1, self.steps + 2)]


def backoff_bytes(spec):
    """The ``backoff`` file of ``spec``.

    >>> backoff_bytes(Backoff(0.5, 30, 5, 1, 120))
    b'backoff 1 first=0.5 max=30 steps=5 jitter=1 reset=120\\n'
    >>> spec = Backoff(0.5, 30, 5, 1, 120)
    >>> backoff_from_bytes(backoff_bytes(spec)) == spec
    True
    """
    return b"backoff 1 first=%s max=%s steps=%d jitter=%s reset=%s\n" % (
        _number(spec.first), _number(spec.max), spec.steps, _number(spec.jitter),
        _number(spec.reset))


def backoff_from_bytes(data):
    """The Backoff of a ``backoff`` file; ValueError when it is not one.

    >>> backoff_from_bytes(b"backoff 1 first=1 max=x steps=2 jitter=0 reset=60")
    Traceback (most recent call last):
    ValueError: backoff: max=x is not a number of seconds
    >>> backoff_from_bytes(b"backoff 1 first=1 max=1e7 steps=2 jitter=0 reset=60")
    Traceback (most recent call last):
    ValueError: backoff: max=1e7 is out of range
    """
    fields = _fields(data[:BACKOFF_MAX], b"backoff")
    try:
        values = {name: fields[name.encode()].decode("ascii", "replace")
                  for name in ("first", "max", "steps", "jitter", "reset")}
    except KeyError as exc:
        raise ValueError("backoff: no %s=" % exc.args[0].decode()) from None  # the bytes key
    numbers = {}
    for name, text in values.items():
        try:
            number = int(text) if name == "steps" else float(text)
        except ValueError:
            raise ValueError("backoff: %s=%s is not a number of seconds" % (
                name, _printable(text))) from None
        if not 0 <= number <= (STEPS_MAX if name == "steps" else SECONDS_MAX):  # nan fails
            raise ValueError("backoff: %s=%s is out of range" % (name, _printable(text)))
        numbers[name] = number
    return Backoff(**numbers)


class Waiting:
    """A restart that waits: ``restarts`` (r), ``step`` of ``steps``, ``delay`` (seconds,
    jitter included), ``due_ns`` (unix ns; 0: nothing waits) and ``pid`` (the finish that
    waits, under the C runit; 0 for ours)."""

    __slots__ = ("restarts", "step", "steps", "delay", "due_ns", "pid")

    def __init__(self, restarts=0, step=0, steps=0, delay=0.0, due_ns=0, pid=0):
        self.restarts, self.step, self.steps = restarts, step, steps
        self.delay, self.due_ns, self.pid = delay, due_ns, pid

    def __eq__(self, other):
        return isinstance(other, Waiting) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __repr__(self):
        return "Waiting(%s)" % ", ".join("%s=%r" % (name, getattr(self, name))
                                         for name in self.__slots__)

    def words(self):
        """The record's words (the tally's and the finish file's).

        >>> Waiting(3, 2, 6, 4.0, 1_700_000_004_000_000_000).words()
        b'restarts=3 step=2/6 delay=4.000 due=1700000004.000000000'
        >>> Waiting(3).words()
        b'restarts=3'
        """
        found = b"restarts=%d" % self.restarts
        if self.due_ns:
            found += b" step=%d/%d delay=%.3f due=%d.%09d" % (
                self.step, self.steps, self.delay, self.due_ns // _NS, self.due_ns % _NS)
        return found

    def text(self, now_ns):
        """``status``'s words for it, or None when nothing waits (any more) at ``now_ns``.

        >>> Waiting(3, 2, 6, 4.0, 10 * _NS).text(7 * _NS)
        'restarting in 3 s (step 2 of 6)'
        >>> Waiting(1, 0, 0, 2.5, 10 * _NS).text(9 * _NS), Waiting(1).text(0)
        ('restarting in 1 s', None)
        >>> Waiting(1, 0, 0, 30.0, 40 * _NS).text(9 * _NS)  # a clock read before the record
        'restarting in 30 s'
        """
        if not self.due_ns or now_ns > self.due_ns + _NS:
            return None
        # never more than its delay: ``now_ns`` may be read before runsv wrote the record
        left = max(0, min(-(-(self.due_ns - now_ns) // _NS), -(-int(self.delay * _NS) // _NS)))
        said = "restarting in %d s" % left
        return said + (" (step %d of %d)" % (self.step, self.steps) if self.steps else "")


def waiting_from_fields(fields):
    """A Waiting of ``restarts= step=K/N delay= due=`` fields (a dict of bytes); None
    without ``restarts``; ValueError (protocol/bounds.Unreadable) when one is missing, not a
    number or out of the module's bounds.

    >>> waiting_from_fields({b"restarts": b"1", b"step": b"0/3", b"delay": b"1e300",
    ...                      b"due": b"17"})
    Traceback (most recent call last):
    ...
    runit_provision.protocol.bounds.Unreadable: delay=1e300 is not a number of seconds within 0..172800
    """
    from .bounds import PID_MAX, Unreadable, moment_ns, seconds, whole

    if b"restarts" not in fields:
        return None
    found = Waiting(whole(fields[b"restarts"], "restarts"),
                    pid=whole(fields.get(b"pid", b"0"), "pid", 0, PID_MAX))
    if b"due" in fields:
        for name in (b"step", b"delay"):
            if name not in fields:
                raise Unreadable("no %s= beside due=" % name.decode())
        step, _, steps = fields[b"step"].partition(b"/")
        found.steps = whole(steps, "steps", 0, STEPS_MAX)
        found.step = whole(step, "step", 0, found.steps)
        found.delay = seconds(fields[b"delay"], "delay", DELAY_MAX)
        found.due_ns = moment_ns(fields[b"due"], "due")
    return found


def waiting_from_bytes(data):
    """The Waiting the C runit's finish wrote (``backoff-state``), or None when it is not one
    (``waiting_read`` says why).

    >>> waiting_from_bytes(b"backoff-state 1 pid=42 restarts=3 step=2/6 delay=4.000 due=17\\n")
    Waiting(restarts=3, step=2, steps=6, delay=4.0, due_ns=17000000000, pid=42)
    >>> waiting_from_bytes(b"garbage"), waiting_from_bytes(b"backoff-state 1 restarts=x")
    (None, None)
    """
    return waiting_read(data)[0]


def waiting_read(data):
    """``(Waiting, None)`` of a ``backoff-state`` file's bytes (at most ``BACKOFF_MAX`` of
    them), or ``(None, why)`` when they are not one — never an exception.

    >>> waiting_read(b"backoff-state 1 pid=42 restarts=3 step=2/6 delay=nan due=17")
    (None, 'delay=nan is not a number of seconds within 0..172800')
    """
    try:
        found = waiting_from_fields(_fields(data[:BACKOFF_MAX], b"backoff-state"))
    except ValueError as exc:
        return None, _printable(str(exc))
    return (found, None) if found is not None else (None, "no restarts=")


def _fields(data, kind):
    words = data.split()
    if words[:2] != [kind, b"1"]:
        raise ValueError("%s: not a %s file" % (kind.decode(), kind.decode()))
    try:
        return dict(word.split(b"=", 1) for word in words[2:])
    except ValueError:
        raise ValueError("%s: a word without =" % kind.decode()) from None


def _printable(text):
    from .bounds import printable

    return printable(text, 80)


def seconds_text(seconds):
    """Seconds as the files (and the rendered finish) write them: a whole number without a
    point, else to the millisecond.

    >>> seconds_text(60.0), seconds_text(0.25), seconds_text(31.6227766), seconds_text(3.99999)
    ('60', '0.25', '31.623', '4')
    """
    seconds = round(seconds, 3)
    if seconds == int(seconds):
        return "%d" % seconds
    return ("%.3f" % seconds).rstrip("0")


def _number(seconds):
    return seconds_text(seconds).encode()
