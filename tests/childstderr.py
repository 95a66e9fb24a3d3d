"""What the commands a test ran said on stderr, kept for its report: a test that fails after
``subprocess.run`` shows each child's stderr under its failure, whatever its own assertion
message printed (a message of ``done.stdout`` alone hid the traceback that explained it).

``recording(found)`` wraps ``subprocess.run`` for the length of one test — setup, call and
teardown, so that a fixture's ``monkeypatch`` of it is undone inside — and ``report_text``
is the section ``tests/conftest.py`` adds to a failed test's report."""

import subprocess
from contextlib import contextmanager

KEPT_CHARS = 4000  # of each child's stderr: its end, where a traceback ends
KEPT_CHILDREN = 8  # the last ones a test ran


@contextmanager
def recording(found):
    """``subprocess.run`` appending ``(argv, exit, stderr)`` of each command whose stderr was
    captured to the list ``found``, while the block runs."""
    real = subprocess.run

    def run(*args, **kwargs):
        try:
            done = real(*args, **kwargs)
        except subprocess.CalledProcessError as exc:
            _keep(found, exc.cmd, exc.returncode, exc.stderr)
            raise
        except subprocess.TimeoutExpired as exc:
            _keep(found, exc.cmd, "killed at its timeout", exc.stderr)
            raise
        _keep(found, done.args, done.returncode, done.stderr)
        return done

    subprocess.run = run
    try:
        yield found
    finally:
        subprocess.run = real


def _keep(found, argv, code, stderr):
    if not stderr:
        return
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    found.append((argv, code, stderr[-KEPT_CHARS:]))
    del found[:-KEPT_CHILDREN]


def report_text(found):
    """Each kept child's command line, exit and stderr, as a report section shows them.

    >>> print(report_text([(["sh", "-c", "exit 3"], 3, "RecursionError\\n")]), end="")
    $ sh -c 'exit 3'   (exit 3)
    RecursionError
    """
    import shlex

    parts = []
    for argv, code, stderr in found:
        line = argv if isinstance(argv, str) else " ".join(shlex.quote(str(a)) for a in argv)
        parts.append("$ %s   (exit %s)\n%s%s" % (line, code, stderr,
                                                 "" if stderr.endswith("\n") else "\n"))
    return "".join(parts)
