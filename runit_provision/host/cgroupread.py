"""host: a service's cgroup, read — for ``status``, ``metrics`` (health/status.py) and the
figures ``verify`` compares.

The record ``supervise/cgroup`` names it; a user's tree writes its own, so the record is read
as the other supervise records are (bounded, never a link nor a FIFO) and trusted no further
than ``protocol.cgroupfs.path_from_record``: a path below its tree's cgroup — for a user's
service, the one root's tree handed the user's tree, as root's own record of
``runsvdir-LOGIN`` says — reached from the mount's descriptor one directory at a time
(``FsReader``); a record naming anything else (root's, another user's) costs its row. Each
file there is read the same way; one that is not there is a figure unknown (its controller
is not enabled), not an error. Its processes are those of the whole subtree (a user's tree
divides its cgroup), walked as a stop walks it (protocol/cgroupfs.subtree_pids).
"""

import os

from ..errors import ApplyError, UnsafePathError
from ..protocol.cgroupfs import (RECORD, RECORD_MAX, ROOT_CGROUP, USAGE_FILES, Usage,
                                 cgroup2_mount, path_from_record, subtree_pids,
                                 usage_from_files)
from ..protocol.layout import SUPERVISE_DIR
from .fsread import FsReader

MOUNTINFO = "/proc/self/mountinfo"
MOUNTINFO_MAX = 1 << 20
NO_HIERARCHY = "no cgroup v2 hierarchy is mounted"


def _not_under(top):
    """Why a record is not used: it names no cgroup under its tree's ``top`` (None: the
    tree's own record is missing, so nothing of it can be told)."""
    if top is None:
        return "%s/%s: its tree's cgroup is not recorded" % (SUPERVISE_DIR, RECORD)
    if top == ROOT_CGROUP:
        return "%s/%s names no cgroup" % (SUPERVISE_DIR, RECORD)
    return "%s/%s names no cgroup under its tree's (%s)" % (SUPERVISE_DIR, RECORD, top)


def cgroup2_mount_here():
    """``(mount, None)``: where this host mounts its cgroup v2 hierarchy; ``(None, why)``
    without one."""
    try:
        with open(MOUNTINFO, "rb") as handle:
            text = handle.read(MOUNTINFO_MAX).decode("utf-8", "replace")
    except OSError as exc:
        return None, "cannot read %s: %s" % (MOUNTINFO, os.strerror(exc.errno))
    mount = cgroup2_mount(text)
    return (mount, None) if mount is not None else (None, NO_HIERARCHY)


class CgroupReader:
    """The services' cgroups under ``mount`` (None: this host's, from its mountinfo);
    ``unavailable``: why there is none to read (said once by the views), else None. Use as a
    context manager (or ``close()``): it holds the mount's descriptors."""

    def __init__(self, mount=None):
        why = None
        if mount is None:
            mount, why = cgroup2_mount_here()
        self.mount, self.unavailable = mount, why
        self._fs = None

    def usage(self, fs, side_path, top=ROOT_CGROUP):
        """The Usage of the cgroup the side at ``side_path`` (reached through ``fs``) was
        last started in — None when there is no record (not our runtime, or never started),
        or its cgroup is gone; a Usage with ``unreadable`` when the record is not one of a
        cgroup under ``top``, its tree's (``tree_top``; None: not known)."""
        try:
            data = self._record(fs, side_path)
        except PermissionError:  # this account may not read supervise/
            return None
        if data is None or isinstance(data, Usage):
            return data
        path = None if top is None else path_from_record(data, top)
        if path is None:
            return Usage(None, unreadable=_not_under(top))
        if self.unavailable is not None:
            return None
        try:
            if self._fs is None:
                self._fs = FsReader(self.mount)
            found = self._fs.lookup(path, USAGE_FILES, read=USAGE_FILES)
        except (OSError, UnsafePathError, ApplyError):  # gone since (removed once empty), or not reached
            return None
        usage = usage_from_files(path, {name: content for name, (_, content) in found.items()})
        if usage.procs is not None:  # a stop ends the whole subtree: the views count it all
            try:
                usage.procs = tuple(subtree_pids(self._fs.dir_fd(path)))
            except (OSError, UnsafePathError, ApplyError):
                pass  # gone meanwhile: the top's own, as read
        return usage

    def tree_top(self, fs, tree_side_path):
        """The cgroup a user's tree was handed: what root's tree recorded of the service
        ``runsvdir-LOGIN`` at ``tree_side_path``; None when it has no such record. Read by
        an account that may not read root's records (a user's own ``status``), the hierarchy's
        root: it reads the user's records with no more privilege than wrote them."""
        try:
            data = self._record(fs, tree_side_path)
        except PermissionError:
            return ROOT_CGROUP if os.geteuid() != 0 else None
        if data is None or isinstance(data, Usage):
            return None
        return path_from_record(data)

    @staticmethod
    def _record(fs, side_path):
        """The bytes of the side's ``supervise/cgroup``; None without one; a Usage with
        ``unreadable`` for one that is not a small regular file; PermissionError when this
        account may not read it."""
        try:
            data, _ = fs.read_file(side_path + "/" + SUPERVISE_DIR + "/" + RECORD)
        except PermissionError:
            raise
        except (OSError, UnsafePathError):  # none
            return None
        if data is None or len(data) > RECORD_MAX:
            return Usage(None, unreadable="%s/%s is not a regular file of at most %d bytes"
                         % (SUPERVISE_DIR, RECORD, RECORD_MAX))
        return data

    def close(self):
        if self._fs is not None:
            self._fs.close()
            self._fs = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
