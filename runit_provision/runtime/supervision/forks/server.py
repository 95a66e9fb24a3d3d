"""runtime/supervision: the fork server — a small, clean Python process from which a tree run by
root forks the processes that become another identity: users' trees and logger hosts.

A process forked from the running tree keeps a private copy of every page the tree writes after
the fork (3–4 MB, even for a tree of one service), and it carries a copy of whatever the tree
had read. The fork server is exec'd instead (``python -S -I``, an environment of the C
allocator's settings alone: ``_SERVER_ENVIRON``), when a tree first needs it: it imports what
its children run, runs a throwaway tree of a few services, freezes the collector's generations
so that no collection walks (and so copies) them, and then only waits on its socket. Its children
share its pages, and they do not change under them: the server writes nothing between forks.

Each child is forked twice — the server forks, that child forks the helper and exits — so the
helper is re-parented to the nearest subreaper, the tree (``servicetree.become_subreaper``): it
is the tree's child, reaped by the tree's loop, as a spawned process would be. The middle child
reads the requests waiting (one batch: a tree's start asks for all its users' agents at once),
forks each and answers it at once, before the next (``_answer_batch``: an answer is always true
— a child whose answer cannot go out is killed and reaped, so a request answered ``error`` has
no process), and exits once all are answered, so the tree knows the pid of its new child before
the child can be reaped; the server itself only peeks at the channel, forks and waits for the
middle child (what it runs between two forks stays, a copy, in the child forked before:
``serve``).

The channel is a SOCK_SEQPACKET socket pair, one message per datagram, fields NUL-separated:

    tree -> server   KIND FIELD...            + the descriptors the child needs
    server -> tree   ready                    (once, when the server can fork)
                     pid PID | error ERRNO    (one answer to each request, in their order, by
                                              the middle child — by the server for those a
                                              middle child that failed did not answer)

Kinds (``_CHILDREN``): ``host`` — a logger host of another identity (identityhost.serve);
``agent`` — a user's tree's agent (agent.run). The tree never waits for an answer: what asked waits
(side.NotYet) and is called back from the loop; a server that does not answer within
``ANSWER_SECONDS`` is killed, and what asked is started the old way (exec'd). The tree's side
is ``ForkServer``, the server's ``serve``.
"""

import errno
import os

try:
    import _signal as signal  # the C module: `signal`'s wrappers make an enum of every number
except ImportError:  # pragma: no cover - other interpreters
    import signal
import sys

from ...unix.diag import warn
from ...unix.fsname import fsdecode
from ...unix.seqpacket import receive
from ..engine.side import NotYet

ANSWER_SECONDS = 5.0  # a fork answers in well under a millisecond; a loaded machine is slow
BROKEN_SECONDS = 60.0  # after a server could not start: how long processes start the old way
READY_SECONDS = 30.0  # its start (an interpreter, imports, a throwaway tree) on a loaded machine
_MESSAGE_MAX = 65536
_MAX_FDS = 8
CHANNEL_FD = 3  # where the server finds its end of the channel
_MSG_PEEK, _MSG_DONTWAIT = 0x02, 0x40  # socket's, as plain ints: `socket`'s are enum flags
# The warm-up tree's logged services: CPython 3.11 rewrites a function's code for speed (its
# "quickening") at its 8th call; a function run once per service is then rewritten here, in the
# server's pages, not in each user's tree (one service: 0.1 MB more of every tree's own pages;
# eight cost the server's start about 0.04 s; warming up several times over gains nothing more).
WARM_UP_SERVICES = 8
WARM_UP_SECONDS = 0.05  # at most: the warm-up tree is stopped once all of it runs
TITLE_ROOM = 512  # bytes of argument area its children may show their own names in
# The C library's allocator, read at the server's start and inherited by every child: one arena
# (a child is one thread), freed memory at the top of the heap given back from 64 kB, no padding
# when the heap grows — each user's tree keeps about 50 kB fewer pages of its own.
_SERVER_ENVIRON = {"MALLOC_ARENA_MAX": "1", "MALLOC_TRIM_THRESHOLD_": "65536",
                   "MALLOC_TOP_PAD_": "0"}


