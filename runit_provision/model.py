"""model: the typed, validated shape of runit data (SPEC §3), shared by every room.

``model_from_data(data, origins)`` turns ONE plain dict of top-level keys (``runtime``,
``sv_dir``, …, ``users``, ``services``, ``defaults``) into a ``Config``, or raises one
``DataError`` listing every problem, one line each::

    data/common.yaml:12:7: services.web.comand: unknown key (did you mean 'command'?)

``origins`` maps key paths of ``data`` (tuples of keys and list indexes, as
``runit_provision.source`` records them) to where they were written; ``runit_data_from_file``
turns one hiera file in either spelling of SPEC §3 (a ``runit:`` hash or ``runit::x`` keys) into
that shape. Stdlib only; ``difflib`` is imported only to suggest a key.

Decisions (README "Data format"):
- ``command`` is an argv, not shell: a string is split like a POSIX shell splits words
  (``shlex``), and every word is quoted again when rendered. Shell belongs in ``run``.
- A ``run``/``finish``/``check``/``control`` script is verbatim shell; ``#!/bin/sh`` is added
  when it has no ``#!`` line. ``user``, ``group``, ``cwd``, ``umask``, ``nice``, ``limits``
  are rendered into the chpst line, so they need ``command`` (or a ``template``).
- Words that end up in ``log/run`` (log ``dir``, ``user``, service names, ``log_dir``) must be
  simple words (letters, digits and ``_ . / : @ % + , = -``) so that ``log/run`` keeps the
  canonical form our runsvdir hosts in-process (docs/runsvdir.md); anything else is refused.
- Logins in ``users`` need not exist when rendering; their groups come from the group
  database when they do, else ``chpst -u LOGIN`` takes the primary group at run time. The
  applier checks that they exist.
"""

import re

from .errors import DataError
from .source import key_path_text, origin_of

# -- vocabulary -------------------------------------------------------------------------------
TOP_KEYS = ("runtime", "package_file", "sv_dir", "service_dir", "log_dir", "sv_timeout",
            "init", "users", "services", "defaults")
USER_KEYS = ("home", "groups", "sv_dir", "service_dir", "log_dir", "path", "services")
SERVICE_KEYS = ("command", "run", "user", "group", "owner", "env", "cwd", "umask", "nice",
                "limits", "finish", "check", "control", "down", "enabled", "ensure",
                "restart_on_change", "needs", "log", "template")
LOG_KEYS = ("dir", "user", "timestamps", "size", "num", "min", "timeout", "processor", "udp",
            "udp_only", "prefix", "patterns", "line_length")
# chpst's resource-limit options (runit-protocol §5): key -> option letter
LIMITS = {"nofile": "o", "nproc": "p", "mem": "m", "data": "d", "stack": "s", "core": "c",
          "cpu": "t", "fsize": "f", "rss": "r"}
CHECK_KINDS = ("tcp", "http", "command")
CONTROL_LETTERS = "udoxtkpchaiq12"  # runsv's control/<c> hooks
RUNTIMES = ("python", "system")
INITS = ("auto", "systemd", "sysvinit", "upstart", "runit", "none")
TIMESTAMPS = {"none": None, "tai64n": "-t", "human": "-tt", "iso": "-ttt"}
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_WORD = re.compile(r"[A-Za-z0-9_./:@%+,=-]+\Z")  # hostedlog's simple word
_NAME = re.compile(r"[A-Za-z0-9_@%+,=:][A-Za-z0-9_.@%+,=:-]*\Z")  # a service directory name
_ACCOUNT = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\$?\Z")  # a login or group name
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # control characters other than \t \n


# -- the model ------------------------------------------------------------------------------
class _Record:
    """A plain slotted record: keyword construction, equality and repr by fields."""

    __slots__ = ()

    def __init__(self, **values):
        for name in self.__slots__:
            setattr(self, name, values.pop(name, None))
        if values:
            raise TypeError("unknown fields: %s" % ", ".join(sorted(values)))

    def _fields(self):
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other):
        return type(self) is type(other) and self._fields() == other._fields()

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % (name, getattr(self, name)) for name in self.__slots__))


class Config(_Record):
    """The whole data: system services (``services``) and users with their trees."""

    __slots__ = ("runtime", "package_file", "sv_dir", "service_dir", "log_dir", "sv_timeout",
                 "init", "users", "services", "defaults")


