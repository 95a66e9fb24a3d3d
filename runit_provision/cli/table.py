"""cli: the table and JSON printers every verb shares — the only place with colour, and the one
table printer (``print_table``). Plans and results are printed by output.py, on top of these.

Colour (ANSI) only when the stream is a terminal and ``NO_COLOR`` is not set
(https://no-color.org); JSON is printed as one document, sorted keys, valid UTF-8 whatever
names it carries (``shown.json_text``). Every line of text is safe to print: what comes from
a home is shown escaped (``shown.py``).

Apart from output.py so that status, which prints a table, does not import the applier's
steps and report (and ``enum``) for it: its start is a daily view's budget.
"""

import io
import os
import sys

from ..shown import json_text

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


def duration(seconds):
    """``12s``, ``5m03s``, ``2h05m``, ``3d04h`` (``-`` when unknown)."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return "%ds" % seconds
    if seconds < 3600:
        return "%dm%02ds" % divmod(seconds, 60)
    if seconds < 86400:
        return "%dh%02dm" % (seconds // 3600, seconds % 3600 // 60)
    return "%dd%02dh" % (seconds // 86400, seconds % 86400 // 3600)


def size_text(count):
    """Bytes as the data spells them (K, M, G: powers of 1024), exact where it can be.

    >>> size_text(268435456), size_text(32716390), size_text(512), size_text(1536)
    ('256M', '31.2M', '512B', '1.5K')
    """
    for unit, power in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        scale = 1 << power
        if count >= scale:
            whole, rest = divmod(count, scale)
            return "%d%s" % (whole, unit) if not rest else "%.1f%s" % (count / scale, unit)
    return "%dB" % count
