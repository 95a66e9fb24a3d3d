"""protocol: the 20-byte ``supervise/status`` record, the ``stat`` text and sv's status line.

Layout (runsv.c ``update_status``; daemontools-compatible first 18 bytes)::

    0-11   TAI64N stamp, big-endian (run: start of ./run; down: when it went down)
    12-15  pid, little-endian (0 = none; in state finish the pid of ./finish)
    16     paused flag        17  want: 'u' or 'd' (want exit is written as 'd')
    18     TERM-sent flag     19  state: 0 down, 1 run, 2 finish

Example, a running service (pid 9894), from docs/runit-protocol.md §10::

    4000 0000 6b01 9151 0c5a 77cc | a626 0000 | 00 75 00 01
"""

import enum
import struct
from collections import namedtuple

from ..errors import ProtocolError
from .tai64 import TAI_OFFSET

STATUS_SIZE = 20


class State(enum.IntEnum):
    """Byte 19: what runsv is running for the service. Shown as its number (``str``), as
    the byte it is."""

    DOWN = 0
    RUN = 1
    FINISH = 2

    __str__ = int.__repr__
    __format__ = int.__format__


class Status(namedtuple("Status", "seconds nanoseconds pid paused want term state")):
    """One decoded ``supervise/status`` record: ``seconds`` (unix seconds of the stamp),
    ``nanoseconds``, ``pid``, ``paused``, ``want`` ('u' or 'd'), ``term``, ``state`` (State).
    """

    __slots__ = ()

    @property
    def stamp_ns(self):
        """The whole stamp, unix nanoseconds."""
        return self.seconds * 1_000_000_000 + self.nanoseconds


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