class User(_Record):
    """One login with a ``runsvdir-<login>`` system service and a tree of its own.

    ``groups``: the groups ``chpst -u`` sets (first = primary); empty when unknown at render
    time (then ``chpst -u LOGIN`` takes the primary group from passwd at run time).
    ``primary_group``: the group files in the tree get, or None (the applier's choice).
    """

    __slots__ = ("login", "home", "groups", "primary_group", "sv_dir", "service_dir",
                 "log_dir", "path", "services")


class Service(_Record):
    """One service directory. ``command`` is an argv (list of str) or None; scripts are text."""

    __slots__ = ("name", "command", "run", "user", "group", "owner", "env", "cwd", "umask",
                 "nice", "limits", "finish", "check", "control", "down", "enabled", "ensure",
                 "restart_on_change", "needs", "log", "template")


class Check(_Record):
    """``kind``: ``script`` (``value`` = text), ``tcp`` (``value`` = (host, port)), ``http``
    (URL) or ``command`` (argv)."""

    __slots__ = ("kind", "value")


class Log(_Record):
    """svlogd for one service: ``dir`` (None = the tree's log_dir/NAME) and config values."""

    __slots__ = ("dir", "user", "timestamps", "size", "num", "min", "timeout", "processor",
                 "udp", "udp_only", "prefix", "patterns", "line_length")


# -- one hiera file -> the data shape ----------------------------------------------------------
def runit_data_from_file(document, origins):
    """``(data, origins)`` of the runit keys of one hiera file, in either spelling.

    ``runit: {…}`` and ``runit::KEY: …`` mean the same; other keys (other classes' data,
    ``lookup_options``) are not ours and are left out. A key given in both spellings is an error.
    """
    data, new_origins, problems = {}, {}, []
    if document is None:
        return data, new_origins
    if not isinstance(document, dict):
        raise DataError("%s: (top level): expected a hash of keys, got %s"
                        % (origin_of(origins, ()), _type_name(document)))

    def take(key, value, prefix):
        if key in data:
            problems.append("%s: %s: given twice (as runit.%s and runit::%s)"
                            % (origin_of(origins, prefix), key, key, key))
            return
        data[key] = value
        for path, origin in origins.items():
            if path[:len(prefix)] == prefix:
                new_origins[(key,) + path[len(prefix):]] = origin

    runit = document.get("runit")
    if isinstance(runit, dict):
        for key, value in runit.items():
            take(key, value, ("runit", key))
    elif "runit" in document and runit is not None:
        problems.append("%s: runit: expected a hash, got %s"
                        % (origin_of(origins, ("runit",)), _type_name(runit)))
    for key, value in document.items():
        if isinstance(key, str) and key.startswith("runit::"):
            take(key[len("runit::"):], value, (key,))
    if problems:
        raise DataError("\n".join(problems))
    new_origins.setdefault((), origin_of(origins, ()))
    return data, new_origins


# -- validation ------------------------------------------------------------------------------
class _Problems:
    """Every problem found, each at a key path; one DataError at the end."""

    def __init__(self, origins):
        self.origins = origins
        self.items = []

    def add(self, path, message):
        self.items.append((tuple(path), message))

    def raise_if_any(self):
        if not self.items:
            return
        lines = []
        for path, message in self.items:
            origin = origin_of(self.origins, path)
            lines.append((origin or ("<data>", 0, 0), "%s: %s: %s" % (
                origin if origin is not None else "<data>", key_path_text(path), message)))
        lines.sort(key=lambda item: (item[0], item[1]))
        unique = []
        for _, line in lines:
            if line not in unique:
                unique.append(line)
        raise DataError("\n".join(unique))


def _type_name(value):
    if value is None:
        return "nothing (null)"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "a hash"}.get(type(value), type(value).__name__)


def _suggest(key, known):
    import difflib
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    return " (did you mean %r?)" % close[0] if close else " (known keys: %s)" % ", ".join(known)


def _check_keys(problems, path, mapping, known):
    for key in mapping:
        if key not in known:
            problems.add(path + (key,), "unknown key" + _suggest(key, known))


