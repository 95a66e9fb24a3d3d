"""runtime: ``utmpset [-w] line`` — log a terminal line out of utmp (and wtmp), as runit's.

runit's getty services run it from ``finish`` so ``who`` stops listing a dead login. In utmp
(``/var/run/utmp``, opened read-write and flock()ed) the first record with a user name whose
``ut_line`` is LINE gets its user and host cleared, the time set to now and its type set to
DEAD_PROCESS, in place. No such record: ``utmpset: warning: unable to logout line LINE in
utmp: no such entry``, exit 111. With ``-w`` it then appends to wtmp (``/var/log/wtmp``,
created 0600 if missing, flock()ed) a zeroed record with LINE, the time and DEAD_PROCESS.

Records are glibc's x86_64 ``struct utmp`` (384 bytes, 32-bit ``ut_tv``); ``UTMP_FORMAT``
below spells the layout. For tests, ``$RUNIT_UTMP`` and ``$RUNIT_WTMP`` replace the two paths.

Exit codes: 0 done, 1 usage (``usage: utmpset [-w] line``), 111 otherwise.
"""

import fcntl
import os
import struct
import sys
import time

from ..errors import FatalError, UsageError
from ..protocol.errstr import oserror_str
from .unix.diag import write_bytes, write_line
from .unix.sgetopt import sgetopt
from .unix.procname import show_program

UTMP_FILE = "/var/run/utmp"
WTMP_FILE = "/var/log/wtmp"
VERSION = "$Id: cb399098f794012a7f5e6a3a7090b2d53b86c08c $"
DEAD_PROCESS = 8  # <utmp.h>

# glibc x86_64 struct utmp: ut_type (short, 2 bytes padding), ut_pid, ut_line[32], ut_id[4],
# ut_user[32], ut_host[256], ut_exit {short e_termination, e_exit}, ut_session (int32),
# ut_tv {int32 tv_sec, tv_usec}, ut_addr_v6[4] (int32), __glibc_reserved[20].
UTMP_FORMAT = "<h2xi32s4s32s256s2h3i4i20s"
UTMP_SIZE = struct.calcsize(UTMP_FORMAT)  # 384
LINE_SIZE = 32
_LINE_AT = 8      # offset of ut_line
_USER_AT = 44     # offset of ut_user
_HOST_AT = 76     # offset of ut_host
_TV_SEC_AT = 340  # offset of ut_tv.tv_sec


def parse_args(args, progname):
    """(wtmp?, line) from argv without argv[0], runit's sgetopt over ``wV``; else UsageError.

    ``progname`` is argv[0]'s basename, in the usage line too (runit prints argv[0] there as
    given; ours is the console script's path).
    """
    usage = b"usage: " + os.fsencode(progname) + b" [-w] line\n\n"
    wtmp = False
    pairs, index = sgetopt(args, "wV", progname)
    for letter, value in pairs:
        if letter == "?":
            raise UsageError(usage, value)
        if letter == "V":
            raise UsageError(usage, VERSION.encode() + b"\n")
        wtmp = True
    if index >= len(args):
        raise UsageError(usage)
    return wtmp, args[index]


def time32(now):
    """``now`` as the int32 glibc stores in ``ut_tv.tv_sec`` (wrapping after 2038)."""
    return (int(now) + 2 ** 31) % 2 ** 32 - 2 ** 31


def is_entry_for(record, line):
    """Whether a utmp record is a login on ``line`` (at most 32 bytes): a user name and
    ut_line == line. A ut_line of the full 32 bytes has no NUL and is the whole field, as
    runit 2.3.0 compares it (2.1.2 ran on into ut_id and missed such a line).
    """
    if record[_USER_AT] == 0:
        return False
    return record[_LINE_AT:_LINE_AT + LINE_SIZE].split(b"\0", 1)[0] == line


def logged_out(record, now):
    """The utmp record with user and host cleared, the time set and type DEAD_PROCESS."""
    data = bytearray(record)
    data[_USER_AT:_USER_AT + 32] = bytes(32)
    data[_HOST_AT:_HOST_AT + 256] = bytes(256)
    struct.pack_into("<i", data, _TV_SEC_AT, time32(now))
    struct.pack_into("<h", data, 0, DEAD_PROCESS)
    return bytes(data)


def wtmp_record(line, now):
    """The record ``-w`` appends: all zero but ut_line, ut_tv.tv_sec and the type."""
    return struct.pack(UTMP_FORMAT, DEAD_PROCESS, 0, line[:LINE_SIZE], b"", b"", b"",
                       0, 0, 0, time32(now), 0, 0, 0, 0, 0, b"")


def utmp_logout(path, line, now):
    """Mark ``line``'s utmp record dead; False when there is none. FatalError if unusable."""
    if len(line) > LINE_SIZE:
        raise FatalError("unable to logout line %s in utmp: name too long"
                         % os.fsdecode(line))
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as exc:
        raise FatalError("unable to open %s: %s" % (path, oserror_str(exc))) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            raise FatalError("unable to lock: %s: %s" % (path, oserror_str(exc))) from exc
        while True:
            record = os.read(fd, UTMP_SIZE)
            if len(record) != UTMP_SIZE:
                return False
            if not is_entry_for(record, line):
                continue
            try:
                os.lseek(fd, -UTMP_SIZE, os.SEEK_CUR)
                return os.write(fd, logged_out(record, now)) == UTMP_SIZE
            except OSError:
                return False
    finally:
        os.close(fd)


def wtmp_logout(path, line, now):
    """Append ``line``'s logout to wtmp (truncating back a short write); OSError on failure."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NDELAY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise FatalError("unable to open %s: %s" % (path, oserror_str(exc))) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            raise FatalError("unable to lock %s: %s" % (path, oserror_str(exc))) from exc
        size = os.fstat(fd).st_size
        try:
            written = os.write(fd, wtmp_record(line, now))
        except OSError:
            os.ftruncate(fd, size)
            raise
        if written != UTMP_SIZE:
            os.ftruncate(fd, size)
            raise OSError(0, "short write")
    finally:
        os.close(fd)


def main(argv=None):
    if argv is None:
        argv = sys.argv
        show_program(argv, "utmpset")
    progname = argv[0].rsplit("/", 1)[-1] if argv else "utmpset"
    try:
        wtmp, name = parse_args(argv[1:], progname)
    except UsageError as exc:
        write_bytes(2, exc.text)
        return 1
    line = os.fsencode(name)
    utmp_path = os.environ.get("RUNIT_UTMP", UTMP_FILE)
    wtmp_path = os.environ.get("RUNIT_WTMP", WTMP_FILE)
    try:
        if not utmp_logout(utmp_path, line, time.time()):
            write_line(2, "utmpset: warning: unable to logout line %s in utmp: no such entry"
                       % name)
            return 111
        if wtmp:
            try:
                wtmp_logout(wtmp_path, line, time.time())
            except OSError as exc:
                write_line(2, "utmpset: warning: unable to logout line %s in wtmp: %s"
                           % (name, oserror_str(exc)))
                return 111
    except FatalError as exc:
        write_line(2, "utmpset: fatal: %s" % exc)
        return 111
    return 0


if __name__ == "__main__":
    sys.exit(main())
