"""importing: what ``runit-provision import`` reads of a host, and the whole import of it —
a tree of service directories (``import_tree``: PATHs, or what a ``--service-dir`` links), a
user's own tree (``import_user``) or systemd units (``import_units``) -> the data that renders
them again, and what to say of it (``Imported``). The cli opens the host (``FsReader`` under
``--root``) and hands it in as ``root`` — read through it only (found.py) — then prints,
writes and picks the exit code; nothing here prints or writes.
"""

import collections
import os
import posixpath
import re
import stat

from ..errors import ProvisionError
from ..model import USER_TREE_PREFIX
from ..protocol.layout import LOG_DIR, RUN, SCHEDULE
from .assemble import DEFAULTS, Settings, import_services
from .cgroup_keys import without_c_runsv_lines
from .found import read_log_dir, read_service, unread_why
from .recognise import Notes, command_keys, log_keys, user_tree_keys

UNIT_PATHS = ("/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system",
              "/usr/lib/systemd/system")


class Imported:
    """What an import made of the host: ``settings`` (the top-level keys it adds: sv_dir…),
    ``services`` [(name, data, Notes)], ``users`` [(login, entry, Notes, [(name, data,
    Notes)])], the YAML's ``header`` lines; ``said``: the lines to tell (stderr), in order;
    ``problems``: what makes it fail — nothing is written then; ``refused``: the directories
    or units left out, [(what, why)] (the rest is imported); ``changes``: how many changes
    ``plan`` would still make; ``dropped``: settings ``--drop-unsupported`` dropped."""

    def __init__(self):
        self.settings, self.services, self.users, self.header = {}, [], [], []
        self.said, self.problems, self.refused = [], [], []
        self.changes = self.dropped = 0

    def failed(self, problems):
        self.problems += problems
        return self


def import_tree(root, paths, service_dir=None, only=None, databases=None, root_dir=None,
                cwd=None):
    """The import of the service directories at ``paths`` (the host's, as the shell means
    them: ``host_path``; ``root_dir``: ``--root``), or — with none — of those linked in
    ``service_dir``; ``only``: these names alone; owners compared through ``databases``
    (``accounts.databases.databases_for``: plan's). A ``runsvdir-LOGIN`` of ours brings its
    user's tree along (``users``)."""
    imported = Imported()
    problems, refused = imported.problems, imported.refused
    linked_in = []  # the directories of the links given as PATHs
    bases, service_dir = service_directories(root, paths, service_dir, only, root_dir,
                                             problems, refused, cwd, linked_in)
    if problems:
        return imported
    sv_dir = _common_parent(bases, problems)
    if problems:
        return imported
    if service_dir is None:
        service_dir = linked_from(root, bases, sv_dir, linked_in, problems, imported.said)
        if problems:
            return imported
    founds = []
    tree_bases = [base for base in bases
                  if posixpath.basename(base).startswith(USER_TREE_PREFIX)]
    bases = [base for base in bases if base not in tree_bases]
    for base in bases:
        try:
            founds.append(read_service(root, base, posixpath.join(
                service_dir, posixpath.basename(base))))
        except (OSError, ValueError) as exc:
            refused.append((base, str(exc)))
    settings = tree_settings(founds, sv_dir, service_dir, databases)
    trees = {None: settings}
    user_trees = []  # (found of runsvdir-LOGIN, notes)
    for base in tree_bases:
        why = read_user_tree(root, base, settings, trees, founds, user_trees)
        if why is not None:  # not ours: a service like any other
            imported.said.append("%s: imported as a service: %s" % (posixpath.basename(base),
                                                                     why))
            try:
                founds.append(read_service(root, base, posixpath.join(
                    service_dir, posixpath.basename(base))))
            except (OSError, ValueError) as exc:
                refused.append((base, str(exc)))
    for found in founds:
        run_text = found.file(LOG_DIR + "/" + RUN)
        _keys, directory, _why = log_keys(run_text, None)
        if directory is not None:
            read_log_dir(root, found, directory)
    services, users = imported.services, {}
    for found, notes in user_trees:
        login = found.name[len(USER_TREE_PREFIX):]
        users[login] = (trees[login].user, notes, [])
    for found, data, notes in import_services(founds, trees, user_trees):
        if data is None:
            refused += [(found.base, problem) for problem in notes.problems]
            continue
        (services if found.tree is None else users[found.tree][2]).append(
            (found.name, data, notes))
    for label, notes in [(name, notes) for name, _data, notes in services] + [
            (USER_TREE_PREFIX + login, notes) for login, (_e, notes, _s) in users.items()] + [
            (name, notes) for _e, _n, members in users.values() for name, _d, notes in members]:
        problems += ["%s: %s" % (label, problem) for problem in notes.problems]
        imported.changes += len(notes.changes)
        imported.said += ["%s: plan would change: %s" % (label, change)
                          for change in notes.changes]
        imported.said += ["%s: not carried (apply leaves it as it is): %s" % (label, line)
                          for line in notes.not_carried]
    if problems:
        return imported
    imported.said += ["refused %s: %s" % (what, why) for what, why in refused]
    if refused and not services and not users:
        return imported.failed(["nothing imported: every directory was refused (above); "
                                "nothing written"])
    imported.header = ["runit-provision import of %s (%s, %s, %d refused)" % (
        sv_dir, counted(len(services), "service"),
        "1 user's tree" if len(users) == 1 else "%d users' trees" % len(users),
        len({what for what, _ in refused}))]
    imported.header += ["refused %s: %s" % (what, why) for what, why in refused]
    imported.settings = settings.data()
    imported.users = [(login,) + users[login] for login in sorted(users)]
    return imported


