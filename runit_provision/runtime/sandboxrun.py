"""runtime: ``sandbox-run SPEC [-u USER[:GROUP...]] PROG ARGS...`` — run a program inside a
service's sandbox, systemd's hardening settings applied between fork and exec (docs/sandbox.md).

``SPEC`` is the sandbox file (``protocol/process/sandbox.py``). ``main`` reads it and plans
(pure: the mounts, the capabilities kept), then applies the steps in systemd's order and execs:

1. namespaces   a mount namespace of its own (MS_REC|MS_SLAVE on /: nothing leaks out, the
                host's later mounts still come in), a network one for ``private_network``
2. mounts       parents first: each path bound onto itself (or a tmpfs, an empty node, a
                private /dev, the new network's /sys/class/net), then every mount below a
                read-only path remounted read-only unless a writable path is nearer to it
3. ``lo`` up    in the new network namespace
4. bounding set PR_CAPBSET_DROP of every capability not kept
5. user         ``-u``: setgroups, setresgid, setresuid (chpst -u's spec and rules), the
                kept capabilities carried across with PR_SET_KEEPCAPS
6. ambient      the kept capabilities made inheritable (capset), then PR_CAP_AMBIENT_RAISE,
                for a program that runs as a user
7. no_new_privs PR_SET_NO_NEW_PRIVS
8. exec         PATH search on the original environment, as chpst's

Why one module: its steps are one process's, between fork and exec, each needing the one
before (mounts the namespace; the user switch ends their privilege); the pure plan is apart.

Every module is imported before the first mount: the sandbox may hide the interpreter's own
files (``protect_home`` with a Python under /root). Not root: a user namespace is made first
(the caller's uid and gid mapped to themselves), so a user's tree gets the same sandbox; ``-u``
another user is refused there. Where the host refuses what a setting needs, the program is
not run: ``sandbox-run: fatal: STEP: ERRSTR``, exit 111 (100 on usage). Nothing is exec'd
unless every step succeeded.
"""

import ctypes
import enum
import errno
import fcntl
import os
import socket
import stat
import struct
import sys

from ..errors import FatalError
from ..protocol.process.sandbox import (CAPABILITIES, SPEC_MAX, TMP_PATHS, capability_number,
                                        dropped_capabilities, open_unreplaceable,
                                        path_from_word, spec_from_bytes)
from .unix.chpststeps import switch_identity
from .unix.diag import fatal, with_errstr, write_bytes
from .unix.environ import original_environ
from .unix.libc import errno_error, libc
from .unix.pathexec import exec_program
from .unix.userspec import resolve_user

PROG = "sandbox-run"
USAGE = b"usage: sandbox-run spec [-u user[:group...]] prog [arg...]\n"



class Kind(enum.Enum):
    """What is mounted at a path of the sandbox, most restrictive first: of two kinds at one
    path, the one listed first wins (``Kind.wins``)."""

    INACCESSIBLE = "inaccessible"
    TMPFS_RO = "tmpfs-ro"
    READ_ONLY = "read-only"
    PRIVATE_DEV = "private-dev"
    SYSFS_NET = "sysfs-net"
    TMPFS = "tmpfs"
    READ_WRITE = "read-write"

    def wins(self, other):
        order = list(Kind)
        return order.index(self) < order.index(other)

    @property
    def is_read_only(self):
        return self in (Kind.INACCESSIBLE, Kind.TMPFS_RO, Kind.READ_ONLY)


# The paths each setting implies; an implied path that does not exist is skipped.
SYSTEM_PATHS = {"true": ("/usr", "/boot", "/efi"), "full": ("/usr", "/boot", "/efi", "/etc"),
                "strict": ("/",)}
API_PATHS = ("/dev", "/proc", "/sys")  # strict leaves them writable, as systemd does
HOME_PATHS = ("/home", "/root", "/run/user")
KERNEL_READ_ONLY = ("/proc/sys", "/proc/sysrq-trigger", "/proc/latency_stats", "/proc/acpi",
                    "/proc/timer_stats", "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq",
                    "/sys")
