"""checks: the program that reads a host for the checks -- sent to the host's ``python3`` in ONE
command, its request compressed in its argument (or on stdin); ``snapshot.py`` builds the
command and parses what it prints.

Stdlib only, and runnable by any python3 from 3.5 on (the host's interpreter, not ours): no
f-strings, nothing from this project. ``hostprobe.sh`` is the same program in POSIX sh for hosts
without python3: both read the same request and print the same records. It only reads: every
FIFO is opened non-blocking, write-only ``supervise/ok`` never gets a byte, no link is followed
inside a walk nor as a record's last name (a record that is not a regular file is not opened),
and ``supervise/`` is never descended into.

The request it reads and the records it prints:
docs/verify.md#the-probes-request-and-records.
"""

import base64
import errno
import hashlib
import os
import stat
import sys
import time
import zlib

try:
    import grp
    import pwd
except ImportError:  # not a POSIX host: owners stay numbers
    grp = pwd = None

LIMIT = 256 * 1024  # a file bigger than this is compared by hash, not shown in a diff
HEAD = 64
# The most entries of a tree's directory read (apply's own bound on a directory of a user's,
# host/fsread.MAX_ENTRIES): a crowd planted in a home costs a look, not a side each.
TREE_LIMIT = 10000
READINESS_LIMIT = 4096  # of supervise/readiness (our runsv's record, docs/readiness.md)
LAST_RUN_LIMIT = 256  # of supervise/last-run: one line (protocol/lastrun.py)
TIMER_LIMIT = 4096  # of each of a timer's records (protocol/timer.TIMER_MAX)
TALLY_LIMIT = 1024  # of supervise/tally: one line of protocol/tally.WIDTH bytes
NEEDS_PASSED_LIMIT = 256  # of needs-passed: one line (protocol/needsdone.py)
CGROUP_LIMIT = 4096  # of supervise/cgroup (protocol/cgroupfs.RECORD_MAX) and each limit's file
# the files of a service's cgroup that hold its limits (protocol/cgroupfs.CONTROLLER_OF), in
# the order the K record gives them
CGROUP_FILES = (b"memory.max", b"memory.high", b"pids.max", b"cpu.max", b"cpu.weight",
                b"io.weight")
# a directory holds no ACL (ENODATA), or its file system keeps none
_NO_ACL = frozenset(getattr(errno, name) for name in ("ENODATA", "ENOTSUP", "EOPNOTSUPP")
                    if hasattr(errno, name))
_PRINTABLE = frozenset(range(0x21, 0x7F)) - frozenset(b"%")
_PRINTABLE_BYTES = bytes(sorted(_PRINTABLE))
_KINDS = ((stat.S_ISREG, "f"), (stat.S_ISDIR, "d"), (stat.S_ISLNK, "l"), (stat.S_ISFIFO, "p"),
          (stat.S_ISSOCK, "s"), (stat.S_ISCHR, "c"), (stat.S_ISBLK, "b"))


def field(value):
    """One field: None -> ``-``, empty -> ``=``, else percent-encoded bytes."""
    if value is None:
        return b"-"
    if not isinstance(value, bytes):
        value = str(value).encode("utf-8", "surrogateescape")
    if not value:
        return b"="
    if value in (b"-", b"="):
        return ("%%%02X" % value[0]).encode("ascii")
    if not value.translate(None, _PRINTABLE_BYTES):
        return value  # the usual case (hex, names, paths): no byte to quote, no loop over them
    return b"".join(bytes([byte]) if byte in _PRINTABLE else ("%%%02X" % byte).encode("ascii")
                    for byte in value)


def errno_name(exc):
    return errno.errorcode.get(exc.errno, "E%d" % (exc.errno or 0))


