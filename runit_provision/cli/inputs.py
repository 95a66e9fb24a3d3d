"""cli: what a data-driven subcommand reads — data, facts and accounts — into a ``Config``.

The path every such subcommand takes (its ``--data``/``--hiera``, or the default data that
``cli/main`` filled in: ``cli/default_data.py``): ``hiera.load(hiera=… or data=…,
facts=…)`` -> ``runit_data()`` (both spellings of the data format) -> ``schema.config_from_data`` with the accounts.
Facts and accounts are inputs gathered here, at the edge: the host's, or files given on the
command line, so that the same data, facts and accounts always give the same tree.

Accounts, one database at a time — the one rule of every command that reads them (render,
plan, apply, status, verify, logs, restart/start/stop, install-runtime, import):
``--passwd FILE`` / ``--group FILE``; else, with ``--root DIR`` (``/`` included),
``DIR/etc/passwd`` / ``DIR/etc/group`` when it exists (``--root`` in docs/apply.md,
as ``useradd --root``); else the host's (``accounts.host``, NSS). ``databases_for`` applies it;
the ``accounts.databases.Databases`` it gives answers rendering, chown and import alike.
"""

import os

from .default_data import HIERA_HELP, reads_data
from .helptext import ACCOUNTS_HELP  # noqa: F401 (the commands that read inputs show it)



ROOT_HELP = ("take accounts from DIR/etc/passwd and DIR/etc/group where they exist (nothing "
             "is written under DIR)")


def add_input_arguments(parser, root_help=ROOT_HELP):
    """--data/--hiera (at most one of them; none: the default, cli/default_data.py), --facts,
    --root, --passwd, --group."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data", metavar="FILE", help="one YAML data file")
    source.add_argument("--hiera", metavar="FILE", help=HIERA_HELP)
    reads_data(parser)
    parser.add_argument("--facts", metavar="FILE", help="facts (YAML/JSON) instead of the host's")
    parser.add_argument("--root", metavar="DIR", help=root_help)
    parser.add_argument("--passwd", metavar="FILE", help="a passwd(5) file to take logins from")
    parser.add_argument("--group", metavar="FILE", help="a group(5) file to take groups from")


def config_from_args(args):
    """The validated Config of the command line's data, facts and accounts."""
    return inputs_from_args(args)[0]


def inputs_from_args(args, accounts_must_exist=False):
    """``(config, accounts)`` of the command line; with ``accounts_must_exist`` (plan, apply,
    restart/start/stop, verify of the accounts' own host) a login of ``users`` or a run-as
    identity (a service's ``user``/``group``, a log's ``user``, a user's ``groups``) that the
    accounts lack is a DataError at its file:line:col (``schema/accounts.py``)."""
    found = read_inputs(args, accounts_must_exist)
    return found.config, found.accounts


class Inputs:
    """What the command line's inputs made — ``config``, ``accounts`` — and what went into
    them: ``hiera`` (the Hiera read: its files, ``Hiera.consulted``), ``databases`` and
    ``logins`` (the users the data names, whose accounts were asked). What
    cli/cached_config.py keeps a Config by."""

    def __init__(self, config, accounts, hiera, databases, logins):
        self.config, self.accounts, self.hiera = config, accounts, hiera
        self.databases, self.logins = databases, logins


def read_inputs(args, accounts_must_exist=False):
    """The Inputs of the command line (``inputs_from_args``)."""
    # here, not at the top: a Config kept by cli/cached_config.py is read without YAML
    from ..hiera import load
    from ..schema import config_from_data
    from ..schema.accounts import check_accounts_exist

    hiera = load(hiera=args.hiera, data=args.data, facts=args.facts)
    data, origins = hiera.runit_data()
    databases = databases_for(args.passwd, args.group, args.root)
    logins = logins_named(data)
    accounts = databases.accounts(logins)
    config = config_from_data(data, origins, accounts)
    if accounts_must_exist:
        check_accounts_exist(data, origins, config, databases)
    return Inputs(config, accounts, hiera, databases, logins)


def accounts_from_args(args, logins=()):
    """The Accounts the command line names; the host's are asked only about ``logins`` (the
    users the data names)."""
    return databases_for(args.passwd, args.group, args.root).accounts(logins)


def logins_named(data):
    """The logins the data's ``users`` names (a list, or the keys of a hash); the schema
    reports whatever else is wrong with it."""
    users = data.get("users") if isinstance(data, dict) else None
    if isinstance(users, (list, dict)):
        return sorted({login for login in users if isinstance(login, str)})
    return []


def identities_for(passwd=None, group=None, root=None):
    """The databases the applier's chown and its commands run as a user ask (owner names ->
    numbers), the same as the accounts'; None when not run as root (owners cannot be set, so
    they are not managed)."""
    if os.geteuid() != 0:
        return None
    return databases_for(passwd, group, root)


def databases_for(passwd=None, group=None, root=None):
    """The passwd and group Databases of the options ``--passwd``, ``--group`` and ``--root``
    (None: not given), each by the rule above; a file is read here (DataError if it cannot
    be)."""
    from ..accounts import groups_from_file, logins_from_file
    from ..accounts.databases import Databases, GroupTable, HostGroup, HostPasswd, PasswdTable

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