KERNEL_INACCESSIBLE = ("/proc/kallsyms", "/proc/kcore", "/lib/modules", "/usr/lib/modules")
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEVICE_MOUNTS = ("pts", "shm", "mqueue")
DEVICE_LINKS = (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
                ("ptmx", "pts/ptmx"))
STAGING = "/tmp"  # a scratch tmpfs is mounted here for a moment, in our namespace only

# linux/sched.h, linux/mount.h, linux/prctl.h, linux/capability.h, linux/sockios.h
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x20000, 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_SLAVE = 32, 4096, 16384, 1 << 19
MNT_DETACH = 2
PR_SET_KEEPCAPS, PR_CAPBSET_READ, PR_CAPBSET_DROP = 8, 23, 24
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE = 38, 47, 2
CAPABILITY_VERSION_3 = 0x20080522
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 1
_OPTION_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}


class Mount:
    """One path of the sandbox: what is mounted there; ``required``: it must exist."""

    __slots__ = ("path", "kind", "required")

    def __init__(self, path, kind, required=False):
        self.path, self.kind, self.required = path, kind, required

    def __eq__(self, other):
        return isinstance(other, Mount) and (self.path, self.kind, self.required) == (
            other.path, other.kind, other.required)

    def __repr__(self):
        return "Mount(%r, %r%s)" % (self.path, self.kind.value,
                                    ", required" if self.required else "")


# --- the plan (pure) -------------------------------------------------------------------------

def mounts_for(sandbox):
    """The sandbox's mounts, parents first. A path the data names wins over one a setting
    implies; of two at one path, the one more restrictive (``Kind.wins``).

    >>> from ..protocol.process.sandbox import Sandbox
    >>> mounts_for(Sandbox(protect_system="strict", read_write_paths=["/var/lib/a"]))
    [Mount('/', 'read-only'), Mount('/dev', 'read-write'), Mount('/proc', 'read-write'), \
Mount('/sys', 'read-write'), Mount('/var/lib/a', 'read-write', required)]
    """
    implied = []
    if sandbox.private_tmp:
        implied += [Mount(path, Kind.TMPFS) for path in TMP_PATHS]
    if sandbox.protect_system:
        implied += [Mount(path, Kind.READ_ONLY) for path in SYSTEM_PATHS[sandbox.protect_system]]
        if sandbox.protect_system == "strict":
            implied += [Mount(path, Kind.READ_WRITE) for path in API_PATHS]
    if sandbox.protect_home:
        kind = {"true": Kind.INACCESSIBLE, "read-only": Kind.READ_ONLY, "tmpfs": Kind.TMPFS_RO}
        implied += [Mount(path, kind[sandbox.protect_home]) for path in HOME_PATHS]
    if sandbox.private_devices:
        implied.append(Mount("/dev", Kind.PRIVATE_DEV))
    if sandbox.private_network:
        implied.append(Mount("/sys/class/net", Kind.SYSFS_NET))
    if sandbox.protect_kernel:
        implied += [Mount(path, Kind.READ_ONLY) for path in KERNEL_READ_ONLY]
        implied += [Mount(path, Kind.INACCESSIBLE) for path in KERNEL_INACCESSIBLE]
    named = []
    for key, kind in (("inaccessible_paths", Kind.INACCESSIBLE),
                      ("read_only_paths", Kind.READ_ONLY),
                      ("read_write_paths", Kind.READ_WRITE)):
        for path in getattr(sandbox, key):
            optional = path.startswith("-")
            named.append(Mount(path[1:] if optional else path, kind, not optional))
    chosen = {}
    for group in (named, implied):
        taken = set(chosen)
        for mount in group:
            if mount.path in taken:
                continue
            held = chosen.get(mount.path)
            if held is None or mount.kind.wins(held.kind):
                chosen[mount.path] = mount
    return sorted(chosen.values(), key=lambda mount: _depth_key(mount.path))


def _depth_key(path):
    return [] if path == "/" else path.split("/")[1:]


def governing(mounts, point):
    """The mount of ``mounts`` nearest above (or at) ``point``, or None.

    >>> governing([Mount("/", Kind.READ_ONLY), Mount("/var/lib", Kind.READ_WRITE)],
    ...           "/var/lib/x")
    Mount('/var/lib', 'read-write')
    """
    best = None
    for mount in mounts:
        if _is_at_or_below(point, mount.path) and (
                best is None or len(mount.path) > len(best.path)):
            best = mount
    return best


