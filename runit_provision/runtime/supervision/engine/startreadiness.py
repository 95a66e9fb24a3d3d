"""runtime/supervision/engine: what one service's ``./run`` declares of its readiness, wired.

At each start of ``./run`` the ``ready`` file is read again (an apply may change it) and the
start gets what it declares: ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC`` in its environment, or s6's
notification fd. The channel itself (notify.NotifyChannel) is made at the first start that
declares readiness, kept across restarts and told of each status of the main side; a service
that stops declaring readiness loses it and its ``supervise/readiness`` record.
"""

import os

from ....protocol.eventdir import READINESS as POSTED_READINESS
from ....protocol.layout import READINESS
from ....protocol.status import State
from .runpolicy import parsed_fact


class StartReadiness:
    """The readiness of ``service``'s (a Supervisor's) main side; ``channel`` the
    notify.NotifyChannel while ``./run`` declares readiness (None: it does not)."""

    __slots__ = ("service", "channel")

    def __init__(self, service):
        self.service = service
        self.channel = None

    def for_start(self):
        """``(spec, env, extra_fds, reader)`` for a ``./run`` starting now: the ReadySpec its
        ``ready`` file declares (None: none), and what ``for_spec`` gives under it."""
        spec = self._ready_spec()
        return (spec,) + self.for_spec(spec)

    def _ready_spec(self):
        """What the service's ``ready`` file declares, read at each start of ``./run`` (an
        apply may change it): a ReadySpec, or None (none, or one we cannot read — said)."""
        service = self.service
        if service.facts.ready is None:
            return None
        from ....protocol.readiness import BadReady, ready_spec_from_bytes
        return parsed_fact(service.facts.ready, ready_spec_from_bytes, BadReady,
                           "./ready: %s: ignored", service.warn)

    def for_spec(self, spec):
        """``(env, extra_fds, reader)`` for a ``./run`` under ``spec``: ``env`` with
        ``NOTIFY_SOCKET`` (None: the spawner's own), ``extra_fds`` with s6's notification fd
        (the writing end of a pipe as descriptor N; the caller closes our copy), ``reader``
        its reading end (None without). The channel is made at the first start that declares
        readiness and kept across restarts; a service that stopped declaring it loses it and
        its record."""
        service = self.service
        if spec is None:
            if self.channel is not None:
                self.close()
                service.main_files.remove_named(READINESS)
            return None, (), None
        if self.channel is None:
            from .notify import NotifyChannel
            self.channel = NotifyChannel(
                service.loop, service.main_files, service.clock, service.warn,
                kill=service.kill,
                written=lambda: service.post_event(service.main, POSTED_READINESS))
        try:
            if spec.kind == "fd":
                reader, writer = os.pipe2(os.O_CLOEXEC)
                if writer == spec.fd:  # a source must not be a target (spawn.py)
                    moved = os.dup(writer)
                    os.close(writer)
                    writer = moved
                return None, ((writer, spec.fd),), reader
            env = dict(service.spawner.environ, NOTIFY_SOCKET=self.channel.socket_address())
        except OSError as exc:
            service.warn("unable to make the readiness channel", exc)
            return None, (), None
        if spec.watchdog:  # sd_watchdog_enabled(3); no WATCHDOG_PID: the pid is not known yet
            env["WATCHDOG_USEC"] = str(spec.watchdog * 1_000_000)
        return env, (), None

    def started(self, pid, spec, reader):
        """``./run`` started as ``pid`` under ``spec``, ``reader`` the notification fd's
        reading end (None without): the channel follows it."""
        self.channel.started(pid, spec, reader, status_follows=True)

    def observe(self, status):
        """The main side's status was written: the channel sees the service's process."""
        if self.channel is not None:
            self.channel.observe(status.pid, status.state == State.RUN)

    def signal_main(self, pid, signum):
        """Whether ``signum`` for the main side's ``pid`` went to the MAINPID= process the
        service gave instead (notify.py)."""
        return (self.channel is not None and pid == self.service.main.pid
                and self.channel.signal_main(pid, signum))

    def close(self):
        if self.channel is not None:
            self.channel.close()
            self.channel = None
