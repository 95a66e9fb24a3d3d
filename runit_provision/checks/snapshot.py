"""checks: reading a host in ONE command — a ``Request`` of what to look at, the command that
carries it with the probe (``hostprobe.py`` when the host has python3, else ``hostprobe.sh``),
and the probe's records parsed and validated into a ``Snapshot``.

Everything a check needs comes from one ``host.run`` per snapshot, whatever the number of
services: a remote host costs one round trip, not one per file or property. The request goes
compressed in the python3 command (a few bytes per service), so one command holds thousands of
services; only beyond ``MAX_COMMAND`` is it cut in pieces. A host without python3 costs one
more round trip, once: the python3 command says so (``FALLBACK``) and the sh probe reads it,
its request in a here-document. ``supervise/status`` is decoded here by ``protocol.status`` —
locally, from the hex the probe sent — and sv's status line is the sh probe's fallback.

Why one module: the request and the parser are the two ends of one record format (the probe's
letters, ``_ARITY``): a record added is added to both, in one place.
"""

import base64
import posixpath
import shlex
import threading
import time
import weakref
import zlib
from pathlib import Path
from urllib.parse import unquote_to_bytes

from ..errors import ProtocolError, VerifyError
from ..protocol.cgroupfs import CONTROLLER_OF
from ..protocol.errstr import error_str
from ..protocol.layout import LOG_DIR, READINESS, SUPERVISE_DIR, path_in
from ..protocol.probe import NOT_RUNNING
from ..protocol.sidestate import LAST_RUN_FILE, SideState, disowned_pid
from ..protocol.tally import TALLY_FILE
from ..protocol.status import Status, status_from_bytes
from .svstatus import parts_from_sv_line

HERE = Path(__file__).resolve().parent
# Linux takes at most 128 KiB for one argument of execve (MAX_ARG_STRLEN), and the command is
# one: /bin/sh -c's, or the one ssh hands to the remote shell.
MAX_COMMAND = 100 * 1024
END = "RUNIT_PROVISION_REQUEST"
FALLBACK = 97  # the python command's exit status on a host without a usable python3
VERBS = ("stat", "walk", "side", "tree", "cgroup", "login", "group", "which")
PATH_VERBS = ("stat", "walk", "side", "tree", "cgroup")


class Request:
    """What to read: ``stat``, ``walk``, ``side``, ``tree``, ``cgroup`` paths, ``login``,
    ``group`` and ``which`` names (``hostprobe.py`` says what each gives). Asking twice is
    asking once."""

    def __init__(self):
        self._items = {}

    def add(self, verb, argument):
        if verb not in VERBS:
            raise ValueError("not a request verb: %r" % verb)
        if "\n" in argument or not argument:
            raise VerifyError("cannot ask the host about %r" % argument)
        self._items.setdefault((verb, argument), len(self._items))
        return self

    def stat(self, path):
        return self.add("stat", path)

    def walk(self, path):
        return self.add("walk", path)

    def side(self, path):
        return self.add("side", path)

    def tree(self, path):
        return self.add("tree", path)

    def cgroup(self, path):
        return self.add("cgroup", path)

    def login(self, name):
        return self.add("login", name)

    def group(self, name):
        return self.add("group", name)

    def which(self, name):
        return self.add("which", name)

    def __len__(self):
        return len(self._items)

    def lines(self, root=None):
        """The request as ``(directory, line)`` pairs: paths relative to their parent
        directory, grouped by it (``materialized`` puts an ``in DIR`` line before each group).
        ``root``: a staged tree's directory, put in front of every absolute path."""
        keyed = []
        for (verb, argument), order in self._items.items():
            parent, name = "", argument
            if verb in PATH_VERBS and root and argument.startswith("/"):
                argument = root.rstrip("/") + argument if argument != "/" else root
            if verb in PATH_VERBS:
                parent, name = posixpath.split(argument.rstrip("/") or "/")
                if not name or name.startswith("~") or not parent:
                    parent, name = "", argument
            keyed.append((parent, order, verb + " " + name))
        return [(parent, line) for parent, _, line in sorted(keyed)]


