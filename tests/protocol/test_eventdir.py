"""supervise/event/ (protocol/eventdir.py): runsv's poster and a waiter's subscription, on real
FIFOs in a temporary side directory — what is made, who is woken, and what a planted entry
cannot make runsv do (block, follow a link, write into something that is not a waiter's FIFO).
"""

import errno
import os
import select
import stat
import time

import pytest

from runit_provision.protocol import eventdir


@pytest.fixture
def side(tmp_path):
    """A side's directory with runit's supervise/ and its ok (mode 0600), as runsv makes it."""
    (tmp_path / "supervise").mkdir(mode=0o700)
    os.mkfifo(str(tmp_path / "supervise" / "ok"), 0o600)
    fd = os.open(str(tmp_path), os.O_PATH | os.O_DIRECTORY)
    yield tmp_path
    os.close(fd)


@pytest.fixture
def poster(side):
    fd = os.open(str(side), os.O_PATH | os.O_DIRECTORY)
    made = eventdir.EventPoster(fd)
    assert made.open()
    yield made
    made.close(post=False)
    os.close(fd)


def events(side):
    return side / "supervise" / "event"


def readable(fd, timeout=0.0):
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(timeout * 1000))


def waiter_in(side, monkeypatch):
    monkeypatch.chdir(side)
    return eventdir.subscribe()


def test_open_makes_the_directory_and_a_held_listener(side, poster):
    made = os.stat(str(events(side)))
    assert stat.S_IMODE(made.st_mode) == eventdir.DIR_MODE and made.st_uid == os.geteuid()
    listener = events(side) / eventdir.LISTENER
    assert stat.S_ISFIFO(listener.lstat().st_mode)
    assert stat.S_IMODE(listener.lstat().st_mode) == 0o600  # supervise/ok's
    probe = os.open(str(listener), os.O_WRONLY | os.O_NONBLOCK)  # a reader is there
    os.close(probe)


def test_the_listener_takes_ok_s_mode_but_no_one_else_may_read_it(side):
    """Who may probe supervise/ok may probe event/ok; only its owner may hold a reader."""
    os.chmod(str(side / "supervise" / "ok"), 0o664)
    fd = os.open(str(side), os.O_PATH | os.O_DIRECTORY)
    poster = eventdir.EventPoster(fd)
    try:
        assert poster.open()
        mode = (events(side) / eventdir.LISTENER).lstat().st_mode
        assert stat.S_IMODE(mode) == 0o620
    finally:
        poster.close(post=False)
        os.close(fd)


def test_a_new_runsv_takes_over_its_predecessor_s_listener(side, poster, monkeypatch):
    """The FIFO is kept (a new one costs an inode); a waiter of the old runsv sees it go."""
    before = (events(side) / eventdir.LISTENER).lstat().st_ino
    waiter = waiter_in(side, monkeypatch)
    poster.close()
    assert poster.open()
    assert (events(side) / eventdir.LISTENER).lstat().st_ino == before
    assert os.read(waiter.fd, 4) == b"x"
    waiter.close()
    again = eventdir.subscribe()  # the new one serves
    assert again is not None
    again.close()


def test_a_waiter_is_woken_by_each_post_and_removed_when_done(side, poster, monkeypatch):
    waiter = waiter_in(side, monkeypatch)
    assert waiter is not None
    entries = os.listdir(str(events(side)))
    assert sorted(entries) == sorted([eventdir.LISTENER, waiter.name])
    assert waiter.name.startswith(eventdir.WAITER_PREFIX + str(os.getpid()) + ".")
    made = (events(side) / waiter.name).lstat()
    assert stat.S_ISFIFO(made.st_mode) and stat.S_IMODE(made.st_mode) == eventdir.WAITER_MODE
    assert not readable(waiter.fd)
    poster.post(eventdir.STATUS)
    poster.post(eventdir.READINESS)
    assert readable(waiter.fd)
    assert os.read(waiter.fd, 16) == b"sr"
    waiter.drain()
    assert not readable(waiter.fd)
    waiter.close()
    assert os.listdir(str(events(side))) == [eventdir.LISTENER]


def test_closing_posts_x_and_drops_the_listener(side, poster, monkeypatch):
    waiter = waiter_in(side, monkeypatch)
    poller = select.poll()
    poller.register(waiter.listener, 0)
    assert poller.poll(0) == []
    poster.close()
    assert os.read(waiter.fd, 16) == b"x"
    assert poller.poll(0) == [(waiter.listener, select.POLLERR)]  # runsv gone
    waiter.close()


