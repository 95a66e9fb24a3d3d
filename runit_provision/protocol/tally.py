"""protocol: ``supervise/tally`` — our runtime's account of a side's starts and deaths.

runit keeps no history: ``supervise/status`` says what runs now and since when, nothing of
why it stopped or how often. Our runsv keeps, per side (the service, its log), one more file
beside runit's, which the C tools never open: one line of ``key=value`` fields (starts, deaths,
the last end, recent deaths, a give-up, a back-off's wait) ending in a CRC-32 — the fields and
their meaning are docs/failures.md#the-account-supervisetally.

It is written in place at a start and at a death (one ``pwrite`` of ``WIDTH`` bytes, padded
with spaces): a rename would flush the new file's data first on ext4, on the respawn path. The
CRC lets a reader that caught a write half done tell, and read again. A user's tree writes its
own tally, so even a whole one is read within bounds (protocol/bounds.py); one out of them is
unreadable (``tally_read`` says why), one that is not whole is no tally, as under the C runit.
"""

import os
from binascii import crc32

from .layout import SUPERVISE_DIR

TALLY = "tally"
TALLY_FILE = SUPERVISE_DIR + "/" + TALLY
WIDTH = 1024      # bytes on disk, newline included
RECENT = 64       # deaths remembered: a loop under runsv's 1 s back-off dies ~60 times a minute
CRASH_LOOP = (5, 60)  # deaths, within seconds: "crash-looping" (systemd's StartLimitBurst)
_NS = 1_000_000_000


class Tally:
    """A side's account (see the module). ``exit_status``: the last death's wait status
    (None: unknown; ``died_at_ns`` 0 when there was none); ``ran_ns``: None when unknown."""

    __slots__ = ("pid", "starts", "deaths", "exit_status", "died_at_ns", "ran_ns", "recent_ns",
                 "gave_up_ns", "down_ns", "waiting")

    def __init__(self, pid=0, starts=0, deaths=0, exit_status=None, died_at_ns=0, ran_ns=None,
                 recent_ns=(), gave_up_ns=0, down_ns=0, waiting=None):
        self.pid, self.starts, self.deaths = pid, starts, deaths
        self.exit_status, self.died_at_ns, self.ran_ns = exit_status, died_at_ns, ran_ns
        self.recent_ns = tuple(recent_ns)  # unix ns of the last deaths, newest first
        self.gave_up_ns = gave_up_ns  # when runsv gave up restarting it (0: it did not)
        self.down_ns = down_ns  # when it was last wanted down as told (0: never)
        self.waiting = waiting  # backoff.Waiting: the series' restarts, a restart that waits

    def __eq__(self, other):
        return isinstance(other, Tally) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __repr__(self):
        return "Tally(%s)" % ", ".join("%s=%r" % (name, getattr(self, name))
                                       for name in self.__slots__)

    # -- what happened (the runtime) --------------------------------------------------------
    def started(self, pid):
        self.pid = pid
        self.starts += 1

    def died(self, exit_status, now_ns, ran_ns, asked=False):
        """``./run`` ended: ``exit_status`` its wait status (None: unknown), ``ran_ns`` how
        long it ran (None: unknown); ``asked``: runsv stopped it as it was told (``sv down``,
        ``restart``, ``kill``, want not up) — the last exit, but not a death."""
        self.pid = 0
        self.exit_status, self.died_at_ns, self.ran_ns = exit_status, now_ns, ran_ns
        if not asked:
            self.deaths += 1
            self.recent_ns = ((now_ns,) + self.recent_ns)[:RECENT]

    def wanted_down(self, now_ns):
        """runsv was told to want the side down (``d``, ``x``, ``o``) at ``now_ns``: the
        deaths before make no crash loop from now on."""
        self.down_ns = now_ns

    # -- what it means (readers) -------------------------------------------------------------
    def deaths_within(self, seconds, now_ns):
        """How many of the remembered deaths were in the last ``seconds`` (at most RECENT) —
        and since the side was last wanted down: a stop ends a crash loop, and a start after
        it begins a new window (status's crash-looping, the give-up policy).

        >>> tally = Tally(recent_ns=(9 * _NS, 8 * _NS, 7 * _NS))
        >>> tally.deaths_within(60, 10 * _NS), tally.deaths_within(2, 10 * _NS)
        (3, 2)
        >>> tally.wanted_down(int(7.5 * _NS)); tally.deaths_within(60, 10 * _NS)
        2
        """
        since = now_ns - seconds * _NS
        down = self.down_ns
        return sum(1 for moment in self.recent_ns if moment >= since and moment > down)

    def is_crash_looping(self, now_ns, deaths=CRASH_LOOP[0], within=CRASH_LOOP[1]):
        return self.deaths_within(within, now_ns) >= deaths

    @property
    def last_exit(self):
        """``{"code": N}``, ``{"signal": N, "core": bool}``, ``{"unknown": True}`` or None
        (never died) — the last death's end, as JSON shows it."""
        if not self.died_at_ns:
            return None
        status = self.exit_status
        if status is None:
            return {"unknown": True}
        if status & 0x7F:
            return {"signal": status & 0x7F, "core": bool(status & 0x80)}
        return {"code": (status >> 8) & 0xFF}


