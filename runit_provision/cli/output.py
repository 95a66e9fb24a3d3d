"""cli: how plans and results are printed, with table.py's colours (the report's lines are safe
to print already: ``shown.py``).
"""

import io
import sys

from ..apply.report import (
    diff_text, folded_steps, not_up_hint, not_up_line, not_up_summary, plan_lines, refusal_line,
    step_line, summary)
from ..apply.steps import Action
from ..host.owed import owed_line
from ..shown import shown_line, shown_name, shown_text
from .table import Painter


def print_plan(plan, diff=False, show_secrets=False, stream=None, brief=False):
    """Every step (with its diff when asked), the skipped restarts, refusals, a summary —
    written in one go: a plan of 200 new services is 1800 lines, and an unbuffered stdout
    (PYTHONUNBUFFERED) would make each one a write of its own. ``brief``: what a new
    directory holds is counted on its line instead of listed (the summary still counts it)."""
    stream = stream or sys.stdout
    out = io.StringIO()
    painter = Painter(stream, out)
    shown = folded_steps(plan.steps) if brief else [(step, 0) for step in plan.steps]
    for step, folded in shown:
        symbol, text = step_line(step)
        if folded:
            text += ", and %d path%s in it" % (folded, "" if folded == 1 else "s")
        painter.line(symbol, text)
        text = diff_text(step, show_secrets) if diff else ""
        for line in text.splitlines():
            key = "head" if line.startswith(("+++", "---")) else \
                {"+": "+", "-": "-", "@": "dim"}.get(line[:1])
            out.write(painter.paint(key, "    " + line) + "\n")
    for symbol, text in plan_lines(plan)[len(plan.steps):]:
        painter.line(symbol, text)
    out.write(summary(plan) + "\n")
    stream.write(out.getvalue())
    stream.flush()


def print_result(result, stream=None, logs=None):
    """After an execution: what was done, or where it stopped — an error, a refusal or Ctrl-C
    — with the restarts it still owes; then, on stderr, each side it started that did not stay
    up, with its last log lines (``logs``: {side path: [bytes]}). Interrupted, its one line on
    stderr comes last: ``runit-provision apply: interrupted at STEP``."""
    stream = stream or sys.stdout
    painter = Painter(stream)
    counts = {}
    for step, _ in result.done:
        if step.is_change:
            counts[step.action] = counts.get(step.action, 0) + 1
    where = "" if result.failed is None else " at %s" % step_line(result.failed)[1]
    if result.error is not None:
        sys.stderr.write("runit-provision: %s%s: %s\n" % (
            painter.paint("!", "failed"), where, shown_text(str(result.error))))
    for login, message in sorted(result.refusals.items()):
        sys.stderr.write("runit-provision: %s\n" % refusal_line(login, message))
    done = ", ".join("%d %s" % (counts[action], PAST[action]) for action in PAST
                     if action in counts)
    if result.is_done and done:
        stream.write("%s %s.\n" % (painter.paint("ok" if result.is_ok else "bad", "Applied:"),
                                   done))
    elif result.is_done:
        stream.write("Nothing to do.\n")
    else:
        stream.write("%s %s.\n" % (painter.paint("bad", "Done before stopping:"),
                                   done or "nothing"))
        for entry in result.owed:
            stream.write("%s\n" % painter.paint("bad", shown_name(owed_line(entry))))
    stream.flush()
    if result.not_up:
        print_not_up(result.not_up, logs or {})
    if result.is_interrupted:
        print_interrupted(result)


def print_interrupted(result, stream=None):
    """Ctrl-C's one line for an apply it stopped, naming the step under way then (none:
    between two steps, or after the last)."""
    stream = stream or sys.stderr
    where = "" if result.failed is None else " at %s" % step_line(result.failed)[1]
    stream.write("runit-provision apply: %s%s\n" % (Painter(stream).paint("!", "interrupted"),
                                                    where))
    stream.flush()


def print_not_up(items, logs, stream=None, command="apply", verb="started"):
    """Each side not up — its line, what to do about an exit 0, its last log lines indented
    — then the summary, in one write to stderr (where the command's other failures go):
    ``apply``'s, and ``restart``'s and ``start``'s (apply/drive.py; ``verb``: what the
    summary says was done to them)."""
    stream = stream or sys.stderr
    painter = Painter(stream)
    out = io.StringIO()
    for item in items:
        out.write("runit-provision %s: %s\n" % (command, painter.paint("!", not_up_line(item))))
        hint = not_up_hint(item)
        if hint:
            out.write("  %s\n" % hint)
        for line in logs.get(item.watched.path) or ():
            out.write("    %s\n" % shown_line(line.decode("utf-8", "surrogateescape")))
    out.write("runit-provision %s: %s\n" % (command, not_up_summary(items, verb)))
    stream.write(out.getvalue())
    stream.flush()


# what was done, in the order "Applied:" lists it
PAST = {Action.CREATE: "created", Action.CHANGE: "changed", Action.REMOVE: "removed",
        Action.RESTART: "restarted", Action.HUP: "HUP'd",
        Action.LIMITS: "limits set in place", Action.EXIT: "stopped",
        Action.RUN: "command(s) run", Action.WAIT: "served again (waited for)"}
