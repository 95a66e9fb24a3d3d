"""initsys: runsvdir under upstart — ``/etc/init/runit-provision-runsvdir.conf``.

A respawning job on runlevels 2-5 that execs the start script; upstart sends TERM on stop and
KILL after ``kill timeout``, which leaves our runsvdir the time to bring its tree down (the C
runsvdir, ``runtime: system``, gets HUP: upstart's ``kill signal``). Upstart watches
``/etc/init`` itself; a changed job takes effect at its next start, so a changed job is
stopped and started again.
"""

from .link import NOTHING, Part, changed, owned_file, removal
from .records import command

JOB = "runit-provision-runsvdir"
JOB_PATH = "/etc/init/%s.conf" % JOB


def job_text(runsvdir, start_script):
    return ("# runit-provision: runsvdir on %(dir)s (written by runit-provision install-runtime;\n"
            "# a change here is reverted, runit-provision install-runtime --uninstall removes it)\n"
            "description \"runit service supervision: runsvdir on %(dir)s\"\n"
            "start on runlevel [2345]\n"
            "stop on runlevel [!2345]\n"
            "respawn\n"
            "kill signal %(signal)s\n"
            "kill timeout 30\n"
            "exec %(script)s\n"
            % {"dir": runsvdir.service_dir, "signal": runsvdir.stop_signal,
               "script": start_script})


def link(view, runsvdir, start_script):
    entry, note = owned_file(view, JOB_PATH, job_text(runsvdir, start_script))
    if entry is None:
        return Part([], [], [note])
    commands = []
    if view.lexists(JOB_PATH) and changed(view, entry):
        commands.append(command(["initctl", "stop", JOB], "%s changed: stop the old job" % JOB,
                                before=(JOB_PATH,)))
    commands.append(command(["initctl", "start", JOB], "%s changed" % JOB, after=(JOB_PATH,)))
    return Part([entry], commands, [])


def unlink(view):
    entries = removal(view, JOB_PATH)
    if not entries:
        return NOTHING
    return Part(entries, [command(["initctl", "stop", JOB], "%s is removed: stop its tree" % JOB,
                                  before=(JOB_PATH,))], [])
