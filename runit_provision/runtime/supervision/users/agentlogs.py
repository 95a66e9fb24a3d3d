"""runtime/supervision/users: a user's loggers' file work, done by the user's agent for root's
tree.

Root's tree runs the loggers of a user's tree (the svlogd engine, on its loop) while every file
of the user's log directories is worked by the user's agent (agent.py): dirwork.py's functions,
asked one at a time (``AgentLogIO``, root's side) and done there (``work``, the agent's). What
costs in proportion to what the user logs or plants — rendering each line with its stamp,
listing a crowded directory — is that work, done in the user's process at the user's cost.

Each kind of work is one entry of ``KINDS``: its function, how its arguments go (fields and
descriptors), and how its result comes back — both directions in one place; its name and the
descriptors its answer carries are agentwire.REQUESTS', like every kind's. Root reads every
answer strictly (agentwire.py); an agent that sends what it may not is killed.
"""

import errno
import os

from ...svlog import dirwork
from ...svlog.dirwork import Blocked, Opening, Refused
from ...unix.fsname import fsdecode
from . import agentwire as wire


def _none(_answer, _fields, _fds):
    return None


def _fd(_answer, _fields, fds):
    if len(fds) != 1:
        raise wire.BadMessage("one descriptor wanted")
    return fds[0]


def _errno_field(exc):
    return b"" if exc is None else b"%d" % (exc.errno or errno.EIO)


def _exc_of(field):
    if not field:
        return None
    number = wire.number(field, 4096)
    return OSError(number, os.strerror(number))


def _resumed_field(size_before, resumed):
    """A write's size of ``current`` before it, sent only when it is asked again of the next
    agent (dirwork.write_current's ``resumed``): b"" the first time."""
    return b"%d" % size_before if resumed else b""


def _resumed_args(field):
    return (wire.number(field), True) if field else (None, False)


# -- each kind: (function, encode(args) -> (fields, fds), answer(result) -> (fields, fds),
#                decode(fields, fds) -> result) ------------------------------------------------
def _open_args(base_fd, name, limit):
    return [name, b"" if limit is None else limit], [base_fd]


def _open_work(fields, fds):
    limit = wire.number(fields[1]) if fields[1] else None
    return (fds[0], fsdecode(fields[0]), limit)


def _open_answer(found):
    fields = [int(found.config_read), found.config, len(found.config_problems)]
    for message, exc in found.config_problems:
        fields += [message, _errno_field(exc)]
    fields.append(b"-" if found.current is None else b"%d %d" % found.current)
    fields.append(wire.to_optional(found.unfinished))
    return fields, [found.dir_fd, found.lock_fd]


def _open_decode(fields, fds):
    if len(fds) != 2:
        raise wire.BadMessage("an open log directory's descriptors")
    count = wire.number(fields[2], 64)
    problems = [(wire.text(fields[3 + 2 * at]), _exc_of(fields[4 + 2 * at]))
                for at in range(count)]
    rest = fields[3 + 2 * count:]
    if len(rest) != 2 or len(fields[1]) > dirwork.CONFIG_MAX:
        raise wire.BadMessage("an open log directory")
    current = None
    if rest[0] != b"-":
        size, mode = rest[0].split(b" ")
        current = (wire.number(size), wire.number(mode, 1 << 32))
    return Opening(fds[0], fds[1], fields[1], problems, fields[0] == b"1", current,
                   wire.optional(rest[1]))


def _name_decode(fields, _fds):
    return wire.text(fields[0], 64), wire.number(fields[1])


def _write_decode(fields, fds):
    return wire.number(fields[0]), fds[0] if fds else -1


def _rendered_decode(fields, fds):
    last = wire.number(fields[2], 256) if fields[2] else None
    return (wire.number(fields[0]), fds[0] if fds else -1, fields[4],
            wire.number(fields[1], 4096), last)


def _prune_decode(fields, _fds):
    count = wire.number(fields[0], 1 << 16)
    leftovers = [(wire.text(fields[1 + 2 * at], 64), _exc_of(fields[2 + 2 * at]))
                 for at in range(count)]
    rest = fields[1 + 2 * count:]
    oldest = (wire.text(rest[0], 64), _exc_of(rest[1])) if rest[0] else None
    return leftovers, oldest


def _free_decode(fields, _fds):
    return (wire.text(fields[0], 64), _exc_of(fields[1])) if fields[0] else None


def _names_decode(fields, _fds):
    if len(fields) > 4096:
        raise wire.BadMessage("too many names")
    return [wire.text(field, 64) for field in fields]


def _processor_decode(fields, fds):
    if len(fds) != 4:
        raise wire.BadMessage("a processor's descriptors")
    return fds


