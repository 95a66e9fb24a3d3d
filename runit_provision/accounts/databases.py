"""accounts: the passwd and group databases a command reads, and what every room asks of them.

``Databases(passwd, group)``: each database from one source, never a mix — a file's table
(``PasswdTable``, ``GroupTable``) or this host's (``HostPasswd``, ``HostGroup``, through
``host``). Which one is ``databases_for``'s rule alone (below). The same object answers
the renderer (``accounts``: the Accounts a tree is rendered with), the applier's chown and the
commands it runs as a user (``ids_of``, ``user``, ``gid``, ``shell``: names -> numbers),
import (each database's ``names``: numbers -> names) and the applier's check that the accounts
the data names exist (``has_user``, ``has_group``; each database's ``listed`` for a "did you
mean" and ``source`` for the message).

A table answers whole: the file is the accounts of the tree it belongs to. The host is asked
only about what the command names, one name or number at a time, and each answer is kept.
"""

import functools
import os

from . import Accounts, groups_from_file, host, logins_from_file


class PasswdTable:
    """A passwd file's ``{login: Login}`` (``logins_from_file``); ``path``, for messages."""

    def __init__(self, logins, path=None):
        self.table, self.path = logins, path
        self._names = {}
        for entry in logins.values():  # as getpwuid: the first entry of a uid
            self._names.setdefault(entry.uid, entry.name)

    def login(self, name):
        """The Login of ``name``, or None."""
        return self.table.get(name)

    def logins(self, names):
        """``{login: Login}``: the whole table, whatever ``names`` are asked about."""
        return self.table

    def names(self, uids):
        """``{uid: login}``: the whole table, whatever ``uids`` are asked about."""
        return self._names

    def listed(self):
        """Every login of the table."""
        return sorted(self.table)

    @property
    def source(self):
        return str(self.path) if self.path is not None else "the passwd given"


class HostPasswd:
    """This host's passwd database (NSS)."""

    path = None
    source = "this host's passwd"

    def __init__(self):
        self.login = functools.lru_cache(maxsize=None)(host.login)  # a name's Login, or None

    def logins(self, names):
        """``{login: Login}`` of those of ``names`` the host knows."""
        return _known({name: self.login(name) for name in names})

    def names(self, uids):
        """``{uid: login}`` of those of ``uids`` the host knows."""
        return _known({uid: host.login_name(uid) for uid in uids})

    def listed(self):
        """The logins of the local /etc/passwd only (``host.local_logins``): NSS is asked one
        name at a time."""
        return host.local_logins()


class GroupTable:
    """A group file's Groups in file order (``groups_from_file``); ``path``, for messages."""

    def __init__(self, groups, path=None):
        self.table, self.path = groups, path
        self._gids, self._names = {}, {}
        for group in groups:  # as getgrnam and getgrgid: the first entry wins
            self._gids.setdefault(group.name, group.gid)
            self._names.setdefault(group.gid, group.name)

    def gid(self, name):
        """The gid of group ``name``, or None."""
        return self._gids.get(name)

    def groups_of(self, logins):
        """Every Group of the table, whatever ``logins`` are asked about."""
        return self.table

    def names(self, gids):
        """``{gid: group}``: the whole table, whatever ``gids`` are asked about."""
        return self._names

    def listed(self):
        """Every group of the table."""
        return sorted(self._gids)

    @property
    def source(self):
        return str(self.path) if self.path is not None else "the group file given"


class HostGroup:
    """This host's group database (NSS)."""

    path = None
    source = "this host's groups"

    def __init__(self):
        self.gid = functools.lru_cache(maxsize=None)(host.group_gid)  # a group's gid, or None

    def groups_of(self, logins):
        """The Groups the Logins ``logins`` are in, each listing those of them in it."""
        return host.groups_of(logins)

    def names(self, gids):
        """``{gid: group}`` of those of ``gids`` the host knows."""
        return _known({gid: host.group_name(gid) for gid in gids})

    def listed(self):
        """The groups of the local /etc/group only (``host.local_groups``)."""
        return host.local_groups()


class Databases:
    """``passwd`` (a PasswdTable or HostPasswd) and ``group`` (a GroupTable or HostGroup);
    login and group ``root`` are 0 where a database does not list them."""

    def __init__(self, passwd, group):
        self.passwd, self.group = passwd, group

    def accounts(self, logins=()):
        """The Accounts a tree is rendered with: a table whole, the host's entries of
        ``logins`` (the users the data names) and the groups they are in."""
        known = self.passwd.logins(logins)
        return Accounts(known, self.group.groups_of([known[name] for name in logins
                                                     if name in known]))

    def user(self, name):
        """``(uid, primary gid)`` of login ``name``; KeyError if unknown."""
        entry = self.passwd.login(name)
        if entry is not None:
            return entry.uid, entry.gid
        if name == "root":
            return 0, 0
        raise KeyError(name)

    def has_user(self, name):
        """Whether login ``name`` is known (``root`` always is, as for ``user``)."""
        return name == "root" or self.passwd.login(name) is not None

    def has_group(self, name):
        """Whether group ``name`` is known (``root`` always is, as for ``gid``)."""
        return name == "root" or self.group.gid(name) is not None

    def shell(self, name):
        """The login shell of ``name`` (passwd's last field), ``/bin/sh`` where none is
        known."""
        entry = self.passwd.login(name)
        return "/bin/sh" if entry is None else entry.shell

    def gid(self, name):
        """The gid of group ``name``; KeyError if unknown."""
        found = self.group.gid(name)
        if found is not None:
            return found
        if name == "root":
            return 0
        raise KeyError(name)

    def uids_of(self, readers):
        """The uids of ``readers`` (a directory's, ``model.tree.Directory``): a number as it
        is, a login as ``user`` gives it; KeyError names an unknown one."""
        return [reader if isinstance(reader, int) else self.user(reader)[0]
                for reader in readers]

    def ids_of(self, owner, group):
        """``(uid, gid)`` for an entry's ``owner`` and ``group`` names: None owner is root;
        None group is the owner's primary group. KeyError names the unknown one."""
        uid, primary = self.user(owner or "root")
        return uid, primary if group is None else self.gid(group)


def _known(answers):
    return {key: value for key, value in answers.items() if value is not None}


# -- which databases: the one rule ------------------------------------------------------------
def databases_for(passwd=None, group=None, root=None):
    """The passwd and group Databases of the options ``--passwd``, ``--group`` and ``--root``
    (None: not given), one database at a time — the one rule of every command that reads
    accounts (render, plan, apply, status, verify, logs, restart…, install-runtime, import):
    the option's file; else, with ``--root DIR`` (``/`` included), ``DIR/etc/passwd`` /
    ``DIR/etc/group`` when it exists (as ``useradd --root``); else the host's (``host``, NSS).
    A file is read here (DataError if it cannot be)."""
    path = database_file(passwd, root, "passwd")
    passwd_db = HostPasswd() if path is None else PasswdTable(logins_from_file(path), path)
    path = database_file(group, root, "group")
    group_db = HostGroup() if path is None else GroupTable(groups_from_file(path), path)
    return Databases(passwd_db, group_db)


def database_file(path, root, name):
    """The file database ``name`` comes from: the option's ``path``, else ROOT/etc/NAME if it
    exists; None: the host's."""
    if path is not None:
        return path
    if root is not None:
        candidate = os.path.join(root, "etc", name)
        if os.path.exists(candidate):
            return candidate
    return None
