"""importing: one ``Found`` service -> its data, read back from the forms our renderer writes.

Pure: no host, no clock. Each file is read into keys only where the reading is exact —
``command_keys`` and ``log_keys`` propose, and ``importing.check`` renders the proposal and
keeps it only if it gives the same bytes; anything else is kept as written (``run: |`` …).
Every choice is noted for the operator (``Notes``), so the YAML says what was recognised and
why the rest was kept verbatim.
"""

import posixpath
import re
import shlex

from ..model import DEFAULT_PATH, LIMITS, TIMESTAMPS, USER_TREE_PREFIX
from ..protocol.process.envfile import file_from_value, value_bytes
from ..protocol.layout import ENV_DIR, LOG_DIR, RUN, path_in
from ..protocol.canonical import TREE_LOCK, log_run_from_bytes, tree_run_from_bytes
from ..schema.services import is_env_name
from .sandboxed import sandbox_run_keys

_OPTION_OF_LIMIT = {"-" + letter: key for key, letter in LIMITS.items()}
_TIMESTAMPS_OF_FLAG = {flag: name for name, flag in TIMESTAMPS.items()}


class Notes:
    """What import says about one service: ``recognised`` keys, ``scripts`` (finish, check,
    control: scripts are always kept as written), ``verbatim`` {key: why a file was kept as
    written instead of read into keys}, ``changes`` (what ``plan`` would still change, and
    why), ``problems`` (why it cannot be imported at all)."""

    def __init__(self):
        self.recognised = []
        self.scripts = []
        self.verbatim = {}
        self.why_removed = {}  # relative path -> why plan would remove it
        self.said = []  # anything else the operator should read
        self.carried = []  # conf, files, links: carried as they are (carried.py)
        self.not_carried = []  # entries the data cannot hold, and why: apply leaves them
        self.changes = []
        self.rewritten = {}  # relative path -> what plan's rewrite changes, the value the same
        self.problems = []
        # "system" when run holds the notify-relay that ready renders under the C runsv: the
        # service is rendered again as under runtime: system (the one key that changes a
        # service directory), and the note says so
        self.runtime = None


# -- scripts ------------------------------------------------------------------------------------
def script_text(content, unread):
    """``content`` as the text a script key holds, or (None, why) when the data cannot hold it
    as it is: the schema keeps a script that starts with ``#!`` and ends with a newline,
    UTF-8, with no control character but tab and newline. ``content`` None: there was none to
    read, for the reason ``unread`` (``found.bytes_of``)."""
    if content is None:
        return None, unread
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, "not UTF-8 text: %s" % where_not_utf8(content, exc)
    bad = sorted({char for char in text if char < " " and char not in "\t\n"} | (
        {"\x7f"} if "\x7f" in text else set()))
    if bad:
        return None, "holds control characters (%s)" % ", ".join("%r" % c for c in bad)
    if not text.strip():
        return None, "blank"
    return text, None


def script_changes(text):
    """What the schema would change in script ``text`` when it renders it: [] when nothing."""
    changes = []
    if not text.startswith("#!"):
        changes.append("a #!/bin/sh line would be added (it has none)")
    if not text.endswith("\n"):
        changes.append("a newline would be added at its end")
    return changes


