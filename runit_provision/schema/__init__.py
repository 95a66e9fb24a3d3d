"""schema: the runit data and the accounts -> a validated, frozen ``model.Config``.

``config_from_data(data, origins, accounts)`` takes what ``hiera`` gives (``Hiera.runit_data()``:
ONE plain dict of top-level keys in either spelling (docs/data-format.md), and the origins of its key
paths) and the logins and groups of ``runit_provision.accounts``; it returns a ``Config`` or
raises one ``DataError`` listing every problem, one line each::

    data/common.yaml:12:7: services.web.comand: unknown key (did you mean 'command'?)

Modules by concern: ``problems`` (the collector) and ``readers`` (typed readers) are the base;
``settings`` (top-level keys), ``users``, ``services`` (with ``log`` and ``check``) read the
parts; ``crosschecks`` check across services. No host reads: the same data and accounts always
give the same Config.
"""

from ..model import Config
from ..source import type_name
from .crosschecks import check_log_dirs, check_names, check_needs, check_ready_runtime
from .problems import Problems
from .readers import Readers
from .services import build_service, read_defaults, read_services
from .settings import read_settings
from .users import build_user, read_user_entries

__all__ = ["config_from_data", "read_config"]


def config_from_data(data, origins, accounts):
    """The validated ``Config`` of ``data``; ``DataError`` listing every problem otherwise.

    ``origins``: {key path: ``source.Origin``}; ``accounts``: an ``accounts.Accounts``
    (``accounts.NO_ACCOUNTS`` when none are known).
    """
    config, problems = read_config(data, origins, accounts)
    problems.raise_if_any()
    return config


def read_config(data, origins, accounts):
    """``(config, problems)``: the Config of what could be read of ``data``, and every
    problem found (``problems.Problems``: raise them with ``raise_if_any``). Each check runs
    on what the checks before it could read — the keys' forms, then across services
    (names, needs), then across the built Config (log directories, readiness) — so one run
    names every problem, and a check run after (``accounts.check_accounts_exist``) may add
    its own to the same list. ``config`` is valid only when ``problems`` holds none (a key
    that could not be read is left unset in it); None when ``data`` is no hash at all."""
    problems = Problems(origins)
    read = Readers(problems)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.add((), "expected a hash of keys, got %s" % type_name(data))
        return None, problems
    settings = read_settings(read, data)
    defaults = read_defaults(read, data)
    user_entries = read_user_entries(read, data)
    services, unread = read_services(read, data, defaults, user_entries)
    check_names(problems, services, [login for login, _, _ in user_entries])
    check_needs(problems, services, unread)

    config = _built(read, settings, defaults, user_entries, services, accounts)
    check_log_dirs(problems, config, services)
    check_ready_runtime(problems, config, services)
    return config, problems


def _built(read, settings, defaults, user_entries, services, accounts):
    """The Config: each service built into its tree, each user with the services of theirs."""
    trees = {}
    for tree, name, _, values in services:
        trees.setdefault(tree, {})[name] = build_service(name, values)
    users = {entry[0]: build_user(read, entry, trees.get(entry[0], {}), accounts)
             for entry in user_entries}
    return Config(users=users, services=trees.get(None, {}), defaults=defaults, **settings)