def _is_at_or_below(point, path):
    return path == "/" or point == path or point.startswith(path + "/")


def read_only_remounts(mounts, table):
    """``[(mount point, its flags)]`` to remount read-only: every mount of ``table`` (the
    ``(point, options)`` of /proc/self/mountinfo, in its order) whose nearest sandbox path
    is a read-only one; each point once, with the flags of its last line — the mount on top,
    which a remount by path reaches.

    >>> read_only_remounts([Mount("/", Kind.READ_ONLY), Mount("/tmp", Kind.TMPFS)],
    ...                    [("/", "rw,relatime"), ("/tmp", "rw,nosuid,nodev"),
    ...                     ("/boot", "rw,nodev")])
    [('/', 0), ('/boot', 4)]
    """
    flags_of = {}
    for point, options in table:
        mount = governing(mounts, point)
        if mount is None or not mount.kind.is_read_only:
            continue
        flags = 0
        for option in options.split(","):
            flags |= _OPTION_FLAGS.get(option, 0)
        flags_of[point] = flags
    return sorted(flags_of.items(), key=lambda item: _depth_key(item[0]))


def mount_table(mountinfo):
    """``[(mount point, per-mount options)]`` of /proc/self/mountinfo, ``\\ooo`` undone.

    >>> mount_table("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\\n"
    ...             "30 22 0:5 / /a\\\\040b rw,nosuid - tmpfs tmpfs rw\\n")
    [('/', 'rw,relatime'), ('/a b', 'rw,nosuid')]
    """
    out = []
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if len(fields) >= 6:
            out.append((path_from_word(fields[4]), fields[5]))
    return out


def kept_capabilities(sandbox):
    """The capability numbers the bounding set keeps — None: all it has now.

    >>> from ..protocol.process.sandbox import Sandbox
    >>> kept_capabilities(Sandbox(capabilities=["net_bind_service", "mknod"],
    ...                           private_devices=True))
    [10]
    >>> kept_capabilities(Sandbox())
    """
    dropped = {capability_number(name) for name in dropped_capabilities(sandbox)}
    if sandbox.capabilities is None and not dropped:
        return None
    wanted = (range(64) if sandbox.capabilities is None
              else {capability_number(name) for name in sandbox.capabilities})
    return sorted(set(wanted) - dropped)


def parse_argv(argv):
    """``(spec path, user spec or None, the program's argv)``; None for a usage error."""
    args = list(argv[1:])
    if not args:
        return None
    spec, args = args[0], args[1:]
    user = None
    if args[:1] == ["-u"]:
        if len(args) < 2:
            return None
        user, args = args[1], args[2:]
    elif args[:1] and args[0].startswith("-u"):
        user, args = args[0][2:], args[1:]
    if not args:
        return None
    return spec, user, args


# --- effects, in systemd's order -------------------------------------------------------------

def main(argv=None):
    argv = sys.argv if argv is None else argv
    parsed = parse_argv(argv)
    if parsed is None:
        write_bytes(2, USAGE)
        return 100
    spec_path, user_spec, program_argv = parsed
    environ = original_environ()
    try:
        sandbox = read_sandbox(spec_path)
        user = None if user_spec is None else resolve_user(user_spec, True)
        run_sandboxed(sandbox, user)
    except FatalError as exc:
        fatal(PROG, str(exc))
        return 111
    failure = exec_program(program_argv[0], program_argv, environ, environ.get("PATH"))
    fatal(PROG, "unable to run: %s" % program_argv[0], OSError(failure, os.strerror(failure)))
    return 111


