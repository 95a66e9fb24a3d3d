"""initsys: runsvdir under sysvinit — one ``respawn`` line in ``/etc/inittab``, then ``telinit q``.

The line, with the comment above it that marks it ours::

    # runit-provision: runsvdir on /etc/service (runit-provision install-runtime)
    RPSV:2345:respawn:/usr/local/lib/runit-provision/runsvdir-start

Runlevels 2345: init TERMs the tree when the system goes to 0, 1 or 6, and our runsvdir brings
every service down on that TERM. inittab(5)'s process field is short (127 characters in
sysvinit) and runs with init's environment, hence the start script
(``runsvdir.start_script``). ``/etc/inittab`` is shared: it is returned whole — the observed
text with our line added, replaced or (``--uninstall``) removed, every other line untouched.
"""

import re

from ..errors import InstallError
from ..model.tree import File
from .link import NOTHING, Part
from .records import command

INITTAB = "/etc/inittab"
ID = "RPSV"
RUNLEVELS = "2345"
COMMENT = "# runit-provision: runsvdir on %s (runit-provision install-runtime)"
ACTIONS = ("respawn", "wait", "once", "boot", "bootwait", "off", "ondemand", "initdefault",
           "sysinit", "powerwait", "powerfail", "powerokwait", "powerfailnow", "ctrlaltdel",
           "kbrequest")
MAX_PROCESS = 127  # sysvinit's struct CHILD: char process[128]


def line_problem(line):
    """What is wrong with an inittab(5) entry ``id:runlevels:action:process``, or None.

    >>> line_problem("RPSV:2345:respawn:/usr/local/lib/runit-provision/runsvdir-start")
    >>> line_problem("TOOLONG:2345:respawn:/bin/x"), line_problem("x:9:respawn:/bin/x")
    ('id TOOLONG: 1 to 4 characters', 'runlevels 9: only 0-6, S and s')
    """
    fields = line.split(":", 3)
    if len(fields) != 4:
        return "not id:runlevels:action:process"
    ident, levels, action, process = fields
    if not 1 <= len(ident) <= 4 or not re.fullmatch(r"[A-Za-z0-9_~.]+", ident):
        return "id %s: 1 to 4 characters" % ident
    if levels.strip("0123456Ss"):
        return "runlevels %s: only 0-6, S and s" % levels
    if action not in ACTIONS:
        return "action %s: not one of inittab(5)'s" % action
    if action != "initdefault" and not process.strip():
        return "no process"
    if len(process) > MAX_PROCESS:
        return "process longer than %d characters" % MAX_PROCESS
    return None


def our_line(start_script):
    line = "%s:%s:respawn:%s" % (ID, RUNLEVELS, start_script)
    problem = line_problem(line)
    if problem is not None:
        raise InstallError("the inittab line for %s cannot be written: %s" % (start_script,
                                                                              problem))
    return line


def with_line(text, service_dir, line):
    """``text`` (an inittab) with our comment and ``line`` in place of ours, or appended; None
    as ``line`` removes them. Every other line is kept as it is.

    >>> with_line("id:2:initdefault:\\n", "/etc/service", "RPSV:2345:respawn:/x")
    'id:2:initdefault:\\n# runit-provision: runsvdir on /etc/service (runit-provision install-runtime)\\nRPSV:2345:respawn:/x\\n'
    >>> with_line(with_line("id:2:initdefault:\\n", "/etc/service", "RPSV:2345:respawn:/x"),
    ...           "/etc/service", None)
    'id:2:initdefault:\\n'
    """
    lines = text.splitlines()
    kept = []
    for current in lines:
        if current.startswith(ID + ":") or (current.startswith("# runit-provision: runsvdir on")
                                             and current.endswith("install-runtime)")):
            continue
        kept.append(current)
    if line is not None:
        kept += [COMMENT % service_dir, line]
    return "".join(item + "\n" for item in kept)


def runsvdir_lines(text):
    """Every active entry of ``text`` that is someone else's runsvdir (Debian's
    ``SV:123456:respawn:/usr/sbin/runsvdir-start``): [(id, process)]."""
    found = []
    for current in text.splitlines():
        fields = current.split(":", 3)
        if (len(fields) == 4 and not current.lstrip().startswith("#") and fields[0] != ID
                and fields[2] == "respawn" and "runsvdir" in fields[3]):
            found.append((fields[0], fields[3]))
    return found


def link(view, runsvdir, start_script, scans):
    """Our line in ``/etc/inittab`` — or, with ``runtime: system``, the distribution's line
    when one already runs runsvdir on the directory (``scans(process) -> bool``)."""
    text = view.text(INITTAB)
    if text is None:
        raise InstallError("init: sysvinit, but there is no %s%s" % (
            INITTAB, "" if view.is_live else " under %s" % view.root))
    theirs = [(ident, process) for ident, process in runsvdir_lines(text) if scans(process)]
    notes = []
    if theirs and runsvdir.system:
        line = None
        notes.append("runtime: system: the inittab entry %s (%s) runs runsvdir on the service "
                     "directory" % theirs[0])
    else:
        line = our_line(start_script)
        if theirs:
            notes.append("the inittab entry %s (%s) runs runit's runsvdir on %s too: two "
                         "supervisors on one directory; comment it out or use runtime: system"
                         % (theirs[0] + (runsvdir.service_dir,)))
    return _inittab(text, with_line(text, runsvdir.service_dir, line), notes)


def unlink(view, service_dir):
    text = view.text(INITTAB)
    if text is None or with_line(text, service_dir, None) == text:
        return NOTHING
    return _inittab(text, with_line(text, service_dir, None), [])


def _inittab(before, after, notes):
    if after == before:
        return Part([File(INITTAB, after, 0o644)], [], notes)
    return Part([File(INITTAB, after, 0o644)],
                [command(["telinit", "q"], "%s changed: init re-reads it" % INITTAB,
                         after=(INITTAB,))], notes)
