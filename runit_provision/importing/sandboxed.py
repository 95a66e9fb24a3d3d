"""importing: a service directory's sandbox read back — the ``sandbox`` file as the data's
``sandbox`` key, and the run script render writes for it (docs/sandbox.md).

Render writes ``./run`` ``exec [chpst …] sandbox-run ./sandbox [-u USER] PROG…`` for a
command, and for a run script ``exec sandbox-run ./sandbox ./sandboxed`` after its guards,
the script itself in ``./sandboxed``. Read back, a command is the command it runs (and the
user sandbox-run switches to), a script the one ``./sandboxed`` holds with the guards put back
where render takes them from; the confirmation renders the proposal and compares.
"""

from ..protocol.layout import SANDBOX, SANDBOXED, path_in
from ..protocol.process.sandbox import FLAGS, KEYS, PATH_LISTS, spec_from_bytes

WRAPPER_END = "exec sandbox-run ./%s ./%s" % (SANDBOX, SANDBOXED)


def sandbox_file_keys(content, _why=None):
    """``(keys, None)``: the ``sandbox`` key of a sandbox file as rendered, or ``(None,
    why)``.

    >>> sandbox_file_keys(b"sandbox 1 no_new_privileges protect_system=true"
    ...                   b" read_only_paths=/srv\\n")
    ({'sandbox': {'no_new_privileges': True, 'protect_system': True, 'read_only_paths': ['/srv']}}, None)
    """
    if content is None:
        return None, _why
    try:
        spec = spec_from_bytes(content)
    except ValueError as exc:
        return None, str(exc)
    keys = {}
    for key in KEYS:
        value = getattr(spec, key)
        if key in FLAGS:
            if value:
                keys[key] = True
        elif key in PATH_LISTS:
            if value:
                keys[key] = list(value)
        elif key == "capabilities":
            if value is not None:
                keys[key] = list(value)
        elif value is not None:
            keys[key] = True if value == "true" else value
    return {"sandbox": keys}, None


def sandbox_run_keys(argv, keys, base):
    """The command after ``sandbox-run SPEC [-u USER[:GROUP]]`` in ``argv``, its user into
    ``keys`` (``_sandboxed`` marks it); ``argv`` as it is when it does not begin so, None
    when it does but is not render's (another spec path, an option render never writes)."""
    if argv[:1] != ["sandbox-run"]:
        return argv
    if len(argv) < 3 or argv[1] != path_in(base if "cwd" in keys else ".", SANDBOX):
        return None
    rest = argv[2:]
    if rest[0] == "-u":
        if len(rest) < 3 or keys.get("user"):
            return None
        user, _, group = rest[1].partition(":")
        keys["user"] = user
        if group:
            keys["group"] = group
        rest = rest[2:]
    keys["_sandboxed"] = True
    return rest


def unsandboxed_run(wrapper, inner):
    """The run script render would have written without the sandbox: ``wrapper`` (./run:
    ``#!/bin/sh``, guards, ``exec sandbox-run ./sandbox ./sandboxed``) with ``inner``'s
    ``#!`` line first and the rest of ``inner`` for its last line; None when ``wrapper`` is
    not render's."""
    lines = wrapper.split("\n")
    if lines[0] != "#!/bin/sh" or lines[-2:] != [WRAPPER_END, ""]:
        return None
    head, _, body = inner.partition("\n")
    return "\n".join([head] + lines[1:-2] + [body])