class ForkServer:
    """The tree's side: starts the server when first asked, forks through it.

    ``request(kind, fields, fds, done)`` asks for a child and returns at once; ``done(pid)``
    — the new child of the tree — or ``done(OSError)`` is called from the loop once the
    server has answered. It raises ``NotYet`` while the server starts (``on_ready``
    callbacks run once it can fork, or once it failed) and OSError when there is none to ask
    (the caller starts its process the old way). A server that could not start (it died
    before it said ready) is not tried again for ``BROKEN_SECONDS``; one that does not answer
    within ``ANSWER_SECONDS`` is killed, and whatever it had not answered fails."""

    def __init__(self, loop, spawner, label):
        self.loop = loop
        self.spawner = spawner
        self.label = label
        self.pid = 0
        self.on_ready = []  # called once each, when the server is ready or failed (cleared)
        self.on_reaped = None  # called after the server has been reaped (a stopping tree waits)
        self._channel = None
        self._ready = False
        self._said_ready = False  # the server running (or last run) said it was ready
        self._closing = False
        self._broken_until = 0.0  # monotonic: until then, no server (a start failed)
        self._timer = None  # its start, or the oldest request not answered, is too slow then
        self._pending = []  # done callbacks, in the order of the requests

    def check(self):
        """Return when a request can go out now: NotYet while the server starts (started
        here, if need be), OSError when there is none to ask — what ``request`` raises, for
        a caller with work to do before it asks (done once, when the answer can come)."""
        if self._closing:
            raise OSError(errno.ESHUTDOWN, "the tree is stopping")
        if self.loop.monotonic() < self._broken_until:
            raise OSError(errno.EAGAIN, "the fork server could not start")
        if not self._ready:
            self._start()
            if self.loop.monotonic() < self._broken_until:
                raise OSError(errno.EAGAIN, "the fork server could not start")
            raise NotYet()

    def request(self, kind, fields, fds, done):
        self.check()
        from ...unix.seqpacket import send
        message = b"\0".join([kind] + [os.fsencode(str(field)) for field in fields])
        try:
            send(self._channel, message, fds)
        except OSError as exc:  # its socket full or gone: it is not keeping up
            self._give_up(exc)
            raise
        self._pending.append(done)
        if self._timer is None:
            self._timer = self.loop.call_later(ANSWER_SECONDS, self._too_slow)

    def close(self):
        """The tree stops: the server sees its channel close and exits (it is reaped)."""
        self._closing = True
        self.on_ready = []
        self._drop_channel()
        self._fail_pending(OSError(errno.ESHUTDOWN, "the tree is stopping"))

    # -- the server process -----------------------------------------------------------------
    def _start(self):
        if self.pid:
            return  # starting
        import fcntl
        import socket
        tree_end, server_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # above the number it is to take in the child: a source must not be a target
        server_fd = fcntl.fcntl(server_end.fileno(), fcntl.F_DUPFD_CLOEXEC, CHANNEL_FD + 1)
        server_end.close()
        try:
            argv = [sys.executable, "-S", "-I", "-c", _boot_code(), "x" * TITLE_ROOM]
            self.pid = self.spawner.spawn(argv, extra_fds=[(server_fd, CHANNEL_FD)],
                                          env=_SERVER_ENVIRON)
        except OSError as exc:
            tree_end.close()
            self._broken(exc)
            return
        finally:
            os.close(server_fd)
        tree_end.setblocking(False)
        self._channel = tree_end
        self._said_ready = False
        self.loop.add_reader(tree_end.fileno(), self._receive)
        self.loop.watch_child(self.pid, self._reaped)
        self._timer = self.loop.call_later(READY_SECONDS, self._too_slow)

    def _too_slow(self):
        """Not ready, or not answering, in time: killed (its reaping fails what waited)."""
        self._timer = None
        if self.pid:
            warn(self.label, "the fork server does not answer, killing it")
            self.spawner.kill(self.pid, signal.SIGKILL)

    def _receive(self):
        """Its messages: ``ready``, then one answer to each request, in their order."""
        while self._channel is not None:
            try:
                data = self._channel.recv(64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:  # gone: its reaping says what that means
                self._drop_channel()
                return
            if not self._ready:
                if data == b"ready":
                    self._ready = self._said_ready = True
                    self._restart_timer()
                    self._wake_waiting()
                continue
            if self._pending:
                done = self._pending.pop(0)
                self._restart_timer()
                done(answer_from_message(data))

    def _restart_timer(self):
        if self._timer is not None:
            self._timer.cancel()
        self._timer = (self.loop.call_later(ANSWER_SECONDS, self._too_slow) if self._pending
                       else None)

    def _broken(self, exc=None):
        """A server could not start: processes are started the old way for a while."""
        warn(self.label, "unable to start the fork server, starting processes the old way "
             "for %d s" % BROKEN_SECONDS, exc)
        self._broken_until = self.loop.monotonic() + BROKEN_SECONDS
        self._wake_waiting()

    def _wake_waiting(self):
        """Whoever waits for the server asks again: it is ready, or it is broken (OSError)."""
        waiting, self.on_ready = self.on_ready, []
        for callback in waiting:
            callback()

    def _give_up(self, exc):
        warn(self.label, "the fork server does not take a request, killing it", exc)
        self._drop_channel()
        if self.pid:
            self.spawner.kill(self.pid, signal.SIGKILL)

    def _drop_channel(self):
        self._ready = False
        if self._channel is not None:
            self.loop.remove_reader(self._channel.fileno())
            self._channel.close()
            self._channel = None

    def _fail_pending(self, exc):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, []
        for done in pending:
            done(exc)

    def _reaped(self, _pid, _wait_status):
        self.pid = 0
        self._drop_channel()
        self._fail_pending(OSError(errno.EPIPE, "the fork server is gone"))
        if not self._said_ready and not self._closing:
            self._broken()
        if self.on_reaped is not None:
            self.on_reaped()


def answer_from_message(data):
    """A server's answer: the pid, or an OSError.

    >>> answer_from_message(b"pid\\x004242"), answer_from_message(b"error\\x0011").errno
    (4242, 11)
    >>> answer_from_message(b"what").errno == errno.EPROTO
    True
    """
    words = data.split(b"\0")
    if len(words) == 2 and words[0] == b"pid" and words[1].isdigit():
        return int(words[1])
    if len(words) == 2 and words[0] == b"error" and words[1].isdigit():
        number = int(words[1])
        return OSError(number, os.strerror(number))
    return OSError(errno.EPROTO, "the fork server answered %r" % data[:40])


def _boot_code():
    """What the server's ``python -S -I -c`` runs: this very package, whatever ``sys.path``
    the tree had (a virtualenv's site-packages, the launcher's ``current`` link)."""
    package = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))))
    return ("import sys; sys.path.insert(0, %r); "
            "from runit_provision.runtime.supervision.forks.server import serve; serve()"
            % package)


