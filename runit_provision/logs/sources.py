"""logs: which log directories a view of units reads, and how they are opened — the Sources
of the units a command line selects (``logs NAME``, ``--user``: the data's loggers, and what
is supervised that the data does not declare, read where its ``log/run``'s svlogd writes),
and the last lines of the units ``status`` shows under its table. What a Source of a unit
holds is logs/declared.py's (pure; so are ``logs --dir``'s Sources, which read no data and
open no root: that view does not load this module); the host is read here, through host/
alone: its reader of a root and the opener a reader of a user's tree needs (host/fsread.py),
what else is supervised and where its logger writes (host/supervised.py).

On the daily views' path (``logs NAME``, ``status NAME``): an import that not every run
needs is made in the function that needs it — ``status NAME`` lists no service directory,
and so never loads host/supervised.py — as cli/logs.py's were before they moved here.
"""

from ..errors import ApplyError, LoginNameError, ServiceNameError
from .declared import sources_of


def selected_sources(config, names=(), logins=(), root=None, declared=True):
    """``(sources, said)``: the Sources that ``names`` (a verb's NAMEs and ``-u``, by the one
    name rule: model/units.py) and ``logins`` (``--user``: each user's services) select of
    ``config``'s units and of what is supervised in its service directories that it does not
    declare — every declared one with a log when neither is given; ``declared`` False: the
    data could not be read (``config``, the last kept or the defaults, says only where to
    look), every unit is one of those, and all of them when nothing is named. ``root``: the
    host's root (None: /). ``said``: what could not be told of a logger of an undeclared
    unit, each a line for stderr (the rest is still read).

    ServiceNameError for a name that names nothing (or a unit without a log, when named);
    LoginNameError for a login the data gives no tree."""
    from ..model.units import declared_units, logged_units, logins_without_tree

    units = declared_units(config) if declared else []
    host = []  # the FsReader what is supervised is read through, opened if it is asked

    def supervised():
        from ..host.fsread import FsReader
        from ..host.supervised import undeclared_units

        host.append(FsReader(root or "/"))
        return undeclared_units(config, units, host[0])
    try:
        if not declared and not names and not logins:
            chosen = supervised()  # nothing declared: everything supervised
        else:
            chosen = logged_units(units, names, logins, supervised)
            missing = logins_without_tree(units, logins)
            if missing:
                raise LoginNameError("no user %r with a tree in the data" % missing[0])
        others = [unit for unit in chosen if unit.is_undeclared]
        loggers, said = loggers_of(host[0], others, bool(names)) if others else ({}, [])
    finally:
        for fs in host:
            fs.close()
    return sources_under(config, chosen, root, loggers), said


def loggers_of(fs, units, named):
    """``({label: [directory]}, said)``: where the logger of each undeclared unit writes
    (host/supervised.logger_of, read through the FsReader ``fs``), and a line for each whose
    logger cannot be told; a unit ``named`` on the command line without a logger is a
    ServiceNameError, as a declared one with ``log: false`` is (one only listed is left
    out)."""
    from ..host.supervised import logger_of

    found, said = {}, []
    for unit in units:
        try:
            directories = logger_of(fs, unit)
        except ApplyError as exc:
            said.append(str(exc))
            continue
        if not directories and named:
            raise ServiceNameError("%s has no log (not in the data, and no log/ in %s)"
                                   % (unit.label, fs.host_path(unit.path)))
        found[unit.label] = directories
    return found, said


def sources_under(config, units, root=None, loggers=None):
    """A Source for each of ``units`` (with a log) of ``config`` (logs/declared.py; of an
    undeclared one, each directory ``loggers`` gives it) under ``root`` (None: /), its
    directory opened as a reader of a user's tree must (host/fsread.dir_opener)."""
    from ..host.fsread import dir_opener

    return sources_of(config, units, dir_opener(root), loggers)


def tails(config, units, count, root=None, raw=False):
    """{label: the last ``count`` lines of each of ``units``' log (declared units of
    ``config``) under ``root``, formatted as ``logs`` shows them (time, text; escaped unless
    ``raw``: for JSON, which escapes them itself)} — what ``status`` prints under its table;
    a log that cannot be read says so in its place, as each problem its reader met."""
    from ..shown import shown_name
    from .formats import Formatter
    from .view import ReadProblem, as_merged

    formatter = Formatter("short", labels=False, raw=raw)
    found = {}
    for source in sources_under(config, units, root):
        try:
            text = b"".join(formatter.chunk(as_merged(source, batch))
                            for batch in source.tail(count))
        except ReadProblem as exc:
            text = b"(unreadable: %s)\n" % shown_name(str(exc)).encode()
        for problem in source.problems:
            text += b"(%s)\n" % shown_name(problem).encode()
        found[source.label] = text
    return found
