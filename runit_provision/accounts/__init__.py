"""accounts: the logins and groups a tree is rendered for — an input, as facts are.

This module is pure and room-neutral: the records (``Login``, ``Group``, ``Accounts``) and the
parsers of passwd(5) and group(5) text (``accounts_from_text``; ``logins_from_file`` and
``groups_from_file`` read one file each). ``databases`` answers from one passwd and one group
database — a file's table or the host's — and ``host`` is the one module that asks the host's
(NSS, through ``pwd``/``grp``). Which database a command reads is decided by one rule,
``databases.databases_for`` (the command line's options): the same data, facts and accounts always give the same tree. ::

    alice:x:1000:1000:Alice:/home/alice:/bin/sh    passwd: login:password:uid:gid:gecos:home:shell
    adm:x:4:syslog,alice                           group:  name:password:gid:member,member…

Lines the C library skips are skipped here too: blank lines, ``#`` comments, NIS ``+``/``-``
entries and lines without the fields or with a non-numeric id. As ``getpwnam`` and
``getgrgid`` do, the first entry of a login or of a group id wins.
"""

from collections import namedtuple

from ..errors import DataError


class Login(namedtuple("Login", "name uid gid home shell", defaults=("/bin/sh",))):
    """One passwd entry: login ``name``, ``uid``, primary ``gid``, ``home``, ``shell``."""

    __slots__ = ()


class Group(namedtuple("Group", "name gid members")):
    """One group entry: ``name``, ``gid`` and the ``members`` listed (a tuple of logins)."""

    __slots__ = ()


class Accounts(namedtuple("Accounts", "logins groups")):
    """``logins``: {name: Login}; ``groups``: every Group in file order (a tuple)."""

    __slots__ = ()

    def home_of(self, login):
        """The home of ``login``, or None when the accounts do not know it."""
        entry = self.logins.get(login)
        return None if entry is None else entry.home

    def groups_of(self, login):
        """``(groups, primary)``: the primary group first, then the others ``login`` is a
        member of, sorted; ``([], None)`` when the login or its primary group is unknown.

        >>> accounts = accounts_from_text("alice:x:1000:1000::/home/alice:/bin/sh\\n",
        ...                               "alice:x:1000:\\nadm:x:4:syslog,alice\\n")
        >>> accounts.groups_of("alice"), accounts.groups_of("bob")
        ((['alice', 'adm'], 'alice'), ([], None))
        """
        entry = self.logins.get(login)
        if entry is None:
            return [], None
        primary = next((group.name for group in self.groups if group.gid == entry.gid), None)
        if primary is None:
            return [], None
        others = {group.name for group in self.groups
                  if login in group.members and group.name != primary}
        return [primary] + sorted(others), primary


NO_ACCOUNTS = Accounts({}, ())


def logins_from_text(text):
    """``{login: Login}`` of passwd(5) text.

    >>> logins_from_text("root:x:0:0:root:/root:/bin/sh\\n+::::::\\nbad line\\n")
    {'root': Login(name='root', uid=0, gid=0, home='/root', shell='/bin/sh')}
    """
    logins = {}
    for fields in _entries(text, 7):
        uid, gid = _number(fields[2]), _number(fields[3])
        if uid is not None and gid is not None:
            logins.setdefault(fields[0], Login(fields[0], uid, gid, fields[5],
                                               fields[6] or "/bin/sh"))
    return logins


def groups_from_text(text):
    """Every Group of group(5) text, in file order.

    >>> [(group.name, group.gid, group.members)
    ...  for group in groups_from_text("adm:x:4:syslog,alice\\nnogroup:x:65534:\\n")]
    [('adm', 4, ('syslog', 'alice')), ('nogroup', 65534, ())]
    """
    groups = []
    for fields in _entries(text, 4):
        gid = _number(fields[2])
        if gid is not None:
            groups.append(Group(fields[0], gid, tuple(name for name in fields[3].split(",")
                                                      if name)))
    return tuple(groups)


def accounts_from_text(passwd_text, group_text):
    """The Accounts of a passwd file's text and a group file's text."""
    return Accounts(logins_from_text(passwd_text), groups_from_text(group_text))


def logins_from_file(path):
    """``logins_from_text`` of a file; DataError if it cannot be read."""
    return logins_from_text(_read(path))


def groups_from_file(path):
    """``groups_from_text`` of a file; DataError if it cannot be read."""
    return groups_from_text(_read(path))


def _entries(text, size):
    for line in text.splitlines():
        if not line or line[0] in "#+-":
            continue
        fields = line.split(":")
        if len(fields) == size and fields[0]:
            yield fields


def _number(text):
    return int(text) if text.isdigit() and text.isascii() else None


def _read(path):
    try:
        with open(str(path), encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read()
    except OSError as exc:
        raise DataError("%s: cannot read: %s" % (path, exc)) from exc