# -- the server ------------------------------------------------------------------------------------
def serve():
    """The server's whole life: prepare, say ready, fork on request until the channel closes.

    Ready as soon as what an agent runs is warmed up: a tree run by root asks for its users'
    agents at its start, and they wait for this. The warm-up tree, which only logger hosts
    need, is run before the first host is forked — if no child was forked before it: each
    page the warm-up writes would then stay, a copy, in the children forked before (measured:
    3 MB, against the ~0.1 MB of its own code a host warms up by itself)."""
    import socket
    from ...unix.procname import show_runit_name
    from ..loggers.identityhost import close_all_but
    close_all_but({CHANNEL_FD})
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    show_runit_name("forkserver", ["(forks for a runsvdir tree)"], whole=True)
    channel = socket.socket(fileno=CHANNEL_FD)
    try:
        _preload()
    except Exception as exc:  # noqa: BLE001 — said; the tree starts its processes the old way
        warn("forkserver", "unable to prepare: %s: %s" % (type(exc).__name__, exc))
        os._exit(111)
    _settle(_warm_up_agents)
    channel.send(b"ready")
    # Between two forks the server runs as little Python as it can: every page it writes then
    # is a page the child forked before keeps a copy of for good (it shares the one from before
    # the write). So it only waits for a request (peeking: the 1-byte bytes is the
    # interpreter's own), forks and waits for that child — the middle one, which reads the
    # batch itself, forks each child asked for, answers and exits (``_middle``). Reading and
    # parsing here cost each child about 40 pages of ours. Only the first batch is read here:
    # nothing shares our pages yet, and whether it asks for a host decides the warm-up tree.
    batch = _requests(channel)
    if not batch:
        os._exit(0)  # the tree is gone (or done), or its socket failed: so are we
    if any(fields[0] == b"host" for fields, _ in batch):
        _settle(_warm_up_tree)
    peek, fork, waitpid = channel.recv, os.fork, os.waitpid
    while True:
        if batch is None:
            try:
                if not peek(1, _MSG_PEEK):
                    os._exit(0)  # the tree is gone (or done): so are we
            except InterruptedError:
                continue
            except OSError:
                os._exit(0)  # its socket failed
        try:
            middle = fork()
        except OSError as exc:
            _refuse(channel, batch, exc.errno or errno.EAGAIN)
            batch = None
            continue
        if middle == 0:  # pragma: no cover — the middle child
            _middle(channel, batch)
        if batch is not None:
            _close_all(batch)
            batch = None
        while True:
            try:
                _pid, status = waitpid(middle, 0)
                break
            except InterruptedError:
                continue
        if os.WIFEXITED(status) and os.WEXITSTATUS(status):  # the answers it owed
            for _ in range(os.WEXITSTATUS(status)):
                _answer(channel, b"error\0%d" % errno.ECHILD)


