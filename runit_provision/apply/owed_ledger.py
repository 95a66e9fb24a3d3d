"""apply: the restarts owed (host/owed.py, their text) kept true on disk while a plan runs —
written down before the first write, each struck off once done."""

from ..host.owed import owed_text


class OwedLedger:
    """The file at ``path`` kept true while a plan runs: ``write_down()`` before the first step
    (atomic and durable: temp file, sync, rename, sync), ``done(step)`` after each restart or
    HUP (atomic; not synced — a crash that loses it costs one restart more, never one less),
    and the file removed once nothing is owed."""

    def __init__(self, fs, path, owed, before):
        self.fs, self.path = fs, path
        self.owed, self.before = list(owed), list(before)

    def write_down(self):
        """Record what this plan owes (OSError, or ApplyError for an unsafe path, if it
        cannot: then nothing may be changed)."""
        if self.path is None or self.owed == self.before:
            return
        self._write(durable=True)

    def done(self, action, target):
        """``action`` on ``target`` has been done: struck off."""
        entry = next((entry for entry in self.owed
                      if (entry.action, entry.target) == (action, target)), None)
        if entry is None or self.path is None:
            return
        self.owed.remove(entry)
        try:
            self._write(durable=False)
        except OSError:
            pass  # the next apply restarts it once more: harmless, and nothing is lost

    def _write(self, durable):
        if not self.owed:
            try:
                self.fs.remove(self.path)
            except FileNotFoundError:
                pass
            self.before = []
            return
        self.fs.write_temp(self.path, owed_text(self.owed).encode("utf-8"), 0o600)
        if durable:
            self.fs.sync()
        self.fs.rename_temp(self.path)
        if durable:
            self.fs.sync()
        self.before = list(self.owed)
