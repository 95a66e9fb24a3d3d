"""runtime/supervision/engine: one service's readiness channel — systemd's ``NOTIFY_SOCKET``, or
s6's notification fd — served on the loop.

s6's notification-fd (``ready`` = ``fd=N``): ``./run`` gets the writing end of a pipe as
descriptor N; a newline on it means ready (s6-supervise's rule), after which, or at EOF, the
pipe is closed. Only the service holds that end: no sender to judge.

A service whose ``ready`` file says ``notify`` gets a datagram socket of its own, bound to an
abstract address the kernel picks (``@`` and five hex digits: no path to make, to clean up or
to outgrow ``sun_path``, in any directory a service's user can or cannot reach), passed as
``NOTIFY_SOCKET``. What it says is recorded in ``supervise/readiness`` (protocol/readiness.py),
never in runit's files.

Anyone on the host can send to an abstract address, so every message is judged by its sender,
as the kernel vouches for it (``SO_PASSCRED``: the pid comes from the kernel, never from the
message): ``access=main`` takes only the process runsv started (or the ``MAINPID=`` it gave);
``access=all`` also takes its descendants and whoever shares the process group or session it
leads (a daemon that forked away from its shell). Everything else is refused and counted.

Never blocking the loop, nor costing it more than a share of its time (a stranger may send to
every name ``/proc/net/unix`` shows): the socket is non-blocking, each wake-up reads at most
``BATCH`` datagrams, and every notify socket of a loop is read within one ``ReadShare``
(docs/readiness.md, "A flood").

``MAINPID=N`` (a process of the service, of the sender's real uid; never pid 1 or the
supervisor), held by a pidfd, makes N the main process: its messages are heard as ``./run``'s
and runsv's signals go to it, as systemd's ``KillMode=mixed`` does; ``supervise/pid`` and
``status`` stay ``./run``'s (docs/readiness.md, "The main process").
"""

import os
import signal
import socket
import sys
import weakref

from ....protocol.layout import READINESS
from ....protocol.readiness import (MESSAGE_MAX, Readiness, notify_assignments,
                                    readiness_bytes)
from ...unix.processes import real_uid

BATCH = 32
# Every notify socket of one loop (a tree: root's services' and its users' alike) is read for
# at most SHARE_SECONDS of each PERIOD_SECONDS by the loop's clock, 2.5 % of its time, and what
# a quiet loop does not use is saved up to SAVED_SECONDS for a burst (a tree's services all
# saying READY=1 at boot). A stranger's flood so costs the tree a bounded share of its CPU
# (tests/security/test_notify_users.py). A shorter period would shorten the wait of what the
# service says and wake each waiting socket more often.
SHARE_SECONDS = 0.0025
PERIOD_SECONDS = 0.1
SAVED_SECONDS = 0.025
REFUSALS_WRITTEN_EVERY = 1.0  # seconds: a record changed by refusals alone waits this long
# A timeout or watchdog that falls due when the socket was held back (its queue left unread
# for want of the share) since it was armed is not judged: what the service said may be in
# that queue, or waiting to get into it (a flood keeps it full, and a service's own sendto
# waits for a place: judged then, a service that pinged in time would be ended). It is looked at again HELD_GRACE_SECONDS later, and judged once the socket was not
# held back meanwhile — or after HELD_GRACES_MAX such looks: a flood never makes runsv end a
# run that spoke, and delays the end of one that hung by 10 s at most.
HELD_GRACE_SECONDS = 1.0
HELD_GRACES_MAX = 10
# access=all: a sender found to be no process of the service is not walked up again for this
# long (a flood's sender walked once, not per datagram: each walk reads /proc): a
# pid is not another process's so soon, and a stranger cannot join the service's process
# group, session or descendants (a MAINPID= taken starts the list anew).
_STRANGER_SECONDS = 0.1
_STRANGERS_MAX = 1024
_FDS_MAX = 16  # of SCM_RIGHTS per datagram: more are closed by the kernel (MSG_CTRUNC)
_ANCILLARY = socket.CMSG_SPACE(12) + socket.CMSG_SPACE(4 * _FDS_MAX)
_ANCESTRY_MAX = 64  # parents walked to find the service's process (access=all)
_FLAGS = socket.MSG_DONTWAIT | socket.MSG_CMSG_CLOEXEC
KILL_AFTER_SECONDS = 5.0  # a process that outlives the TERM (or ABRT) it failed with: KILL


