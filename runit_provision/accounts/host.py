"""accounts: this host's own account databases, asked through the C library (NSS).

The one module outside the runtime (whose programs start on their own) and verify's probe
(``checks/hostprobe.py``, run on the host verified) that asks them. One name or one number at a
time — ``getpwnam``, ``getpwuid``, ``getgrnam``, ``getgrgid``, ``getgrouplist`` — never a
listing of every account, which LDAP hosts refuse. Whatever the host does not know is None.
Only for a "did you mean" after a name was not found are names listed, and then from the local
files alone (``/etc/passwd``, ``/etc/group``: NSS's ``files``), never through NSS.
"""

import grp
import os
import pwd

from ..errors import DataError
from . import Group, Login, groups_from_file, logins_from_file

PASSWD_FILE, GROUP_FILE = "/etc/passwd", "/etc/group"


def login(name):
    """The Login of ``name`` (``getpwnam``), or None."""
    entry = _entry(pwd.getpwnam, name)
    return None if entry is None else Login(name, entry.pw_uid, entry.pw_gid, entry.pw_dir,
                                            entry.pw_shell or "/bin/sh")


def login_name(uid):
    """The login of ``uid`` (``getpwuid``: the first entry with it), or None."""
    entry = _entry(pwd.getpwuid, uid)
    return None if entry is None else entry.pw_name


def group_gid(name):
    """The gid of group ``name`` (``getgrnam``), or None."""
    entry = _entry(grp.getgrnam, name)
    return None if entry is None else entry.gr_gid


def group_name(gid):
    """The name of group ``gid`` (``getgrgid``: the first entry with it), or None."""
    entry = _entry(grp.getgrgid, gid)
    return None if entry is None else entry.gr_name


def groups_of(logins):
    """The Groups the Logins ``logins`` are in — each one's primary group and every group that
    lists it (``getgrouplist``) — by gid, each with those of ``logins`` in it as members."""
    groups = {}
    for entry in logins:
        for gid in os.getgrouplist(entry.name, entry.gid):
            name = group_name(gid)
            if name is None:
                continue
            members = groups.get(gid, Group(name, gid, ())).members
            groups[gid] = Group(name, gid, members + (entry.name,))
    return tuple(groups[gid] for gid in sorted(groups))


def local_logins():
    """The logins of the local ``/etc/passwd`` (none if it cannot be read): the names a "did
    you mean" is drawn from."""
    try:
        return sorted(logins_from_file(PASSWD_FILE))
    except DataError:
        return []


def local_groups():
    """The groups of the local ``/etc/group`` (none if it cannot be read), as
    ``local_logins``."""
    try:
        return sorted({group.name for group in groups_from_file(GROUP_FILE)})
    except DataError:
        return []


def _entry(lookup, key):
    """``lookup(key)``, or None where the host does not know ``key`` (KeyError)."""
    try:
        return lookup(key)
    except KeyError:
        return None
