"""apply: the one path — observe the host once, plan, (show), execute exactly that plan,
observe again and require an empty plan.

``Job.plan()`` observes — and, unless staging, looks whether each user can run the sv that
drives their services (runnable.py: a fact the plan refuses a user by, before anything of
theirs is written) — and plans; the caller shows the plan; ``Job.execute(plan)`` writes
down the restarts the plan owes (host/owed.py: none is lost if the apply stops before doing them),
runs its steps in order — file steps through ``Converger``, runit steps through
``Activator`` — and then plans again: anything left is an error ("not converged"), never
silently accepted. Then it watches what it started or restarted (watch.py) for a bounded
moment — ``--wait`` at most — and each side that did not stay up is in ``Result.not_up``:
the apply did what it was asked, and yet the host is not as wanted.

A user's part fails alone: whatever goes wrong with a step of a user's (a link planted while
the apply runs, a directory where a file goes, EPERM, ENOSPC, a command that fails, a tree too
deep to remove, any exception at all) refuses that user — their remaining steps are skipped,
their held-back files dropped, the reason kept in ``Result.refusals`` — and everything else
goes on. Any other error stops the apply at its
step; what was done so far is in the Result, every file wholly old or wholly new, and the
next apply finishes the job — restarts included. Ctrl-C stops it the same way, wherever it
lands — but never between a file step done and its record (converge.py holds it back for
that moment): the files written but not yet renamed into place are dropped (wholly old), and
the KeyboardInterrupt goes on as ``errors.Interrupted`` carrying the Result — what was
done, the step it stopped at and the restarts still owed (``Result.owed``) — for the caller to
say.

Effects go through seams: ``fs`` (FsRoot), ``runner`` (commands), ``waiter`` and ``probe``
(runsv's liveness), ``watcher`` (watch.watch's signature) — the unit tier gives fakes, the
real tier real processes.
"""

import time

from ..errors import ApplyError, Interrupted
from ..host.sides import probe_side
from .activate import Activator
from .converge import Converger
from .observe import observe
from .owed_ledger import OwedLedger
from .plan import plan as make_plan, step_login
from .planner.draft import unexpected
from .runnable import users_who_cannot_run
from .steps import CommandStep
from .steps import PathStep, ServiceStep
from .watch import look_side, started_sides, watch


class Result:
    """What an execution did: ``plan`` (the one executed), ``done`` ([(step, Completed or
    None)]), ``failed`` (the step that failed, or None) and ``error`` (its ApplyError),
    ``refusals`` ({login: message}), ``after`` (the plan made after executing),
    ``watched`` (the sides it started, watch.Watched), ``not_up`` (those of them that did
    not stay up, watch.NotUp), ``owed`` (the restarts and HUPs still written down when it
    ended, owed.Owed: the next apply's) and ``is_interrupted`` (Ctrl-C stopped it; ``failed``
    is the step under way then, None between two)."""

    def __init__(self, plan):
        self.plan = plan
        self.done = []
        self.failed = None
        self.error = None
        self.refusals = dict(plan.refusals)
        self.after = None
        self.watched = []
        self.not_up = []
        self.owed = []
        self.is_interrupted = False

    @property
    def is_ok(self):
        return self.is_done and not self.not_up

    @property
    def is_done(self):
        """Every step done (none failed, no user refused, not interrupted) — whether or not
        what it started stayed up."""
        return self.error is None and not self.refusals and not self.is_interrupted

    @property
    def changed(self):
        return any(step.is_change for step, _ in self.done)


