"""apply: owner and group names -> the numbers the file system keeps.

The tree names owners (``root``, ``alice``, ``log``); ``chown`` wants numbers. ``Identities``
answers from tables — ``DIR/etc/passwd`` and ``DIR/etc/group`` under ``--root``, as ``useradd
--root`` does — or from this host's databases (NSS: ``getpwnam`` and ``getgrnam``, one name at
a time, never a listing). An unknown name is a ``KeyError``; the
plan reports it as a problem with the path that needs it.
"""

import grp
import pwd


class Identities:
    """``logins``: {name: (uid, gid)}, or None to ask this host; ``groups``: {name: gid}, or
    None to ask this host. Each database comes from one source, never a mix."""

    def __init__(self, logins=None, groups=None, shells=None):
        self._ask_user = logins is None
        self._ask_group = groups is None
        self.logins = {"root": (0, 0)}
        self.logins.update(logins or {})
        self.groups = {"root": 0}
        self.groups.update(groups or {})
        self.shells = dict(shells or {})  # login -> login shell, where known

    def user(self, name):
        """``(uid, primary gid)`` of login ``name``; KeyError if unknown."""
        found = self.logins.get(name)
        if found is None and self._ask_user:
            found = self.logins[name] = _host_user(name)
        if found is None:
            raise KeyError(name)
        return found

    def shell(self, name):
        """The login shell of ``name`` (passwd's last field), ``/bin/sh`` where none is
        known."""
        found = self.shells.get(name)
        if found is None and self._ask_user:
            found = self.shells[name] = _host_shell(name)
        return found or "/bin/sh"

    def gid(self, name):
        """The gid of group ``name``; KeyError if unknown."""
        found = self.groups.get(name)
        if found is None and self._ask_group:
            found = self.groups[name] = _host_group(name)
        if found is None:
            raise KeyError(name)
        return found

    def ids_of(self, owner, group):
        """``(uid, gid)`` for an entry's ``owner`` and ``group`` names: None owner is root;
        None group is the owner's primary group. KeyError names the unknown one."""
        uid, primary = self.user(owner or "root")
        return uid, primary if group is None else self.gid(group)


def identities_from_tables(passwd_logins=None, groups=None):
    """Identities from ``accounts``' tables: ``{name: Login}`` of a passwd file and the Groups
    of a group file (None: that database is this host's)."""
    logins = shells = None
    if passwd_logins is not None:
        logins = {login.name: (login.uid, login.gid) for login in passwd_logins.values()}
        shells = {login.name: login.shell for login in passwd_logins.values()}
    gids = None
    if groups is not None:
        gids = {}
        for group in groups:
            gids.setdefault(group.name, group.gid)
    return Identities(logins, gids, shells)


def _host_user(name):
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def _host_shell(name):
    try:
        return pwd.getpwnam(name).pw_shell
    except KeyError:
        return None


def _host_group(name):
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None
