"""schema: ``services`` and ``defaults`` — each service's own keys typed, ``defaults`` merged
under them, the checks across one service's keys, and the tree each service goes into.

A service is in the system tree, or in a user's: under ``users.LOGIN.services``, or with
``owner: LOGIN``. ``defaults`` give every service the same keys; a key that only ``defaults``
gave and that does not apply to a service (process state for a run script, another ``user`` in
a user's tree) is dropped there, not an error.
"""

import os.path
import re

from ..model import (BACKOFF_KEYS, CONTROL_LETTERS, LIMITS, READY_KINDS, RESTART_KEYS,
                     SERVICE_KEYS, TIMER_KEYS, Backoff, Log, Service)
from ..protocol.readiness import ACCESS, FD_MAX, FD_MIN, SECONDS_MAX, ReadySpec
from ..protocol.tally import RECENT
from ..source import origin_of, type_name
from .check import read_check
from .files import check_links_and_keys, read_conf, read_files, read_links
from .log import read_log
from .readers import Readers
from .resources import check_memory_bounds, read_resources, read_stop
from .sandbox import check_private_tmp, read_sandbox, sandbox_of
from .schedule import read_schedule

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
PER_SERVICE = ("command", "run", "needs", "template", "owner", "schedule")  # not in defaults
PROCESS_STATE = ("user", "group", "cwd", "umask", "nice", "limits")  # the chpst line's


def read_defaults(read, data):
    """The typed ``defaults`` (``{}`` when there are none)."""
    if data.get("defaults") is None:
        return {}
    raw = read.hash(("defaults",), data["defaults"])
    return {} if raw is None else read_service_keys(read, ("defaults",), raw, is_defaults=True)


def read_services(read, data, defaults, user_entries):
    """``([(tree, name, key path, values)], unread)``: every service with ``defaults`` merged
    under its own keys, ``tree`` being None (the system tree) or the login whose tree it is
    in; ``unread``: the ``(tree, name)`` of each service declared that could not be read at
    all (not a hash: its problem says so), which a check across services takes as there."""
    logins = [login for login, _, _ in user_entries]
    found, unread = [], set()
    for tree, name, path, raw in _raw_services(read, data, user_entries):
        name = read.name(path, name)
        raw = read.hash(path, raw) if raw is not None else None
        if raw is None:
            if name is not None and _raw_at(data, path) is None:
                read.problems.add(path, "empty service: give command or run")
            if name is not None:
                unread.add((tree, name))
            continue
        own = read_service_keys(read, path, raw)
        values = _merge(defaults, own)
        tree = _tree_of(read.problems, path, values.get("owner"), tree, logins)
        if name is not None:
            _one_service_checks(read.problems, path, values, own, tree)
            found.append((tree, name, path, values))
    return found, unread


def build_service(name, values):
    """The ``Service`` of merged ``values``, with the defaults of unset keys — a key whose
    value could not be read (None, its problem noted) as unset: the checks after this one
    run on what could be read."""
    log = values.get("log")
    if log is None:
        log = {}
    if log is not False:
        log = Log(**log)
    return Service(
        name=name, command=values.get("command"), run=values.get("run"),
        user=values.get("user"), group=values.get("group"), owner=values.get("owner"),
        env=values.get("env"), cwd=values.get("cwd"), umask=values.get("umask"),
        nice=values.get("nice"), limits=values.get("limits") or {},
        finish=values.get("finish"), check=values.get("check"),
        control=values.get("control") or {}, down=bool(values.get("down", False)),
        enabled=values.get("enabled", True) is not False,
        ensure=values.get("ensure") or "present",
        restart_on_change=values.get("restart_on_change", True) is not False,
        restart=_restart_policy(values.get("restart")),
        backoff=_backoff_policy(values.get("restart")), needs=values.get("needs") or [], log=log,
        template=values.get("template"), adopt=values.get("adopt") is True,
        conf=values.get("conf"), files=values.get("files") or {},
        links=values.get("links") or {},
        ready=_ready_spec(values.get("ready"), values.get("ready_timeout"),
                          values.get("watchdog")),
        ready_timeout=values.get("ready_timeout"), watchdog=values.get("watchdog"),
        oneshot=values.get("oneshot") is True,
        rerun_on_change=values.get("rerun_on_change") is True,
        schedule=values.get("schedule"), persistent=values.get("persistent") is True,
        jitter=float(values.get("jitter") or 0),
        time_limit=None if values.get("time_limit") is None else float(values["time_limit"]),
        resources=values.get("resources") or {}, stop=values.get("stop"),
        sandbox=sandbox_of(values.get("sandbox")))


