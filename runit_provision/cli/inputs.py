"""cli: what a data-driven subcommand reads — data, facts and accounts — from its command line.

The options every such subcommand takes (``add_input_arguments``: its ``--data``/``--hiera``,
or the default data that ``cli/main`` filled in: ``cli/default_data.py``; ``--facts``,
``--root``, ``--passwd``, ``--group``), handed to the one pipeline (``runit_provision/inputs.py``:
data + facts + accounts -> Config) and to the one rule of which passwd and group every command
reads, import included (``accounts.databases.databases_for``).
"""

import os

from .default_data import HIERA_HELP, reads_data
from .arguments import ACCOUNTS_HELP  # noqa: F401 (the commands that read inputs show it)


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


def inputs_from_args(args, accounts_must_exist=False, cgroup=None, userns=None,
                     writable=None):
    """``(config, accounts)`` of the command line (``inputs.config_of``: with
    ``accounts_must_exist``, an account the data names and the accounts lack is a DataError
    at its file:line:col; with ``cgroup``, a limit the host's controllers cannot honour;
    with ``userns``, a user's sandbox the host's kernel refuses; with ``writable``, a root
    service's writable sandbox path a user may replace)."""
    from ..inputs import config_of

    return config_of(hiera=args.hiera, data=args.data, facts=args.facts, passwd=args.passwd,
                     group=args.group, root=args.root, accounts_must_exist=accounts_must_exist,
                     cgroup=cgroup, userns=userns, writable=writable)


class Unread:
    """The data of a view's command line could not be read: ``error`` (its DataError) and
    ``config``, the defaults' Config (``/etc/service``, under ``--root DIR``), whose service
    directories the view lists what is supervised in."""

    def __init__(self, error, config):
        self.error, self.config = error, config

    @property
    def where(self):
        """Where the view looked, as its message says it."""
        from ..model.units import service_directories

        directories = sorted(service_directories(self.config).items(),
                             key=lambda item: (item[0] is not None, item[0] or ""))
        return "%s (the default service directory)" % ", ".join(
            directory for _, directory in directories)


def config_or_unread(args):
    """``(config, None)``: the command line's Config; or, when its data cannot be read (a
    DataError), ``(config, Unread)``: the defaults' Config, where a view that must still show
    what is supervised (``status``, ``logs``, ``metrics``) looks."""
    from ..errors import DataError

    try:
        return config_from_args(args), None
    except DataError as error:
        from ..accounts import NO_ACCOUNTS
        from ..schema import config_from_data

        config = config_from_data({}, {}, NO_ACCOUNTS)
        return config, Unread(error, config)


def accounts_from_args(args, logins=()):
    """The Accounts the command line names; the host's are asked only about ``logins`` (the
    users the data names)."""
    from ..accounts.databases import databases_for

    return databases_for(args.passwd, args.group, args.root).accounts(logins)


def identities_for(passwd=None, group=None, root=None):
    """The databases the applier's chown and its commands run as a user ask (owner names ->
    numbers), the same as the accounts'; None when not run as root (owners cannot be set, so
    they are not managed)."""
    if os.geteuid() != 0:
        return None
    from ..accounts.databases import databases_for

    return databases_for(passwd, group, root)

