"""protocol: ``supervise/last-run`` — how a one-shot's last run ended (docs/jobs.md).

runit keeps no exit code: ``supervise/status`` says a side is down, not whether what ran
there ended well. A one-shot (``oneshot: true``, marked by the ``oneshot`` file of its
service directory) has a rendered ``./finish`` (templates/finish/oneshot.j2), which runsv —
the C one and ours alike — starts with run's exit code (-1 when a signal ended it) and the
wait status's low byte as ``$1 $2``; it keeps the service down and writes one line here,
a new file renamed into place (our runsv writes the line itself, before ./finish starts:
``RUNSV_ENV``):

    last-run 1 exit=0 signal=0 started=1764155000.123456789 ended=1764155001.5 boot=9f1c…

- ``exit``: run's exit code, -1 when a signal ended it or the end is unknown;
- ``signal``: the signal (with 128 when it dumped core), 0 for none;
- ``started``: when ``./run`` started, unix seconds (the stamp of ``supervise/status``,
  which runsv leaves at run's start while ``./finish`` runs); ``ended``: when ``./finish``
  started, unix seconds;
- ``boot``: the kernel's boot id when it ran (``unknown`` when /proc could not tell; absent
  from records written before it was added) — the last field: a needs guard
  (templates/needs-done.j2) matches it as the line's end, since a ``supervise/`` that
  outlives a reboot keeps the boot before's record, and the one-shot has not run in this
  one yet.

Both runtimes' readers read it (host/sides.py, verify's probes); nothing acts on it — it is
shown: written by whoever runs the service's ``./finish`` (in a user's tree, the user), it
is never trusted by root to decide anything (docs/security.md). A run that is ``done``
exited 0; anything else is ``failed``. Read within bounds (protocol/bounds.py: ``exit``
-1..255, ``signal`` 0..255, both times within 1970..9999, ``boot`` one printable word): a
record that is not one, or is out of them, is unreadable — its words say why.
"""

import os
from collections import namedtuple

from .layout import LAST_RUN

# What a one-shot is doing (``SideState.job``), as the verdict and the views say it.
RUNNING = "running"
DONE = "done"
FAILED = "failed"
NEVER_RUN = "never run"
UNREADABLE = "unreadable"  # its supervise/last-run is there and cannot be read

LAST_RUN_MAX = 256  # bytes read: the line is ~80
BOOT_MAX = 64  # characters of its boot id (the kernel's: 36)
# Our runsv writes the record itself when a one-shot's ./run or a timer's ./job ends (a
# one-shot: keeps it down), and sets this to "runsv" in ./finish's environment: the rendered
# finish then only says the run's end in its log (templates/finish/runsv-recorded.j2) — a
# dozen forks fewer at every end.
RUNSV_ENV = "RUNIT_PROVISION_ONESHOT"
# How the rendered one-shot's and timer's ./finish begin (templates/finish/oneshot.j2,
# timer.j2, runsv-recorded.j2: a test renders them and compares). Under our runsv (RUNSV_ENV
# set) sh runs nothing after this head but its words of the run's end, so a ./finish that
# begins with these bytes is not started there: our runsv writes ``run_end_line`` where it
# would (supervision/engine/supervisor.py).
_RUNSV_RECORDED = b"""if [ "${RUNIT_PROVISION_ONESHOT:-}" = runsv ]; then
  # our runsv recorded the run itself: only its end, in the log
  case ${1:--1} in
    0) echo 'runit-provision: run done (exit 0)' ;;
    -1) echo "runit-provision: run failed (signal ${2:-0})" ;;
    *) echo "runit-provision: run failed (exit $1)" ;;
  esac
  exit 0
fi
"""
ONESHOT_FINISH_HEAD = (b"#!/bin/sh\n# A one-shot's finish (oneshot: true; docs/jobs.md).\n"
                       + _RUNSV_RECORDED)
TIMER_FINISH_HEAD = (b"#!/bin/sh\n# A timer's finish (schedule:; docs/jobs.md#timers).\n"
                     + _RUNSV_RECORDED)


def run_end_line(code, signum):
    """The line the head above echoes for ``./finish CODE SIGNUM`` (templates/finish/
    run-ended.j2's words), as bytes."""
    if code == 0:
        words = "run done (exit 0)"
    elif code == -1:
        words = "run failed (signal %d)" % signum
    else:
        words = "run failed (exit %d)" % code
    return ("runit-provision: %s\n" % words).encode()


