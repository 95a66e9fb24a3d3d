"""cli: what a data-driven subcommand reads — data, facts and accounts — into a ``Config``.

The path every such subcommand takes: ``hiera.load(hiera=… or data=…, facts=…)`` ->
``runit_data()`` (both spellings of the data format) -> ``schema.config_from_data`` with the accounts.
Facts and accounts are inputs gathered here, at the edge: the host's, or files given on the
command line, so that the same data, facts and accounts always give the same tree.

Accounts, one database at a time: ``--passwd FILE`` / ``--group FILE``; else, with
``--root DIR``, ``DIR/etc/passwd`` / ``DIR/etc/group`` when it exists (``--root`` in
docs/apply.md, as ``useradd --root``); else the host's, through ``pwd``/``grp``.
"""

import grp
import os
import pwd

from ..accounts import Accounts, Group, Login, groups_from_file, logins_from_file
from ..hiera import load
from ..schema import config_from_data
from ..schema.logins import check_logins_exist
from .helptext import ACCOUNTS_HELP  # noqa: F401 (the commands that read inputs show it)



ROOT_HELP = ("take accounts from DIR/etc/passwd and DIR/etc/group where they exist (nothing "
             "is written under DIR)")


def add_input_arguments(parser, root_help=ROOT_HELP):
    """--data/--hiera (one of them), --facts, --root, --passwd, --group."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", metavar="FILE", help="one YAML data file")
    source.add_argument("--hiera", metavar="FILE", help="a hiera.yaml (v5)")
    parser.add_argument("--facts", metavar="FILE", help="facts (YAML/JSON) instead of the host's")
    parser.add_argument("--root", metavar="DIR", help=root_help)
    parser.add_argument("--passwd", metavar="FILE", help="a passwd(5) file to take logins from")
    parser.add_argument("--group", metavar="FILE", help="a group(5) file to take groups from")


def config_from_args(args):
    """The validated Config of the command line's data, facts and accounts."""
    return inputs_from_args(args)[0]


def inputs_from_args(args, logins_must_exist=False):
    """``(config, accounts)`` of the command line; with ``logins_must_exist`` (apply, plan,
    status) a login of ``users`` that the accounts lack is a DataError at its file:line:col."""
    data, origins = load(hiera=args.hiera, data=args.data, facts=args.facts).runit_data()
    accounts = accounts_from_args(args, logins_named(data))
    config = config_from_data(data, origins, accounts)
    if logins_must_exist:
        check_logins_exist(data, origins, accounts)
    return config, accounts


def accounts_from_args(args, logins=()):
    """The Accounts the command line names, each database from its own source; the host's
    are asked only about ``logins`` (the users the data names)."""
    passwd = _given(args.passwd, args.root, "passwd")
    group = _given(args.group, args.root, "group")
    known = logins_from_file(passwd) if passwd is not None else None
    groups = groups_from_file(group) if group is not None else None
    if known is None or groups is None:
        host = host_accounts(logins)
        known = host.logins if known is None else known
        groups = host.groups if groups is None else groups
    return Accounts(known, groups)


def logins_named(data):
    """The logins the data's ``users`` names (a list, or the keys of a hash); the schema
    reports whatever else is wrong with it."""
    users = data.get("users") if isinstance(data, dict) else None
    if isinstance(users, (list, dict)):
        return sorted({login for login in users if isinstance(login, str)})
    return []


def host_accounts(logins):
    """This host's entries for ``logins``, through the C library (NSS): one ``getpwnam`` and
    one ``getgrouplist`` each, never a listing of every account (which LDAP hosts refuse)."""
    known, groups = {}, {}
    for login in logins:
        try:
            entry = pwd.getpwnam(login)
        except KeyError:
            continue
        known[login] = Login(login, entry.pw_uid, entry.pw_gid, entry.pw_dir,
                             entry.pw_shell or "/bin/sh")
        for gid in os.getgrouplist(login, entry.pw_gid):
            try:
                name = grp.getgrgid(gid).gr_name
            except KeyError:
                continue
            members = groups.get(gid, Group(name, gid, ())).members
            groups[gid] = Group(name, gid, members + (login,))
    return Accounts(known, tuple(groups[gid] for gid in sorted(groups)))


def identities_for(passwd=None, group=None, root=None):
    """Owner names -> numbers for the applier's chown, from the same sources as the accounts
    above (``_given``: the option's file, else ROOT/etc/NAME); None when not run as root
    (owners cannot be set, so they are not managed)."""
    if os.geteuid() != 0:
        return None
    from ..apply.identities import identities_from_tables

    passwd = _given(passwd, root, "passwd")
    group = _given(group, root, "group")
    return identities_from_tables(None if passwd is None else logins_from_file(passwd),
                                  None if group is None else groups_from_file(group))


def _given(path, root, name):
    """The file a database comes from: the option's, else ROOT/etc/NAME if it exists."""
    if path is not None:
        return path
    if root is not None:
        candidate = os.path.join(root, "etc", name)
        if os.path.exists(candidate):
            return candidate
    return None
