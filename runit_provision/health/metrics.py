"""health: ``status``'s rows as Prometheus metrics — the text exposition format (0.0.4), as
node_exporter's textfile collector reads it. Pure: rows in, text out.

One family per fact, labelled ``service``, ``tree`` (``system``, or the login whose tree it
is) and ``declared`` (``true``; ``false`` for a service linked in a service directory that the
data does not declare — every sample has all three, so that a series keeps its labels when
such a service comes or goes); the log side has families of its own
(``runit_service_log_*``), so that ``runit_service_up == 0`` alerts on services, not on
their loggers. What our runtime's account knows (deaths, starts, the last exit,
crash-looping: protocol/tally.py) is left out for a side it does not cover — absent, never a
made-up 0 (C runit keeps no account); so is whether a side runs when its state cannot be told
(``unknown``: ``metrics`` run by a user, who may not read root's ``supervise/``). A name found
in a home is shown as ``shown.shown_name`` shows it (a label value is UTF-8 text).

``runit_service_as_wanted`` is the service's verdict (health/verdict.py: what ``status``
calls ``as wanted``, its logger included), one sample a service: 0 is what makes ``status``
exit 3 for it — a state that cannot be told included — so an alert on it is one expression.

A record of a side that is there and cannot be read (a user's tree writes them: its tally,
readiness, back-off record, a one-shot's last run, a timer's records) gives none of its
series — nothing made up from it — and ``runit_service_unreadable`` (``_log_`` for the
logger) is 1 for that side, absent for a side whose records were all read; its service's
``runit_service_as_wanted`` is 0.
"""

from ..protocol.lastrun import FAILED
from ..protocol.sidestate import Condition
from ..protocol.tally import CRASH_LOOP
from ..shown import shown_name

SYSTEM_TREE = "system"

AS_WANTED = ("runit_service_as_wanted", "1 when the service is as wanted (status's verdict, "
                                        "its logger included); 0 makes status exit 3.")
KIND = ("runit_service_kind", "1, labelled by what the service is: kind daemon, oneshot "
                              "or timer (docs/jobs.md).")
# (suffix, type, help): every family of a side, in the order written
FAMILIES = (
    ("supervised", "gauge", "1 when a runsv supervises the side."),
    ("up", "gauge", "1 when the side's process runs (state run)."),
    ("desired", "gauge", "1 when runsv wants the side up."),
    ("normally_up", "gauge", "1 when no down file marks the side normally down."),
    ("since_timestamp_seconds", "gauge",
     "Unix time the side entered its state (supervise/status)."),
    ("starts_total", "counter", "Starts of ./run (our runtime's account)."),
    ("deaths_total", "counter", "Deaths of ./run (our runtime's account)."),
    ("last_exit_code", "gauge", "Exit code of the last death (absent after a signal)."),
    ("last_exit_signal", "gauge", "Signal that ended the last death (0: it exited)."),
    ("last_exit_timestamp_seconds", "gauge", "Unix time of the last death."),
    ("crash_looping", "gauge",
     "1 when the side died %d times or more in the last %d seconds." % CRASH_LOOP),
    ("gave_up", "gauge", "1 when runsv stopped restarting it (its give-up policy)."),
    ("waiting_for_oneshot", "gauge",
     "1 while ./run waits for a one-shot it needs (held, or in its guard), 2 when one it "
     "waits for failed: the cause, whatever crash_looping says; absent while it waits for "
     "none."),
    ("restart_delay_seconds", "gauge",
     "Seconds the restart that waits out the back-off waits in all (0: none waits)."),
    ("restart_step", "gauge", "The back-off step of the restart that waits (0: the first)."),
    ("ready", "gauge", "1 when the running process said READY=1 (ready: notify), 0 while it "
                       "starts, reloads or stops; absent when it declares no readiness."),
    ("ready_latency_seconds", "gauge", "Seconds from the start of ./run to its READY=1."),
    ("oneshot_failed", "gauge", "A one-shot (docs/jobs.md): 1 when its last run failed, 0 "
                                "when it is done or runs; absent for a daemon."),
    ("oneshot_last_run_exit_code", "gauge",
     "A one-shot's last run: its exit code (-1: a signal ended it, or unknown)."),
    ("oneshot_last_run_signal", "gauge", "A one-shot's last run: the signal that ended it "
                                         "(0: it exited)."),
    ("oneshot_last_run_timestamp_seconds", "gauge", "Unix time a one-shot's last run ended."),
    ("oneshot_last_run_duration_seconds", "gauge", "Seconds a one-shot's last run took."),
    ("unreadable", "gauge", "1 when a record of the side is there and cannot be read (its "
                            "series from it are left out); absent when every one was read."),
)
# a timer's families (docs/jobs.md#timers), its service side's: one sample a timer, only what its
# records say (absent when they say nothing, or cannot be read)
TIMER_FAMILIES = (
    ("runit_timer_last_run_start_seconds", "gauge",
     "Unix time a timer's last ended run started."),
    ("runit_timer_last_run_exit_code", "gauge",
     "A timer's last ended run: its exit code (-1: a signal ended it, or unknown)."),
    ("runit_timer_last_run_duration_seconds", "gauge",
     "Seconds a timer's last ended run took."),
    ("runit_timer_next_run_seconds", "gauge",
     "Unix time a timer's next run starts (absent: none, off, or not known yet)."),
    ("runit_timer_skipped_total", "counter",
     "Elapses a timer skipped because its run was still going."),
    ("runit_timer_timed_out_total", "counter", "A timer's runs ended by its time_limit."),
)


