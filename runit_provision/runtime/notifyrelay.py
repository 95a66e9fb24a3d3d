"""runtime: ``notify-relay PID [WORD…]`` — readiness under the C runsv, which has no notify socket.

A ``./run`` rendered for ``ready: notify`` with ``runtime: system`` begins

    NOTIFY_SOCKET=$(notify-relay $$ [access=all] [timeout=N] [watchdog=N]) || exit 1
    export NOTIFY_SOCKET

Run in the service directory, this makes the socket our runsv would have made (notify.py, the
same rules for who may speak), writes ``supervise/readiness`` "starting" for ``PID`` (the
shell, which becomes the daemon by ``exec``), prints the socket's address and exits; a
grandchild, detached (its parent exits at once, so the daemon never has a child of ours to
reap), keeps the socket until ``PID`` says ``READY=1`` or exits, records it, and ends — the
service costs a process only while it starts (for as long as it runs with ``watchdog=``, whose
timer it keeps; ``timeout=`` ends a start that is not ready in time, as our runsv does). The rendered ``check`` reads the record, so the
C ``sv -w start`` and the ``needs`` guards wait for readiness, polling it (docs/readiness.md).

s6's notification-fd (``ready: {fd: N}``) has the same relay: ``./run`` begins

    notify-relay $$ fd=N [timeout=N] || exit 1
    exec N<>supervise/notification-fifo

— the relay makes that FIFO (anew each start, ``0600``), its grandchild holds a reader on it,
and the shell opens it as descriptor N, which the daemon inherits by ``exec``: a newline
written there is ready (s6-supervise's rule), recorded as our runsv records it. The shell
opens it read-write, so the open never waits for a reader (a relay killed meanwhile leaves a
FIFO no one reads: the daemon's newline sits in it, and the check keeps saying not ready).

Exit codes: 0; 100 on usage; 111 when the socket or FIFO cannot be made or ``PID`` is gone.
"""

import errno
import os
import stat
import sys

from ..errors import FatalError
from ..protocol.layout import NOTIFICATION_FIFO, SUPERVISE_DIR
from ..protocol.readiness import BadReady, ReadySpec, ready_options, ready_spec_from_bytes
from .unix.diag import fatal, warn
from .supervision.engine.loop import EventLoop
from .supervision.engine.supervisefiles import SuperviseFiles
from .supervision.engine.supervisor import SystemClock

LABEL = "notify-relay"
USAGE = b"usage: notify-relay pid [fd=N] [access=main|all] [timeout=N] [watchdog=N]\n"
FIFO_PATH = SUPERVISE_DIR + "/" + NOTIFICATION_FIFO
_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC


def main(argv=None):
    argv = sys.argv if argv is None else argv
    try:
        if len(argv) < 2 or not argv[1].isdigit():
            raise BadReady("no pid")
        spec = _spec_of(argv[2:])
    except BadReady:
        os.write(2, USAGE)
        return 100
    pid = int(argv[1])
    from .supervision.engine.notify import NotifyChannel
    loop = EventLoop()
    reader = None
    try:
        files = SuperviseFiles(os.open(".", _DIR_FLAGS), "", _warn)
        channel = NotifyChannel(loop, files, SystemClock(), _warn, kill=_kill)
        if spec.kind == "fd":
            reader, said = _fifo_reader(), b""
        else:
            said = channel.socket_address().encode("ascii") + b"\n"
        loop.watch_process(pid, lambda _: _ended(loop, channel))
    except (OSError, FatalError) as exc:
        fatal(LABEL, "unable to relay readiness", exc)
        return 111
    channel.started(pid, spec, reader)
    if not spec.watchdog:  # the watchdog needs the socket for as long as the service runs
        channel.on_change = lambda readiness: readiness.state == "ready" and loop.stop()
    if _detached():
        if reader is not None:
            os.close(reader)  # the grandchild's alone
        os.write(1, said)
        return 0
    _quiet()
    loop.run()
    os._exit(0)


def _spec_of(words):
    """The ReadySpec of the relay's words: ``fd=N [timeout=N]``, or notify's options."""
    if words[:1] and words[0].startswith("fd="):
        return ready_spec_from_bytes(" ".join(words).encode("ascii", "replace"))
    return ReadySpec("notify", *ready_options(words))


def _fifo_reader():
    """``supervise/notification-fifo`` made anew (whatever was there: a FIFO of an earlier
    start, or anything else, is replaced) and a reader on it — read-write, so that it never
    reads an EOF: the relay ends when the service's process does."""
    try:
        os.unlink(FIFO_PATH)
    except FileNotFoundError:
        pass
    os.mkfifo(FIFO_PATH, 0o600)
    fd = os.open(FIFO_PATH, os.O_RDWR | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EEXIST, "%s is not the FIFO made" % FIFO_PATH)
    return fd


def _detached():
    """True in the caller (after the grandchild was made), False in the grandchild."""
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return True
    if os.fork():
        os._exit(0)
    return False


def _quiet():
    """The grandchild holds none of the shell's descriptors: ``$(...)`` ends when its caller
    exits, and the log pipe is the daemon's alone."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _ended(loop, channel):
    channel.observe(0, False)
    loop.stop()


def _kill(pid, signum):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _warn(message, exc=None):
    warn(LABEL, message, exc)


if __name__ == "__main__":
    sys.exit(main())
