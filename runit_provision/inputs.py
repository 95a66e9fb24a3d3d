"""inputs: what a data-driven verb reads — data, facts and accounts — into a ``Config``; the
one pipeline every such verb takes (render, lookup's data, plan, apply, status, metrics, logs,
restart…, verify, install-runtime), whatever prints it.

``config_of(hiera=… or data=…, facts=…, passwd=…, group=…, root=…)``: ``hiera.load`` ->
``runit_data()`` (both spellings of the data format) -> ``schema.read_config`` with the
accounts of ``accounts.databases.databases_for`` (the one rule of where accounts come from),
the host asked only about the logins the data names. Facts and accounts are inputs, like the
data: the host's, or files given, so that the same data, facts and accounts always give the
same tree.
"""

from .accounts.databases import databases_for
from .hiera import load
from .schema import read_config
from .schema.accounts import check_accounts_exist
from .schema.resources import check_controllers, resources_written
from .schema.sandbox import check_user_namespaces, check_writable_paths


def config_of(hiera=None, data=None, facts=None, passwd=None, group=None, root=None,
              accounts_must_exist=False, cgroup=None, userns=None, writable=None):
    """``(config, accounts)`` of the data (a ``hiera.yaml``, or one data file), the facts
    (None: the host's) and the accounts (``databases_for``'s rule); with
    ``accounts_must_exist`` (plan, apply, restart…, verify of the accounts' own host) a login
    of ``users`` or a run-as identity (a service's ``user``/``group``, a log's ``user``, a
    user's ``groups``) that the accounts lack is a DataError at its file:line:col
    (``schema/accounts.py``). ``cgroup``: with a limit in the data (plan, apply), called for
    the host's ``(mount, controllers)`` (``host.cgroup.cgroup_hierarchy``): a ``resources``
    key whose controller the host lacks is a DataError too (``schema/resources.py``).
    ``userns``: called for why the host refuses a user namespace (None: it does not,
    ``host.userns.user_namespaces_refused``): then a user's sandboxed service is one too.
    ``writable``: called with each writable sandbox path of a root service for why a user
    may replace it (``host.sandboxpaths``): such a path is a DataError too."""
    resolved = load(hiera=hiera, data=data, facts=facts)
    found, origins = resolved.runit_data()
    databases = databases_for(passwd, group, root)
    accounts = databases.accounts(logins_named(found))
    config, problems = read_config(found, origins, accounts)
    if accounts_must_exist and config is not None:
        # on what could be read, so that one run names these with the data's own problems
        check_accounts_exist(found, origins, config, databases, problems)
    if cgroup is not None and config is not None and resources_written(found):
        check_controllers(problems, found, *cgroup())
    refused = userns() if userns is not None and config is not None else None
    if refused is not None:
        check_user_namespaces(problems, found, refused)
    if writable is not None and config is not None:
        check_writable_paths(problems, found, writable)
    problems.raise_if_any()
    return config, accounts


def logins_named(data):
    """The logins the data's ``users`` names (a list, or the keys of a hash); the schema
    reports whatever else is wrong with it."""
    users = data.get("users") if isinstance(data, dict) else None
    if isinstance(users, (list, dict)):
        return sorted({login for login in users if isinstance(login, str)})
    return []
