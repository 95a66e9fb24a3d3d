"""runtime/supervision/users: the messages between root's tree and a user's agent (agent.py,
agentlink.py) — fields, and what each kind of request and answer carries (``REQUESTS``, the
one table of the kinds both ends read; ``EVENTS``, what an agent tells unasked).

One message is one SOCK_SEQPACKET datagram: fields, each ``LENGTH:BYTES`` (a length in decimal,
a colon, that many bytes — any byte may be in a field), the first field its kind. Descriptors go
along as SCM_RIGHTS. Root reads what an agent sends as it reads anything a user controls: every
field checked, every count and length bounded, anything else refused (``BadMessage``), never
evaluated.

    root -> agent    KIND FIELD...              + descriptors the work needs (KIND: REQUESTS)
    agent -> root    = FIELD...                 the answer to the oldest request not answered
                     ! FIELD...                 the same, when the work failed
                     + FIELD...                 the first pieces of a long answer (``=`` ends it)
                     x PID WAIT_STATUS          a process the agent started has ended
                     p PID                      one started with stops watched (the loggers'
                     q PID                      stand-in) was stopped / continued
                     s SIGNUM                   a signal came to the agent (TERM, HUP, ALRM)
                     c                          the tree's directory changed (a rescan is due)
                     r                          started: the agent takes requests
                                                (these six: EVENTS)

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

# -- the kinds: one table, read by both ends -------------------------------------------------------
# Each request root may send (its first field), and how many descriptors its answer carries at
# most: the agent does only these (agent.py's handlers, agentlogs.KINDS for the log work); root's
# link refuses an answer with more (agentlink.AgentLink, as it matches the answer to its
# request: held, they would fill root's table) — and whether a batch may hold it (each of those
# carries one at most, so a batch's answer carries MAX_BATCH).
LIST, OPEN, FACTS, WRITE, REMOVE, FIFO = b"list", b"open", b"facts", b"write", b"remove", b"fifo"
STARTED, SPAWN, SYNC, BYE = b"started", b"spawn", b"sync", b"bye"
EVOPEN, EVPOST, EVCLOSE = b"evopen", b"evpost", b"evclose"
LOPEN, LNAME, LCUR, LMODE, LSYNC = b"lopen", b"lname", b"lcur", b"lmode", b"lsync"
LWRITE, LRENDER, LMV, LRM, LCHMOD = b"lwrite", b"lrender", b"lmv", b"lrm", b"lchmod"
LPRUNE, LFREE, LUNPROC, LPROC = b"lprune", b"lfree", b"lunproc", b"lproc"
LKEEP, LUNKEEP = b"lkeep", b"lunkeep"

#  kind: (descriptors its answer carries, at most; a batch may hold it)
REQUESTS = {
    LIST: (0, False),  # the tree's directory listed: names and (dev, ino)s
    OPEN: (8, False),  # a service directory taken over: servicedir.Opened's, a mask says which
    FACTS: (0, False),  # servicedir.Facts, read ahead of an event
    WRITE: (0, True),  # supervise/ files written
    REMOVE: (0, True),  # one removed
    FIFO: (1, True),  # a FIFO of supervise/ opened
    STARTED: (0, True),  # the pid a lost start had started (adoption.started_in)
    SPAWN: (1, True),  # a process started: its pidfd
    SYNC: (0, False),  # nothing, answered after everything asked before it
    BYE: (0, False),  # the tree is done: the code to exit with
    EVOPEN: (0, True),  # a side's supervise/event/ (protocol/eventdir.py) kept, posted, let go
    EVPOST: (0, True),
    EVCLOSE: (0, True),
    LOPEN: (2, False),  # a log directory opened: it and its lock (agentlogs.KINDS, dirwork.py)
    LNAME: (0, False),
    LCUR: (1, False),  # current, opened
    LMODE: (0, False),
    LSYNC: (0, False),
    LWRITE: (1, False),  # current, opened again when the write rotated it
    LRENDER: (1, False),
    LMV: (0, False),
    LRM: (0, False),
    LCHMOD: (0, False),
    LPRUNE: (0, False),
    LFREE: (0, False),
    LUNPROC: (0, False),
    LPROC: (4, False),  # a processor's files
    LKEEP: (0, False),
    LUNKEEP: (0, False),
}

# What an agent tells of itself, unasked (an event, never an answer).
EXITED, SIGNALLED, CHANGED, READY, STOPPED, CONTINUED = b"x", b"s", b"c", b"r", b"p", b"q"
EVENTS = (EXITED, SIGNALLED, CHANGED, READY, STOPPED, CONTINUED)

MAX_FIELD = 1 << 20  # no field of an answer is longer: a status, a script's head, a log chunk
MAX_FIELDS = 4 * 4096  # a listing of a crowded directory stays far below
PIECE = 32 * 1024  # the size of one datagram's fields, at most, before an answer is cut in pieces
MAX_ANSWER = 8 << 20  # the pieces of one answer, together


BATCH = b"batch"
MAX_BATCH = 8  # requests in one batch, at most (each answers one descriptor at most: REQUESTS)


class BadMessage(Exception):
    """A message that is not what the protocol allows: the sender is not trusted further."""


def encode(*fields):
    """One message of ``fields`` (bytes, str or int).

    >>> encode(b"new", "supervise/status", 7, b"a\\x00b")
    b'3:new16:supervise/status1:73:a\\x00b'
    """
    out = []
    append = out.append  # one call a field: each side's start encodes a few dozen of them
    for field in fields:
        if field.__class__ is not bytes:
            if isinstance(field, int):
                field = b"%d" % field
            elif isinstance(field, str):
                field = field.encode("utf-8", "surrogateescape")
        append(b"%d:" % len(field))
        append(field)
    return b"".join(out)


def decode(data, max_fields=MAX_FIELDS):
    """The fields of one message (a list of bytes); BadMessage when it is not one.

    >>> decode(b'3:new16:supervise/status1:73:a\\x00b')
    [b'new', b'supervise/status', b'7', b'a\\x00b']
    >>> decode(b"0:1:a0:"), decode(b"2:ab", max_fields=1)
    ([b'', b'a', b''], [b'ab'])
    >>> for bad in (b"", b"3:ab", b"x:abc", b"03:abc", b"3abc", b"99999999:a", b":", b"00:",
    ...             b"1:a:", b"1:a1", b"+1:a", b" 1:a", b"2:ab1:", b"0:" * 3):
    ...     try:
    ...         decode(bad, max_fields=2)
    ...     except BadMessage:
    ...         pass
    ...     else:
    ...         print("accepted", bad)
    """
    end = len(data)
    if not end:
        raise BadMessage("empty")
    fields = []
    append, find = fields.append, data.find
    at = 0
    while at < end:
        colon = find(b":", at, at + 9)
        if colon <= at:  # none within 8 digits, or no digit before it
            raise BadMessage("no length at %d" % at)
        digits = data[at:colon]
        if not digits.isdigit() or (digits[0] == 48 and colon > at + 1):  # b"0" leading
            raise BadMessage("no length at %d" % at)
        start, at = colon + 1, colon + 1 + int(digits)
        if at > end or at - start > MAX_FIELD:
            raise BadMessage("a field longer than the message")
        append(data[start:at])
    if len(fields) > max_fields:  # a datagram (64 kB) holds 32 768 fields at most: bounded
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
