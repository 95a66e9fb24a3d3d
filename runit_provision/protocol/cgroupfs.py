"""protocol: a service's cgroup — the data's ``resources`` as cgroup v2 files, and the kernel's
own files read (docs/resources.md).

One home for the names both sides need: the generator renders ``resources`` into the words of
``runit-cgroup enter`` (``FILE=VALUE``), the runtime writes exactly those files, and ``status``,
``metrics`` and ``verify`` read them back. Values here are already checked (schema/): memory
in bytes, ``cpu_quota`` in percent of one CPU. Stdlib only, pure but for the subtree's walk.

A service's processes can be anywhere in its cgroup's subtree (a user divides the cgroup root's
tree hands it; any service may), so a stop waits on and signals the whole subtree and the
views count it: "empty" is the kernel's word for the whole subtree (``populated`` in
``cgroup.events``), the pids take a walk. The runtime's stop (runtime/unix/cgroup.py, under
our runsv and ``runsv-cgroup end``) and the views (host/cgroupread.py) read with the same two
functions, ``is_populated`` and ``subtree_pids``. The walk keeps no frame per level and one
descriptor open, and looks at no more than CGROUPS_MAX cgroups and PIDS_MAX pids (root bounds
what a user makes; a root service's subtree is root's own); each file opened refuses links
and never blocks, and is read up to a bound.
"""

import os
from collections import deque

RESOURCE_KEYS = ("memory_max", "memory_high", "tasks_max", "cpu_quota", "cpu_weight",
                 "io_weight")
STOP_MODES = ("group", "main")  # stop: the whole cgroup (default), or runit's main process only
CPU_PERIOD_USEC = 100000  # cpu.max's period: systemd's CPUQuotaPeriodSec= default
# The file each key sets, and the controller that file belongs to.
FILE_OF = {"memory_max": "memory.max", "memory_high": "memory.high", "tasks_max": "pids.max",
           "cpu_quota": "cpu.max", "cpu_weight": "cpu.weight", "io_weight": "io.weight"}
CONTROLLER_OF = {"memory.max": "memory", "memory.high": "memory", "pids.max": "pids",
                 "cpu.max": "cpu", "cpu.weight": "cpu", "io.weight": "io"}
# A tree's own processes, in a leaf of its cgroup: named so that systemd may place the tree there
# (DelegateSubgroup= takes no name beginning with "." or "_"); a service of that name has its
# cgroup escaped (``cgroup_name``).
SUPERVISE_LEAF = "supervise"
UNLIMITED = "max"
RECORD = "cgroup"  # supervise/cgroup: "PATH\n", the cgroup our runsv last started ./run in
ROOT_CGROUP = "/"  # the hierarchy's root: what a record of root's tree may name a cgroup under
RECORD_MAX = 4096
SPEC_MAX = 512  # the service directory's ``cgroup`` file is read up to this many bytes


INFINITY = "infinity"  # the data's word for no limit (systemd's), None once read
_SIZE_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}  # 1024-based, as systemd
WEIGHT_RANGE = (1, 10000)  # cpu.weight's and io.weight's, as CPUWeight= and IOWeight=