# a service's cgroup (docs/resources.md), its service side's: one sample a service whose
# runtime keeps a record of it, only the figures its cgroup's files give (absent: unknown)
CGROUP_FAMILIES = (
    ("runit_service_memory_bytes", "gauge", "Memory the service's cgroup uses now."),
    ("runit_service_memory_peak_bytes", "gauge", "The most memory its cgroup has used."),
    ("runit_service_memory_max_bytes", "gauge",
     "Its memory limit (memory_max; absent when it has none)."),
    ("runit_service_memory_high_bytes", "gauge",
     "Its memory throttle (memory_high; absent when it has none)."),
    ("runit_service_tasks", "gauge", "Tasks (processes and threads) in its cgroup now."),
    ("runit_service_tasks_max", "gauge", "Its tasks limit (tasks_max; absent when it has none)."),
    ("runit_service_cpu_seconds_total", "counter", "CPU time its cgroup has used."),
    ("runit_service_oom_kills_total", "counter",
     "Processes of its cgroup the OOM killer killed."),
    ("runit_service_outliving_processes", "gauge",
     "Processes of its cgroup that outlive its main process (it is down, or they are not "
     "its own)."),
)


def exposition(rows):
    """The text of every family for ``rows`` (health/status.ServiceStatus): each service's
    verdict, then its sides' families, log sides after services; families with no sample are
    left out."""
    out = []
    if rows:  # the verdict of each service first: one sample a service
        name, text = AS_WANTED
        out += ["# HELP %s %s" % (name, text), "# TYPE %s gauge" % name]
        out.extend("%s%s %s" % (name, _labels(row), _flag(row.verdict.is_as_wanted))
                   for row in rows)
        name, text = KIND
        out += ["# HELP %s %s" % (name, text), "# TYPE %s gauge" % name]
        out.extend("%s%s 1" % (name, _labels(row, kind_of(row.main))) for row in rows)
    for prefix, side_of in (("runit_service_", _main), ("runit_service_log_", _log)):
        samples = {suffix: [] for suffix, _, _ in FAMILIES}
        for row in rows:
            side = side_of(row)
            if side is None:
                continue
            labels = _labels(row)
            for suffix, value in _values(side):
                samples[suffix].append("%s%s%s %s" % (prefix, suffix, labels, value))
        for suffix, kind, text in FAMILIES:
            if samples[suffix]:
                out.append("# HELP %s%s %s" % (prefix, suffix, text))
                out.append("# TYPE %s%s %s" % (prefix, suffix, kind))
                out.extend(samples[suffix])
    timers = [row for row in rows if row.main.is_timer]
    if timers:
        out.extend(_families(TIMER_FAMILIES, timers, lambda row: _timer_values(row.main)))
    held = [row for row in rows if row.cgroup is not None]
    if held:
        out.extend(_families(CGROUP_FAMILIES, held, _cgroup_values))
    return "\n".join(out) + "\n" if out else ""


