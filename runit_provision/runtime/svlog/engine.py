"""runtime/svlog: svlogd's engine — a ``Logger`` fed chunks of a service's output, writing them
through its log directories.  No I/O of its own on the input: a host reads and calls
``feed(data)`` / ``end_of_input()``, and honours ``read_limit`` (0: stop reading, so the
service feels backpressure; 1: finishing a line after TERM).  Standalone svlogd is this
engine on its own loop reading fd 0; a runsvdir tree can host many on one loop. svlogd's
command line is ``options.py``.

The hot path is per chunk, not per line: lines are split off the chunk at its last newline,
stamped with one ``bytes.replace`` (every line of a chunk read at time T is stamped T — the
time its first byte was read) and written with one ``write()``.  Only directories with
patterns or UDP, and only stderr alerts, look at lines one by one.
"""

import os
import time

from ...protocol.tai64 import TAI_OFFSET, runit_stamp
from .config import parse_config
from .dirwork import remove_unfinished
from .logdir import LogDir
from .unfinished import Keeper, take_up

CHUNK = 128 * 1024   # bytes per read; see docs/svlogd.md (larger than -b on purpose)
_NL = b"\n"


# -- pure pieces ----------------------------------------------------------------------------
class Stamper:
    """Line stamps as svlogd writes them, with a trailing space; the date part is cached.

    >>> Stamper(1)(1_000_000_000_123_456_789)
    b'@400000003b9aca0a075bcbf4 '
    >>> Stamper(2)(1_000_000_000_123_456_789), Stamper(3)(1_000_000_000_123_456_789)
    (b'2001-09-09_01:46:40.12345 ', b'2001-09-09T01:46:40.12345 ')
    """

    __slots__ = ("mode", "_second", "_date", "_separator")

    def __init__(self, mode):
        self.mode = mode
        self._second = None
        self._date = b""
        self._separator = "_" if mode == 2 else "T"

    def __call__(self, time_ns):
        seconds, nano = runit_stamp(time_ns)
        if self.mode == 1:
            return b"@%016x%08x " % (seconds + TAI_OFFSET, nano)
        if seconds != self._second:
            self._second = seconds
            self._date = time.strftime("%Y-%m-%d" + self._separator + "%H:%M:%S.",
                                       time.gmtime(seconds)).encode()
        return self._date + b"%05d " % (nano // 10000)


def replacement_table(char, extra):
    """``bytes.translate`` table for ``-r``/``-R``: non-printables and ``extra`` become
    ``char``; the newline is a line end, never replaced.

    >>> b"a\\tb\\x7fc\\n".translate(replacement_table(b"_", b"c"))
    b'a_b__\\n'
    """
    table = bytearray(range(256))
    for byte in list(range(32)) + list(range(127, 256)) + list(extra):
        table[byte] = char[0]
    table[10] = 10
    return bytes(table)


def replace_block(block, table, line_max):
    """Apply ``table`` to the first ``line_max`` bytes of each line, as runit: the rest of a
    longer line reaches the file unreplaced.

    >>> t = replacement_table(b"#", b"")
    >>> replace_block(b"\\x01\\x01\\x01\\x01\\n\\x01\\n", t, 2)
    b'##\\x01\\x01\\n#\\n'
    """
    out = block.translate(table)
    if len(block) <= line_max:
        return out
    lines = block.split(_NL)
    if max(map(len, lines)) <= line_max:
        return out
    return _NL.join(line[:line_max].translate(table) + line[line_max:] for line in lines)


def render_plain(block, head, complete=True):
    """Every line of ``block`` (complete lines, or one unfinished line) prefixed by ``head``,
    as a list of buffers for ``writev()`` — no copy beyond the one ``replace``.

    >>> b"".join(render_plain(b"a\\nb\\n", b"T "))
    b'T a\\nT b\\n'
    """
    if not head:
        return [block]
    if not complete:
        return [head, block]
    stamped = block.replace(_NL, _NL + head)  # ends in a head that belongs to no line
    return [head, memoryview(stamped)[:-len(head)]]


def render_selected(block, head, config, line_max, complete, send, alerts, indexed=True):
    """The file's bytes for ``block`` under a directory's patterns and UDP target.

    Appends ``(line index, alert bytes)`` to ``alerts`` for lines selected for stderr (the
    index is 0 unless ``indexed``); ``send(payload, shown)`` transmits one line by UDP and
    returns bytes to log in its place (a warning) or None.  Returns ``(file bytes, last line
    selected for the file)``.  Lines all shorter than ``line_max`` and no UDP: the rules
    pick whole lists of lines and the output is one ``join``.

    >>> from runit_provision.runtime.svlog.config import parse_config
    >>> alerts = []
    >>> render_selected(b"ok\\nbad\\n", b"", parse_config(b"-b*\\ne*\\n"), 1000, True,
    ...                 None, alerts), alerts
    ((b'ok\\n', False), [(0, b'ok\\n'), (1, b'bad\\n')])
    """
    lines = block.split(_NL)
    if complete:
        lines.pop()
    if send is None and not indexed and max(map(len, lines), default=0) < line_max:
        kept = lines if config.pick_for_file is None else config.pick_for_file(lines)
        if config.alerts:
            picked = lines if config.pick_for_stderr is None else config.pick_for_stderr(lines)
            alerts.extend((0, head + line + _NL) for line in picked)
        if not kept:
            return b"", False
        data = head + (_NL + head).join(kept)
        return (data + _NL if complete else data), True
    to_file, to_stderr, udp_only = config.to_file, config.to_stderr, config.udp_only
    out = []
    selected = True
    for index, line in enumerate(lines):
        shown = line[:line_max]  # what is matched, alerted and sent
        ellipsis = b"..." if len(line) >= line_max else b""
        if to_stderr(shown):
            alerts.append((index, head + shown + ellipsis + _NL))
        selected = to_file(shown)
        if not selected:
            continue
        if send is not None:
            warning = send(head + shown + ellipsis + _NL, head + shown + _NL)
            if warning:
                out.append(warning)
        if not udp_only:
            out.append(head + line + _NL)
    data = b"".join(out)
    if not complete and data.endswith(_NL):
        data = data[:-1]
    return data, selected and not udp_only


class UdpSender:
    """A directory's ``u``/``U`` target: one non-blocking datagram socket, made on first use
    (runit makes one per line).  ``socket`` is imported only by configs that need it."""

    def __init__(self, host, port):
        self.address = (host, port)
        self._sock = None

    def __call__(self, payload, shown):
        if self._sock is None:
            import socket

            family = socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET
            try:
                self._sock = socket.socket(family, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK
                                           | socket.SOCK_CLOEXEC)
            except OSError:
                return b"warning: no udp socket available: " + shown
        try:
            if self._sock.sendto(payload, self.address) == len(payload):
                return None
        except OSError:
            pass
        return b"warning: failure sending through udp: " + payload

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None


# -- the engine -----------------------------------------------------------------------------
class Logger:
    """svlogd over ``names`` (log directories), hosted on ``loop``.

    ``on_flow()`` is called when ``read_limit`` changed; ``on_exit(code)`` once, when the
    logger has finished (0) or has no usable directory left (111, after the fatal message).
    Relative names are opened from ``base_fd`` (None: the cwd) — a logger hosted in a tree
    has the service's ``log/`` there instead of as its cwd.
    """

    __slots__ = ("loop", "options", "report", "on_flow", "on_exit", "clock", "dirs",
                 "_senders", "_stamp", "_table", "_partial", "_partial_time", "_keeper",
                 "_keep_unfinished", "_streaming", "_is_streaming", "_terminating",
                 "_finishing", "_reopen_wanted", "_reopening", "_reopened", "_starting",
                 "_exit_code", "_limit", "_updating", "_again")

    def __init__(self, loop, spawner, names, options, reporter, on_flow=None, on_exit=None,
                 clock=time.time_ns, base_fd=None, keep_unfinished=False):
        self.loop = loop
        self.options = options
        self.report = reporter
        self.on_flow = on_flow or (lambda: None)
        self.on_exit = on_exit or (lambda code: None)
        self.clock = clock
        self.dirs = [LogDir(name, loop, spawner, reporter, options.line_max,
                            self._changed, clock, base_fd) for name in names]
        self._senders = {}
        self._stamp = Stamper(options.timestamp) if options.timestamp else None
        self._table = (replacement_table(options.replace_char, options.replace_set)
                       if options.replace_char else None)
        self._partial = bytearray()
        self._partial_time = 0
        # The unfinished line is mirrored to a file (svlog/unfinished.py) — for a host that
        # reads its pipe by copy, where the line is only ever ours on a slow path.
        self._keeper = None
        self._keep_unfinished = keep_unfinished
        self._streaming = []          # dirs taking the rest of an over-long line, or []
        self._is_streaming = False
        self._terminating = False
        self._finishing = False
        self._reopen_wanted = False
        self._reopening = None        # index of the next directory to reopen, during HUP
        self._reopened = False
        self._starting = False        # the first opening (no close; unfinished taken up)
        self._exit_code = None
        self._limit = 0
        self._updating = False
        self._again = False

    # -- host interface -------------------------------------------------------------------
    def start(self):
        """Open every directory; False (after runit's fatal message) if none is usable."""
        self._starting = True
        self._reopening, self._reopened = 0, False
        self._changed()
        return self._exit_code != 111

    def _started(self):
        """Every directory opened (or refused): the unfinished line taken up."""
        self._starting = False
        if self._keep_unfinished:
            self._take_up_unfinished()

    def _first_open_dir(self):
        return next((d for d in self.dirs if d.is_open), None)

    def _take_up_unfinished(self):
        """Start with the line an earlier logger on our directory left unfinished."""
        first = self._first_open_dir()
        found = None if first is None else take_up(first.unfinished, self.options.line_max)
        if found is None:
            if first is not None and first.unfinished is not None:
                remove_unfinished(first.dir_fd)  # not one of ours, or too long
            self._keeper = Keeper()
            return
        data, time_ns = found
        self._partial, self._partial_time = bytearray(data), time_ns
        self._keeper = Keeper(first.dir_fd, data, time_ns)

    def _keep(self):
        if self._keeper is not None:
            first = self._first_open_dir()
            self._keeper.keep(-1 if first is None else first.dir_fd, self._partial,
                              self._partial_time)

    @property
    def read_limit(self):
        """How many bytes the host may read now: 0 while anything is paused or queued."""
        return self._limit

    @property
    def exit_code(self):
        return self._exit_code

    def feed(self, data):
        """A chunk of input, as read; a chunk read at time T stamps its new lines with T."""
        if not data:
            return
        now = self.clock()
        segments = []   # (complete lines, when their first byte was read)
        if self._is_streaming:
            data = self._continue_long_line(data)
        if data and self._partial:
            nl = data.find(_NL)
            if nl < 0:
                self._partial += data
                data = b""
            else:
                self._partial += data[:nl + 1]
                segments.append((bytes(self._partial), self._partial_time))
                self._partial = bytearray()
                data = data[nl + 1:]
        if data:
            cut = data.rfind(_NL) + 1
            if cut:
                segments.append((data if cut == len(data) else data[:cut], now))
            if cut < len(data):
                self._partial = bytearray(data[cut:])
                self._partial_time = now
        if segments:
            self._emit(segments, True)
        if self._partial:
            self._hold_or_stream()
        self._keep()
        if self._terminating and not self._line_open():
            self._finish()
        self._changed()

    def end_of_input(self):
        """EOF: an unfinished last line is completed with a newline (runit drops it)."""
        self._complete_line()
        self._finish()

    def end_killed(self):
        """Ended by a signal that ends svlogd (KILL, INT, …): what was read is written; an
        unfinished line is left in ``unfinished`` for the next logger to finish when one is
        kept there (as a killed process's would be), else completed with a newline."""
        if not (self._partial and self._keeper is not None and not self._is_streaming):
            self._complete_line()
        self._finish()

    def rotate(self):
        """SIGALRM: rotate every non-empty current."""
        self.report.info("sigalarm received.")
        for logdir in self.dirs:
            logdir.rotate_now()

    def reopen(self):
        """SIGHUP: once everything read is written, close and reopen every directory."""
        self.report.info("sighangup received.")
        self._reopen_wanted = True
        self._changed()

    def terminate(self):
        """SIGTERM: finish the current line (read one byte at a time), write, exit 0."""
        self.report.info("sigterm received.")
        self._terminating = True
        if not self._line_open():
            self._finish()
        self._changed()

    # -- lines ------------------------------------------------------------------------------
    def _line_open(self):
        return bool(self._partial) or self._is_streaming

    def _complete_line(self):
        if self._is_streaming:
            self._continue_long_line(_NL)
        elif self._partial:
            line, self._partial = bytes(self._partial) + _NL, bytearray()
            self._emit([(line, self._partial_time)], True)
            self._keep()

    def _hold_or_stream(self):
        """An unfinished line waits for its newline up to ``len`` bytes (``-l``), as runit's
        line buffer; then its head is written and the rest streamed. The bound is the
        command line's, never ``config``'s ``s``: a logger's memory is not the log
        directory's owner to set (docs/security.md)."""
        if len(self._partial) > self.options.line_max:
            head, self._partial = bytes(self._partial), bytearray()
            self._streaming = self._emit([(head, self._partial_time)], False)
            self._is_streaming = True

    def _continue_long_line(self, data):
        nl = data.find(_NL)
        piece = data if nl < 0 else data[:nl + 1]
        for logdir in self._streaming:
            if logdir.is_open:
                logdir.write(piece)
        if nl < 0:
            return b""
        self._streaming, self._is_streaming = [], False
        return data[nl + 1:]

    def _emit(self, segments, complete):
        """Write ``segments`` — ``(block, stamp time)``, each block whole lines (or, with
        ``complete`` false, the head of an unfinished line) — to every directory, one
        ``write`` per directory; returns the directories that took an unfinished head."""
        line_max = self.options.line_max
        if self._table is not None:
            segments = [(replace_block(block, self._table, line_max), time_ns)
                        for block, time_ns in segments]
        stamped = [(block, self._stamp(time_ns) if self._stamp is not None else b"")
                   for block, time_ns in segments]
        alerts = []
        taking = []
        indexed = sum(1 for d in self.dirs if d.is_open and d.config.alerts) > 1
        for order, logdir in enumerate(self.dirs):
            if not logdir.is_open:
                continue
            config = logdir.config
            pieces = []
            selected = True
            for number, (block, stamp) in enumerate(stamped):
                head = stamp + config.prefix if config.prefix else stamp
                if config.is_plain:
                    pieces.extend(render_plain(block, head, complete))
                    continue
                mine = []
                data, selected = render_selected(block, head, config, line_max, complete,
                                                 self._sender(logdir), mine, indexed)
                alerts.extend((number, index, order, text) for index, text in mine)
                if data:
                    pieces.append(data)
            logdir.write(pieces)
            if selected:
                taking.append(logdir)
        if alerts:
            alerts.sort(key=lambda alert: alert[:3])
            _write_all(self.report.fd, b"".join(alert[3] for alert in alerts))
        return taking

    def _sender(self, logdir):
        udp = logdir.config.udp
        if udp is None:
            return None
        sender = self._senders.get(logdir.name)
        if sender is None or sender.address != udp:
            if sender is not None:
                sender.close()
            sender = self._senders[logdir.name] = UdpSender(*udp)
        return sender

    # -- state --------------------------------------------------------------------------------
    def _finish(self):
        self._finishing = True
        self._changed()

    def _changed(self):
        """Re-evaluate after any change (a directory drained, a processor ended, a signal)."""
        if self._updating:
            self._again = True
            return
        self._updating = True
        try:
            self._again = True
            while self._again:
                self._again = False
                self._advance()
        finally:
            self._updating = False
        limit = self._compute_limit()
        if limit != self._limit:
            self._limit = limit
            self.on_flow()

    def _advance(self):
        if self._exit_code is not None or any(d.is_busy for d in self.dirs):
            return
        if self._reopening is not None:
            # runit's logdirs_reopen: each directory closed, then opened, in order; a close
            # that pauses (say fsync fails) is resumed from here when it is done
            while self._reopening < len(self.dirs):
                logdir = self.dirs[self._reopening]
                if logdir.is_open and not self._starting:
                    logdir.close()
                    if logdir.is_busy:
                        return
                limit = self.options.line_max if self._starting and self._keep_unfinished \
                    else None
                self._reopened = logdir.open(parse_config, limit) or self._reopened
                self._reopening += 1
            self._reopening = None
            if not self._reopened:
                self.report.fatal("no functional log directories.")
                self._exit(111)
            elif self._starting:
                self._started()
            return
        if self._reopen_wanted:
            self._reopen_wanted = False
            self._reopening, self._reopened = 0, False
            self._again = True
            return
        if self._finishing and not any(d.is_processing for d in self.dirs):
            if not any(d.is_open for d in self.dirs):
                self._exit(0)
                return
            for logdir in self.dirs:
                logdir.close()
            self._again = True

    def _exit(self, code):
        self._exit_code = code
        for sender in self._senders.values():
            sender.close()
        self._limit = 0
        self.on_exit(code)

    def _compute_limit(self):
        if (self._exit_code is not None or self._finishing or self._reopen_wanted
                or self._reopening is not None
                or any(d.is_busy for d in self.dirs)):
            return 0
        if self._terminating:
            return 1
        return max(CHUNK, self.options.buf_len)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except InterruptedError:
            continue
        except OSError:
            return
