"""cli: ``runit-provision import`` — a host's service directories -> data (docs/import.md).

Reads (``importing.found``), proposes and confirms each service (``importing.assemble``),
writes the YAML (``importing.emit``). Exit codes: 0 imported, and ``plan`` with the data would
change nothing in what it covers; 2 imported, with changes ``plan`` would still make (listed
in the YAML's comments and on stderr); 3 imported and written, but some directories were
refused (each named on stderr with its reason, and in the YAML's header); 1 an error — every
problem on stderr, nothing written (an ``--into`` refusal included, and a run where every
directory was refused). PATHs are the shell's: relative ones from the current directory. ``--into`` says on stderr every top-level key it added or
changed.
"""

import argparse
import collections
import os
import posixpath
import stat
import sys

from ..apply.fsroot import FsRoot
from ..protocol.layout import LOG_DIR, RUN
from ..importing.assemble import DEFAULTS, Settings, import_services
from ..importing.emit import SPELLINGS, document
from ..importing.found import read_log_dir, read_service, unread_why
from ..errors import ProvisionError
from ..importing.recognise import Notes, command_keys, log_keys, user_tree_keys
from ..model import USER_TREE_PREFIX
from ..shown import shown_name
from ..accounts.databases import databases_for

DESCRIPTION = """\
Turn existing runit service directories into data for runit-provision: what is written in
the forms runit-provision renders is read back into keys (command, user, env, needs, log, …),
anything else is kept exactly as written (run: |, finish: |, log: {run: |}). Every service is
rendered again from the data and compared byte for byte with the host; what plan would still
change (a mode, an owner, a file the data has no key for) is listed, with why.

PATH is a service directory (it holds run) or a directory of them (/etc/sv), relative to
the current directory as the shell means it (with --root: the host's path, or relative from a
current directory inside DIR); --service-dir imports the services linked there. --into FILE says every top-level key it adds or changes
(on stderr) and adds no sv_dir, service_dir or log_dir (each moves every service of the node)
unless --relocate. Exit codes: 0 imported, plan would change nothing; 2 imported, plan would
change what is listed; 3 imported and written, but some directories were refused (each
named on stderr with why); 1 an error or an --into refusal (nothing written)."""


def add_parser(sub):
    parser = sub.add_parser("import", help="turn existing service directories into data",
                            description=DESCRIPTION,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", metavar="PATH", nargs="*",
                        help="a service directory, or a directory of them")
    parser.add_argument("--service-dir", metavar="DIR",
                        help="the directory of links that enable services (default "
                             "/etc/service); with no PATH, import every service linked there")
    parser.add_argument("--user", metavar="LOGIN",
                        help="import LOGIN's own tree (~/service, or --service-dir) into "
                             "users: {LOGIN: …}")
    parser.add_argument("--root", metavar="DIR",
                        help="read the host under DIR (default /; paths stay the host's)")
    parser.add_argument("--only", metavar="NAME", nargs="+", help="only these services")
    parser.add_argument("--out", metavar="FILE", help="write the YAML to FILE (default stdout)")
    parser.add_argument("--into", metavar="FILE",
                        help="add the services to this hiera data file, the rest of it kept "
                             "byte for byte (needs ruamel.yaml)")
    parser.add_argument("--replace", action="store_true",
                        help="with --into: replace services (and users) the file has already")
    parser.add_argument("--relocate", action="store_true",
                        help="with --into: add sv_dir, service_dir or log_dir where the file "
                             "has none (each moves every service of the node; refused "
                             "without it)")
    parser.add_argument("--spelling", choices=SPELLINGS, default="runit",
                        help="runit: {services: …} (default), or params: runit::services")
    parser.add_argument("--systemd", metavar="UNIT", nargs="+",
                        help="translate these systemd .service units (files, or names looked "
                             "up in /etc/systemd/system, /run/systemd/system, "
                             "/lib/systemd/system, /usr/lib/systemd/system) instead")
    parser.add_argument("--drop-unsupported", action="store_true",
                        help="with --systemd: drop a setting runit has no word for "
                             "(PrivateTmp=, MemoryMax=, ExecStartPost=, …), written as a "
                             "comment beside the service, instead of refusing the unit")
    parser.add_argument("--sv-dir", metavar="DIR", default=DEFAULTS["sv_dir"],
                        help="with --systemd: where the services will live (default /etc/sv)")
    parser.add_argument("--passwd", metavar="FILE", help="a passwd(5) file to compare owners "
                        "by, as plan does (else DIR/etc/passwd under --root where it exists, "
                        "else the host's)")
    parser.add_argument("--group", metavar="FILE", help="a group(5) file to compare groups "
                        "by, as plan does (else DIR/etc/group under --root where it exists, "
                        "else the host's)")
    return parser


