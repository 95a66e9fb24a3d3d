"""runtime: the environment a tool was started with, for the programs it starts.

Not ``os.environ``: under the C/POSIX locale the interpreter sets ``LC_CTYPE=C.UTF-8`` in its
own environment before our first line runs (PEP 538), and every child would inherit it —
a service under our runsv, its hooks and sv's ``./check`` would run in another locale than
under the C tools. The kernel keeps the block exec() received in ``/proc/self/environ``;
``os.environ`` is the fallback where /proc is missing. Duplicates: the first one wins, as
with getenv().
"""

import os


def original_environ(proc_file="/proc/self/environ"):
    """The environment this process was exec'd with, as an ordered dict of str."""
    try:
        fd = os.open(proc_file, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return dict(os.environ)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:
        return dict(os.environ)
    finally:
        os.close(fd)
    environ = {}
    for entry in b"".join(chunks).split(b"\0"):
        key, equals, value = entry.partition(b"=")
        if equals and key:
            environ.setdefault(os.fsdecode(key), os.fsdecode(value))
    return environ
