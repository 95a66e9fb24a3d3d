"""logs: what svlogd wrote — one service's files or many services' — as one stream of lines
ordered by time, selected by time and content, followed as it grows. Reads only; the ``logs``
verb of the CLI prints it (cli/logs.py, docs/logs.md)."""
