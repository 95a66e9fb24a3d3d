"""protocol/process: a service's sandbox — systemd's hardening settings as the one line
``sandbox-run SPEC`` reads (docs/sandbox.md).

One home for the names both sides need: the generator writes ``spec_bytes(Sandbox(...))``,
the runtime reads ``spec_from_bytes`` and applies exactly that; the capability names and
numbers (linux/capability.h) are here too. A word per setting that is on, in a fixed order;
a list's items joined by ``,``; in a path, a byte that is blank, a control, ``,``, ``\\`` or
not ASCII is written ``\\ooo`` (octal), as /proc/self/mountinfo writes a mount point. Values
are checked when read: anything else is a ValueError saying why. Stdlib only, pure but for
the walk of a root service's writable path (``open_unreplaceable``), one for plan and start.
"""

import errno
import os
import stat

SPEC_MAX = 65536  # the sandbox file is read up to this many bytes
VERSION = "1"

# linux/capability.h, CAP_* in kernel order: the name's index is the capability's number.
CAPABILITIES = (
    "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid",
    "setuid", "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin",
    "net_raw", "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace",
    "sys_pacct", "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time",
    "sys_tty_config", "mknod", "lease", "audit_write", "audit_control", "setfcap",
    "mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read",
    "perfmon", "bpf", "checkpoint_restore")
PROTECT_SYSTEM = ("true", "full", "strict")
PROTECT_HOME = ("true", "read-only", "tmpfs")
FLAGS = ("no_new_privileges", "private_tmp", "private_devices", "private_network",
         "protect_kernel")
PATH_LISTS = ("read_write_paths", "read_only_paths", "inaccessible_paths")
TMP_PATHS = ("/tmp", "/var/tmp")  # what private_tmp replaces with empty ones of its own
# The words of a spec line, in the order spec_bytes writes them.
KEYS = ("no_new_privileges", "capabilities", "private_tmp", "protect_system", "protect_home",
        *PATH_LISTS, "private_devices", "private_network", "protect_kernel")


def capability_number(name):
    """The number of a capability named as systemd's ``CapabilityBoundingSet=`` does, with
    or without ``CAP_``, in either case; ValueError for a name the kernel has none of.

    >>> capability_number("net_bind_service"), capability_number("CAP_SYS_ADMIN")
    (10, 21)
    """
    word = name.lower()
    word = word[4:] if word.startswith("cap_") else word
    if word not in CAPABILITIES:
        raise ValueError("unknown capability: %s" % name)
    return CAPABILITIES.index(word)


def capability_mask(numbers):
    """The kernel's bit mask of capability ``numbers``, as /proc/PID/status shows it.

    >>> "%016x" % capability_mask([10, 13])
    '0000000000002400'
    """
    mask = 0
    for number in numbers:
        mask |= 1 << number
    return mask


def checked_path(text):
    """An absolute, normalised path, with systemd's ``-`` prefix kept (a path that need not
    exist); ValueError otherwise.

    >>> checked_path("-/var/lib/app"), checked_path("/srv/a b")
    ('-/var/lib/app', '/srv/a b')
    """
    path = text[1:] if text.startswith("-") else text
    if (not path.startswith("/") or os.path.normpath(path) != path.rstrip("/") or "//" in path
            or "\0" in path or (path != "/" and path.endswith("/"))):
        raise ValueError("not an absolute, normalised path: %s" % text)
    return text


def is_hidden_by_private_tmp(path):
    """True when ``path`` (a ``checked_path``) is at or under /tmp or /var/tmp: with
    ``private_tmp`` those are empty directories of the service's own, as systemd's
    ``PrivateTmp=`` makes them, so the host's path there is hidden and names nothing when
    the service starts (systemd and sandbox-run refuse the start on a required one).

    >>> [is_hidden_by_private_tmp(p) for p in ("-/tmp/app", "/var/tmp", "/tmpfs", "/srv")]
    [True, True, False, False]
    """
    path = path[1:] if path.startswith("-") else path
    return any(path == top or path.startswith(top + "/") for top in TMP_PATHS)


def private_tmp_hides(path):
    """Why ``path`` (``is_hidden_by_private_tmp``) cannot be a sandbox path beside
    ``private_tmp``: one sentence, the same in the schema and import."""
    path = path.lstrip("-")
    top = next(top for top in TMP_PATHS if (path + "/").startswith(top + "/"))
    return ("private_tmp replaces %s with an empty one of the service's own (as systemd's "
            "PrivateTmp= hides /tmp and /var/tmp): the host's %s is not there when the service "
            "starts; keep private_tmp or the path, not both" % (top, path))


