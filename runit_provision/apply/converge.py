"""apply: the file steps of a plan, executed — directories, files, links, removals.

``Converger(fs).execute(step)`` does one ``PathStep`` (create, change, remove) through
``FsRoot``, and says it done (``on_done``) with Ctrl-C held back meanwhile, so the two are
never parted: directories at once (mode and owner through their descriptor; a new directory
exposes no file); files written to a temp name beside them and held back; before anything else
happens (a link, a removal, a restart — ``PathStep.exposes_nothing`` says which steps may
come first)
``flush()`` makes every held-back file durable with one ``sync()`` and renames each into place,
in plan order, then has the standard library's compiler write the ``.pyc`` asked for (one run
for all, their modules in place). So a file is always wholly old or wholly new: a write that
fails (a full disk) leaves the old file, and the next apply finishes the job. ``finish()``
makes the renames themselves durable.

A failure in a user's part is that user's alone: ``on_failure(path, exc)`` (the job's) says
whether it refuses only the user whose path it is — then ``discard(which)`` drops that user's
held-back files and the rest goes on — or fails the apply. Each file dropped is said
(``on_dropped``): its step is not done. A tree removed in a user's part
(``is_users(path)``) is bounded: at most ``host/fsread.MAX_ENTRIES`` entries, ``LimitError``
beyond. A removal whose path is gone already is done: what it wanted holds (a stale temp file
that a write of this apply took over).

Every OSError becomes an ApplyError naming the path on the host, ``raise … from``.
"""

import contextlib
import signal

from ..errors import ApplyError, UnsafePathError
from ..host.fsread import MAX_ENTRIES
from ..model.acl import UNSUPPORTED
from .steps import Action


class Converger:
    """``on_failure(path, exc)``: a held-back file could not be put in place when renaming
    (a planted link, EPERM, ENOSPC…); True when that refuses only its user (the file is
    dropped, the rest goes on), False to fail the apply. ``on_done(step)``: a step is done
    (a file: written, held back); ``on_dropped(path)``: a held-back file was dropped, so its
    step is not done after all — what is left done is exactly what is on disk."""

    def __init__(self, fs, on_failure=None, is_users=None, on_done=None, on_dropped=None):
        self.fs = fs
        self.on_failure = on_failure or (lambda path, exc: False)
        self.is_users = is_users or (lambda path: False)  # in a user's part: bounded
        self.on_done = on_done or (lambda step: None)
        self.on_dropped = on_dropped or (lambda path: None)
        self.pending = []  # files written to their temp name, waiting for flush()
        self.compiling = []  # bytecode steps, compiled by flush() after the renames

    def execute(self, step):
        """Do one PathStep, and say it done; the caller has flushed the held-back files first
        unless ``step.exposes_nothing``. ApplyError (UnsafePathError for a planted link)
        leaves every other held-back file pending."""
        try:
            with ctrl_c_held():
                self._do(step)
                if step.writes_file:
                    self.pending.append(step.path)
                self.on_done(step)
        except UnsafePathError:
            raise
        except OSError as exc:
            raise ApplyError(self.message(step, exc)) from exc

    def _do(self, step):
        fs = self.fs
        if step.writes_file:
            entry = step.entry
            fs.write_temp(step.path, entry.content, entry.mode, step.uid, step.gid)
        elif step.kind == "bytecode":
            self.compiling.append(step)
        elif step.action is Action.REMOVE:
            if step.kind == "tree":
                fs.remove_tree(step.path, MAX_ENTRIES if self.is_users(step.path) else None)
            else:
                _remove_if_there(fs, step.path)
        elif step.kind == "directory":
            if step.action is Action.CREATE:
                fs.make_dir(step.path, step.mode, step.uid, step.gid)
            else:
                fs.set_dir_attributes(step.path, step.mode, step.uid, step.gid)
            if step.acl is not None:  # after the mode: a chmod rewrites an ACL's mask
                fs.set_access_acl(step.path, step.acl)
        elif step.kind == "symlink":
            fs.make_symlink(step.path, step.entry.target, step.uid, step.gid)
        else:
            raise ApplyError("%s: cannot %s a %s" % (step.path, step.action, step.kind))

    def flush(self):
        """Make the files written so far durable, then rename each into place; a file is
        pending until it is in place, so one that is not is dropped and not done. Then the
        ``.pyc`` asked for are compiled, their modules in place."""
        if self.pending:
            self._rename_pending()
        if self.compiling:
            self._compile()

    def _rename_pending(self):
        try:
            self.fs.sync()
        except OSError as exc:
            self.discard()
            raise ApplyError("cannot sync the files written: %s" % exc.strerror) from exc
        while self.pending:
            path = self.pending[0]
            try:
                with ctrl_c_held():  # in place and off the list at once
                    self.fs.rename_temp(path)
                    del self.pending[0]
            except (OSError, UnsafePathError) as exc:
                error = exc if isinstance(exc, UnsafePathError) else ApplyError(
                    "cannot rename into %s: %s" % (self.fs.host_path(path), exc.strerror))
                self.discard(lambda other: other == path)
                if not self.on_failure(path, error):
                    self.discard()
                    if error is exc:
                        raise
                    raise error from exc

    def _compile(self):
        """One run of the standard library's compiler for every ``.pyc`` asked for; if it
        fails, none of their steps is done (each is said dropped)."""
        steps, self.compiling = self.compiling, []
        try:
            self.fs.compile([step.entry.source for step in steps])
        except (OSError, ApplyError) as exc:
            for step in steps:
                self.on_dropped(step.path)
            if isinstance(exc, ApplyError):
                raise
            raise ApplyError("cannot compile the modules: %s" % exc) from exc

    def discard(self, which=None):
        """Remove the temp files not yet renamed (those ``which(path)`` accepts), each said
        dropped: their files stay wholly old."""
        for path in [path for path in self.pending if which is None or which(path)]:
            with ctrl_c_held():  # off the list and said dropped at once
                self.fs.discard_temp(path)
                self.pending.remove(path)
                self.on_dropped(path)
        for step in [step for step in self.compiling if which is None or which(step.path)]:
            self.compiling.remove(step)
            self.on_dropped(step.path)

    def finish(self):
        self.flush()
        try:
            self.fs.sync()
        except OSError as exc:
            raise ApplyError("cannot sync: %s" % exc.strerror) from exc

    def message(self, step, exc):
        text = "cannot %s %s: %s" % (step.action, self.fs.host_path(step.path), exc.strerror)
        if step.acl is not None and exc.errno in UNSUPPORTED:
            text += " (its file system keeps no POSIX ACL, which lets its readers in: mount " \
                    "it with ACLs)"
        if step.writes_file:
            text += "; no file was replaced (every file is as it was before this step)"
        return text


@contextlib.contextmanager
def ctrl_c_held():
    """SIGINT held back (blocked) while the block runs — one step and its record — and
    delivered as it ends: Ctrl-C stops the apply between two steps, never between a step
    done and its record, so what it says it did is what the disk holds."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _remove_if_there(fs, path):
    """Remove ``path``; gone already is what the removal wants."""
    try:
        fs.remove(path)
    except FileNotFoundError:
        pass
