"""runtime/supervision/forks: the fork server's preparation — what makes its children small.

Every page of the server's that a child writes becomes the child's own (copy on write), and
CPython writes to every object it touches: what a user's agent or a logger host costs is,
mostly, which of the server's pages it writes. So before it says it is ready the server imports
everything a child may run (``preload``: a child that has become a user may not be able to read
the installation), runs it (``warm_up_agents``: an agent's loop, every kind of request;
``warm_up_tree``: a small tree of hosted loggers, before the first logger host), gives the code
an agent runs fresh copies side by side (``_pack_agent_code``), freezes the collector, tidies
both allocators and fills the interpreter's type attribute cache with what an agent looks up
(``settle``). The figures each step saved are in docs/runsvdir.md ("The fork server").

What leans on CPython's internals — the allocator's statistics (``sys._debugmallocstats``),
the free lists, the code copies and the opcodes read to find them — runs only where
``unix/cpython.leans_on_internals()`` says so (a measured CPython, not turned off); elsewhere
it is skipped, and the children are heavier, never different: every step here is a cost
saved, none is a behaviour.
"""

import os

try:
    import _signal as signal  # not signal: its enum is 0.75 MB of root's tree (design.md)
except ImportError:  # pragma: no cover - other interpreters
    import signal
import sys

from ...unix.cpython import leans_on_internals
from ...unix.diag import warn

# The warm-up tree's logged services: CPython 3.11 rewrites a function's code for speed (its
# "quickening") at its 8th call; a function run once per service is then rewritten here, in the
# server's pages, not in each user's tree (one service: 0.1 MB more of every tree's own pages;
# eight cost the server's start about 0.04 s; warming up several times over gains nothing more).
WARM_UP_SERVICES = 8
WARM_UP_SECONDS = 0.05  # at most: the warm-up tree is stopped once all of it runs


def settle(warm_up):
    """Run ``warm_up`` here, then leave our pages as the children will share them: the
    collector's generations frozen (no collection in a child walks, and so copies, them),
    the allocators tidied (``tidy_allocators``) — once per warm-up, never before each fork:
    that would copy ~300 kB of ours into every child — and, last, the type attribute cache
    filled with what an agent looks up (``_look_up_again``)."""
    import gc
    try:
        warm_up()
    except Exception as exc:  # noqa: BLE001 — a cost, not a failure (a read-only /tmp)
        warn("forkserver", "unable to warm up, going on: %s: %s" % (type(exc).__name__, exc))
    gc.collect()
    gc.freeze()
    try:
        tidy_allocators()
        _look_up_again()
    except Exception as exc:  # noqa: BLE001 — a cost, not a failure (an allocator unlike ours)
        warn("forkserver", "unable to tidy up, going on: %s: %s" % (type(exc).__name__, exc))


# What the runtime imports when it first needs it (a module's import deferred to its first
# use keeps the tools' start fast) — here all at once: a child that has become a user may not be
# allowed to read this installation (an interpreter or a virtualenv under /root, 0700).
_STDLIB = ("errno", "fcntl", "grp", "ipaddress", "pwd", "resource", "select",
           "socket", "stat", "struct")
# Their order is where the objects an agent touches lie: users/ (agent.py, and with it what it
# imports) first, as the flat directory's "agent*" modules came before the rest of it (issue 45).
# The rooms in alphabetical order (engine, loggers and tree before users) spread what an agent
# runs over more of the server's pages, ~10 more of each agent's own (bench/pagediff.py: code
# and the big objects of the C heap, small ones of obmalloc's): an agent 1.41 → 1.45 MB of its
# own at 10 × 3, the same functions run (bench/RESULTS.md row 50).
_ROOMS = ("protocol", "runtime.supervision.users", "runtime.supervision.engine",
          "runtime.supervision.loggers", "runtime.supervision.tree", "runtime.supervision.forks",
          "runtime.svlog", "runtime.unix")


