"""initsys: the runtime's installation and its link into init — what the host should hold.

``desired_runtime(config, fs)`` answers, without writing or starting anything, what ``runtime``
and ``init`` of the data ask for on the host seen under ``fs``'s root (a ``host.fsread.FsReader``
the caller opened, or the applier's ``FsRoot``; the room only reads through it, ``hostview.py``):

* ``runtime: python``: the stdlib-only runtime installed self-contained under a prefix, with
  a launcher per tool and links where runit's users look (``install.py``);
* ``runtime: system``: the host's runit (its package installed from ``package_file`` first,
  when given and runit is missing);
* ``init``: ``runsvdir`` on ``service_dir`` linked into systemd, sysvinit's inittab, upstart,
  or runit's own stage 2 (``auto``: detected, ``detect.py``; ``none``: init left alone).

The answer (``records.Runtime``) holds ``model.tree`` entries with final paths, commands with
their triggers, and notes. The applier converges the entries (under ``--root`` when given) and
runs the commands (never under ``--root``); ``install-runtime`` does that for this part alone.
Modules by job: ``hostview`` (the read-only view of the root, on ``fs``), ``payload`` (the
files and their .pyc), ``launchers``, ``packages`` (who owns a path; installing
``package_file``), ``install`` (versions, switch, links), ``runsvdir`` (the command line and
start script), ``detect``, and one module per init: ``systemd``, ``inittab``, ``upstart``,
``stages``.
"""

import posixpath

from .. import model
from ..errors import InstallError
from ..model.tree import File
from . import detect, inittab, stages, systemd, upstart
from .hostview import HostView
from .install import Installed, uninstall_entries
from .link import NOTHING, Part
from .packages import PackageDB, package_install_command, run_query
from .records import Command, Options, Runtime, command, options
from .records import options as default_options
from .runsvdir import (
    START_SCRIPT, SYSTEM_RUNSVDIRS, Runsvdir, runs_runsvdir_on, start_script, system_runsvdir)

__all__ = ["desired_runtime", "Runtime", "Command", "Options", "options"]

INITS = model.INITS[1:]  # what "auto" may detect, and none


def desired_runtime(config, fs, query=None, options=None):
    """The ``Runtime`` the host under ``fs``'s root should have for ``config``.

    ``fs``: an ``FsReader`` on the root (``/`` for this host), read only;
    ``query(argv) -> (code, stdout)`` runs a read-only package query (rpm's; default: run it);
    ``options``: an ``Options`` (``install-runtime``'s choices; default: the data's).
    """
    opts = options or default_options()
    view = HostView(fs)
    runtime = opts.runtime or config.runtime
    if opts.uninstall:
        return _uninstall(view, config, opts, runtime)
    init, why = _init_of(view, opts.init or config.init)
    notes = [] if init == "none" else ["init: %s (%s)" % (init, why)]
    if runtime == "python":
        installed = Installed(view, PackageDB(view, query or run_query), config, opts, init)
        runsvdir, start, version = installed.runsvdir, installed.start_script, installed.version
        part = Part(installed.entries_before_init(), [], installed.notes + notes)
        link = _link(view, init, runsvdir, start, config)
        part += link + Part(installed.entries_after_init(), [], [])
    else:
        runsvdir, prepare = _system_runsvdir(view, config)
        start, version = posixpath.join(opts.prefix, START_SCRIPT), None
        part = Part([], prepare, notes)
        link = NOTHING
        if init in ("sysvinit", "upstart"):
            link += Part([File(start, start_script(runsvdir), 0o755)], [], [])
        link += _link(view, init, runsvdir, start, config)
        part += link
    return Runtime(part.entries, part.commands, part.notes, runtime, init, version, opts.prefix,
                   tuple(entry.path for entry in link.entries))


def _init_of(view, choice):
    if choice == "auto":
        return detect.detect_init(view)
    if choice not in INITS:
        raise InstallError("init: %s is not one of auto, %s" % (choice, ", ".join(INITS)))
    return choice, "as given"


def _link(view, init, runsvdir, start_script, config):
    if init == "systemd":
        return systemd.link(view, runsvdir)
    if init == "sysvinit":
        return inittab.link(view, runsvdir, start_script,
                            lambda process: runs_runsvdir_on(view, process, runsvdir.service_dir))
    if init == "upstart":
        return upstart.link(view, runsvdir, start_script)
    if init == "runit":
        return stages.link(view, runsvdir, config.sv_dir)
    return NOTHING


def _system_runsvdir(view, config):
    """``(Runsvdir, prepare commands)`` for ``runtime: system``."""
    found = system_runsvdir(view)
    if found is not None:
        return Runsvdir(found, config.service_dir, system=True), []
    if not config.package_file:
        raise InstallError("runtime: system, but this host has no runsvdir (looked for %s); "
                           "install runit, or give package_file" % ", ".join(SYSTEM_RUNSVDIRS))
    argv = package_install_command(view, config.package_file)
    # Until the package is in, its runsvdir is where that kind of package puts it; the
    # applier asks again once the prepare command ran.
    guess = "/usr/bin/runsvdir" if config.package_file.endswith(".deb") else "/sbin/runsvdir"
    return (Runsvdir(guess, config.service_dir, system=True),
            [command(argv, "runtime: system and no runsvdir on the host: install %s"
                     % config.package_file, prepare=True)])


def _uninstall(view, config, opts, runtime):
    part = (systemd.unlink(view) + inittab.unlink(view, config.service_dir)
            + upstart.unlink(view) + stages.unlink(view, config.sv_dir))
    linked = tuple(entry.path for entry in part.entries)
    part += Part(uninstall_entries(view, opts), [], [])
    return Runtime(part.entries, part.commands, part.notes, runtime, "none", None, opts.prefix,
                   linked)
