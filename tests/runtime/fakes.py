"""Fakes for the unit tier: a clock you move by hand and a host that records what a Side does."""

import errno


class FakeClock:
    def __init__(self, start=1_800_000_000.0):
        self.now = start  # wall seconds; monotonic runs in step with it

    def monotonic(self):
        return self.now

    def time_ns(self):
        return int(self.now * 1_000_000_000)

    def advance(self, seconds):
        self.now += seconds


class FakeTimer:
    def __init__(self, when, callback):
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self):
        self.cancelled = True


class FakeHost:
    """Implements the host interface of ``runtime.side.Side`` without any I/O.

    ``hooks`` maps letter → True for executable ``control/<letter>`` scripts; ``fail_exec``
    makes the next spawn of that argv[0] raise like a failed exec.
    """

    def __init__(self, clock=None, has_finish=False, hooks=(), give_up=None, backoff=None,
                 jitter=0.0):
        self.clock = clock or FakeClock()
        self.finish = has_finish
        self.give_up = give_up  # (deaths, within) as the service's give-up file says
        self.backoff = backoff  # protocol.backoff.Backoff, as the service's backoff file says
        self.jitter_fraction = jitter  # of the policy's jitter each draw gives
        self.oneshot = False  # the service directory's oneshot file
        self.runs = []  # (wait_status, started_ns, ended_ns) of each one-shot run recorded
        self.says_ends = False  # said_run_end: its ./finish is the rendered one-shot's
        self.ends_said = []  # wait statuses of the runs whose end it said
        self.hooks = set(hooks)
        self.fail_exec = {}
        self.next_pid = 100
        self.spawned = []  # (pid, argv)
        self.kills = []  # (pid, signum)
        self.hook_runs = []  # (pid, letter)
        self.statuses = []  # (Status, want word) as written
        self.tallies = []  # (pid, starts, deaths) of each tally written alone
        self.timers = []
        self.messages = []
        self.settled = 0

    # host interface
    def time_ns(self):
        return self.clock.time_ns()

    def monotonic(self):
        return self.clock.monotonic()

    def call_later(self, delay, callback):
        timer = FakeTimer(self.clock.monotonic() + delay, callback)
        self.timers.append(timer)
        return timer

    def write_tally(self, side):
        self.tallies.append((side.tally.pid, side.tally.starts, side.tally.deaths))

    def write_status(self, side, status, want_word):
        self.statuses.append((status, want_word))

    def kill(self, pid, signum):
        self.kills.append((pid, signum))

    def warn(self, message, exc=None):
        self.messages.append(("warning", message))

    def child_failed(self, message, exc):
        self.messages.append(("fatal", message, exc.errno))

    def has_finish(self):
        return self.finish

    def give_up_policy(self):
        return self.give_up

    def backoff_policy(self):
        return self.backoff

    def jitter(self, seconds):
        return seconds * self.jitter_fraction

    def is_oneshot(self):
        return self.oneshot

    def record_run(self, wait_status, started_ns, ended_ns):
        self.runs.append((wait_status, started_ns, ended_ns))

    def said_run_end(self, wait_status):
        """The rendered one-shot finish's words said by the host (``ends_said``), not by a
        started ./finish, when ``says_ends``."""
        if self.says_ends:
            self.ends_said.append(wait_status)
        return self.says_ends

    def is_timer(self):
        return False

    def spawn(self, side, argv):
        error = self.fail_exec.get(argv[0])
        if error is not None:
            raise OSError(error, "fake exec failure")
        self.next_pid += 1
        self.spawned.append((self.next_pid, argv))
        return self.next_pid

    def start_hook(self, letter, service_pid):
        if letter not in self.hooks:
            return 0
        self.next_pid += 1
        self.hook_runs.append((self.next_pid, letter))
        return self.next_pid

    def settle(self):
        self.settled += 1
        self.side.evaluate()

    # test helpers
    def run_due_timers(self):
        for timer in list(self.timers):
            if not timer.cancelled and timer.when <= self.clock.monotonic():
                timer.cancelled = True
                self.timers.remove(timer)
                timer.callback()

    @property
    def last_status(self):
        return self.statuses[-1][0]


EACCES = errno.EACCES
