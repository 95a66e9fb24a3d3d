"""runtime/supervision: the messages between root's tree and a user's agent (agent.py,
agentlink.py) — fields, and what each kind of request and answer carries.

One message is one SOCK_SEQPACKET datagram: fields, each ``LENGTH:BYTES`` (a length in decimal,
a colon, that many bytes — any byte may be in a field), the first field its kind. Descriptors go
along as SCM_RIGHTS. Root reads what an agent sends as it reads anything a user controls: every
field checked, every count and length bounded, anything else refused (``BadMessage``), never
evaluated.

    root -> agent    KIND FIELD...              + descriptors the work needs
    agent -> root    = FIELD...                 the answer to the oldest request not answered
                     ! FIELD...                 the same, when the work failed
                     + FIELD...                 the first pieces of a long answer (``=`` ends it)
                     x PID WAIT_STATUS          a process the agent started has ended
                     p PID                      one started with stops watched (the loggers'
                     q PID                      stand-in) was stopped / continued
                     s SIGNUM                   a signal came to the agent (TERM, HUP, ALRM)
                     c                          the tree's directory changed (a rescan is due)
                     r                          started: the agent takes requests

A batch is several requests in one message, done in their order as if each had come alone —
one round trip instead of several where root sends work that depends on nothing it waits for
(a side's start: its status, ``ok`` opened, its ``starting`` record, its process):

    root -> agent    batch (COUNT REQUEST)...   each request encoded whole, COUNT its
                                                descriptors (they follow in that order)
    agent -> root    = (COUNT ANSWER)...        each answer encoded whole, COUNT its
                                                descriptors (they follow in that order)

Answers come in the order of the requests, so root may send work that depends on work before
it without waiting (a status written, then ``ok`` opened, then ``./run`` started) — and
``sync``, which does nothing, is answered once everything asked before it is done (a
supervisor that exits lets ``ok`` go only then: agentio.AgentIO.when_done).
"""

MAX_FIELD = 1 << 20  # no field of an answer is longer: a status, a script's head, a log chunk
MAX_FIELDS = 4 * 4096  # a listing of a crowded directory stays far below
PIECE = 32 * 1024  # the size of one datagram's fields, at most, before an answer is cut in pieces
MAX_ANSWER = 8 << 20  # the pieces of one answer, together


BATCH = b"batch"
MAX_BATCH = 8  # requests in one batch, at most (each answers one descriptor at most)


class BadMessage(Exception):
    """A message that is not what the protocol allows: the sender is not trusted further."""


def encode(*fields):
    """One message of ``fields`` (bytes, str or int).

    >>> encode(b"new", "supervise/status", 7, b"a\\x00b")
    b'3:new16:supervise/status1:73:a\\x00b'
    """
    out = []
    for field in fields:
        if isinstance(field, int):
            field = b"%d" % field
        elif isinstance(field, str):
            field = field.encode("utf-8", "surrogateescape")
        out.append(b"%d:" % len(field))
        out.append(field)
    return b"".join(out)


def decode(data, max_fields=MAX_FIELDS):
    """The fields of one message (a list of bytes); BadMessage when it is not one.

    >>> decode(b'3:new16:supervise/status1:73:a\\x00b')
    [b'new', b'supervise/status', b'7', b'a\\x00b']
    >>> for bad in (b"", b"3:ab", b"x:abc", b"03:abc", b"3abc", b"99999999:a"):
    ...     try:
    ...         decode(bad)
    ...     except BadMessage:
    ...         pass
    ...     else:
    ...         print("accepted", bad)
    """
    fields = []
    at, end = 0, len(data)
    if not end:
        raise BadMessage("empty")
    while at < end:
        colon = data.find(b":", at, at + 9)
        digits = data[at:colon] if colon > at else b""
        if not digits.isdigit() or (len(digits) > 1 and digits[:1] == b"0"):
            raise BadMessage("no length at %d" % at)
        length = int(digits)
        if length > MAX_FIELD or colon + 1 + length > end:
            raise BadMessage("a field longer than the message")
        fields.append(data[colon + 1:colon + 1 + length])
        at = colon + 1 + length
        if len(fields) > max_fields:
            raise BadMessage("too many fields")
    return fields


def pieces(kind, fields):
    """A long answer cut in datagrams of about ``PIECE`` bytes: ``+`` for each piece but the
    last, which has ``kind``.

    >>> [decode(p)[0] for p in pieces(b"=", [b"x" * 40000, b"y"])]
    [b'+', b'=']
    >>> [len(decode(p)) for p in pieces(b"=", [b"a", b"b"])]
    [3]
    """
    out, current, size = [], [], 0
    for field in fields:
        if current and size + len(field) > PIECE:
            out.append(encode(b"+", *current))
            current, size = [], 0
        current.append(field)
        size += len(field) + 8
    out.append(encode(kind, *current))
    return out


def number(field, bound=1 << 62):
    """A field that must be a decimal count below ``bound``.

    >>> number(b"42"), number(b"0")
    (42, 0)
    >>> for bad in (b"", b"-1", b"4 2", b"1" * 30):
    ...     try:
    ...         number(bad)
    ...     except BadMessage:
    ...         pass
    ...     else:
    ...         print("accepted", bad)
    """
    if not field.isdigit() or len(field) > 19 or int(field) >= bound:
        raise BadMessage("not a count: %r" % field[:20])
    return int(field)


def text(field, bound=512):
    """A field that must be a short message of ours (runit's words, a path): printable."""
    if len(field) > bound:
        raise BadMessage("a message too long")
    shown = field.decode("utf-8", "replace")
    if not shown.isprintable():
        raise BadMessage("a message with control characters")
    return shown


def optional(field):
    """``b"-"`` for None, else ``b"=" + bytes`` — for file contents that may be absent.

    >>> [optional(f) for f in (b"-", b"=", b"=abc")]
    [None, b'', b'abc']
    """
    if field == b"-":
        return None
    if field[:1] != b"=":
        raise BadMessage("not an optional value")
    return field[1:]


def to_optional(data):
    """The field for ``data`` (bytes or None); ``optional`` reads it back."""
    return b"-" if data is None else b"=" + data
