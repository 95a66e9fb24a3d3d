"""runtime/unix: whether the fork server and its children lean on CPython's internals here.

The fork server (supervision/forks/) makes its children small with what CPython does not
promise: it parses ``sys._debugmallocstats()``'s text to fill obmalloc's partly used pools and
to take the interpreter's free lists, gives the code an agent runs fresh copies side by side
(found by reading its bytecode's opcodes), and a user's agent starts its processes through
``_posixsubprocess.fork_exec``, whose arguments change from one version to the next. Each is
used on the CPythons it was measured on (``MEASURED``), where the internal is there — and
nowhere else: on a CPython this release does not know, on another implementation, or with
``RUNIT_PROVISION_CPYTHON_INTERNALS=no`` in the environment of the tree (``runsvdir``) the
server skips them all. Its children are then heavier (more pages of their own), and do
exactly the same: a new CPython degrades the fork server to heavier, never to broken.
"""

import os
import sys

# The CPythons each internal was measured and tested on (tests/other_pythons.py runs the
# runtime's tier under the oldest and the newest, the pure tier under each).
MEASURED = ((3, 9), (3, 10), (3, 11), (3, 12), (3, 13))
VARIABLE = "RUNIT_PROVISION_CPYTHON_INTERNALS"


def leans_on_internals(version=None, implementation=None, environ=None):
    """Whether CPython's internals may be used here: a measured CPython, not turned off.

    >>> leans_on_internals((3, 11), "cpython", {})
    True
    >>> leans_on_internals((3, 14), "cpython", {}), leans_on_internals((3, 11), "pypy", {})
    (False, False)
    >>> leans_on_internals((3, 9), "cpython", {VARIABLE: "no"})
    False
    """
    version = sys.version_info[:2] if version is None else tuple(version[:2])
    implementation = sys.implementation.name if implementation is None else implementation
    environ = os.environ if environ is None else environ
    return implementation == "cpython" and version in MEASURED \
        and environ.get(VARIABLE, "yes") != "no"
