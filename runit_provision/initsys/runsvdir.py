"""initsys: how init starts ``runsvdir`` on ``service_dir`` — the one command line every link
uses, the start script, and reading which directory someone else's start-up scans.

``Runsvdir(path, service_dir, system)``: ``path`` is our launcher (``PREFIX/bin/runsvdir``) or
the host's binary (``runtime: system``). They differ in how a tree is brought down: ours
stops every service on TERM and exits; runit's C runsvdir exits on TERM leaving its runsvs
running and stops them only on HUP (docs/runsvdir.md) — ``stop_signal``.

The start script (``PREFIX/runsvdir-start``, for inittab and upstart, whose command fields are
short and pass init's own environment) is Debian's stage 2 in small: a clean environment with
one PATH, ``runsvdir -P``, and runit's status area in argv so that messages do not go to the
console.
"""

import re
import shlex
from collections import namedtuple

from ..model import DEFAULT_PATH

# runit's status area: Debian's stage 2 passes 'log: ' and a long row of dots.
STATUS_AREA = "log: " + "." * 395
START_SCRIPT = "runsvdir-start"
# Where a host's own runsvdir is, first found wins (Debian, RHEL's RPM, others).
SYSTEM_RUNSVDIRS = ("/usr/bin/runsvdir", "/usr/sbin/runsvdir", "/sbin/runsvdir", "/bin/runsvdir")


class Runsvdir(namedtuple("Runsvdir", "path service_dir system")):
    """``path`` of the runsvdir to run on ``service_dir``; ``system``: the host's C runsvdir."""

    __slots__ = ()

    @property
    def stop_signal(self):
        return "HUP" if self.system else "TERM"

    def argv(self, status_area=False):
        return [self.path, "-P", self.service_dir] + ([STATUS_AREA] if status_area else [])

    def shell_lines(self):
        """How a start-up script runs it: the lines after the comments, ``PATH`` set and
        the environment otherwise emptied, runit's status area in argv."""
        return ("PATH=%s\n"
                "exec env - PATH=\"$PATH\" %s\n"
                % (DEFAULT_PATH,
                   " ".join(shlex.quote(word) for word in self.argv(status_area=True))))


def start_script(runsvdir):
    """The text of ``PREFIX/runsvdir-start``."""
    return ("#!/bin/sh\n"
            "# runit-provision: runsvdir on %s, as init starts it (inittab, upstart).\n"
            "# Written by runit-provision install-runtime; a change here is reverted.\n"
            % runsvdir.service_dir + runsvdir.shell_lines())


def scanned_dir(script):
    """The directory a start-up script or command line runs ``runsvdir`` on, or None.

    Understands the forms distributions ship: ``runsvdir -P /etc/service 'log: …'`` and
    Debian's ``SVDIR=/etc/service`` … ``runsvdir -P "${SVDIR}" …``, through ``exec``/``env``.

    >>> scanned_dir("exec env - PATH=$PATH \\\\\\nrunsvdir -P \\"${SVDIR}\\" 'log: ...'\\n"
    ...             "SVDIR=/etc/service\\n")
    '/etc/service'
    >>> scanned_dir("/usr/bin/runsvdir /var/service"), scanned_dir("exec sleep 1")
    ('/var/service', None)
    """
    text = script.replace("\\\n", " ")
    assignments = dict(re.findall(r"^\s*(?:export\s+)?([A-Za-z_]\w*)=(\S+)", text, re.MULTILINE))
    for line in text.splitlines():
        line = line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        for index, word in enumerate(words):
            if word.rsplit("/", 1)[-1] != "runsvdir":
                continue
            args = [w for w in words[index + 1:] if not w.startswith("-")]
            if args:
                return _expanded(args[0], assignments)
    return None


def _expanded(word, assignments):
    match = re.fullmatch(r"\$\{?([A-Za-z_]\w*)\}?", word)
    if match:
        value = assignments.get(match.group(1))
        return None if value is None else value.strip("'\"")
    return word if word.startswith("/") else None


def runs_runsvdir_on(view, command, service_dir):
    """True if ``command`` — an inittab entry's process, a unit's ExecStart — runs runsvdir
    on ``service_dir``: itself, or through the script its program names (as Debian's unit
    runs ``/etc/runit/2``)."""
    scanned = scanned_dir(command)
    if scanned is None:
        words = command.split()
        program = words[0] if words else ""
        scanned = scanned_dir(view.text(program) or "") if program.startswith("/") else None
    return scanned is not None and view.same_place(scanned, service_dir)


def system_runsvdir(view):
    """The host's own runsvdir (``runtime: system``), or None."""
    return next((path for path in SYSTEM_RUNSVDIRS if view.is_executable(path)), None)
