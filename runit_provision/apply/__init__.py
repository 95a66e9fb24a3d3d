"""apply: the applier — a rendered tree -> a plan -> a converged host (docs/apply.md).

``desired`` (tree + what the data says about each service) -> ``observe`` (the host, read once,
through ``fsroot``: host/'s reader with the applier's writes; a side's state, what the data does
not declare and the restarts owed read by host/'s ``sides``, ``supervised`` and ``owed``, as
``status`` reads them) -> ``plan`` (pure: steps and no-ops with reasons) -> ``job`` (executes
exactly the plan: ``converge`` writes, ``activate`` waits for runsv and runs ``sv`` through a
``runner``; then plans again). ``report`` turns plans and results into lines, diffs and JSON;
``lock`` keeps applies apart; ``owed_ledger`` keeps the restarts owed written down. Owner
names become numbers through the ``identities`` the cli hands in (``accounts.databases``'s
``ids_of``, ``user``, ``gid``, ``shell``), never by asking the host here. Knows nothing of
YAML or Jinja2.
"""
