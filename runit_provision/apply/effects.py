"""apply: what a change of each file the renderer writes does to the running service — the one
table (docs/apply.md#what-a-change-does).

A file of a service directory is read by someone at some moment: runsv execs ``./run`` only
when it starts the service, sandbox-run reads ``sandbox`` then, svlogd reads its ``config`` on
HUP, our runsv reads ``give-up`` at each death. A change reaches the running process only if
the applier makes that moment come — a restart, a HUP, the limits written into its cgroup — or
if the next such moment comes by itself; ``ROWS`` says which, with why. The planner
(planner/services.py) acts by it, the docs' table is made from it, and a test renders every
key of the data and fails on a file no row names.

Pure: no imports but the layout's names.
"""

import enum
from collections import namedtuple

from ..protocol.layout import (BACKOFF, CGROUP, CHECK, CONF, CONTROL_DIR, DOWN, ENV_DIR,
                               FINISH, GIVE_UP, JOB, LOG_DIR, NEEDS_DONE, ONESHOT, READY, RUN,
                               SANDBOX, SANDBOXED, SCHEDULE, SVLOGD_CONFIG)


class Role(enum.Enum):
    """What a path is to its service; the value is the name plans and the docs use."""

    DIR = "dir"  # the service directory
    LINK = "link"  # its link in the directory runsvdir scans
    RUN = "run"
    FINISH = "finish"
    CHECK = "check"
    DOWN = "down"
    LOG = "log"  # log/
    LOG_RUN = "log/run"
    ENV = "env"  # env/ and every file in it
    CONTROL = "control"  # control/ and every file in it
    CONF = "conf"  # what a run script sources (Void's convention)
    SANDBOX = "sandbox"
    SANDBOXED = "sandboxed"
    READY = "ready"
    NEEDS_DONE = "needs-done"
    GIVE_UP = "give-up"
    BACKOFF = "backoff"
    ONESHOT = "oneshot"
    CGROUP = "cgroup"
    SCHEDULE = "schedule"  # a timer's spec
    JOB = "job"  # a timer's run script
    LOG_DIR = "log dir"  # svlogd's directory
    LOG_CONFIG = "log/config"  # svlogd's config in it
    FILES = "files"  # a file or link the data carries (files:, links:) that no runtime reads


class Effect(enum.Enum):
    """What the applier does when a path of that role changes under a running service."""

    RESTART = "restart"  # sv -w T restart NAME (a one-shot: run again only if rerun_on_change)
    LIMITS = "limits"  # runsv-cgroup limits DIR: the cgroup file's limits, into its cgroup
    REARM = "hup"  # sv hup NAME: a waiting timer reads its schedule again
    LOG_RESTART = "restart the logger"  # sv -w T restart NAME/log
    LOG_HUP = "hup the logger"  # sv hup NAME/log: svlogd reads its config again
    NEW_RUNSV = "a new runsv"  # runsv looks for log/ only at its own start
    WAIT = "wait"  # a new link: wait until runsv serves it
    NOTHING = "nothing"


class Row(namedtuple("Row", "name role effect why timer")):
    """A file of a service directory (``name``; ``log dir/…``: in its log directory), its
    role, the effect of a change and why; ``timer``: ``(effect, why)`` for a timer, when it
    differs."""

    __slots__ = ()


def _row(name, role, effect, why, timer=None):
    return Row(name, role, effect, why, timer)


TIMER_NEXT_RUN = (Effect.NOTHING, "a timer's next run reads it")
LOG_DIRECTORY = "log dir"

