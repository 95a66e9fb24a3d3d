"""runtime/unix: djb's ``sgetopt`` — the one option parser of chpst, svlogd, sv and utmpset.

runit's sgetopt.c over subgetopt.c, as Debian's 2.1.2 tools behave:

* options are read from the front; the first word not starting with ``-``, or a lone ``-``,
  ends them and is the first operand;
* a word starting with ``--`` ends them and is consumed. subgetopt looks only at the second
  character, so ``--foo`` is read as ``--``: ``sv --foo status x`` is ``sv status x``;
* letters cluster (``-vw5``); a letter followed by ``:`` in the option string takes the rest
  of its word, or else the next word, whatever it looks like (``-w -v``);
* a letter not in the option string (``:`` included), or an argument missing at the end, is a
  problem: sgetopt writes ``PROG: illegal option -- C`` or ``PROG: option requires an
  argument -- C`` (PROG argv[0]'s basename, C the one byte it looked at) and the tool prints
  its usage.

The options come back as a list that ends at the first problem instead of raising there: C's
tools call getopt() lazily and act on each option as it comes, so an earlier ``-V`` or a bad
``chpst -m x`` is answered before a later problem is seen; the caller walks the list in order.
"""

import os

ILLEGAL = b"illegal option"
NEEDS_ARGUMENT = b"option requires an argument"


def sgetopt(args, optstring, progname):
    """``(options, index)`` for ``args`` (argv without argv[0]) and an optstring like ``w:vV``.

    ``options`` are ``(letter, argument or None)`` in command-line order; a problem ends them
    with ``("?", complaint)``, the complaint the bytes sgetopt writes to stderr. ``index`` is
    the first operand's (where reading stopped, after a problem).

    >>> sgetopt(["-vw", "5", "--foo", "status"], "w:vV", "sv")
    ([('v', None), ('w', '5')], 3)
    >>> sgetopt(["-vz", "x"], "w:vV", "sv")
    ([('v', None), ('?', b'sv: illegal option -- z\\n')], 0)
    """
    takes_argument = _letters(optstring)
    options = []
    index = 0
    while index < len(args):
        word = args[index]
        if word[:1] != "-" or word == "-":
            break
        index += 1
        if word[1] == "-":
            break
        pos = 1
        while pos < len(word):
            letter = word[pos]
            pos += 1
            takes = takes_argument.get(letter)
            if takes is None:
                options.append(("?", complaint(progname, ILLEGAL, letter)))
                return options, index - 1
            if not takes:
                options.append((letter, None))
                continue
            value = word[pos:]
            if not value:
                if index >= len(args):
                    options.append(("?", complaint(progname, NEEDS_ARGUMENT, letter)))
                    return options, index
                value = args[index]
                index += 1
            options.append((letter, value))
            break
    return options, index


def complaint(progname, what, letter):
    """sgetopt's line: ``PROG: WHAT -- C\\n``, C the one byte it looked at (the first byte of a
    character that takes several: C's argv is bytes)."""
    return os.fsencode(progname) + b": " + what + b" -- " + os.fsencode(letter)[:1] + b"\n"


def _letters(optstring):
    """letter -> whether it takes an argument, read as subgetopt walks the string: the first
    occurrence wins and a ``:`` after a letter is never a letter itself."""
    table = {}
    pos = 0
    while pos < len(optstring):
        letter = optstring[pos]
        takes = optstring[pos + 1:pos + 2] == ":"
        table.setdefault(letter, takes)
        pos += 2 if takes else 1
    return table
