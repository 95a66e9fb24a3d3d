"""apply: the file steps of a plan, executed — directories, files, links, removals.

``Converger(fs).execute(step)`` does one ``create``/``change``/``remove`` step through
``FsRoot``: directories at once (mode and owner through their descriptor; a new directory
exposes no file); files written to a temp name beside them and held back; before anything else
happens (a link, a removal, a restart) ``flush()`` makes every held-back file durable with one
``sync()`` and renames each into place, in plan order. So a file is always wholly old or
wholly new: a write that fails (a full disk) discards every temp file and leaves the old files,
and the next apply finishes the job. ``finish()`` makes the renames themselves durable. A link
planted in a user's tree meanwhile drops only that user's held-back files (``on_unsafe``).

Every OSError becomes an ApplyError naming the path on the host, ``raise … from``.
"""

from ..errors import ApplyError, UnsafePathError


class Converger:
    """``on_unsafe(path, exc)``: a held-back file whose directory turned out to be reached
    through a planted link when renaming; True when that refuses only its user (the file is
    dropped, the rest goes on), False to fail the apply."""

    def __init__(self, fs, on_unsafe=None):
        self.fs = fs
        self.on_unsafe = on_unsafe or (lambda path, exc: False)
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
            if step.kind != "directory" or step.action == "remove":
                self.flush()  # a link or a removal comes after the files before it
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
            raise  # the job refuses that user; everyone else's files stay pending
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
            except UnsafePathError as exc:
                self.fs.discard_temp(path)
                if not self.on_unsafe(path, exc):
                    self.pending = pending[index + 1:]
                    self.discard()
                    raise
            except OSError as exc:
                self.pending = pending[index + 1:]
                self.discard()
                raise ApplyError("cannot rename into %s: %s" % (self.fs.host_path(path),
                                                                 exc.strerror)) from exc

    def discard(self, which=None):
        """Remove the temp files not yet renamed (those ``which(path)`` accepts): their
        files stay wholly old."""
        kept = []
        for path in self.pending:
            if which is None or which(path):
                self.fs.discard_temp(path)
            else:
                kept.append(path)
        self.pending = kept

    def finish(self):
        self.flush()
        try:
            self.fs.sync()
        except OSError as exc:
            raise ApplyError("cannot sync: %s" % exc.strerror) from exc

    def message(self, step, exc):
        text = "cannot %s %s: %s" % (step.action, self.fs.host_path(step.path), exc.strerror)
        if step.kind == "file" and step.action != "remove":
            text += "; no file was replaced (every file is as it was before this step)"
        return text

