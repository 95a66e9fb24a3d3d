"""render: one service -> the entries of its directory, its log directory and its link.

A ``Place`` says where a service lives: the system tree (``sv_dir``, ``service_dir``,
``log_dir``, root-owned, directories 0755) or a user's (``~/sv``, ``~/service``, ``~/logs``,
owned by the user, directories 0750). Scripts are 0755, ``env/`` files 0640 and the svlogd
``config`` 0644 (the modes Chef's runit cookbook uses).
"""

import posixpath

from ..model import LIMITS, TIMESTAMPS, log_directory
from ..protocol.layout import (
    CHECK, CONF, CONTROL_DIR, DOWN, ENV_DIR, FINISH, GIVE_UP, JOB, LOG_DIR, NEEDS_DONE, ONESHOT,
    READY, RUN, SANDBOX, SANDBOXED, SCHEDULE, SVLOGD_CONFIG, CGROUP, path_in)
from ..protocol.backoff import BACKOFF, BACKOFF_STATE, Backoff, backoff_bytes, seconds_text
from ..protocol.cgroupfs import Spec, settings, spec_bytes
from ..protocol.process.envfile import file_from_value
from ..protocol.process.sandbox import spec_bytes as sandbox_bytes
from ..protocol.readiness import ready_option_words, ready_spec_bytes
from ..protocol.canonical import log_run_text
from ..protocol.timer import TimerSpec, timer_spec_bytes
from ..errors import RenderError
from .environment import render_file_template, render_template, shell_quote
from ..model.tree import Absent, Directory, File, Symlink


class Place:
    """Where a tree's services go and who owns them."""

    __slots__ = ("sv_dir", "service_dir", "log_dir", "owner", "group", "dir_mode", "tree_user")

    def __init__(self, sv_dir, service_dir, log_dir, owner="root", group="root",
                 dir_mode=0o755, tree_user=None):
        self.sv_dir, self.service_dir, self.log_dir = sv_dir, service_dir, log_dir
        self.owner, self.group, self.dir_mode, self.tree_user = owner, group, dir_mode, tree_user


def chpst_words(service, env_dir):
    """chpst's options for a ``command`` service, in a fixed order; the user is
    sandbox-run's to switch to in a sandbox (``sandbox_words``)."""
    words = []
    if service.user is not None and service.sandbox is None:
        words += ["-u", service.user + (":" + service.group if service.group else "")]
    if service.env:
        words += ["-e", env_dir]
    if service.nice is not None:
        words += ["-n", str(service.nice)]
    for key, letter in LIMITS.items():
        if service.limits.get(key) is not None:
            words += ["-" + letter, str(service.limits[key])]
    return words


def service_entries(service, place, config, env):
    """Every entry of ``service`` at ``place`` (Absent markers for ``ensure: absent``)."""
    base = posixpath.join(place.sv_dir, service.name)
    link = posixpath.join(place.service_dir, service.name)
    if service.ensure == "absent":
        return [Absent(link), Absent(base)]
    own = dict(owner=place.owner, group=place.group)
    entries = [Directory(base, place.dir_mode, **own)]

    def script(path, text, mode=0o755):
        entries.append(File(path, text, mode, **own))

    if service.sandbox is not None and RUN not in service.links:
        entries.append(File(path_in(base, SANDBOX), sandbox_bytes(service.sandbox), 0o644,
                            **own))
        if service.run is not None:  # the data's script, started in the sandbox by ./run
            script(path_in(base, SANDBOXED), render_template(env, "script.j2",
                                                             {"text": service.run}))
    if service.schedule is not None:  # a timer: the run script is its job
        script(path_in(base, JOB), run_script(service, place, config, env, base))
        entries += timer_entries(service, base, env, own)
    elif RUN not in service.links:
        script(path_in(base, RUN), run_script(service, place, config, env, base))
        needed = oneshots_needed(service, place, config)
        if needed:  # our runsv starts ./run once they are done; the guard checks under both
            entries.append(File(path_in(base, NEEDS_DONE),
                                "".join(path + "\n" for path in needed).encode(), 0o644, **own))
    if service.backoff is not None:
        entries.append(File(path_in(base, BACKOFF), backoff_bytes(backoff_of(service)), 0o644,
                            **own))
        script(path_in(base, FINISH), backoff_finish(service, env))
    elif service.finish is not None:
        script(path_in(base, FINISH), render_template(env, "script.j2", {"text": service.finish}))
    if service.oneshot:
        entries += oneshot_entries(base, env, own)
    if service.check is not None:
        script(path_in(base, CHECK), check_script(service.check, env))
    if service.ready is not None:
        # our runsv reads `ready`; the check is what every sv (the C one too) waits on
        entries.append(File(path_in(base, READY), ready_spec_bytes(service.ready), 0o644, **own))
        script(path_in(base, CHECK), render_template(env, "check/ready.j2", {}))
    if service.control:
        entries.append(Directory(path_in(base, CONTROL_DIR), place.dir_mode, **own))
        for letter in sorted(service.control):
            script(path_in(base, CONTROL_DIR, letter),
                   render_template(env, "script.j2", {"text": service.control[letter]}))
    if service.env is not None:
        entries.append(Directory(path_in(base, ENV_DIR), place.dir_mode, **own))
        for name in sorted(service.env):
            entries.append(File(path_in(base, ENV_DIR, name), file_from_value(service.env[name]),
                                0o640, **own))
    if service.down:
        entries.append(File(path_in(base, DOWN), b"", 0o644, **own))
    if service.restart is not None:
        entries.append(File(path_in(base, GIVE_UP), b"%d %d\n" % service.restart, 0o644, **own))
    if service.log is not False and LOG_DIR + "/" + RUN in service.links:
        entries.append(Directory(path_in(base, LOG_DIR), place.dir_mode, **own))
    elif service.log is not False:
        entries += log_entries(service.log, log_directory(service, place.log_dir), base, place,
                               env)
    entries += other_entries(service, base, place)
    if config.runtime == "system":
        entries = in_cgroup_under_c_runsv(entries, base, service.resources, service.stop, own,
                                          name=service.name)
    else:
        entries += cgroup_entries(service.resources, service.stop, base, own)
    if service.enabled:
        entries.append(Symlink(link, base, **own))
    return entries


