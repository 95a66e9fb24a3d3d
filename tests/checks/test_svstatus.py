"""checks/svstatus.py: sv's status lines -> each side, and nothing else accepted."""

import doctest

import pytest

from runit_provision.checks import svstatus
from runit_provision.checks.svstatus import parts_from_sv_line
from runit_provision.errors import VerifyError
from runit_provision.protocol.status import State


def test_doctests():
    assert doctest.testmod(svstatus).failed == 0


# sv's own lines (docs/runit-protocol.md §3.3) -> (state, pid, elapsed, normally, paused,
# want, term) of the service, and of the log when the line has one
LINES = [
    ("run: /s/web: (pid 9894) 1s; run: log: (pid 9893) 1s", "/s/web",
     ("RUN", 9894, 1, None, False, None, False), ("RUN", 9893, 1, None, False, None, False)),
    ("down: ./svc: 0s, normally up; run: log: (pid 9893) 6s", "./svc",
     ("DOWN", 0, 0, True, False, None, False), ("RUN", 9893, 6, None, False, None, False)),
    ("run: ./svc: (pid 10131) 4s, paused, want down; run: log: (pid 9893) 14s", "./svc",
     ("RUN", 10131, 4, None, True, "d", False), ("RUN", 9893, 14, None, False, None, False)),
    ("finish: ./svc3: (pid 11525) 0s, normally down, want down", "./svc3",
     ("FINISH", 11525, 0, False, False, "d", False), None),
    ("down: ./svc3: 0s, want up", "./svc3", ("DOWN", 0, 0, None, False, "u", False), None),
    ("run: ./svc2: (pid 10211) 3s, want down, got TERM", "./svc2",
     ("RUN", 10211, 3, None, False, "d", True), None),
]


def fields(part):
    return (part.state.name, part.pid, part.elapsed, part.normally, part.paused, part.want,
            part.term)


@pytest.mark.parametrize("line, name, main, log", LINES)
def test_status_lines(line, name, main, log):
    got_main, got_log = parts_from_sv_line(line + "\n", name)
    assert fields(got_main) == main
    assert (None if got_log is None else fields(got_log)) == log


def test_messages():
    main, log = parts_from_sv_line(
        "warning: /s/web: unable to open supervise/ok: file does not exist", "/s/web")
    assert main.message == "unable to open supervise/ok: file does not exist"
    assert not main.is_not_running and log is None
    main, log = parts_from_sv_line(
        "run: /s/web: (pid 12) 3s; fail: /s/web/log: runsv not running", "/s/web")
    assert main.state == State.RUN and log.is_not_running


@pytest.mark.parametrize("line", [
    "ok: run: web: (pid 1) 1s",                  # a wait's line, not status
    "run: other: (pid 1) 1s",                    # another service
    "run: web: 1s",                              # run without a pid
    "run: web: (pid x) 1s",
    "down: web: 1s, sleepy",                     # an unknown flag
    "down: web: 1s; down: web: 1s",              # the log part must say log
    "down: web: 1s; run: log: (pid 2) 1s; x",    # trailing text
    "",
])
def test_anything_else_is_refused(line):
    with pytest.raises(VerifyError):
        parts_from_sv_line(line, "web")
