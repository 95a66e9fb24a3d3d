"""protocol: runit's own error strings (djb's ``error_str``), not strerror().

runit tools append ``: ERRSTR`` to their messages; clients and transcripts compare these texts,
so the table is runit's, entry for entry. The first matching entry wins in runit, which matters
where two names share a number (EAGAIN == EWOULDBLOCK on Linux: "temporary failure").
"""

import errno as _errno

# (errno name, runit's text), in runit's order; names missing on this platform are skipped.
_TABLE = (
    ("EINTR", "interrupted system call"),
    ("ENOMEM", "out of memory"),
    ("ENOENT", "file does not exist"),
    ("ETXTBSY", "text busy"),
    ("EIO", "input/output error"),
    ("EEXIST", "file already exists"),
    ("ETIMEDOUT", "timed out"),
    ("EINPROGRESS", "operation in progress"),
    ("EAGAIN", "temporary failure"),
    ("EWOULDBLOCK", "input/output would block"),
    ("EPIPE", "broken pipe"),
    ("EPERM", "permission denied"),
    ("EACCES", "access denied"),
    ("ENXIO", "device not configured"),
    ("EPROTO", "protocol error"),
    ("EISDIR", "is a directory"),
    ("ECONNREFUSED", "connection refused"),
    ("ENOTDIR", "not a directory"),
    ("ESRCH", "no such process"),
    ("E2BIG", "argument list too long"),
    ("ENOEXEC", "exec format error"),
    ("EBADF", "file descriptor not open"),
    ("ECHILD", "no child processes"),
    ("EDEADLK", "operation would cause deadlock"),
    ("EFAULT", "bad address"),
    ("ENOTBLK", "not a block device"),
    ("EBUSY", "device busy"),
    ("EXDEV", "cross-device link"),
    ("ENODEV", "device does not support operation"),
    ("EINVAL", "invalid argument"),
    ("ENFILE", "system cannot open more files"),
    ("EMFILE", "process cannot open more files"),
    ("ENOTTY", "not a tty"),
    ("EFBIG", "file too big"),
    ("ENOSPC", "out of disk space"),
    ("ESPIPE", "unseekable descriptor"),
    ("EROFS", "read-only file system"),
    ("EMLINK", "too many links"),
    ("EDOM", "input out of range"),
    ("ERANGE", "output out of range"),
    ("EALREADY", "operation already in progress"),
    ("ENOTSOCK", "not a socket"),
    ("EDESTADDRREQ", "destination address required"),
    ("EMSGSIZE", "message too long"),
    ("EPROTOTYPE", "incorrect protocol type"),
    ("ENOPROTOOPT", "protocol not available"),
    ("EPROTONOSUPPORT", "protocol not supported"),
    ("ESOCKTNOSUPPORT", "socket type not supported"),
    ("EOPNOTSUPP", "operation not supported"),
    ("EPFNOSUPPORT", "protocol family not supported"),
    ("EAFNOSUPPORT", "address family not supported"),
    ("EADDRINUSE", "address already used"),
    ("EADDRNOTAVAIL", "address not available"),
    ("ENETDOWN", "network down"),
    ("ENETUNREACH", "network unreachable"),
    ("ENETRESET", "network reset"),
    ("ECONNABORTED", "connection aborted"),
    ("ECONNRESET", "connection reset"),
    ("ENOBUFS", "out of buffer space"),
    ("EISCONN", "already connected"),
    ("ENOTCONN", "not connected"),
    ("ESHUTDOWN", "socket shut down"),
    ("ETOOMANYREFS", "too many references"),
    ("ELOOP", "symbolic link loop"),
    ("ENAMETOOLONG", "file name too long"),
    ("EHOSTDOWN", "host down"),
    ("EHOSTUNREACH", "host unreachable"),
    ("ENOTEMPTY", "directory not empty"),
    ("EUSERS", "too many users"),
    ("EDQUOT", "disk quota exceeded"),
    ("ESTALE", "stale NFS file handle"),
    ("EREMOTE", "too many levels of remote in path"),
    ("ENOLCK", "no locks available"),
    ("ENOSYS", "system call not available"),
    ("ENOSTR", "not a stream device"),
    ("ETIME", "timer expired"),
    ("ENOSR", "out of stream resources"),
    ("ENOMSG", "no message of desired type"),
    ("EBADMSG", "bad message type"),
    ("EIDRM", "identifier removed"),
    ("ENONET", "machine not on network"),
    ("ENOLINK", "link severed"),
    ("EADV", "advertise error"),
    ("ESRMNT", "srmount error"),
    ("ECOMM", "communication error"),
    ("EMULTIHOP", "multihop attempted"),
    ("EREMCHG", "remote address changed"),
)


def _build():
    table = {0: "no error"}
    for name, text in _TABLE:
        number = getattr(_errno, name, None)
        if number is not None:
            table.setdefault(number, text)  # first entry wins, as in runit
    return table


_BY_NUMBER = _build()


def error_str(number):
    """runit's text for an errno value.

    >>> error_str(2)  # ENOENT
    'file does not exist'
    """
    return _BY_NUMBER.get(number, "unknown error")


def oserror_str(exc):
    """runit's text for an OSError (its errno), for ``: ERRSTR`` suffixes."""
    return error_str(exc.errno or 0)
