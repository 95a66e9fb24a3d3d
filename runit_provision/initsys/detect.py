"""initsys: which init system a host (or a staging root) has — ``init: auto``.

On the running host (root ``/``) the running init decides, as the init systems' own tools
test for it:

1. runit is process 1 (``/proc/1/comm`` is ``runit``) -> ``runit``;
2. ``/run/systemd/system`` is a directory (``sd_booted()``) -> ``systemd``;
3. process 1 is ``init`` with upstart's ``/sbin/initctl`` -> ``upstart``;
4. ``/etc/inittab`` exists -> ``sysvinit``.

Under a staging root nothing runs, so the installed files decide: what ``/sbin/init`` links to
(``systemd``, ``runit-init``, ``upstart``), else ``/etc/inittab`` (sysvinit), upstart's job
directory with ``initctl``, systemd's binary, runit's stage 2. Nothing found is an error that
says what was looked at: ``init: none`` is the explicit choice for containers and tests.
"""

import posixpath

from ..errors import InstallError

SYSTEMD_BINARIES = ("/lib/systemd/systemd", "/usr/lib/systemd/systemd")


def detect_init(view):
    """``(init, why)`` for ``init: auto``; InstallError when nothing is recognised."""
    found = _running(view) if view.is_live else _installed(view)
    if found is None:
        where = "this host" if view.is_live else "the root %s" % view.root
        raise InstallError(
            "init: auto found no init system on %s (looked for runit as process 1, "
            "/run/systemd/system, upstart's initctl, /etc/inittab%s); say which with init: "
            "(systemd, sysvinit, upstart, runit) or init: none to leave init alone"
            % (where, "" if view.is_live else ", /sbin/init, systemd and runit's stage 2"))
    return found


def _running(view):
    comm = (view.text("/proc/1/comm") or "").strip()
    if comm == "runit":
        return "runit", "process 1 is runit"
    if view.is_dir("/run/systemd/system"):
        return "systemd", "/run/systemd/system exists (systemd is running)"
    if comm == "init" and view.is_executable("/sbin/initctl") and not view.lexists("/etc/inittab"):
        return "upstart", "process 1 is init, with upstart's /sbin/initctl and no /etc/inittab"
    if view.is_file("/etc/inittab"):
        return "sysvinit", "/etc/inittab exists"
    return None


def _installed(view):
    init = view.resolve("/sbin/init") if view.lexists("/sbin/init") else None
    name = posixpath.basename(init or "")
    if name == "systemd":
        return "systemd", "/sbin/init is systemd"
    if name in ("runit-init", "runit"):
        return "runit", "/sbin/init is %s" % name
    if name == "upstart":
        return "upstart", "/sbin/init is upstart"
    if view.is_file("/etc/inittab"):
        return "sysvinit", "/etc/inittab exists"
    if view.is_dir("/etc/init") and view.lexists("/sbin/initctl"):
        return "upstart", "/etc/init and /sbin/initctl exist"
    for binary in SYSTEMD_BINARIES:
        if view.is_executable(binary):
            return "systemd", "%s is installed" % binary
    if view.is_file("/etc/runit/2"):
        return "runit", "/etc/runit/2 exists"
    return None