def _families(families, rows, values):
    """The lines of ``families`` (``(name, type, help)`` each) for ``rows``: ``values(row)``
    gives a row's ``(name, value)``; a family without a sample is left out."""
    samples = {name: [] for name, _, _ in families}
    for row in rows:
        labels = _labels(row)
        for name, value in values(row):
            samples[name].append("%s%s %s" % (name, labels, value))
    for name, kind, text in families:
        if samples[name]:
            yield "# HELP %s %s" % (name, text)
            yield "# TYPE %s %s" % (name, kind)
            yield from samples[name]


def _cgroup_values(row):
    """``(name, value)`` of a service's cgroup (protocol.cgroupfs.Usage): nothing from a
    record that is not one."""
    from .status import outliving

    usage = row.cgroup
    if usage.unreadable is not None:
        return
    for name, value in (("runit_service_memory_bytes", usage.memory),
                        ("runit_service_memory_peak_bytes", usage.memory_peak),
                        ("runit_service_memory_max_bytes", usage.memory_max),
                        ("runit_service_memory_high_bytes", usage.memory_high),
                        ("runit_service_tasks", usage.tasks),
                        ("runit_service_tasks_max", usage.tasks_max)):
        if value is not None:
            yield name, "%d" % value
    if usage.cpu_usec is not None:
        yield "runit_service_cpu_seconds_total", "%.6f" % (usage.cpu_usec / 1e6)
    if usage.oom_kills is not None:
        yield "runit_service_oom_kills_total", "%d" % usage.oom_kills
    if usage.procs is not None:
        yield "runit_service_outliving_processes", "%d" % outliving(usage, row.main)


def _timer_values(side):
    """``(name, value)`` of a timer's side: nothing from records that cannot be read."""
    from ..protocol.timerwords import run_took, skipped_of, timed_out_of

    read, doing = side.timer, side.timer_doing
    if read.unreadable is not None or doing is None:
        return
    found = side.last_run
    if found is not None:
        if doing.last_start_ns:
            yield "runit_timer_last_run_start_seconds", "%.3f" % (doing.last_start_ns / 1e9)
        yield "runit_timer_last_run_exit_code", "%d" % found.exit_code
        took = run_took(found, doing.last_start_ns)
        if took is not None:
            yield "runit_timer_last_run_duration_seconds", "%.3f" % took
    if doing.next_ns:
        yield "runit_timer_next_run_seconds", "%.3f" % (doing.next_ns / 1e9)
    if read.record is not None:
        yield "runit_timer_skipped_total", "%d" % skipped_of(read.record)
        yield "runit_timer_timed_out_total", "%d" % timed_out_of(read.record)


DATA_VALID = "runit_data_valid"


def data_valid(is_valid):
    """The family that says whether the data was read: 0 when it could not be, and the
    services are then only those supervised, every one ``declared="false"``.

    >>> print(data_valid(False), end="")
    # HELP runit_data_valid 1 when the data was read and valid; 0 when not (then every service is declared="false").
    # TYPE runit_data_valid gauge
    runit_data_valid 0
    """
    return ('# HELP %s 1 when the data was read and valid; 0 when not (then every service is '
            'declared="false").\n# TYPE %s gauge\n%s %s\n'
            % (DATA_VALID, DATA_VALID, DATA_VALID, _flag(is_valid)))


