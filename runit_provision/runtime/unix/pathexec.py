"""runtime/unix: the one PATH search — runit's ``pathexec_run()`` and what it would find.

A name with a ``/`` is used as it is. Otherwise each PATH entry is tried in order, an empty
entry meaning ``.``; with no PATH at all, ``/bin:/usr/bin`` (pathexec_run.c). The PATH is the
one the C tool would see: the caller's *original* environment (``environ.original_environ``),
not the interpreter's ``os.environ``.

* ``exec_search``: exec the program as runit does (chpst): ENOENT goes on silently,
  EACCES/EPERM/EISDIR go on but are remembered, any other error stops the search.
* ``exec_program``: ``exec_search`` with ``os.execve``, as chpst and sandbox-run exec.
* ``find_program``: the file that search would reach — for a caller that cannot exec itself
  away but must name the program to another (runit-init's exec of runit after its own PATH
  rule, the tree's posix_spawn of a hosted logger's chpst).
"""

import errno
import os
import signal
import stat

DEFAULT_PATH = "/bin:/usr/bin"  # pathexec_run's, when there is no PATH
_GOES_ON = (errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR)


def candidates(program, path):
    """The names tried for ``program`` on ``path`` (None: no PATH), in order.

    >>> candidates("sv", "/usr/bin::/bin")
    ['/usr/bin/sv', './sv', '/bin/sv']
    >>> candidates("./run", None), candidates("sv", None)
    (['./run'], ['/bin/sv', '/usr/bin/sv'])
    """
    if "/" in program:
        return [program]
    return ["%s/%s" % (directory or ".", program)
            for directory in (DEFAULT_PATH if path is None else path).split(":")]


def exec_search(program, argv, env, path, execve):
    """runit's pathexec_run(): ``execve(name, argv, env)`` for each candidate; returns the errno
    to report when none could be exec'd. ``execve`` returns an errno instead of raising (the
    caller's wrapper: it knows what its own argv quirks need)."""
    saved = 0
    failure = errno.ENOENT
    for name in candidates(program, path):
        failure = execve(name, argv, env)
        if failure != errno.ENOENT:
            saved = failure
            if failure not in _GOES_ON:
                return failure
    return saved or failure


def find_program(program, path):
    """The first candidate that is an executable regular file, or None."""
    for name in candidates(program, path):
        try:
            if stat.S_ISREG(os.stat(name).st_mode) and os.access(name, os.X_OK):
                return name
        except OSError:
            continue
    return None


def exec_program(program, argv, env, path):
    """``exec_search`` with ``os.execve``, as a C runit tool execs its program (chpst,
    sandbox-run): the signals the interpreter ignores given back their defaults first.
    Returns the errno to report if it cannot. ENOEXEC stops the search like any other error:
    no shell fallback."""
    _restore_signals()
    return exec_search(program, argv, env, path, _execve)


def _execve(path, argv, env):
    if not argv[0] and path.endswith("/"):
        # chpst '': every candidate is "DIR/", which execve() can never run. Python refuses an
        # empty argv[0] outright, so let the kernel give its errno with a stand-in name.
        argv = ["program"] + argv[1:]
    try:
        os.execve(path, argv, env)
    except OSError as exc:
        return exc.errno or errno.EINVAL
    except ValueError:
        # Python refuses an empty argv[0] (chpst -b '') and "" as a variable name.
        return errno.EINVAL
    return errno.EINVAL  # not reached: execve() returns only on failure


def _restore_signals():
    # The interpreter ignores SIGPIPE and SIGXFSZ; an ignored signal stays ignored across
    # exec, so hand the program the defaults a C tool would have passed on.
    for name in ("SIGPIPE", "SIGXFSZ"):
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, signal.SIG_DFL)