EXIT_USAGE = 2  # argparse's: the command line is wrong


def run(args):
    if not args.into and (args.replace or args.relocate):
        # they say how to merge into a file: without one they would be dropped unheard
        given = [option for option, on in (("--replace", args.replace),
                                           ("--relocate", args.relocate)) if on]
        sys.stderr.write("runit-provision import: %s %s with --into FILE\n"
                         % (" and ".join(given), "go" if len(given) > 1 else "goes"))
        return EXIT_USAGE
    if args.systemd:
        return run_systemd(args)
    if args.user:
        return run_user(args)
    problems = []
    try:
        databases = databases_for(args.passwd, args.group, args.root)
    except ProvisionError as exc:
        return _fail([str(exc)])
    refused = []  # (what, why): a directory left out, the rest imported (exit 3)
    with FsRoot(args.root or "/") as root:
        bases, service_dir = service_directories(root, args, problems, refused)
        if problems:
            return _fail(problems)
        sv_dir = _common_parent(bases, problems)
        if problems:
            return _fail(problems)
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
                _say("%s: imported as a service: %s" % (posixpath.basename(base), why))
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
    services, users = [], {}
    changes = 0
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
        changes += len(notes.changes)
        for change in notes.changes:
            _say("%s: plan would change: %s" % (label, change))
        for line in notes.not_carried:
            _say("%s: not carried (apply leaves it as it is): %s" % (label, line))
    if problems:
        return _fail(problems)
    for what, why in refused:
        _say("refused %s: %s" % (what, why))
    if refused and not services and not users:
        return _fail(["nothing imported: every directory was refused (above); nothing "
                      "written"])
    header = ["runit-provision import of %s (%d services, %d users' trees, %d refused)"
              % (sv_dir, len(services), len(users), len({what for what, _ in refused}))]
    header += ["refused %s: %s" % (what, why) for what, why in refused]
    failed = _output(args, settings.data(), services, header,
                     [(login,) + users[login] for login in sorted(users)])
    if failed:
        return failed
    return SOME_REFUSED if refused else 2 if changes else 0


SOME_REFUSED = 3  # imported and written, but some directories were refused (each said)
UNIT_PATHS = ("/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system",
              "/usr/lib/systemd/system")


