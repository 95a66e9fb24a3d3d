"""runtime/supervision/engine: the event loop every supervisor runs on — fds, signals, child exits,
timers.

One loop hosts any number of services (runsv hosts one, runsvdir a whole tree). It sleeps in
``epoll_wait`` with no timeout unless a timer is due, so an idle supervisor never wakes up.
Signals arrive through ``signal.set_wakeup_fd`` and are handled between events, never inside
a signal handler; SIGCHLD drains ``waitpid(-1, WNOHANG)`` and hands each exit to the callback
registered for that pid. A process that is not our child — one a tree re-adopted after its
predecessor was killed — is watched through a pidfd, which becomes readable when it exits.

Readers are level-triggered unless asked otherwise: an edge-triggered reader is called when new
data arrives, so one that leaves data in place on purpose (a logger that consumes only whole
lines) is not called again until more comes.
"""

import errno
import heapq
import itertools
import os
import select
import signal
import time

_READ = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR
UNCLAIMED_SECONDS = 5.0
UNCLAIMED_MAX = 256
# The longest one sleep lasts: a timer further away (a record's wait, a timer's next elapse)
# is slept towards a day at a time, never handed to epoll as a number it cannot take.
LONGEST_SLEEP = 86400.0


class Timer:
    """A pending ``call_later``; ``cancel()`` makes it a no-op."""

    __slots__ = ("when", "callback", "cancelled")

    def __init__(self, when, callback):
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


