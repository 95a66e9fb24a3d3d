"""checks: ``RunitService`` and ``RunitTree`` — runit services as a testinfra test sees them,
the C runit's and our runtime's alike (InSpec's ``runit_service`` is the model).

Built on testinfra's public host API only (``host.run``): testinfra's ``host.service`` has no
runit backend, and its module table is a closed dict (``testinfra/modules/__init__.py``). A
service is read in ONE ``host.run`` at its first property (``snapshot.py``), a whole tree in one
too; ``refresh()`` reads again. Supervision is sv's own test, run on the host: a runsv — or
our runsvdir, which has no runsv processes — holds ``supervise/ok`` open for reading; a FIFO
that merely exists proves nothing. Nothing here looks for ``runsv NAME`` processes. With
testinfra's ``host``::

    web = RunitService(host, "web")
    web.is_linked, web.is_supervised, web.is_running, web.log.is_running
    # -> (True, True, True, True)
    web.status_line
    # -> 'run: web: (pid 9894) 12s'
"""

import posixpath

from ..protocol.layout import LOG_DIR, RUN, path_in
from ..protocol.probe import NOT_RUNNING
from ..protocol.status import status_line
from .snapshot import Request, take_snapshot

SERVICE_DIR = "/etc/service"
SV_DIR = "/etc/sv"


class _ReadOnce:
    """Reads its ``request()`` from ``host`` at first use, in one ``host.run``."""

    def refresh(self):
        """Read the host again (one ``host.run``); returns self."""
        self._snapshot = take_snapshot(self.host, self.request())
        return self

    @property
    def snapshot(self):
        """The ``snapshot.Snapshot`` the properties answer from."""
        if self._snapshot is None:
            self.refresh()
        return self._snapshot


class RunitSide:
    """One side of a service — the service itself or its ``log/`` — from one snapshot.

    A view, on purpose: the side's state is the snapshot's record (``snapshot.Side``, the one
    side type, protocol.sidestate.SideState), and this keeps testinfra's way of answering, which
    tests are written against (docs/verify.md, InSpec's ``runit_service``): plain booleans,
    None where there is nothing (no pid, no state, no status of a side not supervised), and a
    side that is not there at all (``no such directory``)."""

    def __init__(self, name, side=None, now=None):
        self.name = name
        self._fixed = (side, now)

    def _record(self):
        """The snapshot's ``Side`` of this side (None: no such directory)."""
        return self._fixed[0]

    def _host_now(self):
        return self._fixed[1]

    @property
    def is_supervised(self):
        """A runsv (or our runsvdir's tree) really serves this side: it holds the reader of
        ``supervise/ok``, tested on the host the way sv tests it (a write-only, non-blocking
        open that fails with ENXIO when no one reads).

        >>> RunitService(host, "web").is_supervised
        True
        """
        return bool(self._record() is not None and self._record().is_supervised)

    @property
    def status(self):
        """The decoded ``supervise/status`` (``protocol.status.Status``: seconds, nanoseconds,
        pid, paused, want, term, state), validated — 20 bytes and a known state — or the one
        sv's status line describes where the raw record cannot be read; None when the side is
        not supervised (``error`` says why, in sv's words).

        >>> RunitService(host, "web").status.state.name
        'RUN'
        """
        if not self.is_supervised:
            return None
        return self._record().status

    @property
    def error(self):
        """Why the side is not supervised or has no status, in sv's words (``runsv not
        running``, ``unable to open supervise/ok: file does not exist``, ...), or None."""
        side = self._record()
        return "no such directory" if side is None else side.error

    @property
    def state(self):
        """``Condition.RUN``, ``DOWN``, ``FINISH`` (protocol.probe: each equal to its word,
        ``"run"``…), or None without a status."""
        return self._record().state if self.status is not None else None

    @property
    def is_running(self):
        """Supervised and in state run (a ``finish`` script running is not running).

        >>> RunitService(host, "web").is_running
        True
        """
        return self._record() is not None and self._record().is_running

    @property
    def is_normally_up(self):
        """No ``down`` file: runsv starts the side when it starts (runsv's own rule)."""
        return bool(self._record() is not None and self._record().is_normally_up)

    @property
    def want(self):
        """``"up"`` or ``"down"``: what runsv was last asked for (``sv up``/``sv down``)."""
        return self._record().want if self.status is not None else None

    @property
    def pid(self):
        """The pid of ``run`` when running (of ``finish`` in state finish), else None.

        >>> RunitService(host, "web").pid
        9894
        """
        return (self._record().pid or None) if self.status is not None else None

    @property
    def uptime(self):
        """Seconds since the state began, by the host's clock (sv's ``12s``), or None."""
        return self._record().uptime if self.status is not None else None

    @property
    def process_uid(self):
        """The uid the running process has (owner of ``/proc/PID`` on the host), or None."""
        return self._record().process_uid if self.pid else None

    @property
    def status_line(self):
        """The side's part of ``sv status``, as sv prints it, or sv's message."""
        status = self.status
        if status is None:
            if not self.error:
                return None
            word = "fail" if self.error == NOT_RUNNING else "warning"
            return "%s: %s: %s" % (word, self.name, self.error)
        return status_line(self.name, status, int(self._host_now()), self.is_normally_up)

    def __repr__(self):
        return "<%s %s: %s>" % (type(self).__name__, self.name, self.status_line)