class _Parser:
    """Typed readers: each returns the value or None after recording a problem."""

    def __init__(self, problems):
        self.p = problems

    def hash(self, path, value):
        if isinstance(value, dict):
            return value
        self.p.add(path, "expected a hash, got %s" % _type_name(value))
        return None

    def boolean(self, path, value):
        if isinstance(value, bool):
            return value
        self.p.add(path, "expected true or false, got %s" % _type_name(value))
        return None

    def integer(self, path, value, low=None, high=None):
        if isinstance(value, bool) or not isinstance(value, int):
            self.p.add(path, "expected a whole number, got %s" % _type_name(value))
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            self.p.add(path, "%d is out of range (%s..%s)" % (
                value, "" if low is None else low, "" if high is None else high))
            return None
        return value

    def text(self, path, value, allow_newlines=False, empty=False):
        if not isinstance(value, str):
            self.p.add(path, "expected a string, got %s" % _type_name(value))
            return None
        if not empty and not value.strip():
            self.p.add(path, "must not be empty")
            return None
        if "\0" in value or _CONTROL.search(value):
            self.p.add(path, "control characters are not allowed")
            return None
        if not allow_newlines and "\n" in value:
            self.p.add(path, "must be one line")
            return None
        return value

    def choice(self, path, value, choices):
        if value in choices and isinstance(value, str):
            return value
        self.p.add(path, "expected one of %s, got %r" % (", ".join(choices), value))
        return None

    def word(self, path, value, what="a simple word"):
        """A value written unquoted into a canonical log/run (hostedlog's simple words)."""
        value = self.text(path, value)
        if value is None:
            return None
        if not _WORD.match(value):
            self.p.add(path, "%r must be %s: letters, digits and _ . / : @ %% + , = - only "
                       "(it is written into log/run, whose canonical form takes no quoting)"
                       % (value, what))
            return None
        return value

    def abspath(self, path, value, simple=True):
        value = self.word(path, value, "an absolute path") if simple else self.text(path, value)
        if value is None:
            return None
        if not value.startswith("/"):
            self.p.add(path, "%r must be an absolute path" % value)
            return None
        if "/../" in value + "/" or "/./" in value + "/":
            self.p.add(path, "%r must not contain . or .. components" % value)
            return None
        return value.rstrip("/") or "/"

    def account(self, path, value):
        value = self.text(path, value)
        if value is not None and not _ACCOUNT.match(value):
            self.p.add(path, "%r is not a valid user or group name" % value)
            return None
        return value

    def name(self, path, value):
        """A service name: one safe path component (no /, .., leading dot, control chars)."""
        if isinstance(value, bool):
            self.p.add(path, "a service name must be a string, not the boolean %s: YAML (1.1, "
                             "as Puppet's hiera reads it) takes unquoted yes/no/on/off/true/"
                             "false as booleans; quote the name" % str(value).lower())
            return None
        if not isinstance(value, str) or not value:
            self.p.add(path, "a service name must be a non-empty string")
            return None
        if value in (".", "..") or "/" in value or value.startswith("."):
            self.p.add(path, "%r is not a single safe path component (no /, no leading dot)"
                       % value)
            return None
        if not _NAME.match(value) or len(value.encode()) > 255:
            self.p.add(path, "%r: a service name is letters, digits and _ . @ %% + , = : - "
                       "(not first: . -), at most 255 bytes" % value)
            return None
        return value

    def script(self, path, value):
        value = self.text(path, value, allow_newlines=True)
        if value is None:
            return None
        if not value.startswith("#!"):
            value = "#!/bin/sh\n" + value
        return value if value.endswith("\n") else value + "\n"

    def argv(self, path, value):
        """``command``: a string split like sh splits words (no expansion), or a list."""
        if isinstance(value, str):
            if self.text(path, value) is None:
                return None
            shell = _shell_syntax(value)
            if shell:
                self.p.add(path, "%r is shell syntax, but a command is split into words "
                           "without a shell: for shell write a run script, for a literal "
                           "%r quote it or give the words as a list" % (shell, shell))
                return None
            import shlex
            try:
                words = shlex.split(value, comments=False, posix=True)
            except ValueError as exc:
                self.p.add(path, "cannot split into words: %s" % exc)
                return None
        elif isinstance(value, list):
            words = []
            for index, word in enumerate(value):
                word = self.text(path + (index,), word if not isinstance(word, (int, float))
                                 or isinstance(word, bool) else str(word), allow_newlines=True,
                                 empty=True)
                if word is None:
                    return None
                words.append(word)
        else:
            self.p.add(path, "expected a string or a list of words, got %s" % _type_name(value))
            return None
        if not words:
            self.p.add(path, "must name a program")
            return None
        if words[0].startswith("-"):
            self.p.add(path, "the program %r must not start with '-'" % words[0])
            return None
        return words


