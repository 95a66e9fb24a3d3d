"""accounts: this host's own account databases, asked through the C library (NSS).

The one module outside the runtime (whose programs start on their own) and verify's probe
(``checks/hostprobe.py``, run on the host verified) that asks them. One name or one number at a
time — ``getpwnam``, ``getpwuid``, ``getgrnam``, ``getgrgid``, ``getgrouplist`` — never a
listing of every account, which LDAP hosts refuse. Whatever the host does not know is None.
"""

import grp
import os
import pwd

from . import Group, Login


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


def _entry(lookup, key):
    """``lookup(key)``, or None where the host does not know ``key`` (KeyError)."""
    try:
        return lookup(key)
    except KeyError:
        return None
