"""cli: what a data-driven subcommand reads — data, facts and accounts — into a ``Config``.

The path every such subcommand takes: ``hiera.load(hiera=… or data=…, facts=…)`` ->
``runit_data()`` (both spellings of SPEC §3) -> ``schema.config_from_data`` with the accounts.
Facts and accounts are inputs gathered here, at the edge: the host's, or files given on the
command line, so that the same data, facts and accounts always give the same tree.

Accounts, one database at a time: ``--passwd FILE`` / ``--group FILE``; else, with
``--root DIR``, ``DIR/etc/passwd`` / ``DIR/etc/group`` when it exists (SPEC §4's ``--root``,
as ``useradd --root``); else the host's, through ``pwd``/``grp``.
"""

import grp
import os
import pwd

from ..accounts import Accounts, Group, Login, groups_from_file, logins_from_file
from ..hiera import load
from ..schema import config_from_data

ACCOUNTS_HELP = """\
accounts: the logins and groups users' trees are rendered with (a user's home and groups,
when the data does not give them) come from --passwd FILE and --group FILE; else, with
--root DIR, from DIR/etc/passwd and DIR/etc/group where those exist; else from this host."""


def add_input_arguments(parser):
    """--data/--hiera (one of them), --facts, --root, --passwd, --group."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", metavar="FILE", help="one YAML data file")
    source.add_argument("--hiera", metavar="FILE", help="a hiera.yaml (v5)")
    parser.add_argument("--facts", metavar="FILE", help="facts (YAML/JSON) instead of the host's")
    parser.add_argument("--root", metavar="DIR",
                        help="take accounts from DIR/etc/passwd and DIR/etc/group where they "
                             "exist (nothing is written under DIR)")
    parser.add_argument("--passwd", metavar="FILE", help="a passwd(5) file to take logins from")
    parser.add_argument("--group", metavar="FILE", help="a group(5) file to take groups from")


def config_from_args(args):
    """The validated Config of the command line's data, facts and accounts."""
    data, origins = load(hiera=args.hiera, data=args.data, facts=args.facts).runit_data()
    return config_from_data(data, origins, accounts_from_args(args))


def accounts_from_args(args):
    """The Accounts the command line names, each database from its own source."""
    passwd = _given(args.passwd, args.root, "passwd")
    group = _given(args.group, args.root, "group")
    logins = logins_from_file(passwd) if passwd is not None else None
    groups = groups_from_file(group) if group is not None else None
    if logins is None or groups is None:
        host = host_accounts()
        logins = host.logins if logins is None else logins
        groups = host.groups if groups is None else groups
    return Accounts(logins, groups)


def host_accounts():
    """This host's logins and groups, through the C library (NSS)."""
    logins = {}
    for entry in pwd.getpwall():
        logins.setdefault(entry.pw_name, Login(entry.pw_name, entry.pw_uid, entry.pw_gid,
                                               entry.pw_dir))
    groups = tuple(Group(entry.gr_name, entry.gr_gid, tuple(entry.gr_mem))
                   for entry in grp.getgrall())
    return Accounts(logins, groups)


def _given(path, root, name):
    """The file a database comes from: the option's, else ROOT/etc/NAME if it exists."""
    if path is not None:
        return path
    if root is not None:
        candidate = os.path.join(root, "etc", name)
        if os.path.exists(candidate):
            return candidate
    return None