def run_systemd(args):
    """``import --systemd UNIT…``: each unit translated (importing.systemd), the data
    rendered together to be sure it is valid; refused units listed with their reasons."""
    from ..importing.systemd import SUFFIX, UnitError, parse_unit, translate
    problems, units, refused = [], [], []
    with FsRoot(args.root or "/") as root:
        for given in args.systemd:
            try:
                found = read_unit(root, given)
            except ValueError as exc:  # masked, not a file, not UTF-8: listed, not imported
                refused.append((posixpath.basename(given), [str(exc)]))
                continue
            except (OSError, ProvisionError) as exc:
                problems.append("%s: %s" % (given, exc))
                continue
            if found is None:
                problems.append("%s: no such unit (looked in %s)" % (given,
                                                                     ", ".join(UNIT_PATHS)))
                continue
            units.append(found)
    if problems:
        return _fail(problems)
    names = {name[:-len(SUFFIX)] for name, _texts, _socket in units}
    services = []
    for name, texts, has_socket in units:
        try:
            unit = parse_unit(name, texts)
        except UnitError as exc:
            problems.append(str(exc))
            continue
        translation = translate(unit, names, has_socket,
                                drop_unsupported=args.drop_unsupported)
        if translation.data is None:
            refused.append((name, translation.refusals))
            continue
        services.append(translation)
    if problems:
        return _fail(problems)
    services, invalid = _valid(services, args.sv_dir)
    refused += invalid
    _drop_refused_needs(services)
    for name, reasons in refused:
        for reason in reasons:
            _say("%s refused: %s" % (name, reason))
    dropped = 0
    for translation in services:
        dropped += len(translation.dropped)
        for line in translation.dropped:
            _say("%s: dropped (--drop-unsupported): %s" % (translation.name, line))
    header = ["runit-provision import --systemd: %d units translated, %d refused"
              % (len(services), len(refused))]
    header += ["refused %s: %s" % (name, reason) for name, reasons in refused
               for reason in reasons]
    listed = [(t.name, t.data, _systemd_notes(t)) for t in services]
    settings_data = {"sv_dir": args.sv_dir} if args.sv_dir != DEFAULTS["sv_dir"] else {}
    failed = _output(args, settings_data, listed, header, [])
    if failed:
        return failed
    return 2 if refused or dropped else 0


def _output(args, settings_data, services, header, users):
    """Write the YAML (stdout, ``--out``) or merge it ``--into`` a file, then say on stderr
    every top-level key the merge added or changed; an exit code on failure (nothing
    written), else None."""
    said = []
    if args.into is not None:
        from ..importing.into import MergeError, merge
        try:
            with open(args.into, encoding="utf-8") as handle:
                original = handle.read()
            text, said = merge(original, settings_data, services, users, args.spelling,
                               replace=args.replace, relocate=args.relocate)
        except (OSError, UnicodeDecodeError, MergeError) as exc:
            return _fail(["--into %s: %s" % (args.into, problem)
                          for problem in getattr(exc, "problems", [exc])])
        target = args.into
    else:
        text = document(settings_data, services, args.spelling, header, users=users)
        target = args.out
    if target is None:
        sys.stdout.write(text)
        return None
    try:
        _write_atomically(target, text)
    except OSError as exc:
        return _fail(["cannot write %s: %s" % (target, exc)])
    for line in said:
        _say("--into %s: %s" % (target, line))
    return None


def read_unit(root, given):
    """``(unit name, [(file, text)…] (the unit and its drop-ins), has a .socket)`` of a
    unit given as a file or a name; None when no such unit is found."""
    from ..importing.systemd import SUFFIX
    if "/" in given:
        path = posixpath.normpath(posixpath.join("/", given))
        content = _unit_text(root, path)
        name = posixpath.basename(given)
        return name, [(given, content)], False
    name = given if given.endswith(SUFFIX) else given + SUFFIX
    base, at, rest = name.partition("@")
    template = base + "@" + SUFFIX if at and rest != SUFFIX else None
    for directory in UNIT_PATHS:
        for candidate in (name, template):
            if candidate is None:
                continue
            path = posixpath.join(directory, candidate)
            if root.lstat(path) is None:
                continue
            texts = [(path, _unit_text(root, path))] + _drop_ins(root, candidate)
            socket = any(root.lstat(posixpath.join(d, name[:-len(SUFFIX)] + ".socket"))
                         is not None for d in UNIT_PATHS if root.lstat(d) is not None)
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
    from ..render import render
    from ..schema import config_from_data
    from ..accounts import NO_ACCOUNTS
    from ..errors import DataError, RenderError
    good, bad = [], []
    for translation in services:
        data = dict(Settings(sv_dir, DEFAULTS["service_dir"], DEFAULTS["log_dir"], 7).data(),
                    services={translation.name: translation.data})
        for dep in translation.data.get("needs", ()):
            data["services"].setdefault(dep, {"command": ["true"]})
        try:
            render(config_from_data(data, {}, NO_ACCOUNTS), only=[translation.name])
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
        if name.startswith(".") or root.lstat(posixpath.join(member, RUN)) is None:
            continue
        found = read_service(root, member, posixpath.join(service_dir, name))
        found.tree = login
        members.append(found)
    return members, sv_dir


