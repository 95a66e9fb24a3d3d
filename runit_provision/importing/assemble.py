"""importing: a ``Found`` service -> its data, confirmed by rendering it and comparing bytes.

``import_services`` proposes keys file by file (``recognise``), renders the proposals with the
tree's settings (``schema`` + ``render``, the same path ``apply`` takes) and compares every
entry with what was found: a structured reading that does not give the same bytes is
replaced by the file kept as written, and whatever the data cannot reproduce — a mode, an
owner, a file runsv reads that the data has no key for — is listed as a change ``plan``
would make, with the reason. Owners are compared as ``plan`` compares them: the names rendered
turned into numbers by the ``Databases`` every command reads (``Databases.ids_of``). Pure but
for those databases: the host was read into the ``Found`` already.

Why one module: every key proposed is confirmed by the same render-and-compare, and the keys
depend on each other (``run`` and ``needs``, ``log/run`` and the log keys, ``down`` and
``enabled``): the proposal and its check read together.
"""

import posixpath

from .. import accounts as accounts_module
from ..errors import DataError, RenderError
from ..model import USER_TREE_PREFIX
from ..model.acl import extended, readers_acl, words
from ..model.units import label_of
from ..protocol.layout import (BACKOFF, CGROUP, CHECK, CONTROL_DIR, CONTROL_LETTERS, DOWN,
                               ENV_DIR, FINISH, GIVE_UP, JOB, LOG_DIR, ONESHOT, READY, RUN,
                               SANDBOX, SANDBOXED, SCHEDULE, SVLOGD_CONFIG, acted_on)
from .carried import carried, instance_of
from .cgroup_keys import cgroup_file_keys, without_c_runsv_lines
from .sandboxed import sandbox_file_keys, unsandboxed_run
from .found import Found, FoundEntry, bytes_of
from .recognise import (Notes, backoff_finish_part, backoff_keys, command_keys, config_keys,
                        env_value, give_up_keys, log_keys, ready_keys,
                        hand_written_needs, script_changes, script_needs, script_text,
                        timer_keys, vlogger_tag)

COMMAND_KEYS = ("command", "user", "group", "cwd", "umask", "nice", "limits", "needs")
_FOUND_KIND = {"file": "file", "dir": "directory", "link": "symlink"}
DEFAULTS = {"sv_dir": "/etc/sv", "service_dir": "/etc/service", "log_dir": "/var/log",
            "sv_timeout": 7}


class Settings:
    """The tree's settings the services are rendered with, and the ``databases``
    (``accounts.databases.Databases``, of ``accounts.databases.databases_for``) that turn the owner
    names rendered into numbers, as ``plan`` does; None: owners are not compared."""

    def __init__(self, sv_dir, service_dir, log_dir, sv_timeout, databases=None,
                 login=None, user=None, user_log_dir=None):
        self.sv_dir, self.service_dir, self.log_dir = sv_dir, service_dir, log_dir
        self.sv_timeout = sv_timeout
        self.databases = databases
        self.login = login  # a user's tree: the login, and its entry's keys (no services)
        self.user = user
        self.user_log_dir = user_log_dir  # the log of runsvdir-LOGIN itself

    def data(self):
        """The settings as top-level data keys, defaults left out."""
        values = {"sv_dir": self.sv_dir, "service_dir": self.service_dir,
                  "log_dir": self.log_dir, "sv_timeout": self.sv_timeout}
        return {key: value for key, value in values.items() if DEFAULTS[key] != value}


