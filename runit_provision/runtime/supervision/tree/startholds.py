"""runtime/supervision/tree: start holds — in our tree, a service's ./run waits for the
one-shots it needs in the tree's loop, not in a shell loop.

A service that ``needs`` one-shots has a ``needs-done`` file (their service directories, a
line each) and, at the head of its ./run, a guard that polls each one's ``supervise/`` until
it is done (templates/needs-done.j2): the C runsv's way, and the truth under either runsv.
Fifty such guards at boot, each a ``sleep`` forked ten times a second, cost more than the
services themselves (bench/oneshot_boot.py). So our supervisor asks ``holds_start`` before it
spawns ./run: while a one-shot it needs is supervised by this tree and has not ended
(``Supervisor.oneshot_pending``), the start waits — the side's NotYet, as for a fork server
not ready yet — and is made once that one-shot's status says it ended, or after
HOLD_SECONDS, when ./run starts anyway and its guard decides, and says so in the log, as
under the C runsv. Its guard then finds the one-shot done at its first look: no fork.

During a scan, a directory not met yet may be further down the listing: it holds until the
scan is done. A directory this tree does not supervise, one that cannot be looked at, or a
one-shot wanted down that never ran (the guard starts it) holds nothing. The file is a hint
read with the service's other files, never trusted to do more: it can only delay its own
service's start, by HOLD_SECONDS at most a start.
"""

import os

from ....protocol.needsdone import needed_lines

HOLD_SECONDS = 10.0  # then ./run starts, and its guard waits (sv_timeout) and tells

# what the tree's ``find(key)`` answers besides a Supervisor
UNKNOWN = "unknown"  # no service of this tree at that (device, inode)


def needed_identities(data):
    """The (device, inode) of each absolute directory named in a ``needs-done`` file's
    bytes, links followed as the guard's reads follow them; what cannot be looked at is
    left out.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as here:
    ...     found = needed_identities(here.encode() + b"\\nrelative\\n/nonexistent/x\\n")
    ...     found == [(os.stat(here).st_dev, os.stat(here).st_ino)]
    True
    """
    found = []
    for line in needed_lines(data):
        try:
            info = os.stat(line)
        except (OSError, ValueError):
            continue
        found.append((info.st_dev, info.st_ino))
    return found


class StartHolds:
    """The held starts of one tree. ``find(key)``: the Supervisor of the tree's service at
    that (device, inode), or UNKNOWN; ``is_scanning()``: a scan is under way."""

    __slots__ = ("loop", "find", "is_scanning", "_held", "_watched", "_spent", "_recheck_due")

    def __init__(self, loop, find, is_scanning):
        self.loop, self.find, self.is_scanning = loop, find, is_scanning
        self._held = {}  # Supervisor -> (needed keys, its HOLD_SECONDS timer)
        self._watched = set()  # the one-shots' supervisors some held start waits for
        self._spent = set()  # held for HOLD_SECONDS: their next start is not held again
        self._recheck_due = False

    @property
    def held(self):
        """The supervisors whose ./run waits now."""
        return list(self._held)

    def holds_start(self, supervisor):
        """Must ``supervisor``'s ./run wait now? True: it is held, and its ``host_ready()``
        is called once it may start."""
        if supervisor in self._held:
            return True  # asked again (another helper got ready): still held
        if supervisor in self._spent:
            return False
        data = supervisor.facts.needs_done
        if not data:
            return False
        keys = needed_identities(data)
        if not self._waits(keys):
            return False
        timer = self.loop.call_later(HOLD_SECONDS, lambda: self._release(supervisor, True))
        self._held[supervisor] = (keys, timer)
        return True

    def status_changed(self, supervisor):
        """A supervisor of the tree wrote its main side's status: a one-shot that a held
        start waits for may have ended — looked at once this event is done."""
        if supervisor in self._watched and not self._recheck_due:
            self._recheck_due = True
            self.loop.call_later(0, self.recheck)

    def recheck(self):
        """Every held start looked at again (a scan ended, a service was opened, a one-shot's
        status changed): each that waits for nothing any more starts."""
        self._recheck_due = False
        self._watched = set()
        for supervisor, (keys, _) in list(self._held.items()):
            if not self._waits(keys):
                self._release(supervisor, False)

    def forget(self, supervisor):
        """``supervisor`` is gone from the tree."""
        held = self._held.pop(supervisor, None)
        if held is not None:
            held[1].cancel()
        self._spent.discard(supervisor)
        self._watched.discard(supervisor)

    def _waits(self, keys):
        """Does one of ``keys`` name a one-shot of this tree that has not ended? (Each such
        one-shot is watched.)"""
        waits = False
        for key in keys:
            found = self.find(key)
            if found is UNKNOWN:
                waits = waits or self.is_scanning()
            elif found.oneshot_pending():
                self._watched.add(found)
                waits = True
        return waits

    def _release(self, supervisor, spent):
        held = self._held.pop(supervisor, None)
        if held is None:
            return
        if spent:
            self._spent.add(supervisor)  # its start now, whatever it needs
        else:
            held[1].cancel()
        supervisor.host_ready()  # the start is made in here, if it is still wanted
        self._spent.discard(supervisor)