def _shell_syntax(text):
    """The first character sh would treat as an expansion or an operator, outside quotes
    (``$`` and backquote inside double quotes too), else ''. ``command`` is split into words
    without a shell, so such text would not do what it looks like."""
    quote = None
    escaped = False
    previous = " "
    for char in text:
        at_word_start, previous = previous in " \t", char
        if escaped:
            escaped = False
        elif quote == "'":
            quote = None if char == "'" else quote
        elif char == "\\":
            escaped = True
        elif quote == '"':
            if char == '"':
                quote = None
            elif char in "$`":
                return char
        elif char in "'\"":
            quote = char
        elif char in "$`|&;<>()" or (at_word_start and char in "#~"):
            return char
    return ""


def _parse_service_keys(parse, path, raw, is_defaults=False):
    """Type-check one service's (or ``defaults``') own keys -> {key: typed value}."""
    out = {}
    p = parse.p
    _check_keys(p, path, raw, SERVICE_KEYS)
    for key, value in raw.items():
        at = path + (key,)
        if key not in SERVICE_KEYS:
            continue
        if is_defaults and key in ("command", "run", "needs", "template", "owner"):
            p.add(at, "not allowed in defaults (it belongs to one service)")
            continue
        if key == "command":
            out[key] = parse.argv(at, value)
        elif key in ("run", "finish"):
            out[key] = parse.script(at, value)
        elif key in ("user", "group", "owner"):
            out[key] = parse.account(at, value)
        elif key == "env":
            out[key] = _parse_env(parse, at, value)
        elif key == "cwd":
            out[key] = parse.abspath(at, value, simple=False)
        elif key == "umask":
            if isinstance(value, str) and re.match(r"0?[0-7]{3}\Z", value):
                out[key] = value.rjust(4, "0")
            else:
                p.add(at, "write umask as a quoted octal string, e.g. '0022' (got %r)"
                      % (value,))
        elif key == "nice":
            out[key] = parse.integer(at, value, -20, 19)
        elif key == "limits":
            out[key] = _parse_limits(parse, at, value)
        elif key == "check":
            out[key] = _parse_check(parse, at, value)
        elif key == "control":
            out[key] = _parse_control(parse, at, value)
        elif key in ("down", "enabled", "restart_on_change"):
            out[key] = parse.boolean(at, value)
        elif key == "ensure":
            out[key] = parse.choice(at, value, ("present", "absent"))
        elif key == "needs":
            out[key] = _parse_needs(parse, at, value)
        elif key == "log":
            out[key] = _parse_log(parse, at, value)
        elif key == "template":
            out[key] = _template_path(p, at, parse.text(at, value))
    return out


def _template_path(problems, path, value):
    """A user template's path; relative to the directory of the file that names it."""
    if value is None or value.startswith("/"):
        return value
    import os.path
    origin = origin_of(problems.origins, path)
    base = os.path.dirname(os.path.abspath(origin.file)) if origin is not None else os.getcwd()
    return os.path.normpath(os.path.join(base, value))


def _parse_env(parse, path, value):
    value = parse.hash(path, value)
    if value is None:
        return None
    env = {}
    for name, item in value.items():
        at = path + (name,)
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            parse.p.add(at, "%r is not a variable name ([A-Za-z_][A-Za-z0-9_]*)" % (name,))
            continue
        if item is None:
            env[name] = None  # an empty env/ file: chpst -e unsets the variable
            continue
        if isinstance(item, (bool, int, float)):
            item = ("true" if item else "false") if isinstance(item, bool) else str(item)
        text = parse.text(at, item, allow_newlines=True, empty=True)
        if text is None:
            continue
        if text != text.rstrip(" \t"):
            parse.p.add(at, "trailing spaces or tabs cannot be kept (chpst -e strips them)")
            continue
        env[name] = text
    return env


def _parse_limits(parse, path, value):
    value = parse.hash(path, value)
    if value is None:
        return None
    _check_keys(parse.p, path, value, tuple(LIMITS))
    return {key: parse.integer(path + (key,), item, 0)
            for key, item in value.items() if key in LIMITS}