def materialized(pairs):
    """Request lines of ``(directory, line)`` pairs, with an ``in DIR`` line per group."""
    lines, current = [], None
    for parent, line in pairs:
        if parent != current:
            lines.append("in " + (parent or "/"))
            current = parent
        lines.append(line)
    return lines


def pieces(pairs, fits):
    """The pairs as few pieces of request lines as ``fits(lines)`` allows: halves, recursively
    (a request that fits is one piece: the usual case, thousands of services)."""
    lines = materialized(pairs)
    if len(pairs) <= 1 or fits(lines):
        return [lines]
    half = len(pairs) // 2
    return pieces(pairs[:half], fits) + pieces(pairs[half:], fits)


_PROGRAMS = {}


def probe_program(name):
    if name not in _PROGRAMS:
        _PROGRAMS[name] = (HERE / name).read_text(encoding="ascii")
    return _PROGRAMS[name]


def python_command(lines):
    """The command that runs ``hostprobe.py`` on the host's python3 with ``lines``, compressed
    into its one argument (the request is repetitive: a tenth of its size); exit ``FALLBACK``
    when the host has no python3 (or one older than the probe needs)."""
    request = "".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape")
    payload = base64.b64encode(zlib.compress(request, 9)).decode("ascii")
    return ("command -v python3 >/dev/null 2>&1 || exit %d\nexec python3 -E -S -c %s %s\n"
            % (FALLBACK, shlex.quote(probe_program("hostprobe.py")), payload))


def sh_command(lines):
    """The command that runs ``hostprobe.sh`` with ``lines`` in a here-document."""
    body = "".join(line + "\n" for line in lines)
    return "{\n%s} <<'%s'\n%s%s\n" % (probe_program("hostprobe.sh"), END, body, END)


def probe_command(lines, python=True):
    return python_command(lines) if python else sh_command(lines)


_PROBERS = weakref.WeakKeyDictionary()  # host -> "sh" once it turned out to have no python3


def take_snapshot(host, request, python=True, root=None, seconds=None):
    """The ``Snapshot`` of ``request`` on a testinfra ``host``: one ``host.run`` (a request
    beyond ``MAX_COMMAND`` takes more). python3's probe unless the host has none (learnt once
    per host: its command exits ``FALLBACK``) or ``python=False``; then sh's.
    ``root``: a staged tree (``verify --root``) — every path is read under it and the
    snapshot keeps the final paths. ``seconds``: how long the host has to answer, all its
    commands together (None: as long as it takes). VerifyError when the probe fails, answers
    nonsense, or does not answer in time."""
    deadline = None if seconds is None else time.monotonic() + seconds
    return _snapshot_before(host, request, python, root, deadline, seconds)


def _snapshot_before(host, request, python, root, deadline, seconds):
    use_python = python and _PROBERS.get(host) != "sh"
    build = python_command if use_python else sh_command
    snapshot = Snapshot(root)
    built = {}  # id(lines) -> (lines, command): each command made once (zlib, quoting)

    def fits(lines):
        built[id(lines)] = lines, build(lines)
        return len(built[id(lines)][1]) <= MAX_COMMAND

    for lines in pieces(request.lines(root), fits):
        command = built[id(lines)][1] if id(lines) in built else build(lines)
        result = run_before(host, command, deadline, seconds)
        if use_python and result.rc == FALLBACK:
            _PROBERS[host] = "sh"
            return _snapshot_before(host, request, False, root, deadline, seconds)
        if result.rc != 0:
            raise VerifyError("reading the host failed (exit %d): %s"
                              % (result.rc, (result.stderr or result.stdout).strip()[-2000:]))
        snapshot.add_output(result.stdout_bytes)
    return snapshot.resolved()


