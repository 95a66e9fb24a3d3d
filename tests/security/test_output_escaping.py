"""Names from a user's home are safe to print (issue 30, N7; docs/security.md).

``apprun1`` names files in a directory apply purges (``~/sv/web1/env/``) so that, printed
raw, they would run escape sequences on root's terminal (retitle it, clear it), forge a plan
line, or make ``--json`` invalid UTF-8 — and writes the same into its own log. Root then runs
the real ``plan``, ``apply``, ``verify``, ``status`` and ``logs`` in the namespace
(``sandbox.py``) and reads their output as bytes: no escape, bell or newline of a name's
reaches it, each name is on one line of its own in its escaped form (``shown.py``), and every
``--json`` is valid UTF-8 that ``json.loads`` reads, with each name exactly as the file system
has it.
"""

import json
import os

import pytest
import yaml

from ..conftest import OUR_BIN
from ..runtime.processes import file_size, wait_until
from runit_provision.shown import shown_line, shown_name

pytestmark = pytest.mark.slow

# What apprun1 names its files (bytes, as the file system has them), and how root sees them.
ESC = b"esc\x1b]0;PWNED\x07\x1b[2Jx"
NEWLINE = b"nl\nfake: line"
UNDECODABLE = b"bad\xffname"
CSI = b"csi\xc2\x9b31mred"  # U+009B, the one-byte CSI, as UTF-8
LONG = (b"long" + b"\x1b[7m" * 40 + b"\x07" * 20 + b"y" * 255)[:255]  # NAME_MAX bytes
NAMES = (ESC, NEWLINE, UNDECODABLE, CSI, LONG)
# the bytes no name may bring to root's terminal: C0 (but the line ends root's lines put
# there), DEL, and C1 as UTF-8
FORBIDDEN = [bytes([byte]) for byte in range(32) if byte not in (9, 10)] + [
    b"\x7f"] + [b"\xc2" + bytes([byte]) for byte in range(0x80, 0xa0)]
LOG_LINE = b"log \x1b]0;PWNED\x07\x1b[2J\x9b\xffend"
DECODED = LOG_LINE.decode("utf-8", "replace")  # the line in JSON: logs -o json's own rule


@pytest.fixture
def impl():
    """Ours only: what the CLI prints does not depend on which runsv serves the services."""
    return "ours"


def printf_script(path):
    """A ``printf`` format that writes ``path`` (bytes) exactly, every byte but letters and
    digits as an octal escape — the shell sees no quote, newline or escape of its own."""
    return "".join(chr(byte) if byte < 128 and chr(byte).isalnum() or byte in b"/._-"
                   else "\\%03o" % byte for byte in path)


def plant(sandbox):
    """apprun1 names five files in its env/ (which apply purges: the data declares
    GREETING alone)."""
    script = " && ".join(': > "$(printf \'%s\')"' % printf_script(b"sv/web1/env/" + name)
                         for name in NAMES)
    sandbox.as_user("apprun1", script)
    env = sandbox.home("apprun1") / "sv" / "web1" / "env"
    assert set(NAMES) <= set(os.listdir(os.fsencode(env)))


def assert_printable(output, label):
    """No byte of ``FORBIDDEN`` in ``output``, which is valid UTF-8."""
    output.decode("utf-8")  # strict: raises on an undecodable byte
    for byte in FORBIDDEN:
        assert byte not in output, (label, byte, output[:2000])


def assert_names_on_lines(output, env, label):
    """Each planted name shown escaped, whole, on one line after its directory ``env``; the
    line a newline would forge starts no line (nor a comment line) of its own."""
    text = output.decode("utf-8")
    lines = text.splitlines()
    for name in NAMES:
        escaped = "%s/%s" % (env, shown_name(os.fsdecode(name)))
        assert any(escaped in line for line in lines), (label, escaped, text[:3000])
    assert not any(line.lstrip("# ").startswith("fake: line") for line in lines), (label, text)


