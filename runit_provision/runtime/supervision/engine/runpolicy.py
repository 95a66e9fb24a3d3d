"""runtime/supervision/engine: how one service's runs go, as its own files say.

Whether it is a one-shot (``oneshot``) or a timer (``schedule``), whether it has a ``./finish``
and what that one's environment tells it, the ``give-up`` and ``backoff`` policies read at each
death, the job groups a one-shot's or a timer's runs start in (jobgroup.py), and the
``supervise/last-run`` record such a run leaves. Each file is read where it is used, as an apply
may change it at any time (servicedir.Facts); the Side asks through its host, the Supervisor.
"""

import os

from ....protocol.layout import LAST_RUN
from ....protocol.status import State
from .adoption import boot_id
from .side import Want, finish_arguments


def parsed_fact(data, parse, fault, warning, warn):
    """``parse(data)`` — a facts file, read where it is used, as an apply may change it at
    any time — or None, said through ``warn`` (``warning % fault``), when it raises
    ``fault``."""
    try:
        return parse(data)
    except fault as exc:
        warn(warning % exc)
        return None


class RunPolicy:
    """The runs of ``service`` (a Supervisor: its facts, timer, job groups and main side)."""

    __slots__ = ("service",)

    def __init__(self, service):
        self.service = service

    def has_finish(self):
        return self.service.facts.finish

    def is_oneshot(self):
        """The ``oneshot`` file marks the service a one-shot (read at each end of ./run)."""
        return self.service.facts.oneshot

    def is_timer(self):
        """The ``schedule`` file marked the service a timer when it was taken over: its side
        starts ``./job`` at each elapse, never ``./run`` (timerwait.py)."""
        return self.service.timer is not None

    def arm_timer(self):
        self.service.timer.arm()

    def timer_control(self, letter):
        """``h`` or ``1`` while no job runs (side.Side._signal): the schedule read again, or
        the job run now with the schedule kept (timerwait.py)."""
        timer = self.service.timer
        (timer.reload if letter == "h" else timer.run_now)()

    def oneshot_pending(self):
        """A one-shot that has not ended yet: its ./run (or ./finish) runs, or it is wanted up
        and about to start. Done or failed, or wanted down and never run (the guard of a
        service that needs it starts it), it is not."""
        service = self.service
        main = service.main
        if main is None or not service.is_open or not service.facts.oneshot:
            return False
        return main.state != State.DOWN or main.want is Want.UP

    # -- a job's process group (jobgroup.py) --------------------------------------------------
    def runs_jobs(self):
        """The main side's ./run (a one-shot) or ./job (a timer) is a job: in a group of its
        own (jobgroup.py)."""
        return self.service.timer is not None or self.service.facts.oneshot

    def job_groups(self):
        service = self.service
        if service.jobs is None:
            from .jobgroup import JobGroups  # only a job's supervisor loads it
            service.jobs = JobGroups(service.loop, service.warn)
        return service.jobs

    def is_job_ending(self):
        """What a run that ended left in its group is being ended (jobgroup.py)."""
        jobs = self.service.jobs
        return jobs is not None and jobs.is_ending

    # -- ./finish and the record of a run's end ------------------------------------------------
    def finish_environ(self):
        """The environment of ``./finish``, telling the rendered one what we did already:
        under a back-off we wait on a timer (protocol/backoff.RUNSV_ENV), and a one-shot's
        run we recorded and keep down (protocol/lastrun.RUNSV_ENV); None: the spawner's own."""
        service = self.service
        ours = {}
        if service.facts.backoff is not None:
            from ....protocol.backoff import RUNSV_ENV
            ours[RUNSV_ENV] = "runsv"
        if service.facts.oneshot or service.timer is not None:
            from ....protocol.lastrun import RUNSV_ENV
            ours[RUNSV_ENV] = "runsv"
        return dict(service.spawner.environ, **ours) if ours else None

    def said_run_end(self, wait_status):
        """A one-shot's or a timer's ./finish that begins as the rendered one (protocol/
        lastrun.ONESHOT_FINISH_HEAD, TIMER_FINISH_HEAD) would only say the run's end under us
        — its record (and a one-shot's down) are ours (record_run): said here, where its
        stdout is, without its sh, the last process start of a run's end
        (bench/oneshot_boot.py). False: ./finish starts as any does (another finish, another
        identity's, or the output would wait)."""
        from ....protocol.lastrun import ONESHOT_FINISH_HEAD, TIMER_FINISH_HEAD, run_end_line
        service = self.service
        if not service.facts.finish_begins(TIMER_FINISH_HEAD if service.timer is not None
                                           else ONESHOT_FINISH_HEAD):
            return False
        from ...unix.writenow import write_now
        code, signum = finish_arguments(wait_status)
        return write_now(service.output_fd(), run_end_line(int(code), int(signum)))

    def record_run(self, wait_status, started_ns, ended_ns):
        """A one-shot's ./run or a timer's ./job ended: ``supervise/last-run``
        (protocol/lastrun.py), as its rendered finish writes it under the C runsv, which keeps
        no exit code."""
        from ....protocol.lastrun import LastRun, last_run_bytes
        code, signum = finish_arguments(wait_status)
        self.service.main_files.write_named(LAST_RUN, last_run_bytes(
            LastRun(int(code), int(signum), started_ns, ended_ns), boot=boot_id()))

    # -- the policies read at each death -----------------------------------------------------
    def give_up_policy(self):
        """``(deaths, within)`` from the service's ``give-up`` file, read at each death (an
        apply may change it at any time); None without one, or when it is not two numbers."""
        data = self.service.facts.give_up
        if data is None:
            return None
        words = data.split()
        if len(words) != 2 or not all(word.isdigit() for word in words):
            self.service.warn("./give-up is not two numbers (deaths, seconds): ignored")
            return None
        deaths, within = int(words[0]), int(words[1])
        return (deaths, within) if deaths > 0 and within > 0 else None

    def backoff_policy(self):
        """The service's ``backoff`` file (protocol/backoff.py), read at each death (an apply
        may change it at any time): a Backoff, or None without one or when it is not one."""
        service = self.service
        if service.facts.backoff is None:
            return None
        from ....protocol.backoff import backoff_from_bytes
        return parsed_fact(service.facts.backoff, backoff_from_bytes, ValueError,
                           "./%s: ignored", service.warn)

    @staticmethod
    def jitter(seconds):
        """A random delay of 0 to ``seconds`` (the kernel's randomness: no ``random``)."""
        return seconds * int.from_bytes(os.urandom(4), "little") / 0xFFFFFFFF