def import_services(founds, trees, user_trees=()):
    """``[(found, data, notes)]``: each service proposed, then all confirmed by rendering
    them together (one renderer: its templates compile once); ``data`` is None where a
    service cannot be imported (the reasons in ``notes.problems``). ``trees`` {None: the
    system's Settings, login: a user tree's}; ``found.tree`` says whose a service is.
    ``user_trees`` [(found, notes)]: the ``runsvdir-LOGIN`` services, compared with what
    their users' entries render (their changes go to those notes)."""
    results = [(found,) + propose(found, trees[found.tree]) for found in founds]
    ready = [(found, data, notes) for found, data, notes in results if data is not None]
    _guards_on_disabled(ready)
    for _attempt in range(3):  # a fallback changes a service once at most per file kind
        try:
            tree = rendered(ready, trees)
        except (DataError, RenderError):
            tree = None  # one service spoils the set: each is rendered alone instead
        changed = False
        for found, data, notes in ready:
            try:
                own = tree if tree is not None else rendered([(found, data, notes)], trees)
            except (DataError, RenderError) as exc:
                notes.problems.append("the data does not render: %s" % exc)
                continue
            changed = _fall_back(found, data, own, notes) or changed
        if not changed:
            break
    for found, data, notes in ready:
        if notes.problems:
            continue
        own = tree if tree is not None else rendered([(found, data, notes)], trees)
        notes.changes += _differences(found, own, data, trees[found.tree], notes)
        notes.recognised = [key for key in data if key not in notes.verbatim
                            and key not in notes.scripts and key not in notes.carried]
    for found, notes in user_trees:
        try:
            own = tree if tree is not None else rendered([], trees)
        except (DataError, RenderError) as exc:
            notes.problems.append("the user's entry does not render: %s" % exc)
            continue
        login = found.name[len(USER_TREE_PREFIX):]
        scope = {"env": {}, "control": {}, "log": {"dir": trees[login].user_log_dir}}
        notes.changes += _differences(found, own, scope, trees[None], notes)
    return [(found, None if notes.problems else data, notes)
            for found, data, notes in results]


def propose(found, settings):
    """``(data, notes)`` for one service as its files read, before the confirmation; ``data``
    is None when it cannot be imported (the reasons in ``notes.problems``)."""
    notes = Notes()
    found = _without_c_runsv_lines(found, notes)
    timer = None
    if found.entries.get(SCHEDULE) is not None:  # a timer: its job is what run would be
        timer = _timer_keys(found, notes)
        if timer is None:
            return None, notes
    run_name = run_of(found)
    run = found.entries.get(run_name)
    text = structured = wrapped = None
    sandbox = _sandbox(found, notes)
    if run is not None and run.kind == "link" and timer is not None:
        notes.problems.append("job: a link to %s: the data writes a timer's job from its "
                              "run or command" % run.target)
        return None, notes
    if run is not None and run.kind == "link":
        if run.dangling is not None:  # runsv would exec nothing, once a second
            notes.problems.append("run: %s" % run.dangling)
            return None, notes
        generic = instance_of(found, run.target, settings.sv_dir)
        notes.said.append("run is a link to %s%s" % (run.target, (
            ": an instance of the generic service %s" % generic) if generic else ""))
    else:
        text, why = script_text(*bytes_of(run))
        if text is None:
            notes.problems.append("%s: %s" % (run_name, why))
            return None, notes
        text, done_needs = _without_done_guard(found, text, settings)
        relayed = _without_relay(found, text)
        if relayed != text:
            text, notes.runtime = relayed, "system"
            notes.said.append("run has the notify-relay that ready renders under runtime: "
                              "system: read back as ready, it renders the same under "
                              "runtime: system (under python our runsv needs no relay)")
        wrapped = _unwrapped(found, text) if sandbox is not None else None
        if wrapped is not None:
            text, why_not = wrapped, "its script runs in the sandbox (./sandboxed)"
        else:
            structured, why_not = command_keys(text, settings.sv_dir, settings.sv_timeout,
                                               found.base)
    data = {}
    env = _env(found, notes)
    _scripts(found, data, notes)
    _small_files(found, data, notes)
    data.update(timer or {})
    log = _log(found, settings, notes)
    enabled = _enabled(found, settings, notes)
    if structured is not None:
        candidate = _with_command(structured, env, settings)
        if candidate is None:
            why_not = "needs guards with another timeout than sv_timeout, or -e without env/"
        else:
            data = dict(candidate, **data)
            if done_needs:
                data["needs"] = data.get("needs", []) + done_needs
    if "command" not in data and text is not None:
        needs, script = script_needs(text, settings.sv_dir, settings.sv_timeout)
        data = dict({"run": script}, **data)
        if needs + done_needs:
            data["needs"] = needs + done_needs
        notes.verbatim["run"] = why_not
        guarded = hand_written_needs(script)
        if guarded:
            notes.said.append("needs %s: by hand-written sv guards in run (kept as written; "
                              "needs: [%s] writes runit-provision's own)"
                              % (", ".join(guarded), ", ".join(guarded)))
        notes.changes += ["run: %s" % change for change in script_changes(text)]
        if "oneshot" not in data and ends_down(script):
            notes.said.append("run ends with `exec sv down .`: work that runs once (kept as "
                              "written; oneshot: true says so, and every view then tells "
                              "done or failed: docs/jobs.md)")
    if sandbox is not None and (wrapped is not None if "run" in data else
                                (structured or {}).get("_sandboxed")):
        data["sandbox"] = sandbox
    elif sandbox is not None:
        notes.changes.append("sandbox would be removed: %s does not start the service in "
                             "it as render writes it (docs/sandbox.md)" % run_name)
    if env is not None:
        data["env"] = env
    if log is not None:
        data["log"] = log
    _carried(found, data, notes, has_log=log is not False)
    if not enabled:
        data["enabled"] = False
    return data, notes


