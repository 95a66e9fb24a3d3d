"""The daily views' fast path: writing an entry of the kept Configs into the cache's directory — a new file renamed
over the old, the least recently written pruned past a bound — only after the inputs were
read: a view whose Config is kept never imports this. What an entry holds, what it is called
and when one is kept are cached_config.py's, which hands it here made; this module knows
nothing of it.
"""

import marshal
import posix  # not os, on the daily views' path: protocol/without_os.py says why

from ..protocol.without_os import join


def keep(place, name, entry, max_entries):
    """Writes the entry (plain values, ``marshal``'s) as file ``name`` in ``place`` (a new file
    renamed over the old), then leaves at most ``max_entries`` there; what cannot be written
    is not kept, silently: the cache only saves time."""
    temporary = join(place, ".%s.%d" % (name, posix.getpid()))
    try:
        data = marshal.dumps(entry)
        fd = posix.open(temporary, posix.O_WRONLY | posix.O_CREAT | posix.O_EXCL | posix.O_NOFOLLOW
                     | posix.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[posix.write(fd, view):]
        finally:
            posix.close(fd)
        posix.rename(temporary, join(place, name))
        _prune(place, max_entries)
    except (OSError, ValueError):
        try:
            posix.unlink(temporary)
        except OSError:
            pass


def _prune(place, max_entries):
    """At most ``max_entries`` entries: the least recently written go."""
    entries = []
    for name in posix.listdir(place):
        if name.startswith("config-"):
            try:
                entries.append((posix.lstat(join(place, name)).st_mtime_ns, name))
            except OSError:
                pass
    for _, name in sorted(entries)[:-max_entries]:
        try:
            posix.unlink(join(place, name))
        except OSError:
            pass