def read_service_keys(read, path, raw, is_defaults=False):
    """One service's (or ``defaults``') own keys -> ``{key: typed value}``."""
    read.problems.check_keys(path, raw, SERVICE_KEYS)
    out = {}
    for key, value in raw.items():
        reader = _KEY_READERS.get(key)
        if reader is None:
            continue
        if is_defaults and key in PER_SERVICE:
            read.problems.add(path + (key,), "not allowed in defaults (it belongs to one "
                                             "service)")
            continue
        out[key] = reader(read, path + (key,), value)
    return out


# -- the steps of read_services ---------------------------------------------------------------
def _raw_services(read, data, user_entries):
    """``(tree, name, path, raw)`` of ``services`` and of every user's ``services``."""
    if data.get("services") is not None and read.hash(("services",), data["services"]) is not None:
        for name, raw in data["services"].items():
            yield None, name, ("services", name), raw
    for login, at, raw in user_entries:
        services = raw.get("services")
        if services is not None and read.hash(at + ("services",), services) is not None:
            for name, service in services.items():
                yield login, name, at + ("services", name), service


def _tree_of(problems, path, owner, tree, logins):
    """The tree a service goes into: its user's, or ``owner``'s (a login in ``users``)."""
    if owner is None:
        return tree
    if tree is not None and owner != tree:
        problems.add(path + ("owner",), "already in %s's tree" % tree)
    elif owner not in logins:
        problems.add(path + ("owner",), "unknown owner %r (owners are the logins in users: %s)"
                     % (owner, ", ".join(logins) or "none"))
    else:
        return owner
    return tree


def _one_service_checks(problems, path, values, own, tree_owner):
    """Checks across the keys of one merged service; ``own``: the keys it wrote itself."""
    absent = values.get("ensure") == "absent"
    check_links_and_keys(problems, path, values, own)
    run_link = "run" in (values.get("links") or {})
    has = [key for key in ("command", "run") if key in values]  # None: already reported
    if len(has) == 2:
        problems.add(path, "give either command or run, not both")
    elif not has and "template" not in values and not absent and not run_link:
        problems.add(path, "needs command or run (exactly one)")
    if run_link:
        for key in PROCESS_STATE:
            if key not in own:
                values.pop(key, None)
        mine = [key for key in PROCESS_STATE + ("needs",) if values.get(key) not in (None, {},
                                                                                    [])]
        if mine:
            problems.add(path, "%s: not with links.run (the linked run sets its own process "
                               "state, and no guard can be written into it)" % ", ".join(mine))
    if values.get("sandbox") is not None and (run_link or "template" in values):
        if "sandbox" in own:
            problems.add(path + ("sandbox",), "not with %s (./run would be started outside "
                         "the sandbox: give command or run)"
                         % ("links.run" if run_link else "template"))
        values.pop("sandbox")
    check_private_tmp(problems, path, values, own)
    if values.get("log") is False and any(name.startswith("log/")
                                          for name in values.get("files") or {}):
        problems.add(path + ("files",), "a file in log/ with log: false (runsv would run a "
                                        "log/ without run)")
    if values.get("run") is not None:
        for key in PROCESS_STATE:
            if key not in own:
                values.pop(key, None)
        mine = [key for key in PROCESS_STATE if values.get(key) not in (None, {})]
        if mine:
            problems.add(path, "%s: only with command (a run script sets its own process "
                               "state)" % ", ".join(mine))
        if values.get("needs") and not values["run"].startswith("#!/bin/sh\n"):
            problems.add(path + ("needs",), "needs a run script for /bin/sh (the guard is sh)")
    if tree_owner is not None:
        for key in ("user", "group"):
            if key not in own:
                values.pop(key, None)
        if values.get("user") not in (None, tree_owner):
            problems.add(path + ("user",), "a service in %s's tree runs as %s"
                         % (tree_owner, tree_owner))
    if values.get("group") is not None and values.get("user") is None:
        problems.add(path + ("group",), "group needs user (chpst -u USER:GROUP)")
    check_memory_bounds(problems, path, values, own)
    _timer_checks(problems, path, values, own)
    _ready_checks(problems, path, values, own)
    _oneshot_checks(problems, path, values, own)


