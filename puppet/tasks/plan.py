#!/usr/bin/env python3
"""runit::plan — what ``runit-provision apply`` would do on the node, changing nothing
(``runit-provision plan --json``: each path and each restart with its reason). Noop-safe by
nature: ``_noop`` changes nothing about it."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "files"))
from runit_task import data_args, run_cli, run_task  # noqa: E402

EXIT_NOTHING, EXIT_CHANGES = 0, 2  # runit-provision plan (1: an error — the task fails)


def plan_task(params):
    only = ["--only"] + list(params["names"]) if params.get("names") else []
    code, out, _ = run_cli(params, ["plan", "--json"] + data_args(params) + only,
                           accept=(EXIT_NOTHING, EXIT_CHANGES))
    found = json.loads(out)
    found["would_change"] = code == EXIT_CHANGES
    return found


if __name__ == "__main__":
    sys.exit(run_task(plan_task, json_typed=("names", "_noop")))
