"""runtime/unix: whether the runtime leans on CPython's internals here.

The C types the runtime calls through (unix/ffi.py) are made from ``_ctypes``, CPython's own
module, not ctypes' package. That is used on the CPythons it was measured on (``MEASURED``),
where the internal is there — and nowhere else: on a CPython this release does not know, on
another implementation, or with ``RUNIT_PROVISION_CPYTHON_INTERNALS=no`` in the environment of
the tree (``runsvdir``, which hands it to the fork server and so to its children), ctypes'
package is used instead. A process is then heavier, and does exactly the same: a new CPython
degrades the runtime to heavier, never to broken.
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