# The keys a timer refuses, and why: each of its runs is a one-shot run (docs/jobs.md#timers).
NOT_WITH_SCHEDULE = (
    ("oneshot", "each run of a timer is a one-shot run (implied)"),
    ("rerun_on_change", "a timer runs at its schedule's elapses, never because apply "
                        "changed it"),
    ("restart", "a timer is not restarted: its next run is its next elapse"),
    ("ready", "a timer's run is done when it ends"),
    ("finish", "a timer's finish is rendered (it records each run): end the work in run"),
    ("watchdog", "a timer's run is done when it ends"),
)


def _timer_checks(problems, path, values, own):
    """A timer (``schedule``) renders its own ``run``, ``finish`` and ``job``
    (docs/jobs.md#timers): what would contradict them is an error — or dropped, when only
    ``defaults`` gave it. ``persistent``, ``jitter`` and ``time_limit`` time a schedule:
    without one, an error (dropped when only ``defaults`` gave them)."""
    if values.get("schedule") is None:
        for key in TIMER_KEYS:
            if values.get(key) is None:
                continue
            if key not in own:
                values.pop(key)  # a default for the services that are timers
            elif "schedule" not in values:  # (an unreadable one is said already)
                problems.add(path + (key,), "%s: only with schedule (it times a timer's "
                                            "runs)" % key)
        return
    for key, why in NOT_WITH_SCHEDULE:
        if values.get(key) is None:
            continue
        if key in own:
            problems.add(path + (key,), "%s: not with schedule: %s" % (key, why))
        values.pop(key)  # checked once, here: the checks after this one do not see it
    for name in ("run", "finish"):
        if name in (values.get("links") or {}):
            problems.add(path + ("links", name), "links.%s: not with schedule: a timer's %s "
                         "is rendered (the run script is its job)" % (name, name))


def _oneshot_checks(problems, path, values, own):
    """A one-shot's ``./finish`` is rendered (it keeps the record of the run and keeps the
    service down: docs/jobs.md), it is ready when it is done, and it is never restarted: its
    own ``finish``, ``ready`` or ``restart`` (give-up or back-off) is an error — or dropped,
    when only ``defaults`` gave it."""
    if values.get("oneshot") is not True:
        if values.get("rerun_on_change") is not None:
            if "rerun_on_change" in own:
                problems.add(path + ("rerun_on_change",), "rerun_on_change: only with "
                             "oneshot: true (a daemon restarts: restart_on_change)")
            else:
                values.pop("rerun_on_change")
        return
    for key, why in (("finish", "a one-shot's finish is rendered (it records the run): end "
                                "the work in run"),
                     ("ready", "a one-shot is ready when it is done"),
                     ("restart", "a one-shot is not restarted: it stays done or failed")):
        if values.get(key) is None:
            continue
        if key not in own:
            values.pop(key)
        else:
            problems.add(path + (key,), "%s: not with oneshot: %s" % (key, why))


