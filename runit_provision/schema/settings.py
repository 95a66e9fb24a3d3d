"""schema: the top-level settings (docs/data-format.md) — ``runtime``, ``package_file``, ``sv_dir``,
``service_dir``, ``log_dir``, ``sv_timeout``, ``init`` — each typed, or its default."""

from ..model import INITS, RUNTIMES, TOP_KEYS


def read_settings(read, data):
    """``{setting: value}`` for ``Config``; an unknown top-level key is a problem."""
    read.problems.check_keys((), data, TOP_KEYS)

    def get(key, reader, default, *extra):
        if data.get(key) is None:
            return default
        value = reader((key,), data[key], *extra)
        return default if value is None else value

    return dict(
        runtime=get("runtime", read.choice, "python", RUNTIMES),
        package_file=get("package_file", read.text, None),
        sv_dir=get("sv_dir", read.abspath, "/etc/sv"),
        service_dir=get("service_dir", read.abspath, "/etc/service"),
        log_dir=get("log_dir", read.abspath, "/var/log"),
        sv_timeout=get("sv_timeout", read.integer, 7, 1, 3600),
        init=get("init", read.choice, "auto", INITS))
