"""apply: the plan — what must change for the host to match the data, and why. Pure.

``plan(desired, observation, identities, sv)`` compares each desired entry with what was
observed and returns a ``Plan``: ``steps`` to execute, in order, and a ``NoChange`` with its
reason for everything left alone (``up to date``, ``restart_on_change: false``, ``new service:
runsv starts it``…). ``refusals`` name the users whose trees are skipped (a link they planted,
a missing home); ``problems`` stop the whole apply before anything is written.

The order of ``steps`` is the order of execution (``converge`` and ``activate`` follow it):

0. initsys's ``prepare`` commands, first of all (the host is looked at again after them);
1. directories and files, created or changed, parents first — a service directory, its
   ``down`` file included, is complete before anything links it; then other links;
2. undeclared files removed (files, then directories, deepest first);
3. the system tree's links (each ``runsvdir-<login>`` among them), then a ``wait`` until runsv
   reads their ``supervise/ok`` — and for a service linked before that no runsv serves;
   4. the users' links, then their ``wait``;
5. restarts and HUPs (the restart matrix, below);
6. disabled services unlinked and stopped; a logger added or dropped where runsv runs (a new
   runsv: unlink, exit, link again, wait); absent services unlinked, stopped and removed;
7. initsys's other commands, once what they follow changed (or always, when they follow
   nothing); one that precedes paths goes right before the first step changing one of them.
   Under ``--root`` none runs: each that would is a no-op saying so (``STAGED_COMMAND``).

Restart matrix (docs/apply.md): ``run`` or ``env/*`` changed -> ``sv -w T
restart`` the service; ``log/run`` changed -> restart its log; the log ``config`` changed ->
``sv hup`` the log; ``finish``, ``check``, ``control/*``, ``down`` -> nothing. Only for a
service that was linked and running before, want up, not ``down: true``, with
``restart_on_change`` on, and never under ``--root``; every skipped restart is a NoChange with
its reason. Only content counts: a mode or owner put back is not a reason to restart.
"""

import posixpath

from ..errors import ApplyError
from ..protocol.layout import PACKAGE_META, PACKAGE_NAME
from .owed import Owed
from .runner import RunAs

KIND_NAMES = {"other": "special file (FIFO, socket or device)", "symlink": "symbolic link"}
STAGED_COMMAND = "--root: no command is run"
WAIT_REASON = "runsv reads supervise/ok"
UNSERVED_REASON = "linked, but no runsv serves it"
LOG = "log"
STEP_PHASES = ("prepare", "files", "links", "purge", "system links", "user links",
               "restarts", "teardown", "commands")
OWED_ACTIONS = ("restart", "hup")
OWED_REASON = " (owed: an earlier apply stopped before it)"


class Step:
    """One thing to do. ``action``: ``create``, ``change``, ``remove`` (paths), ``restart``,
    ``hup``, ``exit`` (services, through ``argv``), ``wait`` (``units``), ``run`` (a command).
    ``kind``: what the path is or will be (``file``, ``directory``, ``symlink``, ``tree``) or
    ``service``/``log``/``command``. ``reasons``: why, for people and ``--json``.
    ``is_unserved``: a wait for services linked before that no runsv serves — itself what is
    out of order, so it is a pending change (a wait after a new link is not: the link is)."""

    __slots__ = ("action", "path", "kind", "reasons", "entry", "before", "after", "unit",
                 "units", "argv", "is_secret", "mode", "uid", "gid", "run_as", "is_unserved")

    def __init__(self, action, path, kind, reasons, **fields):
        self.action, self.path, self.kind, self.reasons = action, path, kind, list(reasons)
        for name in self.__slots__[4:]:
            setattr(self, name, fields.pop(name, None))
        if fields:
            raise TypeError("unknown fields: %s" % ", ".join(sorted(fields)))
        if self.units is None:
            self.units = []
        self.is_unserved = bool(self.is_unserved)
        if self.mode is None and self.entry is not None:
            self.mode = self.entry.mode

    @property
    def is_change(self):
        """Everything but a wait after a new link changes the host, or is owed to it."""
        return self.action != "wait" or bool(self.is_unserved)

    def __repr__(self):
        return "Step(%s %s: %s)" % (self.action, self.path, "; ".join(self.reasons))


