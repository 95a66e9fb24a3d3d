"""runtime/unix: one message from a SOCK_SEQPACKET channel, with the descriptors it carried —
the way every channel between a tree and its helpers (a fork server, a logger host, a user's
tree) is read.

Received descriptors are installed close-on-exec by the kernel (``MSG_CMSG_CLOEXEC``), so that
no process started after (a service, a processor, a stand-in) inherits one — a user's file in
root's process, or root's in a user's.
"""

import os
import sys

# MSG_TRUNC | MSG_CTRUNC as a plain int: `socket`'s are enum flags, whose arithmetic runs enum's
# Python code — and adds a member to a table the fork server's children share — in every
# helper, about 40 kB of its own pages.
_CUT = 0x20 | 0x08
_CLOEXEC = 0x40000000  # MSG_CMSG_CLOEXEC: the descriptors arrive close-on-exec, atomically
_SOL_SOCKET = _SCM_RIGHTS = 1  # Linux's
_INT = 4
_HEADER = 16  # CMSG_SPACE(n) on Linux's 64- and 32-bit ABIs: an aligned header, then n aligned


def _space(max_fds):
    """``socket.CMSG_SPACE(max_fds * 4)``, with room to spare on any ABI."""
    return _HEADER + (max_fds * _INT + 7) // 8 * 8


def receive(channel, size, max_fds, flags=0):
    """``(data, fds, cut)``: ``data`` b"" when the other end is gone (or the read failed),
    ``cut`` when the message or its descriptors did not fit; ``flags``: recvmsg's more
    (MSG_DONTWAIT, 0x40: this read alone does not wait). BlockingIOError and
    InterruptedError are the caller's (nothing waits).

    ``socket.recv_fds`` without its Python code (``socket.py``'s, and the ``array`` it
    builds), which every forked helper would run — and copy the pages of — for each message.

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
        data, ancillary, flags, _address = channel.recvmsg(size, _space(max_fds),
                                                           _CLOEXEC | flags)
    except (BlockingIOError, InterruptedError):
        raise
    except OSError:
        return b"", [], False
    fds = []
    for level, kind, payload in ancillary:
        if level == _SOL_SOCKET and kind == _SCM_RIGHTS:
            whole = len(payload) - len(payload) % _INT
            fds += [int.from_bytes(payload[at:at + _INT], sys.byteorder, signed=True)
                    for at in range(0, whole, _INT)]
    if len(fds) > max_fds:  # the spare room took more than asked: those are not kept
        for fd in fds[max_fds:]:
            os.close(fd)
        del fds[max_fds:]
        flags |= _CUT
    return data, fds, bool(flags & _CUT)


def send(channel, data, fds=()):
    """Send ``data`` and a copy of each descriptor of ``fds`` as one message: the number of
    bytes sent (``socket.send_fds`` without its Python code)."""
    if not fds:
        return channel.send(data)
    rights = b"".join(fd.to_bytes(_INT, sys.byteorder, signed=True) for fd in fds)
    return channel.sendmsg([data], [(_SOL_SOCKET, _SCM_RIGHTS, rights)])
