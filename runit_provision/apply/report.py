"""apply: a plan or a result as people and machines read it — lines, unified diffs, JSON.

Text only: ``cli/`` prints it (and colours it on a terminal). One line per path and action,
like terraform or pyinfra::

    + /etc/sv/web/run (file 0755)
    ~ /etc/sv/web/env/PORT (content)
    - /etc/sv/old (tree: ensure: absent)
    ↻ web: restart (run changed)
    = db-proxy: run changed; no restart: restart_on_change: false

Every line is safe to print: a name from a user's home (``\x1b]0;…``, a newline, a byte that
is not UTF-8) is shown escaped (``shown.shown_name``), each line of a diff as a line of text
(``shown.shown_line``). ``diff_text`` gives unified diffs of text files; values under ``env/``
are masked unless ``show_secrets``. ``report_json`` is Ansible's result contract: ``changed``, ``failed``,
``msg``, the ``actions`` (each with its path and reasons), the ``restarts``, the ``noops`` with
their reasons and ``diff`` as a list of ``{before_header, after_header, before, after}``; of
an executed result, also what it ``watched``, which of it is ``not_up`` (watch.py), whether
Ctrl-C ``interrupted`` it and the restarts it still ``owed`` when it ended (host/owed.py).
"""

from ..model.acl import extended, words
from ..protocol.tally import exit_hint, exit_text
from ..shown import shown_line, shown_name
from .steps import SERVICE_ACTIONS, Action, CommandStep, PathStep, ServiceStep, WaitStep
from .watch import Outcome, Start

SYMBOLS = {Action.CREATE: "+", Action.CHANGE: "~", Action.REMOVE: "-", Action.RESTART: "↻",
           Action.HUP: "↻", Action.LIMITS: "↻", Action.EXIT: "↻", Action.RUN: "$", Action.WAIT: "…", "noop": "="}
QUIET_REASONS = ("up to date", "absent", "not linked")


def step_line(step):
    """``(symbol, text)`` of one step, the text one printable line (``shown_name``: a path,
    a link's target or a reason may come from a home)."""
    symbol, text = _step_text(step)
    return symbol, shown_name(text)


def _step_text(step):
    symbol = SYMBOLS[step.action]
    reasons = "; ".join(step.reasons)
    if isinstance(step, ServiceStep):
        return symbol, "%s: %s (%s)" % (step.path, step.action, reasons)
    if isinstance(step, WaitStep):
        return symbol, "wait for %s (%s)" % (", ".join(unit.label for unit in step.units),
                                             reasons)
    if isinstance(step, CommandStep):
        return symbol, "%s (%s)" % (step.path, reasons)
    if step.action is Action.REMOVE:
        return symbol, "%s (%s: %s)" % (step.path, step.kind, reasons)
    if step.kind == "symlink":
        what = "-> %s" % step.entry.target
        return symbol, "%s %s%s" % (step.path, what, "" if step.action is Action.CREATE
                                    else " (%s)" % reasons)
    if step.action is Action.CREATE:
        readers = "" if step.acl is None else ", acl " + words(extended(step.acl))
        return symbol, "%s (%s %04o%s)" % (step.path, step.kind, step.mode, readers)
    return symbol, "%s (%s)" % (step.path, reasons)


def folded_steps(steps):
    """``[(step, folded)]``: every step, except the creation of paths inside a service's
    directory (or its log directory) that the same plan creates — each counted on that
    directory's line instead (a new service is two lines, not ten).

    >>> from types import SimpleNamespace as S
    >>> web = S(path="/etc/sv/web", log_dir="/var/log/web")
    >>> steps = [S(action="create", kind="directory", path="/etc/sv/web", unit=web),
    ...          S(action="create", kind="file", path="/etc/sv/web/run", unit=web),
    ...          S(action="create", kind="file", path="/etc/sv/web/log/run", unit=web),
    ...          S(action="create", kind="directory", path="/var/log/web", unit=web),
    ...          S(action="create", kind="file", path="/var/log/web/config", unit=web),
    ...          S(action="change", kind="file", path="/etc/sv/db/run", unit=None)]
    >>> [(step.path, folded) for step, folded in folded_steps(steps)]
    [('/etc/sv/web', 2), ('/var/log/web', 1), ('/etc/sv/db/run', 0)]
    """
    created = {step.path for step in steps if step.action == Action.CREATE
               and step.kind == "directory"}
    folded, kept = {}, []
    for step in steps:
        home = _fold_target(step, created)
        if home is None:
            kept.append(step)
        else:
            folded[home] = folded.get(home, 0) + 1
    return [(step, folded.get(step.path, 0) if step.action == Action.CREATE else 0)
            for step in kept]


def _fold_target(step, created):
    unit = step.unit
    if step.action != Action.CREATE or unit is None:
        return None
    for directory in (unit.path, unit.log_dir):
        if directory in created and step.path.startswith(directory + "/"):
            return directory
    return None