def cgroup_entries(resources, stop, base, own):
    """The ``cgroup`` file (protocol/cgroupfs.py) our runsv reads, for a service with limits
    or ``stop: main``; none for the default (every service has a cgroup under our runsv,
    ends whole, and has no limit)."""
    if not resources and stop != "main":
        return []
    return [File(path_in(base, CGROUP), spec_bytes(Spec(stop or "group", settings(resources))),
                 0o644, **own)]


CGROUP_ENTER = "runsv-cgroup enter $$%s || exit 1"
CGROUP_END = "runsv-cgroup end"
END_FINISH = "#!/bin/sh\nexec %s\n" % CGROUP_END  # a finish for that alone


def in_cgroup_under_c_runsv(entries, base, resources, stop, own, name, owner=None,
                            delegated=False):
    """Under the C runsv (``runtime: system``), which knows no cgroup, a service that asks
    for one — ``resources``, or ``stop: group`` said — gets what our runsv does itself
    (runtime/runsvcgroup.py): its ``cgroup`` file; ``./run`` enters the cgroup before anything
    else (``owner``: a user's tree, the cgroup handed to them; ``delegated``: a user's tree
    some of whose services ask for one); and unless ``stop: main``, ``./finish`` ends what is
    left first — a finish rendered for that alone where there is none. Any other service runs
    as the C runit runs it, so a runit host imported and applied changes nothing. A script
    that is not sh gets no line (docs/resources.md): a RenderError for a bounded service's
    run, whose limits it would leave unapplied."""
    if not (resources or stop == "group" or delegated):
        return entries
    out = list(entries) + cgroup_entries(resources, stop or "group", base, own)
    enter = CGROUP_ENTER % ("" if owner is None else " " + owner)
    ends = stop != "main"
    has_finish = False
    for index, entry in enumerate(out):
        if not isinstance(entry, File) or entry.path not in (path_in(base, RUN),
                                                             path_in(base, FINISH)):
            continue
        is_run = entry.path == path_in(base, RUN)
        has_finish = has_finish or not is_run
        if not is_run and not ends:
            continue
        content = _with_line(entry.content, enter if is_run else CGROUP_END)
        if content is entry.content and is_run and resources:
            raise RenderError(
                "%s: run: under runtime: system the service's cgroup is entered by a line of "
                "sh in ./run: this run is %s" % (
                    name, entry.content.split(b"\n", 1)[0].decode("utf-8", "replace")))
        out[index] = File(entry.path, content, entry.mode, entry.owner, entry.group)
    if ends and not has_finish:
        out.append(File(path_in(base, FINISH), END_FINISH, 0o755, **own))
    return out


