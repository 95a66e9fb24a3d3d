"""importing: the entries of a service directory runsv does not read, carried as they are.

``conf`` (what a run script sources: Void Linux's ``[ -r conf ] && . ./conf``), every other
regular file (``files:``) and every link (``links:``, a ``run``, ``finish``, ``check``,
``conf`` or ``log/run`` that is a link included) — docs/data-format.md. What the data cannot
hold is named, never dropped silently: a FIFO, a socket, a device, a file larger than import
reads, one that is not text, an empty directory, a dot-name (``.meta/`` is a package's). Apply
leaves those as they are. Pure: the host was read into the ``Found`` already.
"""

from ..protocol.layout import CONF, LOG_DIR, SVLOGD_OWNED
# KEYED: written by the keys of their own (run, finish, … — recognise and assemble read them)
from ..schema.files import CONTROL_CHARS, DEFAULT_FILE_MODE, KEYED, LINKABLE, LOG_KEYED


class Carried:
    """``conf`` (a value of the ``conf`` key, or None), ``files`` and ``links`` (values of
    those keys), ``not_carried`` (a line for each entry left out, and why)."""

    def __init__(self):
        self.conf, self.files, self.links, self.not_carried = None, {}, {}, []


def carried(found, has_log):
    """The ``Carried`` of ``found``; ``has_log``: the data keeps a logger (without one, no
    file in ``log/`` can be carried)."""
    out = Carried()
    entries = found.entries
    # svlogd's own directories (a log/run's ./main): its output, never data
    logs = sorted({path.rsplit("/", 1)[0] for path in entries
                   if "/" in path and path.rsplit("/", 1)[1] in SVLOGD_OWNED})
    out.not_carried += ["%s/: svlogd's log directory" % path for path in logs]
    for path in sorted(entries):
        entry = entries[path]
        parts = path.split("/")
        if not path or any(path == log or path.startswith(log + "/") for log in logs):
            continue
        if entry.kind == "link" and path in LINKABLE:
            out.links[path] = entry.target
            continue
        if _is_keyed(parts):
            continue
        if parts[0].startswith("."):
            if len(parts) == 1:
                out.not_carried.append("%s%s: a dot-name (.meta/ is a package's mark)"
                                       % (path, "/" if entry.kind == "dir" else ""))
            continue
        if parts[0] == LOG_DIR and not has_log:
            out.not_carried.append("%s: in a log/ the data has no logger for" % path)
            continue
        if entry.kind == "dir":
            if not any(other.startswith(path + "/") for other in entries):
                out.not_carried.append("%s/: an empty directory" % path)
            continue
        if entry.kind == "link":
            out.links[path] = entry.target
            continue
        text, why = file_text(entry)
        if text is None:
            out.not_carried.append("%s: %s" % (path, why))
            continue
        value = text if entry.mode == DEFAULT_FILE_MODE else {"content": text,
                                                             "mode": "%04o" % entry.mode}
        if path == CONF:
            out.conf = value
        else:
            out.files[path] = value
    return out


def file_text(entry):
    """The text of a regular file as ``conf`` and ``files`` hold it, or (None, why).

    >>> from .found import FoundEntry
    >>> file_text(FoundEntry("conf", "file", 0o644, 0, 0, b"OPTS='-x'\\r\\n"))
    ("OPTS='-x'\\r\\n", None)
    >>> file_text(FoundEntry("logo", "file", 0o644, 0, 0, b"PNG\\x00\\x1a"))
    (None, 'not text (control characters): the data holds text only')
    """
    if entry.content is None:
        return None, entry.unread or "not a regular file"
    try:
        text = entry.content.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8 text: the data holds text only"
    if CONTROL_CHARS.search(text):
        return None, "not text (control characters): the data holds text only"
    return text, None


def _is_keyed(parts):
    return parts[0] in KEYED or (parts[0] == LOG_DIR and (
        len(parts) == 1 or parts[1] in LOG_KEYED))


def instance_of(found, target, sv_dir):
    """The service whose file a link of ``found`` points to, when it is a sibling in
    ``sv_dir`` (``../agetty-generic/run``, ``/etc/sv/agetty-generic/run``), else None.

    >>> class F: base = "/etc/sv/agetty-tty1"
    >>> instance_of(F, "../agetty-generic/run", "/etc/sv")
    'agetty-generic'
    >>> instance_of(F, "/usr/share/x/run", "/etc/sv") is None
    True
    """
    import posixpath
    path = posixpath.normpath(posixpath.join(found.base, target))
    parent = posixpath.dirname(posixpath.dirname(path))
    name = posixpath.basename(posixpath.dirname(path))
    return name if parent == sv_dir.rstrip("/") and name != posixpath.basename(found.base) \
        else None
