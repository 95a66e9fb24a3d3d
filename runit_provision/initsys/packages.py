"""initsys: the package manager's word — who owns a path, and how a package file is installed.

Ownership is asked before a link is put anywhere: a path a package owns is never written (the
package's next upgrade would put its file back, or ours would break it). dpkg's answer is read
from its database under the root (``var/lib/dpkg/info/*.list`` and ``diversions``, what
``dpkg-query -S`` reads); rpm's database is not plain text, so ``rpm [--root R] -qf PATH`` is
asked through ``query`` — the one read-only command this room runs, a seam the tests replace.
Where there is neither database (a bare staging root), ``PackageDB.known`` is False and the
caller refuses to guess.

With merged ``/usr`` (``/bin`` -> ``usr/bin``), ``/usr/bin/sv`` and ``/bin/sv`` are one file,
but a package lists only the name it shipped: every alias is asked (``aliases``).
"""

import posixpath
import subprocess

from ..errors import InstallError

DPKG_DIR = "/var/lib/dpkg"
RPM_DBS = ("/var/lib/rpm", "/usr/lib/sysimage/rpm")
MERGED_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
UNKNOWN = "?"  # owner(): the package manager could not be asked


def run_query(argv):
    """The real ``query``: ``(exit code, stdout)`` of a read-only command; (127, "") when the
    command does not exist."""
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return 127, ""
    return done.returncode, done.stdout.decode("utf-8", "replace")


def aliases(view, path):
    """``path`` and its other names through merged-``/usr`` links of the root, sorted.

    With ``/sbin`` -> ``usr/sbin``: ``/usr/sbin/runit`` and ``/sbin/runit`` (Debian 12's runit
    lists ``/sbin/runit``).
    """
    found = {path}
    for top in MERGED_DIRS:
        usr = "/usr" + top
        if view.resolve(top) != usr:
            continue
        if path.startswith(usr + "/"):
            found.add(top + path[len(usr):])
        elif path.startswith(top + "/"):
            found.add(usr + path[len(top):])
    return sorted(found)


class PackageDB:
    """The root's package databases; ``owner(path)`` -> package name or None."""

    def __init__(self, view, query=run_query):
        self.view = view
        self.query = query
        self.has_dpkg = view.is_file(DPKG_DIR + "/status")
        self.rpm_db = next((db for db in RPM_DBS if view.is_dir(db)), None)
        self.known = self.has_dpkg or self.rpm_db is not None
        self._dpkg_lists = None

    def owner(self, path):
        """The package owning ``path`` (under any of its aliases), None, or ``UNKNOWN`` when
        rpm could not be asked."""
        names = aliases(self.view, path)
        if self.has_dpkg:
            for name in names:
                package = self._dpkg_owner(name)
                if package is not None:
                    return package
        if self.rpm_db is not None:
            for name in names:
                if self.view.lexists(name):
                    package = self._rpm_owner(name)
                    if package is not None:
                        return package
        return None

    def _dpkg_owner(self, path):
        diverted = self._diversion_of(path)
        if diverted is not None:
            return diverted
        needle = path.encode("utf-8", "surrogateescape")
        for package, listed in self._lists():
            if needle in listed:
                return package
        return None

    def _lists(self):
        """[(package, set of listed paths)] from ``info/*.list``, read once."""
        if self._dpkg_lists is None:
            self._dpkg_lists = []
            info = DPKG_DIR + "/info"
            for name in self.view.listdir(info):
                if name.endswith(".list"):
                    data = self.view.read(posixpath.join(info, name)) or b""
                    package = name[:-len(".list")].split(":", 1)[0]
                    self._dpkg_lists.append((package, set(data.splitlines())))
        return self._dpkg_lists

    def _diversion_of(self, path):
        """A dpkg diversion of ``path`` counts as ownership by the diverting package
        (``diversions``: triples of lines — from, to, package)."""
        lines = (self.view.text(DPKG_DIR + "/diversions") or "").splitlines()
        for index in range(0, len(lines) - 2, 3):
            if path in (lines[index], lines[index + 1]):
                return lines[index + 2]
        return None

    def _rpm_owner(self, path):
        argv = ["rpm"]
        if not self.view.is_live:
            argv += ["--root", self.view.root]
        code, out = self.query(argv + ["-qf", "--queryformat", "%{NAME}\\n", path])
        if code == 0 and out.strip():
            return out.split()[0]
        return UNKNOWN if code == 127 else None


def package_install_command(view, package_file):
    """The argv that installs ``package_file`` with the root's package tool, as the original
    module installed its RPM: ``apt-get install -y ./runit.deb``, ``dnf``/``yum install -y``."""
    path = package_file if "/" in package_file else "./" + package_file
    if package_file.endswith(".deb"):
        return ["apt-get", "install", "-y", "--no-install-recommends", path]
    if package_file.endswith(".rpm"):
        for tool in ("/usr/bin/dnf", "/usr/bin/yum"):
            if view.lexists(tool):
                return [posixpath.basename(tool), "install", "-y", path]
        return ["rpm", "-U", "--replacepkgs", path]
    raise InstallError("package_file %s: not a .deb or an .rpm (runtime: system installs the "
                       "host's runit from one)" % package_file)