def replaceable_by(directory, entry, uids=(0,), gids=(0,)):
    """Why someone other than root may replace ``entry`` — the lstat of one component of a
    path, None when missing — in ``directory`` (its directory's stat); None when only root
    may (or the ``uids`` and ``gids`` trusted as root: under ``--root``, whoever staged it).
    A root service's writable path is bound where it leads at each start: a component a
    user may replace (with a link to /etc) would point the service's writes anywhere. The
    rule ``plan`` (host/sandboxpaths.py) and ``sandbox-run`` both walk a path by, one step
    at a time; the path's last directory itself may be anyone's: its owner cannot replace it.

    >>> import os
    >>> def st(uid, mode, gid=0): return os.stat_result((mode, 0, 0, 1, uid, gid, 0, 0, 0, 0))
    >>> root_dir, home = st(0, 0o40755), st(1001, 0o40700)
    >>> [replaceable_by(root_dir, home), replaceable_by(home, st(1001, 0o40755))]
    [None, "its directory is uid 1001's"]
    >>> replaceable_by(st(0, 0o41777), None), replaceable_by(st(0, 0o41777), st(0, 0o40755))
    ('it is missing from a directory others may write to', None)
    >>> replaceable_by(root_dir, st(1001, 0o120777)), replaceable_by(st(0, 0o40775, 100), home)
    ("it is a link of uid 1001's", 'its directory is writable by group 100')
    """
    if directory.st_uid not in uids:
        return "its directory is uid %d's" % directory.st_uid
    group = directory.st_mode & 0o020 and directory.st_gid not in gids
    if (group or directory.st_mode & 0o002) and not directory.st_mode & 0o1000:
        return ("its directory is writable by others" if directory.st_mode & 0o002
                else "its directory is writable by group %d" % directory.st_gid)
    if (group or directory.st_mode & 0o002) and (entry is None or entry.st_uid not in uids):
        return ("it is missing from a directory others may write to" if entry is None
                else "it is uid %d's in a directory others may write to" % entry.st_uid)
    if entry is not None and (entry.st_mode & 0o170000) == 0o120000 and entry.st_uid not in uids:
        return "it is a link of uid %d's" % entry.st_uid
    return None


def replaceable_path(path, why):
    """The sentence a refused writable path gets, at plan and at start: ``path``, the
    component ``why`` (``replaceable_by``) is about, and why."""
    return ("a root service's writable path that a user may replace: %s (%s); a link planted "
            "there would point the service's writes anywhere (docs/security.md)" % (path, why))


_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_LINKS = 40  # the kernel's own limit on links in one lookup


def open_unreplaceable(root_fd, path, uids=(0,), gids=(0,)):
    """``(an O_PATH descriptor, the real path)`` of where ``path`` leads from directory
    ``root_fd`` (None: ``/``; ``--root``'s), walked one component at a time: each one a step
    ``replaceable_by`` allows, opened without following it and checked to be what was
    looked at; a link followed by hand (an absolute one from ``root_fd``, ``..`` never above
    it). ValueError, a ``replaceable_path`` sentence, at the first component someone else
    may replace; FileNotFoundError for a missing one (a sandbox path that may be missing).
    The one walk of a root service's writable path, at plan and at each start."""
    def top():
        return os.open("/", _PATH_FLAGS | os.O_DIRECTORY) if root_fd is None else os.dup(root_fd)

    fd = top()
    real, hops = [], MAX_LINKS
    pending = [part for part in path.split("/") if part][::-1]
    try:
        while pending:
            name = pending.pop()
            if name in (".", "..") or not name:
                if name == ".." and real:
                    fd = _swapped(fd, os.open("..", _PATH_FLAGS | os.O_DIRECTORY, dir_fd=fd))
                    real.pop()
                continue
            shown = "/" + "/".join(real + [name])
            try:
                entry = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                entry = None
            why = replaceable_by(os.fstat(fd), entry, uids, gids)
            if why is not None:
                raise ValueError(replaceable_path(shown, why))
            if entry is None:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), shown)
            if stat.S_ISLNK(entry.st_mode):
                hops -= 1
                if hops < 0:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
                target = os.readlink(name, dir_fd=fd)
                if target.startswith("/"):
                    fd, real = _swapped(fd, top()), []
                pending += [part for part in target.split("/") if part][::-1]
                continue
            found = os.open(name, _PATH_FLAGS, dir_fd=fd)
            fd = _swapped(fd, found)
            now = os.fstat(fd)
            if (now.st_dev, now.st_ino) != (entry.st_dev, entry.st_ino):
                raise ValueError(replaceable_path(shown, "it was replaced meanwhile"))
            real.append(name)
        return fd, "/" + "/".join(real)
    except BaseException:
        os.close(fd)
        raise


def _swapped(old, new):
    os.close(old)
    return new


class Sandbox:
    """Every setting of one service's sandbox; the defaults are "off".

    ``capabilities``: the bounding set as capability names, None to leave it as it is;
    ``protect_system``, ``protect_home``: a word of PROTECT_SYSTEM, PROTECT_HOME or None;
    the path lists: tuples of ``checked_path`` strings.
    """

    __slots__ = KEYS

    def __init__(self, **settings):
        for key in KEYS:
            setattr(self, key, () if key in PATH_LISTS else (False if key in FLAGS else None))
        for key, value in settings.items():
            setattr(self, key, tuple(value) if key in PATH_LISTS + ("capabilities",)
                    and value is not None else value)

    def __eq__(self, other):
        return isinstance(other, Sandbox) and all(
            getattr(self, key) == getattr(other, key) for key in KEYS)

    def __repr__(self):
        return "Sandbox(%s)" % ", ".join("%s=%r" % (key, getattr(self, key)) for key in KEYS
                                        if getattr(self, key) != getattr(_OFF, key))


