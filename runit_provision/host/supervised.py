"""host: what is supervised that the data does not declare — the entries of the service
directories the data names (the system's ``service_dir`` and each declared user's) that are
no declared service's link: linked by hand, or left behind when a service was deleted from
the data. ``status``, ``metrics`` and ``plan`` show them; nothing acts on them.

runsvdir runs a runsv for each entry of its directory that is, or leads to, a directory, and
skips dot-names and anything else (runsvdir.c; it warns about a link that leads nowhere, at
every scan). ``undeclared(service_dirs, links, fs)`` lists them by that rule, through an
``FsReader`` (fsread.py):

* a user's service directory is read up to ``fsread.MAX_ENTRIES`` entries, as apply reads a
  user's directories; beyond that, or any error, it is one ``Unread`` — never a crash, never
  a look that grows with what a user planted;
* the entry's own link is followed as runsvdir follows it, and nothing beyond what the reader
  follows (only root's links). A link root does not trust — a user's, in their tree — is
  followed only to a directory owned by the link's owner: reading there (the probe's
  ``supervise/`` files, ``down``) is what that owner may read anyway, and a link to root's or
  another user's service can never make root show it in that user's tree.
"""

import os
import stat
from collections import namedtuple

from ..errors import ApplyError, LimitError, UnsafePathError
from ..model.units import ServiceUnit, service_directories
from ..protocol.layout import LOG_DIR
from ..protocol.canonical import log_run_from_bytes, logged_to
from .fsread import MAX_ENTRIES

LEFT_ALONE = "apply leaves it alone"


class Undeclared(namedtuple("Undeclared", "login name path side why owner",
                            defaults=(None,))):
    """An entry of a service directory the data does not declare. ``login``: whose tree
    (None: the system's); ``path``: the entry; ``side``: the directory its state is read from
    (the entry, or where a user's link leads), None when it is not read — ``why`` says why
    (it leads nowhere: ``is_dangling``; or somewhere not followed); ``owner``: for a link
    followed here, its owner's uid, whose directory ``side`` must still be when it is read
    (``is_still_owned``)."""

    __slots__ = ()

    @property
    def label(self):
        """How status names it: ``name``, or ``login/name`` in a user's tree."""
        return self.name if self.login is None else "%s/%s" % (self.login, self.name)

    @property
    def is_dangling(self):
        return self.side is None and self.why is not None and self.why.startswith(NOWHERE)

    @property
    def unit(self):
        """Its ServiceUnit (model/units.py), for the one name rule: by its label, ``path`` where
        its state is read (the entry itself when it is not read)."""
        return ServiceUnit(name=self.name, label=self.label, login=self.login,
                           path=self.side or self.path, link=self.path, is_undeclared=True)


class Unread(namedtuple("Unread", "login path why")):
    """A service directory that could not be listed: ``login`` (None: the system's), its
    ``path``, ``why``."""

    __slots__ = ()


NOWHERE = "leads nowhere"


def undeclared(service_dirs, links, fs):
    """``(entries, unread)``: every Undeclared entry of ``service_dirs`` ({login (None: the
    system's): directory}, model.units.service_directories'; the system's first, then the
    users' by login; each by name) that is none of the declared ``links``, and the
    directories that could not be listed."""
    declared = set(links)
    entries, unread = [], []
    for login in sorted(service_dirs, key=lambda login: (login is not None, login)):
        directory = service_dirs[login]
        try:
            found = fs.scan(directory, is_runsvdir_name,
                            limit=None if login is None else MAX_ENTRIES)
        except FileNotFoundError:
            continue
        except (OSError, LimitError, UnsafePathError) as exc:
            unread.append(Unread(login, directory, _why(fs, directory, exc)))
            continue
        prefix = directory.rstrip("/") + "/"
        for name in sorted(found):
            path = prefix + name
            if path in declared:
                continue
            entry = _entry(fs, login, name, path, found[name][0])
            if entry is not None:
                entries.append(entry)
    return entries, unread


def undeclared_units(config, units, fs):
    """The ServiceUnits of what is supervised in ``config``'s service directories that none of
    ``units`` (its declared ones; none when the data could not be read) is — ``undeclared``'s
    entries, the directories that could not be listed left out (``status`` says them): what a
    view's names may name beyond the data's (model.units.units_named's ``supervised``)."""
    links = [unit.link for unit in units]
    return [entry.unit for entry in undeclared(service_directories(config), links, fs)[0]]