def plan_lines(plan, show_waits=True):
    """``[(symbol, text)]``: every step, then the no-ops worth reading (a restart skipped and
    why), then nothing for what is up to date."""
    lines = [step_line(step) for step in plan.steps
             if show_waits or step.action is not Action.WAIT]
    lines += [(SYMBOLS["noop"], shown_name("%s: %s" % (noop.path, noop.reason)))
              for noop in plan.noops if noop.reason not in QUIET_REASONS]
    lines += [("!", refusal_line(login, message))
              for login, message in sorted(plan.refusals.items())]
    return lines


def refusal_line(login, message):
    """``LOGIN: refused: WHY``, one printable line (the why names a path in the home)."""
    return shown_name("%s: refused: %s" % (login, message))


def summary(plan):
    """One line: what the plan would do, or that nothing is to do."""
    counts = plan.counts()
    up_to_date = sum(1 for noop in plan.noops if noop.reason == "up to date")
    if not counts:
        return "No changes: %d paths up to date." % up_to_date
    parts = []
    for action in (Action.CREATE, Action.CHANGE, Action.REMOVE):
        parts.append("%d to %s" % (counts.get(action, 0), action))
    services = sum(counts.get(action, 0) for action in SERVICE_ACTIONS)
    parts.append("%d service action%s" % (services, "" if services == 1 else "s"))
    commands = counts.get(Action.RUN, 0)
    if commands:
        parts.append("%d command%s" % (commands, "" if commands == 1 else "s"))
    unserved = sum(len(step.units) for step in plan.changes if isinstance(step, WaitStep))
    if unserved:
        parts.append("%d service%s no runsv serves" % (unserved, "" if unserved == 1 else "s"))
    return "Plan: %s; %d up to date." % (", ".join(parts), up_to_date)


def shown_content(content, is_secret, show_secrets, other=None):
    """The text a diff shows for ``content`` (None: nothing there); a masked secret says
    whether it differs from ``other`` (the other side), never how."""
    if content is None:
        return ""
    if is_secret and not show_secrets:
        changed = ", changed" if other is not None and other != content else ""
        return "(secret: %d bytes%s; --show-secrets shows it)\n" % (len(content), changed)
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return "(binary: %d bytes)\n" % len(content)


def step_diff(step, show_secrets=False):
    """``{before_header, after_header, before, after}`` of a file step, or None."""
    if not isinstance(step, PathStep):
        return None
    is_removal = step.action is Action.REMOVE
    if step.kind != "file" and not (is_removal and step.before is not None):
        return None
    before = shown_content(step.before, step.is_secret, show_secrets)
    after = "" if is_removal else shown_content(step.after, step.is_secret, show_secrets,
                                                step.before)
    if before == after and step.before == step.after:
        return None  # a mode or owner put back: nothing to show
    return {"before_header": step.path if step.action is not Action.CREATE else "/dev/null",
            "after_header": step.path if not is_removal else "/dev/null",
            "before": before, "after": after}


def diff_text(step, show_secrets=False):
    """The unified diff of a file step ("" when it has none, e.g. a mode change)."""
    diff = step_diff(step, show_secrets)
    if diff is None or diff["before"] == diff["after"]:
        return ""
    import difflib  # only --diff shows diffs

    lines = difflib.unified_diff(_lines(diff["before"]), _lines(diff["after"]),
                                 shown_name(diff["before_header"]),
                                 shown_name(diff["after_header"]))
    text = ""
    for line in lines:
        if line.endswith("\n"):
            text += shown_line(line[:-1]) + "\n"
        else:
            text += shown_line(line) + "\n\\ No newline at end of file\n"
    return text


def _lines(text):
    r"""The lines of ``text``, each with its newline: split at newlines alone (a CR, a form
    feed or a U+2028 in a line is shown in it, escaped, not taken for the line's end).

    >>> _lines("a\r\nb\x0cc\nd")
    ['a\r\n', 'b\x0cc\n', 'd']
    """
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def step_json(step):
    item = {"action": step.action.value, "path": step.path, "kind": step.kind,
            "reasons": list(step.reasons),
            "service": step.unit.label if step.unit is not None else None}
    if isinstance(step, WaitStep):
        item["services"] = [unit.label for unit in step.units]
    elif isinstance(step, (ServiceStep, CommandStep)):
        item["argv"] = list(step.argv)
    elif step.action is not Action.REMOVE and step.kind in ("file", "directory", "bytecode"):
        item["mode"] = "%04o" % step.mode
        if step.acl is not None:
            item["acl"] = words(step.acl)
    elif step.kind == "symlink" and step.entry is not None:
        item["target"] = step.entry.target
    return item


