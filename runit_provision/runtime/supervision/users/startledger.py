"""runtime/supervision/users: root's own record of the processes its tree started for one user's
services — what a successor of root's tree adopts them by, never the user's ``supervise/process``.

A user's ``supervise/process`` (adoption.py's record) lies in the user's directory, and the user
can write anything there: any pid on the host, with the start time and boot id that anyone can
read in ``/proc``. Root's tree adopted whatever it named and signalled it for ``sv`` — any
process of the host's, its own children included (issue 43). So root keeps the same records
itself, in a file of its own beside ``runsvdir-LOGIN``'s ``supervise/`` (root's directory),
written at the moments it has the user's written — just before a start, once the start's pid is
known, at a clean exit — and a successor adopts a user's process by these alone, and only a
process that is still that user's and nobody's already (adoption.claim). The user's record is
still written, as runit's tools and a tree of the user's own may read it; what it says is
never a decision of root's (a live process it names that root's record does not is said and
counted: ``refused``).

The file, ``supervise/user-processes`` (root's, 0600, one link), is fixed-width lines written
in place — one ``pwrite`` each, as the user's record, no rename on the respawn path::

    runit-provision user-processes 1 refused=3          the header: adoptions refused so far
    2049 131074 m 4321 987654 5b1c…-boot-id run          DEV INO SIDE, then the record
    2049 131074 l 4330 987660 5b1c…-boot-id run          (adoption.record_bytes)
                                                         a free slot: spaces

DEV INO is the service directory's identity (``fstat`` of the descriptor the agent opened — as
the tree keys its services, so a rename restarts nothing), SIDE ``m`` for the service and ``l``
for its log. At a tree's first start on this boot the file is read, what another boot wrote is
dropped, and it is written again compactly; the records of services that are gone are dropped
once the tree has listed the user's directory (``retain``).
"""

import os
import stat

from ....protocol.layout import SUPERVISE_DIR
from ..engine.adoption import Record, boot_id, record_bytes, record_from_bytes

LEDGER = SUPERVISE_DIR + "/user-processes"  # in runsvdir-LOGIN's directory: root's
_HEADER = b"runit-provision user-processes 1"
WIDTH = 192  # bytes a line: DEV and INO (20 digits each), a side, a record (RECORD_WIDTH 96)
# runit's runsvdir supervises 1000 services at most (nestedtree.SCAN_LIMIT), each two sides; twice
# that leaves room for services retiring beside their successors.
MAX_SLOTS = 4000
_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_SIDES = {False: b"m", True: b"l"}


def slot_bytes(key, is_log, record):
    """One line of the file: ``WIDTH`` bytes, the record's padding dropped.

    >>> line = slot_bytes((2049, 131074), False, Record(4321, 987654, "b00t", "run"))
    >>> line.rstrip(), len(line)
    (b'2049 131074 m 4321 987654 b00t run', 192)
    """
    line = b"%d %d %s %s" % (key[0], key[1], _SIDES[is_log], record_bytes(record).rstrip())
    return line[:WIDTH - 1].ljust(WIDTH - 1) + b"\n"


def slot_from_bytes(line):
    """``((dev, ino), is_log, Record)`` of one line, or None: a free slot, or anything that is
    not a line this module wrote.

    >>> slot_from_bytes(slot_bytes((2049, 131074), True, Record(7, 1, "b", "finish")))
    ((2049, 131074), True, Record(7, 1, 'b', 'finish'))
    >>> slot_from_bytes(b" " * 191 + b"\\n") is None, slot_from_bytes(b"2049 x m 1 2 b run") is None
    (True, True)
    """
    fields = line.split(None, 3)
    if len(fields) != 4 or not fields[0].isdigit() or not fields[1].isdigit() \
            or fields[2] not in (b"m", b"l"):
        return None
    record = record_from_bytes(fields[3])
    if record is None:
        return None
    return (int(fields[0]), int(fields[1])), fields[2] == b"l", record


def header_bytes(refused):
    """The first line: how many adoptions were refused so far.

    >>> header_bytes(3).rstrip()
    b'runit-provision user-processes 1 refused=3'
    """
    return (_HEADER + b" refused=%d" % refused)[:WIDTH - 1].ljust(WIDTH - 1) + b"\n"


def refused_from_header(line):
    """The count of a header line (0 for anything else)."""
    if not line.startswith(_HEADER + b" refused="):
        return 0
    count = line[len(_HEADER) + len(b" refused="):].strip()
    return int(count) if count.isdigit() else 0


