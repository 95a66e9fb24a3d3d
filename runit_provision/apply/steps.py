"""apply: the plan's vocabulary — what a step does, where in the order it goes, and its types.

A plan is a list of steps, each of one kind, executed by one room:

* ``PathStep``: create, change or remove one path — a file, a directory, a link, a whole tree
  (``converge.py``);
* ``WaitStep``: wait until runsv serves the services linked just before (``activate.py``);
* ``ServiceStep``: ``sv restart``, ``sv hup`` or ``sv exit`` one service's side, or its
  limits written into its running cgroup (``runsv-cgroup limits``) (``activate.py``);
* ``CommandStep``: one of initsys's commands (``activate.py``).

``Action`` and ``Phase`` are enums: code compares members, never words. An ``Action`` is also
its word (a ``str``), as people and ``--json`` read it. What a change means for restarts is
the planner's fact (``files.Difference.changes_content``, marked on the service as the step is
made), never read back from a step's reasons, which are for people.
"""

import enum

from ..host.owed import ACTIONS as OWED_WORDS


class Action(str, enum.Enum):
    """What a step does; the value is the word plans, reports and ``--json`` show."""

    CREATE = "create"
    CHANGE = "change"
    REMOVE = "remove"
    WAIT = "wait"
    RESTART = "restart"
    HUP = "hup"
    LIMITS = "limits"  # a cgroup file's limits written into the running service's cgroup
    EXIT = "exit"
    RUN = "run"

    def __str__(self):
        return self.value

    __format__ = str.__format__  # "%s"/format() give the word, as str() does


PATH_ACTIONS = (Action.CREATE, Action.CHANGE, Action.REMOVE)
SERVICE_ACTIONS = (Action.RESTART, Action.HUP, Action.LIMITS, Action.EXIT)
OWED_ACTIONS = tuple(map(Action, OWED_WORDS))  # written down before the first write (host/owed.py)


class Phase(enum.Enum):
    """Where a step goes; the plan is the phases' steps in this order (plan.py)."""

    PREPARE = "prepare"  # initsys's prepare commands; the host is looked at again after them
    FILES = "files"  # directories and files, parents first
    LINKS = "links"  # links that are not a service's
    PURGE = "purge"  # undeclared files removed, then directories, deepest first
    SYSTEM_LINKS = "system links"  # the system tree's service links, then a wait
    USER_LINKS = "user links"  # each user's service links, then a wait
    RESTARTS = "restarts"  # the restart matrix: restarts and HUPs
    TEARDOWN = "teardown"  # disabled and absent services; loggers added or dropped
    COMMANDS = "commands"  # initsys's other commands


class Side(enum.Enum):
    """A service directory's two supervised sides: ``./run`` and ``log/run``."""

    MAIN = "service"
    LOG = "log"


class Step:
    """What every step has: ``action``, ``path`` (what plans name it by: a path, a service's
    label, a command line), ``reasons`` (for people and ``--json``) and ``unit`` (the
    ServiceUnit it belongs to, or None)."""

    __slots__ = ("action", "path", "reasons", "unit")
    kind = None  # what --json calls the thing acted on

    def __init__(self, action, path, reasons, unit=None):
        self.action, self.path, self.reasons, self.unit = action, path, list(reasons), unit

    @property
    def is_change(self):
        """Whether the step changes the host (or is owed to it): all but a wait after a
        new link."""
        return True

    @property
    def login(self):
        """The user whose part this step is, when its unit says (None: ask the path)."""
        unit = self.unit
        return None if unit is None else (unit.login or unit.for_login)

    def __repr__(self):
        return "%s(%s %s: %s)" % (type(self).__name__, self.action.value, self.path,
                                  "; ".join(self.reasons))


class PathStep(Step):
    """Create, change or remove ``path``. ``kind``: what it is or will be (``file``,
    ``directory``, ``symlink``, ``bytecode``; ``tree`` for a removal of a whole directory; what was found,
    for other removals). ``entry``: the desired entry (None for a removal or a parent made on
    the way); ``before``/``after``: a file's bytes, for diffs; ``is_secret``: an ``env/``
    value (diffs mask it); ``mode``, ``uid``, ``gid``: what to set (None: leave owners);
    ``acl``: a directory's access ACL, set after its mode (model/acl.py; None: leave it)."""

    __slots__ = ("kind", "entry", "before", "after", "is_secret", "mode", "uid", "gid", "acl")

    def __init__(self, action, path, kind, reasons, unit=None, entry=None, before=None,
                 after=None, is_secret=False, mode=None, uid=None, gid=None, acl=None):
        Step.__init__(self, action, path, reasons, unit)
        self.kind, self.entry, self.before, self.after = kind, entry, before, after
        self.is_secret = is_secret
        self.mode = entry.mode if mode is None and entry is not None else mode
        self.uid, self.gid, self.acl = uid, gid, acl

    @property
    def writes_file(self):
        """A file created or changed: written to a temp name and renamed later (converge)."""
        return self.kind == "file" and self.action is not Action.REMOVE

    @property
    def exposes_nothing(self):
        """Whether the step may run while files written before it still wait for their
        rename: a file written (it waits too) or a directory made or changed (it shows no
        file) or a ``.pyc`` to compile (it is compiled once its module is renamed into
        place). Links and removals are visible at once, so they come after the renames."""
        return self.action is not Action.REMOVE and self.kind in ("file", "directory",
                                                                  "bytecode")


class WaitStep(Step):
    """Wait until a runsv serves each of ``units`` (and their log sides). ``is_unserved``:
    the services were linked before and no runsv serves them — itself what is out of order,
    so a pending change; a wait after a new link is not one (the link is)."""

    __slots__ = ("units", "is_unserved")
    kind = "service"

    def __init__(self, phase, units, reason, is_unserved=False):
        Step.__init__(self, Action.WAIT, phase.value, [reason])
        self.units, self.is_unserved = list(units), is_unserved

    @property
    def is_change(self):
        return self.is_unserved

    @property
    def login(self):
        """The user all the waited-for services belong to, or None (the system's)."""
        logins = {unit.login for unit in self.units}
        return logins.pop() if len(logins) == 1 else None


class ServiceStep(Step):
    """``sv`` (or ``runsv-cgroup limits``) on one service: ``action`` restart, hup, limits or
    exit; ``side``: the side it is for
    (an exit may name both); ``argv``: the whole sv command line, its last word the side's
    directory (``target``); ``run_as``: the user's identity (runner.RunAs) for a user's
    service, or None; ``cause``: why it is owed, as written down (host/owed.py) — the first
    reason, or for a restart an earlier apply owed, that apply's own (its reasons say it is
    owed)."""

    __slots__ = ("side", "argv", "run_as", "cause")

    def __init__(self, action, label, side, reasons, unit, argv, run_as=None, cause=None):
        Step.__init__(self, action, label, reasons, unit)
        self.side, self.argv, self.run_as = side, list(argv), run_as
        self.cause = cause if cause is not None else self.reasons[0]

    @property
    def kind(self):
        return self.side.value

    @property
    def target(self):
        return self.argv[-1]

    @property
    def is_owed(self):
        return self.action in OWED_ACTIONS


class CommandStep(Step):
    """One of initsys's commands (``argv``), named in plans by its command line."""

    __slots__ = ("argv",)
    kind = "command"

    def __init__(self, argv, reason):
        Step.__init__(self, Action.RUN, " ".join(argv), [reason])
        self.argv = list(argv)

    run_as = None


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
    ``owed``: the restarts to write down before the first step (host/owed.py) — this plan's, and
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