KINDS = {
    wire.LOPEN: (dirwork.open_log_dir, _open_args, _open_work, _open_answer, _open_decode),
    wire.LNAME: (dirwork.fresh_name,
                 lambda dir_fd, stamp, suffix: ([stamp, suffix], [dir_fd]),
                 lambda fields, fds: (fds[0], wire.number(fields[0]), fsdecode(fields[1])),
                 lambda found: ([found[0], found[1]], []), _name_decode),
    wire.LCUR: (dirwork.open_current, lambda dir_fd: ([], [dir_fd]),
                lambda fields, fds: (fds[0],), lambda fd: ([], [fd]),
                lambda f, fds: _fd(0, f, fds)),
    wire.LMODE: (dirwork.set_mode, lambda fd, mode: ([mode], [fd]),
                 lambda fields, fds: (fds[0], wire.number(fields[0], 1 << 16)),
                 lambda _: ([], []), lambda f, fds: None),
    wire.LSYNC: (dirwork.sync, lambda fd: ([], [fd]), lambda fields, fds: (fds[0],),
                 lambda _: ([], []), lambda f, fds: None),
    wire.LWRITE: (dirwork.write_current,
                  lambda dir_fd, fd, data, size_before, resumed=False: (
                      [b"".join(data) if type(data) is list else data,
                       _resumed_field(size_before, resumed)], [dir_fd, fd]),
                  lambda fields, fds: (fds[0], fds[1], fields[0]) + _resumed_args(fields[1]),
                  lambda found: ([found[0]], [found[1]] if found[1] >= 0 else []), _write_decode),
    wire.LRENDER: (dirwork.write_rendered,
                   lambda dir_fd, fd, head, block, size_before, resumed=False: (
                       [head, block, _resumed_field(size_before, resumed)], [dir_fd, fd]),
                   lambda fields, fds: (fds[0], fds[1], fields[0], fields[1])
                   + _resumed_args(fields[2]),
                   lambda found: ([found[0], found[3], b"" if found[4] is None else found[4],
                                   b"", found[2]], [found[1]] if found[1] >= 0 else []),
                   _rendered_decode),
    wire.LMV: (dirwork.rename, lambda dir_fd, old, new: ([old, new], [dir_fd]),
               lambda fields, fds: (fds[0], fsdecode(fields[0]), fsdecode(fields[1])),
               lambda _: ([], []), lambda f, fds: None),
    wire.LRM: (dirwork.unlink, lambda dir_fd, name: ([name], [dir_fd]),
               lambda fields, fds: (fds[0], fsdecode(fields[0])), lambda _: ([], []),
               lambda f, fds: None),
    wire.LCHMOD: (dirwork.chmod, lambda dir_fd, name, mode: ([name, mode], [dir_fd]),
                  lambda fields, fds: (fds[0], fsdecode(fields[0]),
                                       wire.number(fields[1], 1 << 16)),
                  lambda _: ([], []), lambda f, fds: None),
    wire.LPRUNE: (dirwork.prune,
                  lambda dir_fd, keep, protected: ([keep] + list(protected), [dir_fd]),
                  lambda fields, fds: (fds[0], wire.number(fields[0]),
                                       [fsdecode(field) for field in fields[1:]]),
                  lambda found: ([len(found[0])] + sum(([name, _errno_field(exc)]
                                                         for name, exc in found[0]), [])
                                 + ([found[1][0], _errno_field(found[1][1])] if found[1]
                                    else [b"", b""]), []),
                  _prune_decode),
    wire.LFREE: (dirwork.free_space,
                 lambda dir_fd, keep, protected: ([keep] + list(protected), [dir_fd]),
                 lambda fields, fds: (fds[0], wire.number(fields[0]),
                                      [fsdecode(field) for field in fields[1:]]),
                 lambda found: ([found[0], _errno_field(found[1])] if found else [b"", b""], []),
                 _free_decode),
    wire.LUNPROC: (dirwork.unprocessed,
                   lambda dir_fd, busy, limit: ([busy or b"", b"" if limit is None else limit],
                                                [dir_fd]),
                   lambda fields, fds: (fds[0], fsdecode(fields[0]) or None,
                                        wire.number(fields[1], 4097) if fields[1] else 4096),
                   lambda names: (list(names), []), _names_decode),
    wire.LPROC: (dirwork.processor_files, lambda dir_fd, base: ([base], [dir_fd]),
                 lambda fields, fds: (fds[0], fsdecode(fields[0])),
                 lambda opened: ([], list(opened)), _processor_decode),
    wire.LKEEP: (dirwork.keep_unfinished,
                 lambda dir_fd, rewrite, content: ([int(rewrite), content], [dir_fd]),
                 lambda fields, fds: (fds[0], fields[0] == b"1", fields[1]),
                 lambda _: ([], []), lambda f, fds: None),
    wire.LUNKEEP: (dirwork.remove_unfinished, lambda dir_fd: ([], [dir_fd]),
                   lambda fields, fds: (fds[0],), lambda _: ([], []), lambda f, fds: None),
}
_KIND_OF = {entry[0]: kind for kind, entry in KINDS.items()}
# Writes to ``current``: asked again of the next agent after one died owing the answer, they
# say so, and what the dead one wrote is not written twice (dirwork.write_current).
_WRITES = (wire.LWRITE, wire.LRENDER)


