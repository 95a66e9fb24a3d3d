"""initsys: what every init flavour's link answers — entries, commands and notes (``Part``) — and
the one rule they share for a file that is ours to write or remove.
"""

from collections import namedtuple

from ..model.tree import Absent, File


class Part(namedtuple("Part", "entries commands notes")):
    """One flavour's share of the answer."""

    __slots__ = ()

    def __add__(self, other):
        return Part(self.entries + other.entries, self.commands + other.commands,
                    self.notes + other.notes)


NOTHING = Part([], [], [])
MARKER = "runit-provision"


def is_ours(view, path):
    """True if the file at ``path`` was written by this room (it carries the marker in its
    first lines), so that it may be changed or removed; a missing file is not."""
    text = view.text(path)
    return text is not None and MARKER in "".join(text.splitlines(True)[:3])


def owned_file(view, path, content, mode=0o644):
    """``(entry, note)``: a File at ``path`` unless someone else's file is there; then no
    entry and a note saying it was left alone."""
    if view.lexists(path) and not is_ours(view, path):
        return None, "left alone: %s exists and was not written by runit-provision" % path
    return File(path, content, mode), None


def changed(view, entry):
    """True if converging ``entry`` would change the host (the file is missing or differs)."""
    if entry.kind == "file":
        return view.read(entry.path) != entry.content
    if entry.kind == "symlink":
        return view.readlink(entry.path) != entry.target
    if entry.kind == "absent":
        return view.lexists(entry.path)
    return not view.is_dir(entry.path)


def removal(view, path):
    """``[Absent(path)]`` when our file is there, else []."""
    return [Absent(path)] if view.lexists(path) and is_ours(view, path) else []