def import_units(root, units, sv_dir=DEFAULTS["sv_dir"], drop_unsupported=False,
                 root_dir=None, cwd=None):
    """The import of systemd ``units`` (files, as ``host_path`` takes them — a unit given
    with a ``/`` is a file — or names looked up in UNIT_PATHS): each
    translated (systemd.py), the data rendered together to be sure it is valid; a unit that
    cannot be translated is refused with its reasons. A ``.timer`` brings the ``.service`` it
    starts along, as its job: one timer service (``translate_timer``), and that service is
    not imported as a daemon too."""
    from .systemd import SUFFIX, TIMER_SUFFIX, UnitError, parse_unit
    imported = Imported()
    problems, found_units, refused = imported.problems, [], []
    for given in units:
        if "/" in given:
            paths = _host_paths([given], root_dir, cwd, problems)
            if not paths:
                continue
            given = paths[0]
        try:
            found = read_unit(root, given)
        except ValueError as exc:  # masked, not a file, not UTF-8: listed, not imported
            refused.append((posixpath.basename(given), [str(exc)]))
            continue
        except (OSError, ProvisionError) as exc:
            problems.append("%s: %s" % (given, exc.strerror if isinstance(exc, OSError)
                                        and exc.strerror else exc))
            continue
        if found is None:
            problems.append("%s: no such unit (looked in %s)" % (given, ", ".join(UNIT_PATHS)))
            continue
        found_units.append((given,) + found)
    parsed = {}  # unit name -> (Unit, has a .socket, the file it was given as or None)
    for given, name, texts, has_socket in found_units:
        try:
            parsed[name] = (parse_unit(name, texts), has_socket,
                            given if "/" in given else None)
        except UnitError as exc:
            problems.append(str(exc))
    if problems:
        return imported
    jobs = {}  # timer name -> its service's Unit, or None (refused: in refused)
    for name, (timer, _socket, given) in list(parsed.items()):
        if name.endswith(TIMER_SUFFIX):
            jobs[name] = _timer_job(root, timer, given, parsed, refused, problems)
    if problems:
        return imported
    consumed = {job.name for job in jobs.values() if job is not None}
    names = {name[:-len(SUFFIX)] for name in parsed if name.endswith(SUFFIX)
             and name not in consumed} | {
        name[:-len(TIMER_SUFFIX)] for name, job in jobs.items() if job is not None}
    services = []
    for name, (unit, has_socket, _given) in parsed.items():
        if name in consumed and name not in jobs:
            continue  # a timer's job, translated with its timer
        translation = _translate_unit(root, unit, jobs, names, has_socket, drop_unsupported)
        if translation is None:
            continue
        if translation.data is None:
            refused.append((name, translation.refusals))
            continue
        services.append(translation)
    services, invalid = _valid(services, sv_dir)
    refused += invalid
    _drop_refused_needs(services)
    imported.refused = [(name, reason) for name, reasons in refused for reason in reasons]
    imported.said += ["%s refused: %s" % (name, reason) for name, reason in imported.refused]
    for translation in services:
        imported.dropped += len(translation.dropped)
        imported.said += ["%s: dropped (--drop-unsupported): %s" % (translation.name, line)
                          for line in translation.dropped]
    imported.header = ["runit-provision import --systemd: %s translated, %d refused"
                       % (counted(len(services), "unit"), len(refused))]
    imported.header += ["refused %s: %s" % item for item in imported.refused]
    imported.services = [(t.name, t.data, _systemd_notes(t)) for t in services]
    imported.settings = {"sv_dir": sv_dir} if sv_dir != DEFAULTS["sv_dir"] else {}
    return imported