def _settle(warm_up):
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
    tidy_allocators()
    _look_up_again()


def _requests(channel):
    """Every request waiting on ``channel`` — the first waited for, the rest that came with it
    (a tree starting asks for all its users' agents at once) — as ``(fields, fds)``; [] once
    the tree is gone. The rest are read with MSG_DONTWAIT: the channel's own mode is the
    server's too (a middle child shares it), so it is never changed."""
    batch = []
    while True:
        try:
            data, fds, _cut = receive(channel, _MESSAGE_MAX, _MAX_FDS,  # fds: close-on-exec
                                      _MSG_DONTWAIT if batch else 0)
        except InterruptedError:
            continue
        except BlockingIOError:
            return batch
        if not data:
            _close_all(batch)
            return []
        batch.append((data.split(b"\0"), fds))


def _close_all(batch):
    for _, fds in batch:
        for fd in fds:
            os.close(fd)


# What the runtime imports when it first needs it (a module's import deferred to its first
# use keeps the tools' start fast) — here all at once: a child that has become a user may not be
# allowed to read this installation (an interpreter or a virtualenv under /root, 0700).
_STDLIB = ("ctypes", "errno", "fcntl", "grp", "ipaddress", "pwd", "resource", "select",
           "socket", "stat", "struct")
_ROOMS = ("protocol", "runtime.supervision.engine", "runtime.supervision.loggers",
          "runtime.supervision.tree", "runtime.supervision.users", "runtime.supervision.forks",
          "runtime.svlog", "runtime.unix")


def _preload():
    """Import now what every child runs: a child that has become a user may not be able to
    read this installation (a virtualenv under /root), and its imports would be its own
    pages, not shared ones. The C library's functions a child calls are made here too (a
    ctypes function object is made on its first use)."""
    import importlib
    from ...unix import inotify
    from ...unix.libc import libc
    from ..loggers import identityhost
    identityhost.preload()
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


def _warm_up_agents():
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


def _warm_up_tree():
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
    of an agent's start."""
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


def _middle(channel, batch):  # pragma: no cover — runs in the middle child, which always exits
    """The middle child: read the batch (unless the server did: its first), answer it
    (``_answer_batch``) and exit with the number of requests read and not answered, which the
    server answers for."""
    owed = 0
    try:
        if batch is None:
            batch = _requests(channel)
        owed = len(batch)
        owed = _answer_batch(channel, batch)
    except BaseException as exc:  # noqa: BLE001 — nothing may escape into the server's loop
        warn("forkserver", "unable to read a batch: %s: %s" % (type(exc).__name__, exc))
    finally:
        os._exit(min(owed, 255))


