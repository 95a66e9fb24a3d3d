"""importing: a PATH of the command line as the host's absolute path, as the shell means it,
``--root`` taken into account (``host_path``); every source's PATHs are read through it.
"""

import os
import posixpath


def host_path(given, root_dir, cwd):
    """PATH as the host's absolute path, as the shell means it: an absolute one as it is, a
    relative one from ``cwd``. With ``--root DIR`` a path is the host's (``/etc/sv`` is
    ``DIR/etc/sv``); a relative one is taken from ``cwd`` too, which must then lie inside
    ``DIR`` (ValueError otherwise: where it points is not the host's).

    >>> host_path("sv/nginx", None, "/home/ann/void")
    '/home/ann/void/sv/nginx'
    >>> host_path("/etc/sv/", "/mnt/web1", "/tmp")
    '/etc/sv'
    >>> host_path("../sv", "/mnt/web1", "/mnt/web1/etc/service")
    '/etc/sv'
    """
    if given.startswith("/"):
        return posixpath.normpath(given)
    here = posixpath.normpath(posixpath.join(cwd, given))
    if root_dir is None:
        return here
    top = os.path.realpath(root_dir)
    if top == "/":
        return here
    if here != top and not here.startswith(top + "/"):
        raise ValueError("%s: a relative PATH with --root is taken from the current directory, "
                         "and %s is not inside %s: give the host's path (/etc/sv/NAME)"
                         % (given, here, top))
    return "/" + here[len(top):].lstrip("/")


def host_paths(paths, root_dir, cwd, problems):
    """``paths`` as the host's absolute paths (``host_path``); one that cannot be is a
    problem."""
    found = []
    for given in paths:
        try:
            found.append(host_path(given, root_dir, cwd or os.getcwd()))
        except ValueError as exc:
            problems.append(str(exc))
    return found
