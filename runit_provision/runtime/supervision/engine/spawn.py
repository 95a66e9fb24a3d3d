"""runtime/supervision/engine: starting child processes without forking the interpreter.

``posix_spawn`` (vfork underneath) is what keeps restarts fast in a large tree: forking a
Python process copies its page tables, spawning does not. The child gets every signal at its
default and an empty mask, as a child of the C runsv does — Python ignores SIGPIPE and SIGXFSZ,
glibc's posix_spawn ignores its internal signals 32 and 33, and ignored signals survive
``exec``. ``unix.spawnc`` calls the C library's posix_spawn so that all of them are reset;
where it cannot (another C library), ``os.posix_spawn`` resets all but 32 and 33.
"""

import os
import signal

from ...unix import spawnc
from ...unix.environ import original_environ

_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC
_UNCATCHABLE = {signal.SIGKILL, signal.SIGSTOP}


def _default_signals():
    return [s for s in signal.valid_signals() if s not in _UNCATCHABLE]


class Spawner:
    """Starts ``argv`` with a working directory given as a directory fd.

    The C library's posix_spawn changes to that directory in the child. ``os.posix_spawn``
    has no such action, so on the fallback path the spawner switches the process's own cwd
    around the call (the loop is single-threaded) and returns to where it was.
    """

    def __init__(self, stderr_fd=None, environ=None):
        self._clean = spawnc.is_available()
        self._home_fd = None if self._clean else os.open(".", _DIR_FLAGS)
        # runsvdir with a log area: its own fd 2 is the area's pipe, children get this one.
        self._stderr_fd = stderr_fd
        self._sigdef = _default_signals()
        # runsv's own environment as exec'd, without what the interpreter added (PEP 538) —
        # or the one given (a logger host's processors: the user's, never root's).
        self._environ = original_environ() if environ is None else environ

    @property
    def environ(self):
        """The environment children get (a dict nobody may change)."""
        return self._environ

    @property
    def stderr_fd(self):
        """The stderr children get (a hosted logger writes its messages there too)."""
        return 2 if self._stderr_fd is None else self._stderr_fd

    def spawn(self, argv, cwd_fd=None, stdin_fd=None, stdout_fd=None, new_session=False,
              env=None, extra_fds=(), argv0=None, new_group=False):
        """Start a child and return its pid; OSError if it could not be started or exec'd.

        ``new_group``: the child leads a process group of its own (a job, jobgroup.py);
        with ``new_session`` it does already.

        ``extra_fds``: ``(source, target)`` pairs dup2'ed after stdin/stdout (svlogd's
        processor gets ``state`` on fd 4 and ``newstate`` on fd 5); sources must not be
        any of the targets. ``argv0``: what the child sees as ``argv[0]`` (``argv[0]`` is
        then only the path executed).
        """
        actions = []
        if stdin_fd is not None:
            actions.append((os.POSIX_SPAWN_DUP2, stdin_fd, 0))
        if stdout_fd is not None:
            actions.append((os.POSIX_SPAWN_DUP2, stdout_fd, 1))
        if self._stderr_fd is not None:
            actions.append((os.POSIX_SPAWN_DUP2, self._stderr_fd, 2))
        actions.extend((os.POSIX_SPAWN_DUP2, source, target) for source, target in extra_fds)
        environ = self._environ if env is None else env
        path = argv[0]
        if argv0 is not None:
            argv = [argv0] + list(argv[1:])
        if self._clean:
            return spawnc.posix_spawn_clean(path, argv, environ,
                                            [action[1:] for action in actions], cwd_fd,
                                            new_session, new_group)
        group = {"setpgroup": 0} if new_group and not new_session else {}
        if cwd_fd is not None:
            os.fchdir(cwd_fd)
        try:
            return os.posix_spawn(path, argv, environ, file_actions=actions,
                                  setsigdef=self._sigdef, setsigmask=(), setsid=new_session,
                                  **group)
        finally:
            if cwd_fd is not None:
                os.fchdir(self._home_fd)

    @staticmethod
    def kill(pid, signum):
        """Signal a child; one that is already gone is not an error."""
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