def _parse_check(parse, path, value):
    if isinstance(value, str):
        script = parse.script(path, value)
        return None if script is None else Check(kind="script", value=script)
    value = parse.hash(path, value)
    if value is None:
        return None
    _check_keys(parse.p, path, value, CHECK_KINDS)
    kinds = [key for key in value if key in CHECK_KINDS]
    if len(kinds) != 1:
        parse.p.add(path, "a structured check has exactly one of tcp, http, command")
        return None
    kind = kinds[0]
    at = path + (kind,)
    item = value[kind]
    if kind == "tcp":
        host, port = "127.0.0.1", item
        if isinstance(item, str) and ":" in item:
            host, _, port = item.rpartition(":")
            if not _WORD.match(host):
                parse.p.add(at, "%r is not a host name or address" % host)
                return None
            port = int(port) if port.isdigit() else port
        port = parse.integer(at, port, 1, 65535)
        return None if port is None else Check(kind="tcp", value=(host, port))
    if kind == "http":
        url = parse.text(at, item)
        if url is None:
            return None
        if not re.match(r"https?://\S+\Z", url):
            parse.p.add(at, "%r is not an http:// or https:// URL" % url)
            return None
        return Check(kind="http", value=url)
    argv = parse.argv(at, item)
    return None if argv is None else Check(kind="command", value=argv)


def _parse_control(parse, path, value):
    value = parse.hash(path, value)
    if value is None:
        return None
    control = {}
    for letter, script in value.items():
        at = path + (letter,)
        letter = str(letter) if isinstance(letter, int) and not isinstance(letter, bool) else letter
        if not isinstance(letter, str) or len(letter) != 1 or letter not in CONTROL_LETTERS:
            parse.p.add(at, "%r is not a runsv control letter (one of %s)"
                        % (letter, " ".join(CONTROL_LETTERS)))
            continue
        script = parse.script(at, script)
        if script is not None:
            control[letter] = script
    return control


def _parse_needs(parse, path, value):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        parse.p.add(path, "expected a list of service names, got %s" % _type_name(value))
        return None
    names = []
    for index, name in enumerate(value):
        name = parse.name(path + (index,), name)
        if name is not None and name not in names:
            names.append(name)
    return names


def _parse_log(parse, path, value):
    """``false`` -> False; ``true``/``{}``/null -> {} (stock logger); a hash -> its values."""
    if value is False:
        return False
    if value is True or value is None:
        return {}
    value = parse.hash(path, value)
    if value is None:
        return None
    p = parse.p
    _check_keys(p, path, value, LOG_KEYS)
    out = {}
    for key, item in value.items():
        at = path + (key,)
        if key == "dir":
            out[key] = parse.abspath(at, item)
        elif key == "user":
            user = parse.word(at, item, "a user[:group] name")
            if user is not None and not all(_ACCOUNT.match(part) for part in user.split(":")):
                p.add(at, "%r is not USER or USER:GROUP[:GROUP…]" % user)
                user = None
            out[key] = user
        elif key == "timestamps":
            out[key] = parse.choice(at, item, tuple(TIMESTAMPS))
        elif key in ("size", "num", "min", "timeout"):
            out[key] = parse.integer(at, item, 0)
        elif key == "line_length":
            out[key] = parse.integer(at, item, 1)
        elif key == "processor":
            out[key] = parse.text(at, item)
        elif key == "udp":
            udp = parse.text(at, item if not isinstance(item, int) else str(item))
            if udp is not None and not re.match(r"[0-9]{1,3}(\.[0-9]{1,3}){3}(:[0-9]{1,5})?\Z",
                                                udp):
                p.add(at, "%r is not an IPv4 address with an optional :PORT (svlogd's u line)"
                      % udp)
                udp = None
            out[key] = udp
        elif key == "udp_only":
            out[key] = parse.boolean(at, item)
        elif key == "prefix":
            out[key] = parse.text(at, item, empty=True)
        elif key == "patterns":
            out[key] = _parse_patterns(parse, at, item)
    if out.get("udp_only") and not value.get("udp"):
        p.add(path + ("udp_only",), "udp_only needs udp")
    return out


