"""The runit module's Bolt tasks: their input, the runit-provision command they run, their answer.

A task is run by Bolt (or any task runner) with its parameters on stdin as one JSON object
(``input_method`` ``both``: also as ``PT_<name>`` variables, a non-string one JSON-encoded),
this file in ``_installdir/runit/files/``. It answers one JSON object on stdout and exits 0,
or an ``_error`` object (``kind``, ``msg``, ``details``) and exits 1 — the task spec's result
format. Every task drives the node's own ``runit-provision`` (``cli``: the module's virtualenv
by default) with the node's data (``hiera`` or ``data``; by default the CLI's, which is what
the module writes): names follow the CLI's one rule, and nothing is computed here.

Standard library only, for the node's ``python3``.
"""

import json
import os
import subprocess
import sys

DEFAULT_CLI = "/opt/runit-provision/bin/runit-provision"
EXIT_OK, EXIT_FAILED = 0, 1


class TaskError(Exception):
    """What makes a task fail: ``kind`` (``runit/…``), ``msg``, ``details``."""

    def __init__(self, kind, msg, details=None):
        Exception.__init__(self, msg)
        self.kind, self.msg, self.details = kind, msg, details or {}


def read_params(json_typed=(), stdin=None):
    """The task's parameters: the JSON object on stdin, else the ``PT_*`` variables (those
    named in ``json_typed`` JSON-decoded, as the task runner encodes a non-string)."""
    stream = sys.stdin if stdin is None else stdin
    text = "" if stream is None or stream.isatty() else stream.read()
    if text.strip():
        try:
            found = json.loads(text)
        except ValueError as exc:
            raise TaskError("runit/bad-input", "the input on stdin is not JSON: %s" % exc)
        if not isinstance(found, dict):
            raise TaskError("runit/bad-input", "the input on stdin is not a JSON object")
        return found
    found = {}
    for key, value in os.environ.items():
        if not key.startswith("PT_"):
            continue
        name = key[3:]
        if name in json_typed:
            try:
                value = json.loads(value)
            except ValueError:
                raise TaskError("runit/bad-input", "PT_%s is not JSON: %r" % (name, value))
        found[name] = value
    return found


def data_args(params):
    """The CLI's data options the parameters name (none: the CLI's default data)."""
    if params.get("hiera") and params.get("data"):
        raise TaskError("runit/bad-input", "give hiera or data, not both")
    if params.get("hiera"):
        return ["--hiera", params["hiera"]]
    if params.get("data"):
        return ["--data", params["data"]]
    return []


def run_cli(params, words, accept=(0,)):
    """``runit-provision WORDS`` on this node: ``(exit code, stdout, stderr)``; TaskError
    when it cannot be run or exits with a code not in ``accept``."""
    cli = params.get("cli") or DEFAULT_CLI
    argv = [cli] + list(words)
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=int(params.get("timeout") or 600)
                              + 30)
    except OSError as exc:
        raise TaskError("runit/no-cli", "cannot run %s: %s" % (cli, exc.strerror),
                        {"argv": argv})
    except subprocess.TimeoutExpired:
        raise TaskError("runit/timeout", "%s did not end in time" % " ".join(argv),
                        {"argv": argv})
    out = done.stdout.decode("utf-8", "replace")
    err = done.stderr.decode("utf-8", "replace")
    if done.returncode not in accept:
        raise TaskError("runit/cli-failed", (err or out).strip() or "exit %d" % done.returncode,
                        {"argv": argv, "exitcode": done.returncode, "stdout": out,
                         "stderr": err})
    return done.returncode, out, err


def run_task(body, json_typed=()):
    """Read the parameters, call ``body(params) -> dict``, print the answer; the exit code."""
    try:
        result = body(read_params(json_typed))
    except TaskError as exc:
        _print({"_error": {"kind": exc.kind, "msg": exc.msg, "details": exc.details}})
        return EXIT_FAILED
    _print(result)
    return EXIT_OK


def _print(found):
    sys.stdout.write(json.dumps(found, indent=2, sort_keys=True) + "\n")
    sys.stdout.flush()

