"""schema: the accounts the data names must exist — the applier's question, asked with origins.

Rendering accepts any account (a tree can be rendered for another host); converging a host
needs them to be there, and apply never creates them. ``check_accounts_exist`` reports, each at
the file:line:column where the data writes it and with a "did you mean" where a known name is
close, every account the accounts (``--passwd``/``--group``, ``--root DIR``'s files, or this
host's) do not know:

- a login of ``users``;
- a run-as identity, whatever ``chpst -u`` the rendered tree runs with: a service's ``user``
  and ``group``, a system service's log ``user`` (``USER[:GROUP…]``: each part), a user's
  ``groups`` given in the data. chpst cannot run as an unknown one (``chpst: fatal: unknown
  user/group``), so the service would fail at every start, once a second. ::

    data/nodes/app01.yaml:3:17: users[0]: login 'deploy' does not exist (apply never creates
    accounts; add it first, or pass --passwd/--root)
    data/common.yaml:9:11: services.web.user: user 'www-dta' is not in this host's passwd;
    did you mean 'www-data'? (chpst -u would fail at every start; apply never creates accounts)

A key that ``defaults`` gave is reported where ``defaults`` writes it, once. The data names
accounts only as names (``schema/readers.py``): runit's numeric ``:uid:gid`` form is not data.
"""

from .problems import Problems, did_you_mean

RUN_AS_HINT = "chpst -u would fail at every start; apply never creates accounts"


def check_accounts_exist(data, origins, config, databases, problems=None):
    """DataError listing every login of ``data['users']`` and every run-as identity of
    ``config`` (the Config of ``data``) that ``databases`` (``accounts.databases.Databases``)
    lack. ``problems``: the ``Problems`` the data's other checks found (schema.read_config):
    these are added to them, and raised by the caller with them — one run, every problem."""
    raising = problems is None
    if raising:
        problems = Problems(origins)
    for path, login in logins_of_users(data):
        if databases.passwd.login(login) is None:
            problems.add(path, "login %r does not exist%s (apply never creates accounts; add it "
                               "first, or pass --passwd/--root)"
                         % (login, _close(login, databases.passwd)))
    for path, kind, name in run_as_names(data, config):
        if kind == "user" and not databases.has_user(name):
            problems.add(path, "user %r is not in %s%s (%s)" % (
                name, databases.passwd.source, _close(name, databases.passwd), RUN_AS_HINT))
        elif kind == "group" and not databases.has_group(name):
            problems.add(path, "group %r is not in %s%s (%s)" % (
                name, databases.group.source, _close(name, databases.group), RUN_AS_HINT))
    if raising:
        problems.raise_if_any()


def logins_of_users(data):
    """``[(key path, login)]`` of ``users``: a list of logins, or a hash of them."""
    users = data.get("users") if isinstance(data, dict) else None
    if isinstance(users, list):
        return [(("users", index), login) for index, login in enumerate(users)
                if isinstance(login, str)]
    if isinstance(users, dict):
        return [(("users", login), login) for login in users if isinstance(login, str)]
    return []


def run_as_names(data, config):
    """``[(key path, "user" or "group", name)]``: every account a ``chpst -u`` of ``config``'s
    tree runs as, at the key path that writes it (the service's own key, else ``defaults``').

    >>> from runit_provision.schema import config_from_data
    >>> from runit_provision.accounts import NO_ACCOUNTS
    >>> data = {"defaults": {"user": "app"},
    ...         "services": {"web": {"command": "w", "group": "www", "log": {"user": "l:adm"}},
    ...                      "job": {"run": "exec job"}},
    ...         "users": {"alice": {"groups": ["staff"]}}}
    >>> for found in run_as_names(data, config_from_data(data, {}, NO_ACCOUNTS)):
    ...     print(found)
    (('defaults', 'user'), 'user', 'app')
    (('services', 'web', 'group'), 'group', 'www')
    (('services', 'web', 'log', 'user'), 'user', 'l')
    (('services', 'web', 'log', 'user'), 'group', 'adm')
    (('users', 'alice', 'groups', 0), 'group', 'staff')
    """
    found = []
    trees = [(None, config.services)] + [(login, config.users[login].services)
                                         for login in sorted(config.users)]
    for tree, services in trees:
        for name in sorted(services):
            service = services[name]
            if service.ensure == "absent":
                continue  # nothing of it runs
            at = _service_path(data, tree, name)
            own = _at(data, at)
            if service.user is not None:
                found.append((_written(own, at, ("user",)), "user", service.user))
            if service.group is not None:
                found.append((_written(own, at, ("group",)), "group", service.group))
            if tree is None and service.log is not False and service.log.user is not None:
                # a user's tree runs its loggers as the user, whatever log.user says
                path = _written(own, at, ("log", "user"))
                login, *groups = service.log.user.split(":")
                found.append((path, "user", login))
                found += [(path, "group", group) for group in groups]
    for login in sorted(config.users):
        given = _at(data, ("users", login, "groups"))
        if isinstance(given, str):
            found.append((("users", login, "groups"), "group", given))
        elif isinstance(given, list):
            found += [(("users", login, "groups", index), "group", group)
                      for index, group in enumerate(given) if isinstance(group, str)]
    return found


def _service_path(data, tree, name):
    """Where a service is written: ``services.NAME`` (the system tree's, or one moved into a
    user's tree by ``owner``), or ``users.LOGIN.services.NAME``."""
    if tree is not None and isinstance(_at(data, ("users", tree, "services", name)), dict):
        return ("users", tree, "services", name)
    return ("services", name)


def _written(own, at, key):
    """The key path of ``key`` (a tuple of keys) as the service writes it, else as
    ``defaults`` does."""
    return at + key if _at(own, key) is not None else ("defaults",) + key


def _at(data, path):
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _close(name, database):
    return did_you_mean(name, database.listed(), "; did you mean %r?")