class Job:
    """``desire(fs) -> Desired``: what the host should hold (initsys reads the host through
    ``fs`` to say its part). It is asked once, and once more only after initsys's
    ``prepare`` commands changed the host (a package installed); every other look — the one
    after executing — plans against the same Desired, so "converged" means converged to what
    was shown. ``staging``: ``--root`` — nothing is probed, started or run."""

    def __init__(self, desire, fs, identities=None, runner=None, sv=("sv",),
                 wait_seconds=15.0, waiter=None, probe=None, is_staging=False, watcher=None):
        self.desire, self.fs, self.identities = desire, fs, identities
        self.runner, self.sv, self.wait_seconds = runner, list(sv), wait_seconds
        self.waiter = waiter
        self.watcher = watcher or watch
        self.is_staging = is_staging
        self.probe = None if is_staging else (probe or (lambda path: probe_side(fs, path)))
        # our runtime's tally is read beside the probe's status, unless a test's probe fakes it
        self.look = None if is_staging else (
            lambda path: look_side(fs, path, self.probe, with_tally=probe is None))
        self.desired = None

    def plan(self):
        """Observe the host once and plan (asking ``desire`` first, the first time)."""
        if self.desired is None:
            self.desired = self.desire(self.fs)
        observation = observe(self.desired, self.fs, self.probe)
        if not self.is_staging:  # staging runs nothing: no one need run sv
            observation.cannot_run = users_who_cannot_run(self.desired.logins, self.identities,
                                                          self.sv)
        return make_plan(self.desired, observation, self.identities, self.sv, self.is_staging)

    def execute(self, plan):
        """Execute ``plan`` step by step, then plan again (``Result.after``); Ctrl-C raises
        ``Interrupted`` with the Result so far."""
        result = Result(plan)
        try:
            return self._execute(plan, result)
        except KeyboardInterrupt as exc:
            result.is_interrupted = True
            raise Interrupted(result) from exc

    def _execute(self, plan, result):
        desired = self.desired
        began = time.time()

        def refuse(login, exc):
            result.refusals.setdefault(login, str(exc))
            converger.discard(lambda path: desired.login_of(path) == login)

        def on_failure(path, exc):
            login = desired.login_of(path)
            if login is not None:
                refuse(login, exc)
            return login is not None

        def fail(step, exc):
            result.failed, result.error = step, exc
            converger.discard()
            return result

        converger = Converger(self.fs, on_failure,
                              lambda path: desired.login_of(path) is not None,
                              lambda step: result.done.append((step, None)),
                              lambda path: _undone(result, path))
        steps, owing = plan.steps, plan
        if plan.prepared:
            owing = self._prepared(plan, result)
            if owing is None:
                return result
            steps = [step for step in owing.steps if step not in owing.prepared]
            desired = self.desired  # the second look's
        ledger = OwedLedger(self.fs, desired.owed_file, owing.owed, owing.owed_before)
        try:
            ledger.write_down()
        except (OSError, ApplyError) as exc:
            result.error = ApplyError("cannot write down the restarts this apply owes, so "
                                      "nothing was changed: %s" % _reason(exc))
            return result
        try:
            return self._steps(result, steps, desired, converger, ledger, refuse, fail, began)
        except KeyboardInterrupt:
            converger.discard()
            raise
        finally:
            result.owed = list(ledger.owed)

    def _steps(self, result, steps, desired, converger, ledger, refuse, fail, began):
        """The steps in order, then the look after them and the watch."""
        plan = result.plan
        activator = self._activator(desired)
        for step in steps:
            login = step_login(desired, step)
            if login is not None and login in result.refusals:
                continue
            is_path = isinstance(step, PathStep)
            result.failed = step  # the step under way, should Ctrl-C stop it here
            try:
                if not (is_path and step.exposes_nothing):
                    converger.flush()
            except ApplyError as exc:  # a file outside users' parts: the apply stops
                return fail(step, exc)
            try:
                if is_path:
                    converger.execute(step)  # said done (result.done) as it is done
                else:
                    started = time.time()
                    result.done.append((step, activator.execute(step)))
                    result.watched += started_sides(step, began, started, time.time())
                    if isinstance(step, ServiceStep) and step.is_owed:
                        ledger.done(step.action.value, step.target)
            except ApplyError as exc:
                if login is None:
                    return fail(step, exc)
                refuse(login, exc)
            except Exception as exc:  # noqa: BLE001 — whatever a home makes fail refuses its user
                if login is None:
                    raise
                refuse(login, "cannot %s %s: %s" % (
                    step.action, self.fs.host_path(step.path) if is_path else step.path,
                    unexpected(exc)))
            result.failed = None
        if not plan.steps:
            result.after = plan  # nothing was done: the first look is the last
            return result
        try:
            converger.finish()
            if any(isinstance(step, CommandStep) for step, _ in result.done):
                self.desired = None  # initsys's commands changed the host: ask it again
            result.after = self.plan()
        except ApplyError as exc:
            result.error = exc
            return result
        left = [step for step in result.after.changes
                if step_login(desired, step) not in result.refusals]
        if left:
            result.error = ApplyError("not converged: a second plan still has %d step(s): %s"
                                      % (len(left), "; ".join("%s %s" % (step.action,
                                                                          step.path)
                                                              for step in left[:5])))
            return result
        self._watch(result, began)
        return result

    def _watch(self, result, began):
        """Watch the sides the steps started (but those of refused users): ``not_up``."""
        result.watched = [item for item in result.watched
                          if (item.unit.login or item.unit.for_login) not in result.refusals]
        if self.look is not None:
            result.not_up = self.watcher(result.watched, self.look, self.wait_seconds, began)

    def _activator(self, desired):
        return Activator(self.fs, self.runner, desired, self.wait_seconds, self.waiter,
                         self.probe)

    def _prepared(self, plan, result):
        """Run the plan's ``prepare`` commands (initsys's: a package installed), then look at
        the host again: the plan of that second look — its steps but for its own prepare
        commands are what remains to do — or None when a prepare command failed."""
        activator = self._activator(self.desired)
        for step in plan.prepared:
            try:
                result.done.append((step, activator.execute(step)))
            except ApplyError as exc:
                result.failed, result.error = step, exc
                return None
        self.desired = None  # the host changed under initsys: ask it again
        again = self.plan()
        result.refusals.update(again.refusals)
        return again


def _undone(result, path):
    """Strike the file step of ``path`` — written to its temp name, then dropped — off what
    ``result`` says was done: that file stayed wholly old. Looked for from the end: a file
    held back is among the last steps done."""
    for index in range(len(result.done) - 1, -1, -1):
        step = result.done[index][0]
        if isinstance(step, PathStep) and step.writes_file and step.path == path:
            del result.done[index]
            return


def _reason(exc):
    return "%s: %s" % (exc.filename, exc.strerror) if isinstance(exc, OSError) else str(exc)

