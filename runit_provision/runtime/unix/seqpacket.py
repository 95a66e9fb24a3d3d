"""runtime/unix: one message from a SOCK_SEQPACKET channel, with the descriptors it carried —
the way every channel between a tree and its helpers (a fork server, a logger host, a user's
agent) is read.

``recvmsg`` installs received descriptors without close-on-exec: marked here at once, so that
no process started after (a service, a processor, a stand-in) inherits one — a user's file in
root's process, or root's in a user's.
"""

import os

# MSG_TRUNC | MSG_CTRUNC as a plain int: `socket`'s are enum flags, whose arithmetic runs enum's
# Python code — and adds a member to a table the fork server's children share — in every
# helper, about 40 kB of its own pages.
_CUT = 0x20 | 0x08


def receive(channel, size, max_fds):
    """``(data, fds, cut)``: ``data`` b"" when the other end is gone (or the read failed),
    ``cut`` when the message or its descriptors did not fit. BlockingIOError and
    InterruptedError are the caller's (nothing waits).

    >>> import socket
    >>> ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    >>> _ = socket.send_fds(theirs, [b"hello"], [theirs.fileno()])
    >>> data, fds, cut = receive(ours, 3, 1)
    >>> data, cut, os.get_inheritable(fds[0])
    (b'hel', True, False)
    >>> for closing in (ours, theirs):
    ...     closing.close()
    >>> os.close(fds[0])
    """
    import socket
    try:
        data, fds, flags, _address = socket.recv_fds(channel, size, max_fds)
    except (BlockingIOError, InterruptedError):
        raise
    except OSError:
        return b"", [], False
    for fd in fds:
        os.set_inheritable(fd, False)
    return data, fds, bool(flags & _CUT)
