"""Every change reaches the process it changes — apply/effects.py's table against a live tree,
under our runsvdir and under the C runit (``runtime: system``, the C runsvdir, runsv and sv).

One service per row of the table, each applied once as ``before`` and then with only its row's
file changed: a row that restarts gives a new pid whose log says the new file was read (the new
word, the new env value, ``/usr`` read-only from the new sandbox); the cgroup's limits are
written in place (``runsv-cgroup limits``, the pid kept, the new limit read back from the
cgroup: in the VM tier, tests/vm/test_limits_in_place.py, as limits need cgroup v2's
controllers); the logger restarts for a new ``log/run`` and reads its new config on HUP; a
waiting timer is HUP'd; a file whose reader comes by itself keeps the pid and the plan says
why. The rows a single file cannot be changed alone for are listed with where they are shown.
The tree is test_live.py's.
"""

import pytest

from runit_provision.apply.effects import ROWS, Effect, Role, effect_of

from ..runtime.processes import running_pid, wait_until
from .test_live import live, run_apply, stamp  # noqa: F401 — the live tree, both runtimes

pytestmark = pytest.mark.slow

# Rows no service here changes alone, and where their effect is shown instead.
ELSEWHERE = {
    Role.NEEDS_DONE: "its ./run's guard changes with it (a restart): plan case needs",
    Role.ONESHOT: "a one-shot's run again: tests/apply/test_job.py",
    Role.LOG: "a logger added or dropped: test_live.py",
    Role.LINK: "a new link: test_live.py",
    Role.CGROUP: "limits need cgroup v2 controllers: tests/vm/test_limits_in_place.py",
}


def say(word):
    return ["sh", "-c", "echo %s; exec sleep 1000" % word]


def services(changed):
    """One service per row, ``changed``: its row's file changed and nothing else."""
    word = "two" if changed else "one"
    flag = 1 if changed else 0
    return {
        "run": {"command": say(word)},
        "env": {"command": ["sh", "-c", "echo env=$W; exec sleep 1000"], "env": {"W": word}},
        "conf": {"run": "#!/bin/sh\nexec 2>&1\n. ./conf\necho conf=$C\nexec sleep 1000\n",
                 "conf": "C=%s\n" % word},
        "sandbox": {"command": ["sh", "-c", "if test -w /usr; then echo usr=writable; else "
                                            "echo usr=read-only; fi; exec sleep 1000"],
                    "sandbox": dict({"private_tmp": True},
                                    **({"protect_system": "strict"} if changed else {}))},
        "sandboxed": {"run": "#!/bin/sh\nexec 2>&1\necho boxed=%s\nexec sleep 1000\n" % word,
                      "sandbox": {"private_tmp": True}},
        "ready": {"command": ["sh", "-c", "echo >&3; echo >&4; exec sleep 1000"],
                  "ready": {"fd": 4 if changed else 3}},
        "finish": {"command": say("f"), "finish": "exit %d" % flag},
        "check": {"command": say("c"), "check": {"command": "exit %d" % flag}},
        "control": {"command": say("k"), "control": {"h": "exit %d" % flag}},
        "down": {"command": say("d"), "down": not changed},
        "give-up": {"command": say("g"), "restart": {"give_up_after": 5 + flag, "within": 60}},
        "backoff": {"command": say("b"), "restart": {"delay": 1 + flag, "max_delay": 30,
                                                     "steps": 3}},
        "files": {"command": say("x"), "files": {"README": word + "\n"}},
        "log-run": {"command": say("l"), "log": {"timestamps": "iso" if changed else "human"}},
        "log-config": {"command": ["sh", "-c", "while :; do echo tick; sleep 0.2; done"],
                       "log": {"prefix": "B: " if changed else "A: "}},
        "job": {"command": say(word), "schedule": "hourly"},
        "schedule": {"command": say("s"), "schedule": "daily" if changed else "hourly"},
    }