def read_sandbox(path):
    """The Sandbox of the file at ``path``; FatalError saying why it cannot be read."""
    what = "unable to read sandbox file: %s" % path
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            data = os.read(fd, SPEC_MAX + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise FatalError(with_errstr(what, exc)) from exc
    try:
        return spec_from_bytes(data)
    except ValueError as exc:
        raise FatalError("%s: %s" % (what, exc)) from exc


def run_sandboxed(sandbox, user):
    """Every step before exec, in order; FatalError naming the step that failed."""
    mounts = mounts_for(sandbox)
    kept = kept_capabilities(sandbox)
    libc()  # loaded now: the sandbox may hide where the interpreter's modules are
    privileged = os.geteuid() == 0
    as_user = (user is not None and user[0] != 0) or not privileged
    if not privileged and user is not None:
        raise FatalError("unable to switch user: only root may (-u %d)" % user[0])
    namespaces = (CLONE_NEWNS if mounts else 0) | (CLONE_NEWNET if sandbox.private_network
                                                   else 0)
    if not privileged and (namespaces or kept is not None):
        try:
            enter_user_namespace()
        except OSError as exc:
            # The kernel says ENOSPC when user.max_user_namespaces (0: none) is reached.
            limit = " (user.max_user_namespaces)" if exc.errno == errno.ENOSPC else ""
            raise FatalError(with_errstr("unable to make a user namespace (not root)", exc)
                             + limit) from exc
    if namespaces:
        _step("unable to make the namespaces", _unshare, namespaces)
    if mounts:
        _step("unable to make the mounts private", _mount, None, "/", None, MS_REC | MS_SLAVE)
        apply_mounts(mounts, guarded=privileged)
    if sandbox.private_network:
        _step("unable to bring up lo", loopback_up)
    if kept is not None:
        drop_bounding_set(kept)
    if user is not None:
        if as_user and sandbox.capabilities:
            _step("unable to set keep-capabilities", _prctl, PR_SET_KEEPCAPS, 1)
        switch_identity(*user)
    if as_user and sandbox.capabilities:
        raise_ambient(kept)
    if sandbox.no_new_privileges:
        _step("unable to set no_new_privileges", _prctl, PR_SET_NO_NEW_PRIVS, 1)


def _step(message, call, *args):
    try:
        return call(*args)
    except OSError as exc:
        raise FatalError(with_errstr(message, exc)) from exc


def enter_user_namespace():
    """A user namespace of our own, the caller's uid and gid mapped to themselves: what lets
    a user make the mounts and namespaces of a sandbox without privilege."""
    uid, gid = os.getuid(), os.getgid()
    _unshare(CLONE_NEWUSER)
    for name, text in (("setgroups", "deny"), ("uid_map", "%d %d 1" % (uid, uid)),
                       ("gid_map", "%d %d 1" % (gid, gid))):
        fd = os.open("/proc/self/" + name, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)


def apply_mounts(mounts, guarded=False):
    """Each path's mount, parents first; then the read-only remounts. ``guarded`` (root): a
    writable path is walked by ``open_unreplaceable`` and bound from the descriptor that walk
    opened — never through a link or a directory a user planted since the plan."""
    mounts = _resolved(mounts, guarded)
    staged = []  # (descriptor of the target, what is bound there) once the scratch is up
    try:
        for mount in mounts:
            if guarded and mount.kind == Kind.READ_WRITE:
                _unreplaceable(mount, bind=True)
            else:
                _mount_one(mount, staged)
        if staged:
            _bind_staged(staged)
    finally:
        for fd, _ in staged:
            os.close(fd)
    # Read as bytes, a character per byte (path_from_word's input): no codec to look up, when
    # the sandbox may hide the interpreter's encodings.
    with open("/proc/self/mountinfo", "rb") as file:
        table = mount_table(file.read().decode("latin-1"))
    for point, flags in read_only_remounts(mounts, table):
        try:
            _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
        except FileNotFoundError:
            continue  # a mount point that no path reaches any more
        except OSError as exc:
            raise FatalError(with_errstr("unable to remount read-only: %s" % point, exc)) from exc


def _resolved(mounts, guarded=False):
    """The mounts at their real paths (a named path may be a symbolic link, and the mount
    table names where it leads); the one path reached twice keeps the more restrictive.
    ``guarded``: a writable path is resolved by ``open_unreplaceable`` alone."""
    chosen = {}
    for mount in mounts:
        path = (_unreplaceable(mount) if guarded and mount.kind == Kind.READ_WRITE
                else os.path.realpath(mount.path) if os.path.lexists(mount.path) else mount.path)
        if path is None:
            continue  # may be missing, and is
        held = chosen.get(path)
        if held is None or mount.kind.wins(held.kind):
            chosen[path] = Mount(path, mount.kind, mount.required)
    return sorted(chosen.values(), key=lambda mount: _depth_key(mount.path))


def _unreplaceable(mount, bind=False):
    """The real path of writable ``mount`` (None: it may be missing, and is); with ``bind``,
    bound onto itself from the descriptor the walk opened. FatalError when a user may replace
    a component of it, or a required one is missing."""
    what = "unable to mount %s: %s" % (mount.kind.value, mount.path)
    try:
        fd, real = open_unreplaceable(None, mount.path)
    except ValueError as exc:
        raise FatalError("%s: %s" % (what, exc)) from exc
    except FileNotFoundError as exc:
        if mount.required:
            raise FatalError(with_errstr("unable to find %s path: %s" % (
                mount.kind.value, mount.path), exc)) from exc
        return None
    except OSError as exc:
        raise FatalError(with_errstr(what, exc)) from exc
    try:
        if bind and real != "/":
            here = "/proc/self/fd/%d" % fd
            _step(what, _mount, here, here, None, MS_BIND | MS_REC)
    finally:
        os.close(fd)
    return real


def _mount_one(mount, staged):
    path, kind = mount.path, mount.kind
    try:
        found = os.stat(path)
    except OSError as exc:
        if mount.required or not isinstance(exc, FileNotFoundError):
            raise FatalError(with_errstr("unable to find %s path: %s" % (kind.value, path), exc)) \
                from exc
        return
    is_dir = stat.S_ISDIR(found.st_mode)
    what = "unable to mount %s: %s" % (kind.value, path)
    if kind in (Kind.READ_ONLY, Kind.READ_WRITE):
        if path != "/":  # a mount on / is not seen through the process's root
            _step(what, _mount, path, path, None, MS_BIND | MS_REC)
    elif kind == Kind.TMPFS:
        _step(what, _mount, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    elif kind == Kind.TMPFS_RO:
        _step(what, _mount, "tmpfs", path, "tmpfs", MS_RDONLY | _HARDENED, "mode=755")
    elif kind == Kind.INACCESSIBLE and is_dir:
        _step(what, _mount, "tmpfs", path, "tmpfs", MS_RDONLY | _HARDENED, "mode=000")
    elif kind in (Kind.INACCESSIBLE, Kind.SYSFS_NET):
        staged.append((_step(what, os.open, path, os.O_PATH | os.O_CLOEXEC), kind))
    elif kind == Kind.PRIVATE_DEV:
        _step(what, private_dev)


_HARDENED = MS_NOSUID | MS_NODEV | MS_NOEXEC


def _bind_staged(staged):
    """Bind what needs a source of its own: an empty file with no permissions (an
    inaccessible non-directory), the new network namespace's /sys/class/net. Both come from
    a scratch tmpfs mounted on STAGING for the while, in this namespace only."""
    what = "unable to mount a scratch tmpfs on %s" % STAGING
    _step(what, _mount, "tmpfs", STAGING, "tmpfs", _HARDENED, "mode=700")
    try:
        empty = STAGING + "/empty"
        _step(what, lambda: os.close(os.open(empty, os.O_CREAT | os.O_WRONLY, 0)))
        os.chmod(empty, 0)
        sysfs = STAGING + "/sys"
        if any(kind == Kind.SYSFS_NET for _, kind in staged):
            os.mkdir(sysfs)
            _step("unable to mount the network namespace's sysfs", _mount, "sysfs", sysfs,
                  "sysfs", _HARDENED)
        for fd, kind in staged:
            source = empty if kind == Kind.INACCESSIBLE else sysfs + "/class/net"
            target = "/proc/self/fd/%d" % fd
            _step("unable to mount %s: %s" % (kind.value, os.readlink(target)), _mount, source,
                  target, None, MS_BIND)
    finally:
        _step(what, _umount2, STAGING, MNT_DETACH)


def private_dev():
    """A /dev of its own: a tmpfs with the host's null, zero, full, random, urandom and tty
    bound in (binding needs no CAP_MKNOD, and works in a user namespace), its pts, shm and
    mqueue, the usual links; the tmpfs read-only and nodev, so nothing else appears."""
    sources = {}
    try:
        for name in DEVICES + DEVICE_MOUNTS:
            try:
                sources[name] = os.open("/dev/" + name, os.O_PATH | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
        _mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=755")
        for name, fd in sources.items():
            node = "/dev/" + name
            if name in DEVICE_MOUNTS:
                os.mkdir(node, 0o755)
                _mount("/proc/self/fd/%d" % fd, node, None, MS_BIND | MS_REC)
            else:
                os.close(os.open(node, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o666))
                _mount("/proc/self/fd/%d" % fd, node, None, MS_BIND)
        for name, target in DEVICE_LINKS:
            os.symlink(target, "/dev/" + name)
        _mount(None, "/dev", None, MS_REMOUNT | MS_BIND | MS_RDONLY | _HARDENED)
    finally:
        for fd in sources.values():
            os.close(fd)


def loopback_up():
    """``ip link set lo up``: SIOCSIFFLAGS on a socket, as ifconfig does."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh22x", b"lo", 0)
        flags = struct.unpack("16sh22x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", flags | IFF_UP))


def drop_bounding_set(kept):
    """PR_CAPBSET_DROP of every capability the kernel has that ``kept`` does not list."""
    with open("/proc/sys/kernel/cap_last_cap") as file:
        last = int(file.read())
    for number in range(last + 1):
        if number not in kept:
            _step("unable to drop %s from the bounding set" % _cap_name(number), _prctl,
                  PR_CAPBSET_DROP, number)


def _cap_name(number):
    return CAPABILITIES[number] if number < len(CAPABILITIES) else "capability %d" % number


def raise_ambient(kept):
    """The kept capabilities still in the bounding set, made permitted, effective and
    inheritable (capset), then ambient: what a program run as a user keeps across exec."""
    numbers = [number for number in kept if _prctl(PR_CAPBSET_READ, number) == 1]
    mask = 0
    for number in numbers:
        mask |= 1 << number
    _step("unable to set the capabilities kept", _capset, mask)
    for number in numbers:
        _step("unable to raise %s as ambient" % _cap_name(number), _prctl, PR_CAP_AMBIENT,
              PR_CAP_AMBIENT_RAISE, number)


# --- the C library's calls -------------------------------------------------------------------

_functions = {}


def _function(name, argtypes):
    if name not in _functions:
        function = libc()[name]
        function.restype = ctypes.c_int
        function.argtypes = [getattr(ctypes, kind) for kind in argtypes]
        _functions[name] = function
    return _functions[name]


def _checked(result, *args):
    """``result`` of a libc call, or the OSError its errno says (``args``: a path)."""
    if result == -1:
        raise errno_error(*args)
    return result


def _encoded(text):
    return None if text is None else os.fsencode(text)


def _mount(source, target, fstype, flags, data=None):
    call = _function("mount", ("c_char_p", "c_char_p", "c_char_p", "c_ulong", "c_char_p"))
    return _checked(call(_encoded(source), _encoded(target), _encoded(fstype), flags,
                         _encoded(data)), target)


def _umount2(target, flags):
    call = _function("umount2", ("c_char_p", "c_int"))
    return _checked(call(_encoded(target), flags), target)


def _unshare(flags):
    return _checked(_function("unshare", ("c_int",))(flags))


def _prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    call = _function("prctl", ("c_int", "c_ulong", "c_ulong", "c_ulong", "c_ulong"))
    return _checked(call(option, arg2, arg3, arg4, arg5))


def _capset(mask):
    """capset(2), version 3: the same ``mask`` as effective, permitted and inheritable."""
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    low, high = mask & 0xFFFFFFFF, mask >> 32
    data = (ctypes.c_uint32 * 6)(low, low, low, high, high, high)
    call = libc()["capset"]
    call.restype = ctypes.c_int
    return _checked(call(ctypes.byref(header), ctypes.byref(data)))


if __name__ == "__main__":
    sys.exit(main())