def logger_of(fs, unit):
    """The directories the svlogd of an undeclared ``unit`` (``Undeclared.unit``) writes —
    read from its ``log/run``: ``exec [chpst -u USER] svlogd [options] DIR…``
    (protocol/canonical.py's canonical form; a relative DIR is in ``log/``, where runsv runs it)
    — or [] when it has no logger (runsv's rule: ``log`` is a directory). ApplyError, saying
    why, when they cannot be told: any other ``log/run`` (a script may log anywhere), one not
    read safely; and, for a service whose directory is not root's (a user's, in their tree or
    linked from root's), a directory that is not its owner's — whoever writes the ``log/run``
    names what root would read: only where they could (this module's rule for their links)."""
    log_path = unit.path + "/" + LOG_DIR
    try:
        if fs.dir_stat(log_path) is None:
            return []
        content, _ = fs.read_file(log_path + "/run")
    except NotADirectoryError:
        return []
    except (OSError, UnsafePathError) as exc:
        raise ApplyError("%s: its logger cannot be told: %s" % (
            unit.label, _why(fs, log_path + "/run", exc))) from exc
    parsed = None if content is None else log_run_from_bytes(content)
    directories = None if parsed is None else logged_to(parsed.args)
    if directories is None:
        raise ApplyError("%s: where it logs cannot be told: %s/run is not svlogd's canonical "
                         "form (#!/bin/sh, exec [chpst -u USER] svlogd … DIR); read its "
                         "directory with --dir" % (unit.label, fs.host_path(log_path)))
    directories = [os.path.normpath(os.path.join(log_path, directory))
                   for directory in directories]
    _check_owned(fs, unit, directories)
    return directories


def _check_owned(fs, unit, directories):
    """ApplyError unless each of ``directories`` (those that exist) is owned by the owner of
    the unit's own directory, when that is not one this reader trusts (root, itself)."""
    try:
        owner = fs.dir_stat(unit.path).st_uid
        if owner in fs.trusted_uids:
            return
        for directory in directories:
            found = fs.dir_stat(directory)
            if found is not None and found.st_uid != owner:
                raise ApplyError("%s: its log/run names %s, which is uid %d's, not the "
                                 "service's (uid %d): not read" % (
                                     unit.label, directory, found.st_uid, owner))
    except (OSError, UnsafePathError) as exc:
        raise ApplyError("%s: its logger cannot be told: %s" % (
            unit.label, _why(fs, unit.path, exc))) from exc


def is_runsvdir_name(name):
    """runsvdir skips dot-names (and so the applier's temp names: apply/fsroot.temp_name).

    >>> [is_runsvdir_name(name) for name in ("web", ".web", ".web.runit-provision.tmp")]
    [True, False, False]
    """
    return not name.startswith(".")


def _entry(fs, login, name, path, info):
    """The Undeclared of the entry at ``path`` (its lstat ``info``), or None when runsvdir
    runs nothing there (not a directory, a link to something else)."""
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        return Undeclared(login, name, path, path, None)
    if not stat.S_ISLNK(mode):
        return None
    try:
        side = path
        if info.st_uid not in fs.trusted_uids:  # the reader would refuse it: follow it here, once
            target = fs.readlink(path)
            side = target if target.startswith("/") else os.path.dirname(path) + "/" + target
        found = fs.dir_stat(side)
    except NotADirectoryError:
        return None  # a link to a file: runsvdir skips it too
    except (OSError, UnsafePathError) as exc:
        return Undeclared(login, name, path, None, "not read: %s" % _why(fs, path, exc))
    if found is None:
        return Undeclared(login, name, path, None, "%s: %s" % (NOWHERE, fs.readlink(path)))
    if side != path and found.st_uid != info.st_uid:
        return Undeclared(login, name, path, None, (
            "not read: a link of uid %d's to a directory of uid %d's (followed only to its "
            "owner's own)" % (info.st_uid, found.st_uid)))
    return Undeclared(login, name, path, side, None, None if side == path else info.st_uid)


def is_still_owned(fs, entry):
    """Whether ``entry.side`` is still a directory of the link's owner, checked again right
    before it is read: the owner may have swapped it since it was listed. The descriptor this
    check opens is the one the read goes through next (the reader keeps it)."""
    if entry.owner is None:
        return True
    try:
        found = fs.dir_stat(entry.side)
    except (OSError, UnsafePathError):
        return False
    return found is not None and found.st_uid == entry.owner


def _why(fs, path, exc):
    if isinstance(exc, OSError) and exc.strerror:
        return "%s: %s" % (fs.host_path(path), exc.strerror)
    return str(exc)