# -- run: the command form -------------------------------------------------------------------
def command_keys(text, sv_dir, sv_timeout, base):
    """The keys of a run script in the renderer's command form, or (None, why)::

        #!/bin/sh
        exec 2>&1
        sv -w TIMEOUT start SV_DIR/DEP || exit 1      (each of needs)
        umask NNNN
        cd CWD || exit 1
        exec [chpst -u U[:G] -e ENVDIR -n N -o … ] [sandbox-run SPEC [-u U[:G]]] ARGV…

    A proposal: ``check`` confirms it by rendering. ``sv_timeout`` None accepts any timeout
    (the first pass, which collects them)."""
    lines = text.split("\n")
    if lines[-1] != "" or lines[:2] != ["#!/bin/sh", "exec 2>&1"]:
        return None, "not the command form (#!/bin/sh, exec 2>&1, …, exec COMMAND)"
    keys = {}
    body = lines[2:-1]
    try:
        words = [shlex.split(line) for line in body]
    except ValueError as exc:
        return None, "a line sh would read differently: %s" % exc
    needs, timeouts = [], set()
    index = 0
    while index < len(words) and words[index][:1] == ["sv"]:
        guard = words[index]
        if len(guard) != 8 or guard[1] != "-w" or guard[3] != "start" \
                or guard[5:] != ["||", "exit", "1"] or posixpath.dirname(guard[4]) != sv_dir:
            return None, "line %d is not a needs guard (sv -w N start %s/DEP || exit 1)" % (
                index + 3, sv_dir)
        timeouts.add(guard[2])
        needs.append(posixpath.basename(guard[4]))
        index += 1
    if needs:
        keys["needs"] = needs
        keys["_timeouts"] = timeouts
    if index < len(words) and words[index][:1] == ["umask"] and len(words[index]) == 2:
        keys["umask"] = words[index][1]
        index += 1
    if index < len(words) and words[index][:1] == ["cd"]:
        if len(words[index]) != 5 or words[index][2:] != ["||", "exit", "1"]:
            return None, "line %d: a cd that is not 'cd DIR || exit 1'" % (index + 3)
        keys["cwd"] = words[index][1]
        index += 1
    if index != len(words) - 1 or words[index][:1] != ["exec"] or len(words[index]) < 2:
        return None, "line %d is not the last, exec COMMAND" % (index + 3)
    argv = words[index][1:]
    if argv[0] == "chpst":
        argv = _chpst_keys(argv[1:], keys, base)
        if argv is None:
            return None, "chpst options other than -u -e -n and the limits, in that order"
    argv = sandbox_run_keys(argv, keys, base)
    if argv is None:
        return None, "sandbox-run with other words than render writes (SPEC [-u USER])"
    if not argv:
        return None, "no command after exec"
    keys["command"] = argv
    return keys, None


def _chpst_keys(words, keys, base):
    """Take chpst's options off ``words`` into ``keys``; the command left, or None."""
    index = 0
    limits = {}
    while index + 1 < len(words) and words[index].startswith("-"):
        option, value = words[index], words[index + 1]
        if option == "-u" and not keys.get("user"):
            user, _, group = value.partition(":")
            keys["user"] = user
            if group:
                keys["group"] = group
        elif option == "-e" and "_env_dir" not in keys:
            keys["_env_dir"] = value
        elif option == "-n" and "nice" not in keys:
            keys["nice"] = _integer(value)
        elif option in _OPTION_OF_LIMIT and _OPTION_OF_LIMIT[option] not in limits:
            limits[_OPTION_OF_LIMIT[option]] = _integer(value)
        else:
            return None
        index += 2
    if limits:
        keys["limits"] = limits
    if any(value is None for value in [keys.get("nice", 0)] + list(limits.values())):
        return None
    env_dir = keys.pop("_env_dir", None)
    if env_dir is not None:
        expected = path_in(base if "cwd" in keys else ".", ENV_DIR)
        if env_dir != expected:
            return None
        keys["_uses_env"] = True
    return words[index:]


def _integer(text):
    try:
        return int(text)
    except ValueError:
        return None


# -- env/ ---------------------------------------------------------------------------------------
def env_value(name, content, unread):
    """``(value, how)`` of ``env/NAME`` as data: the value is what chpst -e reads of the file
    (``protocol/process/envfile.py``: the first line, its trailing blanks cut, NULs as
    newlines; an empty file is None, unset) — and ``how`` says what the file the data renders
    for it (``VALUE\\n``) changes in ``content``, the value the same (None: the same bytes). Raise
    ValueError(why) when data cannot hold the value: a name that is no variable's, a value
    that is not UTF-8 or holds control characters. ``content`` None: there was none to read,
    for the reason ``unread``.

    >>> env_value("GREETING", b"cafe", None)
    ('cafe', 'a newline would be added at its end')
    >>> print(env_value("A", b"cafe \\t\\nmore\\n", None)[1])  # doctest: +NORMALIZE_WHITESPACE
    the blanks that end its line (chpst drops them) and the 5 bytes after its first line
    (chpst reads one line) would be dropped
    >>> env_value("GREETING", b"cafe\\n", None), env_value("GREETING", b"", None)
    (('cafe', None), (None, None))
    """
    if not is_env_name(name):
        raise ValueError("not a variable name")
    if content is None:
        raise ValueError(unread)
    read = value_bytes(content)
    if read is None:
        return None, None
    try:
        value = read.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("not UTF-8: %s" % where_not_utf8(read, exc)) from None
    if any(char < " " and char not in "\t\n" for char in value) or "\x7f" in value:
        raise ValueError("holds control characters")
    if file_from_value(value) == content:
        return value, None
    return value, _how_rewritten(content)


