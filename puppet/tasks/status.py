#!/usr/bin/env python3
"""runit::status — the node's verdict as JSON: every declared service (or those named) and
every other one linked, with ``healthy`` (each wanted service running, every tree read: what
``runit-provision status`` exits 0 for). An unhealthy node is an answer, not a task failure:
a plan decides (the rolling restart stops on it)."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "files"))
from runit_task import data_args, run_cli, run_task  # noqa: E402

EXIT_OK, EXIT_NOT_RUNNING = 0, 3  # runit-provision status (LSB)


def status_task(params):
    names = params.get("names") or []
    code, out, _ = run_cli(params, ["status", "--json", "--logs", "0"] + data_args(params)
                           + ["--"] + list(names), accept=(EXIT_OK, EXIT_NOT_RUNNING))
    found = json.loads(out)
    found["healthy"] = code == EXIT_OK
    return found


if __name__ == "__main__":
    sys.exit(run_task(status_task, json_typed=("names",)))
