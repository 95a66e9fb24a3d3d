"""runtime/unix: the one handle on the C library, for the few calls ``os`` does not offer.

prctl (runsvdir's subreaper), setfsuid/setfsgid (a hosted logger's file identity), inotify
(sv's and runsvdir's waits) and reboot (runit as process 1) go through ``libc()``. The C types
(``ffi.py``) are made on the first call, never with this module: ``sv status`` and the other
tools that make none of these calls do not pay for them.
"""

_handle = None


def libc():
    """The process's C library, as ``ctypes.CDLL(None, use_errno=True)`` (``ffi.py``), loaded
    once.

    The handle is shared: a caller that sets ``argtypes``/``restype`` takes its own function
    object with ``libc()[name]`` (``libc().name`` is cached on the handle for everyone).
    """
    global _handle
    if _handle is None:
        from . import ffi  # deferred: what only these calls should cost

        _handle = ffi.c_library()
    return _handle


def errno_error(*args):
    """An OSError for the errno the last libc call left (``args``: a filename or a call name).

    >>> isinstance(errno_error("prctl"), OSError)
    True
    """
    import os

    from .ffi import get_errno

    number = get_errno()
    return OSError(number, os.strerror(number), *args)
