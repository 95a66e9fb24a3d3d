"""protocol: what a one-shot is doing (``SideState.job``), as the verdict says it — the
words alone, apart from protocol/lastrun.py's record: ``status`` compares every side's job
with them on the daily views' path, and only a one-shot's side loads the record's reader
(its ~0.3 M instructions, 1 % of a bare interpreter's start, docs/design.md)."""

RUNNING = "running"
DONE = "done"
FAILED = "failed"
NEVER_RUN = "never run"
UNREADABLE = "unreadable"  # its supervise/last-run is there and cannot be read
