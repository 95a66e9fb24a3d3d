"""apply: the plan — what must change for the host to match the data, and why. Pure.

``plan(desired, observation, identities, sv, is_staging)`` compares each desired entry with
what was observed and returns a ``steps.Plan``: typed ``steps`` to execute, in order, and a
``NoChange`` with its reason for everything left alone (``up to date``, ``restart_on_change:
false``, ``new service: runsv starts it``…). ``refusals`` name the users whose trees are
skipped (a link they planted, a missing home); ``problems`` stop the whole apply before
anything is written.

Three parts write one ``Draft`` (``planner/``), in this order: the files planner (every path),
the services planner (waits, the restart matrix, teardown — from the facts the files planner
recorded), the commands planner (initsys's commands, placed by the paths they follow or
precede). The order of ``steps`` is the order of the phases (``steps.Phase``), which is the
order of execution (``converge`` and ``activate`` follow it):

0. initsys's ``prepare`` commands, first of all (the host is looked at again after them);
1. directories and files, created or changed, parents first — a service directory, its
   ``down`` file included, is complete before anything links it; then other links;
2. undeclared files removed (files, then directories, deepest first);
3. the system tree's links (each ``runsvdir-<login>`` among them), then a ``wait`` until runsv
   reads their ``supervise/ok`` — and for a service linked before that no runsv serves;
4. the users' links, then their ``wait``;
5. restarts and HUPs (the restart matrix: ``planner/services.py``, docs/apply.md);
6. disabled services unlinked and stopped; a logger added or dropped where runsv runs (a new
   runsv: unlink, exit, link again, wait); absent services unlinked, stopped and removed;
7. initsys's other commands, once what they follow changed (or always, when they follow
   nothing); one that precedes paths goes right before the first step changing one of them.
"""

import posixpath

from ..errors import ApplyError
from .owed import Owed
from .planner.commands import STAGED_COMMAND, CommandsPlanner
from .planner.draft import Draft
from .planner.files import FilesPlanner
from .planner.services import ServicesPlanner
from .steps import Action, NoChange, Phase, Plan, ServiceStep

__all__ = ["plan", "step_login", "owed_by", "Plan", "NoChange", "STAGED_COMMAND"]


def plan(desired, observation, identities=None, sv=("sv",), is_staging=False):
    """The Plan that takes the host from ``observation`` to ``desired``.

    ``identities``: owner names -> numbers (``accounts.databases.Databases``); None leaves owners
    alone (an apply without root cannot chown). ``sv``: the argv that runs sv.
    ``is_staging``: ``--root`` — nothing was probed, and nothing is started or run (each
    restart and command skipped is a no-op saying so). ApplyError lists the problems that
    stop the apply as a whole.
    """
    draft = Draft(desired, observation, identities, sv, is_staging)
    FilesPlanner(draft).plan()
    services = ServicesPlanner(draft)
    for unit in desired.units:
        if not draft.is_refused(unit.path):
            with draft.users_part(unit.path):
                services.plan(unit)
    CommandsPlanner(draft).plan()
    services.owed_left()
    services.undeclared_left()
    if draft.problems:
        raise ApplyError("\n".join(_first_causes(draft.problems)))
    steps = [step for phase in Phase for step in draft.phases[phase]]
    if draft.refusals:  # a user refused half-way through: none of their steps
        steps = [step for step in steps if step_login(desired, step) not in draft.refusals]
    return Plan(steps, draft.noops, draft.refusals, draft.phases[Phase.PREPARE],
                owed=owed_by(steps) + services.owed_kept, owed_before=observation.owed)


def step_login(desired, step):
    """The user whose part ``step`` is (None: the system's), refused with that user."""
    if step.unit is not None or step.action is Action.WAIT:
        return step.login
    return desired.login_of(step.path)


def owed_by(steps):
    """The restarts and HUPs among ``steps``, as the Owed entries written down before the
    first of them runs (owed.py)."""
    return [Owed(step.action.value, step.target, step.path, step.cause)
            for step in steps if isinstance(step, ServiceStep) and step.is_owed]


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
