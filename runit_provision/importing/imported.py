"""importing: what an import made of the host (``Imported``), as each source hands it to the
cli — a tree of service directories (servicedirs.py), a user's own tree (usertree.py), systemd
units (unitfiles.py), crontabs (crontabfiles.py) — and the words its header counts in.
"""


class Imported:
    """What an import made of the host: ``settings`` (the top-level keys it adds: sv_dir…),
    ``services`` [(name, data, Notes)], ``users`` [(login, entry, Notes, [(name, data,
    Notes)])], the YAML's ``header`` lines; ``said``: the lines to tell (stderr), in order;
    ``problems``: what makes it fail — nothing is written then; ``refused``: the directories
    or units left out, [(what, why)] (the rest is imported); ``changes``: how many changes
    ``plan`` would still make; ``dropped``: settings ``--drop-unsupported`` dropped."""

    def __init__(self):
        self.settings, self.services, self.users, self.header = {}, [], [], []
        self.said, self.problems, self.refused = [], [], []
        self.changes = self.dropped = 0

    def failed(self, problems):
        self.problems += problems
        return self


def counted(number, noun):
    """``number`` and ``noun``, plural unless one.

    >>> counted(1, "unit"), counted(0, "job"), counted(2, "service")
    ('1 unit', '0 jobs', '2 services')
    """
    return "%d %s%s" % (number, noun, "" if number == 1 else "s")
