"""initsys: the tools' launchers — what each one runs, where its link goes, which Python starts it.

A launcher is a short script in ``PREFIX/bin/TOOL``::

    #!/usr/bin/python3 -SI
    # runit-provision launcher: …
    import os, sys
    sys.path.insert(0, os.path.realpath("/usr/local/lib/runit-provision/current"))
    from runit_provision.runtime.sv import main
    os._exit(main())

``-S -I``: no ``site`` (no virtualenv, no ``.pth`` files, the fast start that ``sv status``
needs), and no ``PYTHON*`` variables or user site, so neither init nor a service depends on a
user's environment. The link ``current`` is followed once, at start: a process keeps the
version it started with while ``current`` moves on (the atomic switch of an upgrade).

The tools of ``EXIT_AT_ONCE`` end with ``os._exit``, as their C counterparts do (sv.c's
``done()``), instead of ``sys.exit``: the interpreter's teardown is time ``sv status`` need
not spend. That is safe only for a tool that leaves nothing behind for the teardown —
output written with ``os.write`` rather than buffered in ``sys.stdout``, no ``atexit``
handlers, no threads; an exception still escapes ``main`` and ends the interpreter as usual.

The tools are found where runit's users look, as links to the launchers (``link_places``):
``/usr/local/bin`` for the everyday tools and ``/usr/local/sbin`` for the ones Debian keeps
in ``/sbin`` and ``/usr/sbin`` (``runit``, ``runit-init``, ``runsvchdir``, ``utmpset``) — and
``/usr/bin/sv`` too, which Puppet's core ``runit`` provider hard-codes, where no package owns
it; with ``init: runit``, ``/sbin/runit`` and ``/sbin/runit-init`` as well, where the kernel's
init looks (again only where no package owns them: Debian's runit package does). Init files
name the launcher in ``PREFIX/bin`` itself, which nothing else can own.
"""

import os
import posixpath
import sys

# tool -> (module under runit_provision.runtime, "bin" or "sbin"); the console scripts of
# pyproject.toml, every name the package installs (tests/initsys checks they agree).
TOOLS = {
    "chpst": ("chpst", "bin"),
    "envdir": ("chpst", "bin"),
    "envuidgid": ("chpst", "bin"),
    "pgrphack": ("chpst", "bin"),
    "setlock": ("chpst", "bin"),
    "setuidgid": ("chpst", "bin"),
    "softlimit": ("chpst", "bin"),
    "runsv": ("runsv", "bin"),
    "runsvdir": ("runsvdir", "bin"),
    "sv": ("sv", "bin"),
    "svlogd": ("svlogd", "bin"),
    "notify-relay": ("notifyrelay", "bin"),
    "timer-run": ("timerrun", "bin"),
    "runsv-cgroup": ("runsvcgroup", "bin"),
    "sandbox-run": ("sandboxrun", "bin"),
    "runit": ("runit", "sbin"),
    "runit-init": ("runit_init", "sbin"),
    "runsvchdir": ("runsvchdir", "sbin"),
    "utmpset": ("utmpset", "sbin"),
}
# With init: runit, where the kernel's init finds them: the kernel starts init without PATH,
# and runit-init then looks for runit on /sbin:/usr/sbin:/bin:/usr/bin (runit-init(8)).
INIT_LINKS = {"runit": "/sbin/runit", "runit-init": "/sbin/runit-init"}
# Tools that end with _exit (see above): sv writes every byte with os.write, at once.
EXIT_AT_ONCE = ("sv",)
MARKER = "# runit-provision launcher"
# Where an interpreter is looked for when none is given: the distribution's, never a
# virtualenv's or a user's.
SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3")


def launcher_dir(prefix):
    return posixpath.join(prefix, "bin")


def launcher_text(tool, python, prefix):
    """The launcher script of ``tool``."""
    module = TOOLS[tool][0]
    current = posixpath.join(prefix, "current")
    end = "os._exit(main())" if tool in EXIT_AT_ONCE else "sys.exit(main())"
    return ("#!%s -SI\n"
            "%s: %s, from the version %s names when it starts.\n"
            "# Written by runit-provision install-runtime. -S -I: no site, no PYTHON* variables.\n"
            "import os, sys\n"
            "sys.path.insert(0, os.path.realpath(%r))\n"
            "from runit_provision.runtime.%s import main\n"
            "%s\n" % (python, MARKER, tool, current, current, module, end))


def link_places(tool, options, init=None):
    """Every path where a link to ``tool``'s launcher goes, its usual place first: the bin or
    sbin directory of the options, for ``sv`` its ``sv_links`` too, and with ``init: runit``
    ``/sbin/runit`` and ``/sbin/runit-init`` (``INIT_LINKS``)."""
    folder = options.bin_dir if TOOLS[tool][1] == "bin" else options.sbin_dir
    extra = list(options.sv_links) if tool == "sv" else []
    if init == "runit" and tool in INIT_LINKS:
        extra.append(INIT_LINKS[tool])
    return [posixpath.join(folder, tool)] + extra


def is_our_link(view, path, prefix):
    """True if ``path`` is a link into ``PREFIX/bin`` (one of ours)."""
    target = view.readlink(path)
    return target is not None and target.startswith(launcher_dir(prefix) + "/")


def interpreter(view, explicit=None):
    """``(path, note)``: the Python the launchers start, and a note when it is a compromise.

    The ``.pyc`` files are compiled by the interpreter running this, so the launchers' must be
    the same feature release: an explicit one is taken as given (a note says so if it is not
    recognisably the same); else the first of ``SYSTEM_PYTHONS`` that resolves, inside the
    root, to ``pythonX.Y`` of this release; else this interpreter's own base executable (never
    the virtualenv's), with a note.
    """
    wanted = "python%d.%d" % sys.version_info[:2]
    if explicit:
        if _release_of(view, explicit) not in (wanted, None):
            return explicit, ("%s is %s but the .pyc files are compiled for %s: that "
                              "interpreter will ignore them and start slower"
                              % (explicit, _release_of(view, explicit), wanted))
        return explicit, None
    for candidate in SYSTEM_PYTHONS:
        if _release_of(view, candidate) == wanted and view.is_executable(candidate):
            return candidate, None
    own = os.path.realpath(sys.executable)  # a venv's python links to the one it was made from
    closed = _closed_to_others(own)
    return own, ("no %s of the system found as %s; the launchers start %s%s"
                 % (wanted, " or ".join(SYSTEM_PYTHONS), own,
                    "" if closed is None else
                    " — which only root can run (%s is not searchable by others): users' "
                    "sv would fail with Permission denied; give --python PATH of a python%s "
                    "every user can run" % (closed, wanted[6:])))


def _closed_to_others(path):
    """The first directory on the way to ``path`` (on this host: the interpreter running
    this) that others may not search, or None. The launchers are every user's (0755 under a
    0755 prefix); the interpreter they name must be too — pyenv's under /root is not."""
    parts = path.split("/")[1:-1]
    for index in range(len(parts)):
        directory = "/" + "/".join(parts[:index + 1])
        try:
            if not os.stat(directory).st_mode & 0o001:
                return directory
        except OSError:
            return directory
    return None


def _release_of(view, path):
    """``pythonX.Y`` for an interpreter whose name (after links) says so, else None."""
    resolved = view.resolve(path)
    name = posixpath.basename(resolved or path)
    parts = name[len("python"):].split(".")
    if name.startswith("python") and len(parts) == 2 and all(p.isdigit() for p in parts):
        return name
    return None