def _how_rewritten(content):
    """What the file rendered for the value chpst reads of ``content`` changes in it."""
    end = content.find(b"\n")
    if end < 0:
        if content != content.rstrip(b" \t"):
            return ("the blanks that end it (chpst drops them) would be dropped, and a "
                    "newline added at its end")
        return "a newline would be added at its end"
    dropped = []
    if content[:end] != content[:end].rstrip(b" \t"):
        dropped.append("the blanks that end its line (chpst drops them)")
    if len(content) > end + 1:
        dropped.append("the %d bytes after its first line (chpst reads one line)"
                       % (len(content) - end - 1))
    return "%s would be dropped" % " and ".join(dropped)


def where_not_utf8(content, exc):
    """``byte 0xe9 at line 3, column 9 (é in Latin-1)``: where ``exc`` (decoding ``content``
    as UTF-8) found the first byte that is not, the column counted in characters.

    >>> text = "#!/bin/sh\\n# Café\\n".encode("latin-1")
    >>> try:
    ...     text.decode("utf-8")
    ... except UnicodeDecodeError as exc:
    ...     where_not_utf8(text, exc)
    'byte 0xe9 at line 2, column 6 (é in Latin-1)'
    """
    start = exc.start
    line_start = content.rfind(b"\n", 0, start) + 1
    column = len(content[line_start:start].decode("utf-8", "replace")) + 1
    byte = content[start]
    said = "byte 0x%02x at line %d, column %d" % (byte, content.count(b"\n", 0, start) + 1,
                                                  column)
    if byte >= 0xa0:
        said += " (%s in Latin-1)" % bytes([byte]).decode("latin-1")
    return said


# -- log/run and svlogd's config ----------------------------------------------------------------
def log_keys(content, log_dir_default):
    """The log keys of a canonical ``log/run`` in the renderer's form — ``exec [chpst -u
    USER] svlogd [-t|-tt|-ttt] [-l N] DIR`` — and the directory it logs to; or (None, None,
    why). ``dir`` is left out when it is ``log_dir_default``."""
    parsed = log_run_from_bytes(content or b"")
    if parsed is None:
        return None, None, "not the canonical form (#!/bin/sh, exec [chpst -u USER] svlogd …)"
    args = list(parsed.args)
    keys = {}
    flag = args.pop(0) if args and args[0] in _TIMESTAMPS_OF_FLAG else None
    if flag != "-tt":
        keys["timestamps"] = _TIMESTAMPS_OF_FLAG[flag]
    if args[:1] == ["-l"] and len(args) > 1 and args[1].isdigit():
        keys["line_length"] = int(args[1])
        del args[:2]
    if len(args) != 1 or not args[0].startswith("/"):
        return None, None, "svlogd's arguments are not [-t…] [-l N] and one absolute directory"
    if parsed.user is not None:
        keys["user"] = parsed.user
    directory = args[0]
    if directory != log_dir_default:
        keys["dir"] = directory
    return keys, directory, None