def _translate_unit(root, unit, jobs, names, has_socket, drop_unsupported):
    """The Translation of one parsed unit: a timer with its job, or a service (a timer
    beside it noted); None for a timer already refused."""
    from .systemd import SUFFIX, TIMER_SUFFIX, translate, translate_timer
    if unit.name.endswith(TIMER_SUFFIX):
        job = jobs[unit.name]
        if job is None:
            return None
        translation = translate_timer(unit, job, names, drop_unsupported=drop_unsupported)
        translation.notes.append("%s: imported as this timer's job, not as a daemon too"
                                 % job.name)
        return translation
    translation = translate(unit, names, has_socket, drop_unsupported=drop_unsupported)
    timer = unit.name[:-len(SUFFIX)] + TIMER_SUFFIX
    if any(root.lstat(posixpath.join(d, timer)) is not None for d in UNIT_PATHS):
        translation.notes.append("%s exists beside it: systemd may start it on a schedule; "
                                 "import %s to carry the schedule (as a daemon it runs at "
                                 "boot, and again each time it ends)" % (timer, timer))
    return translation


def _timer_job(root, timer, given, parsed, refused, problems):
    """The ``.service`` Unit that ``timer`` starts: one given in the same run, else read beside
    the timer's file (``given``) or in UNIT_PATHS; None (the timer refused, said in
    ``refused``) when it is not a service or cannot be read."""
    from .systemd import SUFFIX, parse_unit, timer_service_name
    name, where = timer_service_name(timer)
    if not name.endswith(SUFFIX):
        refused.append((timer.name, ["%s: Unit=%s: not a .service: runit-provision runs one "
                                     "service's job on a schedule" % (where, name)]))
        return None
    if name in parsed:
        return parsed[name][0]
    beside = posixpath.join(posixpath.dirname(given), name) if given else None
    try:
        found = None
        if beside is not None and root.lstat(posixpath.normpath(posixpath.join("/", beside))) \
                is not None:
            found = read_unit(root, beside)
        found = found or read_unit(root, name)
        if found is None:
            refused.append((timer.name, ["%s: its job %s: no such unit (looked in %s)" % (
                timer.name, name, ", ".join(([posixpath.dirname(given)] if given else [])
                                            + list(UNIT_PATHS)))]))
            return None
        return parse_unit(name, found[1])
    except ValueError as exc:  # masked, not a file, a syntax error
        refused.append((timer.name, ["its job %s: %s" % (name, exc)]))
    except (OSError, ProvisionError) as exc:
        problems.append("%s: %s" % (name, exc))
    return None


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
        paths, given = _host_paths(paths, root_dir, cwd, problems), True
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


def counted(number, noun):
    """``number`` and ``noun``, plural unless one.

    >>> counted(1, "unit"), counted(0, "job"), counted(2, "service")
    ('1 unit', '0 jobs', '2 services')
    """
    return "%d %s%s" % (number, noun, "" if number == 1 else "s")


def _host_paths(paths, root_dir, cwd, problems):
    """``paths`` as the host's absolute paths (``host_path``); one that cannot be is a
    problem."""
    found = []
    for given in paths:
        try:
            found.append(host_path(given, root_dir, cwd or os.getcwd()))
        except ValueError as exc:
            problems.append(str(exc))
    return found


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


