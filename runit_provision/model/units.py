"""model: the declared units — every service directory the data declares, as every verb lists
them — and the one rule by which a name on a command line names them (docs/names.md).

``declared_units(config)``: a ``ServiceUnit`` for each system service, each user's tree
(``runsvdir-<login>``, a system service) and each user's service, in apply order.
``service_directories(config)``: the directories whose runsvdir runs them (and what else is
linked there). ``units_named(units, names)``: the units a list of names names, by the one rule every verb's
positional names and ``--only`` follow:

* ``NAME``: the system tree's service ``NAME`` (``runsvdir-LOGIN`` is one: a user's tree);
* ``LOGIN/NAME``, or ``~LOGIN/NAME`` (or ``HOME/NAME``, what a shell makes of it unquoted):
  user ``LOGIN``'s service ``NAME``;
* a bare ``NAME`` the system tree has not, but one user's tree has: that service; more than
  one user's: ambiguous, an error naming each;
* anything else: an error, with the names it may have meant (``difflib``) — never an empty
  selection.

The views (``status``, ``logs``, ``metrics``) list what is supervised that the data does not
declare too — linked by hand in the data's service directories — so they give the rule those
units as well (``supervised``: read from the host only when a name names no declared unit):
a name the data does not declare names one of them by the same rule. What ``status`` shows,
``logs`` reads.

``logged_units``: the units with a log a ``logs`` command line selects, by the same rule.

A unit's ``label`` is how every verb prints it, one of the forms accepted: ``web``,
``runsvdir-alice``, ``alice/app``. Pure: no disk.
"""

from os.path import dirname, join

from ..errors import ServiceNameError
from ..protocol.layout import LOG_DIR
from . import USER_TREE_PREFIX, log_directory, tree_log_directory

USER_MARK = "~"  # ~LOGIN/NAME: the shell's spelling of a user's, accepted as LOGIN/NAME
SEPARATOR = "/"
MAX_LISTED = 12  # declared names listed when nothing is close to a name


class ServiceUnit:
    """One declared service directory, as the verbs see it.

    ``name``: its directory's name; ``label``: how messages name it (``web``,
    ``runsvdir-alice``, ``alice/notebook``: ``label_of``); ``login``: the user whose tree it
    is in (None: the system tree); ``for_login``: the user a ``runsvdir-<login>`` runs the
    tree of (it is refused with that user); ``path``: its directory in sv_dir; ``link``: where
    it is linked (the directory runsvdir scans); ``log_dir``: svlogd's directory (None: no
    logger); ``home``: the user's home (None for the system tree). The rest are the data's
    answers the applier asks: ``has_env``, ``restart_on_change``, ``is_down``, ``is_enabled``,
    ``is_absent``, ``adopts``, ``waits_ready`` (it declares readiness: apply's wait for it
    ends when it is ready, docs/readiness.md), ``is_oneshot`` and ``reruns_on_change``
    (docs/jobs.md), ``is_timer`` (it has a ``schedule``: docs/jobs.md#timers).

    ``is_undeclared``: a service the data does not declare, supervised in one of its service
    directories (host/supervised.py makes these for the views): ``link`` is its entry there,
    ``path`` the directory its state is read from, and the data's answers are None.
    """

    __slots__ = ("name", "label", "login", "for_login", "path", "link", "log_dir", "home",
                 "has_env", "restart_on_change", "is_down", "is_enabled", "is_absent",
                 "adopts", "waits_ready", "is_undeclared", "is_oneshot", "reruns_on_change",
                 "is_timer")

    # each field by name, not a loop over **fields: a view lists every unit up to three times
    # (bench/RESULTS.md, row 72)
    def __init__(self, *, name=None, label=None, login=None, for_login=None, path=None,
                 link=None, log_dir=None, home=None, has_env=None, restart_on_change=None,
                 is_down=None, is_enabled=None, is_absent=None, adopts=None, waits_ready=None,
                 is_undeclared=None, is_oneshot=None, reruns_on_change=None, is_timer=None):
        self.name, self.label, self.login, self.for_login = name, label, login, for_login
        self.path, self.link, self.log_dir, self.home = path, link, log_dir, home
        self.has_env, self.restart_on_change, self.is_down = has_env, restart_on_change, is_down
        self.is_enabled, self.is_absent, self.adopts = is_enabled, is_absent, adopts
        self.waits_ready, self.is_undeclared = waits_ready, is_undeclared
        self.is_oneshot, self.reruns_on_change = is_oneshot, reruns_on_change
        self.is_timer = is_timer

    @property
    def has_log(self):
        return self.log_dir is not None

    @property
    def log_path(self):
        """The directory of its log side, ``log/`` in the service directory."""
        return self.path + "/" + LOG_DIR

    @property
    def log_label(self):
        """How messages name its log side (``web/log``)."""
        return self.label + "/" + LOG_DIR

    def side_paths(self):
        """The directories of the sides a runsv serves: the service, and ``log/`` when it
        logs."""
        return [self.path, self.log_path] if self.has_log else [self.path]

    def __repr__(self):
        return "ServiceUnit(%s)" % self.label