ROWS = (
    _row(RUN, Role.RUN, Effect.RESTART, "runsv execs ./run only when it starts the service"),
    _row(ENV_DIR + "/*", Role.ENV, Effect.RESTART,
         "chpst -e reads env/ when ./run starts", TIMER_NEXT_RUN),
    _row(CONF, Role.CONF, Effect.RESTART, "./run sources it when it starts", TIMER_NEXT_RUN),
    _row(SANDBOX, Role.SANDBOX, Effect.RESTART,
         "sandbox-run makes the sandbox when ./run starts", TIMER_NEXT_RUN),
    _row(SANDBOXED, Role.SANDBOXED, Effect.RESTART,
         "the data's run script, started in the sandbox by ./run", TIMER_NEXT_RUN),
    _row(READY, Role.READY, Effect.RESTART,
         "./run is handed its notify socket or descriptor when it starts"),
    _row(CGROUP, Role.CGROUP, Effect.LIMITS,
         "its limits are written into the running service's cgroup; what a stop ends is read "
         "when the main process ends"),
    _row(JOB, Role.JOB, Effect.NOTHING, "a timer's next run execs ./job"),
    _row(SCHEDULE, Role.SCHEDULE, Effect.REARM,
         "a waiting timer reads it again on HUP; a run under way is left to end (added or "
         "dropped: a restart, the service becomes or stops being a timer)"),
    _row(FINISH, Role.FINISH, Effect.NOTHING, "runsv runs ./finish after each end of ./run"),
    _row(CHECK, Role.CHECK, Effect.NOTHING, "sv runs ./check at each check"),
    _row(CONTROL_DIR + "/*", Role.CONTROL, Effect.NOTHING,
         "runsv runs control/C at each control byte C"),
    _row(DOWN, Role.DOWN, Effect.NOTHING,
         "runsv reads it only at its own start; up or down now is the operator's"),
    _row(NEEDS_DONE, Role.NEEDS_DONE, Effect.NOTHING,
         "read before each start of ./run; a running service's needs were met"),
    _row(GIVE_UP, Role.GIVE_UP, Effect.NOTHING, "our runsv reads it at each death"),
    _row(BACKOFF, Role.BACKOFF, Effect.NOTHING,
         "read at each death (our runsv; the rendered ./finish under the C runsv)"),
    _row(ONESHOT, Role.ONESHOT, Effect.NOTHING,
         "read at each end of ./run and by every view when it looks"),
    _row("*", Role.FILES, Effect.NOTHING,
         "no runtime reads it (a run script that does: runit-provision restart NAME)"),
    _row(LOG_DIR + "/" + RUN, Role.LOG_RUN, Effect.LOG_RESTART,
         "runsv execs log/run only when it starts the logger"),
    _row(LOG_DIRECTORY + "/" + SVLOGD_CONFIG, Role.LOG_CONFIG, Effect.LOG_HUP,
         "svlogd reads its config at its start and on HUP"),
    _row(LOG_DIR + "/", Role.LOG, Effect.NEW_RUNSV,
         "runsv looks for log/ only at its own start, and the service's stdout is the pipe "
         "to the logger: the service restarts once"),
    _row("link", Role.LINK, Effect.WAIT, "runsvdir starts a runsv for it"),
)

ROW_OF = {row.role: row for row in ROWS}
# Roles a rendered path has, by its first name in the service directory.
_BY_NAME = {row.name.split("/", 1)[0]: row.role for row in ROWS
            if row.name not in ("*", "link") and not row.name.startswith(LOG_DIRECTORY)}
_BY_NAME[LOG_DIR] = Role.LOG


def role_in_service(relative):
    """The Role of ``relative``, a path in a service directory (``log/run``, ``env/PORT``).

    >>> [role_in_service(name).value for name in ("run", "env/PORT", "log", "log/run",
    ...                                              "sandbox", "tools/rotate", "README")]
    ['run', 'env', 'log', 'log/run', 'sandbox', 'files', 'files']
    >>> role_in_service("log/check").value  # the log side's own: nothing restarts for it
    'files'
    """
    if relative == LOG_DIR + "/" + RUN:
        return Role.LOG_RUN
    top, _, rest = relative.partition("/")
    role = _BY_NAME.get(top, Role.FILES)
    if rest and role not in (Role.ENV, Role.CONTROL):
        return Role.FILES
    return role


