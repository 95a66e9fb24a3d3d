"""apply: the plan being made — what the planner's parts share while they build it.

A ``Draft`` holds the inputs (``desired``, ``obs``, ``ids``, ``sv``, ``is_staging``) and what
the parts write: each phase's steps, the no-ops with their reasons, the problems that stop
the apply, the users refused, and the facts the later parts decide by — which paths a step
``touched`` (changes or removes), which it ``created``, and for each service which roles'
content ``changed`` (the restart matrix).
"""

import contextlib

from ...model.acl import readers_acl
from ..runner import RunAs
from ..steps import Action, NoChange, PathStep, Phase


class Draft:
    """``ids``: owner names -> numbers (None: owners are left alone); ``sv``: the argv that
    runs sv; ``is_staging``: ``--root`` — nothing is probed, started or run."""

    def __init__(self, desired, observation, identities, sv, is_staging):
        self.desired, self.obs, self.ids, self.sv = desired, observation, identities, list(sv)
        self.is_staging = is_staging
        self.phases = {phase: [] for phase in Phase}
        self.noops, self.problems, self.refusals = [], [], {}
        self.touched = set()  # every path a step creates, changes or removes
        self.created = set()
        self.changed = {}  # unit path -> the Roles whose content changes
        self.packaged = {}  # unit path -> who owns it: a package's directory is left alone
        self._id_cache = {}  # (owner, group) -> (uid, gid)

    # -- what the parts write ---------------------------------------------------------------
    def add(self, phase, step):
        self.phases[phase].append(step)
        return step

    def noop(self, path, reason):
        self.noops.append(NoChange(path, reason))

    def touch(self, path, created=False):
        self.touched.add(path)
        if created:
            self.created.add(path)

    def removal(self, phase, path, actual, reasons):
        """Remove what was found at ``path`` (``actual``; a directory with everything in
        it): what it was part of changes."""
        unit, role = self.desired.role_of(path)
        self.add(phase, PathStep(Action.REMOVE, path, "tree" if actual.kind == "directory"
                                 else actual.kind, reasons, unit=unit, before=actual.content))
        self.touch(path)
        if unit is not None:
            self.mark_changed(unit, role, path)

    def mark_changed(self, unit, role, path=None):
        """``role``'s content of ``unit`` changes — and, for ``path``, that of every link
        the tree makes to it (another service's ``run`` linked to this one's): what a change
        does reads it (effects.py)."""
        self.changed.setdefault(unit.path, set()).add(role)
        for other, other_role in (self.desired.links_to(path) if path is not None else ()):
            self.changed.setdefault(other.path, set()).add(other_role)

    # -- refusals and problems --------------------------------------------------------------
    def is_refused(self, path):
        if not self.refusals:  # the common case: no user refused, no path to look up
            return False
        login = self.desired.login_of(path)
        return login is not None and login in self.refusals

    def refuse(self, login, message):
        self.refusals.setdefault(login, message)

    @contextlib.contextmanager
    def users_part(self, path):
        """Planning ``path``: any exception raised meanwhile refuses the user whose part it is
        (their steps so far dropped with them: ``plan``), and is raised for the system's."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 — whatever a home makes fail refuses its user
            login = self.desired.login_of(path)
            if login is None:
                raise
            self.refuse(login, "cannot plan %s: %s" % (path, unexpected(exc)))

    def problem(self, path, message):
        """What cannot be applied at ``path``: in a user's part, that user is refused (the
        rest goes on); anywhere else it stops the apply."""
        login = self.desired.login_of(path) if path is not None else None
        if login is not None:
            self.refuse(login, message)
        else:
            self.problems.append((path, message))

    # -- identities -------------------------------------------------------------------------
    def want_ids(self, entry, path):
        """``(uid, gid)`` of an entry's owner and group names (``(None, None)``: owners are left
        alone, or a name is unknown — a problem at ``path``)."""
        if self.ids is None:
            return None, None
        key = (entry.owner, entry.group)
        found = self._id_cache.get(key)
        if found is not None:
            return found
        try:
            found = self._id_cache[key] = self.ids.ids_of(entry.owner, entry.group)
            return found
        except KeyError as exc:
            self.problems.append((path, "%s: %s %r is not known on this host (passwd/group)" % (
                path, "owner" if exc.args[0] in (entry.owner, "root") else "group",
                exc.args[0])))
            return None, None

    def want_acl(self, entry, path):
        """The access ACL of a directory ``entry`` with readers, each login resolved as an
        owner is (None: it has none, owners are left alone, or a reader is unknown — a
        problem at ``path``)."""
        if not entry.readers or self.ids is None:
            return None
        try:
            uids = self.ids.uids_of(entry.readers)
        except KeyError as exc:
            self.problems.append((path, "%s: reader %r is not known on this host (passwd)"
                                  % (path, exc.args[0])))
            return None
        return readers_acl(entry.mode, uids)

    def run_as(self, unit):
        """A user's services are driven as that user — sv never follows a link they planted
        with root's rights — in that user's clean environment, never root's."""
        if unit.login is None or self.ids is None:
            return None
        try:
            return RunAs.of_login(self.ids, unit.login,
                                  self.desired.environments.get(unit.login, {}))
        except KeyError:
            self.problems.append((None, "%s: login %r is not known on this host" % (
                unit.label, unit.login)))
            return None


def unexpected(exc):
    """An exception no one raised on purpose, for a refusal: its type and what it says."""
    return "%s: %s" % (type(exc).__name__, exc)
