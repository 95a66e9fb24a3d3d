"""runtime/unix: ``posix_spawn`` called in the C library directly, so a child starts clean.

``os.posix_spawn`` cannot give a child every signal at its default: glibc's ``posix_spawn``
sets its two internal signals (32, SIGCANCEL, and 33, SIGSETXID) to SIG_IGN in the child
unless they are in the "set to default" set, and ``sigaddset`` refuses to put them there —
so through ``os.posix_spawn`` every service started with signals 32 and 33 ignored, and an
ignored signal stays ignored across ``exec``. runit forks and execs, and its children start
with every signal at its default. Programs built on glibc reinstall their own handlers; a Go
program, a static or musl one would not.

Here the "set to default" set is built bit by bit in memory and handed to
``posix_spawnattr_setsigdefault`` (which copies it as it is), so glibc resets 32 and 33 too.
The working directory is ``posix_spawn_file_actions_addfchdir_np`` (glibc 2.29): no chdir
of our own around the call. ``is_available()`` is False where the C library lacks these
calls; the Spawner then falls back to ``os.posix_spawn``.
"""

import os
import signal

from .libc import libc

POSIX_SPAWN_SETPGROUP = 0x02
POSIX_SPAWN_SETSIGDEF = 0x04
POSIX_SPAWN_SETSIGMASK = 0x08
POSIX_SPAWN_SETSID = 0x80  # glibc 2.26
_SIGSET_BYTES = 128  # glibc's sigset_t: 1024 bits
_ATTR_BYTES = 1024  # more than glibc's posix_spawnattr_t (336) or file actions (80) need
_UNCATCHABLE = (signal.SIGKILL, signal.SIGSTOP)  # sigaction refuses them anyway

_calls = None
_env_cache = (None, None)  # (the dict last given, its C array): a supervisor's is always the same


def _load():
    """The C functions, with their argument types; None if the C library lacks one."""
    global _calls
    if _calls is not None:
        return _calls or None
    import ctypes

    c = libc()
    pointer, integer = ctypes.c_void_p, ctypes.c_int
    table = {
        "posix_spawn": (ctypes.POINTER(ctypes.c_int), ctypes.c_char_p, pointer, pointer,
                        ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_char_p)),
        "posix_spawnattr_init": (pointer,),
        "posix_spawnattr_destroy": (pointer,),
        "posix_spawnattr_setflags": (pointer, ctypes.c_short),
        "posix_spawnattr_setsigdefault": (pointer, pointer),
        "posix_spawnattr_setsigmask": (pointer, pointer),
        "posix_spawn_file_actions_init": (pointer,),
        "posix_spawn_file_actions_destroy": (pointer,),
        "posix_spawn_file_actions_adddup2": (pointer, integer, integer),
        "posix_spawn_file_actions_addfchdir_np": (pointer, integer),
    }
    functions = {}
    try:
        for name, argtypes in table.items():
            function = c[name]
            function.argtypes = argtypes
            function.restype = integer
            functions[name] = function
    except AttributeError:
        _calls = {}
        return None
    default_set = bytearray(_SIGSET_BYTES)
    for signum in range(1, 65):
        if signum not in _UNCATCHABLE:
            default_set[(signum - 1) // 8] |= 1 << ((signum - 1) % 8)
    functions["default_set"] = (ctypes.c_char * _SIGSET_BYTES).from_buffer_copy(default_set)
    functions["empty_set"] = ctypes.create_string_buffer(_SIGSET_BYTES)
    _calls = functions
    return _calls


def is_available():
    """True when the C library has every call ``posix_spawn_clean`` needs."""
    try:
        return _load() is not None
    except OSError:
        return False


def posix_spawn_clean(path, argv, env, dup2=(), cwd_fd=None, new_session=False,
                      new_group=False):
    """Start ``path`` with ``argv`` and ``env`` (a dict); return the pid, or raise OSError.

    ``dup2``: ``(source, target)`` pairs applied in order; ``cwd_fd``: a directory fd the
    child changes to; ``new_session``: setsid in the child; ``new_group``: a process group
    of its own, its pid its id (the attribute's pgroup is 0 from ``posix_spawnattr_init``).
    The child gets every signal at its default (32 and 33 included) and an empty signal mask.
    """
    import ctypes  # loaded with the functions

    c = _load()
    attr = ctypes.create_string_buffer(_ATTR_BYTES)
    actions = ctypes.create_string_buffer(_ATTR_BYTES)
    _check(c["posix_spawnattr_init"](attr))
    try:
        _check(c["posix_spawn_file_actions_init"](actions))
        try:
            flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
            if new_session:
                flags |= POSIX_SPAWN_SETSID
            elif new_group:  # a session's leader leads its group already (setpgid: EPERM)
                flags |= POSIX_SPAWN_SETPGROUP
            _check(c["posix_spawnattr_setflags"](attr, flags))
            _check(c["posix_spawnattr_setsigdefault"](attr, c["default_set"]))
            _check(c["posix_spawnattr_setsigmask"](attr, c["empty_set"]))
            for source, target in dup2:
                _check(c["posix_spawn_file_actions_adddup2"](actions, source, target))
            if cwd_fd is not None:
                _check(c["posix_spawn_file_actions_addfchdir_np"](actions, cwd_fd))
            words = [os.fsencode(word) for word in argv]
            c_argv = (ctypes.c_char_p * (len(words) + 1))(*words, None)
            c_env = _c_environ(env)
            pid = ctypes.c_int(0)
            _check(c["posix_spawn"](ctypes.byref(pid), os.fsencode(path), actions, attr,
                                    c_argv, c_env), path)
            return pid.value
        finally:
            c["posix_spawn_file_actions_destroy"](actions)
    finally:
        c["posix_spawnattr_destroy"](attr)


def _c_environ(env):
    """``env`` as a NULL-terminated array of ``NAME=value``; built once for the dict a Spawner
    passes every time (its original environment), which nobody changes."""
    import ctypes

    global _env_cache
    cached, array = _env_cache
    if cached is env:
        return array
    pairs = [os.fsencode(key) + b"=" + os.fsencode(value) for key, value in env.items()]
    array = (ctypes.c_char_p * (len(pairs) + 1))(*pairs, None)
    _env_cache = (env, array)
    return array


def _check(result, filename=None):
    """posix_spawn and its helpers return an error number instead of setting errno."""
    if result != 0:
        if filename is None:
            raise OSError(result, os.strerror(result))
        raise OSError(result, os.strerror(result), filename)