def exit_text(last, named=True):
    """A last exit (``Tally.last_exit``) in words — the one wording every reader uses.

    ``named``: for a person (status's lines, apply's report): the signal's name and
    ``core dumped``. Not named: the Puppet fact's word, the same on every platform and
    between two agent runs (REFERENCE.md's ``runit_services``): the signal's number alone.

    >>> [exit_text(last) for last in ({"code": 3}, {"signal": 9, "core": False},
    ...                               {"signal": 11, "core": True}, {"unknown": True}, None)]
    ['exit 3', 'signal 9 (KILL)', 'signal 11 (SEGV), core dumped', 'exit unknown', 'none']
    >>> [exit_text(last, named=False) for last in ({"code": 3}, {"signal": 9, "core": False},
    ...                                           {"signal": 11, "core": True}, {"unknown": True})]
    ['exit 3', 'signal 9', 'signal 11 (core)', 'unknown']
    """
    if last is None:
        return "none"
    if "code" in last:
        return "exit %d" % last["code"]
    if "signal" not in last:
        return "exit unknown" if named else "unknown"
    number = last["signal"]
    if not named:
        return "signal %d%s" % (number, " (core)" if last["core"] else "")
    import signal  # only where an exit is worded for a person
    try:
        name = " (%s)" % signal.Signals(number).name[3:]
    except ValueError:
        name = ""
    return "signal %d%s%s" % (number, name, ", core dumped" if last["core"] else "")


RESTARTS_WHAT_EXITS = (
    "runsv restarts a run that exits, even with exit 0: for work that runs once, declare "
    "oneshot: true (docs/jobs.md) — or a finish that runs `sv down .` keeps it down, or "
    "declare down: true and start it with `sv once` (docs/failures.md)")


def exit_hint(last):
    """What to say under a last exit (``Tally.last_exit``) of a side that is not as wanted:
    for an exit 0, that runsv restarts whatever ends (runit's rule: nothing runs once unless
    something keeps it down); None for any other.

    >>> exit_hint({"code": 0}) == RESTARTS_WHAT_EXITS, exit_hint({"code": 3}), exit_hint(None)
    (True, None, None)
    """
    return RESTARTS_WHAT_EXITS if isinstance(last, dict) and last.get("code") == 0 else None


