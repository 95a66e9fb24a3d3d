"""schema: the problem collector — every problem found, each at a key path, one DataError.

Validation goes on past a problem so that one run names them all, one line each, sorted by
where they were written::

    data/common.yaml:12:7: services.web.comand: unknown key (did you mean 'command'?)
"""

from ..errors import DataError
from ..source import key_path_text, origin_of, origin_within


class Problems:
    """Problems at key paths of the data; ``origins`` places them (``source.origin_of``)."""

    def __init__(self, origins):
        self.origins = origins
        self.items = []

    def add(self, path, message, within=None):
        """A problem at ``path``; ``within``: ``(text, column)`` places it at that column
        of the string value ``text`` (``source.origin_within``) where the file shows it."""
        self.items.append((tuple(path), message, within))

    def has(self, path):
        """True when a problem is at ``path`` already: a check after the reading of a value
        skips one the reading refused, so that each bad value is said once."""
        path = tuple(path)
        return any(item[0] == path for item in self.items)

    def raise_if_any(self):
        """One DataError listing every problem so far, by origin, each line once."""
        if not self.items:
            return
        lines = []
        for path, message, within in self.items:
            origin = origin_of(self.origins, path)
            if within is not None and origin is not None:
                origin = origin_within(origin, *within) or origin
            lines.append((origin or ("<data>", 0, 0), "%s: %s: %s" % (
                origin if origin is not None else "<data>", key_path_text(path), message)))
        lines.sort(key=lambda item: (item[0], item[1]))
        unique = []
        for _, line in lines:
            if line not in unique:
                unique.append(line)
        raise DataError("\n".join(unique))

    def check_keys(self, path, mapping, known):
        """An ``unknown key`` problem for every key of ``mapping`` not in ``known``."""
        for key in mapping:
            if key not in known:
                self.add(path + (key,), "unknown key" + _suggestion(key, known))


def _suggestion(key, known):
    return did_you_mean(str(key), known) or " (known keys: %s)" % ", ".join(known)


def did_you_mean(word, known, form=" (did you mean %r?)"):
    """``form`` with the name of ``known`` closest to ``word``, or "" when none is close.

    >>> did_you_mean("comand", ["command", "run"]), did_you_mean("xyz", ["command"])
    (" (did you mean 'command'?)", '')
    """
    import difflib  # only bad data needs a suggestion

    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return form % (close[0],) if close else ""
