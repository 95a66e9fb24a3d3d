"""importing: ``import PATH…`` — a tree of service directories (PATHs, or what a
``--service-dir`` links) -> the data that renders them again (``import_tree``): which
directories (``service_directories``), where they are linked from (``linked_from``), the
settings most of them agree on (``tree_settings``). A ``runsvdir-LOGIN`` of ours brings its
user's tree along (usertree.py).
"""

import collections
import os
import posixpath
import stat

from ..errors import ProvisionError
from ..model import USER_TREE_PREFIX
from ..protocol.layout import LOG_DIR, RUN
from .assemble import DEFAULTS, Settings, import_services
from .cgroup_keys import without_c_runsv_lines
from .found import is_service_dir, read_log_dir, read_service
from .hostpath import host_path
from .imported import Imported, counted
from .recognise import command_keys, log_keys
from .usertree import read_user_tree


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
