"""cli: how plans, results and tables are printed — the only place with colour, and the one
table printer (``print_table``).

Colour (ANSI) only when the stream is a terminal and ``NO_COLOR`` is not set
(https://no-color.org); JSON is printed as one document, sorted keys, valid UTF-8 whatever
names it carries (``shown.json_text``). Every line of text is safe to print: what comes from
a home is shown escaped (``shown.py``; the report's lines are so already).
"""

import io
import os
import sys

from ..apply.report import (
    diff_text, folded_steps, not_up_line, not_up_summary, plan_lines, refusal_line, step_line,
    summary)
from ..apply.steps import Action
from ..shown import json_text, shown_line, shown_text

COLOURS = {"+": "32", "~": "33", "-": "31", "↻": "36", "$": "35", "=": "2", "!": "1;31",
           "…": "2", "ok": "32", "bad": "31", "dim": "2", "head": "1"}


class Painter:
    """Colours for ``stream`` (a terminal's); lines go to ``out`` (default: the stream)."""

    def __init__(self, stream, out=None):
        self.stream = stream if out is None else out
        self.enabled = stream.isatty() and "NO_COLOR" not in os.environ

    def paint(self, key, text):
        code = COLOURS.get(key)
        if not self.enabled or code is None:
            return text
        return "\033[%sm%s\033[0m" % (code, text)

    def line(self, symbol, text):
        self.stream.write("%s %s\n" % (self.paint(symbol, symbol), text))


def print_table(header, rows, stream=None, marks=None, below=None, after=()):
    """One table, as every verb that prints one prints it (status, fleet status): columns
    aligned two spaces apart, trailing spaces cut; on a terminal the header bold and each
    row's first cell in the colour of its mark (``marks``: a key of COLOURS per row; None:
    plain). ``below``: per row, the lines printed under it, indented, each ``(key, text)``;
    ``after``: lines under the table, each ``(key, text)``. Cells and lines must be safe to
    print already (``shown.py``). Written in one go."""
    stream = stream or sys.stdout
    painter = Painter(stream)
    table = [tuple(header)] + [tuple(row) for row in rows]
    widths = [max(len(line[index]) for line in table) for index in range(len(header))]
    out = io.StringIO()
    out.write(painter.paint("head", "  ".join(
        cell.ljust(width) for cell, width in zip(header, widths)).rstrip()) + "\n")
    for index, row in enumerate(table[1:]):
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        mark = marks[index] if marks is not None else None
        if mark is None:
            out.write("  ".join(cells).rstrip() + "\n")
        else:
            out.write(painter.paint(mark, cells[0]) + "  " + "  ".join(cells[1:]).rstrip()
                      + "\n")
        for key, text in (below[index] if below is not None else ()):
            out.write("  " + painter.paint(key, text) + "\n")
    for key, text in after:
        out.write(painter.paint(key, text) + "\n")
    stream.write(out.getvalue())
    stream.flush()


def print_json(document, stream=None):
    stream = stream or sys.stdout
    stream.write(json_text(document, indent=1, sort_keys=True) + "\n")


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
    """After an execution: what was done, or where it stopped; then, on stderr, each side it
    started that did not stay up, with its last log lines (``logs``: {side path: [bytes]})."""
    stream = stream or sys.stdout
    painter = Painter(stream)
    counts = {}
    for step, _ in result.done:
        if step.is_change:
            counts[step.action] = counts.get(step.action, 0) + 1
    if result.error is not None:
        where = "" if result.failed is None else " at %s" % step_line(result.failed)[1]
        sys.stderr.write("runit-provision: %s%s: %s\n" % (
            painter.paint("!", "failed"), where, shown_text(str(result.error))))
    for login, message in sorted(result.refusals.items()):
        sys.stderr.write("runit-provision: %s\n" % refusal_line(login, message))
    if counts:
        done = ", ".join("%d %s" % (counts[action], PAST[action]) for action in PAST
                         if action in counts)
        stream.write("%s %s.\n" % (painter.paint("ok" if result.is_ok else "bad",
                                                 "Applied:" if result.is_done
                                                 else "Done before stopping:"), done))
    elif result.is_ok:
        stream.write("Nothing to do.\n")
    stream.flush()
    if result.not_up:
        print_not_up(result.not_up, logs or {})


def print_not_up(items, logs, stream=None):
    """Each side not up — its line, its last log lines indented — then the summary, in one
    write to stderr (where the apply's other failures go)."""
    stream = stream or sys.stderr
    painter = Painter(stream)
    out = io.StringIO()
    for item in items:
        out.write("runit-provision apply: %s\n" % painter.paint("!", not_up_line(item)))
        for line in logs.get(item.watched.path) or ():
            out.write("    %s\n" % shown_line(line.decode("utf-8", "surrogateescape")))
    out.write("runit-provision apply: %s\n" % not_up_summary(items))
    stream.write(out.getvalue())
    stream.flush()


# what was done, in the order "Applied:" lists it
PAST = {Action.CREATE: "created", Action.CHANGE: "changed", Action.REMOVE: "removed",
        Action.RESTART: "restarted", Action.HUP: "HUP'd", Action.EXIT: "stopped",
        Action.RUN: "command(s) run", Action.WAIT: "served again (waited for)"}