class StartLedger:
    """Root's records of one user tree's processes (the module says why). Opened on a
    directory of root's own; ``open`` gives one that keeps nothing (``is_kept`` False) when
    the file cannot be root's alone — then nothing of that user's is adopted after a kill of
    root's tree, and the services start afresh."""

    __slots__ = ("fd", "_found", "_slots", "_free", "_end", "refused", "_warn", "_said")

    def __init__(self, fd, found, refused, warn):
        self.fd = fd
        self._found = found  # (key, is_log) -> Record left by a predecessor, this boot's
        self._slots = {}  # (key, is_log) -> the index of its line
        self._free = []  # indices of free lines below _end
        self._end = 0  # lines in use or freed: the next new one goes here
        self.refused = refused
        self._warn = warn
        self._said = False

    @classmethod
    def open(cls, dir_fd, warn):
        """The ledger of the service directory ``dir_fd`` (root's tree's own:
        ``runsvdir-LOGIN``), read and written again compactly; ``warn(message, exc)`` says
        why it cannot be kept."""
        try:
            fd = os.open(LEDGER, _FLAGS, 0o600, dir_fd=dir_fd)
        except OSError as exc:
            warn("unable to open %s: users' processes are not adopted after a kill" % LEDGER,
                 exc)
            return cls(-1, {}, 0, warn)
        why = _not_roots_alone(fd, dir_fd)
        if why is not None:
            os.close(fd)
            warn("%s %s: users' processes are not adopted after a kill" % (LEDGER, why), None)
            return cls(-1, {}, 0, warn)
        try:
            data = os.pread(fd, WIDTH * (MAX_SLOTS + 1), 0)
        except OSError:
            data = b""
        lines = [data[at:at + WIDTH] for at in range(0, len(data), WIDTH)]
        refused = refused_from_header(lines[0]) if lines else 0
        this_boot = boot_id()
        found = {}
        for line in lines[1:]:
            slot = slot_from_bytes(line)
            if slot is not None and slot[2].boot_id == this_boot:
                found[slot[0], slot[1]] = slot[2]
        ledger = cls(fd, found, refused, warn)
        ledger._rewrite()
        return ledger

    @property
    def is_kept(self):
        return self.fd >= 0

    def found(self, key, is_log):
        """The record a predecessor left for a side (None: none, or none this boot)."""
        return self._found.get((key, is_log))

    def starting(self, key):
        """What an agent opening the service ``key`` must know of a start that was under way
        for it, by root's records: ``(main since, log since, pids)`` — each ``since`` the start
        time's lower bound of a ``starting-`` record (-1: none), ``pids`` those the records
        name (not the process of a start to be looked for)."""
        sinces, pids = [], set()
        for is_log in (False, True):
            record = self._found.get((key, is_log))
            sinces.append(record.starttime if record is not None and record.is_starting else -1)
            if record is not None and record.pid:
                pids.add(record.pid)
        return sinces[0], sinces[1], pids

    def write(self, key, is_log, record):
        """A side's record, written in place (its line, or a free one)."""
        if self.fd < 0:
            return
        index = self._slots.get((key, is_log))
        if index is None:
            if self._free:
                index = self._free.pop()
            elif self._end < MAX_SLOTS:
                index, self._end = self._end, self._end + 1
            else:
                self._say("more than %d sides: this one is not adopted after a kill" % MAX_SLOTS)
                return
            self._slots[key, is_log] = index
        self._pwrite(slot_bytes(key, is_log, record), index)

    def forget(self, key, is_log):
        """A side exited cleanly (or is gone): nothing of it is for a successor to take."""
        self._found.pop((key, is_log), None)
        index = self._slots.pop((key, is_log), None)
        if index is not None and self.fd >= 0:
            self._pwrite(b" " * (WIDTH - 1) + b"\n", index)
            self._free.append(index)

    def retain(self, keys):
        """Only the services ``keys`` are the tree's (its first listing): what a predecessor
        left for any other is dropped — an inode of a directory gone since may be a new
        directory's."""
        for key, is_log in [slot for slot in set(self._found) | set(self._slots)
                            if slot[0] not in keys]:
            self.forget(key, is_log)

    def count_refusal(self):
        """One more adoption refused: the count, written in the header."""
        self.refused += 1
        if self.fd >= 0:
            self._pwrite_at(header_bytes(self.refused), 0)
        return self.refused

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _rewrite(self):
        """The header and this boot's records, one line each from the top: the file compact."""
        lines = [header_bytes(self.refused)]
        for index, (slot, record) in enumerate(self._found.items()):
            self._slots[slot] = index
            lines.append(slot_bytes(slot[0], slot[1], record))
        self._end = len(self._found)
        try:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, b"".join(lines), 0)
        except OSError as exc:
            self._say("unable to write %s" % LEDGER, exc)

    def _pwrite(self, line, index):
        self._pwrite_at(line, WIDTH * (index + 1))

    def _pwrite_at(self, line, offset):
        try:
            os.pwrite(self.fd, line, offset)
        except OSError as exc:  # a full disk: the record waits for the next write
            self._say("unable to write %s" % LEDGER, exc)

    def _say(self, message, exc=None):
        if not self._said:  # once a tree: each start would say it again
            self._said = True
            self._warn(message, exc)


class LedgerSide:
    """One side's line of a StartLedger: what ``supervisefiles.SuperviseFiles`` reads a
    predecessor's record from and writes each record to, for a user's service in root's
    tree."""

    __slots__ = ("ledger", "key", "is_log")

    def __init__(self, ledger, key, is_log):
        self.ledger, self.key, self.is_log = ledger, key, is_log

    @property
    def found(self):
        return self.ledger.found(self.key, self.is_log)

    def write(self, record):
        self.ledger.write(self.key, self.is_log, record)

    def forget(self):
        self.ledger.forget(self.key, self.is_log)


def _not_roots_alone(fd, dir_fd):
    """Why the ledger ``fd`` (in ``dir_fd``'s ``supervise/``) could be written by someone
    else, or None: it must be a regular file of this process's euid, of one link, mode 0600,
    in a ``supervise/`` of its own that no group or other may write."""
    euid = os.geteuid()
    found = os.fstat(fd)
    if not stat.S_ISREG(found.st_mode) or found.st_uid != euid or found.st_nlink != 1:
        return "is not a file of uid %d's alone" % euid
    if found.st_mode & 0o077:
        os.fchmod(fd, 0o600)
    try:
        directory = os.stat(SUPERVISE_DIR, dir_fd=dir_fd)
    except OSError:
        return "has no supervise/"
    if directory.st_uid != euid or directory.st_mode & 0o022:
        return "is in a supervise/ that is not uid %d's alone" % euid
    return None