class Probe:
    """Runs one request; ``records`` collects the output lines."""

    def __init__(self):
        self.records = []
        self.names = {}
        self.base = b"/"

    @property
    def boot(self):
        """This boot's id (the kernel's), read once; None when /proc cannot tell."""
        if not hasattr(self, "_boot"):
            found = read_once(b"/proc/sys/kernel/random/boot_id", 64)
            self._boot = found.strip() or None if isinstance(found, bytes) else None
        return self._boot

    def record(self, tag, *values):
        self.records.append(tag + b" " + b" ".join(field(value) for value in values) + b"\n")

    def owner_name(self, table, number):
        key = (table, number)
        if key not in self.names:
            name = None
            try:
                if table == "u" and pwd is not None:
                    name = pwd.getpwuid(number).pw_name
                elif table == "g" and grp is not None:
                    name = grp.getgrgid(number).gr_name
            except KeyError:
                pass
            self.names[key] = name
        return self.names[key]

    # -- paths --------------------------------------------------------------------------------
    def where(self, path):
        """(shown, real): the path as printed and as opened."""
        if not path.startswith(b"/") and not path.startswith(b"~"):
            path = self.base.rstrip(b"/") + b"/" + path
        return path, expand(path)

    def stat(self, shown, real, resolve=False):
        """E (or X) for one path, with L or C (L for a directory too, with ``resolve``);
        the lstat result, or None."""
        try:
            info = os.lstat(real)
        except OSError as exc:
            self.record(b"X", errno_name(exc), shown)
            return None
        kind = next((letter for test, letter in _KINDS if test(info.st_mode)), "?")
        self.record(b"E", kind, "%o" % stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid,
                    self.owner_name("u", info.st_uid), self.owner_name("g", info.st_gid), shown)
        if kind == "l":
            try:
                target = os.readlink(real)
            except OSError:
                target = None
            resolved = os.path.realpath(real)
            self.record(b"L", target, resolved if os.path.exists(resolved) else None, shown)
        elif kind == "f":
            self.content(shown, real, info.st_size)
        elif kind == "d":
            if resolve:
                self.record(b"L", None, os.path.realpath(real), shown)
            self.acl(shown, real)
        return info

    def acl(self, shown, real):
        """P for a directory that holds an access ACL, or whose ACL cannot be read; none for
        one that holds none (its mode says all) or whose file system keeps none."""
        if not hasattr(os, "getxattr"):  # not Linux: no POSIX ACL to read
            return
        try:
            value = os.getxattr(real, "system.posix_acl_access", follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in _NO_ACL:
                self.record(b"P", errno_name(exc), shown)
            return
        self.record(b"P", value.hex(), shown)

    def content(self, shown, real, size):
        try:
            # O_NONBLOCK: if a FIFO took the file's place since the lstat, do not hang on it
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            self.record(b"C", size, None, None, shown)
            return
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                self.record(b"C", size, None, None, shown)
                return
            digest, chunks, total = hashlib.sha256(), [], 0
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                digest.update(chunk)
                total += len(chunk)
                if total <= LIMIT:
                    chunks.append(chunk)
        except OSError:
            self.record(b"C", size, None, None, shown)
            return
        finally:
            os.close(fd)
        data = b"".join(chunks).hex() if total <= LIMIT else None
        self.record(b"C", total, data, digest.hexdigest(), shown)

    def listing(self, shown, real, resolve=False, limit=None):
        """stat a directory, then (name, shown, real) of each entry; D once listed. With
        ``resolve``, a link to a directory is listed too (``/etc/service`` is one on Debian);
        beyond ``limit`` entries nothing is (no D: the reader says it was not listed)."""
        info = self.stat(shown, real, resolve)
        if info is None:
            return
        if not stat.S_ISDIR(info.st_mode) and not (
                resolve and stat.S_ISLNK(info.st_mode) and os.path.isdir(real)):
            return
        try:
            names = sorted(os.listdir(real))
        except OSError:
            return
        if limit is not None and len(names) > limit:
            return
        self.record(b"D", shown)
        for name in names:
            yield name, shown.rstrip(b"/") + b"/" + name, real.rstrip(b"/") + b"/" + name

    def walk(self, shown, real):
        # A stack, not a call per level: a service directory a user owns may be deeper than
        # any recursion limit.
        pending = [(shown, real)]
        while pending:
            below = []
            for name, child_shown, child_real in self.listing(*pending.pop()):
                if name == b"supervise":
                    self.stat(child_shown, child_real)  # runsv's own: the state is the S record
                else:
                    below.append((child_shown, child_real))
            pending.extend(reversed(below))

    def side(self, shown, real):
        self.side_record(shown, real)
        try:
            is_log = stat.S_ISDIR(os.stat(real + b"/log").st_mode)  # runsv's test for a log
        except OSError:
            is_log = False
        if is_log:
            self.side_record(shown.rstrip(b"/") + b"/log", real.rstrip(b"/") + b"/log")

    def side_record(self, shown, real):
        try:
            os.stat(real + b"/.")  # sv chdir()s there: search permission, a directory
            ok = is_up(real + b"/supervise/ok")
        except OSError as exc:
            ok = "cd:" + errno_name(exc)
        down = "1" if _stat_ok(real + b"/down") else "0"  # runsv: stat("down") != -1
        status = proc_uid = None
        if ok == "up":
            status = read_once(real + b"/supervise/status", 20)
            if isinstance(status, bytes) and len(status) == 20 and status[19] != 0:
                proc_uid = process_owner(int.from_bytes(status[12:16], "little"))
        try:
            sup_uid = os.stat(real + b"/supervise").st_uid
        except OSError:
            sup_uid = None
        self.record(b"S", ok, down, _hex(status), proc_uid, sup_uid, shown)
        if ok == "up" and _stat_ok(real + b"/supervise/readiness"):
            readiness = read_once(real + b"/supervise/readiness", READINESS_LIMIT)
            if isinstance(readiness, bytes):
                self.record(b"R", _hex(readiness), shown)
        if ok == "up" and _stat_ok(real + b"/supervise/tally"):
            tally = read_once(real + b"/supervise/tally", TALLY_LIMIT)
            if isinstance(tally, bytes):
                self.record(b"A", _hex(tally), shown)
        if _is_regular(real + b"/oneshot"):
            found = read_once(real + b"/supervise/last-run", LAST_RUN_LIMIT) \
                if _stat_ok(real + b"/supervise/last-run") else None
            self.record(b"O", _hex(found) if isinstance(found, bytes) else None, shown)
        if _is_regular(real + b"/schedule"):
            self.record(b"T", _hex_of_file(real + b"/schedule", TIMER_LIMIT),
                        _hex_of_file(real + b"/supervise/timer", TIMER_LIMIT),
                        _hex_of_file(real + b"/supervise/last-run", TIMER_LIMIT), shown)
        if _is_regular(real + b"/needs-passed"):
            self.record(b"N", _hex_of_file(real + b"/needs-passed", NEEDS_PASSED_LIMIT),
                        self.boot, shown)

    def cgroup(self, shown, real):
        """K: the side's ``supervise/cgroup`` record, the cgroup v2 mount, and the files of
        the limits in the cgroup it names -- read only when the record is an absolute path
        with no ``.`` or ``..`` in it (a user's tree writes its own record)."""
        record = read_once(real + b"/supervise/cgroup", CGROUP_LIMIT)
        mount = self.cgroup_mount
        files = [None] * len(CGROUP_FILES)
        path = record[:-1] if isinstance(record, bytes) and record.endswith(b"\n") else None
        if mount is not None and path and path.startswith(b"/") and not any(
                part in (b"", b".", b"..") for part in path.split(b"/")[1:]) and \
                b"\n" not in path:
            files = [_hex(read_once(mount + path + b"/" + name, CGROUP_LIMIT))
                     for name in CGROUP_FILES]
        self.record(b"K", _hex(record), mount, *(files + [shown]))

    @property
    def cgroup_mount(self):
        """Where the cgroup v2 hierarchy is mounted (bytes), read once; None without one."""
        if not hasattr(self, "_cgroup_mount"):
            self._cgroup_mount = None
            found = read_once(b"/proc/self/mountinfo", 1 << 20, follow=True)
            for line in found.split(b"\n") if isinstance(found, bytes) else ():
                if b" - cgroup2 " in line and len(line.split()) > 4:
                    self._cgroup_mount = line.split()[4].replace(b"\\040", b" ")
                    break
        return self._cgroup_mount

    def tree(self, shown, real):
        for name, child_shown, child_real in self.listing(shown, real, resolve=True,
                                                          limit=TREE_LIMIT):
            if name.startswith(b"."):
                continue  # runsvdir skips dot-names
            self.stat(child_shown, child_real)
            if os.path.isdir(child_real):
                self.stat(child_shown + b"/run", child_real + b"/run")
                self.side(child_shown, child_real)

    def login(self, name):
        if pwd is None:
            self.record(b"U", None, None, None, None, name)
            return
        try:
            entry = pwd.getpwnam(name.decode("utf-8", "surrogateescape"))
        except KeyError:
            self.record(b"U", None, None, None, None, name)
            return
        try:
            gids = os.getgrouplist(entry.pw_name, entry.pw_gid)
        except (AttributeError, OSError):
            gids = [entry.pw_gid]
        self.record(b"U", entry.pw_uid, entry.pw_gid, ",".join(str(g) for g in gids),
                    entry.pw_dir, name)

    def group(self, name):
        try:
            gid = grp.getgrnam(name.decode("utf-8", "surrogateescape")).gr_gid
        except (KeyError, AttributeError):
            gid = None
        self.record(b"G", gid, name)

    def which(self, name):
        for directory in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
            path = os.path.join(directory or ".", name.decode("utf-8", "surrogateescape"))
            if os.path.isfile(path) and os.access(path, os.X_OK):
                self.record(b"W", path, _hex(read_once(path.encode("utf-8", "surrogateescape"),
                                                       HEAD, follow=True)), name)
                return
        self.record(b"W", None, None, name)

    def run(self, lines):
        self.record(b"H", "%.3f" % time.time(), "python", "%d.%d" % sys.version_info[:2])
        for line in lines:
            verb, _, argument = line.rstrip(b"\n").partition(b" ")
            if verb == b"in":
                self.base = argument
            elif verb == b"stat":
                self.stat(*self.where(argument), resolve=True)
            elif verb in (b"walk", b"side", b"tree", b"cgroup"):
                getattr(self, verb.decode("ascii"))(*self.where(argument))
            elif verb == b"login":
                self.login(argument)
            elif verb == b"group":
                self.group(argument)
            elif verb == b"which":
                self.which(argument)
            elif verb:
                raise SystemExit("hostprobe: unknown request %r" % line)
        return b"".join(self.records)


def expand(path):
    """``~login/rest`` -> the login's home + ``/rest`` (unknown login: as is)."""
    if not path.startswith(b"~") or pwd is None:
        return path
    login, slash, rest = path[1:].partition(b"/")
    try:
        home = pwd.getpwnam(login.decode("utf-8", "surrogateescape")).pw_dir
    except KeyError:
        return path
    return home.encode("utf-8", "surrogateescape").rstrip(b"/") + slash + rest


def is_up(ok_fifo):
    """sv's liveness probe: a runsv holds the reader of supervise/ok (runit's sv.c). Only a
    FIFO is opened, never through a link (ELOOP) nor anything else (EINVAL): a user's tree's
    ``ok`` is the user's, and a write-only open of a device can do what a look must not."""
    refused = _not_of_kind(ok_fifo, stat.S_ISFIFO)
    if refused is not None:
        return refused
    try:
        fd = os.open(ok_fifo, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        return errno_name(exc)
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return "EINVAL"
    finally:
        os.close(fd)
    return "up"


def _not_of_kind(path, is_kind):
    """None when ``path`` itself (a link not followed) is of the kind ``is_kind`` tells from a
    mode; else ELOOP for a link, EINVAL for another kind, or the errno's name of the look."""
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        return errno_name(exc)
    if is_kind(mode):
        return None
    return "ELOOP" if stat.S_ISLNK(mode) else "EINVAL"


def read_once(path, size, follow=False):
    """One read() of up to ``size`` bytes, as sv reads supervise/status; or the errno's name.

    A record in a user's tree is the user's to plant: unless ``follow`` (root's own PATH), only
    a regular file is opened (a link is ELOOP and anything else EINVAL, never opened: a link
    to a device would have root open it, and a watchdog's open arms it), and a FIFO swapped in
    after the look cannot hold the read (O_NONBLOCK; O_NOFOLLOW for a link swapped in)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    if not follow:
        refused = _not_of_kind(path, stat.S_ISREG)
        if refused is not None:
            return refused
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return errno_name(exc)
    try:
        if not follow and not stat.S_ISREG(os.fstat(fd).st_mode):
            return "EINVAL"
        return os.read(fd, size)
    except OSError as exc:
        return errno_name(exc)
    finally:
        os.close(fd)


def process_owner(pid):
    try:
        return os.stat("/proc/%d" % pid).st_uid
    except OSError:
        return None


def _stat_ok(path):
    try:
        os.stat(path)
    except OSError:
        return False
    return True


def _is_regular(path):
    """``path`` is a regular file, not followed (a mark of the service directory's)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _hex_of_file(path, size):
    """The hex of a regular file's first ``size`` bytes; None when there is none."""
    if not _stat_ok(path):
        return None
    found = read_once(path, size)
    return _hex(found) if isinstance(found, bytes) else None


def _hex(value):
    """Bytes as hex (``=`` when empty); an errno's name or None as they are."""
    if isinstance(value, bytes):
        return value.hex().encode("ascii") if value else b""
    return value


def main():
    if sys.version_info < (3, 5):
        sys.exit(97)  # snapshot.FALLBACK: too old for this program; the sh probe reads instead
    if len(sys.argv) > 1:  # python_command: the request compressed into the one argument
        request = zlib.decompress(base64.b64decode(sys.argv[1]))
    else:
        request = sys.stdin.buffer.read()
    lines = request.split(b"\n")
    sys.stdout.buffer.write(Probe().run(lines))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