def _without_c_runsv_lines(found, notes):
    """``found`` as proposing reads it: without the lines ``runtime: system`` renders into
    ``run`` and ``finish`` for the C runsv's cgroups (importing/cgroup_keys.py) — the data
    does not write them, the runtime does — and ``notes.runtime`` "system" when they were
    there. The confirmation compares the render with the files as found."""
    entries = dict(found.entries)
    for name, is_run in ((RUN, True), (FINISH, False)):
        entry = entries.get(name)
        content = None if entry is None or entry.kind != "file" else entry.content
        stripped = None if content is None else without_c_runsv_lines(content, is_run)
        if stripped is None:
            continue
        notes.runtime = "system"
        if stripped == b"":
            del entries[name]
            continue
        entries[name] = FoundEntry(entry.path, entry.kind, entry.mode, entry.uid, entry.gid,
                                   content=stripped)
    if notes.runtime != "system":
        return found
    notes.said.append("run enters the service's cgroup (and finish ends it) as runtime: "
                      "system renders it for the C runsv: read back, it renders the same "
                      "there (docs/resources.md)")
    clone = Found(found.name, found.base, entries, found.link)
    clone.entered = True
    clone.tree, clone.log_dir = found.tree, found.log_dir
    clone.log_entries, clone.log_unread = found.log_entries, found.log_unread
    return clone


def _sandbox(found, notes):
    """The ``sandbox`` key of the directory's ``sandbox`` file (None: none, or unreadable,
    said)."""
    entry = found.entries.get(SANDBOX)
    if entry is None:
        return None
    keys, why = sandbox_file_keys(*bytes_of(entry))
    if keys is None:
        notes.changes.append("sandbox would be removed: %s" % why)
        return None
    return keys["sandbox"]


def _unwrapped(found, text):
    """The run script render wrote into ``./sandboxed`` behind ``text`` (its wrapper), with
    the wrapper's guards; None when ``text`` is no such wrapper."""
    inner = found.entries.get(SANDBOXED)
    if inner is None or inner.kind != "file":
        return None
    inner_text, _ = script_text(*bytes_of(inner))
    return None if inner_text is None else unsandboxed_run(text, inner_text)


def run_of(found):
    """The script of ``found`` that the data's ``run`` or ``command`` writes: a timer's
    ``job`` (its ``schedule`` file marks it), else ``run``."""
    return JOB if found.entries.get(SCHEDULE) is not None else RUN


