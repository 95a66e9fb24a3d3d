"""protocol: readiness — the service directory's ``ready`` file, systemd's notify messages,
and the ``supervise/readiness`` record our runsv writes beside runit's files.

Three pure parts, each with sample input:

- ``ready`` (in the service directory, ours; C runsv never reads it): one line, a kind and
  ``key=value`` words — ``fd=N`` (s6's notification-fd: a newline on descriptor N means
  ready) or ``notify`` (systemd's protocol on a ``NOTIFY_SOCKET``) with
  ``access=main`` (the default, systemd's ``NotifyAccess=main``) or ``access=all``,
  ``timeout=SECONDS`` (not ready by then: a failed start) and ``watchdog=SECONDS`` (no
  ``WATCHDOG=1`` for that long: killed).
- a notify datagram: newline-separated ``NAME=value`` assignments (sd_notify(3)).
- ``supervise/readiness``: ``key value`` lines, written ``.new`` then renamed, for our ``sv``,
  ``status`` and metrics (docs/readiness.md). The 20-byte ``status`` is never touched. A
  user's tree writes it: read within bounds (protocol/bounds.py: pids within 0..PID_MAX,
  times within 1970..9999, at most ``RECORD_MAX`` bytes), its texts cut to
  ``STATUS_TEXT_MAX``; one out of them is unreadable (``readiness_read`` says why).
"""

import os
from collections import namedtuple

from .layout import READINESS

KINDS = ("notify", "fd")
FD_MIN, FD_MAX = 3, 1023  # s6's notification-fd: never stdin, stdout or stderr
ACCESS = ("main", "all")
MESSAGE_MAX = 4096  # a longer datagram is refused whole (sd_notify messages are a few lines)
STATUS_TEXT_MAX = 256  # of STATUS=, what the record keeps (systemd shows a line, too)
RECORD_MAX = 4096  # bytes of supervise/readiness read

# What a service is, as far as readiness goes. ``starting``: ./run runs and has not said
# READY=1; ``ready``; ``reloading`` (RELOADING=1 until the next READY=1); ``stopping``
# (STOPPING=1); ``down``: nothing runs.
STATES = ("starting", "ready", "reloading", "stopping", "down")

ReadySpec = namedtuple("ReadySpec", "kind access timeout watchdog fd", defaults=(0, 0, 0))
ReadySpec.__doc__ = """What a service's ``ready`` file declares; ``timeout`` and ``watchdog``
in whole seconds, 0 for none; ``fd``: for kind ``fd`` (s6's notification-fd), the descriptor
``./run`` writes a newline to when it is ready."""
SECONDS_MAX = 86400


class BadReady(ValueError):
    """A ``ready`` file that says something we do not know (the message says what)."""


def ready_spec_from_bytes(data):
    """The ``ready`` file's one line as a ReadySpec; BadReady when it is not one.

    >>> ready_spec_from_bytes(b"notify\\n")
    ReadySpec(kind='notify', access='main', timeout=0, watchdog=0, fd=0)
    >>> ready_spec_from_bytes(b"notify access=all timeout=30 watchdog=10\\n")
    ReadySpec(kind='notify', access='all', timeout=30, watchdog=10, fd=0)
    >>> ready_spec_from_bytes(b"fd=3 timeout=9")
    ReadySpec(kind='fd', access='main', timeout=9, watchdog=0, fd=3)
    >>> ready_spec_from_bytes(b"poll")
    Traceback (most recent call last):
    ...
    runit_provision.protocol.readiness.BadReady: unknown kind 'poll' (notify, fd)
    """
    words = data.decode("ascii", "replace").split()
    if not words:
        raise BadReady("empty")
    kind = words[0]
    if kind.startswith("fd="):
        number = kind[3:]
        if not number.isdigit() or not FD_MIN <= int(number) <= FD_MAX:
            raise BadReady("%s: not a descriptor from %d to %d" % (kind, FD_MIN, FD_MAX))
        access, timeout, watchdog = ready_options(words[1:])
        if watchdog or access != "main":
            raise BadReady("fd=: only timeout= goes with it")
        return ReadySpec("fd", "main", timeout, 0, int(number))
    if kind not in KINDS:
        raise BadReady("unknown kind %r (%s)" % (kind, ", ".join(KINDS)))
    return ReadySpec(kind, *ready_options(words[1:]))


