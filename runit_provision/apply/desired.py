"""apply: what the host should be — the rendered tree, and what the applier needs to know
about it that files alone do not say.

``desired_state(config, tree)`` gathers the declared units (``model/units.py``: for every
declared service directory — system ones, each ``runsvdir-<login>`` and the users' own — a
``ServiceUnit``: where its directory, link and log directory are, whose tree it is in, and the
data's answers to the questions the plan asks — is ``env`` declared (purge ``env/`` only
then), ``restart_on_change``, ``down``, ``enabled``, ``ensure``), those ``--only`` selects and
those it leaves out (an owed restart of theirs is kept: planner/services.py). ``role_of(path)``
says what a changed path means for the restart matrix (docs/apply.md). The profile snippet
that gives users' login shells ``SVDIR`` is added here: it is not a service file, and the
renderer knows nothing of ``/etc/profile.d``.

``services_desire`` and ``runtime_desire`` give ``session.converge`` what the host should hold,
asked under the applier's own root: the services with the init room's part (``apply``), or that
part alone (``install-runtime``). ``init: none`` asks nothing of the init room: init — and the
runtime it starts — is then somebody else's (docs/apply.md "init: none").

Pure but for what the init room reads through the ``fs`` a desire is handed: no clock.
"""

import posixpath

from ..host.owed import owed_path
from ..model import user_environment
from ..model.tree import Absent, File, Tree
from ..model.units import declared_units, selected_units, service_directories
from ..protocol.layout import SVLOGD_CONFIG
from .effects import Role, role_in_service

PROFILE_NAME = "runit-provision.sh"


class Desired:
    """The desired tree (``entries``: Tree), its ``units`` (in apply order: the system tree
    with each ``runsvdir-<login>`` first, then each user's services), ``homes`` (login ->
    home), the sv timeout and the runtime, ``commands`` and ``notes`` (initsys's), and
    ``late``: the paths of initsys's entries, in the order it gives them (``in_order``);
    ``environments``: {login: the environment commands run as that user get, as their tree
    does}; ``owed_file``: where restarts owed are written down (host/owed.py; None: nowhere);
    ``service_dirs``: {login (None: the system's): the service directory runsvdir scans}, each
    listed for what the data does not declare (host/supervised.py; empty: none is, as with
    ``--only``); ``left_out``: the declared units a selection (``--only``) left out of
    ``units``; ``caveats``: ``(path, reason)`` of what the data asks that is not root's to
    keep (``user_limits_caveats``), shown by every plan."""

    def __init__(self, tree, units, homes, sv_timeout, runtime, commands=(), notes=(),
                 late=(), environments=None, owed_file=None, service_dirs=None, left_out=(),
                 caveats=()):
        self.tree = tree
        self.caveats = list(caveats)
        self.service_dirs = dict(service_dirs or {})
        self.late = list(late)
        self.units = units
        self.left_out = list(left_out)
        self.homes = homes
        self.environments = environments or {}
        self.owed_file = owed_file
        self.sv_timeout = sv_timeout
        self.runtime = runtime
        self.commands = list(commands)
        self.notes = list(notes)
        self._roles = {}
        self._linked = None  # path -> the links of the tree that lead to it (links_to)
        self._units_by_path = {}
        for unit in units:
            self._units_by_path[unit.path] = unit
            for path, role in unit_paths(unit):
                self._roles[path] = (unit, role)

    def in_order(self):
        """The entries in the order their steps go within a phase: by path, then the init
        room's in the order it gives them (``late``: the version's files before the switch
        ``current``, the switch before the tool links that lead to it)."""
        late = set(self.late)
        entries = [entry for entry in self.tree if entry.path not in late]
        return entries + [self.tree[path] for path in self.late]

    def role_of(self, path):
        """``(unit, Role)`` for a path of a unit, or ``(None, None)`` (effects.py's table)."""
        found = self._roles.get(path)
        if found is not None:
            return found
        parent = path
        while parent.count("/") > 1:
            parent = parent.rsplit("/", 1)[0]
            unit = self._units_by_path.get(parent)
            if unit is not None:
                found = unit, role_in_service(path[len(parent) + 1:])
                self._roles[path] = found  # the plan asks again for each step
                return found
        return None, None

    def links_to(self, path):
        """``[(unit, Role)]`` of the links the tree makes to ``path`` — a distribution's
        generic service's ``run`` that its instances link to (data-format.md, ``links``):
        a change of ``path`` is a change of each of theirs."""
        if self._linked is None:
            self._linked = {}
            for entry in self.tree:
                if entry.kind != "symlink":
                    continue
                target = posixpath.normpath(posixpath.join(posixpath.dirname(entry.path),
                                                           entry.target))
                unit, role = self.role_of(entry.path)
                if unit is not None and role is not Role.LINK:
                    self._linked.setdefault(target, []).append((unit, role))
        return self._linked.get(path, [])

    @property
    def logins(self):
        """The users whose trees this apply covers (their units', ``--only``'s selection)."""
        return {unit.login or unit.for_login for unit in self.units} - {None}

    def login_of(self, path):
        """The user whose tree ``path`` is in (by home, or by a unit of theirs), or None."""
        unit, _ = self.role_of(path)
        if unit is not None and (unit.login or unit.for_login) is not None:
            return unit.login or unit.for_login
        for login, home in self.homes.items():
            if path == home or path.startswith(home.rstrip("/") + "/"):
                return login
        return None


