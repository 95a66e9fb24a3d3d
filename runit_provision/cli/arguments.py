"""cli: what several verbs' parsers share — their help texts and argument types — here, apart
from the modules that act on them, so that a command that only shows one (``logs``, ``plan``)
does not import hiera to do it."""

ACCOUNTS_HELP = """\
accounts: the logins and groups users' trees are rendered with (a user's home and groups,
when the data does not give them) come from --passwd FILE and --group FILE; else, with
--root DIR, from DIR/etc/passwd and DIR/etc/group where those exist; else from this host."""

# the one name rule (model/units.py, docs/names.md), for --only and a verb's NAME
NAME_RULE = ("web (a system service), runsvdir-LOGIN (a user's tree), LOGIN/NAME or "
             "~LOGIN/NAME (a user's service); a bare NAME that only one user's tree has "
             "names that one")
ONLY_HELP = "only these services: " + NAME_RULE
NAMES_HELP = "only these services (as --only; both add up)"


def add_name_arguments(parser):
    """A verb's services, named alike in every verb that takes some: ``NAME…`` and
    ``--only NAME…``, which add up (``names_chosen``)."""
    parser.add_argument("names", nargs="*", metavar="NAME", help=NAMES_HELP)
    parser.add_argument("--only", metavar="NAME", nargs="+", help=ONLY_HELP)


def names_chosen(args):
    """The services the command line names — ``NAME…`` and ``--only NAME…``, one list for
    the one name rule (model/units.py); None: all."""
    names = list(getattr(args, "names", None) or []) + list(args.only or [])
    return names or None


def whole_number(expected):
    """An argparse type: a whole number, 0 or more; anything else is refused with
    "expected EXPECTED, got 'TEXT'" (bad usage, exit 2)."""
    def read(text):
        try:
            value = int(text)
        except ValueError:
            value = -1
        if value < 0:
            import argparse

            raise argparse.ArgumentTypeError("expected %s, got %r" % (expected, text))
        return value
    return read


line_count = whole_number("a number of lines (0 or more)")
seconds = whole_number("a number of seconds (0 or more)")
