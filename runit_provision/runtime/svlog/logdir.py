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
"""

import errno
import fcntl
import os
import stat
import time

from ...protocol.layout import CURRENT, NEWSTATE, STATE, SVLOGD_CONFIG, SVLOGD_LOCK
from ...protocol.tai64 import runit_stamp, tai64n_label
from ..unix.diag import with_errstr, write_line

PAUSE_SECONDS = 3.0        # runit's pause before retrying a failed file-system operation
PROCESSOR_BACKOFF = 1.0    # a processor that failed within this long is rerun after it
# A log directory is its owner's: every open here is one that a planted FIFO cannot block
# (O_NONBLOCK), that a planted link cannot redirect (O_NOFOLLOW: the directory itself may be a
# link, the names in it may not), and whose input is a regular file read with a bound.
_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
_TRUNC = os.O_WRONLY | os.O_TRUNC | os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
_READ = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK | os.O_CLOEXEC
CONFIG_MAX = 64 * 1024     # bytes of config read at most; a larger one is refused
_HIGH_FD = 10              # processor fds are moved above 0–5 before being mapped onto them


class Reporter:
    """svlogd's messages — ``svlogd: warning|pausing|info|fatal: …`` — one write() each."""

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


def read_bounded(fd, limit):
    """All of ``fd``'s bytes, if there are at most ``limit``; OSError(EFBIG) otherwise."""
    chunks, size = [], 0
    while True:
        chunk = os.read(fd, limit + 1 - size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise OSError(errno.EFBIG, "larger than %d bytes" % limit)


# -- pure decisions -----------------------------------------------------------------------
def plan_write(data, size, size_max, line_max, at_line_start):
    """How much of ``data`` to write to a ``current`` of ``size`` bytes, and whether to
    rotate after that: ``(count, rotate)``.  ``count == 0`` with ``rotate`` means rotate first.

    runit's rules, without its line splitting: rotate after a line once ``size`` reaches
    ``size_max - line_max`` (never when ``line_max >= size_max``); a line that does not fit
    starts the next file; only a line longer than ``size_max`` (or the rest of a line begun
    in this file) is cut at ``size_max``.

    >>> plan_write(b"ab\\ncd\\n", 0, 100, 10, True)         # far from full
    (6, False)
    >>> plan_write(b"ab\\ncd\\nef\\n", 0, 14, 10, True)     # size 6 >= 14-10 after "cd"
    (6, True)
    >>> plan_write(b"abcdef\\n", 5, 10, 20, True)           # does not fit: rotate first
    (0, True)
    >>> plan_write(b"abcdefghijkl\\n", 0, 10, 20, True)     # longer than s: cut
    (10, True)
    """
    n = len(data)
    if fits_whole(n, size, size_max, line_max):
        return n, False
    room = size_max - size
    threshold = size_max - line_max if size_max > line_max else None
    if threshold is not None:
        end = data.find(b"\n", max(threshold - size - 1, 0)) + 1
        if 0 < end <= room:
            return end, True
    if room <= 0:
        return 0, True  # already full (an appended current, or s lowered): rotate first
    if n <= room:
        return n, False
    start = data.rfind(b"\n", 0, room) + 1  # where the line that does not fit begins
    if start:
        return start, True
    if at_line_start and size:
        return 0, True
    return room, True


def fits_whole(length, size, size_max, line_max):
    """Whether ``length`` more bytes can be written with no rotation among them — the
    common case, decided without looking at the bytes.

    >>> fits_whole(10, 0, 100, 50), fits_whole(60, 0, 100, 50), fits_whole(10 ** 9, 0, 0, 50)
    (True, False, True)
    """
    if not size_max:
        return True
    if length > size_max - size:
        return False
    return size_max <= line_max or size + length < size_max - line_max


def rotated_name(time_ns, suffix):
    """``@`` + TAI64N (runit's microsecond stamp) + ``.s``/``.u``/``.t`` — 27 characters.

    >>> rotated_name(0, "s")
    '@400000000000000a000001f4.s'
    """
    return "%s.%s" % (tai64n_label(*runit_stamp(time_ns)), suffix)


def is_old_file(name):
    """A rotated file's name: ``@``, 27 characters (runit's test in rmoldest)."""
    return len(name) == 27 and name[0] == "@"


def prune_plan(names, keep_max, protected=()):
    """``(leftovers, oldest)``: processor ``.t`` leftovers to delete and, when more than
    ``keep_max`` old files exist, the one oldest file to delete (runit 2.3.0's rmoldest:
    ``.s`` and ``.u`` count; a ``.u`` still due for processing is never picked).

    >>> old = ["@400000006553f10a3ade6964.s", "@400000006553f10a00000000.u", "current"]
    >>> prune_plan(old, 1)
    ([], '@400000006553f10a00000000.u')
    >>> prune_plan(["@400000006553f10a00000000.t"], 0)
    (['@400000006553f10a00000000.t'], None)
    """
    leftovers, count, oldest = [], 0, None
    for name in names:
        if not is_old_file(name):
            continue
        if name.endswith("t"):
            if name not in protected:
                leftovers.append(name)
            continue
        count += 1
        if name not in protected and (oldest is None or name < oldest):
            oldest = name
    if keep_max and count > keep_max and oldest is not None:
        return leftovers, oldest
    return leftovers, None


def full_disk_victim(names, keep_min, protected=()):
    """The oldest old file to delete when the disk is full and more than ``keep_min`` exist.

    >>> full_disk_victim(["@400000006553f10a3ade6964.s", "@400000006553f10a00000000.s"], 1)
    '@400000006553f10a00000000.s'
    >>> full_disk_victim(["@400000006553f10a3ade6964.s"], 1) is None
    True
    """
    old = [name for name in names if is_old_file(name)]
    candidates = [name for name in old if name not in protected]
    if len(old) > keep_min and candidates:
        return min(candidates)
    return None


class _Blocked(Exception):
    """A step cannot run yet (a processor is still working); the queue waits for it."""


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


class LogDir:
    """One log directory named ``name`` (as given on the command line), hosted on ``loop``.

    ``on_change()`` is called whenever ``is_busy`` may have changed.  ``line_max`` is svlogd's
    ``-l``: runit rotates once a line leaves less than that much room.
    """

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
        self._dirfd = self._lockfd = self._fd = -1
        self._at_line_start = True
        # Lists, not deques: an empty deque holds a block of 64 slots (about 0.6 kB), and a
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
    def open(self, config_parser):
        """Open as runit's ``logdir_open``; False (after a warning) if unusable.

        ``config_parser(data, name)`` turns ``config`` into a LogConfig.
        """
        try:
            dirfd = os.open(self.name, _DIR, dir_fd=self.base_fd)
        except OSError as exc:
            if exc.errno == errno.ENOTDIR:  # runit's chdir() fails there
                self.report.warn("unable to change directory: " + self.name, exc)
            else:
                self.report.warn("unable to open log directory: " + self.name, exc)
            return False
        try:
            lockfd = os.open(SVLOGD_LOCK, _APPEND, 0o600, dir_fd=dirfd)
        except OSError as exc:
            os.close(dirfd)
            self.report.warn("unable to lock directory: " + self.name, exc)
            return False
        try:
            fcntl.flock(lockfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(lockfd)
            os.close(dirfd)
            self.report.warn("unable to lock directory: " + self.name, exc)
            return False
        self._dirfd, self._lockfd = dirfd, lockfd
        self.config = config_parser(self._read_config(), self.name)
        for message in self.config.warnings:
            self.report.warn(message)
        try:
            st = os.stat(CURRENT, dir_fd=dirfd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            self._release()
            self.report.warn("unable to stat current: " + self.name, exc)
            return False
        self.is_open = True
        self.size = 0
        self._at_line_start = True
        appending = st is not None and not (st.st_size and not st.st_mode & stat.S_IXUSR)
        if st is not None and not appending:
            self._steps.append((self._recover_current, "unable to rename current"))
        else:
            self.size = st.st_size if st is not None else 0
        self._steps.append((self._open_current, "unable to open current"))
        self._steps.append((self._mode_current, "unable to set mode of current"))
        self._steps.append((lambda: self.report.info(
            "%s: %s/current" % ("append" if appending else "new", self.name)), ""))
        if self.config.processor:
            # runit leaves crash leftovers unprocessed (runit-protocol.md §9.10); we feed them in.
            self._backlog = sorted(n[:25] for n in os.listdir(dirfd)
                                   if is_old_file(n) and n.endswith(".u")
                                   and (self._job is None or n[:25] != self._job.base))
            self._steps.append((self._start_next_processor, "unable to run processor"))
        self._drain()
        return True

    def _read_config(self):
        """``config``'s bytes (b"" when there is none): a regular file of at most
        ``CONFIG_MAX`` bytes, or a warning and b"" — never a read that blocks or has no end."""
        try:
            fd = os.open(SVLOGD_CONFIG, _READ & ~os.O_NOFOLLOW, dir_fd=self._dirfd)
        except FileNotFoundError:
            return b""
        except OSError as exc:
            self.report.warn("unable to read config: " + self.name, exc)
            return b""
        try:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                raise IsADirectoryError(errno.EISDIR, "is a directory")  # runit's read() says so
            if not stat.S_ISREG(mode):
                self.report.warn("unable to read config: %s: not a regular file" % self.name)
                return b""
            data = read_bounded(fd, CONFIG_MAX)
        except OSError as exc:
            self.report.warn("unable to read config: " + self.name, exc)
            return b""
        finally:
            os.close(fd)
        self.report.info("read: %s/config" % self.name)
        return data

    def _recover_current(self):
        name = self._new_name("u")
        os.rename(CURRENT, name, src_dir_fd=self._dirfd, dst_dir_fd=self._dirfd)
        self._prune()
        if self.config.processor:
            self._backlog.append(name[:25])

    def _open_current(self):
        self._fd = os.open(CURRENT, _APPEND, 0o600, dir_fd=self._dirfd)

    def _mode_current(self):
        os.fchmod(self._fd, 0o644)
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
            os.fsync(self._fd)

    def _complete_current(self):
        if self._fd >= 0:
            os.fchmod(self._fd, 0o744)
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
        """Queue bytes — or a list of non-empty buffers, written with one ``writev()`` —
        for ``current``, and write what can be written now."""
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
                except _Blocked:
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
                    written = self._write_current(os.writev, data)
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
                written = self._write_current(
                    os.write, data[:count] if count < len(data) else data)
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

    def _write_current(self, write, data):
        if os.fstat(self._fd).st_nlink == 0:
            self._replace_deleted_current()
        return write(self._fd, data)

    def _wrote(self, count, last_byte):
        """Account for ``count`` bytes written, the last of them ``last_byte``."""
        if not count:
            return
        if not self.size:
            self._arm_age()
        self.size += count
        if last_byte is not None:
            self._at_line_start = last_byte == 10

    def _replace_deleted_current(self):
        """Someone removed ``current``: start a new one rather than write into the void."""
        self.report.warn("current was removed, starting a new one: " + self.name)
        os.close(self._fd)
        self._fd = -1
        self._fd = os.open(CURRENT, _APPEND, 0o600, dir_fd=self._dirfd)
        os.fchmod(self._fd, 0o644)
        self.size = 0
        self._cancel_age()

    def _write_failed(self, exc):
        if exc.errno == errno.ENOSPC and self.config.keep_min < self.config.keep_max:
            victim = full_disk_victim(self._listdir(), self.config.keep_min, self._protected())
            if victim is not None:
                self.report.warn("out of disk space, delete: %s/%s" % (self.name, victim))
                try:
                    os.unlink(victim, dir_fd=self._dirfd)
                    return True  # retry at once
                except OSError as unlink_exc:
                    self.report.warn("unable to unlink oldest logfile: " + self.name,
                                     unlink_exc)
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
                raise _Blocked()

        def name():
            saved["name"] = self._new_name("u" if self.config.processor else "s")

        def rename():
            self.report.info("rename: %s/current %s %d" % (self.name, saved["name"], self.size))
            os.rename(CURRENT, saved["name"], src_dir_fd=self._dirfd, dst_dir_fd=self._dirfd)

        def started():
            self.size = 0
            self._at_line_start = True
            self._cancel_age()
            os.fchmod(self._fd, 0o644)

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

    def _new_name(self, suffix):
        """A fresh, unused ``@…`` name (runit re-reads the clock until the name is free)."""
        stamp = max(self.clock(), self._last_name_ns + 1000)
        while True:
            name = rotated_name(stamp, suffix)
            try:
                os.stat(name, dir_fd=self._dirfd, follow_symlinks=False)
            except FileNotFoundError:
                self._last_name_ns = stamp
                return name
            stamp += 1000

    def _listdir(self):
        return os.listdir(self._dirfd)

    def _protected(self, also=None):
        names = set()
        if self._job is not None:
            names.update((self._job.base + ".u", self._job.base + ".t"))
        names.update(base + ".u" for base in self._backlog)
        if also:
            names.add(also)
        return names

    def _prune(self, just_rotated=None):
        leftovers, oldest = prune_plan(self._listdir(), self.config.keep_max,
                                       self._protected(just_rotated))
        for name in leftovers:
            try:
                os.unlink(name, dir_fd=self._dirfd)
            except OSError as exc:
                self.report.warn("unable to unlink processor leftover: " + name, exc)
        if oldest is not None:
            self.report.info("delete: %s/%s" % (self.name, oldest))
            try:
                os.unlink(oldest, dir_fd=self._dirfd)
            except OSError as exc:
                self.report.warn("unable to unlink oldest logfile: " + self.name, exc)

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
        self.report.info("processing: %s/%s.u" % (self.name, job.base))
        opened = []
        try:
            opened.append(self._open_high(job.base + ".u", _READ, job, regular=True))
            opened.append(self._open_high(job.base + ".t", _TRUNC, job))
            opened.append(self._open_state(job))
            opened.append(self._open_high(NEWSTATE, _TRUNC, job))
            job.pid = self.spawner.spawn(
                ["/bin/sh", "-c", job.command], cwd_fd=job.dirfd, stdin_fd=opened[0],
                stdout_fd=opened[1], extra_fds=((opened[2], 4), (opened[3], 5)))
        except OSError as exc:
            if not opened and exc.errno in (errno.ENOENT, errno.ELOOP, errno.EINVAL):
                # gone, or a link or no regular file (planted): not for the processor to
                # read, and no retry would change that — said once, skipped
                self.report.warn("unable to open input for processor: %s/%s.u"
                                 % (self.name, job.base), exc)
                self._forget_job()
                self._start_next_processor()
                return
            self.report.warn("unable to run processor: " + self.name, exc)
            job.pid = None
            self.loop.call_later(PROCESSOR_BACKOFF, self._rerun_processor)
            return
        finally:
            for fd in opened:
                os.close(fd)
        job.started = self.loop.monotonic()
        self.loop.watch_child(job.pid, self._processor_exited)

    @staticmethod
    def _open_high(name, flags, job, regular=False):
        """``name`` opened above fd 5; ``regular``: refused unless a regular file (a FIFO or
        a device planted as the processor's input is not its to read)."""
        fd = os.open(name, flags, 0o644, dir_fd=job.dirfd)
        try:
            if regular and not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file: " + name)
            return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _HIGH_FD)
        finally:
            os.close(fd)

    def _open_state(self, job):
        try:
            return self._open_high(STATE, _READ, job, regular=True)
        except FileNotFoundError:
            os.close(os.open(STATE, _TRUNC, 0o644, dir_fd=job.dirfd))
            return self._open_high(STATE, _READ, job, regular=True)

    def _rerun_processor(self):
        if self._job is not None and self._job.pid is None:
            self._spawn_processor()

    def _processor_exited(self, pid, wait_status):
        job = self._job
        self.report.info("sigchild received.")
        if job is None or job.pid != pid:
            return
        job.pid = None
        if os.waitstatus_to_exitcode(wait_status) != 0:
            self.report.warn("processor failed, restart: " + self.name)
            try:
                os.unlink(job.base + ".t", dir_fd=job.dirfd)
            except OSError:
                pass
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
        os.rename(job.base + ".t", job.base + ".s", src_dir_fd=job.dirfd, dst_dir_fd=job.dirfd)

    def _processed_mode(self):
        os.chmod(self._job.base + ".s", 0o744, dir_fd=self._job.dirfd)

    def _processed_input(self):
        try:
            os.unlink(self._job.base + ".u", dir_fd=self._job.dirfd)
        except OSError:
            self.report.warn("unable to unlink: %s/%s.u" % (self.name, self._job.base))

    def _processed_state(self):
        job = self._job
        os.rename(NEWSTATE, STATE, src_dir_fd=job.dirfd, dst_dir_fd=job.dirfd)
        self.report.info("processed: %s/%s.s" % (self.name, job.base))
        self._forget_job()
        self._start_next_processor()

    def _forget_job(self):
        job, self._job = self._job, None
        os.close(job.dirfd)
        self.loop.call_later(0, self._drain)  # a rotation may be waiting for us
