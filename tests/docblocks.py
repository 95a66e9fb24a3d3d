"""The shell blocks of the README, the tutorial and the how-tos, read from the pages: which
fences are commands and which their output, what a command claims (an exit status, a figure in
a trailing ``# →`` comment), which blocks a page marks as not run and the test that covers each,
and how an output is compared once what differs from run to run (pids, times, ``$T``) is
normalised. ``tests/test_docs_run.py`` runs the blocks (docs/testing.md, "the documentation").

What a page may hold, and what each is:

- a fence of ``sh``, ``shell``, ``bash`` or ``console`` — commands, run in order in one bash
  session per page; a ``console`` fence, or an unlabelled one whose first line starts with
  ``$ ``, is a transcript: ``$ `` lines are commands, the lines under each its output;
- an unlabelled fence after a command fence (prose between, no other command fence) — that
  fence's output: the page's lines must be found, in order and one after the other, in what
  the commands printed; a line ``…`` stands for any number of lines, ``…`` in a line for any
  text. A second unlabelled fence is an illustration, not compared;
- ``command  # → exit N``, ``# → exit N: TEXT``, ``# → TEXT`` at a command's end — its exit
  status is N (any other non-zero status ends the page, as ``set -e`` would) and TEXT is in
  the block's output (claims in a block are found in order);
- ``<!-- not run: WHY; covered by tests/PATH.py[::NAME] -->`` right before a fence — that fence
  (and its output) is not run, and the named tests cover what it shows;
- ``<!-- setup: WHAT`` on a line, commands, ``-->`` — commands the reader does not see, run in
  their place: the
  state the prose describes and does not show (the host a how-to's transcripts were taken on,
  the image it assumes). ``$YAML_ABOVE`` holds the nearest ``yaml`` fence above it, so that a
  setup adds to the data exactly what the page shows.
"""

import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

COMMAND_INFO = {"sh", "shell", "bash", "console"}
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)")
NOT_RUN = re.compile(r"^\s*<!--\s*not run:\s*(.*?)\s*-->\s*$")
SETUP = re.compile(r"^<!--\s*setup:")
COVERED_BY = re.compile(r"\b(tests/[\w/.-]+\.py)(?:::([\w\[\]-]+))?")
CLAIM = re.compile(r"\s#\s*→\s*(.*?)\s*$")
EXIT_CLAIM = re.compile(r"^exit (\d+)(?::\s*(.*))?$")
GAP = "…"
# A count the prose gives of what a command printed ("the 382 paths", "34 checks").
PROSE_FIGURE = re.compile(r"\b(\d+) (paths|checks)\b")


@dataclass
class Command:
    """One command of a block: its lines, where it starts on the page, what it claims."""
    line: int                      # the page's line of its first line
    text: str
    exit: Optional[int] = None     # a claimed exit status (None: 0, or free in a transcript)
    claims: List[str] = field(default_factory=list)  # output the trailing `# →` names
    expected: Optional[List[str]] = None  # a transcript's lines under the command


@dataclass
class Block:
    page: str
    line: int                      # the opening fence's line
    info: str                      # "sh", "console", "" (an unlabelled transcript), "setup"
    text: str
    is_transcript: bool
    commands: List[Command] = field(default_factory=list)
    expected: Optional[List[str]] = None   # the output fence after it
    expected_line: Optional[int] = None
    not_run: Optional[str] = None  # the marker's text
    covered_by: List[Tuple[str, Optional[str]]] = field(default_factory=list)
    yaml_above: Optional[str] = None       # a setup's $YAML_ABOVE

    @property
    def name(self):
        return "%s:%d" % (self.page, self.line)

    def claims(self):
        return [claim for command in self.commands for claim in command.claims]


def fences(text):
    """(line of the opening fence, info string, body lines, line before the fence) of every
    fenced block.

    >>> page = "a\\n```sh\\nls\\n```\\n```\\nx\\n```\\n"
    >>> [(line, info, body) for line, info, body, _ in fences(page)]
    [(2, 'sh', ['ls']), (5, '', ['x'])]
    """
    lines = text.splitlines()
    found, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        marker, body, end = opening.group(1), [], index + 1
        while end < len(lines) and not re.match(r"^ {0,3}%s%s*\s*$" % (
                re.escape(marker), re.escape(marker[0])), lines[end]):
            body.append(lines[end])
            end += 1
        found.append((index + 1, opening.group(2), body, line_before(lines, index)))
        index = end + 1
    return found


