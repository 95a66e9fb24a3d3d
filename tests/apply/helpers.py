"""Shared by the apply tests: data text -> Desired, an in-memory host (``MemoryFs``: what
``observe`` reads, without a disk), live states, a fake runner and waiter, and one line per
step for comparing plans.

``MemoryFs`` answers the read side of ``apply.fsroot.FsRoot`` — ``lstat``, ``read_file``,
``readlink``, ``scan``, ``lookup``, ``listdir``, ``dir_stat``, ``check_link_owner``,
``host_path`` — from a dict of nodes, following links above a path only when root owns them,
as FsRoot does.
"""

import errno
import os
import stat
import subprocess

from runit_provision.accounts import groups_from_text, logins_from_text
from runit_provision.accounts.databases import Databases, GroupTable, PasswdTable
from runit_provision.apply.desired import desired_state
from runit_provision.apply.fsroot import FsRoot
from runit_provision.host.sides import NOT_SUPERVISED
from runit_provision.protocol.sidestate import SideState
from runit_provision.apply.runner import Completed, limits_command
from runit_provision.apply.steps import Action, CommandStep, ServiceStep, WaitStep
from runit_provision.model.acl import extended, readers_acl, words
from runit_provision.model.units import labels_named
from runit_provision.errors import LimitError, UnsafePathError
from runit_provision.protocol.status import State, Status
from runit_provision.render import render

from ..pipeline import config_from_text

IDENTITIES = Databases(
    PasswdTable(logins_from_text("root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:\n"
                                 "bob:x:1001:1001::/home/bob:\nwww:x:33:33::/var/www:\n"
                                 "log:x:90:90::/var/log:\n")),
    GroupTable(groups_from_text("root:x:0:\nalice:x:1000:\nbob:x:1001:\nwww:x:33:\n"
                                "staff:x:50:\nadm:x:4:\nlog:x:90:\n")))


def desired_from_text(text, profile_dir=None, only=None, extra_entries=(), commands=(),
                      notes=()):
    """``only``: names as a verb's ``--only`` takes them (model/units.py)."""
    config = config_from_text(text)
    only = labels_named(config, only)
    return desired_state(config, render(config, only=only), only=only, profile_dir=profile_dir,
                         extra_entries=extra_entries, commands=commands, notes=notes)


ACL_REFUSED = "refused"  # a directory whose file system keeps no ACL


class Node:
    """``acl``: a directory's access ACL (model/acl.py), None: it holds none;
    ``ACL_REFUSED``: its file system keeps none."""

    __slots__ = ("kind", "mode", "uid", "gid", "content", "target", "nlink", "acl")

    def __init__(self, kind, mode=0o755, uid=0, gid=0, content=None, target=None, nlink=1,
                 acl=None):
        self.kind, self.mode, self.uid, self.gid = kind, mode, uid, gid
        self.content, self.target, self.nlink, self.acl = content, target, nlink, acl

    def stat(self):
        kind_bits = {"file": stat.S_IFREG, "directory": stat.S_IFDIR, "symlink": stat.S_IFLNK,
                     "fifo": stat.S_IFIFO}[self.kind]
        size = len(self.content or b"") if self.kind == "file" else 0
        return os.stat_result((kind_bits | self.mode, 0, 0, self.nlink, self.uid, self.gid,
                               size, 0, 0, 0))


