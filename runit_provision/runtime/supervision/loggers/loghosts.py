"""runtime/supervision/loggers: a tree's log hosts — which of them runs the logger of a service's
log side, when its ``log/run`` is canonical (``LogHosts``).

Every class that runs loggers on the svlogd engine instead of exec'ing an svlogd is a *log
host*; each gives a logger the pid its ``log/supervise/pid`` shows, and the supervisor a logger
to signal (``signal``) whose ``host`` says what its work waits for (``waited_for``) and lets it
go once it ended (``logger_ended``):

- ``StandInLogHost`` (standinloghost.py): loggers of one identity on this loop, shown by a
  stand-in — the tree's own;
- ``IdentityLogHosts`` (identityloghosts.py): anyone else's, each identity's in a process of that
  identity, a logger host forked for it.

The logger itself is a ``HostedLogger`` (hostedlogger.py), on whichever loop runs it.
"""

import os

from .hostedlogger import OWN, HostedLogger, hostable
from .identityloghosts import IdentityLogHosts
from .standinloghost import StandInLogHost

_UNREAD = object()  # start_logger's ``found``: log/run not read yet


class LogHosts:
    """The log hosts of one tree: its own identity's on its loop (``own``), another
    identity's in a process of its own (``identities``, through the tree's fork server
    ``forks``; without one, such loggers are exec'd)."""

    __slots__ = ("own", "identities", "on_reaped")

    def __init__(self, loop, spawner, label, forks=None):
        self.own = StandInLogHost(loop, spawner, label)
        self.identities = IdentityLogHosts(loop, spawner.stderr_fd, label, forks)
        self.on_reaped = None  # called after a stand-in or a host has been reaped
        self.own.on_reaped = self.identities.on_reaped = self._reaped

    @property
    def pids(self):
        """Every stand-in and identity host not yet reaped."""
        return self.own.pids | self.identities.pids

    def _reaped(self):
        if self.on_reaped is not None:
            self.on_reaped()

    def close(self):
        """The tree is done: every stand-in and identity host sees EOF and exits."""
        self.own.close()
        self.identities.close()

    def start_logger(self, supervisor, found=_UNREAD):
        """Run the logger of ``supervisor``'s log side, when its ``log/run`` is canonical
        (hostedlogger.hostable; ``found``: what that gave, when the caller read it already):
        as the tree's own on its loop, or as another identity in that identity's host.
        ``(pid its log/supervise/pid shows, logger)``; ``(0, None)`` when it must be exec'd;
        NotYet while a host it waits for is not ready (``supervisor.host_ready`` then)."""
        if found is _UNREAD:
            found = hostable(supervisor.facts.log_run)
        if found is None:
            return 0, None
        canonical, identity = found
        if identity is not OWN:
            return self._start_apart(supervisor, canonical, identity)
        own = self.own
        pid = own.stand_in()  # OSError: this start fails, and is tried again
        reader = supervisor.log_reader()
        os.set_blocking(reader, False)
        spawner = supervisor.spawner
        hosted = HostedLogger(supervisor.loop, spawner, supervisor.log_fd, reader,
                              canonical.args, spawner.stderr_fd, own.scratch_pipe(),
                              supervisor.hosted_logger_ended)
        hosted.shown_pid, hosted.host = pid, own
        own.attach(pid, hosted)
        hosted.start()
        return pid, hosted

    def _start_apart(self, supervisor, canonical, identity):
        """The logger of another identity, in ``identity``'s host (identityloghosts.py), which
        gets the ``log/`` directory and a reading end of the pipe of its own, non-blocking."""
        def open_fds():
            reader = supervisor.log_reader()
            os.set_blocking(reader, False)
            return supervisor.log_fd, reader

        return self.identities.start(identity, canonical.user, canonical.args, open_fds,
                                     supervisor.hosted_logger_ended, supervisor.host_ready)
