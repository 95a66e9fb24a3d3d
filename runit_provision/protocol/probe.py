"""protocol: how a client talks to a running runsv — the liveness probe and the control FIFO.

runsv holds a reader on ``supervise/ok`` and never reads it; opening it write-only and
non-blocking fails with ENXIO exactly when no runsv is there (sv.c ``svstatus_get``).
Reading ``status`` without this probe reports a stale state (node_exporter#3070).
"""

import errno
import os

from .layout import CONTROL_FIFO, OK_FIFO, STATUS_FILE
from .status import STATUS_SIZE, status_from_bytes


def is_runsv_running(service_dir):
    """True if a runsv holds ``supervise/ok``; False on ENXIO; other OSErrors propagate."""
    try:
        fd = os.open(os.path.join(service_dir, OK_FIFO), os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            return False
        raise
    os.close(fd)
    return True


def read_status_bytes(service_dir):
    """One ``read()`` of up to 20 bytes of ``supervise/status``, as sv does it."""
    fd = os.open(os.path.join(service_dir, STATUS_FILE), os.O_RDONLY)
    try:
        return os.read(fd, STATUS_SIZE)
    finally:
        os.close(fd)


def read_status(service_dir):
    """Decoded status; ProtocolError if it is not exactly 20 bytes."""
    return status_from_bytes(read_status_bytes(service_dir))


def send_control(service_dir, commands):
    """Write control bytes in one ``write()``; ENXIO (no runsv) propagates as OSError.

    Opened non-blocking because a FIFO without a reader would block the writer forever.
    Returns the number of bytes written (a short write is the caller's error to report).
    """
    if isinstance(commands, str):
        commands = commands.encode("ascii")
    fd = os.open(os.path.join(service_dir, CONTROL_FIFO), os.O_WRONLY | os.O_NONBLOCK)
    try:
        return os.write(fd, commands)
    finally:
        os.close(fd)