def process_ids(pid):
    """``(ppid, pgrp, session)`` of ``pid`` from ``/proc/PID/stat``, or None when it is gone.

    The command name (field 2) may hold anything, ``)`` too: fields are counted from the
    last ``)``."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as stat_file:
            data = stat_file.read(1024)
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()
    try:
        return int(fields[1]), int(fields[2]), int(fields[3])
    except (IndexError, ValueError):
        return None


def may_notify(sender, main_pids, access, ids=process_ids):
    """Whether ``sender`` speaks for a service whose main process is one of ``main_pids``.

    >>> table = {30: (20, 20, 20), 20: (10, 20, 20), 50: (1, 20, 20), 60: (1, 60, 60)}
    >>> [may_notify(p, {20}, "main", table.get) for p in (20, 30)]
    [True, False]
    >>> [may_notify(p, {20}, "all", table.get) for p in (20, 30, 50, 60, 70)]
    [True, True, True, False, False]
    """
    if sender in main_pids:
        return True
    if access != "all":
        return False
    found = ids(sender)
    if found is None:
        return False
    _, pgrp, session = found
    if pgrp in main_pids or session in main_pids:
        return True  # the group or session the service leads (it forked away, -P)
    pid = sender
    for _ in range(_ANCESTRY_MAX):
        found = ids(pid)
        if found is None or found[0] <= 1:
            return False
        pid = found[0]
        if pid in main_pids:
            return True
    return False


class ReadShare:
    """What reading the notify sockets of one loop may cost it: ``SHARE_SECONDS`` of each
    ``PERIOD_SECONDS`` (up to ``SAVED_SECONDS`` in hand), by the loop's clock (wall time: time
    the process waited for a CPU counts too, so a loaded machine gives it less, never more). A
    batch stops at the datagram that spends what is left; a write of refusals alone waits for
    some to be left.

    Once a period's share is spent, a socket that wants reading waits — its channel takes
    its reader off and ``wait``s — and the next period resumes the waiting channels in the
    order they began to wait, each reading a batch at once, until the share is spent again;
    the rest wait on, first in line. A flood, whoever sends it and to however many sockets,
    costs the loop its share and a wake-up for each socket it resumed; what waits behind it
    in a socket's queue is read a period or so later."""

    def __init__(self, loop):
        self.loop = loop
        self._ends = None  # when the current period ends (None: none began yet)
        self._left = 0.0
        self._waiting = {}  # channel -> its resume(), in the order they began to wait
        self._timer = None

    def left(self):
        """Seconds of the share left (0 or less: spent). Each period that begins adds its
        share to what is left, up to ``SAVED_SECONDS`` (a quiet loop has that much in hand
        for a burst); what a period overspent (a write that took long) is not carried over."""
        now = self.loop.monotonic()
        if self._ends is None:
            self._ends, self._left = now + PERIOD_SECONDS, SAVED_SECONDS
        elif now >= self._ends:
            periods = int((now - self._ends) // PERIOD_SECONDS) + 1
            self._ends += periods * PERIOD_SECONDS
            self._left = min(max(self._left, 0.0) + periods * SHARE_SECONDS, SAVED_SECONDS)
        return self._left

    def is_spent(self):
        return self.left() <= 0

    def spend(self, seconds):
        self._left -= seconds

    def wait_seconds(self):
        """0 while the share is not spent; else how long until the next period."""
        return max(0.0, self._ends - self.loop.monotonic()) if self.is_spent() else 0.0

    def wait(self, channel, resume):
        """``resume()`` in a period to come, in turn (unless ``forget(channel)`` first)."""
        self._waiting[channel] = resume
        if self._timer is None:
            self._timer = self.loop.call_later(self.wait_seconds(), self._next_period)

    def forget(self, channel):
        self._waiting.pop(channel, None)

    def _next_period(self):
        self._timer = None
        try:
            while self._waiting and not self.is_spent():
                channel = next(iter(self._waiting))
                self._waiting.pop(channel)()  # may wait again: then it is last in line
        finally:  # whatever a resume raised (the loop's host reports it), the rest go on
            if self._waiting and self._timer is None:
                self._timer = self.loop.call_later(self.wait_seconds(), self._next_period)


_SHARES = weakref.WeakKeyDictionary()  # loop -> its ReadShare: one budget for the process


def share_of(loop):
    """The ReadShare every NotifyChannel on ``loop`` reads under."""
    share = _SHARES.get(loop)
    if share is None:
        share = _SHARES[loop] = ReadShare(loop)
    return share


class NotifyChannel:
    """The socket and the readiness record of one service (its main side only).

    ``files``: the side's SuperviseFiles (the record is written beside its status);
    ``clock``: ``time_ns()``; ``on_change(readiness)``: called after a batch changed it;
    ``kill(pid, signum)``: how a start that failed (``timeout=``, ``watchdog=``) is ended;
    ``written()``: called after each write of the record (runsv wakes its waiters).

    A ``timeout`` is a timer while the service starts, a ``watchdog`` one while it runs, reset
    by each ``WATCHDOG=1`` (systemd's ``TimeoutStartSec=`` and ``WatchdogSec=``): when one
    fires the service is sent TERM (not ready) or ABRT (watchdog), KILL 5 s later if it is
    still there, and the reason stays in the record (``failed``) through the restart that
    follows. A service with neither has no timer at all.

    ``share``: the ReadShare its socket is read under (by default the loop's, which every
    channel on the loop shares)."""

    def __init__(self, loop, files, clock, warn, on_change=None, kill=None, written=None,
                 share=None):
        self.loop = loop
        self.files = files
        self.clock = clock
        self.warn = warn
        self.on_change = on_change
        self.kill = kill
        self.written = written
        self.access = "main"
        self.spec = None
        self.readiness = Readiness("down", 0, 0, 0, "", 0, 0)
        self._written = None
        self._timers = {}  # "timeout", "watchdog", "kill" -> the loop's Timer
        self._failed = ""  # why we ended the last run, for the next one's record
        self._sock = None  # made at the first start with kind notify
        self.address = None
        self._pipe = -1  # kind fd: the reading end of this run's notification pipe
        self._main_fd = -1  # a pidfd of the MAINPID= it gave, while that process runs
        self._share = share if share is not None else share_of(loop)
        self._written_at = None  # the loop's clock at the record's last write
        self._refusals_timer = None  # a write of refusals alone, when one is due
        self._holds = 0  # times the socket was held back by the share (its queue unread)
        self._armed_holds = {}  # timer name -> (self._holds when armed, graces given since)
        self._strangers = set()  # access=all: senders refused after a walk up, lately
        self._strangers_key = None  # (pid, mainpid, until) the set is good for

    def socket_address(self):
        """``NOTIFY_SOCKET``'s value, the socket made on first use (OSError if it cannot)."""
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                                  | socket.SOCK_NONBLOCK)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
                sock.bind(b"")  # autobind: the kernel picks a free abstract name
            except OSError:
                sock.close()
                raise
            self._sock = sock
            self.address = "@" + sock.getsockname()[1:].decode("ascii")
            self._watch_socket()
        return self.address

    def _watch_socket(self):
        if self._sock is not None:
            self.loop.add_reader(self._sock.fileno(), self._receive)

    def _resume(self):
        """Our turn in a new period (ReadShare): watched again, and a batch read now."""
        if self._sock is not None:
            self._watch_socket()
            self._receive()

    # -- the service's life, as the supervisor sees it ---------------------------------------
    def started(self, pid, spec, pipe=None, status_follows=False):
        """``./run`` started as ``pid`` under ``spec`` (a ReadySpec): starting, nothing said
        yet; the reason the last run was ended, if we ended it. ``pipe``: kind fd's reading
        end (ours now). ``status_follows``: the caller writes the status that names ``pid``
        next (our runsv), and ``observe`` writes the record after it — so no reader finds
        "starting" for a process that supervise/pid and status do not show yet; the relay
        under the C runsv, which writes no status, writes it here."""
        self._cancel_timers()
        self._close_pipe()
        self._forget_main()
        if pipe is not None:
            os.set_blocking(pipe, False)
            self._pipe = pipe
            self.loop.add_reader(pipe, self._read_pipe)
        self.spec, self.access = spec, spec.access
        self.readiness = Readiness("starting", pid, self.clock.time_ns(), 0, "", 0, 0,
                                   self._failed)
        self._failed = ""
        if not status_follows:
            self._write()
        if spec.timeout:
            self._arm("timeout", spec.timeout, self._not_ready)
        if spec.watchdog:
            self._arm_watchdog()

    def observe(self, pid, is_running):
        """The side's status was written: its process may have ended (or not be ``./run`` any
        more)."""
        if self.readiness.state != "down" and (not is_running or pid != self.readiness.pid):
            self._cancel_timers()
            self._close_pipe()
            self._forget_main()
            self.readiness = self.readiness._replace(state="down")
        self._write()  # this, or a start's "starting" (``started``): written if it changed

    def close(self):
        """The supervisor is done with the service (or it no longer declares readiness)."""
        self.observe(0, False)
        self._cancel_timers()
        self._close_pipe()
        self._forget_main()
        self._share.forget(self)
        if self._refusals_timer is not None:
            self._refusals_timer.cancel()
            self._refusals_timer = None
        if self._sock is not None:
            self.loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    # -- s6's notification fd -----------------------------------------------------------------
    def _read_pipe(self):
        """A newline means ready (s6-supervise's rule); then, or at EOF, the pipe is done."""
        try:
            data = os.read(self._pipe, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if b"\n" in data and self.readiness.state == "starting":
            self._apply({"READY": "1"})
            self._write()
            if self.on_change is not None:
                self.on_change(self.readiness)
        if not data or b"\n" in data:
            self._close_pipe()

    def _close_pipe(self):
        self._drop_reader("_pipe")

    def _drop_reader(self, name):
        """Stop watching, and close, the descriptor held in attribute ``name`` (-1: none)."""
        fd = getattr(self, name)
        if fd >= 0:
            self.loop.remove_reader(fd)
            os.close(fd)
            setattr(self, name, -1)

    # -- timers ------------------------------------------------------------------------------
    def _arm(self, name, seconds, callback):
        self._cancel_timer(name)
        self._timers[name] = self.loop.call_later(seconds, callback)
        self._armed_holds[name] = (self._holds, 0)

    def _graced(self, name, callback):
        """Timer ``name`` fell due: True when it is looked at again ``HELD_GRACE_SECONDS``
        later instead, the socket having been held back (ReadShare) since it was armed or
        last looked at (``HELD_GRACES_MAX`` times at most)."""
        holds, graces = self._armed_holds.get(name, (self._holds, 0))
        if holds == self._holds or graces >= HELD_GRACES_MAX:
            return False
        self._timers[name] = self.loop.call_later(HELD_GRACE_SECONDS, callback)
        self._armed_holds[name] = (self._holds, graces + 1)
        return True

    def _not_ready(self):
        self._timers.pop("timeout", None)
        if self.readiness.state == "starting" and not self._graced("timeout", self._not_ready):
            self._fail("not ready after %d s" % self.spec.timeout, signal.SIGTERM)

    def _arm_watchdog(self):
        self._arm("watchdog", self.spec.watchdog, self._starved)

    def _starved(self):
        self._timers.pop("watchdog", None)
        if self.readiness.state != "down" and not self._graced("watchdog", self._starved):
            self._fail("watchdog: no WATCHDOG=1 for %d s" % self.spec.watchdog,
                       signal.SIGABRT)

    def _fail(self, reason, signum):
        """End the run for ``reason`` (it counts as a death: runsv did not ask for it)."""
        pid = self.readiness.pid
        self._cancel_timers()
        self._failed = reason
        self.readiness = self.readiness._replace(failed=reason)
        self._write()
        self.warn("%s: sending %s" % (reason, "TERM" if signum == signal.SIGTERM else "ABRT"))
        if self.kill is None:
            return
        self.kill(pid, signum)

        def still_there():
            self._timers.pop("kill", None)
            if self.readiness.pid == pid and self.readiness.state != "down":
                self.kill(pid, signal.SIGKILL)
        self._timers["kill"] = self.loop.call_later(KILL_AFTER_SECONDS, still_there)

    def _cancel_timer(self, name):
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _cancel_timers(self):
        for name in list(self._timers):
            self._cancel_timer(name)

    # -- messages ---------------------------------------------------------------------------
    def _receive(self):
        left = self._share.left()
        if left <= 0:  # the loop's share of this period is spent: wait for our turn
            self._holds += 1
            self.loop.remove_reader(self._sock.fileno())
            self._share.wait(self, self._resume)
            return
        began = self.loop.monotonic()
        deadline = began + left
        before = self.readiness
        for _ in range(BATCH):
            if self.loop.monotonic() >= deadline:
                self._holds += 1
                break  # the rest is read when the loop comes back to us (level-triggered)
            try:
                data, ancillary, flags, _ = self._sock.recvmsg(MESSAGE_MAX + 1, _ANCILLARY,
                                                               _FLAGS)
            except BlockingIOError:
                break
            except InterruptedError:
                continue
            sender, uid, fds = _credentials(ancillary)
            if len(data) > MESSAGE_MAX or flags & socket.MSG_TRUNC:
                self._refuse()
            elif self._is_from_service(sender):
                self._apply(notify_assignments(data), uid)
            else:
                self._refuse()
            # Only now: a barrier's sender waits for this close, so it is still there (and
            # its /proc entry with it) while it is judged above.
            for fd in fds:
                os.close(fd)
        if self.readiness._replace(refused=before.refused) != before:
            self._write()  # what the service said: at once (with the refusals so far)
            if self.on_change is not None:
                self.on_change(self.readiness)
        elif self.readiness != before:
            self._write_refusals()
        self._share.spend(self.loop.monotonic() - began)

    def _write_refusals(self):
        """Refusals alone changed the record: written now if it was not written for
        ``REFUSALS_WRITTEN_EVERY`` seconds and the share is not spent, else when both hold
        (a timer; whatever is written meanwhile takes the count along)."""
        if self._refusals_timer is not None:
            return
        wait = self._share.wait_seconds()
        if self._written_at is not None:
            wait = max(wait, self._written_at + REFUSALS_WRITTEN_EVERY - self.loop.monotonic())
        if wait > 0:
            self._refusals_timer = self.loop.call_later(wait, self._refusals_due)
        else:
            self._write()

    def _refusals_due(self):
        self._refusals_timer = None
        if self.readiness != self._written:
            began = self.loop.monotonic()
            self._write_refusals()
            self._share.spend(self.loop.monotonic() - began)  # in a batch, the batch pays it

    def _is_from_service(self, sender):
        record = self.readiness
        if sender is None or sender <= 0 or record.state == "down":
            return False  # 0: a sender the kernel cannot name here (another pid namespace)
        if sender == record.pid or sender == record.mainpid:
            return True
        if self.access != "all":
            return False
        now = self.loop.monotonic()
        key = self._strangers_key
        if key is None or key[:2] != (record.pid, record.mainpid) or now >= key[2]:
            self._strangers.clear()
            self._strangers_key = (record.pid, record.mainpid, now + _STRANGER_SECONDS)
        elif sender in self._strangers:
            return False
        if may_notify(sender, {record.pid, record.mainpid} - {0}, "all"):
            return True
        if len(self._strangers) < _STRANGERS_MAX:
            self._strangers.add(sender)
        return False

    def _refuse(self):
        self.readiness = self.readiness._replace(refused=self.readiness.refused + 1)

    def _apply(self, said, uid=None):
        record = self.readiness
        changes = {}
        if said.get("WATCHDOG") == "1" and "watchdog" in self._timers:
            self._arm_watchdog()
        elif said.get("WATCHDOG") == "trigger" and self.spec and self.spec.watchdog:
            self._fail("watchdog: the service asked (WATCHDOG=trigger)", signal.SIGABRT)
            return
        if "STATUS" in said:
            changes["status"] = said["STATUS"]
        if "MAINPID" in said:
            if self._take_main(said["MAINPID"], uid):
                changes["mainpid"] = int(said["MAINPID"])
            else:
                changes["refused"] = record.refused + 1
        if said.get("STOPPING") == "1":
            changes["state"] = "stopping"
        elif said.get("RELOADING") == "1":
            changes["state"] = "reloading"
        elif said.get("READY") == "1" and record.state in ("starting", "reloading"):
            changes["state"] = "ready"
            changes["ready_ns"] = self.clock.time_ns()
            self._cancel_timer("timeout")
        if changes:
            self.readiness = record._replace(**changes)

    # -- MAINPID= ---------------------------------------------------------------------------
    def _take_main(self, text, uid):
        """Make ``text`` (MAINPID='s value) the main process if systemd would; False if not."""
        run = self.readiness.pid
        if not text.isdigit() or int(text) <= 1 or int(text) == os.getpid():
            return False  # no process, pid 1 (the manager, in systemd's words), or runsv
        pid = int(text)
        if pid == run:
            self._forget_main()  # back to ./run itself
            return True
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            return False  # gone (or never was)
        # Judged after the pidfd is open and found alive after the judgement: the process
        # judged is the one the pidfd holds (a pid is reused only once its process is reaped).
        try:
            taken = ((uid == 0 or (may_notify(pid, {run}, "all") and real_uid(pid) == uid))
                     and _pidfd_signal(pidfd, 0))
        except OSError:
            taken = False
        if not taken:
            os.close(pidfd)
            return False
        self._forget_main()
        self._main_fd = pidfd
        # Readable once it ended: signals go to ./run again (the record keeps what was said).
        self.loop.add_reader(pidfd, self._forget_main)
        return True

    def _forget_main(self):
        self._drop_reader("_main_fd")

    def signal_main(self, pid, signum):
        """Send ``signum``, meant for ``./run`` (``pid``), to the ``MAINPID=`` process instead
        if there is one; True when that is all there is to do (KILL: ``./run`` gets it too)."""
        if self._main_fd < 0 or pid != self.readiness.pid or self.readiness.state == "down":
            return False
        try:
            _pidfd_signal(self._main_fd, signum)
        except OSError:  # ended and reaped since (its exit not yet read from the loop)
            self._forget_main()
            return False
        return signum != signal.SIGKILL

    def _write(self):
        if self.readiness != self._written:
            self.files.write_named(READINESS, readiness_bytes(self.readiness))
            self._written = self.readiness
            self._written_at = self.loop.monotonic()
            if self.written is not None:
                self.written()


def _pidfd_signal(pidfd, signum):
    """True once sent (ProcessLookupError: the process is gone)."""
    signal.pidfd_send_signal(pidfd, signum)
    return True


def _credentials(ancillary):
    """``(pid, uid, fds)``: the pid and uid the kernel vouches for (None without
    credentials) and every descriptor passed along, for the caller to close (a barrier's
    pipe: closing it is the answer)."""
    sender, uid, fds = None, None, []
    for level, kind, data in ancillary:
        if level != socket.SOL_SOCKET:
            continue
        if kind == socket.SCM_CREDENTIALS and len(data) >= 12:
            sender = int.from_bytes(data[0:4], sys.byteorder, signed=True)
            uid = int.from_bytes(data[4:8], sys.byteorder)
        elif kind == socket.SCM_RIGHTS:
            usable = len(data) - len(data) % 4
            fds.extend(int.from_bytes(data[offset:offset + 4], sys.byteorder, signed=True)
                       for offset in range(0, usable, 4))
    return sender, uid, fds
