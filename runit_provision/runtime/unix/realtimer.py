"""runtime/unix: a wait until a moment of the wall clock that a clock step cancels — a Linux
``timerfd`` on ``CLOCK_REALTIME``, armed with ``TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET``
(timerfd_create(2)) — for timers (protocol/timer.py): both waiters, our engine's loop and
``timer-run``, sleep on it with no wakeup between elapses.

A step of the clock (``date -s``, an NTP step, resume from suspend setting the time) makes a
``read()`` of an armed timer fail with ECANCELED: the waiter recomputes its next run from the
new time and arms again. The calls are the C library's, through ``ctypes`` on every Python
(``os.timerfd_*`` is 3.13's only): made on the first timer made, never with this module.
"""

import errno
import os
from time import CLOCK_REALTIME

# <sys/timerfd.h>: its flags are open(2)'s
TFD_CLOEXEC = os.O_CLOEXEC
TFD_NONBLOCK = os.O_NONBLOCK
TFD_TIMER_ABSTIME = 1
TFD_TIMER_CANCEL_ON_SET = 2

EXPIRED = "expired"       # the moment came
CANCELLED = "cancelled"   # the clock was set: recompute and arm again
NOTHING = "nothing"       # not yet (a spurious wakeup, or disarmed)

_calls = None


class RealtimeTimer:
    """One non-blocking, close-on-exec timerfd on CLOCK_REALTIME: ``fileno()`` for a poll,
    ``arm(at_usec)``, ``disarm()``, ``read()`` -> EXPIRED, CANCELLED or NOTHING, ``close()``.
    OSError when the kernel or libc has no timerfd."""

    __slots__ = ("fd",)

    def __init__(self):
        self.fd = _check(_functions()[0](CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC),
                         "timerfd_create")

    def fileno(self):
        return self.fd

    def arm(self, at_usec):
        """Expire at ``at_usec`` (microseconds since the epoch; a moment past expires at
        once), or earlier with CANCELLED when the clock is set meanwhile."""
        _settime(self.fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
                 max(1, int(at_usec)) * 1000)

    def disarm(self):
        _settime(self.fd, 0, 0)

    def read(self):
        try:
            os.read(self.fd, 8)
        except BlockingIOError:
            return NOTHING
        except OSError as exc:
            if exc.errno == errno.ECANCELED:
                return CANCELLED
            raise
        return EXPIRED

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _settime(fd, flags, ns):
    from ctypes import byref

    spec = _functions()[2]((0, 0), divmod(ns, 1_000_000_000))
    _check(_functions()[1](fd, flags, byref(spec), None), "timerfd_settime")


def _check(result, call):
    if result < 0:
        from .libc import errno_error

        raise errno_error(call)
    return result


def _functions():
    """timerfd_create, timerfd_settime and ``struct itimerspec``, made once."""
    global _calls
    if _calls is None:
        import ctypes
        from .libc import libc

        class Timespec(ctypes.Structure):
            _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

        class Itimerspec(ctypes.Structure):
            _fields_ = [("it_interval", Timespec), ("it_value", Timespec)]

        handle = libc()
        try:
            create, settime = handle["timerfd_create"], handle["timerfd_settime"]
        except AttributeError as exc:
            raise OSError(errno.ENOSYS, "timerfd is not available in this libc") from exc
        create.argtypes = [ctypes.c_int, ctypes.c_int]
        settime.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(Itimerspec),
                            ctypes.c_void_p]
        create.restype = settime.restype = ctypes.c_int
        _calls = (create, settime, Itimerspec)
    return _calls
