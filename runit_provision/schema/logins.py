"""schema: the logins the data names must exist — the applier's question, asked with origins.

Rendering accepts any login (a tree can be rendered for another host); converging a host needs
the accounts to be there, and apply never creates them. ``check_logins_exist`` reports every
login of ``users`` that the accounts (this host's, or ``--root DIR``'s passwd) do not know, each
at the file:line:column where the data names it::

    data/nodes/app01.yaml:3:17: users[0]: login 'deploy' does not exist (apply never creates
    accounts; add it first, or pass --passwd/--root)
"""

from .problems import Problems


def check_logins_exist(data, origins, accounts):
    """DataError listing each login of ``data['users']`` missing from ``accounts``."""
    problems = Problems(origins)
    users = data.get("users") if isinstance(data, dict) else None
    if isinstance(users, list):
        named = [(("users", index), login) for index, login in enumerate(users)]
    elif isinstance(users, dict):
        named = [(("users", login), login) for login in users]
    else:
        named = []
    for path, login in named:
        if isinstance(login, str) and login not in accounts.logins:
            problems.add(path, "login %r does not exist (apply never creates accounts; "
                               "add it first, or pass --passwd/--root)" % login)
    problems.raise_if_any()
