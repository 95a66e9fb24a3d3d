"""importing: ``import --systemd UNIT…`` — systemd units found on the host (``read_unit``: a
file, or a name looked up in UNIT_PATHS, with its drop-ins) -> each translated (systemd.py),
a timer with the service it starts, the data rendered to be sure it is valid
(``import_units``).
"""

import posixpath
import stat

from ..errors import ProvisionError
from .assemble import DEFAULTS, Settings
from .found import unread_why
from .hostpath import host_paths
from .imported import Imported, counted
from .recognise import Notes

UNIT_PATHS = ("/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system",
              "/usr/lib/systemd/system")


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
            paths = host_paths([given], root_dir, cwd, problems)
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