# -- the agent's side ----------------------------------------------------------------------------
def work(kind, fields, fds):
    """Do one kind of work the agent was asked (``fields``, ``fds``: the request's): the
    answer's fields and descriptors. Refused and OSError are the caller's to answer."""
    function, _, arguments, answer, _ = KINDS[kind]
    return answer(function(*arguments(fields, fds)))


def refusal(exc):
    """The answer fields of a log directory refused (dirwork.Refused)."""
    return [b"refused", exc.message, _errno_field(exc.cause)]


# -- root's side -----------------------------------------------------------------------------------
class _Try:
    __slots__ = ("answers", "index", "pending")

    def __init__(self):
        self.answers, self.index, self.pending = [], 0, False


class AgentLogIO:
    """dirwork's functions, done by a user's agent (``agent_io``: the tree's AgentIO): a call
    is Blocked until answered, and the step that made it tried again then (``wake``)."""

    __slots__ = ("agent", "_tries", "_unsure")

    is_remote = True

    def __init__(self, agent_io):
        self.agent = agent_io
        self._tries = {}  # key -> _Try: the answers a step's calls were given so far
        self._unsure = set()  # keys whose last write's agent died before it answered

    def attempt(self, key):
        found = self._tries.get(key)
        if found is not None:
            found.index = 0

    def done(self, key):
        self._tries.pop(key, None)

    def call(self, key, wake, function, *args):
        found = self._tries.get(key)
        if found is None:
            found = self._tries[key] = _Try()
        if found.index < len(found.answers):
            answer = found.answers[found.index]
            found.index += 1
            if isinstance(answer, BaseException):
                raise answer
            return answer
        if found.pending:
            raise Blocked()
        found.pending = True
        kind = _KIND_OF[function]
        is_write = kind in _WRITES
        # a write the last agent may have done is asked again as such (``resumed``)
        again = {"resumed": True} if is_write and key in self._unsure else {}
        fields, fds = KINDS[kind][1](*args, **again)

        def answered(answer):
            found.pending = False
            if isinstance(answer, OSError):
                # The agent went before answering (killed): no answer, no error of the
                # directory's. The step is tried again from its start once the next agent
                # runs — an open raising this instead left that logger never started. A
                # write it may have done is asked again as such: the same write, the same
                # size of current before it (the logger's queue and size wait for the answer).
                if self._tries.get(key) is found:
                    del self._tries[key]
                if is_write:
                    self._unsure.add(key)
                self.agent.on_agent.append(wake)
                return
            self._unsure.discard(key)
            found.answers.append(self._decoded(kind, answer))
            wake()
        self.agent.request([kind] + list(fields), fds, answered)
        raise Blocked()

    def _decoded(self, kind, answer):
        try:
            if not answer.ok:
                answer.close()
                fields = answer.fields
                if fields[:1] == [b"refused"]:
                    return Refused(wire.text(fields[1]), _exc_of(fields[2]))
                return _exc_of(fields[1] if fields[:1] == [b"errno"] else b"%d" % errno.EIO)
            return KINDS[kind][4](answer.fields, answer.fds)
        except (wire.BadMessage, IndexError, ValueError) as exc:
            answer.close()
            self.agent.refuse(wire.BadMessage(str(exc)))
            return OSError(errno.EPROTO, "the agent answered what it may not")

    def send(self, function, *args, done=None):
        """``function(*args)`` by the agent, in order with the rest; ``done(outcome)`` when
        it answered: True done, False failed, None the agent went first (maybe not done).
        Without ``done`` (a removal: ``unfinished`` once its line is written, a failed
        processor's ``.t``), one the agent took with it is asked of the next: an
        ``unfinished`` left, the next logger on the directory took the line written already
        for its own and wrote it again, the writer's next line joined to it."""
        kind = _KIND_OF[function]
        fields, fds = KINDS[kind][1](*args)
        if done is None:
            self.agent.request_again([kind] + list(fields), fds[0])
            return

        def answered(answer):
            if isinstance(answer, OSError):
                done(None)
                return
            answer.close()
            done(bool(answer.ok))
        self.agent.request([kind] + list(fields), fds, answered)

    def spawn(self, spawner, argv, done, cwd_fd=None, stdin_fd=None, stdout_fd=None,
              extra_fds=()):
        self.agent.spawn(argv, done, cwd_fd=cwd_fd, stdin_fd=stdin_fd, stdout_fd=stdout_fd,
                         extra_fds=extra_fds, env=getattr(spawner, "environ", None))

    def watch(self, loop, pid, callback):
        self.agent.processes.watch(pid, callback)
