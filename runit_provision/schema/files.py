"""schema: the files of a service directory that runsv does not read — ``conf``, ``files``
and ``links`` (docs/data-format.md#other-files-conf-files-links).

- ``conf``: the file a run script sources (``[ -r conf ] && . ./conf``, Void Linux's
  convention), written byte for byte: a string (mode 0644) or ``{content, mode}``;
- ``files``: any other file, by its path in the directory (``README``, ``log/conf``): a
  string or ``{content, mode}``;
- ``links``: entries that are symbolic links, by path, to their target, written as the same
  link — ``run: /etc/sv/agetty-generic/run`` makes a generic service's instance.

A path is relative, below the directory, in at most three levels, and names no file the
data writes with another key (``run``, ``finish``, ``check``, ``down``, ``give-up``,
``backoff``, ``oneshot``, ``needs-done``, ``ready``, ``control/``, ``env/``, ``log/run``,
``conf``, a timer's ``schedule`` and ``job``) nor a runtime's (``supervise/``, ``backoff-state``,
``needs-passed``, a timer's ``timer-stamp``) — except that
``links`` may make ``run``, ``finish``, ``check``, ``conf`` and ``log/run`` links, instead of
the key that writes them.
"""

import re

from ..protocol.layout import (BACKOFF, BACKOFF_STATE, CGROUP, CHECK, CONF, CONTROL_DIR, DOWN,
                               ENV_DIR, FINISH, GIVE_UP, JOB, LOG_DIR, NEEDS_DONE, NEEDS_PASSED,
                               ONESHOT, READY, RUN, SANDBOX, SANDBOXED, SCHEDULE, SUPERVISE_DIR,
                               TIMER_STAMP)
from ..source import type_name

FILE_KEYS = ("content", "mode")
DEFAULT_FILE_MODE = 0o644
MAX_LEVELS = 3  # import reads no deeper (importing/found.py)
# What a link may stand for, and the key that would write the file otherwise.
LINKABLE = {RUN: ("command", "run", "template"), FINISH: ("finish",), CHECK: ("check",),
            CONF: ("conf",), LOG_DIR + "/" + RUN: ("log",)}
# Entries of a service directory (of its log/) that keys of their own write, or runsv: never
# ``files`` of the data, and never carried as such by import (importing/carried.py) — each
# with who writes it, as the schema's refusal says.
WRITTEN_BY = {RUN: "the key run or command", FINISH: "the key finish", CHECK: "the key check",
              DOWN: "the key down", GIVE_UP: "the key restart", BACKOFF: "the key restart",
              BACKOFF_STATE: "restart's finish, as the service runs",
              ONESHOT: "the key oneshot", NEEDS_DONE: "the key needs (of one-shots)",
              NEEDS_PASSED: "the needs guard of run, as the service runs",
              READY: "the key ready",
              CONTROL_DIR: "the key control",
              ENV_DIR: "the key env", SUPERVISE_DIR: "runsv", SCHEDULE: "the key schedule",
              JOB: "a timer's run or command (schedule:)",
              TIMER_STAMP: "a timer's waiter, as it runs (persistent:)",
              CONF: "the key conf", LOG_DIR: "the key log",
              CGROUP: "the keys resources and stop", SANDBOX: "the key sandbox",
              SANDBOXED: "the key run, under sandbox"}
KEYED = (RUN, FINISH, CHECK, DOWN, GIVE_UP, BACKOFF, BACKOFF_STATE, ONESHOT, NEEDS_DONE,
         NEEDS_PASSED, READY, CONTROL_DIR, ENV_DIR, SUPERVISE_DIR, SCHEDULE, JOB, TIMER_STAMP,
         CGROUP, SANDBOX, SANDBOXED)
LOG_KEYED = (RUN, FINISH, CHECK, DOWN, CONTROL_DIR, SUPERVISE_DIR)
_MODE = re.compile(r"0?[0-7]{3}\Z")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]")  # tab, newline and CR are text


def read_conf(read, path, value):
    """``conf``: ``(content, mode)``."""
    return _file_value(read, path, value)


def read_files(read, path, value):
    """``files``: {relative path: (content, mode)}."""
    value = read.hash(path, value)
    if value is None:
        return None
    out = {}
    for name, item in value.items():
        at = path + (name,)
        if _relative_path(read, at, name, links=False) is not None:
            found = _file_value(read, at, item)
            if found is not None:
                out[name] = found
    return out