def label_of(login, name):
    """How a service is printed: ``name`` in the system tree, ``login/name`` in a user's.

    >>> label_of(None, "web"), label_of(None, "runsvdir-alice"), label_of("alice", "app")
    ('web', 'runsvdir-alice', 'alice/app')
    """
    return name if login is None else login + SEPARATOR + name


def spent_schedules(config, now_usec):
    """``[(label, schedule text)]`` of each timer of ``config`` whose schedule has no elapse
    after ``now_usec``: it never runs (a schedule that ran out since the data was written is
    no error of the data: ``apply`` warns, ``status`` says ``no next run``)."""
    trees = [(None, config.services)] + [(login, user.services)
                                         for login, user in sorted(config.users.items())]
    return [(label_of(login, name), service.schedule.text)
            for login, services in trees for name, service in sorted(services.items())
            if service.schedule is not None
            and service.schedule.parsed().next_elapse(now_usec) is None]


# The units of the config listed last: ``status NAME`` lists them three times (the names it
# is given, its rows, the logs under them), and making them was a fifth of its run. A Config
# is frozen (model/record.py), so the same object always gives the same units.
_listed = (None, ())


def declared_units(config):
    """Every declared service directory of ``config`` as a ServiceUnit, in apply order: the
    system services, each ``runsvdir-<login>``, then each user's services (a new list; the
    units are shared with the other callers of the same config: nothing changes one)."""
    global _listed
    if _listed[0] is not config:
        _listed = (config, tuple(_units_of(config)))
    return list(_listed[1])


def _units_of(config):
    units = [_unit(config.services[name], name, None, config.sv_dir, config.service_dir,
                   config.log_dir, None)
             for name in sorted(config.services)]
    for login in sorted(config.users):
        user = config.users[login]
        name = USER_TREE_PREFIX + login
        units.append(ServiceUnit(
            name=name, label=name, login=None, path=join(config.sv_dir, name),
            link=join(config.service_dir, name), log_dir=tree_log_directory(config, login),
            home=None, has_env=True, restart_on_change=True, is_down=False,
            is_enabled=True, is_absent=False, for_login=login))
    for login in sorted(config.users):
        user = config.users[login]
        units += [_unit(user.services[name], name, login, user.sv_dir, user.service_dir,
                        dirname(user.log_dir), user.home)
                  for name in sorted(user.services)]
    return units


def service_directories(config):
    """{login (None: the system's): the service directory its runsvdir scans} — where every
    verb looks for what is supervised beyond the declared units."""
    found = {None: config.service_dir}
    found.update((login, user.service_dir) for login, user in config.users.items())
    return found


def selected_units(config, labels=None):
    """The declared units of ``config`` that ``labels`` selects (``labels_named``'s; None:
    all), in the data's order."""
    units = declared_units(config)
    return units if labels is None else [unit for unit in units if unit.label in labels]


def _unit(service, name, login, sv_dir, service_dir, log_parent, home):
    return ServiceUnit(
        name=name, label=label_of(login, name), login=login,
        path=join(sv_dir, name), link=join(service_dir, name),
        log_dir=log_directory(service, log_parent), home=home,
        has_env=service.env is not None, restart_on_change=service.restart_on_change is not False,
        is_down=bool(service.down), is_enabled=service.enabled is not False,
        is_absent=service.ensure == "absent", adopts=bool(service.adopt),
        waits_ready=service.ready is not None, is_oneshot=bool(service.oneshot),
        reruns_on_change=bool(service.rerun_on_change),
        is_timer=service.schedule is not None)


