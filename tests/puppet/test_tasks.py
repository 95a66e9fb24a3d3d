"""The module's Bolt tasks (issue 33): their metadata against Puppet's task schema, the plan
through ``puppet parser validate``, and each task script run as Bolt runs it against a live
tree of our runtime.

Bolt is not installable here, so the tests do what it does on a target: the module's files
copied under an ``_installdir`` in the module's layout (``runit/tasks/``, ``runit/files/``),
the script executed by its ``#!`` with ``PATH=/usr/bin:/bin``, the parameters as one JSON
object on stdin and as ``PT_*`` variables (``input_method: both``), one JSON object read back
from stdout, the exit code kept. The tree is our runsvdir on a temp service directory, the
data applied by the real ``runit-provision apply``; the pids come from runsv's own status.

The schema is ``tests/puppet/task_schema/task.json`` (its commit in the README beside it),
checked by ``Draft06``: the keywords that file uses, and a loud failure on any other, so a
schema that grows cannot pass unread.
"""

import json
import os
import re
import shutil
import signal
import subprocess

import pytest
import yaml

from ..conftest import OUR_BIN
from ..runtime.processes import (
    BASE_PATH, end_processes_under, kill_pids, process_group_members, running_pid, wait_until)
from .harness import MODULE, PUPPET, PUPPET_LINT, plain

SCHEMA = json.loads((MODULE.parent / "tests" / "puppet" / "task_schema" / "task.json")
                    .read_text())
TASKS = sorted((MODULE / "tasks").glob("*.json"))
PLANS = sorted((MODULE / "plans").glob("*.pp"))
CLI = str(OUR_BIN / "runit-provision")


# -- the schema ------------------------------------------------------------------------------
class Draft06:
    """The part of JSON Schema draft-06 that task.json uses; any other keyword fails."""

    ANNOTATIONS = {"$schema", "title", "description", "default"}
    TYPES = {"object": dict, "array": list, "string": str, "boolean": bool,
             "integer": int, "number": (int, float)}

    def __init__(self, root):
        self.root = root

    def errors(self, value, schema=None, where="$"):
        schema = self.root if schema is None else schema
        found = []
        for keyword, rule in schema.items():
            if keyword in self.ANNOTATIONS or keyword == "definitions":
                continue
            check = getattr(self, "_" + keyword.lstrip("$"), None)
            if check is None:
                raise AssertionError("schema keyword %r is not checked by this validator"
                                     % keyword)
            found += check(value, rule, schema, where)
        return found

    def _ref(self, value, rule, schema, where):
        assert rule.startswith("#/"), rule
        target = self.root
        for part in rule[2:].split("/"):
            target = target[part]
        return self.errors(value, target, where)

    def _type(self, value, rule, schema, where):
        wanted = self.TYPES[rule]
        is_bool = isinstance(value, bool)
        if not isinstance(value, wanted) or (is_bool and rule in ("integer", "number")):
            return ["%s: not of type %s" % (where, rule)]
        return []

    def _enum(self, value, rule, schema, where):
        return [] if value in rule else ["%s: %r not one of %r" % (where, value, rule)]

    def _pattern(self, value, rule, schema, where):
        if isinstance(value, str) and not re.search(rule, value):
            return ["%s: %r does not match %s" % (where, value, rule)]
        return []

    def _required(self, value, rule, schema, where):
        if not isinstance(value, dict):
            return []
        return ["%s: %r is required" % (where, key) for key in rule if key not in value]

    def _properties(self, value, rule, schema, where):
        if not isinstance(value, dict):
            return []
        found = []
        for key, sub in rule.items():
            if key in value:
                found += self.errors(value[key], sub, "%s.%s" % (where, key))
        return found

    def _additionalProperties(self, value, rule, schema, where):
        if not isinstance(value, dict):
            return []
        known = set(schema.get("properties", {}))
        found = []
        for key in value:
            if key not in known:
                found += self.errors(value[key], rule, "%s.%s" % (where, key))
        return found

    def _propertyNames(self, value, rule, schema, where):
        if not isinstance(value, dict):
            return []
        found = []
        for key in value:
            found += self.errors(key, rule, "%s[%r]" % (where, key))
        return found

    def _items(self, value, rule, schema, where):
        if not isinstance(value, list):
            return []
        found = []
        for index, item in enumerate(value):
            found += self.errors(item, rule, "%s[%d]" % (where, index))
        return found

    def _additionalItems(self, value, rule, schema, where):
        # draft-06: with "items" an object (not a tuple), additionalItems has no effect
        return []


@pytest.mark.parametrize("path", TASKS, ids=lambda path: path.name)
def test_task_metadata_is_valid(path):
    metadata = json.loads(path.read_text())
    assert Draft06(SCHEMA).errors(metadata) == []
    assert metadata["input_method"] == "both" and metadata["supports_noop"] is True
    for implementation in metadata["implementations"]:
        script = MODULE / "tasks" / implementation["name"]
        assert script.exists() and os.access(str(script), os.X_OK), script
        for wanted in implementation.get("files", []):
            module, _, rest = wanted.partition("/")
            assert module == "runit" and (MODULE / rest).is_file(), wanted
    assert {path.stem for path in TASKS} == {"sv", "status", "plan"}