def unshown_figures(text):
    """``[(line, figure)]`` of each count the prose of ``text`` gives of paths or checks that
    no fenced block of the page shows: the output fences are compared with what runs, so a
    figure they hold is checked, and prose can only repeat one of theirs.

    >>> unshown_figures("```\\nApplied: 382 created.\\n```\\nThe 382 paths; the 394 paths\\n")
    [(4, '394 paths')]
    """
    lines = text.splitlines()
    shown, prose, inside = set(), [], False
    for number, line in enumerate(lines, 1):
        if FENCE.match(line):
            inside = not inside
        elif inside:
            shown.update(re.findall(r"\d+", line))
        else:
            prose += [(number, found.group(0), found.group(1))
                      for found in PROSE_FIGURE.finditer(line)]
    return [(number, figure) for number, figure, count in prose if count not in shown]


def line_before(lines, index):
    """The last non-blank line before ``lines[index]``; an HTML comment that ends there, whole
    on one line (a marker may be wrapped).

    >>> line_before(["<!-- not run: why;", "  covered by tests/x.py -->", "```sh"], 2)
    '<!-- not run: why; covered by tests/x.py -->'
    """
    back = next((back for back in range(index - 1, -1, -1) if lines[back].strip()), None)
    if back is None:
        return ""
    start = back
    if lines[back].rstrip().endswith("-->"):
        while start > 0 and "<!--" not in lines[start]:
            start -= 1
    return " ".join(line.strip() for line in lines[start:back + 1])


def command_of(line_number, text):
    """A command of an ``sh`` block with its trailing ``# →`` claim taken apart.

    >>> command = command_of(3, 'runit-provision plan --data x   # → exit 2: 14 to create')
    >>> command.line, command.exit, command.claims
    (3, 2, ['14 to create'])
    >>> command_of(4, 'runit-provision apply   # → Applied: 13 created.').claims
    ['Applied: 13 created.']
    >>> command_of(5, 'make demo    # creates .venv').claims
    []
    """
    command = Command(line_number, text)
    claim = CLAIM.search(text)
    if claim:
        status = EXIT_CLAIM.match(claim.group(1))
        if status:
            command.exit = int(status.group(1))
            if status.group(2):
                command.claims.append(status.group(2))
        else:
            command.claims.append(claim.group(1))
    return command


def sh_commands(first_line, body):
    """The commands of an ``sh`` block that carry a claim, each at the line it starts on (a
    backslash continues a command: its claim, on the last line, belongs to the first)."""
    commands = []
    for offset, text in enumerate(body):
        if not CLAIM.search(text):
            continue
        start = offset
        while start > 0 and body[start - 1].rstrip().endswith("\\"):
            start -= 1
        claimed = command_of(first_line + 1 + start, text)
        commands.append(claimed)
    return commands


def transcript_commands(first_line, body):
    """A transcript's ``$ `` commands (with their backslash-continued lines) and, under each,
    the lines it printed."""
    commands, index = [], 0
    while index < len(body):
        text = body[index]
        if not text.startswith("$ "):
            raise ValueError("line %d: a transcript's output before its first `$ ` command"
                             % (first_line + 1 + index))
        lines, start = [text[2:]], index
        while lines[-1].rstrip().endswith("\\") and index + 1 < len(body):
            index += 1
            lines.append(body[index])
        index += 1
        output = []
        while index < len(body) and not body[index].startswith("$ "):
            output.append(body[index])
            index += 1
        commands.append(Command(first_line + 1 + start, "\n".join(lines), expected=output))
    return commands


def setups(text):
    """(line of ``<!-- setup:``, the commands under it) of every setup comment.

    >>> setups("a\\n<!-- setup: the host\\nmkdir -p x\\ntouch x/y\\n-->\\nb\\n")
    [(2, ['mkdir -p x', 'touch x/y'])]
    """
    lines, found = text.splitlines(), []
    for index, line in enumerate(lines):
        if SETUP.match(line):
            end = next(end for end in range(index + 1, len(lines))
                       if lines[end].strip() == "-->")
            found.append((index + 1, lines[index + 1:end]))
    return found


def blocks_of(page_name, text):
    """Every command block of a page (setups among them, in page order), with its output
    fence and its not-run marker."""
    blocks, last, yaml = [], None, None
    items = [(line, "fence", (info, body, before)) for line, info, body, before in fences(text)]
    items += [(line, "setup", body) for line, body in setups(text)]
    for line, what, item in sorted(items, key=lambda found: found[0]):
        if what == "setup":
            block = Block(page_name, line, "setup", "\n".join(item) + "\n", False,
                          commands=sh_commands(line, item), yaml_above=yaml)
            blocks.append(block)
            last = None
            continue
        info, body, before = item
        if info == "yaml":
            yaml = "\n".join(body)
        is_transcript = info == "console" or (info == "" and body[:1] != [] and
                                              body[0].startswith("$ "))
        if info in COMMAND_INFO or is_transcript:
            block = Block(page_name, line, info, "\n".join(body) + "\n", is_transcript)
            block.commands = (transcript_commands(line, body) if is_transcript
                              else sh_commands(line, body))
            marker = NOT_RUN.match(before)
            if marker:
                block.not_run = marker.group(1)
                block.covered_by = COVERED_BY.findall(marker.group(1))
            blocks.append(block)
            last = None if is_transcript else block
        elif info == "" and last is not None:
            last.expected, last.expected_line = body, line
            last = None
    return blocks