def service_directories(root, paths, service_dir, only, root_dir, problems, refused,
                        cwd=None, linked_in=None):
    """The service directories to import (the host's absolute paths, sorted by name) and the
    service dir given (None: not given — ``linked_from`` finds it): ``paths`` (as
    ``host_path`` takes them), or with none the links in ``service_dir``. A PATH that is a
    link to a service directory (``/etc/service/web``) is that directory, and the link's own
    directory is put in ``linked_in``. A PATH that holds no service is ``refused`` [(path,
    why)], the rest go on; what makes the whole set wrong (two services of one name, ``only``
    of none) is one of the ``problems``."""
    if service_dir is not None:
        service_dir = service_dir.rstrip("/") or "/"
    bases = []
    if not paths:
        if service_dir is None:
            problems.append("name the service directories (PATH…) or --service-dir DIR")
            return [], service_dir
        for name, info in root.listdir(service_dir):
            if name.startswith("."):
                continue
            path = posixpath.join(service_dir, name)
            try:
                target = root.readlink(path)
            except OSError:
                problems.append("%s is not a link: import its directory by its path" % path)
                continue
            bases.append(posixpath.normpath(posixpath.join(service_dir, target)))
    for given in paths:
        try:
            path = host_path(given, root_dir, cwd or os.getcwd())
        except ValueError as exc:
            problems.append(str(exc))
            continue
        try:
            path = _link_followed(root, path, linked_in)
            inner = _services_at(root, path)
        except OSError as exc:
            refused.append((path, exc.strerror or str(exc)))
            continue
        if not inner:
            refused.append((path, "neither a service directory (no run, no schedule) nor a "
                                  "directory of them"))
        bases += inner
    if only:
        bases = [base for base in bases if posixpath.basename(base) in only]
        missing = sorted(set(only) - {posixpath.basename(base) for base in bases})
        problems += ["--only %s: no such service" % name for name in missing]
    names = collections.Counter(posixpath.basename(base) for base in bases)
    problems += ["%s: two services of that name" % name for name, n in names.items() if n > 1]
    return sorted(set(bases), key=posixpath.basename), service_dir


def host_path(given, root_dir, cwd):
    """PATH as the host's absolute path, as the shell means it: an absolute one as it is, a
    relative one from ``cwd``. With ``--root DIR`` a path is the host's (``/etc/sv`` is
    ``DIR/etc/sv``); a relative one is taken from ``cwd`` too, which must then lie inside
    ``DIR`` (ValueError otherwise: where it points is not the host's).

    >>> host_path("sv/nginx", None, "/home/ann/void")
    '/home/ann/void/sv/nginx'
    >>> host_path("/etc/sv/", "/mnt/web1", "/tmp")
    '/etc/sv'
    >>> host_path("../sv", "/mnt/web1", "/mnt/web1/etc/service")
    '/etc/sv'
    """
    if given.startswith("/"):
        return posixpath.normpath(given)
    here = posixpath.normpath(posixpath.join(cwd, given))
    if root_dir is None:
        return here
    top = os.path.realpath(root_dir)
    if top == "/":
        return here
    if here != top and not here.startswith(top + "/"):
        raise ValueError("%s: a relative PATH with --root is taken from the current directory, "
                         "and %s is not inside %s: give the host's path (/etc/sv/NAME)"
                         % (given, here, top))
    return "/" + here[len(top):].lstrip("/")


def _link_followed(root, path, linked_in):
    """``path``, or — when it is a link to a service directory, as the links in a service
    directory are — the directory it leads to, its own directory added to ``linked_in``."""
    info = root.lstat(path)
    if info is None or not stat.S_ISLNK(info.st_mode):
        return path
    target = posixpath.normpath(posixpath.join(posixpath.dirname(path), root.readlink(path)))
    if not is_service_dir(root, target):
        return path
    if linked_in is not None and posixpath.dirname(path) not in linked_in:
        linked_in.append(posixpath.dirname(path))
    return target


# Where runsvdir scans, by convention: Debian's, Void's, runit's own first layout.
SERVICE_DIRS = ("/etc/service", "/var/service", "/service")