def _ready_checks(problems, path, values, own):
    """``ready: check`` needs a ``check``; ``ready: notify`` renders its own, so a service's
    own ``check`` and a ``notify`` it wrote exclude each other (a ``notify`` from defaults
    gives way to the service's ``check``). ``ready_timeout`` and ``watchdog`` time what a
    ``notify`` service says: elsewhere an error, or dropped when only ``defaults`` gave them."""
    kind = (values.get("ready") or {}).get("kind")
    if kind == "check" and values.get("check") is None and "check" not in own:
        problems.add(path + ("ready",), "ready: check needs a check (the script sv polls)")
    elif kind in ("notify", "fd") and values.get("check") is not None:
        if "ready" not in own:
            values.pop("ready")
            kind = None
        else:
            problems.add(path + ("ready",), "ready: %s renders its own check: give check or "
                                            "ready, not both" % kind)
    for key, kinds in (("ready_timeout", ("notify", "fd")), ("watchdog", ("notify",))):
        if values.get(key) is None or kind in kinds:
            continue
        if key not in own:
            values.pop(key)  # a default for the services that declare notify
        else:
            problems.add(path + (key,), "%s needs ready: %s (it times what the service "
                                        "says)" % (key, " or ".join(kinds)))
    if kind == "notify" and (values.get("sandbox") or {}).get("private_network"):
        # said where the service wrote one of the two, else once at defaults' ready
        if "ready" in own:
            at = path + ("ready",)
        elif "private_network" in (own.get("sandbox") or {}):
            at = path + ("sandbox", "private_network")
        else:
            at = ("defaults", "ready")
        problems.add(at, "ready: notify with sandbox.private_network: the "
                     "notify socket is in the host's network namespace, out of the service's "
                     "reach (ready: {fd: N} is a pipe, which it keeps)")


def _merge(defaults, own):
    """``defaults`` under ``own``: hashes (env, limits, resources, control, log, restart,
    sandbox) merged, others replaced."""
    merged = dict(defaults)
    for key, value in own.items():
        base = merged.get(key)
        if isinstance(base, dict) and isinstance(value, dict):
            merged[key] = dict(base, **value)
        else:
            merged[key] = value
    return merged


def _raw_at(data, path):
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


# -- the readers of single keys ---------------------------------------------------------------
def is_env_name(name):
    """Whether ``name`` can be a key of ``env``: a shell's variable name, the rule import
    reads ``env/`` files and crontab settings back by too (chpst -e itself takes any name
    without a leading dot).

    >>> [is_env_name(name) for name in ("PORT", "_x1", "1X", "A-B", "A.B", "", "A\\n", "É")]
    [True, True, False, False, False, False, False, False]
    """
    return isinstance(name, str) and _ENV_NAME.match(name) is not None


def _read_env(read, path, value):
    value = read.hash(path, value)
    if value is None:
        return None
    env = {}
    for name, item in value.items():
        at = path + (name,)
        if not is_env_name(name):
            read.problems.add(at, "%r is not a variable name ([A-Za-z_][A-Za-z0-9_]*)"
                              % (name,))
            continue
        if item is None:
            env[name] = None  # an empty env/ file: chpst -e unsets the variable
            continue
        if isinstance(item, (bool, int, float)):
            item = ("true" if item else "false") if isinstance(item, bool) else str(item)
        text = read.text(at, item, allow_newlines=True, empty=True)
        if text is None:
            continue
        if text != text.rstrip(" \t"):
            read.problems.add(at, "trailing spaces or tabs cannot be kept (chpst -e strips "
                                  "them)")
            continue
        env[name] = text
    return env


def _read_umask(read, path, value):
    if isinstance(value, str) and re.match(r"0?[0-7]{3}\Z", value):
        return value.rjust(4, "0")
    read.problems.add(path, "write umask as a quoted octal string, e.g. '0022' (got %r)"
                      % (value,))
    return None


def _read_limits(read, path, value):
    value = read.keyed_hash(path, value, tuple(LIMITS))
    if value is None:
        return None
    return {key: read.integer(path + (key,), item, 0)
            for key, item in value.items() if key in LIMITS}


