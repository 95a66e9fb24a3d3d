"""startup: writing an entry of the kept Configs into the cache's directory — a new file renamed
over the old, the least recently written pruned past a bound — only after the inputs were
read: a view whose Config is kept never imports this. What an entry holds, what it is called
and when one is kept are cached_config.py's, which hands it here made; this module knows
nothing of it.
"""

import marshal
import os


def keep(place, name, entry, max_entries):
    """Writes the entry (plain values, ``marshal``'s) as file ``name`` in ``place`` (a new file
    renamed over the old), then leaves at most ``max_entries`` there; what cannot be written
    is not kept, silently: the cache only saves time."""
    temporary = os.path.join(place, ".%s.%d" % (name, os.getpid()))
    try:
        data = marshal.dumps(entry)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                     | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.rename(temporary, os.path.join(place, name))
        _prune(place, max_entries)
    except (OSError, ValueError):
        try:
            os.unlink(temporary)
        except OSError:
            pass


def _prune(place, max_entries):
    """At most ``max_entries`` entries: the least recently written go."""
    entries = []
    for name in os.listdir(place):
        if name.startswith("config-"):
            try:
                entries.append((os.lstat(os.path.join(place, name)).st_mtime_ns, name))
            except OSError:
                pass
    for _, name in sorted(entries)[:-max_entries]:
        try:
            os.unlink(os.path.join(place, name))
        except OSError:
            pass
