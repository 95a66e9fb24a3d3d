"""initsys: runsvdir under systemd — our unit, or the distribution's own with ``runtime: system``.

Our unit, ``/etc/systemd/system/runit-provision-runsvdir.service``, enabled by its link in
``multi-user.target.wants`` (what ``systemctl enable`` writes, so a staging root boots with
it too)::

    ExecStart=/usr/local/lib/runit-provision/bin/runsvdir -P /etc/service
    KillMode=process          # stop: TERM to runsvdir alone, which brings its tree down
    Restart=always            # (services, finish scripts, loggers drained, KILL after 7 s,
    TimeoutStopSec=30         # what it adopted ended); a crashed runsvdir's services live
    TasksMax=infinity         # on, and the restarted one takes them over (adoption.py)
    Delegate=yes              # the unit's cgroup is the tree's: a cgroup per service below,
    DelegateSubgroup=supervise  # the tree itself in the supervise leaf (systemd >= 254)

``KillMode=control-group`` would TERM every service at once, behind runsvdir's back (no
ordered teardown, finish scripts racing their loggers); ``KillMode=mixed`` would KILL a
crashed tree's services and loggers before the restart — what the runtime's take-over after a
``kill -9`` exists to avoid. With ``runtime: system`` the C runsvdir stops its tree on HUP and
exits without waiting, so its unit sends HUP and leaves the runsvs to finish
(``KillMode=process``, as Debian's ``runit.service``).

With ``runtime: system``, a distribution unit that already runs runsvdir on ``service_dir``
(Debian's ``runit.service`` from runit-run, RHEL's ``runsvdir-start.service``) is preferred
(cm-anchors §8.6): it is enabled and started, and ours is not written.
"""

import posixpath
import re

from ..model import DEFAULT_PATH
from ..model.tree import Absent, Symlink
from .link import NOTHING, Part, changed, owned_file, removal
from .records import command
from .runsvdir import runs_runsvdir_on

UNIT = "runit-provision-runsvdir.service"
UNIT_DIR = "/etc/systemd/system"
WANTS_DIR = UNIT_DIR + "/multi-user.target.wants"
UNIT_PATH = posixpath.join(UNIT_DIR, UNIT)
WANTS_PATH = posixpath.join(WANTS_DIR, UNIT)
DISTRO_UNITS = ("runit.service", "runsvdir-start.service")
UNIT_SEARCH = (UNIT_DIR, "/lib/systemd/system", "/usr/lib/systemd/system")
# Whether a unit runs: cgroup v2's events say whether any process is in its cgroup or below
# (ours divides its cgroup: none is in it itself); v1's named hierarchy lists them all there.
CGROUP_EVENTS = "/sys/fs/cgroup/system.slice/%s/cgroup.events"
CGROUP_PROCS = "/sys/fs/cgroup/systemd/system.slice/%s/cgroup.procs"


def systemd_word(word):
    """``word`` as one argument of a unit's command line: ``%`` and ``$`` doubled (specifiers,
    variables); quoted when it holds blanks, quotes or backslashes.

    >>> systemd_word("/etc/service"), systemd_word("/srv/50%"), systemd_word("a b")
    ('/etc/service', '/srv/50%%', '"a b"')
    """
    word = word.replace("%", "%%").replace("$", "$$")
    if re.search(r"[\s\"'\\;]", word):
        return '"%s"' % word.replace("\\", "\\\\").replace('"', '\\"')
    return word


def unit_text(runsvdir):
    ours = not runsvdir.system
    teardown = (
        "# runsvdir brings its whole tree down on TERM (services, finish scripts, loggers\n"
        "# drained, KILL after 7 s) and ends what it adopted: systemd signals it alone. If\n"
        "# it dies, its services live on and the restarted runsvdir takes them over.\n"
        "KillMode=process\nKillSignal=SIGTERM\n" if ours else
        "# runit's runsvdir stops its runsvs on HUP and exits at once; they finish alone.\n"
        "KillMode=process\nKillSignal=SIGHUP\nSuccessExitStatus=111\n")
    return ("# runit-provision: runsvdir on %(dir)s (written by runit-provision install-runtime;\n"
            "# a change here is reverted, runit-provision install-runtime --uninstall removes it)\n"
            "[Unit]\n"
            "Description=runit service supervision: runsvdir on %(dir)s\n"
            "Documentation=http://smarden.org/runit/runsvdir.8.html\n"
            "\n"
            "[Service]\n"
            "Environment=PATH=%(path)s\n"
            "ExecStart=%(exec)s\n"
            "%(teardown)s"
            "TimeoutStopSec=30\n"
            "Restart=always\n"
            "RestartSec=1\n"
            "TasksMax=infinity\n"
            "# the tree's cgroup is its own: a cgroup per service below it, the tree itself in\n"
            "# supervise (docs/resources.md; systemd before 254 ignores DelegateSubgroup=)\n"
            "Delegate=yes\nDelegateSubgroup=supervise\n"
            "\n"
            "[Install]\n"
            "WantedBy=multi-user.target\n"
            % {"dir": runsvdir.service_dir, "path": DEFAULT_PATH, "teardown": teardown,
               "exec": " ".join(systemd_word(word) for word in runsvdir.argv())})