def _timer_keys(found, notes):
    """A timer's directory (docs/jobs.md#timers) read back: its keys from the ``schedule``
    file; the ``run`` (the C runsv's waiter) and ``finish`` runit-provision renders for every
    timer recognised by their bytes — not data of their own — and a ``timer-stamp`` left to
    the waiters (runtime-owned). None when it cannot be imported: the ``schedule`` unreadable,
    or a ``run`` or ``finish`` of another's beside it (the data could keep neither), the
    reasons in ``notes.problems``."""
    keys, why = timer_keys(*bytes_of(found.entries[SCHEDULE]))
    if keys is None:
        notes.problems.append("schedule: %s" % why)
    for name, template, what in ((RUN, "timer/run.j2", "the waiter (exec timer-run)"),
                                 (FINISH, "finish/timer.j2", "the finish that records each "
                                  "run")):
        entry = found.entries.get(name)
        if entry is not None and bytes_of(entry)[0] != rendered_fixed(template):
            notes.problems.append(
                "%s: beside a schedule file, not %s runit-provision renders for a timer: a "
                "timer's %s is its own, and the data has no key to keep this one"
                % (name, what, name))
    return None if notes.problems else keys


def _carried(found, data, notes, has_log):
    """``conf``, ``files`` and ``links`` into ``data``; what cannot be carried noted."""
    found_carried = carried(found, has_log)
    for key, value in (("conf", found_carried.conf), ("files", found_carried.files),
                       ("links", found_carried.links)):
        if value:
            data[key] = value
            notes.carried.append(key)
    notes.not_carried += found_carried.not_carried


# -- the proposals ----------------------------------------------------------------------------
def _guards_on_disabled(ready):
    """A run script's guards read as ``needs`` on a service imported disabled: the data
    would be refused (a need must be started), so the run is kept whole, as written."""
    disabled = {(found.tree, found.name) for found, data, _ in ready
                if data.get("enabled") is False}
    for found, data, notes in ready:
        needs = data.get("needs") if "run" in data else None
        if needs and any((found.tree, dep) in disabled for dep in needs):
            data["run"] = found.file(run_of(found)).decode("utf-8")
            del data["needs"]
            notes.verbatim["run"] = ("its guards wait for %s, imported disabled (needs "
                                     "would be refused)" % ", ".join(needs))



def _with_command(structured, env, settings):
    keys = dict(structured)
    timeouts = keys.pop("_timeouts", set())
    uses_env = keys.pop("_uses_env", False)
    keys.pop("_sandboxed", None)
    if timeouts - {str(settings.sv_timeout)}:
        return None
    if uses_env != bool(env):
        return None
    ordered = {"command": keys.pop("command")}
    for key in ("user", "group", "cwd", "umask", "nice", "limits", "needs"):
        if key in keys:
            ordered[key] = keys[key]
    return ordered


def _env(found, notes):
    entry = found.entries.get(ENV_DIR)
    if entry is None:
        return None
    if entry.kind != "dir":
        notes.changes.append("env: a %s, not a directory: it would be replaced" % entry.kind)
        return None
    env = {}
    for name in found.names_in(ENV_DIR):
        relative = ENV_DIR + "/" + name
        try:
            env[name], how = env_value(name, *bytes_of(found.entries[relative]))
        except ValueError as exc:
            notes.changes.append("env/%s would be removed: %s" % (name, exc))
            continue
        if how is not None:  # carried as chpst reads it; plan rewrites the file (said then)
            notes.rewritten[relative] = ("rewritten as chpst -e reads it, the value the "
                                         "same: " + how)
    return env


def _scripts(found, data, notes):
    for name in (FINISH, CHECK):
        entry = found.entries.get(name)
        if entry is not None and entry.kind == "link":
            continue  # carried as the link it is (carried.py)
        if name == FINISH and found.entries.get(SCHEDULE) is not None:
            continue  # the timer's own (_timer_keys)
        if name == CHECK and _ready_check(found, entry):
            continue  # the key ready writes it (_small_files)
        if name == FINISH and found.entries.get(ONESHOT) is not None:
            if entry is None or bytes_of(entry)[0] != rendered_fixed("finish/oneshot.j2"):
                notes.changes.append("finish would be the one-shot's own (it keeps it down "
                                     "and records the run: docs/jobs.md)")
            continue
        text = None if entry is None else _kept_script(name, entry, notes)
        if text is not None and name == FINISH and found.entries.get(BACKOFF) is not None:
            text = backoff_finish_part(text)  # the back-off's own finish renders it again
        if text is not None:
            data[name] = text
            notes.scripts.append(name)
    if found.entries.get(CONTROL_DIR) is not None:
        control = {}
        for letter in found.names_in(CONTROL_DIR):
            label = CONTROL_DIR + "/" + letter
            if len(letter) != 1 or letter not in CONTROL_LETTERS:
                notes.changes.append("%s would be removed: runsv knows no such hook" % label)
                continue
            text = _kept_script(label, found.entries[label], notes)
            if text is not None:
                control[letter] = text
        if control:
            data["control"] = control
            notes.scripts.append("control")