def _refuse(channel, batch, number):
    """No process to fork with: answer ``batch`` (or the request waiting, taken off the
    channel) with ``error NUMBER``."""
    if batch is None:
        try:
            data, fds, _cut = receive(channel, _MESSAGE_MAX, _MAX_FDS, _MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        if not data:
            return
        batch = [(data.split(b"\0"), fds)]
    _close_all(batch)
    for _ in batch:
        _answer(channel, b"error\0%d" % number)


def _answer(channel, message):
    try:
        channel.send(message)
    except OSError:
        os._exit(0)


def _answer_batch(channel, batch, fork=os.fork):
    """Fork the child each request of ``batch`` asks for and answer it at once, in order;
    return the number of requests left unanswered (0 once all are) — never raises.

    Every answer is true: ``pid`` names a child that runs, and a request answered ``error``
    (here, or by the server for those left unanswered) has none. So a failure in the middle
    of a batch — a fork that raises what is not an OSError, an answer that cannot be sent —
    ends the batch there, and the child whose answer did not go out is killed and reaped
    before anything else happens: the tree starts that one the old way, and one process of it
    runs, never two. Answering each as soon as it is forked (not once all are) also gives the
    tree its first agents' pids while the rest fork. ``fork`` is a seam for the tests."""
    done = 0
    try:
        for index in range(len(batch)):
            _fork_one(channel, batch, index, fork)
            done += 1
    except BaseException as exc:  # noqa: BLE001 — what is not answered, the server answers
        warn("forkserver", "unable to start children: %s: %s" % (type(exc).__name__, exc))
    return len(batch) - done


def _fork_one(channel, batch, index, fork):
    """Request ``index``'s child forked and its answer sent — or, when the answer cannot be
    sent, no child left (killed and reaped, the exception raised on). A child keeps nothing
    of the batch but its own request's descriptors."""
    fields, fds = batch[index]
    run = _CHILDREN.get(fields[0])
    if run is None:
        channel.send(b"error\0%d" % errno.EINVAL)
        return
    try:
        pid = fork()
    except OSError as exc:
        channel.send(b"error\0%d" % (exc.errno or errno.EAGAIN))
        return
    if pid == 0:  # pragma: no cover — the child
        try:
            for other, (_, theirs) in enumerate(batch):
                for fd in theirs if other != index else ():
                    os.close(fd)
            os.close(CHANNEL_FD)
            run([fsdecode(field) for field in fields[1:]], fds)  # never returns
        except BaseException as exc:  # noqa: BLE001 — this child ends here
            warn("forkserver", "unable to start a %s: %s: %s"
                 % (fsdecode(fields[0]), type(exc).__name__, exc))
        finally:
            os._exit(111)
    try:
        channel.send(b"pid\0%d" % pid)  # one datagram: sent whole, or not at all
    except BaseException:
        _kill_and_reap(pid)  # not answered: it must not run beside the one started instead
        raise


def _kill_and_reap(pid):
    """Our child ``pid``, killed and waited for: gone before its request is answered error."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    while True:
        try:
            os.waitpid(pid, 0)
            return
        except InterruptedError:
            continue
        except ChildProcessError:
            return


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
    ``/proc/self/stat``: 330 → 190 kB). Best effort: an interpreter whose statistics read
    otherwise fills nothing."""
    from ...unix.libc import libc
    for _ in range(2):  # filling frees a few blocks of its own: a second round takes those
        for size, free in _free_blocks(_allocator_statistics()):
            if size == 16:
                _FILLERS.extend(object() for _ in range(free))  # a bare object: 16 bytes
            elif size == 32:
                _FILLERS.extend(1 << 40 | n for n in range(free))  # an int of one digit: 28
            elif size > 33:
                _FILLERS.extend(bytes(size - 33) for _ in range(free))  # 33: a bytes' header
    libc().malloc_trim(0)
    _drain_free_lists()


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
    """``sys._debugmallocstats()``'s text, as bytes."""
    read_end, write_end = os.pipe()
    saved = os.dup(2)
    try:
        os.dup2(write_end, 2)
        os.close(write_end)
        sys._debugmallocstats()  # writes to fd 2, before the pipe can fill (a few kB)
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


def _run_host(fields, fds):
    identity = _loaded("loggers.hostedlogger").Identity
    uid, gids, title = int(fields[0]), [int(gid) for gid in fields[1].split(",")], fields[2]
    _loaded("loggers.identityhost").serve(fds[0], identity(uid, gids), fds[1], title)


def _run_agent(fields, fds):
    _loaded("users.agent").run(fields, fds)


_WING = __name__.rsplit(".", 2)[0]  # runit_provision.runtime.supervision


def _loaded(name):
    """A module of this package the server imported (``_preload``), taken as it is: in a
    child, an ``import`` statement would run importlib's own Python (``ModuleSpec.parent``),
    which CPython 3.11 keeps deep-frozen in the interpreter's data — pages of the child's own.
    """
    return sys.modules[_WING + "." + name]


_CHILDREN = {b"host": _run_host, b"agent": _run_agent}