def link(view, runsvdir):
    """Our unit (or the distribution's), enabled and started."""
    distro = distro_unit(view, runsvdir) if runsvdir.system else None
    if distro is not None:
        return _distro(view, *distro)
    entry, note = owned_file(view, UNIT_PATH, unit_text(runsvdir))
    if entry is None:
        return Part([], [], [note])
    entries = [entry, Symlink(WANTS_PATH, UNIT_PATH)]
    paths = (UNIT_PATH, WANTS_PATH)
    commands = [command(["systemctl", "daemon-reload"], "%s changed" % UNIT, after=paths)]
    if view.lexists(UNIT_PATH) and changed(view, entry):
        commands.append(command(["systemctl", "try-restart", UNIT],
                                "%s changed: restart the tree to take it" % UNIT,
                                after=(UNIT_PATH,)))
    commands += _start(view, UNIT, paths)
    notes = [_competing(view, runsvdir)] if not runsvdir.system else []
    return Part(entries, commands, [note for note in notes if note])


def unlink(view):
    """``--uninstall``: stop our unit, remove it and its link, reload."""
    entries = removal(view, UNIT_PATH)
    if view.readlink(WANTS_PATH) == UNIT_PATH:
        entries.append(Absent(WANTS_PATH))
    if not entries:
        return NOTHING
    paths = tuple(entry.path for entry in entries)
    return Part(entries, [
        command(["systemctl", "stop", UNIT], "%s is removed: stop its tree" % UNIT,
                before=paths),
        command(["systemctl", "daemon-reload"], "%s was removed" % UNIT, after=paths)], [])


def distro_unit(view, runsvdir):
    """``(name, path)`` of a distribution unit running runsvdir on ``service_dir``, or None."""
    for name in DISTRO_UNITS:
        for folder in UNIT_SEARCH:
            path = posixpath.join(folder, name)
            if view.is_file(path) and _scans(view, path, runsvdir.service_dir):
                return name, path
    return None


def _scans(view, unit_path, service_dir):
    """True if the unit at ``unit_path`` runs runsvdir on ``service_dir``."""
    match = re.search(r"^ExecStart=[-@+!:]*(\S+.*)$", view.text(unit_path) or "", re.MULTILINE)
    return match is not None and runs_runsvdir_on(view, match.group(1), service_dir)


def _distro(view, name, path):
    wants = posixpath.join(WANTS_DIR, name)
    entries = [Symlink(wants, path)]
    commands = [command(["systemctl", "daemon-reload"], "%s enabled" % name, after=(wants,))]
    commands += _start(view, name, (wants,))
    entries += removal(view, UNIT_PATH)  # ours, from an earlier runtime: python
    if view.readlink(WANTS_PATH) == UNIT_PATH:
        entries.append(Absent(WANTS_PATH))
    if len(entries) > 1:
        commands.insert(0, command(["systemctl", "stop", UNIT],
                                   "%s takes over: stop ours first" % name,
                                   before=(UNIT_PATH,)))
    return Part(entries, commands, ["runtime: system: the distribution's %s (%s) runs "
                                    "runsvdir on the service directory" % (name, path)])


def _start(view, name, paths):
    """Start the unit: always when the running host shows it is not running, else (a staging
    root, or a host where it runs) once its files changed."""
    if view.is_live and not _is_running(view, name):
        return [command(["systemctl", "start", name], "%s is not running" % name)]
    return [command(["systemctl", "start", name], "%s was enabled" % name, after=paths)]


def _is_running(view, name):
    events = view.read(CGROUP_EVENTS % name)
    if events is not None:
        return b"populated 1" in events.splitlines()
    procs = view.read(CGROUP_PROCS % name)
    return procs is not None and bool(procs.strip())


def _competing(view, runsvdir):
    """A note when a distribution unit is enabled on the same directory as ours."""
    for name in DISTRO_UNITS:
        wants = posixpath.join(WANTS_DIR, name)
        target = view.readlink(wants)
        if target is not None and _scans(view, view.resolve(wants) or target,
                                         runsvdir.service_dir):
            return ("%s is enabled too and runs runit's runsvdir on %s: two supervisors on "
                    "one directory; disable it (systemctl disable --now %s) or use "
                    "runtime: system" % (name, runsvdir.service_dir, name))
    return None
