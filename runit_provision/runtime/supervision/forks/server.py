"""runtime/supervision/forks: the fork server — a small Python process that holds only code, from
which a tree run by root forks the processes that become another identity: users' trees
(users/forkedtree.py) and logger hosts (loggers/identityloghosts.py). The tree's end is
tree/forkclient.py.

It imports every module a child may run (``preload``: a child that has become a user may not
be able to read the installation), freezes the collector's generations (``gc.freeze``: no
collection in a child walks, and so copies, the server's objects), says it is ready, and then
only waits on its channel: its children share its pages, and they do not change under them.
It holds nothing of the tree's — no data, no descriptor but its channel.

Each child is forked twice — the server forks, that child forks the helper and exits — so the
helper is re-parented to the nearest subreaper, the tree (``servicetree.become_subreaper``): it
is the tree's child, reaped by the tree's loop, as a spawned process would be. The middle child
reads the requests waiting (one batch: a tree's start asks for all its users' trees at once),
forks each and answers it at once, before the next (``_answer_batch``: an answer is always true
— a child whose answer cannot go out is killed and reaped, so a request answered ``error`` has
no process), and exits once all are answered, so the tree knows the pid of its new child before
the child can be reaped; the server itself only peeks at the channel, forks and waits for the
middle child. The messages are forkclient.py's; the kinds of children, ``_CHILDREN``.
"""

import errno
import os
import signal
import socket

from ...unix.diag import warn
from ...unix.seqpacket import receive
from ..tree.forkclient import CHANNEL_FD

_MESSAGE_MAX = 65536
_MAX_FDS = 8


# -- the server ------------------------------------------------------------------------------------
def serve():
    """The server's whole life: prepare, say ready, fork on request until the channel closes."""
    import gc

    from ...unix.procname import show_runit_name
    from ..loggers.identityloghosts import close_all_but
    close_all_but({CHANNEL_FD})
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    show_runit_name("forkserver", ["(forks for a runsvdir tree)"], whole=True)
    channel = socket.socket(fileno=CHANNEL_FD)
    try:
        preload()
    except Exception as exc:  # noqa: BLE001 — said; the tree starts a server again later
        warn("forkserver", "unable to prepare: %s: %s" % (type(exc).__name__, exc))
        os._exit(111)
    gc.collect()
    gc.freeze()
    channel.send(b"ready")
    # Between two forks the server runs as little as it can: every page it writes then is a
    # page the child forked before keeps a copy of for good. So it only waits for a request
    # (peeking), forks and waits for that child — the middle one, which reads the batch
    # itself, forks each child asked for, answers and exits (``_middle``).
    peek, fork, waitpid = channel.recv, os.fork, os.waitpid
    while True:
        try:
            if not peek(1, socket.MSG_PEEK):
                os._exit(0)  # the tree is gone (or done): so are we
        except InterruptedError:
            continue
        except OSError:
            os._exit(0)  # its socket failed
        try:
            middle = fork()
        except OSError as exc:
            _refuse(channel, exc.errno or errno.EAGAIN)
            continue
        if middle == 0:  # pragma: no cover — the middle child
            _middle(channel)
        while True:
            try:
                _pid, status = waitpid(middle, 0)
                break
            except InterruptedError:
                continue
        if os.WIFEXITED(status) and os.WEXITSTATUS(status):  # the answers it owed
            for _ in range(os.WEXITSTATUS(status)):
                _answer(channel, b"error\0%d" % errno.ECHILD)


def _requests(channel):
    """Every request waiting on ``channel`` — the first waited for, the rest that came with it
    (a tree starting asks for all its users' trees at once) — as ``(fields, fds)``; [] once
    the tree is gone. The rest are read with MSG_DONTWAIT: the channel's own mode is the
    server's too (a middle child shares it), so it is never changed."""
    batch = []
    while True:
        try:
            data, fds, _cut = receive(channel, _MESSAGE_MAX, _MAX_FDS,  # fds: close-on-exec
                                      socket.MSG_DONTWAIT if batch else 0)
        except InterruptedError:
            continue
        except BlockingIOError:
            return batch
        if not data:
            _close_all(batch)
            return []
        batch.append((data.split(b"\0"), fds))


def _close_all(batch):
    for _, fds in batch:
        for fd in fds:
            os.close(fd)


def _middle(channel):  # pragma: no cover — runs in the middle child, which always exits
    """The middle child: read the batch, answer it (``_answer_batch``) and exit with the
    number of requests read and not answered, which the server answers for."""
    owed = 0
    try:
        batch = _requests(channel)
        owed = len(batch)
        owed = _answer_batch(channel, batch)
    except BaseException as exc:  # noqa: BLE001 — nothing may escape into the server's loop
        warn("forkserver", "unable to read a batch: %s: %s" % (type(exc).__name__, exc))
    finally:
        os._exit(min(owed, 255))