def _without_done_guard(found, text, settings):
    """``(run's text, the one-shots it needs)``: the guard runit-provision renders for the
    one-shots its ``needs-done`` file lists (templates/needs-done.j2), taken out of ``text``,
    and their names; or ``(text, [])`` when there is no such file, or its guard is not in
    ``text`` as rendered — a proposal, confirmed by rendering as every other."""
    from ..protocol.layout import NEEDS_DONE
    entry = found.entries.get(NEEDS_DONE)
    content = bytes_of(entry)[0]
    if content is None:
        return text, []
    sv_dir = settings.sv_dir.rstrip("/")
    paths = content.decode("utf-8", "replace").splitlines()
    if not paths or any(posixpath.dirname(path) != sv_dir for path in paths):
        return text, []
    guard = _rendered("needs-done.j2", {"needs_done": paths, "sv_timeout": settings.sv_timeout})
    if text.count(guard) != 1:
        return text, []
    return text.replace(guard, ""), [posixpath.basename(path) for path in paths]


def _without_relay(found, text):
    """``text`` without the lines ``ready`` renders into run under the C runsv (the
    notify-relay of templates/notify-relay.j2, for the spec the ``ready`` file says), when
    they are there as rendered: the key writes them again."""
    from types import SimpleNamespace

    from ..protocol.readiness import BadReady, ready_option_words, ready_spec_from_bytes
    content = bytes_of(found.entries.get(READY))[0]
    if content is None or _own_check_beside_ready(found):
        return text  # no ready carried (_ready): its relay stays the run's own
    try:
        spec = ready_spec_from_bytes(content)
    except BadReady:
        return text
    words = (["fd=%d" % spec.fd] if spec.kind == "fd" else []) + ready_option_words(spec)
    relay = _rendered("notify-relay.j2", {
        "service": SimpleNamespace(ready=spec), "notify_relay": words,
        "watchdog_usec": spec.watchdog * 1_000_000})
    return text.replace(relay, "") if relay and text.count(relay) == 1 else text


def _rendered(template, context):
    from ..render.environment import make_environment, render_template
    return render_template(make_environment(), template, context)


def _own_check_beside_ready(found):
    """A ``check`` of the service's own, not the one ``ready`` renders: ``ready`` is then
    not carried (``_ready``), nor is its relay taken out of run (``_without_relay``)."""
    check = found.entries.get(CHECK)
    return check is not None and not _ready_check(found, check)


def _ready_check(found, entry):
    """Whether ``check`` is the one ``ready`` renders beside a ``ready`` file."""
    return found.entries.get(READY) is not None and entry is not None \
        and bytes_of(entry)[0] == rendered_fixed("check/ready.j2")


def rendered_fixed(template):
    """The bytes of a template rendered without context, the same for every service:
    ``finish/oneshot.j2`` (a one-shot's ``./finish``), ``timer/run.j2`` (a timer's
    ``./run``, the C runsv's waiter) and ``finish/timer.j2`` (a timer's ``./finish``)."""
    return _rendered(template, {}).encode()


def ends_down(script):
    r"""Whether a run script stops its own service at its end — ``exec sv down .`` (or
    ``sv d .``, ``sv down ./``) as its last command: the one-shot of before ``oneshot``.

    >>> ends_down("#!/bin/sh\necho set up\nexec sv down .\n"), ends_down("exec sv d ./\n")
    (True, True)
    >>> ends_down("#!/bin/sh\nexec sv down .\necho more\n"), ends_down("exec web\n")
    (False, False)
    """
    lines = [line.strip() for line in script.split("\n") if line.strip()
             and not line.strip().startswith("#")]
    return bool(lines) and lines[-1].split() in (
        ["exec", "sv", verb, where] for verb in ("down", "d") for where in (".", "./"))


