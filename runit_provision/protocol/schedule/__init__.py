"""protocol/schedule: a timer's ``schedule:`` — systemd's calendar expressions (calendar.py;
their next elapse: nextelapse.py, on glibc's clock of zoneclock.py, in a zone of zones.py)
and cron's five fields (crontab.py) — and here, a string -> its parsed form, the two told
apart by their shape; pure, standard library only.

cron's form is an ``@`` word (``@daily``; ``@1700000000`` is systemd's, a moment) or five
or more blank-separated words; systemd's calendar expression has at most four (weekdays,
date, time, zone).

    >>> parse_schedule("Mon..Fri *-*-* 02:30").kind, parse_schedule("30 2 * * 1-5").kind
    ('calendar', 'cron')
"""

from ...errors import ScheduleError
from .calendar import parse_calendar
from .crontab import parse_crontab

__all__ = ["ScheduleError", "is_cron", "parse_schedule"]


def is_cron(text):
    """Is ``text`` written in cron's form (not systemd's)?"""
    return (text.startswith("@") and not text[1:2].isdigit()) or len(text.split()) >= 5


def parse_schedule(text):
    """The parsed schedule (``.kind``: ``calendar`` or ``cron``; ``.next_elapse``,
    ``.elapses``), or ScheduleError at its column."""
    if not isinstance(text, str):
        raise ScheduleError("a schedule is a string", 1)
    return parse_crontab(text) if is_cron(text) else parse_calendar(text)