_OFF = Sandbox()

# Capabilities a setting takes from the bounding set whatever ``capabilities`` says.
DROPPED_BY = {"private_devices": ("mknod", "sys_rawio"), "protect_kernel": ("sys_module",)}


def dropped_capabilities(sandbox):
    """The names of the capabilities ``sandbox``'s settings drop from the bounding set, those
    ``capabilities`` lists too (sandbox-run drops them; verify's score counts them dropped).

    >>> sorted(dropped_capabilities(Sandbox(private_devices=True, protect_kernel=True)))
    ['mknod', 'sys_module', 'sys_rawio']
    """
    return {name for key, names in DROPPED_BY.items() if getattr(sandbox, key)
            for name in names}


def spec_bytes(sandbox):
    """The sandbox file of ``sandbox``: one line, versioned like the other files ours reads.

    >>> spec_bytes(Sandbox(no_new_privileges=True, capabilities=["net_raw"],
    ...                    read_write_paths=["/srv/a b"]))
    b'sandbox 1 no_new_privileges capabilities=net_raw read_write_paths=/srv/a\\\\040b\\n'
    """
    words = ["sandbox", VERSION]
    for key in KEYS:
        value = getattr(sandbox, key)
        if key in FLAGS:
            if value:
                words.append(key)
        elif key == "capabilities":
            if value is not None:
                words.append("capabilities=" + ",".join(value))
        elif key in PATH_LISTS:
            if value:
                words.append(key + "=" + ",".join(word_from_path(path) for path in value))
        elif value is not None:
            words.append("%s=%s" % (key, value))
    return (" ".join(words) + "\n").encode()


def spec_from_bytes(data):
    """``spec_bytes`` read back, every value checked; ValueError saying why for anything else.

    >>> spec_from_bytes(b"sandbox 1 private_tmp capabilities= protect_home=tmpfs\\n")
    Sandbox(capabilities=(), private_tmp=True, protect_home='tmpfs')
    >>> spec_from_bytes(b"sandbox 1 capabilities=net_bind_service,sys_nice\\n").capabilities
    ('net_bind_service', 'sys_nice')
    """
    if len(data) > SPEC_MAX or not data.endswith(b"\n") or data.count(b"\n") != 1:
        raise ValueError("not a sandbox file: one line, ending with a newline")
    try:
        words = data.decode("ascii").split(" ")
    except UnicodeDecodeError as exc:
        raise ValueError("not a sandbox file: a byte that is not ASCII") from exc
    words[-1] = words[-1][:-1]
    if words[:2] != ["sandbox", VERSION]:
        raise ValueError("not a sandbox file (sandbox %s SETTING…)" % VERSION)
    settings = {}
    for word in words[2:]:
        key, equals, value = word.partition("=")
        if key not in KEYS:
            raise ValueError("unknown setting: %s" % key)
        if key in settings:
            raise ValueError("%s: given twice" % key)
        if (key in FLAGS) == bool(equals):
            raise ValueError("%s: %s" % (key, "a flag takes no value" if key in FLAGS
                                          else "expected %s=VALUE" % key))
        settings[key] = _value(key, value)
    return Sandbox(**settings)


def _value(key, value):
    if key in FLAGS:
        return True
    if key == "capabilities":
        names = tuple(value.split(",")) if value else ()
        for name in names:
            capability_number(name)
        return names
    if key in PATH_LISTS:
        if not value:
            raise ValueError("%s: an empty list is written as no word" % key)
        return tuple(checked_path(path_from_word(path)) for path in value.split(","))
    words = PROTECT_SYSTEM if key == "protect_system" else PROTECT_HOME
    if value not in words:
        raise ValueError("%s=%s: not one of %s" % (key, value, ", ".join(words)))
    return value


def word_from_path(path):
    """``path`` as a word: bytes that would end or split it written ``\\ooo``.

    >>> word_from_path("/a b,c")
    '/a\\\\040b\\\\054c'
    """
    out = []
    for byte in os.fsencode(path):
        char = chr(byte)
        out.append("\\%03o" % byte if byte <= 32 or byte >= 127 or char in ",\\" else char)
    return "".join(out)


def path_from_word(word):
    """``_escaped`` read back; ValueError for a ``\\`` not followed by three octal digits.

    >>> path_from_word("/a\\\\040b")
    '/a b'
    """
    out = bytearray()
    index = 0
    while index < len(word):
        if word[index] == "\\":
            digits = word[index + 1:index + 4]
            if len(digits) != 3 or any(digit not in "01234567" for digit in digits):
                raise ValueError("a bad escape in a path: %s" % word)
            out.append(int(digits, 8) & 0xFF)
            index += 4
        else:
            out.append(ord(word[index]))
            index += 1
    return os.fsdecode(bytes(out))