class LastRun(namedtuple("LastRun", "exit_code signal started_ns ended_ns boot", defaults=(None,))):
    """One run's end: ``exit_code`` (-1: a signal, or unknown), ``signal`` (the wait
    status's low byte: the signal, + 128 for a core dump), ``started_ns``, ``ended_ns``
    (unix ns; 0 when not said), ``boot`` (the boot id it ran in, as read; None when the
    record names none)."""

    __slots__ = ()

    @property
    def is_done(self):
        return self.exit_code == 0 and self.signal == 0

    @property
    def end(self):
        """The end as protocol.tally's ``last_exit`` says one: ``{"code": N}``, ``{"signal":
        N, "core": bool}`` or ``{"unknown": True}``."""
        if self.signal & 0x7F:
            return {"signal": self.signal & 0x7F, "core": bool(self.signal & 0x80)}
        if self.exit_code < 0:
            return {"unknown": True}
        return {"code": self.exit_code}

    @property
    def took(self):
        """Seconds the run took; None when a stamp is missing."""
        if not self.started_ns or not self.ended_ns:
            return None
        return max(0, self.ended_ns - self.started_ns) / 1e9


def last_run_from_bytes(data):
    """The LastRun of a file's bytes; None when it is not one (``last_run_read`` says why).

    >>> last_run_from_bytes(b"last-run 1 exit=3 signal=0 started=10.5 ended=12\\n")
    LastRun(exit_code=3, signal=0, started_ns=10500000000, ended_ns=12000000000, boot=None)
    >>> last_run_from_bytes(b"last-run 1 exit=0 signal=0 started=1 ended=2 boot=9f1c\\n").boot
    '9f1c'
    >>> last_run_from_bytes(b"last-run 1 exit=-1 signal=137 started=1 ended=2").end
    {'signal': 9, 'core': True}
    >>> last_run_from_bytes(b"garbage"), last_run_from_bytes(b"last-run 1 exit=x")
    (None, None)
    """
    return last_run_read(data)[0]


def last_run_read(data):
    """``(LastRun, None)`` of a file's bytes (at most ``LAST_RUN_MAX`` of them read), or
    ``(None, why)`` when they are not one, or one out of its bounds — never an exception.

    >>> last_run_read(b"last-run 1 exit=0 signal=0 started=1 ended=99999999999999999")
    (None, 'ended=99999999999999999 is not a time within 1970..9999')
    >>> last_run_read(b"\\x1b[2J")
    (None, 'not a record of a run')
    """
    from .bounds import Unreadable, fields_of, moment_ns, needed, whole

    fields = data[:LAST_RUN_MAX].split(b"\n", 1)[0].split(b" ")
    if fields[:2] != [b"last-run", b"1"]:
        return None, "not a record of a run"
    try:
        values = fields_of([field for field in fields[2:] if field], "last-run")
        boot = values.get(b"boot")
        if boot is not None and (not boot or len(boot) > BOOT_MAX or not boot.isascii()
                                 or not boot.decode().isprintable()):
            raise Unreadable("boot= is not one word of at most %d characters" % BOOT_MAX)
        return LastRun(whole(needed(values, b"exit"), "exit", -1, 255),
                       whole(needed(values, b"signal"), "signal", 0, 255),
                       moment_ns(values.get(b"started", b"0"), "started"),
                       moment_ns(values.get(b"ended", b"0"), "ended"),
                       None if boot is None else boot.decode()), None
    except Unreadable as exc:
        return None, str(exc)


def last_run_bytes(found, boot=None):
    """The line for ``found`` (what the rendered ``./finish`` writes under the C runsv, and
    our runsv itself; tests write it too), with the boot it ran in when ``boot`` is given.

    >>> last_run_bytes(LastRun(0, 0, 10_500_000_000, 12_000_000_000))
    b'last-run 1 exit=0 signal=0 started=10.500000000 ended=12.000000000\\n'
    >>> last_run_bytes(LastRun(3, 0, 1, 2), boot="9f1c")[-11:]
    b' boot=9f1c\\n'
    """
    line = b"last-run 1 exit=%d signal=%d started=%d.%09d ended=%d.%09d" % (
        (found.exit_code, found.signal) + divmod(found.started_ns, 1_000_000_000)
        + divmod(found.ended_ns, 1_000_000_000))
    return line + (b" boot=" + boot.encode() if boot is not None else b"") + b"\n"