DAY = 86400
YEAR = 366 * DAY
BACKOFF_DEFAULTS = {"delay": 1, "max_delay": None, "steps": 0, "jitter": 0, "reset_after": 60}


def _read_restart(read, path, value):
    """``restart: {give_up_after: N, within: SECONDS}`` (within defaults to 60) and the
    back-off: ``{delay, max_delay, steps, jitter, reset_after}`` (docs/restart.md)."""
    value = read.keyed_hash(path, value, RESTART_KEYS)
    if value is None:
        return None
    found = {}
    if "give_up_after" in value:
        found["give_up_after"] = read.integer(path + ("give_up_after",),
                                              value["give_up_after"], 1, RECENT)
    if "within" in value:
        found["within"] = read.integer(path + ("within",), value["within"], 1, DAY)
    for key, low in (("delay", 0), ("max_delay", 0), ("jitter", 0), ("reset_after", 1)):
        if key in value:
            found[key] = _seconds(read, path + (key,), value[key], low)
    if "steps" in value:
        found["steps"] = read.integer(path + ("steps",), value["steps"], 1, 64)
    for key, other in (("max_delay", "steps"), ("steps", "max_delay")):
        if key in value and other not in value:
            read.problems.add(path + (key,), "%s needs %s beside it (systemd's RestartSteps= "
                                             "and RestartMaxDelaySec= likewise)" % (key, other))
    delay, top = found.get("delay"), found.get("max_delay")
    if delay is not None and top is not None and top <= delay:
        read.problems.add(path + ("max_delay",), "%s is not more than delay (%s)"
                          % (_shown(top), _shown(delay)))
    if found.get("steps") and "delay" in value and delay == 0:
        read.problems.add(path + ("delay",), "0 cannot grow in steps: give a first delay")
    return found


