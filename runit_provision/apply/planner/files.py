"""apply: the planner's paths — every desired entry against what was observed, the parents
that are missing, the service links, undeclared files purged, a package's directory left alone.

``FilesPlanner(draft).plan()`` writes ``PathStep``s into the phases ``files``, ``links``,
``purge``, ``system links`` and ``user links``, a no-op for every path up to date, and into
``draft.changed`` the roles whose content changes (the restart matrix's facts). A path the
applier will not replace (a directory where a file goes, a link someone else planted) is a
problem: the user's refusal in a user's part, else the apply's.
"""

import posixpath

from ...model.acl import extended, words
from ...protocol.process.envfile import value_bytes
from ...protocol.layout import PACKAGE_META, PACKAGE_NAME
from ..desired import Role
from ..fsroot import temp_name
from ..steps import Action, PathStep, Phase

KIND_NAMES = {"other": "special file (FIFO, socket or device)", "symlink": "symbolic link"}
UP_TO_DATE = "up to date"
NOT_DECLARED = "not declared"


class Difference:
    """How an entry differs from what is there: ``reasons`` for people ([] = nothing), and
    whether the difference ``changes_content`` — another kind, other bytes, another target,
    a file that could not be read and is replaced whole — rather than only mode or owner."""

    __slots__ = ("reasons", "changes_content")

    def __init__(self, reasons, changes_content=False):
        self.reasons, self.changes_content = reasons, changes_content


SAME_VALUE = "content (chpst -e reads the same value: no restart)"


def _as_chpst_reads(entry, actual, difference):
    """An ``env/`` file rewritten whose value chpst -e reads is the same (``cafe`` written as
    ``cafe\\n``, a second line or trailing blanks dropped: ``protocol/process/envfile.py``)
    changes nothing the service sees: its content is written, and its service is not
    restarted."""
    if entry.kind != "file" or actual.kind != "file" or actual.content is None or \
            value_bytes(actual.content) != value_bytes(entry.content):
        return difference
    return Difference([SAME_VALUE if reason == "content" else reason
                       for reason in difference.reasons])


