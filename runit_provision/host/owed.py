"""host: restarts owed, as text — written down by the applier before its first write, so that
none is ever lost, and read back by the next plan and by ``status``.

If an apply changes a service's files and stops before restarting it — a refusal, a crash,
``kill -9``, a full disk — the files are new and the process is old, and the next plan, seeing
the files up to date, would restart nothing: the restart would be lost for good. So the
restarts and HUPs a plan owes are written to ``SV_DIR/.pending-restarts`` — atomically and
durably, before the first step changes anything — and each is struck off once done. The next
plan reads them back and owes them again, with their reasons (the restart matrix decides, as
for any restart: a service that is no longer running needs none). One is struck off only when
it was done or its service is gone (planner/services.py): a plan that does not look at its
service — ``--only`` left it out, its user is refused — writes it down again. runsvdir skips
dot names.

One line per owed command, its fields separated by a tab (→ here) — ``ACTION TARGET LABEL
REASON``::

    restart→/etc/sv/web→web→run changed
    hup→/home/alice/sv/app/log→alice/app/log→log config changed

The text is pure (``owed_text``, ``owed_from_text``), here in the host room, which both its
writer and its readers import; ``apply/owed_ledger.OwedLedger`` writes it through the
applier's FsRoot for the Job, and sides.py reads it back (status does, at every run: the
ledger is the applier's, so that status makes no class it does not use).
"""

from collections import namedtuple
from os.path import join

OWED_NAME = ".pending-restarts"
# The actions written down before the first write (steps.OWED_ACTIONS are these words): by
# their words here, so that reading the ledger — status does, on every run — loads nothing
# of the applier's.
ACTIONS = ("restart", "hup", "limits")


class Owed(namedtuple("Owed", "action target label reason")):
    """One owed command: ``action`` (restart or hup), ``target`` (the side's directory, a final
    path), ``label`` (as messages name it) and ``reason``."""

    __slots__ = ()


def owed_path(sv_dir):
    """Where the restarts owed for the tree of ``sv_dir`` are written down."""
    return join(sv_dir, OWED_NAME)


def owed_text(owed):
    """The file's text for ``owed`` (an iterable of Owed).

    >>> owed_text([Owed("restart", "/etc/sv/web", "web", "run changed")])
    'restart\\t/etc/sv/web\\tweb\\trun changed\\n'
    """
    return "".join("\t".join(entry) + "\n" for entry in owed)


def owed_line(entry):
    """The line that says an apply owes a side a restart or a HUP: ``status`` shows it under
    the side, an apply that stopped before doing it in its summary.

    >>> owed_line(Owed("restart", "/etc/sv/web", "web", "run changed"))
    'web: restart owed (run changed): the next runit-provision apply does it'
    """
    return "%s: %s owed (%s): the next runit-provision apply does it" % (
        entry.label, entry.action, entry.reason)


def owed_from_text(text):
    """The Owed entries of the file's text; a line that is not one (a torn or edited file) is
    skipped: a restart owed is a service's, never a command to run from the file.

    >>> owed_from_text("restart\\t/etc/sv/web\\tweb\\trun changed\\nrm -rf /\\n"
    ...                "hup\\trelative\\tx\\ty\\n")
    [Owed(action='restart', target='/etc/sv/web', label='web', reason='run changed')]
    """
    found = []
    for line in text.splitlines():
        fields = line.split("\t")
        if (len(fields) == 4 and fields[0] in ACTIONS and fields[1].startswith("/")
                and all(fields)):
            found.append(Owed(*fields))
    return found