# -- the one name rule ----------------------------------------------------------------------
def units_named(units, names, supervised=None):
    """The units of ``units`` that ``names`` name (the rule above), in the order named, each
    once. ServiceNameError for the first name that names none, or more than one.

    ``supervised``: None, or a function giving the units of what is supervised that the data
    does not declare (a view's), called once, only when a name names none of ``units``: such
    a name may name one of those, by the same rule."""
    found, more = [], None
    for name in names:
        named = _matching(units, name)
        if not named and supervised is not None:
            if more is None:
                more = list(supervised())
            named = _matching(more, name)
            if not named:
                raise _name_error(units + more, name, named)
        if len(named) != 1:
            raise _name_error(units, name, named)
        if named[0] not in found:
            found.append(named[0])
    return found


def labels_named(config, names, supervised=None):
    """The labels of ``config``'s units that ``names`` name (``--only``), or None when no name
    is given (everything). ServiceNameError as ``units_named`` (``supervised`` as there)."""
    if not names:
        return None
    return frozenset(unit.label for unit in units_named(declared_units(config), names,
                                                        supervised))


def logged_units(units, names, logins=(), supervised=None):
    """The units with a log that ``names`` (the rule above; ``supervised`` as for
    ``units_named``) and ``logins`` (each user's services) select — what ``logs`` reads: the
    data's in its order, then the others as named; every declared one with a log when neither
    is given. ServiceNameError for a name that names nothing, or a declared service without
    a log. A login the data gives no tree selects nothing (``logins_without_tree``)."""
    if not names and not logins:
        return [unit for unit in units if unit.log_dir is not None]
    wanted, others = set(), []
    for unit in units_named(units, names, supervised):
        if unit.is_undeclared:
            others.append(unit)
            continue
        if unit.log_dir is None:
            raise ServiceNameError("%s has no log in the data (%s)" % (
                unit.label, "ensure: absent" if unit.is_absent else "log: false"))
        wanted.add(unit.label)
    wanted.update(unit.label for unit in units if unit.login in logins and unit.log_dir)
    return [unit for unit in units if unit.label in wanted] + others


def logins_without_tree(units, logins):
    """The logins of ``logins`` that select nothing: the data gives them no tree
    (``runsvdir-LOGIN``) and no service with a log."""
    labels = {unit.label for unit in units}
    return [login for login in logins
            if (USER_TREE_PREFIX + login) not in labels
            and not any(unit.login == login and unit.log_dir for unit in units)]


def unit_named(units, name):
    """The one unit of ``units`` that ``name`` names; ServiceNameError otherwise.

    >>> def unit(login, name, tree=None):
    ...     return ServiceUnit(name=name, login=login, label=label_of(login, name),
    ...                        for_login=tree)
    >>> units = [unit(None, "web"), unit(None, "runsvdir-alice", tree="alice"),
    ...          unit("alice", "app"), unit("alice", "web"), unit("bob", "app"),
    ...          unit("bob", "notes")]
    >>> [unit_named(units, name).label for name in ("web", "alice/web", "~alice/web",
    ...                                             "notes", "runsvdir-alice")]
    ['web', 'alice/web', 'alice/web', 'bob/notes', 'runsvdir-alice']
    >>> unit_named(units, "app")
    Traceback (most recent call last):
    ...
    runit_provision.errors.ServiceNameError: 'app' is a service of more than one user: \
alice/app, bob/app (name one as LOGIN/NAME)
    >>> unit_named(units, "~bob/notse")
    Traceback (most recent call last):
    ...
    runit_provision.errors.ServiceNameError: no service '~bob/notse' in the data (did you \
mean bob/notes?)
    """
    found = _matching(units, name)
    if len(found) == 1:
        return found[0]
    raise _name_error(units, name, found)


def _matching(units, name):
    """The units of ``units`` that ``name`` names by the rule: one, none, or several (a bare
    name several users' trees have)."""
    login, bare = _parts(units, name)
    if login is not None:
        return [unit for unit in units if unit.login == login and unit.name == bare]
    found = [unit for unit in units if unit.login is None and unit.name == bare]
    if not found:
        found = [unit for unit in units if unit.login is not None and unit.name == bare]
    return found


