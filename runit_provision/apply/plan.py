"""apply: the plan — what must change for the host to match the data, and why. Pure.

``plan(desired, observation, identities, sv, is_staging)`` compares each desired entry with
what was observed and returns a ``steps.Plan``: typed ``steps`` to execute, in order, and a
``NoChange`` with its reason for everything left alone (``up to date``, ``restart_on_change:
false``, ``new service: runsv starts it``…). ``refusals`` name the users whose trees are
skipped (a link they planted, a missing home, an sv they cannot run: ``obs.cannot_run``);
``problems`` stop the whole apply before anything is written.

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
from ..host.owed import Owed
from .planner.commands import STAGED_COMMAND, CommandsPlanner
from .planner.draft import Draft
from .planner.files import FilesPlanner
from .planner.services import ServicesPlanner
from .runnable import cannot_run_words, fix_for
from .steps import Action, NoChange, Phase, Plan, ServiceStep, WaitStep

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
    _refuse_who_cannot_run(draft)  # before owed_left: a refused user's owed restarts are kept
    services.owed_left()
    services.undeclared_left()
    if draft.problems:
        raise ApplyError("\n".join(_first_causes(draft.problems)))
    steps = [step for phase in Phase for step in draft.phases[phase]]
    if draft.refusals:  # a user refused half-way through: none of their steps
        steps = [step for step in _without_refused_units(steps, draft.refusals)
                 if step_login(desired, step) not in draft.refusals]
    return Plan(steps, draft.noops, draft.refusals, draft.phases[Phase.PREPARE],
                owed=owed_by(steps) + services.owed_kept, owed_before=observation.owed)


def step_login(desired, step):
    """The user whose part ``step`` is (None: the system's), refused with that user."""
    if step.unit is not None or step.action is Action.WAIT:
        return step.login
    return desired.login_of(step.path)


def _without_refused_units(steps, refusals):
    """``steps`` with each refused user's ``runsvdir-<login>`` left out of the system tree's
    waits (it is linked by none of them), and a wait left with none dropped."""
    kept = []
    for step in steps:
        if isinstance(step, WaitStep):
            units = [unit for unit in step.units if unit.for_login not in refusals]
            if not units:
                continue
            step.units = units
        kept.append(step)
    return kept


def owed_by(steps):
    """The restarts and HUPs among ``steps``, as the Owed entries written down before the
    first of them runs (host/owed.py)."""
    return [Owed(step.action.value, step.target, step.path, step.cause)
            for step in steps if isinstance(step, ServiceStep) and step.is_owed]


def _refuse_who_cannot_run(draft):
    """Each user who cannot run the sv that drives their services (``obs.cannot_run``) is
    refused when the plan changes anything of theirs — creates as restarts, their first apply
    as any other: their steps are dropped before anything is written, the rest goes on. One
    whose part is as the data says is left as it is, with a no-op saying a change would be
    refused."""
    cannot_run = draft.obs.cannot_run
    if not cannot_run:
        return
    desired = draft.desired
    acting = {step_login(desired, step) for steps in draft.phases.values() for step in steps
              if step.is_change}
    for login, found in sorted(cannot_run.items()):
        if login in draft.refusals:
            continue
        words, fix = cannot_run_words(login, found), fix_for(found[1])
        if login in acting:
            draft.refuse(login, "%s, the sv that drives their services as them: none of %s's "
                                "steps is done. Fix: %s" % (words, login, fix))
        else:
            draft.noop(login, "nothing of theirs changes; a change would be refused: %s. "
                              "Fix: %s" % (words, fix))


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