def preload():
    """Import now what every child runs: a child that has become a user may not be able to
    read this installation (a virtualenv under /root), and its imports would be its own
    pages, not shared ones. The C library's functions a child calls are made here too (a
    C function object is made on its first use)."""
    import importlib
    from ...unix import inotify
    from ...unix.libc import libc
    from ..loggers import identityloghosts
    identityloghosts.preload()
    libc().prctl  # noqa: B018 — made here, cached on the handle
    inotify._calls()
    package = __name__.split(".")[0]
    base = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    for name in _STDLIB:
        importlib.import_module(name)
    for room in _ROOMS:
        for entry in sorted(os.listdir(os.path.join(base, *room.split(".")))):
            if entry.endswith(".py") and entry != "__init__.py":
                importlib.import_module("%s.%s.%s" % (package, room, entry[:-3]))
    importlib.import_module(package + ".errors")


def warm_up_agents():
    """Run, once, here, each kind of request an agent answers (agent.warm_up): the interpreter
    rewrites a function's code the first times it runs it, and fills caches — done here, that
    happens once in pages the children share, not in each. After its first round the code it
    ran is packed (``_pack_agent_code``, the calls noted by ``sys.setprofile``), so that the
    rounds after rewrite the copies. Its scratch directory is made with ``os`` alone
    (``_scratch_directory``)."""
    from ..users.agent import warm_up
    base = _scratch_directory()
    ran = set()

    def note(frame, event, _arg):
        if event == "call":
            ran.add(frame.f_code)

    def pack():
        sys.setprofile(None)
        _pack_agent_code(ran)
    sys.setprofile(note)
    try:
        warm_up(os.path.join(base, "agent"), after_first=pack)
    finally:
        sys.setprofile(None)
        _remove_tree(base)


def warm_up_tree():
    """The same for what a logger host runs: a small tree of logged services
    (``WARM_UP_SERVICES``), its loggers hosted, started and stopped.

    Its scratch directory is made with ``os`` alone: ``tempfile`` and ``shutil`` would import
    ``random``, whose hook after every fork reseeds its generator in each child (about 90 kB of
    every child: the generator's state and the code that fills it)."""
    from ..engine.loop import EventLoop
    from ..tree.servicetree import ServiceTree
    from ..engine.spawn import Spawner
    base = _scratch_directory()
    try:
        for number in range(WARM_UP_SERVICES):
            service = os.path.join(base, "w%d" % number)
            os.makedirs(os.path.join(service, "log", "main"))
            for path, text in (("run", "exec sleep 100\n"), ("log/run", "exec svlogd ./main\n")):
                with open(os.path.join(service, path), "w") as handle:
                    handle.write("#!/bin/sh\n" + text)
                os.chmod(os.path.join(service, path), 0o755)
        loop = EventLoop()
        tree = ServiceTree(loop, base, Spawner(stderr_fd=2, environ={"PATH": "/usr/bin:/bin"}),
                           "warm-up", on_empty=loop.stop)
        tree.start()
        _stop_once_running(loop, tree, deadline=loop.monotonic() + WARM_UP_SECONDS)
        loop.run()
        loop.close()
    finally:
        _remove_tree(base)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)


def _pack_agent_code(ran):
    """Give every function an agent runs a new copy of its code, made now, one after the
    other, in pools of their own — before the warm-up's rounds that rewrite it.

    An agent forked from us copies every page it writes, and calling a function writes its
    code object (its reference count, and its counters until it is rewritten for speed). The
    code objects were made as their modules were imported, each in a page shared with code
    the agent never runs (root's side of the same modules, other modules'), so the ~170 that
    an agent runs sat in about a hundred pages; made anew here, side by side, they fill far
    fewer (an agent 1.57 → 1.48 MB of its own). Which ones: ``ran`` — the code the warm-up's
    first round ran (``sys.setprofile`` noted each call) — and every function of the modules
    of an agent's start. Only where the internals are leaned on (``leans_on_internals``):
    which code is whose, and what its opcodes look up, is read from CPython's bytecode."""
    if not leans_on_internals():
        return
    import gc
    import types
    from ...unix import libc, procname, procstat
    from ..users import agent
    started = {agent.__name__, libc.__name__, procname.__name__, procstat.__name__}
    functions = [found for found in gc.get_objects() if type(found) is types.FunctionType
                 and (found.__code__ in ran or found.__module__ in started)]
    ran.update(function.__code__ for function in functions)
    # ``replace`` reads each code's ``co_code``, a bytes made and kept (cached) on the code
    # at its first reading: made here, first, they do not sit between the copies
    for code in ran:
        code.co_code  # noqa: B018
    # read off the code as it is (dis reads co_code: on a copy, a new bytes each)
    _LOOKUPS[:] = _attribute_lookups(functions)
    tidy_allocators()  # the copies go to pools of their own, not to holes among other code
    copies = {}

    def copy(code):
        if code not in copies:
            consts = tuple(copy(const) if type(const) is types.CodeType and const in ran
                           else const for const in code.co_consts)
            copies[code] = code.replace(co_consts=consts)
        return copies[code]
    for function in functions:
        function.__code__ = copy(function.__code__)


