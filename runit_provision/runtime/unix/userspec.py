"""runtime: runit's user specs — ``user[:group...]``, ``:uid:gid...`` — resolved to ids.

Shared by chpst (``-u``/``-U`` and its personalities) and the runsvdir tree, which resolves the
``chpst -u`` of a canonical ``log/run`` to host that logger (``hostedlogger``). Facts from runit's
uidgid.c and chpst.c.
"""

import grp
import os
import pwd

from ...errors import FatalError
from ...protocol.errstr import error_str
from .scan import scan_ulong


def _uid_t(value):
    return value % (1 << 32)


def ids_from_numbers(text):
    """runit's uidgids_set(): ``uid:gid[:gid...]`` (after the leading colon) -> (uid, gids).

    Quirks kept: empty numbers are 0 (``:1:`` is uid 1, gid 0); at most 60 gids. ``None`` when
    the text is not of that form.
    """
    uid, used = scan_ulong(text)
    if text[used:used + 1] != ":":
        return None
    pos = used + 1
    gids = []
    for _ in range(60):
        gid, used = scan_ulong(text[pos:])
        pos += used
        gids.append(_uid_t(gid))
        if text[pos:pos + 1] != ":":
            break
        pos += 1
    if pos != len(text):
        return None
    return _uid_t(uid), gids


def resolve_user(spec, extended, getpwnam=pwd.getpwnam, getgrnam=grp.getgrnam,
                 database_errno=None):
    """``(uid, gids)`` for a user spec, or FatalError with runit's message.

    extended (chpst -u/-U): ``user``, ``user:group[:group...]`` (up to 60 groups, names only,
    further ones ignored as runit does), ``:uid:gid[:gid...]``. Not extended (setuidgid,
    envuidgid): an account name only. ``user`` alone gives the account's primary gid as the
    only group: runit calls no initgroups() (docs/chpst.md).

    A failed lookup is "unknown ..." unless getpwnam() left an errno, which Python's pwd and
    grp hide; ``database_errno(path)`` stands in for it (default: whether the files backend
    could open /etc/passwd or /etc/group — after ``-/`` the new root may have none).
    """
    probe = _database_errno if database_errno is None else database_errno

    def unknown(path, message, fallback):
        number = probe(path)
        if number:
            return FatalError("%s: %s" % (message, error_str(number)))
        return FatalError(fallback)

    if not extended:
        account = _lookup(getpwnam, spec)
        if account is None:
            raise unknown("/etc/passwd", "unable to get password file entry",
                          "unknown account: %s" % spec)
        return account.pw_uid, [account.pw_gid]
    if spec.startswith(":"):
        ids = ids_from_numbers(spec[1:])
        if ids is None:
            raise FatalError("invalid uid/gids: %s" % spec[1:])
        return ids
    entry = "unable to get password/group file entry"
    name, colon, groups = spec.partition(":")
    account = _lookup(getpwnam, name)
    if account is None:
        raise unknown("/etc/passwd", entry, "unknown user/group: %s" % spec)
    if not colon:
        return account.pw_uid, [account.pw_gid]
    gids = []
    for _ in range(60):
        group_name, colon, rest = groups.partition(":")
        group = _lookup(getgrnam, group_name)
        if group is None:
            raise unknown("/etc/group", entry, "unknown user/group: %s" % spec)
        gids.append(group.gr_gid)
        if not colon:
            break
        groups = rest
    return account.pw_uid, gids


def _lookup(function, name):
    try:
        return function(name)
    except (KeyError, ValueError):  # ValueError: a name with a NUL byte, never in argv
        return None


def _database_errno(path):
    """The errno glibc's files backend leaves when it cannot open ``path``; 0 if it can."""
    try:
        os.close(os.open(path, os.O_RDONLY))
    except OSError as exc:
        return exc.errno or 0
    return 0
