"""runtime/unix: one message from a SOCK_SEQPACKET channel, with the descriptors it carried —
the way every channel between a tree and its helpers (a fork server, a logger host, a user's
tree) is read.

Received descriptors are installed close-on-exec by the kernel (``MSG_CMSG_CLOEXEC``), so that
no process started after (a service, a processor, a stand-in) inherits one — a user's file in
root's process, or root's in a user's.
"""

import os
import socket
import sys

_CUT = socket.MSG_TRUNC | socket.MSG_CTRUNC
_INT = 4  # a C int: one descriptor of SCM_RIGHTS


def receive(channel, size, max_fds, flags=0):
    """``(data, fds, cut)``: ``data`` b"" when the other end is gone (or the read failed),
    ``cut`` when the message or its descriptors did not fit; ``flags``: recvmsg's more
    (MSG_DONTWAIT: this read alone does not wait). BlockingIOError and InterruptedError are
    the caller's (nothing waits).

    ``socket.recv_fds`` but for its flags, which it does not pass on to ``recvmsg`` on every
    Python this runs on (3.11's drops them): without MSG_CMSG_CLOEXEC a descriptor would be
    inheritable until we marked it.

    >>> import socket
    >>> ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    >>> send(theirs, b"hello", [theirs.fileno()])
    5
    >>> data, fds, cut = receive(ours, 3, 1)
    >>> data, cut, os.get_inheritable(fds[0])
    (b'hel', True, False)
    >>> send(theirs, b"two", [theirs.fileno(), ours.fileno()])
    3
    >>> data, two, cut = receive(ours, 16, 1)  # room for one: the second is cut, never leaked
    >>> data, len(two), cut
    (b'two', 1, True)
    >>> for closing in (ours, theirs):
    ...     closing.close()
    >>> for fd in fds + two:
    ...     os.close(fd)
    """
    try:
        data, ancillary, flags, _address = channel.recvmsg(
            size, socket.CMSG_SPACE(max_fds * _INT), socket.MSG_CMSG_CLOEXEC | flags)
    except (BlockingIOError, InterruptedError):
        raise
    except OSError:
        return b"", [], False
    fds = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            whole = len(payload) - len(payload) % _INT
            fds += [int.from_bytes(payload[at:at + _INT], sys.byteorder, signed=True)
                    for at in range(0, whole, _INT)]
    if len(fds) > max_fds:  # CMSG_SPACE's padding took more than asked: those are not kept
        for fd in fds[max_fds:]:
            os.close(fd)
        del fds[max_fds:]
        flags |= _CUT
    return data, fds, bool(flags & _CUT)


def send(channel, data, fds=()):
    """Send ``data`` and a copy of each descriptor of ``fds`` as one message: the number of
    bytes sent."""
    if not fds:
        return channel.send(data)
    return socket.send_fds(channel, [data], fds)