class MemoryFs:
    """A host as a dict {final path: Node}: ``/``, ``/etc``, ``/var/log`` and ``/home`` exist."""

    def __init__(self, nodes=None, trusted_uids=(0,)):
        self.nodes = {path: Node("directory") for path in ("/", "/etc", "/var", "/var/log",
                                                           "/home")}
        self.nodes.update(nodes or {})
        self.trusted_uids = set(trusted_uids)

    # -- building ------------------------------------------------------------------------
    def add_tree(self, tree, identities=IDENTITIES):
        """Every entry of a rendered tree, as apply would have written it."""
        for entry in tree:
            if entry.kind == "absent":
                continue
            uid, gid = identities.ids_of(entry.owner, entry.group)
            self.add_parents(entry.path)
            if entry.kind == "file":
                self.nodes[entry.path] = Node("file", entry.mode, uid, gid, entry.content)
            elif entry.kind == "directory":
                readers = [identities.user(login)[0] for login in entry.readers]
                self.nodes[entry.path] = Node("directory", entry.mode, uid, gid,
                                              acl=readers_acl(entry.mode, readers)
                                              if readers else None)
            else:
                self.nodes[entry.path] = Node("symlink", 0o777, uid, gid, target=entry.target)

    def add_parents(self, path):
        parent = os.path.dirname(path)
        while parent != "/" and parent not in self.nodes:
            self.nodes[parent] = Node("directory")
            parent = os.path.dirname(parent)

    def remove(self, path):
        for key in [key for key in self.nodes if key == path or key.startswith(path + "/")]:
            del self.nodes[key]

    # -- what FsRoot answers -------------------------------------------------------------
    def host_path(self, path):
        return path

    def check_link_owner(self, path, info):
        if info.st_uid not in self.trusted_uids:
            raise UnsafePathError("%s is a symbolic link owned by uid %d, not by root: not "
                                  "followed" % (path, info.st_uid))

    def _resolve_dir(self, path, hops=40):
        """The real path of directory ``path`` (links above it followed when trusted)."""
        real = "/"
        for part in [part for part in path.split("/") if part]:
            candidate = real.rstrip("/") + "/" + part
            node = self.nodes.get(candidate)
            if node is None:
                raise FileNotFoundError(2, "No such file or directory", candidate)
            if node.kind == "symlink":
                self.check_link_owner(candidate, node.stat())
                if hops <= 0:
                    raise OSError(40, "Too many levels of symbolic links", candidate)
                target = node.target if node.target.startswith("/") else \
                    real.rstrip("/") + "/" + node.target
                candidate = self._resolve_dir(os.path.normpath(target), hops - 1)
                node = self.nodes[candidate]
            if node.kind != "directory":
                raise NotADirectoryError(20, "Not a directory", candidate)
            real = candidate
        return real

    def _node(self, path):
        parent, name = os.path.split(path)
        try:
            real_parent = self._resolve_dir(parent)
        except FileNotFoundError:
            return None
        return self.nodes.get(real_parent.rstrip("/") + "/" + name)

    def lstat(self, path):
        node = self._node(path)
        return None if node is None else node.stat()

    def dir_stat(self, path):
        try:
            return self.nodes[self._resolve_dir(path)].stat()
        except FileNotFoundError:
            return None

    def read_file(self, path):
        node = self._node(path)
        if node is None:
            raise FileNotFoundError(2, "No such file or directory", path)
        return (node.content if node.kind == "file" else None), node.stat()

    def readlink(self, path):
        return self._node(path).target

    def scan(self, path, wanted, read=(), limit=None):
        real = self._resolve_dir(path)
        prefix = real.rstrip("/") + "/"
        found, count = {}, 0
        for key, node in self.nodes.items():
            name = key[len(prefix):]
            if key.startswith(prefix) and "/" not in name:
                count += 1
                if limit is not None and count > limit:
                    raise LimitError("%s holds more than %d entries" % (path, limit))
                if wanted(name):
                    content = node.content if (name in read and node.kind == "file"
                                               and node.nlink == 1) else None
                    found[name] = (node.stat(), content)
        return found

    def lookup(self, path, names, read=()):
        return self.scan(path, set(names).__contains__, read)

    listdir = FsRoot.listdir  # the real one, over this scan

    def dir_fd(self, path):  # what probe_side asks first; a memory host has no runsv
        raise FileNotFoundError(2, "No such file or directory", path)

    def access_acl(self, path):
        acl = self.nodes[self._resolve_dir(path)].acl
        if acl is ACL_REFUSED:
            raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP), path)
        return acl


def side(state="run", want="up", pid=None):
    """A SideState: ``state`` run/down/finish, or None for no runsv."""
    if state is None:
        return NOT_SUPERVISED
    state_value = {"down": State.DOWN, "run": State.RUN, "finish": State.FINISH}[state]
    pid = pid if pid is not None else (0 if state == "down" else 4242)
    return SideState(True, Status(1700000000, 0, pid, False, want[0], False, state_value))


