"""importing: a user's own tree — its services, read where the links of its service directory
point (``user_services``) — imported alone (``import_user``: ``import --user LOGIN``) or
along with the ``runsvdir-LOGIN`` of ours that runs it (``read_user_tree``, for
servicedirs.py).
"""

import posixpath

from ..errors import ProvisionError
from ..protocol.layout import LOG_DIR, RUN
from .assemble import DEFAULTS, Settings, import_services
from .found import is_service_dir, read_log_dir, read_service
from .imported import Imported
from .recognise import Notes, log_keys, user_tree_keys


def import_user(root, login, databases, service_dir=None, only=None):
    """The import of ``login``'s own tree (``~/service``, or ``service_dir``, and where its
    links point) into ``users: {LOGIN: {services: …}}``, whatever runs it; ``databases``:
    where the login is looked up and owners compared (``databases_for``)."""
    imported = Imported()
    account = databases.passwd.login(login)
    if account is None:
        where = databases.passwd.path
        return imported.failed(["--user %s: no such login%s" % (
            login, " in " + where if where else "")])
    home = account.home
    entry = {"home": home}
    service_dir = (service_dir or home + "/service").rstrip("/")
    if service_dir != home + "/service":
        entry["service_dir"] = service_dir
    try:
        members, sv_dir = user_services(root, login, entry, service_dir)
    except (OSError, ValueError, ProvisionError) as exc:
        return imported.failed(["%s's tree could not be read: %s" % (login, exc)])
    if only:
        members = [found for found in members if found.name in only]
    for found in members:
        _keys, directory, _why = log_keys(found.file(LOG_DIR + "/" + RUN), None)
        if directory is not None:
            read_log_dir(root, found, directory)
    system = Settings(DEFAULTS["sv_dir"], DEFAULTS["service_dir"], DEFAULTS["log_dir"], 7,
                      databases)
    trees = {None: system, login: Settings(
        sv_dir, service_dir, home + "/logs", 7, databases, login=login,
        user=entry, user_log_dir=home + "/logs/runsvdir")}
    listed, refused = [], imported.refused
    for found, data, notes in import_services(members, trees):
        if data is None:  # refused, the rest imported (as import_tree does)
            refused += [(found.base, problem) for problem in notes.problems]
            continue
        listed.append((found.name, data, notes))
        imported.changes += len(notes.changes)
        imported.said += ["%s/%s: plan would change: %s" % (login, found.name, change)
                          for change in notes.changes]
    imported.said += ["refused %s: %s" % (what, why) for what, why in refused]
    if refused and not listed:
        return imported.failed(["nothing imported: every directory was refused (above); "
                                "nothing written"])
    imported.header = ["runit-provision import --user %s: %s (%d services, %d refused)"
                       % (login, sv_dir, len(listed), len({what for what, _ in refused}))]
    imported.header += ["refused %s: %s" % (what, why) for what, why in refused]
    imported.users = [(login, entry, Notes(), listed)]
    return imported


def read_user_tree(root, base, settings, trees, founds, user_trees):
    """Read the user's tree that ``runsvdir-LOGIN`` at ``base`` runs: its entry into
    ``trees``, its services into ``founds``; None, or why it is left out."""
    try:
        tree_found = read_service(root, base, posixpath.join(settings.service_dir,
                                                             posixpath.basename(base)))
    except (OSError, ValueError) as exc:
        return str(exc)
    keys, why = user_tree_keys(tree_found)
    if keys is None:
        return why
    login, entry, service_dir, tree_log_dir, link = keys
    read_log_dir(root, tree_found, tree_log_dir)
    try:
        members, sv_dir = user_services(root, login, entry, service_dir)
    except (OSError, ValueError, ProvisionError) as exc:
        return "%s's tree could not be read: %s" % (login, exc)
    founds += members
    trees[login] = Settings(sv_dir, service_dir, posixpath.dirname(link),
                            settings.sv_timeout, settings.databases, login=login, user=entry,
                            user_log_dir=tree_log_dir)
    user_trees.append((tree_found, Notes()))
    return None


def user_services(root, login, entry, service_dir):
    """The Founds of the services of ``login``'s tree, and its sv_dir: where the links in
    ``service_dir`` point (``entry``'s home/sv when they do not agree; ``entry`` gets
    ``sv_dir`` when it is not the default)."""
    targets = [root.readlink(posixpath.join(service_dir, name))
               for name, _info in root.listdir(service_dir) if not name.startswith(".")]
    parents = {posixpath.dirname(posixpath.normpath(posixpath.join(service_dir, target)))
               for target in targets}
    sv_dir = parents.pop() if len(parents) == 1 else entry["home"] + "/sv"
    if sv_dir != entry["home"] + "/sv":
        entry["sv_dir"] = sv_dir
    members = []
    for name, _info in root.listdir(sv_dir):
        member = posixpath.join(sv_dir, name)
        if name.startswith(".") or not is_service_dir(root, member):
            continue
        found = read_service(root, member, posixpath.join(service_dir, name))
        found.tree = login
        members.append(found)
    return members, sv_dir