def _refuse(channel, number):
    """No process to fork with: the request waiting, taken off the channel, is answered
    ``error NUMBER``."""
    try:
        data, fds, _cut = receive(channel, _MESSAGE_MAX, _MAX_FDS, socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return
    if not data:
        return
    _close_all([(None, fds)])
    _answer(channel, b"error\0%d" % number)


def _answer(channel, message):
    try:
        channel.send(message)
    except OSError:
        os._exit(0)


def _answer_batch(channel, batch, fork=os.fork):
    """Fork the child each request of ``batch`` asks for and answer it at once, in order;
    return the number of requests left unanswered (0 once all are) — never raises.

    Every answer is true: ``pid`` names a child that runs, and a request answered ``error``
    (here, or by the server for those left unanswered) has none. So a failure in the middle
    of a batch — a fork that raises what is not an OSError, an answer that cannot be sent —
    ends the batch there, and the child whose answer did not go out is killed and reaped
    before anything else happens: that one's start fails (and is tried again), and one
    process of it runs, never two. Answering each as soon as it is forked (not once all are) also gives the
    tree its first children's pids while the rest fork. ``fork`` is a seam for the tests."""
    done = 0
    try:
        for index in range(len(batch)):
            _fork_one(channel, batch, index, fork)
            done += 1
    except BaseException as exc:  # noqa: BLE001 — what is not answered, the server answers
        warn("forkserver", "unable to start children: %s: %s" % (type(exc).__name__, exc))
    return len(batch) - done


def _fork_one(channel, batch, index, fork):
    """Request ``index``'s child forked and its answer sent — or, when the answer cannot be
    sent, no child left (killed and reaped, the exception raised on). A child keeps nothing
    of the batch but its own request's descriptors."""
    fields, fds = batch[index]
    run = _CHILDREN.get(fields[0])
    if run is None:
        channel.send(b"error\0%d" % errno.EINVAL)
        return
    try:
        pid = fork()
    except OSError as exc:
        channel.send(b"error\0%d" % (exc.errno or errno.EAGAIN))
        return
    if pid == 0:  # pragma: no cover — the child
        try:
            for other, (_, theirs) in enumerate(batch):
                for fd in theirs if other != index else ():
                    os.close(fd)
            os.close(CHANNEL_FD)
            run([os.fsdecode(field) for field in fields[1:]], fds)  # never returns
        except BaseException as exc:  # noqa: BLE001 — this child ends here
            warn("forkserver", "unable to start a %s: %s: %s"
                 % (os.fsdecode(fields[0]), type(exc).__name__, exc))
        finally:
            os._exit(111)
    try:
        channel.send(b"pid\0%d" % pid)  # one datagram: sent whole, or not at all
    except BaseException:
        _kill_and_reap(pid)  # not answered: it must not run beside the one started instead
        raise


def _kill_and_reap(pid):
    """Our child ``pid``, killed and waited for: gone before its request is answered error."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    while True:
        try:
            os.waitpid(pid, 0)
            return
        except InterruptedError:
            continue
        except ChildProcessError:
            return


def _run_host(fields, fds):
    from ..loggers.hostedlogger import Identity
    from ..loggers.identityloghosts import serve
    uid, gids, title = int(fields[0]), [int(gid) for gid in fields[1].split(",")], fields[2]
    serve(fds[0], Identity(uid, gids), fds[1], title)


def _run_tree(fields, fds):
    from ..users.forkedtree import run
    run(fields, fds)


_CHILDREN = {b"host": _run_host, b"tree": _run_tree}

# What the runtime imports when it first needs it (a module's import deferred to its first use
# keeps the tools' start fast) — here all at once: a child that has become a user may not be
# allowed to read this installation (an interpreter or a virtualenv under /root, 0700).
_STDLIB = ("binascii", "encodings.ascii", "encodings.latin_1", "errno", "fcntl", "grp",
           "ipaddress", "pwd", "resource", "select", "socket", "stat", "struct")
_ROOMS = ("protocol", "runtime.supervision.engine", "runtime.supervision.loggers",
          "runtime.supervision.tree", "runtime.supervision.users", "runtime.svlog",
          "runtime.unix")


def preload():
    """Import now every module of the rooms a child runs, and make the C library's functions
    it calls (made on their first use): a child that has become a user may not be able to
    read this installation, and what it imported itself would be pages of its own. The one
    preloading: a user's tree and a logger host are only ever forked from here."""
    import importlib
    from ...unix import inotify
    from ...unix.libc import libc
    libc().prctl  # noqa: B018 — made here, cached on the handle
    inotify._calls()
    package = __name__.split(".")[0]
    base = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    for name in _STDLIB:
        importlib.import_module(name)
    for room in _ROOMS:
        for entry in sorted(os.listdir(os.path.join(base, *room.split(".")))):
            if entry.endswith(".py") and entry != "__init__.py":
                importlib.import_module("%s.%s.%s" % (package, room, entry[:-3]))
    importlib.import_module(package + ".errors")