def run_user(args):
    """``import --user LOGIN``: that user's tree (``~/service`` and where its links point)
    into ``users: {LOGIN: {services: …}}``, whatever runs it."""
    login = args.user
    try:
        databases = databases_for(args.passwd, args.group, args.root)
    except ProvisionError as exc:
        return _fail([str(exc)])
    account = databases.passwd.login(login)
    if account is None:
        where = databases.passwd.path
        return _fail(["--user %s: no such login%s" % (login, " in " + where if where else "")])
    home = account.home
    entry = {"home": home}
    service_dir = (args.service_dir or home + "/service").rstrip("/")
    if service_dir != home + "/service":
        entry["service_dir"] = service_dir
    with FsRoot(args.root or "/") as root:
        try:
            members, sv_dir = user_services(root, login, entry, service_dir)
        except (OSError, ValueError, ProvisionError) as exc:
            return _fail(["%s's tree could not be read: %s" % (login, exc)])
        if args.only:
            members = [found for found in members if found.name in args.only]
        for found in members:
            _keys, directory, _why = log_keys(found.file(LOG_DIR + "/" + RUN), None)
            if directory is not None:
                read_log_dir(root, found, directory)
    system = Settings(DEFAULTS["sv_dir"], DEFAULTS["service_dir"], DEFAULTS["log_dir"], 7,
                      databases)
    trees = {None: system, login: Settings(
        sv_dir, service_dir, home + "/logs", 7, databases, login=login,
        user=entry, user_log_dir=home + "/logs/runsvdir")}
    problems, listed, changes = [], [], 0
    for found, data, notes in import_services(members, trees):
        if data is None:
            problems += ["%s: %s" % (found.base, problem) for problem in notes.problems]
            continue
        listed.append((found.name, data, notes))
        changes += len(notes.changes)
        for change in notes.changes:
            _say("%s/%s: plan would change: %s" % (login, found.name, change))
    if problems:
        return _fail(problems)
    header = ["runit-provision import --user %s: %s (%d services)" % (login, sv_dir,
                                                                        len(listed))]
    failed = _output(args, {}, [], header, [(login, entry, Notes(), listed)])
    return failed or (2 if changes else 0)


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


def service_directories(root, args, problems, refused, cwd=None):
    """The service directories to import (the host's absolute paths, sorted by name) and the
    service dir. A PATH that holds no service is ``refused`` [(path, why)], the rest go on;
    what makes the whole set wrong (two services of one name, --only of none) is one of the
    ``problems``."""
    service_dir = (args.service_dir or DEFAULTS["service_dir"]).rstrip("/") or "/"
    bases = []
    if not args.paths:
        if args.service_dir is None:
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
    for given in args.paths:
        try:
            path = host_path(given, args.root, cwd or os.getcwd())
        except ValueError as exc:
            problems.append(str(exc))
            continue
        try:
            inner = _services_at(root, path)
        except OSError as exc:
            refused.append((path, exc.strerror or str(exc)))
            continue
        if not inner:
            refused.append((path, "neither a service directory (no run) nor a directory of "
                                  "them"))
        bases += inner
    if args.only:
        bases = [base for base in bases if posixpath.basename(base) in args.only]
        missing = sorted(set(args.only) - {posixpath.basename(base) for base in bases})
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


def _services_at(root, path):
    """``[path]`` if it is a service directory, else the service directories in it."""
    if root.lstat(path + "/" + RUN) is not None:
        return [path]
    return [posixpath.join(path, name) for name, _info in root.listdir(path)
            if not name.startswith(".") and root.lstat(posixpath.join(path, name, RUN))
            is not None]


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


def _write_atomically(path, text):
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def _fail(problems):
    for problem in problems:
        _say(problem)
    return 1


def _say(message):
    """One line on stderr, escaped: it names what was found on the host (docs/security.md,
    N7)."""
    sys.stderr.write("runit-provision import: %s\n" % shown_name(message))