class FilesPlanner:
    def __init__(self, draft):
        self.draft = draft
        self.desired, self.obs = draft.desired, draft.obs

    def plan(self):
        """Refusals first (a user whose home holds a planted link has no steps at all), then
        each entry in the desired order, then the purge."""
        draft = self.draft
        self.refuse_unsafe()
        draft.packaged = self.packaged_units()
        for entry in self.desired.in_order():
            if draft.is_refused(entry.path):
                continue
            with draft.users_part(entry.path):
                self.plan_entry(entry)
        self.purge()

    def plan_entry(self, entry):
        unit, role = self.desired.role_of(entry.path)
        if unit is not None and unit.path in self.draft.packaged and role is not Role.LINK:
            self.left_alone(entry, unit)
        elif unit is not None and unit.is_absent:
            return  # the services planner's teardown
        elif entry.kind == "absent":
            self.absent_entry(entry)
        elif entry.kind == "symlink" and role is Role.LINK:
            self.link(entry, unit)
        else:
            self.entry(entry, unit, role)

    # -- refusals ---------------------------------------------------------------------------
    def refuse_unsafe(self):
        """A link someone else planted, or a missing home, refuses that user; anything
        unsafe or unreadable outside users' trees is a problem for the whole apply."""
        draft, paths = self.draft, self.obs.paths
        for login, home in sorted(self.desired.homes.items()):
            if paths.get(home) is not None and not paths[home].exists:
                draft.refuse(login, "home %s does not exist (apply never creates accounts or "
                                    "homes)" % home)
        for directory, message in self.obs.problems:  # a user's directory not read
            draft.problem(directory, message)
        for path in sorted(paths):
            actual = paths[path]
            if actual.kind in ("unsafe", "error"):
                draft.problem(path, actual.error)

    # -- a package's service directory (Debian's runit-helper: .meta/) ----------------------
    def packaged_units(self):
        """{unit path: what says a package owns it} for the units without ``adopt: true``
        whose directory holds ``.meta/`` (dh-runit's mark; ``.meta/pkg`` names the package)."""
        packaged = {}
        for unit in self.desired.units:
            if unit.adopts:
                continue
            meta = self.obs.actual(unit.path + "/" + PACKAGE_META)
            if meta.kind != "directory":
                continue
            name = self.obs.actual(unit.path + "/" + PACKAGE_NAME).content
            name = (name or b"").decode("utf-8", "replace").strip()
            packaged[unit.path] = ("package %s" % name if name and name.isprintable()
                                   else "a package (%s/%s/)" % (unit.path, PACKAGE_META))
        return packaged

    def in_package(self, path):
        packaged = self.draft.packaged
        unit = self.desired.role_of(path)[0] if packaged else None
        return unit is not None and unit.path in packaged

    def left_alone(self, entry, unit):
        """A path of a package's service directory: compared, never changed; what would
        change is said, with how to take the directory over."""
        actual = self.obs.actual(entry.path)
        if entry.kind == "absent" or unit.is_absent:
            reasons = ["ensure: absent"]
        elif not actual.exists:
            reasons = ["new"]
        else:
            difference = self.difference(entry, actual, *self.draft.want_ids(entry, entry.path))
            if difference is None:
                return
            reasons = difference.reasons
        if not reasons:
            self.draft.noop(entry.path, UP_TO_DATE)
            return
        self.draft.noop(entry.path, "left alone (%s): owned by %s; adopt: true manages it "
                                    "anyway" % (", ".join(reasons),
                                                self.draft.packaged[unit.path]))

    # -- entries ----------------------------------------------------------------------------
    def entry(self, entry, unit, role):
        """A file, directory or (not a service's) link: created, changed, or up to date."""
        actual = self.obs.actual(entry.path)
        uid, gid = self.draft.want_ids(entry, entry.path)
        phase = Phase.LINKS if entry.kind == "symlink" else Phase.FILES
        if not actual.exists:
            self.parents(entry.path)
            self.step(phase, Action.CREATE, entry, unit, role, ["new"], actual, uid, gid,
                      changes_content=True)
            return
        difference = self.difference(entry, actual, uid, gid)
        if difference is None:
            return
        if role is Role.ENV and difference.changes_content:
            difference = _as_chpst_reads(entry, actual, difference)
        if difference.reasons:
            self.step(phase, Action.CHANGE, entry, unit, role, difference.reasons, actual, uid,
                      gid, difference.changes_content)
        else:
            self.draft.noop(entry.path, UP_TO_DATE)

    def difference(self, entry, actual, uid, gid):
        """How ``entry`` and ``actual`` differ (a Difference), or None after recording a
        problem or a no-op (a kind the applier will not replace, a linked directory)."""
        kind = actual.kind
        if kind == "error":
            return None  # refuse_unsafe reported it
        changes_content = False
        reasons = []
        if entry.kind == "directory":
            if kind != "directory":
                self.draft.problem(entry.path, "%s is a %s where a directory should be; "
                                   "move it away" % (entry.path, KIND_NAMES.get(kind, kind)))
                return None
            if actual.target is not None:
                self.draft.noop(entry.path, "a link to the directory %s: left as it is"
                                % actual.target)
                return None
        elif entry.kind == "file":
            if kind == "directory":
                self.draft.problem(entry.path, "%s is a directory where a file should be; "
                                   "move it away" % entry.path)
                return None
            if kind != "file":
                return Difference(["was a %s%s" % (KIND_NAMES.get(kind, kind), " to " +
                                                   actual.target if actual.target else "")],
                                  changes_content=True)
            if actual.content is None:
                return Difference(["%s: replaced whole" % (actual.error or "unreadable")],
                                  changes_content=True)
            if actual.content != entry.content:
                reasons.append("content")
                changes_content = True
        elif entry.kind == "bytecode":
            if kind != "file" or actual.content is None:
                return Difference(["was a %s" % KIND_NAMES.get(kind, kind)]
                                  if kind != "file" else ["unreadable: compiled again"],
                                  changes_content=True)
            if entry.difference(actual.content) is not None:
                reasons.append(entry.difference(actual.content))
                changes_content = True
        elif entry.kind == "symlink":
            if entry.yields and kind != "symlink":
                self.draft.noop(entry.path, "a %s where a link to %s would be: left as it is "
                                "(remove it for the link)" % (KIND_NAMES.get(kind, kind),
                                                              entry.target))
                return None
            if kind == "directory":
                self.draft.problem(entry.path, "%s is a directory where a link to %s should "
                                   "be; move it away" % (entry.path, entry.target))
                return None
            if kind != "symlink":
                return Difference(["was a %s" % kind], changes_content=True)
            if actual.target != entry.target:
                return Difference(["target %s -> %s" % (actual.target, entry.target)],
                                  changes_content=True)
        if entry.kind != "symlink" and actual.mode != entry.mode:
            reasons.append("mode %04o -> %04o" % (actual.mode, entry.mode))
        if uid is not None and (actual.uid, actual.gid) != (uid, gid):
            reasons.append("owner %d:%d -> %d:%d" % (actual.uid, actual.gid, uid, gid))
        acl = self.draft.want_acl(entry, entry.path)
        if acl is not None and extended(actual.acl or ()) != extended(acl):
            reasons.append("acl %s -> %s" % (words(extended(actual.acl or ())),
                                             words(extended(acl))))
        return Difference(reasons, changes_content)

    def step(self, phase, action, entry, unit, role, reasons, actual, uid, gid,
             changes_content):
        is_file = entry.kind == "file"
        self.draft.add(phase, PathStep(
            action, entry.path, entry.kind, reasons, unit=unit, entry=entry,
            before=actual.content if is_file else None,
            after=entry.content if is_file else None,
            is_secret=role is Role.ENV and is_file, uid=uid, gid=gid,
            acl=self.draft.want_acl(entry, entry.path)))
        self.draft.touch(entry.path, created=action is Action.CREATE)
        if unit is not None and changes_content:
            self.draft.mark_changed(unit, role, entry.path)

    def parents(self, path):
        """Create the directories above ``path`` that neither exist nor are declared: root's,
        0755 — or the user's, 0750, inside a home. With the files, whatever ``path`` is: a
        link's parent may be a file's too."""
        draft = self.draft
        missing = []
        parent = posixpath.dirname(path)
        while parent not in ("/", "") and parent not in self.desired.tree:
            actual = self.obs.actual(parent)
            if actual.exists or parent in draft.created:
                break
            missing.append(parent)
            parent = posixpath.dirname(parent)
        for directory in reversed(missing):
            login = self.desired.login_of(directory)
            uid = gid = None
            if draft.ids is not None:
                try:
                    uid, gid = draft.ids.ids_of(login, None)
                except KeyError:
                    draft.problems.append((directory, "%s: owner %r is not known on this "
                                                      "host" % (directory, login)))
            draft.created.add(directory)
            draft.add(Phase.FILES, PathStep(Action.CREATE, directory, "directory",
                                            ["new (parent of %s)" % path],
                                            mode=0o750 if login else 0o755, uid=uid, gid=gid))

    def absent_entry(self, entry):
        actual = self.obs.actual(entry.path)
        if not actual.exists:
            self.draft.noop(entry.path, "absent")
            return
        self.draft.removal(Phase.PURGE, entry.path, actual, [NOT_DECLARED])

    def link(self, entry, unit):
        """A service's link: in the system or the user phase, with a wait after it (the
        services planner's)."""
        actual = self.obs.actual(entry.path)
        phase = Phase.USER_LINKS if unit.login is not None else Phase.SYSTEM_LINKS
        uid, gid = self.draft.want_ids(entry, entry.path)
        if actual.exists:
            difference = self.difference(entry, actual, None, None)
            if difference is None:
                return
            if not difference.reasons:
                self.draft.noop(entry.path, UP_TO_DATE)
                return
            action, reasons = Action.CHANGE, difference.reasons
        else:
            action, reasons = Action.CREATE, ["new"]
        self.draft.add(phase, PathStep(action, entry.path, "symlink", reasons, unit=unit,
                                       entry=entry, uid=uid, gid=gid))
        self.draft.touch(entry.path)

    # -- undeclared files -------------------------------------------------------------------
    def purge(self):
        """What the applier owns and the data no longer declares: files, then directories,
        deepest first. A temp file an interrupted apply left beside a file this plan writes
        is that write's: it takes the temp name over (``FsRoot.write_temp``) and renames it
        into place."""
        draft, extras = self.draft, self.obs.extras
        taken_over = self.temps_written()
        paths = [path for path in extras
                 if not draft.is_refused(path) and not self.in_package(path)]
        files = sorted(path for path in paths if extras[path].kind != "directory")
        directories = sorted((path for path in paths if extras[path].kind == "directory"),
                             reverse=True)
        for path in files:
            if path in taken_over:
                draft.noop(path, "left by an interrupted apply: the write of %s takes it "
                                 "over" % taken_over[path])
                continue
            self.draft.removal(Phase.PURGE, path, extras[path], [NOT_DECLARED])
        for path in directories:
            draft.add(Phase.PURGE, PathStep(Action.REMOVE, path, "directory", [NOT_DECLARED],
                                            unit=self.desired.role_of(path)[0]))
            draft.touch(path)

    def temps_written(self):
        """{temp path: the path written through it} for the files and links this plan
        writes."""
        found = {}
        for phase in (Phase.FILES, Phase.LINKS):
            for step in self.draft.phases[phase]:
                if step.action is not Action.REMOVE and step.kind in ("file", "symlink"):
                    parent, name = posixpath.split(step.path)
                    found[posixpath.join(parent, temp_name(name))] = step.path
        return found
