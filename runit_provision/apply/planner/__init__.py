"""apply: the planner's parts, one concern each, writing one ``Draft`` (``apply/plan.py`` runs
them in order): ``files`` (paths: entries, parents, links, purge, a package's directory),
``services`` (waits, the restart matrix, teardown, loggers added or dropped, restarts owed),
``commands`` (initsys's commands, placed by what they follow or precede). Pure."""
