"""model: the typed shape of runit data (docs/data-format.md), shared by every room — records,
vocabulary.

``schema/`` builds these records from data and checks them; ``render/`` (and the applier) read
them. They are frozen: a record is built whole, once, and assignment afterwards raises. Here
too is the one rule both sides need, where a service logs (``log_directory``). Stdlib only.

Decisions (docs/data-format.md):
- ``command`` is an argv, not shell: a string is split like a POSIX shell splits words
  (``shlex``), and every word is quoted again when rendered. Shell belongs in ``run``.
- A ``run``/``finish``/``check``/``control`` script is verbatim shell; ``#!/bin/sh`` is added
  when it has no ``#!`` line. ``user``, ``group``, ``cwd``, ``umask``, ``nice``, ``limits``
  are rendered into the chpst line, so they need ``command`` (or a ``template``).
- Words that end up in ``log/run`` (log ``dir``, ``user``, service names, ``log_dir``) must be
  simple words (``protocol.canonical.is_simple_word``) so that ``log/run`` keeps the canonical
  form our runsvdir hosts in-process (docs/runsvdir.md); anything else is refused.
- Logins in ``users`` need not exist when rendering; their home and groups come from the
  accounts given (``runit_provision.accounts``) when they are there, else ``chpst -u LOGIN``
  takes the primary group at run time. The applier checks that they exist.
"""

from ..protocol.layout import CONTROL_LETTERS
from .record import Record

# -- vocabulary -------------------------------------------------------------------------------
# The data's keys, each list written once: the records' fields below are derived from them, and
# the Puppet module's types are checked against them (tests/puppet/test_module.py).
TOP_KEYS = ("runtime", "package_file", "sv_dir", "service_dir", "log_dir", "sv_timeout",
            "init", "users", "services", "defaults")
USER_KEYS = ("home", "groups", "sv_dir", "service_dir", "log_dir", "path", "services",
             "resources")
SERVICE_KEYS = ("command", "run", "user", "group", "owner", "env", "cwd", "umask", "nice",
                "limits", "finish", "check", "control", "down", "enabled", "ensure",
                "restart_on_change", "restart", "needs", "log", "template", "adopt", "conf",
                "files", "links", "ready", "ready_timeout", "watchdog", "oneshot",
                "rerun_on_change", "schedule", "persistent", "jitter", "time_limit",
                "resources", "stop", "sandbox")
# A timer's own keys (docs/jobs.md#timers): each needs ``schedule`` beside it.
TIMER_KEYS = ("persistent", "jitter", "time_limit")
RESTART_KEYS = ("give_up_after", "within", "delay", "max_delay", "steps", "jitter",
                "reset_after")
# restart's back-off keys (docs/restart.md): the rest of RESTART_KEYS are the give-up policy
BACKOFF_KEYS = RESTART_KEYS[2:]
LOG_KEYS = ("dir", "user", "timestamps", "size", "num", "min", "timeout", "processor", "udp",
            "udp_only", "prefix", "patterns", "line_length", "run")
# With ``run`` (a whole log/run, kept as written), ``dir`` only says where it logs.
LOG_RUN_ALLOWS = ("run", "dir")
# chpst's resource-limit options (docs/runit-protocol.md §5): key -> option letter
LIMITS = {"nofile": "o", "nproc": "p", "mem": "m", "data": "d", "stack": "s", "core": "c",
          "cpu": "t", "fsize": "f", "rss": "r"}
CHECK_KINDS = ("tcp", "http", "command")
READY_KINDS = ("notify", "check")  # or {notify: {access: main|all}}, {fd: N}
RUNTIMES = ("python", "system")
INITS = ("auto", "systemd", "sysvinit", "upstart", "runit", "none")
TIMESTAMPS = {"none": None, "tai64n": "-t", "human": "-tt", "iso": "-ttt"}
USER_TREE_PREFIX = "runsvdir-"  # + a login: the system service that runs a user's tree
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


# -- the records ------------------------------------------------------------------------------
class Config(Record):
    """The whole data: system services (``services``) and users with their trees."""

    __slots__ = TOP_KEYS


class User(Record):
    """One login with a ``runsvdir-<login>`` system service and a tree of its own.

    ``groups``: the groups ``chpst -u`` sets (first = primary); empty when unknown at render
    time (then ``chpst -u LOGIN`` takes the primary group from passwd at run time).
    ``primary_group``: the group files in the tree get, or None (the applier's choice).
    ``resources``: the cgroup limits of the user's whole tree, as a Service's ({}: none).
    """

    __slots__ = ("login", "primary_group") + USER_KEYS


