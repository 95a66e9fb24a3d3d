"""cli: help texts several subcommands show — here, apart from the modules that act on them,
so that a command that only shows one (``logs``, ``plan``) does not import hiera to do it."""

ACCOUNTS_HELP = """\
accounts: the logins and groups users' trees are rendered with (a user's home and groups,
when the data does not give them) come from --passwd FILE and --group FILE; else, with
--root DIR, from DIR/etc/passwd and DIR/etc/group where those exist; else from this host."""

# the one name rule (model/units.py, docs/names.md), for --only and a verb's NAME
NAME_RULE = ("web (a system service), runsvdir-LOGIN (a user's tree), LOGIN/NAME or "
             "~LOGIN/NAME (a user's service); a bare NAME that only one user's tree has "
             "names that one")
ONLY_HELP = "only these services: " + NAME_RULE
