"""protocol: the 20-byte ``supervise/status`` record, the ``stat`` text and sv's status line.

Layout (runsv.c ``update_status``; daemontools-compatible first 18 bytes)::

    0-11   TAI64N stamp, big-endian (run: start of ./run; down: when it went down)
    12-15  pid, little-endian (0 = none; in state finish the pid of ./finish)
    16     paused flag        17  want: 'u' or 'd' (want exit is written as 'd')
    18     TERM-sent flag     19  state: 0 down, 1 run, 2 finish

Example, a running service (pid 9894), from docs/runit-protocol.md §10::

    4000 0000 6b01 9151 0c5a 77cc | a626 0000 | 00 75 00 01
"""

from ..errors import ProtocolError

# Import cost: ``sv status`` loads this module on a budget of 1.2x a bare interpreter start
# (docs/sv.md). enum, typing and collections would cost ~8 ms, struct (and tai64, which loads it)
# ~0.3 ms; so State and Status below stand in for an IntEnum and a NamedTuple (behaving like
# them in every way this project uses), decoding uses int.from_bytes, and only the encoder,
# which runsv alone calls, loads struct.

STATUS_SIZE = 20
TAI_OFFSET = (1 << 62) + 10  # = tai64.TAI_OFFSET (a test checks); not imported, see above
_STATE_NAMES = ("DOWN", "RUN", "FINISH")


class _StateType(type):
    """Lets ``State`` be iterated and sized like an enum class."""

    def __iter__(cls):
        return iter((cls.DOWN, cls.RUN, cls.FINISH))

    def __len__(cls):
        return len(_STATE_NAMES)


class State(int, metaclass=_StateType):
    """Byte 19: what runsv is running for the service (an int with ``name``/``value``).

    ``State(7)`` is a ValueError, as with an IntEnum; members compare equal to their ints.
    """

    __slots__ = ()

    def __new__(cls, value):
        if type(value) is cls:
            return value
        if value not in (0, 1, 2):
            raise ValueError("%r is not a valid State" % (value,))
        members = cls.__dict__.get("_members")
        if members is not None:
            return members[value]
        return int.__new__(cls, value)

    @property
    def name(self):
        return _STATE_NAMES[self]

    @property
    def value(self):
        return int(self)

    def __repr__(self):
        return "<State.%s: %d>" % (self.name, self)

    __str__ = int.__repr__


State._members = (State(0), State(1), State(2))
State.DOWN, State.RUN, State.FINISH = State._members


class Status(tuple):
    """One decoded ``supervise/status`` record (a NamedTuple in all but the import cost).

    Fields: ``seconds`` (unix seconds of the stamp), ``nanoseconds``, ``pid``, ``paused``,
    ``want`` ('u' or 'd'), ``term``, ``state`` (State).
    """

    __slots__ = ()
    _fields = ("seconds", "nanoseconds", "pid", "paused", "want", "term", "state")

    def __new__(cls, seconds, nanoseconds, pid, paused, want, term, state):
        return tuple.__new__(cls, (seconds, nanoseconds, pid, paused, want, term, state))

    seconds = property(lambda self: self[0], doc="unix seconds of the stamp")
    nanoseconds = property(lambda self: self[1])
    stamp_ns = property(lambda self: self[0] * 1_000_000_000 + self[1],
                        doc="the whole stamp, unix nanoseconds")
    pid = property(lambda self: self[2])
    paused = property(lambda self: self[3])
    want = property(lambda self: self[4], doc="'u' or 'd'")
    term = property(lambda self: self[5])
    state = property(lambda self: self[6])

    def __getnewargs__(self):
        return tuple(self)

    def _replace(self, **changes):
        values = dict(zip(self._fields, self))
        unknown = set(changes) - set(values)
        if unknown:
            raise ValueError("Got unexpected field names: %r" % sorted(unknown))
        values.update(changes)
        return type(self)(**values)

    def _asdict(self):
        return dict(zip(self._fields, self))

    def __repr__(self):
        return "Status(%s)" % ", ".join(
            "%s=%r" % pair for pair in zip(self._fields, self))


def status_from_bytes(raw):
    """Decode a status record; anything but exactly 20 bytes is a ProtocolError."""
    if len(raw) != STATUS_SIZE:
        raise ProtocolError("bad format: %d bytes, want %d" % (len(raw), STATUS_SIZE))
    raw = bytes(raw)
    try:
        state = State(raw[19])
    except ValueError:
        raise ProtocolError("bad format: state byte %d" % raw[19]) from None
    return Status(int.from_bytes(raw[0:8], "big") - TAI_OFFSET,
                  int.from_bytes(raw[8:12], "big"),
                  int.from_bytes(raw[12:16], "little"),
                  bool(raw[16]), raw[17:18].decode("latin-1"), bool(raw[18]), state)


def status_to_bytes(status):
    """Encode a Status into the 20 bytes runsv writes."""
    import struct  # only the writer (runsv) pays for it; see the import note above

    return (struct.pack(">QL", status.seconds + TAI_OFFSET, status.nanoseconds)
            + struct.pack("<LBcBB", status.pid, int(status.paused),
                          status.want.encode("latin-1"), int(status.term), int(status.state)))


def stat_text(state, paused, term, want_word):
    """The ``supervise/stat`` line: ``run, paused, got TERM, want down\\n``.

    ``want_word`` is ``"up"``, ``"down"`` or ``"exit"``; runsv only mentions it when the
    service is not down, and never mentions ``up``.
    """
    parts = [("down", "run", "finish")[state]]
    if paused:
        parts.append("paused")
    if term:
        parts.append("got TERM")
    if state != State.DOWN and want_word in ("down", "exit"):
        parts.append("want " + want_word)
    return ", ".join(parts) + "\n"


def status_line(name, status, now_seconds, is_normally_up):
    """sv's description of one service, without the log part and the newline.

    ``is_normally_up`` is "there is no ``down`` file". Examples (sv.c ``svstatus_print``)::

        run: web: (pid 9894) 12s, normally down, paused, want down, got TERM
        down: ./svc: 0s, normally up, want up
    """
    pid = status.pid
    text = ("down: ", "run: ", "finish: ")[status.state] + name + ": "
    if status.state != State.DOWN:
        text += "(pid %d) " % pid
    text += "%ds" % max(0, now_seconds - status.seconds)
    if pid and not is_normally_up:
        text += ", normally down"
    if not pid and is_normally_up:
        text += ", normally up"
    if pid and status.paused:
        text += ", paused"
    if not pid and status.want == "u":
        text += ", want up"
    if pid and status.want == "d":
        text += ", want down"
    if pid and status.term:
        text += ", got TERM"
    return text
