"""runtime: one svlogd log directory on an event loop — lock, current, rotation, pruning,
processor, and pause-and-retry.  Never sleeps: every wait is a loop timer or a child watch.

The on-disk protocol is runit's (``svlogd.c``, docs/runit-protocol.md §4): ``lock`` (flock, 0600);
``current`` 0644 while open and 0744 once complete; a ``current`` found non-empty without
u+x is a crash leftover and becomes ``@<tai64n>.u``; rotated files are ``@`` + 24 hex digits
of TAI64N + ``.s`` (``.u`` while a processor is due), 27 characters, unique; ``n`` prunes one
oldest file per rotation; the processor runs ``/bin/sh -c`` in the directory with ``@x.u`` on
stdin, ``@x.t`` on stdout, ``state`` on fd 4 and ``newstate`` on fd 5.

Work is a queue: data to write, forced rotations, and *steps* (one file-system operation
each, with runit's message).  A step or a write that fails prints ``svlogd: pausing: …``
and is retried 3 s later from where it stopped, so nothing is lost; while anything is queued
the directory ``is_busy`` and its host stops reading input (backpressure to the service).
A rotation waits for the processor still at work on the last one (``Blocked``): its end
drains the queue again.

The file work itself is dirwork.py's.

How much of the queue goes into ``current`` before a rotation is writeplan.py's (pure); the
rotated files' names and which go when pruned, rotated.py's.

Why one module: a ``LogDir``'s queue — writes, steps, rotation, the processor — is one
state machine with one order, read in a sitting as svlogd.c's; what could stand apart of it
(the write plans, the file work, the rotated files' names) has.
"""

import errno
import os
import stat
import time

from ...protocol.layout import CURRENT, NEWSTATE, STATE
from ..unix.diag import with_errstr, write_line
from . import dirwork
from .dirwork import CONFIG_MAX, Refused  # noqa: F401 — CONFIG_MAX: its readers take it here
from .writeplan import fits_whole, plan_write

PAUSE_SECONDS = 3.0        # runit's pause before retrying a failed file-system operation
PROCESSOR_BACKOFF = 1.0    # a processor that failed within this long is rerun after it


class Reporter:
    """svlogd's messages — ``svlogd: warning|pausing|info|fatal: …`` — one write() each."""

    __slots__ = ("fd", "verbose", "prog")

    def __init__(self, fd=2, verbose=False, prog="svlogd"):
        self.fd = fd
        self.verbose = verbose
        self.prog = prog

    def _say(self, kind, message, exc=None):
        write_line(self.fd, "%s: %s: %s" % (self.prog, kind, with_errstr(message, exc)))

    def warn(self, message, exc=None):
        self._say("warning", message, exc)

    def pause(self, message, exc=None):
        self._say("pausing", message, exc)

    def fatal(self, message, exc=None):
        self._say("fatal", message, exc)

    def info(self, message):
        if self.verbose:
            self._say("info", message)


class _Processor:
    """One run of the processor over ``@x.u``; holds its own directory fd across HUPs."""

    __slots__ = ("pid", "dirfd", "base", "command", "started")

    def __init__(self, dirfd, base, command):
        self.pid = None
        self.dirfd = dirfd
        self.base = base          # "@…" without the suffix
        self.command = command
        self.started = 0.0


_ROTATE = object()  # a forced rotation in the data queue (ALRM, age)


class Blocked(Exception):
    """A step cannot be done yet: the processor still works on the last rotated file. The
    queue waits; the processor's end drains it again."""