def _parse_patterns(parse, path, value):
    if not isinstance(value, list):
        parse.p.add(path, "expected a list of patterns, got %s" % _type_name(value))
        return None
    patterns = []
    for index, item in enumerate(value):
        item = parse.text(path + (index,), item)
        if item is None:
            continue
        if item[0] not in "+-eE" or (item[0] in "eE" and item[1:2] not in ("+", "-")):
            parse.p.add(path + (index,), "%r: a pattern starts with + or - (or e+ e- E+ E-, "
                        "svlogd(8))" % item)
            continue
        patterns.append(item)
    return patterns


def _merge(defaults, own):
    """``defaults`` under ``own``: hashes (env, limits, control, log) merged, others replaced."""
    merged = dict(defaults)
    for key, value in own.items():
        base = merged.get(key)
        if isinstance(base, dict) and isinstance(value, dict):
            merged[key] = dict(base, **value)
        else:
            merged[key] = value
    return merged


def _build_service(name, values):
    log = values.get("log", {})
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
        needs=values.get("needs") or [], log=log, template=values.get("template"))


def _service_checks(p, path, values, own, tree_owner):
    """Checks across keys of one merged service. ``own``: the keys the service wrote itself;
    a key that only ``defaults`` gave and that does not apply here is dropped, not an error
    (process state for a run script, another user in a user's tree)."""
    absent = values.get("ensure") == "absent"
    has = [key for key in ("command", "run") if key in values]  # None: already reported
    if len(has) == 2:
        p.add(path, "give either command or run, not both")
    elif not has and "template" not in values and not absent:
        p.add(path, "needs command or run (exactly one)")
    state = ("user", "group", "cwd", "umask", "nice", "limits")
    if values.get("run") is not None:
        for key in state:
            if key not in own:
                values.pop(key, None)
        mine = [key for key in state if values.get(key) not in (None, {})]
        if mine:
            p.add(path, "%s: only with command (a run script sets its own process state)"
                  % ", ".join(mine))
        if values.get("needs") and not values["run"].startswith("#!/bin/sh\n"):
            p.add(path + ("needs",), "needs a run script for /bin/sh (the guard is sh)")
    if tree_owner is not None:
        for key in ("user", "group"):
            if key not in own:
                values.pop(key, None)
        if values.get("user") not in (None, tree_owner):
            p.add(path + ("user",), "a service in %s's tree runs as %s"
                  % (tree_owner, tree_owner))
    if values.get("group") is not None and values.get("user") is None:
        p.add(path + ("group",), "group needs user (chpst -u USER:GROUP)")


def _lookup_groups(login, passwd, group):
    """(groups, primary) of ``login`` from the databases, or ([], None) when unknown."""
    try:
        if passwd is not None:
            entry = passwd.get(login)
            if entry is None:
                return [], None
            gid = entry[1]
            names = {g[1]: g[0] for g in group} if group is not None else {}
            primary = names.get(gid)
            members = [g[0] for g in (group or ()) if login in g[2] and g[0] != primary]
        else:
            import grp
            import pwd
            gid = pwd.getpwnam(login).pw_gid
            primary = grp.getgrgid(gid).gr_name
            members = sorted(g.gr_name for g in grp.getgrall()
                             if login in g.gr_mem and g.gr_name != primary)
    except (KeyError, OSError):
        return [], None
    if primary is None:
        return [], None
    return [primary] + sorted(members), primary


def _home_of(login, passwd):
    try:
        if passwd is not None:
            return passwd[login][2] if login in passwd else None
        import pwd
        return pwd.getpwnam(login).pw_dir
    except (KeyError, OSError):
        return None