def json_of(output, label):
    """The JSON document of ``output``, read as strict UTF-8."""
    try:
        return json.loads(output.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise AssertionError("%s: not JSON in strict UTF-8: %s\n%r" % (label, exc,
                                                                      output[:2000])) from exc


def planted_paths(env):
    return {os.fsdecode(os.path.join(os.fsencode(env), name)) for name in NAMES}


# -- plan and apply ------------------------------------------------------------------------------
def test_n7_plan_and_apply_show_a_homes_names_escaped_and_json_exactly(sandbox):
    sandbox.up()
    env = sandbox.home("apprun1") / "sv" / "web1" / "env"
    plant(sandbox)

    plan = sandbox.tool("plan", "--diff", text=False)  # each name on its line and its diff's headers
    assert plan.returncode == 2, plan.stderr
    assert_printable(plan.stdout + plan.stderr, "plan")
    assert_names_on_lines(plan.stdout, env, "plan")

    plan_json = sandbox.tool("plan", "--json", text=False)
    assert plan_json.returncode == 2, plan_json.stderr
    assert_printable(plan_json.stdout, "plan --json")
    removed = {item["path"] for item in json_of(plan_json.stdout, "plan --json")["actions"]
               if item["action"] == "remove"}
    assert removed == planted_paths(env)

    applied = sandbox.tool("apply", "--wait", "30", text=False)
    assert applied.returncode == 0, applied.stderr
    assert_printable(applied.stdout + applied.stderr, "apply")
    assert_names_on_lines(applied.stdout, env, "apply")
    assert not set(NAMES) & set(os.listdir(os.fsencode(env)))

    plant(sandbox)
    applied_json = sandbox.tool("apply", "--json", "--wait", "30", text=False)
    assert applied_json.returncode == 0, applied_json.stderr
    assert_printable(applied_json.stdout, "apply --json")
    report = json_of(applied_json.stdout, "apply --json")
    assert {item["path"] for item in report["actions"]
            if item["action"] == "remove"} == planted_paths(env)


def test_n7_a_refusal_naming_a_planted_directory_is_one_escaped_line(sandbox):
    """A non-empty directory named with an escape sequence and a newline where apply purges:
    apprun1 is refused (F4) with a message naming it — on one line of root's stderr,
    escaped; exact in --json."""
    sandbox.up()
    name = ESC + b"\n" + NEWLINE
    script = 'mkdir "$(printf \'%s\')" && : > "$(printf \'%s\')"' % (
        printf_script(b"sv/web1/env/" + name), printf_script(b"sv/web1/env/" + name + b"/x"))
    sandbox.as_user("apprun1", script)
    path = os.fsdecode(os.fsencode(sandbox.home("apprun1") / "sv" / "web1" / "env") + b"/"
                       + name)
    applied = sandbox.tool("apply", "--wait", "30", text=False)
    assert applied.returncode == 1
    assert_printable(applied.stdout + applied.stderr, "apply")
    refused = [line for line in applied.stderr.decode("utf-8").splitlines()
               if "refused" in line]
    assert len(refused) == 1 and refused[0].startswith("runit-provision: apprun1: refused: ")
    assert shown_name(path) in refused[0], refused
    report = json_of(sandbox.tool("apply", "--json", "--wait", "30", text=False).stdout, "apply --json")
    assert list(report["refusals"]) == ["apprun1"] and path in report["refusals"]["apprun1"]


def test_n7_verify_shows_a_homes_names_escaped(sandbox):
    sandbox.up()
    env = sandbox.home("apprun1") / "sv" / "web1" / "env"
    plant(sandbox)
    found = sandbox.tool("verify", text=False)
    assert found.returncode == 1, found.stderr
    assert_printable(found.stdout + found.stderr, "verify")
    assert_names_on_lines(found.stdout, env, "verify")
    found_json = sandbox.tool("verify", "--json", text=False)
    assert_printable(found_json.stdout, "verify --json")
    problems = [problem for check in json_of(found_json.stdout, "verify --json")["checks"]
                for problem in check["problems"]]
    for name in NAMES:  # a problem is a message for people: the escaped form
        shown = "%s/%s: not in the data" % (env, shown_name(os.fsdecode(name)))
        assert any(problem.startswith(shown) for problem in problems), (shown, problems)


# -- what a user's service writes: status --logs and logs ---------------------------------------
def test_n7_status_and_logs_show_a_users_log_lines_escaped_unless_raw(sandbox):
    sandbox.up()
    current = sandbox.home("apprun1") / "logs" / "web1" / "current"
    wait_until(lambda: file_size(current) > 0, what="web1 logging")
    script = "printf '%s\\n' >> logs/web1/current" % printf_script(LOG_LINE)
    sandbox.as_user("apprun1", script)
    escaped = shown_line(os.fsdecode(LOG_LINE)).encode()

    status = sandbox.tool("status", "--logs", "1000", text=False)
    assert status.returncode == 0, status.stderr
    assert_printable(status.stdout + status.stderr, "status --logs")
    assert escaped in status.stdout
    status_json = sandbox.tool("status", "--json", "--logs", "1000", text=False)
    assert_printable(status_json.stdout, "status --json")
    web1 = next(service for service in json_of(status_json.stdout, "status --json")["services"]
                if service["service"] == "apprun1/web1")
    assert any(line.endswith(DECODED) for line in web1["logs"]), web1["logs"]

    for output in ("short", "cat"):
        logs = sandbox.tool("logs", "-o", output, "--user", "apprun1", text=False)
        assert logs.returncode == 0, logs.stderr
        assert_printable(logs.stdout + logs.stderr, "logs -o " + output)
        assert escaped in logs.stdout
    logs_json = sandbox.tool("logs", "-o", "json", "--user", "apprun1", text=False)
    assert_printable(logs_json.stdout, "logs -o json")
    lines = [json_of(line, "logs -o json")["line"] for line in logs_json.stdout.splitlines()]
    assert DECODED in lines
    raw = sandbox.tool("logs", "-o", "cat", "--raw", "--user", "apprun1", text=False)
    assert raw.returncode == 0, raw.stderr
    assert LOG_LINE + b"\n" in raw.stdout


# -- import ------------------------------------------------------------------------------------
def test_n7_import_of_a_users_tree_comments_their_names_escaped(sandbox):
    """The names go into the YAML's comments and stderr: escaped, a newline of theirs
    writes no data after the comment."""
    sandbox.up()
    plant(sandbox)
    home = sandbox.home("apprun1")
    passwd = sandbox.base / "passwd"  # the namespace's says /nonexistent
    passwd.write_text("apprun1:x:61001:61001::%s:/bin/sh\n" % home)
    done = sandbox.ns.run([OUR_BIN / "runit-provision", "import", "--user", "apprun1",
                           "--passwd", passwd], text=False,
                          env=sandbox.environ())
    assert done.returncode == 2, done.stderr  # imported; plan would remove the names
    assert_printable(done.stdout + done.stderr, "import")
    env = home / "sv" / "web1" / "env"
    assert_names_on_lines(done.stdout, env, "import")
    assert_names_on_lines(done.stderr, env, "import's stderr")
    data = yaml.safe_load(done.stdout)
    assert list(data) == ["runit"] and list(data["runit"]) == ["users", "services"]
    assert data["runit"]["users"]["apprun1"]["services"]["web1"]["env"] == {"GREETING": "one"}