def read_last_run_at(supervise_fd):
    """The LastRun in ``supervise/`` (open as ``supervise_fd``); None when there is none, or
    it is not one (``last_run_read_at``)."""
    return last_run_read_at(supervise_fd)[0]


def last_run_read_at(supervise_fd):
    """``last_run_read`` of ``supervise/last-run`` in ``supervise/`` (open as
    ``supervise_fd``; nothing in it followed, a FIFO never waited on, a bounded read):
    ``(None, None)`` when there is none — or one that is not a regular file, which runsv's
    finish never writes."""
    try:
        fd = os.open(LAST_RUN, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW
                     | os.O_CLOEXEC, dir_fd=supervise_fd)
    except OSError:
        return None, None
    try:
        if os.fstat(fd).st_mode & 0o170000 != 0o100000:
            return None, None  # not a regular file: nothing runsv's finish writes
        data = os.read(fd, LAST_RUN_MAX)
    except OSError:
        return None, None
    finally:
        os.close(fd)
    return last_run_read(data)


def job_of(state_word, found):
    """What a one-shot is doing: ``running`` while ``./run`` (or its ``./finish``) runs
    (``state_word``: protocol.sidestate.Condition's word), else its last run's end — ``done``,
    ``failed`` — or ``never run``; None when its state cannot be told.

    >>> job_of("run", None), job_of("down", None), job_of("unknown", None)
    ('running', 'never run', None)
    >>> job_of("down", LastRun(0, 0, 0, 0)), job_of("down", LastRun(1, 0, 0, 0))
    ('done', 'failed')
    """
    if state_word in ("run", "finish"):
        return RUNNING
    if state_word not in ("down", "not supervised"):
        return None
    if found is None:
        return NEVER_RUN
    return DONE if found.is_done else FAILED


def job_words(job, found, exit_words):
    """The verdict's word for a one-shot: ``running``, ``done (exit 0, at T, took D)``,
    ``failed (exit N, at T)``, ``never run``; ``exit_words``: protocol.tally.exit_text
    (handed in: the one wording of an exit).

    >>> from .tally import exit_text
    >>> job_words(DONE, LastRun(0, 0, 1764155000_000000000, 1764155001_250000000), exit_text)
    'done (exit 0, at 2025-11-26T11:03:21Z, took 1.2s)'
    >>> job_words(FAILED, LastRun(-1, 9, 0, 1764155001_000000000), exit_text)
    'failed (signal 9 (KILL), at 2025-11-26T11:03:21Z)'
    """
    if found is None or job not in (DONE, FAILED):
        return job
    said = [exit_words(found.end), "at " + utc_text(found.ended_ns)]
    took = found.took
    if job == DONE and took is not None:
        said.append("took " + duration_text(took))
    return "%s (%s)" % (job, ", ".join(said))


def utc_text(ns):
    """Unix ns as ``2025-11-26T11:03:21Z`` (UTC: the same on every host of a fleet); ``an
    unknown time`` outside 1970..9999, which ``gmtime`` may refuse.

    >>> utc_text(1764155001_000000000), utc_text(10 ** 30), utc_text(-1)
    ('2025-11-26T11:03:21Z', 'an unknown time', 'an unknown time')
    """
    from .bounds import TIME_NS_MAX

    if not 0 <= ns <= TIME_NS_MAX:
        return "an unknown time"
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns // 1_000_000_000))


def duration_text(seconds):
    """``1.2s``, ``59.0s``, ``3m05s``, ``2h01m``; ``an unknown time`` for a negative one, or
    one not finite.

    >>> [duration_text(s) for s in (1.25, 59, 185, 7260, float("nan"), -1)]
    ['1.2s', '59.0s', '3m05s', '2h01m', 'an unknown time', 'an unknown time']
    """
    if not 0 <= seconds < float("inf"):
        return "an unknown time"
    if seconds < 60:
        return "%.1fs" % seconds
    whole = int(seconds)
    if whole < 3600:
        return "%dm%02ds" % divmod(whole, 60)
    return "%dh%02dm" % (whole // 3600, whole % 3600 // 60)