def test_no_runsv_of_ours_no_waiter(side, monkeypatch):
    monkeypatch.chdir(side)
    assert eventdir.subscribe() is None  # no event/: the C runsv
    fd = os.open(str(side), os.O_PATH | os.O_DIRECTORY)
    poster = eventdir.EventPoster(fd)
    poster.open()
    poster.close()  # ours, gone: event/ and its ok stay, without a reader
    os.close(fd)
    assert eventdir.subscribe() is None  # ENXIO on ok
    assert os.listdir(str(events(side))) == [eventdir.LISTENER]  # nothing left behind


def test_a_killed_waiter_s_fifo_is_removed_by_the_next_post(side, poster, monkeypatch):
    waiter = waiter_in(side, monkeypatch)
    os.close(waiter.fd)  # killed: its FIFO has no reader any more
    poster.post(eventdir.STATUS)
    assert waiter.name not in os.listdir(str(events(side)))
    for fd in (waiter.listener, waiter.dir_fd):
        os.close(fd)


def test_many_waiters_are_all_woken(side, poster, monkeypatch):
    waiters = [waiter_in(side, monkeypatch) for _ in range(40)]
    poster.post(eventdir.STATUS)
    assert all(os.read(waiter.fd, 4) == b"s" for waiter in waiters)
    for waiter in waiters:
        waiter.close()
    assert os.listdir(str(events(side))) == [eventdir.LISTENER]


def test_a_waiter_that_never_reads_does_not_block_runsv(side, poster, monkeypatch):
    """A full FIFO (its reader never reads) is skipped: the write would block, and runsv's
    is non-blocking; the next waiter is still woken."""
    full = waiter_in(side, monkeypatch)
    other = waiter_in(side, monkeypatch)
    try:
        while True:
            os.write(full.fd, b"." * 4096)  # the waiter's own end is read-write
    except BlockingIOError:
        pass
    poster.post(eventdir.STATUS)  # how soon it returns: tests/test_timing.py (slow)
    assert os.read(other.fd, 4) == b"s"
    full.close()
    other.close()