def script_needs(text, sv_dir, sv_timeout):
    r"""``(needs, the script without them)`` of a run script for /bin/sh whose first lines
    are the guards the renderer writes after its ``#!`` line (``sv -w TIMEOUT start
    SV_DIR/DEP || exit 1``), or ``([], text)``: a proposal, confirmed by rendering.

    >>> script_needs("#!/bin/sh\nsv -w 7 start /etc/sv/dbus || exit 1\nexec nm\n",
    ...              "/etc/sv", 7)
    (['dbus'], '#!/bin/sh\nexec nm\n')
    """
    lines = text.split("\n")
    if lines[0] != "#!/bin/sh":
        return [], text
    needs = []
    for line in lines[1:]:
        words = line.split(" ")
        if len(words) != 8 or words[:4] != ["sv", "-w", str(sv_timeout), "start"] \
                or words[5:] != ["||", "exit", "1"] \
                or posixpath.dirname(words[4]) != sv_dir.rstrip("/"):
            break
        needs.append(posixpath.basename(words[4]))
    if not needs or len(set(needs)) != len(needs):
        return [], text
    return needs, "\n".join(lines[:1] + lines[1 + len(needs):])


_GUARD = re.compile(r"\A\s*sv\s+(?:-w\s*\d+\s+)?(?:check|start|status)\s+([\w@.:+,=%-]+)"
                    r"\s*(?:>\s*/dev/null\s*)?(?:2>&1\s*)?\|\|\s*exit(?:\s+\d+)?\s*\Z")


def hand_written_needs(text):
    r"""The services a run script's own guards wait for — ``sv check dbus >/dev/null ||
    exit 1`` (Void's form; ``start``, ``status`` and ``-w N`` too) — in order, or [].

    >>> hand_written_needs("#!/bin/sh\nsv check dbus >/dev/null || exit 1\nexec nm\n")
    ['dbus']
    >>> hand_written_needs("#!/bin/sh\nsv -w7 c postgresql || exit 1\n")
    []
    """
    names = []
    for line in text.split("\n"):
        match = _GUARD.match(line)
        if match and posixpath.basename(match.group(1)) not in names:
            names.append(posixpath.basename(match.group(1)))
    return names


def vlogger_tag(content):
    r"""The tag of a ``log/run`` that runs Void's ``vlogger`` (to syslog, not svlogd), or None::

        #!/bin/sh
        exec vlogger -t NAME -p daemon     (-t and -p in any order, or none)

    >>> vlogger_tag(b"#!/bin/sh\nexec vlogger -t sshd -p daemon\n")
    'sshd'
    >>> vlogger_tag(b"#!/bin/sh\nexec vlogger -p auth\n"), vlogger_tag(b"exec svlogd .\n")
    ('', None)
    """
    lines = (content or b"").decode("utf-8", "replace").split("\n")
    body = [line for line in lines[1:] if line.strip()]
    if not lines[0].startswith("#!") or len(body) != 1:
        return None
    try:
        words = shlex.split(body[0])
    except ValueError:
        return None
    if words[:2] != ["exec", "vlogger"]:
        return None
    options = dict(zip(words[2::2], words[3::2]))
    if len(words) % 2 or set(options) - {"-t", "-p"}:
        return None
    return options.get("-t", "")


def config_keys(content, unread):
    """svlogd's ``config`` as log keys, or (None, why); the renderer writes each setting once,
    in a fixed order — ``check`` confirms the reading by rendering it. ``content`` None: there
    was none to read, for the reason ``unread``."""
    if content is None:
        return None, unread
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8"
    if text and not text.endswith("\n"):
        return None, "its last line has no newline"
    keys, patterns = {}, []
    numbers = {"s": "size", "n": "num", "N": "min", "t": "timeout"}
    for line in text.split("\n")[:-1]:
        letter, value = line[:1], line[1:]
        if letter in numbers and value.isdigit() and numbers[letter] not in keys:
            keys[numbers[letter]] = int(value)
        elif letter == "!" and value and "processor" not in keys:
            keys["processor"] = value
        elif letter in "uU" and value and "udp" not in keys:
            keys["udp"] = value
            if letter == "U":
                keys["udp_only"] = True
        elif letter == "p" and "prefix" not in keys:
            keys["prefix"] = value
        elif letter in "+-" or line[:2] in ("e+", "e-", "E+", "E-"):
            patterns.append(line)
        else:
            return None, "line %r is not one the data writes" % line
    if patterns:
        keys["patterns"] = patterns
    return keys, None