def run_before(host, command, deadline, seconds):
    """``host.run(command)``, or VerifyError once ``deadline`` (``time.monotonic()``) has
    passed. A probe the host holds — a home on an NFS server that is gone, an account lookup
    that never answers, an ssh that never gets through — cannot be interrupted from here (one
    in an uninterruptible sleep cannot be ended at all), so it is left to its thread, which
    does not keep this process from exiting: the report must not wait for it."""
    if deadline is None:
        return host.run(command)
    answer = {}

    def run():
        try:
            answer["result"] = host.run(command)
        except BaseException as exc:  # noqa: BLE001 — raised again in the waiting thread
            answer["error"] = exc

    thread = threading.Thread(target=run, name="probe", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if thread.is_alive():
        raise VerifyError("no answer within %s s (the probe is left running on the host)"
                          % format(seconds, "g"))
    if "error" in answer:
        raise answer["error"]
    return answer["result"]


# -- what the probe saw ------------------------------------------------------------------------
class Node:
    """One path as lstat saw it: ``kind`` (``f d l p s c b``, None when lstat failed:
    ``error`` is the errno's name), ``mode`` (permission bits), ``uid``/``gid`` and their names
    ``user``/``group`` (None when the host has none); a link's ``target`` and ``realpath``; a
    regular file's ``size``, ``content`` (bytes, None above the probe's limit) and ``sha256``;
    a directory's ``acl``: the bytes of its access ACL, an errno's name when it could not be
    read, None when it holds none (python's probe; sh's reads none: ``Snapshot.reads_acls``)."""

    __slots__ = ("path", "kind", "mode", "uid", "gid", "user", "group", "target", "realpath",
                 "size", "content", "sha256", "error", "acl")

    def __init__(self, path, **fields):
        self.path = path
        for name in self.__slots__[1:]:
            setattr(self, name, fields.get(name))

    @property
    def exists(self):
        return self.kind is not None

    def __repr__(self):
        if self.kind is None:
            return "Node(%r, error=%r)" % (self.path, self.error)
        return "Node(%r, %s, %04o, %s:%s)" % (self.path, self.kind, self.mode, self.user,
                                              self.group)


class Side(SideState):
    """One side (a service directory or its ``log/``) as the host's probe saw it: the one
    side type (protocol.sidestate.SideState, whose words every check reads), with what only a
    read of a remote host has — ``path``, ``ok`` (the probe's answer for ``supervise/ok``),
    ``process_uid`` (the owner of the status' running pid), ``supervise_uid`` (the owner of
    ``supervise/`` itself) — and the raw status, readiness and tally bytes, decoded once every
    record has arrived (``Snapshot.resolved``: sh's probe sends sv's line after them).

    ``is_supervised`` is None until then, and stays None when the host could not tell (no
    python3 and no sv); ``error`` says why there is no status, in sv's words.
    """

    __slots__ = ("path", "ok", "process_uid", "supervise_uid", "_raw_status",
                 "_raw_readiness", "_raw_tally", "_raw_last_run", "_raw_timer",
                 "_raw_needs_passed", "boot")

    def __init__(self, path, ok=None, is_normally_up=True, process_uid=None,
                 supervise_uid=None, _raw_status=None):
        SideState.__init__(self, None, is_normally_up=is_normally_up)
        self.path, self.ok, self._raw_status, self._raw_readiness = path, ok, _raw_status, None
        self._raw_tally = self._raw_last_run = self._raw_timer = None
        self._raw_needs_passed = self.boot = None  # a needs guard's record; the host's boot
        self.process_uid, self.supervise_uid = process_uid, supervise_uid

    def __repr__(self):
        return "Side(%r, supervised=%r, status=%r, error=%r)" % (
            self.path, self.is_supervised, self.status, self.error)


class Identity:
    """A login on the host: ``uid``, ``gid``, every group id (``gids``) and ``home``; all None
    when the host does not know the login."""

    __slots__ = ("login", "uid", "gid", "gids", "home")

    def __init__(self, login, uid, gid, gids, home):
        self.login, self.uid, self.gid, self.gids, self.home = login, uid, gid, gids, home

    @property
    def exists(self):
        return self.uid is not None


class Command:
    """A command on the host's PATH: ``path`` (None: not found) and its first bytes."""

    __slots__ = ("name", "path", "head")

    def __init__(self, name, path, head):
        self.name, self.path, self.head = name, path, head


# the files of a K record, in its order (hostprobe.py's CGROUP_FILES): every limit's
CGROUP_FILES = tuple(CONTROLLER_OF)


class CgroupFound:
    """A K record: a side's ``record`` (the bytes of ``supervise/cgroup``, an errno's name, or
    None), the host's cgroup v2 ``mount`` (None: none), and ``files``: each limit's file in
    the cgroup the record names — bytes, an errno's name (ENOENT: its controller is not
    enabled there), or None when not read."""

    __slots__ = ("record", "mount", "files")

    def __init__(self, record, mount, files):
        self.record, self.mount, self.files = record, mount, files


class Snapshot:
    """What one request saw: ``nodes`` and ``sides`` by path (as requested), ``logins``,
    ``groups`` (gid or None) and ``commands`` by name, ``listed`` directories, the host's clock
    ``now`` and the ``prober`` (python or sh). ``root``: the staged tree the paths were read
    under; records name them by their final paths (``use_accounts`` then gives the tree's own
    owners)."""

    def __init__(self, root=None):
        self.root = root.rstrip("/") if root and root.rstrip("/") else None
        self.now = None
        self.prober = None
        self.nodes = {}
        self.sides = {}
        self.logins = {}
        self.groups = {}
        self.commands = {}
        self.cgroups = {}
        self.listed = set()
        self._sv_lines = []
        self._children = None

    @property
    def reads_acls(self):
        """Whether the probe read directories' ACLs (python's does; sh's has no tool for it)."""
        return self.prober == "python"

    def node(self, path):
        """The Node of ``path``: ``error="ENOENT"`` when missing from a directory the probe
        listed, ``error="unread"`` when nothing asked for it."""
        node = self.nodes.get(path)
        if node is not None:
            return node
        listed = posixpath.dirname(path) in self.listed
        return Node(path, error="ENOENT" if listed else "unread")

    def side(self, path):
        return self.sides.get(path)

    def realpath(self, path):
        """Where ``path`` leads on the host, as far as the probe saw (``stat`` of a directory
        or link gives its realpath; else its parent's, joined)."""
        node = self.nodes.get(path)
        if node is not None and node.realpath:
            return node.realpath
        parent, name = posixpath.split(path)
        if not name or parent == path:
            return path
        return posixpath.join(self.realpath(parent), name)

    def children(self, path):
        """Names the probe saw directly below ``path`` (by a walk or a tree)."""
        if self._children is None:
            self._children = {}
            for known in self.nodes:
                parent, name = posixpath.split(known)
                self._children.setdefault(parent, []).append(name)
        return sorted(self._children.get(path.rstrip("/") or "/", []))

    def final(self, path):
        """The final path of a path read under ``root`` (one outside it is kept as it is)."""
        if self.root is None or path is None:
            return path
        if path == self.root:
            return "/"
        return path[len(self.root):] if path.startswith(self.root + "/") else path

    def use_accounts(self, accounts):
        """Owners as a staged tree has them: ``logins`` and ``groups`` from ``accounts`` (the
        tree's own passwd and group, ``accounts.Accounts``) instead of the host's, and each
        node's owner and group named by them."""
        by_gid = {}
        for group in accounts.groups:
            by_gid.setdefault(group.gid, group.name)
        names = {group.name: group.gid for group in reversed(accounts.groups)}
        for login in list(self.logins):
            entry = accounts.logins.get(login)
            if entry is None:
                self.logins[login] = Identity(login, None, None, None, None)
                continue
            gids = [entry.gid] + [group.gid for group in accounts.groups
                                  if login in group.members and group.gid != entry.gid]
            self.logins[login] = Identity(login, entry.uid, entry.gid, tuple(gids), entry.home)
        for name in list(self.groups):
            self.groups[name] = names.get(name)
        by_uid = {}
        for entry in accounts.logins.values():
            by_uid.setdefault(entry.uid, entry.name)
        for node in self.nodes.values():
            if node.exists:
                node.user, node.group = by_uid.get(node.uid), by_gid.get(node.gid)
        return self

    # -- parsing ------------------------------------------------------------------------------
    def add_output(self, data):
        for number, line in enumerate(data.split(b"\n"), 1):
            if line:
                self._add_record(line, number)
        self._children = None

    def _add_record(self, line, number):
        tag, *raw = line.split(b" ")
        arity = _ARITY.get(tag)
        if arity is None or len(raw) != arity:
            raise VerifyError("the host's probe said something else than expected, line %d: "
                              "%r" % (number, line[:200]))
        values = [_decoded(value) for value in raw]
        try:
            getattr(self, "_record_" + tag.decode("ascii"))(*values)
        except (ValueError, TypeError) as exc:
            raise VerifyError("the host's probe sent a bad %s record, line %d: %r (%s)"
                              % (tag.decode("ascii"), number, line[:200], exc)) from exc

    def _record_H(self, now, prober, version):
        self.now, self.prober = float(now), prober

    def _record_E(self, kind, mode, uid, gid, user, group, path):
        path = self.final(path)
        self.nodes[path] = Node(path, kind=kind, mode=int(mode, 8), uid=int(uid), gid=int(gid),
                                user=user, group=group)

    def _record_X(self, error, path):
        path = self.final(path)
        self.nodes[path] = Node(path, error=error)

    def _record_L(self, target, realpath, path):
        node = self.nodes[self.final(path)]
        node.target, node.realpath = target, self.final(realpath)

    def _record_C(self, size, content, sha256, path):
        node = self.nodes[self.final(path)]
        node.size, node.sha256 = int(size), sha256
        node.content = _hex_bytes(content, path)

    def _record_P(self, acl, path):
        node = self.nodes[self.final(path)]
        node.acl = _hex_bytes(acl, path, errno_ok=True)

    def _record_S(self, ok, down, status, proc_uid, sup_uid, path):
        path = self.final(path)
        self.sides[path] = Side(path, ok=ok, is_normally_up=down != "1", _raw_status=status,
                                process_uid=_int(proc_uid), supervise_uid=_int(sup_uid))

    def _record_R(self, readiness, path):
        side = self.sides.get(self.final(path))
        if side is not None:
            side._raw_readiness = readiness

    def _record_A(self, tally, path):
        side = self.sides.get(self.final(path))
        if side is not None:
            side._raw_tally = tally

    def _record_O(self, last_run, path):
        side = self.sides.get(self.final(path))
        if side is not None:
            side.is_oneshot = True
            side._raw_last_run = last_run

    def _record_T(self, schedule, record, last_run, path):
        side = self.sides.get(self.final(path))
        if side is not None:  # a timer (docs/jobs.md#timers): its three records' hex
            side._raw_timer = (schedule, record, last_run)
            side._raw_last_run = last_run

    def _record_N(self, passed, boot, path):
        side = self.sides.get(self.final(path))
        if side is not None:
            side._raw_needs_passed, side.boot = passed, boot

    def _record_K(self, record, mount, *files_and_path):
        *files, path = files_and_path
        path = self.final(path)
        self.cgroups[path] = CgroupFound(
            _hex_bytes(record, path, True), mount,
            {name: _hex_bytes(value, path, True) for name, value in zip(CGROUP_FILES, files)})

    def _record_V(self, line, name, path):
        self._sv_lines.append((line, name, self.final(path)))

    def _record_U(self, uid, gid, gids, home, login):
        self.logins[login] = Identity(login, _int(uid), _int(gid),
                                      None if gids is None else
                                      tuple(int(g) for g in gids.split(",") if g), home)

    def _record_D(self, path):
        self.listed.add(self.final(path))

    def _record_G(self, gid, name):
        self.groups[name] = _int(gid)

    def _record_W(self, path, head, name):
        self.commands[name] = Command(name, path, _hex_bytes(head, name, True))

    def resolved(self):
        """Decide every side: from the status bytes (python's probe), or sv's line (sh's)."""
        for side in self.sides.values():
            if side.ok != "?":
                _resolve_probed(side)
        for line, name, path in self._sv_lines:
            _resolve_from_sv(self, line, name, path)
        now_ns = int(self.now) * 1_000_000_000 if self.now is not None else 0
        for side in self.sides.values():
            if side.unknown is None:  # status's rule: a pid not the side's is not believed
                side.unknown = disowned_pid(side.status, side.supervise_uid,
                                            lambda pid, side=side: side.process_uid)
            unreadable = []
            side.readiness = _unless(_readiness_of(side), READINESS_FILE, unreadable)
            side.tally = _unless(_tally_of(side), TALLY_FILE, unreadable)
            last_run = _last_run_of(side)
            side.timer = _timer_of(side)
            # a timer's last run is its TimerRead's to judge
            side.last_run = last_run[0] if side.timer is not None else _unless(
                last_run, LAST_RUN_FILE, unreadable)
            side.unreadable = tuple(unreadable)
            side.now_ns = now_ns  # the host's clock: sv's uptimes
        return self


READINESS_FILE = SUPERVISE_DIR + "/" + READINESS
_ARITY = {b"H": 3, b"E": 7, b"X": 2, b"L": 3, b"C": 4, b"P": 2, b"S": 6, b"V": 3, b"U": 5,
          b"G": 2, b"W": 3, b"D": 1, b"R": 2, b"A": 2, b"O": 2, b"T": 4, b"N": 3, b"K": 9}


def _decoded(value):
    if value == b"-":
        return None
    if value == b"=":
        return ""
    return unquote_to_bytes(value).decode("utf-8", "surrogateescape")


def _int(value):
    return None if value is None else int(value)


def _is_errno(value):
    return bool(value) and value[0] == "E" and value.isupper()


def _hex_bytes(value, path, errno_ok=False):
    """Bytes of a hex field; None for none; an errno's name kept as it is (``errno_ok``)."""
    if value is None:
        return None
    if errno_ok and _is_errno(value):
        return value
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ValueError("not hex for %s: %r" % (path, value[:40])) from None


def errno_text(name):
    import errno
    return error_str(getattr(errno, name, -1))


def _resolve_probed(side):
    """python's probe: sv's own probe was done on the host; decode the status here."""
    if side.ok != "up":
        side.is_supervised = False
        if side.ok.startswith("cd:"):
            side.error = "unable to change to service directory: %s" % errno_text(side.ok[3:])
        elif side.ok == "ENXIO":
            side.error = NOT_RUNNING
        else:
            side.error = "unable to open supervise/ok: %s" % errno_text(side.ok)
        return
    side.is_supervised = True
    raw = side._raw_status
    if raw is None or _is_errno(raw):
        side.error = "unable to open supervise/status: %s" % errno_text(raw or "EIO")
        return
    side.status, side.error = _status_or_error(raw, side.path)


def _unless(read, record, unreadable):
    """The value of ``read`` (``(value, why)``, a protocol reader's), ``record`` and its why
    added to ``unreadable`` when it could not be read."""
    found, why = read
    if why is not None:
        unreadable.append((record, why))
    return found


def _readiness_of(side):
    """``(Readiness, None)``: the side's readiness record (protocol/readiness.py) when it is
    about the process its status shows; ``(None, None)`` otherwise (none declared, or about
    another run); ``(None, why)`` when it cannot be read."""
    raw = side._raw_readiness
    if raw is None or _is_errno(raw) or side.status is None or not side.status.pid:
        return None, None
    from ..protocol.readiness import readiness_read
    try:
        found, why = readiness_read(bytes.fromhex(raw))
    except ValueError:
        return None, None
    if found is None or found.pid != side.status.pid or found.state == "down":
        return None, why
    return found, None


def _tally_of(side):
    """``(Tally, None)``: the side's account of starts and deaths (protocol/tally.py), what
    status's verdict reads to tell a crash loop — taken by status's rule, as the account of
    the status read (protocol/tally.account_of); ``(None, None)`` where there is none whole
    (the C runit keeps none) or it is another process's; ``(None, why)`` for a whole one out
    of its bounds."""
    raw = side._raw_tally
    if raw is None or _is_errno(raw) or not side.is_supervised:
        return None, None
    from ..protocol.tally import status_tally_read
    try:
        return status_tally_read(bytes.fromhex(raw), side.status)
    except ValueError:
        return None, None


def needs_passed_of(side):
    """The bytes of the side's ``needs-passed`` (protocol/needsdone.py), or None: none, or
    not read."""
    raw = side._raw_needs_passed
    if raw is None or _is_errno(raw):
        return None
    try:
        return bytes.fromhex(raw)
    except ValueError:
        return None


def _last_run_of(side):
    """``(LastRun, None)``: a one-shot's last run (protocol/lastrun.py), from its finish's
    record; ``(None, None)``: none; ``(None, why)``: one that cannot be read."""
    raw = side._raw_last_run
    if raw is None or _is_errno(raw):
        return None, None
    from ..protocol.lastrun import last_run_read
    try:
        return last_run_read(bytes.fromhex(raw))
    except ValueError:
        return None, None


def _timer_of(side):
    """A timer's records (protocol/timerwords.TimerRead) from the probe's hex; None for a
    side that is no timer. A record the probe could not read is told as unreadable."""
    raw = side._raw_timer
    if raw is None:
        return None
    from ..protocol.timerwords import TimerRead, timer_read_from_bytes

    found = []
    for name, value in zip(("schedule", "supervise/timer", "supervise/last-run"), raw):
        if value is not None and _is_errno(value):
            return TimerRead(unreadable="%s: cannot be read (%s)" % (name, value))
        try:
            found.append(None if value is None else bytes.fromhex(value))
        except ValueError:
            return TimerRead(unreadable="%s: not what the probe sends" % name)
    return timer_read_from_bytes(*found)


def _status_or_error(raw_hex, path):
    try:
        return status_from_bytes(_hex_bytes(raw_hex, path)), None
    except ProtocolError:
        return None, "unable to read supervise/status: bad format"


def _resolve_from_sv(snapshot, line, name, path):
    """sh's probe: sv did the probe; its line says who is supervised, the bytes say the rest
    (sv's line becomes the Status where the bytes cannot be read)."""
    if line is None:  # no sv on a host without python3: nobody could tell
        for side_path in (path, path_in(path, LOG_DIR)):
            side = snapshot.sides.get(side_path)
            if side is not None:
                side.error = "cannot tell: the host has neither python3 nor sv"
        return
    first_line = line.split("\n", 1)[0]
    main, log = parts_from_sv_line(first_line, name)
    if log is None and main.message is not None:
        log = main  # sv stops at the service's failed probe: one runsv serves both sides
    for side_path, part in ((path, main), (path_in(path, LOG_DIR), log)):
        side = snapshot.sides.get(side_path)
        if side is None or part is None:
            continue
        if part.message is not None:
            side.is_supervised = not (part.is_not_running or part.message.startswith(
                ("unable to open supervise/ok", "unable to change to")))
            side.error = part.message
            side.ok = "ENXIO" if part.is_not_running else "?"
            continue
        side.ok, side.is_supervised = "up", True
        status, _ = _status_or_error(side._raw_status, side_path) \
            if side._raw_status and not _is_errno(side._raw_status) else (None, None)
        side.status = _status_from_part(part, snapshot.now) if status is None else status


def _status_from_part(part, now):
    """The Status sv's line describes (sv shows want and TERM only where they are news)."""
    if part.pid:
        want = part.want or "u"
    else:
        want = part.want or "d"
    return Status(int(now or 0) - part.elapsed, 0, part.pid, part.paused, want, part.term,
                  part.state)
