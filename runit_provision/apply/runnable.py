"""apply: whether a user can run the sv that drives their services — asked before anything is written.

A user's services are driven by sv run as that user (``runner.RunAs``: their uid and gid, no
supplementary groups). An sv installed where only root can reach it — a virtualenv under
``/root``, pyenv's interpreters in ``/root/.pyenv`` — fails there with ``Permission denied``
(exit 126 or 127), after the files were written; and a tree of that user's would run nothing
it needs from there. ``users_who_cannot_run(logins, identities, sv)`` is the fact the job
hands the plan (``Observation.cannot_run``) for every user of the data, looked at with the
host: the plan refuses each such user whose part it would change — before anything of theirs
is written, their first apply included (plan.py). ``why_not_runnable(argv, uid, gid)`` says
why, from the modes on the way: every directory of the path (as written, and of what
it resolves to) searchable, the file executable — a script readable too, and its ``#!``
interpreter runnable in turn; for ``python -m MODULE``, the interpreter and the package's
directory. The kernel's rule (path_resolution(7)): owner bits for the owner, else group bits
for the group, else the others' bits; root searches any directory and executes a file with
any x bit.
"""

import os
import posixpath
import stat

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT_DEPTH = 4  # a #! chain longer than this is not followed (the kernel's own limit is 4)


def why_not_runnable(argv, uid, gid):
    """None when ``uid``:``gid`` can run ``argv``, else ``(path, why)``: the first path that
    stops them and what it lacks. A command found through PATH (no ``/``) is not judged."""
    program = argv[0]
    if "/" not in program:
        return None
    found = _program(program, uid, gid, SCRIPT_DEPTH)
    if found is None and len(argv) > 2 and argv[1] == "-m":
        found = _readable_tree(PACKAGE_DIR, uid, gid)
    return found


def users_who_cannot_run(logins, identities, sv):
    """{login: (program, path, why)} of the ``logins`` who cannot run ``sv`` (the argv prefix
    that drives their services): the program, the first path that stops them and what it
    lacks (``cannot_run_words``). Only root switches to the user (runner.SubprocessRunner):
    anyone else runs sv as themselves, and nothing is judged; nor without ``identities``
    (owners left alone: no user to switch to). A login the accounts do not know is the
    planner's to say. Each uid:gid is judged once."""
    if os.geteuid() != 0 or identities is None:
        return {}
    judged, found = {}, {}
    for login in sorted(logins):
        try:
            uid, gid = identities.user(login)
        except KeyError:
            continue
        if uid == 0:
            continue
        if (uid, gid) not in judged:
            judged[uid, gid] = why_not_runnable(sv, uid, gid)
        if judged[uid, gid] is not None:
            found[login] = (sv[0],) + judged[uid, gid]
    return found


def cannot_run_words(login, found):
    """``user alice cannot run …/sv (/root: not searchable …)``, of ``users_who_cannot_run``'s
    ``found``; ``fix_for(found[1])`` says what to do."""
    program, path, why = found
    return "user %s cannot run %s (%s: %s)" % (login, program, path, why)


def fix_for(path):
    """What to do about ``path``, for the message."""
    return ("install runit-provision where every user can run it — `runit-provision "
            "install-runtime` (its launchers in /usr/local/bin, started by the system's "
            "python3), or a virtualenv outside /root made by the system's python3 (the Puppet "
            "module's /opt/runit-provision) — and run apply from there; or let every user "
            "pass %s (chmod o+x)" % path)


def _program(path, uid, gid, depth):
    found = _searchable_parents(path, uid, gid)
    if found is not None:
        return found
    try:
        real = os.path.realpath(path)
        info = os.stat(real)
    except OSError as exc:
        return path, exc.strerror.lower()
    if not stat.S_ISREG(info.st_mode):
        return real, "not a regular file"
    if not _allows(info, uid, gid, 1, is_dir=False):
        return real, "not executable by uid %d (%s)" % (uid, _mode(info))
    interpreter = _interpreter(real)
    if interpreter is None:
        return None
    if not _allows(info, uid, gid, 4, is_dir=False):
        return real, "a script not readable by uid %d (%s)" % (uid, _mode(info))
    if depth <= 0:
        return None
    found = _program(interpreter, uid, gid, depth - 1)
    if found is None:
        return None
    # the script itself is runnable: say that its interpreter is what stops the user
    return found[0], "%s — which keeps the user from %s, the interpreter %s's #! line " \
        "names" % (found[1], interpreter, real)


def _readable_tree(directory, uid, gid):
    """The package's directory: reached, listed and searched (its modules are read)."""
    found = _searchable_parents(posixpath.join(directory, "x"), uid, gid)
    if found is not None:
        return found
    info = os.stat(directory)
    if not _allows(info, uid, gid, 5, is_dir=True):
        return directory, "not readable by uid %d (%s)" % (uid, _mode(info))
    return None


def _searchable_parents(path, uid, gid):
    """The first directory on the way to ``path`` (as written, then as resolved) that
    ``uid`` cannot search."""
    for way in (os.path.abspath(path), os.path.realpath(path)):
        parent = posixpath.dirname(way)
        chain = []
        while True:
            chain.append(parent)
            if parent == "/":
                break
            parent = posixpath.dirname(parent)
        for directory in reversed(chain):
            try:
                info = os.stat(directory)
            except OSError as exc:
                return directory, exc.strerror.lower()
            if not _allows(info, uid, gid, 1, is_dir=True):
                return directory, "not searchable by uid %d (%s)" % (uid, _mode(info))
    return None


def _allows(info, uid, gid, bits, is_dir):
    """``bits`` (4 read, 1 execute/search) granted to ``uid``:``gid`` by ``info``'s mode."""
    mode = info.st_mode
    if uid == 0:
        return is_dir or bits & 1 == 0 or bool(mode & 0o111)
    if info.st_uid == uid:
        granted = (mode >> 6) & 7
    elif info.st_gid == gid:
        granted = (mode >> 3) & 7
    else:
        granted = mode & 7
    return granted & bits == bits


def _interpreter(path):
    """The interpreter a ``#!`` script names, or None (a binary)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(256)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    words = head[2:].split(b"\n", 1)[0].split()
    return os.fsdecode(words[0]) if words else None


def _mode(info):
    """``drwx------ 0:0``: the mode and owner, as ls shows them."""
    return "%s %d:%d" % (stat.filemode(info.st_mode), info.st_uid, info.st_gid)