class LogDir:
    """One log directory named ``name`` (as given on the command line), hosted on ``loop``.

    ``on_change()`` is called whenever ``is_busy`` may have changed.  ``line_max`` is svlogd's
    ``-l``: runit rotates once a line leaves less than that much room.
    """

    __slots__ = ("name", "base_fd", "loop", "spawner", "report", "line_max", "on_change",
                 "clock", "config", "is_open", "size", "unfinished", "_dirfd", "_lockfd",
                 "_fd", "_at_line_start", "_queue", "_steps", "_retry", "_age_timer", "_job",
                 "_backlog", "_last_name_ns")

    def __init__(self, name, loop, spawner, reporter, line_max=1000, on_change=None,
                 clock=time.time_ns, base_fd=None):
        self.name = name
        self.base_fd = base_fd  # a relative name is opened from here (None: the cwd)
        self.loop = loop
        self.spawner = spawner
        self.report = reporter
        self.line_max = line_max
        self.on_change = on_change or (lambda: None)
        self.clock = clock
        self.config = None
        self.is_open = False
        self.size = 0
        self.unfinished = None  # ``unfinished``'s content found by the last open, when asked
        self._dirfd = self._lockfd = self._fd = -1
        self._at_line_start = True
        # Lists, not deques: an empty deque holds a block of 64 slots, and a
        # tree has two of these for every logger; they hold a few entries at most.
        self._queue = []
        self._steps = []
        self._retry = None
        self._age_timer = None
        self._job = None
        self._backlog = []        # crash-recovered .u files waiting for the processor
        self._last_name_ns = 0

    # -- state --------------------------------------------------------------------------
    @property
    def is_busy(self):
        """Data, a rotation or a step still queued (or paused): the host must not read."""
        return bool(self._queue or self._steps)

    @property
    def dir_fd(self):
        """The open directory's fd (-1 when closed)."""
        return self._dirfd

    @property
    def is_processing(self):
        return self._job is not None or bool(self._backlog)

    # -- opening and closing ------------------------------------------------------------
    def open(self, config_parser, unfinished_limit=None):
        """Open as runit's ``logdir_open``; False (after a warning) if unusable.
        ``unfinished_limit``: read ``unfinished`` too (``self.unfinished``), up to that many
        bytes of line.

        ``config_parser(data, name)`` turns ``config`` into a LogConfig.
        """
        try:
            found = dirwork.open_log_dir(self.base_fd, self.name, unfinished_limit)
        except Refused as exc:
            self.report.warn(exc.message, exc.cause)
            return False
        self._dirfd, self._lockfd = found.dir_fd, found.lock_fd
        for message, exc in found.config_problems:
            self.report.warn(message, exc)
        if found.config_read:
            self.report.info("read: %s/config" % self.name)
        self.config = config_parser(found.config, self.name)
        for message in self.config.warnings:
            self.report.warn(message)
        self.unfinished = found.unfinished
        self.is_open = True
        self.size = 0
        self._at_line_start = True
        current = found.current
        appending = current is not None and not (current[0] and not current[1] & stat.S_IXUSR)
        if current is not None and not appending:
            self._steps.extend(self._recovery_steps())
        else:
            self.size = current[0] if current is not None else 0
        self._steps.append((self._open_current, "unable to open current"))
        self._steps.append((self._mode_current, "unable to set mode of current"))
        self._steps.append((lambda: self.report.info(
            "%s: %s/current" % ("append" if appending else "new", self.name)), ""))
        if self.config.processor:
            # runit leaves crash leftovers unprocessed (runit-protocol.md §9.10); we feed them in.
            self._steps.append((self._list_backlog, "unable to open directory"))
            self._steps.append((self._start_next_processor, "unable to run processor"))
        self._drain()
        return True

    def _list_backlog(self):
        busy = self._job.base if self._job is not None else None
        self._backlog = dirwork.unprocessed(self._dirfd, busy)

    def _recovery_steps(self):
        """A ``current`` a crash left unfinished becomes ``@….u``, as runit's logdir_open."""
        saved = {}

        def name():
            saved["name"] = self._new_name("u", saved)

        def rename():
            dirwork.rename(self._dirfd, CURRENT, saved["name"])

        def backlog():
            if self.config.processor:
                self._backlog.append(saved["name"][:25])

        return [(name, ""), (rename, "unable to rename current"), (self._prune, ""),
                (backlog, "")]

    def _open_current(self):
        self._fd = dirwork.open_current(self._dirfd)

    def _mode_current(self):
        dirwork.set_mode(self._fd, 0o644)
        if self.size:
            self._arm_age()

    def close(self):
        """Finish ``current`` (fsync, 0744) and unlock, as steps: ``is_busy`` until done."""
        if not self.is_open:
            return
        self.report.info("close: " + self.name)
        self._cancel_age()
        self._steps.append((self._sync_current, "unable to fsync current logfile"))
        self._steps.append((self._complete_current, "unable to set mode of current"))
        self._steps.append((self._release, ""))
        self._drain()

    def _sync_current(self):
        if self._fd >= 0:
            dirwork.sync(self._fd)

    def _complete_current(self):
        if self._fd >= 0:
            dirwork.set_mode(self._fd, 0o744)
            os.close(self._fd)
            self._fd = -1

    def _release(self):
        self.is_open = False
        for fd in (self._fd, self._lockfd):
            if fd >= 0:
                os.close(fd)
        if self._dirfd >= 0:
            os.close(self._dirfd)  # a running processor keeps its own copy
        self._fd = self._lockfd = self._dirfd = -1
        self._backlog = []

    # -- input ----------------------------------------------------------------------------
    def write(self, data):
        """Queue bytes — a list of non-empty buffers, written with one ``writev()`` — for
        ``current``, and write what can be written now."""
        if data:
            self._queue.append(data)
            self._drain()

    def request_rotation(self):
        """Rotate once everything queued so far is written (ALRM; ``t`` ageing)."""
        if self.is_open:
            self._queue.append(_ROTATE)
            self._drain()

    # -- the queue --------------------------------------------------------------------------
    def _drain(self):
        if self._retry is None:
            self._run_queue()
        self.on_change()

    def _run_queue(self):
        while True:
            if self._steps:
                step, message = self._steps[0]
                try:
                    step()
                except Blocked:
                    return
                except OSError as exc:
                    self._pause(message, exc)
                    return
                self._steps.pop(0)
                continue
            if not self._queue:
                return
            item = self._queue[0]
            if item is _ROTATE:
                self._queue.pop(0)
                if self.size:
                    self._steps.extend(self._rotation_steps())
                continue
            if not self._write_some(item):
                return

    def _write_some(self, data):
        """Write a piece of the head of the queue; False when paused."""
        if type(data) is list:
            length = sum(map(len, data))
            if fits_whole(length, self.size, self.config.size_max, self.line_max):
                try:
                    written = self._write_current(data)
                except OSError as exc:
                    return self._write_failed(exc)
                if written < length:
                    joined = b"".join(data)
                    self._queue[0] = joined[written:]
                    self._wrote(written, joined[written - 1] if written else None)
                else:
                    self._queue.pop(0)
                    self._wrote(written, data[-1][-1])
                return True
            data = self._queue[0] = b"".join(data)  # near a rotation: decide by lines
        count, rotate = plan_write(data, self.size, self.config.size_max, self.line_max,
                                   self._at_line_start)
        if count:
            try:
                written = self._write_current(data[:count] if count < len(data) else data)
            except OSError as exc:
                return self._write_failed(exc)
            self._wrote(written, data[written - 1] if written else None)
            if written < len(data):
                self._queue[0] = data[written:]
            else:
                self._queue.pop(0)
            if written < count:
                return True  # a short write: plan again for the rest
        if rotate:
            self._steps.extend(self._rotation_steps())
        return True

    def _write_current(self, data):
        written, new_fd = dirwork.write_current(self._dirfd, self._fd, data)
        if new_fd >= 0:
            self._replaced(new_fd)
        return written

    def _replaced(self, new_fd):
        """Someone removed ``current``: a new one was started rather than writing into the
        void."""
        self.report.warn("current was removed, starting a new one: " + self.name)
        os.close(self._fd)
        self._fd = new_fd
        self.size = 0
        self._cancel_age()

    def _wrote(self, count, last_byte):
        """Account for ``count`` bytes written, the last of them ``last_byte``."""
        if not count:
            return
        if not self.size:
            self._arm_age()
        self.size += count
        if last_byte is not None:
            self._at_line_start = last_byte == 10

    def _write_failed(self, exc):
        if exc.errno == errno.ENOSPC and self.config.keep_min < self.config.keep_max:
            freed = dirwork.free_space(self._dirfd, self.config.keep_min,
                                       sorted(self._protected()))
            if freed is not None:
                victim, failure = freed
                self.report.warn("out of disk space, delete: %s/%s" % (self.name, victim))
                if failure is None:
                    return True  # retry at once
                self.report.warn("unable to unlink oldest logfile: " + self.name, failure)
        if self._fd < 0:
            self._steps.insert(0, (self._open_current, "unable to open current"))
        self._pause("unable to write to current", exc)
        return False

    def _pause(self, message, exc):
        self.report.pause("%s: %s" % (message, self.name), exc)
        self._retry = self.loop.call_later(PAUSE_SECONDS, self._resume)

    def _resume(self):
        self._retry = None
        self._drain()

    # -- rotation ---------------------------------------------------------------------------
    def _rotation_steps(self):
        saved = {}

        def wait_processor():
            if self._job is not None or self._backlog:
                raise Blocked()

        def name():
            saved["name"] = self._new_name("u" if self.config.processor else "s", saved)

        def rename():
            self.report.info("rename: %s/current %s %d" % (self.name, saved["name"], self.size))
            dirwork.rename(self._dirfd, CURRENT, saved["name"])

        def started():
            self.size = 0
            self._at_line_start = True
            self._cancel_age()
            dirwork.set_mode(self._fd, 0o644)

        def process():
            if self.config.processor:
                self._backlog.append(saved["name"][:25])
                self._start_next_processor()

        return [
            (wait_processor, ""),
            (name, ""),
            (self._sync_current, "unable to fsync current logfile"),
            (self._complete_current, "unable to set mode of current"),
            (rename, "unable to rename current"),
            (self._open_current, "unable to create new current"),
            (started, "unable to set mode of current"),
            (lambda: self._prune(saved["name"]), "unable to open directory, want rotate"),
            (process, ""),
        ]

    def _new_name(self, suffix, saved):
        """A fresh, unused ``@…`` name: its stamp taken once for the step (a step tried
        again asks for the same), the name the directory's first free one from it."""
        if "stamp" not in saved:
            saved["stamp"] = max(self.clock(), self._last_name_ns + 1000)
        name, stamp = dirwork.fresh_name(self._dirfd, saved["stamp"], suffix)
        self._last_name_ns = stamp
        return name

    def _protected(self, also=None):
        names = set()
        if self._job is not None:
            names.update((self._job.base + ".u", self._job.base + ".t"))
        names.update(base + ".u" for base in self._backlog)
        if also:
            names.add(also)
        return names

    def _prune(self, just_rotated=None):
        leftovers, oldest = dirwork.prune(self._dirfd, self.config.keep_max,
                                          sorted(self._protected(just_rotated)))
        for name, failure in leftovers:
            if failure is not None:
                self.report.warn("unable to unlink processor leftover: " + name, failure)
        if oldest is not None:
            name, failure = oldest
            self.report.info("delete: %s/%s" % (self.name, name))
            if failure is not None:
                self.report.warn("unable to unlink oldest logfile: " + self.name, failure)

    # -- age (t) ------------------------------------------------------------------------------
    def _arm_age(self):
        """``t``: a non-empty current is rotated this long after its first byte (monotonic)."""
        if self.config.age_max and self._age_timer is None:
            self._age_timer = self.loop.call_later(self.config.age_max, self._age_expired)

    def _cancel_age(self):
        if self._age_timer is not None:
            self._age_timer.cancel()
            self._age_timer = None

    def _age_expired(self):
        self._age_timer = None
        self.request_rotation()

    def rotate_now(self):
        """ALRM: rotate a non-empty current (after what is already queued)."""
        self.request_rotation()

    # -- processor --------------------------------------------------------------------------
    def _start_next_processor(self):
        if self._job is not None or not self._backlog or not self.config.processor:
            return
        base = self._backlog.pop(0)
        self._job = _Processor(os.dup(self._dirfd), base, self.config.processor)
        self._spawn_processor()

    def _spawn_processor(self):
        job = self._job
        if job is None:
            return
        if job.pid is None:
            self.report.info("processing: %s/%s.u" % (self.name, job.base))
        try:
            opened = dirwork.processor_files(job.dirfd, job.base)
        except OSError as exc:
            if not getattr(exc, "opened", 0) and exc.errno in (errno.ENOENT, errno.ELOOP,
                                                                errno.EINVAL):
                # gone, or a link or no regular file (planted): not for the processor to
                # read, and no retry would change that — said once, skipped
                self.report.warn("unable to open input for processor: %s/%s.u"
                                 % (self.name, job.base), exc)
                self._forget_job()
                self._start_next_processor()
                return
            self._processor_failed(exc)
            return
        try:
            job.pid = self.spawner.spawn(["/bin/sh", "-c", job.command], cwd_fd=job.dirfd,
                                         stdin_fd=opened[0], stdout_fd=opened[1],
                                         extra_fds=((opened[2], 4), (opened[3], 5)))
        except OSError as exc:
            self._processor_failed(exc)
            return
        finally:
            for fd in opened:
                os.close(fd)
        job.started = self.loop.monotonic()
        self.loop.watch_child(job.pid, self._processor_exited)

    def _processor_failed(self, exc):
        """The processor could not be started: said, and tried again after a while."""
        self.report.warn("unable to run processor: " + self.name, exc)
        self._job.pid = None
        self.loop.call_later(PROCESSOR_BACKOFF, self._rerun_processor)

    def _rerun_processor(self):
        if self._job is not None and self._job.pid is None:
            self._spawn_processor()

    def _processor_exited(self, pid, wait_status):
        job = self._job
        self.report.info("sigchild received.")
        if job is None or job.pid != pid:
            return
        job.pid = None
        if wait_status is None or os.waitstatus_to_exitcode(wait_status) != 0:
            self.report.warn("processor failed, restart: " + self.name)
            try:
                dirwork.unlink(job.dirfd, job.base + ".t")
            except OSError:
                pass  # gone already: the processor's next run makes it again
            quick = self.loop.monotonic() - job.started < PROCESSOR_BACKOFF
            if quick:
                self.loop.call_later(PROCESSOR_BACKOFF, self._rerun_processor)
            else:
                self._spawn_processor()
            return
        self._steps.insert(0, (self._processed_state, "unable to rename state"))
        self._steps.insert(0, (self._processed_input, ""))
        self._steps.insert(0, (self._processed_mode, "unable to set mode of processed"))
        self._steps.insert(0, (self._processed_rename, "unable to rename processed"))
        self._drain()

    def _processed_rename(self):
        job = self._job
        dirwork.rename(job.dirfd, job.base + ".t", job.base + ".s")

    def _processed_mode(self):
        dirwork.chmod(self._job.dirfd, self._job.base + ".s", 0o744)

    def _processed_input(self):
        try:
            dirwork.unlink(self._job.dirfd, self._job.base + ".u")
        except OSError:
            self.report.warn("unable to unlink: %s/%s.u" % (self.name, self._job.base))

    def _processed_state(self):
        job = self._job
        dirwork.rename(job.dirfd, NEWSTATE, STATE)
        self.report.info("processed: %s/%s.s" % (self.name, job.base))
        self._forget_job()
        self._start_next_processor()

    def _forget_job(self):
        job, self._job = self._job, None
        os.close(job.dirfd)
        self.loop.call_later(0, self._drain)  # a rotation may be waiting for us