# (object, name): the attributes an agent's code looks up on a module or a class of ours
_LOOKUPS = []


def _attribute_lookups(functions):
    """Each ``MODULE.name`` and ``self.name`` the code of ``functions`` (but the warm-up's
    own and ours) looks up — read, called or set — as ``(module or class, name)``: found in
    their bytecode."""
    import dis
    import types
    found = {}
    for function in functions:
        if function.__module__ == __name__ or function.__qualname__.startswith("warm_up"):
            continue
        cls = function.__globals__.get(function.__qualname__.split(".")[0])
        codes = [function.__code__]
        for code in codes:
            codes.extend(const for const in code.co_consts if type(const) is types.CodeType)
            before = None
            for instruction in dis.get_instructions(code):
                if instruction.opname in ("LOAD_ATTR", "LOAD_METHOD", "STORE_ATTR") \
                        and before is not None:
                    name = instruction.argval
                    if before.opname == "LOAD_GLOBAL":
                        owner = function.__globals__.get(before.argval)
                        if isinstance(owner, (types.ModuleType, type)):
                            found[id(owner), name] = owner, name
                    elif before.opname == "LOAD_FAST" and before.argval == "self" \
                            and isinstance(cls, type):
                        found[id(cls), name] = cls, name
                before = instruction
    return list(found.values())


def _look_up_again():
    """Look up, once more, every attribute an agent's code looks up on a module or a class
    of ours (``_LOOKUPS``) — the server's last act before it forks.

    The interpreter's type attribute cache (4096 entries, in libpython's data) holds a
    reference to the name of each entry: a lookup that misses it replaces the entry, and
    writes the reference counts of the name put in and of the name put out — each on a page
    of its own, which the agent then copies. Looked up here, after everything else the
    server ran, the entries an agent needs are in the cache already (its start's —
    ``os.setresuid``, ``select.epoll``… — never ran in the warm-up) and what the tidying
    and the warm-up's end put there is replaced here, not in each agent."""
    for owner, name in _LOOKUPS:
        try:
            getattr(owner, name, None)  # an instance's own: the class's entry says none
        except Exception:  # noqa: BLE001 — a module's __getattr__: a cost, not a failure
            pass


def _stop_once_running(loop, tree, deadline):
    """``tree.stop()`` as soon as every service and logger of the warm-up runs (what a child
    runs first is done by then), or at ``deadline``: the users' trees' start waits for it."""
    supervisors = [entry.service for entry in tree.entries.values() if entry.service]
    running = len(supervisors) == WARM_UP_SERVICES and all(
        side.pid for supervisor in supervisors for side in (supervisor.main, supervisor.log)
        if side is not None)
    if running or loop.monotonic() >= deadline:
        tree.stop()
        return
    loop.call_later(0.002, lambda: _stop_once_running(loop, tree, deadline))


def _scratch_directory():
    """A new directory of ours (0700), named unguessably: made by this very call, so nothing
    in it is anybody else's. On a tmpfs (``/dev/shm``) where there is one: the warm-up's file
    creations and fsyncs, a third of its time on a disk, cost nothing there; else ``/tmp``."""
    parents = [parent for parent in ("/dev/shm", "/tmp") if os.path.isdir(parent)]
    parents = parents or [os.getcwd()]
    for parent in parents:
        while True:
            path = os.path.join(parent, "runit-provision-warm-up-" + os.urandom(6).hex())
            try:
                os.mkdir(path, 0o700)
            except FileExistsError:
                continue
            except OSError:
                if parent is parents[-1]:
                    raise
                break  # not ours to write in (a read-only /dev/shm): the next
            return path


