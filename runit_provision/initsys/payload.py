"""initsys: the runtime's files — the stdlib-only part of the package, byte-compiled.

What is installed is the package's ``__init__.py`` (the version), ``errors.py``, ``protocol/``
and ``runtime/``: everything the nine programs import and nothing that imports Jinja2 or YAML
(tests/test_boundaries.py keeps it so). It comes from this running package, from a directory
holding one (``--source``), or from the project's wheel (``package_file: …whl``, as the
original module installed its RPM from the Puppet file server).

Each module gets a PEP 552 *unchecked* hash-based ``.pyc`` next to it in ``__pycache__``,
written by the standard library's ``compileall`` in an interpreter of its own (the applier's
step) and judged by its header alone: this interpreter's magic number and the source's hash.
Importing it never stats or hashes the source (the installed tree is converged as a whole; an
edited ``.py`` is drift that the next install reverts, and its ``.pyc`` is compiled again).
"""

import importlib.util
import os
import posixpath
import re
import sys
import zipfile

from ..errors import InstallError
from ..model.tree import Bytecode, Directory, File

PACKAGE = "runit_provision"
# What the runtime needs, relative to the package directory: files and whole sub-packages.
RUNTIME_FILES = ("__init__.py", "errors.py")
RUNTIME_PACKAGES = ("protocol", "runtime")
_VERSION = re.compile(r'^__version__\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)
# PEP 552 flags: bit 0 = hash-based, bit 1 = check the source
_UNCHECKED_HASH = (1).to_bytes(4, "little")


def is_runtime_file(relative):
    """True for a package-relative path the runtime needs (a module, not a cache).

    >>> [is_runtime_file(p) for p in ("errors.py", "runtime/sv.py", "protocol/layout.py")]
    [True, True, True]
    >>> [is_runtime_file(p) for p in ("render/users.py", "runtime/__pycache__/sv.pyc",
    ...                               "cli/main.py", "runtime/notes.txt")]
    [False, False, False, False]
    """
    parts = relative.split("/")
    if not relative.endswith(".py") or "__pycache__" in parts:
        return False
    return relative in RUNTIME_FILES or (len(parts) > 1 and parts[0] in RUNTIME_PACKAGES)


def package_sources(package_dir):
    """{package-relative path: source bytes} of the runtime's modules in ``package_dir``."""
    found = {}
    for name in RUNTIME_FILES:
        found[name] = _read(os.path.join(package_dir, name))
    for sub in RUNTIME_PACKAGES:
        top = os.path.join(package_dir, sub)
        if not os.path.isdir(top):
            raise InstallError("%s has no %s/: not a runit-provision package" % (package_dir, sub))
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in files:
                relative = os.path.relpath(os.path.join(folder, name), package_dir)
                relative = relative.replace(os.sep, "/")
                if is_runtime_file(relative):
                    found[relative] = _read(os.path.join(folder, name))
    return found


def wheel_sources(wheel):
    """The same, from the project's wheel file ``wheel``."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            found = {}
            for member in archive.namelist():
                if member.startswith(PACKAGE + "/"):
                    relative = member[len(PACKAGE) + 1:]
                    if is_runtime_file(relative):
                        found[relative] = archive.read(member)
    except (OSError, zipfile.BadZipFile) as exc:
        raise InstallError("cannot read the wheel %s: %s" % (wheel, exc)) from exc
    if "__init__.py" not in found or "runtime/sv.py" not in found:
        raise InstallError("%s is not a runit-provision wheel (no %s/runtime/sv.py)"
                           % (wheel, PACKAGE))
    return found


def running_package_dir():
    """This package's own directory (the files ``install-runtime`` copies by default)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sources_from(source):
    """The runtime's sources from ``source``: None (this package), a wheel, or a directory
    that is a package (has ``runtime/``) or holds one (``DIR/runit_provision``)."""
    if source is None:
        return package_sources(running_package_dir())
    if source.endswith(".whl"):
        return wheel_sources(source)
    if os.path.isdir(os.path.join(source, PACKAGE)):
        source = os.path.join(source, PACKAGE)
    return package_sources(source)


def version_of(sources):
    """The ``__version__`` of the package's ``__init__.py``."""
    match = _VERSION.search(sources.get("__init__.py", b"").decode("utf-8", "replace"))
    if match is None:
        raise InstallError("the runtime to install has no __version__ in its __init__.py")
    return match.group(1)


def pyc_header(source):
    """The 16 bytes an unchecked hash-based ``.pyc`` (PEP 552) of ``source`` starts with, for
    this interpreter: its magic number, the flags (hash-based, not checked) and the source's
    hash. A ``.pyc`` that starts so is of this source and this interpreter's release,
    whatever bytes the compiler wrote after them."""
    return importlib.util.MAGIC_NUMBER + _UNCHECKED_HASH + importlib.util.source_hash(source)


def cache_path(relative):
    """``runtime/sv.py`` -> ``runtime/__pycache__/sv.cpython-311.pyc`` (this interpreter's tag).
    """
    folder, name = posixpath.split(relative)
    pyc = "%s.%s.pyc" % (name[:-3], sys.implementation.cache_tag)
    return posixpath.join(folder, "__pycache__", pyc)


def payload_entries(sources, version_dir):
    """The entries of one installed version: directories, modules (0644) and their ``.pyc``
    (``Bytecode``: the applier has the standard library's compiler write them).

    ``version_dir`` is the final path (``/usr/local/lib/runit-provision/0.1.0``); modules are
    compiled under their final names, so tracebacks show the installed files.
    """
    base = posixpath.join(version_dir, PACKAGE)
    directories = {version_dir, base}
    files = []
    for relative in sorted(sources):
        path = posixpath.join(base, relative)
        pyc = posixpath.join(base, cache_path(relative))
        directories.update(_parents(path, base) + _parents(pyc, base))
        files.append(File(path, sources[relative], 0o644))
        files.append(Bytecode(pyc, path, pyc_header(sources[relative]), 0o644))
    return [Directory(path) for path in sorted(directories)] + files


def _parents(path, base):
    found = []
    folder = posixpath.dirname(path)
    while folder != base and folder.startswith(base + "/"):
        found.append(folder)
        folder = posixpath.dirname(folder)
    return found


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InstallError("cannot read %s: %s" % (path, exc)) from exc
