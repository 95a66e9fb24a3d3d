"""sv rows of docs/runit-protocol.md §3 pinned in-process against fake ``supervise/`` directories
(docs/conformance.md): SVWAIT and -w, the trailing-``/`` wait, one write per command, ENXIO on
``control``, the status line's pid-only flags, the fatal return to the working directory.
"""

import os
import threading

from runit_provision.protocol.status import State, Status, status_line
from runit_provision.runtime import sv

from .test_sv_session import FakeService, fake, ns, run_sv, svdir  # noqa: F401 (fixtures)


def test_svwait_defaults_to_7_and_w_overrides_it(fake, capfd, monkeypatch):
    """§3.1: ``SVWAIT`` (default 7 s); ``-w`` overrides it."""
    assert sv.DEFAULT_WAIT == 7
    fake("web", want="d")
    # Without SVWAIT and -w the default bounds the wait (made 0 here: no 7 s test).
    monkeypatch.setattr(sv, "DEFAULT_WAIT", 0)
    code, out, _ = run_sv(capfd, "-v", "down", "web")
    assert (code, ns(out)) == (1, "timeout: run: web: (pid 100) Ns, want down\n")
    monkeypatch.setattr(sv, "DEFAULT_WAIT", 7)
    monkeypatch.setenv("SVWAIT", "100")
    code, out, _ = run_sv(capfd, "-w", "0", "down", "web")
    assert (code, ns(out)) == (1, "timeout: run: web: (pid 100) Ns, want down\n")
    # how long each waited (not 7 s, not 100 s): tests/test_timing.py (slow)


def test_trailing_slash_waits_where_it_sent(svdir, capfd, tmp_path):
    """§3.1 quirk, docs/sv.md #8: ``sv -v up foo/`` sends to ``./foo/``; runit then waits on
    ``$SVDIR/foo/``, ours on ``./foo/`` (the cwd is ``tmp_path``; SVDIR has no ``web``)."""
    service = FakeService(tmp_path / "web")
    try:
        service.set(pid=0, state=State.DOWN, want="d")
        timer = threading.Timer(0.2, lambda: service.set(pid=4242, want="u", age=0))
        timer.start()
        try:
            code, out, _ = run_sv(capfd, "-w", "5", "up", "web/")
        finally:
            timer.join()
        assert service.sent() == b"u"
        assert (code, ns(out)) == (0, "ok: run: web/: (pid 4242) Ns\n")
    finally:
        service.close()


def test_the_command_is_one_write(fake, capfd, monkeypatch):
    """§3.1 Sending 3: the whole string in one ``write()`` (``tcu`` for restart)."""
    service = fake("web")
    writes = []
    real_write = os.write

    def recording_write(fd, data):
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(sv.os, "write", recording_write)
    monkeypatch.setenv("SVWAIT", "0")
    run_sv(capfd, "restart", "web")
    assert b"tcu" in writes and b"t" not in writes
    assert service.sent() == b"tcu"


def test_no_reader_on_control_is_runsv_not_running(svdir, capfd):
    """§3.1 Sending 3: ENXIO opening ``supervise/control`` means ``runsv not running``."""
    service = FakeService(svdir / "web")
    try:
        service.set(want="d")
        os.close(service.control_fd)
        service.fds.remove(service.control_fd)
        assert run_sv(capfd, "up", "web") == (1, "fail: web: runsv not running\n", "")
    finally:
        service.close()


def test_paused_and_term_only_with_a_pid():
    """§3.3: ``paused`` and ``got TERM`` appear only if pid≠0 (runsv sets paused even with
    nothing running)."""
    status = Status(100, 500, 0, True, "d", True, State.DOWN)
    assert status_line("web", status, 100, True) == "down: web: 0s, normally up"
    status = Status(100, 500, 7, True, "u", True, State.RUN)
    assert status_line("web", status, 100, True) == "run: web: (pid 7) 0s, paused, got TERM"


def test_fatal_when_the_working_directory_cannot_be_restored(fake, capfd, monkeypatch):
    """§3.3 Messages: ``fatal: MSG: ERRSTR`` (unable to return to the working directory),
    exit 100."""
    fake("web")

    def failing_fchdir(fd):
        raise PermissionError(13, "denied")

    monkeypatch.setattr(sv.os, "fchdir", failing_fchdir)
    code, out, err = run_sv(capfd, "status", "web")
    assert (code, err) == (100, "fatal: unable to change to original directory: access denied\n")