def unit_paths(unit):
    """The paths of ``unit`` that are not inside its directory, or are it, with roles: the
    directory, its link, its log directory and svlogd's config there."""
    paths = [(unit.path, Role.DIR), (unit.link, Role.LINK)]
    if unit.log_dir is not None:
        paths += [(unit.log_dir, Role.LOG_DIR),
                  (unit.log_dir + "/" + SVLOGD_CONFIG, Role.LOG_CONFIG)]
    return paths


def service_units(config, only=None):
    """The declared units of ``config`` (model/units.py) that ``only`` selects — labels, as
    ``units.labels_named`` gives them (None: all) — and those it leaves out, in apply order."""
    units = selected_units(config, only)
    if only is None:
        return units, []
    return units, [unit for unit in declared_units(config) if unit.label not in only]


def profile_snippet(config):
    """``/etc/profile.d/runit-provision.sh``: SVDIR for each user with a tree, so that ``sv
    status NAME`` in their login shell finds their services. None when there are no users."""
    if not config.users:
        return None
    from ..protocol.canonical import is_simple_word

    lines = ["# runit-provision: SVDIR for users with a runit tree of their own, so that",
             "# sv finds their services (sv NAME looks in $SVDIR). Written by apply.",
             'case "${USER:-$(id -un 2>/dev/null)}" in']
    for login in sorted(config.users):
        directory = config.users[login].service_dir
        if not is_simple_word(login) or not is_simple_word(directory):
            continue  # the schema's home/login rules make this unreachable; never quote badly
        lines.append("  %s) SVDIR=%s; export SVDIR ;;" % (login, directory))
    lines.append("esac")
    return "\n".join(lines) + "\n"


def default_profile_dir(config):
    """Where the profile snippet goes unless told: ``etc/profile.d`` in the directory that
    holds every path of the data — ``sv_dir``, ``service_dir``, ``log_dir`` and the users'
    homes. That is ``/etc/profile.d`` for a host's data (and whenever that directory is ``/``
    or a top-level one such as ``/etc``), and the sandbox's own for data that relocates
    everything (a demo, a test): such a run never touches the host's ``/etc``.

    >>> from types import SimpleNamespace as NS
    >>> host = NS(sv_dir="/etc/sv", service_dir="/etc/service", log_dir="/var/log",
    ...           users={"alice": NS(home="/home/alice")})
    >>> sandbox = NS(sv_dir="/tmp/s/etc/sv", service_dir="/tmp/s/etc/service",
    ...              log_dir="/tmp/s/var/log", users={"alice": NS(home="/tmp/s/home/alice")})
    >>> default_profile_dir(host), default_profile_dir(sandbox)
    ('/etc/profile.d', '/tmp/s/etc/profile.d')
    >>> default_profile_dir(NS(sv_dir="/etc/sv", service_dir="/etc/service", log_dir="/etc/log",
    ...                        users={}))
    '/etc/profile.d'
    """
    paths = [config.sv_dir, config.service_dir, config.log_dir]
    paths += [user.home for user in config.users.values()]
    common = posixpath.commonpath(paths)
    if common.count("/") < 2:  # "/", or one system directory (/etc, /var…): the host's
        return "/etc/profile.d"
    return posixpath.join(common, "etc", "profile.d")