def ready_options(words):
    """``(access, timeout, watchdog)`` of ``key=value`` words (the ``ready`` file's after its
    kind, and ``notify-relay``'s arguments); BadReady when one is not known or not right.

    >>> ready_options(["watchdog=5"])
    ('main', 0, 5)
    >>> ready_options(["timeout=0"])
    Traceback (most recent call last):
    ...
    runit_provision.protocol.readiness.BadReady: timeout=0: not a number of seconds (1..86400)
    """
    options = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or key in options:
            raise BadReady("%r is not a key=value word given once" % word)
        options[key] = value
    access = options.pop("access", "main")
    if access not in ACCESS:
        raise BadReady("access=%s: not one of %s" % (access, ", ".join(ACCESS)))
    seconds = [_seconds(key, options.pop(key, None)) for key in ("timeout", "watchdog")]
    if options:
        raise BadReady("unknown option %s" % ", ".join(sorted(options)))
    return (access, *seconds)


def _seconds(key, value):
    if value is None:
        return 0
    if not value.isdigit() or not 1 <= int(value) <= SECONDS_MAX:
        raise BadReady("%s=%s: not a number of seconds (1..%d)" % (key, value, SECONDS_MAX))
    return int(value)


def ready_spec_bytes(spec):
    """The ``ready`` file for ``spec`` (what the renderer writes).

    >>> ready_spec_bytes(ReadySpec("notify", "all"))
    b'notify access=all\\n'
    >>> spec = ReadySpec("notify", "main", 30, 10)
    >>> ready_spec_from_bytes(ready_spec_bytes(spec)) == spec
    True
    >>> ready_spec_bytes(ReadySpec("fd", "main", 0, 0, 3))
    b'fd=3\\n'
    """
    kind = "fd=%d" % spec.fd if spec.kind == "fd" else spec.kind
    return (" ".join([kind] + ready_option_words(spec)) + "\n").encode("ascii")


def ready_option_words(spec):
    """The ``key=value`` words of ``spec`` that differ from the defaults.

    >>> ready_option_words(ReadySpec("notify", "all", 0, 10))
    ['access=all', 'watchdog=10']
    """
    words = [] if spec.access == "main" else ["access=" + spec.access]
    words += ["%s=%d" % (key, value) for key, value in (("timeout", spec.timeout),
                                                        ("watchdog", spec.watchdog)) if value]
    return words


