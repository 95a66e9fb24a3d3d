"""runtime/supervision/engine: every process one service directory starts, and how.

``./run`` goes to what starts a user's tree when it is one (the nest, users/), a canonical
``log/run`` to a log host (loggers/), and anything else is spawned: ``./run``, ``./finish`` and a
timer's ``./job`` in the service's directory (its cgroup, its readiness channel, a job's group),
``log/run`` on the log pipe's reading end, a ``control/<c>`` hook. Each start is recorded in
``supervise/`` just before its spawn, and the process is watched to its end. The logger a log
host runs for the log side is held here, as the process it stands for.
"""

import errno
import os
import signal
import stat

from ....protocol.layout import CONTROL_DIR
from .side import NotYet


class ProcessStarts:
    """The starts of ``service`` (a Supervisor); ``hosted_logger``: the log side's logger
    while a log host runs it (a HostedLogger, or an identity host's): ``signal``,
    ``shown_pid``, ``host`` (its waited_for and logger_ended)."""

    __slots__ = ("service", "hosted_logger")

    def __init__(self, service):
        self.service = service
        self.hosted_logger = None

    def nest(self):
        """What starts a user's tree as ./run (``nested``), when ./run is one: at open, and at
        each start of a main side that has none (a ./run rewritten into a tree's since). A
        timer never runs ./run (its side starts ./job); a ./run that is not a tree's gets
        None — the users/ room is loaded only for a tree that runs one."""
        service = self.service
        if service.nest is None or service.timer is not None:
            return
        service.nested = service.nest(service)

    def spawn(self, side, argv):
        service = self.service
        service.open_ok_before_start(side)
        if side is service.main and argv == ["./run"] and service.peers is not None \
                and service.peers.holds_start(service):
            raise NotYet  # the tree calls host_ready() once the one-shots it needs are done
        if argv == ["./run"]:
            if side is service.main and service.nested is None:
                self.nest()
            if side is service.main and service.nested is not None:
                pid = service.nested.spawn()  # the user's tree, forked
                if pid:
                    return pid
            if side is service.log and service.log_host is not None:
                # A canonical log/run runs on the svlogd engine, in the tree's log hosts
                pid, self.hosted_logger = service.log_host.start_logger(service)
                if pid:
                    return pid
        files = service.files_of(side)

        def records():
            files.write_starting("finish" if argv[0] == "./finish" else "run")
            if argv == ["./job"]:
                # its stamp, between the start's record and the spawn
                service.timer.job_starting()

        if side is service.log:
            records()
            reader = service.log_reader()
            try:
                pid = service.spawner.spawn(argv, cwd_fd=service.log_fd, stdin_fd=reader,
                                            new_session=service.new_session)
            finally:
                os.close(reader)
        else:
            spec, env, extra_fds, reader = None, None, (), None
            if argv == ["./run"]:  # ./finish has no say in readiness, nor takes the channel
                spec, env, extra_fds, reader = service.readiness.for_start()
            is_job = argv == ["./job"] or (argv == ["./run"] and service.facts.oneshot)

            def start():  # in the service's cgroup already: the records just before the spawn
                records()
                return service.spawner.spawn(
                    argv, cwd_fd=service.dir_fd,
                    stdout_fd=service.pipe_writer(),
                    new_session=service.new_session,
                    env=service.runs.finish_environ() if argv[0] == "./finish" else env,
                    extra_fds=extra_fds, new_group=is_job)
            try:
                pid = start() if service.cgroup is None or argv[0] == "./finish" else \
                    service.cgroup.spawn(service.dir_fd, start)
            except OSError:
                if reader is not None:
                    os.close(reader)
                raise
            finally:
                for writer, _ in extra_fds:
                    os.close(writer)  # ./run's alone: its end is EOF once it is gone
            if env is not None or reader is not None:
                service.readiness.started(pid, spec, reader)
            if is_job:
                service.runs.job_groups().started(pid)
        files.spawned(pid)
        if service.cgroup is not None and side is service.main and argv[0] != "./finish":
            service.loop.watch_child(pid, lambda pid, status: service.cgroup.main_ended(
                lambda: side.child_exited(pid, status), service.dir_fd))
        else:
            service.loop.watch_child(pid, side.child_exited)
        return pid

    def hosted_logger_ended(self, wait_status):
        """The logger a log host ran for our log side ended (its ``on_exit``): its host lets it
        go, then the side sees its end as a process's."""
        logger, self.hosted_logger = self.hosted_logger, None
        logger.host.logger_ended(logger)
        self.service.log.child_exited(logger.shown_pid, wait_status)

    def signal_hosted_logger(self, signum):
        """Whether ``signum`` for the log side went to the logger a log host runs for it —
        never os.kill a hosted logger's pid: it is shared (the tree's stand-in, or an
        identity's host running other loggers too)."""
        logger = self.hosted_logger
        if logger is None:
            return False
        if signum == signal.SIGCONT:
            # runsv CONTs the svlogd it stops: here whatever the logger's work waits for —
            # an identity's host, or the user's tree running it, which the user may have
            # stopped; else `sv -w` times out
            for process in logger.host.waited_for(logger):
                self.service.spawner.kill(process, signal.SIGCONT)
        logger.signal(signum)
        return True

    def start_hook(self, letter, service_pid):
        """Start ``control/<letter>`` if it exists and is user-executable; its pid, or 0. Its
        one argument is the service's pid, or "" when none runs (runsv 2.3.1's)."""
        service = self.service
        name = CONTROL_DIR + "/" + letter
        mode = service.facts.hook(letter)
        if isinstance(mode, OSError):
            if mode.errno not in (errno.ENOENT, errno.ENOTDIR):
                service.warn("unable to stat " + name, mode)
            return 0
        if not mode & stat.S_IXUSR:
            return 0
        try:
            # argv[0] is "control/<c>", as runsv execs it (a hook may look at $0).
            argv = [name, str(service_pid) if service_pid else ""]
            pid = service.spawner.spawn(argv, cwd_fd=service.dir_fd,
                                        stdout_fd=service.pipe_writer())
        except OSError as exc:
            service.warn("unable to run " + name, exc)
            return 0
        service.loop.watch_child(pid, service.main.child_exited)
        return pid