def model_from_data(data, origins, passwd=None, group=None):
    """The validated ``Config`` of ``data``; ``DataError`` listing every problem otherwise.

    ``passwd``: ``{login: (uid, gid, home)}`` and ``group``: ``[(name, gid, [members])]``
    replace the host's databases (tests, ``--root DIR``); None reads the host's, lazily.
    """
    p = _Problems(origins)
    parse = _Parser(p)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        p.add((), "expected a hash of keys, got %s" % _type_name(data))
        p.raise_if_any()
    _check_keys(p, (), data, TOP_KEYS)

    def get(key, reader, default, *extra):
        if key not in data or data[key] is None:
            return default
        value = reader((key,), data[key], *extra)
        return default if value is None else value

    config = Config(
        runtime=get("runtime", parse.choice, "python", RUNTIMES),
        package_file=get("package_file", parse.text, None),
        sv_dir=get("sv_dir", parse.abspath, "/etc/sv"),
        service_dir=get("service_dir", parse.abspath, "/etc/service"),
        log_dir=get("log_dir", parse.abspath, "/var/log"),
        sv_timeout=get("sv_timeout", parse.integer, 7, 1, 3600),
        init=get("init", parse.choice, "auto", INITS),
        users={}, services={}, defaults={})

    defaults = {}
    if data.get("defaults") is not None:
        raw = parse.hash(("defaults",), data["defaults"])
        if raw is not None:
            defaults = _parse_service_keys(parse, ("defaults",), raw, is_defaults=True)
    config.defaults = defaults

    # users: a list of logins or a hash login -> {…}
    raw_users = data.get("users")
    user_entries = []  # (login, path, raw hash)
    if isinstance(raw_users, list):
        for index, login in enumerate(raw_users):
            login = parse.account(("users", index), login)
            if login is not None:
                user_entries.append((login, ("users", index), {}))
    elif isinstance(raw_users, dict):
        for login, raw in raw_users.items():
            at = ("users", login)
            if parse.account(at, login) is None:
                continue
            if raw is None:
                raw = {}
            if parse.hash(at, raw) is not None:
                user_entries.append((login, at, raw))
    elif raw_users is not None:
        p.add(("users",), "expected a list of logins or a hash, got %s" % _type_name(raw_users))
    logins = [login for login, _, _ in user_entries]
    for login in set(logins):
        if logins.count(login) > 1:
            p.add(("users",), "%s is listed twice" % login)

    # every service: (tree owner or None, name, path, raw)
    entries = []
    raw_services = data.get("services")
    if raw_services is not None and parse.hash(("services",), raw_services) is not None:
        for name, raw in raw_services.items():
            entries.append((None, name, ("services", name), raw))
    for login, at, raw in user_entries:
        _check_keys(p, at, raw, USER_KEYS)
        services = raw.get("services")
        if services is not None and parse.hash(at + ("services",), services) is not None:
            for name, svc in services.items():
                entries.append((login, name, at + ("services", name), svc))

    merged = []  # (tree, name, path, values)
    for tree, name, path, raw in entries:
        name = parse.name(path, name)
        raw = parse.hash(path, raw) if raw is not None else None
        if raw is None:
            if name is not None and _raw_at(data, path) is None:
                p.add(path, "empty service: give command or run")
            continue
        own = _parse_service_keys(parse, path, raw)
        values = _merge(defaults, own)
        owner = values.get("owner")
        if owner is not None:
            if tree is not None and owner != tree:
                p.add(path + ("owner",), "already in %s's tree" % tree)
            elif owner not in logins:
                p.add(path + ("owner",), "unknown owner %r (owners are the logins in users: "
                      "%s)" % (owner, ", ".join(logins) or "none"))
            else:
                tree = owner
        if name is not None:
            _service_checks(p, path, values, own, tree)
            merged.append((tree, name, path, values))

    # names: unique per tree; runsvdir-<login> is taken in the system tree
    seen = {}
    for login in logins:
        seen[(None, "runsvdir-" + login)] = ("users",)
    for tree, name, path, values in merged:
        if (tree, name) in seen:
            p.add(path, "%s is defined twice in %s (also at %s)" % (
                name, "the system tree" if tree is None else "%s's tree" % tree,
                key_path_text(seen[(tree, name)])))
        else:
            seen[(tree, name)] = path

    _needs_checks(p, merged)
    p.raise_if_any()

    for tree, name, path, values in merged:
        service = _build_service(name, values)
        if tree is None:
            config.services[name] = service
        else:
            config.users.setdefault(tree, {})[name] = service
    users = {}
    for login, at, raw in user_entries:
        users[login] = _build_user(parse, login, at, raw, config.users.get(login, {}),
                                   passwd, group)
    config.users = users
    _log_dir_checks(p, config, {(tree, name): path for tree, name, path, _ in merged})
    p.raise_if_any()
    return config


def log_directory(service, default_parent):
    """Where ``service`` logs: ``log.dir``, else ``default_parent/NAME`` (None: no logger)."""
    if service.log is False or service.ensure == "absent":
        return None
    return service.log.dir or default_parent.rstrip("/") + "/" + service.name