def test_planted_entries_are_neither_followed_nor_written(side, poster, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    target_fifo = elsewhere / "fifo"
    os.mkfifo(str(target_fifo))
    reader = os.open(str(target_fifo), os.O_RDONLY | os.O_NONBLOCK)
    plain = elsewhere / "plain"
    plain.write_text("keep\n")
    os.symlink(str(target_fifo), str(events(side) / "w.link"))
    os.symlink(str(plain), str(events(side) / "w.plainlink"))
    (events(side) / "w.file").write_text("keep\n")
    os.mkdir(str(events(side) / "w.dir"))
    os.mkfifo(str(events(side) / ".w.making"))  # being made: never opened
    try:
        poster.post(eventdir.STATUS)
        assert not readable(reader)
        assert plain.read_text() == "keep\n"
        assert (events(side) / "w.file").read_text() == "keep\n"
        assert (events(side) / ".w.making").exists()
    finally:
        os.close(reader)


def test_a_making_name_left_long_ago_is_removed_at_start(side):
    (side / "supervise" / "event").mkdir(mode=0o700)
    old = events(side) / ".w.1.aa"
    new = events(side) / ".w.2.bb"
    for path in (old, new):
        os.mkfifo(str(path))
    long_ago = time.time() - eventdir.MAKING_STALE_SECONDS - 10
    os.utime(str(old), (long_ago, long_ago))
    fd = os.open(str(side), os.O_PATH | os.O_DIRECTORY)
    poster = eventdir.EventPoster(fd)
    try:
        assert poster.open()
        assert not old.exists() and new.exists()
    finally:
        poster.close(post=False)
        os.close(fd)


def test_a_listener_that_is_not_a_fifo_is_replaced(side):
    (side / "supervise" / "event").mkdir(mode=0o700)
    (events(side) / eventdir.LISTENER).write_text("planted\n")
    fd = os.open(str(side), os.O_PATH | os.O_DIRECTORY)
    poster = eventdir.EventPoster(fd)
    try:
        assert poster.open()
        assert stat.S_ISFIFO((events(side) / eventdir.LISTENER).lstat().st_mode)
    finally:
        poster.close(post=False)
        os.close(fd)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own files as another user")
def test_a_listener_someone_else_owns_proves_nothing(side, monkeypatch):
    """A FIFO named ok that another user planted (and holds a reader on) is not runsv's."""
    (side / "supervise" / "event").mkdir(mode=0o1733)
    listener = events(side) / eventdir.LISTENER
    os.mkfifo(str(listener), 0o622)
    os.chown(str(listener), 65534, 65534)
    reader = os.open(str(listener), os.O_RDONLY | os.O_NONBLOCK)
    try:
        monkeypatch.chdir(side)
        assert eventdir.subscribe() is None
        assert os.listdir(str(events(side))) == [eventdir.LISTENER]
    finally:
        os.close(reader)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own files as another user")
def test_root_waiting_on_a_user_s_runsv_gives_its_fifo_to_that_user(side, poster, monkeypatch):
    os.chown(str(events(side)), 65534, 65534)
    os.chown(str(events(side) / eventdir.LISTENER), 65534, 65534)
    waiter = waiter_in(side, monkeypatch)
    try:
        made = (events(side) / waiter.name).lstat()
        assert (made.st_uid, stat.S_IMODE(made.st_mode)) == (65534, 0o600)
    finally:
        waiter.close()


def test_a_directory_not_ours_is_not_served(side):
    if os.geteuid() != 0:
        pytest.skip("needs root to own files as another user")
    (side / "supervise" / "event").mkdir()
    os.chmod(str(events(side)), 0o1777)
    os.chown(str(events(side)), 65534, 65534)
    fd = os.open(str(side), os.O_PATH | os.O_DIRECTORY)
    poster = eventdir.EventPoster(fd)
    try:
        assert not poster.open()
        assert not poster.is_open
        poster.post(eventdir.STATUS)  # nothing, and no error
        assert stat.S_IMODE(events(side).stat().st_mode) == 0o1777  # not chmod'ed
    finally:
        os.close(fd)


def test_subscribe_reports_every_failure_as_none(side, poster, monkeypatch):
    monkeypatch.chdir(side)
    real = os.mkfifo

    def failing(*args, **kwargs):
        raise OSError(errno.EDQUOT, "quota")

    monkeypatch.setattr(eventdir.os, "mkfifo", failing)
    assert eventdir.subscribe() is None
    monkeypatch.setattr(eventdir.os, "mkfifo", real)
    assert os.listdir(str(events(side))) == [eventdir.LISTENER]


@pytest.fixture
def log_side(side):
    """The service's log/ beside ``side``, with its own supervise/ and ok."""
    log = side / "log"
    (log / "supervise").mkdir(parents=True, mode=0o700)
    os.mkfifo(str(log / "supervise" / "ok"), 0o600)
    return log


@pytest.mark.parametrize("link", ["linked", "another file system"])
def test_one_reader_serves_every_side_of_a_process(side, log_side, poster, monkeypatch, link):
    """Each side's event/ok is a link to one FIFO the process holds one reader on (a tree
    holds one descriptor for all its event directories); where no link can be made, a side
    has a listener of its own. A side that goes while the reader stays loses its link (it
    must not look served); its waiters get x either way."""
    if link == "another file system":
        def cross_device(*args, **kwargs):
            raise OSError(errno.EXDEV, "cross-device link")
        monkeypatch.setattr(eventdir.os, "link", cross_device)
    fd = os.open(str(log_side), os.O_PATH | os.O_DIRECTORY)
    log_poster = eventdir.EventPoster(fd)
    try:
        assert log_poster.open()
        same = ((events(log_side) / eventdir.LISTENER).lstat().st_ino
                == (events(side) / eventdir.LISTENER).lstat().st_ino)
        assert same == (link == "linked")
        waiter = waiter_in(log_side, monkeypatch)
        log_poster.post(eventdir.STATUS)
        assert os.read(waiter.fd, 4) == b"s"
        log_poster.close()
        assert os.read(waiter.fd, 4) == b"x"
        assert (eventdir.LISTENER in os.listdir(str(events(log_side)))) == (not same)
        waiter.close()
        monkeypatch.chdir(side)
        still = eventdir.subscribe()  # the service's side is served on
        assert still is not None
        still.close()
    finally:
        log_poster.close(post=False)
        os.close(fd)


def test_when_every_name_of_the_shared_fifo_is_gone_a_side_makes_its_own(side, log_side,
                                                                           poster, monkeypatch):
    """The directory of the side whose FIFO the others linked to was removed: a side opened
    after that cannot link to it, and holds a FIFO of its own (which later sides share)."""
    os.unlink(str(events(side) / eventdir.LISTENER))
    fd = os.open(str(log_side), os.O_PATH | os.O_DIRECTORY)
    log_poster = eventdir.EventPoster(fd)
    try:
        assert log_poster.open()
        waiter = waiter_in(log_side, monkeypatch)
        assert waiter is not None
        waiter.close()
    finally:
        log_poster.close(post=False)
        os.close(fd)