def _kept_script(label, entry, notes):
    """The text of script ``entry`` as the data keeps it — what the schema would change in
    it noted — or None, noted as a file plan would remove."""
    text, why = script_text(*bytes_of(entry))
    if text is None:
        notes.changes.append("%s would be removed: %s" % (label, why))
        return None
    notes.changes += ["%s: %s" % (label, change) for change in script_changes(text)]
    return text


def _small_files(found, data, notes):
    down = found.entries.get(DOWN)
    if down is not None:
        data["down"] = True
        if down.kind != "file" or down.content:
            notes.changes.append("down would be made an empty file")
    oneshot = found.entries.get(ONESHOT)
    if oneshot is not None:  # the mark of a one-shot (docs/jobs.md)
        data["oneshot"] = True
        if oneshot.kind != "file" or oneshot.content:
            notes.changes.append("oneshot would be made an empty file")
    _ready(found, data, notes)
    entry = found.entries.get(CGROUP)
    if entry is None and found.entered:
        data["stop"] = "group"  # entered with no limit: the cgroup was asked for (stop: group)
    if entry is not None:  # resources and stop (docs/resources.md)
        keys, why = cgroup_file_keys(*bytes_of(entry)) if entry.content is not None else (
            None, bytes_of(entry)[1])
        if keys is None:
            notes.changes.append("cgroup would be removed: %s" % why)
        else:
            data.update(keys)
    for name, keys_of in ((GIVE_UP, give_up_keys), (BACKOFF, backoff_keys)):  # restart's
        entry = found.entries.get(name)
        if entry is None:
            continue
        keys, why = keys_of(*bytes_of(entry))
        if keys is None:
            notes.changes.append("%s would be removed: %s" % (name, why))
        else:
            data["restart"] = dict(data.get("restart") or {}, **keys)


def _ready(found, data, notes):
    """``ready`` (docs/readiness.md): its keys, and its check left to it. Beside a check
    of the service's own it is not carried — ``ready: notify`` renders its own check — and
    the note says so."""
    entry = found.entries.get(READY)
    if entry is None:
        return
    if _own_check_beside_ready(found):
        notes.changes.append("ready would be removed: a check of its own is beside it (ready "
                             "renders its own check)")
        return
    keys, why = ready_keys(*bytes_of(entry))
    if keys is None:
        notes.changes.append("ready would be removed: %s" % why)
        return
    data.update(keys)
    from ..protocol.readiness import ready_spec_bytes, ready_spec_from_bytes
    content = bytes_of(entry)[0]
    if ready_spec_bytes(ready_spec_from_bytes(content)) != content:
        notes.changes.append("ready would be written as the key writes it, the same meaning")


def _log(found, settings, notes):
    """The ``log`` value, False for none, None for the stock logger (nothing to say)."""
    entry = found.entries.get(LOG_DIR)
    if entry is None:
        return False
    run = found.entries.get(LOG_DIR + "/" + RUN)
    if entry.kind != "dir" or run is None:
        notes.why_removed[LOG_DIR] = ("not a directory" if entry.kind != "dir"
                                      else "it has no run")
        return False
    if run.kind == "link":
        return None  # the logger is the link's (carried.py: links: {log/run: …})
    vlogger = vlogger_tag(run.content)
    if vlogger is not None:
        notes.said.append("log/run is vlogger (to syslog, tag %s): kept as written" % vlogger)
    default_dir = posixpath.join(settings.log_dir, found.name)
    keys, directory, why = log_keys(run.content, default_dir)
    if keys is not None and found.log_dir == directory:
        settings_keys, why = config_keys(*found.read_log(SVLOGD_CONFIG))
        if settings_keys is not None:
            keys.update(settings_keys)
            return keys or None
        why = "svlogd's config in %s: %s" % (directory, why)
    elif keys is not None:
        why = "its log directory was not read"
    text, text_why = script_text(*bytes_of(run))
    if text is None:
        notes.changes.append("log/run would be replaced by the stock logger: %s" % text_why)
        return None
    notes.verbatim["log"] = why
    notes.changes += ["log/run: %s" % change for change in script_changes(text)]
    return {"run": text}