class NoChange:
    """A path or service left as it is, and why."""

    __slots__ = ("path", "reason")

    def __init__(self, path, reason):
        self.path, self.reason = path, reason

    def __eq__(self, other):
        return isinstance(other, NoChange) and (self.path, self.reason) == (other.path,
                                                                           other.reason)

    def __repr__(self):
        return "NoChange(%s: %s)" % (self.path, self.reason)


class Plan:
    """``steps`` in execution order, ``noops``, ``refusals`` ({login: message}); ``prepared``:
    the first steps, initsys's ``prepare`` commands, after which the host is looked at again;
    ``owed``: the restarts to write down before the first step (owed.py) — this plan's, and
    those of refused users an earlier apply left — and ``owed_before``: what was written."""

    def __init__(self, steps, noops, refusals, prepared=(), owed=(), owed_before=()):
        self.steps, self.noops, self.refusals = steps, noops, refusals
        self.prepared = list(prepared)
        self.owed, self.owed_before = list(owed), list(owed_before)

    @property
    def changes(self):
        return [step for step in self.steps if step.is_change]

    @property
    def is_empty(self):
        return not self.changes

    def counts(self):
        """{action: number} of the changing steps."""
        counts = {}
        for step in self.changes:
            counts[step.action] = counts.get(step.action, 0) + 1
        return counts


def plan(desired, observation, identities=None, sv=("sv",)):
    """The Plan that takes the host from ``observation`` to ``desired``.

    ``identities``: owner names -> numbers (``identities.Identities``); None leaves owners
    alone (an apply without root cannot chown). ``sv``: the argv that runs sv. ApplyError
    lists the problems that stop the apply as a whole.
    """
    builder = _Builder(desired, observation, identities, list(sv))
    builder.build()
    if builder.problems:
        raise ApplyError("\n".join(_first_causes(builder.problems)))
    steps = []
    for phase in STEP_PHASES:
        steps += builder.phases[phase]
    if builder.refusals:  # a user refused half-way through: none of their steps
        steps = [step for step in steps if step_login(desired, step) not in builder.refusals]
    return Plan(steps, builder.noops, builder.refusals, builder.phases["prepare"],
                owed=owed_by(steps) + builder.owed_kept, owed_before=observation.owed)


def step_login(desired, step):
    """The user whose part ``step`` is (None: the system's), refused with that user."""
    if step.unit is not None:
        return step.unit.login or step.unit.for_login
    if step.action == "wait":
        units = step.units
        return units[0].login if units and all(unit.login == units[0].login
                                               for unit in units) else None
    return desired.login_of(step.path)


def owed_by(steps):
    """The restarts and HUPs among ``steps``, as the Owed entries written down before the
    first of them runs (owed.py)."""
    return [Owed(step.action, step.argv[-1], step.path, step.reasons[0])
            for step in steps if step.action in OWED_ACTIONS]


def _first_causes(problems):
    """The problems, each once, without those below a path that is itself a problem (the
    children of a file that stands where a directory should be)."""
    paths = {path for path, _ in problems if path is not None}
    found = []
    for path, message in problems:
        parent = path
        while parent not in (None, "/", ""):
            parent = posixpath.dirname(parent)
            if parent in paths:
                break
        else:
            if message not in found:
                found.append(message)
    return found