def resource_value(key, value):
    """The typed value of the data's ``resources.KEY``: bytes for memory, a count for tasks,
    percent of one CPU for ``cpu_quota``, a weight; None for ``infinity``. ValueError saying
    what is expected otherwise. The schema and ``import --systemd`` both read with this.

    >>> [resource_value("memory_max", "256M"), resource_value("cpu_quota", "50%"),
    ...  resource_value("tasks_max", "infinity"), resource_value("io_weight", 100)]
    [268435456, 50, None, 100]
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(_EXPECTED[key])
    text = str(value).strip()
    if text == INFINITY and key not in ("cpu_weight", "io_weight"):
        return None
    if key == "cpu_quota":
        number = text[:-1] if isinstance(value, str) and text.endswith("%") else ""
    elif key.startswith("memory_") and text[-1:] in _SIZE_UNITS:
        number = text[:-1]
    else:
        number = text
    if not number.isdigit() or not number.isascii():
        raise ValueError(_EXPECTED[key])
    found = int(number)
    if key.startswith("memory_") and text[-1:] in _SIZE_UNITS:
        found *= _SIZE_UNITS[text[-1]]
    low, high = WEIGHT_RANGE if key.endswith("_weight") else (1, None)
    if found < low or (high is not None and found > high):
        raise ValueError(_EXPECTED[key])
    return found


_EXPECTED = {
    "memory_max": "expected bytes: a whole number, or one with K, M, G or T (1024-based), "
                  "or infinity",
    "memory_high": "expected bytes: a whole number, or one with K, M, G or T (1024-based), "
                   "or infinity",
    "tasks_max": "expected a whole number of tasks (1 or more), or infinity",
    "cpu_quota": "expected a percent of one CPU, e.g. '50%' (200% is two CPUs), or infinity",
    "cpu_weight": "expected a whole number from 1 to 10000",
    "io_weight": "expected a whole number from 1 to 10000",
}


def settings(resources):
    """``[(file, value)]`` for ``resources`` (a key -> value hash, keys of RESOURCE_KEYS), in
    RESOURCE_KEYS order; ``None`` as a value means "no limit".

    >>> settings({"memory_max": 268435456, "cpu_quota": 50, "io_weight": 100})
    [('memory.max', '268435456'), ('cpu.max', '50000 100000'), ('io.weight', 'default 100')]
    >>> settings({"tasks_max": None})
    [('pids.max', 'max')]
    """
    out = []
    for key in RESOURCE_KEYS:
        if key not in resources:
            continue
        value = resources[key]
        if value is None:
            text = UNLIMITED if key != "cpu_quota" else "max %d" % CPU_PERIOD_USEC
        elif key == "cpu_quota":
            text = "%d %d" % (value * CPU_PERIOD_USEC // 100, CPU_PERIOD_USEC)
        elif key == "io_weight":
            text = "default %d" % value
        else:
            text = "%d" % value
        out.append((FILE_OF[key], text))
    return out


# What each file holds when nothing limits it: written where a spec no longer says the file,
# so that a limit dropped from the data is gone at the next start or ``runsv-cgroup limits``.
UNSET = {"memory.max": UNLIMITED, "memory.high": UNLIMITED, "pids.max": UNLIMITED,
         "cpu.max": "%s %d" % (UNLIMITED, CPU_PERIOD_USEC), "cpu.weight": "100",
         "io.weight": "default 100"}


def unset_settings(said):
    """``[(file, value)]`` resetting every limit file that ``said`` (a spec's settings) does
    not set, in FILE_OF's order.

    >>> unset_settings([("memory.max", "1024"), ("cpu.max", "max 100000")])
    [('memory.high', 'max'), ('pids.max', 'max'), ('cpu.weight', '100'), ('io.weight', 'default 100')]
    """
    named = {name for name, _ in said}
    return [(name, UNSET[name]) for name in FILE_OF.values() if name not in named]


def is_within(path, base):
    """Whether cgroup ``path`` is ``base`` or below it, by ``path_from_record``'s rule.

    >>> is_within("/a/web", "/a/web"), is_within("/a/web/x", "/a/web"), is_within("/a/webx", "/a/web")
    (True, True, False)
    >>> is_within("/a/web/../root", "/a/web")
    False
    """
    return path == base or path_from_record(path.encode(), base) is not None


def controllers_for(resources):
    """The controllers ``resources`` need, sorted.

    >>> controllers_for({"memory_max": 1, "memory_high": 1, "tasks_max": 3})
    ['memory', 'pids']
    """
    return sorted({CONTROLLER_OF[FILE_OF[key]] for key in resources})


def parse_setting(word):
    """``FILE=VALUE`` (a word of ``runit-cgroup enter``) -> ``(file, value)``; ValueError for
    a file that is not one of ours, so the helper never writes another cgroup file.

    >>> parse_setting("pids.max=64")
    ('pids.max', '64')
    """
    name, sep, value = word.partition("=")
    if not sep or name not in CONTROLLER_OF or not value or "\n" in value:
        raise ValueError("not a resource setting: %r" % word)
    return name, value


def cgroup_name(service):
    """The cgroup name of service directory ``service``: its own, escaped as systemd escapes
    cgroup names — ``_`` before one that would be the tree's leaf, a kernel file's
    (``cgroup.``, a controller's prefix) or that begins with ``_``.

    >>> [cgroup_name(n) for n in ("web", "supervise", "_x", "memory.hog", "my.app")]
    ['web', '_supervise', '__x', '_memory.hog', 'my.app']
    """
    prefix = service.split(".", 1)[0] if "." in service else None
    if service == SUPERVISE_LEAF or service.startswith("_") or prefix in (
            "cgroup", "cpu", "cpuset", "io", "memory", "pids", "rdma", "hugetlb", "misc"):
        return "_" + service
    return service


def cgroup_of_process(text):
    """The cgroup v2 path in ``/proc/PID/cgroup`` (its ``0::`` line), or None without one.

    >>> cgroup_of_process("12:pids:/x\\n0::/system.slice/a.service\\n")
    '/system.slice/a.service'
    """
    for line in text.splitlines():
        if line.startswith("0::"):
            return line[3:]
    return None


def cgroup2_mount(mountinfo):
    """Where the cgroup v2 hierarchy is mounted, from ``/proc/self/mountinfo``, or None.

    >>> cgroup2_mount("30 1 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\\n")
    '/sys/fs/cgroup/unified'
    """
    for line in mountinfo.splitlines():
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        after = line.split(" - ", 1)[1].split()
        if after and after[0] == "cgroup2":
            return fields[4].replace("\\040", " ")
    return None


def keyed_counts(text):
    """A flat keyed file (``memory.events``, ``cgroup.events``, ``cpu.stat``) -> ``{key: int}``.

    >>> keyed_counts("low 0\\nhigh 3\\noom_kill 2\\n")["oom_kill"]
    2
    """
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            out[key] = int(value)
    return out


class Spec:
    """A service's ``cgroup`` file: what a stop ends and the files its cgroup gets."""

    __slots__ = ("stop", "settings")

    def __init__(self, stop="group", settings=()):
        self.stop, self.settings = stop, tuple(settings)

    def __eq__(self, other):
        return isinstance(other, Spec) and (self.stop, self.settings) == (
            other.stop, other.settings)

    def __repr__(self):
        return "Spec(%r, %r)" % (self.stop, self.settings)


DEFAULT_SPEC = Spec()


def spec_bytes(spec):
    """The ``cgroup`` file of ``spec``: one line, versioned like the other files ours reads.

    >>> spec_bytes(Spec("main", [("pids.max", "64")]))
    b'cgroup 1 stop=main pids.max=64\\n'
    """
    words = ["cgroup", "1", "stop=" + spec.stop] + [
        "%s=%s" % (name, value.replace(" ", "_")) for name, value in spec.settings]
    return (" ".join(words) + "\n").encode()


def spec_from_bytes(data):
    """``spec_bytes`` read back; ValueError (saying why) for anything else — a value with a
    blank (``io.weight=default 100``) is written with ``_`` for the blank.

    >>> spec_from_bytes(b"cgroup 1 stop=group cpu.max=50000_100000\\n").settings
    (('cpu.max', '50000 100000'),)
    """
    words = data.decode("ascii", "replace").split()
    if words[:2] != ["cgroup", "1"] or len(words) < 3 or not words[2].startswith("stop="):
        raise ValueError("not a cgroup file (cgroup 1 stop=… FILE=VALUE…)")
    stop = words[2][5:]
    if stop not in STOP_MODES:
        raise ValueError("stop=%s: not one of %s" % (stop, ", ".join(STOP_MODES)))
    settings = []
    for word in words[3:]:
        name, value = parse_setting(word)
        settings.append((name, value.replace("_", " ")))
    return Spec(stop, settings)


def path_from_record(data, top=ROOT_CGROUP):
    """``supervise/cgroup``'s cgroup path when it names one strictly under ``top``, its tree's
    cgroup — ``/`` for root's tree; for a user's tree the cgroup root's tree handed it, as
    root's record of ``runsvdir-LOGIN`` says — else None. Absolute, normalised, no ``..``: a
    user's tree writes its own record, and what it names is shown as its service's, so it
    may name the user's own cgroups and nothing else (not root's, not another user's).

    >>> path_from_record(b"/runit-provision/etc-service/web\\n")
    '/runit-provision/etc-service/web'
    >>> path_from_record(b"/a/../../etc\\n") is None
    True
    >>> top = "/rp/etc-service/runsvdir-alice"
    >>> path_from_record(b"/rp/etc-service/runsvdir-alice/web\\n", top)
    '/rp/etc-service/runsvdir-alice/web'
    >>> [path_from_record(record, top) for record in (
    ...     b"/rp/etc-service/web\\n", b"/rp/etc-service/runsvdir-bob/web\\n",
    ...     b"/rp/etc-service/runsvdir-alicex/web\\n", b"/rp/etc-service/runsvdir-alice\\n")]
    [None, None, None, None]
    """
    text = data.decode("ascii", "replace").rstrip("\n")
    parts = text.split("/")
    if not text.startswith("/") or "\n" in text or any(
            part in ("", ".", "..") or not part.isprintable() for part in parts[1:]):
        return None
    return text if is_under(text, top) else None


def is_under(path, top):
    """Whether cgroup ``path`` is strictly under cgroup ``top``.

    >>> is_under("/t/web/x", "/t/web"), is_under("/t/webx", "/t/web"), is_under("/t/web", "/t/web")
    (True, False, False)
    >>> is_under("/a", "/")
    True
    """
    return path.startswith(top.rstrip("/") + "/")


# What the views read in a service's cgroup: each file is there only where its controller is
# enabled (memory.*, pids.*) or the kernel is new enough (memory.peak); a missing one leaves
# its figure unknown.
USAGE_FILES = ("memory.current", "memory.peak", "memory.max", "memory.high", "pids.current",
               "pids.max", "memory.events", "cpu.stat", "cgroup.procs")


class Usage:
    """What a service's cgroup holds, as its files say: ``path`` (below the mount), each
    figure an int or None when unknown — ``memory``, ``memory_peak``, ``tasks`` (now),
    ``memory_max``, ``memory_high``, ``tasks_max`` (None too when unlimited: ``max``),
    ``oom_kills`` (memory.events' ``oom_kill``), ``cpu_usec`` (cpu.stat's ``usage_usec``) —
    and ``procs``: the pids in its ``cgroup.procs`` and those below it (None: unknown);
    ``unreadable``: why none of it could be read (its record is not one), else None."""

    __slots__ = ("path", "memory", "memory_peak", "memory_max", "memory_high", "tasks",
                 "tasks_max", "oom_kills", "cpu_usec", "procs", "unreadable")

    def __init__(self, path, **figures):
        self.path = path
        for name in Usage.__slots__[1:]:
            setattr(self, name, figures.get(name))

    def outliving(self, main_pid):
        """How many of its processes outlive the main process: every one listed when
        ``main_pid`` (0: none runs) is not among them, else none (the rest are its own)."""
        if not self.procs or (main_pid and main_pid in self.procs):
            return 0
        return len(self.procs)

    def __repr__(self):
        return "Usage(%r, %s)" % (self.path, ", ".join(
            "%s=%r" % (name, getattr(self, name)) for name in Usage.__slots__[1:]
            if getattr(self, name) is not None))


def usage_from_files(path, files):
    """The Usage of the cgroup at ``path`` from ``files`` (``{name: bytes}`` of USAGE_FILES;
    a name missing, or None, is a file that is not there). Whatever a file holds, never an
    exception: what is not a number is unknown.

    >>> usage = usage_from_files("/a", {"memory.current": b"4096\\n", "memory.max": b"max\\n",
    ...                                 "memory.events": b"oom 1\\noom_kill 1\\n",
    ...                                 "cgroup.procs": b"12\\n13\\n"})
    >>> usage.memory, usage.memory_max, usage.oom_kills, usage.procs, usage.tasks
    (4096, None, 1, (12, 13), None)
    """
    def text(name):
        data = files.get(name)
        return None if data is None else data.decode("ascii", "replace")

    def number(name):
        found = text(name)
        found = found.strip() if found is not None else None
        return int(found) if found and found.isdigit() else None

    def keyed(name, key):
        found = text(name)
        return None if found is None else keyed_counts(found).get(key)

    procs = text("cgroup.procs")
    if procs is not None:
        procs = tuple(int(word) for word in procs.split() if word.isdigit())
    return Usage(path, memory=number("memory.current"), memory_peak=number("memory.peak"),
                 memory_max=number("memory.max"), memory_high=number("memory.high"),
                 tasks=number("pids.current"), tasks_max=number("pids.max"),
                 oom_kills=keyed("memory.events", "oom_kill"),
                 cpu_usec=keyed("cpu.stat", "usage_usec"), procs=procs)


def setting_read_back(name, value, found):
    """Whether ``found`` (the text of file ``name`` read back from a cgroup) holds ``value``,
    the setting written there: the kernel keeps memory limits in whole pages (a value rounds
    down to one, a page being at most 64K) and ``io.weight`` lists per-device weights after
    its ``default`` line.

    >>> setting_read_back("memory.max", "1073741824", "1073741824\\n")
    True
    >>> setting_read_back("memory.max", "100000", "98304\\n")
    True
    >>> setting_read_back("cpu.max", "50000 100000", "max 100000\\n")
    False
    >>> setting_read_back("io.weight", "default 100", "default 100\\n8:0 200\\n")
    True
    """
    lines = found.splitlines()
    first = " ".join(lines[0].split()) if lines else ""
    if first == value:
        return True
    if name in ("memory.max", "memory.high") and value.isdigit() and first.isdigit():
        return 0 <= int(value) - int(first) < 65536 and int(first) % 4096 == 0
    return False


# -- the subtree, read from a descriptor ---------------------------------------------------
# The most cgroups a walk looks at: a delegated cgroup's descendants (root's bound) and itself.
CGROUPS_MAX = 4097
PIDS_MAX = 65536  # the most pids a walk gathers (a count beyond is at least this)
_READ_MAX = 1 << 20  # of one cgroup.procs (a pid and its newline: at most 8 bytes)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def is_populated(top_fd):
    """Whether a process is in the cgroup open at ``top_fd`` or below, as its
    ``cgroup.events`` says; None when it says nothing (no such file: the hierarchy's root, or
    a stand-in for cgroupfs) — the caller then walks (``subtree_pids``)."""
    text = _read(top_fd, "cgroup.events", 4096)
    if text is None:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "populated":
            return value.strip() != "0"
    return None


def subtree_pids(top_fd):
    """The pids in the cgroup open at ``top_fd`` and in every cgroup below it, the top's
    first (breadth first). A cgroup gone or not readable meanwhile is passed over."""
    pids, seen = [], 1
    pending = deque([""])  # paths relative to the top, each one of a cgroup still to read
    while pending and len(pids) < PIDS_MAX:
        here = pending.popleft()
        try:
            fd = os.open(here or ".", _DIR_FLAGS, dir_fd=top_fd)
        except OSError:
            continue
        try:
            text = _read(fd, "cgroup.procs", _READ_MAX) or ""
            pids.extend(int(word) for word in text.split()[:PIDS_MAX - len(pids)]
                        if word.isdigit())
            if seen < CGROUPS_MAX:
                for name in _directories_in(fd):
                    if seen >= CGROUPS_MAX:
                        break
                    seen += 1
                    pending.append(here + "/" + name if here else name)
        finally:
            os.close(fd)
    return pids


def _directories_in(fd):
    try:
        with os.scandir(fd) as entries:
            return [entry.name for entry in entries if entry.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _read(dir_fd, name, limit):
    """Up to ``limit`` bytes of regular file ``name`` in ``dir_fd`` as text; None without one."""
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        chunks, left = [], limit
        while left > 0:
            chunk = os.read(fd, min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks).decode("ascii", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)