def _seconds(read, path, value, low, high=DAY, above_low=False):
    """A number of seconds, whole or not, ``low`` to ``high`` (a day) — more than ``low``
    when ``above_low``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        read.problems.add(path, "expected a number of seconds, got %s" % type_name(value))
        return None
    if above_low and value == low:
        read.problems.add(path, "%s: give more than %d seconds" % (_shown(value), low))
        return None
    if not low <= value <= high:
        read.problems.add(path, "%s is out of range (%d..%d seconds)" % (_shown(value), low,
                                                                          high))
        return None
    return value


def _shown(number):
    return ("%d" % number) if number == int(number) else ("%g" % number)


def _restart_policy(value):
    """``(give_up_after, within)`` of a merged ``restart`` hash, or None (no policy)."""
    if not value or value.get("give_up_after") is None:
        return None
    return value["give_up_after"], value.get("within") or 60


def _backoff_policy(value):
    """The Backoff of a merged ``restart`` hash, or None (no back-off key in it)."""
    if not value or all(value.get(key) is None for key in BACKOFF_KEYS):
        return None
    found = {key: value[key] if value.get(key) is not None else default
             for key, default in BACKOFF_DEFAULTS.items()}
    if found["max_delay"] is None or not found["steps"]:
        found["max_delay"], found["steps"] = found["delay"], 0
    return Backoff(**found)


def _read_ready(read, path, value):
    """``ready: notify | check``, ``{notify: {access: main|all}}`` or ``{fd: N}`` (s6's
    notification-fd) -> ``{kind, access | fd}`` (a hash, so that ``defaults`` merge under a
    service's own)."""
    if isinstance(value, str):
        if value in READY_KINDS:
            return {"kind": value}
        read.problems.add(path, "expected one of %s, {notify: {access: main|all}} or "
                                "{fd: N}, got %r" % (", ".join(READY_KINDS), value))
        return None
    value = read.keyed_hash(path, value, ("notify", "fd"))
    if value is None:
        return None
    if "fd" in value and "notify" not in value:
        number = read.integer(path + ("fd",), value["fd"], FD_MIN, FD_MAX)
        return None if number is None else {"kind": "fd", "fd": number}
    if ("notify" in value) == ("fd" in value):
        if value.get("notify") is not None or "fd" in value or not value:
            read.problems.add(path, "a readiness hash has notify or fd, one of them")
        return None
    options = value["notify"]
    if options is None:
        return {"kind": "notify"}
    options = read.hash(path + ("notify",), options)
    if options is None:
        return None
    read.problems.check_keys(path + ("notify",), options, ("access",))
    found = {"kind": "notify"}
    if "access" in options:
        access = read.choice(path + ("notify", "access"), options["access"], ACCESS)
        if access is not None:
            found["access"] = access
    return found


def _ready_spec(value, timeout, watchdog):
    """The ReadySpec of a merged ``ready`` (None: nothing beyond up, or today's check)."""
    if not value or value.get("kind") not in ("notify", "fd"):
        return None
    if value["kind"] == "fd":
        return ReadySpec("fd", "main", timeout or 0, 0, value["fd"])
    return ReadySpec("notify", value.get("access") or "main", timeout or 0, watchdog or 0)


def _read_control(read, path, value):
    value = read.hash(path, value)
    if value is None:
        return None
    control = {}
    for letter, script in value.items():
        at = path + (letter,)
        if isinstance(letter, int) and not isinstance(letter, bool):
            letter = str(letter)  # an unquoted 1 or 2
        if not isinstance(letter, str) or len(letter) != 1 or letter not in CONTROL_LETTERS:
            read.problems.add(at, "%r is not a runsv control letter (one of %s)"
                              % (letter, " ".join(CONTROL_LETTERS)))
            continue
        script = read.script(at, script)
        if script is not None:
            control[letter] = script
    return control


def _read_needs(read, path, value):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        read.problems.add(path, "expected a list of service names, got %s" % type_name(value))
        return None
    names = []
    for index, name in enumerate(value):
        name = read.name(path + (index,), name)
        if name is not None and name not in names:
            names.append(name)
    return names


def _read_template(read, path, value):
    """A user template's path; relative to the directory of the file that names it."""
    value = read.text(path, value)
    if value is None or value.startswith("/"):
        return value
    origin = origin_of(read.problems.origins, path)
    base = os.path.dirname(os.path.abspath(origin.file)) if origin is not None else os.getcwd()
    return os.path.normpath(os.path.join(base, value))


_KEY_READERS = {
    "command": Readers.argv,
    "run": Readers.script,
    "finish": Readers.script,
    "user": Readers.account,
    "group": Readers.account,
    "owner": Readers.account,
    "env": _read_env,
    "cwd": lambda read, path, value: read.abspath(path, value, simple=False),
    "umask": _read_umask,
    "nice": lambda read, path, value: read.integer(path, value, -20, 19),
    "limits": _read_limits,
    "check": read_check,
    "control": _read_control,
    "down": Readers.boolean,
    "oneshot": Readers.boolean,
    "rerun_on_change": Readers.boolean,
    "schedule": read_schedule,
    "persistent": Readers.boolean,
    "jitter": lambda read, path, value: _seconds(read, path, value, 0, YEAR),
    "time_limit": lambda read, path, value: _seconds(read, path, value, 0, YEAR,
                                                     above_low=True),
    "enabled": Readers.boolean,
    "restart_on_change": Readers.boolean,
    "adopt": Readers.boolean,
    "restart": _read_restart,
    "ensure": lambda read, path, value: read.choice(path, value, ("present", "absent")),
    "needs": _read_needs,
    "log": read_log,
    "template": _read_template,
    "conf": read_conf,
    "files": read_files,
    "links": read_links,
    "ready": _read_ready,
    "ready_timeout": lambda read, path, value: read.integer(path, value, 1, SECONDS_MAX),
    "watchdog": lambda read, path, value: read.integer(path, value, 1, SECONDS_MAX),
    "resources": read_resources,
    "stop": read_stop,
    "sandbox": read_sandbox,
}