def _enabled(found, settings, notes):
    link = found.link
    expected = posixpath.join(settings.sv_dir, found.name)
    if link is None:
        return False
    if link.kind != "link":
        notes.changes.append("%s is a %s, not a link: the data makes a link"
                             % (link.path, link.kind))
    elif link.target != expected:
        notes.changes.append("%s -> %s would point to %s" % (link.path, link.target, expected))
    return True


# -- the confirmation ---------------------------------------------------------------------------
def rendered(services, trees):
    """The tree the data of ``services`` [(found, data, notes)] renders, together with every
    user tree of ``trees``; a ``needs`` outside them is met by a stand-in."""
    from ..render import render
    from ..schema import config_from_data
    chosen = {}  # tree -> {name: data}
    for found, data, _notes in services:
        chosen.setdefault(found.tree, {})[found.name] = data
    def with_stand_ins(members):
        stand_ins = {dep: {"command": ["true"], "log": False}
                     for data in members.values() for dep in data.get("needs", ())
                     if dep not in members}
        return dict(stand_ins, **members)
    tree_data = dict(trees[None].data(), services=with_stand_ins(chosen.get(None, {})))
    if any(notes.runtime == "system" for _found, _data, notes in services):
        tree_data["runtime"] = "system"  # a relay read back: it renders only there
    users = {login: dict(settings.user, services=with_stand_ins(chosen.get(login, {})))
             for login, settings in trees.items() if login is not None}
    if users:
        tree_data["users"] = users
    config = config_from_data(tree_data, {}, accounts_module.NO_ACCOUNTS)
    only = {label_of(tree, name) for tree, members in chosen.items() for name in members}
    only |= {USER_TREE_PREFIX + login for login in users}
    return render(config, only=only)


def _fall_back(found, data, tree, notes):
    """Where a structured reading renders other bytes than were found, keep the file as
    written instead; True when ``data`` changed."""
    base = found.base
    run_name = run_of(found)
    run = tree.get(base + "/" + run_name)
    written = found.file(run_name)
    if "run" in data and "needs" in data and (run is None or run.content != written):
        data["run"] = written.decode("utf-8")
        del data["needs"]
        notes.verbatim["run"] = "its needs guards read back render other bytes"
        return True
    if "command" in data and (run is None or run.content != written):
        kept = {key: value for key, value in data.items() if key not in COMMAND_KEYS}
        data.clear()
        data.update(dict({"run": written.decode("utf-8")}, **kept))
        notes.verbatim["run"] = "the command form read back renders other bytes"
        return True
    log = data.get("log")
    if isinstance(log, dict) and "run" not in log and not _log_matches(found, tree, base):
        text, _ = script_text(*found.read(LOG_DIR + "/" + RUN))
        data["log"] = {"run": text}
        notes.verbatim["log"] = "the canonical reading renders other bytes"
        return True
    return False


def _log_matches(found, tree, base):
    run = tree.get(base + "/" + LOG_DIR + "/" + RUN)
    if run is None or run.content != found.file(LOG_DIR + "/" + RUN):
        return False
    config = found.log_entries.get(SVLOGD_CONFIG)
    rendered_config = tree.get((found.log_dir or "") + "/" + SVLOGD_CONFIG)
    return (rendered_config is not None and config is not None
            and config.content == rendered_config.content)


def _own_entries(found, tree, data, settings):
    """The entries of ``tree`` that are this service's: its directory, link and logger's."""
    link = posixpath.join(settings.service_dir, found.name)
    log = data.get("log")
    log_dir = None
    if log is not False and not (isinstance(log, dict) and "run" in log):
        log_dir = (log or {}).get("dir") or posixpath.join(settings.log_dir, found.name)
    for entry in tree:
        path = entry.path
        if path == link or path == found.base or path.startswith(found.base + "/") or (
                log_dir is not None and (path == log_dir or path.startswith(log_dir + "/"))):
            yield entry