def kind_of(side):
    """``daemon``, ``oneshot`` or ``timer``: what the marks of a service's directory make it
    — what tells a timer between its runs, or a one-shot that is done, from a daemon down."""
    return "timer" if side.is_timer else "oneshot" if side.is_oneshot else "daemon"


def _labels(row, kind=None):
    return '{service="%s",tree="%s",declared="%s"%s}' % (
        _escape(shown_name(row.label)), _escape(row.tree or SYSTEM_TREE),
        "true" if row.declared else "false", "" if kind is None else ',kind="%s"' % kind)


def _main(row):
    return row.main


def _log(row):
    return row.log


def _values(side):
    """``(suffix, value)`` of one side (protocol.sidestate.SideState)."""
    state = side.state
    supervised = state is not Condition.NOT_SUPERVISED
    if state is not Condition.UNKNOWN:  # whether it is supervised, or runs, cannot be told
        yield "supervised", _flag(supervised)
        yield "up", _flag(state is Condition.RUN)
    if side.want is not None:
        yield "desired", _flag(side.want == "up")
    yield "normally_up", _flag(side.is_normally_up)
    if supervised and side.uptime is not None and side.now_ns:
        yield "since_timestamp_seconds", "%d" % (side.now_ns // 1_000_000_000 - side.uptime)
    if side.is_ready is not None:
        yield "ready", _flag(side.is_ready)
        if side.ready_latency is not None:
            yield "ready_latency_seconds", "%.3f" % side.ready_latency
    if side.is_oneshot:
        yield from _oneshot_values(side)
    if side.unreadable or (side.timer is not None and side.timer.unreadable is not None):
        yield "unreadable", "1"
    if side.waiting_for:
        yield "waiting_for_oneshot", "2" if any(
            job == FAILED for _, job in side.waiting_for) else "1"
    tally = side.tally
    waiting = side.waiting if side.restart_text is not None else None
    if waiting is not None:
        yield "restart_delay_seconds", "%.3f" % waiting.delay
        yield "restart_step", "%d" % waiting.step
    elif tally is not None:
        yield "restart_delay_seconds", "0"
    if tally is None:
        return
    yield "starts_total", "%d" % tally.starts
    yield "deaths_total", "%d" % tally.deaths
    last = tally.last_exit
    if last is not None and "unknown" not in last:
        if "code" in last:
            yield "last_exit_code", "%d" % last["code"]
        yield "last_exit_signal", "%d" % last.get("signal", 0)
    if last is not None:
        yield "last_exit_timestamp_seconds", "%.3f" % (tally.died_at_ns / 1e9)
    yield "crash_looping", _flag(side.is_crash_looping)
    yield "gave_up", _flag(side.has_given_up)


def _oneshot_values(side):
    """A one-shot's families: its last run, from the record its ./finish keeps (under the C
    runit too: protocol/lastrun.py)."""
    from ..protocol.lastrun import DONE, FAILED, RUNNING

    job = side.job
    if job in (DONE, FAILED, RUNNING):  # not never run, nor a record that cannot be read
        yield "oneshot_failed", _flag(job == FAILED)
    found = side.last_run
    if found is None:
        return
    yield "oneshot_last_run_exit_code", "%d" % found.exit_code
    yield "oneshot_last_run_signal", "%d" % (found.signal & 0x7F)
    if found.ended_ns:
        yield "oneshot_last_run_timestamp_seconds", "%.3f" % (found.ended_ns / 1e9)
    if found.took is not None:
        yield "oneshot_last_run_duration_seconds", "%.3f" % found.took


def _flag(value):
    return "1" if value else "0"


def _escape(text):
    """A label value as the format quotes it: backslash, double quote and newline escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