class Service(Record):
    """One service directory. ``command`` is an argv (list of str) or None; scripts are text.
    ``restart``: None, or ``(give_up_after, within)`` — our runtime stops restarting a
    service that died that many times within that many seconds (docs/failures.md).
    ``backoff``: None, or a ``Backoff`` — how long each restart of a crash loop waits
    (``restart``'s other keys, docs/restart.md).
    ``conf``: None or ``(text, mode)``; ``files``: {relative path: (text, mode)}; ``links``:
    {relative path: target} — a ``links["run"]`` stands for the run script.
    ``ready``: None (ready once up, or once ``check`` passes), or a
    ``protocol.readiness.ReadySpec`` — the service says when it is ready (docs/readiness.md),
    with ``ready_timeout`` and ``watchdog`` in it (the keys of the same names: 0 for none).
    ``oneshot``: work that runs to its end and stays done; ``rerun_on_change``: apply runs
    it again when its run, env or conf change (docs/jobs.md).
    ``schedule``: None, or the ``Schedule`` that makes the service a timer (each elapse runs
    its ``run``/``command`` once, as a one-shot run: docs/jobs.md#timers), with
    ``persistent`` (bool: a missed elapse runs once at start), ``jitter`` (seconds, a float,
    0: none) and ``time_limit`` (seconds, a float, or None: none).
    ``resources``: {key: int or None (no limit)} of the service's cgroup, as
    ``protocol.cgroupfs.settings`` takes it ({}: none); ``stop``: ``group`` (a stop ends
    every process of the cgroup) or ``main`` (runit's: the main process only), None when the
    data does not say — group under our runtime, runit's under the C one (docs/resources.md).
    ``sandbox``: None, or the ``protocol.process.sandbox.Sandbox`` its process is started in
    (docs/sandbox.md)."""

    __slots__ = ("name", "backoff") + SERVICE_KEYS


class Backoff(Record):
    """``restart``'s back-off: ``delay`` (the first), ``max_delay``, ``steps`` between them,
    ``jitter``, ``reset_after`` — seconds (numbers), ``steps`` a whole number
    (protocol/backoff.py's rule, docs/restart.md)."""

    __slots__ = BACKOFF_KEYS


class Check(Record):
    """``kind``: ``script`` (``value`` = text), ``tcp`` (``value`` = (host, port)), ``http``
    (URL) or ``command`` (argv)."""

    __slots__ = ("kind", "value")


class Log(Record):
    """svlogd for one service: ``dir`` (None = the tree's log_dir/NAME) and config values;
    or ``run``, a whole ``log/run`` script kept as written (``dir``: where it logs)."""

    __slots__ = LOG_KEYS


class Schedule(Record):
    """When a job runs (docs/schedule.md): ``text`` as written, ``kind`` (``calendar``:
    systemd's ``OnCalendar=`` grammar; ``cron``: cron's five fields) and ``normalized``
    (systemd's normalized form; cron's text as written). Plain values, so that the Config
    kept between runs keeps it; ``parsed()`` is the protocol's spec, whose ``next_elapse``
    says when it runs next. ``schema/schedule.py`` builds it for a service's ``schedule``
    (a timer: docs/jobs.md#timers)."""

    __slots__ = ("text", "kind", "normalized")

    def parsed(self):
        from ..protocol.schedule import parse_schedule
        return parse_schedule(self.text)


# -- the rule the schema and render share -----------------------------------------------------
def user_environment(user):
    """The environment a ``User``'s processes get from us — their tree (``runsvdir-<login>``'s
    ``env/``) and every command the applier runs as them — and nothing of root's."""
    return {"HOME": user.home, "USER": user.login, "LOGNAME": user.login, "PATH": user.path,
            "SVDIR": user.service_dir}


def tree_log_directory(config, login):
    """Where root's svlogd logs the output of ``login``'s tree: root's directory, beside the
    system's services' logs (``~/logs/runsvdir`` links to it).

    >>> from types import SimpleNamespace
    >>> tree_log_directory(SimpleNamespace(log_dir="/var/log/"), "alice")
    '/var/log/runsvdir-alice'
    """
    return config.log_dir.rstrip("/") + "/" + USER_TREE_PREFIX + login


def log_directory(service, default_parent):
    """Where ``service`` logs: ``log.dir``, else ``default_parent/NAME`` (None: no logger).

    >>> log_directory(Service(name="web", log=Log(), ensure="present"), "/var/log")
    '/var/log/web'
    >>> log_directory(Service(name="web", log=Log(dir="/srv/log"), ensure="present"), "/")
    '/srv/log'
    """
    if service.log is False or service.ensure == "absent":
        return None
    return service.log.dir or default_parent.rstrip("/") + "/" + service.name
