"""apply: the planner's services — waits for runsv, the restart matrix, teardown, loggers added
or dropped, and restarts an earlier apply owed.

``ServicesPlanner(draft).plan(unit)`` decides, for one declared service after the files
planner has run, from facts only (``draft.touched``, ``draft.created``, ``draft.changed``
and the live state observed):

* a service linked or made now: a ``WaitStep`` until runsv serves it (one per tree);
* the restart matrix (docs/apply.md): ``run`` or ``env/*`` changed -> ``sv -w T restart``
  (a one-shot: not run again, unless ``rerun_on_change: true`` — then ``sv up`` once it is
  down, watched to its end: docs/jobs.md);
  ``log/run`` changed -> restart the log; the log ``config`` changed -> ``sv hup`` the log;
  anything else -> nothing. Only for a service that was linked and running before, want up,
  not ``down: true``, with ``restart_on_change`` on, and never under ``--root``; every
  restart skipped is a no-op with its reason. A side whose state cannot be told (a status
  its owner made unreadable) may run: its restart is planned — owed, never dropped — and
  done only once the state can be told;
* ``enabled: false`` / ``ensure: absent``: unlink, ``sv exit``, remove;
* a logger added or dropped where a runsv runs: a new runsv (``cycle``);
* a service linked before that no runsv serves: a wait that is itself a pending change;
* the restarts an earlier apply owed (host/owed.py) that no step takes: struck off only when their
  service is gone, kept when this plan does not look at it (``--only``, a refused user);
* what the service directories hold that the data does not declare: left alone, said.
"""

import enum
import posixpath

from ...protocol.layout import SCHEDULE, TIMER_STATE_FILE
from ...protocol.sidestate import Condition
from ..effects import Effect, Role, decide
from ..runner import limits_command
from ..steps import Action, PathStep, Phase, ServiceStep, Side, WaitStep

WAIT_REASON = "runsv reads supervise/ok"
UNSERVED_REASON = "linked, but no runsv serves it"
OWED_REASON = " (owed: an earlier apply stopped before it)"
# A side whose state cannot be told (host/sides.probe_side) may run: its restart is planned, so
# written down as owed, and done only once its state can be told (activate.py).
UNKNOWN_REASON = "state unknown: %s"


def is_waiting_record(record):
    """Whether ``supervise/timer`` (bytes) is a waiting ``timer-run``'s: the C runsv's
    status shows it running either way, and its record's ``started=0`` says no job started
    (runtime/timerrun.py).

    >>> is_waiting_record(b"timer-state 1 next=2.000000 elapse=0 skipped=0 started=0\\n")
    True
    >>> is_waiting_record(b"timer-state 1 next=2.000000 started=1.500000\\n")
    False
    >>> is_waiting_record(b"")  # no record (yet): it cannot be told
    False
    """
    words = record.split(b"\n", 1)[0].split()
    return words[:2] == [b"timer-state", b"1"] and b"started=0" in words


class LogAdded(enum.Enum):
    """What adding a logger to a served service takes."""

    CYCLED = "a new runsv now: it starts the logger"
    PENDING = "left for runsv's next start"
    UNSERVED = "no runsv serves it: the one that starts reads log/"


