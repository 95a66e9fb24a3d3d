"""runtime/control: what wakes an sv wait — a FIFO of sv's own in each ``supervise/event/``
that our runsv writes to (protocol/eventdir.py), else inotify on each ``supervise/``
(unix/inotify.py), else polling — and the wait loop's timing, which bounds only what events
cannot tell.
"""

import time

from ...protocol import layout

# Wait-loop timing (seconds). Waits wake on inotify events; these only bound what events cannot
# tell: a failing ./check (no file changes when it starts passing), runsv's exit racing its
# close event, a platform without inotify, and a safety re-check never slower than runit's tick.
CHECK_RETRY_FIRST, CHECK_RETRY_MAX = 0.02, 0.42
EXIT_SETTLE_FIRST, EXIT_SETTLE_MAX, EXIT_SETTLE_FOR = 0.001, 0.032, 0.25
FALLBACK_POLL = 0.02
SAFETY_RECHECK = 0.42
# A FIFO waiter holds three descriptors (its FIFO, event/ok, the directory); past this many,
# services are watched through inotify, so that a wait on a thousand leaves room for the
# status reads and ./check.
FIFO_WAITERS_MAX = 128



class Wakers:
    """What a wait wakes on, per service (cwd: the service when ``add`` is called):

    * a FIFO of its own in ``supervise/event/``, where our runsv writes a byte at each change
      (protocol/eventdir.py), and that directory's ``ok`` held write-only, which reports
      POLLERR when that runsv is gone — closing these costs nothing at sv's exit;
    * else (the C runsv, or ours killed) an inotify watch on its ``supervise/``, the instance
      made on first use (its teardown, at exit, waits for the kernel's grace period);
    * else nothing: it is polled every ``FALLBACK_POLL``.
    """

    def __init__(self, acts):
        import select  # only waiting commands need it

        self._select = select
        self.acts = acts
        self.poll = select.poll()
        self.by_fd = {}  # a waiter's FIFO or listener -> the item
        self.watcher = None
        self._watcher_tried = False
        self.mask = 0
        self.by_wd = {}

    def add(self, item):
        from ...protocol.eventdir import subscribe

        waiter = subscribe() if len(self.by_fd) < 2 * FIFO_WAITERS_MAX else None
        if waiter is not None:
            item.waiter = waiter
            self.by_fd[waiter.fd] = self.by_fd[waiter.listener] = item
            self.poll.register(waiter.fd, self._select.POLLIN)
            self.poll.register(waiter.listener, 0)  # POLLERR only: runsv gone
            return
        watcher = self._inotify()
        if watcher is not None:
            item.wd = _add_watch(watcher, self.mask)
            if item.wd is not None:
                self.by_wd.setdefault(item.wd, []).append(item)

    def _inotify(self):
        if not self._watcher_tried:
            self._watcher_tried = True
            self.watcher = _open_watcher()
            if self.watcher is not None:
                self.mask = _watch_mask(self.acts)
                self.poll.register(self.watcher.fd, self._select.POLLIN)
        return self.watcher

    def forget(self, item):
        """``item`` is done: its FIFO goes now (a runsv posting meanwhile skips it)."""
        waiter = item.waiter
        if waiter is not None:
            item.waiter = None
            for fd in (waiter.fd, waiter.listener):
                self._unregister(fd)
            waiter.close()

    def _unregister(self, fd):
        if self.by_fd.pop(fd, None) is not None:
            self.poll.unregister(fd)

    def wait(self, pending, timeout):
        """Sleep until something wakes a pending service or ``timeout`` seconds pass; each
        service woken is due now."""
        found = self.poll.poll(timeout * 1000.0)
        now = time.monotonic()
        for fd, _ in found:
            if self.watcher is not None and fd == self.watcher.fd:
                self._inotify_events(pending, now)
                continue
            item = self.by_fd.get(fd)
            if item is None:
                continue
            item.due = now
            if fd == item.waiter.fd:
                item.waiter.drain()
            else:
                # runsv is gone (or ours was killed): no more posts. Its listener would
                # report this at every poll; the safety look stays.
                self._unregister(fd)

    def _inotify_events(self, pending, now):
        for wd, mask, _cookie, name in self.watcher.read_events():
            kind = classify_event(mask, name)
            if kind is None:
                continue
            items = pending if kind == "all" else self.by_wd.get(wd, ())
            for item in items:
                item.due = now
                if kind == "exit":
                    item.settle_until = now + EXIT_SETTLE_FOR
                    item.settle_delay = EXIT_SETTLE_FIRST
            if kind == "gone":
                for item in self.by_wd.pop(wd, ()):
                    item.wd = None  # watched again on the next evaluation

    def close(self):
        for item in list(self.by_fd.values()):
            self.forget(item)
        if self.watcher is not None:
            self.watcher.close()


def classify_event(mask, name):
    """What an inotify event in ``supervise/`` means for a wait, or None to ignore it.

    ``status`` is renamed into place (IN_MOVED_TO) or written in place (IN_CLOSE_WRITE).
    runsv's exit shows as IN_CLOSE_NOWRITE on ``ok`` (its reader closing); sv's own probes open
    ``ok`` write-only and read ``status`` read-only, so neither wakes a re-evaluation.
    """
    from ..unix import inotify as ino

    if mask & ino.IN_Q_OVERFLOW:
        return "all"
    if mask & (ino.IN_IGNORED | ino.IN_DELETE_SELF | ino.IN_MOVE_SELF | ino.IN_UNMOUNT):
        return "gone"
    if name == layout.STATUS and mask & (ino.IN_MOVED_TO | ino.IN_CLOSE_WRITE | ino.IN_DELETE):
        return "status"
    if name == layout.READINESS and mask & ino.IN_MOVED_TO:
        return "status"  # the service said READY=1 (docs/readiness.md)
    if name == layout.OK and mask & (ino.IN_CLOSE_NOWRITE | ino.IN_DELETE):
        return "exit"
    if name == layout.LOCK and mask & ino.IN_CLOSE_WRITE:
        return "exit"
    return None


def _watch_mask(acts):
    from ..unix import inotify as ino

    mask = (ino.IN_MOVED_TO | ino.IN_CLOSE_WRITE | ino.IN_DELETE | ino.IN_DELETE_SELF
            | ino.IN_MOVE_SELF | ino.IN_ONLYDIR)
    if "x" in acts:
        mask |= ino.IN_CLOSE_NOWRITE  # runsv's ok reader going away
    return mask


def _open_watcher():
    """An Inotify, or None (poll instead) where the platform has none."""
    try:
        from ..unix.inotify import Inotify

        return Inotify()
    except (ImportError, OSError):
        return None


def _add_watch(watcher, mask):
    try:
        return watcher.add_watch(layout.SUPERVISE_DIR, mask)
    except OSError:
        return None  # this service is polled
