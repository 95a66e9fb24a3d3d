"""importing: a systemd ``.service`` unit -> the data of a runit service, or why not.

Pure: the unit's text (and its drop-ins', and any ``EnvironmentFile`` the caller read) in, a
``Translation`` out — the service's data, notes for the operator, and ``refusals``: the
settings runit cannot do faithfully, each with its ``file:line`` (a unit with any is not
imported: nothing is ever silently dropped).

What runit can express is translated — ``ExecStart`` and its neighbours, the run-as and
environment settings, ``Limit*``, ``Type=oneshot`` and ``Type=notify``, ``Restart=``,
``Requires=``/``Wants=`` on units imported with it, the specifiers, the cgroup limits and
``KillMode=`` (``cgroup_keys.py``), the hardening settings the sandbox has
(``sandbox_keys.py``). Refused: ``Type=forking``, activation by socket, timer or path, the
other cgroup settings, seccomp and the other hardening settings, and anything else
that changes how the service runs which runit has no word for; settings that only inform
systemd are ignored, said in the notes. Lenient (``drop_unsupported``): a setting runit has
no word for is dropped instead, listed in ``dropped`` with its ``file:line``; what would run
another program, or none, stays a refusal. Each setting: docs/import.md, "From systemd units".

Why one module: the unit's settings are translated as one table read top to bottom, each
rule beside those it depends on (``ExecStart=`` with ``Type=``, ``User=`` with ``Group=``);
the cgroup and sandbox keys, which stand alone, are apart already.
"""

from ..model import LIMITS
from .cgroup_keys import RESOURCE_SETTINGS, carry_resources
from .sandbox_keys import BOOLEANS, HARDENING_WHY, SANDBOX_SETTINGS, carry_sandbox

SUFFIX = ".service"
FOREGROUND_TYPES = ("simple", "exec", "notify", "notify-reload", "idle", "dbus")
# [Unit] and [Install]: what systemd reads for ordering, documentation and enablement only.
INFORMATIVE = {
    "Unit": {"Description", "Documentation", "After", "Before", "Wants", "Requires",
             "Requisite", "BindsTo", "PartOf", "Conflicts", "DefaultDependencies",
             "ConditionPathExists", "ConditionPathIsDirectory", "ConditionFileNotEmpty",
             "ConditionVirtualization", "ConditionKernelCommandLine", "ConditionFileIsExecutable",
             "AssertPathExists", "RequiresMountsFor", "OnFailure", "IgnoreOnIsolate",
             "StartLimitIntervalSec", "StartLimitBurst", "StartLimitInterval", "SourcePath",
             "ReloadPropagatedFrom", "PropagatesReloadTo", "JoinsNamespaceOf", "StopWhenUnneeded",
             "RefuseManualStart", "RefuseManualStop", "AllowIsolate", "CollectMode"},
    "Install": {"WantedBy", "RequiredBy", "Alias", "Also", "DefaultInstance"},
}
# [Service] keys translated, or informative only (timeouts: runit's sv -w says how long).
SERVICE_TRANSLATED = {"Type", "ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop",
                      "ExecReload", "User", "Group", "SupplementaryGroups", "Environment",
                      "EnvironmentFile", "WorkingDirectory", "UMask", "Nice", "Restart",
                      "RemainAfterExit", "RuntimeDirectory", "RuntimeDirectoryMode",
                      "OOMScoreAdjust", "PIDFile", "KillMode"} | {"Limit" + name for name in (
                          "NOFILE", "NPROC", "AS", "DATA", "STACK", "CORE", "CPU", "FSIZE",
                          "RSS")} | set(RESOURCE_SETTINGS) | SANDBOX_SETTINGS
SERVICE_INFORMATIVE = {"TimeoutStartSec", "TimeoutStopSec", "TimeoutSec", "RestartSec",
                       "KillSignal", "SendSIGKILL", "SendSIGHUP",
                       "SuccessExitStatus", "RestartPreventExitStatus", "StandardOutput",
                       "StandardError", "SyslogIdentifier", "SyslogFacility", "SyslogLevel",
                       "BusName", "NotifyAccess", "WatchdogSec", "GuessMainPID",
                       "FileDescriptorStoreMax", "TimeoutAbortSec", "FinalKillSignal",
                       "RestartKillSignal", "ExecStopPost", "StartLimitBurst",
                       "StartLimitIntervalSec", "StartLimitInterval"}