def _with_line(content, line):
    """``content`` (a script) with ``line`` after its ``#!`` line — and after its ``exec 2>&1``
    when that comes next, so what the line says goes to the log — or as it is when it is no
    sh script."""
    head, _, rest = content.decode("utf-8", "surrogateescape").partition("\n")
    if head.rstrip() not in SH_LINES:
        return content
    if rest.startswith("exec 2>&1\n"):
        head, rest = head + "\nexec 2>&1", rest[len("exec 2>&1\n"):]
    return (head + "\n" + line + "\n" + rest).encode("utf-8", "surrogateescape")


def backoff_of(service):
    """The protocol's Backoff of a service's ``restart`` back-off keys."""
    found = service.backoff
    return Backoff(found.delay, found.max_delay, found.steps, found.jitter, found.reset_after)


SH_LINES = ("#!/bin/sh", "#! /bin/sh", "#!/bin/bash", "#!/usr/bin/env sh", "#!/bin/dash")


def backoff_finish(service, env):
    """``./finish`` under a back-off (templates/finish/backoff.j2): the data's own finish
    first, then the C runsv's wait. The data's finish runs in a subshell of it, so it must be
    shell: RenderError for another ``#!``."""
    text = service.finish
    if text is not None:
        first, _, rest = text.partition("\n")
        if first.startswith("#!"):
            if first.rstrip() not in SH_LINES:
                raise RenderError("%s: finish: with restart back-off the finish runs in the "
                                  "rendered finish's sh, so it must be shell, not %s"
                                  % (service.name, first))
            text = rest
    spec = backoff_of(service)
    return render_template(env, "finish/backoff.j2", {
        "text": text, "delays": [seconds_text(delay) for delay in spec.delays()],
        "jitter": seconds_text(spec.jitter), "reset": seconds_text(spec.reset),
        "state": BACKOFF_STATE})


def oneshot_entries(base, env, own):
    """A one-shot (docs/jobs.md): the ``oneshot`` file that marks it (both runtimes' readers
    show it so; our runsv counts its exit 0 as no death) and the ``./finish`` that keeps it
    down and records its run (templates/finish/oneshot.j2) — what the C runsv runs as ours."""
    return [File(path_in(base, ONESHOT), b"", 0o644, **own),
            File(path_in(base, FINISH), render_template(env, "finish/oneshot.j2", {}), 0o755,
                 **own)]


def timer_entries(service, base, env, own):
    """A timer (docs/jobs.md#timers): ``./run``, the C runsv's waiter (``exec timer-run``:
    templates/timer/run.j2; our runsv never starts it), the ``schedule`` file both waiters
    read (protocol/timer.py; it marks the timer), and the ``./finish`` that records each run
    as a one-shot's does but keeps the timer wanted up (templates/finish/timer.j2). Its
    ``./job`` is the run script a daemon's ``./run`` would be."""
    spec = TimerSpec(service.schedule.text, service.persistent, service.jitter,
                     service.time_limit)
    return [File(path_in(base, RUN), render_template(env, "timer/run.j2", {}), 0o755, **own),
            File(path_in(base, SCHEDULE), timer_spec_bytes(spec), 0o644, **own),
            File(path_in(base, FINISH), render_template(env, "finish/timer.j2", {}), 0o755,
                 **own)]


def other_entries(service, base, place):
    """``conf``, ``files`` and ``links``: written as they are (content and mode, a link's
    target), each with the directories it lies in."""
    own = dict(owner=place.owner, group=place.group)
    entries = []
    if service.conf is not None:
        text, mode = service.conf
        entries.append(File(path_in(base, CONF), text, mode, **own))
    for name, (text, mode) in sorted(service.files.items()):
        entries.append(File(path_in(base, *name.split("/")), text, mode, **own))
    for name, target in sorted(service.links.items()):
        entries.append(Symlink(path_in(base, *name.split("/")), target, **own))
    parents = {name.rsplit("/", 1)[0] for name in list(service.files) + list(service.links)
               if "/" in name}
    for parent in sorted(parents):
        parts = parent.split("/")
        for depth in range(1, len(parts) + 1):
            entries.append(Directory(path_in(base, *parts[:depth]), place.dir_mode, **own))
    return entries


def oneshots_needed(service, place, config):
    """The service directories of the one-shots ``service`` needs, in its order."""
    tree = config.services if place.tree_user is None else \
        config.users[place.tree_user].services
    return [posixpath.join(place.sv_dir, dep) for dep in service.needs
            if dep in tree and tree[dep].oneshot]


