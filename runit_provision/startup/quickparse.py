"""startup: the command lines of the daily views — ``logs`` and ``status`` — read without
argparse.

Importing argparse (with the ``re``, ``enum`` and ``gettext`` it pulls in) and laying out a
subcommand's parser cost about what the interpreter's own start does, which alone is the
budget of ``logs -n 10`` and ``status NAME`` (1.5x ``python3 -S -I -c pass``, docs/design.md).
So these verbs' plain command lines are read here, from a table of their options, into the
same values argparse would give (``Arguments``); anything else — ``--help``, an unknown or
abbreviated option, ``--``, joined short options (``-rn5``), a value that starts with ``-``,
a missing value, a number or choice argparse would refuse, two options of one exclusive
group — is left to argparse (``parse`` returns None), which parses it as before: the same
usage, messages and exit codes, and docs/cli.md is still generated from argparse's parsers.

The tables are checked against the argparse parsers themselves (tests/cli/test_quickparse.py:
every option string, its destination, kind, default, choices and the exclusive groups), and
every command line the quick parse accepts must give argparse's values: an option added to a
verb's parser without its line here makes that test fail, never a command line misread.
"""

# kinds of option: what the words after it become
STORE, COUNT, APPEND, EXTEND, MANY, TRUE, CONST = ("store", "count", "append", "extend",
                                                    "many", "true", "const")
_TAKES_ONE = (STORE, COUNT, APPEND)
_TAKES_SOME = (EXTEND, MANY)  # nargs="+": every following word that is not an option


class Arguments:
    """A command's parsed arguments, as argparse's Namespace holds them (attributes)."""

    def __init__(self, **values):
        self.__dict__.update(values)

    def __eq__(self, other):
        return vars(self) == vars(other)

    def __repr__(self):
        return "Arguments(%s)" % ", ".join("%s=%r" % item for item in sorted(vars(self).items()))


class Verb:
    """One verb's command line: ``positional`` (the destination of its names, nargs="*"),
    ``options`` ({option string: (destination, kind, extra)} — extra: a CONST's value, a
    STORE's choices or None), ``defaults`` (every destination's value when not given, and the
    parser's own defaults) and ``exclusive`` (groups of destinations given at most one)."""

    def __init__(self, positional, options, defaults, exclusive=()):
        self.positional, self.options = positional, options
        self.defaults, self.exclusive = defaults, exclusive


# --data/--hiera, --facts, --root, --passwd, --group: cli/inputs.add_input_arguments. Each
# option string: (destination, kind, extra) — literals, not built at import (a daily view's
# start makes these tables)
_INPUTS = {"--data": ("data", STORE, None), "--hiera": ("hiera", STORE, None),
           "--facts": ("facts", STORE, None), "--root": ("root", STORE, None),
           "--passwd": ("passwd", STORE, None), "--group": ("group", STORE, None)}
_INPUT_DEFAULTS = {"data": None, "hiera": None, "facts": None, "root": None, "passwd": None,
                   "group": None, "data_needed": True}

VERBS = {
    "logs": Verb(
        "services",
        dict(_INPUTS, **{
            "-u": ("units", APPEND, None), "--unit": ("units", APPEND, None),
            "--dir": ("dir", EXTEND, None), "--user": ("user", APPEND, None),
            "-o": ("output", STORE, ("short", "cat", "json")),
            "--output": ("output", STORE, ("short", "cat", "json")),
            "--json": ("output", CONST, "json"), "--utc": ("utc", TRUE, None),
            "--raw": ("raw", TRUE, None), "-S": ("since", STORE, None),
            "--since": ("since", STORE, None), "-U": ("until", STORE, None),
            "--until": ("until", STORE, None), "-n": ("lines", COUNT, None),
            "--lines": ("lines", COUNT, None), "-g": ("grep", STORE, None),
            "--grep": ("grep", STORE, None), "-r": ("reverse", TRUE, None),
            "--reverse": ("reverse", TRUE, None), "-f": ("follow", TRUE, None),
            "--follow": ("follow", TRUE, None)}),
        dict(_INPUT_DEFAULTS, services=[], units=[], dir=None, user=[], output="short",
             utc=False, raw=False, since=None, until=None, lines=None, grep=None,
             reverse=False, follow=False),
        exclusive=(("data", "hiera", "dir"),)),
    "status": Verb(
        "names",
        dict(_INPUTS, **{"--only": ("only", MANY, None), "--json": ("json", TRUE, None),
                         "--fact": ("fact", TRUE, None), "--logs": ("logs", COUNT, None)}),
        dict(_INPUT_DEFAULTS, names=[], only=None, json=False, fact=False, logs=None),
        exclusive=(("data", "hiera"),)),
}


def parse(command, words):
    """The Arguments of ``command``'s ``words`` (the command line after the verb, as
    ``prepare_argv`` left it), or None: argparse is to read them."""
    verb = VERBS.get(command)
    if verb is None:
        return None
    values = {name: list(value) if isinstance(value, list) else value
              for name, value in verb.defaults.items()}
    given, names = set(), []
    index, count = 0, len(words)
    while index < count:
        word = words[index]
        index += 1
        if word[:1] != "-":
            names.append(word)
            continue
        option, equals, attached = word.partition("=")
        spec = verb.options.get(option)
        if spec is None or (equals and option[:2] != "--" and len(option) != 2) \
                or attached == "--":
            return None  # --help, an abbreviation, "--", "-rn5", "-": argparse's to say
        destination, kind, extra = spec
        if kind in (TRUE, CONST):
            if equals:
                return None  # "ignored explicit argument": argparse's error
            values[destination] = True if kind == TRUE else extra
        elif kind in _TAKES_ONE:
            if not equals:
                if index == count or words[index][:1] == "-":
                    return None  # a missing value, or one argparse may take for an option
                attached, index = words[index], index + 1
            value = _converted(kind, attached, extra)
            if value is None:
                return None
            if kind == APPEND:
                values[destination].append(value)
            else:
                values[destination] = value
        else:  # _TAKES_SOME: the attached value alone, else every word up to an option
            taken = [attached] if equals else []
            while not equals and index < count and words[index][:1] != "-":
                taken.append(words[index])
                index += 1
            if not taken:
                return None
            values[destination] = (values[destination] or []) + taken \
                if kind == EXTEND else taken
        given.add(destination)
    if any(len(given.intersection(group)) > 1 for group in verb.exclusive):
        return None
    values[verb.positional] = names
    return Arguments(command=command, **values)


def _converted(kind, text, choices):
    """``text`` as argparse's type and choices make it; None where argparse would refuse it."""
    if kind == COUNT:
        return int(text) if text.isdigit() and text.isascii() else None  # line_count's
    if choices is not None and text not in choices:
        return None
    return text