class EventLoop:
    def __init__(self, monotonic=time.monotonic, handle_error=None):
        self.monotonic = monotonic
        # handle_error(exc): a tree of services must survive a bug hit by one of them, so a
        # host may take exceptions raised by callbacks instead of letting them end the loop.
        self.handle_error = handle_error
        self._epoll = select.epoll()
        self._handlers = {}  # fd -> its reader
        self._processes = {}  # pid -> [pidfd, [callbacks]]: processes that are not our children
        self._timers = []
        self._sequence = itertools.count()
        self._children = {}
        self._unclaimed = {}  # pid -> (when, wait_status) of an exit nobody watched yet
        self._stops = {}  # pid -> (on_stop, on_continue): children whose stops are watched
        self._signal_callbacks = {}
        self._wakeup_r = self._wakeup_w = -1
        self._running = False

    # -- registration -------------------------------------------------------------------
    def add_reader(self, fd, callback, edge=False):
        """``callback()`` whenever ``fd`` is readable (``edge``: whenever new data arrives)."""
        self._epoll.register(fd, _READ | (select.EPOLLET if edge else 0))
        self._handlers[fd] = callback

    def remove_reader(self, fd):
        if self._handlers.pop(fd, None) is not None:
            try:
                self._epoll.unregister(fd)
            except (OSError, ValueError):
                pass  # closed already: the kernel dropped it with the last descriptor

    def call_later(self, delay, callback):
        timer = Timer(self.monotonic() + max(0.0, delay), callback)
        heapq.heappush(self._timers, (timer.when, next(self._sequence), timer))
        return timer

    def watch_child(self, pid, callback, on_stop=None, on_continue=None):
        """``callback(pid, wait_status)`` once, when child ``pid`` exits; ``on_stop()`` and
        ``on_continue()`` each time it is stopped or continued (SIGSTOP, SIGCONT). A child
        reaped a moment before it was watched (a process the fork server made, whose pid came
        after its end) is handed over from the loop's next turn."""
        found = self._unclaimed.pop(pid, None)
        if found is not None:
            self.call_later(0, lambda: callback(pid, found[1]))
            return
        self._children[pid] = callback
        if on_stop is not None or on_continue is not None:
            self._stops[pid] = (on_stop or _nothing, on_continue or _nothing)

    def _keep_unclaimed(self, pid, wait_status):
        """An exit nobody watched: an orphan the tree reaps as a subreaper, or a child whose
        watch comes a moment later. Kept ``UNCLAIMED_SECONDS``, at most ``UNCLAIMED_MAX``:
        long enough for the one, never long enough to be mistaken for a reused pid's."""
        now = self.monotonic()
        for old in [old for old, (when, _) in self._unclaimed.items()
                    if now - when > UNCLAIMED_SECONDS]:
            del self._unclaimed[old]
        if len(self._unclaimed) >= UNCLAIMED_MAX:
            del self._unclaimed[next(iter(self._unclaimed))]
        self._unclaimed[pid] = (now, wait_status)

    def is_watched(self, pid):
        """True while a callback waits for child ``pid``."""
        return pid in self._children

    def watch_process(self, pid, callback, pidfd=None):
        """``callback(pid)`` once, when process ``pid`` — not necessarily our child — has
        exited (its exit status is its parent's to know). ``pidfd``: one of ``pid``'s the
        caller opened (and checked: adoption.claim), ours from now on; without it one is
        opened here — ``OSError`` if ``pid`` is gone or pidfds are not supported (Linux <
        5.3)."""
        entry = self._processes.get(pid)
        if entry is None:
            fd = os.pidfd_open(pid) if pidfd is None else pidfd
            entry = self._processes[pid] = [fd, []]
            self.add_reader(fd, lambda: self._process_exited(pid))
        elif pidfd is not None:
            os.close(pidfd)
        entry[1].append(callback)

    def owns(self, pid):
        """Some callback waits for ``pid`` already: a child of ours (or a process expected to
        become one), or a process watched by its pidfd — a process a side supervises, never
        one for another record to take (adoption.claim)."""
        return pid in self._children or pid in self._processes

    def _process_exited(self, pid):
        fd, callbacks = self._processes.pop(pid)
        self.remove_reader(fd)
        os.close(fd)
        for callback in callbacks:
            self._call(callback, pid)

    def add_signal_handler(self, signum, callback):
        """``callback()`` from the loop (not from the handler) each time ``signum`` arrives."""
        self._ensure_wakeup_fd()
        self._signal_callbacks[signum] = callback
        signal.signal(signum, _note_signal)

    def _ensure_wakeup_fd(self):
        if self._wakeup_r >= 0:
            return
        self._wakeup_r, self._wakeup_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self._wakeup_w, warn_on_full_buffer=False)
        self.add_reader(self._wakeup_r, self._on_wakeup)
        # Children may exit before we are ready; reaping is driven by SIGCHLD from now on.
        self._signal_callbacks[signal.SIGCHLD] = self.reap
        signal.signal(signal.SIGCHLD, _note_signal)

    # -- running --------------------------------------------------------------------------
    def run(self):
        """Dispatch events until ``stop()``."""
        self._ensure_wakeup_fd()
        self._running = True
        self.reap()
        while self._running:
            timeout = self._timeout()
            events = self._epoll.poll(-1 if timeout is None else timeout)
            for fd, _ in events:
                callback = self._handlers.get(fd)
                if callback is not None:  # an earlier callback of this batch removed it
                    self._call(callback)
                if not self._running:
                    break
            self._run_due_timers()

    def _call(self, callback, *args):
        if self.handle_error is None:
            callback(*args)
            return
        try:
            callback(*args)
        except Exception as exc:  # noqa: BLE001 — handed to the host, which reports it
            self.handle_error(exc)

    def stop(self):
        self._running = False

    def close(self):
        if self._wakeup_r >= 0:
            signal.set_wakeup_fd(-1)
            os.close(self._wakeup_r)
            os.close(self._wakeup_w)
            self._wakeup_r = self._wakeup_w = -1
        for fd, _ in self._processes.values():
            os.close(fd)
        self._processes.clear()
        self._epoll.close()

    def _timeout(self):
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        if not self._timers:
            return None  # idle: sleep until an fd or a signal wakes us
        return min(LONGEST_SLEEP, max(0.0, self._timers[0][0] - self.monotonic()))

    def _run_due_timers(self):
        now = self.monotonic()
        while self._timers and self._timers[0][0] <= now:
            timer = heapq.heappop(self._timers)[2]
            if not timer.cancelled:
                timer.cancelled = True
                self._call(timer.callback)

    def _on_wakeup(self):
        try:
            data = os.read(self._wakeup_r, 512)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return
            raise
        for signum in dict.fromkeys(data):  # each signal once per batch, in arrival order
            callback = self._signal_callbacks.get(signum)
            if callback is not None:
                self._call(callback)

    def reap(self):
        """Collect every exited child and hand it to whoever watches it."""
        while True:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            callback = self._children.pop(pid, None)
            self._stops.pop(pid, None)
            if callback is not None:
                self._call(callback, pid, wait_status)
            else:
                self._keep_unclaimed(pid, wait_status)
        for pid, (on_stop, on_continue) in list(self._stops.items()):
            self._reap_stops(pid, on_stop, on_continue)

    def _reap_stops(self, pid, on_stop, on_continue):
        """Stops and continues of one watched child (waitpid(-1) above reports neither)."""
        while True:
            try:
                found, wait_status = os.waitpid(pid, os.WNOHANG | os.WUNTRACED | os.WCONTINUED)
            except ChildProcessError:
                self._stops.pop(pid, None)
                return
            if found == 0:
                return
            if os.WIFSTOPPED(wait_status):
                self._call(on_stop)
            elif os.WIFCONTINUED(wait_status):
                self._call(on_continue)
            else:  # it exited just now: as above
                self._stops.pop(pid, None)
                callback = self._children.pop(pid, None)
                if callback is not None:
                    self._call(callback, pid, wait_status)
                return


def _nothing():
    pass


def _note_signal(signum, frame):
    """The Python-level handler: the C handler already wrote to the wakeup fd."""