def desired_state(config, tree, only=None, profile_dir="/etc/profile.d", extra_entries=(),
                  commands=(), notes=()):
    """The Desired of ``config`` rendered as ``tree``: the tree plus the profile snippet (in
    ``profile_dir``; None: none) and ``extra_entries`` (initsys's), and every ServiceUnit —
    those ``only`` selects (labels, ``model.units.labels_named``'s; None: all)."""
    entries = Tree(tree)
    if profile_dir is not None and only is None:
        path = posixpath.join(profile_dir, PROFILE_NAME)
        text = profile_snippet(config)
        entries.add(File(path, text, 0o644) if text is not None else Absent(path))
    for entry in extra_entries:
        entries.add(entry)
    units, left_out = service_units(config, only)
    homes = {login: user.home for login, user in config.users.items()}
    return Desired(entries, units, homes, config.sv_timeout, config.runtime, commands, notes,
                   late=_paths_once(extra_entries),
                   environments={login: user_environment(user) for login, user
                                 in config.users.items()},
                   owed_file=owed_path(config.sv_dir),
                   service_dirs=service_directories(config) if only is None else {},
                   left_out=left_out, caveats=user_limits_caveats(config, units))


def user_limits_caveats(config, units):
    """``(service directory, reason)`` of each user's service among ``units`` whose data sets
    ``resources``: its cgroup is in the user's tree's, which the kernel makes the user's
    (a delegated subtree), so the user may change those limits; only
    ``users.LOGIN.resources``, on the tree's own cgroup, bounds what the user runs."""
    found = []
    for unit in units:
        if unit.login is None or unit.is_absent:
            continue
        user = config.users[unit.login]
        service = user.services.get(unit.name)
        if service is None or not service.resources:
            continue
        bound = "root's bound is users.%s.resources, on the whole tree" \
            if user.resources else "users.%s.resources sets no bound of root's on the tree"
        found.append((unit.path, "resources: the user's to change, as their tree's cgroup is "
                                 "theirs; " + bound % unit.login))
    return found


def runtime_state(config, entries, commands=(), notes=()):
    """The Desired of the runtime and its link into init alone (``install-runtime``): the
    init room's entries, commands and notes, and no service."""
    return Desired(Tree(entries), [], {}, config.sv_timeout, config.runtime, commands, notes,
                   late=_paths_once(entries))


def _paths_once(entries):
    seen = set()
    return [entry.path for entry in entries
            if not (entry.path in seen or seen.add(entry.path))]


def is_runtime_managed(config):
    """Whether ``apply`` converges the runtime and its link into init: not for ``init:
    none``."""
    return config.init != "none"


def services_desire(config, tree, only=None, profile_dir="/etc/profile.d"):
    """``desire(fs)`` for ``apply``: ``desired_state`` of ``tree`` with the init room's answer
    for the host under ``fs``'s root (an ``FsReader``, only read through)."""
    def desire(fs):
        entries = commands = notes = ()
        if is_runtime_managed(config):
            from .. import initsys  # only when asked: init: none never loads it

            runtime = initsys.desired_runtime(config, fs)
            entries, commands, notes = runtime.entries, runtime.commands, runtime.notes
        return desired_state(config, tree, only=only, profile_dir=profile_dir,
                             extra_entries=list(entries), commands=list(commands),
                             notes=list(notes))
    return desire


def runtime_desire(config, options, answers):
    """``desire(fs)`` for ``install-runtime``: the init room's answer alone, with its
    ``options``; each answer is appended to ``answers`` (the plan may ask twice)."""
    def desire(fs):
        from .. import initsys

        runtime = initsys.desired_runtime(config, fs, options=options)
        answers.append(runtime)
        return runtime_state(config, runtime.entries, runtime.commands, runtime.notes)
    return desire
