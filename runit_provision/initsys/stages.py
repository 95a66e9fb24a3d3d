"""initsys: runsvdir when runit is process 1 — stage 2 is what runs it; nothing to add when stage 2
already scans ``service_dir``.

* No ``/etc/runit/2`` (a host or image that boots our ``runit-init``, with no runit package):
  the three stages are written, marked ours — stage 1 empty, stage 2 the start script's
  ``exec env - PATH=… runsvdir -P SERVICE_DIR 'log: …'``, stage 3 empty (runsvdir brought the
  tree down when runit TERMed stage 2). A stage someone else wrote is never replaced.
* Someone else's stage 2 (Debian's runit, Void, Artix) that scans ``service_dir`` — directly
  or through links, as Debian's ``/etc/service`` -> ``/etc/runit/runsvdir/current``: nothing.
* One that scans another directory: a nested tree, the service ``runit-provision-runsvdir`` in
  ``sv_dir``, linked into the directory stage 2 scans, running runsvdir on ``service_dir``
  (its ``control/t`` sends HUP, on which any runsvdir stops its whole tree).
* One whose directory cannot be read from it: a note, nothing written.

Changes need no command: runit runs the stages at the next boot, and runsvdir picks up a
new service link by itself.
"""

import posixpath
import shlex

from ..model import DEFAULT_PATH
from ..protocol.layout import CONTROL_DIR, RUN
from ..model.tree import Absent, Directory, File, Symlink
from .link import NOTHING, Part, is_ours, removal
from .runsvdir import scanned_dir

RUNIT_DIR = "/etc/runit"
NESTED = "runit-provision-runsvdir"
HEAD = "#!/bin/sh\n# runit-provision: runit's stage %s (runit-provision install-runtime).\n"
STAGE_BODIES = {
    "1": "# One-time initialisation of the system goes here; stage 2 starts when this exits 0.\n"
         "exit 0\n",
    "3": "# runsvdir brought every service down when runit stopped stage 2; runit kills what\n"
         "# is left and halts or reboots when this exits.\n"
         "exit 0\n",
}
CONTROL_T = ("#!/bin/sh\n"
             "# runit-provision: sv down/restart send HUP instead of TERM, on which any runsvdir\n"
             "# (the C one too) stops its whole tree and exits\n"
             "exec sv -v h .\n")


def stage_2_text(runsvdir):
    return (HEAD % "2"
            + "# runsvdir on %s for as long as the system runs.\n" % runsvdir.service_dir
            + runsvdir.shell_lines())


def stage_path(name):
    return posixpath.join(RUNIT_DIR, name)


def link(view, runsvdir, sv_dir):
    stage_2 = stage_path("2")
    if not view.lexists(stage_2) or is_ours(view, stage_2):
        return _our_stages(view, runsvdir)
    scanned = scanned_dir(view.text(stage_2) or "")
    if scanned is None:
        return Part([], [], ["runit's %s is not ours and does not say which directory it runs "
                             "runsvdir on; make it scan %s" % (stage_2, runsvdir.service_dir)])
    if view.same_place(scanned, runsvdir.service_dir):
        return NOTHING
    return _nested(runsvdir, sv_dir, scanned)


def unlink(view, sv_dir):
    entries = []
    for name in ("1", "2", "3"):
        entries += removal(view, stage_path(name))
    notes = (["runit's stages were ours and are removed: this host no longer boots with runit"]
             if entries else [])
    service = posixpath.join(sv_dir, NESTED)
    run = posixpath.join(service, RUN)
    if is_ours(view, run):
        stage_2 = view.text(stage_path("2")) or ""
        scanned = scanned_dir(stage_2)
        if scanned is not None:
            link_path = posixpath.join(scanned, NESTED)
            if view.readlink(link_path) == service:
                entries.append(Absent(link_path))
        entries += removal(view, run) + removal(view, posixpath.join(service, CONTROL_DIR, "t"))
    return Part(entries, [], notes)


def _our_stages(view, runsvdir):
    entries = [Directory(RUNIT_DIR)]
    notes = []
    for name in ("1", "2", "3"):
        path = stage_path(name)
        if name != "2" and view.lexists(path) and not is_ours(view, path):
            notes.append("left alone: %s is not ours" % path)
            continue
        text = stage_2_text(runsvdir) if name == "2" else HEAD % name + STAGE_BODIES[name]
        entries.append(File(path, text, 0o755))
    return Part(entries, [], notes)


def _nested(runsvdir, sv_dir, scanned):
    service = posixpath.join(sv_dir, NESTED)
    run = ("#!/bin/sh\n"
           "# runit-provision: runsvdir on %s, a tree inside runit's own (%s).\n"
           "exec 2>&1\n"
           "exec env - PATH=%s %s\n"
           % (runsvdir.service_dir, scanned, shlex.quote(DEFAULT_PATH),
              " ".join(shlex.quote(word) for word in runsvdir.argv())))
    entries = [Directory(service), File(posixpath.join(service, RUN), run, 0o755),
               Directory(posixpath.join(service, CONTROL_DIR)),
               File(posixpath.join(service, CONTROL_DIR, "t"), CONTROL_T, 0o755),
               Symlink(posixpath.join(scanned, NESTED), service)]
    return Part(entries, [], ["runit's stage 2 scans %s, not %s: %s runs a runsvdir on %s "
                              "inside it" % (scanned, runsvdir.service_dir, NESTED,
                                             runsvdir.service_dir)])
