"""checks: ``sv status`` output -> what it says of each side — the fallback of the sh probe
(which cannot open ``supervise/ok`` without blocking, so it asks ``sv``), validated as parsed.

Lines as sv prints them (docs/runit-protocol.md §3.3; NAME exactly as typed)::

    run: /etc/service/web: (pid 9894) 12s, normally down; run: log: (pid 9893) 6s
    down: ./svc: 0s, normally up, want up
    down: ./tick: 40s, normally up, want up; waiting, next at 2026-11-26T03:00:00Z
    down: ./setup: 9s, normally up; failed (exit 3); run: log: (pid 7) 9s
    finish: ./svc3: (pid 11525) 0s, normally down, want down
    run: /etc/service/web: (pid 12) 3s; fail: /etc/service/web/log: runsv not running
    warning: /etc/service/web: unable to open supervise/ok: file does not exist
    fail: /etc/service/web: runsv not running

A side's part is a state (``down``/``run``/``finish`` with its pid, seconds and flags) or sv's
message for a failed step (``fail:``/``warning:``); when the service's own part is a message, sv
says nothing of the log. Our sv ends a timer's or a one-shot's part with what its job does
(runtime/control/waits.py ``job_doing``: ``waiting, next at T``, ``done (exit 0)``…), kept
as ``job``. Anything else is a ``VerifyError``: a parser that guesses would turn a broken
``sv`` into a passing check.
"""

from ..errors import VerifyError
from ..protocol.layout import LOG_DIR, path_in
from ..protocol.probe import NOT_RUNNING
from ..protocol.status import State

_STATES = {"down": State.DOWN, "run": State.RUN, "finish": State.FINISH}
_FLAGS = ("normally down", "normally up", "paused", "want up", "want down", "got TERM")
# the first word of a job's part (runtime/control/waits.py job_doing)
_JOB_WORDS = ("waiting", "no next run", "running", "off", "unreadable", "done", "failed",
              "never run")


class SvPart:
    """One side as sv described it: ``message`` (sv's words after ``NAME: ``) for a failed
    step, else ``state``, ``pid`` (0 when sv shows none), ``elapsed`` seconds and the flags
    (``normally`` is True/False/None: sv names it only when it differs from the state);
    ``job``: our sv's words of a timer's or a one-shot's job (None: none said)."""

    __slots__ = ("state", "pid", "elapsed", "normally", "paused", "want", "term", "message",
                 "is_not_running", "job")

    def __init__(self, state=None, pid=0, elapsed=0, normally=None, paused=False, want=None,
                 term=False, message=None):
        self.state, self.pid, self.elapsed, self.normally = state, pid, elapsed, normally
        self.paused, self.want, self.term, self.message = paused, want, term, message
        self.is_not_running = message == NOT_RUNNING
        self.job = None

    def __repr__(self):
        if self.message is not None:
            return "SvPart(message=%r)" % self.message
        return "SvPart(%s, pid=%d, elapsed=%d, normally=%r, paused=%r, want=%r, term=%r)" % (
            self.state.name, self.pid, self.elapsed, self.normally, self.paused, self.want,
            self.term)


def parts_from_sv_line(line, name):
    """``(service part, log part or None)`` of sv's status ``line`` for the service ``name``.

    >>> main, log = parts_from_sv_line(
    ...     "run: /s/web: (pid 12) 3s, normally down; run: log: (pid 13) 3s", "/s/web")
    >>> main.state.name, main.pid, main.normally, log.pid
    ('RUN', 12, False, 13)
    >>> main, log = parts_from_sv_line("down: /s/setup: 9s, normally up; failed (exit 3); "
    ...                                "run: log: (pid 7) 9s", "/s/setup")
    >>> main.job, log.pid
    ('failed (exit 3)', 7)
    >>> parts_from_sv_line("fail: /s/web: runsv not running", "/s/web")
    (SvPart(message='runsv not running'), None)
    >>> parts_from_sv_line("ok: run: web: (pid 1) 1s", "web")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    runit_provision.errors.VerifyError: not an sv status line for web: 'ok: run: ...'
    """
    text = line.rstrip("\n")
    main, rest = _part(text, name, name, line)
    log = None
    if rest:
        if not rest.startswith("; "):
            raise VerifyError("not an sv status line for %s: %r" % (name, line))
        log, rest = _part(rest[2:], "log", path_in(name, LOG_DIR), line)
        if rest:
            raise VerifyError("not an sv status line for %s: %r" % (name, line))
    return main, log


def _part(text, label, message_name, line):
    """One part at the start of ``text``; (SvPart, what follows it)."""
    for prefix in ("fail: ", "warning: "):
        head = prefix + message_name + ": "
        if text.startswith(head):
            message, _, rest = text[len(head):].partition("; ")
            return SvPart(message=message), ("; " + rest if rest else "")
    word, _, rest = text.partition(": ")
    if word not in _STATES or not rest.startswith(label + ": "):
        raise VerifyError("not an sv status line for %s: %r" % (message_name, line))
    rest = rest[len(label) + 2:]
    part = SvPart(state=_STATES[word])
    if part.state != State.DOWN:
        if not rest.startswith("(pid "):
            raise VerifyError("no pid in sv's %s line: %r" % (word, line))
        number, _, rest = rest[5:].partition(") ")
        part.pid = _number(number, line)
    seconds, _, rest = rest.partition("s")
    part.elapsed = _number(seconds, line)
    tail, sep, after = rest.partition("; ")
    for flag in filter(None, tail.split(", ")):
        if flag not in _FLAGS:
            raise VerifyError("unknown flag %r in sv's line: %r" % (flag, line))
        if flag.startswith("normally"):
            part.normally = flag == "normally up"
        elif flag.startswith("want"):
            part.want = flag[5]
        elif flag == "paused":
            part.paused = True
        else:
            part.term = True
    if label != "log" and after.startswith(_JOB_WORDS):
        part.job, sep, after = after.partition("; ")
    return part, sep + after


def _number(text, line):
    if not text.isdigit():
        raise VerifyError("not a number %r in sv's line: %r" % (text, line))
    return int(text)
