"""protocol: how a client talks to a running runsv — the liveness probe, the status read and
the control send, each done exactly as runit's ``sv.c`` does it (reference §1.3, §3.1).

* liveness (``is_runsv_running``): runsv holds a reader on ``supervise/ok`` and never reads
  it; opening it write-only and non-blocking fails with ENXIO exactly when no runsv is there;
* status (``read_status``): that probe, then ONE ``read()`` of up to 20 bytes of
  ``supervise/status`` opened non-blocking (runit's ``open_read``); anything but 20 bytes is
  "bad format". Reading ``status`` without the probe reports a stale state
  (node_exporter#3070), so no reader here skips it;
* control (``send_control``): ``supervise/control`` opened write-only and non-blocking (a FIFO
  without a reader would block the writer forever; ENXIO = no runsv), the bytes in ONE
  ``write()``;
* ``read_status_at``: one side whose ``supervise/`` the caller already opened, no link
  followed in it — the applier's, which never follows a link a user planted.

What a client makes of a side it read is protocol/sidestate.py's ``SideState``.

Every failure is one ``ProbeError`` (``errors.py``) whose text is sv's for the step and which
keeps the errno, so sv prints runit's exact messages. The paths are relative to the *side's*
directory (a service directory, or its ``log/``), itself relative to ``dir_fd`` if given.
"""

import errno
import os
import stat

from ..errors import ProbeError, ProtocolError
from .layout import CONTROL_FIFO, DOWN, OK, OK_FIFO, STATUS, STATUS_FILE
from .status import STATUS_SIZE, status_from_bytes

NOT_RUNNING = "runsv not running"


def _failed(message, path, operation, exc):
    return ProbeError(message, path, operation, exc.errno or 0)


def _not_running(fifo):
    """No reader on ``ok`` or ``control``: the open failed with ENXIO."""
    return ProbeError(NOT_RUNNING, fifo, "open", errno.ENXIO, is_not_running=True)


# The applier's variant (``read_status_at``) adds these: nothing in supervise/ is followed.
_NO_LINKS = os.O_NOFOLLOW | os.O_CLOEXEC


def is_runsv_running(service_dir=".", dir_fd=None):
    """True if a runsv holds ``supervise/ok``, False on ENXIO (no reader).

    Any other failure is a ProbeError "unable to open supervise/ok" with its errno — ENOENT
    when no runsv ever ran here (or ``supervise`` is a dangling symlink: only runsv creates
    its target, a probe never does).
    """
    return _is_up(os.path.join(service_dir, OK_FIFO), dir_fd, 0)


def _is_up(ok_path, dir_fd, flags):
    try:
        fd = os.open(ok_path, os.O_WRONLY | os.O_NONBLOCK | flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            return False
        raise _failed("unable to open supervise/ok", OK_FIFO, "open", exc) from exc
    try:
        if flags and not stat.S_ISFIFO(os.fstat(fd).st_mode):
            # a file planted as ok opens for writing too: only runsv's FIFO says it is there
            raise ProbeError("unable to open supervise/ok: not a FIFO", OK_FIFO, "open")
    finally:
        os.close(fd)
    return True


def read_status(service_dir=".", dir_fd=None):
    """The decoded ``supervise/status`` of a live runsv: the liveness probe, then one read.

    ProbeError: ``runsv not running`` (``is_not_running``), ``unable to open supervise/ok``,
    ``unable to open supervise/status``, ``unable to read supervise/status`` (with errno) or
    ``unable to read supervise/status: bad format`` (errno 0: a short read, or a state byte
    runsv never writes).
    """
    return _read_status(os.path.join(service_dir, OK_FIFO),
                        os.path.join(service_dir, STATUS_FILE), dir_fd, 0)


def read_status_at(supervise_fd):
    """``read_status`` of a side whose ``supervise/`` directory is open as ``supervise_fd``
    (the applier walks to it by descriptors, trusting only root's links), following nothing
    in it: ``ok`` and ``status`` are opened ``O_NOFOLLOW`` relative to it, and an ``ok`` that
    is not a FIFO is a ProbeError — a user's tree can never make the caller open something
    else. The same ProbeErrors as ``read_status`` otherwise."""
    return _read_status(OK, STATUS, supervise_fd, _NO_LINKS)


def _read_status(ok_path, status_path, dir_fd, flags):
    if not _is_up(ok_path, dir_fd, flags):
        raise _not_running(OK_FIFO)
    try:
        fd = os.open(status_path, os.O_RDONLY | os.O_NONBLOCK | flags, dir_fd=dir_fd)
    except OSError as exc:
        raise _failed("unable to open supervise/status", STATUS_FILE, "open", exc) from exc
    try:
        raw = os.read(fd, STATUS_SIZE)
    except OSError as exc:
        raise _failed("unable to read supervise/status", STATUS_FILE, "read", exc) from exc
    finally:
        os.close(fd)
    try:
        return status_from_bytes(raw)
    except ProtocolError:
        raise ProbeError("unable to read supervise/status: bad format", STATUS_FILE,
                         "read") from None


def send_control(service_dir, commands, dir_fd=None):
    """Write control bytes (``"tcu"``, ``b"x"``) to ``supervise/control`` in one ``write()``.

    ProbeError: ``runsv not running`` (ENXIO: the FIFO has no reader),
    ``unable to open supervise/control``, or ``unable to write to supervise/control`` (with
    the write's errno, or 0 for a short write).
    """
    if isinstance(commands, str):
        commands = commands.encode("ascii")
    try:
        fd = os.open(os.path.join(service_dir, CONTROL_FIFO), os.O_WRONLY | os.O_NONBLOCK,
                     dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise _not_running(CONTROL_FIFO) from exc
        raise _failed("unable to open supervise/control", CONTROL_FIFO, "open", exc) from exc
    try:
        written = os.write(fd, commands)
    except OSError as exc:
        raise _failed("unable to write to supervise/control", CONTROL_FIFO, "write",
                      exc) from exc
    finally:
        os.close(fd)
    if written != len(commands):
        raise ProbeError("unable to write to supervise/control", CONTROL_FIFO, "write")


def is_normally_up(service_dir=".", dir_fd=None):
    """runsv's rule for a side's start (runsv.c): ``stat("down") != -1`` means want down,
    whatever else made the stat fail. runsv and the applier's reading both decide by it."""
    try:
        os.stat(os.path.join(service_dir, DOWN), dir_fd=dir_fd)
    except OSError:
        return True
    return False


def is_supervised_despite(exc):
    """Whether a runsv is there although reading the status failed with ProbeError ``exc``:
    the ``ok`` probe passed and a later step failed."""
    return exc.path != OK_FIFO and not exc.is_not_running


def unknown_of(exc):
    """Why a side whose status read failed with ProbeError ``exc`` cannot be told to run or
    not — None when it is plainly not supervised, as sv says: ``ok`` without a reader
    (ENXIO), or without a name (no runsv ever served it). Anything else (a status that
    cannot be read, an ``ok`` made a file, no right to open it) may hide a running side."""
    if exc.is_not_running or (exc.path == OK_FIFO and exc.errno == errno.ENOENT):
        return None
    from .errstr import error_str  # only on this path: sv prints its own message
    return str(exc) + (": " + error_str(exc.errno) if exc.errno else "")
