"""cli: converging ``initsys``'s answer for ``install-runtime`` — INTERIM, until ``apply/`` lands.

The applier's room (``apply/``: observe -> plan -> converge) is being built beside this; until
it is on main, ``install-runtime`` uses this small, complete path, kept in one module so that
the switch is one import: ``plan_of`` (what would change), ``execute`` (do exactly that).

* Entries are converged in the order given (initsys gives directories and files first, links
  after, ``current`` before the tool links). A file is written to a temporary name in its
  directory, given its mode and owner, synced and renamed over; a link is made under a
  temporary name and renamed over (the atomic switch); an ``Absent`` directory is removed whole.
  Missing parents are created 0755.
* Commands: ``prepare`` ones first — and when one ran, initsys is asked again — ``before``
  ones before their paths change, then ``after`` ones whose paths changed and the untriggered
  ones. Under ``--root`` no command runs: they are reported as not run.
"""

import grp
import os
import pwd
import shutil
import stat
import subprocess
from collections import namedtuple

from ..accounts import groups_from_file, logins_from_file
from ..errors import ApplyError
from ..initsys.hostview import read_under, under

Action = namedtuple("Action", "symbol verb entry")  # symbol: + ~ -
Plan = namedtuple("Plan", "actions commands")        # commands: the ones that will run


def plan_of(entries, commands, root):
    """The actions converging ``entries`` under ``root`` takes, and those of ``commands`` that
    go with them (initsys's ``Runtime.entries`` and ``.commands``; a rendered tree and no
    commands)."""
    actions = []
    for entry in entries:
        action = _action(entry, under(root, entry.path))
        if action is not None:
            actions.append(action)
    changing = {action.entry.path for action in actions}
    commands = [cmd for cmd in commands
                if (not cmd.after and not cmd.before) or changing.intersection(cmd.after)]
    return Plan(actions, commands)


def _action(entry, target):
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return None if entry.kind == "absent" else Action("+", "create", entry)
    if entry.kind == "absent":
        return Action("-", "remove", entry)
    if entry.kind == "symlink":
        same = stat.S_ISLNK(st.st_mode) and os.readlink(target) == entry.target
    elif entry.kind == "directory":
        same = stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == entry.mode
    else:
        same = (stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == entry.mode
                and read_under("/")(target) == entry.content)
    if same and entry.kind != "symlink" and os.geteuid() == 0:
        same = (st.st_uid, st.st_gid) == _ids(entry, target)
    return None if same else Action("~", "change", entry)


def converge_runtime(ask, root, runner=None, live=None):
    """``ask() -> Runtime`` converged under ``root``: its prepare commands first — then asked
    again, since they changed what the host offers — then the plan. Returns (the last Runtime,
    its plan, the commands run). ``live``: run commands (default: only when ``root`` is ``/``;
    tests pass True with a fake ``runner``)."""
    runner = runner or run_command
    live = os.path.realpath(root) == "/" if live is None else live
    runtime = ask()
    plan = plan_of(runtime.entries, runtime.commands, root)
    ran = []
    prepared = [cmd for cmd in plan.commands if cmd.prepare]
    if prepared and live:
        for cmd in prepared:
            runner(cmd)
            ran.append(cmd)
        runtime = ask()
        plan = plan_of(runtime.entries, runtime.commands, root)
    return runtime, plan, ran + execute(plan, root, runner, live)


def execute(plan, root, runner=None, live=None):
    """Carry ``plan`` out under ``root``; returns the commands run (none under ``--root``)."""
    runner = runner or run_command
    live = os.path.realpath(root) == "/" if live is None else live
    ran = []
    changing = {action.entry.path for action in plan.actions}
    for cmd in plan.commands:
        if cmd.before and live:
            runner(cmd)
            ran.append(cmd)
    for action in plan.actions:
        _converge(action.entry, under(root, action.entry.path))
    for cmd in plan.commands:
        if not cmd.before and not cmd.prepare and live and (
                not cmd.after or changing.intersection(cmd.after)):
            runner(cmd)
            ran.append(cmd)
    return ran


def run_command(cmd):
    done = subprocess.run(list(cmd.argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise ApplyError("%s failed (exit %d): %s" % (" ".join(cmd.argv), done.returncode,
                                                      done.stdout.decode(errors="replace")
                                                      .strip()))


def _converge(entry, target):
    parent = os.path.dirname(target)
    try:
        if entry.kind != "absent":
            os.makedirs(parent, mode=0o755, exist_ok=True)
        if entry.kind == "directory":
            if os.path.islink(target) or (os.path.lexists(target) and not os.path.isdir(target)):
                os.unlink(target)
            os.makedirs(target, mode=entry.mode, exist_ok=True)
            os.chmod(target, entry.mode)
            _chown(entry, target)
        elif entry.kind == "file":
            _write_atomic(entry, target)
        elif entry.kind == "symlink":
            temp = os.path.join(parent, ".%s.rp-new" % os.path.basename(target))
            if os.path.lexists(temp):
                os.unlink(temp)
            os.symlink(entry.target, temp)
            os.rename(temp, target)  # over the old link: there is always one (the switch)
        elif entry.kind == "absent":
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            elif os.path.lexists(target):
                os.unlink(target)
    except OSError as exc:
        raise ApplyError("cannot converge %s: %s" % (target, exc.strerror or exc)) from exc


def _write_atomic(entry, target):
    temp = os.path.join(os.path.dirname(target), ".%s.rp-new" % os.path.basename(target))
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        view = memoryview(entry.content)
        while view:
            view = view[os.write(fd, view):]
        os.fchmod(fd, entry.mode)
        if os.geteuid() == 0:
            os.fchown(fd, *_ids(entry, target))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(temp, target)


def _chown(entry, target):
    if os.geteuid() == 0:
        os.lchown(target, *_ids(entry, target))


def _ids(entry, target):
    """(uid, gid) of the entry's owner and group: from the root's passwd and group files when
    the root has them, else this host's."""
    root = _root_of(entry.path, target)
    uid = _lookup(entry.owner or "root", root, "passwd")
    if entry.group is None and entry.owner not in (None, "root"):
        return uid, _primary_gid(entry.owner, root)  # a user tree: the user's primary group
    return uid, _lookup(entry.group or "root", root, "group")


def _root_of(path, target):
    return target[:len(target) - len(path)] or "/"


def _primary_gid(login, root):
    passwd = os.path.join(root, "etc", "passwd")
    if root != "/" and os.path.exists(passwd):
        entry = logins_from_file(passwd).get(login)
        if entry is not None:
            return entry.gid
    try:
        return pwd.getpwnam(login).pw_gid
    except KeyError as exc:
        raise ApplyError("no user named %s" % login) from exc


def _lookup(name, root, database):
    if name == "root":
        return 0
    if root != "/" and os.path.exists(os.path.join(root, "etc", database)):
        if database == "passwd":
            entry = logins_from_file(os.path.join(root, "etc", "passwd")).get(name)
            if entry is not None:
                return entry.uid
        else:
            for group in groups_from_file(os.path.join(root, "etc", "group")):
                if group.name == name:
                    return group.gid
    try:
        return (pwd.getpwnam(name).pw_uid if database == "passwd"
                else grp.getgrnam(name).gr_gid)
    except KeyError as exc:
        raise ApplyError("no %s named %s" % ("user" if database == "passwd" else "group",
                                              name)) from exc