def tally_bytes(tally):
    """The file's ``WIDTH`` bytes for ``tally``.

    >>> data = tally_bytes(Tally(42, 3, 2, 3 << 8, 1_700_000_000_123_456_789, 21_000_000,
    ...                          (1_700_000_000_123_456_789, 1_699_999_999_000_000_000)))
    >>> data[:data.index(b" crc=")].decode()
    'tally 1 pid=42 starts=3 deaths=2 exit=3 core=0 at=1700000000.123456789 ran=0.021000000 recent=0,1123'
    >>> back = tally_from_bytes(data)
    >>> len(data), back.exit_status == 3 << 8, back.recent_ns[1] == 1_699_999_999_000_456_789
    (1024, True, True)
    """
    status = tally.exit_status
    if not tally.died_at_ns:
        end = b"exit=none core=0"
    elif status is None:
        end = b"exit=unknown core=0"
    elif status & 0x7F:
        end = b"signal=%d core=%d" % (status & 0x7F, 1 if status & 0x80 else 0)
    else:
        end = b"exit=%d core=0" % ((status >> 8) & 0xFF)
    recent = b",".join(b"%d" % ((tally.died_at_ns - moment) // 1_000_000)
                       for moment in tally.recent_ns)
    body = b"tally 1 pid=%d starts=%d deaths=%d %s at=%s ran=%s recent=%s" % (
        tally.pid, tally.starts, tally.deaths, end, _seconds(tally.died_at_ns),
        b"unknown" if tally.ran_ns is None else _seconds(tally.ran_ns), recent)
    if tally.gave_up_ns:
        body += b" gave_up=%s" % _seconds(tally.gave_up_ns)
    if tally.down_ns:  # only once it was: a file of a side never stopped is as it was
        body += b" down=%s" % _seconds(tally.down_ns)
    waiting = tally.waiting
    if waiting is not None and (waiting.restarts or waiting.due_ns):
        body += b" " + waiting.words()
    line = body + b" crc=%08x" % crc32(body)
    return line.ljust(WIDTH - 1) + b"\n"


def tally_from_bytes(data):
    """The Tally of a file's bytes; None when it is not one whole (a torn or foreign file),
    or out of its bounds (``tally_read`` tells the two apart). The recent deaths come back
    to the millisecond."""
    return tally_read(data)[0]


def tally_read(data):
    """``(Tally, None)`` of a file's bytes (at most ``WIDTH`` of them); ``(None, None)``
    when they are not one whole tally (its CRC wrong: a write caught half done, or another
    file); ``(None, why)`` for a whole one out of the module's bounds — never an exception.

    >>> body = b"tally 1 pid=0 starts=1 deaths=1 exit=1 core=0 at=99999999999999999 " \\
    ...        b"ran=0 recent=0"
    >>> tally_read(body + b" crc=%08x" % crc32(body))
    (None, 'at=99999999999999999 is not a time within 1970..9999')
    >>> tally_read(b"garbage crc=00000000")
    (None, None)
    """
    from .bounds import (PID_MAX, TIME_NS_MAX, Unreadable, fields_of, moment_ns, printable,
                         whole)

    line = data[:WIDTH].rstrip(b" \n")
    body, _, crc = line.rpartition(b" crc=")
    if len(crc) != 8 or crc.translate(None, b"0123456789abcdefABCDEF") \
            or int(crc, 16) != crc32(body):
        return None, None
    fields = body.split(b" ")
    if fields[:2] != [b"tally", b"1"]:
        return None, None
    try:
        values = fields_of(fields[2:], "tally")
        for name in (b"pid", b"starts", b"deaths", b"at", b"ran", b"recent"):
            if name not in values:
                raise Unreadable("no %s=" % name.decode())
        died_at_ns = moment_ns(values[b"at"], "at")
        if b"signal" in values:
            status = whole(values[b"signal"], "signal", 0, 127) | (
                0x80 if values.get(b"core") == b"1" else 0)
        elif values.get(b"exit") in (b"unknown", b"none"):
            status = None
        else:
            status = whole(values.get(b"exit", b""), "exit", 0, 255) << 8
        # ms before at, each death's moment within 1970..9999 (a clock set back: below 0)
        low, high = -((TIME_NS_MAX - died_at_ns) // 1_000_000), died_at_ns // 1_000_000
        recent = tuple(died_at_ns - whole(item, "recent", low, high) * 1_000_000
                       for item in values[b"recent"].split(b",")[:RECENT] if item)
        ran = None if values[b"ran"] == b"unknown" else moment_ns(values[b"ran"], "ran")
        gave_up = moment_ns(values[b"gave_up"], "gave_up") if b"gave_up" in values else 0
        down = moment_ns(values[b"down"], "down") if b"down" in values else 0
        return Tally(whole(values[b"pid"], "pid", 0, PID_MAX),
                     whole(values[b"starts"], "starts"), whole(values[b"deaths"], "deaths"),
                     status, died_at_ns, ran, recent, gave_up, down, _waiting(values)), None
    except ValueError as exc:  # Unreadable, and the back-off record's (a ValueError too)
        return None, printable(str(exc))


def account_of(found, status):
    """``found`` (a whole Tally, or None) when it is our runsv's account of ``status``
    (protocol/status.Status; None: none read), else None — the one rule every reader of a
    side (status, the fact, metrics, verify) takes a tally by. runsv writes the tally, then
    the status, at each start and each death, so the account of a status names its pid; a
    tally naming another is one another runsv left (the C runsv's status, after ours), or
    one whose status is still to come (host/sides.side_tally waits for that one).

    >>> from .status import State, Status
    >>> running = Status(1_700_000_000, 0, 42, False, "u", False, State.RUN)
    >>> account_of(Tally(pid=42), running).pid, account_of(Tally(pid=41), running)
    (42, None)
    """
    if found is None or status is None or found.pid != status.pid:
        return None
    return found


def status_tally_read(data, status):
    """``tally_read`` of ``data`` (a side's tally's bytes) as the account of ``status``
    (``account_of``): ``(Tally, None)``, ``(None, why)`` for one out of bounds, ``(None,
    None)`` for none whole or another process's account."""
    found, why = tally_read(data)
    return account_of(found, status), why


def _waiting(values):
    """The back-off's restart a tally's fields record, or None: protocol/backoff.py is
    loaded only for a service with a back-off (``restarts=``), not on every view's start."""
    if b"restarts" not in values:
        return None
    from .backoff import waiting_from_fields

    return waiting_from_fields(values)


def read_tally_at(supervise_fd, tries=3):
    """The Tally in ``supervise/`` (open as ``supervise_fd``), None when there is none, never
    a whole one, or one out of bounds (``tally_read_at``)."""
    return tally_read_at(supervise_fd, tries)[0]


def tally_read_at(supervise_fd, tries=3):
    """``tally_read`` of the tally in ``supervise/`` (open as ``supervise_fd``; nothing in
    it followed, a FIFO never waited on, a bounded read), read again when a write was caught
    half done: ``(None, None)`` when there is none or never a whole one."""
    for _ in range(tries):
        try:
            fd = os.open(TALLY, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW
                         | os.O_CLOEXEC, dir_fd=supervise_fd)
        except OSError:
            return None, None
        try:
            if os.fstat(fd).st_mode & 0o170000 != 0o100000:
                return None, None  # not a regular file: no tally runsv writes
            data = os.read(fd, WIDTH)
        except OSError:
            return None, None
        finally:
            os.close(fd)
        found, why = tally_read(data)
        if found is not None or why is not None:
            return found, why
    return None, None


def _seconds(ns):
    return b"%d.%09d" % divmod(ns, _NS)