# What differs from run to run, made the same on both sides: a date and time of day (svlogd's
# stamps as `logs` prints them, a clock's line), a duration (an uptime, pytest's and Puppet's
# "in 0.33s"), a pid (in `(pid N)`, and a status table's PID column: the number before an
# uptime); and first, runs of blanks (a table's columns widen with its pids).
NORMALISE = (
    (re.compile(r"[ \t]+"), " "),
    (re.compile(r"\b[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?\b"), "<date>"),
    (re.compile(r"\b\d\d:\d\d:\d\d(?:\.\d+)?\b"), "<time>"),
    (re.compile(r"\b\d+(?:\.\d+)?s\b"), "<secs>"),
    (re.compile(r"\bin \d+(?:\.\d+)? seconds\b"), "in <secs> seconds"),
    (re.compile(r"\(pid \d+\)"), "(pid <pid>)"),
    (re.compile(r"\b\d+ <secs>"), "<pid> <secs>"),
)


def normalise(line, temp=None):
    """A line with what differs from run to run made the same; ``temp``, the page's ``$T``,
    written as ``$T``.

    >>> normalise("web   run  5900  2s   up   run (pid 5899) 7s", None)
    'web run <pid> <secs> up run (pid <pid>) <secs>'
    >>> normalise("Nov 23 22:55:51.737000 root/clock: 22:55:51 in my own tree")
    '<date> root/clock: <time> in my own tree'
    >>> normalise("+ /tmp/tmp.x1/etc/sv (directory 0755)", "/tmp/tmp.x1")
    '+ $T/etc/sv (directory 0755)'
    >>> normalise("== 31 passed in 0.33s == Applied: 268 created.")
    '== 31 passed in <secs> == Applied: 268 created.'
    """
    if temp:
        line = line.replace(temp, "$T")
    for pattern, replacement in NORMALISE:
        line = pattern.sub(replacement, line)
    return line.rstrip()


def pattern_of(expected, whole=False):
    """A regular expression for the page's lines: ``…`` alone on a line is any number of
    lines, ``…`` in a line any text; the lines are found one after the other in the output
    (``whole``: they are all of it)."""
    parts = []
    for line in expected:
        if line.strip() == GAP:
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(re.escape(piece) for piece in line.split(GAP)) + r"\n")
    body = "".join(parts)
    return re.compile((r"\A" + body + r"\Z") if whole else (r"(?m)^" + body))


def output_matches(expected, actual, temp=None, whole=False):
    """Whether the page's lines are found in the output, both normalised.

    >>> out = "---\\nPORT: '8080'\\n#!/bin/sh\\nexec 2>&1\\nsv -w 7 start /etc/sv/cache\\n"
    >>> output_matches(["#!/bin/sh", "exec 2>&1", "sv -w 7 start /etc/sv/cache"], out)
    True
    >>> output_matches(["#!/bin/sh", "…", "sv -w 7 start /etc/sv/cache"], out)
    True
    >>> output_matches(["#!/bin/sh", "sv -w 7 start /etc/sv/cache"], out)
    False
    >>> output_matches(["Applied: 268 created."], "Applied: 322 created.\\n")
    False
    """
    lines = [normalise(line, temp) for line in actual.splitlines()]
    text = "".join(line + "\n" for line in lines)
    wanted = [normalise(line) for line in expected]
    return pattern_of(wanted, whole).search(text) is not None


def claim_found(claims, actual, temp=None):
    """The first of ``claims`` not found in the output, each after the one before (None: all
    are).

    >>> claim_found(["14 to create", "Applied: 13 created."],
    ...             "Plan: 14 to create, 0 to change\\nApplied: 13 created.\\n")
    >>> claim_found(["Applied: 13 created.", "14 to create"],
    ...             "Plan: 14 to create, 0 to change\\nApplied: 13 created.\\n")
    '14 to create'
    """
    text = "\n".join(normalise(line, temp) for line in actual.splitlines())
    position = 0
    for claim in claims:
        pattern = ".*?".join(re.escape(piece) for piece in normalise(claim).split(GAP))
        found = re.compile(pattern).search(text, position)
        if not found:
            return claim
        position = found.end()
    return None