def test_the_validator_refuses_bad_metadata():
    bad = {"input_method": "argv", "parameters": {"Names": {"type": "String"}},
           "supports_noop": "yes", "implementations": [{"requirements": ["shell"]}]}
    said = "\n".join(Draft06(SCHEMA).errors(bad))
    assert "'argv' not one of" in said
    assert "$.parameters['Names']: 'Names' does not match" in said
    assert "$.supports_noop: not of type boolean" in said
    assert "$.implementations[0]: 'name' is required" in said


@pytest.mark.puppet
def test_the_plans_parse_and_lint(puppet_installed, tmp_path):
    assert PLANS
    done = subprocess.run([PUPPET, "parser", "validate", "--tasks"] + [str(p) for p in PLANS],
                          capture_output=True, text=True, timeout=120,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, plain(done.stdout + done.stderr)
    broken = tmp_path / "broken.pp"
    broken.write_text(PLANS[0].read_text().replace("$batches.each", "$batches.each(", 1))
    done = subprocess.run([PUPPET, "parser", "validate", "--tasks", str(broken)],
                          capture_output=True, text=True, timeout=120,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1 and "Syntax error" in plain(done.stderr)
    done = subprocess.run([PUPPET_LINT, "--fail-on-warnings", "--relative", "plans"],
                          cwd=str(MODULE), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout + done.stderr


# -- the scripts, as Bolt runs them, on a live tree ------------------------------------------
# A service that runs until its BROKEN file exists; from then on each start exits 1 at once
# (runsv starts it again every second: wanted up, not running — unhealthy).
SERVICE = {"command": ["sh", "-c", '[ -e "$BROKEN" ] && exit 1; echo started; exec sleep 1000']}


@pytest.fixture
def live(tmp_path):
    """A live tree of our runtime (runsvdir on a temp service directory) with web and worker
    applied by the real CLI, and the module installed as Bolt would (``_installdir``)."""
    install = tmp_path / "installdir"
    for folder in ("tasks", "files"):
        shutil.copytree(str(MODULE / folder), str(install / "runit" / folder))
    base = tmp_path / "host"
    data = {"runit": {"runtime": "python", "init": "none", "sv_timeout": 7,
                      "sv_dir": str(base / "sv"), "service_dir": str(base / "service"),
                      "log_dir": str(base / "log"),
                      "services": {name: dict(SERVICE, env={"BROKEN": str(tmp_path / name)})
                                   for name in ("web", "worker")}}}
    (base / "service").mkdir(parents=True)
    path = tmp_path / "data.yaml"
    path.write_text(yaml.safe_dump(data))
    env = {"PATH": "%s:%s" % (OUR_BIN, BASE_PATH)}
    tree = subprocess.Popen([str(OUR_BIN / "runsvdir"), str(base / "service")], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    host = Live(install, base, path, data)
    try:
        done = subprocess.run([CLI, "apply", "--data", str(path), "--profile-d", "none",
                               "--wait", "30"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        for name in ("web", "worker"):
            wait_until(lambda name=name: running_pid(base / "sv" / name), timeout=30,
                       what="%s running" % name)
        yield host
    finally:
        tree.send_signal(signal.SIGTERM)
        try:
            tree.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        kill_pids(process_group_members(tree.pid))
        tree.wait()
        end_processes_under(base)


class Live:
    def __init__(self, install, base, data_path, data):
        self.install, self.base, self.data_path, self.data = install, base, data_path, data

    def pid(self, name):
        return running_pid(self.base / "sv" / name)

    def task(self, name, params, stdin=True, env=True):
        """Run task ``name`` as Bolt does: ``(exit code, the JSON object it printed)``."""
        script = self.install / "runit" / "tasks" / (name + ".py")
        given = dict({"data": str(self.data_path), "cli": CLI}, **params)
        given.update({"_task": "runit::" + name, "_installdir": str(self.install)})
        environ = {"PATH": "/usr/bin:/bin"}
        if env:
            for key, value in given.items():
                environ["PT_" + key] = value if isinstance(value, str) else json.dumps(value)
        done = subprocess.run([str(script)], input=json.dumps(given) if stdin else "",
                              capture_output=True, text=True, env=environ, timeout=120)
        answer = json.loads(done.stdout)
        assert isinstance(answer, dict)
        return done.returncode, answer




@pytest.mark.slow
def test_sv_restart_says_before_and_after(live):
    before = live.pid("web")
    code, answer = live.task("sv", {"action": "restart", "names": ["web"]})
    assert code == 0, answer
    web = answer["services"]["web"]
    assert web["before"]["pid"] == before and web["before"]["state"] == "run"
    assert web["after"]["state"] == "run" and web["after"]["pid"] not in (None, before)
    assert web["after"]["pid"] == live.pid("web")  # runsv's own status agrees
    assert answer["changed"] is True and answer["noop"] is False
    assert any(line.startswith("ok: run:") for line in answer["output"]), answer["output"]


@pytest.mark.slow
def test_sv_down_and_up_from_pt_variables_alone(live):
    # input_method environment: no stdin, each parameter a PT_ variable (names JSON-encoded)
    code, answer = live.task("sv", {"action": "down", "names": ["worker"]}, stdin=False)
    assert code == 0, answer
    assert answer["services"]["worker"]["after"]["state"] == "down"
    assert live.pid("worker") == 0
    code, answer = live.task("sv", {"action": "up", "names": ["worker"]}, stdin=False)
    assert code == 0, answer
    assert answer["services"]["worker"]["before"]["state"] == "down"
    assert answer["services"]["worker"]["after"]["state"] == "run" and live.pid("worker")


@pytest.mark.slow
def test_sv_signals_and_once(live):
    before = live.pid("web")
    code, answer = live.task("sv", {"action": "term", "names": ["web"]}, env=False)
    assert code == 0, answer
    # runsv starts a service that is wanted up again after it ends
    wait_until(lambda: live.pid("web") not in (0, before), timeout=30, what="web again")
    again = live.pid("web")
    code, answer = live.task("sv", {"action": "hup", "names": ["web"]})
    assert code == 0 and answer["services"]["web"]["before"]["pid"] == again, answer
    # web's sleep ends on SIGHUP (its default action): runsv starts it again
    wait_until(lambda: live.pid("web") not in (0, again), timeout=30, what="web after HUP")
    code, answer = live.task("sv", {"action": "once", "names": ["worker"]})
    # once: it runs, and is not started again when it ends (runsv: want down)
    after = answer["services"]["worker"]["after"]
    assert code == 0 and after["state"] == "run" and after["want"] == "down", answer


@pytest.mark.slow
def test_sv_noop_sends_nothing(live):
    before = live.pid("web")
    code, answer = live.task("sv", {"action": "restart", "names": ["web"], "_noop": True})
    assert code == 0, answer
    assert answer["noop"] is True and answer["changed"] is False
    assert answer["would_run"] == "runit-provision restart web"
    assert live.pid("web") == before


@pytest.mark.slow
def test_sv_unhappy_paths(live):
    code, answer = live.task("sv", {"action": "restart", "names": ["wbe"]})
    assert code == 1 and answer["_error"]["kind"] == "runit/cli-failed"
    assert "wbe" in answer["_error"]["msg"] and "web" in answer["_error"]["msg"]
    code, answer = live.task("sv", {"action": "reboot", "names": ["web"]})
    assert code == 1 and answer["_error"]["kind"] == "runit/bad-input"
    assert "one of status, up, down" in answer["_error"]["msg"]
    code, answer = live.task("sv", {"action": "restart", "names": []})
    assert code == 1 and answer["_error"]["kind"] == "runit/bad-input"
    code, answer = live.task("status", {"cli": "/nonexistent/runit-provision"})
    assert code == 1 and answer["_error"]["kind"] == "runit/no-cli"
    assert "/nonexistent/runit-provision" in answer["_error"]["msg"]


@pytest.mark.slow
def test_status_is_the_nodes_verdict(live):
    code, answer = live.task("status", {})
    assert code == 0 and answer["healthy"] is True, answer
    assert {entry["service"] for entry in answer["services"]} == {"web", "worker"}
    live.task("sv", {"action": "down", "names": ["worker"]})
    code, answer = live.task("status", {})
    assert code == 0 and answer["healthy"] is True, answer  # down as asked is as wanted
    live.task("sv", {"action": "up", "names": ["worker"]})
    (live.base.parent / "worker").write_text("")  # BROKEN: worker now exits at each start
    live.task("sv", {"action": "term", "names": ["worker"]})
    answers = []

    def unhealthy():
        answers.append(live.task("status", {}))
        return answers[-1][1]["healthy"] is False
    wait_until(unhealthy, timeout=30, interval=0.2, what="worker seen crash-looping")
    code, answer = answers[-1]
    # not healthy is an answer (exit 0): the rolling restart plan decides on it
    assert code == 0 and answer["not_running"] == ["worker"], answer
    code, answer = live.task("status", {"names": ["web"]})
    assert code == 0 and answer["healthy"] is True
    assert [entry["service"] for entry in answer["services"]] == ["web"]


@pytest.mark.slow
def test_plan_changes_nothing_and_says_what_would(live):
    code, answer = live.task("plan", {"_noop": True})
    assert code == 0 and answer["would_change"] is False, answer
    live.data["runit"]["services"]["web"]["env"]["GREETING"] = "two"
    live.data_path.write_text(yaml.safe_dump(live.data))
    before = live.pid("web")
    code, answer = live.task("plan", {})
    assert code == 0 and answer["would_change"] is True, answer
    paths = {action["path"] for action in answer["actions"]}
    assert str(live.base / "sv" / "web" / "env" / "GREETING") in paths
    assert any(action["action"] == "restart" for action in answer["actions"]), answer
    assert not (live.base / "sv" / "web" / "env" / "GREETING").exists()
    assert live.pid("web") == before