def read_links(read, path, value):
    """``links``: {relative path: target}."""
    value = read.hash(path, value)
    if value is None:
        return None
    out = {}
    for name, target in value.items():
        at = path + (name,)
        if _relative_path(read, at, name, links=True) is None:
            continue
        target = read.text(at, target)
        if target is not None:
            out[name] = target
    return out


def check_links_and_keys(problems, path, values, own):
    """A link instead of a file another key writes: not both; ``files`` and ``links`` never
    name one path twice. ``own``: the keys the service wrote itself (a key only ``defaults``
    gave yields to the link)."""
    links = values.get("links") or {}
    for name, keys in LINKABLE.items():
        if name not in links:
            continue
        for key in keys:
            if key not in values or values.get(key) is None:
                continue
            if key == "log" and values["log"] not in (False, {}):
                problems.add(path + ("log",), "with links.log/run, the logger is the link's: "
                                              "no svlogd settings (log: true, or leave it out)")
                continue
            if key == "log":
                if values["log"] is False:
                    problems.add(path + ("links", name), "a log/run link with log: false")
                continue
            if key not in own:
                values.pop(key)  # defaults' command yields to an instance's run link
                continue
            problems.add(path + ("links", name), "a link, and %s writes that file too: give "
                                                "one" % key)
    files = values.get("files") or {}
    for name in sorted(set(links) & set(files)):
        problems.add(path + ("links", name), "files.%s names the same path: give one" % name)
    inside_conf = sorted(name for name in list(files) + list(links)
                         if name.startswith(CONF + "/"))
    if inside_conf and (values.get("conf") is not None or CONF in links):
        problems.add(path + ("conf",), "conf is a file, and %s puts a directory there: give "
                                       "one" % inside_conf[0])


def _file_value(read, path, value):
    if isinstance(value, str):
        content = _content(read, path, value)
        return None if content is None else (content, DEFAULT_FILE_MODE)
    value = read.keyed_hash(path, value, FILE_KEYS)
    if value is None:
        return None
    if "content" not in value:
        read.problems.add(path, "needs content (the file's text)")
        return None
    content = _content(read, path + ("content",), value["content"])
    mode = DEFAULT_FILE_MODE
    if "mode" in value:
        mode = _mode(read, path + ("mode",), value["mode"])
    return None if content is None or mode is None else (content, mode)


def _content(read, path, value):
    """The file's text, byte for byte: anything but control characters (tab, newline and a
    carriage return are text), empty included."""
    if not isinstance(value, str):
        read.problems.add(path, "expected the file's text, got %s" % type_name(value))
        return None
    if CONTROL_CHARS.search(value):
        read.problems.add(path, "control characters are not allowed (a binary file is not "
                                "data)")
        return None
    return value


def _mode(read, path, value):
    if isinstance(value, str) and _MODE.match(value):
        return int(value, 8)
    read.problems.add(path, "write mode as a quoted octal string, e.g. '0644' (got %r)"
                      % (value,))
    return None


def _relative_path(read, path, name, links):
    """``name`` when it is a path the key may write, else None (the problem said)."""
    if not isinstance(name, str) or not name:
        read.problems.add(path, "expected a path in the service directory")
        return None
    parts = name.split("/")
    if name.startswith("/") or any(part in ("", ".", "..") for part in parts) \
            or CONTROL_CHARS.search(name) or len(parts) > MAX_LEVELS:
        read.problems.add(path, "%r: a relative path below the service directory, in at "
                                "most %d levels, without . or .. or //" % (name, MAX_LEVELS))
        return None
    if links and name in LINKABLE:
        return name
    top = parts[0]
    keyed = top in KEYED or (top == LOG_DIR and len(parts) > 1 and parts[1] in LOG_KEYED)
    if keyed or name in (LOG_DIR, CONF):  # conf/NAME is a file (Debian's dhclient has conf/)
        writer = WRITTEN_BY[top]
        if top == LOG_DIR and parts[1:2] == [SUPERVISE_DIR]:
            writer = WRITTEN_BY[SUPERVISE_DIR]
        read.problems.add(path, "%r is written by %s: not here" % (name, writer))
        return None
    return name