class _Builder:
    def __init__(self, desired, observation, identities, sv):
        self.desired, self.obs, self.ids, self.sv = desired, observation, identities, sv
        self.phases = {phase: [] for phase in STEP_PHASES}
        self.noops, self.problems, self.refusals = [], [], {}
        self.changed = {}  # unit path -> set of roles whose content changes
        self.touched = set()  # every path a step creates, changes or removes
        self.created = set()
        self.id_cache = {}  # (owner, group) -> (uid, gid)
        self.owed = {}  # (target, side) -> Owed an earlier apply wrote down and did not do
        for entry in observation.owed:
            self.owed[entry.target] = entry
        self.owed_kept = []  # owed by refused users: written down again, for a later apply

    # -- the whole plan ------------------------------------------------------------------
    def build(self):
        self.refuse_unsafe()
        self.packaged = self.packaged_units()
        for entry in self.desired.in_order():
            if self.is_refused(entry.path):
                continue
            unit, role = self.desired.role_of(entry.path)
            if unit is not None and unit.path in self.packaged and role != "link":
                self.left_alone(entry, unit)
                continue
            if unit is not None and unit.is_absent:
                continue  # the teardown below
            if entry.kind == "absent":
                self.absent_entry(entry)
            elif entry.kind == "symlink" and role == "link":
                self.link(entry, unit)
            else:
                self.entry(entry)
        self.purge()
        for unit in self.desired.units:
            if not self.is_refused(unit.path):
                self.unit(unit)
        self.commands()
        self.owed_left()

    # -- a package's service directory (Debian's runit-helper: .meta/) -----------------------
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
        unit = self.desired.role_of(path)[0] if self.packaged else None
        return unit is not None and unit.path in self.packaged

    def left_alone(self, entry, unit):
        """A path of a package's service directory: compared, never changed; what would
        change is said, with how to take the directory over."""
        actual = self.obs.actual(entry.path)
        if entry.kind == "absent" or unit.is_absent:
            reasons = ["ensure: absent"]
        elif not actual.exists:
            reasons = ["new"]
        else:
            reasons = self.differences(entry, actual, *self.want_ids(entry, entry.path))
            if reasons is None:
                return
        if not reasons:
            self.noops.append(NoChange(entry.path, "up to date"))
            return
        self.noops.append(NoChange(entry.path, "left alone (%s): owned by %s; adopt: true "
                                               "manages it anyway" % (", ".join(reasons),
                                                                      self.packaged[unit.path])))

    def is_refused(self, path):
        if not self.refusals:  # the common case: no user refused, no path to look up
            return False
        login = self.desired.login_of(path)
        return login is not None and login in self.refusals

    def refuse(self, login, message):
        self.refusals.setdefault(login, message)

    def problem(self, path, message):
        """What cannot be applied at ``path``: in a user's part, that user is refused (the
        rest goes on); anywhere else it stops the apply."""
        login = self.desired.login_of(path) if path is not None else None
        if login is not None:
            self.refuse(login, message)
        else:
            self.problems.append((path, message))

    def refuse_unsafe(self):
        """A link someone else planted, or a missing home, refuses that user; anything
        unsafe or unreadable outside users' trees is a problem for the whole apply."""
        for login, home in sorted(self.desired.homes.items()):
            if self.obs.paths.get(home) is not None and not self.obs.paths[home].exists:
                self.refuse(login, "home %s does not exist (apply never creates accounts or "
                                   "homes)" % home)
        for path in sorted(self.obs.paths):
            actual = self.obs.paths[path]
            if actual.kind in ("unsafe", "error"):
                self.problem(path, actual.error)

    # -- files, directories, links -------------------------------------------------------
    def want_ids(self, entry, path):
        if self.ids is None:
            return None, None
        key = (entry.owner, entry.group)
        found = self.id_cache.get(key)
        if found is not None:
            return found
        try:
            found = self.id_cache[key] = self.ids.ids_of(entry.owner, entry.group)
            return found
        except KeyError as exc:
            self.problems.append((path, "%s: %s %r is not known on this host (passwd/group)" % (
                path, "owner" if exc.args[0] in (entry.owner, "root") else "group",
                exc.args[0])))
            return None, None

    def entry(self, entry):
        actual = self.obs.actual(entry.path)
        uid, gid = self.want_ids(entry, entry.path)
        phase = "links" if entry.kind == "symlink" else "files"
        if not actual.exists:
            self.parents(entry.path)
            self.step(phase, "create", entry, ["new"], actual, uid, gid)
            return
        reasons = self.differences(entry, actual, uid, gid)
        if reasons is None:
            return
        if reasons:
            self.step(phase, "change", entry, reasons, actual, uid, gid)
        else:
            self.noops.append(NoChange(entry.path, "up to date"))

    def differences(self, entry, actual, uid, gid):
        """What differs between ``entry`` and ``actual`` (a list of reasons, [] = nothing), or
        None after recording a problem (a kind the applier will not replace)."""
        reasons = []
        kind = actual.kind
        if kind == "error":
            return None  # refuse_unsafe reported it
        if entry.kind == "directory":
            if kind != "directory":
                self.problem(entry.path, "%s is a %s where a directory should be; "
                             "move it away" % (entry.path, KIND_NAMES.get(kind, kind)))
                return None
            if actual.target is not None:
                self.noops.append(NoChange(entry.path, "a link to the directory %s: left as it "
                                                       "is" % actual.target))
                return None
        elif entry.kind == "file":
            if kind == "directory":
                self.problem(entry.path, "%s is a directory where a file should be; "
                             "move it away" % entry.path)
                return None
            if kind != "file":
                return ["was a %s%s" % (KIND_NAMES.get(kind, kind),
                                        " to " + actual.target if actual.target else "")]
            if actual.content is None:
                return ["%s: replaced whole" % (actual.error or "unreadable")]
            if actual.content != entry.content:
                reasons.append("content")
        elif entry.kind == "symlink":
            if kind == "directory":
                self.problem(entry.path, "%s is a directory where a link to %s should "
                             "be; move it away" % (entry.path, entry.target))
                return None
            if kind != "symlink":
                return ["was a %s" % kind]
            if actual.target != entry.target:
                return ["target %s -> %s" % (actual.target, entry.target)]
        if entry.kind != "symlink" and actual.mode != entry.mode:
            reasons.append("mode %04o -> %04o" % (actual.mode, entry.mode))
        if uid is not None and (actual.uid, actual.gid) != (uid, gid):
            reasons.append("owner %d:%d -> %d:%d" % (actual.uid, actual.gid, uid, gid))
        return reasons

    def parents(self, path):
        """Create the directories above ``path`` that neither exist nor are declared: root's,
        0755 — or the user's, 0750, inside a home. With the files, whatever ``path`` is: a
        link's parent may be a file's too."""
        missing = []
        parent = posixpath.dirname(path)
        while parent not in ("/", "") and parent not in self.desired.tree:
            actual = self.obs.actual(parent)
            if actual.exists or parent in self.created:
                break
            missing.append(parent)
            parent = posixpath.dirname(parent)
        for directory in reversed(missing):
            login = self.desired.login_of(directory)
            uid = gid = None
            if self.ids is not None:
                try:
                    uid, gid = self.ids.ids_of(login, None)
                except KeyError:
                    self.problems.append((directory, "%s: owner %r is not known on this host"
                                          % (directory, login)))
            self.created.add(directory)
            self.phases["files"].append(Step(
                "create", directory, "directory", ["new (parent of %s)" % path],
                mode=0o750 if login else 0o755, uid=uid, gid=gid))

    def step(self, phase, action, entry, reasons, actual, uid, gid):
        unit, role = self.desired.role_of(entry.path)
        is_file = entry.kind == "file"
        self.phases[phase].append(Step(
            action, entry.path, entry.kind, reasons, entry=entry,
            before=actual.content if is_file else None,
            after=entry.content if is_file else None, unit=unit,
            is_secret=role == "env" and is_file, uid=uid, gid=gid))
        self.touched.add(entry.path)
        if action == "create":
            self.created.add(entry.path)
        if unit is not None and (action == "create" or "content" in reasons
                                 or reasons[0].startswith(("was ", "target "))
                                 or reasons[0].endswith("replaced whole")):
            self.changed.setdefault(unit.path, set()).add(role)

    def absent_entry(self, entry):
        actual = self.obs.actual(entry.path)
        if not actual.exists:
            self.noops.append(NoChange(entry.path, "absent"))
            return
        self.removal("purge", entry.path, actual, ["not declared"])

    def removal(self, phase, path, actual, reasons):
        kind = "tree" if actual.kind == "directory" else actual.kind
        unit, role = self.desired.role_of(path)
        self.phases[phase].append(Step("remove", path, kind, reasons, unit=unit,
                                       before=actual.content))
        self.touched.add(path)
        if unit is not None:
            self.changed.setdefault(unit.path, set()).add(role)

    def link(self, entry, unit):
        """A service's link: in the system or the user phase, with a wait after it."""
        actual = self.obs.actual(entry.path)
        phase = "user links" if unit.login is not None else "system links"
        uid, gid = self.want_ids(entry, entry.path)
        if actual.exists:
            reasons = self.differences(entry, actual, None, None)
            if reasons is None:
                return
            if not reasons:
                self.noops.append(NoChange(entry.path, "up to date"))
                return
            action = "change"
        else:
            action, reasons = "create", ["new"]
        self.phases[phase].append(Step(action, entry.path, "symlink", reasons, entry=entry,
                                       unit=unit, uid=uid, gid=gid))
        self.touched.add(entry.path)

    # -- undeclared files ----------------------------------------------------------------
    def purge(self):
        extras = self.obs.extras
        paths = [path for path in extras
                 if not self.is_refused(path) and not self.in_package(path)]
        files = sorted(path for path in paths if extras[path].kind != "directory")
        directories = sorted((path for path in paths if extras[path].kind == "directory"),
                             reverse=True)
        for path in files:
            self.removal("purge", path, extras[path], ["not declared"])
        for path in directories:
            self.phases["purge"].append(Step("remove", path, "directory", ["not declared"],
                                             unit=self.desired.role_of(path)[0]))
            self.touched.add(path)

    # -- services: waits, restarts, teardown ---------------------------------------------
    def unit(self, unit):
        if unit.is_absent:
            self.teardown(unit, "ensure: absent", remove=unit.path not in self.packaged)
            return
        if not unit.is_enabled:
            self.teardown(unit, "enabled: false", remove=False)
            return
        if not unit.has_log and unit.path not in self.packaged:
            self.drop_log(unit)
        if unit.link in self.touched or unit.path in self.created:
            if not self.obs.is_staging:
                self.wait(unit)
            return
        if self.obs.is_staging:
            self.restarts(unit)
            return
        added = self.add_log(unit) if self.log_awaits_runsv(unit) else None
        if added != "cycled":  # a new runsv starts the service with everything new
            self.restarts(unit)
        if added is None:
            self.unserved(unit)

    def wait(self, unit, is_unserved=False):
        phase = "user links" if unit.login is not None else "system links"
        steps = self.phases[phase]
        # one wait per user's tree: a tree that never comes up refuses its user alone
        if steps and steps[-1].action == "wait" and steps[-1].is_unserved == is_unserved \
                and steps[-1].units[0].login == unit.login:
            steps[-1].units.append(unit)
        else:
            reason = UNSERVED_REASON if is_unserved else WAIT_REASON
            steps.append(Step("wait", phase, "service", [reason], units=[unit],
                              is_unserved=is_unserved))

    def unserved(self, unit):
        """A service linked as the data says that no runsv serves (a wait that timed out, a
        runsvdir stopped or not yet started, a logger that never came up): wait for it again,
        as after linking — a timeout fails the apply naming the likely cause — unless the
        user's whole tree was stopped by hand (``sv down runsvdir-LOGIN``)."""
        live = self.obs.live_of(unit)
        if live.main.is_supervised and (live.log.is_supervised or not unit.has_log):
            return
        if unit.login is not None:
            tree = next((other for other in self.desired.units
                         if other.for_login == unit.login), None)
            side = self.obs.live_of(tree).main if tree is not None else None
            if side is not None and side.is_supervised and not side.is_want_up:
                self.noops.append(NoChange(unit.label, "no runsv serves it: %s is down by "
                                                       "hand (not waited for)" % tree.name))
                return
        self.wait(unit, is_unserved=True)

    def log_awaits_runsv(self, unit):
        """``log/`` made now — or made by an earlier apply that stopped before giving the
        service a new runsv: a runsv serves the service, and no runsv ever took the log side
        up (no ``log/supervise/``: runsv looks for ``log/`` once, at its start)."""
        if unit.path + "/" + LOG in self.created:
            return True
        live = self.obs.live_of(unit)
        return (unit.has_log and live.main.is_supervised and not live.log.was_seen
                and self.obs.actual(unit.path + "/" + LOG).kind == "directory")

    def add_log(self, unit):
        """``log/`` made where a runsv serves the service without one: the logger starts only
        with a new runsv (``cycle``; the service restarts once). Returns ``cycled`` when
        planned, ``pending`` when left for runsv's next start (a no-op says why), None when
        no runsv serves it (the one that starts reads ``log/``)."""
        live = self.obs.live_of(unit).main
        if not live.is_supervised:
            return None
        held = self.held_back(unit, live)
        if held is None:
            self.cycle(unit, "logger added: runsv starts a logger only at its start",
                       ["main"])
            return "cycled"
        self.noops.append(NoChange(unit.label, "logger added; it starts when runsv next "
                                               "starts (%s)" % held))
        return "pending"

    def was_linked(self, unit):
        actual = self.obs.actual(unit.link)
        if actual.kind != "symlink":
            return False
        target = posixpath.normpath(posixpath.join(posixpath.dirname(unit.link),
                                                   actual.target))
        return target == posixpath.normpath(unit.path)

    def restarts(self, unit):
        roles = self.changed.get(unit.path, set())
        live = self.obs.live_of(unit)
        owed_main = self.owed.pop(unit.path, None)
        owed_log = self.owed.pop(unit.path + "/" + LOG, None)
        if roles & {"run", "env"}:
            self.restart(unit, "main", live.main, "restart",
                         "run changed" if "run" in roles else "env changed")
        elif owed_main is not None:
            self.restart(unit, "main", live.main, "restart", owed_main.reason + OWED_REASON)
        if unit.path + "/" + LOG in self.created:
            pass  # a new logger: whichever runsv starts it reads the new files
        elif "log/run" in roles:
            self.restart(unit, "log", live.log, "restart", "log/run changed")
        elif owed_log is not None and owed_log.action == "restart":
            self.restart(unit, "log", live.log, "restart", owed_log.reason + OWED_REASON)
        elif "log/config" in roles:
            self.restart(unit, "log", live.log, "hup", "log config changed")
        elif owed_log is not None:
            self.restart(unit, "log", live.log, "hup", owed_log.reason + OWED_REASON)

    def owed_left(self):
        """Restarts an earlier apply wrote down that no service of this plan took: a refused
        user's are kept for a later apply; any other is no longer owed (its service went, or
        is new, or was replaced) — said as a no-op."""
        for target, entry in sorted(self.owed.items()):
            login = self.desired.login_of(target)
            if login is not None and login in self.refusals:
                self.owed_kept.append(entry)
            else:
                self.noops.append(NoChange(entry.label, "%s owed (%s): no longer needed"
                                           % (entry.action, entry.reason)))

    def restart(self, unit, side, live, command, reason):
        label = unit.label + ("/log" if side == "log" else "")
        skip = None
        if self.obs.is_staging:
            skip = "--root: nothing is started"
        elif not unit.restart_on_change:
            skip = "restart_on_change: false"
        elif unit.is_down:
            skip = "down: true (apply never starts it)"
        elif not self.was_linked(unit):
            skip = "not linked before: runsv starts it"
        elif not live.is_supervised:
            skip = "not supervised (no runsv)"
        elif not live.is_running:
            skip = "not running (%s)" % (live.state or "state unknown")
        elif not live.is_want_up:
            skip = "want down"
        if skip is not None:
            self.noops.append(NoChange(label, "%s; no %s: %s" % (reason, command, skip)))
            return
        target = unit.path + ("/log" if side == "log" else "")
        timeout = str(self.desired.sv_timeout)
        argv = self.sv + (["-w", timeout, "restart", target] if command == "restart"
                          else ["hup", target])
        self.phases["restarts"].append(Step(command, label, side if side == "log" else
                                            "service", [reason], unit=unit, argv=argv,
                                            run_as=self.run_as(unit)))

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

    def exit_step(self, unit, reason, sides):
        targets = [unit.path] + ([unit.path + "/log"] if "log" in sides else [])
        argv = self.sv + ["-v", "-w", str(self.desired.sv_timeout), "exit"] + targets
        self.phases["teardown"].append(Step("exit", unit.label, "service", [reason],
                                            unit=unit, argv=argv, run_as=self.run_as(unit)))

    def teardown(self, unit, reason, remove):
        """Unlink, stop (``sv exit`` the service and its log), and for ``ensure: absent``
        remove the directory."""
        link = self.obs.actual(unit.link)
        if link.exists and (remove or self.was_linked(unit)):
            self.phases["teardown"].append(Step("remove", unit.link, "tree" if link.kind ==
                                                "directory" else link.kind, [reason],
                                                unit=unit))
            self.touched.add(unit.link)
        elif link.exists:
            self.noops.append(NoChange(unit.link, "not a link to %s: left alone" % unit.path))
        live = self.obs.live_of(unit)
        if live.main.is_supervised or live.log.is_supervised:
            sides = ["main"] + (["log"] if live.log.is_supervised else [])
            self.exit_step(unit, reason, sides)
        base = self.obs.actual(unit.path)
        if remove and base.exists:
            self.phases["teardown"].append(Step("remove", unit.path, "tree", [reason],
                                                unit=unit))
            self.touched.add(unit.path)
        if not (link.exists or base.exists and remove or live.main.is_supervised):
            self.noops.append(NoChange(unit.label, "absent" if remove else "not linked"))

    def drop_log(self, unit):
        """``log: false`` where a ``log/`` is left: remove it — through a new runsv when one
        serves its log side (``cycle``)."""
        path = unit.path + "/" + LOG
        actual = self.obs.actual(path)
        if actual.kind != "directory":
            return
        live = self.obs.live_of(unit)
        if not (live.log.is_supervised and not self.obs.is_staging):
            self.removal("purge", path, actual, ["log: false"])
            return
        held = self.held_back(unit, live.main)
        if held is not None:
            self.noops.append(NoChange(unit.label, "log: false; log/ stays until runsv next "
                                                   "starts (%s)" % held))
            return
        self.cycle(unit, "log: false: runsv restarts without a logger", ["main", "log"],
                   remove=(path, "log: false"))

    def held_back(self, unit, main):
        """Why runsv may not be replaced now (None: it may): ``restart_on_change: false``, or
        a service stopped by hand without a ``down`` file — a new runsv would start it."""
        if not unit.restart_on_change:
            return "restart_on_change: false"
        if not unit.is_down and main.is_supervised and not main.is_want_up:
            return "down by hand: a new runsv would start it"
        return None

    def cycle(self, unit, reason, sides, remove=None):
        """A new runsv for ``unit`` — the only way to add or drop its logger: runsv looks for
        ``log/`` once, at its start (runsv.c), and hands the service the log pipe as its
        stdout when it execs it, so the service restarts once, whatever the runtime.

        In order: unlink (runsvdir stops that runsv, and starts no other while ``log/``
        changes — after a bare ``sv exit`` the C runsvdir starts a new runsv at once, racing
        the change and ``sv -w``), ``sv exit`` it and wait until it is gone, remove ``log/``
        (``remove``: path and reason), link again, wait until the new runsv serves it. Not
        linked as the data says: the exit and the removal only."""
        teardown = self.phases["teardown"]
        link = self.desired.tree.get(unit.link)
        relink = link is not None and self.was_linked(unit)
        if relink:
            teardown.append(Step("remove", unit.link, "symlink", [reason], unit=unit))
        self.exit_step(unit, reason, sides)
        if remove is not None:
            teardown.append(Step("remove", remove[0], "tree", [remove[1]], unit=unit))
            self.touched.add(remove[0])
        if relink:
            uid, gid = self.want_ids(link, link.path)
            teardown.append(Step("create", unit.link, "symlink", [reason], entry=link,
                                 unit=unit, uid=uid, gid=gid))
            teardown.append(Step("wait", "teardown", "service", [WAIT_REASON], units=[unit]))

    # -- commands --------------------------------------------------------------------------
    def commands(self):
        """initsys's commands (``argv``, ``reason`` and when: ``prepare`` — first of all, the
        host looked at again after; ``before`` paths — just before the first step that changes
        one; ``after`` paths — once one changed; none — always: initsys saw it is needed)."""
        for note in getattr(self.desired, "notes", ()):
            self.noops.append(NoChange("runtime", note))
        for command in self.desired.commands:
            label = " ".join(command.argv)
            before = list(getattr(command, "before", ()) or ())
            after = list(getattr(command, "after", ()) or ())
            step = Step("run", label, "command", [command.reason], argv=list(command.argv))
            if getattr(command, "prepare", False):
                where = self.phases["prepare"], None
            elif before:
                where = self.place_before(set(before))
                if where is None:
                    self.noops.append(NoChange(label, "nothing it precedes changes"))
                    continue
            elif after and not any(path in self.touched for path in after):
                self.noops.append(NoChange(label, "nothing it follows changed"))
                continue
            else:
                where = self.phases["commands"], None
            if self.obs.is_staging:  # it would run: say so, and that it does not
                self.noops.append(NoChange(label, STAGED_COMMAND))
            elif where[1] is None:
                where[0].append(step)
            else:
                where[0].insert(where[1], step)

    def place_before(self, paths):
        """``(phase's steps, index)`` of the first step that changes one of ``paths``, or
        None."""
        for phase in STEP_PHASES:
            steps = self.phases[phase]
            for index, other in enumerate(steps):
                if other.action in ("create", "change", "remove") and other.path in paths:
                    return steps, index
        return None