STATUS_UNREADABLE = "unable to read supervise/status: bad format"
OK_NOT_A_FIFO = "unable to open supervise/ok: not a FIFO"


def unknown_side(reason=STATUS_UNREADABLE):
    """A SideState whose state cannot be told: its status unreadable behind a live ``ok``
    (supervised), or its ``ok`` not a FIFO (no runsv can be told of)."""
    return SideState(reason != OK_NOT_A_FIFO, unknown=reason)


def live_probe(states):
    """A probe answering from {side directory: SideState}; anything else has no runsv."""
    return lambda path: states.get(path, NOT_SUPERVISED)


class FakeRunner:
    """Records argv; answers from ``answers`` {argv[2:] joined: (returncode, output)} or 0."""

    def __init__(self, answers=None):
        self.calls = []
        self.answers = answers or {}

    def run(self, argv, timeout=None, run_as=None):
        self.calls.append((list(argv), run_as))
        code, output = self.answers.get(" ".join(argv[1:]), (0, ""))
        return Completed(argv, code, output)


def fake_waiter(pending_sides=(), live=None):
    """A waiter that reports ``pending_sides`` as never served, records what it waited for;
    with ``live`` (a live_probe's states), the sides it saw served are served from then on."""
    waited = []

    def wait(fs, sides, timeout, probe):
        waited.append(list(sides))
        if live is not None:
            live.update((path, side("run")) for path in sides
                        if path not in pending_sides and path not in live)
        return [path for path in sides if path in pending_sides]

    wait.waited = waited
    return wait


def step_text(step):
    """``ACTION PATH (REASONS) [PARTICULARS]``: what the step does and why, then what else
    the applier and ``--json`` take from it. A path step's kind (``tree``: a directory
    removed with all it holds), and for a create or change what it sets — a link's target or
    a mode, the owner (``uid:gid``; ``owners left`` when owners are not managed),
    ``secret`` for a value whose diff is masked — and ``of LABEL``, the service it belongs
    to. A service step's side (``service`` or ``log``) and service, ``as UID`` for a user's,
    and its command (our ``runsv-cgroup`` by its name). A wait lists its services; a command
    is named by its command line."""
    reasons = "; ".join(step.reasons)
    if isinstance(step, WaitStep):
        return "wait %s (%s)" % (" ".join(unit.label for unit in step.units), reasons)
    text = "%s %s (%s)" % (step.action, step.path, reasons)
    if isinstance(step, CommandStep):
        return text
    if isinstance(step, ServiceStep):
        argv, ours = step.argv, limits_command()
        if argv[:len(ours)] == ours:
            argv = ["runsv-cgroup"] + argv[len(ours):]
        who = "" if step.run_as is None else ", as %d" % step.run_as.uid
        return "%s [%s of %s%s: %s]" % (text, step.kind, step.unit.label, who, " ".join(argv))
    particulars = [step.kind]
    if step.action is not Action.REMOVE:
        particulars.append("-> %s" % step.entry.target if step.kind == "symlink"
                           else "%04o" % step.mode)
        particulars.append("owners left" if step.uid is None else "%d:%d" % (step.uid,
                                                                             step.gid))
        if step.acl is not None:
            particulars.append("acl " + words(extended(step.acl)))
    if step.is_secret:
        particulars.append("secret")
    if step.unit is not None:
        particulars.append("of %s" % step.unit.label)
    return "%s [%s]" % (text, " ".join(map(str, particulars)))


def noop_texts(plan, quiet=("up to date",)):
    return ["%s: %s" % (noop.path, noop.reason) for noop in plan.noops
            if noop.reason not in quiet]


def copied(template, names, into):
    """Copies of ``template``'s entries ``names`` in ``into`` (``cp -a``: owners, modes, times
    and links kept): a staged root made once for a file, for each test that changes it."""
    subprocess.run(["cp", "-a"] + [str(template / name) for name in names] + [str(into)],
                   check=True, timeout=60)
    return [into / name for name in names]


def staged_root(tmp_path, passwd="root:x:0:0:root:/root:/bin/sh\n", group="root:x:0:\n"):
    """A --root DIR with its own etc/passwd and etc/group (what apply takes users from)."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(passwd)
    (root / "etc" / "group").write_text(group)
    return root