class ServicesPlanner:
    def __init__(self, draft):
        self.draft = draft
        self.desired, self.obs = draft.desired, draft.obs
        self.owed = {}  # side's directory -> what an earlier apply owed it, not yet taken
        for entry in self.obs.owed:
            self.owed.setdefault(entry.target, []).append(entry)
        self.owed_taken = []  # taken by the restart matrix of a service planned
        self.owed_kept = []  # not done by this plan: written down again, for a later apply

    def plan(self, unit):
        draft = self.draft
        if unit.is_absent:
            self.teardown(unit, "ensure: absent", remove=unit.path not in draft.packaged)
            return
        if not unit.is_enabled:
            self.teardown(unit, "enabled: false", remove=False)
            return
        if not unit.has_log and unit.path not in draft.packaged:
            self.drop_log(unit)
        if unit.link in draft.touched or unit.path in draft.created:
            if not draft.is_staging:
                self.wait(unit)
            return
        if draft.is_staging:
            self.restarts(unit)
            return
        added = self.add_log(unit) if self.log_awaits_runsv(unit) else None
        if added is not LogAdded.CYCLED:  # a new runsv starts the service with everything new
            self.restarts(unit)
        if added is None:
            self.unserved(unit)

    # -- waits --------------------------------------------------------------------------------
    def wait(self, unit, is_unserved=False):
        """Wait for ``unit`` after the links of its tree: one wait per tree, so that a tree
        that never comes up refuses its user alone."""
        phase = Phase.USER_LINKS if unit.login is not None else Phase.SYSTEM_LINKS
        steps = self.draft.phases[phase]
        last = steps[-1] if steps else None
        if (isinstance(last, WaitStep) and last.is_unserved == is_unserved
                and last.units[0].login == unit.login):
            last.units.append(unit)
        else:
            self.draft.add(phase, WaitStep(phase, [unit], UNSERVED_REASON if is_unserved
                                           else WAIT_REASON, is_unserved))

    def unserved(self, unit):
        """A service linked as the data says that no runsv serves (a wait that timed out, a
        runsvdir stopped or not yet started, a logger that never came up): wait for it again,
        as after linking — a timeout fails the apply naming the likely cause — unless the
        user's whole tree was stopped by hand (``sv down runsvdir-LOGIN``)."""
        live = self.obs.live_of(unit)
        if live.main.is_supervised and (live.log.is_supervised or not unit.has_log):
            return
        unknown = live.main.unknown or (live.log.unknown if unit.has_log else None)
        if unknown is not None:  # a wait for what cannot be told would only time out
            self.draft.noop(unit.label, "state unknown (%s): not waited for" % unknown)
            return
        if unit.login is not None:
            tree = next((other for other in self.desired.units
                         if other.for_login == unit.login), None)
            side = self.obs.live_of(tree).main if tree is not None else None
            if side is not None and side.is_supervised and not side.is_want_up:
                self.draft.noop(unit.label, "no runsv serves it: %s is down by hand (not "
                                            "waited for)" % tree.name)
                return
        self.wait(unit, is_unserved=True)

    # -- loggers added or dropped -----------------------------------------------------------
    def log_awaits_runsv(self, unit):
        """``log/`` made now — or made by an earlier apply that stopped before giving the
        service a new runsv: a runsv serves the service, and no runsv ever took the log side
        up (no ``log/supervise/``: runsv looks for ``log/`` once, at its start)."""
        if unit.log_path in self.draft.created:
            return True
        live = self.obs.live_of(unit)
        return (unit.has_log and live.main.is_supervised and not live.log.was_seen
                and self.obs.actual(unit.log_path).kind == "directory")

    def add_log(self, unit):
        """``log/`` made where a runsv serves the service without one: the logger starts only
        with a new runsv (``cycle``; the service restarts once). A LogAdded, or None when no
        runsv serves it (the one that starts reads ``log/``)."""
        live = self.obs.live_of(unit).main
        if not live.is_supervised:
            return None
        held = self.held_back(unit, live)
        if held is None:
            self.cycle(unit, "logger added: runsv starts a logger only at its start",
                       [Side.MAIN])
            return LogAdded.CYCLED
        self.draft.noop(unit.label, "logger added; it starts when runsv next starts (%s)"
                        % held)
        return LogAdded.PENDING

    def drop_log(self, unit):
        """``log: false`` where a ``log/`` is left: remove it — through a new runsv when one
        serves its log side (``cycle``)."""
        draft = self.draft
        path = unit.log_path
        actual = self.obs.actual(path)
        if actual.kind != "directory":
            return
        live = self.obs.live_of(unit)
        if not (live.log.is_supervised and not draft.is_staging):
            draft.removal(Phase.PURGE, path, actual, ["log: false"])
            return
        held = self.held_back(unit, live.main)
        if held is not None:
            draft.noop(unit.label, "log: false; log/ stays until runsv next starts (%s)" % held)
            return
        self.cycle(unit, "log: false: runsv restarts without a logger", [Side.MAIN, Side.LOG],
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
        draft = self.draft
        link = self.desired.tree.get(unit.link)
        relink = link is not None and self.was_linked(unit)
        if relink:
            draft.add(Phase.TEARDOWN, PathStep(Action.REMOVE, unit.link, "symlink", [reason],
                                               unit=unit))
        self.exit(unit, reason, sides)
        if remove is not None:
            draft.add(Phase.TEARDOWN, PathStep(Action.REMOVE, remove[0], "tree", [remove[1]],
                                               unit=unit))
            draft.touch(remove[0])
        if relink:
            uid, gid = draft.want_ids(link, link.path)
            draft.add(Phase.TEARDOWN, PathStep(Action.CREATE, unit.link, "symlink", [reason],
                                               unit=unit, entry=link, uid=uid, gid=gid))
            draft.add(Phase.TEARDOWN, WaitStep(Phase.TEARDOWN, [unit], WAIT_REASON))

    # -- what a change does (effects.py) ----------------------------------------------------
    def restarts(self, unit):
        """What the changed files of ``unit`` call for (effects.decide), and what an earlier
        apply owed its sides that this plan does not already do."""
        roles = self.draft.changed.get(unit.path, ())
        live = self.obs.live_of(unit)
        owed_main = {entry.action: entry for entry in self.owed.pop(unit.path, ())}
        owed_log = {entry.action: entry for entry in self.owed.pop(unit.log_path, ())}
        self.owed_taken += list(owed_main.values()) + list(owed_log.values())
        decision = decide(roles, unit.is_timer)
        for role, why in decision.left:
            self.draft.noop(unit.label, "%s changed; nothing to do: %s" % (role.value, why))
        restart = owed_main.get("restart")
        if decision.restart:
            self.restart(unit, Side.MAIN, live.main, Action.RESTART,
                         self.restart_cause(unit, decision.restart))
        elif restart is not None:
            self.restart(unit, Side.MAIN, live.main, Action.RESTART, restart.reason,
                         is_owed=True)
        else:
            self.in_place(unit, live.main, decision, owed_main)
        self.log_changed(unit, live.log, decision.log, owed_log)

    def restart_cause(self, unit, roles):
        """Why the service restarts: its first changed role's name, and for a run that makes
        or unmakes a timer, which."""
        if Role.RUN in roles and self.kind_changed(unit):
            return "run changed (a timer now)" if unit.is_timer else \
                "run changed (a timer no more)"
        return "%s changed" % roles[0].value

    def in_place(self, unit, live, decision, owed):
        """No restart: the cgroup's limits written in place, a waiting timer's schedule read
        again — each as this plan's change asks, or as an earlier apply owed it."""
        limits = owed.get("limits")
        if decision.limits:
            self.limits(unit, live, "cgroup changed")
        elif limits is not None:
            self.limits(unit, live, limits.reason, is_owed=True)
        hup = owed.get("hup")
        if decision.rearm and unit.path + "/" + SCHEDULE not in self.draft.created:
            self.rearm(unit, live, "schedule changed")
        elif hup is not None:
            self.rearm(unit, live, hup.reason, is_owed=True)

    def log_changed(self, unit, live, decision, owed):
        """The logger: restarted for a new ``log/run``, HUP'd for a new svlogd config — or as
        an earlier apply owed it. A logger made now needs neither: whichever runsv starts it
        reads the new files."""
        if unit.log_path in self.draft.created:
            return
        effect = decision[0] if decision is not None else None
        if effect is Effect.LOG_RESTART:
            self.restart(unit, Side.LOG, live, Action.RESTART, "log/run changed")
        elif "restart" in owed:
            self.restart(unit, Side.LOG, live, Action.RESTART, owed["restart"].reason,
                         is_owed=True)
        elif effect is Effect.LOG_HUP:
            self.restart(unit, Side.LOG, live, Action.HUP, "log config changed")
        elif "hup" in owed:
            self.restart(unit, Side.LOG, live, Action.HUP, owed["hup"].reason, is_owed=True)

    def restart(self, unit, side, live, action, cause, is_owed=False):
        """``action`` on a side of ``unit`` for ``cause`` — ``is_owed``: an earlier apply's,
        which its reasons say, and which is written down again as it was (host/owed.py)."""
        is_log = side is Side.LOG
        label = unit.log_label if is_log else unit.label
        reason = cause + OWED_REASON if is_owed else cause
        rerun = unit.is_oneshot and not is_log
        skip = (self.why_not_rerun if rerun else self.why_not_restarted)(unit, live)
        if skip is not None:
            self.draft.noop(label, "%s; no %s: %s" % (reason, "run again" if rerun
                                                      else action.value, skip))
            return
        target = unit.log_path if is_log else unit.path
        argv = self.draft.sv + (["up", target] if rerun else  # watched to its end (watch.py)
                                # a timer waiting is down under our runsv: no sv -w
                                ["restart", target] if unit.is_timer and not is_log else
                                ["-w", str(self.desired.sv_timeout), "restart", target]
                                if action is Action.RESTART else ["hup", target])
        if rerun:
            reason += "; rerun_on_change: true: run again"
        reasons = [reason] if live.unknown is None else [reason, UNKNOWN_REASON % live.unknown]
        self.draft.add(Phase.RESTARTS, ServiceStep(action, label, side, reasons, unit, argv,
                                                   self.draft.run_as(unit), cause=cause))

    def why_not_restarted(self, unit, live):
        """Why a side that needs a restart gets none (None: it gets one)."""
        if self.draft.is_staging:
            return "--root: nothing is started"
        if not unit.restart_on_change:
            return "restart_on_change: false"
        held = self._why_held(unit, live)
        if held is not None or live.unknown is not None:
            return held  # unknown: it may run, owed (written down) until it can be told
        state = live.state
        if state is Condition.DOWN and live.is_want_up and self.kind_changed(unit) \
                and not unit.is_timer:
            return None  # a timer waiting (our runsv): it becomes a daemon now
        if state is not Condition.RUN:
            return "not running (%s)" % ("state unknown" if state is Condition.UNKNOWN
                                         else state)
        if not live.is_want_up:
            return "want down"
        return None

    # -- timers (docs/jobs.md#timers) -------------------------------------------------------
    def kind_changed(self, unit):
        """Whether ``unit`` becomes a timer, or stops being one: its ``schedule`` is made
        now, or is on the host and no longer in the data (the purge removes it)."""
        schedule = unit.path + "/" + SCHEDULE
        if unit.is_timer:
            return schedule in self.draft.created
        return schedule in self.obs.extras  # undeclared, so purged

    def rearm(self, unit, live, cause, is_owed=False):
        """``sv hup`` a waiting timer whose ``schedule`` changed: the waiter reads it again —
        never a run, and never a HUP to a job under way (the next wait reads it)."""
        reason = cause + OWED_REASON if is_owed else cause
        skip = self.why_not_rearmed(unit, live)
        if skip is not None:
            self.draft.noop(unit.label, "%s; no hup: %s" % (reason, skip))
            return
        self.draft.add(Phase.RESTARTS, ServiceStep(
            Action.HUP, unit.label, Side.MAIN, [reason + ": read again"], unit,
            self.draft.sv + ["hup", unit.path], self.draft.run_as(unit), cause=cause))

    def limits(self, unit, live, cause, is_owed=False):
        """``runsv-cgroup limits DIR``: the ``cgroup`` file's limits written into the running
        service's cgroup (as the tree's owner: a user's service's cgroup is the user's). Not a
        restart: ``restart_on_change`` and ``down: true`` do not hold it back."""
        reason = cause + OWED_REASON if is_owed else cause
        skip = self.why_not_limited(live)
        if skip is not None:
            self.draft.noop(unit.label, "%s; no limits set in place: %s" % (reason, skip))
            return
        reasons = [reason] if live.unknown is None else [reason, UNKNOWN_REASON % live.unknown]
        self.draft.add(Phase.RESTARTS, ServiceStep(
            Action.LIMITS, unit.label, Side.MAIN, reasons, unit,
            limits_command() + ["limits", unit.path], self.draft.run_as(unit), cause=cause))

    def why_not_limited(self, live):
        """Why a service whose ``cgroup`` file changed gets no ``runsv-cgroup limits`` (None:
        it gets one): nothing runs whose cgroup could take them — its next start does."""
        if self.draft.is_staging:
            return "--root: nothing is started"
        if live.unknown is not None:
            return None  # it may run: planned, owed until its state can be told
        if live.state is not Condition.RUN:
            return "not running (%s): its next start writes them" % (
                "state unknown" if live.state is Condition.UNKNOWN else live.state)
        return None

    def why_not_rearmed(self, unit, live):
        """Why a timer whose ``schedule`` changed gets no ``sv hup`` (None: it gets one):
        only a waiting timer reads its schedule again on HUP — under our runsv it is down,
        want up; under the C runsv ``timer-run`` runs, and its record says no job started
        (``started=0``). A job under way would get the HUP: the next waiter reads the new
        schedule."""
        if self.draft.is_staging:
            return "--root: nothing is signalled"
        held = self._why_held(unit, live)
        if held is not None:
            return held
        if live.unknown is not None or live.state is Condition.UNKNOWN:
            return "state unknown: the next waiter reads it"
        if not live.is_want_up:
            return "want down (off): the next start reads it"
        record = self.obs.actual(unit.path + "/" + TIMER_STATE_FILE).content or b""
        if live.state is Condition.DOWN or (live.state is Condition.RUN
                                            and is_waiting_record(record)):
            return None
        return "a run is under way (%s): the next wait reads it" % live.state

    def why_not_rerun(self, unit, live):
        """Why a one-shot whose ``run`` (``env``, ``conf``) changed is not run again (None:
        it is): it stays done unless the data says ``rerun_on_change: true``, and a run
        under way is not ended (docs/jobs.md)."""
        if not unit.reruns_on_change:
            return "a one-shot is not run again (rerun_on_change: false)"
        if self.draft.is_staging:
            return "--root: nothing is started"
        held = self._why_held(unit, live)
        if held is not None or live.unknown is not None:
            return held
        if live.state is not Condition.DOWN:
            return "a run is under way (%s): runit-provision restart ends it and runs it " \
                   "again" % live.state
        return None

    def _why_held(self, unit, live):
        """What keeps apply from starting a side at all (None: nothing)."""
        if unit.is_down:
            return "down: true (apply never starts it)"
        if not self.was_linked(unit):
            return "not linked before: runsv starts it"
        if live.unknown is None and live.state is Condition.NOT_SUPERVISED:
            return "not supervised (no runsv)"
        return None

    def was_linked(self, unit):
        actual = self.obs.actual(unit.link)
        if actual.kind != "symlink":
            return False
        target = posixpath.normpath(posixpath.join(posixpath.dirname(unit.link),
                                                   actual.target))
        return target == posixpath.normpath(unit.path)

    def owed_left(self):
        """What becomes of the restarts an earlier apply wrote down that no step of this plan
        does. One is struck off only when its service is gone — no longer in the data, torn
        down, or started anew by a runsv this plan gives it — said as a no-op. Any other is
        kept for a later apply (written down again): one whose service a selection
        (``--only``) left out, whose user is refused, or that a refused user's step took."""
        for entry in self.owed_taken:
            if self.draft.is_refused(entry.target):
                self.owed_kept.append(entry)
        left_out = {side for unit in self.desired.left_out
                    for side in (unit.path, unit.log_path)}
        for entry in sorted((entry for entries in self.owed.values() for entry in entries),
                            key=lambda entry: (entry.target, entry.action)):
            target = entry.target
            owed = "%s owed (%s)" % (entry.action, entry.reason)
            if target in left_out:
                self.owed_kept.append(entry)
                self.draft.noop(entry.label, owed + ": kept for an apply that selects it")
            elif self.draft.is_refused(target):
                self.owed_kept.append(entry)
            else:
                self.draft.noop(entry.label, "%s: struck off: %s" % (owed, self.why_gone(target)))

    def why_gone(self, target):
        """Why a side an earlier apply owed a restart has no process of the old files left
        to restart (owed_left: it is not planned, and its user not refused)."""
        unit, _ = self.desired.role_of(target)
        if unit is None:
            return "its service is no longer in the data"
        if unit.is_absent:
            return "its service is removed (ensure: absent)"
        if not unit.is_enabled:
            return "its service is stopped (enabled: false)"
        if target == unit.log_path and not unit.has_log:
            return "its logger is removed (log: false)"
        if unit.path in self.draft.created or unit.link in self.draft.touched:
            return "its directory or link is made anew: runsv starts it with the new files"
        return "a new runsv starts it with the new files"

    def undeclared_left(self):
        """What is linked in the service directories and the data does not declare
        (host/supervised.py): listed as left alone — apply neither starts, stops nor removes
        what it was not given."""
        for entry in self.obs.undeclared:
            self.draft.noop(entry.path, "not in the data: left alone%s" % (
                "" if entry.why is None else " (%s)" % entry.why))
        for item in self.obs.unread:
            self.draft.noop(item.path, "not listed for what the data does not declare: %s"
                            % item.why)

    # -- teardown ---------------------------------------------------------------------------
    def exit(self, unit, reason, sides):
        """``sv exit`` the service (and its log side, when ``sides`` has it)."""
        targets = [unit.path] + ([unit.log_path] if Side.LOG in sides else [])
        argv = self.draft.sv + ["-v", "-w", str(self.desired.sv_timeout), "exit"] + targets
        self.draft.add(Phase.TEARDOWN, ServiceStep(Action.EXIT, unit.label, Side.MAIN, [reason],
                                                   unit, argv, self.draft.run_as(unit)))

    def teardown(self, unit, reason, remove):
        """Unlink, stop (``sv exit`` the service and its log), and for ``ensure: absent``
        remove the directory."""
        draft = self.draft
        link = self.obs.actual(unit.link)
        if link.exists and (remove or self.was_linked(unit)):
            draft.add(Phase.TEARDOWN, PathStep(Action.REMOVE, unit.link, "tree" if link.kind ==
                                               "directory" else link.kind, [reason], unit=unit))
            draft.touch(unit.link)
        elif link.exists:
            draft.noop(unit.link, "not a link to %s: left alone" % unit.path)
        live = self.obs.live_of(unit)
        if live.main.is_supervised or live.log.is_supervised:
            self.exit(unit, reason, [Side.MAIN] + ([Side.LOG] if live.log.is_supervised
                                                   else []))
        base = self.obs.actual(unit.path)
        if remove and base.exists:
            draft.add(Phase.TEARDOWN, PathStep(Action.REMOVE, unit.path, "tree", [reason],
                                               unit=unit))
            draft.touch(unit.path)
        if not (link.exists or base.exists and remove or live.main.is_supervised):
            draft.noop(unit.label, "absent" if remove else "not linked")