# chpst's limits (model.LIMITS keys) by systemd's Limit name
_LIMIT_KEYS = {"LimitNOFILE": "nofile", "LimitNPROC": "nproc", "LimitAS": "mem",
               "LimitDATA": "data", "LimitSTACK": "stack", "LimitCORE": "core",
               "LimitCPU": "cpu", "LimitFSIZE": "fsize", "LimitRSS": "rss"}
_FIXED_SPECIFIERS = {"t": "/run", "S": "/var/lib", "C": "/var/cache", "L": "/var/log",
                     "E": "/etc", "T": "/tmp", "V": "/var/tmp", "%": "%"}
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            "\\": "\\", '"': '"', "'": "'", "s": " "}


class UnitError(ValueError):
    """A unit file that cannot be read (a syntax error), with its file:line."""


class Unit:
    """A parsed unit: ``settings`` [(section, key, value, "file:line")] in order (drop-ins
    after the unit, as systemd reads them); ``name`` like ``getty@tty1.service``."""

    def __init__(self, name, settings):
        self.name = name
        self.settings = settings

    def values(self, section, key):
        """Every value of ``key`` in ``section`` in order, an empty one resetting the list
        (systemd's rule for list settings); [(value, where)]."""
        found = []
        for sec, name, value, where in self.settings:
            if sec == section and name == key:
                found = [] if value == "" else found + [(value, where)]
        return found

    def value(self, section, key, default=None):
        found = self.values(section, key)
        return found[-1][0] if found else default

    def where(self, section, key):
        found = self.values(section, key)
        return found[-1][1] if found else None


def parse_unit(name, texts):
    """The Unit ``name`` from ``texts`` [(file name, text)]: the unit, then its drop-ins."""
    settings = []
    for file_name, text in texts:
        section = None
        pending, start = "", 0
        for number, line in enumerate(text.split("\n"), 1):
            if not pending:
                start = number
                stripped = line.strip()
                if not stripped or stripped[0] in "#;":
                    continue
            else:
                stripped = line.strip()
                if stripped[:1] in ("#", ";"):
                    continue  # a comment inside a continuation is skipped
            if stripped.endswith("\\"):
                pending += stripped[:-1] + " "
                continue
            line_text, pending = pending + stripped, ""
            where = "%s:%d" % (file_name, start)
            if line_text.startswith("["):
                if not line_text.endswith("]"):
                    raise UnitError("%s: a section header without its ]" % where)
                section = line_text[1:-1]
                continue
            key, equals, value = line_text.partition("=")
            if not equals or not key.strip():
                raise UnitError("%s: not KEY=VALUE: %r" % (where, line_text))
            if section is None:
                raise UnitError("%s: a setting before any [section]" % where)
            settings.append((section, key.strip(), value.strip(), where))
    return Unit(name, settings)


# -- command lines --------------------------------------------------------------------------
class Command:
    """One Exec line: ``words`` (each a list of parts: ("text", s) or ("var", NAME, braced)),
    and its prefixes."""

    def __init__(self, words, ignore_failure=False, argv0=None, expand=True):
        self.words, self.ignore_failure, self.argv0, self.expand = (
            words, ignore_failure, argv0, expand)

    @property
    def has_variables(self):
        return any(part[0] == "var" for word in self.words for part in word)

    def argv(self):
        """The words as plain strings (no variable in them)."""
        return ["".join(part[1] for part in word) for word in self.words]


def parse_command(value, specifiers):
    """An Exec value -> Command; ValueError(why) for what cannot be run by runit."""
    ignore = at = no_expand = False
    index = 0
    while index < len(value) and value[index] in "-@:+!":
        prefix = value[index]
        if prefix in "+!":
            raise ValueError("the %r prefix (privileges systemd would change) has no runit "
                             "equivalent" % prefix)
        ignore, at, no_expand = (ignore or prefix == "-", at or prefix == "@",
                                 no_expand or prefix == ":")
        index += 1
    words = split_words(value[index:], specifiers, expand=not no_expand)
    if not words:
        raise ValueError("an empty command")
    argv0 = None
    if at:
        if len(words) < 2:
            raise ValueError("@ needs a program and its argv[0]")
        argv0 = "".join(part[1] for part in words.pop(1))
    return Command(words, ignore, argv0, not no_expand)