# -- runsvdir-LOGIN: a user's tree ----------------------------------------------------------
def user_tree_keys(found):
    """What the ``runsvdir-LOGIN`` service renders from a ``users:`` entry, read back:
    ``(login, entry keys, service_dir, the directory its log/run writes, the user's log_dir)``,
    or ``(None, why)``::

        exec env -i PATH="$PATH" chpst -u LOGIN:G1:G2 -e ./env -L SERVICE_DIR/.runsvdir.lock \
            runsvdir SERVICE_DIR
    """
    from .cgroup_keys import without_c_runsv_lines
    run = found.file(RUN) or b""
    run = without_c_runsv_lines(run, True) or run  # the line runtime: system renders there
    tree = tree_run_from_bytes(run)  # the one reading of that line, the tree's own
    if tree is None or tree.env_dir != "./env" or tree.lock != tree.directory + "/" + TREE_LOCK:
        return None, "its run is not the one runit-provision renders for a user's tree"
    spec = tree.user.split(":")
    login, groups, service_dir = spec[0], spec[1:], tree.directory
    if found.name != USER_TREE_PREFIX + login:
        return None, "it runs the tree of %s" % login
    env = {}
    for name in ("HOME", "PATH", "SVDIR"):
        try:
            env[name], _how = env_value(name, *found.read(ENV_DIR + "/" + name))
        except ValueError as exc:
            return None, "env/%s: %s" % (name, exc)
    if env["SVDIR"] != service_dir or not env["HOME"]:
        return None, "env/SVDIR is not the directory it runs"
    log, log_dir, why = log_keys(found.file(LOG_DIR + "/" + RUN), None)
    if log is None:
        return None, "log/run: %s" % why
    entry = {"home": env["HOME"]}
    if groups:
        entry["groups"] = groups
    if env["PATH"] != DEFAULT_PATH:
        entry["path"] = env["PATH"]
    if service_dir != env["HOME"] + "/service":
        entry["service_dir"] = service_dir
    # root's svlogd (this layout) or, before it, the user's own in ~/logs/runsvdir or log_dir
    link = env["HOME"] + "/logs/runsvdir" if log.get("user") is None else log_dir
    if link != env["HOME"] + "/logs/runsvdir":
        entry["log_dir"] = link
    return (login, entry, service_dir, log_dir, link), None


# -- the small files ------------------------------------------------------------------------
def backoff_keys(content, unread):
    """``backoff`` (protocol/backoff.py) as ``restart``'s back-off keys, or (None, why).

    >>> backoff_keys(b"backoff 1 first=1 max=60 steps=6 jitter=0 reset=60\\n", None)[0]
    {'delay': 1, 'max_delay': 60, 'steps': 6}
    >>> backoff_keys(b"backoff 1 first=2 max=2 steps=0 jitter=0.5 reset=30\\n", None)[0]
    {'delay': 2, 'jitter': 0.5, 'reset_after': 30}
    """
    if content is None:
        return None, unread
    from ..protocol.backoff import backoff_from_bytes
    try:
        spec = backoff_from_bytes(content)
    except ValueError as exc:
        return None, str(exc)
    keys = {"delay": _number(spec.first)}
    if spec.steps and spec.max > spec.first:
        keys.update(max_delay=_number(spec.max), steps=spec.steps)
    if spec.jitter:
        keys["jitter"] = _number(spec.jitter)
    if spec.reset != 60:
        keys["reset_after"] = _number(spec.reset)
    return keys, None


BACKOFF_MARK = "\n# restart back-off (runit-provision, docs/restart.md)"


