"""schema: a schedule string (docs/schedule.md) -> ``model.Schedule``, a fault placed at the
file:line:col of the very character (``Problems.add``'s ``within``).

The grammar is the protocol's (``protocol/schedule/``: systemd's calendar expressions and
cron's five fields), read once for the schema and the runtime alike. A service's
``schedule`` key is read here: it makes the service a timer (docs/jobs.md#timers).
"""

from ..model import Schedule


def read_schedule(read, path, value):
    """The Schedule of ``value``, or None after a problem at ``path`` (at the fault's column
    within the string where the file shows it)."""
    text = read.text(path, value)
    if text is None:
        return None
    # here: only a timer's data parses a schedule, and a view of data without one skips it
    from ..protocol.schedule import ScheduleError, parse_schedule

    try:
        spec = parse_schedule(text)
    except ScheduleError as exc:
        read.problems.add(path, "%s (%r, column %d)" % (exc.message, text, exc.column),
                          within=(text, exc.column))
        return None
    return Schedule(text=text, kind=spec.kind, normalized=str(spec))