def split_words(text, specifiers, expand=True):
    """systemd's splitting: whitespace between words, single and double quotes, C escapes,
    % specifiers, and (``expand``) ``$NAME`` / ``${NAME}``."""
    words, parts, current = [], [], []
    in_word, quote = False, None
    index = 0

    def flush_text():
        if current:
            parts.append(("text", "".join(current)))
            current.clear()

    while index < len(text):
        char = text[index]
        if quote is None and char in " \t":
            if in_word:
                flush_text()
                words.append(list(parts))
                parts.clear()
                in_word = False
            index += 1
            continue
        in_word = True
        if quote is None and char in "\"'" :
            quote = char
        elif char == quote:
            quote = None
        elif char in "\\%" and index + 1 < len(text):
            # an escape (\n) or a specifier (%i): the next character, looked up
            table, what = (_ESCAPES, "an escape \\") if char == "\\" else (specifiers,
                                                                          "the specifier %")
            if text[index + 1] not in table:
                raise ValueError(what + text[index + 1])
            current.append(table[text[index + 1]])
            index += 1
        elif char == "$" and expand and quote != "'" and index + 1 < len(text) and (
                text[index + 1] == "{" or text[index + 1].isalpha() or text[index + 1] == "_"):
            flush_text()
            if text[index + 1] == "{":
                end = text.find("}", index)
                if end < 0:
                    raise ValueError("${ without }")
                parts.append(("var", text[index + 2:end], True))
                index = end
            else:
                end = index + 1
                while end < len(text) and (text[end].isalnum() or text[end] == "_"):
                    end += 1
                parts.append(("var", text[index + 1:end], False))
                index = end - 1
        else:
            current.append(char)
        index += 1
    if quote is not None:
        raise ValueError("a quote is not closed")
    if in_word:
        flush_text()
        words.append(list(parts))
    return words


def shell_words(command, quote):
    """A Command as sh words: text quoted by ``quote``, ``$NAME`` left to split as systemd
    splits it, ``${NAME}`` one word."""
    out = []
    for word in command.words:
        pieces = []
        for part in word:
            if part[0] == "text":
                pieces.append(quote(part[1]) if part[1] else "")
            else:
                pieces.append('"${%s}"' % part[1] if part[2] else "$%s" % part[1])
        out.append("".join(pieces) or "''")
    return out


def specifiers_of(unit_name):
    """The %-specifiers of a unit name (``getty@tty1.service``)."""
    base = unit_name[:-len(SUFFIX)] if unit_name.endswith(SUFFIX) else unit_name
    prefix, at, instance = base.partition("@")
    values = dict(_FIXED_SPECIFIERS)
    values.update({"n": unit_name, "N": base, "p": prefix, "P": _unescape(prefix),
                   "i": instance, "I": _unescape(instance),
                   "f": "/" + _unescape(instance or prefix).lstrip("/")})
    return values


def _unescape(text):
    """systemd-escape's inverse: ``-`` is ``/``, ``\\xNN`` a byte."""
    out, index = [], 0
    while index < len(text):
        if text.startswith("\\x", index) and index + 4 <= len(text):
            try:
                out.append(chr(int(text[index + 2:index + 4], 16)))
                index += 4
                continue
            except ValueError:
                pass
        out.append("/" if text[index] == "-" else text[index])
        index += 1
    return "".join(out)


# -- the translation --------------------------------------------------------------------------
class Translation:
    """``name``: the service's; ``data`` (None when refused); ``notes`` for the operator;
    ``refusals``: what runit cannot do, each "file:line: KEY=VALUE: why"."""

    def __init__(self, name):
        self.name, self.data, self.notes, self.refusals = name, None, [], []
        self.dropped = []  # with drop_unsupported: the settings left out, "file:line: …"


_RESTART_FINISH = {
    "no": ("", "Restart=no: systemd does not start it again; runit would"),
    "on-failure": ('[ "$1" = 0 ] && ', "Restart=on-failure: down after a clean exit"),
    "on-success": ('[ "$1" = 0 ] || ', "Restart=on-success: down after a failure"),
}