def _owner_change(label, have, entry, databases):
    """What plan would change of ``have``'s owner to give it ``entry``'s: ``[]`` or one line.
    The names rendered are turned into numbers by ``Databases.ids_of`` — plan's own rule
    (``apply/planner/draft.want_ids``): no owner is root, no group the owner's primary one —
    and the numbers compared; names are only shown, never compared."""
    if databases is None:
        return []
    try:
        want = databases.ids_of(entry.owner, entry.group)
    except KeyError as exc:
        name = exc.args[0]
        is_owner = name == (entry.owner or "root") and databases.passwd.login(name) is None
        database = databases.passwd if is_owner else databases.group
        return ["%s: %s %r is not known (%s): plan would stop" % (
            label, "owner" if is_owner else "group", name,
            database.path or "the host's %s" % ("passwd" if is_owner else "group"))]
    if (have.uid, have.gid) == want:
        return []
    return ["%s: owner %s would become %s" % (label, _ids_shown(databases, have.uid, have.gid),
                                               _ids_shown(databases, *want))]


def _acl_change(label, have, entry, databases):
    """What plan would change of a directory's readers' ACL: ``[]`` or one line, as plan
    says it (``apply/planner/draft.want_acl``)."""
    if not entry.readers or databases is None:
        return []
    try:
        want = extended(readers_acl(entry.mode, databases.uids_of(entry.readers)))
    except KeyError as exc:
        return ["%s: reader %r is not known: plan would stop" % (label, exc.args[0])]
    found = extended(have.acl or ())
    if found == want:
        return []
    return ["%s: ACL %s would become %s" % (label, words(found), words(want))]


def _ids_shown(databases, uid, gid):
    """``33:33 (www-data:www-data)``: the numbers, and the names the databases give them (0 is
    root where they do not list it, as for ``ids_of``)."""
    login = databases.passwd.names([uid]).get(uid, "root" if uid == 0 else "?")
    group = databases.group.names([gid]).get(gid, "root" if gid == 0 else "?")
    return "%d:%d (%s:%s)" % (uid, gid, login, group)


def _differences(found, tree, data, settings, notes):
    """What ``plan`` would still change in what the service's data covers, and why."""
    on_host = {found.base + ("/" + rel if rel else ""): entry
               for rel, entry in found.entries.items()}
    if found.link is not None:
        on_host[found.link.path] = found.link
    if found.log_dir is not None:
        for rel, entry in found.log_entries.items():
            on_host[found.log_dir + ("/" + rel if rel else "")] = entry
    changes = []
    for entry in _own_entries(found, tree, data, settings):
        have = on_host.get(entry.path)
        label = entry.path
        if have is None:
            changes.append("%s would be created" % label)
            continue
        if entry.kind == "symlink":
            continue  # said by _enabled
        if _FOUND_KIND.get(have.kind, have.kind) != entry.kind:
            changes.append("%s: a %s would replace the %s" % (label, entry.kind, have.kind))
            continue
        if entry.kind == "file" and entry.content != have.content:
            changes.append("%s: %s" % (label, notes.rewritten.get(
                label[len(found.base) + 1:], "its content would change")))
        if have.mode != entry.mode:
            changes.append("%s: mode %04o would become %04o" % (label, have.mode, entry.mode))
        changes += _owner_change(label, have, entry, settings.databases)
        changes += _acl_change(label, have, entry, settings.databases)
    scopes = acted_on(found.base, has_log=data.get("log") is not False,
                      has_env="env" in data)
    for directory, names in scopes.items():
        relative = directory[len(found.base) + 1:] if directory != found.base else ""
        present = found.names_in(relative) if relative else [
            path for path in found.entries if path and "/" not in path]
        for name in present:
            path = directory + "/" + name
            if (names is None or name in names) and path not in tree:
                why = notes.why_removed.get(path[len(found.base) + 1:],
                                            "runsv reads it; the data has no key for it")
                changes.append("%s would be removed: %s" % (path, why))
    return changes