def linked_from(root, bases, sv_dir, linked_in, problems, said):
    """The service directory the services at ``bases`` (in ``sv_dir``) are linked from, when
    ``--service-dir`` did not say: of the directories of the links given as PATHs, the
    ``service/`` beside ``sv_dir`` (``$T/etc/service`` for ``$T/etc/sv``) and the usual ones
    (SERVICE_DIRS), the one holding links to them (a link NAME leading to ``SV_DIR/NAME``).
    None holds one: the ``service/`` beside ``sv_dir`` when it exists or is the default (each
    service is then disabled — said, unless it is the default), else no guess — one of the
    ``problems``, naming ``--service-dir``; so is a choice between two that hold links."""
    beside = posixpath.join(posixpath.dirname(sv_dir), "service")
    candidates = []
    for directory in list(linked_in) + [beside] + list(SERVICE_DIRS):
        if directory not in candidates:
            candidates.append(directory)
    linking = [(directory, names) for directory, names in
               ((directory, _linked_names(root, directory, bases)) for directory in candidates)
               if names]
    if len(linking) == 1:
        return linking[0][0]
    if linking:
        problems.append("the services of %s are linked from more than one directory (%s): "
                        "name the one runsvdir scans with --service-dir DIR" % (sv_dir, "; ".join(
                            "%s: %s" % (directory, ", ".join(names))
                            for directory, names in linking)))
        return None
    if beside == DEFAULTS["service_dir"] or _is_directory(root, beside):
        if bases and beside != DEFAULTS["service_dir"]:  # the default needs no word
            said.append("no service of %s is linked in %s (nor in %s): each is imported "
                        "disabled (enabled: false); --service-dir DIR names where they are "
                        "linked" % (sv_dir, beside, ", ".join(
                            directory for directory in candidates if directory != beside)))
        return beside
    problems.append("where the services of %s are linked cannot be told: none is linked in "
                    "%s, and there is no %s beside it — name the directory runsvdir scans "
                    "with --service-dir DIR (an empty one imports every service disabled)"
                    % (sv_dir, ", ".join(directory for directory in candidates
                                         if directory != beside), beside))
    return None


def _linked_names(root, directory, bases):
    """The names of ``bases`` that ``directory`` links (NAME -> the base, a relative target
    read from ``directory``); [] when it cannot be read."""
    names = []
    for base in bases:
        name = posixpath.basename(base)
        path = posixpath.join(directory, name)
        try:
            info = root.lstat(path)
            if info is None or not stat.S_ISLNK(info.st_mode):
                continue
            target = posixpath.normpath(posixpath.join(directory, root.readlink(path)))
        except (OSError, ProvisionError):
            continue
        if target == base:
            names.append(name)
    return names


def _is_directory(root, path):
    try:
        return root.dir_stat(path) is not None
    except (OSError, ProvisionError):
        return False


def is_service_dir(root, path):
    """A directory runsv serves: one with ``run``, or a timer's (``schedule``: our runsv
    starts its ``job`` and needs no ``run``; assemble says when the C runsv's is missing)."""
    return any(root.lstat(posixpath.join(path, name)) is not None for name in (RUN, SCHEDULE))


def _services_at(root, path):
    """``[path]`` if it is a service directory, else the service directories in it."""
    if is_service_dir(root, path):
        return [path]
    return [posixpath.join(path, name) for name, _info in root.listdir(path)
            if not name.startswith(".") and is_service_dir(root, posixpath.join(path, name))]


def _common_parent(bases, problems):
    parents = sorted({posixpath.dirname(base) for base in bases})
    if len(parents) > 1:
        problems.append("the services lie in %s: one sv_dir at a time (import each "
                        "separately)" % ", ".join(parents))
        return None
    return parents[0] if parents else DEFAULTS["sv_dir"]


def tree_settings(founds, sv_dir, service_dir, databases):
    """The settings the most services agree on: ``log_dir`` (the parent of most canonical
    log directories named after their service) and ``sv_timeout`` (of most needs guards);
    owners are compared through ``databases`` (``databases_for``: plan's accounts)."""
    log_parents, timeouts = collections.Counter(), collections.Counter()
    for found in founds:
        _keys, directory, _why = log_keys(found.file(LOG_DIR + "/" + RUN), None)
        if directory is not None and posixpath.basename(directory) == found.name:
            log_parents[posixpath.dirname(directory)] += 1
        text = found.file(RUN)
        text = text and (without_c_runsv_lines(text, True) or text)  # runtime: system's line
        keys, _why = command_keys(text.decode("utf-8", "replace") if text else "", sv_dir,
                                  None, found.base)
        for timeout in (keys or {}).get("_timeouts", ()):
            timeouts[timeout] += 1
    log_dir = _most_common(log_parents, DEFAULTS["log_dir"])
    timeout = _most_common(timeouts, str(DEFAULTS["sv_timeout"]))
    return Settings(sv_dir, service_dir, log_dir, int(timeout) if timeout.isdigit() else 7,
                    databases)