def translate(unit, imported=(), has_socket=False, drop_unsupported=False, timer=False):
    """The Translation of ``unit``; ``imported``: the service names imported with it (their
    Requires/Wants become needs); ``has_socket``: a NAME.socket unit exists beside it;
    ``drop_unsupported``: what runit has no word for is dropped (listed), not refused;
    ``timer``: the unit is the job of a ``.timer`` (``translate_timer``): run once per
    elapse — no ``oneshot``, ``finish`` or ``ready`` of its own, ``RuntimeMaxSec=`` taken."""
    from ..render.environment import shell_quote
    name = unit.name[:-len(SUFFIX)] if unit.name.endswith(SUFFIX) else unit.name
    result = Translation(name)
    refuse = result.refusals.append
    unsupported = result.dropped.append if drop_unsupported else refuse
    specifiers = specifiers_of(unit.name)
    if has_socket:
        result.notes.append("%s.socket exists beside it: if that socket is what is enabled, "
                            "systemd starts the service on a connection; runit starts it at "
                            "boot" % name)
    ignored = []
    for section, key, value, where in unit.settings:
        if section in INFORMATIVE:
            ignored.append(key)
        elif section != "Service":
            unsupported("%s: [%s] %s=%s: runit has no %s units" % (
                where, section, key, value, section.lower()))
        elif key in SERVICE_INFORMATIVE or (key in HARDENING_WHY and (
                not value or BOOLEANS.get(value.lower()) is False)):  # off: systemd's default
            ignored.append(key)
        elif key in HARDENING_WHY:
            unsupported("%s: %s=%s: %s" % (where, key, value, HARDENING_WHY[key]))
        elif key not in SERVICE_TRANSLATED and not (timer and key in TIMER_SERVICE_KEYS):
            unsupported("%s: %s=%s: runit has no equivalent" % (where, key, value))
    kind = unit.value("Service", "Type", "simple")
    if kind == "forking":
        refuse("%s: Type=forking: runit supervises a process in the foreground; run the "
               "daemon with its foreground option and import again" % unit.where(
                   "Service", "Type"))
    elif kind not in FOREGROUND_TYPES + ("oneshot",):
        refuse("%s: Type=%s: unknown" % (unit.where("Service", "Type"), kind))
    restart = unit.value("Service", "Restart", "no")
    if timer and restart != "no":
        unsupported("%s: Restart=%s: a timer's job runs once per elapse, and is not started "
                    "again when it ends" % (unit.where("Service", "Restart"), restart))
        restart = "no"
    elif kind == "oneshot" and restart != "no":
        unsupported("%s: Restart=%s with Type=oneshot: a one-shot stays down, done or failed "
                    "(docs/jobs.md)" % (unit.where("Service", "Restart"), restart))
        restart = "no"
    if restart not in _RESTART_FINISH and restart != "always":
        unsupported("%s: Restart=%s: runit restarts always, or not (finish)" % (
            unit.where("Service", "Restart"), restart))
        restart = "always"  # dropped: runit's own way

    def commands(key):
        found = []
        for value, where in unit.values("Service", key):
            try:
                found.append(parse_command(value, specifiers))
            except ValueError as exc:
                refuse("%s: %s=%s: %s" % (where, key, value, exc))
        return found

    starts, pre = commands("ExecStart"), commands("ExecStartPre")
    stops, reloads = commands("ExecStop"), commands("ExecReload")
    for value, where in unit.values("Service", "ExecStartPost"):
        unsupported("%s: ExecStartPost=%s: runit has no 'after the start' (a check script "
                    "runs until the service is ready, but not a command after it)"
                    % (where, value))
    if not starts:
        refuse("%s: no ExecStart" % unit.name)
    elif len(starts) > 1 and kind != "oneshot":
        refuse("%s: several ExecStart lines outside Type=oneshot" % unit.name)
    keys = _process_keys(unit, specifiers, refuse, unsupported)
    if result.refusals:
        return result
    data = _with_script(kind, starts, pre, keys, unit, shell_quote) \
        if ((kind == "oneshot" and not (timer and len(starts) == 1)) or pre or keys["env_files"] or keys["groups"]
            or keys["runtime_dirs"] or keys["oom"] is not None
            or any(c.has_variables or c.ignore_failure or c.argv0 for c in starts)) \
        else _structured(starts[0], keys)
    control = {}
    if stops:
        control["t"] = _control_script(stops, "ExecStop", "exit 1  # runsv then sends TERM "
                                       "to what is left, as systemd its KillSignal",
                                       shell_quote)
    if reloads:
        control["h"] = _control_script(reloads, "ExecReload", "exit 0  # done: no HUP",
                                       shell_quote)
    if control:
        data["control"] = control
    carry_resources(unit, data, result.notes, refuse, unsupported)
    carry_sandbox(unit, data, result.notes, refuse, unsupported, lambda value: [
        "".join(part[1] for part in word) for word in split_words(value, specifiers, False)])
    if result.refusals:
        return result
    finish = _RESTART_FINISH.get(restart)
    if timer:  # each elapse runs it once: the timer's finish records it (docs/jobs.md)
        pass
    elif kind == "oneshot":  # its finish is rendered: it keeps it down and records the run
        data["oneshot"] = True
        if unit.value("Service", "RemainAfterExit", "no") in ("yes", "true", "1", "on"):
            result.notes.append("RemainAfterExit=yes: a one-shot that is done stays as wanted "
                                "(done) in status, the fact and verify, as systemd's "
                                "active (exited)")
    elif finish is not None:
        data["finish"] = "#!/bin/sh\n# %s\n%sexec sv down .\n" % (finish[1], finish[0])
    needs = [dep[:-len(SUFFIX)] for key in ("Requires", "Wants")
             for value, _where in unit.values("Unit", key) for dep in value.split()
             if dep.endswith(SUFFIX) and dep[:-len(SUFFIX)] in imported]
    if needs:
        data["needs"] = list(dict.fromkeys(needs))
    if timer and kind in ("notify", "notify-reload"):
        result.notes.append("Type=%s: a timer's job is not waited for ready: it runs to its "
                            "end, each elapse" % kind)
    elif kind in ("notify", "notify-reload"):
        ignored = [key for key in ignored if key not in _READINESS_KEYS]
        _readiness(unit, kind, data, result.notes, refuse)
        if result.refusals:
            result.data = None
            return result
    if ignored:
        result.notes.append("ignored (systemd's own: ordering, documentation, timeouts, "
                            "install): %s" % ", ".join(sorted(set(ignored))))
    result.data = data
    return result