def run_script(service, place, config, env, base):
    needs_done = oneshots_needed(service, place, config)
    needs = [posixpath.join(place.sv_dir, dep) for dep in service.needs
             if posixpath.join(place.sv_dir, dep) not in needs_done]
    cwd = service.cwd
    context = {
        "service": service, "config": config, "command": service.command,
        "script_head": None, "script_body": None, "needs": needs, "needs_done": needs_done,
        "sv_timeout": config.sv_timeout, "umask": service.umask, "cwd": cwd,
        "chpst": chpst_words(service, path_in(base if cwd is not None else ".", ENV_DIR)),
        "sandbox": sandbox_words(service, place, base if cwd is not None else "."),
        "notify_relay": notify_relay_words(service, config),
        "watchdog_usec": service.ready.watchdog * 1_000_000 if service.ready else 0,
    }
    if service.run is not None and service.sandbox is not None:
        context["script_head"] = "#!/bin/sh"
        context["script_body"] = "exec %s\n" % " ".join(
            shell_quote(word) for word in context["sandbox"] + ["./" + SANDBOXED])
    elif service.run is not None:
        head, _, body = service.run.partition("\n")
        context["script_head"], context["script_body"] = head, body
    if service.template is not None:
        return render_file_template(env, service.template, context)
    return render_template(env, "run.j2", context)


def sandbox_words(service, place, directory):
    """``sandbox-run`` and its words before the program (None: no sandbox): the sandbox file
    in ``directory`` (the service directory, as ``./run`` or a ``cd`` leaves it), and the
    user to switch to — in a user's tree the tree is already the user, and sandbox-run
    makes a user namespace instead (docs/sandbox.md)."""
    if service.sandbox is None:
        return None
    words = ["sandbox-run", path_in(directory, SANDBOX)]
    if service.user is not None and place.tree_user is None:
        words += ["-u", service.user + (":" + service.group if service.group else "")]
    return words


def notify_relay_words(service, config):
    """``notify-relay``'s words after the pid in ``./run`` (None: no relay). Only under the C
    runsv (``runtime: system``), which has no notify socket nor notification pipe of its own;
    ours makes them."""
    if service.ready is None or config.runtime != "system":
        return None
    words = ready_option_words(service.ready)
    if service.ready.kind == "fd":
        return ["fd=%d" % service.ready.fd] + words
    return words


def check_script(check, env):
    if check.kind == "script":
        return render_template(env, "script.j2", {"text": check.value})
    if check.kind == "tcp":
        return render_template(env, "check/tcp.j2", {"host": check.value[0],
                                                     "port": check.value[1]})
    if check.kind == "http":
        return render_template(env, "check/http.j2", {"url": check.value})
    return render_template(env, "check/command.j2", {"command": check.value})


def log_args(log, directory):
    args = []
    flag = TIMESTAMPS[log.timestamps or "human"]  # Chef's default log_flags: -tt
    if flag:
        args.append(flag)
    if log.line_length is not None:
        args += ["-l", str(log.line_length)]
    return args + [directory]


def log_entries(log, directory, base, place, env, directory_mode=None, readers=()):
    """``log/``, ``log/run`` (canonical form), the log ``directory`` (mode ``directory_mode``,
    default the place's; ``readers``: the users its ACL lets read it) and its svlogd config.
    With ``log.run``: ``log/`` and that script, as written — the directory and config are the
    script's."""
    own = dict(owner=place.owner, group=place.group)
    if log.run is not None:
        return [Directory(path_in(base, LOG_DIR), place.dir_mode, **own),
                File(path_in(base, LOG_DIR, RUN), log.run, 0o755, **own)]
    user = log.user
    if place.tree_user is not None:
        user = None  # the user's tree already runs as the user
    log_owner, log_group = place.owner, place.group
    if user is not None:
        parts = user.split(":")
        log_owner, log_group = parts[0], (parts[1] if len(parts) > 1 else None)
    args = log_args(log, directory)
    try:
        log_run = log_run_text(args, user=user)
    except ValueError as exc:  # an error only where a template writes it: a user's may quote
        log_run = env.undefined(hint="%s: no canonical log/run" % exc, name="log_run")
    return [
        Directory(path_in(base, LOG_DIR), place.dir_mode, **own),
        File(path_in(base, LOG_DIR, RUN), render_template(env, "log/run.j2", {
            "log_run": log_run, "user": user, "args": args}), 0o755, **own),
        Directory(directory, directory_mode or place.dir_mode, owner=log_owner,
                  group=log_group, readers=readers),
        File(path_in(directory, SVLOGD_CONFIG), render_template(env, "log/config.j2", {"log": log}),
             0o644, owner=log_owner, group=log_group),
    ]
