"""cli: help texts several subcommands show — here, apart from the modules that act on them,
so that a command that only shows one (``logs``, ``plan``) does not import hiera to do it."""

ACCOUNTS_HELP = """\
accounts: the logins and groups users' trees are rendered with (a user's home and groups,
when the data does not give them) come from --passwd FILE and --group FILE; else, with
--root DIR, from DIR/etc/passwd and DIR/etc/group where those exist; else from this host."""
