"""importing: ``import --crontab [FILE…]`` — the crontabs cron reads, or those named, each read
in the format where it lies says (or ``--user``/``--system-crontab``) -> each job line a timer
service (cron.py) in its owner's tree (``import_crontabs``).
"""

import posixpath
import re
import stat

from .assemble import DEFAULTS, Settings
from .found import unread_why
from .hostpath import host_paths
from .imported import Imported, counted
from .recognise import Notes

CRONTABS = ("/etc/crontab", "/etc/cron.d", "/var/spool/cron/crontabs")
SYSTEM_CRONTABS = CRONTABS[:2]
USER_CRONTABS = "/var/spool/cron/crontabs"
_CRON_D_NAME = re.compile(r"[A-Za-z0-9_-]+\Z")  # Debian's cron reads no other name there
SYSTEM = "the system's"  # a crontab whose lines have the user field


def import_crontabs(root, paths, databases, user=None, system=False, root_dir=None,
                    cwd=None):
    """The import of crontab files (``paths``: files or directories of them, as ``host_path``
    takes them; none: what cron reads): each job line a timer service (cron.py). Which format
    a file is read in is never guessed from its lines (``*/5 * * * * backup /srv`` is either):
    ``user`` LOGIN reads each as LOGIN's crontab (no user field; none given: LOGIN's in
    USER_CRONTABS), ``system`` each as a system crontab (the user field); else where it lies
    says it — ``/etc/crontab`` and ``/etc/cron.d/*`` the system's, USER_CRONTABS/LOGIN
    LOGIN's — and a file elsewhere is a problem that names the two choices. LOGIN's jobs go
    into LOGIN's tree (root's: the system's). A line, or a file, that cannot be carried is
    refused with its ``file:line`` and why, the rest imported; each file read is said with
    its format."""
    from .cron import mail_said, read_crontab, services_of
    imported = Imported()
    problems, refused = imported.problems, imported.refused
    if not paths:
        paths = [posixpath.join(USER_CRONTABS, user)] if user else \
            SYSTEM_CRONTABS if system else CRONTABS
        given = bool(user)
    else:
        paths, given = host_paths(paths, root_dir, cwd, problems), True
    tables = []  # (file, login of a user's crontab or None, CronTable)
    for path, login in _crontab_files(root, paths, given, problems, imported.said):
        login = _crontab_owner(path, login, user, system, problems)
        if login is False:
            continue
        content, info = root.read_file(path)
        try:
            if content is None:
                raise ValueError(unread_why(info, root.read_limit))
            text = content.decode("utf-8")
        except (ValueError, UnicodeDecodeError) as exc:
            refused.append((path, str(exc)))
            continue
        if login not in (None, "root") and databases.passwd.login(login) is None:
            refused.append((path, "%s is not in the accounts (%s): whose tree its jobs go to "
                                  "cannot be told" % (login, databases.passwd.source)))
            continue
        imported.said.append("%s: read as %s" % (path, _crontab_format(login)))
        tables.append((path, login, read_crontab(text, path, system=login is None)))
    if problems:
        return imported
    if not tables:
        imported.said += ["refused %s: %s" % item for item in refused]
        return imported.failed(["nothing imported: every crontab was refused (above)"
                                 if refused else "no crontab found in %s" % ", ".join(paths)])

    def home_of(login):
        account = databases.passwd.login(login) if login else None
        return None if account is None else account.home

    trees = {}  # login -> [(CronJob, file)]; None: the system's
    for path, login, table in tables:
        refused += table.refused
        imported.said += [mail_said(*item) for item in table.mail]
        for job in table.jobs:
            if login == "root":
                job.user = "root"
            trees.setdefault(None if login in (None, "root") else login, []).append(
                (job, path))
    for login in sorted(trees, key=lambda login: login or ""):
        services = services_of(trees[login], home_of, tree_user=login)
        listed = []
        for name, data, said, where in services:
            why = _invalid_timer(name, data, login, home_of(login))
            if why:
                refused.append((where, why))
                continue
            notes = Notes()
            notes.recognised = list(data)
            notes.said = said
            listed.append((name, data, notes))
        if login is None:
            imported.services = listed
        elif listed:
            imported.users.append((login, {"home": home_of(login)}, Notes(), listed))
    imported.said += ["refused %s: %s" % item for item in refused]
    count = len(imported.services) + sum(len(u[3]) for u in imported.users)
    imported.header = ["runit-provision import --crontab: %s imported, %d refused" % (
        counted(count, "job"), len(refused))]
    imported.header += ["%s: read as %s" % (path, _crontab_format(login))
                        for path, login, _table in tables]
    imported.header += ["refused %s: %s" % item for item in refused]
    return imported


