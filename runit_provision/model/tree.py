"""model: the in-memory tree a rendering produces — files, directories, links, removals.

Pure data: nothing here touches the disk. Paths are the final absolute paths on the host
(``--root`` only changes where the applier writes them). Iteration is sorted by path, so the
same data always gives the same tree, byte for byte.
"""

from ..errors import RenderError
from .record import Frozen, fill as _fill

# A directory's group bits when it has readers: the mask of their ACL, which holds r-x.
GROUP_READ_SEARCH = 0o050


class Entry(Frozen):
    """A frozen entry of the tree: built whole, never changed (assignment raises)."""

    __slots__ = ("path", "mode", "owner", "group")
    kind = "entry"
    readers = ()  # only a Directory has any


class File(Entry):
    """A regular file: ``content`` bytes, ``mode`` bits, ``owner``/``group`` names (None:
    the applier's default — root for system paths, the user's primary group in a user tree)."""

    __slots__ = ("content",)
    _fields = ("path", "content", "mode", "owner", "group")
    kind = "file"

    def __init__(self, path, content, mode=0o644, owner="root", group="root"):
        if isinstance(content, str):
            content = content.encode("utf-8")
        _fill(self, "path", path)
        _fill(self, "content", content)
        _fill(self, "mode", mode)
        _fill(self, "owner", owner)
        _fill(self, "group", group)


class Directory(Entry):
    """A directory: ``mode``, ``owner``/``group`` as a File's; ``readers``: the users (logins,
    or uids) an access ACL lets read and search it besides its owner and group
    (model/acl.py) — a property like its mode, planned, applied and verified with it.
    None of them: its ACL is not looked at."""

    __slots__ = ("readers",)
    _fields = ("path", "mode", "owner", "group", "readers")
    kind = "directory"

    def __init__(self, path, mode=0o755, owner="root", group="root", readers=()):
        if readers and mode & GROUP_READ_SEARCH != GROUP_READ_SEARCH:
            # the kernel shows an ACL's mask as the group bits: they must hold the readers'
            raise RenderError("%s: a directory with readers gives its group r-x too, not %04o"
                              % (path, mode))
        _fill(self, "path", path)
        _fill(self, "mode", mode)
        _fill(self, "owner", owner)
        _fill(self, "group", group)
        _fill(self, "readers", tuple(readers))


class Symlink(Entry):
    """A symbolic link ``path`` -> ``target`` (the service link into a service directory).
    ``yields``: a pointer for people, not for the supervision — where something else already
    is (a directory of an earlier layout), it is left as it is and said, never refused."""

    __slots__ = ("target", "yields")
    _fields = ("path", "target", "owner", "group", "yields")
    kind = "symlink"

    def __init__(self, path, target, owner="root", group="root", yields=False):
        _fill(self, "path", path)
        _fill(self, "target", target)
        _fill(self, "mode", 0o777)
        _fill(self, "owner", owner)
        _fill(self, "group", group)
        _fill(self, "yields", yields)


class Bytecode(Entry):
    """A module's ``.pyc``, written by the standard library's compiler (``compileall``), not
    by us: ``source`` is the module's path; ``header`` the 16 bytes the ``.pyc`` starts with
    when it is of that source, for the interpreter that judges it (PEP 552: magic, flags, the
    source's hash) — what is compared; the rest of the file is the compiler's."""

    __slots__ = ("source", "header")
    _fields = ("path", "source", "header", "mode", "owner", "group")
    kind = "bytecode"

    def __init__(self, path, source, header, mode=0o644, owner="root", group="root"):
        _fill(self, "path", path)
        _fill(self, "source", source)
        _fill(self, "header", header)
        _fill(self, "mode", mode)
        _fill(self, "owner", owner)
        _fill(self, "group", group)

    def difference(self, content):
        """Why a ``.pyc`` holding ``content`` is not this one, or None when it is.

        >>> pyc = Bytecode("/m.pyc", "/m.py", b"MAGI" + b"FLAG" + b"hash-of-")
        >>> for content in (b"MAGIFLAGhash-of-code", b"OTHRFLAGhash-of-",
        ...                 b"MAGI\\0\\0\\0\\0mtimsize", b"MAGIFLAGother-so"):
        ...     print(pyc.difference(content))
        None
        compiled by another interpreter
        not an unchecked hash-based .pyc
        compiled from another source
        """
        header = self.header
        if content[:len(header)] == header:
            return None
        if content[:4] != header[:4]:
            return "compiled by another interpreter"
        if content[4:8] != header[4:8]:
            return "not an unchecked hash-based .pyc"
        return "compiled from another source"


class Absent(Entry):
    """A path that must not exist (``ensure: absent``): the applier stops, unlinks, removes."""

    __slots__ = ()
    _fields = ("path",)
    kind = "absent"

    def __init__(self, path):
        _fill(self, "path", path)
        _fill(self, "mode", None)
        _fill(self, "owner", None)
        _fill(self, "group", None)


class Tree:
    """Entries by path; adding the same path twice with different entries is a RenderError."""

    __slots__ = ("_entries",)

    def __init__(self, entries=()):
        if isinstance(entries, Tree):
            self._entries = dict(entries._entries)  # checked when they were added there
            return
        self._entries = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry):
        if not entry.path.startswith("/") or "/../" in entry.path + "/":
            raise RenderError("not a clean absolute path: %r" % entry.path)
        known = self._entries.get(entry.path)
        if known is not None and known != entry:
            raise RenderError("%s is rendered twice, differently: %r and %r"
                              % (entry.path, known, entry))
        self._entries[entry.path] = entry
        return entry

    def __iter__(self):
        return iter([self._entries[path] for path in sorted(self._entries)])

    def __len__(self):
        return len(self._entries)

    def __contains__(self, path):
        return path in self._entries

    def __getitem__(self, path):
        return self._entries[path]

    def get(self, path, default=None):
        return self._entries.get(path, default)

    def paths(self):
        return sorted(self._entries)
