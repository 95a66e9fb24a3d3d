"""runtime/unix: the one handle on the C library, for the few calls ``os`` does not offer.

prctl (runsvdir's subreaper), setfsuid/setfsgid (a hosted logger's file identity), inotify
(sv's and runsvdir's waits), timerfd, tee, posix_spawn and reboot (runit as process 1) go
through ``libc()``. ``ctypes`` is imported on the first call, never with this module: ``sv
status`` and the other tools that make none of these calls do not pay for it.
"""

_handle = None


def libc():
    """The process's C library, ``ctypes.CDLL(None, use_errno=True)``, loaded once.

    The handle is shared: a caller that sets ``argtypes``/``restype`` takes its own function
    object with ``libc()[name]`` (``libc().name`` is cached on the handle for everyone).
    """
    global _handle
    if _handle is None:
        import ctypes  # deferred: what only these calls should cost

        _handle = ctypes.CDLL(None, use_errno=True)
    return _handle


def errno_error(*args):
    """An OSError for the errno the last libc call left (``args``: a filename or a call name).

    >>> isinstance(errno_error("prctl"), OSError)
    True
    """
    import os
    from ctypes import get_errno

    number = get_errno()
    return OSError(number, os.strerror(number), *args)