# -- timers (docs/import.md, "Timers") -------------------------------------------------------
TIMER_SUFFIX = ".timer"
TIMER_SERVICE_KEYS = {"RuntimeMaxSec"}  # a timer's job: its run's time limit
TIMER_TRANSLATED = {"OnCalendar", "Persistent", "RandomizedDelaySec", "AccuracySec", "Unit"}
# [Timer] settings runit-provision's timers have no word for, and the value of each that is
# what they do anyway (systemd's default): that value is accepted, any other is unsupported
TIMER_UNSUPPORTED = {
    "OnBootSec": None, "OnStartupSec": None, "OnActiveSec": None, "OnUnitActiveSec": None,
    "OnUnitInactiveSec": None, "WakeSystem": "no", "RemainAfterElapse": "yes",
    "OnClockChange": "no", "OnTimezoneChange": "no", "FixedRandomDelay": "no",
}
_TIMER_WHY = {
    "OnBootSec": "a monotonic timer (from boot): runit-provision's timers run on the calendar",
    "OnStartupSec": "a monotonic timer (from the manager's start): runit-provision's timers "
                    "run on the calendar",
    "OnActiveSec": "a monotonic timer (from the timer's start): runit-provision's timers run "
                   "on the calendar",
    "OnUnitActiveSec": "a monotonic timer (from the job's last start): runit-provision's "
                       "timers run on the calendar",
    "OnUnitInactiveSec": "a monotonic timer (from the job's last end): runit-provision's "
                         "timers run on the calendar",
    "WakeSystem": "waking a suspended host is systemd's (an RTC alarm)",
    "RemainAfterElapse": "a timer's state after its last elapse is systemd's",
    "OnClockChange": "a run on a clock change: runit-provision's timers re-arm on one, and "
                     "do not run",
    "OnTimezoneChange": "a run on a time zone change: runit-provision's timers do not run on "
                        "one",
    "FixedRandomDelay": "a jitter fixed per host: runit-provision's is drawn for each run",
}


def timer_service_name(timer):
    """The ``.service`` unit a timer starts: its ``Unit=``, else the timer's own name; the
    name and the ``file:line`` of ``Unit=`` (None when not given)."""
    named = timer.value("Timer", "Unit")
    if named:
        return named, timer.where("Timer", "Unit")
    return timer.name[:-len(TIMER_SUFFIX)] + SUFFIX, None