def _most_common(counter, default):
    if not counter:
        return default
    return sorted(counter.items(), key=lambda item: (-item[1], item[0] != default, item[0]))[0][0]


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
    login, entry, service_dir, tree_log_dir = keys
    read_log_dir(root, tree_found, tree_log_dir)
    try:
        members, sv_dir = user_services(root, login, entry, service_dir)
    except (OSError, ValueError, ProvisionError) as exc:
        return "%s's tree could not be read: %s" % (login, exc)
    founds += members
    trees[login] = Settings(sv_dir, service_dir, posixpath.dirname(tree_log_dir),
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


def read_unit(root, given):
    """``(unit name, [(file, text)…] (the unit and its drop-ins), has a .socket)`` of a
    unit given as a file or a name (``NAME.timer`` for a timer; a bare name is a service);
    None when no such unit is found."""
    from .systemd import SUFFIX, TIMER_SUFFIX
    if "/" in given:
        path = posixpath.normpath(posixpath.join("/", given))
        content = _unit_text(root, path)
        name = posixpath.basename(given)
        return name, [(given, content)], False
    suffix = TIMER_SUFFIX if given.endswith(TIMER_SUFFIX) else SUFFIX
    name = given if given.endswith(suffix) else given + suffix
    base, at, rest = name.partition("@")
    template = base + "@" + suffix if at and rest != suffix else None
    for directory in UNIT_PATHS:
        for candidate in (name, template):
            if candidate is None:
                continue
            path = posixpath.join(directory, candidate)
            if root.lstat(path) is None:
                continue
            texts = [(path, _unit_text(root, path))] + _drop_ins(root, candidate)
            socket = suffix == SUFFIX and any(
                root.lstat(posixpath.join(d, name[:-len(SUFFIX)] + ".socket")) is not None
                for d in UNIT_PATHS if root.lstat(d) is not None)
            return name, texts, socket
    return None


def _unit_text(root, path, hops=5):
    """The text of the unit file at ``path``; an alias (a link to another unit file, root's)
    is followed; ValueError for a masked unit (a link to /dev/null) or anything else."""
    info = root.lstat(path)
    if info is not None and stat.S_ISLNK(info.st_mode):
        target = root.readlink(path)
        if target == "/dev/null":
            raise ValueError("masked (a link to /dev/null)")
        if info.st_uid != 0 or hops == 0:
            raise ValueError("a link not followed (not root's, or too many)")
        return _unit_text(root, posixpath.normpath(posixpath.join(posixpath.dirname(path),
                                                                  target)), hops - 1)
    content, info = root.read_file(path)
    if content is None:
        raise ValueError(unread_why(info, root.read_limit))
    return content.decode("utf-8")


def _drop_ins(root, unit_file_name):
    texts = []
    for directory in UNIT_PATHS:
        drop_dir = posixpath.join(directory, unit_file_name + ".d")
        for entry, _info in root.listdir(drop_dir):
            if entry.endswith(".conf"):
                content, _ = root.read_file(posixpath.join(drop_dir, entry))
                if content is not None:
                    texts.append((posixpath.join(drop_dir, entry), content.decode("utf-8")))
    return texts


def _valid(services, sv_dir):
    """The translations whose data the schema takes and renders, and [(name, [why])] of the
    rest."""
    from ..accounts import NO_ACCOUNTS
    from ..errors import DataError, RenderError
    from ..render import render
    from ..render.environment import make_environment
    from ..schema import config_from_data
    good, bad = [], []
    environment = make_environment()  # one for every translation: templates compiled once
    for translation in services:
        data = dict(Settings(sv_dir, DEFAULTS["service_dir"], DEFAULTS["log_dir"], 7).data(),
                    services={translation.name: translation.data})
        for dep in translation.data.get("needs", ()):
            data["services"].setdefault(dep, {"command": ["true"]})
        try:
            render(config_from_data(data, {}, NO_ACCOUNTS), only=[translation.name],
                   environment=environment)
        except (DataError, RenderError) as exc:
            bad.append((translation.name, ["the translation is not valid data: %s" % exc]))
            continue
        good.append(translation)
    return good, bad


def _drop_refused_needs(services):
    """A need on a unit that was refused is no need: runsv would wait for it forever."""
    kept = {translation.name for translation in services}
    for translation in services:
        needs = translation.data.get("needs")
        if not needs:
            continue
        gone = [name for name in needs if name not in kept]
        if gone:
            translation.notes.append("not a need (refused): %s" % ", ".join(gone))
            needs = [name for name in needs if name in kept]
            if needs:
                translation.data["needs"] = needs
            else:
                del translation.data["needs"]


def _systemd_notes(translation):
    notes = Notes()
    notes.recognised = list(translation.data)
    notes.said = list(translation.notes) + ["dropped (--drop-unsupported): %s" % line
                                            for line in translation.dropped]
    return notes