def _remove_tree(path):
    """``shutil.rmtree`` for a directory we made and alone may write in: entries removed
    where they are (a link is removed, never followed); what cannot be removed stays."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        entries = []
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                _remove_tree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            pass
    try:
        os.rmdir(path)
    except OSError:
        pass


# -- what a child's first allocations cost ----------------------------------------------------------
_FILLERS = []  # small objects kept for good: they fill the allocator's partly used pools


def tidy_allocators():
    """Leave both allocators so that a child's first allocations cost it few pages of its own:

    - CPython's (obmalloc) keeps each size of small object in 4 kB pools; a new object goes
      to a partly used one, in a free block left by an object freed before — after the
      warm-up, a few in each of many pools, so a child's first hundred objects would each
      write (copy) another page of ours. Every free block of a partly used pool is filled
      here (``sys._debugmallocstats`` says how many), so a child's new objects go, densely,
      to pools of its own;
    - the interpreter's free lists (tuples of each length, lists, dicts, floats): a freed one
      is kept for the next made, wherever it was — a child's tuples would go there first,
      each on a page of ours. Each is taken (and kept) here (``_drain_free_lists``);
    - the C library's: its small free chunks are merged (``malloc_trim``) — else a child's
      first larger allocation would merge them there, writing pages all over our heap.

    About 40 % fewer pages of a child's own for the same code (a child reading and parsing
    ``/proc/self/stat``: 330 → 190 kB). Best effort: the first two only where CPython's
    internals are leaned on (``leans_on_internals``), and an interpreter whose statistics
    read otherwise fills nothing; the third only with a C library that has ``malloc_trim``
    (glibc's)."""
    internals = leans_on_internals()
    if internals:
        _fill_pools()
    _trim_c_heap()
    if internals:
        _drain_free_lists()


def _fill_pools():
    """Fill every free block of obmalloc's partly used pools (``tidy_allocators``)."""
    for _ in range(2):  # filling frees a few blocks of its own: a second round takes those
        for size, free in _free_blocks(_allocator_statistics()):
            if size == 16:
                _FILLERS.extend(object() for _ in range(free))  # a bare object: 16 bytes
            elif size == 32:
                _FILLERS.extend(1 << 40 | n for n in range(free))  # an int of one digit: 28
            elif size > 33:
                _FILLERS.extend(bytes(size - 33) for _ in range(free))  # 33: a bytes' header


def _trim_c_heap():
    """``malloc_trim(0)`` where the C library has it (glibc; not musl)."""
    from ...unix.libc import libc
    try:
        trim = libc().malloc_trim
    except AttributeError:  # another C library: its heap stays as it is
        return
    trim(0)


def _drain_free_lists():
    """Take every object the interpreter's free lists hold (``sys._debugmallocstats``
    counts them), and keep it: a child's new tuples, lists, dicts and floats then come from
    pools of its own. Done last, and read without making a tuple or a list (a match object
    has no free list; the patterns compiled before the reading): whatever is freed after
    the reading goes back to a list."""
    import re
    tuples = re.compile(rb"(\d+) free (\d+)-sized PyTupleObjects")
    others = re.compile(rb"(\d+) free Py(Dict|List|Float)Objects")
    statistics = _allocator_statistics()
    for found in tuples.finditer(statistics):
        length = int(found[2])  # (None,) * 1 is that very tuple: (n,) is a new one
        _FILLERS.extend((None,) * length if length > 1 else (n,) for n in range(int(found[1])))
    for found in others.finditer(statistics):
        make = dict if found[2] == b"Dict" else list if found[2] == b"List" else float
        _FILLERS.extend(make() for _ in range(int(found[1])))


def _allocator_statistics():
    """``sys._debugmallocstats()``'s text, as bytes (none where the interpreter has none)."""
    statistics = getattr(sys, "_debugmallocstats", None)
    if statistics is None:
        return b""
    read_end, write_end = os.pipe()
    saved = os.dup(2)
    try:
        os.dup2(write_end, 2)
        os.close(write_end)
        statistics()  # writes to fd 2, before the pipe can fill (a few kB)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    os.set_blocking(read_end, False)
    chunks = []
    try:
        while True:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    except BlockingIOError:
        pass
    finally:
        os.close(read_end)
    return b"".join(chunks)


def _free_blocks(statistics):
    """``(block size, free blocks in partly used pools)`` for each size obmalloc serves."""
    import re
    rows = re.findall(rb"^\s*\d+\s+(\d+)\s+\d+\s+\d+\s+(\d+)\s*$", statistics, re.MULTILINE)
    return [(int(size), int(free)) for size, free in rows]