class RunitService(RunitSide, _ReadOnce):
    """A service: ``service_dir/NAME`` (runsvdir's view, where sv looks) and its directory
    ``sv_dir/NAME``. ``service_dir``/``sv_dir`` may start with ``~login`` for a user's tree
    (``RunitService(host, "app", "~alice/service", "~alice/sv")``); ``sv_dir=None`` when
    services do not live in one place.

    >>> web = RunitService(host, "web")
    >>> web.is_linked and web.is_running and web.log.is_running
    True
    """

    def __init__(self, host, name, service_dir=SERVICE_DIR, sv_dir=SV_DIR, snapshot=None):
        self.host = host
        self.service_dir = service_dir
        self.sv_dir = sv_dir
        self.link_path = posixpath.join(service_dir, name)
        self.directory = posixpath.join(sv_dir, name) if sv_dir else self.link_path
        self._snapshot = snapshot
        super().__init__(name)

    def request(self, request=None):
        """Add what this service needs to ``request`` (a new one by default)."""
        request = request if request is not None else Request()
        request.stat(self.link_path).side(self.link_path)
        if self.directory != self.link_path:
            request.stat(self.sv_dir).stat(self.directory).stat(path_in(self.directory, RUN))
            request.side(self.directory)
        return request

    def _record(self):
        snapshot = self.snapshot
        if snapshot.node(self.link_path).exists or self.directory == self.link_path:
            return snapshot.side(self.link_path)  # where sv looks
        return snapshot.side(self.directory)  # not linked: a runsv started by hand, maybe

    def _host_now(self):
        return self.snapshot.now

    @property
    def is_installed(self):
        """The service directory exists with a ``run`` (InSpec's ``be_installed``)."""
        run = self.snapshot.node(path_in(self.directory, RUN))
        if run.error == "unread":  # read through the link (a RunitTree's services)
            run = self.snapshot.node(path_in(self.link_path, RUN))
        return run.exists

    @property
    def is_linked(self):
        """``service_dir/NAME`` is a link to the service's directory (``sv_dir/NAME``), so
        runsvdir runs it (InSpec's ``be_enabled``). With ``sv_dir=None``: a link or a
        directory there.

        >>> RunitService(host, "web").is_linked
        True
        """
        link = self.snapshot.node(self.link_path)
        if self.directory == self.link_path:
            return link.kind == "d" or (link.kind == "l" and link.realpath is not None)
        if link.kind != "l" or link.realpath is None:
            return False
        target = posixpath.normpath(posixpath.join(self.service_dir, link.target))
        return (target == posixpath.normpath(self.directory)
                or link.realpath == self.snapshot.realpath(self.directory))

    @property
    def log(self):
        """The log side (a ``RunitSide``), or None when the service has no ``log/``.

        >>> RunitService(host, "web").log.is_running
        True
        """
        base = self.link_path if self.snapshot.node(self.link_path).exists else self.directory
        side = self.snapshot.side(path_in(base, LOG_DIR))
        return None if side is None else RunitSide("log", side, self.snapshot.now)


class RunitTree(_ReadOnce):
    """Every service of a runsvdir's directory, read in ONE ``host.run``.

    ``RunitTree(host)`` is the system tree (``/etc/service``); ``RunitTree(host,
    user="alice")`` is alice's (``~alice/service``, ``~alice/sv``), whose supervisor is the
    system service ``runsvdir-alice`` (``tree.supervisor``).

    >>> tree = RunitTree(host, user="alice")
    >>> tree.supervisor.is_running, sorted(tree.names)
    (True, ['app'])
    >>> all(service.is_running for service in tree)
    True
    """

    def __init__(self, host, service_dir=None, sv_dir=None, user=None,
                 system_service_dir=SERVICE_DIR):
        self.host = host
        self.user = user
        if service_dir is None:
            service_dir = "~%s/service" % user if user else SERVICE_DIR
        if sv_dir is None:
            sv_dir = "~%s/sv" % user if user else SV_DIR
        self.service_dir, self.sv_dir = service_dir, sv_dir
        self.system_service_dir = system_service_dir
        self._snapshot = None

    def request(self, request=None):
        request = request if request is not None else Request()
        request.tree(self.service_dir).stat(self.sv_dir)
        if self.user:
            request.stat(self.supervisor_path).side(self.supervisor_path)
        return request

    @property
    def supervisor_path(self):
        return posixpath.join(self.system_service_dir, "runsvdir-%s" % self.user)

    @property
    def names(self):
        """The services runsvdir sees: entries that are (or link to) directories, no dot-names."""
        snapshot = self.snapshot
        return [name for name in snapshot.children(self.service_dir)
                if not name.startswith(".")
                and snapshot.side(posixpath.join(self.service_dir, name)) is not None]

    def service(self, name):
        return RunitService(self.host, name, self.service_dir, self.sv_dir,
                            snapshot=self.snapshot)

    def __getitem__(self, name):
        if name not in self.names:
            raise KeyError(name)
        return self.service(name)

    def __iter__(self):
        return iter([self.service(name) for name in self.names])

    def __len__(self):
        return len(self.names)

    @property
    def supervisor(self):
        """A user's tree: the system service ``runsvdir-<login>`` that runs it (None for the
        system tree)."""
        if not self.user:
            return None
        return RunitService(self.host, "runsvdir-%s" % self.user, self.system_service_dir,
                            None, snapshot=self.snapshot)
