"""initsys: the runtime's installation under a prefix — versions, the ``current`` switch, the
launchers and the links to them. Entries only; the applier writes them.

Under ``PREFIX`` (``/usr/local/lib/runit-provision``)::

    0.1.0/runit_provision/…     one version: the stdlib-only modules and their .pyc (payload)
    current -> 0.1.0            the switch: a new version is written whole, then this link is
                                replaced by rename, so a process never sees half of one
    bin/sv, bin/runsvdir, …     the launchers (launchers.py), which start the version
                                ``current`` names at their start and keep it
    runsvdir-start              what inittab and upstart run (runsvdir.start_script)

and links to the launchers where runit's users look (``launchers.link_places``), each only where
no package owns the path and nothing else is there. Of the versions other than the one
installed, the newest is kept — after an upgrade, a tree started from it may still import
from it — and older ones (directories of the prefix holding ``runit_provision/``) are
removed; inside the installed version, a file it does not have (a stray ``.pyc``) is
removed.
"""

import posixpath
import re

from ..model.tree import Absent, Directory, File, Symlink
from . import launchers, payload
from .link import is_ours
from .packages import UNKNOWN
from .runsvdir import START_SCRIPT, Runsvdir, start_script


class Installed:
    """The runtime installed under ``prefix``: its entries in converge order and notes."""

    def __init__(self, view, db, config, options, init=None):
        self.view, self.db, self.options, self.init = view, db, options, init
        self.prefix = options.prefix
        source = options.source
        if source is None and (config.package_file or "").endswith(".whl"):
            source = config.package_file
        sources = payload.sources_from(source)
        self.version = payload.version_of(sources)
        self.version_dir = posixpath.join(self.prefix, self.version)
        self.bin = launchers.launcher_dir(self.prefix)
        self.runsvdir = Runsvdir(posixpath.join(self.bin, "runsvdir"), config.service_dir,
                                 system=False)
        self.start_script = posixpath.join(self.prefix, START_SCRIPT)
        self.notes = []
        python, note = launchers.interpreter(view, options.python)
        if note:
            self.notes.append(note)
        self.payload = payload.payload_entries(sources, self.version_dir)
        self.tools = [File(posixpath.join(self.bin, tool),
                           launchers.launcher_text(tool, python, self.prefix), 0o755)
                      for tool in sorted(launchers.TOOLS)]
        self.tools.append(File(self.start_script, start_script(self.runsvdir), 0o755))
        self.links = self._links()

    def entries_before_init(self):
        """Everything up to and including the switch and the links: the init files that
        follow name files that exist by then."""
        current = posixpath.join(self.prefix, "current")
        return ([Directory(self.prefix), Directory(self.bin)] + self.payload + self._strays()
                + self.tools + [Symlink(current, self.version)] + self.links)

    def entries_after_init(self):
        """Old versions, removed last."""
        return [Absent(path) for path in self._old_versions()]

    def _links(self):
        links = []
        for tool in sorted(launchers.TOOLS):
            for place in launchers.link_places(tool, self.options, self.init):
                entry, note = self._link(place, posixpath.join(self.bin, tool))
                if entry is not None:
                    links.append(entry)
                if note:
                    self.notes.append(note)
        return links

    def _link(self, place, target):
        """``(Symlink or None, note or None)`` for one place of a tool."""
        view = self.view
        if launchers.is_our_link(view, place, self.prefix):
            return Symlink(place, target), None
        owner = self.db.owner(place)
        if owner not in (None, UNKNOWN):
            return None, "left alone: %s belongs to the package %s" % (place, owner)
        if view.lexists(place):
            return None, "left alone: %s exists and is not ours" % place
        if owner == UNKNOWN:
            return None, ("left alone: %s (rpm could not be asked whether a package owns it)"
                          % place)
        if not self.db.known and not place.startswith("/usr/local/"):
            return None, ("left alone: %s (no package database%s to ask whether a package "
                          "owns it)" % (place, "" if view.is_live else " under " + view.root))
        return Symlink(place, target), None

    def _strays(self):
        """What the installed version holds that it should not (a stale .pyc, a module the
        version no longer has): removed, a directory whole."""
        wanted = {entry.path for entry in self.payload}
        strays, pending = [], [self.version_dir] if self.version_dir in wanted else []
        while pending:
            folder = pending.pop()
            for name in self.view.listdir(folder):
                path = posixpath.join(folder, name)
                if path not in wanted:
                    strays.append(Absent(path))
                elif self.view.is_dir(path) and not self.view.is_link(path):
                    pending.append(path)
        return sorted(strays, key=lambda entry: entry.path)

    def _old_versions(self):
        """Every installed version but this one and the newest other one (the one a running
        tree most likely started from) — a rule on what is there, so that a second run after
        an upgrade keeps the same ones."""
        others = [name for name in self.view.listdir(self.prefix)
                  if name not in (self.version, "bin", "current") and self.view.is_file(
                      posixpath.join(self.prefix, name, payload.PACKAGE, "__init__.py"))]
        others.sort(key=version_key)
        return [posixpath.join(self.prefix, name) for name in others[:-1]]


def version_key(name):
    """A sort key that orders versions as numbers where they are numbers.

    >>> sorted(["0.10.0", "0.9.1", "0.9.0rc1", "1.0"], key=version_key)
    ['0.9.0rc1', '0.9.1', '0.10.0', '1.0']
    """
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"[.+-]|(?<=\d)(?=\D)|(?<=\D)(?=\d)", name) if part]


def uninstall_entries(view, options):
    """``--uninstall``: our links, then the whole prefix (when it is ours)."""
    entries = []
    for tool in sorted(launchers.TOOLS):
        for place in launchers.link_places(tool, options, init="runit"):
            if launchers.is_our_link(view, place, options.prefix):
                entries.append(Absent(place))
    ours = (view.lexists(posixpath.join(options.prefix, "current"))
            or launchers.MARKER in (view.text(posixpath.join(options.prefix, "bin", "sv")) or "")
            or is_ours(view, posixpath.join(options.prefix, START_SCRIPT)))
    return entries + ([Absent(options.prefix)] if ours else [])