# The service whose change shows each row, and what must happen for the change to reach the
# running process — said here, not read from the table, which must agree.
R, N = Effect.RESTART, Effect.NOTHING
SHOWN_BY = {Role.RUN: ("run", R), Role.ENV: ("env", R), Role.CONF: ("conf", R),
            Role.SANDBOX: ("sandbox", R), Role.SANDBOXED: ("sandboxed", R),
            Role.READY: ("ready", R), Role.FINISH: ("finish", N), Role.CHECK: ("check", N),
            Role.CONTROL: ("control", N), Role.DOWN: ("down", N), Role.GIVE_UP: ("give-up", N),
            Role.BACKOFF: ("backoff", N), Role.FILES: ("files", N),
            Role.LOG_RUN: ("log-run", Effect.LOG_RESTART),
            Role.LOG_CONFIG: ("log-config", Effect.LOG_HUP),
            Role.JOB: ("job", N), Role.SCHEDULE: ("schedule", Effect.REARM)}
# What the new process says on its log: the file it read is the new one.
NEW_WORDS = {"run": "two", "env": "env=two", "conf": "conf=two", "sandbox": "usr=read-only",
             "sandboxed": "boxed=two"}


def log_of(live, name):
    try:
        return (live.tmp / "log" / name / "current").read_text()
    except OSError:
        return ""


def test_each_rows_change_reaches_its_process(live, capsys):
    assert set(SHOWN_BY) | set(ELSEWHERE) == {row.role for row in ROWS}
    run_apply(live, capsys, services(False))
    daemons = [name for name in services(False)
               if name not in ("down", "job", "schedule")]
    for name in daemons:
        wait_until(lambda: running_pid(live.sv_dir / name), timeout=20, what=name + " running")
    wait_until(lambda: "usr=writable" in log_of(live, "sandbox"), timeout=20, what="sandbox's log")
    wait_until(lambda: "A: tick" in log_of(live, "log-config"), timeout=20, what="the old prefix")
    pids = {name: running_pid(live.sv_dir / name) for name in daemons}
    loggers = {name: stamp(live.sv_dir / name / "log") for name in ("log-run", "log-config")}

    report = run_apply(live, capsys, services(True))
    done = {(item["service"], item["command"]) for item in report["restarts"]}
    noops = {item["path"]: item["reason"] for item in report["noops"]}
    for role, (name, effect) in SHOWN_BY.items():
        assert effect_of(role, is_timer=name in ("job", "schedule"))[0] is effect, name
        if effect is Effect.RESTART:
            assert (name, "restart") in done, (name, report["restarts"])
            wait_until(lambda: running_pid(live.sv_dir / name) not in (0, pids[name]),
                       timeout=20, what=name + " restarted")
            if name in NEW_WORDS:
                wait_until(lambda: NEW_WORDS[name] in log_of(live, name), timeout=20,
                           what="%s's new run says %s" % (name, NEW_WORDS[name]))
        elif effect is Effect.LIMITS:
            assert (name, "limits") in done, report["restarts"]
            assert running_pid(live.sv_dir / name) == pids[name]
        elif effect is Effect.REARM:
            assert (name, "hup") in done, report["restarts"]
        elif effect is Effect.LOG_RESTART:
            assert (name + "/log", "restart") in done, report["restarts"]
            wait_until(lambda: stamp(live.sv_dir / name / "log") not in (None, loggers[name]),
                       timeout=20, what=name + "'s logger restarted")
            assert running_pid(live.sv_dir / name) == pids[name]
        elif effect is Effect.LOG_HUP:
            assert (name + "/log", "hup") in done, report["restarts"]
            wait_until(lambda: "B: tick" in log_of(live, name), timeout=20, what="the new prefix")
            assert stamp(live.sv_dir / name / "log") == loggers[name]
            assert running_pid(live.sv_dir / name) == pids[name]
        else:
            assert effect is Effect.NOTHING, (name, effect)
            assert not any(service == name for service, _ in done), (name, done)
            assert noops.get(name, "").startswith(role.value + " changed; nothing to do: "), \
                (name, noops.get(name))
            if name in pids:
                assert running_pid(live.sv_dir / name) == pids[name], name
    assert not running_pid(live.sv_dir / "down")  # no down file now; apply starts nothing