def _name_error(units, name, found):
    """The ServiceNameError for ``name``, which names ``found`` of ``units`` (none, or more
    than one)."""
    if found:
        return ServiceNameError("%r is a service of more than one user: %s (name one as "
                                "LOGIN/NAME)" % (name, ", ".join(unit.label for unit in found)))
    return ServiceNameError("no service %r in the data (%s)" % (name, _hint(units, name)))


def _parts(units, name):
    """``(login, name)`` of a name as typed: ``(None, NAME)`` for a bare one. An absolute
    ``HOME/NAME`` in a user's home is ``~LOGIN/NAME`` as a shell expands it unquoted.

    >>> units = [ServiceUnit(name="app", login="alice", home="/home/alice")]
    >>> [_parts(units, name) for name in ("web", "alice/app", "~alice/app", "~alice")]
    [(None, 'web'), ('alice', 'app'), ('alice', 'app'), (None, '~alice')]
    >>> [_parts(units, name) for name in ("/home/alice/app", "/home/alice/sv/app")]
    [('alice', 'app'), (None, '/home/alice/sv/app')]
    """
    if name.startswith(SEPARATOR):
        for unit in units:
            home = (unit.home or "").rstrip(SEPARATOR) + SEPARATOR
            rest = name[len(home):]
            if unit.home and name.startswith(home) and rest and SEPARATOR not in rest:
                return unit.login, rest
        return None, name
    typed = name[len(USER_MARK):] if name.startswith(USER_MARK) and SEPARATOR in name else name
    login, separator, bare = typed.partition(SEPARATOR)
    return (login, bare) if separator else (None, name)


def _close_to(typed, forms, count=3, cutoff=0.6):
    """The ``count`` forms closest to ``typed``, best first: difflib's ratio, taken both ways
    (it is not symmetric: ``wrokr`` is 0.73 like ``worker``, ``worker`` 0.55 like ``wrokr``,
    and a transposition is the commonest typo).

    >>> _close_to("wrokr", ["web", "worker", "old"])
    ['worker']
    """
    import difflib  # only when a name is wrong

    def score(form):
        return max(difflib.SequenceMatcher(None, typed, form).ratio(),
                   difflib.SequenceMatcher(None, form, typed).ratio())

    scored = sorted(((score(form), form) for form in forms), key=lambda item: -item[0])
    return [form for value, form in scored[:count] if value >= cutoff]


def _hint(units, name):
    """What ``name`` may have meant: for a login, how to name their units; else the labels
    close to it (for ``LOGIN/NAME``, ``NAME`` in other trees first); else what is
    declared."""
    login, bare = _parts(units, name)
    typed = bare if login is None else label_of(login, bare)
    logins = {unit.login or unit.for_login for unit in units} - {None}
    if login is None and typed.lstrip(USER_MARK) in logins:
        user = typed.lstrip(USER_MARK)
        return ("%s is a user: %s%s is their tree, %s/NAME one of their services"
                % (user, USER_TREE_PREFIX, user, user))
    # a typed form -> the label it would be: every label, and a user's service by its name
    forms = {}
    for unit in units:
        forms.setdefault(unit.label, unit.label)
        if unit.login is not None:
            forms.setdefault(unit.name, unit.label)
    # LOGIN/NAME: NAME in the other trees first (the user is likely wrong, not the name)
    close = [unit.label for unit in units if login is not None and unit.name == bare][:3]
    for form in _close_to(typed, forms):
        if forms[form] not in close:
            close.append(forms[form])
    if close:
        return "did you mean %s?" % " or ".join(close)
    listed = []
    for word, labels in (("declared", [unit.label for unit in units if not unit.is_undeclared]),
                         ("supervised, not in the data",
                          [unit.label for unit in units if unit.is_undeclared])):
        more = len(labels) - MAX_LISTED
        if labels:
            listed.append("%s: %s%s" % (word, ", ".join(labels[:MAX_LISTED]),
                                        ", and %d more" % more if more > 0 else ""))
    return "; ".join(listed) or "it declares no service"