def _crontab_format(login):
    return ("a system crontab (its lines have the user field)" if login is None else
            "%s's crontab (no user field; its jobs run as %s)" % (login, login))


def _crontab_owner(path, login, user, system, problems):
    """Whose crontab ``path`` is read as: None (the system's, with the user field) or a
    LOGIN; False when that cannot be told, or the command line contradicts where it lies
    (a problem, said). ``login``: the owner where it lies (USER_CRONTABS/LOGIN), SYSTEM
    for ``/etc/crontab`` and ``/etc/cron.d``, None elsewhere."""
    if user:
        if login is SYSTEM:
            problems.append("%s is a system crontab (its lines have the user field): --user "
                            "%s reads a user's crontab; leave out --user" % (path, user))
            return False
        if login is not None and login != user:
            problems.append("%s is %s's crontab, not %s's: leave out --user, or give --user "
                            "%s" % (path, login, user, login))
            return False
        return user
    if system:
        if login not in (None, SYSTEM):
            problems.append("%s is %s's crontab (no user field): leave out --system-crontab"
                            % (path, login))
            return False
        return None
    if login is None:
        problems.append("%s: which crontab it is cannot be told from where it lies (only "
                        "/etc/crontab, /etc/cron.d/* and %s/LOGIN say it), and a line such as "
                        "'*/5 * * * * backup /srv' reads either way: give --user LOGIN for "
                        "LOGIN's crontab (no user field), or --system-crontab for a system "
                        "crontab (the user field)" % (path, USER_CRONTABS))
        return False
    return None if login is SYSTEM else login


def _crontab_files(root, paths, given, problems, said):
    """[(file, owner)] of the crontab ``paths``: a file is itself, a directory its entries
    (in cron.d: those whose name Debian's cron reads, the rest said). The owner is where the
    file lies says: SYSTEM (``/etc/crontab``, ``/etc/cron.d/*``), LOGIN (USER_CRONTABS/LOGIN),
    else None. ``given``: a path that does not exist is a problem (else it is skipped)."""
    files = []
    for path in paths:
        path = posixpath.normpath(posixpath.join("/", path))
        info = root.lstat(path)
        if info is None:
            if given:
                problems.append("%s: no such file or directory" % path)
            continue
        if not stat.S_ISDIR(info.st_mode):
            files.append((path, _crontab_place(path)))
            continue
        for name, entry in root.listdir(path):
            if not stat.S_ISREG(entry.st_mode):
                continue
            if path != USER_CRONTABS and not _CRON_D_NAME.match(name):
                if not name.startswith("."):
                    said.append("%s/%s: skipped: Debian's cron reads no file there whose "
                                "name has other than letters, digits, _ and -" % (path, name))
                continue
            files.append((posixpath.join(path, name),
                          _crontab_place(posixpath.join(path, name))))
    return files


def _crontab_place(path):
    """Whose crontab a file is by where it lies: SYSTEM, a LOGIN, or None (not told)."""
    if path == SYSTEM_CRONTABS[0] or posixpath.dirname(path) == SYSTEM_CRONTABS[1]:
        return SYSTEM
    if posixpath.dirname(path) == USER_CRONTABS:
        return posixpath.basename(path)
    return None


def _invalid_timer(name, data, login, home):
    """Why the schema or the renderer refuses one imported job's data, or None."""
    from ..accounts import NO_ACCOUNTS
    from ..errors import DataError, RenderError
    from ..render import render
    from ..schema import config_from_data
    settings = Settings(DEFAULTS["sv_dir"], DEFAULTS["service_dir"], DEFAULTS["log_dir"],
                        7).data()
    if login is None:
        tree = dict(settings, services={name: data})
    else:
        tree = dict(settings, users={login: {"home": home, "services": {name: data}}})
    try:
        render(config_from_data(tree, {}, NO_ACCOUNTS))
    except (DataError, RenderError) as exc:
        return "the translation is not valid data: %s" % exc
    return None