def translate_timer(timer, service, imported=(), drop_unsupported=False):
    """The Translation of a ``.timer`` unit and the ``.service`` unit it starts: the service's
    (``translate(service, timer=True)``), named after the timer, with ``schedule``
    (``OnCalendar=``, one expression), ``persistent`` (``Persistent=``), ``jitter``
    (``RandomizedDelaySec=``) and ``time_limit`` (the service's ``RuntimeMaxSec=``); a
    setting the timers have no word for is refused by name (dropped with
    ``drop_unsupported``); the refusals of either unit refuse both."""
    from ..protocol.schedule import ScheduleError, is_cron, parse_schedule
    result = translate(service, imported, drop_unsupported=drop_unsupported, timer=True)
    result.name = timer.name[:-len(TIMER_SUFFIX)]
    refuse = result.refusals.append
    unsupported = result.dropped.append if drop_unsupported else refuse
    keys, ignored = {}, []
    for section, key, value, where in timer.settings:
        if section in INFORMATIVE:
            ignored.append(key)
        elif section != "Timer":
            unsupported("%s: [%s] %s=%s: a .timer unit has no [%s] section runit-provision "
                        "reads" % (where, section, key, value, section))
        elif key in TIMER_UNSUPPORTED:
            default = TIMER_UNSUPPORTED[key]
            if default is not None and BOOLEANS.get(value.lower()) == BOOLEANS[default]:
                ignored.append(key)
            else:
                unsupported("%s: %s=%s: %s" % (where, key, value, _TIMER_WHY[key]))
        elif key not in TIMER_TRANSLATED:
            unsupported("%s: %s=%s: runit-provision's timers have no equivalent" % (
                where, key, value))
    calendars = timer.values("Timer", "OnCalendar")
    if not calendars:
        refuse("%s: no OnCalendar=: runit-provision's timers run on the calendar only"
               % timer.name)
    elif len({value for value, _where in calendars}) > 1:
        refuse("%s: OnCalendar= given %d times (%s): a timer takes one expression — make it "
               "one timer each, or one expression that says both" % (
                   calendars[-1][1], len(calendars),
                   ", ".join("%s at %s" % item for item in calendars)))
    else:
        value, where = calendars[0]
        try:
            if is_cron(value):
                raise ScheduleError("not a calendar expression (systemd's OnCalendar= has at "
                                    "most four words)", 1)
            parse_schedule(value)
        except ScheduleError as exc:
            refuse("%s: OnCalendar=%s: %s" % (where, value, exc))
        else:
            keys["schedule"] = value
    persistent = timer.value("Timer", "Persistent")
    if persistent is not None:
        if persistent.lower() not in BOOLEANS:
            refuse("%s: Persistent=%s: not a boolean" % (timer.where("Timer", "Persistent"),
                                                         persistent))
        elif BOOLEANS[persistent.lower()]:
            keys["persistent"] = True
    for unit, section, key, target in ((timer, "Timer", "RandomizedDelaySec", "jitter"),
                                       (service, "Service", "RuntimeMaxSec", "time_limit")):
        value = unit.value(section, key)
        if value is None:
            continue
        try:
            seconds = time_span(value)
        except ValueError as exc:
            refuse("%s: %s=%s: %s" % (unit.where(section, key), key, value, exc))
            continue
        if 0 < seconds < float("inf"):  # 0 and infinity: none
            keys[target] = int(seconds) if seconds == int(seconds) else seconds
    accuracy = timer.value("Timer", "AccuracySec")
    if accuracy is not None:
        result.notes.append("AccuracySec=%s: accepted; runit-provision's timers fire on time "
                            "(systemd may start a run up to that late, to batch wake-ups)"
                            % accuracy)
    named, where = timer_service_name(timer)
    if named != result.name + SUFFIX:
        result.notes.append("the job of %s: %s (Unit=, %s)" % (timer.name, named, where))
    if ignored:
        result.notes.append("ignored in %s (systemd's own: ordering, documentation, install, "
                            "defaults): %s" % (timer.name, ", ".join(sorted(set(ignored)))))
    if result.refusals:
        result.data = None
        return result
    result.data.update(keys)
    return result


