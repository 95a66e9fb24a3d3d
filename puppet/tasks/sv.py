#!/usr/bin/env python3
"""runit::sv — drive named services: status, up, down, restart, once, hup, term.

Each NAME as the data names it (``web``, ``alice/notes``, ``runsvdir-alice``: the CLI's one
rule). The answer says each service's status before and after (``runit-provision status
--json``), and the CLI's lines. ``_noop``: nothing is sent, the answer says what would be.
"""

import os
import sys

# The task runner keeps the module's layout under _installdir: runit/tasks/ beside runit/files/.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "files"))
from runit_task import TaskError, data_args, run_cli, run_task  # noqa: E402

# the task's action -> the CLI's verb (sv's up and down are the CLI's start and stop: sv
# start/stop wait for the state, as sv -w up/down would)
VERBS = {"status": None, "up": "start", "down": "stop", "restart": "restart", "once": "once",
         "hup": "hup", "term": "term"}
# runit-provision status exits 3 when a wanted service is not running: still an answer
STATUS_EXITS = (0, 3)


def sv_task(params):
    action = params.get("action") or "status"
    if action not in VERBS:
        raise TaskError("runit/bad-input", "action %r: one of %s" % (action, ", ".join(VERBS)))
    names = params.get("names")
    if not isinstance(names, list) or not names or not all(
            isinstance(name, str) and name for name in names):
        raise TaskError("runit/bad-input", "names: a list of service names is needed")
    data = data_args(params)
    before = states(params, data, names)
    verb, noop = VERBS[action], bool(params.get("_noop"))
    output = ""
    if verb is not None and not noop:
        timeout = ["--timeout", str(params["timeout"])] if params.get("timeout") else []
        _, output, _ = run_cli(params, [verb] + data + timeout + ["--"] + names)
    after = states(params, data, names) if verb is not None and not noop else before
    return {"action": action, "noop": noop, "changed": verb is not None and not noop,
            "would_run": " ".join(["runit-provision", verb] + names) if noop and verb else None,
            "services": {label: {"before": before[label], "after": after.get(label)}
                         for label in before},
            "output": output.splitlines()}


def states(params, data, names):
    """label -> the service's status (``status --json``'s entry) for ``names``."""
    import json

    _, out, _ = run_cli(params, ["status", "--json", "--logs", "0"] + data + ["--"] + names,
                        accept=STATUS_EXITS)
    return {entry["service"]: _state(entry) for entry in json.loads(out)["services"]}


def _state(entry):
    main = entry["main"]
    return {"state": main.get("state"), "pid": main.get("pid"), "want": main.get("want"),
            "uptime": main.get("uptime"), "running": entry["running"],
            "wanted": entry["wanted"]}


if __name__ == "__main__":
    sys.exit(run_task(sv_task, json_typed=("names", "_noop", "timeout")))