def effect_of(role, is_timer=False):
    """``(Effect, why)`` of a change of a path of ``role`` under a running service.

    >>> effect_of(Role.SANDBOX)[0], effect_of(Role.SANDBOX, is_timer=True)[0]
    (<Effect.RESTART: 'restart'>, <Effect.NOTHING: 'nothing'>)
    """
    row = ROW_OF.get(role)
    if row is None:  # the service directory itself: its entries say what changed
        return Effect.NOTHING, "what changed in it says"
    if is_timer and row.timer is not None:
        return row.timer
    return row.effect, row.why


LOG_ORDER = (Effect.LOG_RESTART, Effect.LOG_HUP)


class Decision(namedtuple("Decision", "restart limits rearm log left")):
    """What the changed roles of one service call for: ``restart``, ``limits`` and ``rearm``
    — each the roles that cause it, or () — ``log`` (``(LOG_RESTART or LOG_HUP, roles)``, or
    None) and ``left``: ``[(role, why)]`` changed with nothing to do, said only when the
    service is not restarted (a restart reads every file anew)."""

    __slots__ = ()


def decide(roles, is_timer=False):
    """The Decision for a service whose ``roles`` changed. Roles with no row (the directory,
    the log directory) and those the structure's steps answer (a new link, ``log/`` made or
    dropped) call for nothing here.

    >>> decision = decide({Role.RUN, Role.CGROUP, Role.FINISH, Role.LOG_CONFIG})
    >>> [role.value for role in decision.restart], decision.limits, decision.log[0].name
    (['run'], (), 'LOG_HUP')
    >>> decision.left
    []
    >>> decide({Role.CGROUP, Role.FINISH}).left
    [(<Role.FINISH: 'finish'>, 'runsv runs ./finish after each end of ./run')]
    """
    by_effect = {}
    for role in sorted(roles, key=_order):
        if role in ROW_OF:
            by_effect.setdefault(effect_of(role, is_timer)[0], []).append(role)
    restart = tuple(by_effect.get(Effect.RESTART, ()))
    log = next(((effect, tuple(by_effect[effect])) for effect in LOG_ORDER
                if effect in by_effect), None)
    if restart:
        return Decision(restart, (), (), log, [])
    left = [(role, effect_of(role, is_timer)[1]) for role in by_effect.get(Effect.NOTHING, ())]
    return Decision((), tuple(by_effect.get(Effect.LIMITS, ())),
                    tuple(by_effect.get(Effect.REARM, ())), log, left)


def _order(role):
    return list(Role).index(role)


def markdown_table():
    """The table as docs/apply.md shows it (a test keeps the page's copy the same)."""
    lines = ["| changed | what apply does | why |", "|---|---|---|"]
    for row in ROWS:
        name = "any other file (`files:`, `links:`)" if row.name == "*" else \
            "the link in the service directory" if row.name == "link" else \
            "`%s` in the log directory" % SVLOGD_CONFIG if row.role is Role.LOG_CONFIG else \
            "`%s`" % row.name
        effect = _EFFECT_WORDS[row.effect]
        if row.timer is not None:
            effect += "; a timer: %s (%s)" % (_EFFECT_WORDS[row.timer[0]], row.timer[1])
        lines.append("| %s | %s | %s |" % (name, effect, row.why))
    return "\n".join(lines) + "\n"


_EFFECT_WORDS = {
    Effect.RESTART: "`sv -w T restart NAME`", Effect.LIMITS: "`runsv-cgroup limits DIR`",
    Effect.REARM: "`sv hup NAME` while it waits", Effect.LOG_RESTART:
    "`sv -w T restart NAME/log`", Effect.LOG_HUP: "`sv hup NAME/log`",
    Effect.NEW_RUNSV: "a new runsv", Effect.WAIT: "wait for runsv", Effect.NOTHING: "nothing",
}