_READINESS_KEYS = ("NotifyAccess", "TimeoutStartSec", "TimeoutSec", "WatchdogSec")
_SPAN_UNITS = {"us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3, "s": 1, "sec": 1,
               "second": 1, "seconds": 1, "m": 60, "min": 60, "minute": 60, "minutes": 60,
               "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600, "d": 86400, "day": 86400,
               "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}


def _readiness(unit, kind, data, notes, refuse):
    """``Type=notify``'s readiness as data: ``ready`` (``NotifyAccess=``), ``ready_timeout``
    (``TimeoutStartSec=``, else ``TimeoutSec=``) and ``watchdog`` (``WatchdogSec=``); 0 or
    ``infinity`` is none (systemd's default start timeout of 90 s is not carried over)."""
    access = unit.value("Service", "NotifyAccess", "main")
    if access == "none":
        notes.append("NotifyAccess=none: systemd ignores its notifications, so it is not "
                     "imported as ready: notify")
        return
    if access not in ("main", "all", "exec"):
        refuse("%s: NotifyAccess=%s: unknown" % (unit.where("Service", "NotifyAccess"),
                                                 access))
        return
    if access == "exec":
        notes.append("NotifyAccess=exec: imported as access: all (its children too)")
        access = "all"
    data["ready"] = "notify" if access == "main" else {"notify": {"access": "all"}}
    if kind == "notify-reload":
        notes.append("Type=notify-reload: imported as notify (a reload is ExecReload's "
                     "control/h, not a signal runsv sends)")
    timeout_key = "TimeoutStartSec" if unit.values("Service", "TimeoutStartSec") \
        else "TimeoutSec"
    for key, target in ((timeout_key, "ready_timeout"), ("WatchdogSec", "watchdog")):
        value = unit.value("Service", key, None)
        if value is None:
            continue
        try:
            seconds = time_span_seconds(value)
        except ValueError as exc:
            refuse("%s: %s=%s: %s" % (unit.where("Service", key), key, value, exc))
            continue
        if seconds:
            data[target] = seconds


def time_span_seconds(text):
    """systemd's time span (systemd.time(7)) as whole seconds, rounded up; 0 for ``0`` or
    ``infinity`` (none). ValueError when it is not one, or longer than a day.

    >>> [time_span_seconds(t) for t in ("90", "1min 30s", "2m", "500ms", "infinity", "0")]
    [90, 90, 120, 1, 0, 0]
    """
    import math
    seconds = time_span(text)
    if seconds == math.inf:
        return 0
    seconds = math.ceil(seconds)
    if seconds > 86400:
        raise ValueError("longer than a day: runsv's timers take 1 to 86400 seconds")
    return seconds


def time_span(text):
    """systemd's time span (systemd.time(7)) in seconds, a float (``math.inf`` for
    ``infinity``); ValueError when it is not one.

    >>> [time_span(t) for t in ("90", "1min 30s", "1h 500ms", "2d", "", "0")]
    [90.0, 90.0, 3600.5, 172800.0, 0.0, 0.0]
    """
    import math
    import re
    text = text.strip()
    if text == "infinity":
        return math.inf
    if text in ("0", ""):
        return 0.0
    total = 0.0
    parts = re.findall(r"\s*([0-9.]+)\s*([a-z]*)", text)
    if not parts or "".join(number + name for number, name in parts) != text.replace(" ", ""):
        raise ValueError("not a time span")
    for number, name in parts:
        if name and name not in _SPAN_UNITS:
            raise ValueError("unknown unit %r" % name)
        try:
            total += float(number) * _SPAN_UNITS.get(name or "s")
        except ValueError:
            raise ValueError("not a time span") from None
    return total


def _process_keys(unit, specifiers, refuse, unsupported):
    """User, groups, environment, directory, umask, nice and limits of the unit."""
    keys = {"user": unit.value("Service", "User"), "group": unit.value("Service", "Group"),
            "groups": [], "env": {}, "env_files": [], "cwd": None, "umask": None,
            "nice": None, "limits": {}, "runtime_dirs": [], "oom": None}
    for value, _where in unit.values("Service", "RuntimeDirectory"):
        keys["runtime_dirs"] += ["/run/" + item for item in value.split()]
    mode = unit.value("Service", "RuntimeDirectoryMode", "0755")
    keys["runtime_mode"] = mode if mode.isdigit() else "0755"
    oom = unit.value("Service", "OOMScoreAdjust")
    if oom is not None:
        try:
            keys["oom"] = int(oom)
        except ValueError:
            refuse("%s: OOMScoreAdjust=%s: not a number" % (
                unit.where("Service", "OOMScoreAdjust"), oom))
    for value, _where in unit.values("Service", "SupplementaryGroups"):
        keys["groups"] += value.split()
    if keys["groups"] and not keys["user"]:
        refuse("%s: SupplementaryGroups without User" % unit.where("Service",
                                                                   "SupplementaryGroups"))
    for value, where in unit.values("Service", "Environment"):
        try:
            for word in split_words(value, specifiers, expand=False):
                text = "".join(part[1] for part in word)
                key, equals, item = text.partition("=")
                if not equals:
                    raise ValueError("%r is not NAME=VALUE" % text)
                keys["env"][key] = item
        except ValueError as exc:
            refuse("%s: Environment=%s: %s" % (where, value, exc))
    for value, _where in unit.values("Service", "EnvironmentFile"):
        optional = value.startswith("-")
        keys["env_files"].append((value[1:] if optional else value, optional))
    directory = unit.value("Service", "WorkingDirectory")
    if directory is not None:
        if directory.lstrip("-").startswith("~") or not directory.lstrip("-").startswith("/"):
            refuse("%s: WorkingDirectory=%s: not an absolute path" % (
                unit.where("Service", "WorkingDirectory"), directory))
        keys["cwd"] = directory.lstrip("-")
    umask = unit.value("Service", "UMask")
    if umask is not None:
        if not (umask.isdigit() and len(umask) <= 4 and set(umask) <= set("01234567")):
            refuse("%s: UMask=%s: not octal" % (unit.where("Service", "UMask"), umask))
        else:
            keys["umask"] = umask.zfill(4)
    nice = unit.value("Service", "Nice")
    if nice is not None:
        try:
            keys["nice"] = int(nice)
        except ValueError:
            refuse("%s: Nice=%s: not a number" % (unit.where("Service", "Nice"), nice))
    for systemd_key, key in _LIMIT_KEYS.items():
        value = unit.value("Service", systemd_key)
        if value is None:
            continue
        soft = value.split(":")[0]
        number = _size(soft)
        if number is None:
            unsupported("%s: %s=%s: chpst sets a number (not infinity)" % (
                unit.where("Service", systemd_key), systemd_key, value))
        else:
            keys["limits"][key] = number
    return keys


def _size(text):
    multipliers = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text[-1:] in multipliers and text[:-1].isdigit():
        return int(text[:-1]) * multipliers[text[-1]]
    return int(text) if text.isdigit() else None


def _structured(start, keys):
    data = {"command": start.argv()}
    if keys["user"]:
        data["user"] = keys["user"]
        if keys["group"]:
            data["group"] = keys["group"]
    for key in ("cwd", "umask", "nice"):
        if keys[key] is not None:
            data[key] = keys[key]
    if keys["limits"]:
        data["limits"] = keys["limits"]
    if keys["env"]:
        data["env"] = keys["env"]
    return data


def _with_script(kind, starts, pre, keys, unit, quote):
    """A run script for what the command form cannot say (ExecStartPre, EnvironmentFile,
    variables, supplementary groups, oneshot)."""
    lines = ["#!/bin/sh", "# from %s (runit-provision import --systemd)" % unit.name,
             "exec 2>&1"]
    if keys["umask"] is not None:
        lines.append("umask %s" % keys["umask"])
    if keys["cwd"] is not None:
        lines.append("cd %s || exit 1" % quote(keys["cwd"]))
    for directory in keys["runtime_dirs"]:  # RuntimeDirectory= (systemd removes it at stop)
        owner = " -o %s" % quote(keys["user"]) if keys["user"] else ""
        lines.append("install -d -m %s%s %s || exit 1" % (keys["runtime_mode"], owner,
                                                          quote(directory)))
    if keys["oom"] is not None:
        lines.append("echo %d >/proc/self/oom_score_adj  # OOMScoreAdjust=" % keys["oom"])
    for key, value in keys["env"].items():
        lines.append("%s=%s; export %s" % (key, quote(value) if value else "''", key))
    for path, optional in keys["env_files"]:
        source = "set -a; . %s; set +a" % quote(path)
        lines.append("[ -r %s ] && { %s; }" % (quote(path), source) if optional
                     else source)
    chpst = ["chpst"]
    if keys["user"]:
        spec = keys["user"] + (":" + keys["group"] if keys["group"] else "")
        if keys["groups"]:
            spec += "".join(":" + group for group in keys["groups"])
        chpst += ["-u", quote(spec)]
    if keys["nice"] is not None:
        chpst += ["-n", str(keys["nice"])]
    for key, letter in LIMITS.items():
        if key in keys["limits"]:
            chpst += ["-" + letter, str(keys["limits"][key])]
    prefix = " ".join(chpst) + " " if len(chpst) > 1 else ""
    for command in pre + (starts[:-1] if kind == "oneshot" else []):
        line = prefix + " ".join(shell_words(command, quote))
        lines.append(line if command.ignore_failure else line + " || exit $?")
    last = starts[-1]
    argv0 = "-b %s " % quote(last.argv0) if last.argv0 else ""
    if argv0 and not prefix:
        prefix = "chpst "
    main = prefix + argv0 + " ".join(shell_words(last, quote))
    if kind == "oneshot":  # oneshot: true: done when this ends with 0 (docs/jobs.md)
        lines.append(main + ("" if last.ignore_failure else " || exit $?"))
        lines.append("exit 0")
    else:
        lines.append("exec " + main)
    return {"run": "\n".join(lines) + "\n"}


def _control_script(commands, key, last, quote):
    lines = ["#!/bin/sh", "# %s" % key, "MAINPID=$(cat supervise/pid)"]
    for command in commands:
        line = " ".join(shell_words(command, quote))
        lines.append(line if command.ignore_failure else line + " || exit $?")
    lines.append(last)
    return "\n".join(lines) + "\n"
