"""schema: ``users`` — a list of logins or a hash ``login -> {home, groups, sv_dir,
service_dir, log_dir, path, services, resources}`` — and each ``User`` with its defaults.

A login's home and groups come from the data, else from the accounts given
(``runit_provision.accounts``), else ``/home/LOGIN`` and no groups (``chpst -u LOGIN`` then
takes the primary group at run time); the accounts are an input, never read from the host here.
"""

from ..model import DEFAULT_PATH, USER_KEYS, User
from ..protocol.canonical import is_simple_word
from ..source import type_name
from .resources import check_memory_bounds, read_resources


def read_user_entries(read, data):
    """``[(login, key path, raw hash)]`` of ``users``; a bad login or one listed twice is a
    problem (and the entry is left out)."""
    raw_users = data.get("users")
    entries = []
    if isinstance(raw_users, list):
        for index, login in enumerate(raw_users):
            login = read.account(("users", index), login)
            if login is not None:
                entries.append((login, ("users", index), {}))
    elif isinstance(raw_users, dict):
        for login, raw in raw_users.items():
            at = ("users", login)
            if read.account(at, login) is None:
                continue
            if raw is None:
                raw = {}
            if read.hash(at, raw) is not None:
                read.problems.check_keys(at, raw, USER_KEYS)
                entries.append((login, at, raw))
    elif raw_users is not None:
        read.problems.add(("users",), "expected a list of logins or a hash, got %s"
                          % type_name(raw_users))
    logins = [login for login, _, _ in entries]
    for login in set(logins):
        if logins.count(login) > 1:
            read.problems.add(("users",), "%s is listed twice" % login)
    return entries


def build_user(read, entry, services, accounts):
    """The ``User`` of one entry of ``read_user_entries``, with the services of its tree."""
    login, at, raw = entry
    home = raw.get("home")
    if home is not None:
        home = read.abspath(at + ("home",), home)
    if home is None:
        home = accounts.home_of(login) or "/home/" + login
        if not is_simple_word(home):
            read.problems.add(at, "home %r of %s is not a simple path; give home: explicitly"
                              % (home, login))
    groups, primary = _groups(read, at, raw.get("groups"))
    if groups is None:
        groups, primary = accounts.groups_of(login)

    def path_key(key, default):
        if raw.get(key) is None:
            return default
        value = read.abspath(at + (key,), raw[key])
        return default if value is None else value

    resources = {}
    if raw.get("resources") is not None:
        resources = read_resources(read, at + ("resources",), raw["resources"]) or {}
        own = {"resources": resources}  # a user's tree has no defaults
        check_memory_bounds(read.problems, at, own, own)
    return User(login=login, home=home, groups=groups, primary_group=primary,
                sv_dir=path_key("sv_dir", home + "/sv"),
                service_dir=path_key("service_dir", home + "/service"),
                log_dir=path_key("log_dir", home + "/logs/runsvdir"),
                path=read.text(at + ("path",), raw["path"]) if raw.get("path") is not None
                else DEFAULT_PATH,
                services=services, resources=resources)


def _groups(read, at, groups):
    """``(groups, primary)`` as the data gives them, or ``(None, None)`` when it does not."""
    if groups is None:
        return None, None
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list) or not groups:
        read.problems.add(at + ("groups",), "expected a non-empty list of group names")
        return [], None
    groups = [read.account(at + ("groups", index), group) for index, group in enumerate(groups)]
    groups = [group for group in groups if group is not None]
    return groups, groups[0] if groups else None
