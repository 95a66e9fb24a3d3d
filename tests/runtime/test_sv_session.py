"""sv end to end in-process, against fake ``supervise/`` directories (no runsv).

A fake service has FIFOs ``ok`` and ``control`` and a 20-byte ``status`` built with
``status_to_bytes``. Holding a reader on ``ok`` simulates a live runsv; without one sv sees
"runsv not running". The reader held on ``control`` records what sv sent.
"""

import os
import re
import threading
import time

import pytest

from runit_provision.protocol.status import State, Status, status_to_bytes
from runit_provision.runtime import sv
from runit_provision.runtime.control import session, wakers


class FakeService:
    def __init__(self, path, alive=True):
        self.path = path
        self.supervise = path / "supervise"
        self.supervise.mkdir(parents=True)
        os.mkfifo(str(self.supervise / "ok"), 0o600)
        os.mkfifo(str(self.supervise / "control"), 0o600)
        self.fds = []
        self.ok_fd = None
        self.control_fd = None
        if alive:
            self.ok_fd = self._reader("ok")
            self.control_fd = self._reader("control")

    def _reader(self, name):
        fd = os.open(str(self.supervise / name), os.O_RDONLY | os.O_NONBLOCK)
        self.fds.append(fd)
        return fd

    def set(self, pid=100, state=State.RUN, want="u", term=False, paused=False, age=5,
            stamp_ns=None):
        if stamp_ns is None:
            stamp_ns = (time.time_ns() // 10**9 - age) * 10**9 + 500
        record = Status(stamp_ns // 10**9, stamp_ns % 10**9, pid, paused, want, term, state)
        new = self.supervise / "status.new"
        new.write_bytes(status_to_bytes(record))
        os.rename(str(new), str(self.supervise / "status"))  # as runsv does
        return self

    def sent(self):
        try:
            return os.read(self.control_fd, 100)
        except BlockingIOError:
            return b""

    def stop_runsv(self):
        """The reader on ``ok`` goes away: runsv has exited."""
        if self.ok_fd is not None:
            self.fds.remove(self.ok_fd)
            os.close(self.ok_fd)
            self.ok_fd = None

    def close(self):
        for fd in self.fds:
            os.close(fd)
        self.fds = []


@pytest.fixture
def svdir(tmp_path, monkeypatch):
    directory = tmp_path / "service"
    directory.mkdir()
    monkeypatch.setenv("SVDIR", str(directory))
    monkeypatch.delenv("SVWAIT", raising=False)
    monkeypatch.chdir(tmp_path)
    return directory


@pytest.fixture
def fake(svdir):
    made = []

    def make(name, alive=True, **status):
        service = FakeService(svdir / name, alive=alive)
        made.append(service)
        if status.pop("write_status", True):
            service.set(**status)
        return service

    yield make
    for service in made:
        service.close()


def run_sv(capfd, *args, argv0="sv"):
    code = sv.main([argv0] + list(args))
    out, err = capfd.readouterr()
    return code, out, err


def ns(text):
    """Seconds vary with the clock; pids do not here."""
    return re.sub(r"\b\d+s\b", "Ns", text)


# -- status -------------------------------------------------------------------------------
def test_status_line_with_the_log_part(fake, capfd, svdir):
    fake("web", pid=123)
    fake("web/log", pid=122)
    code, out, err = run_sv(capfd, "status", "web")
    assert (code, ns(out), err) == (0, "run: web: (pid 123) Ns; run: log: (pid 122) Ns\n", "")


def test_status_seconds_count_from_the_stamp(fake, capfd):
    fake("web", age=1000)
    _, out, _ = run_sv(capfd, "status", "web")
    assert re.fullmatch(r"run: web: \(pid 100\) 100[01]s\n", out)


@pytest.mark.parametrize("setup,line", [
    (dict(pid=0, state=State.DOWN, want="d"), "down: web: Ns, normally up"),
    (dict(pid=0, state=State.DOWN, want="u"), "down: web: Ns, normally up, want up"),
    (dict(paused=True, want="d"), "run: web: (pid 100) Ns, paused, want down"),
    (dict(term=True, want="d"), "run: web: (pid 100) Ns, want down, got TERM"),
    (dict(pid=77, state=State.FINISH, want="d"), "finish: web: (pid 77) Ns, want down"),
])
def test_status_flags(fake, capfd, setup, line):
    fake("web", **setup)
    code, out, _ = run_sv(capfd, "status", "web")
    assert (code, ns(out)) == (0, line + "\n")


def test_status_with_a_down_file(fake, capfd, svdir):
    fake("web")
    (svdir / "web" / "down").touch()
    _, out, _ = run_sv(capfd, "status", "web")
    assert ns(out) == "run: web: (pid 100) Ns, normally down\n"


def test_names_are_printed_as_typed(fake, capfd, svdir):
    fake("web")
    code, out, _ = run_sv(capfd, "status", "web", str(svdir / "web"), "./service/web")
    assert ns(out) == ("run: web: (pid 100) Ns\nrun: %s: (pid 100) Ns\n"
                       "run: ./service/web: (pid 100) Ns\n" % (svdir / "web"))


def test_log_without_runsv(fake, capfd):
    fake("web")
    fake("web/log", alive=False)
    code, out, _ = run_sv(capfd, "status", "web")
    assert (code, ns(out)) == (1, "run: web: (pid 100) Ns; fail: web/log: runsv not running\n")


def test_log_that_is_not_a_directory(fake, capfd, svdir):
    fake("web")
    (svdir / "web" / "log").write_text("")
    code, out, _ = run_sv(capfd, "status", "web")
    assert (code, ns(out)) == (
        1, "run: web: (pid 100) Ns; warning: web/log: unable to change directory: "
           "not a directory\n")


def test_log_without_supervise_prints_no_stale_status(fake, capfd, svdir):
    fake("web")
    (svdir / "web" / "log").mkdir()
    code, out, _ = run_sv(capfd, "status", "web")
    # runit 2.1.2 adds a second line, the service's status labelled "log" (docs/sv.md).
    assert (code, ns(out)) == (
        1, "run: web: (pid 100) Ns; warning: web/log: unable to open supervise/ok: "
           "file does not exist\n")


def test_bad_status_file(fake, capfd, svdir):
    service = fake("web")
    (service.supervise / "status").write_bytes(b"abc")
    code, out, _ = run_sv(capfd, "status", "web")
    assert (code, out) == (1, "warning: web: unable to read supervise/status: bad format\n")


def test_no_supervise_directory(capfd, svdir):
    (svdir / "web").mkdir()
    code, out, _ = run_sv(capfd, "status", "web")
    assert (code, out) == (1, "warning: web: unable to open supervise/ok: file does not exist\n")


def test_runsv_not_running(fake, capfd):
    fake("web", alive=False)
    assert run_sv(capfd, "status", "web") == (1, "fail: web: runsv not running\n", "")
    assert run_sv(capfd, "up", "web") == (1, "fail: web: runsv not running\n", "")
    # For exit, runsv gone is success.
    assert run_sv(capfd, "exit", "web") == (0, "ok: web: runsv not running\n", "")
    assert run_sv(capfd, "-v", "shutdown", "web") == (0, "ok: web: runsv not running\n", "")


def test_missing_service_directory(capfd, svdir):
    assert run_sv(capfd, "status", "nope", "./nope", "") == (
        3, "fail: nope: unable to change to service directory: file does not exist\n"
           "fail: ./nope: unable to change to service directory: file does not exist\n"
           "fail: : unable to change to service directory: file does not exist\n", "")


def test_exit_code_counts_failures_up_to_99(capfd, svdir):
    code, out, _ = run_sv(capfd, "status", *["nope%d" % i for i in range(120)])
    assert code == 99 and out.count("fail:") == 120


def test_svdir_default_is_debians(capfd, monkeypatch):
    assert sv.DEFAULT_SVDIR == "/etc/service/"
    # Without SVDIR the default is used (pointed elsewhere: tests never look at /etc).
    monkeypatch.delenv("SVDIR", raising=False)
    monkeypatch.setattr(sv, "DEFAULT_SVDIR", "/nonexistent-svdir-for-test/")
    assert run_sv(capfd, "status", "web")[1] == (
        "fail: web: unable to change to service directory: file does not exist\n")


def test_usage(capfd, svdir):
    usage = "usage: sv [-v] [-w sec] command service ...\n\n"
    assert run_sv(capfd) == (100, "", usage)
    assert run_sv(capfd, "status") == (100, "", usage)
    assert run_sv(capfd, "bogus", "web") == (100, "", usage)
    assert run_sv(capfd, "-z", "status", "web") == (100, "", "sv: illegal option -- z\n" + usage)
    assert run_sv(capfd, "-V") == (100, "", sv.VERSION + "\n" + usage)


def test_cwd_is_restored(fake, capfd, tmp_path):
    fake("web")
    before = os.getcwd()
    run_sv(capfd, "status", "web", "nope")
    assert os.getcwd() == before


# -- sending ------------------------------------------------------------------------------
@pytest.mark.parametrize("command,setup,sent", [
    ("up", dict(want="d"), b"u"),
    ("up", dict(want="u"), b"u"),  # whatever want runsv has (runit 2.3.1)
    ("down", dict(want="d", term=False), b"d"),  # taken up with once
    ("down", dict(want="d", term=True), b"d"),  # stopping already: TERM again
    ("once", dict(want="d"), b"o"),
    ("term", dict(), b"t"),
    ("hup", dict(), b"h"),
    ("1", dict(), b"1"),
    ("exit", dict(want="d"), b"x"),
])
def test_control_bytes(fake, capfd, command, setup, sent):
    service = fake("web", **setup)
    code, out, _ = run_sv(capfd, command, "web")
    assert (code, out, service.sent()) == (0, "", sent)


def test_restart_sends_tcu_and_times_out_on_a_status_that_never_changes(fake, capfd,
                                                                        monkeypatch):
    monkeypatch.setenv("SVWAIT", "0")
    service = fake("web")
    code, out, _ = run_sv(capfd, "restart", "web")
    assert service.sent() == b"tcu"
    assert (code, ns(out)) == (1, "timeout: run: web: (pid 100) Ns\n")


def test_force_stop_kills_on_timeout(fake, capfd):
    service = fake("web", want="u")
    code, out, _ = run_sv(capfd, "-w", "0", "force-stop", "web")
    assert (code, ns(out)) == (1, "kill: run: web: (pid 100) Ns\n")
    assert service.sent() == b"dk"


def test_verbose_waits_and_reports_ok(fake, capfd):
    fake("web", want="d")
    fake("db", pid=0, state=State.DOWN, want="d")
    code, out, _ = run_sv(capfd, "-w", "0", "down", "db", "web")
    assert (code, ns(out)) == (1, "ok: down: db: Ns, normally up\n"
                                  "timeout: run: web: (pid 100) Ns, want down\n")


def test_svwait_and_w(fake, capfd, monkeypatch):
    fake("web", want="d")
    monkeypatch.setenv("SVWAIT", "0")
    code, out, _ = run_sv(capfd, "stop", "web")
    assert (code, ns(out)) == (1, "timeout: run: web: (pid 100) Ns, want down\n")
    # that it does not wait 7 s: tests/test_timing.py (slow)


# -- ./check ------------------------------------------------------------------------------
def write_check(svdir, body, mode=0o755):
    path = svdir / "web" / "check"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(mode)


@pytest.mark.parametrize("body,mode,code,prefix,err", [
    ("exit 0\n", 0o755, 0, "ok: ", ""),
    ("exit 1\n", 0o755, 1, "timeout: ", ""),
    # stdout closed, stderr inherited, as runit runs it
    ("if echo x 2>/dev/null; then echo open >&2; else echo closed >&2; fi\n", 0o755, 0,
     "ok: ", "closed\n"),
    ("exit 1\n", 0o644, 0, "ok: ",  # runit: a check that cannot be run passes
     "warning: unable to run web/check: access denied\n"),
])
def test_check_script(fake, capfd, svdir, body, mode, code, prefix, err):
    fake("web")
    write_check(svdir, body, mode)
    got = run_sv(capfd, "-w", "0", "check", "web")
    assert (got[0], ns(got[1]), got[2]) == (code, prefix + "run: web: (pid 100) Ns\n", err)


def test_check_honours_want_down(fake, capfd):
    fake("web", want="d")
    code, out, _ = run_sv(capfd, "-w", "0", "check", "web")
    assert (code, ns(out)) == (1, "timeout: run: web: (pid 100) Ns, want down\n")
    fake("db", pid=0, state=State.DOWN, want="d")
    code, out, _ = run_sv(capfd, "-w", "0", "check", "db")
    assert (code, ns(out)) == (0, "ok: down: db: Ns, normally up\n")


# -- LSB mode -----------------------------------------------------------------------------
@pytest.mark.parametrize("service_status,log_status,code", [
    (dict(), None, 0),
    (dict(pid=0, state=State.DOWN, want="d"), None, 3),
    (dict(pid=0, state=State.DOWN, want="d"), dict(pid=99), 3),  # runit: 0, the log's
    (dict(), dict(pid=0, state=State.DOWN, want="d"), 0),  # runit: 3
])
def test_lsb_status_reports_the_service(fake, capfd, service_status, log_status, code):
    fake("web", **service_status)
    if log_status is not None:
        fake("web/log", **log_status)
    assert run_sv(capfd, "status", argv0="/etc/init.d/web")[0] == code


def test_lsb_status_unknown(fake, capfd):
    service = fake("web")
    (service.supervise / "status").write_bytes(b"")
    assert run_sv(capfd, "status", argv0="/etc/init.d/web") == (
        4, "warning: web: unable to read supervise/status: bad format\n", "")


def test_lsb_usage_and_commands(fake, capfd):
    usage = "usage: web [-w sec] command\n\n"
    assert run_sv(capfd, argv0="/etc/init.d/web") == (2, "", usage)
    assert run_sv(capfd, "stat", argv0="/etc/init.d/web") == (2, "", usage)
    assert run_sv(capfd, "-z", "stop", argv0="/etc/init.d/web") == (
        2, "", "web: illegal option -- z\n" + usage)
    service = fake("web", want="d")
    code, out, _ = run_sv(capfd, "-w", "0", "start", "ignored", argv0="/etc/init.d/web")
    assert service.sent() == b"u"
    assert (code, ns(out)) == (1, "timeout: run: web: (pid 100) Ns, want down\n")
    assert run_sv(capfd, "status", argv0="/etc/init.d/nope")[0] == 1


def test_lsb_fatal_is_151(fake, capfd, monkeypatch):
    real_open = os.open

    def failing_open(path, flags, *args, **kwargs):
        if path == ".":
            raise PermissionError(13, "denied")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(sv.os, "open", failing_open)
    assert run_sv(capfd, "status", argv0="/etc/init.d/web") == (
        151, "", "fatal: unable to open current directory: access denied\n")
    assert run_sv(capfd, "status", "web") == (
        100, "", "fatal: unable to open current directory: access denied\n")


# -- event-driven waits -------------------------------------------------------------------
def later(seconds, action):
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def wait_through(capfd, action, *args):
    """``sv ARGS`` while ``action`` happens 0.3 s in: (code, output, seconds from the end of
    the action to sv's return). sv's safety look (``SAFETY_RECHECK``) is put past the wait:
    what ends it is what the action wakes, not a look at a fixed pace (how soon:
    tests/test_timing.py, slow)."""
    done = []

    def act():
        action()
        done.append(time.monotonic())

    timer = later(0.3, act)
    safety, session.SAFETY_RECHECK = session.SAFETY_RECHECK, 3600.0
    try:
        code, out, _ = run_sv(capfd, *args)
        returned = time.monotonic()
    finally:
        session.SAFETY_RECHECK = safety
        timer.join()
    return code, out, returned - done[0]


def posting(service):
    """Our runsv's supervise/event/ on a fake service (protocol/eventdir.py): the poster."""
    from runit_provision.protocol.eventdir import EventPoster

    fd = os.open(str(service.path), os.O_PATH | os.O_DIRECTORY)
    service.fds.append(fd)
    poster = EventPoster(fd)
    assert poster.open()
    return poster


def no_inotify(monkeypatch):
    def refuse():
        raise AssertionError("inotify used where runsv posts events")
    monkeypatch.setattr(wakers, "_open_watcher", refuse)


@pytest.mark.parametrize("watcher", ["inotify", "poll", "stale event dir"])
def test_wait_wakes_on_the_status_rename(fake, capfd, monkeypatch, watcher):
    """Without our runsv's events: inotify, else a poll. A supervise/event/ left by a runsv
    of ours that is gone (the C runsv serves now; its ok has no reader) is the same: sv
    waits as before, and leaves nothing in event/."""
    if watcher == "poll":
        monkeypatch.setattr(wakers, "_open_watcher", lambda: None)
    service = fake("web", pid=0, state=State.DOWN, want="d")
    if watcher == "stale event dir":
        posting(service).close()
    code, out, _ = wait_through(capfd, lambda: service.set(pid=4242, want="u", age=0),
                                  "-w", "5", "up", "web")
    assert (code, ns(out)) == (0, "ok: run: web: (pid 4242) Ns\n")
    if watcher == "stale event dir":
        assert os.listdir(str(service.supervise / "event")) == ["ok"]


def test_exit_wait_ends_when_the_ok_reader_goes(fake, capfd):
    service = fake("web", want="u")
    code, out, _ = wait_through(capfd, service.stop_runsv, "-w", "5", "exit", "web")
    assert (code, out) == (0, "ok: web: runsv not running\n")


def test_wait_wakes_on_runsv_s_post_without_inotify(fake, capfd, monkeypatch, svdir):
    """Where our runsv keeps supervise/event/, sv waits on a FIFO of its own there, woken by
    the byte runsv writes after the status; the FIFO is gone when sv is done."""
    no_inotify(monkeypatch)
    service = fake("web", pid=0, state=State.DOWN, want="d")
    poster = posting(service)
    seen = []

    def start():
        seen.extend(os.listdir(str(service.supervise / "event")))
        service.set(pid=4242, want="u", age=0)
        poster.post(b"s")

    try:
        code, out, _ = wait_through(capfd, start, "-w", "5", "up", "web")
    finally:
        poster.close(post=False)
    assert (code, ns(out)) == (0, "ok: run: web: (pid 4242) Ns\n")
    assert len(seen) == 2 and any(name.startswith("w.%d." % os.getpid()) for name in seen)
    assert os.listdir(str(service.supervise / "event")) == ["ok"]


def test_past_its_fifo_waiters_sv_watches_through_inotify(fake, capfd, monkeypatch):
    """Each FIFO waiter holds three descriptors: past FIFO_WAITERS_MAX services sv watches
    the rest through inotify, and all end as soon as their status is written."""
    monkeypatch.setattr(wakers, "FIFO_WAITERS_MAX", 1)
    services = [fake(name, pid=0, state=State.DOWN, want="d") for name in ("a", "b")]
    posters = [posting(service) for service in services]
    seen = []

    def start():
        for service, poster in zip(services, posters):
            seen.append(len(os.listdir(str(service.supervise / "event"))))
            service.set(pid=4242, want="u", age=0)
            poster.post(b"s")

    try:
        code, out, _ = wait_through(capfd, start, "-w", "5", "up", "a", "b")
    finally:
        for poster in posters:
            poster.close(post=False)
    assert (code, ns(out)) == (0, "ok: run: a: (pid 4242) Ns\nok: run: b: (pid 4242) Ns\n")
    assert seen == [2, 1]  # a: ok and sv's FIFO; b: ok alone


@pytest.mark.parametrize("how", ["exit", "killed"])
def test_runsv_leaving_wakes_the_wait(fake, capfd, monkeypatch, how):
    """runsv's exit: ok closed, then x posted and event/ok let go; killed, it posts nothing,
    and its reader of event/ok going is what wakes sv."""
    no_inotify(monkeypatch)
    service = fake("web", want="u")
    poster = posting(service)

    def leave():
        service.stop_runsv()
        poster.close(post=how == "exit")

    code, out, _ = wait_through(capfd, leave, "-w", "5", "exit", "web")
    assert (code, out) == (0, "ok: web: runsv not running\n")


def test_failing_check_is_retried_without_file_events(fake, capfd, svdir):
    fake("web")
    flag = svdir / "ready"
    write_check(svdir, "test -e %s\n" % flag)
    timer = later(0.3, flag.touch)
    try:
        code, out, _ = run_sv(capfd, "-w", "5", "check", "web")
    finally:
        timer.join()
    assert (code, ns(out)) == (0, "ok: run: web: (pid 100) Ns\n")  # how soon: test_timing.py


def test_service_directory_removed_while_waiting(fake, capfd, svdir):
    import shutil

    service = fake("web", want="d")

    def remove():
        # removed first, then closed: a look between the two finds nothing, never a runsv
        # that stopped listening (sv's "runsv not running", another test's case). Renamed
        # away at once, then deleted: rmtree alone leaves a moment where supervise/ok is
        # there and supervise/status is not, which sv rightly reports as such.
        gone = svdir / ".gone-web"
        os.rename(str(svdir / "web"), str(gone))
        shutil.rmtree(str(gone))
        service.close()

    timer = later(0.2, remove)
    try:
        code, out, _ = run_sv(capfd, "-w", "5", "down", "web")
    finally:
        timer.join()
    assert code == 1
    assert out in ("fail: web: unable to change to service directory: file does not exist\n",
                   "warning: web: unable to open supervise/ok: file does not exist\n")
