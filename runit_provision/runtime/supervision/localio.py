"""runtime/supervision: a supervisor's file work on directories of its own identity, done at
once — the ``io`` every supervisor, supervise/ writer and tree uses unless it supervises a
user's tree from root's (then agentio.AgentIO does the same work through that user's agent).

Each method that gives a result calls ``done(result)`` before it returns, where an agent's
would call it once the agent answered: code written against one works with both.
"""

from ...errors import FatalError
from ...protocol.eventdir import EventPoster
from . import servicedir


class LocalIO:
    """``servicedir``'s functions, called in this process."""

    is_remote = False

    @staticmethod
    def list_services(directory, done, limit=None):
        _answer(done, OSError, servicedir.list_services, directory, limit)

    @staticmethod
    def open_service(directory, done, find_started=None, starting=None):
        _answer(done, FatalError, servicedir.open_service, directory, find_started, starting)

    @staticmethod
    def open_fifo(base_fd, prefix, name, flags, done):
        done(servicedir.open_fifo(base_fd, prefix, name, flags))

    @staticmethod
    def write_files(base_fd, files, prefix, warn):
        """Each of ``files`` — ``(in place, path, data)`` — in its order: in place
        (servicedir.write_in_place) or the ``.new`` way (servicedir.write_new); each failure
        said through ``warn``."""
        for in_place, path, data in files:
            write = servicedir.write_in_place if in_place else servicedir.write_new
            failed = write(base_fd, path, data, prefix)
            if failed is not None:
                warn(*failed)

    @staticmethod
    def remove(base_fd, path):
        servicedir.remove(base_fd, path)

    @staticmethod
    def when_done(callback):
        """agentio.AgentIO.when_done: here every piece of work is done already."""
        callback()

    @staticmethod
    def together():
        """agentio.AgentIO.together's block: here each piece of work is done at once."""
        return _AT_ONCE

    @staticmethod
    def event_poster(base_fd):
        """The side's ``supervise/event/`` (protocol/eventdir.py), kept by this process."""
        return EventPoster(base_fd)


class _AtOnce:
    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        return False


_AT_ONCE = _AtOnce()


def _answer(done, failure, work, *args):
    """``done`` with what ``work(*args)`` gives, or with the ``failure`` it raised."""
    try:
        found = work(*args)
    except failure as exc:
        found = exc
    done(found)


LOCAL = LocalIO()
