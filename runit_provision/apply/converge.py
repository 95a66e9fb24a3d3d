"""apply: the file steps of a plan, executed — directories, files, links, removals.

``Converger(fs).execute(step)`` does one ``PathStep`` (create, change, remove) through
``FsRoot``: directories at once (mode and owner through their descriptor; a new directory
exposes no file); files written to a temp name beside them and held back; before anything else
happens (a link, a removal, a restart — ``PathStep.exposes_nothing`` says which steps may
come first)
``flush()`` makes every held-back file durable with one ``sync()`` and renames each into place,
in plan order. So a file is always wholly old or wholly new: a write that fails (a full disk)
leaves the old file, and the next apply finishes the job. ``finish()`` makes the renames
themselves durable.

A failure in a user's part is that user's alone: ``on_failure(path, exc)`` (the job's) says
whether it refuses only the user whose path it is — then ``discard(which)`` drops that user's
held-back files and the rest goes on — or fails the apply. A tree removed in a user's part
(``is_users(path)``) is bounded: at most ``host/fsread.MAX_ENTRIES`` entries, ``LimitError``
beyond. A removal whose path is gone already is done: what it wanted holds (a stale temp file
that a write of this apply took over).

Every OSError becomes an ApplyError naming the path on the host, ``raise … from``.
"""

from ..errors import ApplyError, UnsafePathError
from ..host.fsread import MAX_ENTRIES
from .steps import Action


class Converger:
    """``on_failure(path, exc)``: a held-back file could not be put in place when renaming
    (a planted link, EPERM, ENOSPC…); True when that refuses only its user (the file is
    dropped, the rest goes on), False to fail the apply."""

    def __init__(self, fs, on_failure=None, is_refused=None, is_users=None):
        self.fs = fs
        self.on_failure = on_failure or (lambda path, exc: False)
        self.is_refused = is_refused or (lambda path: False)  # its user refused meanwhile
        self.is_users = is_users or (lambda path: False)  # in a user's part: bounded
        self.pending = []  # files written to their temp name, waiting for flush()

    def execute(self, step):
        """Do one PathStep; the caller has flushed the held-back files first unless
        ``step.exposes_nothing``. ApplyError (UnsafePathError for a planted link) leaves every
        other held-back file pending."""
        fs = self.fs
        try:
            if step.writes_file:
                entry = step.entry
                fs.write_temp(step.path, entry.content, entry.mode, step.uid, step.gid)
                self.pending.append(step.path)
            elif step.action is Action.REMOVE:
                if step.kind == "tree":
                    fs.remove_tree(step.path, MAX_ENTRIES if self.is_users(step.path)
                                   else None)
                else:
                    _remove_if_there(fs, step.path)
            elif step.kind == "directory":
                if step.action is Action.CREATE:
                    fs.make_dir(step.path, step.mode, step.uid, step.gid)
                else:
                    fs.set_dir_attributes(step.path, step.mode, step.uid, step.gid)
            elif step.kind == "symlink":
                fs.make_symlink(step.path, step.entry.target, step.uid, step.gid)
            else:
                raise ApplyError("%s: cannot %s a %s" % (step.path, step.action, step.kind))
        except UnsafePathError:
            raise
        except OSError as exc:
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
            if self.is_refused(path):  # refused by a failure earlier in this flush
                self.fs.discard_temp(path)
                continue
            try:
                self.fs.rename_temp(path)
            except (OSError, UnsafePathError) as exc:
                self.fs.discard_temp(path)
                error = exc if isinstance(exc, UnsafePathError) else ApplyError(
                    "cannot rename into %s: %s" % (self.fs.host_path(path), exc.strerror))
                if not self.on_failure(path, error):
                    self.pending = pending[index + 1:]
                    self.discard()
                    if error is exc:
                        raise
                    raise error from exc

    def discard(self, which=None):
        """Remove the temp files not yet renamed (those ``which(path)`` accepts): their
        files stay wholly old. Returns their paths."""
        kept, dropped = [], []
        for path in self.pending:
            if which is None or which(path):
                self.fs.discard_temp(path)
                dropped.append(path)
            else:
                kept.append(path)
        self.pending = kept
        return dropped

    def finish(self):
        self.flush()
        try:
            self.fs.sync()
        except OSError as exc:
            raise ApplyError("cannot sync: %s" % exc.strerror) from exc

    def message(self, step, exc):
        text = "cannot %s %s: %s" % (step.action, self.fs.host_path(step.path), exc.strerror)
        if step.writes_file:
            text += "; no file was replaced (every file is as it was before this step)"
        return text


def _remove_if_there(fs, path):
    """Remove ``path``; gone already is what the removal wants."""
    try:
        fs.remove(path)
    except FileNotFoundError:
        pass