def not_up_line(item):
    """One printable line saying why a side the apply started is not up (watch.NotUp):
    ``broken: died since it was started: 2 deaths, last exit 3 after 0.01 s; now down, want
    up``."""
    outcome = item.outcome
    if outcome is Outcome.GONE:
        text = "no runsv serves it any more (its runsv went away since it was started)"
    elif outcome is Outcome.NOT_UP and item.watched.start is Start.RUN:
        text = "its run asked for did not start within %.1f s (%s)" % (  # a timer's once
            item.seconds, _state_text(item.live))
    elif outcome is Outcome.NOT_UP:
        text = "not running %.1f s after it was started (%s)" % (item.seconds,
                                                               _state_text(item.live))
    elif outcome is Outcome.FAILED:
        text = "failed: its run ended with %s after %s" % (
            exit_text(item.last_exit), _took(item.live.last_run))
    elif outcome is Outcome.NOT_DONE:
        text = "not done: still running %.1f s after it was started (the timeout)" % (
            item.seconds)
    elif outcome is Outcome.NOT_RESTARTED:
        text = ("not restarted: the run from before the restart still runs %.1f s later "
                "(%s; does it ignore TERM?)" % (item.seconds, _state_text(item.live)))
    else:
        text = "died since it was started: %s; now %s" % (_ended_text(item),
                                                         _state_text(item.live))
    return shown_name("%s: %s" % (item.label, text))


def _took(found):
    took = None if found is None else found.took
    return "an unknown time" if took is None else "%.2f s" % took


def _ended_text(item):
    if item.tally is None:
        return "last exit unknown (no account of exits: not our runtime)"
    deaths = "%d death%s" % (item.deaths, "" if item.deaths == 1 else "s")
    ran = item.ran
    return "%s, last %s%s" % (deaths, exit_text(item.last_exit),
                              "" if ran is None else " after %.2f s" % ran)


def _state_text(live):
    if live.unknown is not None:
        return "state unknown: %s" % live.unknown
    if live.status is None:
        return "not supervised"
    text = live.state + (" (pid %d)" % live.pid if live.pid else "")
    return "%s, want %s" % (text, live.want)


def not_up_json(item, log=None):
    """``--json``'s record of a side that is not up: what the line says, as fields;
    ``log``: its last log lines (bytes; JSON has them as ``status --json`` and ``logs -o
    json`` do: a byte that is not UTF-8 as U+FFFD), or None when none were read."""
    live = item.live
    return {"service": item.watched.unit.label, "side": item.watched.side.value,
            "label": item.label, "path": item.watched.path, "outcome": item.outcome.value,
            "state": live.state, "pid": live.pid or None, "want": live.want,
            "deaths": item.deaths, "last_exit": item.last_exit, "ran": item.ran,
            "watched_seconds": round(item.seconds, 3), "why": not_up_line(item),
            "log": None if log is None else [line.decode("utf-8", "replace") for line in log]}


def not_up_hint(item):
    """What to do about a side that died ending with exit 0 (protocol.tally.exit_hint: runsv
    restarts what ends), or None."""
    return exit_hint(item.last_exit) if item.outcome is Outcome.DIED else None


def not_up_summary(items, verb="started"):
    """The one line that says which services started (``verb``: or restarted) did not stay
    up."""
    jobs = [item for item in items if item.outcome in (Outcome.FAILED, Outcome.NOT_DONE)]
    said = []
    for group, what in (([item for item in items if item not in jobs], "did not stay up"),
                        (jobs, "did not end done")):  # a one-shot's run (docs/jobs.md)
        if group:
            said.append("%d service%s %s %s: %s" % (
                len(group), "" if len(group) == 1 else "s", verb, what,
                ", ".join(shown_name(item.label) for item in group)))
    return "; ".join(said)


def report_json(plan, result=None, check_mode=False, show_secrets=False, root="/", error=None,
                logs=None):
    """Ansible's result for a plan (``check_mode``) or an executed ``result``; ``logs``:
    {side path: its last log lines (bytes)} of the sides not up."""
    steps = plan.steps if result is None else [step for step, _ in result.done]
    refusals = dict(plan.refusals if result is None else result.refusals)
    failure = error if error is not None else (result.error if result is not None else None)
    changes = [step for step in steps if step.is_change]
    report = {
        "changed": bool(changes),
        "failed": failure is not None or bool(refusals),
        "check_mode": check_mode,
        "root": root,
        "msg": str(failure) if failure is not None else summary(plan),
        "actions": [step_json(step) for step in steps],
        "restarts": [{"service": step.path, "command": step.action.value,
                      "side": step.side.value, "reason": "; ".join(step.reasons),
                      "argv": list(step.argv)}
                     for step in steps if isinstance(step, ServiceStep)],
        "noops": [{"path": noop.path, "reason": noop.reason} for noop in plan.noops],
        "refusals": refusals,
        "diff": [diff for diff in (step_diff(step, show_secrets) for step in steps)
                 if diff is not None],
    }
    if result is not None and result.failed is not None:
        report["failed_step"] = step_json(result.failed)
    if result is not None:
        logs = logs or {}
        report["interrupted"] = result.is_interrupted
        if result.is_interrupted:
            report["failed"] = True
            if failure is None:
                report["msg"] = "interrupted"
        report["owed"] = [{"service": entry.label, "command": entry.action,
                           "reason": entry.reason} for entry in result.owed]
        report["watched"] = [item.label for item in result.watched]
        report["not_up"] = [not_up_json(item, logs.get(item.watched.path))
                            for item in result.not_up]
        if result.not_up:
            report["failed"] = True
            if failure is None:
                report["msg"] = not_up_summary(result.not_up)
    return report