def backoff_finish_part(text):
    """A ``finish`` runit-provision rendered for a back-off (templates/finish/backoff.j2): the
    data's own finish in it (None: none); ``text`` itself when it is not one.

    >>> backoff_finish_part("#!/bin/sh" + BACKOFF_MARK + ": ...\\n") is None
    True
    >>> backoff_finish_part("#!/bin/sh\\n(\\necho x\\n)" + BACKOFF_MARK + "...\\n")
    '#!/bin/sh\\necho x\\n'
    >>> backoff_finish_part("#!/bin/sh\\nexit 0\\n")
    '#!/bin/sh\\nexit 0\\n'
    """
    head, mark, _ = text.partition(BACKOFF_MARK)
    if not mark or not head.startswith("#!/bin/sh"):
        return text
    body = head[len("#!/bin/sh"):]
    if not body:
        return None
    if body.startswith("\n(\n") and body.endswith("\n)"):
        return "#!/bin/sh\n" + body[3:-1]
    return text


def timer_keys(content, unread):
    """A timer's ``schedule`` file (protocol/timer.py) as its keys — ``schedule``, and
    ``persistent``, ``jitter``, ``time_limit`` where they are not the defaults — or (None,
    why); ``content`` None: none to read, because ``unread``.

    >>> timer_keys(b"timer 1\\nwhen=daily\\npersistent=1\\njitter=30\\ntime_limit=0.5\\n", None)[0]
    {'schedule': 'daily', 'persistent': True, 'jitter': 30, 'time_limit': 0.5}
    >>> timer_keys(b"timer 1\\nwhen=02:30\\npersistent=0\\njitter=0\\ntime_limit=0\\n", None)
    ({'schedule': '02:30'}, None)
    >>> timer_keys(b"timer 1\\nwhen=*-*-* 25:00\\n", None)[1]
    'when=*-*-* 25:00: column 7: the hour 25 is not within 0..23'
    """
    if content is None:
        return None, unread
    from ..protocol.timer import timer_spec_from_bytes
    try:
        spec = timer_spec_from_bytes(content)
    except ValueError as exc:
        why = str(exc)
        return None, why[len("schedule: "):] if why.startswith("schedule: ") else why
    keys = {"schedule": spec.when}
    if spec.persistent:
        keys["persistent"] = True
    if spec.jitter:
        keys["jitter"] = _number(spec.jitter)
    if spec.time_limit:
        keys["time_limit"] = _number(spec.time_limit)
    return keys, None


def _number(value):
    return int(value) if value == int(value) else value


def ready_keys(content, unread):
    """``ready`` (protocol/readiness.py) as the keys that write it — ``ready``,
    ``ready_timeout``, ``watchdog`` — or (None, why); ``content`` None: none to read, because
    ``unread``.

    >>> ready_keys(b"notify\\n", None)[0]
    {'ready': 'notify'}
    >>> ready_keys(b"notify access=all timeout=90 watchdog=10\\n", None)[0]
    {'ready': {'notify': {'access': 'all'}}, 'ready_timeout': 90, 'watchdog': 10}
    >>> ready_keys(b"fd=3\\n", None)[0], ready_keys(b"poll\\n", None)
    ({'ready': {'fd': 3}}, (None, "unknown kind 'poll' (notify, fd)"))
    """
    if content is None:
        return None, unread
    from ..protocol.readiness import BadReady, ready_spec_from_bytes
    try:
        spec = ready_spec_from_bytes(content)
    except BadReady as exc:
        return None, str(exc)
    if spec.kind == "fd":
        keys = {"ready": {"fd": spec.fd}}
    else:
        keys = {"ready": "notify" if spec.access == "main" else {"notify": {"access": spec.access}}}
    keys.update((key, value) for key, value in (("ready_timeout", spec.timeout),
                                                ("watchdog", spec.watchdog)) if value)
    return keys, None


def give_up_keys(content, unread):
    """``give-up`` as ``restart``, or (None, why); ``content`` None: none to read, because
    ``unread``."""
    if content is None:
        return None, unread
    try:
        words = (content or b"").decode("ascii").split()
        after, within = int(words[0]), int(words[1])
    except (UnicodeDecodeError, ValueError, IndexError):
        return None, "not two numbers"
    if content != b"%d %d\n" % (after, within):
        return None, "not written as 'N W' and a newline"
    return {"give_up_after": after, "within": within}, None
