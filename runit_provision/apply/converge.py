"""apply: the file steps of a plan, executed — directories, files, links, removals.

``Converger(fs).execute(step)`` does one ``create``/``change``/``remove`` step through
``FsRoot``: directories at once (mode and owner through their descriptor); files written to a
temp name beside them and held back; before anything else happens (a link, a removal, a
restart) ``flush()`` makes every held-back file durable with one ``sync()`` and renames each
into place, in plan order. So a file is always wholly old or wholly new: a write that fails
(a full disk) discards every temp file and leaves the old files, and the next apply finishes
the job. ``finish()`` makes the renames themselves durable.

Every OSError becomes an ApplyError naming the path on the host, ``raise … from``.
"""

from ..errors import ApplyError, UnsafePathError


class Converger:
    def __init__(self, fs):
        self.fs = fs
        self.pending = []  # files written to their temp name, waiting for flush()

    def execute(self, step):
        """Do one file step (``create``, ``change``, ``remove``)."""
        fs = self.fs
        try:
            if step.kind == "file" and step.action != "remove":
                entry = step.entry
                fs.write_temp(step.path, entry.content, entry.mode, step.uid, step.gid)
                self.pending.append(step.path)
                return
            self.flush()
            if step.action == "remove":
                if step.kind == "tree":
                    fs.remove_tree(step.path)
                else:
                    fs.remove(step.path)
            elif step.kind == "directory":
                if step.action == "create":
                    fs.make_dir(step.path, step.mode, step.uid, step.gid)
                else:
                    fs.set_dir_attributes(step.path, step.mode, step.uid, step.gid)
            elif step.kind == "symlink":
                fs.make_symlink(step.path, step.entry.target, step.uid, step.gid)
            else:
                raise ApplyError("%s: cannot %s a %s" % (step.path, step.action, step.kind))
        except UnsafePathError:
            self.discard()
            raise
        except OSError as exc:
            self.discard()
            raise ApplyError(self.message(step, exc)) from exc

    def flush(self):
        """Make the files written so far durable, then rename each into place."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        try:
            self.fs.sync()
        except OSError as exc:
            self.pending = pending
            self.discard()
            raise ApplyError("cannot sync the files written: %s" % exc.strerror) from exc
        for index, path in enumerate(pending):
            try:
                self.fs.rename_temp(path)
            except OSError as exc:
                self.pending = pending[index + 1:]
                self.discard()
                raise ApplyError("cannot rename into %s: %s" % (self.fs.host_path(path),
                                                                 exc.strerror)) from exc

    def discard(self):
        """Remove the temp files not yet renamed: their files stay wholly old."""
        for path in self.pending:
            self.fs.discard_temp(path)
        self.pending = []

    def finish(self):
        self.flush()
        try:
            self.fs.sync()
        except OSError as exc:
            raise ApplyError("cannot sync: %s" % exc.strerror) from exc

    def message(self, step, exc):
        what = {"create": "create", "change": "change", "remove": "remove"}[step.action]
        text = "cannot %s %s: %s" % (what, self.fs.host_path(step.path), exc.strerror)
        if step.kind == "file" and step.action != "remove":
            text += "; no file was replaced (every file is as it was before this step)"
        return text