def notify_assignments(data):
    """A notify datagram as ``{NAME: value}``; lines that are not ``NAME=value`` with a name
    of capitals, digits and ``_`` are dropped (systemd ignores them too); the last of a name
    given twice counts.

    >>> notify_assignments(b"READY=1\\nSTATUS=Accepting connections\\n\\ngarbage\\n")
    {'READY': '1', 'STATUS': 'Accepting connections'}
    >>> notify_assignments(b"MAINPID=42\\nx=1\\n\\xff=2")
    {'MAINPID': '42'}
    """
    found = {}
    for line in data.split(b"\n"):
        name, sep, value = line.partition(b"=")
        if not sep or not name or name.strip(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"):
            continue
        found[name.decode("ascii")] = value.decode("utf-8", "replace")
    return found


Readiness = namedtuple("Readiness",
                       "state pid started_ns ready_ns status mainpid refused failed",
                       defaults=("",))
Readiness.__doc__ = """One service's readiness, as ``supervise/readiness`` holds it: ``pid`` of
the ``./run`` it is about, when it started and (0 until then) became ready, the last ``STATUS=``
text, the ``MAINPID=`` it gave (0: none), how many messages were refused since it started, and
``failed``: why runsv killed it (``not ready after 30 s``, ``watchdog: …``; empty: it did not)."""

_FIELDS = ("state", "pid", "started", "ready", "mainpid", "refused", "failed", "status")


def readiness_bytes(readiness):
    """The record as written; ``status`` last, as it is free text (newlines made spaces).

    >>> text = readiness_bytes(Readiness("ready", 41, 10, 15, "up\\nnow", 0, 2)).decode()
    >>> text.split("\\n")
    ['state ready', 'pid 41', 'started 10', 'ready 15', 'mainpid 0', 'refused 2', 'failed ', \
'status up now', '']
    """
    status = " ".join(readiness.status.splitlines())[:STATUS_TEXT_MAX]
    values = (readiness.state, readiness.pid, readiness.started_ns, readiness.ready_ns,
              readiness.mainpid, readiness.refused, readiness.failed, status)
    return "".join("%s %s\n" % pair for pair in zip(_FIELDS, values)).encode("utf-8")


def readiness_from_bytes(data):
    """The record back, or None when it is not a whole one (a file from elsewhere), or is out
    of bounds (``readiness_read`` says why).

    >>> record = Readiness("starting", 7, 5, 0, "", 9, 0)
    >>> readiness_from_bytes(readiness_bytes(record)) == record
    True
    >>> readiness_from_bytes(b"state ready\\n") is None
    True
    """
    return readiness_read(data)[0]


def readiness_read(data):
    """``(Readiness, None)`` of a record's bytes (at most ``RECORD_MAX``), or ``(None, why)``
    — never an exception.

    >>> readiness_read(b"state ready\\npid 7\\nstarted 1e300\\nready 0\\nmainpid 0\\n"
    ...                b"refused 0\\n")
    (None, 'started=1e300 is not a time within 1970..9999')
    """
    from .bounds import PID_MAX, Unreadable, moment_of_ns, printable, whole

    values = {}
    for line in data[:RECORD_MAX].split(b"\n"):
        key, _, value = line.partition(b" ")
        if key:
            values[key] = value
    try:
        for key in (b"state", b"pid", b"started", b"ready", b"mainpid", b"refused"):
            if key not in values:
                raise Unreadable("no %s" % key.decode())
        state = values[b"state"].decode("ascii", "replace")
        if state not in STATES:
            raise Unreadable("state %s is not one of %s" % (printable(state, 40),
                                                            ", ".join(STATES)))
        return Readiness(state, whole(values[b"pid"], "pid", 0, PID_MAX),
                         moment_of_ns(values[b"started"], "started"),
                         moment_of_ns(values[b"ready"], "ready"),
                         _text(values.get(b"status", b"")),
                         whole(values[b"mainpid"], "mainpid", 0, PID_MAX),
                         whole(values[b"refused"], "refused"),
                         _text(values.get(b"failed", b""))), None
    except Unreadable as exc:
        return None, str(exc)


def _text(value):
    """A record's free text as read: UTF-8 (an undecodable byte replaced), one line, cut."""
    return value.decode("utf-8", "replace")[:STATUS_TEXT_MAX]


def read_readiness_at(supervise_fd):
    """The Readiness in ``supervise/`` (open as ``supervise_fd``); None when there is none or
    it is not a whole one (``readiness_read_at``)."""
    return readiness_read_at(supervise_fd)[0]


def readiness_read_at(supervise_fd):
    """``readiness_read`` of ``supervise/readiness`` in ``supervise/`` (open as
    ``supervise_fd``; nothing in it followed, never waited on, at most ``RECORD_MAX``
    bytes): ``(None, None)`` when there is none, or it is not a regular file (it is renamed
    into place: a reader never sees half of one)."""
    try:
        fd = os.open(READINESS, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW
                     | os.O_CLOEXEC, dir_fd=supervise_fd)
    except OSError:
        return None, None
    try:
        if os.fstat(fd).st_mode & 0o170000 != 0o100000:
            return None, None
        return readiness_read(os.read(fd, RECORD_MAX))
    except OSError:
        return None, None
    finally:
        os.close(fd)