def _log_dir_checks(p, config, paths):
    """One svlogd per directory (it locks it): no two loggers may share one."""
    seen = {}
    for login, user in sorted(config.users.items()):
        seen[user.log_dir] = "the log of runsvdir-%s" % login
    trees = [(None, config.services, config.log_dir)] + [
        (login, user.services, user.log_dir.rsplit("/", 1)[0] or "/")
        for login, user in sorted(config.users.items())]
    for tree, services, parent in trees:
        for name in sorted(services):
            service = services[name]
            directory = log_directory(service, parent)
            if directory is None:
                continue
            path = paths[(tree, name)]
            if tree is not None and service.log.user not in (None, tree) \
                    and service.log.user.split(":")[0] != tree:
                p.add(path + ("log", "user"), "a logger in %s's tree runs as %s" % (tree, tree))
            if directory in seen:
                p.add(path + ("log",), "logs to %s, as %s does (svlogd locks its directory)"
                      % (directory, seen[directory]))
            else:
                seen[directory] = "service %s" % name


def _raw_at(data, path):
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _build_user(parse, login, at, raw, services, passwd, group):
    home = raw.get("home")
    if home is not None:
        home = parse.abspath(at + ("home",), home)
    if home is None:
        home = _home_of(login, passwd) or "/home/" + login
        if not _WORD.match(home):
            parse.p.add(at, "home %r of %s is not a simple path; give home: explicitly"
                        % (home, login))
    groups = raw.get("groups")
    primary = None
    if groups is not None:
        if isinstance(groups, str):
            groups = [groups]
        if not isinstance(groups, list) or not groups:
            parse.p.add(at + ("groups",), "expected a non-empty list of group names")
            groups = []
        else:
            groups = [parse.account(at + ("groups", i), g) for i, g in enumerate(groups)]
            groups = [g for g in groups if g is not None]
            primary = groups[0] if groups else None
    else:
        groups, primary = _lookup_groups(login, passwd, group)

    def path_key(key, default):
        if raw.get(key) is None:
            return default
        value = parse.abspath(at + (key,), raw[key])
        return default if value is None else value

    return User(login=login, home=home, groups=groups, primary_group=primary,
                sv_dir=path_key("sv_dir", home + "/sv"),
                service_dir=path_key("service_dir", home + "/service"),
                log_dir=path_key("log_dir", home + "/logs/runsvdir"),
                path=parse.text(at + ("path",), raw["path"]) if raw.get("path") is not None
                else DEFAULT_PATH,
                services=services)


def _needs_checks(p, merged):
    """needs: known, in the same tree, present and enabled; no cycles (the cycle is named)."""
    by_tree = {}
    for tree, name, path, values in merged:
        by_tree.setdefault(tree, {})[name] = (path, values)
    for tree, services in by_tree.items():
        graph = {}
        for name, (path, values) in services.items():
            deps = []
            for index, dep in enumerate(values.get("needs") or []):
                at = path + ("needs", index)
                if dep not in services:
                    elsewhere = any(dep in others for others in by_tree.values())
                    p.add(at, "needs %r, which is not a service of %s%s" % (
                        dep, "the system tree" if tree is None else "%s's tree" % tree,
                        " (needs stay within one tree: its sv cannot start another tree's "
                        "services)" if elsewhere else ""))
                    continue
                other = services[dep][1]
                if other.get("ensure") == "absent" or other.get("enabled") is False:
                    p.add(at, "needs %r, which is %s" % (
                        dep, "ensure: absent" if other.get("ensure") == "absent"
                        else "enabled: false (never started)"))
                    continue
                if dep == name:
                    p.add(at, "%s needs itself" % name)
                    continue
                deps.append(dep)
            graph[name] = deps
        for cycle in _cycles(graph):
            first = cycle[0]
            p.add(services[first][0] + ("needs",),
                  "needs cycle: %s" % " -> ".join(cycle + [first]))


def _cycles(graph):
    """Each elementary cycle found by a depth-first search, once, starting at its least name."""
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for dep in graph.get(node, ()):
            if state.get(dep) == "open":
                cycle = stack[stack.index(dep):]
                low = cycle.index(min(cycle))
                cycle = cycle[low:] + cycle[:low]
                if cycle not in found:
                    found.append(cycle)
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found
